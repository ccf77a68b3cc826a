//! Storing the rollups: the multi-row upserts a [`Delta`] is written with, the facts of an ad a
//! review changes read inside its transaction, and recomputing every rollup from raw rows.

use super::{
    AD_MEASURES, CAT_MEASURES, DecisionFacts, Delta, ESTIMATE_MEASURES, FinalVerdict, Grain, Key,
    ReviewWork,
};
use crate::platform::db::{Backend, Db, Flag, WriteTx};
use crate::platform::time::Millis;
use crate::vocab::policy::Category;
use std::collections::BTreeMap;

impl Delta {
    /// Writes the delta to the hourly rollups and, summed per day, to the daily ones: one
    /// multi-row upsert per table and chunk, adding to what is there.
    pub async fn flush(self, tx: &mut WriteTx) -> sqlx::Result<()> {
        let delta = self.without_zeros();
        let daily = delta.daily();
        delta.write(tx, Grain::Hour).await?;
        daily.write(tx, Grain::Day).await
    }

    /// Queues the delta for [`fold`] inside the caller's transaction: one small row instead
    /// of a dozen upserts on rollup rows every concurrent review shares (and would hold
    /// locked until it commits). Reviews and undos write this way; decision batches, which
    /// sum hundreds of ads per row, [`Delta::flush`] directly.
    pub async fn enqueue(self, tx: &mut WriteTx) -> sqlx::Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        sqlx::query("insert into rollup_queue (delta) values ($1)")
            .bind(self.into_queued())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn write(self, tx: &mut WriteTx, grain: Grain) -> sqlx::Result<()> {
        let time = grain.column();
        let table = |name: &str| format!("{name}{}", grain.suffix());
        let keys = [time, "market", "category", "model_version"];
        let ads: Vec<(Vec<Param>, Vec<f64>)> = self
            .ads
            .into_iter()
            .map(|(k, v)| (key_params(k), v))
            .collect();
        upsert(tx, &table("rollup_ads"), &keys, &AD_MEASURES, ads).await?;
        let cats: Vec<(Vec<Param>, Vec<f64>)> = self
            .categories
            .into_iter()
            .map(|(k, v)| (key_params(k), v))
            .collect();
        upsert(tx, &table("rollup_categories"), &keys, &CAT_MEASURES, cats).await?;
        let durations = self
            .durations
            .into_iter()
            .map(|((k, kind, bucket), n)| {
                let mut p = key_params(k);
                p.push(Param::Text(kind));
                p.push(Param::Int(bucket));
                (p, vec![n])
            })
            .collect();
        upsert(
            tx,
            &table("rollup_durations"),
            &[
                time,
                "market",
                "category",
                "model_version",
                "kind",
                "bucket",
            ],
            &["n"],
            durations,
        )
        .await?;
        let overrides = self
            .overrides
            .into_iter()
            .map(|((k, reviewer, reason, source), v)| {
                let mut p = key_params(k);
                p.push(Param::Int(reviewer));
                p.push(Param::Text(reason));
                p.push(Param::Text(source));
                (p, v.to_vec())
            })
            .collect();
        upsert(
            tx,
            &table("rollup_overrides"),
            &[
                time,
                "market",
                "category",
                "model_version",
                "reviewer_id",
                "reason_code",
                "source",
            ],
            &["reviews", "overrides"],
            overrides,
        )
        .await?;
        let languages = self
            .languages
            .into_iter()
            .map(|(k, n)| (key_params(k), vec![n]))
            .collect();
        upsert(
            tx,
            &table("rollup_languages"),
            &[time, "market", "language", "model_version"],
            &["decided"],
            languages,
        )
        .await?;
        let estimates = self
            .estimates
            .into_iter()
            .map(|((k, target, class), v)| {
                let mut p = key_params(k);
                p.push(Param::Text(target));
                p.push(Param::Text(class));
                (p, v)
            })
            .collect();
        upsert(
            tx,
            &table("rollup_estimates"),
            &[
                time,
                "market",
                "category",
                "model_version",
                "target",
                "class",
            ],
            &ESTIMATE_MEASURES,
            estimates,
        )
        .await
    }
}

enum Param {
    Int(i64),
    Text(String),
}

fn key_params((hour, a, b, c): Key) -> Vec<Param> {
    vec![
        Param::Int(hour),
        Param::Text(a),
        Param::Text(b),
        Param::Text(c),
    ]
}

async fn upsert(
    tx: &mut WriteTx,
    table: &str,
    keys: &[&str],
    measures: &[&str],
    rows: Vec<(Vec<Param>, Vec<f64>)>,
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let width = keys.len() + measures.len();
    // Stay well under both backends' limit on bound parameters.
    let per_chunk = (8_000 / width).max(1);
    let columns = keys
        .iter()
        .chain(measures)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let updates = measures
        .iter()
        .map(|m| format!("{m} = {table}.{m} + excluded.{m}"))
        .collect::<Vec<_>>()
        .join(", ");
    let placeholder = format!("({})", vec!["?"; width].join(","));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(per_chunk).collect();
        let sql = format!(
            "insert into {table} ({columns}) values {} on conflict ({}) do update set {updates}",
            crate::platform::db::values_list(tx.backend(), chunk.len(), &placeholder),
            keys.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (key, values) in chunk {
            for p in key {
                q = match p {
                    Param::Int(i) => q.bind(i),
                    Param::Text(s) => q.bind(s),
                };
            }
            for v in values {
                q = q.bind(v);
            }
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// A decision with its ad, as [`FACTS_SQL`] reads it.
#[derive(sqlx::FromRow)]
struct FactsRow {
    id: i64,
    market: String,
    language: Option<String>,
    model_version: String,
    decided_at: Millis,
    submitted_at: Millis,
    scores: String,
    action: String,
    reasons: String,
    audit_sample: Flag,
    sampling_probability: f64,
    latency_ms: f64,
    daily_budget_usd: f64,
}

const FACTS_SQL: &str = "select a.id, a.market, a.language, d.model_version, d.decided_at, a.submitted_at, \
     d.scores, d.action, d.reasons, d.audit_sample, d.sampling_probability, d.latency_ms, a.daily_budget_usd \
     from decisions d join ads a on a.id = d.ad_id";

fn facts_of(r: FactsRow) -> DecisionFacts {
    let scores: Vec<f32> = serde_json::from_str(&r.scores).unwrap_or_default();
    let mut fixed = [0.0f32; 10];
    for (slot, s) in fixed.iter_mut().zip(scores) {
        *slot = s;
    }
    DecisionFacts {
        ad_id: r.id,
        market: r.market,
        language: r.language.unwrap_or_else(|| "und".into()),
        model_version: r.model_version,
        decided_at: r.decided_at,
        submitted_at: r.submitted_at,
        scores: fixed,
        action: r.action,
        reasons: categories_of(&r.reasons),
        audit_sample: r.audit_sample.0,
        sampling_probability: r.sampling_probability,
        latency_ms: r.latency_ms,
        daily_budget_usd: r.daily_budget_usd,
    }
}

fn categories_of(json: &str) -> Vec<Category> {
    serde_json::from_str::<Vec<String>>(json)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect()
}

/// The decision facts of one ad, inside a write transaction.
pub async fn facts(tx: &mut WriteTx, ad_id: i64) -> sqlx::Result<Option<DecisionFacts>> {
    let row: Option<FactsRow> = sqlx::query_as(&format!("{FACTS_SQL} where a.id = $1"))
        .bind(ad_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(facts_of))
}

/// The ad's final human verdict, inside a write transaction.
pub async fn final_verdict(tx: &mut WriteTx, ad_id: i64) -> sqlx::Result<Option<FinalVerdict>> {
    let row: Option<(String, String)> = sqlx::query_as(
        "select verdict, categories from reviews where ad_id = $1 and source <> 'qa' order by id desc limit 1",
    )
    .bind(ad_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(verdict, cats)| FinalVerdict {
        reject: verdict == "reject",
        categories: categories_of(&cats),
    }))
}

/// A review with its task's due time, as [`WORK_SQL`] reads it.
#[derive(sqlx::FromRow)]
struct WorkRow {
    ad_id: i64,
    reviewer_id: i64,
    source: String,
    verdict: String,
    #[sqlx(rename = "override")]
    overrode: Flag,
    reason_code: Option<String>,
    status_before: String,
    started_at: Millis,
    finished_at: Millis,
    due_at: Millis,
}

const WORK_SQL: &str = "select r.ad_id, r.reviewer_id, r.source, r.verdict, r.override, r.reason_code, r.status_before, \
     r.started_at, r.finished_at, t.due_at from reviews r join review_tasks t on t.id = r.task_id";

fn work_of(r: WorkRow) -> (i64, ReviewWork) {
    (
        r.ad_id,
        ReviewWork {
            reviewer_id: r.reviewer_id,
            source: r.source,
            reject: r.verdict == "reject",
            overrode: r.overrode.0,
            reason_code: r.reason_code,
            status_before: r.status_before,
            started_at: r.started_at,
            finished_at: r.finished_at,
            due_at: r.due_at,
        },
    )
}

/// One review's work facts, inside a write transaction.
pub async fn review_work(tx: &mut WriteTx, review_id: i64) -> sqlx::Result<Option<ReviewWork>> {
    let row: Option<WorkRow> = sqlx::query_as(&format!("{WORK_SQL} where r.id = $1"))
        .bind(review_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(|r| work_of(r).1))
}

/// An ad's rollup state before a change, to be replaced after it: see [`Pending::settle`].
pub struct Pending {
    facts: Option<DecisionFacts>,
    before: Option<FinalVerdict>,
    delta: Delta,
}

impl Pending {
    /// Reads the ad's decision and final verdict before a review changes them.
    pub async fn before(tx: &mut WriteTx, ad_id: i64) -> sqlx::Result<Pending> {
        Ok(Pending {
            facts: facts(tx, ad_id).await?,
            before: final_verdict(tx, ad_id).await?,
            delta: Delta::default(),
        })
    }

    /// Counts a review's work (`sign` −1 when it is being removed).
    pub fn work(&mut self, w: &ReviewWork, sign: f64) {
        if let Some(f) = &self.facts {
            self.delta.work(f, w, sign);
        }
    }

    /// Replaces the ad's old verdict contribution with its current one and writes it all.
    pub async fn settle(mut self, tx: &mut WriteTx, ad_id: i64) -> sqlx::Result<()> {
        let Some(f) = self.facts.take() else {
            return Ok(());
        };
        let after = final_verdict(tx, ad_id).await?;
        if after != self.before {
            if let Some(v) = &self.before {
                self.delta.verdict(&f, v, -1.0);
            }
            if let Some(v) = &after {
                self.delta.verdict(&f, v, 1.0);
            }
        }
        self.delta.enqueue(tx).await
    }
}

/// Queued deltas folded per transaction: enough that a busy minute's reviews fold in a few
/// statements, few enough that the transaction stays short.
const FOLD_BATCH: i64 = 2_000;

/// The PostgreSQL advisory lock that keeps folding to one server at a time.
const FOLD_LOCK: i64 = 0x414d_534f_0001;

/// One folder per process; the advisory lock covers several servers on one database.
static FOLDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Folds the queued review deltas into the rollup tables, oldest first, until the queue is
/// empty: each batch is deleted from the queue and added to the rollups in one transaction,
/// so a delta counts exactly once whatever crashes. Returns how many deltas it folded.
pub async fn fold(db: &Db) -> sqlx::Result<usize> {
    let _one = FOLDING.lock().await;
    let mut folded = 0;
    loop {
        // A read first: an empty queue (most ticks) costs no write turn.
        let (waiting,): (i64,) =
            sqlx::query_as("select count(*) from (select 1 from rollup_queue limit 1) q")
                .fetch_one(db.pool())
                .await?;
        if waiting == 0 {
            return Ok(folded);
        }
        let mut tx = db.begin_batch_write().await?;
        if tx.backend() == Backend::Postgres {
            sqlx::query("select pg_advisory_xact_lock($1)")
                .bind(FOLD_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        let rows: Vec<(String,)> = sqlx::query_as(
            "delete from rollup_queue where id in \
             (select id from rollup_queue order by id limit $1) returning delta",
        )
        .bind(FOLD_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(folded);
        }
        let n = rows.len();
        let mut delta = Delta::default();
        for (json,) in rows {
            delta.merge(read_queued(&json)?);
        }
        delta.flush(&mut tx).await?;
        tx.commit().await?;
        folded += n;
        if (n as i64) < FOLD_BATCH {
            return Ok(folded);
        }
    }
}

/// A queued delta, or a decode error (the queue only holds what [`Delta::enqueue`] wrote).
fn read_queued(json: &str) -> sqlx::Result<Delta> {
    Delta::from_queued(json).map_err(|e| sqlx::Error::Decode(e.into()))
}

/// The deltas still queued, summed (hourly keys): what the rollups will add when folded.
pub async fn queued(db: &Db) -> sqlx::Result<Delta> {
    let mut delta = Delta::default();
    let rows: Vec<(String,)> = sqlx::query_as("select delta from rollup_queue")
        .fetch_all(db.pool())
        .await?;
    for (json,) in rows {
        delta.merge(read_queued(&json)?);
    }
    Ok(delta)
}

/// Every rollup computed from scratch from the raw decisions and reviews.
pub async fn recompute(db: &Db) -> sqlx::Result<Delta> {
    let mut delta = Delta::default();
    let mut facts_by_ad: BTreeMap<i64, DecisionFacts> = BTreeMap::new();
    for r in collect_rows::<FactsRow>(db, FACTS_SQL).await? {
        let f = facts_of(r);
        delta.decision(&f);
        facts_by_ad.insert(f.ad_id, f);
    }
    let finals: Vec<(i64, String, String)> = collect_rows(
        db,
        "select r.ad_id, r.verdict, r.categories from reviews r where r.source <> 'qa' and r.id = \
         (select max(r2.id) from reviews r2 where r2.ad_id = r.ad_id and r2.source <> 'qa')",
    )
    .await?;
    for (ad_id, verdict, cats) in finals {
        if let Some(f) = facts_by_ad.get(&ad_id) {
            let v = FinalVerdict {
                reject: verdict == "reject",
                categories: categories_of(&cats),
            };
            delta.verdict(f, &v, 1.0);
        }
    }
    for r in collect_rows::<WorkRow>(db, WORK_SQL).await? {
        let (ad_id, w) = work_of(r);
        if let Some(f) = facts_by_ad.get(&ad_id) {
            delta.work(f, &w, 1.0);
        }
    }
    Ok(delta.without_zeros())
}

/// All rows of a query (the rebuild reads each table once).
async fn collect_rows<T>(db: &Db, sql: &str) -> sqlx::Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as::<_, T>(sql).fetch_all(db.pool()).await
}

/// The rollup tables of one grain as stored, in the same shape as [`recompute`] returns
/// (keys carry the hour or the day).
pub async fn stored(db: &Db, grain: Grain) -> sqlx::Result<Delta> {
    let t = grain.column();
    let sfx = grain.suffix();
    let mut delta = Delta::default();
    for (table, measures, into_ads) in [
        ("rollup_ads", &AD_MEASURES[..], true),
        ("rollup_categories", &CAT_MEASURES[..], false),
    ] {
        let sql = format!(
            "select {t}, market, category, model_version, {} from {table}{sfx}",
            measures.join(", ")
        );
        let rows = sqlx::query(&sql).fetch_all(db.pool()).await?;
        for r in rows {
            use sqlx::Row;
            let key: Key = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            let values = (0..measures.len())
                .map(|i| r.try_get::<f64, _>(4 + i))
                .collect::<Result<Vec<_>, _>>()?;
            if into_ads {
                delta.ads.insert(key, values);
            } else {
                delta.categories.insert(key, values);
            }
        }
    }
    let durations: Vec<(i64, String, String, String, String, i64, f64)> = sqlx::query_as(&format!(
        "select {t}, market, category, model_version, kind, cast(bucket as bigint), n from rollup_durations{sfx}"
    ))
    .fetch_all(db.pool())
    .await?;
    for (h, m, c, v, kind, bucket, n) in durations {
        delta.durations.insert(((h, m, c, v), kind, bucket), n);
    }
    type OverrideRow = (i64, String, String, String, i64, String, String, f64, f64);
    let overrides: Vec<OverrideRow> =
        sqlx::query_as(&format!(
            "select {t}, market, category, model_version, reviewer_id, reason_code, source, reviews, overrides \
             from rollup_overrides{sfx}"
        ))
        .fetch_all(db.pool())
        .await?;
    for (h, m, c, v, reviewer, reason, source, n, o) in overrides {
        delta
            .overrides
            .insert(((h, m, c, v), reviewer, reason, source), [n, o]);
    }
    let languages: Vec<(i64, String, String, String, f64)> = sqlx::query_as(&format!(
        "select {t}, market, language, model_version, decided from rollup_languages{sfx}"
    ))
    .fetch_all(db.pool())
    .await?;
    for (h, m, l, v, n) in languages {
        delta.languages.insert((h, m, l, v), n);
    }
    let sql = format!(
        "select {t}, market, category, model_version, target, class, {} from rollup_estimates{sfx}",
        ESTIMATE_MEASURES.join(", ")
    );
    for r in sqlx::query(&sql).fetch_all(db.pool()).await? {
        use sqlx::Row;
        let key: Key = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
        let values = (0..ESTIMATE_MEASURES.len())
            .map(|i| r.try_get::<f64, _>(6 + i))
            .collect::<Result<Vec<_>, _>>()?;
        delta
            .estimates
            .insert((key, r.try_get(4)?, r.try_get(5)?), values);
    }
    Ok(delta.without_zeros())
}

/// Empties the rollups and writes them again from the raw rows, in one transaction. Used
/// when a database that predates the rollups is first served.
pub async fn rebuild(db: &Db) -> sqlx::Result<()> {
    let delta = recompute(db).await?;
    let mut tx = db.begin_write().await?;
    // What is queued is part of what the raw rows already say.
    sqlx::query("delete from rollup_queue")
        .execute(&mut *tx)
        .await?;
    for table in [
        "rollup_ads",
        "rollup_categories",
        "rollup_durations",
        "rollup_overrides",
        "rollup_languages",
        "rollup_estimates",
    ] {
        for grain in [Grain::Hour, Grain::Day] {
            sqlx::query(&format!("delete from {table}{}", grain.suffix()))
                .execute(&mut *tx)
                .await?;
        }
    }
    delta.flush(&mut tx).await?;
    tx.commit().await
}

/// Rebuilds the rollups when there are decisions but no rollup rows (a database from before
/// the dashboards). Returns whether it rebuilt.
pub async fn ensure_built(db: &Db) -> sqlx::Result<bool> {
    let (decisions,): (i64,) =
        sqlx::query_as("select count(*) from (select 1 from decisions limit 1) x")
            .fetch_one(db.pool())
            .await?;
    // The estimate sums came later than the rest: a database from before them is rebuilt too.
    let (rollups,): (i64,) = sqlx::query_as(
        "select (select count(*) from (select 1 from rollup_ads limit 1) x) \
         * (select count(*) from (select 1 from rollup_estimates limit 1) y)",
    )
    .fetch_one(db.pool())
    .await?;
    if decisions > 0 && rollups == 0 {
        rebuild(db).await?;
        return Ok(true);
    }
    Ok(false)
}
