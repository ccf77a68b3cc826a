//! Retroaction: a live rule run over ads already auto-approved in a window. By default what
//! it matches is reopened into review (the rule's review queue, or the uncertain queue for a
//! reject or flag rule). A reject rule may instead reject its matches outright, but only when
//! a second person approves the request (`request_reject` then `decide`). Idempotent: an ad
//! a rule swept up once (its `rule_hits` row in mode `retro`) is never swept up by it again,
//! and only ads still auto-approved are touched. A dry run counts first. Every sweep, request
//! and decision is audited with its count.

use super::backtest::{BacktestError, scan};
use super::matcher::{Mode, RuleSet, Source as RuleSource};
use super::spec::CheckedAction;
use super::store::{self, State};
use crate::access::audit::{self, Actor, NewEntry};
use crate::platform::db::{Db, WriteTx, values_list};
use crate::platform::time::Millis;
use crate::review::tasks::{self, NewTask};
use crate::vocab::market::Market;
use crate::vocab::queue::Source;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;

const DAY_MS: i64 = 86_400_000;

/// What a retroaction found and did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retro {
    pub rule_id: i64,
    pub version: i64,
    pub days: u32,
    pub dry_run: bool,
    /// Auto-approved ads in the window the rule matches.
    pub matched: u64,
    /// Of those, already swept up by this rule before.
    pub already: u64,
    /// Reopened into review now (0 in a dry run).
    pub reopened: u64,
    /// The queue they go to.
    pub queue: String,
}

pub use super::view::RejectRequest;

/// Why a retroaction did not run.
#[derive(Debug, thiserror::Error)]
pub enum RetroError {
    #[error("only a live rule sweeps up what slipped through (this one is {0})")]
    NotLive(&'static str),
    #[error("no rule {0}")]
    NotFound(i64),
    #[error("no retroaction request {0}")]
    NoRequest(i64),
    #[error("only a reject rule rejects retroactively (its categories are the reason given)")]
    NotReject,
    #[error("no auto-approved ad of the window matches that has not been swept up already")]
    Nothing,
    #[error("the request was {0} already")]
    Decided(String),
    #[error("a second person must approve: {0} asked for this rejection")]
    SecondPerson(String),
    #[error("the rule changed since the request (now {0}); ask again")]
    Changed(String),
    #[error(transparent)]
    Scan(#[from] BacktestError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A live rule's matches in a window that it has not swept up before.
struct Found {
    name: String,
    version: i64,
    action: CheckedAction,
    /// (ad, market, risk) of every match not swept up before.
    fresh: Vec<(i64, Market, f64)>,
    /// Of `fresh`, the audit samples: a rejection never takes an ad out of its audit.
    audit_samples: HashSet<i64>,
    already: u64,
}

/// Runs live rule `rule_id`'s current version over the ads auto-approved in the `days`
/// before `until`.
async fn find(
    db: &Db,
    rule_id: i64,
    days: u32,
    until: Millis,
    now: Millis,
) -> Result<Found, RetroError> {
    let rule = store::get(db, rule_id, now)
        .await?
        .ok_or(RetroError::NotFound(rule_id))?;
    if rule.rule.state != State::Live {
        return Err(RetroError::NotLive(rule.rule.state.as_str()));
    }
    if days == 0 || days > super::backtest::MAX_DAYS {
        return Err(BacktestError::Invalid(super::spec::SpecError {
            field: "days".into(),
            message: format!("retroaction reads 1 to {} days", super::backtest::MAX_DAYS),
        })
        .into());
    }
    let version = rule.rule.version;
    let set = RuleSet::compile(&[RuleSource {
        id: rule_id,
        version,
        mode: Mode::Live,
        spec: &rule.spec,
    }])
    .map_err(BacktestError::from)?;
    let first_seen = if set.needs_first_seen {
        super::backtest::all_first_seen(db).await?
    } else {
        HashMap::new()
    };
    let done: HashSet<i64> = sqlx::query_as::<_, (i64,)>(
        "select ad_id from rule_hits where rule_id = $1 and mode = 'retro'",
    )
    .bind(rule_id)
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .map(|r| r.0)
    .collect();
    let mut fresh: Vec<(i64, Market, f64)> = Vec::new();
    let mut audit_samples = HashSet::new();
    let mut already = 0u64;
    let cancel = AtomicBool::new(false);
    scan(
        db,
        until - i64::from(days) * DAY_MS,
        until,
        Some("auto_approved"),
        &|_| {},
        &cancel,
        |r| {
            let scores = super::backtest::parse_scores(&r.9);
            let Some(facts) = super::backtest::facts_of(r, &scores, &first_seen) else {
                return;
            };
            let market = facts.market;
            if set.matches(&facts).is_empty() {
                return;
            }
            if done.contains(&r.0) {
                already += 1;
            } else {
                let top = scores.iter().copied().fold(0.0f32, f32::max);
                fresh.push((r.0, market, f64::from(top).max(0.05) * r.7));
                if r.11.0 {
                    audit_samples.insert(r.0);
                }
            }
        },
    )
    .await?;
    Ok(Found {
        name: rule.rule.name,
        version,
        action: set.rules[0].action.clone(),
        fresh,
        audit_samples,
        already,
    })
}

/// Moves the ads of `chunk` that are still auto-approved to `status`; answers those moved.
async fn take_approved(
    tx: &mut WriteTx,
    chunk: &[(i64, Market, f64)],
    status: &str,
) -> sqlx::Result<HashSet<i64>> {
    let sql = format!(
        "update ads set status = '{status}' where status = 'auto_approved' and id in ({}) returning id",
        tx.backend().placeholders(1, chunk.len())
    );
    let mut q = sqlx::query_as::<_, (i64,)>(&sql);
    for (id, _, _) in chunk {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|r| r.0)
        .collect())
}

/// Records a retroaction hit for each moved ad of `chunk`.
async fn record_hits(
    tx: &mut WriteTx,
    chunk: &[(i64, Market, f64)],
    moved: &HashSet<i64>,
    rule_id: i64,
    version: i64,
    action: &str,
    now: Millis,
) -> sqlx::Result<()> {
    let hits: Vec<&(i64, Market, f64)> = chunk
        .iter()
        .filter(|(id, _, _)| moved.contains(id))
        .collect();
    if hits.is_empty() {
        return Ok(());
    }
    let mut sql = String::from(
        "insert into rule_hits (ad_id, rule_id, version, mode, action, market, at) values ",
    );
    sql.push_str(&values_list(
        tx.backend(),
        hits.len(),
        &format!("(?,?,?,'retro','{action}',?,?)"),
    ));
    sql.push_str(" on conflict do nothing");
    let mut q = sqlx::query(&sql);
    for (id, market, _) in &hits {
        q = q
            .bind(*id)
            .bind(rule_id)
            .bind(version)
            .bind(market.code())
            .bind(now);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

async fn audited(
    db: &Db,
    actor: &Actor,
    action: &str,
    rule_id: i64,
    after: serde_json::Value,
    now: Millis,
) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action,
            object: format!("rule:{rule_id}"),
            before: None,
            after: Some(after),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await
}

/// Runs rule `rule_id`'s current version over the ads auto-approved in the `days` before
/// `now`; unless `dry_run`, reopens the matches into review.
pub async fn run(
    db: &Db,
    rule_id: i64,
    days: u32,
    dry_run: bool,
    actor: &Actor,
    now: Millis,
) -> Result<Retro, RetroError> {
    let found = find(db, rule_id, days, now, now).await?;
    let queue = match found.action {
        CheckedAction::Review { queue, .. } => queue,
        _ => Source::Uncertain,
    };
    let version = found.version;
    let mut reopened = 0u64;
    if !dry_run && !found.fresh.is_empty() {
        let note = format!("Reopened by rule “{}” v{version} (retroaction)", found.name);
        for chunk in found.fresh.chunks(400) {
            let mut tx = db.begin_write().await?;
            // Only ads still auto-approved (a reviewer may have got there since the scan).
            let moved = take_approved(&mut tx, chunk, "in_review").await?;
            let to_open: Vec<NewTask<'_>> = chunk
                .iter()
                .filter(|(id, _, _)| moved.contains(id))
                .map(|(id, market, risk)| NewTask {
                    ad_id: *id,
                    source: queue,
                    market: *market,
                    risk: *risk,
                    clock_from: now,
                    excluded_reviewer: None,
                    note: Some(note.as_str()),
                    qa_of: None,
                })
                .collect();
            tasks::open(&mut tx, &to_open, now).await?;
            record_hits(&mut tx, chunk, &moved, rule_id, version, "review", now).await?;
            tx.commit().await?;
            reopened += moved.len() as u64;
        }
    }
    let out = Retro {
        rule_id,
        version,
        days,
        dry_run,
        matched: found.fresh.len() as u64 + found.already,
        already: found.already,
        reopened,
        queue: queue.as_str().to_string(),
    };
    if !dry_run {
        audited(
            db,
            actor,
            "rule.retro",
            rule_id,
            serde_json::to_value(&out).unwrap_or_default(),
            now,
        )
        .await?;
    }
    Ok(out)
}

const REQUEST_COLUMNS: &str = "id, rule_id, version, days, until_at, matched, categories, state, \
     requested_by, requested_at, decided_by, decided_at, rejected";

type RequestRow = (
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

fn request_of(r: RequestRow) -> RejectRequest {
    RejectRequest {
        id: r.0,
        rule_id: r.1,
        version: r.2,
        days: u32::try_from(r.3).unwrap_or(0),
        until: r.4,
        matched: u64::try_from(r.5).unwrap_or(0),
        categories: r
            .6
            .split(',')
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect(),
        state: r.7,
        requested_by: r.8,
        requested_at: r.9,
        decided_by: r.10,
        decided_at: r.11,
        rejected: r.12.and_then(|n| u64::try_from(n).ok()),
    }
}

/// Asks for live reject rule `rule_id`'s new matches among the ads auto-approved in the
/// `days` before `now` to be rejected; a second person decides. Counts the matches first and
/// refuses when there are none.
pub async fn request_reject(
    db: &Db,
    rule_id: i64,
    days: u32,
    actor: &Actor,
    now: Millis,
) -> Result<RejectRequest, RetroError> {
    let found = find(db, rule_id, days, now, now).await?;
    let CheckedAction::Reject(categories) = &found.action else {
        return Err(RetroError::NotReject);
    };
    if found.fresh.is_empty() {
        return Err(RetroError::Nothing);
    }
    let categories: Vec<String> = categories.iter().map(|c| c.to_string()).collect();
    let who = actor.as_text();
    let mut tx = db.begin_write().await?;
    let (id,): (i64,) = sqlx::query_as(
        "insert into rule_retro_requests (rule_id, version, days, until_at, matched, categories, \
         state, requested_by, requested_at) values ($1, $2, $3, $4, $5, $6, 'pending', $7, $8) returning id",
    )
    .bind(rule_id)
    .bind(found.version)
    .bind(i64::from(days))
    .bind(now)
    .bind(found.fresh.len() as i64)
    .bind(categories.join(","))
    .bind(&who)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let request = get_request(db, id)
        .await?
        .ok_or(RetroError::NoRequest(id))?;
    audited(
        db,
        actor,
        "rule.retro_reject_request",
        rule_id,
        serde_json::to_value(&request).unwrap_or_default(),
        now,
    )
    .await?;
    Ok(request)
}

/// One request.
pub async fn get_request(db: &Db, id: i64) -> sqlx::Result<Option<RejectRequest>> {
    let row: Option<RequestRow> = sqlx::query_as(&format!(
        "select {REQUEST_COLUMNS} from rule_retro_requests where id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(request_of))
}

/// A rule's requests, newest first.
pub async fn requests(db: &Db, rule_id: i64) -> sqlx::Result<Vec<RejectRequest>> {
    let rows: Vec<RequestRow> = sqlx::query_as(&format!(
        "select {REQUEST_COLUMNS} from rule_retro_requests where rule_id = $1 order by id desc limit 50"
    ))
    .bind(rule_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(request_of).collect())
}

/// Approves (a person other than the one who asked) or refuses (anyone who may write rules,
/// the asker included) a pending request. Approval rejects the rule's new matches among the
/// ads still auto-approved in the request's window, with the rule's categories.
pub async fn decide(
    db: &Db,
    request_id: i64,
    approve: bool,
    actor: &Actor,
    now: Millis,
) -> Result<RejectRequest, RetroError> {
    let request = get_request(db, request_id)
        .await?
        .ok_or(RetroError::NoRequest(request_id))?;
    if request.state != "pending" {
        return Err(RetroError::Decided(request.state));
    }
    let who = actor.as_text();
    let mut rejected = None;
    if approve {
        if request.requested_by == who {
            return Err(RetroError::SecondPerson(who));
        }
        let found = find(db, request.rule_id, request.days, request.until, now).await?;
        if found.version != request.version {
            return Err(RetroError::Changed(format!("v{}", found.version)));
        }
        let mut n = 0u64;
        let rejectable: Vec<(i64, Market, f64)> = found
            .fresh
            .iter()
            .filter(|(id, _, _)| !found.audit_samples.contains(id))
            .copied()
            .collect();
        for chunk in rejectable.chunks(400) {
            let mut tx = db.begin_write().await?;
            let moved = take_approved(&mut tx, chunk, "rejected").await?;
            record_hits(
                &mut tx,
                chunk,
                &moved,
                request.rule_id,
                found.version,
                "reject",
                now,
            )
            .await?;
            tx.commit().await?;
            n += moved.len() as u64;
        }
        rejected = Some(n as i64);
    }
    let state = if approve { "done" } else { "refused" };
    let mut tx = db.begin_write().await?;
    let changed = sqlx::query(
        "update rule_retro_requests set state = $1, decided_by = $2, decided_at = $3, rejected = $4 \
         where id = $5 and state = 'pending'",
    )
    .bind(state)
    .bind(&who)
    .bind(now)
    .bind(rejected)
    .bind(request_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    if changed == 0 {
        return Err(RetroError::Decided(
            "decided by someone else meanwhile".into(),
        ));
    }
    let request = get_request(db, request_id)
        .await?
        .ok_or(RetroError::NoRequest(request_id))?;
    audited(
        db,
        actor,
        if approve {
            "rule.retro_reject_approve"
        } else {
            "rule.retro_reject_refuse"
        },
        request.rule_id,
        serde_json::to_value(&request).unwrap_or_default(),
        now,
    )
    .await?;
    Ok(request)
}
