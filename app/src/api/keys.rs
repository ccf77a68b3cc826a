//! Server functions for the API keys page (admins): list, create (the secret is shown
//! once), revoke. Every change is audited.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, internal, require_area},
    amso_core::{access::apikeys, access::audit::Actor, vocab::role::Area},
};

/// One key on the page (never its secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub prefix: String,
    pub created: String,
    pub created_by: String,
    pub revoked: Option<String>,
}

/// A new key and its secret, shown once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewKey {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub secret: String,
}

/// Every API key, live ones first.
#[server(prefix = "/rpc", endpoint = "list_api_keys")]
pub async fn list_api_keys() -> Result<Vec<KeyRow>, AppError> {
    require_area(Area::ApiKeys)?;
    let state = app_state()?;
    Ok(apikeys::list(&state.db)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|k| KeyRow {
            id: k.id,
            name: k.name,
            scope: k.scope,
            prefix: k.prefix,
            created: amso_core::platform::time::to_rfc3339(k.created_at),
            created_by: k.created_by,
            revoked: k.revoked_at.map(amso_core::platform::time::to_rfc3339),
        })
        .collect())
}

/// Creates a key with a scope (`ingest`, `kpis` or `rules`); the answer holds its secret, once.
#[server(prefix = "/rpc", endpoint = "create_api_key")]
pub async fn create_api_key(name: String, scope: String) -> Result<NewKey, AppError> {
    let user = require_area(Area::ApiKeys)?;
    let state = app_state()?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::new(
            ErrorKind::Invalid,
            "give the key a name of 1 to 100 characters (who uses it, for what)",
        ));
    }
    let scope: apikeys::Scope = scope
        .trim()
        .parse()
        .map_err(|_| AppError::new(ErrorKind::Invalid, "scope must be ingest, kpis or rules"))?;
    let (key, secret) = apikeys::create(&state.db, &Actor::User(user.email), name, scope)
        .await
        .map_err(internal)?;
    Ok(NewKey {
        id: key.id,
        name: key.name,
        scope: key.scope.as_str().to_string(),
        secret,
    })
}

/// Revokes a key: requests with it are refused from now on.
#[server(prefix = "/rpc", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    let user = require_area(Area::ApiKeys)?;
    let state = app_state()?;
    if apikeys::revoke(&state.db, &Actor::User(user.email), id)
        .await
        .map_err(internal)?
    {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorKind::NotFound,
            format!("no live API key with id {id}"),
        ))
    }
}
