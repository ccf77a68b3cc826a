//! What a reviewer decides: submitting a verdict (single or bulk), escalating, skipping and
//! undoing within the undo window. Each writes its audit entry and rollups in one transaction.

use super::check_works;
use super::tasks::{TASK_COLUMNS, TASK_FROM, Task, TaskRow, open_task, task_from};
use super::{DeskSettings, ReviewError, Scope, golden, required_text};
use crate::access::audit::{self, NewEntry};
use crate::platform::db::{Db, Flag, WriteTx};
use crate::platform::time::Millis;
use crate::rollup;
use crate::vocab::policy::Category;
use crate::vocab::queue::{HumanVerdict, Source};
use serde::Serialize;
use serde_json::json;

/// What a reviewer submits.
#[derive(Clone, Debug, PartialEq)]
pub struct Submission {
    pub verdict: HumanVerdict,
    pub categories: Vec<Category>,
    pub reason_code: Option<String>,
    pub reason_text: Option<String>,
}

/// What a submitted review did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Submitted {
    pub review_id: i64,
    pub ad_id: i64,
    pub overrode_machine: bool,
    /// The ad's status afterwards.
    pub ad_status: String,
    /// A blind second review was drawn.
    pub qa_sampled: bool,
    /// A QA disagreement sent the ad to the ops heads.
    pub escalated: bool,
}

const MAX_REASON_TEXT: usize = 1000;

/// Checks a submission against the managed reason codes and the machine's action.
pub(super) async fn validate(
    tx: &mut WriteTx,
    s: &Submission,
    machine_action: &str,
) -> Result<(), ReviewError> {
    if s.verdict == HumanVerdict::Reject && s.categories.is_empty() {
        return Err(ReviewError::Invalid(
            "a rejection must name at least one violated category".into(),
        ));
    }
    let text = s.reason_text.as_deref().map(str::trim).unwrap_or("");
    if text.chars().count() > MAX_REASON_TEXT {
        return Err(ReviewError::Invalid(format!(
            "the reason note is limited to {MAX_REASON_TEXT} characters"
        )));
    }
    match s.reason_code.as_deref().filter(|c| !c.is_empty()) {
        Some(code) => {
            let active: Option<(Flag,)> =
                sqlx::query_as("select active from reason_codes where code = $1")
                    .bind(code)
                    .fetch_optional(&mut **tx)
                    .await?;
            if !matches!(active, Some((Flag(true),))) {
                return Err(ReviewError::Invalid(format!(
                    "unknown reason code `{code}`"
                )));
            }
            if code == "other" && text.is_empty() {
                return Err(ReviewError::Invalid(
                    "reason `other` needs a note saying what it is".into(),
                ));
            }
        }
        None if s.verdict.overrides(machine_action) => {
            return Err(ReviewError::Invalid(format!(
                "overriding the machine's {machine_action} needs a reason"
            )));
        }
        None => {}
    }
    Ok(())
}

/// Facts about the ad under review.
pub(super) struct AdFacts {
    status: String,
    machine_action: String,
    submitted_at: Millis,
}

pub(super) async fn ad_facts(tx: &mut WriteTx, ad_id: i64) -> sqlx::Result<AdFacts> {
    let (status, machine_action, submitted_at): (String, Option<String>, i64) = sqlx::query_as(
        "select a.status, d.action, a.submitted_at from ads a left join decisions d on d.ad_id = a.id where a.id = $1",
    )
    .bind(ad_id)
    .fetch_one(&mut **tx)
    .await?;
    let _ = submitted_at;
    Ok(AdFacts {
        status,
        machine_action: machine_action.unwrap_or_else(|| "review".into()),
        submitted_at,
    })
}

/// Takes an open task for submission inside `tx`. A single review needs the item to be held
/// by this person; a bulk decision may also take items nobody holds.
pub(super) async fn take(
    tx: &mut WriteTx,
    scope: &Scope,
    task_id: i64,
    bulk: bool,
    now: Millis,
) -> Result<Task, ReviewError> {
    let sql = format!("select {TASK_COLUMNS} from {TASK_FROM} where t.id = $1");
    let t = sqlx::query_as::<_, TaskRow>(&sql)
        .bind(task_id)
        .fetch_optional(&mut **tx)
        .await?
        .and_then(task_from)
        .ok_or(ReviewError::NotFound("review item"))?;
    if !scope.sees(t.market) {
        return Err(ReviewError::Forbidden(format!(
            "the {} market is outside your scope",
            t.market.code()
        )));
    }
    check_works(scope, t.source)?;
    if super::queues::is_excluded(&mut **tx, task_id, scope.user_id).await? {
        return Err(ReviewError::Forbidden(
            "this item must go to a different reviewer".into(),
        ));
    }
    if t.state != "open" {
        return Err(ReviewError::Conflict(
            "this item has already been decided".into(),
        ));
    }
    let held_by_me = t.claimed_by == Some(scope.user_id);
    let held_by_other = t.claimed_by.is_some_and(|u| u != scope.user_id)
        && t.lease_expires_at.is_some_and(|l| l >= now);
    if held_by_other || (!bulk && !held_by_me) {
        return Err(ReviewError::Conflict(
            "this item is no longer yours: its lease expired and someone else took it".into(),
        ));
    }
    // Closing the task in the same statement that checks who holds it makes the hand-over
    // atomic: of two concurrent submitters, only one updates the row.
    let closed = sqlx::query(
        "update review_tasks set state = 'done', closed_at = $1 where id = $3 and state = 'open' \
         and not exists (select 1 from review_claims c where c.task_id = review_tasks.id \
         and c.user_id <> $2 and c.lease_expires_at >= $1)",
    )
    .bind(now)
    .bind(scope.user_id)
    .bind(task_id)
    .execute(&mut **tx)
    .await?;
    if closed.rows_affected() != 1 {
        return Err(ReviewError::Conflict(
            "this item was decided by someone else".into(),
        ));
    }
    release_item(tx, task_id).await?;
    Ok(t)
}

pub(super) fn categories_json(categories: &[Category]) -> String {
    serde_json::to_string(&categories.iter().map(|c| c.as_str()).collect::<Vec<_>>())
        .expect("categories serialise")
}

/// Lets go of whatever claim an item had: it is closed, or handed elsewhere.
async fn release_item(tx: &mut WriteTx, task_id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from review_claims where task_id = $1")
        .bind(task_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records a reviewer's verdict on an item they hold (or, for `bulk`, an item nobody holds),
/// moves the ad to its final status, settles an open appeal, and may draw a QA second review
/// (when `qa_draw`, uniform in [0, 1), falls under the QA rate).
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct input of one decision"
)]
pub async fn submit(
    db: &Db,
    scope: &Scope,
    task_id: i64,
    s: &Submission,
    settings: &DeskSettings,
    bulk: bool,
    qa_draw: f64,
    now: Millis,
) -> Result<Submitted, ReviewError> {
    let mut tx = db.begin_write().await?;
    let t = match take(&mut tx, scope, task_id, bulk, now).await {
        Ok(t) => t,
        // Not a review task: a golden item is scored, not decided, and answers like any other.
        Err(ReviewError::NotFound(what)) => {
            return match golden::answer(&mut tx, scope, task_id, s, now).await? {
                Some(done) => {
                    tx.commit().await?;
                    Ok(done)
                }
                None => Err(ReviewError::NotFound(what)),
            };
        }
        Err(e) => return Err(e),
    };
    if bulk && !t.source.allows_bulk() {
        return Err(ReviewError::Invalid(format!(
            "{} items are decided one at a time",
            t.source.label()
        )));
    }
    let ad = ad_facts(&mut tx, t.ad_id).await?;
    validate(&mut tx, s, &ad.machine_action).await?;
    let mut rollups = rollup::store::Pending::before(&mut tx, t.ad_id).await?;
    let overrode = s.verdict.overrides(&ad.machine_action);
    let reason_text = s
        .reason_text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let (review_id,): (i64,) = sqlx::query_as(
        "insert into reviews (task_id, ad_id, reviewer_id, source, market, verdict, categories, reason_code, \
         reason_text, machine_action, override, bulk, status_before, started_at, finished_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) returning id",
    )
    .bind(t.id)
    .bind(t.ad_id)
    .bind(scope.user_id)
    .bind(t.source.as_str())
    .bind(t.market.code())
    .bind(s.verdict.as_str())
    .bind(categories_json(&s.categories))
    .bind(s.reason_code.as_deref().filter(|c| !c.is_empty()))
    .bind(reason_text)
    .bind(&ad.machine_action)
    .bind(overrode)
    .bind(bulk)
    .bind(&ad.status)
    .bind(t.claimed_at.filter(|_| !bulk).unwrap_or(now))
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;

    let mut escalated = false;
    let mut ad_status = ad.status.clone();
    if t.source == Source::Qa {
        // A blind second opinion: it changes nothing unless it disagrees with the first.
        let first: Option<(String, i64)> =
            sqlx::query_as("select verdict, reviewer_id from reviews where id = $1")
                .bind(t.qa_of)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((first_verdict, _)) = first.filter(|(v, _)| v != s.verdict.as_str()) {
            let note = format!(
                "QA disagreement: the first reviewer said {first_verdict}, the second {}",
                s.verdict.as_str()
            );
            escalated = open_task(
                &mut tx,
                &t,
                Source::Escalation,
                Some(&note),
                None,
                None,
                now,
            )
            .await?;
        }
    } else {
        ad_status = match s.verdict {
            HumanVerdict::Approve => "approved",
            HumanVerdict::Reject => "rejected",
        }
        .to_string();
        sqlx::query("update ads set status = $1 where id = $2")
            .bind(&ad_status)
            .bind(t.ad_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "update appeals set status = $1, decided_at = $2, decided_by = $3, review_id = $4 \
             where ad_id = $5 and status = 'open'",
        )
        .bind(match s.verdict {
            HumanVerdict::Approve => "overturned",
            HumanVerdict::Reject => "upheld",
        })
        .bind(now)
        .bind(scope.user_id)
        .bind(review_id)
        .bind(t.ad_id)
        .execute(&mut *tx)
        .await?;
    }
    let qa_sampled = !bulk
        && !matches!(t.source, Source::Qa | Source::Escalation)
        && qa_draw < settings.qa_rate
        && open_task(
            &mut tx,
            &t,
            Source::Qa,
            None,
            Some(scope.user_id),
            Some(review_id),
            now,
        )
        .await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor: &scope.actor(),
            action: if bulk {
                "review.bulk"
            } else if overrode {
                "review.override"
            } else {
                "review.submit"
            },
            object: format!("ad:{}", t.ad_id),
            before: Some(json!({ "status": ad.status, "machine": ad.machine_action })),
            after: Some(json!({
                "status": ad_status,
                "queue": t.source.as_str(),
                "verdict": s.verdict.as_str(),
                "categories": s.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                "reason": s.reason_code,
                "note": reason_text,
            })),
            ip: None,
        },
        now,
    )
    .await?;
    if let Some(work) = rollup::store::review_work(&mut tx, review_id).await? {
        rollups.work(&work, 1.0);
    }
    rollups.settle(&mut tx, t.ad_id).await?;
    tx.commit().await?;
    let _ = ad.submitted_at;
    Ok(Submitted {
        review_id,
        ad_id: t.ad_id,
        overrode_machine: overrode,
        ad_status,
        qa_sampled,
        escalated,
    })
}

/// Sends an item this person holds to the ops heads' escalation queue with a note.
pub async fn escalate(
    db: &Db,
    scope: &Scope,
    task_id: i64,
    note: &str,
    now: Millis,
) -> Result<(), ReviewError> {
    let note = required_text(note, "the note", "say in a note why this needs an ops head")?;
    let mut tx = db.begin_write().await?;
    if golden::let_go(&mut tx, scope, task_id).await? {
        tx.commit().await?;
        return Ok(());
    }
    let t = take(&mut tx, scope, task_id, false, now).await?;
    if t.source == Source::Escalation {
        return Err(ReviewError::Invalid(
            "an escalation is decided here; there is nobody further up".into(),
        ));
    }
    sqlx::query("update review_tasks set state = 'escalated' where id = $1")
        .bind(t.id)
        .execute(&mut *tx)
        .await?;
    let note = format!("{} ({}): {note}", scope.email, t.source.label());
    open_task(
        &mut tx,
        &t,
        Source::Escalation,
        Some(&note),
        None,
        None,
        now,
    )
    .await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor: &scope.actor(),
            action: "review.escalate",
            object: format!("ad:{}", t.ad_id),
            before: Some(json!({ "queue": t.source.as_str() })),
            after: Some(json!({ "queue": "escalation", "note": note })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Puts an item this person holds back in its queue at once, and records the skip.
pub async fn skip(db: &Db, scope: &Scope, task_id: i64, now: Millis) -> Result<(), ReviewError> {
    let mut tx = db.begin_write().await?;
    if golden::let_go(&mut tx, scope, task_id).await? {
        tx.commit().await?;
        return Ok(());
    }
    let released = sqlx::query("delete from review_claims where task_id = $1 and user_id = $2")
        .bind(task_id)
        .bind(scope.user_id)
        .execute(&mut *tx)
        .await?;
    let row: Option<(i64, String)> = if released.rows_affected() == 1 {
        sqlx::query_as("select ad_id, source from review_tasks where id = $1 and state = 'open'")
            .bind(task_id)
            .fetch_optional(&mut *tx)
            .await?
    } else {
        None
    };
    let Some((ad_id, source)) = row else {
        return Err(ReviewError::Conflict("you do not hold this item".into()));
    };
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor: &scope.actor(),
            action: "review.skip",
            object: format!("ad:{ad_id}"),
            before: None,
            after: Some(json!({ "queue": source })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

type UndoRow = (i64, i64, i64, String, String, String, i64, Flag);

/// Takes back this person's review within the undo window: the review is removed, the ad and
/// any appeal return to where they were, a QA item it drew is withdrawn, and the item is
/// handed back to them (releasing whatever they picked up next). Returns the task id.
pub async fn undo(
    db: &Db,
    scope: &Scope,
    review_id: i64,
    settings: &DeskSettings,
    now: Millis,
) -> Result<i64, ReviewError> {
    let mut tx = db.begin_write().await?;
    if let Some(task_id) = golden::undo(&mut tx, scope, review_id, settings, now).await? {
        tx.commit().await?;
        return Ok(task_id);
    }
    let row: Option<UndoRow> = sqlx::query_as(
        "select task_id, ad_id, reviewer_id, source, verdict, status_before, finished_at, bulk \
         from reviews where id = $1",
    )
    .bind(review_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((task_id, ad_id, reviewer_id, source, verdict, status_before, finished_at, bulk)) =
        row
    else {
        return Err(ReviewError::NotFound("review"));
    };
    if reviewer_id != scope.user_id {
        return Err(ReviewError::Forbidden(
            "only the reviewer who made a decision can undo it".into(),
        ));
    }
    if bulk.0 {
        return Err(ReviewError::Invalid(
            "bulk decisions cannot be undone from here".into(),
        ));
    }
    if now - finished_at > settings.undo_window_ms {
        return Err(ReviewError::Conflict(format!(
            "the undo window ({} s) has passed",
            settings.undo_window_ms / 1000
        )));
    }
    // A QA item already taken up by someone else means the decision has moved on.
    let (qa_claimed,): (i64,) = sqlx::query_as(
        "select count(*) from review_tasks t where t.qa_of = $1 and (t.state <> 'open' \
         or exists (select 1 from review_claims c where c.task_id = t.id))",
    )
    .bind(review_id)
    .fetch_one(&mut *tx)
    .await?;
    if qa_claimed > 0 {
        return Err(ReviewError::Conflict(
            "a second reviewer has already started on this decision".into(),
        ));
    }
    sqlx::query("update review_tasks set state = 'cancelled', closed_at = $1 where qa_of = $2 and state = 'open'")
        .bind(now)
        .bind(review_id)
        .execute(&mut *tx)
        .await?;
    if source == "qa" {
        // Withdraw the escalation this QA verdict opened, if nobody has picked it up.
        sqlx::query(
            "update review_tasks set state = 'cancelled', closed_at = $1 where ad_id = $2 and source = 'escalation' \
             and state = 'open' and created_at >= $3 \
             and not exists (select 1 from review_claims c where c.task_id = review_tasks.id)",
        )
        .bind(now)
        .bind(ad_id)
        .bind(finished_at)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query("update ads set status = $1 where id = $2")
            .bind(&status_before)
            .bind(ad_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "update appeals set status = 'open', decided_at = null, decided_by = null, review_id = null \
             where review_id = $1",
        )
        .bind(review_id)
        .execute(&mut *tx)
        .await?;
    }
    let mut rollups = rollup::store::Pending::before(&mut tx, ad_id).await?;
    if let Some(work) = rollup::store::review_work(&mut tx, review_id).await? {
        rollups.work(&work, -1.0);
    }
    sqlx::query("delete from reviews where id = $1")
        .bind(review_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("delete from review_claims where user_id = $1")
        .bind(scope.user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("update review_tasks set state = 'open', closed_at = null where id = $1")
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
    super::queues::hold(
        &mut tx,
        task_id,
        scope.user_id,
        now,
        now + settings.lease_ms,
    )
    .await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor: &scope.actor(),
            action: "review.undo",
            object: format!("ad:{ad_id}"),
            before: Some(json!({ "verdict": verdict })),
            after: Some(json!({ "status": status_before, "queue": source })),
            ip: None,
        },
        now,
    )
    .await?;
    rollups.settle(&mut tx, ad_id).await?;
    tx.commit().await?;
    Ok(task_id)
}

/// How many review tasks carry more than one review: an item decided twice, which claiming
/// under a lease must never allow (the review benchmark's check).
pub async fn tasks_reviewed_twice(db: &Db) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from (select task_id from reviews group by task_id having count(*) > 1) x",
    )
    .fetch_one(db.pool())
    .await?;
    Ok(n)
}
