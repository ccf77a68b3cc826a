//! Human review in the database: queues of review tasks, claimed one at a time under a
//! lease; reviews that confirm or overrule the machine; escalations, skips, undo, bulk
//! decisions, blind QA second reviews and advertiser appeals. Every human action writes an
//! audit entry on the ad (`ad:{id}`) in the same transaction as the change itself.

use crate::audit::{self, Actor, NewEntry};
use crate::db::{Backend, Db, Flag, WriteTx};
use crate::market::Market;
use crate::policy::Category;
use crate::queue::{HumanVerdict, Source};
use crate::role::Role;
use crate::rollup;
use crate::time::Millis;
use serde::Serialize;
use serde_json::json;

/// Who is acting, and where they may act.
#[derive(Clone, Debug)]
pub struct Scope {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    /// The markets a reviewer carries (ignored for ops heads, who see every market).
    pub markets: Vec<Market>,
}

impl Scope {
    /// The markets this person may see and decide.
    pub fn visible_markets(&self) -> Vec<Market> {
        match self.role {
            Role::Reviewer => self.markets.clone(),
            _ => Market::ALL.to_vec(),
        }
    }

    /// Whether `market` is within this person's scope.
    pub fn sees(&self, market: Market) -> bool {
        self.role != Role::Reviewer || self.markets.contains(&market)
    }

    fn actor(&self) -> Actor {
        Actor::User(self.email.clone())
    }
}

/// Why a review action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// How the review desk runs (from the configuration).
#[derive(Clone, Copy, Debug)]
pub struct DeskSettings {
    pub lease_ms: Millis,
    /// Share of human reviews checked again, blind, by a second reviewer.
    pub qa_rate: f64,
    /// How long after submitting a review its reviewer may still undo it.
    pub undo_window_ms: Millis,
}

impl Default for DeskSettings {
    fn default() -> Self {
        DeskSettings {
            lease_ms: 5 * 60 * 1000,
            qa_rate: 0.05,
            undo_window_ms: 30 * 1000,
        }
    }
}

/// Size and age of one queue, within a person's scope.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueSummary {
    pub source: Source,
    pub open: i64,
    /// Open items nobody holds right now.
    pub available: i64,
    /// When the oldest open item entered the queue.
    pub oldest_at: Option<Millis>,
    /// Open items past their SLA due time.
    pub overdue: i64,
}

/// Placeholders `$first, $first+1, …` for a list of `n` bound values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Every queue this person works, with its size and age in their markets.
pub async fn summaries(db: &Db, scope: &Scope, now: Millis) -> sqlx::Result<Vec<QueueSummary>> {
    let markets = scope.visible_markets();
    if markets.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select source, count(*), \
         cast(sum(case when claimed_by is null or lease_expires_at < $1 then 1 else 0 end) as bigint), \
         min(created_at), cast(sum(case when due_at < $1 then 1 else 0 end) as bigint) \
         from review_tasks where state = 'open' and market in ({}) group by source",
        placeholders(2, markets.len())
    );
    let mut q = sqlx::query_as::<_, (String, i64, i64, Option<i64>, i64)>(&sql).bind(now);
    for m in &markets {
        q = q.bind(m.code());
    }
    let rows = q.fetch_all(db.pool()).await?;
    Ok(Source::ALL
        .into_iter()
        .filter(|s| s.worked_by(scope.role))
        .map(|source| {
            let row = rows.iter().find(|r| r.0 == source.as_str());
            QueueSummary {
                source,
                open: row.map_or(0, |r| r.1),
                available: row.map_or(0, |r| r.2),
                oldest_at: row.and_then(|r| r.3),
                overdue: row.map_or(0, |r| r.4),
            }
        })
        .collect())
}

fn check_works(scope: &Scope, source: Source) -> Result<(), ReviewError> {
    if source.worked_by(scope.role) {
        Ok(())
    } else {
        Err(ReviewError::Forbidden(format!(
            "the {} queue is not worked by your role",
            source.as_str()
        )))
    }
}

/// The open item this person holds, if any: (task id, source).
pub async fn held(db: &Db, scope: &Scope) -> sqlx::Result<Option<(i64, Source)>> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "select id, source from review_tasks where claimed_by = $1 and state = 'open'",
    )
    .bind(scope.user_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.and_then(|(id, s)| Some((id, s.parse().ok()?))))
}

/// Hands this person the next item of `source` in their markets, under a lease: the most
/// urgent by SLA due time, then the riskiest. An item they already hold in this queue is
/// handed back (lease renewed); one held in another queue is released first. `None` when
/// the queue has nothing for them. `avoid` is an item just skipped, not to be handed back at
/// once.
pub async fn claim_next(
    db: &Db,
    scope: &Scope,
    source: Source,
    settings: &DeskSettings,
    avoid: Option<i64>,
    now: Millis,
) -> Result<Option<i64>, ReviewError> {
    check_works(scope, source)?;
    if let Some((id, held_source)) = held(db, scope).await? {
        if held_source == source {
            renew(db, scope, id, settings, now).await?;
            return Ok(Some(id));
        }
        release(db, scope.user_id, id).await?;
    }
    let markets = scope.visible_markets();
    if markets.is_empty() {
        return Ok(None);
    }
    let lock = match db.backend() {
        Backend::Postgres => "for update skip locked",
        Backend::Sqlite => "",
    };
    // The best candidate in each market comes straight off an index; the most urgent of those
    // wins. Inside one write transaction (PostgreSQL skips rows other claimers have locked;
    // SQLite has one writer at a time), and the update re-checks that nobody holds the row.
    let candidate_sql = format!(
        "select id, due_at, risk from review_tasks \
         where state = 'open' and source = $1 and market = $2 \
         and (claimed_by is null or lease_expires_at < $3) \
         and (excluded_reviewer is null or excluded_reviewer <> $4) and id <> $5 \
         order by due_at, risk desc limit 1 {lock}"
    );
    for _ in 0..5 {
        let mut tx = db.begin_write().await?;
        let mut best: Option<(i64, Millis, f64)> = None;
        for m in &markets {
            let row: Option<(i64, Millis, f64)> = sqlx::query_as(&candidate_sql)
                .bind(source.as_str())
                .bind(m.code())
                .bind(now)
                .bind(scope.user_id)
                .bind(avoid.unwrap_or(-1))
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(c) = row {
                let better = best.is_none_or(|b| c.1 < b.1 || (c.1 == b.1 && c.2 > b.2));
                if better {
                    best = Some(c);
                }
            }
        }
        let Some((id, _, _)) = best else {
            return Ok(None);
        };
        let taken = sqlx::query(
            "update review_tasks set claimed_by = $1, claimed_at = $2, lease_expires_at = $3 \
             where id = $4 and state = 'open' and (claimed_by is null or lease_expires_at < $2)",
        )
        .bind(scope.user_id)
        .bind(now)
        .bind(now + settings.lease_ms)
        .bind(id)
        .execute(&mut *tx)
        .await;
        match taken {
            Ok(r) if r.rows_affected() == 1 => {
                tx.commit().await?;
                return Ok(Some(id));
            }
            // Another reviewer took it between our look and our write: look again.
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                // This person picked something up concurrently (another tab): release it.
                drop(tx);
                if let Some((held_id, _)) = held(db, scope).await? {
                    release(db, scope.user_id, held_id).await?;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ReviewError::Conflict(
        "the queue is very busy; try again".into(),
    ))
}

/// Takes one particular open item (picked from the list view) under a lease, if nobody
/// else holds it; whatever else this person held goes back to its queue.
pub async fn claim(
    db: &Db,
    scope: &Scope,
    task_id: i64,
    settings: &DeskSettings,
    now: Millis,
) -> Result<(), ReviewError> {
    let t = task_for(db, scope, task_id).await?;
    if t.state != "open" {
        return Err(ReviewError::Conflict(
            "this item has already been decided".into(),
        ));
    }
    if t.claimed_by == Some(scope.user_id) {
        renew(db, scope, task_id, settings, now).await?;
        return Ok(());
    }
    let excluded: Option<(Option<i64>,)> =
        sqlx::query_as("select excluded_reviewer from review_tasks where id = $1")
            .bind(task_id)
            .fetch_optional(db.pool())
            .await?;
    if matches!(excluded, Some((Some(u),)) if u == scope.user_id) {
        return Err(ReviewError::Forbidden(
            "this item must go to a different reviewer".into(),
        ));
    }
    if let Some((held, _)) = held(db, scope).await? {
        release(db, scope.user_id, held).await?;
    }
    let r = sqlx::query(
        "update review_tasks set claimed_by = $1, claimed_at = $2, lease_expires_at = $3 \
         where id = $4 and state = 'open' and (claimed_by is null or lease_expires_at < $2)",
    )
    .bind(scope.user_id)
    .bind(now)
    .bind(now + settings.lease_ms)
    .bind(task_id)
    .execute(db.pool())
    .await?;
    if r.rows_affected() == 1 {
        Ok(())
    } else {
        Err(ReviewError::Conflict(
            "someone else is working on this item".into(),
        ))
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation() || d.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

async fn release(db: &Db, user_id: i64, task_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "update review_tasks set claimed_by = null, claimed_at = null, lease_expires_at = null \
         where id = $1 and claimed_by = $2 and state = 'open'",
    )
    .bind(task_id)
    .bind(user_id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Extends this person's lease on an item they hold; false when it is no longer theirs.
pub async fn renew(
    db: &Db,
    scope: &Scope,
    task_id: i64,
    settings: &DeskSettings,
    now: Millis,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update review_tasks set lease_expires_at = $1 where id = $2 and claimed_by = $3 and state = 'open'",
    )
    .bind(now + settings.lease_ms)
    .bind(task_id)
    .bind(scope.user_id)
    .execute(db.pool())
    .await?;
    Ok(r.rows_affected() == 1)
}

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

type TaskRow = (
    i64,
    i64,
    String,
    String,
    String,
    i64,
    i64,
    f64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

const TASK_COLUMNS: &str = "id, ad_id, source, market, state, created_at, due_at, risk, \
    claimed_by, claimed_at, lease_expires_at, note, qa_of";

fn task_from(r: TaskRow) -> Option<Task> {
    Some(Task {
        id: r.0,
        ad_id: r.1,
        source: r.2.parse().ok()?,
        market: r.3.parse().ok()?,
        state: r.4,
        created_at: r.5,
        due_at: r.6,
        risk: r.7,
        claimed_by: r.8,
        claimed_at: r.9,
        lease_expires_at: r.10,
        note: r.11,
        qa_of: r.12,
    })
}

/// One task by id.
pub async fn task(db: &Db, id: i64) -> sqlx::Result<Option<Task>> {
    let sql = format!("select {TASK_COLUMNS} from review_tasks where id = $1");
    let row: Option<TaskRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.and_then(task_from))
}

/// The item this person may look at: one they hold, in their scope and queue.
pub async fn task_for(db: &Db, scope: &Scope, id: i64) -> Result<Task, ReviewError> {
    let t = task(db, id)
        .await?
        .ok_or(ReviewError::NotFound("review item"))?;
    if !scope.sees(t.market) {
        return Err(ReviewError::Forbidden(format!(
            "the {} market is outside your scope",
            t.market.code()
        )));
    }
    check_works(scope, t.source)?;
    Ok(t)
}

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
const MAX_NOTE: usize = 2000;

/// A required free text (a note, a statement), trimmed and at most `MAX_NOTE` characters.
fn required_text<'a>(text: &'a str, name: &str, when_empty: &str) -> Result<&'a str, ReviewError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ReviewError::Invalid(when_empty.into()));
    }
    if text.chars().count() > MAX_NOTE {
        return Err(ReviewError::Invalid(format!(
            "{name} is limited to {MAX_NOTE} characters"
        )));
    }
    Ok(text)
}

/// Checks a submission against the managed reason codes and the machine's action.
async fn validate(
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
struct AdFacts {
    status: String,
    machine_action: String,
    submitted_at: Millis,
}

async fn ad_facts(tx: &mut WriteTx, ad_id: i64) -> sqlx::Result<AdFacts> {
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

async fn sla_ms(tx: &mut WriteTx, market: Market) -> sqlx::Result<Millis> {
    let row: Option<(f64,)> =
        sqlx::query_as("select sla_hours from market_settings where market = $1")
            .bind(market.code())
            .fetch_optional(&mut **tx)
            .await?;
    Ok((row.map_or(24.0, |r| r.0) * 3_600_000.0) as Millis)
}

/// Takes an open task for submission inside `tx`. A single review needs the item to be held
/// by this person; a bulk decision may also take items nobody holds.
async fn take(
    tx: &mut WriteTx,
    scope: &Scope,
    task_id: i64,
    bulk: bool,
    now: Millis,
) -> Result<Task, ReviewError> {
    let sql = format!("select {TASK_COLUMNS} from review_tasks where id = $1");
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
        "update review_tasks set state = 'done', closed_at = $1, claimed_by = $2, lease_expires_at = null \
         where id = $3 and state = 'open' and (claimed_by is null or claimed_by = $2 or lease_expires_at < $1)",
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
    Ok(t)
}

fn categories_json(categories: &[Category]) -> String {
    serde_json::to_string(&categories.iter().map(|c| c.as_str()).collect::<Vec<_>>())
        .expect("categories serialise")
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
    let t = take(&mut tx, scope, task_id, bulk, now).await?;
    if bulk && !t.source.allows_bulk() {
        return Err(ReviewError::Invalid(format!(
            "{} items are decided one at a time",
            t.source.label()
        )));
    }
    let ad = ad_facts(&mut tx, t.ad_id).await?;
    validate(&mut tx, s, &ad.machine_action).await?;
    let mut rollups = rollup::Pending::before(&mut tx, t.ad_id).await?;
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
    if let Some(work) = rollup::review_work(&mut tx, review_id).await? {
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

/// Opens a task of `source` for the ad of `from`, unless one is already open (returns
/// whether it opened one).
async fn open_task(
    tx: &mut WriteTx,
    from: &Task,
    source: Source,
    note: Option<&str>,
    excluded_reviewer: Option<i64>,
    qa_of: Option<i64>,
    now: Millis,
) -> sqlx::Result<bool> {
    let due = now + sla_ms(tx, from.market).await?;
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
    sqlx::query(
        "insert into review_tasks (ad_id, source, market, state, created_at, due_at, risk, excluded_reviewer, note, qa_of) \
         values ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9)",
    )
    .bind(from.ad_id)
    .bind(source.as_str())
    .bind(from.market.code())
    .bind(now)
    .bind(due)
    .bind(from.risk)
    .bind(excluded_reviewer)
    .bind(note)
    .bind(qa_of)
    .execute(&mut **tx)
    .await?;
    Ok(true)
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
    let row: Option<(i64, String)> = sqlx::query_as(
        "update review_tasks set claimed_by = null, claimed_at = null, lease_expires_at = null \
         where id = $1 and claimed_by = $2 and state = 'open' returning ad_id, source",
    )
    .bind(task_id)
    .bind(scope.user_id)
    .fetch_optional(&mut *tx)
    .await?;
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
        "select count(*) from review_tasks where qa_of = $1 and (state <> 'open' or claimed_by is not null)",
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
             and state = 'open' and claimed_by is null and created_at >= $3",
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
    let mut rollups = rollup::Pending::before(&mut tx, ad_id).await?;
    if let Some(work) = rollup::review_work(&mut tx, review_id).await? {
        rollups.work(&work, -1.0);
    }
    sqlx::query("delete from reviews where id = $1")
        .bind(review_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "update review_tasks set claimed_by = null, claimed_at = null, lease_expires_at = null \
         where claimed_by = $1 and state = 'open'",
    )
    .bind(scope.user_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update review_tasks set state = 'open', closed_at = null, claimed_by = $1, claimed_at = $2, \
         lease_expires_at = $3 where id = $4",
    )
    .bind(scope.user_id)
    .bind(now)
    .bind(now + settings.lease_ms)
    .bind(task_id)
    .execute(&mut *tx)
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

/// An advertiser's appeal, as filed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AppealFiled {
    pub appeal_id: i64,
    pub ad_id: i64,
    pub status: String,
}

/// Files an appeal against a rejection: the ad becomes `appealed` and enters the appeal
/// queue, kept from the reviewer who rejected it. One open appeal per ad.
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
        .and_then(|(s,)| crate::ads::top_of_scores(&s))
        .map_or(0.0, |t| f64::from(t.1));
    // An audit sample still waiting is superseded: the appeal puts the ad in front of a human.
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

/// One row of a queue's list view.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueItem {
    pub task_id: i64,
    pub ad_id: i64,
    pub market: Market,
    pub language: Option<String>,
    pub headline: String,
    pub advertiser_id: String,
    /// The machine's flagged categories.
    pub reasons: Vec<Category>,
    pub top_category: Option<Category>,
    pub top_score: f64,
    pub created_at: Millis,
    pub due_at: Millis,
    pub risk: f64,
    /// Someone holds it right now (their email).
    pub held_by: Option<String>,
}

/// Filters of a queue's list view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueFilter {
    pub market: Option<Market>,
    pub category: Option<Category>,
    /// Keep items whose top score lies in [low, high).
    pub score_range: Option<(f64, f64)>,
    /// Keep items waiting at least this long.
    pub min_age_ms: Option<Millis>,
    pub limit: i64,
}

/// The open items of a queue in this person's markets, most urgent first.
pub async fn list_queue(
    db: &Db,
    scope: &Scope,
    source: Source,
    filter: &QueueFilter,
    now: Millis,
) -> Result<Vec<QueueItem>, ReviewError> {
    check_works(scope, source)?;
    let markets: Vec<Market> = scope
        .visible_markets()
        .into_iter()
        .filter(|m| filter.market.is_none_or(|f| f == *m))
        .collect();
    if markets.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select t.id, t.ad_id, t.market, a.language, a.headline, a.advertiser_id, d.reasons, d.scores, \
         t.created_at, t.due_at, t.risk, case when t.lease_expires_at >= $1 then u.email end \
         from review_tasks t join ads a on a.id = t.ad_id left join decisions d on d.ad_id = t.ad_id \
         left join users u on u.id = t.claimed_by \
         where t.state = 'open' and t.source = $2 and t.created_at <= $3 \
         and (t.excluded_reviewer is null or t.excluded_reviewer <> $4) and t.market in ({}) \
         order by t.due_at, t.risk desc limit $5",
        placeholders(6, markets.len())
    );
    type Row = (
        i64,
        i64,
        String,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
        i64,
        f64,
        Option<String>,
    );
    // Category and score filters apply to the decoded scores, so read a wider page first.
    let wanted = filter.limit.clamp(1, 1000);
    let fetch = if filter.category.is_some() || filter.score_range.is_some() {
        wanted * 10
    } else {
        wanted
    };
    let mut q = sqlx::query_as::<_, Row>(&sql)
        .bind(now)
        .bind(source.as_str())
        .bind(now - filter.min_age_ms.unwrap_or(0))
        .bind(scope.user_id)
        .bind(fetch);
    for m in &markets {
        q = q.bind(m.code());
    }
    let rows = q.fetch_all(db.pool()).await?;
    let mut items = Vec::new();
    for r in rows {
        let reasons: Vec<Category> =
            r.6.as_deref()
                .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
                .unwrap_or_default()
                .iter()
                .filter_map(|c| c.parse().ok())
                .collect();
        let top = r.7.as_deref().and_then(crate::ads::top_of_scores);
        let top_score = top.map_or(0.0, |t| f64::from(t.1));
        if let Some(c) = filter.category {
            let flagged = reasons.contains(&c) || top.is_some_and(|t| t.0 == c);
            if !flagged {
                continue;
            }
        }
        if let Some((low, high)) = filter.score_range
            && (top_score < low || top_score >= high)
        {
            continue;
        }
        let Ok(market) = r.2.parse() else { continue };
        items.push(QueueItem {
            task_id: r.0,
            ad_id: r.1,
            market,
            language: r.3,
            headline: r.4,
            advertiser_id: r.5,
            reasons,
            top_category: top.map(|t| t.0),
            top_score,
            created_at: r.8,
            due_at: r.9,
            risk: r.10,
            held_by: r.11,
        });
        if items.len() as i64 >= wanted {
            break;
        }
    }
    Ok(items)
}

/// A reason a reviewer can give.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReasonCode {
    pub code: String,
    pub label: String,
}

/// The active reason codes, in their managed order.
pub async fn reason_codes(db: &Db) -> sqlx::Result<Vec<ReasonCode>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("select code, label from reason_codes where active = $1 order by position")
            .bind(true)
            .fetch_all(db.pool())
            .await?;
    Ok(rows
        .into_iter()
        .map(|(code, label)| ReasonCode { code, label })
        .collect())
}

/// What an advertiser has done before, for the review screen.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AdvertiserHistory {
    pub ads: i64,
    pub rejected: i64,
    pub appeals: i64,
    pub appeals_overturned: i64,
    /// The latest other ads: (id, headline, status, submitted_at).
    pub recent: Vec<(i64, String, String, Millis)>,
}

/// The advertiser's record, leaving out the ad under review.
pub async fn advertiser_history(
    db: &Db,
    advertiser_id: &str,
    except_ad: i64,
) -> sqlx::Result<AdvertiserHistory> {
    let (ads, rejected): (i64, i64) = sqlx::query_as(
        "select count(*), cast(coalesce(sum(case when status in ('rejected', 'auto_rejected') then 1 else 0 end), 0) as bigint) \
         from ads where advertiser_id = $1 and id <> $2",
    )
    .bind(advertiser_id)
    .bind(except_ad)
    .fetch_one(db.pool())
    .await?;
    let (appeals, overturned): (i64, i64) = sqlx::query_as(
        "select count(*), cast(coalesce(sum(case when p.status = 'overturned' then 1 else 0 end), 0) as bigint) \
         from appeals p join ads a on a.id = p.ad_id where a.advertiser_id = $1",
    )
    .bind(advertiser_id)
    .fetch_one(db.pool())
    .await?;
    let recent: Vec<(i64, String, String, Millis)> = sqlx::query_as(
        "select id, headline, status, submitted_at from ads where advertiser_id = $1 and id <> $2 \
         order by submitted_at desc limit 5",
    )
    .bind(advertiser_id)
    .bind(except_ad)
    .fetch_all(db.pool())
    .await?;
    Ok(AdvertiserHistory {
        ads,
        rejected,
        appeals,
        appeals_overturned: overturned,
        recent,
    })
}

/// The first reviewer's verdict on the review a QA item checks (for after the blind
/// review, and for ops heads).
pub async fn review_verdict(db: &Db, review_id: i64) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("select verdict from reviews where id = $1")
        .bind(review_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.0))
}

/// One reviewer's work over a period.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReviewerDay {
    pub reviewer_id: i64,
    pub email: String,
    pub name: String,
    pub reviews: i64,
    pub overrides: i64,
    pub median_handling_ms: Option<Millis>,
    /// Of their reviews that a QA second reviewer checked: how many were agreed with.
    pub qa_checked: i64,
    pub qa_agreed: i64,
    /// Of their audit-sample reviews: how many agreed with the machine.
    pub audits: i64,
    pub audits_agreed: i64,
}

/// The median of a list of durations.
pub fn median(values: &mut [Millis]) -> Option<Millis> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2
    })
}

/// Cohen's kappa for two raters' binary verdicts: (first, second) pairs. `None` without
/// pairs or when chance agreement is already total.
pub fn cohens_kappa(pairs: &[(bool, bool)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let agree = pairs.iter().filter(|(a, b)| a == b).count() as f64 / n;
    let a_yes = pairs.iter().filter(|(a, _)| *a).count() as f64 / n;
    let b_yes = pairs.iter().filter(|(_, b)| *b).count() as f64 / n;
    let chance = a_yes * b_yes + (1.0 - a_yes) * (1.0 - b_yes);
    if (1.0 - chance).abs() < 1e-12 {
        return None;
    }
    Some((agree - chance) / (1.0 - chance))
}

type StatsRow = (i64, String, String, String, String, String, Flag, i64, i64);

/// Each reviewer's work with reviews finished in [from, to), optionally just one reviewer;
/// with the inter-reviewer agreement (Cohen's kappa over QA pairs) of the same period.
pub async fn reviewer_stats(
    db: &Db,
    from: Millis,
    to: Millis,
    only: Option<i64>,
) -> sqlx::Result<(Vec<ReviewerDay>, Option<f64>, i64)> {
    let rows: Vec<StatsRow> = sqlx::query_as(
        "select r.reviewer_id, u.email, u.display_name, r.source, r.verdict, r.machine_action, r.override, r.started_at, r.finished_at \
         from reviews r join users u on u.id = r.reviewer_id where r.finished_at >= $1 and r.finished_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    // QA pairs: the first review (by its reviewer) and the second opinion on it.
    let pairs: Vec<(i64, String, String)> = sqlx::query_as(
        "select f.reviewer_id, f.verdict, s.verdict from reviews s join review_tasks t on t.id = s.task_id \
         join reviews f on f.id = t.qa_of where s.source = 'qa' and s.finished_at >= $1 and s.finished_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let mut by: std::collections::BTreeMap<i64, (ReviewerDay, Vec<Millis>)> = Default::default();
    for (id, email, name, source, verdict, machine, overrode, started, finished) in rows {
        if only.is_some_and(|o| o != id) {
            continue;
        }
        let (day, times) = by.entry(id).or_insert_with(|| {
            (
                ReviewerDay {
                    reviewer_id: id,
                    email: email.clone(),
                    name: name.clone(),
                    ..Default::default()
                },
                Vec::new(),
            )
        });
        day.reviews += 1;
        day.overrides += i64::from(overrode.0);
        times.push((finished - started).max(0));
        if source == "audit" {
            day.audits += 1;
            day.audits_agreed += i64::from(verdict == machine);
        }
    }
    for (first_reviewer, first, second) in &pairs {
        if let Some((day, _)) = by.get_mut(first_reviewer) {
            day.qa_checked += 1;
            day.qa_agreed += i64::from(first == second);
        }
    }
    let kappa = cohens_kappa(
        &pairs
            .iter()
            .map(|(_, a, b)| (a == "reject", b == "reject"))
            .collect::<Vec<_>>(),
    );
    Ok((
        by.into_values()
            .map(|(mut day, mut times)| {
                day.median_handling_ms = median(&mut times);
                day
            })
            .collect(),
        kappa,
        pairs.len() as i64,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kappa_matches_a_worked_example() {
        // 50 pairs: 20 both reject, 15 both approve, 5 + 10 disagreements.
        let mut pairs = vec![(true, true); 20];
        pairs.extend(vec![(false, false); 15]);
        pairs.extend(vec![(true, false); 5]);
        pairs.extend(vec![(false, true); 10]);
        // p_o = 0.7; p_first = 0.5, p_second = 0.6; p_e = 0.3 + 0.2 = 0.5; κ = 0.4
        assert!((cohens_kappa(&pairs).unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(cohens_kappa(&[]), None);
        assert_eq!(cohens_kappa(&[(true, true), (true, true)]), None);
        assert!((cohens_kappa(&[(true, true), (false, false)]).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
    }

    #[test]
    fn placeholders_count_from_the_first() {
        assert_eq!(placeholders(3, 2), "$3,$4");
    }
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
            filed_at: crate::time::to_rfc3339(filed),
            decided_at: decided.map(crate::time::to_rfc3339),
        })
        .collect())
}

/// One event in an ad's life, for its timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEvent {
    pub at: Millis,
    pub actor: String,
    /// `submitted`, `decided`, or an audit action such as `review.override`.
    pub action: String,
    pub detail: String,
}

type AuditRow = (i64, String, String, Option<String>, Option<String>);

/// An ad's timeline: submission, the machine's decision, and every human action on it.
pub async fn timeline(db: &Db, ad_id: i64) -> sqlx::Result<Vec<TimelineEvent>> {
    let mut events = Vec::new();
    let ad: Option<(i64, String)> =
        sqlx::query_as("select submitted_at, source from ads where id = $1")
            .bind(ad_id)
            .fetch_optional(db.pool())
            .await?;
    if let Some((at, source)) = ad {
        events.push(TimelineEvent {
            at,
            actor: source,
            action: "submitted".into(),
            detail: String::new(),
        });
    }
    let decision: Option<(i64, String, String, Option<String>, Flag, String)> = sqlx::query_as(
        "select decided_at, worker, action, route, audit_sample, model_version from decisions where ad_id = $1",
    )
    .bind(ad_id)
    .fetch_optional(db.pool())
    .await?;
    if let Some((at, worker, action, route, audit_sample, model)) = decision {
        events.push(TimelineEvent {
            at,
            actor: format!("machine ({worker})"),
            action: "decided".into(),
            detail: format!(
                "{action}{}{} · model {model}",
                route.map(|r| format!(" → {r} queue")).unwrap_or_default(),
                if audit_sample.0 {
                    " (audit sample)"
                } else {
                    ""
                }
            ),
        });
    }
    let entries: Vec<AuditRow> = sqlx::query_as(
        "select at, actor, action, before_json, after_json from audit_log where object = $1 order by id",
    )
    .bind(format!("ad:{ad_id}"))
    .fetch_all(db.pool())
    .await?;
    for (at, actor, action, before, after) in entries {
        events.push(TimelineEvent {
            at,
            actor,
            action,
            detail: audit::summarize_change(before.as_deref(), after.as_deref()),
        });
    }
    events.sort_by_key(|e| e.at);
    Ok(events)
}

/// One ad with its final human verdict, as a training row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LabelRow {
    pub external_id: String,
    pub advertiser_id: String,
    pub market: String,
    pub language: Option<String>,
    pub headline: String,
    pub body: String,
    pub landing_url: Option<String>,
    pub daily_budget_usd: f64,
    /// The violated categories; empty when the human approved.
    pub labels: Vec<String>,
}

type LabelSql = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    f64,
    String,
    String,
);

/// The final human verdict on every ad a human decided (the latest review that decides
/// the ad: QA second opinions are left out), for reviews finished at or after `since`.
pub async fn final_labels(db: &Db, since: Millis) -> sqlx::Result<Vec<LabelRow>> {
    let rows: Vec<LabelSql> = sqlx::query_as(
        "select a.external_id, a.advertiser_id, a.market, a.language, a.headline, a.body, a.landing_url, \
         a.daily_budget_usd, r.verdict, r.categories from reviews r join ads a on a.id = r.ad_id \
         where r.source <> 'qa' and r.finished_at >= $1 and r.id = ( \
            select max(r2.id) from reviews r2 where r2.ad_id = r.ad_id and r2.source <> 'qa') \
         order by r.finished_at, r.id",
    )
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LabelRow {
            external_id: r.0,
            advertiser_id: r.1,
            market: r.2,
            language: r.3,
            headline: r.4,
            body: r.5,
            landing_url: r.6,
            daily_budget_usd: r.7,
            labels: if r.8 == "reject" {
                serde_json::from_str(&r.9).unwrap_or_default()
            } else {
                Vec::new()
            },
        })
        .collect())
}

/// A managed reason code, active or retired.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ManagedReason {
    pub code: String,
    pub label: String,
    pub active: bool,
}

/// Every reason code, in order, retired ones included.
pub async fn all_reason_codes(db: &Db) -> sqlx::Result<Vec<ManagedReason>> {
    let rows: Vec<(String, String, Flag)> =
        sqlx::query_as("select code, label, active from reason_codes order by position, code")
            .fetch_all(db.pool())
            .await?;
    Ok(rows
        .into_iter()
        .map(|(code, label, active)| ManagedReason {
            code,
            label,
            active: active.0,
        })
        .collect())
}

/// Adds a reason code or changes one's label or whether reviewers may still pick it
/// (codes are retired, never deleted: past reviews keep pointing at them). Audited.
pub async fn save_reason_code(
    db: &Db,
    actor: &Actor,
    code: &str,
    label: &str,
    active: bool,
    now: Millis,
) -> Result<(), ReviewError> {
    let code = code.trim();
    let label = label.trim();
    if code.is_empty()
        || code.len() > 40
        || !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ReviewError::Invalid(
            "a reason code is 1 to 40 characters of a–z, 0–9 and _".into(),
        ));
    }
    if label.is_empty() || label.chars().count() > 120 {
        return Err(ReviewError::Invalid(
            "a reason needs a label of 1 to 120 characters".into(),
        ));
    }
    let mut tx = db.begin_write().await?;
    let before: Option<(String, Flag)> =
        sqlx::query_as("select label, active from reason_codes where code = $1")
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?;
    match &before {
        Some(_) => {
            sqlx::query("update reason_codes set label = $1, active = $2 where code = $3")
                .bind(label)
                .bind(active)
                .bind(code)
                .execute(&mut *tx)
                .await?;
        }
        None => {
            sqlx::query(
                "insert into reason_codes (code, label, position, active) \
                 values ($1, $2, (select coalesce(max(position), 0) + 1 from reason_codes), $3)",
            )
            .bind(code)
            .bind(label)
            .bind(active)
            .execute(&mut *tx)
            .await?;
        }
    }
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: "settings.reason_code",
            object: format!("reason:{code}"),
            before: before.map(|(l, a)| json!({ "label": l, "active": a.0 })),
            after: Some(json!({ "label": label, "active": active })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
