//! The drift page: score distributions against the reference window (PSI per market ×
//! category, per day), the language mix (Jensen–Shannon distance).

use super::drift_alerts::alerts;
use super::filter::{Filter, days_window_in, zone_of};
use super::kpis::{grouped, window_days};
use super::scores::{MIN_DAILY_DRIFT_SCORES, histograms};
use crate::dashboard::view::{DriftCell, Window};
use crate::metrics::kpi::{self, DriftBand};
use crate::platform::db::Db;
use crate::rollup::{CAT_MEASURES, cat};
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use chrono::{Duration, NaiveDate};
use std::collections::BTreeMap;

/// The default drift reference: the 28 days before the current window.
pub fn reference_window(current: &Window) -> Window {
    let first =
        NaiveDate::parse_from_str(&current.from, "%Y-%m-%d").expect("window dates are valid");
    days_window_in(
        first - Duration::days(28),
        first - Duration::days(1),
        zone_of(current),
    )
}

/// PSI per market × category, current window against reference.
pub async fn drift_cells(db: &Db, f: &Filter, reference: &Window) -> sqlx::Result<Vec<DriftCell>> {
    let current = histograms(db, f).await?;
    let refs = histograms(db, &f.with_window(reference.clone())).await?;
    Ok(drift_cells_of(&current, &refs, f))
}

type Histograms = BTreeMap<(String, String), Vec<f64>>;

/// PSI per market × category of the filter, from histograms already read.
fn drift_cells_of(current: &Histograms, refs: &Histograms, f: &Filter) -> Vec<DriftCell> {
    let mut out = Vec::new();
    for m in Market::ALL
        .iter()
        .filter(|m| f.market.is_none_or(|x| x == **m))
    {
        for c in Category::ALL
            .iter()
            .filter(|c| f.category.is_none_or(|x| x == **c))
        {
            let key = (m.code().to_string(), c.as_str().to_string());
            let q = current.get(&key);
            let p = refs.get(&key);
            let psi = match (p, q) {
                (Some(p), Some(q)) => kpi::psi(p, q),
                _ => None,
            };
            out.push(DriftCell {
                market: key.0,
                category: key.1,
                psi,
                band: psi.map(DriftBand::of),
                current_n: q.map_or(0.0, |v| v.iter().sum()),
                reference_n: p.map_or(0.0, |v| v.iter().sum()),
            });
        }
    }
    out
}

fn shares(v: &[f64]) -> Vec<f64> {
    let total: f64 = v.iter().sum();
    v.iter()
        .map(|x| if total > 0.0 { x / total } else { 0.0 })
        .collect()
}

async fn mix(
    db: &Db,
    table: &str,
    measure: &str,
    key: &str,
    f: &Filter,
) -> sqlx::Result<BTreeMap<String, BTreeMap<String, f64>>> {
    let rows = grouped(
        db,
        table,
        &[measure],
        &["market", key],
        f,
        key != "category",
    )
    .await?;
    let mut out: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for (k, v) in rows {
        *out.entry(k[0].clone())
            .or_default()
            .entry(k[1].clone())
            .or_default() += v[0];
    }
    Ok(out)
}

fn js_per_market(
    current: &BTreeMap<String, BTreeMap<String, f64>>,
    reference: &BTreeMap<String, BTreeMap<String, f64>>,
    f: &Filter,
) -> Vec<(String, Option<f64>)> {
    Market::ALL
        .iter()
        .filter(|m| f.market.is_none_or(|x| x == **m))
        .map(|m| {
            let empty = BTreeMap::new();
            let q = current.get(m.code()).unwrap_or(&empty);
            let p = reference.get(m.code()).unwrap_or(&empty);
            let keys: std::collections::BTreeSet<&String> = q.keys().chain(p.keys()).collect();
            let pv: Vec<f64> = keys
                .iter()
                .map(|k| p.get(*k).copied().unwrap_or(0.0))
                .collect();
            let qv: Vec<f64> = keys
                .iter()
                .map(|k| q.get(*k).copied().unwrap_or(0.0))
                .collect();
            (m.code().to_string(), kpi::js_distance(&pv, &qv))
        })
        .collect()
}

/// The drift page: PSI for every market × category, the histograms of one slice (the
/// filter's market and category when both are chosen, else the most drifted slice among
/// those the filter names), PSI per day for that slice and the next most drifted ones, and
/// the language and category mixes of every market. Reads each rollup once per window: the
/// current histograms are the per-day ones summed.
pub async fn drift_view(
    db: &Db,
    f: &Filter,
    reference: &Window,
) -> sqlx::Result<crate::dashboard::view::DriftView> {
    let grid = Filter {
        market: None,
        category: None,
        ..f.clone()
    };
    let rows = grouped(
        db,
        "rollup_categories",
        &CAT_MEASURES[cat::HIST..cat::HIST + kpi::PSI_BINS],
        &["market", "category", "day"],
        &grid,
        true,
    )
    .await?;
    let mut current = Histograms::new();
    let mut per_day: BTreeMap<(String, String, i64), Vec<f64>> = BTreeMap::new();
    for (k, v) in rows {
        let key = (k[0].clone(), k[1].clone());
        let sum = current
            .entry(key)
            .or_insert_with(|| vec![0.0; kpi::PSI_BINS]);
        for (s, x) in sum.iter_mut().zip(&v) {
            *s += x;
        }
        per_day.insert((k[0].clone(), k[1].clone(), k[2].parse().unwrap_or(0)), v);
    }
    let refs = histograms(db, &grid.with_window(reference.clone())).await?;
    let cells = drift_cells_of(&current, &refs, &grid);

    let by_psi_desc = |a: &&DriftCell, b: &&DriftCell| {
        b.psi
            .partial_cmp(&a.psi)
            .unwrap_or(std::cmp::Ordering::Equal)
    };
    let mut worst: Vec<&DriftCell> = cells.iter().filter(|c| c.psi.is_some()).collect();
    worst.sort_by(by_psi_desc);
    let picked = |c: &DriftCell| {
        f.market.is_none_or(|m| m.code() == c.market)
            && f.category.is_none_or(|x| x.as_str() == c.category)
    };
    let focus = match (f.market, f.category) {
        (Some(m), Some(c)) => Some((m.code().to_string(), c.as_str().to_string())),
        _ => worst
            .iter()
            .find(|c| picked(c))
            .map(|c| (c.market.clone(), c.category.clone())),
    };
    let (mut focus_reference, mut focus_current) = (Vec::new(), Vec::new());
    if let Some(key) = &focus {
        focus_reference = refs.get(key).map(|v| shares(v)).unwrap_or_default();
        focus_current = current.get(key).map(|v| shares(v)).unwrap_or_default();
    }
    // PSI per day for the focus (when it has a PSI) and the most drifted other slices, five
    // in all.
    let mut trend: Vec<(String, String)> = worst
        .iter()
        .map(|c| (c.market.clone(), c.category.clone()))
        .collect();
    if let Some(at) = trend.iter().position(|k| Some(k) == focus.as_ref()) {
        let k = trend.remove(at);
        trend.insert(0, k);
    }
    trend.truncate(5);
    let days = window_days(&f.window);
    let daily_psi = trend
        .into_iter()
        .map(|(market, category)| {
            let key = (market, category);
            let values = days
                .iter()
                .map(|(d, _)| {
                    let q = per_day.get(&(key.0.clone(), key.1.clone(), *d))?;
                    // A day with a handful of scores says nothing about drift.
                    if q.iter().sum::<f64>() < MIN_DAILY_DRIFT_SCORES {
                        return None;
                    }
                    kpi::psi(refs.get(&key)?, q)
                })
                .collect();
            (format!("{} {}", key.0, key.1), values)
        })
        .collect();
    let grid_ref = grid.with_window(reference.clone());
    let lang_cur = mix(db, "rollup_languages", "decided", "language", &grid).await?;
    let lang_ref = mix(db, "rollup_languages", "decided", "language", &grid_ref).await?;
    let cat_cur = mix(db, "rollup_ads", "decided", "category", &grid).await?;
    let cat_ref = mix(db, "rollup_ads", "decided", "category", &grid_ref).await?;
    Ok(crate::dashboard::view::DriftView {
        window: f.window.clone(),
        reference: reference.clone(),
        focus,
        focus_reference,
        focus_current,
        days: days.into_iter().map(|(_, l)| l).collect(),
        daily_psi,
        language_js: js_per_market(&lang_cur, &lang_ref, &grid),
        category_js: js_per_market(&cat_cur, &cat_ref, &grid),
        cells,
        alerts: alerts(db, 50).await?,
    })
}
