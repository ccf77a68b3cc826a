//! Middleware every request passes: cross-site state changes refused, the security headers
//! (a Content-Security-Policy with a fresh nonce per response), who the viewer is (resolved
//! once from the session, whose idle expiry it keeps sliding) and whether their role may open
//! the page they ask for.

use super::error::{AppError, ErrorKind};
use amso_app::ssr::{AppState, ClientIp, CspNonce, CurrentUser, SESSION_USER_ID};
use amso_core::access::users;
use amso_core::platform::config::Config;
use amso_core::platform::time::now_millis;
use amso_core::vocab::role::Area;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use tower_sessions::Session;

/// The session key holding when the session was last used (ms); rewriting it at most once a
/// minute is what moves the session's idle expiry forward.
const SESSION_SEEN_AT: &str = "seen_at";
const SEEN_EVERY_MS: i64 = 60_000;

/// Whether a request with these headers comes from a page of another site (or another
/// origin of this site): its `Origin` names neither this host nor an allowed origin, or,
/// without `Origin`, the browser's `Sec-Fetch-Site` says `cross-site` or `same-site`.
/// Requests with neither header come from programs, not from a browser page, and pass.
pub fn is_cross_site(headers: &HeaderMap, allowed_origins: &[String]) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(origin) = text(header::ORIGIN) {
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        if allowed_origins.contains(&origin) {
            return false;
        }
        let own_host = text(header::HOST).map(str::to_ascii_lowercase);
        let origin_host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        return match (origin_host, own_host) {
            (Some(o), Some(h)) => o != h,
            _ => true,
        };
    }
    matches!(
        text(HeaderName::from_static("sec-fetch-site")),
        Some("cross-site" | "same-site")
    )
}

/// Refuses state-changing requests (any method but GET, HEAD, OPTIONS) sent by another
/// site's page, login included: `SameSite=Lax` alone lets a sibling subdomain or a plain
/// `text/plain` form drive every server function. Requests carrying an API key are not
/// sent by browsers' forms and pass.
pub async fn refuse_cross_site(
    State(config): State<Arc<Config>>,
    req: Request,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let bearer = req.headers().contains_key(header::AUTHORIZATION);
    if !safe && !bearer && is_cross_site(req.headers(), &config.allowed_origins) {
        tracing::warn!(
            path = %req.uri().path(),
            origin = ?req.headers().get(header::ORIGIN),
            "cross-site request refused"
        );
        return AppError::new(
            ErrorKind::Forbidden,
            "cross-site request refused: this action must come from AMSO's own pages",
        )
        .into_response();
    }
    next.run(req).await
}

/// Sets the security headers on every response: a Content-Security-Policy whose script nonce
/// is fresh per response (the page's hydration scripts carry it), HSTS when cookies are
/// HTTPS-only, and a Permissions-Policy that turns off what the console never uses.
pub async fn security_headers(
    State(config): State<Arc<Config>>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
        ),
    );
    if config.cookie_secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
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
            Ok(Some(user)) if !user.disabled => {
                touch(&session).await;
                Some(user)
            }
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

/// Notes that the session is in use, at most once a minute: a changed session is saved with
/// a fresh idle expiry (an unchanged one keeps the expiry it was last saved with).
async fn touch(session: &Session) {
    let now = now_millis();
    let seen = session
        .get::<i64>(SESSION_SEEN_AT)
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
    if now - seen >= SEEN_EVERY_MS
        && let Err(e) = session.insert(SESSION_SEEN_AT, now).await
    {
        tracing::warn!(error = %e, "could not note the session's use");
    }
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

/// Caching of the bundle under `/pkg/`: when its files are named after their content hash
/// (`hashed`), a browser keeps them a year without asking again (a new build has new names);
/// otherwise it asks each time and gets 304 while the file is unchanged.
pub async fn bundle_caching(State(hashed): State<bool>, req: Request, next: Next) -> Response {
    let bundle = req.uri().path().starts_with("/pkg/");
    let mut response = next.run(req).await;
    if bundle && response.status().is_success() {
        let policy = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}
