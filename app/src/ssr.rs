//! Server-side plumbing for server functions: shared state, the current user, and the
//! checks every server function starts with.

pub use crate::error::internal;
use crate::error::{AppError, ErrorKind};
use amso_core::access::users::User;
use amso_core::platform::config::Config;
use amso_core::platform::db::Db;
use amso_core::vocab::role::Area;
use axum::extract::FromRef;
use http::request::Parts;
use leptos::prelude::*;
use std::sync::Arc;

/// State shared by every request: routes, server functions, background tasks.
#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub config: Arc<Config>,
    /// The model runner, when this instance runs one (for explanations on the ad page).
    pub scorer: Option<amso_core::engine::worker::Scorer>,
}

/// The user behind a request, resolved once per request from the session by the server's
/// middleware and kept in the request extensions.
#[derive(Clone, Debug, Default)]
pub struct CurrentUser(pub Option<User>);

/// The client address of a request, kept in the request extensions.
#[derive(Clone, Debug, Default)]
pub struct ClientIp(pub Option<String>);

/// This response's Content-Security-Policy nonce, chosen by the server's header middleware
/// and kept in the request extensions; the page's inline scripts carry it.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Gives the page being rendered this request's CSP nonce, so the hydration scripts carry it.
pub fn provide_csp_nonce() {
    if let Some(nonce) =
        use_context::<Parts>().and_then(|p| p.extensions.get::<CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// The session key holding the logged-in user's id.
pub const SESSION_USER_ID: &str = "user_id";

/// The application state, provided by the router to every server function.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| internal("AppState missing from context"))
}

fn request_parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or_else(|| internal("request parts missing from context"))
}

/// The logged-in user, if any.
pub fn current_user() -> Result<Option<User>, AppError> {
    Ok(request_parts()?
        .extensions
        .get::<CurrentUser>()
        .and_then(|c| c.0.clone()))
}

/// The client address of this request, if known.
pub fn client_ip() -> Option<String> {
    request_parts()
        .ok()
        .and_then(|p| p.extensions.get::<ClientIp>().and_then(|c| c.0.clone()))
}

/// The logged-in ops head (the queues' settings: exposure limits, golden items); otherwise
/// 401 or 403 saying that `what` is for ops heads.
pub fn require_ops_head(what: &str) -> Result<User, AppError> {
    let user = require_area(Area::Queues)?;
    if user.role != amso_core::vocab::role::Role::OpsHead {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            format!("{what} are for ops heads"),
        ));
    }
    Ok(user)
}

/// The logged-in user if their role may open `area`; otherwise 401 or 403.
pub fn require_area(area: Area) -> Result<User, AppError> {
    let user = current_user()?
        .ok_or_else(|| AppError::new(ErrorKind::Unauthenticated, "log in to continue"))?;
    if area.allows(user.role) {
        Ok(user)
    } else {
        Err(AppError::new(
            ErrorKind::Forbidden,
            format!("the {} role cannot use {}", user.role.label(), area.label()),
        ))
    }
}
