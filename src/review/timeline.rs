//! What is known about an ad from human review: its timeline, the advertiser's history, the
//! first verdict a QA item checks, and the final human labels for export.

use super::placeholders;
use crate::access::audit::{self};
use crate::platform::db::{Db, Flag};
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use serde::Serialize;

/// What an advertiser has done before, for the review screen.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AdvertiserHistory {
    pub ads: i64,
    pub rejected: i64,
    pub appeals: i64,
    pub appeals_overturned: i64,
    /// The latest other ads: (id, headline, status, submitted_at).
    pub recent: Vec<(i64, String, String, Millis)>,
}

/// The advertiser's record in `markets`, leaving out the ad under review.
pub async fn advertiser_history(
    db: &Db,
    advertiser_id: &str,
    except_ad: i64,
    markets: &[Market],
) -> sqlx::Result<AdvertiserHistory> {
    if markets.is_empty() {
        return Ok(AdvertiserHistory::default());
    }
    // Only the markets the viewer may see: a reviewer's panel never lists ads from outside
    // their scope.
    let in_markets = format!("a.market in ({})", placeholders(3, markets.len()));
    let (ads, rejected) = of_advertiser(
        &format!(
            "select count(*), cast(coalesce(sum(case when a.status in ('rejected', 'auto_rejected') then 1 else 0 end), 0) as bigint) \
             from ads a where a.advertiser_id = $1 and a.id <> $2 and {in_markets}"
        ),
        advertiser_id,
        except_ad,
        markets,
    )
    .fetch_one(db.pool())
    .await?;
    let (appeals, overturned) = of_advertiser(
        &format!(
            "select count(*), cast(coalesce(sum(case when p.status = 'overturned' then 1 else 0 end), 0) as bigint) \
             from appeals p join ads a on a.id = p.ad_id where a.advertiser_id = $1 and $2 = $2 and {in_markets}"
        ),
        advertiser_id,
        except_ad,
        markets,
    )
    .fetch_one(db.pool())
    .await?;
    let recent = of_advertiser(
        &format!(
            "select a.id, a.headline, a.status, a.submitted_at from ads a where a.advertiser_id = $1 and a.id <> $2 \
             and {in_markets} order by a.submitted_at desc limit 5"
        ),
        advertiser_id,
        except_ad,
        markets,
    )
    .fetch_all(db.pool())
    .await?;
    Ok(AdvertiserHistory {
        ads,
        rejected,
        appeals,
        appeals_overturned: overturned,
        recent,
    })
}

/// `sql` bound to the advertiser (`$1`), the ad left out (`$2`) and the markets (`$3…`).
fn of_advertiser<'q, O>(
    sql: &'q str,
    advertiser_id: &'q str,
    except_ad: i64,
    markets: &'q [Market],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    let mut q = sqlx::query_as::<_, O>(sql)
        .bind(advertiser_id)
        .bind(except_ad);
    for m in markets {
        q = q.bind(m.code());
    }
    q
}

/// The first reviewer's verdict on the review a QA item checks (for after the blind
/// review, and for ops heads).
pub async fn review_verdict(db: &Db, review_id: i64) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("select verdict from reviews where id = $1")
        .bind(review_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.0))
}

/// One event in an ad's life, for its timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEvent {
    pub at: Millis,
    pub actor: String,
    /// `submitted`, `decided`, or an audit action such as `review.override`.
    pub action: String,
    pub detail: String,
}

type AuditRow = (i64, String, String, Option<String>, Option<String>);

/// An ad's timeline: submission, the machine's decision, and every human action on it.
pub async fn timeline(db: &Db, ad_id: i64) -> sqlx::Result<Vec<TimelineEvent>> {
    let mut events = Vec::new();
    let ad: Option<(i64, String)> =
        sqlx::query_as("select submitted_at, source from ads where id = $1")
            .bind(ad_id)
            .fetch_optional(db.pool())
            .await?;
    if let Some((at, source)) = ad {
        events.push(TimelineEvent {
            at,
            actor: source,
            action: "submitted".into(),
            detail: String::new(),
        });
    }
    let decision: Option<(i64, String, String, Option<String>, Flag, String)> = sqlx::query_as(
        "select decided_at, worker, action, route, audit_sample, model_version from decisions where ad_id = $1",
    )
    .bind(ad_id)
    .fetch_optional(db.pool())
    .await?;
    if let Some((at, worker, action, route, audit_sample, model)) = decision {
        events.push(TimelineEvent {
            at,
            actor: format!("machine ({worker})"),
            action: "decided".into(),
            detail: format!(
                "{action}{}{} · model {model}",
                route.map(|r| format!(" → {r} queue")).unwrap_or_default(),
                if audit_sample.0 {
                    " (audit sample)"
                } else {
                    ""
                }
            ),
        });
    }
    let entries: Vec<AuditRow> = sqlx::query_as(
        "select at, actor, action, before_json, after_json from audit_log where object = $1 order by id",
    )
    .bind(format!("ad:{ad_id}"))
    .fetch_all(db.pool())
    .await?;
    for (at, actor, action, before, after) in entries {
        events.push(TimelineEvent {
            at,
            actor,
            action,
            detail: audit::summarize_change(before.as_deref(), after.as_deref()),
        });
    }
    events.sort_by_key(|e| e.at);
    Ok(events)
}

/// One ad with its final human verdict, as a training row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LabelRow {
    pub external_id: String,
    pub advertiser_id: String,
    pub market: String,
    pub language: Option<String>,
    pub headline: String,
    pub body: String,
    pub landing_url: Option<String>,
    pub daily_budget_usd: f64,
    /// The violated categories; empty when the human approved.
    pub labels: Vec<String>,
}

type LabelSql = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    f64,
    String,
    String,
);

/// The final human verdict on every ad a human decided (the latest review that decides
/// the ad: QA second opinions are left out), for reviews finished at or after `since`.
pub async fn final_labels(db: &Db, since: Millis) -> sqlx::Result<Vec<LabelRow>> {
    let rows: Vec<LabelSql> = sqlx::query_as(
        "select a.external_id, a.advertiser_id, a.market, a.language, a.headline, a.body, a.landing_url, \
         a.daily_budget_usd, r.verdict, r.categories from reviews r join ads a on a.id = r.ad_id \
         where r.source <> 'qa' and r.finished_at >= $1 and r.id = ( \
            select max(r2.id) from reviews r2 where r2.ad_id = r.ad_id and r2.source <> 'qa') \
         order by r.finished_at, r.id",
    )
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LabelRow {
            external_id: r.0,
            advertiser_id: r.1,
            market: r.2,
            language: r.3,
            headline: r.4,
            body: r.5,
            landing_url: r.6,
            daily_budget_usd: r.7,
            labels: if r.8 == "reject" {
                serde_json::from_str(&r.9).unwrap_or_default()
            } else {
                Vec::new()
            },
        })
        .collect())
}
