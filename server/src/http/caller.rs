//! Who is calling a REST route: an API key (`Authorization: Bearer …`) or a logged-in user.

use super::error::{AppError, ErrorKind};
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::access::apikeys::{self, ApiKey};
use amso_core::access::users::User;
use axum::http::{HeaderMap, header};

/// Who is calling.
pub enum Caller {
    Key(ApiKey),
    User(User),
}

/// The caller of a request: its API key if it sends one (a bad key is refused, never taken
/// for a logged-out user), else the logged-in user.
pub async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    user: Option<&CurrentUser>,
) -> Result<Caller, AppError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let secret = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                AppError::new(
                    ErrorKind::Unauthenticated,
                    "use `Authorization: Bearer <api key>`",
                )
            })?;
        return match apikeys::authenticate(&state.db, secret).await {
            Ok(Some(key)) => Ok(Caller::Key(key)),
            Ok(None) => Err(AppError::new(
                ErrorKind::Unauthenticated,
                "unknown or revoked API key",
            )),
            Err(e) => {
                tracing::error!(error = %e, "API key lookup failed");
                Err(AppError::new(
                    ErrorKind::Unavailable,
                    "the database is not available",
                ))
            }
        };
    }
    match user.and_then(|u| u.0.clone()) {
        Some(u) => Ok(Caller::User(u)),
        None => Err(AppError::new(
            ErrorKind::Unauthenticated,
            "an API key or a login is required",
        )),
    }
}

/// The logged-in user of a session-only route (401 without one).
pub fn logged_in(user: Option<&CurrentUser>, to_do: &str) -> Result<User, AppError> {
    user.and_then(|u| u.0.clone())
        .ok_or_else(|| AppError::new(ErrorKind::Unauthenticated, format!("log in to {to_do}")))
}
