//! Advertiser appeals: filing one against a rejection (routed to someone who took no part in
//! it) and what the advertiser's system sees of them.

use super::queues::is_unique_violation;
use super::tasks::{Task, open_task};
use super::{ReviewError, required_text};
use crate::access::audit::{self, Actor, NewEntry};
use crate::platform::db::Db;
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use crate::vocab::queue::Source;
use serde::Serialize;
use serde_json::json;

/// An advertiser's appeal, as filed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AppealFiled {
    pub appeal_id: i64,
    pub ad_id: i64,
    pub status: String,
}

/// Files an appeal against a rejection: the ad becomes `appealed` and enters the appeal
/// queue, kept from everyone who took part in rejecting it. One open appeal per ad.
pub async fn file_appeal(
    db: &Db,
    ad_id: i64,
    statement: &str,
    filed_by: &str,
    now: Millis,
) -> Result<AppealFiled, ReviewError> {
    let statement = required_text(
        statement,
        "`statement`",
        "`statement` is required: say why the ad should run",
    )?;
    let mut tx = db.begin_write().await?;
    let row: Option<(String, String, f64)> =
        sqlx::query_as("select status, market, daily_budget_usd from ads where id = $1")
            .bind(ad_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((status, market, budget)) = row else {
        return Err(ReviewError::NotFound("ad"));
    };
    if status == "appealed" {
        return Err(ReviewError::Conflict(
            "this ad already has an open appeal".into(),
        ));
    }
    if !matches!(status.as_str(), "rejected" | "auto_rejected") {
        return Err(ReviewError::Conflict(format!(
            "only rejected ads can be appealed (this one is {status})"
        )));
    }
    let market: Market = market
        .parse()
        .map_err(|_| ReviewError::Invalid("the ad's market is unknown".into()))?;
    let inserted = sqlx::query_as::<_, (i64,)>(
        "insert into appeals (ad_id, statement, filed_at, filed_by, status, status_before) \
         values ($1, $2, $3, $4, 'open', $5) returning id",
    )
    .bind(ad_id)
    .bind(statement)
    .bind(now)
    .bind(filed_by)
    .bind(&status)
    .fetch_one(&mut *tx)
    .await;
    let (appeal_id,) = match inserted {
        Ok(r) => r,
        Err(e) if is_unique_violation(&e) => {
            return Err(ReviewError::Conflict(
                "this ad already has an open appeal".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let rejected_by: Option<(i64,)> = sqlx::query_as(
        "select reviewer_id from reviews where ad_id = $1 and verdict = 'reject' order by finished_at desc limit 1",
    )
    .bind(ad_id)
    .fetch_optional(&mut *tx)
    .await?;
    let top_score: Option<(String,)> =
        sqlx::query_as("select scores from decisions where ad_id = $1")
            .bind(ad_id)
            .fetch_optional(&mut *tx)
            .await?;
    let top = top_score
        .and_then(|(s,)| crate::intake::ads::top_of_scores(&s))
        .map_or(0.0, |t| f64::from(t.1));
    // An audit sample still waiting is superseded: the appeal puts the ad in front of a human.
    sqlx::query(
        "delete from review_claims where task_id in \
         (select id from review_tasks where ad_id = $1 and state = 'open' and source = 'audit')",
    )
    .bind(ad_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update review_tasks set state = 'cancelled', closed_at = $1 where ad_id = $2 and state = 'open' and source = 'audit'",
    )
    .bind(now)
    .bind(ad_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update ads set status = 'appealed' where id = $1")
        .bind(ad_id)
        .execute(&mut *tx)
        .await?;
    let from = Task {
        id: 0,
        ad_id,
        source: Source::Appeal,
        market,
        state: "open".into(),
        created_at: now,
        due_at: now,
        risk: top * budget,
        claimed_by: None,
        claimed_at: None,
        lease_expires_at: None,
        note: None,
        qa_of: None,
    };
    open_task(
        &mut tx,
        &from,
        Source::Appeal,
        Some(statement),
        rejected_by.map(|r| r.0),
        None,
        now,
    )
    .await?;
    // Everyone who took part in the rejection is kept from the appeal, not only the latest
    // rejecting reviewer: the first reviewer and any QA reviewer who agreed.
    sqlx::query(
        "insert into review_task_exclusions (task_id, user_id) \
         select distinct t.id, r.reviewer_id from review_tasks t \
         join reviews r on r.ad_id = t.ad_id and r.verdict = 'reject' \
         where t.ad_id = $1 and t.source = 'appeal' and t.state = 'open' \
         on conflict do nothing",
    )
    .bind(ad_id)
    .execute(&mut *tx)
    .await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor: &Actor::User(filed_by.to_string()),
            action: "appeal.file",
            object: format!("ad:{ad_id}"),
            before: Some(json!({ "status": status })),
            after: Some(json!({ "status": "appealed", "statement": statement })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(AppealFiled {
        appeal_id,
        ad_id,
        status: "appealed".into(),
    })
}

/// An appeal as the advertiser's system sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AppealView {
    pub id: i64,
    pub status: String,
    pub statement: String,
    pub filed_at: String,
    pub decided_at: Option<String>,
}

/// Every appeal filed against an ad, oldest first.
pub async fn appeals_of(db: &Db, ad_id: i64) -> sqlx::Result<Vec<AppealView>> {
    let rows: Vec<(i64, String, String, i64, Option<i64>)> = sqlx::query_as(
        "select id, status, statement, filed_at, decided_at from appeals where ad_id = $1 order by id",
    )
    .bind(ad_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, status, statement, filed, decided)| AppealView {
            id,
            status,
            statement,
            filed_at: crate::platform::time::to_rfc3339(filed),
            decided_at: decided.map(crate::platform::time::to_rfc3339),
        })
        .collect())
}
