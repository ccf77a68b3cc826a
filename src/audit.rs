//! The append-only audit log: every human action and every settings change.
//! The database refuses updates and deletes on this table (see the migrations).

use crate::time::{Millis, now_millis};
use serde::Serialize;
use serde_json::Value;
use sqlx::{Any, Executor};

/// Who did something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A logged-in user, by email.
    User(String),
    /// Someone at the `amso` command line.
    Cli,
    /// The product itself (background tasks, seeding).
    System,
}

impl Actor {
    /// The stored form.
    pub fn as_text(&self) -> String {
        match self {
            Actor::User(email) => email.clone(),
            Actor::Cli => "cli".into(),
            Actor::System => "system".into(),
        }
    }
}

/// One action to record.
#[derive(Clone, Debug)]
pub struct NewEntry<'a> {
    pub actor: &'a Actor,
    /// Dotted verb such as `user.create` or `auth.login_failed`.
    pub action: &'a str,
    /// What was acted on, such as `user:7`.
    pub object: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub ip: Option<String>,
}

/// A recorded action.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub at: Millis,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub ip: Option<String>,
}

/// Appends one entry, inside whatever transaction `exec` belongs to.
pub async fn record<'e, E>(exec: E, entry: NewEntry<'_>) -> sqlx::Result<()>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "insert into audit_log (at, actor, action, object, before_json, after_json, ip) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now_millis())
    .bind(entry.actor.as_text())
    .bind(entry.action)
    .bind(entry.object)
    .bind(entry.before.map(|v| v.to_string()))
    .bind(entry.after.map(|v| v.to_string()))
    .bind(entry.ip)
    .execute(exec)
    .await?;
    Ok(())
}

/// How many times `action` was recorded on `object` since `since`.
pub async fn count_since<'e, E>(
    exec: E,
    action: &str,
    object: &str,
    since: Millis,
) -> sqlx::Result<i64>
where
    E: Executor<'e, Database = Any>,
{
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from audit_log where action = $1 and object = $2 and at >= $3",
    )
    .bind(action)
    .bind(object)
    .bind(since)
    .fetch_one(exec)
    .await?;
    Ok(n)
}

/// The newest entries first, optionally only those whose action starts with `prefix`.
pub async fn recent<'e, E>(exec: E, prefix: Option<&str>, limit: i64) -> sqlx::Result<Vec<Entry>>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query_as(
        "select id, at, actor, action, object, before_json, after_json, ip from audit_log \
         where substr(action, 1, length($1)) = $1 order by id desc limit $2",
    )
    .bind(prefix.unwrap_or(""))
    .bind(limit)
    .fetch_all(exec)
    .await
}
