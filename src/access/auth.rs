//! Logging in: the password check, the limits on failed attempts (per account, per client
//! address, and on password checks running at once), and the audit trail.
//!
//! Every attempt is written to `login_attempts` *before* its password is checked and the
//! limits count the attempts still being checked, so a burst of parallel guesses cannot slip
//! past them. Attempts turned away by a limit do not count as failures: nobody can keep an
//! account locked beyond the window by hammering it, and an address the account logged in
//! from before still gets its own allowance while the account is locked for everyone else.

use crate::access::audit::{self, Actor, NewEntry};
use crate::access::password;
use crate::access::users::{self, User};
use crate::platform::config::Config;
use crate::platform::db::Db;
use crate::platform::time::{Millis, now_millis};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The longest email accepted anywhere (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// How long an address that logged in to an account stays "known" to it.
const KNOWN_ADDRESS_MS: Millis = 30 * 24 * 3_600_000;

/// How long a login waits for a free password-check slot before it is told to come back.
const HASH_WAIT: Duration = Duration::from_secs(2);

/// Why a login was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("this account is disabled; ask an administrator")]
    Disabled,
    #[error("too many failed attempts; try again in {} minutes", retry_after_seconds.div_ceil(60))]
    TooManyAttempts { retry_after_seconds: u64 },
    #[error("the server is busy checking other logins; try again in a moment")]
    Busy { retry_after_seconds: u64 },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "this account still has its published demo password, which production refuses; an administrator must set a new one"
    )]
    DemoPassword,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl LoginError {
    /// Seconds a client should wait before trying again, for refusals that pass.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            LoginError::TooManyAttempts {
                retry_after_seconds,
            }
            | LoginError::Busy {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }
}

const FAILED: &str = "auth.login_failed";

/// The process-wide cap on password checks running at once (each holds 19 MiB and a core
/// for tens of milliseconds). Sized by the first configuration that asks.
fn hash_slots(config: &Config) -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(config.password_hash_concurrency.max(1)))
}

/// Checks the credentials under the limits described in the module documentation.
pub async fn login(
    db: &Db,
    config: &Config,
    email: &str,
    password: &str,
    ip: Option<String>,
) -> Result<User, LoginError> {
    if email.chars().count() > MAX_EMAIL_LEN {
        return Err(LoginError::Invalid(format!(
            "an email address has at most {MAX_EMAIL_LEN} characters"
        )));
    }
    if password.len() > password::MAX_PASSWORD_BYTES {
        return Err(LoginError::Invalid(format!(
            "a password has at most {} bytes",
            password::MAX_PASSWORD_BYTES
        )));
    }
    let email = users::normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
    let now = now_millis();
    let attempt = start_attempt(db, &email, ip.as_deref(), now).await?;
    if let Some(retry_after_seconds) = over_limit(db, config, &email, ip.as_deref(), now).await? {
        finish_attempt(db, attempt, "refused").await?;
        return Err(LoginError::TooManyAttempts {
            retry_after_seconds,
        });
    }

    let Ok(slot) = tokio::time::timeout(HASH_WAIT, hash_slots(config).acquire()).await else {
        finish_attempt(db, attempt, "refused").await?;
        return Err(LoginError::Busy {
            retry_after_seconds: 1,
        });
    };
    let found = users::find_for_login(db, &email).await?;
    let typed = password.to_string();
    let outcome = tokio::task::spawn_blocking(move || match found {
        Some((user, hash)) => password::verify(&typed, &hash).then_some(user),
        None => {
            password::verify_against_nothing(&typed);
            None
        }
    })
    .await
    .expect("password verification does not panic");
    drop(slot);

    let object = format!("email:{email}");
    match outcome {
        Some(user) if user.disabled => {
            finish_attempt(db, attempt, "failed").await?;
            record(db, &email, "auth.login_refused_disabled", &object, ip).await?;
            Err(LoginError::Disabled)
        }
        // Production holds at run time too: an account whose password is a published demo
        // one (set again after start) cannot log in.
        Some(user)
            if config.is_production()
                && (user.demo_credentials || password::is_published_demo(password)) =>
        {
            finish_attempt(db, attempt, "failed").await?;
            record(db, &email, "auth.login_refused_demo_password", &object, ip).await?;
            Err(LoginError::DemoPassword)
        }
        Some(user) => {
            finish_attempt(db, attempt, "ok").await?;
            record(db, &email, "auth.login", &format!("user:{}", user.id), ip).await?;
            Ok(user)
        }
        None => {
            finish_attempt(db, attempt, "failed").await?;
            record(db, &email, FAILED, &object, ip).await?;
            Err(LoginError::InvalidCredentials)
        }
    }
}

async fn start_attempt(db: &Db, email: &str, ip: Option<&str>, now: Millis) -> sqlx::Result<i64> {
    let mut tx = db.begin_write().await?;
    let (id,): (i64,) = sqlx::query_as(
        "insert into login_attempts (email, ip, at, outcome) values ($1, $2, $3, 'pending') returning id",
    )
    .bind(email)
    .bind(ip)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn finish_attempt(db: &Db, id: i64, outcome: &str) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("update login_attempts set outcome = $1 where id = $2")
        .bind(outcome)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Whose attempts a limit counts.
enum Counted<'a> {
    Account(&'a str),
    Address(&'a str),
    AccountFromAddress(&'a str, &'a str),
}

/// Attempts that failed or are still being checked since `since`, and the oldest of them.
async fn counted(db: &Db, who: Counted<'_>, since: Millis) -> sqlx::Result<(i64, Option<Millis>)> {
    const COLUMNS: &str = "select count(*), min(at) from login_attempts";
    const RECENT: &str = "at >= $3 and outcome in ('pending', 'failed')";
    let (sql, first, second) = match who {
        Counted::Account(e) => (
            format!("{COLUMNS} where email = $1 and $2 = $2 and {RECENT}"),
            e,
            "",
        ),
        Counted::Address(ip) => (
            format!("{COLUMNS} where ip = $1 and $2 = $2 and {RECENT}"),
            ip,
            "",
        ),
        Counted::AccountFromAddress(e, ip) => (
            format!("{COLUMNS} where email = $1 and ip = $2 and {RECENT}"),
            e,
            ip,
        ),
    };
    sqlx::query_as(&sql)
        .bind(first)
        .bind(second)
        .bind(since)
        .fetch_one(db.pool())
        .await
}

/// Seconds until this attempt may be checked, when a limit refuses it now. The counts
/// include the attempt itself.
async fn over_limit(
    db: &Db,
    config: &Config,
    email: &str,
    ip: Option<&str>,
    now: Millis,
) -> sqlx::Result<Option<u64>> {
    let window = config.login_window_minutes * 60_000;
    let since = now - window;
    let retry = |oldest: Option<Millis>| {
        let free_at = oldest.unwrap_or(now) + window;
        Some(((free_at - now).max(1_000) / 1_000) as u64)
    };
    // Password spraying: many accounts tried from one address.
    if let Some(ip) = ip {
        let (n, oldest) = counted(db, Counted::Address(ip), since).await?;
        if n > config.login_max_failures_per_address {
            return Ok(retry(oldest));
        }
    }
    let (n, oldest) = counted(db, Counted::Account(email), since).await?;
    if n <= config.login_max_failures {
        return Ok(None);
    }
    // The account is locked, except for an address it logged in from lately, which keeps an
    // allowance of its own: someone else's guesses cannot keep its owner out.
    if let Some(ip) = ip {
        let (known,): (i64,) = sqlx::query_as(
            "select count(*) from login_attempts where email = $1 and ip = $2 and outcome = 'ok' and at >= $3",
        )
        .bind(email)
        .bind(ip)
        .bind(now - KNOWN_ADDRESS_MS)
        .fetch_one(db.pool())
        .await?;
        if known > 0 {
            let (own, own_oldest) =
                counted(db, Counted::AccountFromAddress(email, ip), since).await?;
            return Ok((own > config.login_max_failures)
                .then(|| retry(own_oldest))
                .flatten());
        }
    }
    Ok(retry(oldest))
}

/// Forgets login attempts older than `before` (kept for the known-address rule).
pub async fn prune_attempts(db: &Db, before: Millis) -> sqlx::Result<u64> {
    let mut tx = db.begin_write().await?;
    let r = sqlx::query("delete from login_attempts where at < $1")
        .bind(before)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(r.rows_affected())
}

/// How long login attempts are kept.
pub const ATTEMPTS_KEPT_MS: Millis = KNOWN_ADDRESS_MS;

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
