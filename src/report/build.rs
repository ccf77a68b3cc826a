//! Building the report: the week's figures from the dashboards' queries, compared with the week
//! before and the four weeks' average, and rendering it in each format.

use crate::dashboard::view::{Kpis, ReportCategory, ReportMarket, Selection, WeeklyReport, Window};
use crate::dashboard::{self, filter::Filter};
use crate::metrics::kpi::{self, Cost};
use crate::platform::db::Db;
use crate::platform::time::{Millis, to_rfc3339};
use crate::vocab::market::Market;
use chrono_tz::Tz;
use std::collections::BTreeMap;

use super::findings::{findings, sample_notes};
use super::week::{IsoWeek, time_zone};
use super::{
    AVERAGE_WEEKS, Format, OVERRIDDEN_LISTED, ReportError, TREND_WEEKS, archive, pdf, tidy, xlsx,
};

/// What to report: a week, its time zone, and the markets (empty: all).
#[derive(Clone, Debug)]
pub struct Request {
    pub week: IsoWeek,
    pub tz: Tz,
    pub markets: Vec<Market>,
}

impl Request {
    /// Parses the markets of a request: comma-separated codes, empty for all.
    pub fn parse_markets(list: &str) -> Result<Vec<Market>, ReportError> {
        let mut out = Vec::new();
        for code in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let m: Market = code
                .parse()
                .map_err(|_| ReportError::Invalid(format!("unknown market {code:?}")))?;
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out.sort_by_key(|m| Market::ALL.iter().position(|x| x == m));
        Ok(out)
    }

    /// What a caller asked for (API query, CLI options), each part as typed: the week (empty:
    /// the last complete one), markets (empty: all) and time zone (empty: `default_tz`).
    pub fn asked(
        week: &str,
        markets: &str,
        tz: &str,
        default_tz: Tz,
        now: Millis,
    ) -> Result<Request, ReportError> {
        let tz = if tz.trim().is_empty() {
            default_tz
        } else {
            time_zone(tz)?
        };
        let week = if week.trim().is_empty() {
            IsoWeek::last_complete(now, tz)
        } else {
            week.parse()?
        };
        Ok(Request {
            week,
            tz,
            markets: Request::parse_markets(markets)?,
        })
    }
}

pub(super) fn filter(window: Window, market: Option<Market>) -> Filter {
    Filter {
        window,
        market,
        category: None,
        model: None,
    }
}

/// Per-market figures of a window, restricted to the markets in scope, and their total.
async fn market_kpis(
    db: &Db,
    window: &Window,
    scope: &[Market],
    rates: &dashboard::kpis::Rates,
) -> Result<(BTreeMap<String, Kpis>, Kpis), ReportError> {
    let mut sums = dashboard::kpis::market_sums(db, &filter(window.clone(), single(scope))).await?;
    let keep = |m: &str| scope.is_empty() || scope.iter().any(|x| x.code() == m);
    sums.measures.retain(|m, _| keep(m));
    sums.durations.retain(|(m, _), _| keep(m));
    Ok(dashboard::kpis::kpis_by_market(&sums, rates))
}

/// The one market of a one-market scope (then the queries filter in SQL).
fn single(scope: &[Market]) -> Option<Market> {
    match scope {
        [m] => Some(*m),
        _ => None,
    }
}

/// Figures of `weeks` weeks as a weekly average: counts and costs divided, rates pooled.
pub fn per_week(k: &Kpis, weeks: f64) -> Kpis {
    let d = |x: f64| x / weeks;
    Kpis {
        decided: d(k.decided),
        auto_approved: d(k.auto_approved),
        auto_rejected: d(k.auto_rejected),
        routed: d(k.routed),
        checked: d(k.checked),
        overridden: d(k.overridden),
        appeals_decided: d(k.appeals_decided),
        sla_n: d(k.sla_n),
        reviews: d(k.reviews),
        cost: Cost {
            total: d(k.cost.total),
            review: d(k.cost.review),
            inference: d(k.cost.inference),
            false_positive: d(k.cost.false_positive),
            false_negative: d(k.cost.false_negative),
            per_1k_ads: k.cost.per_1k_ads,
        },
        // Totals over four weeks are not a week's; the average shows audit-only figures.
        estimates: None,
        ..k.clone()
    }
}

/// Builds the report from the rollups (and, for the overridden ads listed, the reviews).
pub async fn build(db: &Db, req: &Request, now: Millis) -> Result<WeeklyReport, ReportError> {
    let tz = req.tz;
    let scope = &req.markets;
    let in_scope = |m: &str| scope.is_empty() || scope.iter().any(|x| x.code() == m);
    let rates = dashboard::kpis::rates(db).await?;
    let window = req.week.window(tz);
    let previous_week = req.week.plus(-1);
    let previous_window = previous_week.window(tz);
    let average_start = req.week.plus(-(AVERAGE_WEEKS as i64));
    let average_window = average_start.span(AVERAGE_WEEKS as i64, tz);

    // The trend: eight weeks ending with this one (the last two are this and the previous).
    let mut trend_weeks = Vec::new();
    let mut trend = Vec::new();
    for back in (0..TREND_WEEKS as i64).rev() {
        let w = req.week.plus(-back);
        trend_weeks.push(w.to_string());
        trend.push(market_kpis(db, &w.window(tz), scope, &rates).await?);
    }
    let (per_market, totals) = trend.pop().expect("eight weeks");
    let (per_market_prev, previous) = trend.last().cloned().expect("eight weeks");
    let (per_market_avg, average) = market_kpis(db, &average_window, scope, &rates).await?;
    let weeks = AVERAGE_WEEKS as f64;
    let markets: Vec<ReportMarket> = Market::ALL
        .iter()
        .filter(|m| in_scope(m.code()))
        .map(|m| {
            let code = m.code().to_string();
            ReportMarket {
                week: per_market.get(&code).cloned().unwrap_or_default(),
                previous: per_market_prev.get(&code).cloned().unwrap_or_default(),
                average: per_week(
                    &per_market_avg.get(&code).cloned().unwrap_or_default(),
                    weeks,
                ),
                market: code,
            }
        })
        .collect();
    let mut trend_all: Vec<&Kpis> = trend.iter().map(|(_, k)| k).collect();
    trend_all.push(&totals);

    // Categories: quality and overrides, this week and the one before.
    let week_filter = filter(window.clone(), single(scope));
    let quality = dashboard::quality::quality(db, &week_filter).await?;
    let overrides = dashboard::overrides::overrides_view(db, &week_filter).await?;
    let overrides_prev =
        dashboard::overrides::overrides_view(db, &filter(previous_window.clone(), single(scope)))
            .await?;
    let checked =
        |cells: &[crate::dashboard::view::OverrideCell], m: &str, c: &str| -> (f64, f64) {
            cells
                .iter()
                .filter(|x| (m == "ALL" && in_scope(&x.market)) || x.market == m)
                .filter(|x| x.category == c)
                .fold((0.0, 0.0), |a, x| (a.0 + x.checked, a.1 + x.overridden))
        };
    let all_markets = scope.is_empty() || scope.len() == Market::ALL.len();
    let categories: Vec<ReportCategory> = quality
        .cells
        .iter()
        .filter(|q| {
            if q.market == "ALL" {
                all_markets || scope.len() == 1
            } else {
                in_scope(&q.market)
            }
        })
        .filter(|q| !(scope.len() == 1 && q.market == "ALL"))
        .map(|q| {
            let (c, o) = checked(&overrides.cells, &q.market, &q.category);
            let (pc, po) = checked(&overrides_prev.cells, &q.market, &q.category);
            ReportCategory {
                market: q.market.clone(),
                category: q.category.clone(),
                precision: q.precision,
                recall: q.recall,
                f1: q.f1,
                checked: c,
                overridden: o,
                override_rate: kpi::ratio(o, c),
                previous_override_rate: kpi::ratio(po, pc),
            }
        })
        .collect();

    // Drift of the week against the four weeks before; alerts raised during the week.
    let drift: Vec<_> = dashboard::drift::drift_cells(db, &week_filter, &average_window)
        .await?
        .into_iter()
        .filter(|d| in_scope(&d.market))
        .collect();
    let alerts = dashboard::drift_alerts::alerts_between(db, &window)
        .await?
        .into_iter()
        .filter(|a| in_scope(&a.market))
        .collect();
    let models = models_between(db, &window).await?;
    let model_changes = model_changes_between(db, &window, tz).await?;
    // Split by version for all markets or one (a partial scope has no single filter).
    let by_version = if scope.len() <= 1 || scope.len() == Market::ALL.len() {
        dashboard::kpis::by_version(db, &filter(window.clone(), single(scope)), &rates).await?
    } else {
        Vec::new()
    };
    let mut overridden = dashboard::overrides::overridden_ads(db, &week_filter, 2000).await?;
    overridden.retain(|a| in_scope(&a.market));
    overridden.truncate(OVERRIDDEN_LISTED);
    // The newest decision comes from the index on decided_at; the number of decisions from the
    // daily rollups (a int(*) of a large decisions table took a second on PostgreSQL).
    let (through,): (Option<i64>,) = sqlx::query_as("select max(decided_at) from decisions")
        .fetch_one(db.pool())
        .await?;
    let (count,): (Option<i64>,) =
        sqlx::query_as("select cast(sum(decided) as bigint) from rollup_ads_daily")
            .fetch_one(db.pool())
            .await?;
    let count = count.unwrap_or(0);

    let mut report = WeeklyReport {
        week: req.week.to_string(),
        time_zone: tz.name().to_string(),
        window,
        previous_window,
        average_window,
        markets_in_scope: markets.iter().map(|m| m.market.clone()).collect(),
        all_markets,
        generated_at: to_rfc3339(now),
        data_through: through.map(to_rfc3339),
        data_through_ms: through,
        decisions_in_database: count,
        trend_decided: trend_all.iter().map(|k| k.decided).collect(),
        trend_automation: trend_all.iter().map(|k| k.automation_rate).collect(),
        trend_override: trend_all.iter().map(|k| k.override_rate).collect(),
        trend_cost_per_1k: trend_all.iter().map(|k| k.cost.per_1k_ads).collect(),
        trend_weeks,
        average: per_week(&average, weeks),
        totals,
        previous,
        markets,
        categories,
        drift,
        alerts,
        models,
        model_changes,
        by_version,
        reasons: overrides.by_reason,
        reviewers: overrides.by_reviewer,
        overridden,
        findings: Vec::new(),
        sample_notes: Vec::new(),
        // Rules span markets: the week's rules whatever the markets in scope (below).
        rules: Vec::new(),
    };
    report.rules =
        crate::rules::report::week(db, report.window.from_ms, report.window.to_ms).await?;
    report.findings = findings(&report);
    report.sample_notes = sample_notes(&report);
    Ok(report)
}

/// The report's file in one format. Blocking (PDF and XLSX take a while): call it off the
/// async runtime.
pub fn render(r: &WeeklyReport, format: Format) -> Result<Vec<u8>, ReportError> {
    match format {
        Format::Pdf => pdf::render(r),
        Format::Xlsx => xlsx::render(r),
        Format::Csv => Ok(tidy::csv(r).into_bytes()),
    }
}

/// Renders one format off the async runtime.
pub async fn render_async(
    r: std::sync::Arc<WeeklyReport>,
    format: Format,
) -> Result<Vec<u8>, ReportError> {
    tokio::task::spawn_blocking(move || render(&r, format))
        .await
        .map_err(|e| ReportError::Render {
            format: "report",
            message: e.to_string(),
        })?
}

/// Builds the report and renders all three formats (in parallel, off the async runtime).
pub async fn produce(
    db: &Db,
    req: &Request,
    now: Millis,
) -> Result<(WeeklyReport, archive::Files), ReportError> {
    let report = std::sync::Arc::new(build(db, req, now).await?);
    let (pdf, xlsx, csv) = tokio::join!(
        render_async(report.clone(), Format::Pdf),
        render_async(report.clone(), Format::Xlsx),
        render_async(report.clone(), Format::Csv),
    );
    let files = archive::Files {
        pdf: pdf?,
        xlsx: xlsx?,
        csv: csv?,
    };
    let report = std::sync::Arc::try_unwrap(report).unwrap_or_else(|r| (*r).clone());
    Ok((report, files))
}

/// Renders an archive row that was claimed or started: stores the files (queueing the mail
/// to `recipients`) or records why it failed.
pub async fn fill_run(
    db: &Db,
    id: i64,
    req: &Request,
    recipients: &[String],
    now: Millis,
) -> Result<(), ReportError> {
    match produce(db, req, now).await {
        Ok((report, files)) => {
            archive::store(
                db,
                id,
                &files,
                report.data_through_ms,
                report.decisions_in_database,
                recipients,
                crate::platform::time::now_millis(),
            )
            .await?;
            Ok(())
        }
        Err(e) => {
            archive::fail(db, id, &e.to_string(), crate::platform::time::now_millis()).await?;
            Err(e)
        }
    }
}

/// The dashboards' selection that shows the same numbers as a report of one week in UTC (what
/// the KPIs API is asked with `from` and `to`).
pub fn selection_of(week: IsoWeek) -> Selection {
    let w = week.window(chrono_tz::UTC);
    Selection {
        window: "custom".into(),
        from: w.from,
        to: w.to,
        ..Selection::default()
    }
}

/// The promotions and rollbacks that changed a champion inside a window, oldest first, as
/// sentences: which version, in which markets, when (in the report's time zone) and by whom.
async fn model_changes_between(db: &Db, w: &Window, tz: Tz) -> sqlx::Result<Vec<String>> {
    let events = crate::engine::model::registry::events(db).await?;
    // (note, version) → (first instant, actor, markets), in order of first instant.
    let mut changes: Vec<(String, String, Millis, String, Vec<String>)> = Vec::new();
    for e in events.into_iter().filter(|e| {
        e.role == crate::engine::model::registry::Role::Champion
            && e.at >= w.from_ms
            && e.at < w.to_ms
    }) {
        let Some(note) = e
            .note
            .filter(|n| n.starts_with("promotion ") || n.starts_with("rollback of promotion "))
        else {
            continue;
        };
        let market = e.market.unwrap_or_else(|| "every market".into());
        match changes.iter_mut().find(|c| c.0 == note && c.1 == e.version) {
            Some(c) => c.4.push(market),
            None => changes.push((note, e.version, e.at, e.actor, vec![market])),
        }
    }
    Ok(changes
        .into_iter()
        .map(|(note, version, at, actor, markets)| {
            let when = chrono::DateTime::from_timestamp_millis(at)
                .map(|t| t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string())
                .unwrap_or_default();
            let what = if note.starts_with("rollback") {
                format!("{version} became champion again")
            } else {
                format!("{version} became champion")
            };
            let mut note = note;
            if let Some(first) = note.get(..1) {
                note = first.to_uppercase() + &note[1..];
            }
            format!(
                "{note}: {what} in {} on {when} ({actor}).",
                markets.join(", ")
            )
        })
        .collect())
}

/// Model versions that decided ads inside a window, by decisions, most first.
async fn models_between(db: &Db, w: &Window) -> sqlx::Result<Vec<String>> {
    let hour = crate::rollup::HOUR_MS;
    let rows: Vec<(String, f64)> = sqlx::query_as(
        "select model_version, cast(sum(decided) as double precision) from rollup_ads \
         where hour >= $1 and hour < $2 group by model_version order by 2 desc",
    )
    .bind(w.from_ms.div_euclid(hour))
    .bind((w.to_ms + hour - 1).div_euclid(hour))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.1 > 0.0)
        .map(|r| r.0)
        .collect())
}
