//! `amso eval-estimators` (how honest the intervals are) and `amso calibrate` (refit the
//! calibration maps now).

use super::common::{CliError, connect};
use amso_core::access::audit::Actor;
use amso_core::dashboard::{estimates, estimator_eval};
use amso_core::platform::config::Config;
use amso_core::platform::time::now_millis;

/// Options of `amso eval-estimators`.
#[derive(Debug, clap::Args)]
pub struct EvalEstimatorsArgs {
    /// Audit draws over the fixed simulated history (0: only the database's history).
    #[arg(long, default_value_t = 200)]
    pub draws: usize,
    /// Ads per market and week of the simulated history (5 markets, 4 weeks).
    #[arg(long, default_value_t = 5_000)]
    pub ads_per_market_week: usize,
    /// Random seed of the history and the draws.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Skip the widths on the database's own history.
    #[arg(long)]
    pub no_history: bool,
}

/// Runs the coverage simulation (and, where the database has history, its interval widths)
/// and prints JSON.
pub async fn eval_estimators(config: &Config, args: &EvalEstimatorsArgs) -> Result<(), CliError> {
    let params = estimator_eval::EvalParams {
        draws: args.draws,
        seed: args.seed,
        ads_per_market_week: args.ads_per_market_week,
        ..Default::default()
    };
    let simulation = if params.draws == 0 {
        None
    } else {
        eprintln!(
            "simulating {} audit draws over {} ads …",
            params.draws,
            params.markets * params.weeks * params.ads_per_market_week
        );
        Some(tokio::task::spawn_blocking(move || estimator_eval::simulate(&params)).await?)
    };
    let history = if args.no_history {
        None
    } else {
        let db = connect(config).await?;
        let widths = estimator_eval::history_widths(&db).await?;
        db.close().await;
        widths
    };
    let out = serde_json::json!({ "simulation": simulation, "history": history });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// Refits the calibration maps of every model version that decided in the last 28 days.
pub async fn calibrate(config: &Config) -> Result<(), CliError> {
    let db = connect(config).await?;
    let n = estimates::refit_all(&db, now_millis(), &Actor::Cli).await;
    db.close().await;
    println!("fitted {} calibration maps", n?);
    Ok(())
}
