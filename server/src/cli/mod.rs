//! The `amso` command line: one file per command family, each with its options next to its
//! handler; this file only parses and dispatches.

pub mod apikeys;
pub mod bench;
pub mod common;
pub mod data;
pub mod estimates;
pub mod golden;
pub mod model;
pub mod radar;
pub mod registry;
pub mod report;
pub mod rules;
pub mod serve;
pub mod users;

use amso_core::platform::config::Config;
use amso_core::platform::db::redact;
use clap::{Parser, Subcommand};
use common::{CliError, connect};

/// AMSO: auto-moderation operations console.
#[derive(Debug, Parser)]
#[command(name = "amso", version, about = "AMSO: auto-moderation operations console", long_about = None)]
pub struct Cli {
    /// What to do; without a subcommand, `serve`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve the UI and API until SIGTERM or Ctrl-C.
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create the demo accounts and write a demo history into an empty database (ads decided
    /// and reviewed over past days); with --export, write the labelled corpus as JSONL instead.
    Seed(data::SeedArgs),
    /// Train a classifier on labelled JSONL; writes OUT/model.onnx and OUT/card.json.
    Train(model::TrainArgs),
    /// Score labelled JSONL with a model through ONNX Runtime and print quality as JSON.
    Eval(model::EvalArgs),
    /// Write every final human verdict as a labelled training row (JSONL, as `amso train` reads).
    ExportLabels(data::ExportLabelsArgs),
    /// Queue the ads of a JSONL file for moderation (bad rows are reported by line).
    Import {
        /// The JSONL file.
        file: std::path::PathBuf,
    },
    /// Write the weekly report of an ISO week (default: the last complete one) as PDF, XLSX
    /// or CSV.
    Report(report::ReportArgs),
    /// Measure throughput and latency on this machine; prints JSON.
    Bench(bench::BenchArgs),
    /// Check the quality and cost estimators: coverage of their 95% intervals over repeated
    /// audit draws of a simulated history with every label known, and how much narrower the
    /// model-assisted intervals are on this database's history; prints JSON.
    EvalEstimators(estimates::EvalEstimatorsArgs),
    /// Refit the calibration maps of every model version on its last 28 days of audited
    /// verdicts (the server does this daily).
    Calibrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: users::UserCommand,
    },
    /// The emerging-risk radar: terms, landing domains and advertisers rising most in a
    /// market, ranked by harm (runs a check first).
    Radar(radar::RadarArgs),
    /// Moderation rules: create, edit, list, show, backtest, and move along their life.
    Rule {
        #[command(subcommand)]
        command: rules::RuleCommand,
    },
    /// The model registry: list, show, import, export, and which version was champion when.
    Model {
        #[command(subcommand)]
        command: registry::ModelCommand,
    },
    /// Golden items: decided ads with a set right answer, handed to reviewers now and then to
    /// measure their accuracy.
    Golden {
        #[command(subcommand)]
        command: golden::GoldenCommand,
    },
    /// Manage API keys.
    Apikey {
        #[command(subcommand)]
        command: apikeys::ApikeyCommand,
    },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let config = Config::from_env()?;
    let command = cli.command.unwrap_or_else(|| {
        Command::Serve(serve::ServeArgs {
            demo: std::env::var("AMSO_DEMO")
                .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes")),
        })
    });
    match command {
        Command::Serve(args) => serve::serve(config, args).await,
        Command::Migrate => {
            let db = connect(&config).await?;
            println!("migrations applied to {}", redact(&config.database_url));
            db.close().await;
            Ok(())
        }
        Command::Seed(args) => data::seed(&config, &args).await,
        Command::Report(args) => report::run(&config, &args).await,
        Command::Train(args) => model::train(&args),
        Command::Bench(args) => bench::run(&args, &config).await,
        Command::Eval(args) => model::eval(&args),
        Command::EvalEstimators(args) => estimates::eval_estimators(&config, &args).await,
        Command::Calibrate => estimates::calibrate(&config).await,
        Command::ExportLabels(args) => {
            let db = connect(&config).await?;
            let result = data::export_labels(&db, &args).await;
            db.close().await;
            result
        }
        Command::Import { file } => {
            let db = connect(&config).await?;
            let result = data::import(&db, &file).await;
            db.close().await;
            result
        }
        Command::Radar(args) => {
            let db = connect(&config).await?;
            let result = radar::run(&db, &args).await;
            db.close().await;
            result
        }
        Command::Rule { command } => {
            let db = connect(&config).await?;
            let result = rules::run(&db, command).await;
            db.close().await;
            result
        }
        Command::Model { command } => {
            let db = connect(&config).await?;
            let result = registry::run(&db, command).await;
            db.close().await;
            result
        }
        Command::Golden { command } => {
            let db = connect(&config).await?;
            let result = golden::run(&db, command).await;
            db.close().await;
            result
        }
        Command::Apikey { command } => {
            let db = connect(&config).await?;
            let result = apikeys::run(&db, command).await;
            db.close().await;
            result
        }
        Command::User { command } => {
            let db = connect(&config).await?;
            let result = users::run(&db, command).await;
            db.close().await;
            result
        }
    }
}
