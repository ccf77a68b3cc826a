//! Golden items: decided ads whose right answer an ops head has set, handed to reviewers now
//! and then (a share of their items, 2% by default) to measure each reviewer's accuracy
//! against a known answer rather than against another reviewer.
//!
//! A golden item lives beside the queues, never in them. Its task (`golden_tasks`) takes an id
//! from the review tasks' own sequence and its answer (`golden_answers`) one from the reviews',
//! so nothing a reviewer is sent tells it apart from any other item; and since neither table is
//! `review_tasks` or `reviews`, no queue count, SLA, KPI, rollup or training row ever reads it.
//! A golden item is handed in the queue it would naturally have gone to (the machine's route;
//! the audit queue for an ad the machine decided alone), in the reviewer's markets and
//! languages, never to someone who reviewed the ad or answered it before, and never past an
//! exposure cap.

use super::verdicts::{Submission, Submitted, validate};
use super::{DeskSettings, ReviewError, Scope};
use crate::access::audit::{self, Actor, NewEntry};
use crate::platform::db::{Backend, Db, WriteTx, numbered};
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use crate::vocab::queue::{HumanVerdict, Source};
use crate::vocab::role::Role;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The share of a reviewer's items that are golden when nobody has set it.
pub const DEFAULT_RATE: f64 = 0.02;
/// The largest share accepted: 1 hands golden items only, while any are left for the person
/// (a calibration session).
pub const MAX_RATE: f64 = 1.0;

/// An ad marked golden, with how reviewers have done on it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GoldenItem {
    pub ad_id: i64,
    pub external_id: String,
    pub market: String,
    pub headline: String,
    pub verdict: HumanVerdict,
    pub categories: Vec<Category>,
    pub marked_by: String,
    pub marked_at: Millis,
    pub answered: i64,
    pub correct: i64,
    /// The queue it is handed in: the machine's review route, or audit.
    pub queue: String,
}

/// Whether a claim with uniform `draw` in [0, 1) hands a golden item, at `rate`.
pub fn hands_golden(rate: f64, draw: f64) -> bool {
    draw < rate
}

/// Whether `verdict` and `categories` are the golden answer: the same verdict and, for a
/// rejection, every category the answer names.
pub fn is_correct(
    expected: HumanVerdict,
    expected_categories: &[Category],
    verdict: HumanVerdict,
    categories: &[Category],
) -> bool {
    verdict == expected
        && (expected == HumanVerdict::Approve
            || expected_categories.iter().all(|c| categories.contains(c)))
}

fn categories_json(categories: &[Category]) -> String {
    serde_json::to_string(&categories.iter().map(|c| c.as_str()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

fn parse_categories(json: &str) -> Vec<Category> {
    serde_json::from_str::<Vec<String>>(json)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect()
}

/// Checks a golden answer: a rejection names the categories it violates, an approval none.
pub fn check_answer(verdict: HumanVerdict, categories: &[Category]) -> Result<(), ReviewError> {
    match verdict {
        HumanVerdict::Reject if categories.is_empty() => Err(ReviewError::Invalid(
            "categories: a golden rejection names at least one violated category".into(),
        )),
        HumanVerdict::Approve if !categories.is_empty() => Err(ReviewError::Invalid(
            "categories: a golden approval names no category".into(),
        )),
        _ => Ok(()),
    }
}

/// Marks a decided ad golden with its right answer (or changes the answer); audited.
pub async fn mark(
    db: &Db,
    actor: &Actor,
    ad_id: i64,
    verdict: HumanVerdict,
    categories: &[Category],
    now: Millis,
) -> Result<(), ReviewError> {
    check_answer(verdict, categories)?;
    let mut categories = categories.to_vec();
    categories.sort();
    categories.dedup();
    let mut tx = db.begin_write().await?;
    let decided: Option<(i64,)> = sqlx::query_as("select count(*) from decisions where ad_id = $1")
        .bind(ad_id)
        .fetch_optional(&mut *tx)
        .await?;
    let exists: Option<(i64,)> = sqlx::query_as("select id from ads where id = $1")
        .bind(ad_id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(ReviewError::NotFound("ad"));
    }
    if decided.is_none_or(|(n,)| n == 0) {
        return Err(ReviewError::Invalid(format!(
            "ad {ad_id} has not been decided yet; only decided ads can be golden"
        )));
    }
    let before: Option<(String, String)> =
        sqlx::query_as("select verdict, categories from golden_items where ad_id = $1")
            .bind(ad_id)
            .fetch_optional(&mut *tx)
            .await?;
    sqlx::query(
        "insert into golden_items (ad_id, verdict, categories, marked_by, marked_at) values ($1, $2, $3, $4, $5) \
         on conflict (ad_id) do update set verdict = excluded.verdict, categories = excluded.categories, \
         marked_by = excluded.marked_by, marked_at = excluded.marked_at",
    )
    .bind(ad_id)
    .bind(verdict.as_str())
    .bind(categories_json(&categories))
    .bind(actor.as_text())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: "golden.mark",
            object: format!("ad:{ad_id}"),
            before: before
                .map(|(v, c)| json!({ "verdict": v, "categories": parse_categories(&c) })),
            after: Some(json!({ "verdict": verdict.as_str(), "categories": categories })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Takes an ad out of the golden set (its answers so far stay scored); audited.
pub async fn unmark(db: &Db, actor: &Actor, ad_id: i64, now: Millis) -> Result<(), ReviewError> {
    let mut tx = db.begin_write().await?;
    let before: Option<(String, String)> =
        sqlx::query_as("select verdict, categories from golden_items where ad_id = $1")
            .bind(ad_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((verdict, categories)) = before else {
        return Err(ReviewError::NotFound("golden item"));
    };
    sqlx::query("delete from golden_items where ad_id = $1")
        .bind(ad_id)
        .execute(&mut *tx)
        .await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: "golden.unmark",
            object: format!("ad:{ad_id}"),
            before: Some(
                json!({ "verdict": verdict, "categories": parse_categories(&categories) }),
            ),
            after: None,
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Marks golden every ad of an `amso export-labels` file: one JSON object a line, the ad by
/// its `external_id`, `labels` its violated categories (empty: approve). A bad line is
/// reported with its number and why; the good ones still load. Answers (marked, refused).
pub async fn import_labels(
    db: &Db,
    actor: &Actor,
    text: &str,
    now: Millis,
) -> sqlx::Result<(usize, Vec<(usize, String)>)> {
    #[derive(serde::Deserialize)]
    struct Row {
        external_id: String,
        labels: Vec<String>,
    }
    let mut marked = 0;
    let mut refused = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        let row: Row = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => {
                refused.push((i + 1, format!("not a label row (external_id, labels): {e}")));
                continue;
            }
        };
        let categories: Result<Vec<Category>, String> = row
            .labels
            .iter()
            .map(|c| {
                c.parse().map_err(|_| {
                    format!(
                        "labels: `{}` is not a policy category",
                        c.chars().take(40).collect::<String>()
                    )
                })
            })
            .collect();
        let categories = match categories {
            Ok(c) => c,
            Err(e) => {
                refused.push((i + 1, e));
                continue;
            }
        };
        let ad: Option<(i64,)> =
            sqlx::query_as("select id from ads where external_id = $1 order by id desc limit 1")
                .bind(&row.external_id)
                .fetch_optional(db.pool())
                .await?;
        let Some((ad_id,)) = ad else {
            refused.push((
                i + 1,
                format!(
                    "no ad has external_id `{}`",
                    row.external_id.chars().take(80).collect::<String>()
                ),
            ));
            continue;
        };
        let verdict = if categories.is_empty() {
            HumanVerdict::Approve
        } else {
            HumanVerdict::Reject
        };
        match mark(db, actor, ad_id, verdict, &categories, now).await {
            Ok(()) => marked += 1,
            Err(ReviewError::Db(e)) => return Err(e),
            Err(e) => refused.push((i + 1, e.to_string())),
        }
    }
    Ok((marked, refused))
}

/// Whether the machine has decided an ad (only then can it be golden).
pub async fn is_decided(db: &Db, ad_id: i64) -> sqlx::Result<bool> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from decisions where ad_id = $1")
        .bind(ad_id)
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

/// The golden answer of an ad, if it is golden.
pub async fn of_ad(db: &Db, ad_id: i64) -> sqlx::Result<Option<(HumanVerdict, Vec<Category>)>> {
    let row: Option<(String, String)> =
        sqlx::query_as("select verdict, categories from golden_items where ad_id = $1")
            .bind(ad_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.and_then(|(v, c)| Some((HumanVerdict::parse(&v)?, parse_categories(&c)))))
}

type ItemRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
);

/// Every golden item, newest first, with how many answers it got and how many were right.
pub async fn list(db: &Db) -> sqlx::Result<Vec<GoldenItem>> {
    let rows: Vec<ItemRow> = sqlx::query_as(
        "select g.ad_id, a.external_id, a.market, a.headline, g.verdict, g.categories, g.marked_by, g.marked_at, \
         cast((select count(*) from golden_answers x where x.ad_id = g.ad_id) as bigint), \
         cast((select count(*) from golden_answers x where x.ad_id = g.ad_id and x.correct = 1) as bigint), \
         (select case when d.action = 'review' then d.route else 'audit' end from decisions d where d.ad_id = g.ad_id) \
         from golden_items g join ads a on a.id = g.ad_id order by g.marked_at desc, g.ad_id desc",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(GoldenItem {
                ad_id: r.0,
                external_id: r.1,
                market: r.2,
                headline: r.3,
                verdict: HumanVerdict::parse(&r.4)?,
                categories: parse_categories(&r.5),
                marked_by: r.6,
                marked_at: r.7,
                answered: r.8,
                correct: r.9,
                queue: r.10.unwrap_or_else(|| "audit".into()),
            })
        })
        .collect())
}

/// The share of each reviewer's items that are golden.
pub async fn rate(db: &Db) -> sqlx::Result<f64> {
    let (rate,): (f64,) = sqlx::query_as("select golden_rate from wellness_settings where id = 1")
        .fetch_one(db.pool())
        .await?;
    Ok(rate)
}

/// Sets the golden share (0 stops handing golden items); audited.
pub async fn set_rate(db: &Db, actor: &Actor, rate: f64, now: Millis) -> Result<(), ReviewError> {
    if !(0.0..=MAX_RATE).contains(&rate) {
        return Err(ReviewError::Invalid(format!(
            "golden_rate must be between 0 and {MAX_RATE} (got {rate})"
        )));
    }
    let mut tx = db.begin_write().await?;
    let (before,): (f64,) =
        sqlx::query_as("select golden_rate from wellness_settings where id = 1")
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query(
        "update wellness_settings set golden_rate = $1, updated_by = $2, updated_at = $3 where id = 1",
    )
    .bind(rate)
    .bind(actor.as_text())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: "golden.rate",
            object: "settings:golden".into(),
            before: Some(json!({ "golden_rate": before })),
            after: Some(json!({ "golden_rate": rate })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The next id of `table`'s own sequence, taken so that no row of it ever gets the same one.
async fn next_id(tx: &mut WriteTx, table: &str) -> sqlx::Result<i64> {
    match tx.backend() {
        Backend::Postgres => {
            let (id,): (i64,) = sqlx::query_as("select nextval(pg_get_serial_sequence($1, 'id'))")
                .bind(table)
                .fetch_one(&mut **tx)
                .await?;
            Ok(id)
        }
        // AUTOINCREMENT never hands out an id at or below the one kept in sqlite_sequence.
        Backend::Sqlite => {
            let taken: Option<(i64,)> = sqlx::query_as(
                "update sqlite_sequence set seq = seq + 1 where name = $1 returning seq",
            )
            .bind(table)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some((id,)) = taken {
                return Ok(id);
            }
            let (top,): (i64,) =
                sqlx::query_as(&format!("select coalesce(max(id), 0) from {table}"))
                    .fetch_one(&mut **tx)
                    .await?;
            sqlx::query("insert into sqlite_sequence (name, seq) values ($1, $2)")
                .bind(table)
                .bind(top + 1)
                .execute(&mut **tx)
                .await?;
            Ok(top + 1)
        }
    }
}

/// The queues a golden item can be handed in, and the machine's decision that sends an ad
/// to each: its review route, or (audit) a decision the machine took alone.
fn route_of(source: Source) -> Option<&'static str> {
    match source {
        Source::Uncertain => Some("d.action = 'review' and d.route = 'uncertain'"),
        Source::Restricted => Some("d.action = 'review' and d.route = 'restricted'"),
        Source::Audit => Some("d.action <> 'review'"),
        _ => None,
    }
}

/// Inside claim-next's transaction: hands this reviewer a golden item of `source`, if one
/// suits them (their markets and languages, not one they reviewed or answered, nothing they
/// are capped on), under the same lease as any item. Whatever else they held is let go.
#[expect(
    clippy::too_many_arguments,
    reason = "claim-next's own inputs, passed through"
)]
pub(super) async fn hand(
    tx: &mut WriteTx,
    scope: &Scope,
    source: Source,
    markets: &[Market],
    reads: &[String],
    reached: &[Category],
    settings: &DeskSettings,
    wait_draw: f64,
    now: Millis,
) -> sqlx::Result<Option<(i64, i64)>> {
    let Some(route) = route_of(source) else {
        return Ok(None);
    };
    if scope.role != Role::Reviewer || markets.is_empty() {
        return Ok(None);
    }
    let mut next = 2;
    let market_in = numbered(next, markets.len());
    next += markets.len();
    let language = if reads.is_empty() {
        String::new()
    } else {
        let s = format!(
            "and coalesce(a.language, '') in ('', {})",
            numbered(next, reads.len())
        );
        next += reads.len();
        s
    };
    let capped: String = (0..reached.len())
        .map(|i| format!(" and d.reasons not like ${}", next + i))
        .collect();
    let sql = format!(
        "select g.ad_id, a.market from golden_items g join ads a on a.id = g.ad_id \
         join decisions d on d.ad_id = g.ad_id \
         where {route} and a.market in ({market_in}) {language} {capped} \
         and not exists (select 1 from golden_tasks x where x.ad_id = g.ad_id and x.user_id = $1) \
         and not exists (select 1 from reviews r where r.ad_id = g.ad_id and r.reviewer_id = $1) \
         order by random() limit 1"
    );
    let mut q = sqlx::query_as::<_, (i64, String)>(&sql).bind(scope.user_id);
    for m in markets {
        q = q.bind(m.code());
    }
    for l in reads {
        q = q.bind(l.as_str());
    }
    for c in reached {
        q = q.bind(format!("%\"{}\"%", c.as_str()));
    }
    let Some((ad_id, market)) = q.fetch_optional(&mut **tx).await? else {
        return Ok(None);
    };
    let Ok(parsed) = market.parse::<Market>() else {
        return Ok(None);
    };
    // It arrived a little while ago, as the items around it did.
    let created_at = now - (wait_draw * 90.0 * 60_000.0) as Millis - 60_000;
    let due_at = super::tasks::due_for(tx, parsed, created_at).await?;
    let id = next_id(tx, "review_tasks").await?;
    sqlx::query("delete from review_claims where user_id = $1")
        .bind(scope.user_id)
        .execute(&mut **tx)
        .await?;
    drop_open(tx, scope.user_id).await?;
    open_task(
        tx,
        &GoldenTask {
            id,
            ad_id,
            user_id: scope.user_id,
            source,
            market: parsed,
            created_at,
            due_at,
            claimed_at: now,
            lease_expires_at: now + settings.lease_ms,
            open: true,
        },
    )
    .await?;
    Ok(Some((id, ad_id)))
}

/// Writes a golden task, handed to its reviewer.
async fn open_task(tx: &mut WriteTx, t: &GoldenTask) -> sqlx::Result<()> {
    sqlx::query(
        "insert into golden_tasks (id, ad_id, user_id, source, market, created_at, due_at, claimed_at, lease_expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(t.id)
    .bind(t.ad_id)
    .bind(t.user_id)
    .bind(t.source.as_str())
    .bind(t.market.code())
    .bind(t.created_at)
    .bind(t.due_at)
    .bind(t.claimed_at)
    .bind(t.lease_expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Lets go of the golden item this person holds, if any (they took another item).
pub(super) async fn drop_open(tx: &mut WriteTx, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("update golden_tasks set state = 'dropped' where user_id = $1 and state = 'open'")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A golden task as its reviewer's screens read it.
#[derive(Clone, Debug, PartialEq)]
pub struct GoldenTask {
    pub id: i64,
    pub ad_id: i64,
    pub user_id: i64,
    pub source: Source,
    pub market: Market,
    pub created_at: Millis,
    pub due_at: Millis,
    pub claimed_at: Millis,
    pub lease_expires_at: Millis,
    pub open: bool,
}

type TaskRow = (i64, i64, i64, String, String, i64, i64, i64, i64, String);

const TASK_SQL: &str = "select id, ad_id, user_id, source, market, created_at, due_at, claimed_at, \
     lease_expires_at, state from golden_tasks";

fn task_of(r: TaskRow) -> Option<GoldenTask> {
    Some(GoldenTask {
        id: r.0,
        ad_id: r.1,
        user_id: r.2,
        source: r.3.parse().ok()?,
        market: r.4.parse().ok()?,
        created_at: r.5,
        due_at: r.6,
        claimed_at: r.7,
        lease_expires_at: r.8,
        open: r.9 == "open",
    })
}

/// The golden task `id`, if it is one and was handed to `user_id` (nobody else ever sees it).
pub async fn task_of_user<'e, E>(exec: E, id: i64, user_id: i64) -> sqlx::Result<Option<GoldenTask>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<TaskRow> =
        sqlx::query_as(&format!("{TASK_SQL} where id = $1 and user_id = $2"))
            .bind(id)
            .bind(user_id)
            .fetch_optional(exec)
            .await?;
    Ok(row.and_then(task_of))
}

/// Whether `id` is a golden task at all (handed to anyone).
pub async fn is_golden_task(db: &Db, id: i64) -> sqlx::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("select id from golden_tasks where id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.is_some())
}

/// Extends the lease on a golden item this person holds: `None` when `id` is not theirs.
pub(super) async fn renew(
    db: &Db,
    user_id: i64,
    id: i64,
    settings: &DeskSettings,
    now: Millis,
) -> sqlx::Result<Option<bool>> {
    let Some(t) = task_of_user(db.pool(), id, user_id).await? else {
        return Ok(None);
    };
    if !t.open {
        return Ok(Some(false));
    }
    let mut tx = db.begin_write().await?;
    drop_others(&mut tx, user_id, id).await?;
    sqlx::query("update golden_tasks set lease_expires_at = $1 where id = $2")
        .bind(now + settings.lease_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(true))
}

/// Picking a golden item up again lets go of any ordinary one held.
async fn drop_others(tx: &mut WriteTx, user_id: i64, keep: i64) -> sqlx::Result<()> {
    sqlx::query("delete from review_claims where user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "update golden_tasks set state = 'dropped' where user_id = $1 and state = 'open' and id <> $2",
    )
    .bind(user_id)
    .bind(keep)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inside submit's transaction: if `task_id` is a golden item, scores this person's answer
/// and answers as an ordinary submit would (the id of a review, the ad's status as the
/// verdict would leave it); `None` when it is not a golden item.
pub(super) async fn answer(
    tx: &mut WriteTx,
    scope: &Scope,
    task_id: i64,
    s: &Submission,
    now: Millis,
) -> Result<Option<Submitted>, ReviewError> {
    let row: Option<TaskRow> = sqlx::query_as(&format!("{TASK_SQL} where id = $1"))
        .bind(task_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(t) = row.and_then(task_of) else {
        return Ok(None);
    };
    if t.user_id != scope.user_id || !t.open {
        return Err(ReviewError::Conflict("you do not hold this item".into()));
    }
    let machine: Option<(String,)> =
        sqlx::query_as("select action from decisions where ad_id = $1")
            .bind(t.ad_id)
            .fetch_optional(&mut **tx)
            .await?;
    let machine_action = machine.map(|m| m.0).unwrap_or_default();
    validate(tx, s, &machine_action).await?;
    let expected: Option<(String, String)> =
        sqlx::query_as("select verdict, categories from golden_items where ad_id = $1")
            .bind(t.ad_id)
            .fetch_optional(&mut **tx)
            .await?;
    let id = next_id(tx, "reviews").await?;
    match expected.and_then(|(v, c)| Some((HumanVerdict::parse(&v)?, parse_categories(&c)))) {
        Some((verdict, categories)) => {
            let correct = is_correct(verdict, &categories, s.verdict, &s.categories);
            sqlx::query(
                "insert into golden_answers (id, task_id, ad_id, user_id, market, verdict, categories, \
                 expected_verdict, expected_categories, correct, started_at, finished_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(id)
            .bind(t.id)
            .bind(t.ad_id)
            .bind(scope.user_id)
            .bind(t.market.code())
            .bind(s.verdict.as_str())
            .bind(categories_json(&s.categories))
            .bind(verdict.as_str())
            .bind(categories_json(&categories))
            .bind(i32::from(correct))
            .bind(t.claimed_at)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            sqlx::query("update golden_tasks set state = 'answered' where id = $1")
                .bind(t.id)
                .execute(&mut **tx)
                .await?;
        }
        // Taken out of the golden set while it was on screen: nothing to score.
        None => {
            sqlx::query("update golden_tasks set state = 'dropped' where id = $1")
                .bind(t.id)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(Some(Submitted {
        review_id: id,
        ad_id: t.ad_id,
        overrode_machine: s.verdict.overrides(&machine_action),
        ad_status: match s.verdict {
            HumanVerdict::Approve => "approved",
            HumanVerdict::Reject => "rejected",
        }
        .into(),
        qa_sampled: false,
        escalated: false,
    }))
}

/// Hands golden `ad_id` to this reviewer in `source` at `handed_at` and takes their answer at
/// `answered_at`: how a history written after the fact (the demo's) records golden answers.
pub async fn answer_at(
    db: &Db,
    scope: &Scope,
    ad_id: i64,
    source: Source,
    s: &Submission,
    handed_at: Millis,
    answered_at: Millis,
) -> Result<Submitted, ReviewError> {
    let (market,): (String,) = sqlx::query_as("select market from ads where id = $1")
        .bind(ad_id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(ReviewError::NotFound("ad"))?;
    let market: Market = market
        .parse()
        .map_err(|_| ReviewError::NotFound("ad market"))?;
    let mut tx = db.begin_write().await?;
    let id = next_id(&mut tx, "review_tasks").await?;
    open_task(
        &mut tx,
        &GoldenTask {
            id,
            ad_id,
            user_id: scope.user_id,
            source,
            market,
            created_at: handed_at - 600_000,
            due_at: handed_at + 86_400_000,
            claimed_at: handed_at,
            lease_expires_at: answered_at.max(handed_at) + 300_000,
            open: true,
        },
    )
    .await?;
    let done = answer(&mut tx, scope, id, s, answered_at)
        .await?
        .ok_or(ReviewError::NotFound("golden item"))?;
    tx.commit().await?;
    Ok(done)
}

/// Inside a skip's or an escalation's transaction: lets go of a golden item this person
/// holds (unscored). False when `task_id` is not a golden item of theirs.
pub(super) async fn let_go(tx: &mut WriteTx, scope: &Scope, task_id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update golden_tasks set state = 'dropped' where id = $1 and user_id = $2 and state = 'open'",
    )
    .bind(task_id)
    .bind(scope.user_id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Inside an undo's transaction: takes back this person's answer `review_id` to a golden
/// item within the window and hands the item back to them. `None` when it is not one.
pub(super) async fn undo(
    tx: &mut WriteTx,
    scope: &Scope,
    review_id: i64,
    settings: &DeskSettings,
    now: Millis,
) -> Result<Option<i64>, ReviewError> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "select task_id, finished_at from golden_answers where id = $1 and user_id = $2",
    )
    .bind(review_id)
    .bind(scope.user_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((task_id, finished_at)) = row else {
        return Ok(None);
    };
    if now - finished_at > settings.undo_window_ms {
        return Err(ReviewError::Conflict(
            "the undo window for this review has passed".into(),
        ));
    }
    sqlx::query("delete from golden_answers where id = $1")
        .bind(review_id)
        .execute(&mut **tx)
        .await?;
    drop_others(tx, scope.user_id, task_id).await?;
    sqlx::query(
        "update golden_tasks set state = 'open', claimed_at = $1, lease_expires_at = $2 where id = $3",
    )
    .bind(now)
    .bind(now + settings.lease_ms)
    .bind(task_id)
    .execute(&mut **tx)
    .await?;
    Ok(Some(task_id))
}

/// A reviewer's accuracy on golden items over a period: overall and per category (each
/// category the right answer named; `approve` for items whose right answer was approval).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GoldenScore {
    pub reviewer_id: i64,
    pub email: String,
    pub name: String,
    pub answered: i64,
    pub correct: i64,
    /// (category or `approve`, answered, right), in category order, `approve` last.
    pub by_category: Vec<(String, i64, i64)>,
}

type AnswerRow = (i64, String, String, String, String, String, String);

/// Each reviewer's golden answers finished in [from, to), optionally one reviewer's.
pub async fn accuracy(
    db: &Db,
    from: Millis,
    to: Millis,
    only: Option<i64>,
) -> sqlx::Result<Vec<GoldenScore>> {
    let rows: Vec<AnswerRow> = sqlx::query_as(
        "select g.user_id, u.email, u.display_name, g.verdict, g.categories, g.expected_verdict, \
         g.expected_categories from golden_answers g join users u on u.id = g.user_id \
         where g.finished_at >= $1 and g.finished_at < $2 and (cast($3 as bigint) is null or g.user_id = $3) \
         order by u.display_name, g.user_id",
    )
    .bind(from)
    .bind(to)
    .bind(only)
    .fetch_all(db.pool())
    .await?;
    // Per reviewer: their score and, per category key, (answered, right).
    type Cells = BTreeMap<String, (i64, i64)>;
    let mut by: BTreeMap<i64, (GoldenScore, Cells)> = BTreeMap::new();
    for (user, email, name, verdict, categories, expected, expected_categories) in rows {
        let (Some(verdict), Some(expected)) = (
            HumanVerdict::parse(&verdict),
            HumanVerdict::parse(&expected),
        ) else {
            continue;
        };
        let named = parse_categories(&categories);
        let right = parse_categories(&expected_categories);
        let (score, cells) = by.entry(user).or_insert_with(|| {
            (
                GoldenScore {
                    reviewer_id: user,
                    email,
                    name,
                    ..Default::default()
                },
                BTreeMap::new(),
            )
        });
        score.answered += 1;
        score.correct += i64::from(is_correct(expected, &right, verdict, &named));
        if expected == HumanVerdict::Approve {
            let cell = cells.entry("~approve".into()).or_default();
            cell.0 += 1;
            cell.1 += i64::from(verdict == HumanVerdict::Approve);
        }
        for c in &right {
            let cell = cells.entry(format!("{:02}", c.index())).or_default();
            cell.0 += 1;
            cell.1 += i64::from(verdict == HumanVerdict::Reject && named.contains(c));
        }
    }
    Ok(by
        .into_values()
        .map(|(mut score, cells)| {
            score.by_category = cells
                .into_iter()
                .map(|(key, (n, right))| {
                    let name = key
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| Category::ALL.get(i))
                        .map_or("approve", |c| c.as_str());
                    (name.to_string(), n, right)
                })
                .collect();
            score
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    #[test]
    fn the_golden_share_of_claims_is_the_rate() {
        let mut rng = StdRng::seed_from_u64(9);
        for rate in [0.0, 0.02, 0.1] {
            let n = 200_000;
            let golden = (0..n)
                .filter(|_| hands_golden(rate, rng.r#gen::<f64>()))
                .count();
            let share = golden as f64 / n as f64;
            // Three standard errors of a binomial share.
            let tolerance = 3.0 * (rate * (1.0 - rate) / n as f64).sqrt() + 1e-12;
            assert!(
                (share - rate).abs() <= tolerance,
                "rate {rate}: share {share}"
            );
        }
        assert!(!hands_golden(0.0, 0.0));
        assert!(hands_golden(1.0, 0.999_999));
    }

    #[test]
    fn an_answer_is_right_with_the_verdict_and_every_category_named() {
        use Category::*;
        use HumanVerdict::*;
        assert!(is_correct(Approve, &[], Approve, &[]));
        assert!(!is_correct(Approve, &[], Reject, &[Scam]));
        assert!(is_correct(Reject, &[Scam], Reject, &[Scam, Adult]));
        assert!(!is_correct(Reject, &[Scam, Adult], Reject, &[Scam]));
        assert!(!is_correct(Reject, &[Scam], Approve, &[]));
    }

    #[test]
    fn a_golden_answer_names_categories_only_for_a_rejection() {
        assert!(check_answer(HumanVerdict::Reject, &[]).is_err());
        assert!(check_answer(HumanVerdict::Approve, &[Category::Scam]).is_err());
        assert!(check_answer(HumanVerdict::Reject, &[Category::Scam]).is_ok());
        assert!(check_answer(HumanVerdict::Approve, &[]).is_ok());
    }
}
