//! `amso bench`: throughput and latency on this machine, printed as JSON. One file per family
//! of scenarios: the engine's, the review desk's, the dashboards' and the report's.

pub mod dashboards;
pub mod engine;
pub mod fixtures;
pub mod measure;
pub mod models;
pub mod reliability;
pub mod review;
pub mod rules;

use crate::cli::common::CliError;
use amso_core::engine::commit;
use amso_core::platform::config::Config;
use fixtures::{bench_db, corpus};
use serde_json::{Value, json};
use std::path::PathBuf;

/// Options of `amso bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Comma-separated scenarios: scoring, e2e, api, python, review, dashboards, report,
    /// rules (evaluation per ad, throughput with 200 live rules against none), backtest (one
    /// rule over --decisions of history, and the radar's check and page), challenger
    /// (throughput with a challenger in shadow against the champion alone), train (a
    /// candidate on --train-rows labelled ads),
    /// reliability (servers killed and restarted, several at once), load (reviewers, ingest
    /// and live dashboards together). The last two start `amso serve` processes.
    #[arg(
        long,
        default_value = "scoring,e2e,api,python,review,dashboards,report"
    )]
    pub scenarios: String,
    /// Review items queued for the review scenario.
    #[arg(long, default_value_t = 100_000)]
    pub review_items: usize,
    /// Concurrent reviewers in the review scenario.
    #[arg(long, default_value_t = 50)]
    pub reviewers: usize,
    /// Items each reviewer claims and submits in the review scenario.
    #[arg(long, default_value_t = 40)]
    pub per_reviewer: usize,
    /// Ads per throughput scenario.
    #[arg(long, default_value_t = 20_000)]
    pub ads: usize,
    /// Database for the e2e and api scenarios (default: a fresh SQLite file in a temp dir);
    /// give a postgres:// URL of an empty database to measure PostgreSQL.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Decisions written for the dashboards scenario.
    #[arg(long, default_value_t = 1_000_000)]
    pub decisions: usize,
    /// Times each dashboard query is run.
    #[arg(long, default_value_t = 30)]
    pub rounds: usize,
    /// Workers deciding at once in the e2e scenario (each claims its own batches, as
    /// `AMSO_WORKERS` workers of `amso serve` do).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Single-ad requests in the api scenario.
    #[arg(long, default_value_t = 300)]
    pub requests: usize,
    /// Reviewers in the load scenario (each claims and submits an item a second).
    #[arg(long, default_value_t = 100)]
    pub load_reviewers: usize,
    /// Ads a second sent over HTTP in the load scenario.
    #[arg(long, default_value_t = 2000)]
    pub load_rate: usize,
    /// How long the load scenario runs, in seconds.
    #[arg(long, default_value_t = 60)]
    pub load_seconds: u64,
    /// Labelled ads the train scenario trains on.
    #[arg(long, default_value_t = 200_000)]
    pub train_rows: usize,
    /// Epochs of the train scenario (the trainer's default).
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Shell command that stops the database server (the reliability scenario's restart
    /// phase, with --pg-start-cmd).
    #[arg(long)]
    pub pg_stop_cmd: Option<String>,
    /// Shell command that starts the database server again.
    #[arg(long)]
    pub pg_start_cmd: Option<String>,
}

/// Runs the chosen scenarios and prints one JSON object.
pub async fn run(args: &BenchArgs, config: &Config) -> Result<(), CliError> {
    let model_path = PathBuf::from(&config.model_path);
    let mut out = serde_json::Map::new();
    out.insert(
        "machine".into(),
        json!({ "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) }),
    );
    out.insert("model".into(), json!(config.model_path));
    let scenarios: Vec<&str> = args.scenarios.split(',').map(str::trim).collect();
    let ads = corpus(args.ads);
    let tmp = std::env::temp_dir().join(format!("amso-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    if scenarios.contains(&"scoring") {
        eprintln!("scoring: featurize + ONNX Runtime, one thread, batches of 256 …");
        out.insert("scoring".into(), engine::scoring(&model_path, &ads)?);
    }
    if scenarios.contains(&"e2e") {
        eprintln!("e2e: queued in the database → decision committed …");
        out.insert(
            "e2e".into(),
            engine::e2e(
                &model_path,
                &ads,
                args.workers,
                args.database_url.as_deref(),
                &tmp,
            )
            .await?,
        );
    }
    if scenarios.contains(&"api") {
        eprintln!("api: single ads through HTTP to their decision …");
        out.insert(
            "api".into(),
            engine::api(
                config,
                &ads,
                args.requests,
                args.database_url.as_deref(),
                &tmp,
            )
            .await?,
        );
    }
    if scenarios.contains(&"rules") {
        eprintln!(
            "rules: 200 rules compiled, evaluated on every ad, then decisions with and without them …"
        );
        out.insert(
            "rules".into(),
            rules::rules(
                &model_path,
                &ads,
                args.workers,
                args.database_url.as_deref(),
                &tmp,
            )
            .await?,
        );
    }
    if scenarios.contains(&"challenger") {
        out.insert(
            "challenger".into(),
            models::challenger(
                &model_path,
                &ads,
                args.workers,
                args.database_url.as_deref(),
                &tmp,
            )
            .await?,
        );
    }
    if scenarios.contains(&"train") {
        eprintln!("train: a candidate on {} labelled ads …", args.train_rows);
        out.insert("train".into(), models::train(args.train_rows, args.epochs)?);
    }
    if scenarios.contains(&"backtest") {
        out.insert(
            "backtest".into(),
            rules::backtest_scenario(
                args.decisions,
                args.rounds,
                args.database_url.as_deref(),
                &tmp,
            )
            .await?,
        );
    }
    if scenarios.contains(&"review") {
        eprintln!(
            "review: {} reviewers claiming and submitting against {} queued items …",
            args.reviewers, args.review_items
        );
        out.insert(
            "review".into(),
            review::review(args, args.database_url.as_deref(), &tmp).await?,
        );
    }
    if scenarios.contains(&"dashboards") {
        // A database that already holds decisions (--database-url) is measured as it is, so
        // the queries can be timed again without writing the history again.
        let (db, shown) = bench_db(args.database_url.as_deref(), &tmp, "dashboards").await?;
        let existing = commit::count(&db).await?;
        let write_secs = if existing == 0 {
            eprintln!(
                "dashboards: {} decisions of history, then every dashboard query …",
                args.decisions
            );
            dashboards::write_history(&db, args.decisions, 5).await?
        } else {
            eprintln!("dashboards: every dashboard query over the {existing} decisions there …");
            0.0
        };
        let queries = dashboards::time_queries(&db, args.rounds).await?;
        let live = dashboards::live_latency(&db, config, 20).await?;
        out.insert(
            "dashboards".into(),
            json!({
                "database": shown,
                "decisions": if existing == 0 { args.decisions as i64 } else { existing },
                "history_written_seconds": write_secs,
                "queries": queries,
                "live_update_commit_to_event": live,
            }),
        );
    }
    if scenarios.contains(&"report") {
        // On a database that already holds decisions (--database-url), the report reads
        // those; otherwise --decisions of history are written first.
        let (db, shown) = bench_db(args.database_url.as_deref(), &tmp, "report").await?;
        let existing = commit::count(&db).await?;
        let written = if existing == 0 {
            eprintln!("report: writing {} decisions of history …", args.decisions);
            dashboards::write_history(&db, args.decisions, 7).await?;
            args.decisions as i64
        } else {
            existing
        };
        eprintln!("report: the last complete week, read and rendered in every format …");
        let timed = dashboards::time_report(&db, args.rounds).await?;
        out.insert(
            "report".into(),
            json!({ "database": shown, "decisions": written, "timings": timed }),
        );
    }
    if scenarios.contains(&"reliability") {
        out.insert(
            "reliability".into(),
            reliability::reliability(args, config, args.database_url.as_deref(), &tmp).await?,
        );
    }
    if scenarios.contains(&"load") {
        out.insert(
            "load".into(),
            reliability::load(
                config,
                args.database_url.as_deref(),
                &tmp,
                args.load_reviewers,
                args.load_rate,
                std::time::Duration::from_secs(args.load_seconds),
            )
            .await?,
        );
    }
    if scenarios.contains(&"python") {
        eprintln!("python: plain Python featurizer + official onnxruntime …");
        out.insert("python".into(), engine::python(&model_path, &ads, &tmp)?);
        if let (Some(r), Some(p)) = (
            out.get("scoring")
                .and_then(|s| s["ads_per_second"].as_f64()),
            out.get("python").and_then(|s| s["ads_per_second"].as_f64()),
        ) {
            out.insert("scoring_vs_python".into(), json!(r / p));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!("{}", serde_json::to_string_pretty(&Value::Object(out))?);
    Ok(())
}
