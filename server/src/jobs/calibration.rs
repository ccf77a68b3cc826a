//! Refitting the calibration maps: at start (so that a fresh history has maps) and then
//! every `AMSO_CALIBRATION_REFIT_HOURS`, each model version on its last 28 days of audited
//! verdicts. Idempotent: servers sharing a database may all run it.

use amso_core::access::audit::Actor;
use amso_core::dashboard::estimates::refit_all;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;

/// Refits every `hours`, for as long as the server runs.
pub async fn run_every(db: Db, hours: u64) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(hours.max(1) * 3600));
    loop {
        every.tick().await;
        match refit_all(&db, now_millis(), &Actor::System).await {
            Ok(n) => tracing::info!(maps = n, "calibration maps refitted"),
            Err(e) => tracing::warn!(error = %e, "calibration refit failed"),
        }
    }
}
