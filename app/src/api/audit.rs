//! The audit log page (ops heads, admins): search the append-only log.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::ssr::{app_state, internal, require_area},
    amso_core::platform::time::to_rfc3339 as rfc3339,
    amso_core::vocab::role::Area,
};

/// One audit log row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    /// The changed fields in words (`role: reviewer → ops_head`).
    pub change: String,
    pub ip: Option<String>,
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
    super::limit_text("prefix", &prefix, 100)?;
    super::limit_text("q", &q, super::MAX_SEARCH)?;
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
