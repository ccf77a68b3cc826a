//! The Models page: the registry (every version with its role, the markets it is champion of
//! and its card's held-out figures) and which version was champion in each market at a past
//! instant.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::ssr::{app_state, internal, require_area},
    amso_core::engine::model::registry,
    amso_core::platform::time::{now_millis, to_rfc3339},
    amso_core::vocab::role::Area,
};

/// One version as the page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelVersionView {
    pub version: String,
    /// `candidate`, `challenger`, `champion`, `retired`, or empty.
    pub role: String,
    /// Markets it is champion of now.
    pub champion_of: Vec<String>,
    pub source: String,
    pub created_by: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub sha256: String,
    pub size_bytes: i64,
    /// From the card's held-out evaluation (macro averages over categories).
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub f1: Option<f64>,
    pub heldout_rows: Option<u64>,
    /// What it was trained on, as its card says.
    pub data_source: Option<String>,
}

/// One role change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelEventView {
    pub version: String,
    pub role: String,
    /// Empty: every market.
    pub market: String,
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    pub note: String,
}

/// The champions at an instant, and the role changes up to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelHistoryView {
    /// RFC 3339, UTC.
    pub at: String,
    /// (market, version), every market that had a champion.
    pub champions: Vec<(String, String)>,
    /// Newest first.
    pub events: Vec<ModelEventView>,
}

/// Every registered version, newest first.
#[server(prefix = "/rpc", endpoint = "list_models")]
pub async fn list_models() -> Result<Vec<ModelVersionView>, AppError> {
    require_area(Area::Models)?;
    let state = app_state()?;
    let rows = registry::list(&state.db, now_millis())
        .await
        .map_err(internal)?;
    Ok(rows
        .into_iter()
        .map(|v| {
            let card = v.card.as_ref();
            let num = |path: &str| card.and_then(|c| c.pointer(path)).and_then(|x| x.as_f64());
            ModelVersionView {
                role: v.role.map(|r| r.as_str().to_string()).unwrap_or_default(),
                champion_of: v.champion_of,
                source: v.source,
                created_by: v.created_by,
                created_at: to_rfc3339(v.created_at),
                sha256: v.sha256,
                size_bytes: v.size_bytes,
                roc_auc: num("/heldout/macro_roc_auc"),
                pr_auc: num("/heldout/macro_pr_auc"),
                f1: num("/heldout/macro_f1"),
                heldout_rows: card
                    .and_then(|c| c.pointer("/heldout/rows"))
                    .and_then(|x| x.as_u64()),
                data_source: card
                    .and_then(|c| c.pointer("/data/source"))
                    .and_then(|x| x.as_str())
                    .map(String::from),
                version: v.version,
            }
        })
        .collect())
}

/// Which version was champion in each market at `at` (RFC 3339; empty: now).
#[server(prefix = "/rpc", endpoint = "get_model_history")]
pub async fn get_model_history(at: String) -> Result<ModelHistoryView, AppError> {
    require_area(Area::Models)?;
    crate::api::limit_text("at", &at, 64)?;
    let state = app_state()?;
    let at = if at.trim().is_empty() {
        now_millis()
    } else {
        registry::parse_instant(&at)
            .map_err(|e| AppError::new(crate::error::ErrorKind::Invalid, e))?
    };
    let events = registry::events(&state.db).await.map_err(internal)?;
    let champions = registry::champions_at(&events, at)
        .into_iter()
        .map(|(m, v)| (m.code().to_string(), v))
        .collect();
    Ok(ModelHistoryView {
        at: to_rfc3339(at),
        champions,
        events: events
            .into_iter()
            .filter(|e| e.at <= at)
            .rev()
            .take(50)
            .map(|e| ModelEventView {
                version: e.version,
                role: e.role.as_str().to_string(),
                market: e.market.unwrap_or_default(),
                at: to_rfc3339(e.at),
                actor: e.actor,
                note: e.note.unwrap_or_default(),
            })
            .collect(),
    })
}
