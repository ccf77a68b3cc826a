//! The rules the decision worker runs: compiled once, reloaded when any rule changes (every
//! instance on one database looks at most every [`CHECK_EVERY`]), and applied to a scored
//! batch inside its decision.

use super::matcher::{Facts, Mode, RuleSet, Source, TextRead};
use super::spec::CheckedAction;
use super::store;
use crate::engine::commit::Fired;
use crate::engine::decide::{Route, Verdict};
use crate::platform::db::Db;
use crate::platform::time::Millis;
use crate::vocab::policy::Category;
use crate::vocab::queue::Source as Queue;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a worker asks whether the rules changed.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// A worker's compiled rules and when it last looked for changes.
#[derive(Default)]
pub struct LiveRules {
    set: Arc<RuleSet>,
    stamp: Option<(i64, i64)>,
    checked: Option<Instant>,
    /// The earliest expiry among the loaded rules: past it, expired rules are marked.
    next_expiry: Option<Millis>,
}

impl LiveRules {
    /// The rules in force, reloaded and recompiled when any rule changed since the last look.
    pub async fn current(&mut self, db: &Db, now: Millis) -> sqlx::Result<Arc<RuleSet>> {
        if self.checked.is_some_and(|t| t.elapsed() < CHECK_EVERY) {
            return Ok(self.set.clone());
        }
        self.checked = Some(Instant::now());
        if self.next_expiry.is_some_and(|at| at <= now) {
            store::expire_due(db, now).await?;
        }
        let stamp = store::stamp(db).await?;
        if self.stamp == Some(stamp) {
            return Ok(self.set.clone());
        }
        let active = store::active(db).await?;
        let sources: Vec<Source<'_>> = active
            .iter()
            .map(|(id, version, mode, spec)| Source {
                id: *id,
                version: *version,
                mode: *mode,
                spec,
            })
            .collect();
        let set = match RuleSet::compile(&sources) {
            Ok(set) => set,
            Err(e) => {
                // Rules were checked one by one when stored; compiled together they failed
                // (a combined size limit): keep running the previous set and say so.
                tracing::error!(error = %e, "the rules in force do not compile together; keeping the previous set");
                return Ok(self.set.clone());
            }
        };
        self.next_expiry = set.rules.iter().filter_map(|r| r.expires_at).min();
        self.set = Arc::new(set);
        self.stamp = Some(stamp);
        tracing::info!(rules = self.set.rules.len(), "rules loaded");
        Ok(self.set.clone())
    }
}

/// What the rules said about one ad: how they change its verdict, and what to record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Categories live reject rules reject for.
    pub reject_for: Vec<Category>,
    /// Where a live review rule sends it (the first such rule's queue).
    pub review_in: Option<Route>,
    pub fired: Vec<Fired>,
}

/// The route a review rule's queue means.
fn route_of(queue: Queue) -> Route {
    match queue {
        Queue::Restricted => Route::Restricted,
        Queue::Escalation => Route::Escalation,
        _ => Route::Uncertain,
    }
}

/// Evaluates the rules on one ad whose text `read` holds.
pub fn evaluate(set: &RuleSet, ad_id: i64, facts: &Facts<'_>, read: &TextRead) -> Outcome {
    let mut out = Outcome::default();
    for i in set.matches_read(facts, read) {
        let rule = &set.rules[i];
        let (action, priority) = match &rule.action {
            CheckedAction::Reject(categories) => {
                if rule.mode == Mode::Live {
                    for c in categories {
                        if !out.reject_for.contains(c) {
                            out.reject_for.push(*c);
                        }
                    }
                }
                ("reject", None)
            }
            CheckedAction::Review { queue, priority } => {
                if rule.mode == Mode::Live && out.review_in.is_none() {
                    out.review_in = Some(route_of(*queue));
                }
                ("review", (rule.mode == Mode::Live).then_some(*priority))
            }
            CheckedAction::Flag(_) => ("flag", None),
        };
        out.fired.push(Fired {
            ad_id,
            rule_id: rule.id,
            version: rule.version,
            mode: rule.mode.as_str(),
            action,
            priority,
        });
    }
    out
}

/// When each advertiser's first ad came in, for the ones listed (only asked when a rule
/// needs it).
pub async fn first_seen(db: &Db, advertisers: &[&str]) -> sqlx::Result<HashMap<String, Millis>> {
    let mut out = HashMap::new();
    let mut distinct: Vec<&str> = advertisers.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    for chunk in distinct.chunks(500) {
        let sql = format!(
            "select advertiser_id, min(submitted_at) from ads where advertiser_id in ({}) group by advertiser_id",
            db.backend().placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
        for a in chunk {
            q = q.bind(*a);
        }
        out.extend(q.fetch_all(db.pool()).await?);
    }
    Ok(out)
}

/// Reads a batch's texts for the rules on a blocking thread, while the caller does
/// something else (the worker: scoring). One [`TextRead`] per ad, in order.
pub fn read_batch(
    set: Arc<RuleSet>,
    texts: Vec<(String, String, Option<String>)>,
) -> tokio::task::JoinHandle<Vec<TextRead>> {
    tokio::task::spawn_blocking(move || {
        texts
            .iter()
            .map(|(h, b, url)| set.read(h, b, url.as_deref()))
            .collect()
    })
}

/// Applies the rules to a scored batch, each ad by its id, facts and read text: each verdict
/// overruled as live rules say, and the hits to record.
pub fn apply(
    set: &RuleSet,
    rules: &crate::engine::decide::Rules,
    ads: &[(i64, Facts<'_>, TextRead)],
    verdicts: &mut [Verdict],
    draws: &[f64],
) -> Vec<Fired> {
    let mut fired = Vec::new();
    if set.is_empty() {
        return fired;
    }
    for (i, (id, facts, read)) in ads.iter().enumerate() {
        let outcome = evaluate(set, *id, facts, read);
        if !outcome.reject_for.is_empty() || outcome.review_in.is_some() {
            verdicts[i] = crate::engine::decide::overrule(
                rules,
                verdicts[i].clone(),
                &outcome.reject_for,
                outcome.review_in,
                draws[i],
            );
        }
        fired.extend(outcome.fired);
    }
    fired
}
