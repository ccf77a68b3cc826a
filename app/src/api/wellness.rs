//! Exposure limits: the ops heads' table of what each reviewer was shown today and this week
//! per capped category, the caps and the break setting (audited), and a reviewer's break.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, internal, require_area, require_ops_head},
    amso_core::access::audit::Actor,
    amso_core::platform::time::now_millis,
    amso_core::review::exposure,
    amso_core::vocab::policy::Category,
    amso_core::vocab::role::Area,
};

/// One reviewer's row: per capped category (in the order of [`Exposure::caps`]), items shown
/// today (their local day) and over their last 7 local days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExposureRow {
    pub name: String,
    pub time_zone: String,
    pub today: Vec<i64>,
    pub week: Vec<i64>,
    /// Items of capped categories in a row right now.
    pub run: i64,
}

/// The exposure table and the settings behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    /// (category, daily cap).
    pub caps: Vec<(String, i64)>,
    pub break_after: i64,
    pub rows: Vec<ExposureRow>,
}

#[cfg(feature = "ssr")]
fn parse_category(category: &str) -> Result<Category, AppError> {
    category.parse().map_err(|_| {
        AppError::new(
            ErrorKind::Invalid,
            format!(
                "category: `{}` is not a policy category",
                category.chars().take(40).collect::<String>()
            ),
        )
    })
}

/// Every reviewer's exposure to the capped categories (ops heads).
#[server(prefix = "/rpc", endpoint = "get_exposure")]
pub async fn get_exposure() -> Result<Exposure, AppError> {
    require_ops_head("exposure limits")?;
    let state = app_state()?;
    let now = now_millis();
    let wellness = exposure::wellness(&state.db).await.map_err(internal)?;
    let team = exposure::team_exposure(&state.db, now)
        .await
        .map_err(internal)?;
    let per = |counts: &std::collections::BTreeMap<Category, i64>| {
        wellness
            .caps
            .iter()
            .map(|(c, _)| counts.get(c).copied().unwrap_or(0))
            .collect::<Vec<i64>>()
    };
    Ok(Exposure {
        caps: wellness
            .caps
            .iter()
            .map(|(c, n)| (c.as_str().to_string(), *n))
            .collect(),
        break_after: wellness.break_after,
        rows: team
            .iter()
            .map(|e| ExposureRow {
                name: e.name.clone(),
                time_zone: e.time_zone.clone(),
                today: per(&e.today),
                week: per(&e.week),
                run: e.run,
            })
            .collect(),
    })
}

/// Sets a category's daily cap, or lifts it when `daily_cap` is absent (ops heads; audited).
#[server(prefix = "/rpc", endpoint = "set_exposure_cap")]
pub async fn set_exposure_cap(
    category: String,
    #[server(default)] daily_cap: Option<i64>,
) -> Result<(), AppError> {
    let user = require_ops_head("exposure limits")?;
    let state = app_state()?;
    let category = parse_category(&category)?;
    exposure::set_cap(
        &state.db,
        &Actor::User(user.email),
        category,
        daily_cap,
        now_millis(),
    )
    .await
    .map_err(AppError::from)
}

/// Sets after how many items of capped categories in a row a reviewer is offered a break
/// (ops heads; audited).
#[server(prefix = "/rpc", endpoint = "set_break_after")]
pub async fn set_break_after(break_after: i64) -> Result<(), AppError> {
    let user = require_ops_head("exposure limits")?;
    let state = app_state()?;
    exposure::set_break_after(
        &state.db,
        &Actor::User(user.email),
        break_after,
        now_millis(),
    )
    .await
    .map_err(AppError::from)
}

/// The person takes the break they were offered: their run starts again.
#[server(prefix = "/rpc", endpoint = "take_break")]
pub async fn take_break() -> Result<(), AppError> {
    let user = require_area(Area::Queues)?;
    let state = app_state()?;
    exposure::take_break(&state.db, user.id, now_millis())
        .await
        .map_err(internal)
}
