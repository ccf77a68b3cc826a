//! `amso serve`: migrate, start the scorer and workers, the background jobs and the HTTP
//! server, and stop them all cleanly on SIGTERM or Ctrl-C.

use super::common::{CliError, connect, refuse_demo_in_production, seed_demo_users};
use super::data::seed_history;
use crate::http::build_router;
use crate::jobs;
use amso_app::ssr::AppState;
use amso_core::access::users;
use amso_core::engine::worker::{self, Scorer};
use amso_core::intake::ads;
use amso_core::platform::config::Config;
use amso_core::platform::db::Db;
use clap::Args;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// Options of `amso serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Also create the demo accounts and print their logins (refused in production).
    /// `AMSO_DEMO=1` (or true/yes/on) does the same.
    #[arg(long, env = "AMSO_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,
}

/// Runs `amso serve`.
pub async fn serve(config: Config, args: ServeArgs) -> Result<(), CliError> {
    if args.demo {
        refuse_demo_in_production(&config)?;
    }
    let db = connect(&config).await?;
    if args.demo {
        seed_demo_users(&db).await?;
        if ads::count(&db).await? == 0 && config.demo_ads > 0 {
            seed_history(&db, &config, config.demo_ads, 28, 42).await?;
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

    let mut leptos_options = leptos::config::get_configuration(None)?.leptos_options;
    // cargo-leptos names the bundle's files after their content hashes and lists them in a
    // hash file beside the binary; a server started without cargo-leptos's variables finds
    // it there too, so pages always name the files that exist.
    let beside = std::env::current_exe().ok().and_then(|exe| {
        exe.parent()
            .map(|d| d.join(leptos_options.hash_file.as_ref()))
    });
    if beside.is_some_and(|f| f.is_file()) {
        leptos_options.hash_files = true;
    }
    let addr = leptos_options.site_addr;
    let scorer = start_scorer(&config)?;
    if scorer.is_some() {
        // The model this server decides with is in the registry, with its bytes and card.
        match amso_core::engine::model::registry::ensure_running(
            &db,
            Path::new(&config.model_path),
            amso_core::platform::time::now_millis(),
        )
        .await
        {
            Ok(version) => tracing::info!(%version, "model registered"),
            Err(e) => tracing::warn!(error = %e, "the running model could not be registered"),
        }
    }
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
    // What a server stopped abruptly had queued is folded before anything is served.
    amso_core::rollup::store::fold(&db).await?;
    let folder = tokio::spawn(jobs::rollup_fold::run_every(
        db.clone(),
        state_config.rollup_fold_ms,
    ));
    let drift_checker = tokio::spawn(jobs::drift_check::run_every(
        db.clone(),
        state_config.drift_check_seconds,
    ));
    let calibrator = tokio::spawn(jobs::calibration::run_every(
        db.clone(),
        state_config.calibration_refit_hours,
    ));
    let sweeper = tokio::spawn(jobs::sessions::sweep_every(db.clone()));
    let reporter = tokio::spawn(jobs::report_schedule::run_every(
        db.clone(),
        state_config.clone(),
        instance_name(),
    ));
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let workers = spawn_workers(&db, scorer.as_ref(), &state_config, workers_stopped);

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
    calibrator.abort();
    reporter.abort();
    let _ = stop_workers.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    folder.abort();
    if let Err(e) = amso_core::rollup::store::fold(&db).await {
        tracing::warn!(error = %e, "folding queued rollup changes at stop failed");
    }
    db.close().await;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Loads the model on its scoring thread, unless this instance runs no workers. A missing
/// or broken model or runtime library stops start-up with a clear error.
pub fn start_scorer(config: &Config) -> Result<Option<Scorer>, CliError> {
    if config.workers == 0 {
        tracing::info!("AMSO_WORKERS=0: this instance decides no ads");
        return Ok(None);
    }
    let scorer = Scorer::start(Path::new(&config.model_path), 64)
        .map_err(|e| format!("cannot start the moderation engine: {e}"))?;
    println!(
        "model {} loaded from {}",
        scorer.model_version, config.model_path
    );
    Ok(Some(scorer))
}

/// Starts the configured number of workers on `scorer`.
pub fn spawn_workers(
    db: &Db,
    scorer: Option<&Scorer>,
    config: &Config,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let Some(scorer) = scorer else {
        return Vec::new();
    };
    // One set of loaded models for every worker of this process.
    let models = amso_core::engine::serving::Models::new(scorer.clone());
    (0..config.workers)
        .map(|_| {
            let worker = worker::WorkerConfig {
                worker_id: worker::new_worker_id(),
                batch_size: config.worker_batch.max(1),
                lease: std::time::Duration::from_secs(config.lease_seconds.max(1)),
                idle: std::time::Duration::from_millis(200),
                audit_rate_approve: config.audit_rate_approve,
                audit_rate_reject: config.audit_rate_reject,
                learning_share: config.learning_share,
            };
            tokio::spawn(worker::run_worker(
                db.clone(),
                models.clone(),
                worker,
                stop.clone(),
            ))
        })
        .collect()
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
