//! `amso model …`: the model registry from the command line.

use super::common::CliError;
use amso_core::access::audit::Actor;
use amso_core::engine::model::promotion;
use amso_core::engine::model::registry::{self, Source};
use amso_core::platform::db::Db;
use amso_core::platform::time::{now_millis, to_rfc3339};
use amso_core::vocab::market::Market;
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
    /// Train a candidate from the final human verdicts reviewed since a date (the most recent
    /// labelled week held out), register it and print its version.
    Train {
        /// The first day of verdicts (YYYY-MM-DD; default: 28 days ago).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        /// Add the shipped demo corpus (20,000 labelled ads) to the training rows.
        #[arg(long)]
        with_corpus: bool,
        #[arg(long, default_value_t = 10)]
        epochs: usize,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Run a version in shadow: it scores every new ad beside the champion, never deciding.
    Shadow {
        version: String,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Ask for a version to become champion in some markets (a canary) or all, with thresholds
    /// re-fitted to its scores; prints the preview. A second person approves.
    Promote {
        version: String,
        /// Comma-separated market codes (default: every market).
        #[arg(long, value_delimiter = ',')]
        markets: Vec<String>,
        #[arg(long = "as")]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Approve (a person other than the asker) or refuse a pending promotion.
    Decide {
        promotion: i64,
        /// approve or refuse.
        decision: String,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Put back the champions and thresholds from before the latest promotion.
    Rollback {
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// The latest promotions.
    Promotions {
        #[arg(long)]
        json: bool,
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
        ModelCommand::Train {
            since,
            with_corpus,
            epochs,
            actor: who,
        } => {
            let actor = super::rules::actor(db, who.as_deref()).await?;
            let since_ms = since
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc().timestamp_millis())
                .unwrap_or(now - 28 * 86_400_000);
            let id = amso_core::engine::model::retrain::claim(db, &actor, now).await?;
            let version = amso_core::engine::model::retrain::run(
                db,
                id,
                since_ms,
                with_corpus,
                epochs,
                &actor,
                |line| eprintln!("{line}"),
            )
            .await?;
            println!("{version}");
        }
        ModelCommand::Shadow {
            version,
            actor: who,
        } => {
            let actor = super::rules::actor(db, who.as_deref()).await?;
            registry::set_role(
                db,
                &version,
                registry::Role::Challenger,
                &[],
                &actor,
                now,
                None,
            )
            .await?;
            println!("{version} now scores every new ad in shadow");
        }
        ModelCommand::Promote {
            version,
            markets,
            actor: who,
            json,
        } => {
            let actor = super::rules::actor(db, who.as_deref()).await?;
            let markets = markets
                .iter()
                .map(|m| m.parse::<Market>())
                .collect::<Result<Vec<_>, _>>()?;
            let p = promotion::request(db, &version, &markets, &actor, now).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                println!(
                    "promotion {} asks for {version} to be champion in {}; a second person approves: amso model decide {} approve --as EMAIL",
                    p.id,
                    if p.markets.is_empty() {
                        "every market".to_string()
                    } else {
                        p.markets.join(", ")
                    },
                    p.id
                );
                for (m, (champion, scored, labelled)) in &p.preview.evidence {
                    println!(
                        "  {m}: now {champion}; {scored} ads scored by both, {labelled} with a human verdict"
                    );
                }
                for c in p.preview.cells.iter().filter(|c| {
                    (c.approve_below - c.new_approve_below).abs() > 1e-9
                        || (c.reject_at - c.new_reject_at).abs() > 1e-9
                }) {
                    println!(
                        "  {} {}: approve below {:.3} → {:.3}, reject at {:.3} → {:.3}",
                        c.market,
                        c.category,
                        c.approve_below,
                        c.new_approve_below,
                        c.reject_at,
                        c.new_reject_at
                    );
                }
            }
        }
        ModelCommand::Decide {
            promotion: id,
            decision,
            actor: who,
        } => {
            let approve = match decision.as_str() {
                "approve" if who.is_none() => {
                    return Err("approving a promotion takes a person: pass --as EMAIL".into());
                }
                "approve" => true,
                "refuse" => false,
                _ => return Err("decisions: approve, refuse".into()),
            };
            let actor = super::rules::actor(db, who.as_deref()).await?;
            let p = promotion::decide(db, id, approve, &actor, now).await?;
            println!("promotion {id} is {}", p.state);
        }
        ModelCommand::Rollback { actor: who } => {
            let actor = super::rules::actor(db, who.as_deref()).await?;
            let p = promotion::rollback(db, &actor, now).await?;
            println!(
                "rolled back promotion {} of {}: {}",
                p.id,
                p.version,
                p.previous
                    .iter()
                    .map(|(m, v)| format!("{m} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        ModelCommand::Promotions { json } => {
            let list = promotion::list(db, 50).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for p in list {
                    println!(
                        "{}  {}  {}  {}  asked by {} at {}",
                        p.id,
                        p.version,
                        if p.markets.is_empty() {
                            "every market".to_string()
                        } else {
                            p.markets.join(",")
                        },
                        p.state,
                        p.requested_by,
                        to_rfc3339(p.requested_at)
                    );
                }
            }
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
