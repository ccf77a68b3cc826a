//! `amso golden …`: golden items, the decided ads whose right answer is set, handed to
//! reviewers now and then to measure their accuracy.

use super::common::CliError;
use amso_core::access::audit::Actor;
use amso_core::platform::db::Db;
use amso_core::platform::time::{now_millis, to_rfc3339};
use amso_core::review::golden;
use amso_core::vocab::policy::Category;
use amso_core::vocab::queue::HumanVerdict;
use clap::Subcommand;
use std::path::PathBuf;

/// `amso golden …`
#[derive(Debug, Subcommand)]
pub enum GoldenCommand {
    /// Mark a decided ad golden with its right answer (or change the answer).
    Add {
        /// The ad: its id, or its external id.
        #[arg(long)]
        ad: String,
        /// approve or reject.
        #[arg(long)]
        verdict: String,
        /// With reject: the violated categories, comma-separated (e.g. scam,adult).
        #[arg(long, default_value = "")]
        categories: String,
    },
    /// Mark golden every ad of an `amso export-labels` file (JSONL; `labels` empty: approve).
    /// A bad line is reported with its number; the good ones still load.
    Import { file: PathBuf },
    /// Take an ad out of the golden set (its answers so far stay scored).
    Remove {
        #[arg(long)]
        ad: String,
    },
    /// Every golden item, with how reviewers have done on it.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set the share of each reviewer's items that are golden (0 to 1; default 0.02).
    Rate { rate: f64 },
}

async fn ad_id(db: &Db, ad: &str) -> Result<i64, CliError> {
    let row: Option<(i64,)> = match ad.parse::<i64>() {
        Ok(id) => sqlx::query_as("select id from ads where id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await
            .map_err(|e| e.to_string())?,
        Err(_) => {
            sqlx::query_as("select id from ads where external_id = $1 order by id desc limit 1")
                .bind(ad)
                .fetch_optional(db.pool())
                .await
                .map_err(|e| e.to_string())?
        }
    };
    row.map(|r| r.0)
        .ok_or_else(|| format!("ad: no ad has id or external id `{ad}`").into())
}

/// Runs `amso golden …`.
pub async fn run(db: &Db, command: GoldenCommand) -> Result<(), CliError> {
    let now = now_millis();
    match command {
        GoldenCommand::Add {
            ad,
            verdict,
            categories,
        } => {
            let verdict = HumanVerdict::parse(verdict.trim())
                .ok_or_else(|| format!("verdict: `{verdict}` is not approve or reject"))?;
            let categories = categories
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| {
                    c.parse::<Category>()
                        .map_err(|_| format!("categories: `{c}` is not a policy category"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let id = ad_id(db, &ad).await?;
            golden::mark(db, &Actor::Cli, id, verdict, &categories, now)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "ad {id} is golden: {}{}",
                verdict.as_str(),
                if categories.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({})",
                        categories
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            );
        }
        GoldenCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let (marked, refused) = golden::import_labels(db, &Actor::Cli, &text, now)
                .await
                .map_err(|e| e.to_string())?;
            for (line, why) in &refused {
                eprintln!("line {line}: {why}");
            }
            println!(
                "marked {marked} golden item(s) from {} ({} line(s) refused)",
                file.display(),
                refused.len()
            );
        }
        GoldenCommand::Remove { ad } => {
            let id = ad_id(db, &ad).await?;
            golden::unmark(db, &Actor::Cli, id, now)
                .await
                .map_err(|e| e.to_string())?;
            println!("ad {id} is no longer golden");
        }
        GoldenCommand::List { json } => {
            let items = golden::list(db).await.map_err(|e| e.to_string())?;
            if json {
                let rows: Vec<serde_json::Value> = items
                    .iter()
                    .map(|g| {
                        serde_json::json!({
                            "ad_id": g.ad_id,
                            "external_id": g.external_id,
                            "market": g.market,
                            "queue": g.queue,
                            "verdict": g.verdict.as_str(),
                            "categories": g.categories,
                            "marked_by": g.marked_by,
                            "marked_at": to_rfc3339(g.marked_at),
                            "answered": g.answered,
                            "correct": g.correct,
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).unwrap_or_default()
                );
            } else {
                for g in &items {
                    println!(
                        "{:>8}  {}  {:<7} {:<24} {}/{} right  {}",
                        g.ad_id,
                        g.market,
                        g.verdict.as_str(),
                        g.categories
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        g.correct,
                        g.answered,
                        g.headline.chars().take(50).collect::<String>()
                    );
                }
                println!("{} golden item(s)", items.len());
            }
        }
        GoldenCommand::Rate { rate } => {
            golden::set_rate(db, &Actor::Cli, rate, now)
                .await
                .map_err(|e| e.to_string())?;
            println!("a share of {rate} of each reviewer's items will be golden");
        }
    }
    Ok(())
}
