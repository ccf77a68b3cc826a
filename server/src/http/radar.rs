//! `GET /api/v1/radar?market=&window=`: the emerging-risk radar's ranked entries from the
//! last check, for an API key with the `kpis` or `rules` scope or a role that reads the radar.

use super::caller::{Caller, caller};
use super::error::{ApiResult, AppError, ErrorKind};
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::access::apikeys::Scope;
use amso_core::radar::{Window, store};
use amso_core::vocab::role::Area;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::json;

/// The radar route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/radar", get(radar))
}

/// Query of the radar route.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct RadarQuery {
    market: String,
    window: String,
    limit: Option<i64>,
}

async fn radar(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    query: Result<Query<RadarQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    match caller(&state, &headers, user.as_deref()).await? {
        Caller::Key(k) if matches!(k.scope, Scope::Kpis | Scope::Rules) => {}
        Caller::User(u) if Area::Radar.allows(u.role) => {}
        _ => {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                "the radar needs an API key with the kpis or rules scope, or a role that reads it",
            ));
        }
    }
    let Ok(Query(q)) = query else {
        return Err(AppError::malformed("bad query string"));
    };
    let window = if q.window.is_empty() {
        Window::Day
    } else {
        Window::parse(&q.window).ok_or_else(|| AppError::malformed("window is 24h or 7d"))?
    };
    let market = match q.market.trim() {
        "" | "*" => "*".to_string(),
        m => m
            .parse::<amso_core::vocab::market::Market>()
            .map_err(|e| AppError::malformed(e.to_string()))?
            .code()
            .to_string(),
    };
    let (entries, checked_at) = store::entries(
        &state.db,
        window,
        &market,
        q.limit.unwrap_or(50).clamp(1, 100),
    )
    .await?;
    Ok(Json(json!({
        "window": window.as_str(),
        "market": market,
        "checked_at": checked_at.map(amso_core::platform::time::to_rfc3339),
        "entries": entries,
    }))
    .into_response())
}
