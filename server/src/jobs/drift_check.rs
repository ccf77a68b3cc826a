//! The drift check: every `AMSO_DRIFT_CHECK_SECONDS`, compares score distributions with their
//! reference and raises an alert where a market × category's band rises; and the estimates'
//! tripwire, raised where a slice's label-free figure leaves its model-assisted interval; and
//! the emerging-risk radar's check.

use amso_core::dashboard::drift_alerts::check_drift;
use amso_core::dashboard::estimates::check_tripwires;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;

/// Checks drift every `seconds`, for as long as the server runs.
pub async fn run_every(db: Db, seconds: u64) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(seconds.max(1)));
    loop {
        every.tick().await;
        match check_drift(&db, now_millis()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(alerts = n, "drift rose in {n} market × category slices"),
            Err(e) => tracing::warn!(error = %e, "drift check failed"),
        }
        match check_tripwires(&db, now_millis()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                alerts = n,
                "tripwire: the model's calibrated scores disagree with the audits in {n} slices"
            ),
            Err(e) => tracing::warn!(error = %e, "tripwire check failed"),
        }
        // The emerging-risk radar: fold in what was decided and reviewed, rank again.
        match amso_core::radar::store::check(&db, now_millis()).await {
            Ok(s) => tracing::debug!(
                decisions = s.decisions_folded,
                reviews = s.reviews_folded,
                entries = s.entries,
                "radar checked"
            ),
            Err(e) => tracing::warn!(error = %e, "radar check failed"),
        }
    }
}
