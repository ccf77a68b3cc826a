//! Login sessions kept in the product's own database, so a restart (or another instance
//! on the same PostgreSQL) keeps people logged in.

use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
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

fn expiry_millis(record: &Record) -> i64 {
    (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(record).map_err(|e| session_store::Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are random 128-bit values; on the rare collision draw another.
        loop {
            let inserted = sqlx::query(
                "insert into sessions (id, data, expires_at) values ($1, $2, $3) \
                 on conflict (id) do nothing",
            )
            .bind(record.id.to_string())
            .bind(encode(record)?)
            .bind(expiry_millis(record))
            .execute(self.db.pool())
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        sqlx::query(
            "insert into sessions (id, data, expires_at) values ($1, $2, $3) \
             on conflict (id) do update set data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(record.id.to_string())
        .bind(encode(record)?)
        .bind(expiry_millis(record))
        .execute(self.db.pool())
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<(String,)> =
            sqlx::query_as("select data from sessions where id = $1 and expires_at > $2")
                .bind(session_id.to_string())
                .bind(now_millis())
                .fetch_optional(self.db.pool())
                .await
                .map_err(backend)?;
        row.map(|(data,)| {
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))
        })
        .transpose()
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        sqlx::query("delete from sessions where id = $1")
            .bind(session_id.to_string())
            .execute(self.db.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sqlx::query("delete from sessions where expires_at <= $1")
            .bind(now_millis())
            .execute(self.db.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }
}
