//! What moved: the sentences on the biggest movers, and the notes on thin samples.

use crate::dashboard::view::{Kpis, WeeklyReport};
use crate::metrics::format::{NONE, change, int, money, pct, pts};
use crate::metrics::kpi::{self, Cost, DriftBand};

/// Human-checked decisions a market × category needs before its override rate is named as a mover.
const MIN_CHECKED_FOR_MOVER: f64 = 20.0;

/// The sentences of the summary page: what moved, what drifted, which models decided.
pub fn findings(r: &WeeklyReport) -> Vec<String> {
    let mut out = Vec::new();
    let (t, p) = (&r.totals, &r.previous);
    out.push(format!(
        "{} ads decided ({} vs the week before, {} vs the 4-week average); {} decided automatically ({}).",
        int(t.decided),
        change(t.decided, p.decided),
        change(t.decided, r.average.decided),
        pct(t.automation_rate),
        pts(t.automation_rate, p.automation_rate),
    ));
    // The market whose override rate rose most, and the category that drove it.
    let rise = r
        .markets
        .iter()
        .filter(|m| m.week.checked >= MIN_CHECKED_FOR_MOVER)
        .filter_map(|m| Some((m, m.week.override_rate? - m.previous.override_rate?)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match rise {
        Some((m, d)) if d > 0.0 => {
            let driver = r
                .categories
                .iter()
                .filter(|c| c.market == m.market && c.checked >= 5.0)
                .filter_map(|c| {
                    Some((
                        c,
                        c.override_rate? - c.previous_override_rate.unwrap_or(0.0),
                    ))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let mut s = format!(
                "Override rate rose most in {}: {} → {} ({}",
                m.market,
                pct(m.previous.override_rate),
                pct(m.week.override_rate),
                pts(m.week.override_rate, m.previous.override_rate),
            );
            if let Some((c, _)) = driver {
                s.push_str(&format!(
                    "), mostly in {}: {} of {} checked decisions overridden.",
                    c.category,
                    int(c.overridden),
                    int(c.checked)
                ));
            } else {
                s.push_str(").");
            }
            out.push(s);
        }
        _ => out.push("No market's override rate rose this week.".into()),
    }
    // The market whose automation fell most.
    if let Some((m, d)) = r
        .markets
        .iter()
        .filter(|m| m.week.decided >= 100.0)
        .filter_map(|m| Some((m, m.week.automation_rate? - m.previous.automation_rate?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .filter(|(_, d)| *d < 0.0)
    {
        out.push(format!(
            "Automation fell most in {}: {} → {} ({:+.1} pts).",
            m.market,
            pct(m.previous.automation_rate),
            pct(m.week.automation_rate),
            d * 100.0
        ));
    }
    // Cost per 1,000 ads: the total and the biggest mover, model-assisted with intervals; a
    // market's move is named only when its two weeks' intervals do not overlap.
    let per_1k = |k: &Kpis| k.estimates.as_ref().and_then(|e| e.figures.cost_per_1k_ads);
    out.push(format!(
        "Cost of risk control {} ({} per 1,000 ads{}; {} vs the week before).",
        money(t.cost.total),
        per_1k(t).map_or_else(
            || t.cost.per_1k_ads.map_or_else(|| NONE.into(), money),
            |i| money(i.value)
        ),
        per_1k(t).map_or_else(String::new, |i| format!(
            ", 95% interval {}–{}",
            money(i.low),
            money(i.high)
        )),
        change(t.cost.total, p.cost.total),
    ));
    let moved = r
        .markets
        .iter()
        .filter_map(|m| {
            let (now, before) = (per_1k(&m.week)?, per_1k(&m.previous)?);
            let significant = now.low > before.high || now.high < before.low;
            Some((
                m,
                now,
                before,
                significant,
                kpi::relative_change(now.value, before.value)?,
            ))
        })
        .filter(|(.., significant, _)| *significant)
        .max_by(|a, b| a.4.abs().total_cmp(&b.4.abs()));
    match moved {
        Some((m, now, before, ..)) => {
            // Name the component that moved, so a jump in an estimate is not read as spending.
            let (name, _) = cost_driver(&m.week, &m.previous);
            out.push(format!(
                "Cost per 1,000 ads moved most in {}: {} → {} (95% intervals {}–{} and {}–{}), mostly {name}.",
                m.market,
                money(before.value),
                money(now.value),
                money(before.low),
                money(before.high),
                money(now.low),
                money(now.high),
            ));
        }
        None if r.markets.iter().any(|m| per_1k(&m.week).is_some()) => out
            .push("No market's cost per 1,000 ads moved beyond its 95% interval this week.".into()),
        None => {}
    }
    let tripped: Vec<&str> = r
        .markets
        .iter()
        .filter(|m| m.week.estimates.as_ref().is_some_and(|e| e.tripwire))
        .map(|m| m.market.as_str())
        .collect();
    if !tripped.is_empty() {
        out.push(format!(
            "Tripwire in {}: the model's calibrated scores alone disagree with what the audits measure — a new kind of violation the model does not know is the usual cause.",
            tripped.join(", ")
        ));
    }
    // Drift.
    if r.alerts.is_empty() {
        out.push("No drift alerts were raised this week.".into());
    } else {
        let named = r
            .alerts
            .iter()
            .map(|a| format!("{} {} {} (PSI {:.2})", a.market, a.category, a.band, a.psi))
            .collect::<Vec<_>>();
        out.push(format!(
            "{} drift alert{} this week: {}.",
            named.len(),
            if named.len() == 1 { "" } else { "s" },
            named.join("; ")
        ));
    }
    let drifted: Vec<String> = r
        .drift
        .iter()
        .filter(|d| d.band == Some(DriftBand::Drifted))
        .map(|d| format!("{} {}", d.market, d.category))
        .collect();
    if !drifted.is_empty() {
        out.push(format!(
            "Score distributions drifted (PSI ≥ 0.2 against the 4 weeks before) in: {}.",
            drifted.join(", ")
        ));
    }
    out.push(match r.models.as_slice() {
        [] => "No model decided ads this week.".into(),
        [one] => format!("Model in use: {one}."),
        many => format!("Models in use: {} (most decisions first).", many.join(", ")),
    });
    out.extend(r.model_changes.iter().cloned());
    if !r.by_version.is_empty() {
        let parts: Vec<String> = r
            .by_version
            .iter()
            .map(|(v, k)| {
                let precision = k
                    .estimates
                    .as_ref()
                    .and_then(|e| e.figures.precision.as_ref())
                    .or(k.precision.as_ref())
                    .map_or("too few samples".to_string(), |p| {
                        format!("{} ({}–{})", pct(Some(p.value)), pct(Some(p.low)), pct(Some(p.high)))
                    });
                format!(
                    "{v}: {} ads, {} automated, override rate {}, auto-reject precision {precision}",
                    int(k.decided),
                    pct(k.automation_rate),
                    pct(k.override_rate),
                )
            })
            .collect();
        out.push(format!("By model version: {}.", parts.join("; ")));
    }
    out
}

/// A cost component's name and how to read it.
type CostPart = (&'static str, fn(&Cost) -> f64);

/// The cost component whose per-1,000-ads figure changed most between two weeks, and by how
/// much (USD per 1,000 ads).
pub(super) fn cost_driver(now: &Kpis, before: &Kpis) -> (&'static str, f64) {
    let per_1k = |part: f64, k: &Kpis| kpi::ratio(part, k.decided).map_or(0.0, |x| x * 1000.0);
    let parts: [CostPart; 4] = [
        ("reviewer time", |c| c.review),
        ("inference", |c| c.inference),
        ("false rejects", |c| c.false_positive),
        ("harm let through", |c| c.false_negative),
    ];
    parts
        .iter()
        .map(|(name, f)| {
            (
                *name,
                per_1k(f(&now.cost), now) - per_1k(f(&before.cost), before),
            )
        })
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .unwrap_or(("reviewer time", 0.0))
}

/// Notes where figures rest on few samples.
pub fn sample_notes(r: &WeeklyReport) -> Vec<String> {
    let mut out = vec![format!(
        "Precision and recall are Horvitz–Thompson estimates from audit samples (weighted by 1 / sampling probability) with 95% Wilson intervals on effective counts; figures on fewer than {} effective samples are marked as thin.",
        kpi::MIN_EFFECTIVE_SAMPLES
    )];
    let thin: Vec<String> = r
        .markets
        .iter()
        .filter(|m| m.week.precision.is_none_or(|e| !e.enough()))
        .map(|m| m.market.clone())
        .collect();
    if !thin.is_empty() {
        out.push(format!(
            "Auto-reject precision rests on too few samples this week in: {}.",
            thin.join(", ")
        ));
    }
    let thin_cells = r
        .categories
        .iter()
        .filter(|c| c.market != "ALL" && c.precision.is_some_and(|e| !e.enough()))
        .count();
    if thin_cells > 0 {
        out.push(format!(
            "{thin_cells} market × category cells have a precision estimate on too few samples; the Categories sheet marks them."
        ));
    }
    out.push(
        "SLA percentiles are read from 10%-wide duration buckets; override rates count human-checked automatic decisions (audit samples and appeals)."
            .into(),
    );
    out
}
