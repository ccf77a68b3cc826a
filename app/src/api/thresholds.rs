//! The thresholds page: thresholds per market × category and the market policy matrix, and
//! editing a cell (a new thresholds version, audited).

use crate::error::AppError;
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ads::invalid;
#[cfg(feature = "ssr")]
use {
    crate::ssr::{app_state, internal, require_area},
    amso_core::{access::audit::Actor, vocab::role::Area},
};

/// The thresholds and policy grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdGrid {
    pub version: i64,
    pub cells: Vec<GridCell>,
    pub history: Vec<(i64, String, String, String)>,
}

/// One market × category cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridCell {
    pub market: Market,
    pub category: Category,
    pub approve_below: f64,
    pub reject_at: f64,
    pub rule: String,
}

/// The thresholds and policy grid in force, with recent versions.
#[server(prefix = "/rpc", endpoint = "get_thresholds")]
pub async fn get_thresholds() -> Result<ThresholdGrid, AppError> {
    require_area(Area::Thresholds)?;
    let state = app_state()?;
    let (version, cells) = amso_core::engine::thresholds::current(&state.db)
        .await
        .map_err(internal)?;
    let history = amso_core::engine::thresholds::versions(&state.db, 20)
        .await
        .map_err(internal)?;
    Ok(ThresholdGrid {
        version,
        cells: cells
            .into_iter()
            .map(|c| GridCell {
                market: c.market,
                category: c.category,
                approve_below: c.approve_below,
                reject_at: c.reject_at,
                rule: c.rule.as_str().to_string(),
            })
            .collect(),
        history: history
            .into_iter()
            .map(|v| {
                (
                    v.version,
                    amso_core::platform::time::to_rfc3339(v.created_at),
                    v.created_by,
                    v.note,
                )
            })
            .collect(),
    })
}

/// Changes one market × category: its thresholds (a new version) and/or its policy rule.
#[server(prefix = "/rpc", endpoint = "update_cell")]
pub async fn update_cell(
    market: String,
    category: String,
    approve_below: f64,
    reject_at: f64,
    rule: String,
) -> Result<i64, AppError> {
    let user = require_area(Area::Thresholds)?;
    let state = app_state()?;
    let market: Market = market
        .parse()
        .map_err(|e: amso_core::vocab::market::UnknownMarket| invalid(e.to_string()))?;
    let category: Category = category
        .parse()
        .map_err(|e: amso_core::vocab::policy::UnknownCategory| invalid(e.to_string()))?;
    let rule = amso_core::engine::decide::Rule::parse(rule.trim())
        .ok_or_else(|| invalid("rule must be prohibited, restricted or allowed"))?;
    let band = amso_core::engine::decide::Band {
        approve_below,
        reject_at,
    };
    amso_core::engine::thresholds::edit_cell(
        &state.db,
        &Actor::User(user.email),
        market,
        category,
        band,
        rule,
    )
    .await
    .map_err(AppError::from)
}
