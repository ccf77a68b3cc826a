//! What the live pages watch: a mark that moves with every decision, review and undo.

use crate::platform::db::Db;

/// The newest decision and audit row: any decision, review or undo moves one of them.
pub async fn change_mark(db: &Db) -> sqlx::Result<(i64, i64)> {
    let (d,): (i64,) = sqlx::query_as("select coalesce(max(id), 0) from decisions")
        .fetch_one(db.pool())
        .await?;
    let (a,): (i64,) = sqlx::query_as("select coalesce(max(id), 0) from audit_log")
        .fetch_one(db.pool())
        .await?;
    Ok((d, a))
}
