//! `/api/v1/ads`: ads submitted by ingest systems with API keys, their status, and appeals.

use super::caller::{Caller, caller};
use super::error::{ApiResult, AppError, ErrorKind};
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::access::apikeys::Scope;
use amso_core::intake::ads;
use amso_core::intake::validate::SubmittedAd;
use amso_core::platform::time::now_millis;
use amso_core::review;
use amso_core::vocab::role::Area;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

/// Most ads accepted in one request.
pub const MAX_BATCH: usize = 1000;

/// The ads routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ads", post(submit_ads))
        .route("/api/v1/ads/{id}", get(get_ad))
        .route("/api/v1/ads/{id}/appeal", post(appeal_ad))
}

/// The ad id of a path.
fn ad_id(id: &str) -> Result<i64, AppError> {
    id.parse()
        .map_err(|_| AppError::malformed("the ad id must be a number"))
}

/// The API key of a caller that must be an ingest system.
fn ingest_key(caller: Caller, to_do: &str) -> Result<amso_core::access::apikeys::ApiKey, AppError> {
    match caller {
        Caller::Key(k) if k.scope == Scope::Ingest => Ok(k),
        _ => Err(AppError::new(
            ErrorKind::Forbidden,
            format!("{to_do} needs an API key with the ingest scope"),
        )),
    }
}

/// `POST /api/v1/ads`: one ad or an array. Each item is validated on its own: bad items get
/// an error in the reply and the good ones are queued all the same.
async fn submit_ads(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let key = ingest_key(
        caller(&state, &headers, user.as_deref()).await?,
        "submitting ads",
    )?;
    let parsed: Value = serde_json::from_slice(&body)
        .map_err(|e| AppError::malformed(format!("the body is not JSON: {e}")))?;
    let (items, single) = match parsed {
        Value::Array(items) => (items, false),
        obj @ Value::Object(_) => (vec![obj], true),
        _ => {
            return Err(AppError::malformed(
                "send one ad object or an array of them",
            ));
        }
    };
    if items.is_empty() {
        return Err(AppError::malformed("the array is empty"));
    }
    if items.len() > MAX_BATCH {
        return Err(AppError::new(
            ErrorKind::TooLarge,
            format!("at most {MAX_BATCH} ads per request (got {})", items.len()),
        ));
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
            Err(reason) => {
                results[i] = json!({ "index": i, "error": reason, "kind": ErrorKind::Invalid })
            }
        }
    }
    let stored = ads::submit(&state.db, &key.source(), &valid, now_millis()).await?;
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
        return Ok((status, Json(results.remove(0))).into_response());
    }
    Ok((
        status,
        Json(json!({ "accepted": accepted, "rejected": results.len() - accepted, "results": results })),
    )
        .into_response())
}

/// `GET /api/v1/ads/{id}`: status, decision and scores. An ingest key sees its own ads;
/// logged-in ops heads and admins see all.
async fn get_ad(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let caller = caller(&state, &headers, user.as_deref()).await?;
    let id = ad_id(&id)?;
    let not_found = || AppError::new(ErrorKind::NotFound, format!("no ad with id {id}"));
    match &caller {
        Caller::Key(k) if k.scope == Scope::Ingest => {
            if ads::source_of(&state.db, id).await? != Some(k.source()) {
                return Err(not_found());
            }
        }
        Caller::Key(_) => {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                "reading ads needs the ingest scope",
            ));
        }
        Caller::User(u) if Area::Ads.allows(u.role) => {}
        Caller::User(_) => {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                "your role cannot read ads",
            ));
        }
    }
    let ad = ads::find(&state.db, id).await?.ok_or_else(not_found)?;
    let appeals = review::appeals::appeals_of(&state.db, id).await?;
    let mut body = serde_json::to_value(ad).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut body {
        map.insert("appeals".into(), json!(appeals));
    }
    Ok(Json(body).into_response())
}

/// `POST /api/v1/ads/{id}/appeal` with `{"statement": "…"}`: the advertiser contests a
/// rejection of one of this key's ads. One open appeal per ad.
async fn appeal_ad(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let key = ingest_key(caller(&state, &headers, None).await?, "filing an appeal")?;
    let id = ad_id(&id)?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct AppealBody {
        statement: String,
    }
    let parsed: AppealBody = serde_json::from_slice(&body).map_err(|e| {
        AppError::malformed(format!(
            "expected a JSON object {{\"statement\": \"…\"}}: {e}"
        ))
    })?;
    if ads::source_of(&state.db, id).await? != Some(key.source()) {
        return Err(AppError::new(
            ErrorKind::NotFound,
            format!("no ad with id {id}"),
        ));
    }
    let filed = review::appeals::file_appeal(
        &state.db,
        id,
        &parsed.statement,
        &format!("apikey:{}", key.name),
        now_millis(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(filed)).into_response())
}
