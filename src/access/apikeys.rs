//! API keys for ingest systems and KPI readers: shown once, stored as SHA-256 hashes,
//! revocable, every change audited.

use crate::access::audit::{self, Actor, NewEntry};
use crate::platform::db::Db;
use crate::platform::time::now_millis;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Submit ads, read their status, file appeals.
    Ingest,
    /// Read KPIs and reports.
    Kpis,
    /// Manage moderation rules and read the radar (ops tooling).
    Rules,
}

impl Scope {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Kpis => "kpis",
            Scope::Rules => "rules",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "ingest" => Ok(Scope::Ingest),
            "kpis" => Ok(Scope::Kpis),
            "rules" => Ok(Scope::Rules),
            other => Err(format!(
                "unknown scope `{other}` (known: ingest, kpis, rules)"
            )),
        }
    }
}

/// A stored key (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
}

impl ApiKey {
    /// The `source` recorded on ads this key submits.
    pub fn source(&self) -> String {
        format!("apikey:{}", self.id)
    }
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a key; returns it with its secret, which is not stored and cannot be shown again.
pub async fn create(
    db: &Db,
    actor: &Actor,
    name: &str,
    scope: Scope,
) -> sqlx::Result<(ApiKey, String)> {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("amso_{}", hex::encode(bytes));
    let prefix = secret[..13].to_string();
    let name = name.trim().to_string();
    let mut tx = db.begin_write().await?;
    let (id,): (i64,) = sqlx::query_as(
        "insert into api_keys (name, scope, key_hash, prefix, created_at, created_by) \
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(&name)
    .bind(scope.as_str())
    .bind(hash(&secret))
    .bind(&prefix)
    .bind(now_millis())
    .bind(actor.as_text())
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        NewEntry {
            actor,
            action: "apikey.create",
            object: format!("apikey:{id}"),
            before: None,
            after: Some(
                serde_json::json!({ "name": name, "scope": scope.as_str(), "prefix": prefix }),
            ),
            ip: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        ApiKey {
            id,
            name,
            scope,
            prefix,
        },
        secret,
    ))
}

/// The live (not revoked) key with this secret.
pub async fn authenticate(db: &Db, secret: &str) -> sqlx::Result<Option<ApiKey>> {
    let row: Option<(i64, String, String, String)> = sqlx::query_as(
        "select id, name, scope, prefix from api_keys where key_hash = $1 and revoked_at is null",
    )
    .bind(hash(secret.trim()))
    .fetch_optional(db.pool())
    .await?;
    Ok(row.and_then(|(id, name, scope, prefix)| {
        Some(ApiKey {
            id,
            name,
            scope: scope.parse().ok()?,
            prefix,
        })
    }))
}

/// Revokes a key; returns whether a live key was revoked.
pub async fn revoke(db: &Db, actor: &Actor, id: i64) -> sqlx::Result<bool> {
    let mut tx = db.begin_write().await?;
    let n = sqlx::query("update api_keys set revoked_at = $1 where id = $2 and revoked_at is null")
        .bind(now_millis())
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 1 {
        audit::record(
            &mut *tx,
            NewEntry {
                actor,
                action: "apikey.revoke",
                object: format!("apikey:{id}"),
                before: None,
                after: None,
                ip: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n == 1)
}

/// A key as the admin page lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyListing {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub prefix: String,
    pub created_at: crate::platform::time::Millis,
    pub created_by: String,
    pub revoked_at: Option<crate::platform::time::Millis>,
}

/// Every key, live ones first, newest first.
pub async fn list(db: &Db) -> sqlx::Result<Vec<KeyListing>> {
    type Row = (i64, String, String, String, i64, String, Option<i64>);
    let rows: Vec<Row> = sqlx::query_as(
        "select id, name, scope, prefix, created_at, created_by, revoked_at from api_keys \
         order by case when revoked_at is null then 0 else 1 end, id desc",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, scope, prefix, created_at, created_by, revoked_at)| KeyListing {
                id,
                name,
                scope,
                prefix,
                created_at,
                created_by,
                revoked_at,
            },
        )
        .collect())
}
