//! The REST API under `/api/v1`: ads submitted by ingest systems with API keys.

use crate::web::json_error;
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::access::apikeys::{self, ApiKey, Scope};
use amso_core::intake::ads;
use amso_core::intake::validate::SubmittedAd;
use amso_core::platform::time::now_millis;
use amso_core::review;
use amso_core::vocab::role::Area;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
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
        .route("/api/v1/kpis", get(kpis))
}

/// How often the live stream looks for new decisions and reviews.
const STREAM_TICK: std::time::Duration = std::time::Duration::from_millis(250);
/// Queue sizes are recomputed every this many ticks (2 s).
const QUEUE_TICKS: u32 = 8;

/// What the stream last sent, and what it may send.
struct StreamState {
    db: amso_core::platform::db::Db,
    scope: review::Scope,
    queues: bool,
    kpis: bool,
    last_queues: Option<String>,
    last_change: Option<(i64, i64)>,
    tick: u32,
}

/// The newest decision and audit row: any decision, review or undo moves one of them.
async fn change_mark(db: &amso_core::platform::db::Db) -> sqlx::Result<(i64, i64)> {
    let (d,): (i64,) = sqlx::query_as("select coalesce(max(id), 0) from decisions")
        .fetch_one(db.pool())
        .await?;
    let (a,): (i64,) = sqlx::query_as("select coalesce(max(id), 0) from audit_log")
        .fetch_one(db.pool())
        .await?;
    Ok((d, a))
}

/// `GET /api/v1/stream`: server-sent events for live pages (session only). Sends `queues`
/// with the queue sizes in the caller's markets whenever they change (reviewers and ops
/// heads), and `kpis` within a second of any decision or review (roles that see dashboards).
async fn stream(State(state): State<AppState>, user: Option<Extension<CurrentUser>>) -> Response {
    let Some(user) = user.and_then(|u| u.0.0.clone()) else {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "log in to follow live updates",
            "unauthenticated",
        );
    };
    let queues = Area::Queues.allows(user.role);
    let kpis = Area::Dashboards.allows(user.role);
    if !queues && !kpis {
        return json_error(
            StatusCode::FORBIDDEN,
            "your role has no live pages to follow",
            "forbidden",
        );
    }
    let start = StreamState {
        db: state.db.clone(),
        scope: review::Scope {
            user_id: user.id,
            email: user.email.clone(),
            role: user.role,
            markets: user.markets.clone(),
        },
        queues,
        kpis,
        last_queues: None,
        last_change: None,
        tick: 0,
    };
    let events = futures_util::stream::unfold(start, |mut st| async move {
        loop {
            if st.tick > 0 {
                tokio::time::sleep(STREAM_TICK).await;
            }
            st.tick = st.tick.wrapping_add(1);
            if st.kpis
                && let Ok(mark) = change_mark(&st.db).await
            {
                let changed = st.last_change.is_some_and(|m| m != mark);
                st.last_change = Some(mark);
                if changed {
                    let event = Event::default()
                        .event("kpis")
                        .data(format!("{},{}", mark.0, mark.1));
                    return Some((Ok::<_, std::convert::Infallible>(event), st));
                }
            }
            if st.queues
                && (st.tick - 1) % QUEUE_TICKS == 0
                && let Ok(queues) = review::queues::summaries(&st.db, &st.scope, now_millis()).await
            {
                let key = queues
                    .iter()
                    .map(|q| format!("{}:{}:{}:{}", q.source, q.open, q.available, q.overdue))
                    .collect::<Vec<_>>()
                    .join(",");
                if st.last_queues.as_deref() != Some(key.as_str()) {
                    st.last_queues = Some(key);
                    let event = Event::default()
                        .event("queues")
                        .data(serde_json::to_string(&queues).unwrap_or_default());
                    return Some((Ok(event), st));
                }
            }
        }
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Who is calling: an API key, or a logged-in user.
pub(crate) enum Caller {
    Key(ApiKey),
    User(amso_core::access::users::User),
}

pub(crate) async fn caller(
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
    let appeals = match review::appeals::appeals_of(&state.db, id).await {
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
    match review::appeals::file_appeal(
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

/// Query of `GET /api/v1/kpis`: days `YYYY-MM-DD` (inclusive; default the last 7 days) and
/// optional slices.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct KpiQuery {
    from: String,
    to: String,
    market: String,
    category: String,
    model: String,
}

fn estimate_json(e: Option<amso_core::metrics::kpi::Estimate>) -> Value {
    match e {
        Some(e) => {
            json!({ "value": e.value, "low": e.low, "high": e.high, "n": e.n, "enough_samples": e.enough() })
        }
        None => {
            json!({ "value": null, "low": null, "high": null, "n": 0.0, "enough_samples": false })
        }
    }
}

fn kpis_json(k: &amso_core::dashboard::view::Kpis, backlog: i64) -> Value {
    json!({
        "decided": k.decided,
        "auto_approved": k.auto_approved,
        "auto_rejected": k.auto_rejected,
        "routed_to_review": k.routed,
        "automation_rate": k.automation_rate,
        "checked": k.checked,
        "overridden": k.overridden,
        "override_rate": k.override_rate,
        "precision": estimate_json(k.precision),
        "recall": estimate_json(k.recall),
        "appeals_decided": k.appeals_decided,
        "appeal_overturn_rate": k.appeal_overturn_rate,
        "backlog": backlog,
        "sla_n": k.sla_n,
        "sla_p50_seconds": k.sla_p50_seconds,
        "sla_p95_seconds": k.sla_p95_seconds,
        "sla_within_share": k.sla_within,
        "reviews": k.reviews,
        "median_handling_seconds": k.median_handling_seconds,
        "cost_usd": {
            "total": k.cost.total,
            "review": k.cost.review,
            "inference": k.cost.inference,
            "false_positive": k.cost.false_positive,
            "false_negative": k.cost.false_negative,
            "per_1k_ads": k.cost.per_1k_ads,
        },
    })
}

/// The KPIs of an overview as the API's JSON.
pub fn overview_json(o: &amso_core::dashboard::view::Overview) -> Value {
    let backlog_total: i64 = o.backlog.iter().map(|b| b.open).sum();
    let mut totals = kpis_json(&o.totals, backlog_total);
    totals["backlog_by_queue"] = json!(o.backlog);
    json!({
        "window": { "from": o.window.from, "to": o.window.to },
        "previous_window": { "from": o.previous_window.from, "to": o.previous_window.to },
        "totals": totals,
        "previous": kpis_json(&o.previous, 0),
        "markets": o.markets.iter().map(|m| {
            let mut v = kpis_json(&m.kpis, m.backlog);
            v["market"] = json!(m.market);
            v
        }).collect::<Vec<_>>(),
        "drift": o.drift.iter().map(|d| json!({
            "market": d.market,
            "category": d.category,
            "psi": d.psi,
            "band": d.band.map(|b| b.as_str()),
        })).collect::<Vec<_>>(),
        "alerts": o.alerts,
    })
}

/// `GET /api/v1/kpis?from=&to=&market=&category=&model=`: the overview's numbers as JSON,
/// for an API key with the `kpis` scope or a logged-in user whose role sees dashboards.
async fn kpis(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    query: Result<Query<KpiQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match caller(&state, &headers, user.as_deref()).await {
        Ok(Caller::Key(k)) if k.scope == Scope::Kpis => {}
        Ok(Caller::User(u)) if Area::Dashboards.allows(u.role) => {}
        Ok(_) => {
            return json_error(
                StatusCode::FORBIDDEN,
                "KPIs need an API key with the kpis scope, or a role that sees dashboards",
                "forbidden",
            );
        }
        Err(r) => return r,
    }
    let Ok(Query(q)) = query else {
        return json_error(StatusCode::BAD_REQUEST, "bad query string", "invalid");
    };
    let sel = amso_core::dashboard::view::Selection {
        window: if q.from.is_empty() && q.to.is_empty() {
            "7d".into()
        } else {
            "custom".into()
        },
        from: q.from.clone(),
        to: q.to,
        market: q.market,
        category: q.category,
        model: q.model,
    };
    let now = now_millis();
    let filter = match amso_core::dashboard::filter::resolve(&sel, now) {
        Ok(f) => f,
        Err(amso_core::dashboard::filter::DashboardError::Invalid(m)) => {
            return json_error(StatusCode::BAD_REQUEST, &m, "invalid");
        }
        Err(e) => return internal(e),
    };
    match amso_core::dashboard::overview::overview(&state.db, &filter, now).await {
        Ok(o) => Json(overview_json(&o)).into_response(),
        Err(e) => internal(e),
    }
}
