//! The dashboards' queries: every figure is read from the rollups (`rollup`), turned into
//! metrics by the pure functions of `kpi`, and shaped as `board` types. Pages, the KPIs API
//! and the weekly report all call these, so they cannot disagree.

use crate::board::{Backlog, DriftAlert, DriftCell, Kpis, MarketRow, Overview, Selection, Window};
use crate::db::Db;
use crate::kpi::{self, Cost, CostInputs, CostRates, DriftBand, HtSums};
use crate::market::Market;
use crate::policy::Category;
use crate::rollup::{AD_MEASURES, CAT_MEASURES, HOUR_MS, ad, cat};
use crate::time::{Millis, to_rfc3339};
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use std::collections::BTreeMap;

const DAY_MS: i64 = 24 * HOUR_MS;

/// Scores a slice needs in its current window before its PSI counts.
pub const MIN_DRIFT_SCORES: f64 = 100.0;

/// Scores a slice needs on one day before that day's PSI is drawn.
pub const MIN_DAILY_DRIFT_SCORES: f64 = 30.0;

/// Why a selection cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// A window of whole days and the slices to show.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub window: Window,
    pub market: Option<Market>,
    pub category: Option<Category>,
    pub model: Option<String>,
}

impl Filter {
    /// The same slices over another window.
    pub fn with_window(&self, window: Window) -> Filter {
        Filter {
            window,
            ..self.clone()
        }
    }

    /// Whether the window is whole UTC days (then the daily rollups answer it); a window in
    /// another time zone (the weekly report's) is read from the hourly ones.
    pub fn whole_utc_days(&self) -> bool {
        self.window.from_ms.rem_euclid(DAY_MS) == 0 && self.window.to_ms.rem_euclid(DAY_MS) == 0
    }

    /// The key column of the rollups that answer the window, and its range `[from, to)`.
    fn span(&self) -> (&'static str, i64, i64) {
        let unit = if self.whole_utc_days() {
            DAY_MS
        } else {
            HOUR_MS
        };
        let from = self.window.from_ms.div_euclid(unit);
        let to = (self.window.to_ms + unit - 1).div_euclid(unit);
        (if unit == DAY_MS { "day" } else { "hour" }, from, to)
    }

    /// The `where` clause over a rollup table and its parameters, numbered from 1.
    fn clause(&self, with_category: bool) -> (String, Vec<Param>) {
        let (column, from, to) = self.span();
        let mut sql = format!("{column} >= $1 and {column} < $2");
        let mut params = vec![Param::Int(from), Param::Int(to)];
        if let Some(m) = self.market {
            params.push(Param::Text(m.code().to_string()));
            sql.push_str(&format!(" and market = ${}", params.len()));
        }
        if let (Some(c), true) = (self.category, with_category) {
            params.push(Param::Text(c.as_str().to_string()));
            sql.push_str(&format!(" and category = ${}", params.len()));
        }
        if let Some(v) = &self.model {
            params.push(Param::Text(v.clone()));
            sql.push_str(&format!(" and model_version = ${}", params.len()));
        }
        (sql, params)
    }
}

#[derive(Clone, Debug)]
enum Param {
    Int(i64),
    Text(String),
}

fn day_start(date: NaiveDate) -> Millis {
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .timestamp_millis()
}

/// The window of whole UTC days from `first` to `last` inclusive.
pub fn days_window(first: NaiveDate, last: NaiveDate) -> Window {
    Window {
        from: first.format("%Y-%m-%d").to_string(),
        to: last.format("%Y-%m-%d").to_string(),
        from_ms: day_start(first),
        to_ms: day_start(last) + DAY_MS,
    }
}

/// The window of the same length just before `w`.
pub fn previous_window(w: &Window) -> Window {
    let first = NaiveDate::parse_from_str(&w.from, "%Y-%m-%d").expect("window dates are valid");
    let last = NaiveDate::parse_from_str(&w.to, "%Y-%m-%d").expect("window dates are valid");
    let days = (last - first).num_days() + 1;
    days_window(first - Duration::days(days), first - Duration::days(1))
}

fn parse_day(s: &str, what: &str) -> Result<NaiveDate, DashboardError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        DashboardError::Invalid(format!("{what} must be a date like 2026-11-02, not {s:?}"))
    })
}

/// Resolves what a page or API client asked for, against today's date (UTC).
pub fn resolve(sel: &Selection, now: Millis) -> Result<Filter, DashboardError> {
    let today = Utc
        .timestamp_millis_opt(now)
        .single()
        .ok_or_else(|| DashboardError::Invalid("bad clock".into()))?
        .date_naive();
    let window = match sel.window.as_str() {
        "today" => days_window(today, today),
        "" | "7d" => days_window(today - Duration::days(6), today),
        "28d" => days_window(today - Duration::days(27), today),
        "custom" => {
            // An open end is today; an open start is a week before the end.
            let last = match sel.to.trim() {
                "" => today,
                to => parse_day(to, "to")?,
            };
            let first = match sel.from.trim() {
                "" => last - Duration::days(6),
                from => parse_day(from, "from")?,
            };
            if last < first {
                return Err(DashboardError::Invalid("to must not be before from".into()));
            }
            if (last - first).num_days() > 366 {
                return Err(DashboardError::Invalid(
                    "a window is at most a year long".into(),
                ));
            }
            days_window(first, last)
        }
        other => {
            return Err(DashboardError::Invalid(format!(
                "window must be today, 7d, 28d or custom, not {other:?}"
            )));
        }
    };
    let market = match sel.market.trim() {
        "" => None,
        m => Some(
            m.parse::<Market>()
                .map_err(|_| DashboardError::Invalid(format!("unknown market {m:?}")))?,
        ),
    };
    let category = match sel.category.trim() {
        "" => None,
        c => Some(
            c.parse::<Category>()
                .map_err(|_| DashboardError::Invalid(format!("unknown category {c:?}")))?,
        ),
    };
    let model = Some(sel.model.trim().to_string()).filter(|m| !m.is_empty());
    Ok(Filter {
        window,
        market,
        category,
        model,
    })
}

async fn grouped(
    db: &Db,
    table: &str,
    measures: &[&str],
    group: &[&str],
    filter: &Filter,
    with_category: bool,
) -> sqlx::Result<Vec<(Vec<String>, Vec<f64>)>> {
    use sqlx::Row;
    let (clause, params) = filter.clause(with_category);
    // Whole days are read from the daily rollups; other windows from the hourly ones, where a
    // (UTC) day is `hour / 24`.
    let daily = filter.whole_utc_days();
    let group: Vec<String> = group
        .iter()
        .map(|g| {
            if daily {
                g.to_string()
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
    Ok(out)
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

fn ht(v: &[f64], at: usize) -> HtSums {
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
    }
}

fn add_into(total: &mut [f64], v: &[f64]) {
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
    Ok(MarketSums {
        measures,
        durations,
    })
}

/// Per-market figures and their total (costs summed per market, since rates differ).
pub fn kpis_by_market(s: &MarketSums, rates: &Rates) -> (BTreeMap<String, Kpis>, Kpis) {
    let mut per = BTreeMap::new();
    let mut all = vec![0.0; AD_MEASURES.len()];
    let mut all_cost = Cost::default();
    let mut all_sla: Buckets = BTreeMap::new();
    let mut all_handling: Buckets = BTreeMap::new();
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
        per.insert(market.clone(), kpis_of(v, sla, handling, cost));
    }
    all_cost.per_1k_ads = kpi::ratio(all_cost.total, all[ad::DECIDED]).map(|x| x * 1000.0);
    let totals = kpis_of(&all, Some(&all_sla), Some(&all_handling), all_cost);
    (per, totals)
}

/// Open review items by queue (and per market), live.
pub async fn backlog(
    db: &Db,
    f: &Filter,
    now: Millis,
) -> sqlx::Result<(Vec<Backlog>, BTreeMap<String, i64>)> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "select source, market, count(*), sum(case when due_at < $1 then 1 else 0 end) \
         from review_tasks where state = 'open' group by source, market",
    )
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    let mut by_source: BTreeMap<String, Backlog> = BTreeMap::new();
    let mut by_market: BTreeMap<String, i64> = BTreeMap::new();
    for (source, market, open, past) in rows {
        *by_market.entry(market.clone()).or_default() += open;
        if f.market.is_some_and(|m| m.code() != market) {
            continue;
        }
        let b = by_source.entry(source.clone()).or_insert_with(|| Backlog {
            source,
            open: 0,
            past_due: 0,
        });
        b.open += open;
        b.past_due += past;
    }
    let order = [
        "uncertain",
        "restricted",
        "audit",
        "appeal",
        "escalation",
        "qa",
    ];
    let mut list: Vec<Backlog> = by_source.into_values().collect();
    list.sort_by_key(|b| order.iter().position(|s| *s == b.source).unwrap_or(99));
    Ok((list, by_market))
}

/// The days of a window as `MM-DD` labels and their epoch-day numbers.
pub fn window_days(w: &Window) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut day = w.from_ms / DAY_MS;
    while day * DAY_MS < w.to_ms {
        let label = Utc
            .timestamp_millis_opt(day * DAY_MS)
            .single()
            .map(|d| d.format("%m-%d").to_string())
            .unwrap_or_default();
        out.push((day, label));
        day += 1;
    }
    out
}

/// Per market and day: decided, automated, checked, overridden.
async fn daily(db: &Db, f: &Filter) -> sqlx::Result<BTreeMap<(String, i64), [f64; 4]>> {
    let rows = grouped(
        db,
        "rollup_ads",
        &[
            "decided",
            "auto_approved + auto_rejected",
            "checked",
            "overridden",
        ],
        &["market", "day"],
        f,
        true,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(k, v)| {
            (
                (k[0].clone(), k[1].parse().unwrap_or(0)),
                [v[0], v[1], v[2], v[3]],
            )
        })
        .collect())
}

/// The overview: headline figures against the previous window, one row per market with
/// daily sparklines, the backlog, drift and recent alerts.
pub async fn overview(db: &Db, f: &Filter, now: Millis) -> Result<Overview, DashboardError> {
    let rates = rates(db).await?;
    let prev_filter = f.with_window(previous_window(&f.window));
    let (per, totals) = kpis_by_market(&market_sums(db, f).await?, &rates);
    let (per_prev, previous) = kpis_by_market(&market_sums(db, &prev_filter).await?, &rates);
    let (backlog, backlog_by_market) = backlog(db, f, now).await?;
    let days = window_days(&f.window);
    let daily = daily(db, f).await?;
    let markets = Market::ALL
        .iter()
        .filter(|m| f.market.is_none_or(|x| x == **m))
        .map(|m| {
            let code = m.code().to_string();
            let series = |i: usize| -> Vec<f64> {
                days.iter()
                    .map(|(d, _)| daily.get(&(code.clone(), *d)).map_or(0.0, |v| v[i]))
                    .collect()
            };
            let decided = series(0);
            let automated = series(1);
            MarketRow {
                kpis: per.get(&code).cloned().unwrap_or_default(),
                previous: per_prev.get(&code).cloned().unwrap_or_default(),
                backlog: backlog_by_market.get(&code).copied().unwrap_or(0),
                daily_automation: decided
                    .iter()
                    .zip(&automated)
                    .map(|(d, a)| kpi::ratio(*a, *d))
                    .collect(),
                daily_decided: decided,
                market: code,
            }
        })
        .collect();
    let mut day_totals: BTreeMap<i64, [f64; 4]> = BTreeMap::new();
    for ((_, d), v) in &daily {
        let t = day_totals.entry(*d).or_default();
        for i in 0..4 {
            t[i] += v[i];
        }
    }
    let day_series = |a: usize, b: usize| -> Vec<Option<f64>> {
        days.iter()
            .map(|(d, _)| day_totals.get(d).and_then(|v| kpi::ratio(v[a], v[b])))
            .collect()
    };
    let drift = drift_cells(db, f, &reference_window(&f.window)).await?;
    Ok(Overview {
        previous_window: prev_filter.window.clone(),
        window: f.window.clone(),
        totals,
        previous,
        markets,
        daily_automation: day_series(1, 0),
        daily_override: day_series(3, 2),
        days: days.into_iter().map(|(_, l)| l).collect(),
        backlog,
        drift,
        alerts: alerts(db, 20).await?,
        models: models(db).await?,
    })
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

/// The default drift reference: the 28 days before the current window.
pub fn reference_window(current: &Window) -> Window {
    let first =
        NaiveDate::parse_from_str(&current.from, "%Y-%m-%d").expect("window dates are valid");
    days_window(first - Duration::days(28), first - Duration::days(1))
}

/// Score histograms per market × category over a window.
pub async fn histograms(db: &Db, f: &Filter) -> sqlx::Result<BTreeMap<(String, String), Vec<f64>>> {
    let rows = grouped(
        db,
        "rollup_categories",
        &CAT_MEASURES[cat::HIST..cat::HIST + kpi::PSI_BINS],
        &["market", "category"],
        f,
        true,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(k, v)| ((k[0].clone(), k[1].clone()), v))
        .collect())
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

/// The latest drift alerts, newest first.
pub async fn alerts(db: &Db, limit: i64) -> sqlx::Result<Vec<DriftAlert>> {
    let rows: Vec<AlertRow> = sqlx::query_as(
        "select id, at, market, category, band, previous_band, psi from drift_alerts order by at desc, id desc limit $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(alert_rows(rows))
}

/// Drift alerts raised inside a window, oldest first (the weekly report's).
pub async fn alerts_between(db: &Db, w: &Window) -> sqlx::Result<Vec<DriftAlert>> {
    let rows: Vec<AlertRow> = sqlx::query_as(
        "select id, at, market, category, band, previous_band, psi from drift_alerts \
         where at >= $1 and at < $2 order by at, id",
    )
    .bind(w.from_ms)
    .bind(w.to_ms)
    .fetch_all(db.pool())
    .await?;
    Ok(alert_rows(rows))
}

type AlertRow = (i64, i64, String, String, String, String, f64);

fn alert_rows(rows: Vec<AlertRow>) -> Vec<DriftAlert> {
    rows.into_iter()
        .map(
            |(id, at, market, category, band, previous_band, psi)| DriftAlert {
                id,
                at: to_rfc3339(at),
                market,
                category,
                band,
                previous_band,
                psi,
            },
        )
        .collect()
}

/// Checks drift for the 7 days up to `now` against the 28 days before, and records an alert
/// for every market × category whose band rose since the last check. Several servers may
/// check at once: the band is compared and set in one statement, so each rise is recorded
/// once. Returns the alerts recorded.
pub async fn check_drift(db: &Db, now: Millis) -> sqlx::Result<usize> {
    // Day-aligned, as the rollups it reads: today and the six days before.
    let to_ms = (now.div_euclid(DAY_MS) + 1) * DAY_MS;
    let current = Window {
        from: String::new(),
        to: String::new(),
        from_ms: to_ms - 7 * DAY_MS,
        to_ms,
    };
    let reference = Window {
        from: String::new(),
        to: String::new(),
        from_ms: current.from_ms - 28 * DAY_MS,
        to_ms: current.from_ms,
    };
    let all = Filter {
        window: current.clone(),
        market: None,
        category: None,
        model: None,
    };
    let q = histograms(db, &all).await?;
    let p = histograms(db, &all.with_window(reference.clone())).await?;
    let mut raised = 0;
    for (key, cur) in &q {
        let Some(psi) = p.get(key).and_then(|r| kpi::psi(r, cur)) else {
            continue;
        };
        // Too few decisions make PSI noise, not drift.
        if cur.iter().sum::<f64>() < MIN_DRIFT_SCORES {
            continue;
        }
        let band = DriftBand::of(psi);
        let mut tx = db.begin_write().await?;
        let old: Option<(String,)> =
            sqlx::query_as("select band from drift_state where market = $1 and category = $2")
                .bind(&key.0)
                .bind(&key.1)
                .fetch_optional(&mut *tx)
                .await?;
        let old_band = old.map_or("stable".to_string(), |o| o.0);
        let changed = sqlx::query(
            "insert into drift_state (market, category, band, psi, checked_at) values ($1, $2, $3, $4, $5) \
             on conflict (market, category) do update set band = excluded.band, psi = excluded.psi, \
             checked_at = excluded.checked_at where drift_state.band = $6",
        )
        .bind(&key.0)
        .bind(&key.1)
        .bind(band.as_str())
        .bind(psi)
        .bind(now)
        .bind(&old_band)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let rank = |b: &str| ["stable", "watch", "drifted"].iter().position(|x| *x == b);
        if changed == 1 && rank(band.as_str()) > rank(&old_band) {
            sqlx::query(
                "insert into drift_alerts (at, market, category, band, previous_band, psi, current_from, current_to, \
                 reference_from, reference_to) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(now)
            .bind(&key.0)
            .bind(&key.1)
            .bind(band.as_str())
            .bind(&old_band)
            .bind(psi)
            .bind(current.from_ms)
            .bind(current.to_ms)
            .bind(reference.from_ms)
            .bind(reference.to_ms)
            .execute(&mut *tx)
            .await?;
            raised += 1;
        }
        tx.commit().await?;
    }
    Ok(raised)
}

fn iso_week_label(week: i64) -> String {
    // Week numbers count Mondays since the epoch: week w starts on day 7w − 3.
    let monday = Utc
        .timestamp_millis_opt((week * 7 - 3) * DAY_MS)
        .single()
        .map(|d| d.date_naive());
    monday.map_or_else(String::new, |d| {
        let iso = d.iso_week();
        format!("{}-W{:02}", iso.year(), iso.week())
    })
}

/// The quality page: precision, recall and F1 per market × category with intervals, a
/// weekly trend over the 8 weeks ending with the window, and reliability per category.
pub async fn quality(db: &Db, f: &Filter) -> sqlx::Result<crate::board::Quality> {
    use crate::board::{QualityCell, Reliability};
    let q_measures = &CAT_MEASURES[cat::P_W..cat::P_W + 6];
    let rows = grouped(
        db,
        "rollup_categories",
        q_measures,
        &["market", "category"],
        f,
        true,
    )
    .await?;
    let mut all: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut cells = Vec::new();
    let cell = |market: String, category: String, v: &[f64]| {
        let precision = kpi::ht_ratio(&ht(v, 0));
        let recall = kpi::ht_ratio(&ht(v, 3));
        QualityCell {
            market,
            category,
            f1: precision
                .zip(recall)
                .and_then(|(p, r)| kpi::f1(p.value, r.value)),
            precision,
            recall,
        }
    };
    for (k, v) in &rows {
        add_into(all.entry(k[1].clone()).or_insert_with(|| vec![0.0; 6]), v);
        cells.push(cell(k[0].clone(), k[1].clone(), v));
    }
    for (c, v) in &all {
        cells.push(cell("ALL".into(), c.clone(), v));
    }
    // Weekly trend: ad-level, or the chosen category's.
    // Weeks count Mondays since the epoch (a Thursday): week w starts on day 7w − 3.
    let end_week = ((f.window.to_ms - 1).div_euclid(DAY_MS) + 3).div_euclid(7);
    let trend = f.with_window(Window {
        from_ms: (7 * (end_week - 7) - 3) * DAY_MS,
        ..f.window.clone()
    });
    let (table, measures, p_at, r_at) = match f.category {
        Some(_) => ("rollup_categories", q_measures.to_vec(), 0, 3),
        None => (
            "rollup_ads",
            AD_MEASURES[ad::P_W..ad::P_W + 6].to_vec(),
            0,
            3,
        ),
    };
    let weekly = grouped(db, table, &measures, &["(day + 3) / 7"], &trend, true).await?;
    let weekly: BTreeMap<i64, Vec<f64>> = weekly
        .into_iter()
        .map(|(k, v)| (k[0].parse().unwrap_or(0), v))
        .collect();
    let weeks: Vec<i64> = (end_week - 7..=end_week).collect();
    let value = |w: &i64, at: usize| {
        weekly
            .get(w)
            .and_then(|v| kpi::ht_ratio(&ht(v, at)))
            .filter(|e| e.enough())
            .map(|e| e.value)
    };
    // Reliability per category over the window.
    let cal = &CAT_MEASURES[cat::CAL_W..cat::CAL_S + kpi::PSI_BINS];
    let rows = grouped(db, "rollup_categories", cal, &["category"], f, true).await?;
    let reliability = rows
        .into_iter()
        .map(|(k, v)| {
            let bins: Vec<kpi::CalibrationBin> = (0..kpi::PSI_BINS)
                .map(|b| kpi::CalibrationBin {
                    w: v[b],
                    wy: v[20 + b],
                    ws: v[40 + b],
                })
                .collect();
            Reliability {
                category: k[0].clone(),
                points: bins
                    .iter()
                    .filter(|b| b.w > 0.0)
                    .map(|b| (b.ws / b.w, b.wy / b.w, b.w))
                    .collect(),
                ece: kpi::expected_calibration_error(&bins),
            }
        })
        .collect();
    Ok(crate::board::Quality {
        window: f.window.clone(),
        cells,
        weekly_precision: weeks.iter().map(|w| value(w, p_at)).collect(),
        weekly_recall: weeks.iter().map(|w| value(w, r_at)).collect(),
        weeks: weeks.iter().map(|w| iso_week_label(*w)).collect(),
        reliability,
    })
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
) -> sqlx::Result<crate::board::DriftView> {
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
    Ok(crate::board::DriftView {
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

/// The rates as the settings form shows them.
pub fn rates_view(r: &Rates) -> crate::board::RatesView {
    crate::board::RatesView {
        markets: Market::ALL
            .iter()
            .map(|m| {
                let code = m.code().to_string();
                let cap = r.capacity_per_day.get(&code).copied().unwrap_or(400.0);
                (code.clone(), r.hourly(&code), cap)
            })
            .collect(),
        cpu_hour_usd: r.cost.cpu_hour_usd,
        days_lost_per_false_reject: r.cost.days_lost_per_false_reject,
        risk_weights: Category::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), r.cost.risk_weight_usd[c.index()]))
            .collect(),
    }
}

/// The cost page: the four components per market and a daily trend per 1,000 ads.
pub async fn cost_view(db: &Db, f: &Filter) -> sqlx::Result<crate::board::CostView> {
    let rates = rates(db).await?;
    let sums = market_sums(db, f).await?;
    let (per, totals) = kpis_by_market(&sums, &rates);
    let rows = grouped(db, "rollup_ads", &AD_MEASURES, &["market", "day"], f, true).await?;
    let mut per_day: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (k, v) in rows {
        let c = kpi::cost(&cost_inputs(&v), rates.hourly(&k[0]), &rates.cost);
        let e = per_day.entry(k[1].parse().unwrap_or(0)).or_default();
        e.0 += c.total;
        e.1 += v[ad::DECIDED];
    }
    let days = window_days(&f.window);
    Ok(crate::board::CostView {
        window: f.window.clone(),
        markets: Market::ALL
            .iter()
            .filter(|m| f.market.is_none_or(|x| x == **m))
            .map(|m| {
                let k = per.get(m.code()).cloned().unwrap_or_default();
                (m.code().to_string(), k.decided, k.cost)
            })
            .collect(),
        total: totals.cost,
        daily_per_1k: days
            .iter()
            .map(|(d, _)| {
                per_day
                    .get(d)
                    .and_then(|(c, n)| kpi::ratio(*c, *n))
                    .map(|x| x * 1000.0)
            })
            .collect(),
        days: days.into_iter().map(|(_, l)| l).collect(),
        rates: rates_view(&rates),
    })
}

/// Saves the cost rates (validated: finite and not negative) and audits the change.
pub async fn save_rates(
    db: &Db,
    actor: &crate::audit::Actor,
    new: &crate::board::RatesView,
    now: Millis,
) -> Result<(), DashboardError> {
    let bad = |x: f64| !x.is_finite() || x < 0.0;
    if bad(new.cpu_hour_usd) || bad(new.days_lost_per_false_reject) {
        return Err(DashboardError::Invalid("rates must be zero or more".into()));
    }
    for (m, h, c) in &new.markets {
        if m.parse::<Market>().is_err() || bad(*h) || bad(*c) {
            return Err(DashboardError::Invalid(format!("bad rates for market {m}")));
        }
    }
    for (c, w) in &new.risk_weights {
        if c.parse::<Category>().is_err() || bad(*w) {
            return Err(DashboardError::Invalid(format!("bad risk weight for {c}")));
        }
    }
    let before = rates_view(&rates(db).await?);
    let mut tx = db.begin_write().await?;
    for (m, h, c) in &new.markets {
        sqlx::query("update market_settings set reviewer_hourly_usd = $1, review_capacity_per_day = $2, updated_at = $3 where market = $4")
            .bind(*h)
            .bind(*c)
            .bind(now)
            .bind(m)
            .execute(&mut *tx)
            .await?;
    }
    let mut named = vec![
        ("cpu_hour_usd".to_string(), new.cpu_hour_usd),
        (
            "days_lost_per_false_reject".to_string(),
            new.days_lost_per_false_reject,
        ),
    ];
    named.extend(
        new.risk_weights
            .iter()
            .map(|(c, w)| (format!("risk_weight.{c}"), *w)),
    );
    for (name, value) in named {
        sqlx::query(
            "insert into cost_rates (name, value, updated_at) values ($1, $2, $3) \
             on conflict (name) do update set value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(value)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    crate::audit::record_at(
        &mut *tx,
        crate::audit::NewEntry {
            actor,
            action: "settings.cost_rates",
            object: "cost_rates".into(),
            before: Some(serde_json::to_value(&before).unwrap_or_default()),
            after: Some(serde_json::to_value(new).unwrap_or_default()),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The overrides page: heatmap by market × category (decisions of the window), by reviewer
/// and by reason (reviews of the window), a daily trend, and the overridden ads of a slice.
pub async fn overrides_view(db: &Db, f: &Filter) -> sqlx::Result<crate::board::OverridesView> {
    use crate::board::{OverrideCell, OverrideCount};
    let rows = grouped(
        db,
        "rollup_ads",
        &["checked", "overridden"],
        &["market", "category"],
        f,
        true,
    )
    .await?;
    let cells = rows
        .into_iter()
        .map(|(k, v)| OverrideCell {
            market: k[0].clone(),
            category: k[1].clone(),
            checked: v[0],
            overridden: v[1],
            rate: kpi::ratio(v[1], v[0]),
        })
        .collect();
    let names: BTreeMap<String, String> =
        sqlx::query_as::<_, (i64, String)>("select id, display_name from users")
            .fetch_all(db.pool())
            .await?
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect();
    let labels: BTreeMap<String, String> =
        sqlx::query_as::<_, (String, String)>("select code, label from reason_codes")
            .fetch_all(db.pool())
            .await?
            .into_iter()
            .collect();
    let count = |rows: Vec<(Vec<String>, Vec<f64>)>, label: &dyn Fn(&str) -> String| {
        let mut out: Vec<OverrideCount> = rows
            .into_iter()
            .map(|(k, v)| OverrideCount {
                label: label(&k[0]),
                key: k[0].clone(),
                reviews: v[0],
                overrides: v[1],
                rate: kpi::ratio(v[1], v[0]),
            })
            .collect();
        out.sort_by(|a, b| b.overrides.total_cmp(&a.overrides).then(a.key.cmp(&b.key)));
        out
    };
    // Overrides by reviewer and reason are kept per market only (see `rollup::ANY`).
    let per_market = Filter {
        category: None,
        model: None,
        ..f.clone()
    };
    let by_reviewer = count(
        grouped(
            db,
            "rollup_overrides",
            &["reviews", "overrides"],
            &["reviewer_id"],
            &per_market,
            true,
        )
        .await?,
        &|k| names.get(k).cloned().unwrap_or_else(|| format!("user {k}")),
    );
    let by_reason = count(
        grouped(
            db,
            "rollup_overrides",
            &["reviews", "overrides"],
            &["reason_code"],
            &per_market,
            true,
        )
        .await?,
        &|k| {
            if k.is_empty() {
                "No reason given (agreed with the machine)".into()
            } else {
                labels.get(k).cloned().unwrap_or_else(|| k.to_string())
            }
        },
    )
    .into_iter()
    .filter(|c| c.overrides > 0.0)
    .collect();
    let days = window_days(&f.window);
    let daily = daily(db, f).await?;
    let mut per_day: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for ((_, d), v) in daily {
        let e = per_day.entry(d).or_default();
        e.0 += v[3];
        e.1 += v[2];
    }
    Ok(crate::board::OverridesView {
        window: f.window.clone(),
        cells,
        by_reviewer,
        by_reason,
        daily_rate: days
            .iter()
            .map(|(d, _)| per_day.get(d).and_then(|(o, c)| kpi::ratio(*o, *c)))
            .collect(),
        days: days.into_iter().map(|(_, l)| l).collect(),
        drill: if f.market.is_some() || f.category.is_some() {
            overridden_ads(db, f, 200).await?
        } else {
            Vec::new()
        },
    })
}

/// The overridden ads decided in the window, in the filter's market and (top) category,
/// newest first: the heatmap's drill-down. Reads reviews, bounded by `limit`.
pub async fn overridden_ads(
    db: &Db,
    f: &Filter,
    limit: usize,
) -> sqlx::Result<Vec<crate::board::OverriddenAd>> {
    // `+d.decided_at` keeps SQLite off `decisions_decided_at` (a whole window of decisions)
    // and on the partial index of overridden reviews, newest first.
    type Row = (
        i64,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        i64,
        String,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select r.ad_id, r.market, d.scores, r.machine_action, r.verdict, r.source, r.reason_code, u.display_name, \
         r.finished_at, a.headline, a.advertiser_id, r.reason_text from reviews r join decisions d on d.ad_id = r.ad_id join ads a on a.id = r.ad_id \
         join users u on u.id = r.reviewer_id \
         where r.override and +d.decided_at >= $1 and +d.decided_at < $2 and ($3 = '' or r.market = $3) \
         and ($4 = '' or d.model_version = $4) order by r.finished_at desc, r.id desc limit 2000",
    )
    .bind(f.window.from_ms)
    .bind(f.window.to_ms)
    .bind(f.market.map_or("", |m| m.code()))
    .bind(f.model.clone().unwrap_or_default())
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let category = crate::ads::top_of_scores(&r.2)?.0;
            if f.category.is_some_and(|c| c != category) {
                return None;
            }
            Some(crate::board::OverriddenAd {
                ad_id: r.0,
                market: r.1,
                category: category.as_str().to_string(),
                machine_action: r.3,
                verdict: r.4,
                source: r.5,
                reason_code: r.6,
                reviewer: r.7,
                at: to_rfc3339(r.8),
                headline: r.9,
                advertiser: r.10,
                reason_text: r.11,
            })
        })
        .take(limit)
        .collect())
}

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
    ) -> crate::board::Projection {
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
        crate::board::Projection {
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
) -> Result<crate::board::Simulation, DashboardError> {
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
    let (_, cells) = crate::thresholds::current(db).await?;
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
        restricted: cell.rule == crate::decide::Rule::Restricted,
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
    let mut suggestion: Option<crate::board::Projection> = None;
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
    Ok(crate::board::Simulation {
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
