//! Server functions for the dashboards. Ops heads, executives and admins read them (others
//! get 403); ops heads and admins change the rates; only ops heads apply simulated
//! thresholds. All figures come from `amso_core::dashboard`, the same code as the KPIs API and the report;
//! the charts are drawn here, on the server, by `amso_core::charts`, and travel as SVG text
//! next to the figures they show.

use crate::error::AppError;
use amso_core::dashboard::view::{
    CostView, DriftView, OverridesView, Overview, Quality, RatesView, Selection, Simulation,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, internal, require_area},
    amso_core::{
        access::audit::Actor,
        access::users::User,
        charts::{self, ChartSpec, Series},
        dashboard::{self, filter::Filter},
        platform::time::now_millis,
        vocab::role::{Area, Role},
    },
};

/// The overview's figures and its charts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverviewBoard {
    pub data: Overview,
    /// Automation rate per day (SVG).
    pub automation_chart: String,
    /// Override rate per day (SVG).
    pub override_chart: String,
    /// Decisions per day, one sparkline (SVG) per row of `data.markets`, in order.
    pub sparklines: Vec<String>,
    /// When the figures were read, `HH:MM:SS` and the zone of the window (`09:15:02 Asia/Tokyo`).
    pub updated: String,
    /// The rules that fired in the window, most hits first (at most 10).
    pub rules: Vec<RuleFigure>,
}

/// One rule's hits and precision in the dashboard's window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleFigure {
    pub id: i64,
    pub name: String,
    /// The rule's state now (`live`, `background`, …).
    pub state: String,
    pub hits: u64,
    /// Share of hits humans found violating (weighted), with its interval; None: no label.
    pub precision: Option<amso_core::metrics::kpi::Estimate>,
    /// Hits with a human verdict.
    pub labelled: u64,
    /// Hits per day of the window (SVG sparkline).
    pub sparkline: String,
}

/// How many rules the overview lists.
pub const OVERVIEW_RULES: usize = 10;

/// The quality page's figures and charts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityBoard {
    pub data: Quality,
    /// Weekly precision and recall (SVG).
    pub trend_chart: String,
    /// One reliability diagram (SVG) per entry of `data.reliability`, in order.
    pub reliability_charts: Vec<String>,
    /// The same after calibration (empty SVG strings where there is no map).
    pub reliability_after_charts: Vec<String>,
    /// Whether the viewer may refit the calibration maps (ops heads).
    pub can_refit: bool,
}

/// The drift page's figures and charts. `data.cells` always covers every market ×
/// category; the chosen slice (market and/or category of the selection) only picks the
/// histograms and leads the daily PSI trend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftBoard {
    pub data: DriftView,
    /// Reference and current score histograms of `data.focus` (SVG).
    pub histogram_chart: String,
    /// PSI per day with the 0.1 and 0.2 band marks (SVG).
    pub trend_chart: String,
}

/// The cost page's figures and charts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostBoard {
    pub data: CostView,
    /// The four components per 1,000 ads, stacked, per market (SVG).
    pub bars_chart: String,
    /// Cost per 1,000 ads per day (SVG).
    pub trend_chart: String,
    /// Whether the viewer may change the rates.
    pub can_edit: bool,
}

/// The overrides page's figures and chart. `data.cells` always covers every market ×
/// category; when a slice is chosen the reviewer, reason, trend and drill-down figures are
/// that slice's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverridesBoard {
    pub data: OverridesView,
    /// Override rate per day (SVG).
    pub trend_chart: String,
}

/// The thresholds in force for one market × category, where the simulator starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BandInForce {
    pub approve_below: f64,
    pub reject_at: f64,
    /// `prohibited`, `restricted` or `allowed`.
    pub rule: String,
    /// Whether the viewer may apply new thresholds.
    pub can_apply: bool,
}

/// The reader's filter, checked for role first.
#[cfg(feature = "ssr")]
fn reader(sel: &Selection) -> Result<(User, amso_core::platform::db::Db, Filter), AppError> {
    let user = require_area(Area::Dashboards)?;
    let state = app_state()?;
    // The viewer's calendar days: "today" starts at their midnight.
    let zone = amso_core::platform::time::zone_or_utc(&user.time_zone);
    let f = dashboard::filter::resolve_in(sel, now_millis(), zone).map_err(AppError::from)?;
    Ok((user, state.db, f))
}

/// Ops heads and admins may change what the dashboards are computed with.
#[cfg(feature = "ssr")]
fn editor() -> Result<User, AppError> {
    let user = require_area(Area::Dashboards)?;
    if !matches!(user.role, Role::OpsHead | Role::Admin) {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "only ops heads and admins change dashboard settings",
        ));
    }
    Ok(user)
}

/// Draws charts off the async workers: rendering is CPU work.
#[cfg(feature = "ssr")]
async fn draw<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f).await.map_err(internal)
}

/// The days of a window as a screen reader hears them (`2026-11-18 to 2026-11-24`).
#[cfg(feature = "ssr")]
fn span(w: &amso_core::dashboard::view::Window) -> String {
    format!("{} to {}", w.from, w.to)
}

/// The overview: KPI tiles, markets, backlog, drift and alerts, with the daily trends.
#[server(prefix = "/rpc", endpoint = "get_overview")]
pub async fn get_overview(sel: Selection) -> Result<OverviewBoard, AppError> {
    let (_, db, f) = reader(&sel)?;
    let now = now_millis();
    let data = dashboard::overview::overview(&db, &f, now)
        .await
        .map_err(AppError::from)?;
    let mut fired = amso_core::rules::backtest::in_window(
        &db,
        f.window.from_ms,
        f.window.to_ms,
        f.market.map(|m| m.code()),
    )
    .await
    .map_err(internal)?;
    fired.truncate(OVERVIEW_RULES);
    let names: std::collections::HashMap<i64, (String, String)> =
        amso_core::rules::store::list(&db, now)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|r| (r.id, (r.name, r.state.as_str().to_string())))
            .collect();
    let updated = format!(
        "{} {}",
        amso_core::platform::time::to_datetime(now)
            .with_timezone(&amso_core::platform::time::zone_or_utc(&f.window.zone))
            .format("%H:%M:%S"),
        f.window.zone_name()
    );
    draw(move || {
        let days = &data.days;
        let automation_chart = charts::line_chart(
            &ChartSpec::new("Automation rate per day", &f.window.day_label(), "Automated share of decisions")
                .desc(&format!(
                    "Share of decisions made without a human, per day, {}.",
                    span(&data.window)
                ))
                .percent(),
            days,
            &[Series::new("Automation rate", data.daily_automation.clone())],
        );
        let override_chart = charts::line_chart(
            &ChartSpec::new("Override rate per day", &f.window.day_label(), "Overridden share of checked")
                .desc(&format!(
                    "Share of human-checked automatic decisions that a reviewer overruled, per day, {}.",
                    span(&data.window)
                ))
                .percent(),
            days,
            &[Series::new("Override rate", data.daily_override.clone())],
        );
        let sparklines = data
            .markets
            .iter()
            .map(|m| {
                let values: Vec<Option<f64>> = m.daily_decided.iter().map(|v| Some(*v)).collect();
                charts::sparkline(&format!("{}: ads decided per day", m.market), &values, 120, 28)
            })
            .collect();
        let rules = fired
            .into_iter()
            .map(|b| {
                let (name, state) = names.get(&b.rule_id).cloned().unwrap_or_default();
                let values: Vec<Option<f64>> = days
                    .iter()
                    .map(|d| Some(b.by_day.get(d).copied().unwrap_or(0) as f64))
                    .collect();
                RuleFigure {
                    id: b.rule_id,
                    sparkline: charts::sparkline(&format!("{name}: hits per day"), &values, 120, 28),
                    name,
                    state,
                    hits: b.hits,
                    precision: b.precision,
                    labelled: b.labelled,
                }
            })
            .collect();
        OverviewBoard {
            data,
            automation_chart,
            override_chart,
            sparklines,
            updated,
            rules,
        }
    })
    .await
}

/// The model versions that have made decisions, newest first (the model filter).
#[server(prefix = "/rpc", endpoint = "list_model_versions")]
pub async fn list_model_versions() -> Result<Vec<String>, AppError> {
    require_area(Area::Dashboards)?;
    let state = app_state()?;
    dashboard::kpis::models(&state.db).await.map_err(internal)
}

/// Quality per market × category with intervals, the weekly trend and reliability.
#[server(prefix = "/rpc", endpoint = "get_quality")]
pub async fn get_quality(sel: Selection) -> Result<QualityBoard, AppError> {
    let (user, db, f) = reader(&sel)?;
    let can_refit = Area::Thresholds.allows(user.role);
    let data = dashboard::quality::quality(&db, &f)
        .await
        .map_err(internal)?;
    draw(move || {
        let trend_chart = charts::line_chart(
            &ChartSpec::new(
                "Auto-reject precision and recall per week",
                "ISO week",
                "Estimate",
            )
            .desc(
                "Model-assisted precision and recall of automatic rejection per ISO week \
                     (audit-only where no calibration map exists); weeks with fewer than 20 \
                     effective samples are left out.",
            )
            .percent(),
            &data.weeks,
            &[
                Series::new("Precision", data.weekly_precision.clone()),
                Series::new("Recall", data.weekly_recall.clone()),
            ],
        );
        let reliability_charts = data
            .reliability
            .iter()
            .map(|r| {
                charts::reliability(
                    &ChartSpec::new(
                        &format!("Reliability: {}", r.category.replace('_', " ")),
                        "Mean predicted score",
                        "Human-confirmed violation rate",
                    )
                    .desc(&format!(
                        "Predicted {} score against the audit-weighted share humans confirmed, \
                         per score bin; the dashed diagonal is perfect calibration.",
                        r.category.replace('_', " ")
                    ))
                    .percent()
                    .size(520, 380),
                    &r.points,
                )
            })
            .collect();
        let reliability_after_charts = data
            .reliability
            .iter()
            .map(|r| {
                if r.calibrated.is_empty() {
                    return String::new();
                }
                charts::reliability(
                    &ChartSpec::new(
                        &format!("After calibration: {}", r.category.replace('_', " ")),
                        "Calibrated probability",
                        "Human-confirmed violation rate",
                    )
                    .desc(&format!(
                        "Calibrated {} probability (isotonic map of the model version) against \
                         the audit-weighted share humans confirmed, per score bin.",
                        r.category.replace('_', " ")
                    ))
                    .percent()
                    .size(520, 380),
                    &r.calibrated,
                )
            })
            .collect();
        QualityBoard {
            data,
            trend_chart,
            reliability_charts,
            reliability_after_charts,
            can_refit,
        }
    })
    .await
}

/// Drift: PSI per market × category against the reference window (`ref_from`/`ref_to`,
/// default the 28 days before the window), the chosen slice's histograms (else the most
/// drifted one's), PSI per day and the language and category mixes.
#[server(prefix = "/rpc", endpoint = "get_drift")]
pub async fn get_drift(
    sel: Selection,
    ref_from: String,
    ref_to: String,
) -> Result<DriftBoard, AppError> {
    let (_, db, f) = reader(&sel)?;
    let reference = if ref_from.trim().is_empty() && ref_to.trim().is_empty() {
        dashboard::drift::reference_window(&f.window)
    } else {
        let custom = Selection {
            window: "custom".into(),
            from: ref_from,
            to: ref_to,
            ..Selection::default()
        };
        let zone = amso_core::dashboard::filter::zone_of(&f.window);
        dashboard::filter::resolve_in(&custom, now_millis(), zone)
            .map_err(AppError::from)?
            .window
    };
    // The grid always shows every slice; the selection only picks the one looked into.
    let data = dashboard::drift::drift_view(&db, &f, &reference)
        .await
        .map_err(internal)?;
    draw(move || {
        let focus = data
            .focus
            .as_ref()
            .map(|(m, c)| format!("{m} · {}", c.replace('_', " ")))
            .unwrap_or_else(|| "no slice".into());
        let histogram_chart = charts::histogram_overlay(
            &ChartSpec::new(
                &format!("Score distribution, {focus}"),
                "Model score",
                "Share of scores",
            )
            .desc(&format!(
                "Share of {focus} scores per bin of width 0.05: reference {} against current {}.",
                span(&data.reference),
                span(&data.window)
            ))
            .percent(),
            &shares_as_scores(&data.focus_reference),
            &shares_as_scores(&data.focus_current),
        );
        let series: Vec<Series> = data
            .daily_psi
            .iter()
            .map(|(name, values)| Series::new(&name.replace('_', " "), values.clone()))
            .collect();
        let trend_chart = charts::line_chart_with_marks(
            &ChartSpec::new(
                "PSI per day, most drifted slices",
                &f.window.day_label(),
                "PSI",
            )
            .desc(&format!(
                "Population stability index of each day's scores against the reference {}; \
                 0.1 starts watch, 0.2 drifted.",
                span(&data.reference)
            )),
            &data.days,
            &series,
            &[(0.1, "watch"), (0.2, "drifted")],
        );
        DriftBoard {
            data,
            histogram_chart,
            trend_chart,
        }
    })
    .await
}

/// Scores standing for per-bin shares, for a chart that bins raw scores: each of the 20
/// bins of width 0.05 gets its centre repeated in proportion to its share (to 1/10,000).
#[cfg(feature = "ssr")]
fn shares_as_scores(shares: &[f64]) -> Vec<f64> {
    let bins = shares.len().max(1) as f64;
    shares
        .iter()
        .enumerate()
        .flat_map(|(bin, share)| {
            let copies = (share.max(0.0) * 10_000.0).round() as usize;
            std::iter::repeat_n((bin as f64 + 0.5) / bins, copies)
        })
        .collect()
}

/// Cost of risk control per market and its trend, with the rates behind it.
#[server(prefix = "/rpc", endpoint = "get_cost")]
pub async fn get_cost(sel: Selection) -> Result<CostBoard, AppError> {
    let (user, db, f) = reader(&sel)?;
    let can_edit = matches!(user.role, Role::OpsHead | Role::Admin);
    let data = dashboard::cost::cost_view(&db, &f)
        .await
        .map_err(internal)?;
    draw(move || {
        let shown: Vec<&(String, f64, amso_core::metrics::kpi::Cost)> = data
            .markets
            .iter()
            .filter(|(_, decided, _)| *decided > 0.0)
            .collect();
        let per_1k = |part: fn(&amso_core::metrics::kpi::Cost) -> f64| -> Vec<f64> {
            shown
                .iter()
                .map(|(_, decided, c)| part(c) / decided * 1000.0)
                .collect()
        };
        let bars_chart = charts::stacked_bars(
            &ChartSpec::new(
                "Cost of risk control per 1,000 ads",
                "Market",
                "USD per 1,000 ads",
            )
            .desc(&format!(
                "Reviewer time, inference, wrongly rejected spend and harm let through, in USD \
                     per 1,000 ads decided, per market, {}.",
                span(&data.window)
            )),
            &shown.iter().map(|(m, _, _)| m.clone()).collect::<Vec<_>>(),
            &[
                ("Review".to_string(), per_1k(|c| c.review)),
                ("Inference".to_string(), per_1k(|c| c.inference)),
                ("False positives".to_string(), per_1k(|c| c.false_positive)),
                ("False negatives".to_string(), per_1k(|c| c.false_negative)),
            ],
        );
        let trend_chart = charts::line_chart(
            &ChartSpec::new(
                "Cost per 1,000 ads per day",
                &f.window.day_label(),
                "USD per 1,000 ads",
            )
            .desc(&format!(
                "Total cost of risk control per 1,000 ads decided, per day, {}.",
                span(&data.window)
            )),
            &data.days,
            &[Series::new("Cost per 1,000 ads", data.daily_per_1k.clone())],
        );
        CostBoard {
            data,
            bars_chart,
            trend_chart,
            can_edit,
        }
    })
    .await
}

/// Saves the rates behind the cost (ops heads and admins; audited).
#[server(prefix = "/rpc", endpoint = "save_cost_rates")]
pub async fn save_cost_rates(rates: RatesView) -> Result<(), AppError> {
    let user = editor()?;
    let state = app_state()?;
    dashboard::cost::save_rates(&state.db, &Actor::User(user.email), &rates, now_millis())
        .await
        .map_err(AppError::from)
}

/// Overrides by market × category, reviewer and reason, with the drill-down of the chosen
/// slice (market and/or category of the selection).
#[server(prefix = "/rpc", endpoint = "get_overrides")]
pub async fn get_overrides(sel: Selection) -> Result<OverridesBoard, AppError> {
    let (_, db, f) = reader(&sel)?;
    // The heatmap always shows every slice; the selection picks the one drilled into.
    let every_slice = Filter {
        market: None,
        category: None,
        ..f.clone()
    };
    let all = dashboard::overrides::overrides_view(&db, &every_slice)
        .await
        .map_err(internal)?;
    let data = if f.market.is_some() || f.category.is_some() {
        let mut slice = dashboard::overrides::overrides_view(&db, &f)
            .await
            .map_err(internal)?;
        slice.cells = all.cells;
        slice
    } else {
        all
    };
    let slice_name = [sel.market.trim(), &sel.category.trim().replace('_', " ")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    draw(move || {
        let title = if slice_name.is_empty() {
            "Override rate per day".to_string()
        } else {
            format!("Override rate per day, {slice_name}")
        };
        let trend_chart = charts::line_chart(
            &ChartSpec::new(&title, &f.window.day_label(), "Overridden share of checked")
                .desc(&format!(
                    "Share of human-checked automatic decisions that a reviewer overruled, per day, {}.",
                    span(&data.window)
                ))
                .percent(),
            &data.days,
            &[Series::new("Override rate", data.daily_rate.clone())],
        );
        OverridesBoard { data, trend_chart }
    })
    .await
}

/// A market × category named in a request.
#[cfg(feature = "ssr")]
fn slice_of(
    market: &str,
    category: &str,
) -> Result<
    (
        amso_core::vocab::market::Market,
        amso_core::vocab::policy::Category,
    ),
    AppError,
> {
    let m = market
        .parse()
        .map_err(|_| AppError::new(ErrorKind::Invalid, format!("unknown market {market:?}")))?;
    let c = category
        .parse()
        .map_err(|_| AppError::new(ErrorKind::Invalid, format!("unknown category {category:?}")))?;
    Ok((m, c))
}

/// The thresholds cell in force for a market × category.
#[cfg(feature = "ssr")]
async fn cell_in_force(
    db: &amso_core::platform::db::Db,
    market: amso_core::vocab::market::Market,
    category: amso_core::vocab::policy::Category,
) -> Result<amso_core::engine::thresholds::Cell, AppError> {
    let (_, cells) = amso_core::engine::thresholds::current(db)
        .await
        .map_err(internal)?;
    cells
        .into_iter()
        .find(|c| c.market == market && c.category == category)
        .ok_or_else(|| {
            AppError::new(
                ErrorKind::NotFound,
                "no thresholds for this market and category",
            )
        })
}

/// The thresholds in force for a market × category, where the simulator starts.
#[server(prefix = "/rpc", endpoint = "get_band_in_force")]
pub async fn get_band_in_force(market: String, category: String) -> Result<BandInForce, AppError> {
    let user = require_area(Area::Dashboards)?;
    let state = app_state()?;
    let (market, category) = slice_of(&market, &category)?;
    let cell = cell_in_force(&state.db, market, category).await?;
    Ok(BandInForce {
        approve_below: cell.approve_below,
        reject_at: cell.reject_at,
        rule: cell.rule.as_str().to_string(),
        // Applying thresholds is the Thresholds area's, which is ops heads' alone.
        can_apply: Area::Thresholds.allows(user.role),
    })
}

/// Projects a pair of thresholds for a market × category from history; without them, the
/// thresholds in force (one call, so a page rendering it never chains two server functions).
#[server(prefix = "/rpc", endpoint = "simulate_thresholds")]
pub async fn simulate_thresholds(
    market: String,
    category: String,
    approve_below: Option<f64>,
    reject_at: Option<f64>,
) -> Result<Simulation, AppError> {
    require_area(Area::Dashboards)?;
    let state = app_state()?;
    let (market, category) = slice_of(&market, &category)?;
    let (approve_below, reject_at) = match (approve_below, reject_at) {
        (Some(a), Some(r)) => (a, r),
        _ => {
            let cell = cell_in_force(&state.db, market, category).await?;
            (cell.approve_below, cell.reject_at)
        }
    };
    dashboard::simulator::simulate(
        &state.db,
        market,
        category,
        approve_below,
        reject_at,
        now_millis(),
    )
    .await
    .map_err(AppError::from)
}

/// Applies thresholds from the simulator: a new, audited thresholds version (ops heads
/// only, as on the Thresholds page). Returns it.
#[server(prefix = "/rpc", endpoint = "apply_thresholds")]
pub async fn apply_thresholds(
    market: String,
    category: String,
    approve_below: f64,
    reject_at: f64,
) -> Result<i64, AppError> {
    let user = require_area(Area::Thresholds)?;
    let state = app_state()?;
    let (market, category) = slice_of(&market, &category)?;
    let band = amso_core::engine::decide::Band {
        approve_below,
        reject_at,
    };
    amso_core::engine::thresholds::set_band(
        &state.db,
        &Actor::User(user.email),
        market,
        category,
        band,
    )
    .await
    .map_err(AppError::from)
}

/// Refits the calibration maps of every model version that decided in the last 28 days, now
/// (the server also does so daily). Ops heads only, like thresholds: the maps change the
/// figures every page shows. Returns how many maps were fitted.
#[server(prefix = "/rpc", endpoint = "refit_calibration")]
pub async fn refit_calibration() -> Result<usize, AppError> {
    let user = require_area(Area::Thresholds)?;
    let state = app_state()?;
    dashboard::estimates::refit_all(&state.db, now_millis(), &Actor::User(user.email))
        .await
        .map_err(internal)
}
