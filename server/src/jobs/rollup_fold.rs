//! Folding the review deltas queued for the rollups (see `rollup::store::fold`) every
//! `AMSO_ROLLUP_FOLD_MS`: what a reviewer did shows on the dashboards a fraction of a second
//! later, and many reviews' changes to the same rollup rows are written once.

use amso_core::platform::db::Db;
use amso_core::rollup::store::fold;

/// Folds every `ms` milliseconds, for as long as the server runs.
pub async fn run_every(db: Db, ms: u64) {
    let mut every = tokio::time::interval(std::time::Duration::from_millis(ms.max(10)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = fold(&db).await {
            tracing::warn!(error = %e, "folding queued rollup changes failed");
        }
    }
}
