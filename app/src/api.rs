//! Server functions: the calls the pages make. Each checks the caller's role on the server.

use crate::dto::{AuditRow, UserSummary, Viewer};
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, client_ip, current_user, internal, require_area},
    amso_core::{access::audit::Actor, access::users, vocab::role::Area},
};

#[cfg(feature = "ssr")]
fn to_viewer(user: users::User) -> Viewer {
    Viewer {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        role: user.role,
        markets: user.markets,
    }
}

#[cfg(feature = "ssr")]
use amso_core::platform::time::to_rfc3339 as rfc3339;

/// The logged-in user, or `None`.
#[server(prefix = "/rpc", endpoint = "get_viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    Ok(current_user()?.map(to_viewer))
}

/// Only same-site relative paths are followed after login, never another origin.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .map(str::to_string)
}

/// Checks the credentials, starts a fresh session, and returns the page to open next
/// (the browser then loads it afresh; a plain form post is redirected there).
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<String, AppError> {
    use amso_core::access::auth::{self, LoginError};
    use amso_core::vocab::role::Area;
    use tower_sessions::Session;

    let state = app_state()?;
    let user = auth::login(&state.db, &state.config, &email, &password, client_ip())
        .await
        .map_err(|e| match e {
            LoginError::Db(e) => internal(e),
            LoginError::TooManyAttempts { .. } => {
                AppError::new(ErrorKind::RateLimited, e.to_string())
            }
            LoginError::Disabled => AppError::new(ErrorKind::Forbidden, e.to_string()),
            LoginError::InvalidCredentials => {
                AppError::new(ErrorKind::Unauthenticated, e.to_string())
            }
        })?;
    let session: Session = leptos_axum::extract().await.map_err(internal)?;
    // A new id at login defeats session fixation.
    session.cycle_id().await.map_err(internal)?;
    session
        .insert(crate::ssr::SESSION_USER_ID, user.id)
        .await
        .map_err(internal)?;
    let home = Area::home(user.role).path().to_string();
    let target = safe_next(next.as_deref())
        .filter(|n| Area::for_path(n).is_none_or(|a| a.allows(user.role)))
        .unwrap_or(home);
    if accepts_html() {
        leptos_axum::redirect(&target);
    }
    Ok(target)
}

/// Whether the request is a plain browser form post (no JavaScript), which should be
/// answered with a redirect rather than data.
#[cfg(feature = "ssr")]
fn accepts_html() -> bool {
    use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get(http::header::ACCEPT).cloned())
        .and_then(|v| v.to_str().ok().map(|v| v.contains("text/html")))
        .unwrap_or(false)
}

/// Ends the session everywhere: the server forgets it, so the old cookie is worthless.
#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use tower_sessions::Session;

    let state = app_state()?;
    if let Some(user) = current_user()? {
        amso_core::access::auth::logout(&state.db, &user, client_ip())
            .await
            .map_err(internal)?;
    }
    let session: Session = leptos_axum::extract().await.map_err(internal)?;
    session.flush().await.map_err(internal)?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[cfg(feature = "ssr")]
fn to_summary(u: users::User) -> UserSummary {
    UserSummary {
        id: u.id,
        email: u.email,
        display_name: u.display_name,
        role: u.role,
        markets: u.markets,
        disabled: u.disabled,
        demo_credentials: u.demo_credentials,
        created_at: rfc3339(u.created_at),
    }
}

/// Every user (admins only).
#[server(prefix = "/rpc", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    require_area(Area::Users)?;
    let state = app_state()?;
    let list = users::list(&state.db).await.map_err(internal)?;
    Ok(list.into_iter().map(to_summary).collect())
}

#[cfg(feature = "ssr")]
fn parse_role(role: &str) -> Result<amso_core::vocab::role::Role, AppError> {
    role.parse()
        .map_err(|e: amso_core::vocab::role::UnknownRole| {
            AppError::new(ErrorKind::Invalid, e.to_string())
        })
}

#[cfg(feature = "ssr")]
fn parse_markets(markets: &str) -> Result<Vec<amso_core::vocab::market::Market>, AppError> {
    amso_core::vocab::market::parse_market_list(markets)
        .map_err(|e| AppError::new(ErrorKind::Invalid, e.to_string()))
}

/// Creates a user (admins only). `markets` is a comma-separated list of market codes.
#[server(prefix = "/rpc", endpoint = "create_user")]
pub async fn create_user(
    email: String,
    display_name: String,
    role: String,
    markets: String,
    password: String,
) -> Result<UserSummary, AppError> {
    let admin = require_area(Area::Users)?;
    let state = app_state()?;
    let new = users::NewUser {
        email,
        display_name,
        role: parse_role(&role)?,
        markets: parse_markets(&markets)?,
        password,
        demo_credentials: false,
    };
    let user = users::create(&state.db, &Actor::User(admin.email), new)
        .await
        .map_err(AppError::from)?;
    Ok(to_summary(user))
}

/// Changes a user's name, role, markets, enabled state or password (admins only).
/// An empty `password` leaves it unchanged.
#[server(prefix = "/rpc", endpoint = "update_user")]
pub async fn update_user(
    id: i64,
    display_name: String,
    role: String,
    markets: String,
    disabled: bool,
    password: String,
) -> Result<UserSummary, AppError> {
    let admin = require_area(Area::Users)?;
    let state = app_state()?;
    let change = users::UserChange {
        display_name: Some(display_name),
        role: Some(parse_role(&role)?),
        markets: Some(parse_markets(&markets)?),
        disabled: Some(disabled),
        password: Some(password).filter(|p| !p.is_empty()),
    };
    let user = users::update(
        &state.db,
        &Actor::User(admin.email.clone()),
        Some(admin.id),
        id,
        change,
    )
    .await
    .map_err(AppError::from)?;
    Ok(to_summary(user))
}

/// The newest audit entries: actions starting with `prefix`, actor or object containing `q`.
#[server(prefix = "/rpc", endpoint = "list_audit")]
pub async fn list_audit(
    prefix: String,
    #[server(default)] q: String,
    limit: i64,
) -> Result<Vec<AuditRow>, AppError> {
    require_area(Area::Audit)?;
    let state = app_state()?;
    let prefix = prefix.trim();
    let rows = amso_core::access::audit::search(
        state.db.pool(),
        (!prefix.is_empty()).then_some(prefix),
        Some(q.as_str()),
        limit.clamp(1, 1000),
    )
    .await
    .map_err(internal)?;
    Ok(rows
        .into_iter()
        .map(|e| AuditRow {
            id: e.id,
            at: rfc3339(e.at),
            actor: e.actor,
            action: e.action,
            object: e.object,
            change: amso_core::access::audit::summarize_change(
                e.before_json.as_deref(),
                e.after_json.as_deref(),
            ),
            ip: e.ip,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_only_follows_local_paths() {
        assert_eq!(
            safe_next(Some("/admin/users")).as_deref(),
            Some("/admin/users")
        );
        assert_eq!(safe_next(Some("//evil.example")), None);
        assert_eq!(safe_next(Some("https://evil.example")), None);
        assert_eq!(safe_next(Some("/\\evil.example")), None);
        assert_eq!(safe_next(None), None);
    }
}
