//! The Models page: the registry (every version with its role, the markets it is champion of
//! and its card's held-out figures) and which version was champion in each market at a past
//! instant.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub use amso_core::model_view::{Comparison, Preview, Promotion, Training};

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, internal, require_area},
    amso_core::access::audit::Actor,
    amso_core::access::users::User,
    amso_core::engine::model::{promotion, registry},
    amso_core::platform::time::{now_millis, to_rfc3339},
    amso_core::vocab::market::Market,
    amso_core::vocab::role::{Area, Role},
};

/// Ops heads and admins change which model runs; others read.
#[cfg(feature = "ssr")]
fn operator() -> Result<User, AppError> {
    let user = require_area(Area::Models)?;
    if !matches!(user.role, Role::OpsHead | Role::Admin) {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "only ops heads and admins change which model runs",
        ));
    }
    Ok(user)
}

/// Markets from a comma-separated list (empty: every market).
#[cfg(feature = "ssr")]
fn markets_of(text: &str) -> Result<Vec<Market>, AppError> {
    crate::api::limit_text("markets", text, 200)?;
    text.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            m.parse::<Market>()
                .map_err(|e| AppError::new(ErrorKind::Invalid, e.to_string()))
        })
        .collect()
}

/// The two versions on the labelled ads both scored in the last 28 days (`market` empty:
/// all markets).
#[server(prefix = "/rpc", endpoint = "compare_models")]
pub async fn compare_models(a: String, b: String, market: String) -> Result<Comparison, AppError> {
    require_area(Area::Models)?;
    for v in [&a, &b] {
        crate::api::limit_text("version", v, 200)?;
    }
    let market = markets_of(&market)?.first().copied();
    let state = app_state()?;
    amso_core::engine::model::compare::compare(&state.db, &a, &b, market, now_millis())
        .await
        .map_err(internal)
}

/// Runs `version` in shadow: it scores every new ad beside the champion.
#[server(prefix = "/rpc", endpoint = "shadow_model")]
pub async fn shadow_model(version: String) -> Result<(), AppError> {
    let user = operator()?;
    crate::api::limit_text("version", &version, 200)?;
    let state = app_state()?;
    Ok(registry::set_role(
        &state.db,
        &version,
        registry::Role::Challenger,
        &[],
        &Actor::User(user.email),
        now_millis(),
        None,
    )
    .await?)
}

/// What promoting `version` in `markets` (comma-separated; empty: every market) would do.
#[server(prefix = "/rpc", endpoint = "preview_promotion")]
pub async fn preview_promotion(version: String, markets: String) -> Result<Preview, AppError> {
    operator()?;
    crate::api::limit_text("version", &version, 200)?;
    let markets = markets_of(&markets)?;
    let state = app_state()?;
    Ok(promotion::preview(&state.db, &version, &markets, now_millis()).await?)
}

/// Asks for `version` to become champion in `markets`; another ops head or an admin approves.
#[server(prefix = "/rpc", endpoint = "request_promotion")]
pub async fn request_promotion(version: String, markets: String) -> Result<Promotion, AppError> {
    let user = operator()?;
    crate::api::limit_text("version", &version, 200)?;
    let markets = markets_of(&markets)?;
    let state = app_state()?;
    Ok(promotion::request(
        &state.db,
        &version,
        &markets,
        &Actor::User(user.email),
        now_millis(),
    )
    .await?)
}

/// Approves (someone other than the asker) or refuses a pending promotion.
#[server(prefix = "/rpc", endpoint = "decide_promotion")]
pub async fn decide_promotion(id: i64, approve: bool) -> Result<Promotion, AppError> {
    let user = operator()?;
    let state = app_state()?;
    Ok(promotion::decide(
        &state.db,
        id,
        approve,
        &Actor::User(user.email),
        now_millis(),
    )
    .await?)
}

/// Puts back the champions and thresholds from before the latest promotion.
#[server(prefix = "/rpc", endpoint = "rollback_model")]
pub async fn rollback_model() -> Result<Promotion, AppError> {
    let user = operator()?;
    let state = app_state()?;
    Ok(promotion::rollback(&state.db, &Actor::User(user.email), now_millis()).await?)
}

/// The latest promotions, newest first, and whether the viewer may change models.
#[server(prefix = "/rpc", endpoint = "list_promotions")]
pub async fn list_promotions() -> Result<(Vec<Promotion>, bool, String), AppError> {
    let user = require_area(Area::Models)?;
    let state = app_state()?;
    let list = promotion::list(&state.db, 20).await.map_err(internal)?;
    Ok((
        list,
        matches!(user.role, Role::OpsHead | Role::Admin),
        user.email,
    ))
}

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
    /// The in-product TF-IDF + logistic regression baseline's macro ROC-AUC on the same split.
    pub baseline_roc_auc: Option<f64>,
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

/// Every registered version, newest first, and whether the viewer may change which runs.
#[server(prefix = "/rpc", endpoint = "list_models")]
pub async fn list_models() -> Result<(Vec<ModelVersionView>, bool), AppError> {
    let user = require_area(Area::Models)?;
    let state = app_state()?;
    let rows = registry::list(&state.db, now_millis())
        .await
        .map_err(internal)?;
    let versions = rows
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
                baseline_roc_auc: num("/baseline/heldout/macro_roc_auc"),
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
        .collect();
    Ok((versions, matches!(user.role, Role::OpsHead | Role::Admin)))
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

/// Starts training a candidate on the verdicts of the last `days` days (and the demo corpus
/// when asked) in the background; answers the training's id. One runs per database.
#[server(prefix = "/rpc", endpoint = "start_training")]
pub async fn start_training(days: u32, with_corpus: bool) -> Result<i64, AppError> {
    use amso_core::engine::model::retrain;
    let user = operator()?;
    if !(1..=365).contains(&days) {
        return Err(AppError::new(ErrorKind::Invalid, "days: 1 to 365"));
    }
    let state = app_state()?;
    let actor = Actor::User(user.email);
    let now = now_millis();
    let id = retrain::claim(&state.db, &actor, now)
        .await
        .map_err(|e| match e {
            retrain::RetrainError::Busy(_) => AppError::new(ErrorKind::Conflict, e.to_string()),
            other => internal(other),
        })?;
    let db = state.db.clone();
    let since = now - i64::from(days) * 86_400_000;
    tokio::spawn(async move {
        if let Err(e) = retrain::run(&db, id, since, with_corpus, 10, &actor, |line| {
            tracing::info!(training = id, "{line}");
        })
        .await
        {
            tracing::warn!(training = id, error = %e, "training ended without a candidate");
        }
    });
    Ok(id)
}

/// The latest trainings, newest first.
#[server(prefix = "/rpc", endpoint = "list_trainings")]
pub async fn list_trainings() -> Result<Vec<Training>, AppError> {
    require_area(Area::Models)?;
    let state = app_state()?;
    amso_core::engine::model::retrain::trainings(&state.db, 5)
        .await
        .map_err(internal)
}

/// Stops a running training at the end of its epoch.
#[server(prefix = "/rpc", endpoint = "cancel_training")]
pub async fn cancel_training(id: i64) -> Result<bool, AppError> {
    operator()?;
    let state = app_state()?;
    amso_core::engine::model::retrain::cancel(&state.db, id, now_millis())
        .await
        .map_err(internal)
}
