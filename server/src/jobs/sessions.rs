//! Expired login sessions and old login attempts, deleted every ten minutes.

use crate::http::session_store::DbSessionStore;
use amso_core::access::auth;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
use tower_sessions::ExpiredDeletion;

/// Deletes expired sessions and login attempts past keeping every ten minutes, for as long
/// as the server runs.
pub async fn sweep_every(db: Db) {
    let store = DbSessionStore::new(db.clone());
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "deleting expired sessions failed");
        }
        if let Err(e) = auth::prune_attempts(&db, now_millis() - auth::ATTEMPTS_KEPT_MS).await {
            tracing::warn!(error = %e, "deleting old login attempts failed");
        }
    }
}
