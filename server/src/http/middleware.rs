//! Middleware every request passes: who the viewer is (resolved once from the session) and
//! whether their role may open the page they ask for.

use super::error::{AppError, ErrorKind};
use amso_app::ssr::{AppState, ClientIp, CurrentUser, SESSION_USER_ID};
use amso_core::access::users;
use amso_core::vocab::role::Area;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::SocketAddr;
use tower_sessions::Session;

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
pub async fn resolve_viewer(
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
                return AppError::new(ErrorKind::Unavailable, "the database is not available")
                    .into_response();
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
