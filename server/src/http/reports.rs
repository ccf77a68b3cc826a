//! The weekly report over HTTP: `GET /api/v1/reports/weekly` and the archive's files.

use super::caller::{Caller, caller};
use super::error::{ApiResult, AppError, ErrorKind};
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::access::apikeys::Scope;
use amso_core::platform::time::now_millis;
use amso_core::report::{self, Format, ReportError, archive, build::Request};
use amso_core::vocab::role::Area;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router, routing::get};

/// The report routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports/weekly", get(weekly))
        .route("/api/v1/reports/archive/{id}", get(archived))
}

/// Query of `GET /api/v1/reports/weekly`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct WeeklyQuery {
    /// `2026-W47`; default the last complete week.
    week: String,
    /// `pdf` (default), `xlsx` or `csv`.
    format: String,
    /// Comma-separated market codes; default every market.
    markets: String,
    /// IANA time zone; default the configured reporting time zone.
    tz: String,
    /// CSV only: start with a UTF-8 byte-order mark (for Excel).
    bom: bool,
}

/// Who may read reports: an API key with the `kpis` scope, or a role that sees dashboards.
async fn allowed(
    state: &AppState,
    headers: &HeaderMap,
    user: Option<&CurrentUser>,
) -> Result<(), AppError> {
    match caller(state, headers, user).await? {
        Caller::Key(k) if k.scope == Scope::Kpis => Ok(()),
        Caller::User(u) if Area::Reports.allows(u.role) => Ok(()),
        _ => Err(AppError::new(
            ErrorKind::Forbidden,
            "reports need an API key with the kpis scope, or a role that sees dashboards",
        )),
    }
}

/// The format a query asks for (default PDF).
fn format_of(asked: &str) -> Result<Format, ReportError> {
    if asked.is_empty() { "pdf" } else { asked }.parse()
}

/// A file as a download.
fn download(format: Format, name: &str, bytes: Vec<u8>) -> Response {
    let mut r = bytes.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `GET /api/v1/reports/weekly?week=2026-W47&format=pdf|xlsx|csv&markets=US,GB&tz=UTC[&bom=true]`.
async fn weekly(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    query: Result<Query<WeeklyQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    allowed(&state, &headers, user.as_deref()).await?;
    let Ok(Query(q)) = query else {
        return Err(AppError::malformed("bad query string"));
    };
    let now = now_millis();
    let format = format_of(&q.format)?;
    let req = Request::asked(&q.week, &q.markets, &q.tz, state.config.report_tz(), now)?;
    let built = report::build::build(&state.db, &req, now).await?;
    let bytes = report::build::render_async(std::sync::Arc::new(built), format).await?;
    let bytes = format.with_bom(q.bom, bytes);
    Ok(download(format, &format.file_name(&req.week), bytes))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ArchivedQuery {
    format: String,
    /// CSV only: start with a UTF-8 byte-order mark.
    bom: bool,
}

/// `GET /api/v1/reports/archive/{id}?format=pdf|xlsx|csv`: a kept rendering.
async fn archived(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<ArchivedQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    allowed(&state, &headers, user.as_deref()).await?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::malformed("the report id must be a number"))?;
    let Ok(Query(q)) = query else {
        return Err(AppError::malformed("bad query string"));
    };
    let format = format_of(&q.format)?;
    match archive::file(&state.db, id, format)
        .await
        .map_err(ReportError::from)?
    {
        Some((week, bytes)) => Ok(download(
            format,
            &format.file_name(&week),
            format.with_bom(q.bom, bytes),
        )),
        None => Err(AppError::new(
            ErrorKind::NotFound,
            "no such report in the archive",
        )),
    }
}
