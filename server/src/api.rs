//! The REST API under `/api/v1`: ads submitted by ingest systems with API keys.

use crate::web::json_error;
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::ads;
use amso_core::apikeys::{self, ApiKey, Scope};
use amso_core::ingest::SubmittedAd;
use amso_core::review;
use amso_core::role::Area;
use amso_core::time::now_millis;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

/// Most ads accepted in one request.
pub const MAX_BATCH: usize = 1000;

/// The `/api/v1` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ads", post(submit_ads))
        .route("/api/v1/ads/{id}", get(get_ad))
        .route("/api/v1/ads/{id}/appeal", post(appeal_ad))
        .route("/api/v1/stream", get(stream))
}

/// How often the live stream looks for changes.
const STREAM_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /api/v1/stream`: server-sent events for live pages (session only). Sends `queues`
/// with the queue sizes in the caller's markets whenever they change.
async fn stream(State(state): State<AppState>, user: Option<Extension<CurrentUser>>) -> Response {
    let Some(user) = user.and_then(|u| u.0.0.clone()) else {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "log in to follow live updates",
            "unauthenticated",
        );
    };
    if !Area::Queues.allows(user.role) {
        return json_error(
            StatusCode::FORBIDDEN,
            "your role has no live queues to follow",
            "forbidden",
        );
    }
    let scope = review::Scope {
        user_id: user.id,
        email: user.email.clone(),
        role: user.role,
        markets: user.markets.clone(),
    };
    let events = futures_util::stream::unfold(
        (state.db.clone(), scope, None::<String>, true),
        |(db, scope, last, first)| async move {
            if !first {
                tokio::time::sleep(STREAM_EVERY).await;
            }
            loop {
                if let Ok(queues) = review::summaries(&db, &scope, now_millis()).await {
                    let key = queues
                        .iter()
                        .map(|q| format!("{}:{}:{}:{}", q.source, q.open, q.available, q.overdue))
                        .collect::<Vec<_>>()
                        .join(",");
                    if last.as_deref() != Some(key.as_str()) {
                        let event = Event::default()
                            .event("queues")
                            .data(serde_json::to_string(&queues).unwrap_or_default());
                        return Some((
                            Ok::<_, std::convert::Infallible>(event),
                            (db, scope, Some(key), false),
                        ));
                    }
                }
                tokio::time::sleep(STREAM_EVERY).await;
            }
        },
    );
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Who is calling: an API key, or a logged-in user.
enum Caller {
    Key(ApiKey),
    User(amso_core::users::User),
}

async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    user: Option<&CurrentUser>,
) -> Result<Caller, Response> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let secret = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                json_error(
                    StatusCode::UNAUTHORIZED,
                    "use `Authorization: Bearer <api key>`",
                    "unauthenticated",
                )
            })?;
        return match apikeys::authenticate(&state.db, secret).await {
            Ok(Some(key)) => Ok(Caller::Key(key)),
            Ok(None) => Err(json_error(
                StatusCode::UNAUTHORIZED,
                "unknown or revoked API key",
                "unauthenticated",
            )),
            Err(e) => {
                tracing::error!(error = %e, "API key lookup failed");
                Err(json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is not available",
                    "unavailable",
                ))
            }
        };
    }
    match user.and_then(|u| u.0.clone()) {
        Some(u) => Ok(Caller::User(u)),
        None => Err(json_error(
            StatusCode::UNAUTHORIZED,
            "an API key or a login is required",
            "unauthenticated",
        )),
    }
}

fn bad_ad_id() -> Response {
    json_error(
        StatusCode::BAD_REQUEST,
        "the ad id must be a number",
        "invalid",
    )
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "API request failed");
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error",
        "internal",
    )
}

/// `POST /api/v1/ads`: one ad or an array. Each item is validated on its own: bad items get
/// an error in the reply and the good ones are queued all the same.
async fn submit_ads(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = match caller(&state, &headers, user.as_deref()).await {
        Ok(Caller::Key(k)) if k.scope == Scope::Ingest => k,
        Ok(_) => {
            return json_error(
                StatusCode::FORBIDDEN,
                "submitting ads needs an API key with the ingest scope",
                "forbidden",
            );
        }
        Err(r) => return r,
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("the body is not JSON: {e}"),
                "invalid",
            );
        }
    };
    let (items, single) = match parsed {
        Value::Array(items) => (items, false),
        obj @ Value::Object(_) => (vec![obj], true),
        _ => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "send one ad object or an array of them",
                "invalid",
            );
        }
    };
    if items.is_empty() {
        return json_error(StatusCode::BAD_REQUEST, "the array is empty", "invalid");
    }
    if items.len() > MAX_BATCH {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("at most {MAX_BATCH} ads per request (got {})", items.len()),
            "too_large",
        );
    }
    let mut results: Vec<Value> = vec![Value::Null; items.len()];
    let mut valid = Vec::new();
    let mut valid_index = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let checked = serde_json::from_value::<SubmittedAd>(item)
            .map_err(|e| format!("not an ad object: {e}"))
            .and_then(SubmittedAd::validate);
        match checked {
            Ok(ad) => {
                valid.push(ad);
                valid_index.push(i);
            }
            Err(reason) => results[i] = json!({ "index": i, "error": reason, "kind": "invalid" }),
        }
    }
    let stored = match ads::submit(&state.db, &key.source(), &valid, now_millis()).await {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    for (i, s) in valid_index.into_iter().zip(stored) {
        results[i] = json!({
            "index": i,
            "id": s.id,
            "external_id": s.external_id,
            "status": s.status,
            "duplicate": !s.created,
        });
    }
    let accepted = results.iter().filter(|r| r.get("id").is_some()).count();
    let status = if accepted == 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::ACCEPTED
    };
    if single {
        return (status, Json(results.remove(0))).into_response();
    }
    (
        status,
        Json(json!({ "accepted": accepted, "rejected": results.len() - accepted, "results": results })),
    )
        .into_response()
}

/// `GET /api/v1/ads/{id}`: status, decision and scores. An ingest key sees its own ads;
/// logged-in ops heads and admins see all.
async fn get_ad(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match caller(&state, &headers, user.as_deref()).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return bad_ad_id();
    };
    let not_found = || {
        json_error(
            StatusCode::NOT_FOUND,
            &format!("no ad with id {id}"),
            "not_found",
        )
    };
    match &caller {
        Caller::Key(k) if k.scope == Scope::Ingest => match ads::source_of(&state.db, id).await {
            Ok(Some(source)) if source == k.source() => {}
            Ok(_) => return not_found(),
            Err(e) => return internal(e),
        },
        Caller::Key(_) => {
            return json_error(
                StatusCode::FORBIDDEN,
                "reading ads needs the ingest scope",
                "forbidden",
            );
        }
        Caller::User(u) if Area::Ads.allows(u.role) => {}
        Caller::User(_) => {
            return json_error(
                StatusCode::FORBIDDEN,
                "your role cannot read ads",
                "forbidden",
            );
        }
    }
    let ad = match ads::find(&state.db, id).await {
        Ok(Some(ad)) => ad,
        Ok(None) => return not_found(),
        Err(e) => return internal(e),
    };
    let appeals = match review::appeals_of(&state.db, id).await {
        Ok(a) => a,
        Err(e) => return internal(e),
    };
    let mut body = serde_json::to_value(ad).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut body {
        map.insert("appeals".into(), json!(appeals));
    }
    Json(body).into_response()
}

/// `POST /api/v1/ads/{id}/appeal` with `{"statement": "…"}`: the advertiser contests a
/// rejection of one of this key's ads. One open appeal per ad.
async fn appeal_ad(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let key = match caller(&state, &headers, None).await {
        Ok(Caller::Key(k)) if k.scope == Scope::Ingest => k,
        Ok(_) => {
            return json_error(
                StatusCode::FORBIDDEN,
                "filing an appeal needs an API key with the ingest scope",
                "forbidden",
            );
        }
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return bad_ad_id();
    };
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct AppealBody {
        statement: String,
    }
    let parsed: AppealBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("expected a JSON object {{\"statement\": \"…\"}}: {e}"),
                "invalid",
            );
        }
    };
    match ads::source_of(&state.db, id).await {
        Ok(Some(source)) if source == key.source() => {}
        Ok(_) => {
            return json_error(
                StatusCode::NOT_FOUND,
                &format!("no ad with id {id}"),
                "not_found",
            );
        }
        Err(e) => return internal(e),
    }
    match review::file_appeal(
        &state.db,
        id,
        &parsed.statement,
        &format!("apikey:{}", key.name),
        now_millis(),
    )
    .await
    {
        Ok(filed) => (StatusCode::CREATED, Json(filed)).into_response(),
        Err(review::ReviewError::Db(e)) => internal(e),
        Err(e @ review::ReviewError::NotFound(_)) => {
            json_error(StatusCode::NOT_FOUND, &e.to_string(), "not_found")
        }
        Err(e @ review::ReviewError::Conflict(_)) => {
            json_error(StatusCode::CONFLICT, &e.to_string(), "conflict")
        }
        Err(e) => json_error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string(), "invalid"),
    }
}
