//! The cost page: the cost of risk control per market at the rates in force, and editing the
//! rates (audited).

use super::filter::{DashboardError, Filter};
use super::kpis::{Rates, cost_inputs, grouped, kpis_by_market, market_sums, rates, window_days};
use crate::metrics::kpi::{self};
use crate::platform::db::Db;
use crate::platform::time::Millis;
use crate::rollup::{AD_MEASURES, ad};
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use std::collections::BTreeMap;

/// The rates as the settings form shows them.
pub fn rates_view(r: &Rates) -> crate::dashboard::view::RatesView {
    crate::dashboard::view::RatesView {
        markets: Market::ALL
            .iter()
            .map(|m| {
                let code = m.code().to_string();
                let cap = r.capacity_per_day.get(&code).copied().unwrap_or(400.0);
                (code.clone(), r.hourly(&code), cap)
            })
            .collect(),
        cpu_hour_usd: r.cost.cpu_hour_usd,
        days_lost_per_false_reject: r.cost.days_lost_per_false_reject,
        risk_weights: Category::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), r.cost.risk_weight_usd[c.index()]))
            .collect(),
    }
}

/// The cost page: the four components per market and a daily trend per 1,000 ads.
pub async fn cost_view(db: &Db, f: &Filter) -> sqlx::Result<crate::dashboard::view::CostView> {
    let rates = rates(db).await?;
    let sums = market_sums(db, f).await?;
    let (per, totals) = kpis_by_market(&sums, &rates);
    let rows = grouped(db, "rollup_ads", &AD_MEASURES, &["market", "day"], f, true).await?;
    let mut per_day: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (k, v) in rows {
        let c = kpi::cost(&cost_inputs(&v), rates.hourly(&k[0]), &rates.cost);
        let e = per_day.entry(k[1].parse().unwrap_or(0)).or_default();
        e.0 += c.total;
        e.1 += v[ad::DECIDED];
    }
    let days = window_days(&f.window);
    Ok(crate::dashboard::view::CostView {
        window: f.window.clone(),
        markets: Market::ALL
            .iter()
            .filter(|m| f.market.is_none_or(|x| x == **m))
            .map(|m| {
                let k = per.get(m.code()).cloned().unwrap_or_default();
                (m.code().to_string(), k.decided, k.cost)
            })
            .collect(),
        estimates: Market::ALL
            .iter()
            .filter(|m| f.market.is_none_or(|x| x == **m))
            .map(|m| per.get(m.code()).and_then(|k| k.estimates.clone()))
            .collect(),
        total_estimates: totals.estimates.clone(),
        total: totals.cost,
        daily_per_1k: days
            .iter()
            .map(|(d, _)| {
                per_day
                    .get(d)
                    .and_then(|(c, n)| kpi::ratio(*c, *n))
                    .map(|x| x * 1000.0)
            })
            .collect(),
        days: days.into_iter().map(|(_, l)| l).collect(),
        rates: rates_view(&rates),
    })
}

/// Saves the cost rates (validated: finite and not negative) and audits the change.
pub async fn save_rates(
    db: &Db,
    actor: &crate::access::audit::Actor,
    new: &crate::dashboard::view::RatesView,
    now: Millis,
) -> Result<(), DashboardError> {
    let bad = |x: f64| !x.is_finite() || x < 0.0;
    if bad(new.cpu_hour_usd) || bad(new.days_lost_per_false_reject) {
        return Err(DashboardError::Invalid("rates must be zero or more".into()));
    }
    for (m, h, c) in &new.markets {
        if m.parse::<Market>().is_err() || bad(*h) || bad(*c) {
            return Err(DashboardError::Invalid(format!("bad rates for market {m}")));
        }
    }
    for (c, w) in &new.risk_weights {
        if c.parse::<Category>().is_err() || bad(*w) {
            return Err(DashboardError::Invalid(format!("bad risk weight for {c}")));
        }
    }
    let before = rates_view(&rates(db).await?);
    let mut tx = db.begin_write().await?;
    for (m, h, c) in &new.markets {
        sqlx::query("update market_settings set reviewer_hourly_usd = $1, review_capacity_per_day = $2, updated_at = $3 where market = $4")
            .bind(*h)
            .bind(*c)
            .bind(now)
            .bind(m)
            .execute(&mut *tx)
            .await?;
    }
    let mut named = vec![
        ("cpu_hour_usd".to_string(), new.cpu_hour_usd),
        (
            "days_lost_per_false_reject".to_string(),
            new.days_lost_per_false_reject,
        ),
    ];
    named.extend(
        new.risk_weights
            .iter()
            .map(|(c, w)| (format!("risk_weight.{c}"), *w)),
    );
    for (name, value) in named {
        sqlx::query(
            "insert into cost_rates (name, value, updated_at) values ($1, $2, $3) \
             on conflict (name) do update set value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(value)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    crate::access::audit::record_at(
        &mut *tx,
        crate::access::audit::NewEntry {
            actor,
            action: "settings.cost_rates",
            object: "cost_rates".into(),
            before: Some(serde_json::to_value(&before).unwrap_or_default()),
            after: Some(serde_json::to_value(new).unwrap_or_default()),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
