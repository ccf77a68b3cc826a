//! Review tasks: reading one within a person's scope, opening new ones (one SLA due-time rule
//! for every way a task is opened), and the review SLA per market.

use super::check_works;
use super::{ReviewError, Scope};
use crate::access::audit::{self, Actor, NewEntry};
use crate::platform::db::{Db, WriteTx, values_list};
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use crate::vocab::queue::Source;
use serde::Serialize;
use serde_json::json;

/// A review task as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    pub id: i64,
    pub ad_id: i64,
    pub source: Source,
    pub market: Market,
    pub state: String,
    pub created_at: Millis,
    pub due_at: Millis,
    pub risk: f64,
    pub claimed_by: Option<i64>,
    pub claimed_at: Option<Millis>,
    pub lease_expires_at: Option<Millis>,
    pub note: Option<String>,
    pub qa_of: Option<i64>,
}

/// A task as read from the database, before its names are parsed.
#[derive(sqlx::FromRow)]
pub(super) struct TaskRow {
    id: i64,
    ad_id: i64,
    source: String,
    market: String,
    state: String,
    created_at: i64,
    due_at: i64,
    risk: f64,
    claimed_by: Option<i64>,
    claimed_at: Option<i64>,
    lease_expires_at: Option<i64>,
    note: Option<String>,
    qa_of: Option<i64>,
}

/// A task's columns, its holder read from `review_claims` (see [`TASK_FROM`]).
pub(super) const TASK_COLUMNS: &str = "t.id, t.ad_id, t.source, t.market, t.state, t.created_at, \
    t.due_at, t.risk, c.user_id as claimed_by, c.claimed_at, c.lease_expires_at, t.note, t.qa_of";

/// Where [`TASK_COLUMNS`] are read from: a task (`t`) and its claim (`c`), if held.
pub(super) const TASK_FROM: &str = "review_tasks t left join review_claims c on c.task_id = t.id";

pub(super) fn task_from(r: TaskRow) -> Option<Task> {
    Some(Task {
        id: r.id,
        ad_id: r.ad_id,
        source: r.source.parse().ok()?,
        market: r.market.parse().ok()?,
        state: r.state,
        created_at: r.created_at,
        due_at: r.due_at,
        risk: r.risk,
        claimed_by: r.claimed_by,
        claimed_at: r.claimed_at,
        lease_expires_at: r.lease_expires_at,
        note: r.note,
        qa_of: r.qa_of,
    })
}

/// One task by id.
pub async fn task(db: &Db, id: i64) -> sqlx::Result<Option<Task>> {
    let sql = format!("select {TASK_COLUMNS} from {TASK_FROM} where t.id = $1");
    let row: Option<TaskRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.and_then(task_from))
}

/// Whether the review of `ad_id` must be shown blind to `user_id`: a QA second review of it is
/// still open and they are not the first reviewer. Until that verdict is in, no screen of the
/// ad may show the first review.
pub async fn blind_for(db: &Db, ad_id: i64, user_id: i64) -> sqlx::Result<bool> {
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from review_tasks where ad_id = $1 and source = 'qa' and state = 'open' \
         and (excluded_reviewer is null or excluded_reviewer <> $2)",
    )
    .bind(ad_id)
    .bind(user_id)
    .fetch_one(db.pool())
    .await?;
    Ok(n > 0)
}

/// The item this person may look at: one they hold, in their scope and queue.
pub async fn task_for(db: &Db, scope: &Scope, id: i64) -> Result<Task, ReviewError> {
    let t = match task(db, id).await? {
        Some(t) => t,
        // A golden item reads as an ordinary one, to the one person it was handed to.
        None => super::golden::task_of_user(db.pool(), id, scope.user_id)
            .await?
            .map(|g| Task {
                id: g.id,
                ad_id: g.ad_id,
                source: g.source,
                market: g.market,
                state: if g.open { "open" } else { "done" }.into(),
                created_at: g.created_at,
                due_at: g.due_at,
                risk: 0.0,
                claimed_by: g.open.then_some(g.user_id),
                claimed_at: Some(g.claimed_at),
                lease_expires_at: Some(g.lease_expires_at),
                note: None,
                qa_of: None,
            })
            .ok_or(ReviewError::NotFound("review item"))?,
    };
    if !scope.sees(t.market) {
        return Err(ReviewError::Forbidden(format!(
            "the {} market is outside your scope",
            t.market.code()
        )));
    }
    check_works(scope, t.source)?;
    Ok(t)
}

/// A review task to open.
#[derive(Clone, Debug)]
pub struct NewTask<'a> {
    pub ad_id: i64,
    pub source: Source,
    pub market: Market,
    /// What is at stake: the top score times the daily budget (the queue's order after due time).
    pub risk: f64,
    /// When the SLA clock starts: the submission for an ad the machine routed, the moment of
    /// opening for escalations, QA second reviews and appeals.
    pub clock_from: Millis,
    pub excluded_reviewer: Option<i64>,
    pub note: Option<&'a str>,
    pub qa_of: Option<i64>,
}

/// A market's review SLA when none is set.
const DEFAULT_SLA_HOURS: f64 = 24.0;

/// When a task is due: the market's review SLA after its clock starts. The one due-time rule.
fn due_at(sla_hours: &[(String, f64)], market: Market, clock_from: Millis) -> Millis {
    let hours = sla_hours
        .iter()
        .find(|(code, _)| code == market.code())
        .map_or(DEFAULT_SLA_HOURS, |s| s.1);
    clock_from + (hours * 3_600_000.0) as Millis
}

/// When an item of `market` whose clock starts at `clock_from` is due, read inside `tx`.
pub async fn due_for(tx: &mut WriteTx, market: Market, clock_from: Millis) -> sqlx::Result<Millis> {
    let sla_hours: Vec<(String, f64)> =
        sqlx::query_as("select market, sla_hours from market_settings where market = $1")
            .bind(market.code())
            .fetch_all(&mut **tx)
            .await?;
    Ok(due_at(&sla_hours, market, clock_from))
}

/// Opens review tasks inside `tx`, many to a statement, each due by [`due_at`].
pub async fn open(tx: &mut WriteTx, tasks: &[NewTask<'_>], now: Millis) -> sqlx::Result<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    let sla_hours: Vec<(String, f64)> =
        sqlx::query_as("select market, sla_hours from market_settings")
            .fetch_all(&mut **tx)
            .await?;
    // 10 parameters a row; 500 rows stay under every backend's parameter limit. The ad's
    // language is copied so claim-next can match it to reviewers off an index ('' when the ad
    // declares none: an equality every lookup can use, where `is null` let PostgreSQL's
    // generic plans walk a market's whole queue).
    for chunk in tasks.chunks(500) {
        let mut sql = String::from(
            "insert into review_tasks (ad_id, source, market, state, created_at, due_at, risk, excluded_reviewer, note, qa_of, language) values ",
        );
        sql.push_str(&values_list(
            tx.backend(),
            chunk.len(),
            "(?,?,?,'open',?,?,?,?,?,?,coalesce((select a.language from ads a where a.id = ?), ''))",
        ));
        let mut q = sqlx::query(&sql);
        for t in chunk {
            q = q
                .bind(t.ad_id)
                .bind(t.source.as_str())
                .bind(t.market.code())
                .bind(now)
                .bind(due_at(&sla_hours, t.market, t.clock_from))
                .bind(t.risk)
                .bind(t.excluded_reviewer)
                .bind(t.note)
                .bind(t.qa_of)
                .bind(t.ad_id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Opens a task of `source` for the ad of `from`, due the market's SLA from now, unless one is
/// already open (returns whether it opened one).
pub(super) async fn open_task(
    tx: &mut WriteTx,
    from: &Task,
    source: Source,
    note: Option<&str>,
    excluded_reviewer: Option<i64>,
    qa_of: Option<i64>,
    now: Millis,
) -> sqlx::Result<bool> {
    let (already,): (i64,) = sqlx::query_as(
        "select count(*) from review_tasks where ad_id = $1 and source = $2 and state = 'open'",
    )
    .bind(from.ad_id)
    .bind(source.as_str())
    .fetch_one(&mut **tx)
    .await?;
    if already > 0 {
        return Ok(false);
    }
    let task = NewTask {
        ad_id: from.ad_id,
        source,
        market: from.market,
        risk: from.risk,
        clock_from: now,
        excluded_reviewer,
        note,
        qa_of,
    };
    open(tx, &[task], now).await?;
    Ok(true)
}

/// Per-market SLA hours.
pub async fn sla_settings(db: &Db) -> sqlx::Result<Vec<(Market, f64)>> {
    let rows: Vec<(String, f64)> =
        sqlx::query_as("select market, sla_hours from market_settings order by market")
            .fetch_all(db.pool())
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(m, h)| Some((m.parse().ok()?, h)))
        .collect())
}

/// Changes a market's SLA (hours from submission to a final decision), audited.
pub async fn set_sla(
    db: &Db,
    actor: &Actor,
    market: Market,
    hours: f64,
    now: Millis,
) -> Result<(), ReviewError> {
    if !(hours.is_finite() && hours > 0.0 && hours <= 24.0 * 14.0) {
        return Err(ReviewError::Invalid(
            "an SLA is between a few minutes and 14 days (give hours)".into(),
        ));
    }
    let mut tx = db.begin_write().await?;
    let before: Option<(f64,)> =
        sqlx::query_as("select sla_hours from market_settings where market = $1")
            .bind(market.code())
            .fetch_optional(&mut *tx)
            .await?;
    sqlx::query(
        "insert into market_settings (market, sla_hours, updated_at) values ($1, $2, $3) \
         on conflict (market) do update set sla_hours = excluded.sla_hours, updated_at = excluded.updated_at",
    )
    .bind(market.code())
    .bind(hours)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: "settings.sla",
            object: format!("market:{}", market.code()),
            before: before.map(|b| json!({ "sla_hours": b.0 })),
            after: Some(json!({ "sla_hours": hours })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
