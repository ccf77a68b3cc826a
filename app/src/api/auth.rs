//! Logging in and out, and who is logged in.

use crate::error::AppError;
use amso_core::vocab::market::Market;
use amso_core::vocab::role::{Area, Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, client_ip, current_user, internal},
    amso_core::access::users,
};

/// The logged-in user, as the pages need them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub markets: Vec<Market>,
    /// IANA zone their days are read in.
    pub time_zone: String,
    /// Whether anyone chose it; until then the page proposes the browser's zone.
    pub time_zone_chosen: bool,
}

impl Viewer {
    /// Whether this viewer may open `area`.
    pub fn can_open(&self, area: Area) -> bool {
        area.allows(self.role)
    }
}

#[cfg(feature = "ssr")]
pub(super) fn to_viewer(user: users::User) -> Viewer {
    Viewer {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        role: user.role,
        markets: user.markets,
        time_zone: user.time_zone,
        time_zone_chosen: user.time_zone_chosen,
    }
}

/// The logged-in user, or `None`.
#[server(prefix = "/rpc", endpoint = "get_viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    Ok(current_user()?.map(to_viewer))
}

/// Sets the logged-in person's own time zone (any role; audited like every user change; a
/// name over 64 characters is refused as no time zone).
#[server(prefix = "/rpc", endpoint = "set_my_time_zone")]
pub async fn set_my_time_zone(time_zone: String) -> Result<String, AppError> {
    use amso_core::access::audit::Actor;

    let user = current_user()?
        .ok_or_else(|| AppError::new(ErrorKind::Unauthenticated, "log in to continue"))?;
    let state = app_state()?;
    let after = users::update(
        &state.db,
        &Actor::User(user.email.clone()),
        Some(user.id),
        user.id,
        users::UserChange {
            time_zone: Some(time_zone),
            ..Default::default()
        },
    )
    .await
    .map_err(AppError::from)?;
    Ok(after.time_zone)
}

/// The longest `next` path followed after login.
pub const MAX_NEXT_LEN: usize = 2048;

/// Only same-site relative paths are followed after login, never another origin. Browsers
/// drop tabs and newlines inside URLs (`/\t/evil.example` becomes `//evil.example`) and
/// read `\\` as `/`, so a path with any control character, whitespace or backslash is
/// refused whole, as is one that would start `//` once such characters are gone.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| {
        n.len() <= MAX_NEXT_LEN
            && n.starts_with('/')
            && !n.starts_with("//")
            && !n
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    })
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
            LoginError::TooManyAttempts { .. } | LoginError::Busy { .. } => {
                let wait = e.retry_after_seconds().unwrap_or(1);
                AppError::new(ErrorKind::RateLimited, e.to_string()).retry_after(wait)
            }
            LoginError::Disabled | LoginError::DemoPassword => {
                AppError::new(ErrorKind::Forbidden, e.to_string())
            }
            LoginError::Invalid(_) => AppError::new(ErrorKind::Invalid, e.to_string()),
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
        assert_eq!(safe_next(Some("/\t/evil.example")), None);
        assert_eq!(safe_next(Some("/\n/evil.example")), None);
        assert_eq!(safe_next(Some("/ok\r\nSet-Cookie: x=1")), None);
        assert_eq!(safe_next(Some("/\u{a0}/evil.example")), None);
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(3000)))), None);
        assert_eq!(
            safe_next(Some("/ads?market=US&q=caf%C3%A9")).as_deref(),
            Some("/ads?market=US&q=caf%C3%A9")
        );
        assert_eq!(safe_next(None), None);
    }
}
