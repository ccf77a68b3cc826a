//! The users page (admins): list, create and update users.
// `update_user` takes every field of the edit form; the browser-side stub the server macro
// generates for it cannot carry an attribute of its own.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use amso_core::vocab::market::Market;
use amso_core::vocab::role::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, internal, require_area},
    amso_core::access::audit::Actor,
    amso_core::access::users,
    amso_core::platform::time::to_rfc3339 as rfc3339,
    amso_core::vocab::role::Area,
};

/// A user row on the admin page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub markets: Vec<Market>,
    pub disabled: bool,
    pub demo_credentials: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// IANA time zone.
    pub time_zone: String,
    /// ISO 639-1 codes; empty: any language.
    pub languages: Vec<String>,
}

/// Formats a language list for display (`en, ja`), or `any` when empty.
pub fn languages_label(languages: &[String]) -> String {
    if languages.is_empty() {
        "any".into()
    } else {
        languages.join(", ")
    }
}

/// Formats a market list for display (`US, GB`), or `all` when empty.
pub fn markets_label(markets: &[Market]) -> String {
    if markets.is_empty() {
        "all".into()
    } else {
        markets
            .iter()
            .map(|m| m.code())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(feature = "ssr")]
fn to_summary(u: users::User) -> UserSummary {
    UserSummary {
        id: u.id,
        email: u.email,
        display_name: u.display_name,
        role: u.role,
        markets: u.markets,
        disabled: u.disabled,
        demo_credentials: u.demo_credentials,
        created_at: rfc3339(u.created_at),
        time_zone: u.time_zone,
        languages: u.languages,
    }
}

/// Every user (admins only).
#[server(prefix = "/rpc", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    require_area(Area::Users)?;
    let state = app_state()?;
    let list = users::list(&state.db).await.map_err(internal)?;
    Ok(list.into_iter().map(to_summary).collect())
}

#[cfg(feature = "ssr")]
fn parse_role(role: &str) -> Result<amso_core::vocab::role::Role, AppError> {
    role.parse()
        .map_err(|e: amso_core::vocab::role::UnknownRole| {
            AppError::new(ErrorKind::Invalid, e.to_string())
        })
}

#[cfg(feature = "ssr")]
fn parse_markets(markets: &str) -> Result<Vec<amso_core::vocab::market::Market>, AppError> {
    amso_core::vocab::market::parse_market_list(markets)
        .map_err(|e| AppError::new(ErrorKind::Invalid, e.to_string()))
}

#[cfg(feature = "ssr")]
fn parse_languages(languages: &str) -> Result<Vec<String>, AppError> {
    users::parse_languages(languages).map_err(AppError::from)
}

/// Creates a user (admins only). `markets` and `languages` are comma-separated lists of
/// market and ISO 639-1 codes; no `time_zone`: UTC.
#[server(prefix = "/rpc", endpoint = "create_user")]
pub async fn create_user(
    email: String,
    display_name: String,
    role: String,
    markets: String,
    password: String,
    #[server(default)] time_zone: Option<String>,
    #[server(default)] languages: Option<String>,
) -> Result<UserSummary, AppError> {
    let admin = require_area(Area::Users)?;
    let state = app_state()?;
    let new = users::NewUser {
        email,
        display_name,
        role: parse_role(&role)?,
        markets: parse_markets(&markets)?,
        password,
        demo_credentials: false,
        time_zone: time_zone.filter(|z| !z.trim().is_empty()),
        languages: parse_languages(languages.as_deref().unwrap_or(""))?,
    };
    let user = users::create(&state.db, &Actor::User(admin.email), new)
        .await
        .map_err(AppError::from)?;
    Ok(to_summary(user))
}

/// Changes a user's name, role, markets, enabled state, password, time zone or languages
/// (admins only). An empty `password`, and a missing `time_zone` or `languages`, leave them
/// unchanged.
#[server(prefix = "/rpc", endpoint = "update_user")]
pub async fn update_user(
    id: i64,
    display_name: String,
    role: String,
    markets: String,
    disabled: bool,
    password: String,
    #[server(default)] time_zone: Option<String>,
    #[server(default)] languages: Option<String>,
) -> Result<UserSummary, AppError> {
    use amso_core::access::{password as pw, sessions};

    let admin = require_area(Area::Users)?;
    let state = app_state()?;
    let password = Some(password).filter(|p| !p.is_empty());
    if state.config.is_production() && password.as_deref().is_some_and(pw::is_published_demo) {
        return Err(AppError::new(
            ErrorKind::Invalid,
            "that password is published in the README; production refuses it",
        ));
    }
    let changes_password = password.is_some();
    let change = users::UserChange {
        display_name: Some(display_name),
        role: Some(parse_role(&role)?),
        markets: Some(parse_markets(&markets)?),
        disabled: Some(disabled),
        password,
        time_zone,
        languages: languages.as_deref().map(parse_languages).transpose()?,
    };
    let user = users::update(
        &state.db,
        &Actor::User(admin.email.clone()),
        Some(admin.id),
        id,
        change,
    )
    .await
    .map_err(AppError::from)?;
    if changes_password {
        // Whoever knew the old password is logged out everywhere; the admin making the
        // change keeps this session even when the account is their own.
        let session: tower_sessions::Session = leptos_axum::extract().await.map_err(internal)?;
        let current = session.id().map(|id| id.to_string());
        sessions::end_for_user(&state.db, id, current.as_deref())
            .await
            .map_err(internal)?;
    }
    Ok(to_summary(user))
}
