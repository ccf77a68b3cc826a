//! What a crash, a restart or several servers at once must never break, as counts: every
//! acknowledged ad stored once, every ad decided exactly once, every acknowledged review
//! stored once, and the rollups (with the review deltas still queued) equal to a
//! recomputation from the raw rows. The reliability
//! benchmark and its test read these after killing servers mid-work.

use crate::platform::db::{Db, numbered};
use crate::rollup::Grain;
use crate::rollup::store as rollups;
use serde::Serialize;

/// The counts, read at one moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Integrity {
    pub ads: i64,
    /// Ads still waiting for a decision.
    pub queued: i64,
    pub decisions: i64,
    /// Decisions beyond one per ad.
    pub decided_twice: i64,
    /// Ads stored more than once under one source and external id.
    pub duplicate_ads: i64,
    pub reviews: i64,
    /// Review tasks with more than one review.
    pub reviewed_twice: i64,
    /// Rollup rows (hourly and daily) that differ from a recomputation from the raw rows.
    pub rollup_differences: usize,
}

/// Reads the counts.
pub async fn check(db: &Db) -> sqlx::Result<Integrity> {
    let one = |sql: &'static str| async move {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(db.pool()).await?;
        Ok::<i64, sqlx::Error>(n)
    };
    let recomputed = rollups::recompute(db).await?;
    // Review deltas not folded yet (a server killed before its next fold) count as stored.
    let queued = rollups::queued(db).await?;
    let mut rollup_differences = 0;
    for grain in [Grain::Hour, Grain::Day] {
        let mut stored = rollups::stored(db, grain).await?;
        let expected = match grain {
            Grain::Hour => {
                stored.merge(queued.clone());
                recomputed.clone()
            }
            Grain::Day => {
                stored.merge(queued.daily());
                recomputed.daily()
            }
        };
        rollup_differences += stored.differences(&expected).len();
    }
    Ok(Integrity {
        ads: one("select count(*) from ads").await?,
        queued: one("select count(*) from ads where status = 'queued'").await?,
        decisions: one("select count(*) from decisions").await?,
        decided_twice: one(
            "select count(*) - count(distinct ad_id) from decisions",
        )
        .await?,
        duplicate_ads: one(
            "select count(*) - (select count(*) from (select distinct source, external_id from ads) d) from ads",
        )
        .await?,
        reviews: one("select count(*) from reviews").await?,
        reviewed_twice: one("select count(*) - count(distinct task_id) from reviews").await?,
        rollup_differences,
    })
}

/// Ads still waiting for a decision.
pub async fn queued(db: &Db) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from ads where status = 'queued'")
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// How many of `external_ids` (from `source`) are stored.
pub async fn ads_stored(db: &Db, source: &str, external_ids: &[String]) -> sqlx::Result<i64> {
    let mut found = 0;
    for chunk in external_ids.chunks(500) {
        let sql = format!(
            "select count(*) from ads where source = $1 and external_id in ({})",
            numbered(2, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (i64,)>(&sql).bind(source);
        for id in chunk {
            q = q.bind(id);
        }
        found += q.fetch_one(db.pool()).await?.0;
    }
    Ok(found)
}

/// How many of `review_ids` are stored.
pub async fn reviews_stored(db: &Db, review_ids: &[i64]) -> sqlx::Result<i64> {
    let mut found = 0;
    for chunk in review_ids.chunks(500) {
        let sql = format!(
            "select count(*) from reviews where id in ({})",
            numbered(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (i64,)>(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        found += q.fetch_one(db.pool()).await?.0;
    }
    Ok(found)
}
