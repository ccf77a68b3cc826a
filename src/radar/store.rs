//! The radar's counts, kept incrementally, and its check.
//!
//! `radar_counts` holds, per UTC day × market × kind × value, the ads decided that day
//! carrying the value, how many of them the model scored high, the human reviews they got,
//! and up to five recent ad ids as samples. A check ([`check`]) first folds in what was
//! decided and reviewed since the last one (cursors in `radar_cursor`), then ranks every
//! market's entries for both windows into `radar_entries`, which pages and the API read.
//!
//! Bounded: each fold adds at most [`PER_FOLD`] values per day × market × kind (the most
//! frequent in that fold) and each day × market × kind keeps at most [`PER_DAY`] values, the
//! least frequent dropped (a dropped value's count starts again if it comes back; a rising
//! one comes back quickly), so the table stays the same size however large the vocabulary.

use super::{BASELINE_DAYS, Counts, Entry, Kind, Window, entry, rank};
use crate::engine::featurize::normalize;
use crate::platform::db::{Db, values_list};
use crate::platform::time::Millis;
use std::collections::{BTreeMap, HashMap};

/// Most values one fold adds per day × market × kind.
pub const PER_FOLD: usize = 500;
/// Most values kept per day × market × kind.
pub const PER_DAY: i64 = 2_000;
/// Entries kept per window × market.
pub const KEPT: usize = 100;
/// Most values taken from one ad.
const PER_AD: usize = 64;
/// Decisions or reviews read per query.
const CHUNK: i64 = 20_000;
/// Sample ad ids kept per value and day.
const SAMPLES: usize = 5;
const DAY_MS: i64 = 86_400_000;

/// The UTC day number of an instant.
pub fn day_of(ms: Millis) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// Whether a token is worth counting: three characters or more (two in scripts without
/// spaces), not only digits.
fn countable(t: &str) -> bool {
    let n = t.chars().count();
    let min = if t.chars().any(crate::engine::featurize::is_cjk) {
        2
    } else {
        3
    };
    n >= min && n <= 40 && !t.chars().all(|c| c.is_ascii_digit())
}

/// The values an ad carries: its terms (unigrams, with the de-leeted and joined forms the
/// model sees, and bigrams of adjacent words), registrable landing domain and advertiser,
/// each once.
pub fn values_of(
    headline: &str,
    body: &str,
    landing_url: Option<&str>,
    advertiser: &str,
) -> Vec<(Kind, String)> {
    let mut out: Vec<(Kind, String)> = Vec::new();
    let mut seen: std::collections::HashSet<(Kind, String)> = std::collections::HashSet::new();
    let push = |kind: Kind,
                v: String,
                out: &mut Vec<(Kind, String)>,
                seen: &mut std::collections::HashSet<(Kind, String)>| {
        if out.len() < PER_AD && seen.insert((kind, v.clone())) {
            out.push((kind, v));
        }
    };
    if let Some(d) = landing_url.and_then(crate::rules::matcher::registrable_domain) {
        push(Kind::Domain, d, &mut out, &mut seen);
    }
    let advertiser = advertiser.trim();
    if !advertiser.is_empty() {
        push(
            Kind::Advertiser,
            advertiser.chars().take(128).collect(),
            &mut out,
            &mut seen,
        );
    }
    let text = normalize(&format!("{headline}\n{body}"));
    for t in crate::engine::featurize::tokens(&text) {
        if countable(&t) {
            push(Kind::Term, t, &mut out, &mut seen);
        }
    }
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    for pair in words.windows(2) {
        if pair.iter().all(|w| w.chars().count() >= 2) && pair.iter().any(|w| countable(w)) {
            push(
                Kind::Term,
                format!("{} {}", pair[0], pair[1]),
                &mut out,
                &mut seen,
            );
        }
    }
    out
}

type Key = (i64, String, Kind, String);

#[derive(Default)]
struct Add {
    ads: i64,
    model_high: i64,
    samples: Vec<i64>,
    reviewed: i64,
    rejected: i64,
    gap: i64,
}

/// Keeps the `PER_FOLD` largest values of each day × market × kind, by `weight`.
fn cap(map: HashMap<Key, Add>, weight: fn(&Add) -> i64) -> Vec<(Key, Add)> {
    let mut groups: HashMap<(i64, String, Kind), Vec<(Key, Add)>> = HashMap::new();
    for (k, v) in map {
        groups
            .entry((k.0, k.1.clone(), k.2))
            .or_default()
            .push((k, v));
    }
    let mut out = Vec::new();
    for (_, mut g) in groups {
        g.sort_by(|a, b| weight(&b.1).cmp(&weight(&a.1)).then(a.0.3.cmp(&b.0.3)));
        g.truncate(PER_FOLD);
        out.extend(g);
    }
    out
}

async fn cursor(db: &Db, name: &str) -> sqlx::Result<i64> {
    let row: Option<(i64,)> = sqlx::query_as("select last_id from radar_cursor where name = $1")
        .bind(name)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map_or(0, |r| r.0))
}

type DecisionRow = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
);

/// Folds decisions made since the last fold into the counts; returns how many.
async fn fold_decisions(db: &Db) -> sqlx::Result<usize> {
    let mut total = 0;
    loop {
        let from = cursor(db, "decisions").await?;
        let rows: Vec<DecisionRow> = sqlx::query_as(
            "select d.id, d.ad_id, d.decided_at, d.scores, a.market, a.headline, a.body, a.landing_url, a.advertiser_id \
             from decisions d join ads a on a.id = d.ad_id where d.id > $1 order by d.id limit $2",
        )
        .bind(from)
        .bind(CHUNK)
        .fetch_all(db.pool())
        .await?;
        let Some(last) = rows.last().map(|r| r.0) else {
            return Ok(total);
        };
        let mut adds: HashMap<Key, Add> = HashMap::new();
        let mut totals: BTreeMap<(i64, String), i64> = BTreeMap::new();
        for (_, ad_id, at, scores, market, headline, body, url, advertiser) in &rows {
            let day = day_of(*at);
            *totals.entry((day, market.clone())).or_default() += 1;
            let high = serde_json::from_str::<Vec<f32>>(scores)
                .map(|s| s.iter().any(|x| *x >= 0.5))
                .unwrap_or(false);
            for (kind, value) in values_of(headline, body, url.as_deref(), advertiser) {
                let a = adds.entry((day, market.clone(), kind, value)).or_default();
                a.ads += 1;
                a.model_high += i64::from(high);
                if a.samples.len() == SAMPLES {
                    a.samples.remove(0);
                }
                a.samples.push(*ad_id);
            }
        }
        let kept = cap(adds, |a| a.ads);
        let mut tx = db.begin_batch_write().await?;
        if !claim(&mut tx, "decisions", from).await? {
            continue;
        }
        for chunk in kept.chunks(300) {
            let mut sql = String::from(
                "insert into radar_counts (day, market, kind, value, ads, model_high, samples) values ",
            );
            sql.push_str(&values_list(tx.backend(), chunk.len(), "(?,?,?,?,?,?,?)"));
            sql.push_str(
                " on conflict (day, market, kind, value) do update set ads = radar_counts.ads + excluded.ads, \
                 model_high = radar_counts.model_high + excluded.model_high, samples = excluded.samples",
            );
            let mut q = sqlx::query(&sql);
            for ((day, market, kind, value), a) in chunk {
                q = q
                    .bind(*day)
                    .bind(market.as_str())
                    .bind(kind.as_str())
                    .bind(value.as_str())
                    .bind(a.ads)
                    .bind(a.model_high)
                    .bind(serde_json::to_string(&a.samples).unwrap_or_else(|_| "[]".into()));
            }
            q.execute(&mut *tx).await?;
        }
        for ((day, market), n) in &totals {
            sqlx::query(
                "insert into radar_totals (day, market, ads) values ($1, $2, $3) \
                 on conflict (day, market) do update set ads = radar_totals.ads + excluded.ads",
            )
            .bind(*day)
            .bind(market.as_str())
            .bind(*n)
            .execute(&mut *tx)
            .await?;
            // Keep the day's most frequent values only.
            for kind in Kind::ALL {
                sqlx::query(
                    "delete from radar_counts where day = $1 and market = $2 and kind = $3 and ads < \
                     (select ads from radar_counts where day = $1 and market = $2 and kind = $3 \
                      order by ads desc limit 1 offset $4)",
                )
                .bind(*day)
                .bind(market.as_str())
                .bind(kind.as_str())
                .bind(PER_DAY)
                .execute(&mut *tx)
                .await?;
            }
        }
        set_cursor(&mut tx, "decisions", last).await?;
        tx.commit().await?;
        total += rows.len();
    }
}

/// Inside a fold's transaction: whether the cursor is still where the fold read from (another
/// instance may have folded the same rows meanwhile; then this fold is dropped and reread).
/// On PostgreSQL the check holds an advisory lock until the transaction ends.
async fn claim(tx: &mut crate::platform::db::WriteTx, name: &str, from: i64) -> sqlx::Result<bool> {
    if tx.backend() == crate::platform::db::Backend::Postgres {
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(CHECK_LOCK)
            .execute(&mut **tx)
            .await?;
    }
    let row: Option<(i64,)> = sqlx::query_as("select last_id from radar_cursor where name = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map_or(0, |r| r.0) == from)
}

async fn set_cursor(
    tx: &mut crate::platform::db::WriteTx,
    name: &str,
    last: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into radar_cursor (name, last_id) values ($1, $2) \
         on conflict (name) do update set last_id = excluded.last_id",
    )
    .bind(name)
    .bind(last)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

type ReviewRow = (
    i64,
    String,
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
);

/// Folds human reviews (not QA second opinions) finished since the last fold into the
/// counts of the day their ad was decided; returns how many.
async fn fold_reviews(db: &Db) -> sqlx::Result<usize> {
    let mut total = 0;
    loop {
        let from = cursor(db, "reviews").await?;
        let rows: Vec<ReviewRow> = sqlx::query_as(
            "select r.id, r.verdict, r.machine_action, d.decided_at, a.market, a.headline, a.body, a.landing_url, a.advertiser_id \
             from reviews r join decisions d on d.ad_id = r.ad_id join ads a on a.id = r.ad_id \
             where r.id > $1 and r.source <> 'qa' order by r.id limit $2",
        )
        .bind(from)
        .bind(CHUNK)
        .fetch_all(db.pool())
        .await?;
        let Some(last) = rows.last().map(|r| r.0) else {
            return Ok(total);
        };
        let mut adds: HashMap<Key, Add> = HashMap::new();
        for (_, verdict, machine, at, market, headline, body, url, advertiser) in &rows {
            let reject = verdict == "reject";
            for (kind, value) in values_of(headline, body, url.as_deref(), advertiser) {
                let a = adds
                    .entry((day_of(*at), market.clone(), kind, value))
                    .or_default();
                a.reviewed += 1;
                a.rejected += i64::from(reject);
                a.gap += i64::from(reject && machine == "approve");
            }
        }
        let kept = cap(adds, |a| a.reviewed);
        let mut tx = db.begin_batch_write().await?;
        if !claim(&mut tx, "reviews", from).await? {
            continue;
        }
        for ((day, market, kind, value), a) in &kept {
            sqlx::query(
                "update radar_counts set reviewed = reviewed + $1, rejected = rejected + $2, gap = gap + $3 \
                 where day = $4 and market = $5 and kind = $6 and value = $7",
            )
            .bind(a.reviewed)
            .bind(a.rejected)
            .bind(a.gap)
            .bind(*day)
            .bind(market.as_str())
            .bind(kind.as_str())
            .bind(value.as_str())
            .execute(&mut *tx)
            .await?;
        }
        set_cursor(&mut tx, "reviews", last).await?;
        tx.commit().await?;
        total += rows.len();
    }
}

/// Serialises checks within a process (PostgreSQL instances also take an advisory lock).
static CHECKING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const CHECK_LOCK: i64 = 0x0072_6164_6172; // "radar"

/// What a check did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct CheckSummary {
    pub decisions_folded: usize,
    pub reviews_folded: usize,
    pub entries: usize,
}

/// Folds what is new, then ranks every market's entries for both windows at `now`.
pub async fn check(db: &Db, now: Millis) -> sqlx::Result<CheckSummary> {
    let _one = CHECKING.lock().await;
    let decisions_folded = fold_decisions(db).await?;
    let reviews_folded = fold_reviews(db).await?;
    let today = day_of(now);
    let mut all: Vec<(Window, Entry)> = Vec::new();
    for window in Window::ALL {
        let start = today - window.days() + 1;
        let base = start - BASELINE_DAYS;
        for e in ranked(db, start, base, today).await? {
            all.push((window, e));
        }
    }
    let mut tx = db.begin_batch_write().await?;
    if tx.backend() == crate::platform::db::Backend::Postgres {
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(CHECK_LOCK)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("delete from radar_entries")
        .execute(&mut *tx)
        .await?;
    for chunk in all.chunks(200) {
        let mut sql = String::from(
            "insert into radar_entries (time_window, market, rank, kind, value, count_now, count_before, share_now, share_before, \
             lift, g2, reviewed, rejected, model_high_share, gap, score, computed_at) values ",
        );
        sql.push_str(&values_list(
            tx.backend(),
            chunk.len(),
            "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        ));
        let mut q = sqlx::query(&sql);
        for (w, e) in chunk {
            q = q
                .bind(w.as_str())
                .bind(e.market.as_str())
                .bind(e.rank)
                .bind(e.kind.as_str())
                .bind(e.value.as_str())
                .bind(e.count_now)
                .bind(e.count_before)
                .bind(e.share_now)
                .bind(e.share_before)
                .bind(e.lift)
                .bind(e.g2)
                .bind(e.reviewed)
                .bind(e.rejected)
                .bind(e.model_high_share)
                .bind(e.gap)
                .bind(e.score)
                .bind(now);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(CheckSummary {
        decisions_folded,
        reviews_folded,
        entries: all.len(),
    })
}

type CountRow = (String, String, String, i64, i64, i64, i64, i64, i64);

/// The counts of a window starting on day `start` with its baseline from day `base`, per
/// market (or summed over markets, as market `*`), of the values with at least
/// [`super::MIN_COUNT`] ads in the window: only those can be entries, and the database
/// leaves the long tail behind.
async fn counts(
    db: &Db,
    start: i64,
    base: i64,
    today: i64,
    per_market: bool,
) -> sqlx::Result<Vec<CountRow>> {
    let (market, group) = if per_market {
        ("market", "market, kind, value")
    } else {
        ("'*'", "kind, value")
    };
    let sql = format!(
        "select {market}, kind, value, \
         cast(sum(case when day >= $1 then ads else 0 end) as bigint), \
         cast(sum(case when day < $1 then ads else 0 end) as bigint), \
         cast(sum(case when day >= $1 then model_high else 0 end) as bigint), \
         cast(sum(reviewed) as bigint), cast(sum(rejected) as bigint), cast(sum(gap) as bigint) \
         from radar_counts where day >= $2 and day <= $3 group by {group} \
         having sum(case when day >= $1 then ads else 0 end) >= $4"
    );
    sqlx::query_as(&sql)
        .bind(start)
        .bind(base)
        .bind(today)
        .bind(super::MIN_COUNT)
        .fetch_all(db.pool())
        .await
}

/// Every market's (and all markets') ranked entries for a window starting on day `start`
/// with its baseline from day `base`.
async fn ranked(db: &Db, start: i64, base: i64, today: i64) -> sqlx::Result<Vec<Entry>> {
    let totals: Vec<(String, i64, i64)> = sqlx::query_as(
        "select market, cast(sum(case when day >= $1 then ads else 0 end) as bigint), \
         cast(sum(case when day < $1 then ads else 0 end) as bigint) \
         from radar_totals where day >= $2 and day <= $3 group by market",
    )
    .bind(start)
    .bind(base)
    .bind(today)
    .fetch_all(db.pool())
    .await?;
    let mut totals: HashMap<String, (i64, i64)> =
        totals.into_iter().map(|(m, a, b)| (m, (a, b))).collect();
    let all = totals
        .values()
        .fold((0, 0), |acc, t| (acc.0 + t.0, acc.1 + t.1));
    totals.insert("*".into(), all);
    let mut per_market: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    for per in [true, false] {
        for (market, kind, value, now, before, high, reviewed, rejected, gap) in
            counts(db, start, base, today, per).await?
        {
            let Some(kind) = Kind::parse(&kind) else {
                continue;
            };
            let c = Counts {
                now,
                before,
                model_high_now: high,
                reviewed,
                rejected,
                gap,
            };
            let (tn, tb) = totals.get(&market).copied().unwrap_or((0, 0));
            if let Some(e) = entry(kind, &value, &market, &c, tn, tb) {
                per_market.entry(market).or_default().push(e);
            }
        }
    }
    let mut out = Vec::new();
    for (_, entries) in per_market {
        let mut r = rank(entries);
        r.truncate(KEPT);
        out.extend(r);
    }
    Ok(out)
}

type EntryRow = (
    i64,
    String,
    String,
    String,
    i64,
    i64,
    f64,
    f64,
    f64,
    f64,
    i64,
    i64,
    f64,
    i64,
    f64,
);

/// The ranked entries of a window, for one market or `*` (all markets), from the last check.
pub async fn entries(
    db: &Db,
    window: Window,
    market: &str,
    limit: i64,
) -> sqlx::Result<(Vec<Entry>, Option<Millis>)> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "select rank, kind, value, market, count_now, count_before, share_now, share_before, lift, g2, \
         reviewed, rejected, model_high_share, gap, score from radar_entries \
         where time_window = $1 and market = $2 order by rank limit $3",
    )
    .bind(window.as_str())
    .bind(market)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let (at,): (Option<i64>,) = sqlx::query_as("select max(computed_at) from radar_entries")
        .fetch_one(db.pool())
        .await?;
    Ok((
        rows.into_iter()
            .filter_map(|r| {
                Some(Entry {
                    rank: r.0,
                    kind: Kind::parse(&r.1)?,
                    value: r.2,
                    market: r.3,
                    count_now: r.4,
                    count_before: r.5,
                    share_now: r.6,
                    share_before: r.7,
                    lift: r.8,
                    g2: r.9,
                    reviewed: r.10,
                    rejected: r.11,
                    rejected_share: (r.10 > 0).then(|| r.11 as f64 / r.10 as f64),
                    model_high_share: r.12,
                    gap: r.13,
                    score: r.14,
                })
            })
            .collect(),
        at,
    ))
}

/// One value's detail: ads per day (the market's, or all markets'), the markets it is in
/// over the last `days`, and sample ad ids, newest first.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Detail {
    /// (day as `YYYY-MM-DD`, ads).
    pub trend: Vec<(String, i64)>,
    /// (market, ads), most first.
    pub markets: Vec<(String, i64)>,
    pub samples: Vec<i64>,
}

/// The detail of a value over the `days` up to `now`.
pub async fn detail(
    db: &Db,
    kind: Kind,
    value: &str,
    market: &str,
    days: i64,
    now: Millis,
) -> sqlx::Result<Detail> {
    let from = day_of(now) - days + 1;
    let rows: Vec<(i64, String, i64, String)> = sqlx::query_as(
        "select day, market, ads, samples from radar_counts where kind = $1 and value = $2 and day >= $3 order by day",
    )
    .bind(kind.as_str())
    .bind(value)
    .bind(from)
    .fetch_all(db.pool())
    .await?;
    let mut trend: BTreeMap<i64, i64> = BTreeMap::new();
    let mut markets: BTreeMap<String, i64> = BTreeMap::new();
    let mut samples: Vec<i64> = Vec::new();
    for (day, m, ads, s) in rows.iter().rev() {
        *markets.entry(m.clone()).or_default() += ads;
        if market == "*" || m == market {
            *trend.entry(*day).or_default() += ads;
            for id in serde_json::from_str::<Vec<i64>>(s)
                .unwrap_or_default()
                .into_iter()
                .rev()
            {
                if samples.len() < 10 && !samples.contains(&id) {
                    samples.push(id);
                }
            }
        }
    }
    let mut markets: Vec<(String, i64)> = markets.into_iter().collect();
    markets.sort_by_key(|m| std::cmp::Reverse(m.1));
    Ok(Detail {
        trend: (from..=day_of(now))
            .map(|d| {
                let label = chrono::DateTime::from_timestamp_millis(d * DAY_MS)
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                (label, trend.get(&d).copied().unwrap_or(0))
            })
            .collect(),
        markets,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ad_carries_its_terms_domain_and_advertiser_once() {
        let v = values_of(
            "Investasi EMAS, profit harian!",
            "Profit harian dijamin. Daftar di sini",
            Some("https://promo.cuan-cepat.co.id/x"),
            "adv-7",
        );
        let has = |k: Kind, s: &str| v.iter().any(|(kind, x)| *kind == k && x == s);
        assert!(has(Kind::Domain, "cuan-cepat.co.id"));
        assert!(has(Kind::Advertiser, "adv-7"));
        assert!(has(Kind::Term, "investasi"));
        assert!(has(Kind::Term, "profit harian"));
        assert!(!has(Kind::Term, "di"), "short words are not counted");
        assert_eq!(
            v.iter()
                .filter(|(k, x)| *k == Kind::Term && x == "profit harian")
                .count(),
            1
        );
        // Obfuscation reads as the model reads it.
        let v = values_of("c4sino b0nus", "", None, "");
        assert!(v.iter().any(|(_, x)| x == "casino"));
    }
}
