//! Exposure limits, for the reviewers' wellbeing: per category, a daily cap on how many items
//! one reviewer is shown (their local day), and a break prompt after a run of items in capped
//! categories. Past a cap, claim-next hands that person none of that category until their
//! next day; the items stay in the queue for others, in the same SLA order.
//!
//! What an item "shows" is what the machine flagged on it (the decision's reasons): known
//! when it is handed out, the same for every reviewer.

use super::ReviewError;
use crate::access::audit::{self, Actor, NewEntry};
use crate::platform::db::{Db, WriteTx};
use crate::platform::time::{Millis, local_days, zone_or_utc};
use crate::vocab::policy::Category;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

/// A run of harmful items ends after this long without one.
pub const RUN_GAP_MS: Millis = 15 * 60 * 1000;

/// The largest daily cap accepted (more is no cap at all).
pub const MAX_CAP: i64 = 100_000;

/// The caps in force and the break setting.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Wellness {
    /// Per capped category, how many items a reviewer may be shown a day.
    pub caps: Vec<(Category, i64)>,
    /// A break prompt after this many items of capped categories in a row.
    pub break_after: i64,
    /// The share of a reviewer's items that are golden (see [`super::golden`]).
    pub golden_rate: f64,
}

impl Wellness {
    /// The categories whose cap `shown` (items shown today, per category) has reached.
    pub fn reached(&self, shown: &BTreeMap<Category, i64>) -> Vec<Category> {
        self.caps
            .iter()
            .filter(|(c, cap)| shown.get(c).copied().unwrap_or(0) >= *cap)
            .map(|(c, _)| *c)
            .collect()
    }

    fn is_capped(&self, c: Category) -> bool {
        self.caps.iter().any(|(x, _)| *x == c)
    }
}

/// The caps and the break setting in force.
pub async fn wellness(db: &Db) -> sqlx::Result<Wellness> {
    let mut conn = db.pool().acquire().await?;
    wellness_on(&mut conn).await
}

async fn wellness_on(conn: &mut sqlx::AnyConnection) -> sqlx::Result<Wellness> {
    // One round trip (claim-next reads this on every claim): the settings row beside each cap.
    let rows: Vec<(i64, f64, Option<String>, Option<i64>)> = sqlx::query_as(
        "select w.break_after, w.golden_rate, c.category, c.daily_cap from wellness_settings w \
         left join exposure_caps c on 1 = 1 where w.id = 1 order by c.category",
    )
    .fetch_all(&mut *conn)
    .await?;
    let (break_after, golden_rate) = rows.first().map_or((25, 0.0), |r| (r.0, r.1));
    Ok(Wellness {
        caps: rows
            .into_iter()
            .filter_map(|(_, _, c, n)| Some((c?.parse().ok()?, n?)))
            .collect(),
        break_after,
        golden_rate,
    })
}

/// Sets (or with `None`, lifts) the daily cap of a category; audited.
pub async fn set_cap(
    db: &Db,
    actor: &Actor,
    category: Category,
    daily_cap: Option<i64>,
    now: Millis,
) -> Result<(), ReviewError> {
    if let Some(cap) = daily_cap
        && !(0..=MAX_CAP).contains(&cap)
    {
        return Err(ReviewError::Invalid(format!(
            "daily_cap must be between 0 and {MAX_CAP} (got {cap})"
        )));
    }
    let mut tx = db.begin_write().await?;
    let before: Option<(i64,)> =
        sqlx::query_as("select daily_cap from exposure_caps where category = $1")
            .bind(category.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    match daily_cap {
        Some(cap) => {
            sqlx::query(
                "insert into exposure_caps (category, daily_cap, updated_by, updated_at) values ($1, $2, $3, $4) \
                 on conflict (category) do update set daily_cap = excluded.daily_cap, \
                 updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            )
            .bind(category.as_str())
            .bind(cap)
            .bind(actor.as_text())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query("delete from exposure_caps where category = $1")
                .bind(category.as_str())
                .execute(&mut *tx)
                .await?;
        }
    }
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: "settings.exposure_cap",
            object: format!("category:{}", category.as_str()),
            before: before.map(|b| json!({ "daily_cap": b.0 })),
            after: daily_cap.map(|c| json!({ "daily_cap": c })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets after how many items of capped categories in a row the break prompt appears; audited.
pub async fn set_break_after(
    db: &Db,
    actor: &Actor,
    break_after: i64,
    now: Millis,
) -> Result<(), ReviewError> {
    if !(1..=10_000).contains(&break_after) {
        return Err(ReviewError::Invalid(format!(
            "break_after must be between 1 and 10000 (got {break_after})"
        )));
    }
    let mut tx = db.begin_write().await?;
    let (before,): (i64,) =
        sqlx::query_as("select break_after from wellness_settings where id = 1")
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query(
        "update wellness_settings set break_after = $1, updated_by = $2, updated_at = $3 where id = 1",
    )
    .bind(break_after)
    .bind(actor.as_text())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: "settings.break_after",
            object: "wellness".into(),
            before: Some(json!({ "break_after": before })),
            after: Some(json!({ "break_after": break_after })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Inside a claim's write transaction: locks this person's run row (so two tabs claiming at
/// once are counted one after the other) and returns the categories whose cap they have
/// reached in their local day, with the caps in force.
pub(super) async fn lock_and_reached(
    tx: &mut WriteTx,
    user_id: i64,
    time_zone: &str,
    now: Millis,
) -> sqlx::Result<(Vec<Category>, Wellness)> {
    // An upsert that changes nothing still takes the row's lock (PostgreSQL) for the rest of
    // the transaction; SQLite's one writer at a time does the same for free.
    sqlx::query(
        "insert into exposure_runs (user_id, run, last_at) values ($1, 0, 0) \
         on conflict (user_id) do update set run = exposure_runs.run",
    )
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    let wellness = wellness_on(tx).await?;
    if wellness.caps.is_empty() {
        return Ok((Vec::new(), wellness));
    }
    let (day_from, _) = local_days(now, zone_or_utc(time_zone), 1);
    let shown = shown_since(&mut **tx, user_id, day_from).await?;
    Ok((wellness.reached(&shown), wellness))
}

async fn shown_since<'e, E>(
    exec: E,
    user_id: i64,
    from: Millis,
) -> sqlx::Result<BTreeMap<Category, i64>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select category, count(*) from exposures where user_id = $1 and shown_at >= $2 group by category",
    )
    .bind(user_id)
    .bind(from)
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, n)| Some((c.parse().ok()?, n)))
        .collect())
}

/// The categories the machine flagged on the ad of a task.
pub(super) async fn categories_of(tx: &mut WriteTx, task_id: i64) -> sqlx::Result<Vec<Category>> {
    let row: Option<(String,)> = sqlx::query_as(
        "select d.reasons from review_tasks t join decisions d on d.ad_id = t.ad_id where t.id = $1",
    )
    .bind(task_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(flagged(row))
}

/// The categories the machine flagged on an ad.
pub(super) async fn categories_of_ad(tx: &mut WriteTx, ad_id: i64) -> sqlx::Result<Vec<Category>> {
    let row: Option<(String,)> = sqlx::query_as("select reasons from decisions where ad_id = $1")
        .bind(ad_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(flagged(row))
}

fn flagged(row: Option<(String,)>) -> Vec<Category> {
    row.and_then(|(r,)| serde_json::from_str::<Vec<String>>(&r).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect()
}

/// Records that a newly handed item, showing `categories`, was shown to this person, and
/// moves their run on.
pub(super) async fn record_shown(
    tx: &mut WriteTx,
    user_id: i64,
    task_id: i64,
    categories: &[Category],
    wellness: &Wellness,
    now: Millis,
) -> sqlx::Result<()> {
    for c in categories {
        sqlx::query(
            "insert into exposures (user_id, task_id, category, shown_at) values ($1, $2, $3, $4) \
             on conflict (user_id, task_id, category) do nothing",
        )
        .bind(user_id)
        .bind(task_id)
        .bind(c.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    let harmful = categories.iter().any(|c| wellness.is_capped(*c));
    // A harmful item lengthens the run (restarting it after a long gap); a calmer one ends it.
    sqlx::query(
        "update exposure_runs set run = case when $1 = 0 then 0 when last_at < $2 then 1 else run + 1 end, \
         last_at = $3 where user_id = $4",
    )
    .bind(i64::from(harmful))
    .bind(now - RUN_GAP_MS)
    .bind(now)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How many items of capped categories this person has been handed in a row (0 after a
/// quarter of an hour without one).
pub async fn run_of(db: &Db, user_id: i64, now: Millis) -> sqlx::Result<i64> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("select run, last_at from exposure_runs where user_id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map_or(0, |(run, last_at)| current_run(run, last_at, now)))
}

/// A stored run as it stands at `now`: over after [`RUN_GAP_MS`] without a harmful item.
fn current_run(run: i64, last_at: Millis, now: Millis) -> i64 {
    if last_at < now - RUN_GAP_MS { 0 } else { run }
}

/// This person takes a break: their run starts again from nothing.
pub async fn take_break(db: &Db, user_id: i64, now: Millis) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("update exposure_runs set run = 0, last_at = $1 where user_id = $2")
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// One reviewer's exposure: items shown per category today (their local day) and over the
/// last 7 local days.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewerExposure {
    pub user_id: i64,
    pub name: String,
    pub time_zone: String,
    pub today: BTreeMap<Category, i64>,
    pub week: BTreeMap<Category, i64>,
    /// Their current run of items in capped categories.
    pub run: i64,
}

/// Every enabled reviewer's exposure, most exposed today first.
pub async fn team_exposure(db: &Db, now: Millis) -> sqlx::Result<Vec<ReviewerExposure>> {
    let people: Vec<(i64, String, String)> = sqlx::query_as(
        "select id, display_name, time_zone from users where role = 'reviewer' and disabled = $1",
    )
    .bind(false)
    .fetch_all(db.pool())
    .await?;
    // Eight days back covers every zone's last seven local days.
    let rows: Vec<(i64, String, i64)> =
        sqlx::query_as("select user_id, category, shown_at from exposures where shown_at >= $1")
            .bind(now - 8 * 86_400_000)
            .fetch_all(db.pool())
            .await?;
    let mut shown: HashMap<i64, Vec<(Category, Millis)>> = HashMap::new();
    for (user_id, c, at) in rows {
        if let Ok(c) = c.parse() {
            shown.entry(user_id).or_default().push((c, at));
        }
    }
    let runs: HashMap<i64, (i64, Millis)> =
        sqlx::query_as::<_, (i64, i64, i64)>("select user_id, run, last_at from exposure_runs")
            .fetch_all(db.pool())
            .await?
            .into_iter()
            .map(|(u, run, last_at)| (u, (run, last_at)))
            .collect();
    let mut out = Vec::with_capacity(people.len());
    for (user_id, name, time_zone) in people {
        let tz = zone_or_utc(&time_zone);
        let (day_from, _) = local_days(now, tz, 1);
        let (week_from, _) = local_days(now, tz, 7);
        let mut today = BTreeMap::new();
        let mut week = BTreeMap::new();
        for (c, at) in shown.get(&user_id).map(Vec::as_slice).unwrap_or_default() {
            if *at >= week_from {
                *week.entry(*c).or_insert(0) += 1;
            }
            if *at >= day_from {
                *today.entry(*c).or_insert(0) += 1;
            }
        }
        out.push(ReviewerExposure {
            user_id,
            name,
            time_zone: tz.name().to_string(),
            today,
            week,
            run: runs
                .get(&user_id)
                .map_or(0, |(run, last_at)| current_run(*run, *last_at, now)),
        });
    }
    out.sort_by(|a, b| {
        let total = |e: &ReviewerExposure| e.today.values().sum::<i64>();
        total(b).cmp(&total(a)).then_with(|| a.name.cmp(&b.name))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cap_is_reached_at_its_count_and_zero_blocks_at_once() {
        let w = Wellness {
            caps: vec![(Category::Adult, 3), (Category::Weapons, 0)],
            break_after: 5,
            golden_rate: 0.0,
        };
        let mut shown = BTreeMap::new();
        assert_eq!(w.reached(&shown), vec![Category::Weapons]);
        shown.insert(Category::Adult, 2);
        shown.insert(Category::Drugs, 900);
        assert_eq!(w.reached(&shown), vec![Category::Weapons]);
        shown.insert(Category::Adult, 3);
        assert_eq!(w.reached(&shown), vec![Category::Adult, Category::Weapons]);
        assert!(w.is_capped(Category::Adult) && !w.is_capped(Category::Drugs));
    }
}
