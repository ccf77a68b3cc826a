//! `GET /admin/audit.csv`: the audit log as CSV, with the page's filters.

use super::caller::logged_in;
use super::error::{ApiResult, AppError, ErrorKind};
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::access::audit;
use amso_core::platform::csv;
use amso_core::platform::time::to_rfc3339;
use amso_core::vocab::role::Area;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};

/// The audit export route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/audit.csv", get(audit_csv))
}

/// Query of the audit log export.
#[derive(Debug, serde::Deserialize)]
struct AuditExport {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    q: String,
}

/// `GET /admin/audit.csv`: the audit log (newest first, up to 100,000 rows) as CSV, for ops
/// heads and admins, with the same filters as the page.
async fn audit_csv(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Query(query): Query<AuditExport>,
) -> ApiResult {
    let user = logged_in(user.as_deref(), "export the audit log")?;
    if !Area::Audit.allows(user.role) {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "your role cannot read the audit log",
        ));
    }
    amso_app::api::limit_text("prefix", &query.prefix, 100)?;
    amso_app::api::limit_text("q", &query.q, amso_app::api::MAX_SEARCH)?;
    let prefix = query.prefix.trim();
    let rows = audit::search(
        state.db.pool(),
        (!prefix.is_empty()).then_some(prefix),
        Some(query.q.as_str()),
        100_000,
    )
    .await?;
    let mut out = csv::record(&[
        "id", "at", "actor", "action", "object", "change", "before", "after", "ip",
    ]);
    for e in rows {
        out.push_str(&csv::record(&[
            e.id.to_string(),
            to_rfc3339(e.at),
            e.actor.clone(),
            e.action.clone(),
            e.object.clone(),
            audit::summarize_change(e.before_json.as_deref(), e.after_json.as_deref()),
            e.before_json.clone().unwrap_or_default(),
            e.after_json.clone().unwrap_or_default(),
            e.ip.clone().unwrap_or_default(),
        ]));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"amso-audit-log.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
