//! The login session store: tower-sessions' [`SessionStore`] over `amso_core::access::sessions`.

use amso_core::access::sessions;
use amso_core::platform::db::Db;
use amso_core::platform::time::{clock_offset, now_millis};
use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

/// A [`SessionStore`] over the `sessions` table.
#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    /// A store over `db`.
    pub fn new(db: Db) -> DbSessionStore {
        DbSessionStore { db }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// When a session ends, on this process's clock: tower-sessions dates it by the system
/// clock, the table is read by [`now_millis`] (the two differ only on a rehearsal clock).
fn expiry_millis(record: &Record) -> i64 {
    (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64 + clock_offset()
}

/// The user a session belongs to (the key the login sets), so their sessions can be ended
/// together.
fn user_of(record: &Record) -> Option<i64> {
    record
        .data
        .get(amso_app::ssr::SESSION_USER_ID)
        .and_then(serde_json::Value::as_i64)
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(record).map_err(|e| session_store::Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are random 128-bit values; on the rare collision draw another.
        loop {
            let data = encode(record)?;
            let id = record.id.to_string();
            if sessions::insert_new(&self.db, &id, user_of(record), &data, expiry_millis(record))
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record)?;
        sessions::save(
            &self.db,
            &record.id.to_string(),
            user_of(record),
            &data,
            expiry_millis(record),
        )
        .await
        .map_err(backend)
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        sessions::load(&self.db, &session_id.to_string(), now_millis())
            .await
            .map_err(backend)?
            .map(|data| {
                serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))
            })
            .transpose()
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        sessions::delete(&self.db, &session_id.to_string())
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sessions::delete_expired(&self.db, now_millis())
            .await
            .map_err(backend)
    }
}
