//! `amso rule …`: moderation rules from the command line, in the JSON form the API takes.

use super::common::CliError;
use amso_core::access::audit::Actor;
use amso_core::access::users;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
use amso_core::rules::{backtest, retro, spec, store};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

/// The `rule` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RuleCommand {
    /// Store a new rule (the JSON rule form) as a draft; prints its id.
    Create {
        #[arg(long)]
        file: PathBuf,
        /// The ops head or admin writing it (default: `cli`).
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Store a new version of a rule; the rule goes back to draft.
    Edit {
        id: i64,
        #[arg(long)]
        file: PathBuf,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// List every rule.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One rule with its versions and last backtest.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Run the rule's current version over the ads decided in the last N days and keep the
    /// result with the version.
    Backtest {
        id: i64,
        #[arg(long, default_value_t = 28)]
        days: u32,
        #[arg(long)]
        json: bool,
    },
    /// Sweep up: run a live rule over the ads auto-approved in the last N days and reopen
    /// what it matches into review (never the same ad twice); --dry-run only counts;
    /// --reject asks for a reject rule's matches to be rejected instead (a second person
    /// approves with `amso rule retro-decide`).
    Retro {
        id: i64,
        #[arg(long, default_value_t = 7)]
        days: u32,
        #[arg(long)]
        dry_run: bool,
        #[arg(long, conflicts_with = "dry_run")]
        reject: bool,
        #[arg(long = "as")]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Approve (a person other than the asker) or refuse a request to reject retroactively.
    RetroDecide {
        /// The request's number.
        request: i64,
        /// approve or refuse.
        decision: String,
        #[arg(long = "as")]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Move a rule along its life: background, request-live, approve, archive. Approving
    /// takes a person other than the one who asked.
    Step {
        id: i64,
        /// background, request-live, approve or archive.
        step: String,
        /// The ops head or admin taking the step (required to approve).
        #[arg(long = "as")]
        actor: Option<String>,
    },
}

/// Who is acting: a named ops head or admin, or the command line itself.
pub(crate) async fn actor(db: &Db, email: Option<&str>) -> Result<Actor, CliError> {
    let Some(email) = email else {
        return Ok(Actor::Cli);
    };
    let email = users::normalize_email(email)?;
    let user = users::list(db)
        .await?
        .into_iter()
        .find(|u| u.email == email && !u.disabled)
        .ok_or_else(|| format!("no enabled user {email}"))?;
    if !user.role.writes_rules() {
        return Err(format!(
            "{email} is a {}: only ops heads and admins change rules",
            user.role.label()
        )
        .into());
    }
    Ok(Actor::User(email))
}

fn read_spec(path: &PathBuf) -> Result<spec::RuleSpec, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(spec::parse(&text)?)
}

/// Runs a `rule` subcommand.
pub async fn run(db: &Db, command: RuleCommand) -> Result<(), CliError> {
    let now = now_millis();
    match command {
        RuleCommand::Create { file, actor: who } => {
            let spec = read_spec(&file)?;
            let actor = actor(db, who.as_deref()).await?;
            let id = store::create(db, &spec, &actor, now).await?;
            println!("{id}");
        }
        RuleCommand::Edit {
            id,
            file,
            actor: who,
        } => {
            let spec = read_spec(&file)?;
            let actor = actor(db, who.as_deref()).await?;
            let version = store::edit(db, id, &spec, &actor, now).await?;
            println!("rule {id} is now at version {version} (draft)");
        }
        RuleCommand::List { json } => {
            let rules = store::list(db, now).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rules)?);
            } else {
                for r in rules {
                    println!(
                        "{:>5}  {:<12}  v{:<3} {:<7} {:>7} hits/24h  {}",
                        r.id,
                        r.state.as_str(),
                        r.version,
                        r.action,
                        r.hits_24h,
                        r.name
                    );
                }
            }
        }
        RuleCommand::Show { id, json } => {
            let rule = store::get(db, id, now)
                .await?
                .ok_or_else(|| format!("no rule {id}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rule)?);
            } else {
                println!(
                    "rule {} \"{}\": {}, version {}, owner {}",
                    rule.rule.id,
                    rule.rule.name,
                    rule.rule.state.as_str(),
                    rule.rule.version,
                    rule.rule.owner
                );
                println!("{}", serde_json::to_string_pretty(&rule.spec)?);
            }
        }
        RuleCommand::Backtest { id, days, json } => {
            let cancel = AtomicBool::new(false);
            let progress = |share: f64| {
                eprint!("\rbacktest {:>3.0}%", share * 100.0);
                let _ = std::io::stderr().flush();
            };
            let result = backtest::run_and_keep(db, id, days, now, &progress, &cancel)
                .await?
                .ok_or_else(|| format!("no rule {id}"))?;
            eprintln!();
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                let precision = result
                    .precision
                    .map_or("too few labelled hits".into(), |p| {
                        format!(
                            "{:.1}% (95% {:.1}–{:.1}%, n {:.0})",
                            p.value * 100.0,
                            p.low * 100.0,
                            p.high * 100.0,
                            p.n
                        )
                    });
                println!(
                    "{} hits in {} ads over {} days; precision {precision}; {} new catches ({} of {} labelled found violating); {:.2} s",
                    result.hits,
                    result.ads_scanned,
                    result.days,
                    result.new_catches,
                    result.new_catches_violating,
                    result.new_catches_labelled,
                    result.elapsed_ms as f64 / 1000.0
                );
            }
        }
        RuleCommand::Retro {
            id,
            days,
            dry_run,
            reject,
            actor: who,
            json,
        } => {
            let actor = actor(db, who.as_deref()).await?;
            if reject {
                let q = retro::request_reject(db, id, days, &actor, now).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&q)?);
                } else {
                    println!(
                        "request {} asks to reject {} ads rule {id} matches (auto-approved in the last {days} days) for {}; a second person approves: amso rule retro-decide {} approve --as EMAIL",
                        q.id,
                        q.matched,
                        q.categories.join(", "),
                        q.id
                    );
                }
                return Ok(());
            }
            let r = retro::run(db, id, days, dry_run, &actor, now).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else if dry_run {
                println!(
                    "rule {id} matches {} auto-approved ads of the last {days} days ({} reopened before); nothing changed",
                    r.matched, r.already
                );
            } else {
                println!(
                    "rule {id} reopened {} ads into the {} queue ({} matched, {} reopened before)",
                    r.reopened, r.queue, r.matched, r.already
                );
            }
        }
        RuleCommand::RetroDecide {
            request,
            decision,
            actor: who,
            json,
        } => {
            let approve = match decision.as_str() {
                "approve" if who.is_none() => {
                    return Err("approving a rejection takes a person: pass --as EMAIL".into());
                }
                "approve" => true,
                "refuse" => false,
                _ => return Err("decisions: approve, refuse".into()),
            };
            let actor = actor(db, who.as_deref()).await?;
            let q = retro::decide(db, request, approve, &actor, now).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&q)?);
            } else if approve {
                println!(
                    "request {request}: rejected {} ads",
                    q.rejected.unwrap_or(0)
                );
            } else {
                println!("request {request} refused");
            }
        }
        RuleCommand::Step {
            id,
            step,
            actor: who,
        } => {
            let step = store::Step::parse(&step)
                .ok_or("steps: background, request-live, approve, archive")?;
            if step == store::Step::Approve && who.is_none() {
                return Err("approving a rule live takes a person: pass --as EMAIL".into());
            }
            let actor = actor(db, who.as_deref()).await?;
            let state = store::step(db, id, step, &actor, now).await?;
            println!("rule {id} is now {}", state.as_str());
        }
    }
    Ok(())
}
