//! The overview page: KPIs per market, the daily trend and the review backlog.

use super::drift::{drift_cells, reference_window};
use super::drift_alerts::alerts;
use super::filter::{DashboardError, Filter, previous_window};
use super::kpis::{grouped, kpis_by_market, market_sums, models, rates, window_days};
use crate::dashboard::view::{Backlog, MarketRow, Overview};
use crate::metrics::kpi::{self};
use crate::platform::db::Db;
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use std::collections::BTreeMap;

/// Open review items by queue (and per market), live.
pub async fn backlog(
    db: &Db,
    f: &Filter,
    now: Millis,
) -> sqlx::Result<(Vec<Backlog>, BTreeMap<String, i64>)> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "select source, market, count(*), sum(case when due_at < $1 then 1 else 0 end) \
         from review_tasks where state = 'open' group by source, market",
    )
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    let mut by_source: BTreeMap<String, Backlog> = BTreeMap::new();
    let mut by_market: BTreeMap<String, i64> = BTreeMap::new();
    for (source, market, open, past) in rows {
        *by_market.entry(market.clone()).or_default() += open;
        if f.market.is_some_and(|m| m.code() != market) {
            continue;
        }
        let b = by_source.entry(source.clone()).or_insert_with(|| Backlog {
            source,
            open: 0,
            past_due: 0,
        });
        b.open += open;
        b.past_due += past;
    }
    let order = [
        "uncertain",
        "restricted",
        "audit",
        "appeal",
        "escalation",
        "qa",
    ];
    let mut list: Vec<Backlog> = by_source.into_values().collect();
    list.sort_by_key(|b| order.iter().position(|s| *s == b.source).unwrap_or(99));
    Ok((list, by_market))
}

/// Per market and day: decided, automated, checked, overridden.
pub(super) async fn daily(db: &Db, f: &Filter) -> sqlx::Result<BTreeMap<(String, i64), [f64; 4]>> {
    let rows = grouped(
        db,
        "rollup_ads",
        &[
            "decided",
            "auto_approved + auto_rejected",
            "checked",
            "overridden",
        ],
        &["market", "day"],
        f,
        true,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(k, v)| {
            (
                (k[0].clone(), k[1].parse().unwrap_or(0)),
                [v[0], v[1], v[2], v[3]],
            )
        })
        .collect())
}

/// The overview: headline figures against the previous window, one row per market with
/// daily sparklines, the backlog, drift and recent alerts.
pub async fn overview(db: &Db, f: &Filter, now: Millis) -> Result<Overview, DashboardError> {
    let rates = rates(db).await?;
    let prev_filter = f.with_window(previous_window(&f.window));
    let (per, totals) = kpis_by_market(&market_sums(db, f).await?, &rates);
    let (per_prev, previous) = kpis_by_market(&market_sums(db, &prev_filter).await?, &rates);
    let (backlog, backlog_by_market) = backlog(db, f, now).await?;
    let days = window_days(&f.window);
    let daily = daily(db, f).await?;
    let markets = Market::ALL
        .iter()
        .filter(|m| f.market.is_none_or(|x| x == **m))
        .map(|m| {
            let code = m.code().to_string();
            let series = |i: usize| -> Vec<f64> {
                days.iter()
                    .map(|(d, _)| daily.get(&(code.clone(), *d)).map_or(0.0, |v| v[i]))
                    .collect()
            };
            let decided = series(0);
            let automated = series(1);
            MarketRow {
                kpis: per.get(&code).cloned().unwrap_or_default(),
                previous: per_prev.get(&code).cloned().unwrap_or_default(),
                backlog: backlog_by_market.get(&code).copied().unwrap_or(0),
                daily_automation: decided
                    .iter()
                    .zip(&automated)
                    .map(|(d, a)| kpi::ratio(*a, *d))
                    .collect(),
                daily_decided: decided,
                market: code,
            }
        })
        .collect();
    let mut day_totals: BTreeMap<i64, [f64; 4]> = BTreeMap::new();
    for ((_, d), v) in &daily {
        let t = day_totals.entry(*d).or_default();
        for i in 0..4 {
            t[i] += v[i];
        }
    }
    let day_series = |a: usize, b: usize| -> Vec<Option<f64>> {
        days.iter()
            .map(|(d, _)| day_totals.get(d).and_then(|v| kpi::ratio(v[a], v[b])))
            .collect()
    };
    let drift = drift_cells(db, f, &reference_window(&f.window)).await?;
    let by_version = super::kpis::by_version(db, f, &rates).await?;
    Ok(Overview {
        by_version,
        previous_window: prev_filter.window.clone(),
        window: f.window.clone(),
        totals,
        previous,
        markets,
        daily_automation: day_series(1, 0),
        daily_override: day_series(3, 2),
        days: days.into_iter().map(|(_, l)| l).collect(),
        backlog,
        drift,
        alerts: alerts(db, 20).await?,
        tripwires: super::estimates::tripwire_alerts(db, 10).await?,
        models: models(db).await?,
    })
}
