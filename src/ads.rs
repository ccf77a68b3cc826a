//! Ads and their machine decisions in the database: submission (idempotent per source and
//! external id), claiming queued ads under a lease, and recording decisions.

use crate::db::{Backend, Db, Flag};
use crate::decide::{Action, Verdict};
use crate::ingest::NewAd;
use crate::market::Market;
use crate::model::CATEGORIES;
use crate::policy::Category;
use crate::time::{Millis, to_datetime};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The outcome of submitting one ad.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Submitted {
    pub id: i64,
    pub external_id: String,
    /// False when this source had already submitted the external id (nothing changed).
    pub created: bool,
    pub status: String,
}

/// Stores ads as `queued`, submitted `now`; resubmitting an external id from the same
/// source changes nothing and returns the existing ad.
pub async fn submit(
    db: &Db,
    source: &str,
    ads: &[NewAd],
    now: Millis,
) -> sqlx::Result<Vec<Submitted>> {
    let items: Vec<(&NewAd, Millis)> = ads.iter().map(|a| (a, now)).collect();
    submit_timed(db, source, &items).await
}

/// [`submit`] with a submission time per ad (imports of history, the demo corpus). Ads are
/// inserted many to a statement; an external id seen before (earlier, or earlier in the same
/// batch) is looked up instead.
pub async fn submit_timed(
    db: &Db,
    source: &str,
    ads: &[(&NewAd, Millis)],
) -> sqlx::Result<Vec<Submitted>> {
    let mut tx = db.begin_write().await?;
    let backend = tx.backend();
    // External id → (id, status, created by this call).
    let mut found: HashMap<String, (i64, String, bool)> = HashMap::with_capacity(ads.len());
    // 11 parameters a row.
    for chunk in ads.chunks(400) {
        let mut sql = String::from(
            "insert into ads (source, external_id, advertiser_id, market, language, headline, body, \
             landing_url, daily_budget_usd, labels, submitted_at, status) values ",
        );
        sql.push_str(&values_list(
            backend,
            chunk.len(),
            "(?,?,?,?,?,?,?,?,?,?,?,'queued')",
        ));
        sql.push_str(" on conflict (source, external_id) do nothing returning id, external_id");
        let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
        for &(ad, at) in chunk {
            let labels = ad.labels.as_ref().map(|ls| {
                serde_json::to_string(&ls.iter().map(|c| c.as_str()).collect::<Vec<_>>())
                    .expect("labels serialise")
            });
            q = q
                .bind(source)
                .bind(&ad.external_id)
                .bind(&ad.advertiser_id)
                .bind(ad.market.code())
                .bind(ad.language.map(|l| l.code()))
                .bind(&ad.headline)
                .bind(&ad.body)
                .bind(ad.landing_url.as_deref())
                .bind(ad.daily_budget_usd)
                .bind(labels)
                .bind(at);
        }
        for (id, external_id) in q.fetch_all(&mut *tx).await? {
            found.insert(external_id, (id, "queued".into(), true));
        }
    }
    // The ones that were there already, with their current status.
    let missing: Vec<&str> = ads
        .iter()
        .map(|(ad, _)| ad.external_id.as_str())
        .filter(|e| !found.contains_key(*e))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for chunk in missing.chunks(500) {
        let sql = format!(
            "select id, status, external_id from ads where source = {} and external_id in ({})",
            backend.placeholders(1, 1),
            backend.placeholders(2, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (i64, String, String)>(&sql).bind(source);
        for e in chunk {
            q = q.bind(*e);
        }
        for (id, status, external_id) in q.fetch_all(&mut *tx).await? {
            found.insert(external_id, (id, status, false));
        }
    }
    tx.commit().await?;
    ads.iter()
        .map(|(ad, _)| {
            let (id, status, created) = found
                .get_mut(&ad.external_id)
                .ok_or(sqlx::Error::RowNotFound)?;
            Ok(Submitted {
                id: *id,
                external_id: ad.external_id.clone(),
                // A repeat within the batch finds the ad its first copy created.
                created: std::mem::take(created),
                status: status.clone(),
            })
        })
        .collect()
}

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
         returning id, market, headline, body, landing_url, language, submitted_at, daily_budget_usd"
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
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(worker)
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
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

/// `rows` copies of `row` joined by commas, each `?` becoming the backend's placeholder for
/// the next parameter (`$1`, `$2`, … on PostgreSQL): the VALUES list of a multi-row insert.
pub fn values_list(backend: Backend, rows: usize, row: &str) -> String {
    let mut out = String::with_capacity(rows * (row.len() + 16));
    let mut n = 0;
    for i in 0..rows {
        if i > 0 {
            out.push(',');
        }
        for c in row.chars() {
            if c == '?' {
                n += 1;
                backend.push_placeholder(&mut out, n);
            } else {
                out.push(c);
            }
        }
    }
    out
}

/// The highest-scoring category in a decision's stored scores (a JSON array in model
/// output order), if the scores can be read.
pub fn top_of_scores(scores_json: &str) -> Option<(Category, f32)> {
    let scores: Vec<f32> = serde_json::from_str(scores_json).ok()?;
    scores
        .iter()
        .zip(Category::ALL)
        .max_by(|a, b| a.0.total_cmp(b.0))
        .map(|(s, c)| (c, *s))
}

/// The ad status an action leads to.
pub fn status_after(action: Action) -> &'static str {
    match action {
        Action::Approve => "auto_approved",
        Action::Reject => "auto_rejected",
        Action::Review => "in_review",
    }
}

/// Stores a batch of decisions, the ads' new statuses and the daily counters in one
/// transaction. An ad that already has a decision (another worker got there first after
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
    if decided.is_empty() {
        return Ok(0);
    }
    let day = to_datetime(now).format("%Y-%m-%d").to_string();
    let mut tx = db.begin_write().await?;
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

    // Review tasks for what goes to a human: due by the market's SLA, ranked by risk.
    let to_review: Vec<&&Decided> = kept.iter().filter(|d| d.verdict.route.is_some()).collect();
    if !to_review.is_empty() {
        let sla: Vec<(String, f64)> =
            sqlx::query_as("select market, sla_hours from market_settings")
                .fetch_all(&mut *tx)
                .await?;
        let sla_ms = |m: Market| {
            let hours = sla
                .iter()
                .find(|(c, _)| c == m.code())
                .map_or(24.0, |s| s.1);
            (hours * 3_600_000.0) as Millis
        };
        // 6 parameters a row.
        for chunk in to_review.chunks(500) {
            let mut sql = String::from(
                "insert into review_tasks (ad_id, source, market, state, created_at, due_at, risk) values ",
            );
            sql.push_str(&values_list(
                tx.backend(),
                chunk.len(),
                "(?,?,?,'open',?,?,?)",
            ));
            let mut q = sqlx::query(&sql);
            for d in chunk {
                let top = d.scores.iter().copied().fold(0.0f32, f32::max);
                q = q
                    .bind(d.ad_id)
                    .bind(d.verdict.route.map(|r| r.as_str()))
                    .bind(d.market.code())
                    .bind(now)
                    .bind(d.submitted_at + sla_ms(d.market))
                    .bind(f64::from(top) * d.daily_budget_usd);
            }
            q.execute(&mut *tx).await?;
        }
    }

    // Daily counters, summed in memory first.
    let mut counts: BTreeMap<(&'static str, &'static str), (i64, i64)> = BTreeMap::new();
    for d in &kept {
        let e = counts
            .entry((d.market.code(), d.verdict.action.as_str()))
            .or_default();
        e.0 += 1;
        e.1 += i64::from(d.verdict.audit_sample);
    }
    for ((market, action), (n, audits)) in counts {
        sqlx::query(
            "insert into daily_counters (day, market, action, decided, audit_samples) values ($1, $2, $3, $4, $5) \
             on conflict (day, market, action) do update set decided = daily_counters.decided + excluded.decided, \
             audit_samples = daily_counters.audit_samples + excluded.audit_samples",
        )
        .bind(&day)
        .bind(market)
        .bind(action)
        .bind(n)
        .bind(audits)
        .execute(&mut *tx)
        .await?;
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

/// The machine decision on an ad, as shown to people and API clients.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecisionView {
    pub model_version: String,
    pub thresholds_version: i64,
    pub scores: BTreeMap<String, f32>,
    pub action: String,
    pub reasons: Vec<String>,
    pub route: Option<String>,
    pub audit_sample: bool,
    pub sampling_probability: f64,
    pub latency_ms: f64,
    pub decided_at: String,
}

/// An ad with its decision, if it has one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdView {
    pub id: i64,
    pub source: String,
    pub external_id: String,
    pub advertiser_id: String,
    pub market: String,
    pub language: Option<String>,
    pub headline: String,
    pub body: String,
    pub landing_url: Option<String>,
    pub daily_budget_usd: f64,
    pub submitted_at: String,
    pub status: String,
    pub decision: Option<DecisionView>,
}

type AdTuple = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    f64,
    i64,
    String,
);
type DecisionRow = (
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    Flag,
    f64,
    f64,
    i64,
);

/// The ad with this id.
pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<AdView>> {
    let row: Option<AdTuple> = sqlx::query_as(
        "select id, source, external_id, advertiser_id, market, language, headline, body, landing_url, \
         daily_budget_usd, submitted_at, status from ads where id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let decision: Option<DecisionRow> = sqlx::query_as(
        "select model_version, thresholds_version, scores, action, reasons, route, audit_sample, \
         sampling_probability, latency_ms, decided_at from decisions where ad_id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let rfc = |ms: i64| crate::time::to_rfc3339(ms);
    Ok(Some(AdView {
        id: r.0,
        source: r.1,
        external_id: r.2,
        advertiser_id: r.3,
        market: r.4,
        language: r.5,
        headline: r.6,
        body: r.7,
        landing_url: r.8,
        daily_budget_usd: r.9,
        submitted_at: rfc(r.10),
        status: r.11,
        decision: decision.map(|d| {
            let scores: Vec<f32> = serde_json::from_str(&d.2).unwrap_or_default();
            DecisionView {
                model_version: d.0,
                thresholds_version: d.1,
                scores: Category::ALL
                    .iter()
                    .zip(scores)
                    .map(|(c, s)| (c.as_str().to_string(), s))
                    .collect(),
                action: d.3,
                reasons: serde_json::from_str(&d.4).unwrap_or_default(),
                route: d.5,
                audit_sample: d.6.0,
                sampling_probability: d.7,
                latency_ms: d.8,
                decided_at: rfc(d.9),
            }
        }),
    }))
}

/// The source an ad was submitted by (to check an API key may see it).
pub async fn source_of(db: &Db, id: i64) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("select source from ads where id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.0))
}

/// How many ads are still queued.
pub async fn queued_count(db: &Db) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from ads where status = 'queued'")
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// Filters for the ads table; every field optional.
#[derive(Clone, Debug, Default)]
pub struct AdFilter {
    pub market: Option<Market>,
    pub status: Option<String>,
    pub category: Option<Category>,
    pub advertiser_id: Option<String>,
    /// Submitted at or after (ms).
    pub from: Option<Millis>,
    /// Submitted before (ms).
    pub to: Option<Millis>,
    /// Text contained in the headline or body.
    pub text: Option<String>,
}

/// One row of the ads table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdRow {
    pub id: i64,
    pub submitted_at: Millis,
    pub market: String,
    pub advertiser_id: String,
    pub headline: String,
    pub status: String,
    pub action: Option<String>,
    pub reasons: Vec<String>,
    pub top_category: Option<String>,
    pub top_score: Option<f32>,
}

/// A page of ads matching `filter`, newest first, and the total number of matches.
pub async fn search(
    db: &Db,
    filter: &AdFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<AdRow>, i64)> {
    // Every condition is always present and switched off by a null parameter, so the
    // statement text is fixed and nothing from the user is spliced into it.
    let conditions = "($1 is null or a.market = $1) and ($2 is null or a.status = $2) \
         and ($3 is null or d.reasons like $3) and ($4 is null or a.advertiser_id = $4) \
         and ($5 is null or a.submitted_at >= $5) and ($6 is null or a.submitted_at < $6) \
         and ($7 is null or lower(a.headline) like $7 or lower(a.body) like $7)";
    let category = filter.category.map(|c| format!("%\"{}\"%", c.as_str()));
    let text = filter
        .text
        .as_ref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| format!("%{}%", t.trim().to_lowercase().replace(['%', '_'], "")));
    let count_sql = format!(
        "select count(*) from ads a left join decisions d on d.ad_id = a.id where {conditions}"
    );
    let (total,): (i64,) = sqlx::query_as(&count_sql)
        .bind(filter.market.map(|m| m.code()))
        .bind(filter.status.as_deref())
        .bind(category.as_deref())
        .bind(filter.advertiser_id.as_deref())
        .bind(filter.from)
        .bind(filter.to)
        .bind(text.as_deref())
        .fetch_one(db.pool())
        .await?;
    let rows_sql = format!(
        "select a.id, a.submitted_at, a.market, a.advertiser_id, a.headline, a.status, d.action, d.reasons, d.scores \
         from ads a left join decisions d on d.ad_id = a.id where {conditions} \
         order by a.submitted_at desc, a.id desc limit $8 offset $9"
    );
    type Row = (
        i64,
        i64,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(&rows_sql)
        .bind(filter.market.map(|m| m.code()))
        .bind(filter.status.as_deref())
        .bind(category.as_deref())
        .bind(filter.advertiser_id.as_deref())
        .bind(filter.from)
        .bind(filter.to)
        .bind(text.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(db.pool())
        .await?;
    Ok((
        rows.into_iter()
            .map(|r| {
                let top = r.8.as_deref().and_then(top_of_scores);
                AdRow {
                    id: r.0,
                    submitted_at: r.1,
                    market: r.2,
                    advertiser_id: r.3,
                    headline: r.4,
                    status: r.5,
                    action: r.6,
                    reasons: r
                        .7
                        .as_deref()
                        .and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or_default(),
                    top_category: top.map(|t| t.0.as_str().to_string()),
                    top_score: top.map(|t| t.1),
                }
            })
            .collect(),
        total,
    ))
}

#[cfg(test)]
mod tests {
    use super::values_list;
    use crate::db::Backend;

    #[test]
    fn the_top_category_comes_from_the_scores() {
        use crate::policy::Category;
        let json = r#"[0.1,0.2,0.05,0.0,0.9,0.0,0.3,0.0,0.0,0.0]"#;
        assert_eq!(super::top_of_scores(json), Some((Category::Gambling, 0.9)));
        assert_eq!(super::top_of_scores("not json"), None);
    }

    #[test]
    fn values_lists_number_every_placeholder() {
        assert_eq!(
            values_list(Backend::Postgres, 2, "(?,'open',?)"),
            "($1,'open',$2),($3,'open',$4)"
        );
        assert_eq!(
            values_list(Backend::Sqlite, 2, "(?,'open',?)"),
            "(?,'open',?),(?,'open',?)"
        );
        assert_eq!(values_list(Backend::Postgres, 0, "(?)"), "");
        assert_eq!(Backend::Postgres.placeholders(3, 3), "$3,$4,$5");
        assert_eq!(Backend::Sqlite.placeholders(3, 2), "?,?");
    }
}
