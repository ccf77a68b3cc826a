//! Login sessions as stored: one row per session with its encoded record, its user and its
//! expiry, so a restart (or another instance on the same PostgreSQL) keeps people logged in.
//! Rows are keyed by a SHA-256 of the session id: the cookie's value is never stored, so a
//! copy of the table opens no session. The web server's session store is a thin adapter.
//! Writes take the writer's turn like every other write (on SQLite a write straight on the
//! pool would meet the turn's holder in the busy handler).

use crate::platform::db::Db;
use crate::platform::time::Millis;
use sha2::{Digest, Sha256};

/// The stored key of a session id.
pub fn key_of(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// Stores a new session unless its id is taken; returns whether it was stored.
pub async fn insert_new(
    db: &Db,
    id: &str,
    user_id: Option<i64>,
    data: &str,
    expires_at: Millis,
) -> sqlx::Result<bool> {
    let mut tx = db.begin_write().await?;
    let inserted = sqlx::query(
        "insert into sessions (id, user_id, data, expires_at) values ($1, $2, $3, $4) \
         on conflict (id) do nothing",
    )
    .bind(key_of(id))
    .bind(user_id)
    .bind(data)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(inserted.rows_affected() == 1)
}

/// Stores a session, replacing what was stored under its id.
pub async fn save(
    db: &Db,
    id: &str,
    user_id: Option<i64>,
    data: &str,
    expires_at: Millis,
) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "insert into sessions (id, user_id, data, expires_at) values ($1, $2, $3, $4) \
         on conflict (id) do update set user_id = excluded.user_id, data = excluded.data, \
         expires_at = excluded.expires_at",
    )
    .bind(key_of(id))
    .bind(user_id)
    .bind(data)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The encoded record of a session that has not expired at `now`.
pub async fn load(db: &Db, id: &str, now: Millis) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("select data from sessions where id = $1 and expires_at > $2")
            .bind(key_of(id))
            .bind(now)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(data,)| data))
}

/// The user a live session belongs to, if it is still live at `now`.
pub async fn user_of(db: &Db, id: &str, now: Millis) -> sqlx::Result<Option<i64>> {
    let row: Option<(Option<i64>,)> =
        sqlx::query_as("select user_id from sessions where id = $1 and expires_at > $2")
            .bind(key_of(id))
            .bind(now)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.and_then(|(user,)| user))
}

/// Ends a session.
pub async fn delete(db: &Db, id: &str) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("delete from sessions where id = $1")
        .bind(key_of(id))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of a user except `keep` (the session making the change, if it is
/// theirs); returns how many ended.
pub async fn end_for_user(db: &Db, user_id: i64, keep: Option<&str>) -> sqlx::Result<u64> {
    let mut tx = db.begin_write().await?;
    let r = sqlx::query("delete from sessions where user_id = $1 and id <> $2")
        .bind(user_id)
        .bind(keep.map(key_of).unwrap_or_default())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(r.rows_affected())
}

/// Deletes every session expired at `now`.
pub async fn delete_expired(db: &Db, now: Millis) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("delete from sessions where expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
