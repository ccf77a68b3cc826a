//! The rules' part of the weekly report: what matched in the week, how precisely, and what
//! was switched on or expired.

use crate::dashboard::view::ReportRule;
use crate::metrics::kpi::{HtSums, ht_ratio};
use crate::platform::db::{Db, Flag};
use crate::platform::time::Millis;
use std::collections::BTreeMap;

/// A hit of the week: (rule, mode, ad status, audit sample, action, route, sampling
/// probability).
type HitRow = (i64, String, String, Flag, String, Option<String>, f64);

/// Most rules listed.
pub const LISTED: usize = 20;

/// The rules of the week [from, to): hits by mode, precision over hits with a human verdict
/// from an audit or a routed review (weighted by 1 / sampling probability), and the rules
/// switched on or expired in it; most hits first.
pub async fn week(db: &Db, from: Millis, to: Millis) -> sqlx::Result<Vec<ReportRule>> {
    let hits: Vec<HitRow> = sqlx::query_as(
        "select h.rule_id, h.mode, a.status, d.audit_sample, d.action, d.route, d.sampling_probability \
         from rule_hits h join decisions d on d.ad_id = h.ad_id join ads a on a.id = h.ad_id \
         where h.at >= $1 and h.at < $2 and h.mode <> 'retro'",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let rules: Vec<(i64, String, String, Option<i64>, i64, String)> = sqlx::query_as(
        "select r.id, r.name, r.state, r.live_since, r.updated_at, v.spec from rules r \
         join rule_versions v on v.rule_id = r.id and v.version = r.version",
    )
    .fetch_all(db.pool())
    .await?;
    let mut by_rule: BTreeMap<i64, (i64, i64, HtSums)> = BTreeMap::new();
    for (rule, mode, status, audit, action, route, p) in hits {
        let e = by_rule.entry(rule).or_default();
        if mode == "live" {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
        let (label, w) =
            super::backtest::human_label(&status, audit.0, &action, route.as_deref(), p);
        if let Some(y) = label {
            e.2.add(w, y);
        }
    }
    let mut out: Vec<ReportRule> = rules
        .into_iter()
        .filter_map(|(id, name, state, live_since, updated_at, spec)| {
            let switched_on = state == "live" && live_since.is_some_and(|t| t >= from && t < to);
            let expired = state == "expired" && updated_at >= from && updated_at < to;
            let (live, background, sums) = by_rule.get(&id).copied().unwrap_or_default();
            if live + background == 0 && !switched_on && !expired {
                return None;
            }
            let action = serde_json::from_str::<serde_json::Value>(&spec)
                .ok()
                .and_then(|v| {
                    v["action"]
                        .as_object()
                        .and_then(|a| a.keys().next().cloned())
                })
                .unwrap_or_default();
            Some(ReportRule {
                id,
                name,
                state,
                action,
                hits_live: live,
                hits_background: background,
                precision: ht_ratio(&sums),
                switched_on,
                expired,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (b.hits_live + b.hits_background)
            .cmp(&(a.hits_live + a.hits_background))
            .then(a.id.cmp(&b.id))
    });
    out.truncate(LISTED);
    Ok(out)
}
