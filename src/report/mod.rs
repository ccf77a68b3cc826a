//! The executive weekly report: one ISO week in a reporting time zone, compared with the week
//! before and with the average of the four weeks before. Every figure comes from the
//! dashboards' queries (`dashboard`), so the report, the pages and the KPIs API agree; this
//! module only picks the windows, adds the sentences, and hands the result to the three
//! writers (`pdf`, `xlsx`, `csv`).

pub mod archive;
pub mod pdf;
pub mod tidy;
pub mod xlsx;

use crate::board::{Kpis, ReportCategory, ReportMarket, Selection, WeeklyReport, Window};
use crate::dashboard::{self, DashboardError, Filter};
use crate::db::Db;
use crate::kpi::{self, Cost, DriftBand};
use crate::market::Market;
use crate::time::{Millis, to_rfc3339};
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Weekday};
pub use chrono_tz::Tz;

/// The default reporting time zone.
pub const UTC: Tz = chrono_tz::UTC;
use std::collections::BTreeMap;

/// Weeks in the report's trend charts.
pub const TREND_WEEKS: usize = 8;
/// Weeks behind the "4-week average".
pub const AVERAGE_WEEKS: usize = 4;
/// Overridden ads listed in the report (newest first).
pub const OVERRIDDEN_LISTED: usize = 100;
/// Human-checked decisions a market × category needs before its override rate is named as a mover.
const MIN_CHECKED_FOR_MOVER: f64 = 20.0;

/// Why a report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error("rendering the {format} failed: {message}")]
    Render {
        format: &'static str,
        message: String,
    },
}

impl From<DashboardError> for ReportError {
    fn from(e: DashboardError) -> Self {
        match e {
            DashboardError::Invalid(m) => ReportError::Invalid(m),
            DashboardError::Sql(e) => ReportError::Sql(e),
        }
    }
}

/// The file formats of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Pdf,
    Xlsx,
    Csv,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Pdf, Format::Xlsx, Format::Csv];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    /// The file name a download gets: `amso-weekly-2026-W47.pdf`.
    pub fn file_name(self, week: &impl std::fmt::Display) -> String {
        format!("amso-weekly-{week}.{}", self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pdf" => Ok(Format::Pdf),
            "xlsx" => Ok(Format::Xlsx),
            "csv" => Ok(Format::Csv),
            other => Err(ReportError::Invalid(format!(
                "format must be pdf, xlsx or csv, not {other:?}"
            ))),
        }
    }
}

/// An ISO 8601 week, `2026-W47`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    pub year: i32,
    pub week: u32,
}

impl std::fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

impl std::str::FromStr for IsoWeek {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ReportError::Invalid(format!("week must look like 2026-W47, not {s:?}"));
        let (y, w) = s.trim().split_once(['W', 'w']).ok_or_else(bad)?;
        let year: i32 = y.trim_end_matches('-').parse().map_err(|_| bad())?;
        let week: u32 = w.parse().map_err(|_| bad())?;
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)
            .map(|_| IsoWeek { year, week })
            .ok_or_else(|| ReportError::Invalid(format!("{year} has no ISO week {week}")))
    }
}

impl IsoWeek {
    /// The week a date falls in.
    pub fn of(date: NaiveDate) -> IsoWeek {
        let w = date.iso_week();
        IsoWeek {
            year: w.year(),
            week: w.week(),
        }
    }

    pub fn monday(self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon).expect("checked on parse")
    }

    /// The week `n` weeks later (negative: earlier).
    pub fn plus(self, n: i64) -> IsoWeek {
        IsoWeek::of(self.monday() + Duration::weeks(n))
    }

    /// The last complete week at `now` in `tz`: the week before the current one.
    pub fn last_complete(now: Millis, tz: Tz) -> IsoWeek {
        let today = tz
            .timestamp_millis_opt(now)
            .single()
            .map(|t| t.date_naive())
            .unwrap_or_default();
        IsoWeek::of(today - Duration::weeks(1))
    }

    /// Monday 00:00 of this week in `tz`, as epoch milliseconds.
    pub fn start_ms(self, tz: Tz) -> Millis {
        local_midnight(self.monday(), tz)
    }

    /// The window Monday..Sunday in `tz` (exact instants; local dates as labels).
    pub fn window(self, tz: Tz) -> Window {
        self.span(1, tz)
    }

    /// The window of `weeks` weeks starting with this one.
    pub fn span(self, weeks: i64, tz: Tz) -> Window {
        let first = self.monday();
        let last = first + Duration::weeks(weeks) - Duration::days(1);
        Window {
            from: first.format("%Y-%m-%d").to_string(),
            to: last.format("%Y-%m-%d").to_string(),
            from_ms: local_midnight(first, tz),
            to_ms: local_midnight(last + Duration::days(1), tz),
        }
    }
}

/// Midnight of a local date as epoch milliseconds (a midnight that a clock change skips is
/// read as the first instant after it).
fn local_midnight(date: NaiveDate, tz: Tz) -> Millis {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.timestamp_millis()
        }
        chrono::LocalResult::None => tz
            .from_local_datetime(&(midnight + Duration::hours(1)))
            .earliest()
            .map_or(0, |t| t.timestamp_millis()),
    }
}

/// A reporting time zone by IANA name (`UTC`, `Europe/Berlin`).
pub fn time_zone(name: &str) -> Result<Tz, ReportError> {
    let name = if name.trim().is_empty() {
        "UTC"
    } else {
        name.trim()
    };
    name.parse::<Tz>()
        .map_err(|_| ReportError::Invalid(format!("unknown time zone {name:?}")))
}

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
}

fn filter(window: Window, market: Option<Market>) -> Filter {
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
    rates: &dashboard::Rates,
) -> Result<(BTreeMap<String, Kpis>, Kpis), ReportError> {
    let mut sums = dashboard::market_sums(db, &filter(window.clone(), single(scope))).await?;
    let keep = |m: &str| scope.is_empty() || scope.iter().any(|x| x.code() == m);
    sums.measures.retain(|m, _| keep(m));
    sums.durations.retain(|(m, _), _| keep(m));
    Ok(dashboard::kpis_by_market(&sums, rates))
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
        ..k.clone()
    }
}

/// Builds the report from the rollups (and, for the overridden ads listed, the reviews).
pub async fn build(db: &Db, req: &Request, now: Millis) -> Result<WeeklyReport, ReportError> {
    let tz = req.tz;
    let scope = &req.markets;
    let in_scope = |m: &str| scope.is_empty() || scope.iter().any(|x| x.code() == m);
    let rates = dashboard::rates(db).await?;
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
    let quality = dashboard::quality(db, &week_filter).await?;
    let overrides = dashboard::overrides_view(db, &week_filter).await?;
    let overrides_prev =
        dashboard::overrides_view(db, &filter(previous_window.clone(), single(scope))).await?;
    let checked = |cells: &[crate::board::OverrideCell], m: &str, c: &str| -> (f64, f64) {
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
    let drift: Vec<_> = dashboard::drift_cells(db, &week_filter, &average_window)
        .await?
        .into_iter()
        .filter(|d| in_scope(&d.market))
        .collect();
    let alerts = dashboard::alerts_between(db, &window)
        .await?
        .into_iter()
        .filter(|a| in_scope(&a.market))
        .collect();
    let models = models_between(db, &window).await?;
    let mut overridden = dashboard::overridden_ads(db, &week_filter, 2000).await?;
    overridden.retain(|a| in_scope(&a.market));
    overridden.truncate(OVERRIDDEN_LISTED);
    // The newest decision comes from the index on decided_at; the number of decisions from the
    // daily rollups (a count(*) of a large decisions table took a second on PostgreSQL).
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
        reasons: overrides.by_reason,
        reviewers: overrides.by_reviewer,
        overridden,
        findings: Vec::new(),
        sample_notes: Vec::new(),
    };
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
                crate::time::now_millis(),
            )
            .await?;
            Ok(())
        }
        Err(e) => {
            archive::fail(db, id, &e.to_string(), crate::time::now_millis()).await?;
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

/// `12.3%`, or `n/a`.
pub fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{:.1}%", v * 100.0))
}

/// A change in percentage points: `+1.2 pts`.
pub fn pts(now: Option<f64>, before: Option<f64>) -> String {
    match (now, before) {
        (Some(a), Some(b)) => format!("{:+.1} pts", (a - b) * 100.0),
        _ => "n/a".into(),
    }
}

/// A relative change: `+4.0%`.
pub fn change(now: f64, before: f64) -> String {
    kpi::relative_change(now, before)
        .map_or_else(|| "n/a".into(), |c| format!("{:+.1}%", c * 100.0))
}

/// `1,234,567`.
pub fn count(x: f64) -> String {
    let n = x.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// `$1,234` (whole dollars) or `$12.34` under a hundred.
pub fn usd(x: f64) -> String {
    if x.abs() < 100.0 {
        format!("${x:.2}")
    } else {
        format!("${}", count(x))
    }
}

/// Seconds as `42 s`, `12 min`, `3.5 h` or `2.1 d`.
pub fn duration(s: Option<f64>) -> String {
    match s {
        None => "n/a".into(),
        Some(s) if s < 90.0 => format!("{s:.0} s"),
        Some(s) if s < 90.0 * 60.0 => format!("{:.0} min", s / 60.0),
        Some(s) if s < 48.0 * 3600.0 => format!("{:.1} h", s / 3600.0),
        Some(s) => format!("{:.1} d", s / 86400.0),
    }
}

/// `91.2% (88.0–93.6%)`.
pub fn estimate(e: Option<kpi::Estimate>) -> String {
    e.map_or_else(
        || "n/a".into(),
        |e| {
            format!(
                "{:.1}% ({:.1}–{:.1}%)",
                e.value * 100.0,
                e.low * 100.0,
                e.high * 100.0
            )
        },
    )
}

/// The sentences of the summary page: what moved, what drifted, which models decided.
pub fn findings(r: &WeeklyReport) -> Vec<String> {
    let mut out = Vec::new();
    let (t, p) = (&r.totals, &r.previous);
    out.push(format!(
        "{} ads decided ({} vs the week before, {} vs the 4-week average); {} decided automatically ({}).",
        count(t.decided),
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
                    count(c.overridden),
                    count(c.checked)
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
    // Cost per 1,000 ads: the total and the biggest mover.
    out.push(format!(
        "Cost of risk control {} ({} per 1,000 ads; {} vs the week before).",
        usd(t.cost.total),
        t.cost.per_1k_ads.map_or_else(|| "n/a".into(), usd),
        change(t.cost.total, p.cost.total),
    ));
    if let Some((m, _)) = r
        .markets
        .iter()
        .filter_map(|m| {
            let now = m.week.cost.per_1k_ads?;
            let before = m.previous.cost.per_1k_ads?;
            Some((m, kpi::relative_change(now, before)?))
        })
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .filter(|(_, c)| c.abs() >= 0.05)
    {
        // Name the component that moved, so a jump in an estimate is not read as spending.
        let (name, _) = cost_driver(&m.week, &m.previous);
        let caveat = if name == "harm let through" || name == "false rejects" {
            " (estimated from audit samples: one audited ad stands for many)"
        } else {
            ""
        };
        out.push(format!(
            "Cost per 1,000 ads moved most in {}: {} → {}, mostly {name}{caveat}.",
            m.market,
            m.previous.cost.per_1k_ads.map_or_else(|| "n/a".into(), usd),
            m.week.cost.per_1k_ads.map_or_else(|| "n/a".into(), usd),
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
    out
}

/// A cost component's name and how to read it.
type CostPart = (&'static str, fn(&Cost) -> f64);

/// The cost component whose per-1,000-ads figure changed most between two weeks, and by how
/// much (USD per 1,000 ads).
fn cost_driver(now: &Kpis, before: &Kpis) -> (&'static str, f64) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_parse_and_print() {
        let w: IsoWeek = "2026-W47".parse().unwrap();
        assert_eq!(
            w,
            IsoWeek {
                year: 2026,
                week: 47
            }
        );
        assert_eq!(w.to_string(), "2026-W47");
        assert_eq!(w.monday(), NaiveDate::from_ymd_opt(2026, 11, 16).unwrap());
        assert_eq!(w.plus(-1).to_string(), "2026-W46");
        assert_eq!(
            "2026-w01".parse::<IsoWeek>().unwrap().plus(-1).to_string(),
            "2025-W52"
        );
        assert!("2026-W54".parse::<IsoWeek>().is_err());
        assert!("2026-47".parse::<IsoWeek>().is_err());
        assert!("W47".parse::<IsoWeek>().is_err());
    }

    #[test]
    fn windows_follow_the_time_zone() {
        let w: IsoWeek = "2026-W47".parse().unwrap();
        let utc = w.window(chrono_tz::UTC);
        assert_eq!(
            (utc.from.as_str(), utc.to.as_str()),
            ("2026-11-16", "2026-11-22")
        );
        assert_eq!(utc.to_ms - utc.from_ms, 7 * 86_400_000);
        let berlin = w.window(time_zone("Europe/Berlin").unwrap());
        assert_eq!(utc.from_ms - berlin.from_ms, 3_600_000);
        // A week with a clock change is an hour short.
        let spring: IsoWeek = "2026-W13".parse().unwrap();
        let b = spring.window(time_zone("Europe/Berlin").unwrap());
        assert_eq!(b.to_ms - b.from_ms, 7 * 86_400_000 - 3_600_000);
        assert!(time_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn last_complete_week() {
        // Monday 2026-11-23 06:00 UTC: in UTC the last full week is W47; in Auckland it is
        // already Monday evening, still W47.
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 6, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            IsoWeek::last_complete(now, chrono_tz::UTC).to_string(),
            "2026-W47"
        );
        // Sunday 2026-11-22 23:00 in Los Angeles is Monday 07:00 UTC.
        let la = time_zone("America/Los_Angeles").unwrap();
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 7, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(IsoWeek::last_complete(now, la).to_string(), "2026-W46");
    }

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(count(1234567.0), "1,234,567");
        assert_eq!(count(999.0), "999");
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd(12345.0), "$12,345");
        assert_eq!(pct(Some(0.1234)), "12.3%");
        assert_eq!(pts(Some(0.2), Some(0.15)), "+5.0 pts");
        assert_eq!(duration(Some(30.0)), "30 s");
        assert_eq!(duration(Some(7200.0)), "2.0 h");
        assert_eq!(duration(Some(3.0 * 86400.0)), "3.0 d");
        assert_eq!("PDF".parse::<Format>().unwrap(), Format::Pdf);
        assert!("docx".parse::<Format>().is_err());
    }

    #[test]
    fn a_cost_jump_names_its_component() {
        let week = |review: f64, harm: f64| Kpis {
            decided: 1000.0,
            cost: Cost {
                review,
                false_negative: harm,
                total: review + harm,
                per_1k_ads: Some(review + harm),
                ..Cost::default()
            },
            ..Kpis::default()
        };
        assert_eq!(
            cost_driver(&week(30.0, 8000.0), &week(32.0, 0.0)).0,
            "harm let through"
        );
        assert_eq!(
            cost_driver(&week(90.0, 10.0), &week(30.0, 12.0)).0,
            "reviewer time"
        );
        let r = WeeklyReport {
            markets: vec![ReportMarket {
                market: "SG".into(),
                week: week(30.0, 8000.0),
                previous: week(32.0, 0.0),
                average: Kpis::default(),
            }],
            ..WeeklyReport::default()
        };
        let text = findings(&r).join(" ");
        assert!(
            text.contains("moved most in SG: $32.00 → $8,030, mostly harm let through (estimated"),
            "{text}"
        );
    }

    #[test]
    fn weekly_average_divides_counts_not_rates() {
        let k = Kpis {
            decided: 400.0,
            automation_rate: Some(0.8),
            cost: Cost {
                total: 40.0,
                per_1k_ads: Some(100.0),
                ..Cost::default()
            },
            ..Kpis::default()
        };
        let a = per_week(&k, 4.0);
        assert_eq!(a.decided, 100.0);
        assert_eq!(a.automation_rate, Some(0.8));
        assert_eq!(a.cost.total, 10.0);
        assert_eq!(a.cost.per_1k_ads, Some(100.0));
    }
}
