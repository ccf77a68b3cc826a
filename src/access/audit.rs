//! The append-only audit log: every human action and every settings change.
//! The database refuses updates and deletes on this table (see the migrations).

use crate::platform::time::{Millis, now_millis};
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

/// A one-line reading of a change: the fields that differ as `field: old → new`, or the
/// fields set when there was nothing before. Values are shown as compact JSON.
pub fn summarize_change(before: Option<&str>, after: Option<&str>) -> String {
    let parse = |s: Option<&str>| s.and_then(|s| serde_json::from_str::<Value>(s).ok());
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    match (parse(before), parse(after)) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let mut parts = Vec::new();
            for (key, new) in &a {
                match b.get(key) {
                    Some(old) if old == new => {}
                    Some(old) => parts.push(format!("{key}: {} → {}", show(old), show(new))),
                    None => parts.push(format!("{key}: {}", show(new))),
                }
            }
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                parts.push(format!("{key}: removed"));
            }
            if parts.is_empty() {
                "no change".into()
            } else {
                parts.join("; ")
            }
        }
        (None, Some(Value::Object(a))) => a
            .iter()
            .map(|(k, v)| format!("{k}: {}", show(v)))
            .collect::<Vec<_>>()
            .join("; "),
        (b, a) => [b, a]
            .into_iter()
            .flatten()
            .map(|v| show(&v))
            .collect::<Vec<_>>()
            .join(" → "),
    }
}

/// Appends one entry, inside whatever transaction `exec` belongs to.
pub async fn record<'e, E>(exec: E, entry: NewEntry<'_>) -> sqlx::Result<()>
where
    E: Executor<'e, Database = Any>,
{
    record_at(exec, entry, now_millis()).await
}

/// Appends one entry stamped `at`: the time of the action it records, which code that is
/// given the time (the review desk, the demo history) passes along.
pub async fn record_at<'e, E>(exec: E, entry: NewEntry<'_>, at: Millis) -> sqlx::Result<()>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "insert into audit_log (at, actor, action, object, before_json, after_json, ip) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(at)
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

/// The newest entries first, optionally only those whose action starts with `prefix`.
pub async fn recent<'e, E>(exec: E, prefix: Option<&str>, limit: i64) -> sqlx::Result<Vec<Entry>>
where
    E: Executor<'e, Database = Any>,
{
    search(exec, prefix, None, limit).await
}

/// The newest entries first: actions starting with `prefix`, and actor or object
/// containing `text`, ignoring case (`ad:42`, an email, `user:7`).
pub async fn search<'e, E>(
    exec: E,
    prefix: Option<&str>,
    text: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Entry>>
where
    E: Executor<'e, Database = Any>,
{
    let text = text.map(str::trim).unwrap_or("");
    sqlx::query_as(
        "select id, at, actor, action, object, before_json, after_json, ip from audit_log \
         where substr(action, 1, length($1)) = $1 \
         and ($2 = '' or lower(actor) like '%' || lower($2) || '%' or lower(object) like '%' || lower($2) || '%') \
         order by id desc limit $3",
    )
    .bind(prefix.unwrap_or(""))
    .bind(text)
    .bind(limit)
    .fetch_all(exec)
    .await
}

#[cfg(test)]
mod tests {
    use super::summarize_change;

    #[test]
    fn summaries_name_only_what_changed() {
        let before = r#"{"role":"reviewer","markets":["US"],"disabled":false}"#;
        let after = r#"{"role":"ops_head","markets":["US","GB"],"disabled":false}"#;
        assert_eq!(
            summarize_change(Some(before), Some(after)),
            "markets: US → US, GB; role: reviewer → ops_head"
        );
        assert_eq!(summarize_change(Some(before), Some(before)), "no change");
        assert_eq!(
            summarize_change(None, Some(r#"{"email":"a@b.co"}"#)),
            "email: a@b.co"
        );
        assert_eq!(summarize_change(None, None), "");
    }
}
