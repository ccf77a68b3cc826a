//! Server functions of the Reports page: the preview of a week's report, the archive, and
//! archiving a week by hand. Executives, ops heads and admins use them (others get 403); the
//! files themselves are downloads from `/api/v1/reports/…`, which check the same roles.

use crate::error::AppError;
use amso_core::dashboard::view::{ArchivedReport, ReportSchedule, WeeklyReport};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, internal, require_area},
    amso_core::{
        platform::time::{now_millis, to_rfc3339},
        report::{self, archive, build::Request, week::IsoWeek},
        vocab::role::{Area, Role},
    },
};

/// Weeks offered in the picker.
pub const WEEKS_OFFERED: i64 = 12;

/// What the Reports page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportsBoard {
    /// The complete weeks to pick from, newest first.
    pub weeks: Vec<String>,
    pub report: WeeklyReport,
    /// Automation and override rates over eight weeks (SVG).
    pub trend_chart: String,
    pub archive: Vec<ArchivedReport>,
    pub schedule: ReportSchedule,
    /// Whether the viewer may retry a failed delivery (ops heads and admins).
    pub can_manage: bool,
}

/// The page: a week's report (default the last complete week), the archive and the schedule.
#[server(prefix = "/rpc", endpoint = "get_reports")]
pub async fn get_reports(week: String, markets: String) -> Result<ReportsBoard, AppError> {
    let user = require_area(Area::Reports)?;
    let state = app_state()?;
    let now = now_millis();
    let tz = state.config.report_tz();
    let last = IsoWeek::last_complete(now, tz);
    let week: IsoWeek = if week.trim().is_empty() {
        last
    } else {
        week.parse().map_err(AppError::from)?
    };
    let req = Request {
        week,
        tz,
        markets: Request::parse_markets(&markets).map_err(AppError::from)?,
    };
    let mut data = report::build::build(&state.db, &req, now)
        .await
        .map_err(AppError::from)?;
    // The page previews the summary; the overridden ads are in the downloads.
    data.overridden.clear();
    let archive = archive::list(&state.db, 30).await.map_err(internal)?;
    let config = state.config.clone();
    let schedule = match config.report_schedule() {
        Some(s) => {
            let next_week = s.latest_due(now).plus(1);
            ReportSchedule {
                when: s.describe(),
                time_zone: tz.name().to_string(),
                mail: config.smtp_url.is_some(),
                recipients: config.report_recipients.clone(),
                next_week: Some(next_week.to_string()),
                next_at: Some(to_rfc3339(s.due_at(next_week))),
            }
        }
        None => ReportSchedule {
            when: "off".into(),
            time_zone: tz.name().to_string(),
            mail: config.smtp_url.is_some(),
            recipients: config.report_recipients.clone(),
            next_week: None,
            next_at: None,
        },
    };
    let weeks = (0..WEEKS_OFFERED)
        .map(|i| last.plus(-i).to_string())
        .collect();
    let shown = data.clone();
    let trend_chart =
        tokio::task::spawn_blocking(move || amso_core::report::trend::rates_chart(&shown, None))
            .await
            .map_err(internal)?;
    Ok(ReportsBoard {
        weeks,
        report: data,
        trend_chart,
        archive,
        schedule,
        can_manage: matches!(user.role, Role::OpsHead | Role::Admin),
    })
}

/// Renders a week's report in all three formats and keeps it in the archive, as the viewer.
#[server(prefix = "/rpc", endpoint = "archive_report")]
pub async fn archive_report(week: String, markets: String) -> Result<i64, AppError> {
    let user = require_area(Area::Reports)?;
    let state = app_state()?;
    let now = now_millis();
    let tz = state.config.report_tz();
    let req = Request {
        week: week.parse().map_err(AppError::from)?,
        tz,
        markets: Request::parse_markets(&markets).map_err(AppError::from)?,
    };
    let codes = req
        .markets
        .iter()
        .map(|m| m.code())
        .collect::<Vec<_>>()
        .join(",");
    let id = archive::start_manual(&state.db, req.week, tz, &codes, &user.email, now)
        .await
        .map_err(internal)?;
    report::build::fill_run(&state.db, id, &req, &[], now)
        .await
        .map_err(AppError::from)?;
    Ok(id)
}

/// Queues a failed mail delivery again (ops heads and admins).
#[server(prefix = "/rpc", endpoint = "retry_report_delivery")]
pub async fn retry_report_delivery(id: i64) -> Result<(), AppError> {
    let user = require_area(Area::Reports)?;
    if !matches!(user.role, Role::OpsHead | Role::Admin) {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "only ops heads and admins retry deliveries",
        ));
    }
    let state = app_state()?;
    if archive::retry_delivery(&state.db, id, now_millis())
        .await
        .map_err(internal)?
    {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorKind::Conflict,
            "only a failed delivery can be retried",
        ))
    }
}
