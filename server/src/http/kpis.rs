//! `GET /api/v1/kpis`: the overview's numbers as JSON, for ops tooling and BI.

use super::caller::{Caller, caller};
use super::error::{ApiResult, AppError, ErrorKind};
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::access::apikeys::Scope;
use amso_core::dashboard::view::{Kpis, Overview, Selection};
use amso_core::dashboard::{filter, overview};
use amso_core::metrics::kpi::Estimate;
use amso_core::platform::time::now_millis;
use amso_core::vocab::role::Area;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

/// The KPIs route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/kpis", get(kpis))
}

/// Query of `GET /api/v1/kpis`: days `YYYY-MM-DD` (inclusive; default the last 7 days) and
/// optional slices.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct KpiQuery {
    from: String,
    to: String,
    market: String,
    category: String,
    model: String,
    /// The IANA zone whose calendar days the window is in (default: the logged-in user's,
    /// UTC for an API key).
    tz: String,
}

fn estimate_json(e: Option<Estimate>) -> Value {
    match e {
        Some(e) => {
            json!({ "value": e.value, "low": e.low, "high": e.high, "n": e.n, "enough_samples": e.enough() })
        }
        None => {
            json!({ "value": null, "low": null, "high": null, "n": 0.0, "enough_samples": false })
        }
    }
}

fn kpis_json(k: &Kpis, backlog: i64) -> Value {
    json!({
        "decided": k.decided,
        "auto_approved": k.auto_approved,
        "auto_rejected": k.auto_rejected,
        "routed_to_review": k.routed,
        "automation_rate": k.automation_rate,
        "checked": k.checked,
        "overridden": k.overridden,
        "override_rate": k.override_rate,
        "precision": estimate_json(k.precision),
        "recall": estimate_json(k.recall),
        "appeals_decided": k.appeals_decided,
        "appeal_overturn_rate": k.appeal_overturn_rate,
        "backlog": backlog,
        "sla_n": k.sla_n,
        "sla_p50_seconds": k.sla_p50_seconds,
        "sla_p95_seconds": k.sla_p95_seconds,
        "sla_within_share": k.sla_within,
        "reviews": k.reviews,
        "median_handling_seconds": k.median_handling_seconds,
        "cost_usd": {
            "total": k.cost.total,
            "review": k.cost.review,
            "inference": k.cost.inference,
            "false_positive": k.cost.false_positive,
            "false_negative": k.cost.false_negative,
            "per_1k_ads": k.cost.per_1k_ads,
        },
        "estimates": k.estimates,
    })
}

/// The KPIs of an overview as the API's JSON.
pub fn overview_json(o: &Overview) -> Value {
    let backlog_total: i64 = o.backlog.iter().map(|b| b.open).sum();
    let mut totals = kpis_json(&o.totals, backlog_total);
    totals["backlog_by_queue"] = json!(o.backlog);
    json!({
        "window": {
            "from": o.window.from,
            "to": o.window.to,
            "time_zone": o.window.zone_name(),
        },
        "previous_window": { "from": o.previous_window.from, "to": o.previous_window.to },
        "totals": totals,
        "previous": kpis_json(&o.previous, 0),
        "markets": o.markets.iter().map(|m| {
            let mut v = kpis_json(&m.kpis, m.backlog);
            v["market"] = json!(m.market);
            v
        }).collect::<Vec<_>>(),
        "drift": o.drift.iter().map(|d| json!({
            "market": d.market,
            "category": d.category,
            "psi": d.psi,
            "band": d.band.map(|b| b.as_str()),
        })).collect::<Vec<_>>(),
        "alerts": o.alerts,
        "tripwire_alerts": o.tripwires,
    })
}

/// `GET /api/v1/kpis?from=&to=&market=&category=&model=`: the overview's numbers as JSON,
/// for an API key with the `kpis` scope or a logged-in user whose role sees dashboards.
async fn kpis(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    query: Result<Query<KpiQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let own_zone = match caller(&state, &headers, user.as_deref()).await? {
        Caller::Key(k) if k.scope == Scope::Kpis => String::new(),
        Caller::User(u) if Area::Dashboards.allows(u.role) => u.time_zone.clone(),
        _ => {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                "KPIs need an API key with the kpis scope, or a role that sees dashboards",
            ));
        }
    };
    let Ok(Query(q)) = query else {
        return Err(AppError::malformed("bad query string"));
    };
    let sel = Selection {
        window: if q.from.is_empty() && q.to.is_empty() {
            "7d".into()
        } else {
            "custom".into()
        },
        from: q.from.clone(),
        to: q.to,
        market: q.market,
        category: q.category,
        model: q.model,
    };
    let zone = match q.tz.trim() {
        "" => amso_core::platform::time::zone_or_utc(&own_zone),
        tz => tz.parse().map_err(|_| {
            let shown: String = tz.chars().take(64).collect();
            AppError::malformed(format!(
                "tz: `{shown}` is not an IANA time zone (e.g. Asia/Tokyo, UTC)"
            ))
        })?,
    };
    let now = now_millis();
    let filter = filter::resolve_in(&sel, now, zone)?;
    let o = overview::overview(&state.db, &filter, now).await?;
    Ok(Json(overview_json(&o)).into_response())
}
