//! The threshold simulator: what a market × category would have seen over the window at other
//! thresholds, from the score histograms of the decisions and their human verdicts.

use super::filter::{DAY_MS, DashboardError, Filter, days_window};
use super::kpis::{grouped, rates};
use crate::metrics::kpi::{self};
use crate::platform::db::Db;
use crate::platform::time::Millis;
use crate::rollup::{AD_MEASURES, CAT_MEASURES, ad, cat};
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use chrono::{Duration, TimeZone, Utc};

/// The share of a score bin (of 20 on [0, 1]) at or above `t`, scores assumed spread evenly
/// inside the bin.
fn share_above(bin: usize, t: f64) -> f64 {
    let width = 1.0 / kpi::PSI_BINS as f64;
    let top = (bin as f64 + 1.0) * width;
    ((top - t) / width).clamp(0.0, 1.0)
}

/// What the simulator works from: one market × category over a history window.
struct SimHistory {
    counts: Vec<f64>,
    violation_rate: Vec<f64>,
    restricted: bool,
    days: f64,
    market_decided: f64,
    market_routed: f64,
    handling_hours_per_review: f64,
    hourly: f64,
    budget_per_false_reject: f64,
    harm_per_miss: f64,
}

impl SimHistory {
    fn project(
        &self,
        approve_below: f64,
        reject_at: f64,
        current: &(f64, f64),
    ) -> crate::dashboard::view::Projection {
        let reviews_for = |a: f64, r: f64| -> f64 {
            (0..kpi::PSI_BINS)
                .map(|b| {
                    let above_a = share_above(b, a);
                    let band = if self.restricted {
                        above_a
                    } else {
                        above_a - share_above(b, r)
                    };
                    self.counts[b] * band.max(0.0)
                })
                .sum()
        };
        let routed = (self.market_routed - reviews_for(current.0, current.1)
            + reviews_for(approve_below, reject_at))
        .max(0.0);
        let (mut rejected, mut true_rejected, mut violations, mut missed) = (0.0, 0.0, 0.0, 0.0);
        for b in 0..kpi::PSI_BINS {
            let n = self.counts[b];
            let v = self.violation_rate[b];
            let rej = if self.restricted {
                0.0
            } else {
                n * share_above(b, reject_at)
            };
            rejected += rej;
            true_rejected += rej * v;
            violations += n * v;
            missed += n * (1.0 - share_above(b, approve_below)) * v;
        }
        let per_day = |x: f64| x / self.days.max(1.0);
        let review_per_day = per_day(routed);
        let review_cost_per_day = review_per_day * self.handling_hours_per_review * self.hourly;
        let false_positive_cost_per_day =
            per_day((rejected - true_rejected) * self.budget_per_false_reject);
        let false_negative_cost_per_day = per_day(missed * self.harm_per_miss);
        crate::dashboard::view::Projection {
            approve_below,
            reject_at,
            automation_rate: kpi::ratio(self.market_decided - routed, self.market_decided),
            review_per_day,
            precision: kpi::ratio(true_rejected, rejected),
            recall: kpi::ratio(true_rejected, violations),
            review_cost_per_day,
            false_positive_cost_per_day,
            false_negative_cost_per_day,
            cost_per_day: review_cost_per_day
                + false_positive_cost_per_day
                + false_negative_cost_per_day,
        }
    }
}

/// Per-bin violation rates from weighted human verdicts; a bin without verdicts borrows the
/// rate of its nearest bins that have them.
fn violation_rates(w: &[f64], wy: &[f64]) -> Vec<f64> {
    let known: Vec<Option<f64>> = w
        .iter()
        .zip(wy)
        .map(|(w, y)| (*w > 0.0).then(|| y / w))
        .collect();
    (0..known.len())
        .map(|b| {
            known[b].unwrap_or_else(|| {
                let left = (0..b).rev().find_map(|i| known[i]);
                let right = (b + 1..known.len()).find_map(|i| known[i]);
                match (left, right) {
                    (Some(l), Some(r)) => (l + r) / 2.0,
                    (Some(x), None) | (None, Some(x)) => x,
                    (None, None) => 0.0,
                }
            })
        })
        .collect()
}

/// Projects automation, review volume, precision, recall and cost for a market × category
/// at the given thresholds (and at the ones in force), from the audit-weighted history of
/// the 28 days up to `now`, and suggests the cheapest pair that keeps reviews within
/// capacity.
pub async fn simulate(
    db: &Db,
    market: Market,
    category: Category,
    approve_below: f64,
    reject_at: f64,
    now: Millis,
) -> Result<crate::dashboard::view::Simulation, DashboardError> {
    if !(0.0..=1.0).contains(&approve_below)
        || !(0.0..=1.0).contains(&reject_at)
        || approve_below > reject_at
    {
        return Err(DashboardError::Invalid(
            "thresholds must satisfy 0 ≤ approve below ≤ reject at ≤ 1".into(),
        ));
    }
    let today = Utc
        .timestamp_millis_opt(now)
        .single()
        .map(|d| d.date_naive())
        .unwrap_or_default();
    let window = days_window(today - Duration::days(27), today);
    let f = Filter {
        window: window.clone(),
        market: Some(market),
        category: Some(category),
        model: None,
    };
    let rates = rates(db).await?;
    let (_, cells) = crate::engine::thresholds::current(db).await?;
    let cell = cells
        .iter()
        .find(|c| c.market == market && c.category == category)
        .ok_or_else(|| {
            DashboardError::Invalid("no thresholds for this market and category".into())
        })?;
    let v = grouped(db, "rollup_categories", &CAT_MEASURES, &[], &f, true).await?;
    let v = v
        .into_iter()
        .next()
        .map(|r| r.1)
        .unwrap_or_else(|| vec![0.0; CAT_MEASURES.len()]);
    let market_only = Filter {
        category: None,
        ..f.clone()
    };
    let m = grouped(db, "rollup_ads", &AD_MEASURES, &[], &market_only, true).await?;
    let m = m
        .into_iter()
        .next()
        .map(|r| r.1)
        .unwrap_or_else(|| vec![0.0; AD_MEASURES.len()]);
    let counts = v[cat::HIST..cat::HIST + kpi::PSI_BINS].to_vec();
    let cal_w = &v[cat::CAL_W..cat::CAL_W + kpi::PSI_BINS];
    let cal_y = &v[cat::CAL_Y..cat::CAL_Y + kpi::PSI_BINS];
    let wrongly_rejected_w = m[ad::P_W] - m[ad::P_W + 2];
    let mean_budget = kpi::ratio(m[ad::FP_BW], wrongly_rejected_w).unwrap_or(50.0);
    let history_days = ((window.to_ms.min(now) - window.from_ms) as f64 / DAY_MS as f64).max(1.0);
    let h = SimHistory {
        violation_rate: violation_rates(cal_w, cal_y),
        restricted: cell.rule == crate::engine::decide::Rule::Restricted,
        days: history_days,
        market_decided: m[ad::DECIDED],
        market_routed: m[ad::ROUTED],
        handling_hours_per_review: kpi::ratio(m[ad::HANDLING_MS], m[ad::REVIEWS])
            .unwrap_or(60_000.0)
            / 3.6e6,
        hourly: rates.hourly(market.code()),
        budget_per_false_reject: mean_budget * rates.cost.days_lost_per_false_reject,
        harm_per_miss: rates.cost.risk_weight_usd[category.index()],
        counts,
    };
    let now_pair = (cell.approve_below, cell.reject_at);
    let capacity = rates
        .capacity_per_day
        .get(market.code())
        .copied()
        .unwrap_or(400.0);
    let mut suggestion: Option<crate::dashboard::view::Projection> = None;
    for a in 1..20 {
        for r in a..20 {
            let p = h.project(a as f64 / 20.0, r as f64 / 20.0, &now_pair);
            if p.review_per_day <= capacity
                && suggestion
                    .as_ref()
                    .is_none_or(|s| p.cost_per_day < s.cost_per_day - 1e-9)
            {
                suggestion = Some(p);
            }
        }
    }
    // Human verdicts behind the estimates: checked automatic decisions and settled routed ads.
    let labelled_n = m[ad::CHECKED] + m[ad::SLA_N];
    let explanation = format!(
        "From {} decisions in {} between {} and {} ({:.0} days), {:.0} of them with a human verdict \
         (audit samples weighted by 1 / sampling probability). Violation rates are read per score band of width 0.05; \
         the review volume counts the market's current reviews, minus those this category sends now, plus \
         those it would send; other categories are held as they are.",
        h.market_decided,
        market.code(),
        window.from,
        window.to,
        history_days,
        labelled_n,
    );
    Ok(crate::dashboard::view::Simulation {
        market: market.code().to_string(),
        category: category.as_str().to_string(),
        rule: cell.rule.as_str().to_string(),
        current: h.project(now_pair.0, now_pair.1, &now_pair),
        proposed: h.project(approve_below, reject_at, &now_pair),
        suggestion,
        capacity_per_day: capacity,
        history_from: window.from,
        history_to: window.to,
        history_days,
        decided: h.market_decided,
        labelled: labelled_n,
        explanation,
    })
}
