//! `GET /api/v1/models` and `GET /api/v1/models/history?at=`: the model registry and which
//! version was champion in each market at an instant, for an API key with the `kpis` scope or
//! a role that reads the dashboards.

use super::caller::{Caller, caller};
use super::error::{ApiResult, AppError, ErrorKind};
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::access::apikeys::Scope;
use amso_core::engine::model::registry;
use amso_core::platform::time::{now_millis, to_rfc3339};
use amso_core::vocab::role::Area;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::json;

/// The model routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/models", get(list))
        .route("/api/v1/models/history", get(history))
        .route("/api/v1/models/compare", get(compare))
}

async fn reader(
    state: &AppState,
    headers: &HeaderMap,
    user: Option<&CurrentUser>,
) -> Result<(), AppError> {
    match caller(state, headers, user).await? {
        Caller::Key(k) if k.scope == Scope::Kpis => Ok(()),
        Caller::User(u) if Area::Models.allows(u.role) => Ok(()),
        _ => Err(AppError::new(
            ErrorKind::Forbidden,
            "models need an API key with the kpis scope, or a role that reads the dashboards",
        )),
    }
}

/// `GET /api/v1/models`: every version (card included, bytes not) and the champions now.
async fn list(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
) -> ApiResult {
    reader(&state, &headers, user.as_deref()).await?;
    let now = now_millis();
    let versions = registry::list(&state.db, now).await?;
    Ok(Json(json!({ "versions": versions })).into_response())
}

/// Query of the history route.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct HistoryQuery {
    at: String,
}

/// `GET /api/v1/models/history?at=2026-11-20T10:00Z`: the champion of each market then
/// (default now), and every role change up to then.
async fn history(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    reader(&state, &headers, user.as_deref()).await?;
    let Ok(Query(q)) = query else {
        return Err(AppError::malformed("at is an RFC 3339 instant"));
    };
    if q.at.len() > 64 {
        return Err(AppError::malformed("at is an RFC 3339 instant"));
    }
    let at = if q.at.trim().is_empty() {
        now_millis()
    } else {
        registry::parse_instant(&q.at).map_err(AppError::malformed)?
    };
    let events = registry::events(&state.db).await?;
    let champions: serde_json::Map<String, serde_json::Value> = registry::champions_at(&events, at)
        .into_iter()
        .map(|(m, v)| (m.code().to_string(), v.into()))
        .collect();
    let changes: Vec<_> = events.into_iter().filter(|e| e.at <= at).collect();
    Ok(
        Json(json!({ "at": to_rfc3339(at), "champions": champions, "events": changes }))
            .into_response(),
    )
}

/// Query of the compare route.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct CompareQuery {
    a: String,
    b: String,
    market: String,
}

/// `GET /api/v1/models/compare?a=V1&b=V2[&market=ID]`: the two versions on the labelled ads
/// both scored in the last 28 days.
async fn compare(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    query: Result<Query<CompareQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    reader(&state, &headers, user.as_deref()).await?;
    let Ok(Query(q)) = query else {
        return Err(AppError::malformed(
            "a and b are model versions, market a market code",
        ));
    };
    if q.a.trim().is_empty() || q.b.trim().is_empty() || q.a.len() > 200 || q.b.len() > 200 {
        return Err(AppError::malformed("name two model versions: ?a=V1&b=V2"));
    }
    let market = match q.market.trim() {
        "" | "*" => None,
        m => Some(
            m.parse::<amso_core::vocab::market::Market>()
                .map_err(|e| AppError::malformed(e.to_string()))?,
        ),
    };
    let now = now_millis();
    for v in [&q.a, &q.b] {
        if registry::get(&state.db, v, now).await?.is_none() {
            return Err(AppError::new(
                ErrorKind::NotFound,
                format!("no model version {v}"),
            ));
        }
    }
    let c = amso_core::engine::model::compare::compare(&state.db, &q.a, &q.b, market, now).await?;
    Ok(Json(c).into_response())
}
