//! The KPIs per market read from the rollups: quality counts, costs at the rates in force,
//! review durations. The overview, the KPIs API and the weekly report all start here.

use super::estimates::{self, SliceTotals};
use super::filter::{Filter, Param, zone_of};
use crate::dashboard::view::{Kpis, Window};
use crate::metrics::estimate::{self, Estimates, KnownCost};
use crate::metrics::kpi::{self, Cost, CostInputs, CostRates, HtSums};
use crate::platform::db::Db;
use crate::platform::time::{local_date, local_midnight};
use crate::rollup::{AD_MEASURES, HOUR_MS, ad};
use crate::vocab::policy::Category;
use chrono::NaiveDate;
use chrono_tz::Tz;
use std::collections::BTreeMap;

pub(super) async fn grouped(
    db: &Db,
    table: &str,
    measures: &[&str],
    group: &[&str],
    filter: &Filter,
    with_category: bool,
) -> sqlx::Result<Vec<(Vec<String>, Vec<f64>)>> {
    grouped_where(db, table, measures, group, filter, with_category, "").await
}

/// [`grouped`] with one more condition, a constant of the caller's (never user input).
pub(super) async fn grouped_where(
    db: &Db,
    table: &str,
    measures: &[&str],
    group: &[&str],
    filter: &Filter,
    with_category: bool,
    condition: &'static str,
) -> sqlx::Result<Vec<(Vec<String>, Vec<f64>)>> {
    use sqlx::Row;
    let (mut clause, params) = filter.clause(with_category);
    if !condition.is_empty() {
        clause = format!("{clause} and {condition}");
    }
    // Whole UTC days are read from the daily rollups; other windows from the hourly ones,
    // where a UTC day is `hour / 24` and a day in another zone is found for each hour below
    // (an expression of the day, such as a week number, stays in UTC days).
    let daily = filter.whole_utc_days();
    let zone = zone_of(&filter.window);
    let local_days = !daily && zone != Tz::UTC;
    let day_at = group.iter().position(|g| *g == "day");
    let group: Vec<String> = group
        .iter()
        .map(|g| {
            if daily {
                g.to_string()
            } else if local_days && *g == "day" {
                "hour".to_string()
            } else {
                g.replace("day", "(hour / 24)")
            }
        })
        .collect();
    let keys = group
        .iter()
        .map(|g| format!("cast({g} as text)"))
        .collect::<Vec<_>>()
        .join(", ");
    let sums = measures
        .iter()
        .map(|m| format!("sum({m})"))
        .collect::<Vec<_>>()
        .join(", ");
    let select = if keys.is_empty() {
        sums
    } else {
        format!("{keys}, {sums}")
    };
    let group_by = if group.is_empty() {
        String::new()
    } else {
        format!(" group by {}", group.join(", "))
    };
    let suffix = if daily { "_daily" } else { "" };
    let sql = format!("select {select} from {table}{suffix} where {clause}{group_by}");
    let mut q = sqlx::query(&sql);
    for p in params {
        q = match p {
            Param::Int(i) => q.bind(i),
            Param::Text(s) => q.bind(s),
        };
    }
    let rows = q.fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let key = (0..group.len())
            .map(|i| r.try_get::<String, _>(i))
            .collect::<Result<Vec<_>, _>>()?;
        let values = (0..measures.len())
            .map(|i| {
                r.try_get::<Option<f64>, _>(group.len() + i)
                    .map(|v| v.unwrap_or(0.0))
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push((key, values));
    }
    if let (true, Some(at)) = (local_days, day_at) {
        out = by_local_day(out, at, zone);
    }
    Ok(out)
}

/// Rows keyed by hour at `at` summed into the local calendar days of `zone` (the day's number
/// as [`window_days`] gives it).
fn by_local_day(
    rows: Vec<(Vec<String>, Vec<f64>)>,
    at: usize,
    zone: Tz,
) -> Vec<(Vec<String>, Vec<f64>)> {
    let mut days: BTreeMap<Vec<String>, Vec<f64>> = BTreeMap::new();
    for (mut key, values) in rows {
        let hour: i64 = key[at].parse().unwrap_or(0);
        key[at] = day_number(local_date(hour * HOUR_MS, zone)).to_string();
        let sums = days.entry(key).or_insert_with(|| vec![0.0; values.len()]);
        for (s, v) in sums.iter_mut().zip(values) {
            *s += v;
        }
    }
    days.into_iter().collect()
}

/// A calendar date as days since 1970-01-01 (the epoch-day number a UTC day has in the
/// rollups).
fn day_number(date: NaiveDate) -> i64 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch exists")).num_days()
}

/// Reviewer rates and capacity per market, and the global cost rates.
#[derive(Clone, Debug, PartialEq)]
pub struct Rates {
    pub hourly: BTreeMap<String, f64>,
    pub capacity_per_day: BTreeMap<String, f64>,
    pub cost: CostRates,
}

impl Rates {
    /// A market's reviewer hourly rate.
    pub fn hourly(&self, market: &str) -> f64 {
        self.hourly
            .get(market)
            .copied()
            .unwrap_or_else(|| kpi::default_hourly_rate(market))
    }
}

/// The rates as stored.
pub async fn rates(db: &Db) -> sqlx::Result<Rates> {
    let markets: Vec<(String, f64, f64)> = sqlx::query_as(
        "select market, reviewer_hourly_usd, review_capacity_per_day from market_settings",
    )
    .fetch_all(db.pool())
    .await?;
    let named: Vec<(String, f64)> = sqlx::query_as("select name, value from cost_rates")
        .fetch_all(db.pool())
        .await?;
    let mut cost = CostRates::default();
    for (name, value) in named {
        match name.as_str() {
            "cpu_hour_usd" => cost.cpu_hour_usd = value,
            "days_lost_per_false_reject" => cost.days_lost_per_false_reject = value,
            other => {
                if let Some(c) = other
                    .strip_prefix("risk_weight.")
                    .and_then(|c| c.parse::<Category>().ok())
                {
                    cost.risk_weight_usd[c.index()] = value;
                }
            }
        }
    }
    Ok(Rates {
        hourly: markets.iter().map(|(m, h, _)| (m.clone(), *h)).collect(),
        capacity_per_day: markets.iter().map(|(m, _, c)| (m.clone(), *c)).collect(),
        cost,
    })
}

pub(super) fn ht(v: &[f64], at: usize) -> HtSums {
    HtSums {
        w: v[at],
        w2: v[at + 1],
        wy: v[at + 2],
    }
}

/// Cost inputs from summed `rollup_ads` measures.
pub fn cost_inputs(v: &[f64]) -> CostInputs {
    let mut fn_w = [0.0; kpi::CATEGORY_COUNT];
    fn_w.copy_from_slice(&v[ad::FN_W..ad::FN_W + kpi::CATEGORY_COUNT]);
    CostInputs {
        decided: v[ad::DECIDED],
        handling_ms: v[ad::HANDLING_MS],
        cpu_ms: v[ad::INFER_MS],
        fp_budget_w: v[ad::FP_BW],
        fn_w,
    }
}

/// Duration bucket counts of one kind, for quantiles.
type Buckets = BTreeMap<usize, f64>;

fn quantile_seconds(b: Option<&Buckets>, q: f64) -> Option<f64> {
    let counts: Vec<(usize, i64)> = b?.iter().map(|(k, n)| (*k, n.round() as i64)).collect();
    kpi::quantile_from_buckets(&counts, q).map(|ms| ms as f64 / 1000.0)
}

/// The headline figures from summed `rollup_ads` measures, duration buckets and a cost.
pub fn kpis_of(v: &[f64], sla: Option<&Buckets>, handling: Option<&Buckets>, cost: Cost) -> Kpis {
    let decided = v[ad::DECIDED];
    let auto = v[ad::AUTO_APPROVED] + v[ad::AUTO_REJECTED];
    Kpis {
        decided,
        auto_approved: v[ad::AUTO_APPROVED],
        auto_rejected: v[ad::AUTO_REJECTED],
        routed: v[ad::ROUTED],
        automation_rate: kpi::ratio(auto, decided),
        checked: v[ad::CHECKED],
        overridden: v[ad::OVERRIDDEN],
        override_rate: kpi::ratio(v[ad::OVERRIDDEN], v[ad::CHECKED]),
        precision: kpi::ht_ratio(&ht(v, ad::P_W)),
        recall: kpi::ht_ratio(&ht(v, ad::R_W)),
        appeals_decided: v[ad::APPEALS_DECIDED],
        appeal_overturn_rate: kpi::ratio(v[ad::APPEALS_OVERTURNED], v[ad::APPEALS_DECIDED]),
        sla_n: v[ad::SLA_N],
        sla_p50_seconds: quantile_seconds(sla, 0.5),
        sla_p95_seconds: quantile_seconds(sla, 0.95),
        sla_within: kpi::ratio(v[ad::SLA_WITHIN], v[ad::SLA_N]),
        reviews: v[ad::REVIEWS],
        median_handling_seconds: quantile_seconds(handling, 0.5),
        cost,
        estimates: None,
    }
}

pub(super) fn add_into(total: &mut [f64], v: &[f64]) {
    total.iter_mut().zip(v).for_each(|(a, b)| *a += b);
}

fn add_cost(a: &mut Cost, b: &Cost) {
    a.total += b.total;
    a.review += b.review;
    a.inference += b.inference;
    a.false_positive += b.false_positive;
    a.false_negative += b.false_negative;
}

/// Per-market sums and durations of a window: the building block of the overview.
pub struct MarketSums {
    pub measures: BTreeMap<String, Vec<f64>>,
    /// (market, kind) → buckets.
    pub durations: BTreeMap<(String, String), Buckets>,
    /// Model-assisted estimate sums per market.
    pub estimates: BTreeMap<String, SliceTotals>,
}

/// Sums `rollup_ads` and `rollup_durations` per market over the filter's window.
pub async fn market_sums(db: &Db, f: &Filter) -> sqlx::Result<MarketSums> {
    let rows = grouped(db, "rollup_ads", &AD_MEASURES, &["market"], f, true).await?;
    let measures = rows.into_iter().map(|(k, v)| (k[0].clone(), v)).collect();
    // Durations are kept per market only (see `rollup::ANY`).
    let per_market = Filter {
        category: None,
        model: None,
        ..f.clone()
    };
    let rows = grouped(
        db,
        "rollup_durations",
        &["n"],
        &["market", "kind", "bucket"],
        &per_market,
        true,
    )
    .await?;
    let mut durations: BTreeMap<(String, String), Buckets> = BTreeMap::new();
    for (k, v) in rows {
        let bucket: usize = k[2].parse().unwrap_or(0);
        *durations
            .entry((k[0].clone(), k[1].clone()))
            .or_default()
            .entry(bucket)
            .or_default() += v[0];
    }
    let cal = estimates::calibrations(db).await?;
    let rows = if f.category.is_some() {
        estimates::Rows::Categories
    } else {
        estimates::Rows::Kpis
    };
    let estimates = estimates::totals(db, f, &["market"], &cal, rows)
        .await?
        .into_iter()
        .map(|(k, v)| (k[0].clone(), v.for_category(f.category)))
        .collect();
    Ok(MarketSums {
        measures,
        durations,
        estimates,
    })
}

/// When more than one model version decided inside the filter's window (and the filter does
/// not pick one), each version's totals over the window, most decisions first; else nothing.
pub async fn by_version(db: &Db, f: &Filter, rates: &Rates) -> sqlx::Result<Vec<(String, Kpis)>> {
    if f.model.is_some() {
        return Ok(Vec::new());
    }
    let mut versions = grouped(db, "rollup_ads", &["decided"], &["model_version"], f, true).await?;
    versions.retain(|(_, v)| v[0] > 0.0);
    if versions.len() < 2 {
        return Ok(Vec::new());
    }
    versions.sort_by(|a, b| b.1[0].total_cmp(&a.1[0]));
    let mut out = Vec::with_capacity(versions.len());
    for (k, _) in versions {
        let one = Filter {
            model: Some(k[0].clone()),
            ..f.clone()
        };
        let (_, totals) = kpis_by_market(&market_sums(db, &one).await?, rates);
        out.push((k[0].clone(), totals));
    }
    Ok(out)
}

/// Per-market figures and their total (costs summed per market, since rates differ).
pub fn kpis_by_market(s: &MarketSums, rates: &Rates) -> (BTreeMap<String, Kpis>, Kpis) {
    let mut per = BTreeMap::new();
    let mut all = vec![0.0; AD_MEASURES.len()];
    let mut all_cost = Cost::default();
    let mut all_sla: Buckets = BTreeMap::new();
    let mut all_handling: Buckets = BTreeMap::new();
    let mut all_estimates = SliceTotals::empty();
    for (market, v) in &s.measures {
        let cost = kpi::cost(&cost_inputs(v), rates.hourly(market), &rates.cost);
        add_cost(&mut all_cost, &cost);
        add_into(&mut all, v);
        let sla = s.durations.get(&(market.clone(), "sla".into()));
        let handling = s.durations.get(&(market.clone(), "handling".into()));
        for (into, from) in [(&mut all_sla, sla), (&mut all_handling, handling)] {
            for (b, n) in from.into_iter().flatten() {
                *into.entry(*b).or_default() += n;
            }
        }
        let mut k = kpis_of(v, sla, handling, cost);
        let slice = s.estimates.get(market);
        if let Some(t) = slice {
            all_estimates.merge(t);
            // Harm weights are global, reviewer rates per market: the market's own costs.
            k.estimates = Some(estimated(t, &cost, k.decided, &rates.cost));
        }
        per.insert(market.clone(), k);
    }
    all_cost.per_1k_ads = kpi::ratio(all_cost.total, all[ad::DECIDED]).map(|x| x * 1000.0);
    let mut totals = kpis_of(&all, Some(&all_sla), Some(&all_handling), all_cost);
    if !s.estimates.is_empty() {
        totals.estimates = Some(estimated(
            &all_estimates,
            &all_cost,
            totals.decided,
            &rates.cost,
        ));
    }
    (per, totals)
}

/// The model-assisted estimates of a slice, with the cost components known exactly.
pub fn estimated(t: &SliceTotals, cost: &Cost, decided: f64, rates: &CostRates) -> Estimates {
    estimate::estimates(
        &t.ad,
        &t.categories,
        &KnownCost {
            review_usd: cost.review,
            inference_usd: cost.inference,
            decided,
        },
        rates,
        t.calibrated,
    )
}

/// The days of a window (calendar days of its zone) as `MM-DD` labels and their day
/// numbers.
pub fn window_days(w: &Window) -> Vec<(i64, String)> {
    let zone = zone_of(w);
    let mut out = Vec::new();
    let mut date = local_date(w.from_ms, zone);
    while local_midnight(date, zone) < w.to_ms {
        out.push((day_number(date), date.format("%m-%d").to_string()));
        date += chrono::Duration::days(1);
    }
    out
}

/// The model versions that have made decisions, newest first.
pub async fn models(db: &Db) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select model_version, max(day) from rollup_ads_daily group by model_version order by 2 desc",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}
