//! Logging in: password check, the failed-attempt limit, and the audit trail of both.

use crate::access::audit::{self, Actor, NewEntry};
use crate::access::password;
use crate::access::users::{self, User};
use crate::platform::config::Config;
use crate::platform::db::Db;
use crate::platform::time::now_millis;

/// Why a login was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("this account is disabled; ask an administrator")]
    Disabled,
    #[error("too many failed attempts; try again in {retry_after_minutes} minutes")]
    TooManyAttempts { retry_after_minutes: i64 },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const FAILED: &str = "auth.login_failed";

/// Checks the credentials, enforcing the limit of failed attempts per email within the
/// configured window (kept in the audit log, so it holds across server instances).
pub async fn login(
    db: &Db,
    config: &Config,
    email: &str,
    password: &str,
    ip: Option<String>,
) -> Result<User, LoginError> {
    let email = users::normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
    let object = format!("email:{email}");
    let window_ms = config.login_window_minutes * 60_000;
    let recent_failures =
        audit::count_since(db.pool(), FAILED, &object, now_millis() - window_ms).await?;
    if recent_failures >= config.login_max_failures {
        return Err(LoginError::TooManyAttempts {
            retry_after_minutes: config.login_window_minutes,
        });
    }

    let found = users::find_for_login(db, &email).await?;
    let password = password.to_string();
    let outcome = tokio::task::spawn_blocking(move || match found {
        Some((user, hash)) => password::verify(&password, &hash).then_some(user),
        None => {
            password::verify_against_nothing(&password);
            None
        }
    })
    .await
    .expect("password verification does not panic");

    match outcome {
        Some(user) if user.disabled => {
            record(db, &email, "auth.login_refused_disabled", &object, ip).await?;
            Err(LoginError::Disabled)
        }
        Some(user) => {
            record(db, &email, "auth.login", &format!("user:{}", user.id), ip).await?;
            Ok(user)
        }
        None => {
            record(db, &email, FAILED, &object, ip).await?;
            Err(LoginError::InvalidCredentials)
        }
    }
}

/// Records a logout.
pub async fn logout(db: &Db, user: &User, ip: Option<String>) -> sqlx::Result<()> {
    record(
        db,
        &user.email,
        "auth.logout",
        &format!("user:{}", user.id),
        ip,
    )
    .await
}

async fn record(
    db: &Db,
    email: &str,
    action: &str,
    object: &str,
    ip: Option<String>,
) -> sqlx::Result<()> {
    audit::record(
        db.pool(),
        NewEntry {
            actor: &Actor::User(email.to_string()),
            action,
            object: object.to_string(),
            before: None,
            after: None,
            ip,
        },
    )
    .await
}
