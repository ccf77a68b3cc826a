//! `amso model …`: the model registry from the command line.

use super::common::CliError;
use amso_core::access::audit::Actor;
use amso_core::engine::model::registry::{self, Source};
use amso_core::platform::db::Db;
use amso_core::platform::time::{now_millis, to_rfc3339};
use std::path::PathBuf;

/// The `model` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Every registered version, newest first, with its role and the markets it is champion of.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One version with its card.
    Show {
        version: String,
        #[arg(long)]
        json: bool,
    },
    /// Register an outside model: a model.onnx file, or a directory with model.onnx and
    /// card.json. Its inputs, output and metadata are checked in ONNX Runtime first.
    Import { path: PathBuf },
    /// Write a version to a directory as model.onnx and card.json.
    Export {
        version: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Which version was champion in each market at an instant (default: now).
    History {
        /// RFC 3339 instant, e.g. 2026-11-20T10:00Z.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `model` subcommand.
pub async fn run(db: &Db, command: ModelCommand) -> Result<(), CliError> {
    let now = now_millis();
    match command {
        ModelCommand::List { json } => {
            let versions = registry::list(db, now).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&versions)?);
                return Ok(());
            }
            for v in versions {
                let role = v.role.map_or("–", |r| r.as_str());
                let markets = if v.champion_of.is_empty() {
                    String::new()
                } else {
                    format!(" in {}", v.champion_of.join(","))
                };
                println!(
                    "{}  {role}{markets}  {} by {}  {} bytes  sha256 {}…",
                    v.version,
                    to_rfc3339(v.created_at),
                    v.created_by,
                    v.size_bytes,
                    &v.sha256[..12]
                );
            }
        }
        ModelCommand::Show { version, json } => {
            let v = registry::get(db, &version, now)
                .await?
                .ok_or_else(|| format!("no model version {version}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "{}: {} ({} from {}), sha256 {}",
                    v.version,
                    v.role.map_or("no role", |r| r.as_str()),
                    to_rfc3339(v.created_at),
                    v.source,
                    v.sha256
                );
                if !v.champion_of.is_empty() {
                    println!("champion in {}", v.champion_of.join(", "));
                }
                match &v.card {
                    Some(card) => println!("{}", serde_json::to_string_pretty(card)?),
                    None => println!("no card"),
                }
            }
        }
        ModelCommand::Import { path } => {
            let (bytes, card) = registry::read_import(&path)?;
            let version = registry::register(
                db,
                &bytes,
                card.as_deref(),
                Source::Import,
                &Actor::Cli,
                now,
            )
            .await?;
            println!("{version}");
        }
        ModelCommand::Export { version, out } => {
            registry::export(db, &version, &out, now).await?;
            println!("wrote {version} to {}", out.display());
        }
        ModelCommand::History { at, json } => {
            let at = match at {
                Some(t) => registry::parse_instant(&t)?,
                None => now,
            };
            let champions = registry::history_at(db, at).await?;
            if json {
                let markets: serde_json::Map<String, serde_json::Value> = champions
                    .iter()
                    .map(|(m, v)| (m.code().to_string(), serde_json::Value::from(v.clone())))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "at": to_rfc3339(at), "champions": markets })
                    )?
                );
            } else if champions.is_empty() {
                println!("no version was champion anywhere at {}", to_rfc3339(at));
            } else {
                println!("champions at {}:", to_rfc3339(at));
                for (m, v) in champions {
                    println!("  {}  {v}", m.code());
                }
            }
        }
    }
    Ok(())
}
