//! Ads and their machine decisions in the database: submission (idempotent per source and
//! external id), claiming queued ads under a lease, and recording decisions.

use crate::intake::validate::NewAd;
use crate::platform::db::{Db, Flag, values_list};
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
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
    let mut tx = db.begin_batch_write().await?;
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

/// An ad as read for [`find`].
#[derive(sqlx::FromRow)]
struct AdRecord {
    id: i64,
    source: String,
    external_id: String,
    advertiser_id: String,
    market: String,
    language: Option<String>,
    headline: String,
    body: String,
    landing_url: Option<String>,
    daily_budget_usd: f64,
    submitted_at: i64,
    status: String,
}

/// An ad's decision as read for [`find`].
#[derive(sqlx::FromRow)]
struct DecisionRecord {
    model_version: String,
    thresholds_version: i64,
    scores: String,
    action: String,
    reasons: String,
    route: Option<String>,
    audit_sample: Flag,
    sampling_probability: f64,
    latency_ms: f64,
    decided_at: i64,
}

/// The ad with this id.
pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<AdView>> {
    let row: Option<AdRecord> = sqlx::query_as(
        "select id, source, external_id, advertiser_id, market, language, headline, body, landing_url, \
         daily_budget_usd, submitted_at, status from ads where id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let decision: Option<DecisionRecord> = sqlx::query_as(
        "select model_version, thresholds_version, scores, action, reasons, route, audit_sample, \
         sampling_probability, latency_ms, decided_at from decisions where ad_id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let rfc = |ms: i64| crate::platform::time::to_rfc3339(ms);
    Ok(Some(AdView {
        id: r.id,
        source: r.source,
        external_id: r.external_id,
        advertiser_id: r.advertiser_id,
        market: r.market,
        language: r.language,
        headline: r.headline,
        body: r.body,
        landing_url: r.landing_url,
        daily_budget_usd: r.daily_budget_usd,
        submitted_at: rfc(r.submitted_at),
        status: r.status,
        decision: decision.map(|d| {
            let scores: Vec<f32> = serde_json::from_str(&d.scores).unwrap_or_default();
            DecisionView {
                model_version: d.model_version,
                thresholds_version: d.thresholds_version,
                scores: Category::ALL
                    .iter()
                    .zip(scores)
                    .map(|(c, s)| (c.as_str().to_string(), s))
                    .collect(),
                action: d.action,
                reasons: serde_json::from_str(&d.reasons).unwrap_or_default(),
                route: d.route,
                audit_sample: d.audit_sample.0,
                sampling_probability: d.sampling_probability,
                latency_ms: d.latency_ms,
                decided_at: rfc(d.decided_at),
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
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        submitted_at: i64,
        market: String,
        advertiser_id: String,
        headline: String,
        status: String,
        action: Option<String>,
        reasons: Option<String>,
        scores: Option<String>,
    }
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
                let top = r.scores.as_deref().and_then(top_of_scores);
                AdRow {
                    id: r.id,
                    submitted_at: r.submitted_at,
                    market: r.market,
                    advertiser_id: r.advertiser_id,
                    headline: r.headline,
                    status: r.status,
                    action: r.action,
                    reasons: r
                        .reasons
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

/// How many ads the database holds.
pub async fn count(db: &Db) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from ads")
        .fetch_one(db.pool())
        .await?;
    Ok(n)
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

#[cfg(test)]
mod tests {
    use crate::vocab::policy::Category;

    #[test]
    fn the_top_category_comes_from_the_scores() {
        let json = r#"[0.1,0.2,0.05,0.0,0.9,0.0,0.3,0.0,0.0,0.0]"#;
        assert_eq!(super::top_of_scores(json), Some((Category::Gambling, 0.9)));
        assert_eq!(super::top_of_scores("not json"), None);
    }
}
