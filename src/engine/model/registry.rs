//! The model registry: every model version in the database with its ONNX bytes (so every
//! `amso serve` on one database has them), a checksum and its card, and the events that gave
//! versions their roles — candidate, challenger (shadow), champion (per market, or every
//! market), retired — so which version was champion in which market at any past instant is
//! answerable.
//!
//! A version's role now is its latest event. The champion of a market at instant T is the
//! latest champion event at or before T that names that market or every market.

use super::card::ModelCard;
use super::runtime::{OnnxModel, RuntimeError};
use crate::access::audit::{self, Actor, NewEntry};
use crate::platform::db::Db;
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Largest model accepted (the shipped one is about 8 MiB).
pub const MAX_MODEL_BYTES: usize = 256 << 20;

/// A version's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Candidate,
    Challenger,
    Champion,
    Retired,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Candidate => "candidate",
            Role::Challenger => "challenger",
            Role::Champion => "champion",
            Role::Retired => "retired",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [
            Role::Candidate,
            Role::Challenger,
            Role::Champion,
            Role::Retired,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// Where a version came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The model shipped in `models/default/`, registered at first start.
    Shipped,
    /// `amso model import`.
    Import,
    /// Trained from human verdicts.
    Train,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Shipped => "shipped",
            Source::Import => "import",
            Source::Train => "train",
        }
    }
}

/// A version as listed (without its bytes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionRow {
    pub version: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub source: String,
    pub created_by: String,
    pub created_at: Millis,
    /// The latest role event's role (None: never given one).
    pub role: Option<Role>,
    /// The markets it is champion of now (every market's code when champion everywhere).
    pub champion_of: Vec<String>,
    /// The card, as stored (JSON).
    pub card: Option<serde_json::Value>,
}

/// One role change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    pub version: String,
    pub role: Role,
    /// None: every market.
    pub market: Option<String>,
    pub at: Millis,
    pub actor: String,
    pub note: Option<String>,
}

/// Why a model was not registered or a role not given; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Model(#[from] RuntimeError),
    #[error("the card does not parse: {0}")]
    Card(String),
    #[error("the card is for {card} but the model says it is {model}")]
    CardMismatch { card: String, model: String },
    #[error("version {0} is registered already with other bytes; give the new model a new version")]
    Clash(String),
    #[error("the model is {0} bytes; the most accepted is {MAX_MODEL_BYTES}")]
    TooLarge(usize),
    #[error("no model version {0}")]
    NotFound(String),
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn checksum(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks `bytes` is an AMSO classifier and `card` (JSON, optional) parses and names the same
/// version; answers the model's version. Loads the model in ONNX Runtime to be sure.
pub fn check(
    bytes: &[u8],
    card: Option<&str>,
    label: &Path,
) -> Result<(String, Option<ModelCard>), RegistryError> {
    if bytes.len() > MAX_MODEL_BYTES {
        return Err(RegistryError::TooLarge(bytes.len()));
    }
    let model = OnnxModel::from_bytes(bytes, label)?;
    let card = match card {
        Some(text) => Some(
            serde_json::from_str::<ModelCard>(text)
                .map_err(|e| RegistryError::Card(e.to_string()))?,
        ),
        None => None,
    };
    if let Some(c) = &card
        && c.model_version != model.version
    {
        return Err(RegistryError::CardMismatch {
            card: c.model_version.clone(),
            model: model.version,
        });
    }
    Ok((model.version, card))
}

/// Registers a model (checked with [`check`]); registering the same bytes again answers the
/// version and changes nothing. A new version starts as a candidate. Audited.
pub async fn register(
    db: &Db,
    bytes: &[u8],
    card: Option<&str>,
    source: Source,
    actor: &Actor,
    now: Millis,
) -> Result<String, RegistryError> {
    let label = Path::new("the model");
    let (version, card) = check(bytes, card, label)?;
    let sum = checksum(bytes);
    let existing: Option<(String,)> =
        sqlx::query_as("select sha256 from model_versions where version = $1")
            .bind(&version)
            .fetch_optional(db.pool())
            .await?;
    if let Some((have,)) = existing {
        return if have == sum {
            Ok(version)
        } else {
            Err(RegistryError::Clash(version))
        };
    }
    let card_json = card
        .as_ref()
        .map(|c| serde_json::to_string(c).unwrap_or_default());
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "insert into model_versions (version, onnx, sha256, size_bytes, card, source, created_by, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&version)
    .bind(bytes)
    .bind(&sum)
    .bind(bytes.len() as i64)
    .bind(card_json)
    .bind(source.as_str())
    .bind(actor.as_text())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    insert_event(&mut tx, &version, Role::Candidate, None, actor, now, None).await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: "model.register",
            object: format!("model:{version}"),
            before: None,
            after: Some(serde_json::json!({
                "version": version, "sha256": sum, "size_bytes": bytes.len(), "source": source.as_str()
            })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(version)
}

pub(crate) async fn insert_event(
    tx: &mut crate::platform::db::WriteTx,
    version: &str,
    role: Role,
    market: Option<&str>,
    actor: &Actor,
    at: Millis,
    note: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into model_events (version, role, market, at, actor, note) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(version)
    .bind(role.as_str())
    .bind(market)
    .bind(at)
    .bind(actor.as_text())
    .bind(note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives `version` a role (for a champion: in `markets`, or every market when empty) from
/// `at`. Audited.
pub async fn set_role(
    db: &Db,
    version: &str,
    role: Role,
    markets: &[Market],
    actor: &Actor,
    at: Millis,
    note: Option<&str>,
) -> Result<(), RegistryError> {
    let known: Option<(String,)> =
        sqlx::query_as("select version from model_versions where version = $1")
            .bind(version)
            .fetch_optional(db.pool())
            .await?;
    if known.is_none() {
        return Err(RegistryError::NotFound(version.to_string()));
    }
    let mut tx = db.begin_write().await?;
    if role == Role::Champion && !markets.is_empty() {
        for m in markets {
            insert_event(&mut tx, version, role, Some(m.code()), actor, at, note).await?;
        }
    } else {
        insert_event(&mut tx, version, role, None, actor, at, note).await?;
    }
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: "model.role",
            object: format!("model:{version}"),
            before: None,
            after: Some(serde_json::json!({
                "role": role.as_str(),
                "markets": markets.iter().map(|m| m.code()).collect::<Vec<_>>(),
                "at": at,
            })),
            ip: None,
        },
        at,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

type EventRow = (
    i64,
    String,
    String,
    Option<String>,
    i64,
    String,
    Option<String>,
);

/// Every role event, oldest first.
pub async fn events(db: &Db) -> sqlx::Result<Vec<Event>> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "select id, version, role, market, at, actor, note from model_events order by at, id",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Event {
                id: r.0,
                version: r.1,
                role: Role::parse(&r.2)?,
                market: r.3,
                at: r.4,
                actor: r.5,
                note: r.6,
            })
        })
        .collect())
}

/// The champion of every market at instant `at` (markets without one are absent).
pub fn champions_at(events: &[Event], at: Millis) -> BTreeMap<Market, String> {
    let mut out = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.at <= at && e.role == Role::Champion)
    {
        match e.market.as_deref().and_then(|m| m.parse::<Market>().ok()) {
            Some(m) => {
                out.insert(m, e.version.clone());
            }
            None if e.market.is_none() => {
                for m in Market::ALL {
                    out.insert(m, e.version.clone());
                }
            }
            None => {}
        }
    }
    out
}

/// The champion of every market at `at`, read from the database.
pub async fn history_at(db: &Db, at: Millis) -> sqlx::Result<BTreeMap<Market, String>> {
    Ok(champions_at(&events(db).await?, at))
}

type VersionDbRow = (String, String, i64, String, String, i64, Option<String>);

/// Every version, newest first, with its role and the markets it is champion of now.
pub async fn list(db: &Db, now: Millis) -> sqlx::Result<Vec<VersionRow>> {
    let rows: Vec<VersionDbRow> = sqlx::query_as(
        "select version, sha256, size_bytes, source, created_by, created_at, card \
         from model_versions order by created_at desc, version",
    )
    .fetch_all(db.pool())
    .await?;
    let events = events(db).await?;
    let champions = champions_at(&events, now);
    Ok(rows
        .into_iter()
        .map(|r| {
            let champion_of: Vec<String> = champions
                .iter()
                .filter(|(_, v)| **v == r.0)
                .map(|(m, _)| m.code().to_string())
                .collect();
            // Champion where it decides somewhere now; a champion replaced everywhere is retired.
            let role = if champion_of.is_empty() {
                events
                    .iter()
                    .rfind(|e| e.version == r.0 && e.at <= now)
                    .map(|e| match e.role {
                        Role::Champion => Role::Retired,
                        other => other,
                    })
            } else {
                Some(Role::Champion)
            };
            VersionRow {
                version: r.0,
                sha256: r.1,
                size_bytes: r.2,
                source: r.3,
                created_by: r.4,
                created_at: r.5,
                role,
                champion_of,
                card: r.6.and_then(|c| serde_json::from_str(&c).ok()),
            }
        })
        .collect())
}

/// One version as listed.
pub async fn get(db: &Db, version: &str, now: Millis) -> sqlx::Result<Option<VersionRow>> {
    Ok(list(db, now)
        .await?
        .into_iter()
        .find(|v| v.version == version))
}

/// A version's ONNX bytes.
pub async fn bytes(db: &Db, version: &str) -> Result<Vec<u8>, RegistryError> {
    let row: Option<(Vec<u8>,)> =
        sqlx::query_as("select onnx from model_versions where version = $1")
            .bind(version)
            .fetch_optional(db.pool())
            .await?;
    row.map(|r| r.0)
        .ok_or_else(|| RegistryError::NotFound(version.to_string()))
}

/// Writes `version` to `dir` as `model.onnx` and (when it has one) `card.json`; checks the
/// bytes against the stored checksum first.
pub async fn export(db: &Db, version: &str, dir: &Path, now: Millis) -> Result<(), RegistryError> {
    let row = get(db, version, now)
        .await?
        .ok_or_else(|| RegistryError::NotFound(version.to_string()))?;
    let onnx = bytes(db, version).await?;
    if checksum(&onnx) != row.sha256 {
        return Err(RegistryError::Io(format!(
            "version {version}'s bytes do not match their checksum"
        )));
    }
    let io = |e: std::io::Error| RegistryError::Io(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(dir.join("model.onnx"), &onnx).map_err(io)?;
    if let Some(card) = &row.card {
        let text = serde_json::to_string_pretty(card).unwrap_or_default();
        std::fs::write(dir.join("card.json"), text + "\n").map_err(io)?;
    }
    Ok(())
}

/// Reads a model to import: a `.onnx` file, or a directory with `model.onnx` and, when there,
/// `card.json`.
pub fn read_import(path: &Path) -> Result<(Vec<u8>, Option<String>), RegistryError> {
    let io = |p: &Path, e: std::io::Error| RegistryError::Io(format!("{}: {e}", p.display()));
    let (model, card) = if path.is_dir() {
        (path.join("model.onnx"), Some(path.join("card.json")))
    } else {
        (path.to_path_buf(), None)
    };
    let bytes = std::fs::read(&model).map_err(|e| io(&model, e))?;
    let card = match card {
        Some(c) if c.exists() => Some(std::fs::read_to_string(&c).map_err(|e| io(&c, e))?),
        _ => None,
    };
    Ok((bytes, card))
}

/// At first start: registers the model a server runs (the shipped one, or `AMSO_MODEL_PATH`)
/// and, when no version is champion anywhere, makes it champion of every market from the
/// first decision it made (or now). Answers its version.
pub async fn ensure_running(
    db: &Db,
    model_path: &Path,
    now: Millis,
) -> Result<String, RegistryError> {
    let bytes = std::fs::read(model_path)
        .map_err(|e| RegistryError::Io(format!("{}: {e}", model_path.display())))?;
    let card_path = model_path.with_file_name("card.json");
    let card = std::fs::read_to_string(&card_path).ok();
    let version = register(
        db,
        &bytes,
        card.as_deref(),
        Source::Shipped,
        &Actor::System,
        now,
    )
    .await?;
    let any_champion: Option<(i64,)> =
        sqlx::query_as("select id from model_events where role = 'champion' limit 1")
            .fetch_optional(db.pool())
            .await?;
    if any_champion.is_none() {
        let (first,): (Option<i64>,) =
            sqlx::query_as("select min(decided_at) from decisions where model_version = $1")
                .bind(&version)
                .fetch_one(db.pool())
                .await?;
        set_role(
            db,
            &version,
            Role::Champion,
            &[],
            &Actor::System,
            first.unwrap_or(now).min(now),
            Some("the model this server started with"),
        )
        .await?;
    }
    Ok(version)
}

/// Reads `2026-11-20T10:00Z`, `2026-11-20T10:00:00Z` or any RFC 3339 instant.
pub fn parse_instant(text: &str) -> Result<Millis, String> {
    let t = text.trim();
    chrono::DateTime::parse_from_rfc3339(t)
        .or_else(|_| chrono::DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M%#z"))
        .map(|d| d.timestamp_millis())
        .map_err(|_| format!("{t}: not an instant; write e.g. 2026-11-20T10:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_with_or_without_seconds() {
        let a = parse_instant("2026-11-20T10:00Z").unwrap();
        let b = parse_instant("2026-11-20T10:00:00Z").unwrap();
        assert_eq!(a, b);
        assert!(parse_instant("yesterday").is_err());
    }

    fn event(version: &str, role: Role, market: Option<&str>, at: Millis) -> Event {
        Event {
            id: at,
            version: version.into(),
            role,
            market: market.map(String::from),
            at,
            actor: "t".into(),
            note: None,
        }
    }

    #[test]
    fn the_champion_at_an_instant_follows_every_market_and_canary_events() {
        let events = vec![
            event("v1", Role::Champion, None, 10),
            event("v2", Role::Challenger, None, 20),
            event("v2", Role::Champion, Some("ID"), 30),
            event("v3", Role::Champion, None, 50),
        ];
        assert!(champions_at(&events, 5).is_empty());
        let at = |t| champions_at(&events, t);
        assert_eq!(at(10)[&Market::Id], "v1");
        assert_eq!(at(29)[&Market::Id], "v1", "a challenger is not a champion");
        assert_eq!(at(30)[&Market::Id], "v2");
        assert_eq!(at(30)[&Market::Us], "v1", "the canary holds ID only");
        assert_eq!(at(50)[&Market::Id], "v3");
        assert_eq!(at(50).len(), Market::ALL.len());
    }
}
