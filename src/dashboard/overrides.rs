//! The overrides page: where reviewers overrule the machine, by reason and reviewer, with the
//! drill-down to the ads.

use super::filter::Filter;
use super::kpis::{grouped, window_days};
use super::overview::daily;
use crate::metrics::kpi::{self};
use crate::platform::db::Db;
use crate::platform::time::to_rfc3339;
use std::collections::BTreeMap;

/// The overrides page: heatmap by market × category (decisions of the window), by reviewer
/// and by reason (reviews of the window), a daily trend, and the overridden ads of a slice.
pub async fn overrides_view(
    db: &Db,
    f: &Filter,
) -> sqlx::Result<crate::dashboard::view::OverridesView> {
    use crate::dashboard::view::{OverrideCell, OverrideCount};
    let rows = grouped(
        db,
        "rollup_ads",
        &["checked", "overridden"],
        &["market", "category"],
        f,
        true,
    )
    .await?;
    let cells = rows
        .into_iter()
        .map(|(k, v)| OverrideCell {
            market: k[0].clone(),
            category: k[1].clone(),
            checked: v[0],
            overridden: v[1],
            rate: kpi::ratio(v[1], v[0]),
        })
        .collect();
    let names: BTreeMap<String, String> =
        sqlx::query_as::<_, (i64, String)>("select id, display_name from users")
            .fetch_all(db.pool())
            .await?
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect();
    let labels: BTreeMap<String, String> =
        sqlx::query_as::<_, (String, String)>("select code, label from reason_codes")
            .fetch_all(db.pool())
            .await?
            .into_iter()
            .collect();
    let count = |rows: Vec<(Vec<String>, Vec<f64>)>, label: &dyn Fn(&str) -> String| {
        let mut out: Vec<OverrideCount> = rows
            .into_iter()
            .map(|(k, v)| OverrideCount {
                label: label(&k[0]),
                key: k[0].clone(),
                reviews: v[0],
                overrides: v[1],
                rate: kpi::ratio(v[1], v[0]),
            })
            .collect();
        out.sort_by(|a, b| b.overrides.total_cmp(&a.overrides).then(a.key.cmp(&b.key)));
        out
    };
    // Overrides by reviewer and reason are kept per market only (see `rollup::ANY`).
    let per_market = Filter {
        category: None,
        model: None,
        ..f.clone()
    };
    let by_reviewer = count(
        grouped(
            db,
            "rollup_overrides",
            &["reviews", "overrides"],
            &["reviewer_id"],
            &per_market,
            true,
        )
        .await?,
        &|k| names.get(k).cloned().unwrap_or_else(|| format!("user {k}")),
    );
    let by_reason = count(
        grouped(
            db,
            "rollup_overrides",
            &["reviews", "overrides"],
            &["reason_code"],
            &per_market,
            true,
        )
        .await?,
        &|k| {
            if k.is_empty() {
                "No reason given (agreed with the machine)".into()
            } else {
                labels.get(k).cloned().unwrap_or_else(|| k.to_string())
            }
        },
    )
    .into_iter()
    .filter(|c| c.overrides > 0.0)
    .collect();
    let days = window_days(&f.window);
    let daily = daily(db, f).await?;
    let mut per_day: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for ((_, d), v) in daily {
        let e = per_day.entry(d).or_default();
        e.0 += v[3];
        e.1 += v[2];
    }
    Ok(crate::dashboard::view::OverridesView {
        window: f.window.clone(),
        cells,
        by_reviewer,
        by_reason,
        daily_rate: days
            .iter()
            .map(|(d, _)| per_day.get(d).and_then(|(o, c)| kpi::ratio(*o, *c)))
            .collect(),
        days: days.into_iter().map(|(_, l)| l).collect(),
        drill: if f.market.is_some() || f.category.is_some() {
            overridden_ads(db, f, 200).await?
        } else {
            Vec::new()
        },
    })
}

/// The overridden ads decided in the window, in the filter's market and (top) category,
/// newest first: the heatmap's drill-down. Reads reviews, bounded by `limit`.
pub async fn overridden_ads(
    db: &Db,
    f: &Filter,
    limit: usize,
) -> sqlx::Result<Vec<crate::dashboard::view::OverriddenAd>> {
    // `+d.decided_at` keeps SQLite off `decisions_decided_at` (a whole window of decisions)
    // and on the partial index of overridden reviews, newest first.
    #[derive(sqlx::FromRow)]
    struct Row {
        ad_id: i64,
        market: String,
        scores: String,
        machine_action: String,
        verdict: String,
        source: String,
        reason_code: Option<String>,
        display_name: String,
        finished_at: i64,
        headline: String,
        advertiser_id: String,
        reason_text: Option<String>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select r.ad_id, r.market, d.scores, r.machine_action, r.verdict, r.source, r.reason_code, u.display_name, \
         r.finished_at, a.headline, a.advertiser_id, r.reason_text from reviews r join decisions d on d.ad_id = r.ad_id join ads a on a.id = r.ad_id \
         join users u on u.id = r.reviewer_id \
         where r.override and +d.decided_at >= $1 and +d.decided_at < $2 and ($3 = '' or r.market = $3) \
         and ($4 = '' or d.model_version = $4) order by r.finished_at desc, r.id desc limit 2000",
    )
    .bind(f.window.from_ms)
    .bind(f.window.to_ms)
    .bind(f.market.map_or("", |m| m.code()))
    .bind(f.model.clone().unwrap_or_default())
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let category = crate::intake::ads::top_of_scores(&r.scores)?.0;
            if f.category.is_some_and(|c| c != category) {
                return None;
            }
            Some(crate::dashboard::view::OverriddenAd {
                ad_id: r.ad_id,
                market: r.market,
                category: category.as_str().to_string(),
                machine_action: r.machine_action,
                verdict: r.verdict,
                source: r.source,
                reason_code: r.reason_code,
                reviewer: r.display_name,
                at: to_rfc3339(r.finished_at),
                headline: r.headline,
                advertiser: r.advertiser_id,
                reason_text: r.reason_text,
            })
        })
        .take(limit)
        .collect())
}
