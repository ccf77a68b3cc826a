//! Override reason codes: the ones reviewers pick from, and managing them (add, relabel,
//! retire; audited).

use super::ReviewError;
use crate::access::audit::{self, Actor, NewEntry};
use crate::platform::db::{Db, Flag};
use crate::platform::time::Millis;
use serde::Serialize;
use serde_json::json;

/// A reason a reviewer can give.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReasonCode {
    pub code: String,
    pub label: String,
}

/// The active reason codes, in their managed order.
pub async fn reason_codes(db: &Db) -> sqlx::Result<Vec<ReasonCode>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("select code, label from reason_codes where active = $1 order by position")
            .bind(true)
            .fetch_all(db.pool())
            .await?;
    Ok(rows
        .into_iter()
        .map(|(code, label)| ReasonCode { code, label })
        .collect())
}

/// A managed reason code, active or retired.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ManagedReason {
    pub code: String,
    pub label: String,
    pub active: bool,
}

/// Every reason code, in order, retired ones included.
pub async fn all_reason_codes(db: &Db) -> sqlx::Result<Vec<ManagedReason>> {
    let rows: Vec<(String, String, Flag)> =
        sqlx::query_as("select code, label, active from reason_codes order by position, code")
            .fetch_all(db.pool())
            .await?;
    Ok(rows
        .into_iter()
        .map(|(code, label, active)| ManagedReason {
            code,
            label,
            active: active.0,
        })
        .collect())
}

/// Adds a reason code or changes one's label or whether reviewers may still pick it
/// (codes are retired, never deleted: past reviews keep pointing at them). Audited.
pub async fn save_reason_code(
    db: &Db,
    actor: &Actor,
    code: &str,
    label: &str,
    active: bool,
    now: Millis,
) -> Result<(), ReviewError> {
    let code = code.trim();
    let label = label.trim();
    if code.is_empty()
        || code.len() > 40
        || !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ReviewError::Invalid(
            "a reason code is 1 to 40 characters of a–z, 0–9 and _".into(),
        ));
    }
    if label.is_empty() || label.chars().count() > 120 {
        return Err(ReviewError::Invalid(
            "a reason needs a label of 1 to 120 characters".into(),
        ));
    }
    let mut tx = db.begin_write().await?;
    let before: Option<(String, Flag)> =
        sqlx::query_as("select label, active from reason_codes where code = $1")
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?;
    match &before {
        Some(_) => {
            sqlx::query("update reason_codes set label = $1, active = $2 where code = $3")
                .bind(label)
                .bind(active)
                .bind(code)
                .execute(&mut *tx)
                .await?;
        }
        None => {
            sqlx::query(
                "insert into reason_codes (code, label, position, active) \
                 values ($1, $2, (select coalesce(max(position), 0) + 1 from reason_codes), $3)",
            )
            .bind(code)
            .bind(label)
            .bind(active)
            .execute(&mut *tx)
            .await?;
        }
    }
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: "settings.reason_code",
            object: format!("reason:{code}"),
            before: before.map(|(l, a)| json!({ "label": l, "active": a.0 })),
            after: Some(json!({ "label": label, "active": active })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
