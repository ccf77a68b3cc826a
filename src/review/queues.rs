//! The review queues: their sizes and ages, the list view, and claiming an item (the next in
//! due order, or a chosen one) under a lease that its holder renews.

use super::tasks::task_for;
use super::{DeskSettings, ReviewError, Scope, check_works, exposure, golden, placeholders};
use crate::platform::db::{Backend, Db, WriteTx};
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use crate::vocab::queue::Source;
use serde::Serialize;

/// Size and age of one queue, within a person's scope.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueSummary {
    pub source: Source,
    pub open: i64,
    /// Open items nobody holds right now (in a person's summary: in a language they read, or
    /// declaring none).
    pub available: i64,
    /// When the oldest open item entered the queue.
    pub oldest_at: Option<Millis>,
    /// Open items past their SLA due time.
    pub overdue: i64,
}

/// Size and age of one queue in one market.
#[derive(Clone, Debug, PartialEq)]
pub struct MarketQueue {
    pub source: Source,
    pub market: Market,
    pub open: i64,
    pub available: i64,
    pub oldest_at: Option<Millis>,
    pub overdue: i64,
}

/// Every queue's size and age per market (only `markets`, when given). The live stream reads
/// this once for every connection and sums each viewer's markets with [`for_scope`].
pub async fn market_summaries(
    db: &Db,
    markets: Option<&[Market]>,
    reads: &[String],
    now: Millis,
) -> sqlx::Result<Vec<MarketQueue>> {
    let market_count = markets.map_or(0, <[Market]>::len);
    let in_markets = match markets {
        Some([]) => return Ok(Vec::new()),
        Some(m) => format!("and t.market in ({})", placeholders(2, m.len())),
        None => String::new(),
    };
    // For someone who reads only some languages, "available" counts what claim-next would
    // hand them: items in a language they read or declaring none ('').
    let readable = if reads.is_empty() {
        String::new()
    } else {
        format!(
            "and coalesce(t.language, '') in ('', {})",
            placeholders(2 + market_count, reads.len())
        )
    };
    let sql = format!(
        "select t.source, t.market, count(*), \
         cast(sum(case when (c.task_id is null or c.lease_expires_at < $1) {readable} then 1 else 0 end) as bigint), \
         min(t.created_at), cast(sum(case when t.due_at < $1 then 1 else 0 end) as bigint) \
         from review_tasks t left join review_claims c on c.task_id = t.id \
         where t.state = 'open' {in_markets} group by t.source, t.market"
    );
    let mut q = sqlx::query_as::<_, (String, String, i64, i64, Option<i64>, i64)>(&sql).bind(now);
    for m in markets.unwrap_or_default() {
        q = q.bind(m.code());
    }
    for l in reads {
        q = q.bind(l.as_str());
    }
    Ok(q.fetch_all(db.pool())
        .await?
        .into_iter()
        .filter_map(|(source, market, open, available, oldest_at, overdue)| {
            Some(MarketQueue {
                source: source.parse().ok()?,
                market: market.parse().ok()?,
                open,
                available,
                oldest_at,
                overdue,
            })
        })
        .collect())
}

/// The open backlog of one language in one market, and who on the team can be handed it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LanguageBacklog {
    pub market: Market,
    /// ISO 639-1 code; `None`: the ads declared none, and anyone may be handed them.
    pub language: Option<String>,
    pub open: i64,
    pub overdue: i64,
    pub oldest_at: Option<Millis>,
    /// Display names of the enabled reviewers carrying the market who read the language (or
    /// have no languages set); empty: claim-next hands these items to nobody.
    pub readers: Vec<String>,
}

/// The reviewers' queues in `markets` by market and language, each with who can take it;
/// the languages nobody reads first, then by market and size.
pub async fn language_backlog(
    db: &Db,
    markets: &[Market],
    now: Millis,
) -> sqlx::Result<Vec<LanguageBacklog>> {
    if markets.is_empty() {
        return Ok(Vec::new());
    }
    let sources: Vec<Source> = Source::ALL
        .into_iter()
        .filter(|s| s.worked_by(crate::vocab::role::Role::Reviewer))
        .collect();
    let sql = format!(
        "select market, language, count(*), cast(sum(case when due_at < $1 then 1 else 0 end) as bigint), \
         min(created_at) from review_tasks where state = 'open' and source in ({}) and market in ({}) \
         group by market, language",
        placeholders(2, sources.len()),
        placeholders(2 + sources.len(), markets.len())
    );
    let mut q =
        sqlx::query_as::<_, (String, Option<String>, i64, i64, Option<i64>)>(&sql).bind(now);
    for s in &sources {
        q = q.bind(s.as_str());
    }
    for m in markets {
        q = q.bind(m.code());
    }
    let rows = q.fetch_all(db.pool()).await?;
    let team: Vec<(String, String, String)> = sqlx::query_as(
        "select u.display_name, u.languages, m.market from users u \
         join user_markets m on m.user_id = u.id where u.role = 'reviewer' and u.disabled = $1 \
         order by u.display_name",
    )
    .bind(false)
    .fetch_all(db.pool())
    .await?;
    let mut out: Vec<LanguageBacklog> = rows
        .into_iter()
        .filter_map(|(market, language, open, overdue, oldest_at)| {
            let language = language.filter(|l| !l.is_empty());
            let readers = team
                .iter()
                .filter(|(_, reads, m)| {
                    *m == market
                        && match &language {
                            None => true,
                            Some(l) => reads.is_empty() || reads.split(',').any(|r| r == l),
                        }
                })
                .map(|(name, _, _)| name.clone())
                .collect();
            Some(LanguageBacklog {
                market: market.parse().ok()?,
                language,
                open,
                overdue,
                oldest_at,
                readers,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (!a.readers.is_empty(), a.market, std::cmp::Reverse(a.open)).cmp(&(
            !b.readers.is_empty(),
            b.market,
            std::cmp::Reverse(b.open),
        ))
    });
    Ok(out)
}

/// The queues this person works, summed over the markets they see.
pub fn for_scope(rows: &[MarketQueue], scope: &Scope) -> Vec<QueueSummary> {
    Source::ALL
        .into_iter()
        .filter(|s| s.worked_by(scope.role))
        .map(|source| {
            let mine = rows
                .iter()
                .filter(|r| r.source == source && scope.sees(r.market));
            let mut q = QueueSummary {
                source,
                open: 0,
                available: 0,
                oldest_at: None,
                overdue: 0,
            };
            for r in mine {
                q.open += r.open;
                q.available += r.available;
                q.overdue += r.overdue;
                q.oldest_at = match (q.oldest_at, r.oldest_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            q
        })
        .collect()
}

/// Every queue this person works, with its size and age in their markets; "available" counts
/// only the items in languages they read (or declaring none), as claim-next hands them.
pub async fn summaries(db: &Db, scope: &Scope, now: Millis) -> sqlx::Result<Vec<QueueSummary>> {
    let markets = scope.visible_markets();
    if markets.is_empty() {
        return Ok(Vec::new());
    }
    let (reads, _) = desk_profile(db, scope.user_id).await?;
    let rows = market_summaries(db, Some(&markets), &reads, now).await?;
    Ok(for_scope(&rows, scope))
}

/// The open item this person holds, if any: (task id, source). A golden item counts.
pub async fn held(db: &Db, scope: &Scope) -> sqlx::Result<Option<(i64, Source)>> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "select t.id, t.source from review_claims c join review_tasks t on t.id = c.task_id \
         where c.user_id = $1 and t.state = 'open' \
         union all select g.id, g.source from golden_tasks g where g.user_id = $1 and g.state = 'open' \
         limit 1",
    )
    .bind(scope.user_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.and_then(|(id, s)| Some((id, s.parse().ok()?))))
}

/// Hands this person the next item of `source` in their markets, under a lease: the most
/// urgent by SLA due time, then the riskiest. Someone who has languages set is handed only
/// items in a language they read (or declaring none): an item nobody reads waits, and the
/// queue page flags it to the ops heads, rather than going to someone who would guess. An
/// item they already hold in this queue is handed back (lease renewed); one held in another
/// queue is released first. `None` when the queue has nothing for them. `avoid` is an item
/// just skipped, not to be handed back at once.
pub async fn claim_next(
    db: &Db,
    scope: &Scope,
    source: Source,
    settings: &DeskSettings,
    avoid: Option<i64>,
    now: Millis,
) -> Result<Option<i64>, ReviewError> {
    check_works(scope, source)?;
    // An item held in this queue is handed back; one held in another is let go when the new
    // one is claimed.
    if let Some((id, held_source)) = held(db, scope).await?
        && held_source == source
    {
        renew(db, scope, id, settings, now).await?;
        return Ok(Some(id));
    }
    let markets = scope.visible_markets();
    if markets.is_empty() {
        return Ok(None);
    }
    let lock = match db.backend() {
        Backend::Postgres => "for update skip locked",
        Backend::Sqlite => "",
    };
    // The best candidate in each market comes straight off an index; the most urgent of those
    // wins. Inside one write transaction (PostgreSQL skips rows other claimers have locked;
    // SQLite has one writer at a time); the claim goes into `review_claims`, which refuses a
    // second live holder. The task row itself is never written to claim it.
    // With languages, one index lookup per market and language read (and one for items that
    // declare none, stored as ''): an `in` list would have to sort the whole backlog of the
    // market.
    let (reads, zone) = desk_profile(db, scope.user_id).await?;
    let lookups: Vec<(Market, Option<&str>)> = markets
        .iter()
        .flat_map(|m| {
            let any = reads.is_empty().then_some((*m, None));
            let each = reads.iter().map(|l| (*m, Some(l.as_str())));
            let none = (!reads.is_empty()).then_some((*m, Some("")));
            any.into_iter().chain(each).chain(none)
        })
        .collect();
    for _ in 0..5 {
        let mut tx = db.begin_write().await?;
        // Categories whose daily cap this person has reached are skipped: those items stay
        // for others, in the same order.
        let (reached, wellness) =
            exposure::lock_and_reached(&mut tx, scope.user_id, &zone, now).await?;
        // Now and then a golden item, in the same queue and looking the same.
        if golden::hands_golden(wellness.golden_rate, rand::random::<f64>())
            && let Some((id, ad_id)) = golden::hand(
                &mut tx,
                scope,
                source,
                &markets,
                &reads,
                &reached,
                settings,
                rand::random::<f64>(),
                now,
            )
            .await?
        {
            let shows = exposure::categories_of_ad(&mut tx, ad_id).await?;
            exposure::record_shown(&mut tx, scope.user_id, id, &shows, &wellness, now).await?;
            tx.commit().await?;
            return Ok(Some(id));
        }
        let candidate_sql = |language: &str, first_free: usize| {
            let capped = if reached.is_empty() {
                String::new()
            } else {
                let likes: Vec<String> = (0..reached.len())
                    .map(|i| format!("d.reasons like ${}", first_free + i))
                    .collect();
                format!(
                    "and not exists (select 1 from decisions d where d.ad_id = t.ad_id and ({}))",
                    likes.join(" or ")
                )
            };
            format!(
                "select t.id, t.due_at, t.risk from review_tasks t \
                 where t.state = 'open' and t.source = $1 and t.market = $2 {language} \
                 and not exists (select 1 from review_claims c where c.task_id = t.id and c.lease_expires_at >= $3) \
                 and (t.excluded_reviewer is null or t.excluded_reviewer <> $4) and t.id <> $5 \
                 and not exists (select 1 from review_task_exclusions x where x.task_id = t.id and x.user_id = $4) \
                 {capped} order by t.due_at, t.risk desc limit 1 {lock}"
            )
        };
        let any_language = candidate_sql("", 6);
        let in_language = candidate_sql("and t.language = $6", 7);
        let mut best: Option<(i64, Millis, f64)> = None;
        for (m, language) in &lookups {
            let mut q = sqlx::query_as(if language.is_some() {
                &in_language
            } else {
                &any_language
            })
            .bind(source.as_str())
            .bind(m.code())
            .bind(now)
            .bind(scope.user_id)
            .bind(avoid.unwrap_or(-1));
            if let Some(l) = language {
                q = q.bind(*l);
            }
            for c in &reached {
                q = q.bind(format!("%\"{}\"%", c.as_str()));
            }
            let row: Option<(i64, Millis, f64)> = q.fetch_optional(&mut *tx).await?;
            if let Some(c) = row {
                let better = best.is_none_or(|b| c.1 < b.1 || (c.1 == b.1 && c.2 > b.2));
                if better {
                    best = Some(c);
                }
            }
        }
        let Some((id, _, _)) = best else {
            return Ok(None);
        };
        match hold(&mut tx, id, scope.user_id, now, now + settings.lease_ms).await {
            Ok(true) => {
                let shows = exposure::categories_of(&mut tx, id).await?;
                exposure::record_shown(&mut tx, scope.user_id, id, &shows, &wellness, now).await?;
                tx.commit().await?;
                return Ok(Some(id));
            }
            // Another reviewer took it between our look and our write, or this person picked
            // something up concurrently in another tab: look again.
            Ok(false) => {}
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ReviewError::Conflict(
        "the queue is very busy; try again".into(),
    ))
}

/// The languages this person reads (ISO 639-1 codes; empty: any) and their time zone.
pub async fn desk_profile(db: &Db, user_id: i64) -> sqlx::Result<(Vec<String>, String)> {
    let row: Option<(String, String)> =
        sqlx::query_as("select languages, time_zone from users where id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
    let (languages, zone) = row.unwrap_or_default();
    Ok((
        languages
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
        zone,
    ))
}

/// Takes one particular open item (picked from the list view) under a lease, if nobody
/// else holds it; whatever else this person held goes back to its queue.
pub async fn claim(
    db: &Db,
    scope: &Scope,
    task_id: i64,
    settings: &DeskSettings,
    now: Millis,
) -> Result<(), ReviewError> {
    let t = task_for(db, scope, task_id).await?;
    if t.state != "open" {
        return Err(ReviewError::Conflict(
            "this item has already been decided".into(),
        ));
    }
    if t.claimed_by == Some(scope.user_id) {
        renew(db, scope, task_id, settings, now).await?;
        return Ok(());
    }
    if golden::task_of_user(db.pool(), task_id, scope.user_id)
        .await?
        .is_some()
    {
        return Err(ReviewError::Conflict(
            "this item has already been decided".into(),
        ));
    }
    if is_excluded(db.pool(), task_id, scope.user_id).await? {
        return Err(ReviewError::Forbidden(
            "this item must go to a different reviewer".into(),
        ));
    }
    let (_, zone) = desk_profile(db, scope.user_id).await?;
    let mut tx = db.begin_write().await?;
    // A chosen item counts against the caps as a handed one does, and past a cap is refused.
    let (reached, wellness) =
        exposure::lock_and_reached(&mut tx, scope.user_id, &zone, now).await?;
    let shows = exposure::categories_of(&mut tx, task_id).await?;
    if let Some(c) = shows.iter().find(|c| reached.contains(*c)) {
        return Err(ReviewError::Forbidden(format!(
            "you have reached today's limit of {} items for {}; it goes to someone else",
            wellness
                .caps
                .iter()
                .find(|(x, _)| x == c)
                .map_or(0, |(_, n)| *n),
            c.as_str().replace('_', " ")
        )));
    }
    let taken = match hold(
        &mut tx,
        task_id,
        scope.user_id,
        now,
        now + settings.lease_ms,
    )
    .await
    {
        Ok(taken) => taken,
        Err(e) if is_unique_violation(&e) => false,
        Err(e) => return Err(e.into()),
    };
    if taken {
        exposure::record_shown(&mut tx, scope.user_id, task_id, &shows, &wellness, now).await?;
        tx.commit().await?;
        Ok(())
    } else {
        Err(ReviewError::Conflict(
            "someone else is working on this item".into(),
        ))
    }
}

/// Whether this person is kept from this item (QA's first reviewer, anyone who took part in
/// the rejection an appeal contests).
pub(super) async fn is_excluded<'e, E>(exec: E, task_id: i64, user_id: i64) -> sqlx::Result<bool>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from review_tasks t where t.id = $1 and (t.excluded_reviewer = $2 \
         or exists (select 1 from review_task_exclusions x where x.task_id = t.id and x.user_id = $2))",
    )
    .bind(task_id)
    .bind(user_id)
    .fetch_one(exec)
    .await?;
    Ok(n > 0)
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation() || d.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

/// Makes `user_id` the holder of `task_id` until `lease_until`, letting go of anything else
/// they held; false when someone else holds it under a live lease.
pub(super) async fn hold(
    tx: &mut WriteTx,
    task_id: i64,
    user_id: i64,
    now: Millis,
    lease_until: Millis,
) -> sqlx::Result<bool> {
    sqlx::query("delete from review_claims where user_id = $1 and task_id <> $2")
        .bind(user_id)
        .bind(task_id)
        .execute(&mut **tx)
        .await?;
    golden::drop_open(tx, user_id).await?;
    let r = sqlx::query(
        "insert into review_claims (task_id, user_id, claimed_at, lease_expires_at) \
         values ($1, $2, $3, $4) on conflict (task_id) do update set user_id = excluded.user_id, \
         claimed_at = excluded.claimed_at, lease_expires_at = excluded.lease_expires_at \
         where review_claims.user_id = excluded.user_id or review_claims.lease_expires_at < excluded.claimed_at",
    )
    .bind(task_id)
    .bind(user_id)
    .bind(now)
    .bind(lease_until)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Extends this person's lease on an item they hold; false when it is no longer theirs.
pub async fn renew(
    db: &Db,
    scope: &Scope,
    task_id: i64,
    settings: &DeskSettings,
    now: Millis,
) -> sqlx::Result<bool> {
    if let Some(renewed) = golden::renew(db, scope.user_id, task_id, settings, now).await? {
        return Ok(renewed);
    }
    let mut tx = db.begin_write().await?;
    let r = sqlx::query(
        "update review_claims set lease_expires_at = $1 where task_id = $2 and user_id = $3",
    )
    .bind(now + settings.lease_ms)
    .bind(task_id)
    .bind(scope.user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(r.rows_affected() == 1)
}

/// One row of a queue's list view.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueItem {
    pub task_id: i64,
    pub ad_id: i64,
    pub market: Market,
    pub language: Option<String>,
    pub headline: String,
    pub advertiser_id: String,
    /// The machine's flagged categories.
    pub reasons: Vec<Category>,
    pub top_category: Option<Category>,
    pub top_score: f64,
    pub created_at: Millis,
    pub due_at: Millis,
    pub risk: f64,
    /// Someone holds it right now (their email).
    pub held_by: Option<String>,
}

/// Filters of a queue's list view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueFilter {
    pub market: Option<Market>,
    pub category: Option<Category>,
    /// Keep items whose top score lies in [low, high).
    pub score_range: Option<(f64, f64)>,
    /// Keep items waiting at least this long.
    pub min_age_ms: Option<Millis>,
    pub limit: i64,
}

/// The open items of a queue in this person's markets, most urgent first.
pub async fn list_queue(
    db: &Db,
    scope: &Scope,
    source: Source,
    filter: &QueueFilter,
    now: Millis,
) -> Result<Vec<QueueItem>, ReviewError> {
    check_works(scope, source)?;
    let markets: Vec<Market> = scope
        .visible_markets()
        .into_iter()
        .filter(|m| filter.market.is_none_or(|f| f == *m))
        .collect();
    if markets.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select t.id as task_id, t.ad_id, t.market, a.language, a.headline, a.advertiser_id, d.reasons, d.scores, \
         t.created_at, t.due_at, t.risk, case when c.lease_expires_at >= $1 then u.email end as held_by \
         from review_tasks t join ads a on a.id = t.ad_id left join decisions d on d.ad_id = t.ad_id \
         left join review_claims c on c.task_id = t.id left join users u on u.id = c.user_id \
         where t.state = 'open' and t.source = $2 and t.created_at <= $3 \
         and (t.excluded_reviewer is null or t.excluded_reviewer <> $4) \
         and not exists (select 1 from review_task_exclusions x where x.task_id = t.id and x.user_id = $4) \
         and t.market in ({}) \
         order by t.due_at, t.risk desc limit $5",
        placeholders(6, markets.len())
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        task_id: i64,
        ad_id: i64,
        market: String,
        language: Option<String>,
        headline: String,
        advertiser_id: String,
        reasons: Option<String>,
        scores: Option<String>,
        created_at: i64,
        due_at: i64,
        risk: f64,
        held_by: Option<String>,
    }
    // Category and score filters apply to the decoded scores, so read a wider page first.
    let wanted = filter.limit.clamp(1, 1000);
    let fetch = if filter.category.is_some() || filter.score_range.is_some() {
        wanted * 10
    } else {
        wanted
    };
    let mut q = sqlx::query_as::<_, Row>(&sql)
        .bind(now)
        .bind(source.as_str())
        .bind(now - filter.min_age_ms.unwrap_or(0))
        .bind(scope.user_id)
        .bind(fetch);
    for m in &markets {
        q = q.bind(m.code());
    }
    let rows = q.fetch_all(db.pool()).await?;
    let mut items = Vec::new();
    for r in rows {
        let reasons: Vec<Category> = r
            .reasons
            .as_deref()
            .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect();
        let top = r
            .scores
            .as_deref()
            .and_then(crate::intake::ads::top_of_scores);
        let top_score = top.map_or(0.0, |t| f64::from(t.1));
        if let Some(c) = filter.category {
            let flagged = reasons.contains(&c) || top.is_some_and(|t| t.0 == c);
            if !flagged {
                continue;
            }
        }
        if let Some((low, high)) = filter.score_range
            && (top_score < low || top_score >= high)
        {
            continue;
        }
        let Ok(market) = r.market.parse() else {
            continue;
        };
        items.push(QueueItem {
            task_id: r.task_id,
            ad_id: r.ad_id,
            market,
            language: r.language,
            headline: r.headline,
            advertiser_id: r.advertiser_id,
            reasons,
            top_category: top.map(|t| t.0),
            top_score,
            created_at: r.created_at,
            due_at: r.due_at,
            risk: r.risk,
            held_by: r.held_by,
        });
        if items.len() as i64 >= wanted {
            break;
        }
    }
    Ok(items)
}
