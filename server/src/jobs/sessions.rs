//! Expired login sessions, deleted every ten minutes.

use crate::http::session_store::DbSessionStore;
use tower_sessions::ExpiredDeletion;

/// Deletes expired sessions every ten minutes, for as long as the server runs.
pub async fn sweep_every(store: DbSessionStore) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "deleting expired sessions failed");
        }
    }
}
