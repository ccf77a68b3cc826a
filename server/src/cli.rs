//! The `amso` command line.

use crate::session_store::DbSessionStore;
use crate::web::build_router;
use amso_app::ssr::AppState;
use amso_core::access::audit::Actor;
use amso_core::access::users::{self, NewUser};
use amso_core::demo::accounts::{DEMO_LOGINS, ensure_demo_users};
use amso_core::platform::config::Config;
use amso_core::platform::db::{Db, redact};
use amso_core::vocab::market::parse_market_list;
use amso_core::vocab::role::Role;
use clap::{Args, Parser, Subcommand};
use rand::Rng;
use std::io::BufRead;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_sessions::ExpiredDeletion;

/// A boxed error with a message meant for the operator.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

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
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create the demo accounts and write a demo history into an empty database (ads decided
    /// and reviewed over past days); with --export, write the labelled corpus as JSONL instead.
    Seed(SeedArgs),
    /// Train a classifier on labelled JSONL; writes OUT/model.onnx and OUT/card.json.
    Train(TrainArgs),
    /// Score labelled JSONL with a model through ONNX Runtime and print quality as JSON.
    Eval(EvalArgs),
    /// Write every final human verdict as a labelled training row (JSONL, as `amso train` reads).
    ExportLabels(ExportLabelsArgs),
    /// Queue the ads of a JSONL file for moderation (bad rows are reported by line).
    Import {
        /// The JSONL file.
        file: std::path::PathBuf,
    },
    /// Write the weekly report of an ISO week (default: the last complete one) as PDF, XLSX
    /// or CSV.
    Report(ReportArgs),
    /// Measure throughput and latency on this machine; prints JSON.
    Bench(crate::bench::BenchArgs),
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API keys.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
}

/// Options of `amso report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// ISO week, e.g. 2026-W47; default the last complete week in the reporting time zone.
    #[arg(long, default_value = "")]
    pub week: String,
    /// pdf, xlsx or csv.
    #[arg(long, default_value = "pdf")]
    pub format: String,
    /// The file to write.
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// Comma-separated market codes; default every market.
    #[arg(long, default_value = "")]
    pub markets: String,
    /// IANA time zone of the week; default AMSO_REPORT_TIME_ZONE (UTC).
    #[arg(long, default_value = "")]
    pub time_zone: String,
}

/// Options of `amso serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Also create the demo accounts and print their logins (refused in production).
    /// `AMSO_DEMO=1` (or true/yes/on) does the same.
    #[arg(long, env = "AMSO_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,
}

/// Options of `amso seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Number of demo ads to generate.
    #[arg(long, default_value_t = 20_000)]
    pub ads: usize,
    /// Days of history they span, ending now.
    #[arg(long, default_value_t = 28)]
    pub days: u32,
    /// Random seed: the same seed gives the same corpus.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Write the corpus, with labels, to this JSONL file (instead of into the database).
    #[arg(long)]
    pub export: Option<std::path::PathBuf>,
}

/// Options of `amso train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labelled JSONL (rows without `labels` are ignored).
    #[arg(long)]
    pub data: std::path::PathBuf,
    /// Directory for model.onnx and card.json.
    #[arg(long)]
    pub out: std::path::PathBuf,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Embedding width.
    #[arg(long, default_value_t = 16)]
    pub dim: usize,
    /// Hash buckets (embedding rows); a power of two is usual.
    #[arg(long, default_value_t = amso_core::engine::featurize::DEFAULT_BUCKETS)]
    pub buckets: u32,
    #[arg(long, default_value_t = 0.4)]
    pub learning_rate: f32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// Options of `amso eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The model.onnx to evaluate (its card.json, if beside it, supplies the thresholds).
    #[arg(long)]
    pub model: std::path::PathBuf,
    /// Labelled JSONL.
    #[arg(long)]
    pub data: std::path::PathBuf,
}

/// Options of `amso export-labels`.
#[derive(Debug, Args)]
pub struct ExportLabelsArgs {
    /// Only verdicts given on or after this date (YYYY-MM-DD, UTC).
    #[arg(long)]
    pub since: Option<chrono::NaiveDate>,
    /// The JSONL file to write.
    #[arg(long)]
    pub out: std::path::PathBuf,
}

/// `amso user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin a strong password is generated and printed once.
    Add {
        /// Login email.
        #[arg(long)]
        email: String,
        /// reviewer, ops_head, executive or admin.
        #[arg(long)]
        role: Role,
        /// Comma-separated market codes the user carries (required for reviewers), e.g. US,GB.
        #[arg(long, default_value = "")]
        markets: String,
        /// Display name; defaults to the part of the email before the @.
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
}

/// `amso apikey …`
#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create a key; its secret is printed once.
    Create {
        /// What the key is for, e.g. the ingest system's name.
        #[arg(long)]
        name: String,
        /// ingest (submit ads, read their status, appeal) or kpis (read KPIs and reports).
        #[arg(long)]
        scope: amso_core::access::apikeys::Scope,
    },
    /// Revoke a key by id.
    Revoke {
        #[arg(long)]
        id: i64,
    },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let config = Config::from_env()?;
    let command = cli.command.unwrap_or_else(|| {
        Command::Serve(ServeArgs {
            demo: std::env::var("AMSO_DEMO")
                .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes")),
        })
    });
    match command {
        Command::Serve(args) => serve(config, args).await,
        Command::Migrate => {
            let db = connect(&config).await?;
            println!("migrations applied to {}", redact(&config.database_url));
            db.close().await;
            Ok(())
        }
        Command::Seed(args) => {
            refuse_demo_in_production(&config)?;
            if let Some(path) = &args.export {
                return crate::engine_cli::export_corpus(&args, path);
            }
            let db = connect(&config).await?;
            seed_demo_users(&db).await?;
            let (existing,): (i64,) = sqlx::query_as("select count(*) from ads")
                .fetch_one(db.pool())
                .await?;
            let result = if existing > 0 {
                Err(format!(
                    "the database already holds {existing} ads; demo history is only written to an empty one"
                )
                .into())
            } else {
                crate::engine_cli::seed_history(&db, &config, args.ads, args.days, args.seed).await
            };
            db.close().await;
            result
        }
        Command::Report(args) => {
            let db = connect(&config).await?;
            let result = crate::reports::cli(
                &db,
                &config,
                &args.week,
                &args.format,
                &args.markets,
                &args.time_zone,
                &args.out,
            )
            .await;
            db.close().await;
            Ok(result?)
        }
        Command::Train(args) => crate::engine_cli::train(&args),
        Command::Bench(args) => crate::bench::run(&args, &config).await,
        Command::Eval(args) => crate::engine_cli::eval(&args),
        Command::ExportLabels(args) => {
            let db = connect(&config).await?;
            let result = crate::engine_cli::export_labels(&db, &args).await;
            db.close().await;
            result
        }
        Command::Import { file } => {
            let db = connect(&config).await?;
            let result = crate::engine_cli::import(&db, &file).await;
            db.close().await;
            result
        }
        Command::Apikey { command } => {
            let db = connect(&config).await?;
            let result = apikey_command(&db, command).await;
            db.close().await;
            result
        }
        Command::User { command } => {
            let db = connect(&config).await?;
            let result = user_command(&db, command).await;
            db.close().await;
            result
        }
    }
}

/// Connects and migrates: every command works on an up-to-date schema.
async fn connect(config: &Config) -> Result<Db, CliError> {
    let db = Db::connect(&config.database_url, config.db_max_connections).await?;
    db.migrate().await?;
    Ok(db)
}

fn refuse_demo_in_production(config: &Config) -> Result<(), CliError> {
    if config.is_production() {
        return Err("demo accounts are refused when AMSO_ENV=production".into());
    }
    Ok(())
}

async fn seed_demo_users(db: &Db) -> Result<(), CliError> {
    let created = ensure_demo_users(db).await?;
    println!("demo accounts ({created} newly created):");
    for login in &DEMO_LOGINS {
        println!(
            "  {:<10} {:<20} password: {}",
            login.role.label(),
            login.email,
            login.password
        );
    }
    Ok(())
}

async fn user_command(db: &Db, command: UserCommand) -> Result<(), CliError> {
    match command {
        UserCommand::Add {
            email,
            role,
            markets,
            name,
            password_stdin,
        } => {
            let markets = parse_market_list(&markets)?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (generate_password(), true)
            };
            let display_name =
                name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_string());
            let user = users::create(
                db,
                &Actor::Cli,
                NewUser {
                    email,
                    display_name,
                    role,
                    markets,
                    password: password.clone(),
                    demo_credentials: false,
                },
            )
            .await?;
            println!(
                "created user {} ({}) id {}",
                user.email,
                user.role.label(),
                user.id
            );
            if generated {
                println!("password (shown once): {password}");
            }
            Ok(())
        }
        UserCommand::List => {
            for u in users::list(db).await? {
                println!(
                    "{:>4}  {:<32} {:<10} {:<20} {}",
                    u.id,
                    u.email,
                    u.role.as_str(),
                    u.markets
                        .iter()
                        .map(|m| m.code())
                        .collect::<Vec<_>>()
                        .join(","),
                    if u.disabled { "disabled" } else { "active" }
                );
            }
            Ok(())
        }
    }
}

async fn apikey_command(db: &Db, command: ApikeyCommand) -> Result<(), CliError> {
    match command {
        ApikeyCommand::Create { name, scope } => {
            let (key, secret) =
                amso_core::access::apikeys::create(db, &Actor::Cli, &name, scope).await?;
            println!(
                "created API key {} ({}, scope {})",
                key.id,
                key.name,
                key.scope.as_str()
            );
            println!("secret (shown once): {secret}");
        }
        ApikeyCommand::Revoke { id } => {
            if amso_core::access::apikeys::revoke(db, &Actor::Cli, id).await? {
                println!("revoked API key {id}");
            } else {
                return Err(format!("no live API key with id {id}").into());
            }
        }
    }
    Ok(())
}

/// 20 characters from an unambiguous alphabet (about 115 bits).
fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

async fn serve(config: Config, args: ServeArgs) -> Result<(), CliError> {
    if args.demo {
        refuse_demo_in_production(&config)?;
    }
    let db = connect(&config).await?;
    if args.demo {
        seed_demo_users(&db).await?;
        let (existing,): (i64,) = sqlx::query_as("select count(*) from ads")
            .fetch_one(db.pool())
            .await?;
        if existing == 0 && config.demo_ads > 0 {
            crate::engine_cli::seed_history(&db, &config, config.demo_ads, 28, 42).await?;
        }
    }
    if config.is_production() {
        let demo = users::enabled_demo_accounts(&db).await?;
        if !demo.is_empty() {
            return Err(format!(
                "AMSO_ENV=production refuses to start while demo accounts with published \
                 passwords are enabled: {}. Disable them or change their passwords first.",
                demo.join(", ")
            )
            .into());
        }
    }

    let leptos_options = leptos::config::get_configuration(None)?.leptos_options;
    let addr = leptos_options.site_addr;
    let scorer = crate::engine_cli::start_scorer(&config)?;
    let state_config = Arc::new(config);
    let state = AppState {
        leptos_options,
        db: db.clone(),
        config: state_config.clone(),
        scorer: scorer.clone(),
    };
    let server = build_router(state);

    if amso_core::rollup::store::ensure_built(&db).await? {
        tracing::info!("dashboard rollups rebuilt from the decisions and reviews");
    }
    let drift_checker = tokio::spawn(check_drift_every(
        db.clone(),
        state_config.drift_check_seconds,
    ));
    let sweeper = tokio::spawn(sweep_expired_sessions(DbSessionStore::new(db.clone())));
    let reporter = tokio::spawn(crate::reports::run_every(
        db.clone(),
        state_config.clone(),
        instance_name(),
    ));
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let workers =
        crate::engine_cli::spawn_workers(&db, scorer.as_ref(), &state_config, workers_stopped);

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, "serving");
    println!("AMSO is running at http://{addr}");
    axum::serve(
        listener,
        server
            .router
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    sweeper.abort();
    drift_checker.abort();
    reporter.abort();
    let _ = stop_workers.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    db.close().await;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// This server's name in claims it takes: host, process and a random tag.
fn instance_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Deletes expired sessions every ten minutes, for as long as the server runs.
/// Checks drift now and then, raising alerts when a market × category's band rises.
async fn check_drift_every(db: amso_core::platform::db::Db, seconds: u64) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(seconds.max(1)));
    loop {
        every.tick().await;
        match amso_core::dashboard::drift_alerts::check_drift(
            &db,
            amso_core::platform::time::now_millis(),
        )
        .await
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(alerts = n, "drift rose in {n} market × category slices"),
            Err(e) => tracing::warn!(error = %e, "drift check failed"),
        }
    }
}

async fn sweep_expired_sessions(store: DbSessionStore) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "deleting expired sessions failed");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests then finish before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
