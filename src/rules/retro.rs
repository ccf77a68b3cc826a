//! Retroaction: a live rule run over ads already auto-approved in a window; what it matches
//! is reopened into review (the rule's review queue, or the uncertain queue for a reject or
//! flag rule). Idempotent: an ad a rule reopened once is never reopened by it again (its
//! `rule_hits` row in mode `retro`), and only ads still auto-approved are touched. A dry run
//! counts first. Audited with the count.

use super::backtest::{BacktestError, scan};
use super::matcher::{Mode, RuleSet, Source as RuleSource};
use super::spec::CheckedAction;
use super::store::{self, State};
use crate::access::audit::{self, Actor, NewEntry};
use crate::platform::db::{Db, values_list};
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
    /// Of those, already reopened by this rule before.
    pub already: u64,
    /// Reopened into review now (0 in a dry run).
    pub reopened: u64,
    /// The queue they go to.
    pub queue: String,
}

/// Why a retroaction did not run.
#[derive(Debug, thiserror::Error)]
pub enum RetroError {
    #[error("only a live rule sweeps up what slipped through (this one is {0})")]
    NotLive(&'static str),
    #[error("no rule {0}")]
    NotFound(i64),
    #[error(transparent)]
    Scan(#[from] BacktestError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
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
    let queue = match set.rules[0].action {
        CheckedAction::Review { queue, .. } => queue,
        _ => Source::Uncertain,
    };
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
    // (ad, market, risk) of every match not reopened before.
    let mut matches: Vec<(i64, Market, f64)> = Vec::new();
    let mut already = 0u64;
    let cancel = AtomicBool::new(false);
    scan(
        db,
        now - i64::from(days) * DAY_MS,
        now,
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
                matches.push((r.0, market, f64::from(top).max(0.05) * r.7));
            }
        },
    )
    .await?;
    let matched = matches.len() as u64 + already;
    let mut reopened = 0u64;
    if !dry_run && !matches.is_empty() {
        let note = format!(
            "Reopened by rule “{}” v{version} (retroaction)",
            rule.rule.name
        );
        for chunk in matches.chunks(400) {
            let mut tx = db.begin_write().await?;
            // Only ads still auto-approved (a reviewer may have got there since the scan).
            let sql = format!(
                "update ads set status = 'in_review' where status = 'auto_approved' and id in ({}) returning id",
                tx.backend().placeholders(1, chunk.len())
            );
            let mut q = sqlx::query_as::<_, (i64,)>(&sql);
            for (id, _, _) in chunk {
                q = q.bind(*id);
            }
            let moved: HashSet<i64> = q
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|r| r.0)
                .collect();
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
            let hits: Vec<&(i64, Market, f64)> = chunk
                .iter()
                .filter(|(id, _, _)| moved.contains(id))
                .collect();
            if !hits.is_empty() {
                let mut sql = String::from(
                    "insert into rule_hits (ad_id, rule_id, version, mode, action, market, at) values ",
                );
                sql.push_str(&values_list(
                    tx.backend(),
                    hits.len(),
                    "(?,?,?,'retro','review',?,?)",
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
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            reopened += moved.len() as u64;
        }
    }
    let out = Retro {
        rule_id,
        version,
        days,
        dry_run,
        matched,
        already,
        reopened,
        queue: queue.as_str().to_string(),
    };
    if !dry_run {
        let mut tx = db.begin_write().await?;
        audit::record_at(
            &mut *tx,
            NewEntry {
                actor,
                action: "rule.retro",
                object: format!("rule:{rule_id}"),
                before: None,
                after: Some(serde_json::to_value(&out).unwrap_or_default()),
                ip: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
    }
    Ok(out)
}
