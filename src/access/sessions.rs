//! Login sessions as stored: one row per session with its encoded record and expiry, so a
//! restart (or another instance on the same PostgreSQL) keeps people logged in. The web
//! server's session store is a thin adapter over these.

use crate::platform::db::Db;
use crate::platform::time::Millis;

/// Stores a new session unless its id is taken; returns whether it was stored.
pub async fn insert_new(db: &Db, id: &str, data: &str, expires_at: Millis) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "insert into sessions (id, data, expires_at) values ($1, $2, $3) \
         on conflict (id) do nothing",
    )
    .bind(id)
    .bind(data)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Stores a session, replacing what was stored under its id.
pub async fn save(db: &Db, id: &str, data: &str, expires_at: Millis) -> sqlx::Result<()> {
    sqlx::query(
        "insert into sessions (id, data, expires_at) values ($1, $2, $3) \
         on conflict (id) do update set data = excluded.data, expires_at = excluded.expires_at",
    )
    .bind(id)
    .bind(data)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The encoded record of a session that has not expired at `now`.
pub async fn load(db: &Db, id: &str, now: Millis) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("select data from sessions where id = $1 and expires_at > $2")
            .bind(id)
            .bind(now)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(data,)| data))
}

/// Ends a session.
pub async fn delete(db: &Db, id: &str) -> sqlx::Result<()> {
    sqlx::query("delete from sessions where id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Deletes every session expired at `now`.
pub async fn delete_expired(db: &Db, now: Millis) -> sqlx::Result<()> {
    sqlx::query("delete from sessions where expires_at <= $1")
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(())
}
