//! One owner of the decision commit: claiming queued ads under a lease, and recording a batch
//! of decisions with the ads' new statuses, their review tasks and the dashboard rollups in one
//! transaction.

use crate::engine::decide::{Action, Route, Verdict};
use crate::engine::model::CATEGORIES;
use crate::platform::db::{Backend, Db, values_list};
use crate::platform::time::Millis;
use crate::review::tasks::{self, NewTask};
use crate::vocab::market::Market;
use crate::vocab::queue::Source;

/// A queued ad claimed by a worker.
#[derive(Clone, Debug)]
pub struct ClaimedAd {
    pub id: i64,
    pub market: Market,
    pub headline: String,
    pub body: String,
    pub landing_url: Option<String>,
    pub language: Option<String>,
    pub submitted_at: Millis,
    pub daily_budget_usd: f64,
    pub advertiser_id: String,
}

/// Claims up to `limit` queued ads for `worker` until `now + lease_ms`. Ads whose earlier
/// lease has expired (a worker died) are claimed again. On PostgreSQL concurrent workers
/// skip each other's rows; SQLite has a single writer, so the statement is atomic anyway.
pub async fn claim(
    db: &Db,
    worker: &str,
    limit: i64,
    lease_ms: i64,
    now: Millis,
) -> sqlx::Result<Vec<ClaimedAd>> {
    let lock = match db.backend() {
        Backend::Postgres => "for update skip locked",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "update ads set lease_owner = $1, lease_expires_at = $2 where id in (\
         select id from ads where status = 'queued' and (lease_expires_at is null or lease_expires_at < $3) \
         order by submitted_at, id limit $4 {lock}) \
         returning id, market, headline, body, landing_url, language, submitted_at, daily_budget_usd, advertiser_id"
    );
    type Row = (
        i64,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
        f64,
        String,
    );
    // Through the writer's turn like every other write: on SQLite a write straight on the
    // pool would collide with the turn's holder and both would sleep in the busy handler.
    let mut tx = db.begin_batch_write().await?;
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(worker)
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(
                id,
                market,
                headline,
                body,
                landing_url,
                language,
                submitted_at,
                daily_budget_usd,
                advertiser_id,
            )| {
                Some(ClaimedAd {
                    id,
                    market: market.parse().ok()?,
                    headline,
                    body,
                    landing_url,
                    language,
                    submitted_at,
                    daily_budget_usd,
                    advertiser_id,
                })
            },
        )
        .collect())
}

/// One scored and decided ad, ready to store.
#[derive(Clone, Debug)]
pub struct Decided {
    pub ad_id: i64,
    pub market: Market,
    pub scores: [f32; CATEGORIES],
    pub verdict: Verdict,
    pub latency_ms: f64,
    /// When the ad came in: its review SLA runs from here.
    pub submitted_at: Millis,
    pub daily_budget_usd: f64,
    /// The ad's language as submitted (for the language-mix drift).
    pub language: Option<String>,
}

/// The review queue a routed decision goes to.
fn source_of(route: Route) -> Source {
    match route {
        Route::Uncertain => Source::Uncertain,
        Route::Restricted => Source::Restricted,
        Route::Audit => Source::Audit,
        Route::Escalation => Source::Escalation,
    }
}

/// The ad status an action leads to.
pub fn status_after(action: Action) -> &'static str {
    match action {
        Action::Approve => "auto_approved",
        Action::Reject => "auto_rejected",
        Action::Review => "in_review",
    }
}

/// Stores a batch of decisions, the ads' new statuses, the review tasks of what goes to a human
/// and the rollups in one transaction. An ad that already has a decision (another worker got there first after
/// this one's lease expired) is skipped: the unique `decisions.ad_id` makes sure of it.
/// Statements are multi-row, so a batch costs a handful of round trips, not three per ad.
/// Returns how many decisions were stored.
pub async fn record(
    db: &Db,
    worker: &str,
    model_version: &str,
    thresholds_version: i64,
    decided: &[Decided],
    now: Millis,
) -> sqlx::Result<usize> {
    record_with_rules(
        db,
        worker,
        model_version,
        thresholds_version,
        decided,
        &[],
        now,
    )
    .await
}

/// A rule that matched an ad being decided, kept in `rule_hits` with the decision.
#[derive(Clone, Debug, PartialEq)]
pub struct Fired {
    pub ad_id: i64,
    pub rule_id: i64,
    pub version: i64,
    /// `live` or `background`.
    pub mode: &'static str,
    /// The rule's action kind: `reject`, `review` or `flag`.
    pub action: &'static str,
    /// A live review rule's priority: multiplies the review task's risk.
    pub priority: Option<f64>,
}

/// [`record`], with the rules that matched the ads: their hits are stored in the same
/// transaction, for the ads whose decision was stored.
pub async fn record_with_rules(
    db: &Db,
    worker: &str,
    model_version: &str,
    thresholds_version: i64,
    decided: &[Decided],
    fired: &[Fired],
    now: Millis,
) -> sqlx::Result<usize> {
    if decided.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin_batch_write().await?;
    let mut stored_ids: Vec<i64> = Vec::with_capacity(decided.len());
    // 12 parameters a row; 400 rows stay under every backend's parameter limit.
    for chunk in decided.chunks(400) {
        let mut sql = String::from(
            "insert into decisions (ad_id, model_version, thresholds_version, scores, action, reasons, route, \
             audit_sample, sampling_probability, latency_ms, decided_at, worker) values ",
        );
        sql.push_str(&values_list(
            tx.backend(),
            chunk.len(),
            "(?,?,?,?,?,?,?,?,?,?,?,?)",
        ));
        sql.push_str(" on conflict (ad_id) do nothing returning ad_id");
        let mut q = sqlx::query_as::<_, (i64,)>(&sql);
        for d in chunk {
            let scores = serde_json::to_string(&d.scores.to_vec()).expect("scores serialise");
            let reasons = serde_json::to_string(
                &d.verdict
                    .reasons
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>(),
            )
            .expect("reasons serialise");
            q = q
                .bind(d.ad_id)
                .bind(model_version)
                .bind(thresholds_version)
                .bind(scores)
                .bind(d.verdict.action.as_str())
                .bind(reasons)
                .bind(d.verdict.route.map(|r| r.as_str()))
                .bind(d.verdict.audit_sample)
                .bind(d.verdict.sampling_probability)
                .bind(d.latency_ms)
                .bind(now)
                .bind(worker);
        }
        stored_ids.extend(q.fetch_all(&mut *tx).await?.into_iter().map(|(id,)| id));
    }
    let stored: std::collections::HashSet<i64> = stored_ids.iter().copied().collect();
    let kept: Vec<&Decided> = decided
        .iter()
        .filter(|d| stored.contains(&d.ad_id))
        .collect();

    // New statuses: one statement per action, ids listed as parameters.
    for action in [Action::Approve, Action::Reject, Action::Review] {
        let ids: Vec<i64> = kept
            .iter()
            .filter(|d| d.verdict.action == action)
            .map(|d| d.ad_id)
            .collect();
        for chunk in ids.chunks(500) {
            let b = tx.backend();
            // Only ads whose decision was just stored get here, so they are still queued; the
            // guard reads `decided_at`, not `status`: SQLite would pick the status index and
            // walk every queued ad instead of looking the ids up (7 ms a statement at 100k
            // queued).
            let sql = format!(
                "update ads set status = {}, decided_at = {}, lease_owner = null, lease_expires_at = null \
                 where id in ({}) and decided_at is null",
                b.placeholders(1, 1),
                b.placeholders(2, 1),
                b.placeholders(3, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(status_after(action)).bind(now);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut *tx).await?;
        }
    }

    // Review tasks for what goes to a human: due by the market's SLA from submission, ranked
    // by what is at stake.
    let to_review: Vec<NewTask<'_>> = kept
        .iter()
        .filter_map(|d| {
            let route = d.verdict.route?;
            let top = d.scores.iter().copied().fold(0.0f32, f32::max);
            let priority = fired
                .iter()
                .filter(|f| f.ad_id == d.ad_id)
                .filter_map(|f| f.priority)
                .fold(1.0f64, f64::max);
            Some(NewTask {
                ad_id: d.ad_id,
                source: source_of(route),
                market: d.market,
                risk: f64::from(top) * d.daily_budget_usd * priority,
                clock_from: d.submitted_at,
                excluded_reviewer: None,
                note: None,
                qa_of: None,
            })
        })
        .collect();
    tasks::open(&mut tx, &to_review, now).await?;

    // What the rules said, for the ads stored.
    let market_of: std::collections::HashMap<i64, Market> =
        kept.iter().map(|d| (d.ad_id, d.market)).collect();
    let hits: Vec<(&Fired, Market)> = fired
        .iter()
        .filter_map(|f| Some((f, *market_of.get(&f.ad_id)?)))
        .collect();
    // 7 parameters a row.
    for chunk in hits.chunks(400) {
        let mut sql = String::from(
            "insert into rule_hits (ad_id, rule_id, version, mode, action, market, at) values ",
        );
        sql.push_str(&values_list(tx.backend(), chunk.len(), "(?,?,?,?,?,?,?)"));
        sql.push_str(" on conflict do nothing");
        let mut q = sqlx::query(&sql);
        for (f, market) in chunk {
            q = q
                .bind(f.ad_id)
                .bind(f.rule_id)
                .bind(f.version)
                .bind(f.mode)
                .bind(f.action)
                .bind(market.code())
                .bind(now);
        }
        q.execute(&mut *tx).await?;
    }

    // Dashboard rollups, in the same transaction as what they count.
    let mut delta = crate::rollup::Delta::default();
    for d in &kept {
        delta.decision(&crate::rollup::DecisionFacts {
            ad_id: d.ad_id,
            market: d.market.code().to_string(),
            language: d.language.clone().unwrap_or_else(|| "und".into()),
            model_version: model_version.to_string(),
            decided_at: now,
            submitted_at: d.submitted_at,
            scores: d.scores,
            action: d.verdict.action.as_str().to_string(),
            reasons: d.verdict.reasons.clone(),
            audit_sample: d.verdict.audit_sample,
            sampling_probability: d.verdict.sampling_probability,
            latency_ms: d.latency_ms,
            daily_budget_usd: d.daily_budget_usd,
        });
    }
    delta.flush(&mut tx).await?;
    tx.commit().await?;
    Ok(kept.len())
}

/// How many decisions the database holds.
pub async fn count(db: &Db) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from decisions")
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}
