//! Backtests: a rule run over the ads decided in a window, measured against what humans
//! decided.
//!
//! - **Precision** is the share of the rule's hits that humans found violating, among hits
//!   whose final human verdict came from a random audit sample or a routed review (appeals
//!   and escalations are not random samples and stay out), each weighted by 1 / its
//!   sampling probability; a Horvitz–Thompson ratio with a Wilson interval on Kish's
//!   effective sample size, as the Quality page's audit-only figures.
//! - **New catches** are hits the model approved; of those with a human verdict, how many
//!   were found violating, and Σ w·y: how many of all the new catches are, estimated.
//! - **Overlap**: hits the model rejected anyway, and hits every live rule also makes.
//! - **Review volume** and **cost**: what switching the rule on would have changed per day,
//!   with the cost model's components (false-positive spend lost, false-negative harm
//!   avoided, reviewer time) at the rates in force.

use super::matcher::{Facts, Mode, RuleSet, Source};
use super::spec::{CheckedAction, RuleSpec, SpecError};
pub use super::view::{Backtest, Change, Overlap};
use crate::dashboard::kpis::{self, Rates};
use crate::metrics::kpi::{HtSums, ht_ratio};
use crate::platform::db::{Db, Flag};
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

/// The longest window a backtest reads: decisions are kept this long for backtests.
pub const MAX_DAYS: u32 = 90;

const DAY_MS: i64 = 86_400_000;

/// Ads read per query.
const CHUNK: i64 = 20_000;
/// Queries in flight while a chunk is matched.
const READ_AHEAD: usize = 2;

/// Why a backtest did not run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("{0}")]
    Invalid(#[from] SpecError),
    #[error("the backtest was cancelled")]
    Cancelled,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// One decided ad as a scan reads it.
pub(crate) type Row = (
    i64,            // ad id
    String,         // market
    Option<String>, // language
    String,         // headline
    String,         // body
    Option<String>, // landing url
    String,         // advertiser
    f64,            // daily budget
    String,         // ad status
    String,         // scores JSON
    String,         // action
    Flag,           // audit sample
    f64,            // sampling probability
    i64,            // decided at
    Option<String>, // route
);

fn day_of(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The rule version a backtest runs.
#[derive(Clone, Copy, Debug)]
pub struct Tested<'a> {
    pub rule_id: i64,
    pub version: i64,
    pub spec: &'a RuleSpec,
}

/// Runs a rule version over the ads decided in the `days` before `now`. `progress` hears
/// the share done; `cancel` stops it between chunks.
pub async fn run(
    db: &Db,
    tested: Tested<'_>,
    days: u32,
    now: Millis,
    progress: &(dyn Fn(f64) + Send + Sync),
    cancel: &AtomicBool,
) -> Result<Backtest, BacktestError> {
    let Tested {
        rule_id,
        version,
        spec,
    } = tested;
    let started = std::time::Instant::now();
    if days == 0 || days > MAX_DAYS {
        return Err(SpecError {
            field: "days".into(),
            message: format!("a backtest reads 1 to {MAX_DAYS} days (decisions are kept {MAX_DAYS} days for backtests)"),
        }
        .into());
    }
    spec.validate(now)?;
    let tested = RuleSet::compile(&[Source {
        id: rule_id,
        version,
        mode: Mode::Live,
        spec,
    }])?;
    let tested_rule = &tested.rules[0];
    // Every other live rule, for the overlap.
    let others = super::store::active(db).await?;
    let others: Vec<&super::store::Active> = others
        .iter()
        .filter(|(id, _, mode, _)| *id != rule_id && *mode == Mode::Live)
        .collect();
    let live = RuleSet::compile(
        &others
            .iter()
            .map(|(id, version, mode, spec)| Source {
                id: *id,
                version: *version,
                mode: *mode,
                spec,
            })
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();

    let from = now - i64::from(days) * DAY_MS;
    let rates = kpis::rates(db).await?;
    let first_seen = if tested.needs_first_seen {
        all_first_seen(db).await?
    } else {
        HashMap::new()
    };

    let mut out = Backtest::empty(rule_id, version, days, from, now);
    let mut sample = HtSums::default();
    let mut overlap: HashMap<usize, u64> = HashMap::new();
    let mut markets_hit: Vec<String> = Vec::new();
    let mut reviews_added = 0i64;
    let mut fp_usd = 0.0;
    let mut fn_usd = 0.0;
    let mut reviews_by_market: BTreeMap<String, i64> = BTreeMap::new();

    out.ads_scanned = scan(db, from, now, None, progress, cancel, |r| {
        // Scores are read from their JSON only where the rule asks for them, or for a hit.
        let quick = if tested.needs_scores {
            parse_scores(&r.9)
        } else {
            [0.0; crate::engine::model::CATEGORIES]
        };
        match facts_of(r, &quick, &first_seen) {
            Some(facts) if !tested.matches(&facts).is_empty() => {}
            _ => return,
        }
        let scores = if tested.needs_scores {
            quick
        } else {
            parse_scores(&r.9)
        };
        let Some(facts) = facts_of(r, &scores, &first_seen) else {
            return;
        };
        out.hits += 1;
        *out.by_market.entry(r.1.clone()).or_default() += 1;
        if !markets_hit.contains(&r.1) {
            markets_hit.push(r.1.clone());
        }
        let top = Category::ALL
            .into_iter()
            .max_by(|a, b| scores[a.index()].total_cmp(&scores[b.index()]))
            .unwrap_or(Category::Scam);
        *out.by_category.entry(top.as_str().to_string()).or_default() += 1;
        *out.by_day.entry(day_of(r.13)).or_default() += 1;
        for i in live.matches(&facts) {
            *overlap.entry(i).or_default() += 1;
        }
        let action = r.10.as_str();
        if action == "reject" {
            out.overlap_model_rejections += 1;
        }
        let (label, w) = human_label(&r.8, r.11.0, action, r.14.as_deref(), r.12);
        if let Some(y) = label {
            out.labelled += 1;
            sample.add(w, y);
        }
        if action == "approve" {
            out.new_catches += 1;
            if let Some(y) = label {
                out.new_catches_labelled += 1;
                if y {
                    out.new_catches_violating += 1;
                    out.new_catches_violating_estimate += w;
                }
            }
        }
        // What switching it on changes, by action.
        match &tested_rule.action {
            CheckedAction::Reject(categories) => {
                let harm = categories
                    .iter()
                    .map(|c| rates.cost.risk_weight_usd[c.index()])
                    .fold(0.0, f64::max);
                if action == "approve" {
                    match label {
                        Some(true) => fn_usd -= w * harm,
                        Some(false) => fp_usd += w * r.7 * rates.cost.days_lost_per_false_reject,
                        None => {}
                    }
                } else if action == "review" {
                    // Rejected outright instead of reviewed.
                    reviews_added -= 1;
                    *reviews_by_market.entry(r.1.clone()).or_default() -= 1;
                    if label == Some(false) {
                        fp_usd += r.7 * rates.cost.days_lost_per_false_reject;
                    }
                }
            }
            CheckedAction::Review { .. } => {
                if action == "approve" {
                    reviews_added += 1;
                    *reviews_by_market.entry(r.1.clone()).or_default() += 1;
                    if label == Some(true) {
                        fn_usd -= w * rates.cost.risk_weight_usd[top.index()];
                    }
                }
            }
            CheckedAction::Flag(_) => {}
        }
    })
    .await?;
    out.precision = ht_ratio(&sample);
    out.overlap_rules = live
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let both = *overlap.get(&i)?;
            Some(Overlap {
                rule_id: r.id,
                name: r.name.clone(),
                both,
            })
        })
        .collect();
    out.overlap_rules.sort_by_key(|o| std::cmp::Reverse(o.both));
    let handling_ms = mean_handling_ms(db, from, now).await?;
    let per_day = f64::from(days);
    let review_usd: f64 = reviews_by_market
        .iter()
        .map(|(m, n)| *n as f64 * handling_ms / 3.6e6 * rates.hourly(m))
        .sum();
    out.change = Change {
        reviews_per_day: reviews_added as f64 / per_day,
        capacity_per_day: capacity(&rates, &markets_hit),
        false_positive_usd: fp_usd / per_day,
        false_negative_usd: fn_usd / per_day,
        review_usd: review_usd / per_day,
        total_usd: (fp_usd + fn_usd + review_usd) / per_day,
    };
    out.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(out)
}

/// Backtests rule `id`'s current version over the `days` before `now` and keeps the result
/// with the version (None: no such rule).
pub async fn run_and_keep(
    db: &Db,
    id: i64,
    days: u32,
    now: Millis,
    progress: &(dyn Fn(f64) + Send + Sync),
    cancel: &AtomicBool,
) -> Result<Option<Backtest>, BacktestError> {
    let Some(rule) = super::store::get(db, id, now).await? else {
        return Ok(None);
    };
    let tested = Tested {
        rule_id: id,
        version: rule.rule.version,
        spec: &rule.spec,
    };
    let result = run(db, tested, days, now, progress, cancel).await?;
    let value = serde_json::to_value(&result).unwrap_or_default();
    super::store::save_backtest(db, id, rule.rule.version, &value).await?;
    Ok(Some(result))
}

/// Reads every ad decided in [from, to) (only those whose status is `status`, if given), in
/// chunks of decision ids, calling `f` on each; `progress` hears the share done and `cancel`
/// stops it between chunks. Returns how many ads were read.
pub(crate) async fn scan(
    db: &Db,
    from: Millis,
    to: Millis,
    status: Option<&str>,
    progress: &(dyn Fn(f64) + Send + Sync),
    cancel: &AtomicBool,
    mut f: impl FnMut(&Row),
) -> Result<u64, BacktestError> {
    let (lo, hi): (Option<i64>, Option<i64>) = sqlx::query_as(
        "select min(id), max(id) from decisions where decided_at >= $1 and decided_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(db.pool())
    .await?;
    let mut read = 0;
    if let (Some(lo), Some(hi)) = (lo, hi) {
        // Chunks are read ahead on other tasks (two in flight, each on its own connection)
        // while this one matches the chunk at hand: reading and matching use both cores.
        let fetch = |at: i64| {
            let db = db.clone();
            let status = status.unwrap_or("").to_string();
            tokio::spawn(async move {
                sqlx::query_as::<_, Row>(
                    "select a.id, a.market, a.language, a.headline, a.body, a.landing_url, a.advertiser_id, \
                     a.daily_budget_usd, a.status, d.scores, d.action, d.audit_sample, d.sampling_probability, \
                     d.decided_at, d.route \
                     from decisions d join ads a on a.id = d.ad_id \
                     where d.id >= $1 and d.id < $2 and d.decided_at >= $3 and d.decided_at < $4 \
                     and ($5 = '' or a.status = $5)",
                )
                .bind(at)
                .bind(at + CHUNK)
                .bind(from)
                .bind(to)
                .bind(status)
                .fetch_all(db.pool())
                .await
            })
        };
        let mut ahead = std::collections::VecDeque::new();
        let mut next = lo;
        while next <= hi && ahead.len() < READ_AHEAD {
            ahead.push_back(fetch(next));
            next += CHUNK;
        }
        let mut done = lo;
        while let Some(job) = ahead.pop_front() {
            if cancel.load(Ordering::Relaxed) {
                for j in ahead {
                    j.abort();
                }
                return Err(BacktestError::Cancelled);
            }
            let rows = job.await.map_err(|e| {
                BacktestError::Db(sqlx::Error::Protocol(format!(
                    "a backtest read failed: {e}"
                )))
            })??;
            if next <= hi {
                ahead.push_back(fetch(next));
                next += CHUNK;
            }
            for r in &rows {
                f(r);
            }
            read += rows.len() as u64;
            done += CHUNK;
            progress(((done - lo) as f64 / (hi - lo + 1) as f64).min(1.0));
        }
    }
    progress(1.0);
    Ok(read)
}

/// An ad's final human verdict if it belongs to the random sample (an audited automatic
/// decision or a routed review, settled by a human: the ad's status is a human one; appeals
/// and escalations left out), with its weight 1 / sampling probability.
pub(crate) fn human_label(
    status: &str,
    audit_sample: bool,
    action: &str,
    route: Option<&str>,
    probability: f64,
) -> (Option<bool>, f64) {
    let routed = action == "review" && route != Some("escalation");
    let sampled = (audit_sample || routed) && probability > 0.0;
    let verdict = match status {
        "approved" => Some(false),
        "rejected" => Some(true),
        _ => None,
    };
    (
        if sampled { verdict } else { None },
        1.0 / probability.max(1e-9),
    )
}

/// A recorded hit with what the backtest reads of its ad: (rule, ad status, version, market,
/// audit sample, action, route, sampling probability, at).
type HitRow = (
    i64,
    String,
    i64,
    String,
    Flag,
    String,
    Option<String>,
    f64,
    i64,
);

const HIT_COLUMNS: &str = "h.rule_id, a.status, h.version, h.market, d.audit_sample, d.action, d.route, \
     d.sampling_probability, h.at \
     from rule_hits h join decisions d on d.ad_id = h.ad_id join ads a on a.id = h.ad_id";

/// The shadow results of a rule: the same hit and precision figures over what the worker
/// recorded while the rule ran in background since `since` (its hits on live traffic).
pub async fn shadow(db: &Db, rule_id: i64, since: Millis, now: Millis) -> sqlx::Result<Backtest> {
    let rows: Vec<HitRow> = sqlx::query_as(&format!(
        "select {HIT_COLUMNS} where h.rule_id = $1 and h.mode = 'background' and h.at >= $2 and h.at < $3"
    ))
    .bind(rule_id)
    .bind(since)
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    Ok(fold_hits(rule_id, &rows, since, now))
}

/// Every rule's figures over its hits on live traffic (live and background) in `[from, to)`,
/// in one market or all: what the dashboards show per rule. Most hits first.
pub async fn in_window(
    db: &Db,
    from: Millis,
    to: Millis,
    market: Option<&str>,
) -> sqlx::Result<Vec<Backtest>> {
    let rows: Vec<HitRow> = sqlx::query_as(&format!(
        "select {HIT_COLUMNS} where h.mode in ('live', 'background') and h.at >= $1 and h.at < $2 \
         and (cast($3 as text) is null or h.market = $3)"
    ))
    .bind(from)
    .bind(to)
    .bind(market)
    .fetch_all(db.pool())
    .await?;
    let mut by_rule: BTreeMap<i64, Vec<HitRow>> = BTreeMap::new();
    for r in rows {
        by_rule.entry(r.0).or_default().push(r);
    }
    let mut out: Vec<Backtest> = by_rule
        .into_iter()
        .map(|(id, rows)| fold_hits(id, &rows, from, to))
        .collect();
    out.sort_by(|a, b| b.hits.cmp(&a.hits).then(a.rule_id.cmp(&b.rule_id)));
    Ok(out)
}

/// Hits, markets, days, precision against human verdicts and new catches over recorded hits.
fn fold_hits(rule_id: i64, rows: &[HitRow], from: Millis, to: Millis) -> Backtest {
    let version = rows.iter().map(|r| r.2).max().unwrap_or(0);
    let days = ((to - from).max(0) / DAY_MS + 1) as u32;
    let mut out = Backtest::empty(rule_id, version, days, from, to);
    out.hits = rows.len() as u64;
    let mut sample = HtSums::default();
    for (_, status, _, market, audit, action, route, p, at) in rows {
        *out.by_market.entry(market.clone()).or_default() += 1;
        *out.by_day.entry(day_of(*at)).or_default() += 1;
        if action == "reject" {
            out.overlap_model_rejections += 1;
        }
        let (label, w) = human_label(status, audit.0, action, route.as_deref(), *p);
        if let Some(y) = label {
            out.labelled += 1;
            sample.add(w, y);
        }
        if action == "approve" {
            out.new_catches += 1;
            if let Some(y) = label {
                out.new_catches_labelled += 1;
                if y {
                    out.new_catches_violating += 1;
                    out.new_catches_violating_estimate += w;
                }
            }
        }
    }
    out.precision = ht_ratio(&sample);
    out
}

/// The facts rules read of a scanned ad (None for a market no longer known).
pub(crate) fn facts_of<'a>(
    r: &'a Row,
    scores: &'a [f32; crate::engine::model::CATEGORIES],
    first_seen: &HashMap<String, Millis>,
) -> Option<Facts<'a>> {
    Some(Facts {
        market: r.1.parse::<Market>().ok()?,
        language: r.2.as_deref(),
        headline: &r.3,
        body: &r.4,
        landing_url: r.5.as_deref(),
        advertiser: &r.6,
        advertiser_first_seen: first_seen.get(&r.6).copied(),
        scores,
        daily_budget_usd: r.7,
        now: r.13,
    })
}

pub(crate) fn parse_scores(json: &str) -> [f32; crate::engine::model::CATEGORIES] {
    let mut out = [0.0; crate::engine::model::CATEGORIES];
    if let Ok(v) = serde_json::from_str::<Vec<f32>>(json) {
        for (o, s) in out.iter_mut().zip(v) {
            *o = s;
        }
    }
    out
}

fn capacity(rates: &Rates, markets: &[String]) -> f64 {
    rates
        .capacity_per_day
        .iter()
        .filter(|(m, _)| markets.is_empty() || markets.contains(m))
        .map(|(_, c)| *c)
        .sum()
}

/// The mean time a review took in the window (60 s when there were none).
async fn mean_handling_ms(db: &Db, from: Millis, to: Millis) -> sqlx::Result<f64> {
    let (mean,): (Option<f64>,) = sqlx::query_as(
        "select avg(cast(finished_at - started_at as double precision)) from reviews \
         where finished_at >= $1 and finished_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(db.pool())
    .await?;
    Ok(mean.unwrap_or(60_000.0))
}

/// Every advertiser's first ad.
pub(crate) async fn all_first_seen(db: &Db) -> sqlx::Result<HashMap<String, Millis>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("select advertiser_id, min(submitted_at) from ads group by advertiser_id")
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().collect())
}

/// Backtests running in this process, one per rule at most, so the page can show a progress
/// bar and offer to cancel.
pub mod jobs {
    use super::{BacktestError, Tested, run};
    use crate::platform::db::Db;
    use crate::platform::time::now_millis;
    use crate::rules::spec::RuleSpec;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, LazyLock, Mutex};

    /// Backtests running at once in a process (the machine has few cores; a backtest takes
    /// one).
    pub const MAX_RUNNING: usize = 2;

    struct Job {
        progress: Arc<AtomicU64>,
        cancel: Arc<AtomicBool>,
        running: bool,
        error: Option<String>,
    }

    static JOBS: LazyLock<Mutex<HashMap<i64, Job>>> = LazyLock::new(Default::default);

    /// Where a rule's backtest stands.
    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Status {
        pub running: bool,
        /// Share done, 0–1.
        pub progress: f64,
        /// Why the last one stopped, when it did not finish.
        pub error: Option<String>,
    }

    /// Starts a backtest of `version` of rule `rule_id`; its result is kept with the version.
    pub fn start(
        db: Db,
        rule_id: i64,
        version: i64,
        spec: RuleSpec,
        days: u32,
    ) -> Result<(), String> {
        let mut jobs = JOBS.lock().expect("backtest jobs");
        if jobs.get(&rule_id).is_some_and(|j| j.running) {
            return Err("a backtest of this rule is already running".into());
        }
        if jobs.values().filter(|j| j.running).count() >= MAX_RUNNING {
            return Err(format!(
                "{MAX_RUNNING} backtests are already running; try again when one is done"
            ));
        }
        let progress = Arc::new(AtomicU64::new(0f64.to_bits()));
        let cancel = Arc::new(AtomicBool::new(false));
        jobs.insert(
            rule_id,
            Job {
                progress: progress.clone(),
                cancel: cancel.clone(),
                running: true,
                error: None,
            },
        );
        drop(jobs);
        tokio::spawn(async move {
            let report = |share: f64| progress.store(share.to_bits(), Ordering::Relaxed);
            let result = run(
                &db,
                Tested {
                    rule_id,
                    version,
                    spec: &spec,
                },
                days,
                now_millis(),
                &report,
                &cancel,
            )
            .await;
            let error = match result {
                Ok(done) => match serde_json::to_value(&done) {
                    Ok(v) => crate::rules::store::save_backtest(&db, rule_id, version, &v)
                        .await
                        .err()
                        .map(|e| e.to_string()),
                    Err(e) => Some(e.to_string()),
                },
                Err(BacktestError::Cancelled) => Some("cancelled".into()),
                Err(e) => Some(e.to_string()),
            };
            if let Some(job) = JOBS.lock().expect("backtest jobs").get_mut(&rule_id) {
                job.running = false;
                job.error = error;
            }
        });
        Ok(())
    }

    /// The state of a rule's backtest in this process, if one ran.
    pub fn status(rule_id: i64) -> Option<Status> {
        JOBS.lock()
            .expect("backtest jobs")
            .get(&rule_id)
            .map(|j| Status {
                running: j.running,
                progress: f64::from_bits(j.progress.load(Ordering::Relaxed)),
                error: j.error.clone(),
            })
    }

    /// Asks a running backtest to stop; whether one was running.
    pub fn cancel(rule_id: i64) -> bool {
        match JOBS.lock().expect("backtest jobs").get(&rule_id) {
            Some(j) if j.running => {
                j.cancel.store(true, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }
}
