//! Building and running the HTTP server.

use crate::metrics::{self, HttpMetrics};
use crate::session_store::DbSessionStore;
use amso_app::error::{AppError, ErrorKind};
use amso_app::ssr::{AppState, ClientIp, CurrentUser, SESSION_USER_ID};
use amso_app::{App, shell};
use amso_core::access::users;
use amso_core::vocab::role::Area;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self as mw, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::net::SocketAddr;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "amso_session";

/// The router plus what serving it needs.
pub struct Server {
    pub router: Router,
    pub metrics: HttpMetrics,
}

/// Builds the whole application router over `state`.
pub fn build_router(state: AppState) -> Server {
    let http_metrics = HttpMetrics::default();
    let routes = generate_route_list(App);
    let session_layer = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.cookie_secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            state.config.session_idle_minutes,
        )));

    let metrics_for_route = http_metrics.clone();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(crate::api::routes())
        .merge(crate::reports::routes())
        .route("/admin/audit.csv", get(audit_csv))
        .route(
            "/metrics",
            get(move |State(state): State<AppState>| {
                let m = metrics_for_route.clone();
                async move {
                    let mut text = m.render();
                    text.push_str(&metrics::drift(&state.db).await);
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        text,
                    )
                }
            }),
        )
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(mw::from_fn(rpc_error_status))
        .layer(mw::from_fn_with_state(state.clone(), resolve_viewer))
        .layer(session_layer)
        .layer(mw::from_fn_with_state(http_metrics.clone(), metrics::track))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    Server {
        router,
        metrics: http_metrics,
    }
}

/// Liveness: the process answers.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers and every migration is applied.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.is_ready().await {
        Ok(true) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Ok(false) => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "database is reachable but not fully migrated; run `amso migrate`",
            "not_ready",
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "database is not reachable",
                "not_ready",
            )
        }
    }
}

/// A JSON error body `{"error": "...", "kind": "..."}` with `status`.
pub fn json_error(status: StatusCode, error: &str, kind: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": error, "kind": kind })),
    )
        .into_response()
}

/// Paths that are neither pages nor server functions nor API: no session work for them.
fn is_infrastructure(path: &str) -> bool {
    path.starts_with("/pkg/")
        || matches!(
            path,
            "/healthz" | "/readyz" | "/metrics" | "/favicon.ico" | "/favicon.svg"
        )
}

fn is_page(method: &Method, path: &str) -> bool {
    method == Method::GET && !path.starts_with("/rpc/") && !path.starts_with("/api/")
}

/// Resolves the logged-in user once per request and enforces page access on the server:
/// logged-out visitors are sent to the login page, and a role opening an area it may not
/// use gets the page's "no access" view with status 403.
async fn resolve_viewer(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    if is_infrastructure(&path) {
        return next.run(req).await;
    }
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let user = match session.get::<i64>(SESSION_USER_ID).await {
        Ok(Some(id)) => match users::find(&state.db, id).await {
            Ok(Some(user)) if !user.disabled => Some(user),
            Ok(_) => {
                // Deleted or disabled since logging in: the session ends now.
                let _ = session.flush().await;
                None
            }
            Err(e) => {
                tracing::error!(error = %e, "loading the session's user failed");
                return json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is not available",
                    "unavailable",
                );
            }
        },
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "session could not be read; treating as logged out");
            None
        }
    };

    let mut forbidden = false;
    if is_page(req.method(), &path) {
        match &user {
            None if path != "/login" => {
                let target = req
                    .uri()
                    .path_and_query()
                    .map(|pq| pq.as_str().to_string())
                    .unwrap_or_else(|| "/".into());
                let login = if target == "/" {
                    "/login".to_string()
                } else {
                    format!("/login?next={}", urlencode(&target))
                };
                return Redirect::to(&login).into_response();
            }
            Some(u) if path == "/" || path == "/login" => {
                return Redirect::to(Area::home(u.role).path()).into_response();
            }
            Some(u) => forbidden = Area::for_path(&path).is_some_and(|a| !a.allows(u.role)),
            None => {}
        }
    }

    req.extensions_mut().insert(CurrentUser(user));
    req.extensions_mut().insert(ClientIp(ip));
    let mut response = next.run(req).await;
    if forbidden {
        *response.status_mut() = StatusCode::FORBIDDEN;
    }
    response
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Server functions answer errors with status 500 by default; this gives each error the
/// status of its kind (401, 403, 422, …), read from the JSON body every error carries.
async fn rpc_error_status(req: Request, next: Next) -> Response {
    let is_rpc = req.uri().path().starts_with("/rpc/");
    let response = next.run(req).await;
    if !is_rpc || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, 1 << 20).await {
        Ok(b) => b,
        Err(_) => {
            return json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
                "internal",
            );
        }
    };
    let error: AppError = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| AppError::new(ErrorKind::Internal, "internal error"));
    parts.status =
        StatusCode::from_u16(error.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = serde_json::to_vec(&error).unwrap_or_default();
    Response::from_parts(parts, Body::from(body))
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
    user: Option<axum::Extension<CurrentUser>>,
    axum::extract::Query(query): axum::extract::Query<AuditExport>,
) -> Response {
    let Some(user) = user.and_then(|u| u.0.0.clone()) else {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "log in to export the audit log",
            "unauthenticated",
        );
    };
    if !Area::Audit.allows(user.role) {
        return json_error(
            StatusCode::FORBIDDEN,
            "your role cannot read the audit log",
            "forbidden",
        );
    }
    let prefix = query.prefix.trim();
    let rows = match amso_core::access::audit::search(
        state.db.pool(),
        (!prefix.is_empty()).then_some(prefix),
        Some(query.q.as_str()),
        100_000,
    )
    .await
    {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "audit export failed");
            return json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
                "internal",
            );
        }
    };
    let mut out = amso_core::platform::csv::record(&[
        "id", "at", "actor", "action", "object", "change", "before", "after", "ip",
    ]);
    for e in rows {
        out.push_str(&amso_core::platform::csv::record(&[
            e.id.to_string(),
            amso_core::platform::time::to_rfc3339(e.at),
            e.actor.clone(),
            e.action.clone(),
            e.object.clone(),
            amso_core::access::audit::summarize_change(
                e.before_json.as_deref(),
                e.after_json.as_deref(),
            ),
            e.before_json.clone().unwrap_or_default(),
            e.after_json.clone().unwrap_or_default(),
            e.ip.clone().unwrap_or_default(),
        ]));
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"amso-audit-log.csv\"",
            ),
        ],
        out,
    )
        .into_response()
}
