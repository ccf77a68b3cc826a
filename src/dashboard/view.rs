//! The dashboards' figures as they travel to pages, the KPIs API and the weekly report. Plain
//! data (no I/O), so the browser bundle shares these shapes; `dashboard` fills them.

use crate::metrics::estimate::Estimates;
use crate::metrics::kpi::{Cost, DriftBand, Estimate};
use serde::{Deserialize, Serialize};

/// What a dashboard shows: a window of whole UTC days and optional slices.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// `today`, `7d` (default), `28d` or `custom` (then `from` and `to` are used).
    pub window: String,
    /// First day, `YYYY-MM-DD` (custom windows).
    pub from: String,
    /// Last day, inclusive, `YYYY-MM-DD` (custom windows).
    pub to: String,
    /// Market code, empty for all.
    pub market: String,
    /// Category, empty for all.
    pub category: String,
    /// Model version, empty for all.
    pub model: String,
}

/// A resolved window: whole days from `from` to `to` inclusive, and the epoch-millisecond
/// range `[from_ms, to_ms)` they cover.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: String,
    pub to: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// The IANA zone whose calendar days the window is made of ("" for UTC).
    #[serde(default)]
    pub zone: String,
}

impl Window {
    /// The zone's name for people: `Asia/Tokyo`, or `UTC`.
    pub fn zone_name(&self) -> &str {
        if self.zone.is_empty() {
            "UTC"
        } else {
            &self.zone
        }
    }

    /// The heading of a column or axis of its days: `Day (Asia/Tokyo)`.
    pub fn day_label(&self) -> String {
        format!("Day ({})", self.zone_name())
    }
}

/// The headline figures of one slice and window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    pub decided: f64,
    pub auto_approved: f64,
    pub auto_rejected: f64,
    /// Routed to humans by the machine (uncertain or restricted).
    pub routed: f64,
    /// (auto-approved + auto-rejected) / decided.
    pub automation_rate: Option<f64>,
    /// Automatic decisions a human checked (audits and appeals).
    pub checked: f64,
    pub overridden: f64,
    /// overridden / checked.
    pub override_rate: Option<f64>,
    /// Auto-reject precision, Horvitz–Thompson with a 95% Wilson interval on effective counts.
    pub precision: Option<Estimate>,
    /// Auto-reject recall, same estimator.
    pub recall: Option<Estimate>,
    pub appeals_decided: f64,
    pub appeal_overturn_rate: Option<f64>,
    /// Routed ads that got their final human decision in the window.
    pub sla_n: f64,
    /// Submitted → final human decision, read at bucket resolution (about 10%).
    pub sla_p50_seconds: Option<f64>,
    pub sla_p95_seconds: Option<f64>,
    /// Share of those decided by their due time.
    pub sla_within: Option<f64>,
    pub reviews: f64,
    pub median_handling_seconds: Option<f64>,
    pub cost: Cost,
    /// Model-assisted estimates of quality and cost (the figures pages show first).
    #[serde(default)]
    pub estimates: Option<Estimates>,
}

/// Open review items by queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backlog {
    pub source: String,
    pub open: i64,
    pub past_due: i64,
}

/// One market's row on the overview.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MarketRow {
    pub market: String,
    pub kpis: Kpis,
    pub previous: Kpis,
    /// Open review items in this market.
    pub backlog: i64,
    /// Decisions per day over the window (one value per day in `Overview::days`).
    pub daily_decided: Vec<f64>,
    pub daily_automation: Vec<Option<f64>>,
}

/// PSI of one market × category's score distribution, current against reference window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftCell {
    pub market: String,
    pub category: String,
    pub psi: Option<f64>,
    pub band: Option<DriftBand>,
    pub current_n: f64,
    pub reference_n: f64,
}

/// A rise into `watch` or `drifted`, as recorded when it was seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftAlert {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub market: String,
    pub category: String,
    pub band: String,
    pub previous_band: String,
    pub psi: f64,
}

/// A tripwire raised: over the last 7 days, the label-free figure of a slice fell outside its
/// model-assisted interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TripwireAlert {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub market: String,
    /// A category, or `*` for the ad as a whole.
    pub category: String,
    /// `precision` or `recall`.
    pub figure: String,
    pub label_free: f64,
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// Everything the overview page and the KPIs API show.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub window: Window,
    pub previous_window: Window,
    pub totals: Kpis,
    pub previous: Kpis,
    pub markets: Vec<MarketRow>,
    /// The days of the window, `MM-DD`, for the sparklines and trends.
    pub days: Vec<String>,
    pub daily_automation: Vec<Option<f64>>,
    pub daily_override: Vec<Option<f64>>,
    pub backlog: Vec<Backlog>,
    pub drift: Vec<DriftCell>,
    /// Recent alerts, newest first.
    pub alerts: Vec<DriftAlert>,
    /// Recent tripwire alerts, newest first.
    #[serde(default)]
    pub tripwires: Vec<TripwireAlert>,
    /// Model versions seen in the rollups, newest data first.
    pub models: Vec<String>,
    /// Each version's totals over the window when more than one decided in it (a promotion,
    /// a canary or a rollback inside the window), most decisions first; empty otherwise.
    #[serde(default)]
    pub by_version: Vec<(String, Kpis)>,
}

/// Precision, recall and F1 of automatic rejection for one market × category (market `ALL`
/// for every market together).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityCell {
    pub market: String,
    pub category: String,
    /// Audit-only (Horvitz–Thompson) figures.
    pub precision: Option<Estimate>,
    pub recall: Option<Estimate>,
    pub f1: Option<f64>,
    /// Model-assisted figures, label-free figures and the tripwire.
    #[serde(default)]
    pub estimates: Option<Estimates>,
}

/// A reliability diagram: per score bin, mean predicted score against the weighted share
/// humans confirmed, with the weight behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reliability {
    pub category: String,
    /// (mean score, observed rate, weight) for bins with data.
    pub points: Vec<(f64, f64, f64)>,
    pub ece: Option<f64>,
    /// After calibration: (calibrated probability, observed rate, weight) per bin with data.
    #[serde(default)]
    pub calibrated: Vec<(f64, f64, f64)>,
    #[serde(default)]
    pub ece_calibrated: Option<f64>,
}

/// The quality page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    pub window: Window,
    pub cells: Vec<QualityCell>,
    /// ISO weeks (`2026-W47`) of the trend, oldest first.
    pub weeks: Vec<String>,
    /// Model-assisted where calibrated, else audit-only (None: too few samples).
    pub weekly_precision: Vec<Option<f64>>,
    pub weekly_recall: Vec<Option<f64>>,
    /// Audit-only.
    #[serde(default)]
    pub weekly_precision_audit: Vec<Option<f64>>,
    #[serde(default)]
    pub weekly_recall_audit: Vec<Option<f64>>,
    pub reliability: Vec<Reliability>,
    /// The model version whose calibration maps the reliability diagrams show after.
    #[serde(default)]
    pub calibrated_model: Option<String>,
    /// Slices whose tripwire fired (market × category, `ALL` for every market).
    #[serde(default)]
    pub tripwires: Vec<(String, String)>,
}

/// The drift page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DriftView {
    pub window: Window,
    pub reference: Window,
    pub cells: Vec<DriftCell>,
    /// The market × category whose histograms are shown (the chosen one, else the worst).
    pub focus: Option<(String, String)>,
    /// Shares per score bin (20), reference and current.
    pub focus_reference: Vec<f64>,
    pub focus_current: Vec<f64>,
    pub days: Vec<String>,
    /// PSI per day against the reference for the most drifted slices (`US scam`, values).
    pub daily_psi: Vec<(String, Vec<Option<f64>>)>,
    /// Jensen–Shannon distance per market: language mix, category mix.
    pub language_js: Vec<(String, Option<f64>)>,
    pub category_js: Vec<(String, Option<f64>)>,
    pub alerts: Vec<DriftAlert>,
}

/// Editable rates behind the cost of risk control.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RatesView {
    /// (market, reviewer USD per hour, reviews a day the team can do).
    pub markets: Vec<(String, f64, f64)>,
    pub cpu_hour_usd: f64,
    pub days_lost_per_false_reject: f64,
    /// (category, USD of harm per harmful ad approved).
    pub risk_weights: Vec<(String, f64)>,
}

/// The cost page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostView {
    pub window: Window,
    /// (market, decided, cost).
    pub markets: Vec<(String, f64, crate::metrics::kpi::Cost)>,
    /// Model-assisted estimates per row of `markets`, in order.
    #[serde(default)]
    pub estimates: Vec<Option<Estimates>>,
    pub total: crate::metrics::kpi::Cost,
    #[serde(default)]
    pub total_estimates: Option<Estimates>,
    pub days: Vec<String>,
    /// Cost per 1,000 ads per day, all selected markets together.
    pub daily_per_1k: Vec<Option<f64>>,
    pub rates: RatesView,
}

/// One cell of the override heatmap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverrideCell {
    pub market: String,
    pub category: String,
    pub checked: f64,
    pub overridden: f64,
    pub rate: Option<f64>,
}

/// Overrides by one reviewer or one reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverrideCount {
    pub key: String,
    pub label: String,
    pub reviews: f64,
    pub overrides: f64,
    pub rate: Option<f64>,
}

/// An overridden ad, for the drill-down.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverriddenAd {
    pub ad_id: i64,
    pub market: String,
    pub category: String,
    pub machine_action: String,
    pub verdict: String,
    pub source: String,
    pub reason_code: Option<String>,
    pub reviewer: String,
    /// RFC 3339, UTC.
    pub at: String,
    pub headline: String,
    pub advertiser: String,
    /// The reviewer's own words, if any.
    pub reason_text: Option<String>,
}

/// The overrides page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverridesView {
    pub window: Window,
    pub cells: Vec<OverrideCell>,
    pub by_reviewer: Vec<OverrideCount>,
    pub by_reason: Vec<OverrideCount>,
    pub days: Vec<String>,
    pub daily_rate: Vec<Option<f64>>,
    /// The overridden ads of the selected market (and category), newest first.
    pub drill: Vec<OverriddenAd>,
}

/// What the threshold simulator projects for one pair of thresholds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    pub approve_below: f64,
    pub reject_at: f64,
    /// Share of the market's decisions made automatically.
    pub automation_rate: Option<f64>,
    /// Human reviews a day for the market.
    pub review_per_day: f64,
    /// Of the category's auto-rejections, the estimated share truly violating.
    pub precision: Option<f64>,
    /// Of the category's estimated violations, the share auto-rejected.
    pub recall: Option<f64>,
    /// Cost a day: reviews, wrongly rejected spend, harm let through (USD).
    pub review_cost_per_day: f64,
    pub false_positive_cost_per_day: f64,
    pub false_negative_cost_per_day: f64,
    pub cost_per_day: f64,
}

/// The simulator's answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Simulation {
    pub market: String,
    pub category: String,
    /// The market policy for the category: a restricted category never auto-rejects.
    pub rule: String,
    pub current: Projection,
    pub proposed: Projection,
    /// The cost-minimising thresholds within reviewer capacity, if any pair fits.
    pub suggestion: Option<Projection>,
    pub capacity_per_day: f64,
    pub history_from: String,
    pub history_to: String,
    pub history_days: f64,
    pub decided: f64,
    /// Human-checked ads behind the violation estimates (weighted sample size).
    pub labelled: f64,
    pub explanation: String,
}

/// One market's week in the weekly report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportMarket {
    pub market: String,
    pub week: Kpis,
    pub previous: Kpis,
    /// The four weeks before, per week (counts and costs divided by four; rates pooled).
    pub average: Kpis,
}

/// One market × category's week in the weekly report (market `ALL` for every market in
/// scope together, when the scope is every market).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportCategory {
    pub market: String,
    pub category: String,
    pub precision: Option<Estimate>,
    pub recall: Option<Estimate>,
    pub f1: Option<f64>,
    pub checked: f64,
    pub overridden: f64,
    pub override_rate: Option<f64>,
    /// Override rate of the week before, for the movers.
    pub previous_override_rate: Option<f64>,
}

/// The executive weekly report: one ISO week in a reporting time zone, against the week
/// before and the four-week average, drawn from the dashboards' queries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WeeklyReport {
    /// ISO week, `2026-W47`.
    pub week: String,
    /// IANA name, e.g. `UTC` or `Europe/Berlin`.
    pub time_zone: String,
    /// Local dates Monday..Sunday; the epoch-millisecond range is exact in the time zone.
    pub window: Window,
    pub previous_window: Window,
    /// The four weeks before the report's week.
    pub average_window: Window,
    /// Markets in scope (every market when the report was asked for all).
    pub markets_in_scope: Vec<String>,
    pub all_markets: bool,
    /// RFC 3339, UTC.
    pub generated_at: String,
    /// The newest decision in the database when it was made (RFC 3339), and how many there were.
    pub data_through: Option<String>,
    pub data_through_ms: Option<i64>,
    pub decisions_in_database: i64,
    pub totals: Kpis,
    pub previous: Kpis,
    pub average: Kpis,
    pub markets: Vec<ReportMarket>,
    pub categories: Vec<ReportCategory>,
    /// The eight ISO weeks ending with this one, oldest first, and their figures.
    pub trend_weeks: Vec<String>,
    pub trend_decided: Vec<f64>,
    pub trend_automation: Vec<Option<f64>>,
    pub trend_override: Vec<Option<f64>>,
    pub trend_cost_per_1k: Vec<Option<f64>>,
    /// PSI of the week against the four weeks before, per market × category.
    pub drift: Vec<DriftCell>,
    /// Drift alerts raised during the week, oldest first.
    pub alerts: Vec<DriftAlert>,
    /// Model versions that decided ads during the week.
    pub models: Vec<String>,
    /// The week's promotions and rollbacks, as sentences, oldest first.
    #[serde(default)]
    pub model_changes: Vec<String>,
    /// Each version's totals over the week when more than one decided in it.
    #[serde(default)]
    pub by_version: Vec<(String, Kpis)>,
    pub reasons: Vec<OverrideCount>,
    pub reviewers: Vec<OverrideCount>,
    /// The week's overridden ads, newest first (bounded).
    pub overridden: Vec<OverriddenAd>,
    /// Sentences written from the data: the biggest movers, alerts, models.
    pub findings: Vec<String>,
    /// Where a figure rests on too few samples to be read as precise.
    pub sample_notes: Vec<String>,
    /// Rules that matched ads during the week, switched on or expired in it, most hits first.
    #[serde(default)]
    pub rules: Vec<ReportRule>,
}

/// A rule in the weekly report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportRule {
    pub id: i64,
    pub name: String,
    /// Its state now (`live`, `background`, `expired` …).
    pub state: String,
    /// `reject`, `review` or `flag`.
    pub action: String,
    /// Ads it matched in the week, acting (live) and in background.
    pub hits_live: i64,
    pub hits_background: i64,
    /// Share of its hits reviewers found violating, weighted as backtests weigh them.
    pub precision: Option<crate::metrics::kpi::Estimate>,
    pub switched_on: bool,
    pub expired: bool,
}

/// A rendering of the weekly report kept in the archive.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ArchivedReport {
    pub id: i64,
    pub week: String,
    /// `schedule` or `manual`.
    pub origin: String,
    pub time_zone: String,
    /// Market codes, empty for every market.
    pub markets: String,
    /// `rendering`, `ready` or `failed`.
    pub state: String,
    /// `schedule` or the email of the person who asked for it.
    pub generated_by: String,
    /// RFC 3339, UTC.
    pub generated_at: Option<String>,
    /// The newest decision in the database when it was rendered (RFC 3339).
    pub data_through: Option<String>,
    pub decisions: Option<i64>,
    pub pdf_bytes: i64,
    pub xlsx_bytes: i64,
    pub csv_bytes: i64,
    pub error: Option<String>,
    /// `none` (no mail configured), `pending`, `sent` or `failed`.
    pub delivery: String,
    pub recipients: String,
    pub delivery_attempts: i64,
    pub delivery_error: Option<String>,
    pub delivered_at: Option<String>,
    /// When the next delivery attempt is due (RFC 3339), while pending.
    pub delivery_next_at: Option<String>,
}

/// How the weekly report is scheduled and mailed, as the Reports page shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportSchedule {
    /// `Monday 07:00 UTC`, or `off`.
    pub when: String,
    pub time_zone: String,
    /// Whether SMTP settings are given.
    pub mail: bool,
    pub recipients: Vec<String>,
    /// The week the next scheduled run will report, and when it runs (RFC 3339).
    pub next_week: Option<String>,
    pub next_at: Option<String>,
}
