//! Promotion and rollback. A version that has scored live traffic in shadow is promoted to
//! champion in chosen markets (a canary) or every market, with a thresholds version re-fitted
//! to its score distribution: each cell's thresholds are moved so that the new model sends the
//! same share of the market's ads (those both models scored in the last 28 days) above each
//! threshold as the current one did — the same automation and review volume, so the same
//! review capacity. One person asks (the preview shows every cell before and after), a second
//! person approves; approval writes the thresholds version and the champion events in one
//! transaction. Rollback restores, in one action, the previous champion of each market the
//! last promotion moved and that market's thresholds from before it. Every step is audited.

use super::CATEGORIES;
use super::registry::{self, Role};
use crate::access::audit::{self, Actor, NewEntry};
use crate::engine::decide::Band;
use crate::engine::thresholds::{self, ThresholdError};
pub use crate::model_view::{Preview, Promotion, Refit};
use crate::platform::db::{Db, Flag};
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use std::collections::BTreeMap;

/// The comparison window a promotion is fitted on.
pub const WINDOW_MS: i64 = 28 * 86_400_000;
/// Ads both models scored, per promoted market, before a promotion is allowed.
pub const MIN_SCORED: usize = 200;
/// Of those, ads with a final human verdict (audits and routed reviews).
pub const MIN_LABELLED: usize = 20;

/// Why a promotion or rollback did not happen; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum PromotionError {
    #[error("no model version {0}")]
    NotFound(String),
    #[error("no promotion {0}")]
    NoRequest(i64),
    #[error(
        "not enough comparison in {market}: {scored} ads scored by both models ({MIN_SCORED} needed), {labelled} with a human verdict ({MIN_LABELLED} needed); run it in shadow longer"
    )]
    TooLittle {
        market: String,
        scored: u64,
        labelled: u64,
    },
    #[error("{0} is champion there already")]
    Already(String),
    #[error("a second person must approve: {0} asked for this promotion")]
    SecondPerson(String),
    #[error("the promotion was {0} already")]
    Decided(String),
    #[error("no promotion to roll back")]
    NothingToRollBack,
    #[error(transparent)]
    Thresholds(#[from] ThresholdError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The threshold on `new` scores that puts as large a share of them at or above it as
/// `old` scores have at or above `t` (both over the same ads).
pub fn matched_threshold(old: &[f32], new_sorted_desc: &[f32], t: f64) -> f64 {
    let n = old.len().min(new_sorted_desc.len());
    if n == 0 {
        return t;
    }
    let above = old.iter().filter(|s| f64::from(**s) >= t).count();
    let k = ((above as f64) * (n as f64) / (old.len() as f64)).round() as usize;
    if k == 0 {
        // Nobody above: just over the highest new score (or the old threshold if higher).
        return (f64::from(new_sorted_desc[0]) + 1e-6).max(t).min(1.0);
    }
    f64::from(new_sorted_desc[k.min(n) - 1]).clamp(0.0, 1.0)
}

/// An ad both models scored: (market, champion's scores JSON, challenger's packed scores,
/// `reviewed` when a human reviewed it, audit sample, action, route, sampling probability).
type PairRow = (
    String,
    String,
    Vec<u8>,
    String,
    Flag,
    String,
    Option<String>,
    f64,
);

/// Computes what promoting `version` in `markets` (empty: every market) would do.
pub async fn preview(
    db: &Db,
    version: &str,
    markets: &[Market],
    now: Millis,
) -> Result<Preview, PromotionError> {
    if registry::get(db, version, now).await?.is_none() {
        return Err(PromotionError::NotFound(version.to_string()));
    }
    let champions = registry::history_at(db, now).await?;
    let chosen: Vec<Market> = if markets.is_empty() {
        Market::ALL.to_vec()
    } else {
        markets.to_vec()
    };
    if chosen
        .iter()
        .all(|m| champions.get(m).map(String::as_str) == Some(version))
    {
        return Err(PromotionError::Already(version.to_string()));
    }
    let rows: Vec<PairRow> = sqlx::query_as(
            "select a.market, d.scores, s.scores, \
             case when exists (select 1 from reviews r where r.ad_id = a.id and r.source <> 'qa') then 'reviewed' else '' end, \
             d.audit_sample, d.action, d.route, d.sampling_probability \
             from shadow_scores s join decisions d on d.ad_id = s.ad_id join ads a on a.id = s.ad_id \
             where s.version = $1 and s.at >= $2",
        )
        .bind(version)
        .bind(now - WINDOW_MS)
        .fetch_all(db.pool())
        .await?;
    let (_, cells_now) = thresholds::current(db).await?;
    let mut evidence = BTreeMap::new();
    let mut cells = Vec::new();
    for m in &chosen {
        let mut old: Vec<[f32; CATEGORIES]> = Vec::new();
        let mut new: Vec<[f32; CATEGORIES]> = Vec::new();
        let mut labelled = 0u64;
        for r in rows.iter().filter(|r| r.0 == m.code()) {
            let Some(n) = crate::engine::serving::unpack(&r.2) else {
                continue;
            };
            let o = crate::rules::backtest::parse_scores(&r.1);
            old.push(o);
            new.push(n);
            // A final human verdict from the random sample, as the comparison counts them.
            let sampled =
                (r.4.0 || (r.5 == "review" && r.6.as_deref() != Some("escalation"))) && r.7 > 0.0;
            labelled += u64::from(sampled && r.3 == "reviewed");
        }
        let scored = old.len() as u64;
        if (scored as usize) < MIN_SCORED || (labelled as usize) < MIN_LABELLED {
            return Err(PromotionError::TooLittle {
                market: m.code().to_string(),
                scored,
                labelled,
            });
        }
        evidence.insert(
            m.code().to_string(),
            (
                champions.get(m).cloned().unwrap_or_default(),
                scored,
                labelled,
            ),
        );
        for c in Category::ALL {
            let i = c.index();
            let o: Vec<f32> = old.iter().map(|s| s[i]).collect();
            let mut n: Vec<f32> = new.iter().map(|s| s[i]).collect();
            n.sort_by(|a, b| b.total_cmp(a));
            let Some(cell) = cells_now.iter().find(|x| x.market == *m && x.category == c) else {
                continue;
            };
            let a = matched_threshold(&o, &n, cell.approve_below);
            let r = matched_threshold(&o, &n, cell.reject_at).max(a);
            cells.push(Refit {
                market: m.code().to_string(),
                category: c.as_str().to_string(),
                approve_below: cell.approve_below,
                reject_at: cell.reject_at,
                new_approve_below: a,
                new_reject_at: r,
            });
        }
    }
    Ok(Preview {
        version: version.to_string(),
        markets: markets.iter().map(|m| m.code().to_string()).collect(),
        evidence,
        cells,
    })
}

/// Asks for `version` to be promoted in `markets` (empty: every market), with the preview's
/// thresholds; a second person approves. Audited.
pub async fn request(
    db: &Db,
    version: &str,
    markets: &[Market],
    actor: &Actor,
    now: Millis,
) -> Result<Promotion, PromotionError> {
    let preview = preview(db, version, markets, now).await?;
    let mut tx = db.begin_write().await?;
    let (id,): (i64,) = sqlx::query_as(
        "insert into model_promotions (version, markets, state, requested_by, requested_at, preview) \
         values ($1, $2, 'pending', $3, $4, $5) returning id",
    )
    .bind(version)
    .bind(preview.markets.join(","))
    .bind(actor.as_text())
    .bind(now)
    .bind(serde_json::to_string(&preview).unwrap_or_default())
    .fetch_one(&mut *tx)
    .await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: "model.promote_request",
            object: format!("model:{version}"),
            before: None,
            after: Some(serde_json::json!({ "promotion": id, "markets": preview.markets, "cells": preview.cells.len() })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, id).await?.ok_or(PromotionError::NoRequest(id))
}

type PromotionRow = (
    i64,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

const COLUMNS: &str = "id, version, markets, state, requested_by, requested_at, decided_by, decided_at, \
     preview, previous, thresholds_before, thresholds_after";

fn promotion_of(r: PromotionRow) -> Promotion {
    Promotion {
        id: r.0,
        version: r.1,
        markets: r
            .2
            .split(',')
            .filter(|m| !m.is_empty())
            .map(String::from)
            .collect(),
        state: r.3,
        requested_by: r.4,
        requested_at: r.5,
        decided_by: r.6,
        decided_at: r.7,
        preview: serde_json::from_str(&r.8).unwrap_or(Preview {
            version: String::new(),
            markets: Vec::new(),
            evidence: BTreeMap::new(),
            cells: Vec::new(),
        }),
        previous: r
            .9
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or_default(),
        thresholds_before: r.10,
        thresholds_after: r.11,
    }
}

/// One promotion.
pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<Promotion>> {
    let row: Option<PromotionRow> = sqlx::query_as(&format!(
        "select {COLUMNS} from model_promotions where id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(promotion_of))
}

/// The latest promotions, newest first.
pub async fn list(db: &Db, limit: i64) -> sqlx::Result<Vec<Promotion>> {
    let rows: Vec<PromotionRow> = sqlx::query_as(&format!(
        "select {COLUMNS} from model_promotions order by id desc limit $1"
    ))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(promotion_of).collect())
}

/// Approves (a person other than the asker: new thresholds version and champion events in
/// one transaction) or refuses a pending promotion. Audited.
pub async fn decide(
    db: &Db,
    id: i64,
    approve: bool,
    actor: &Actor,
    now: Millis,
) -> Result<Promotion, PromotionError> {
    let p = get(db, id).await?.ok_or(PromotionError::NoRequest(id))?;
    if p.state != "pending" {
        return Err(PromotionError::Decided(p.state));
    }
    let who = actor.as_text();
    if approve && p.requested_by == who {
        return Err(PromotionError::SecondPerson(who));
    }
    let champions = registry::history_at(db, now).await?;
    let mut tx = db.begin_write().await?;
    if approve {
        let markets: Vec<Market> = if p.markets.is_empty() {
            Market::ALL.to_vec()
        } else {
            p.markets.iter().filter_map(|m| m.parse().ok()).collect()
        };
        let previous: BTreeMap<String, String> = markets
            .iter()
            .filter_map(|m| Some((m.code().to_string(), champions.get(m)?.clone())))
            .collect();
        let (before,): (i64,) =
            sqlx::query_as("select coalesce(max(version), 0) from threshold_versions")
                .fetch_one(&mut *tx)
                .await?;
        let bands: Vec<(Market, Category, Band)> = p
            .preview
            .cells
            .iter()
            .filter_map(|c| {
                Some((
                    c.market.parse().ok()?,
                    c.category.parse().ok()?,
                    Band {
                        approve_below: c.new_approve_below,
                        reject_at: c.new_reject_at,
                    },
                ))
            })
            .collect();
        let after = thresholds::write_bands(
            &mut tx,
            actor,
            &bands,
            &format!("re-fitted for model {} (promotion {id})", p.version),
            now,
        )
        .await?;
        let note = format!("promotion {id}");
        if p.markets.is_empty() {
            registry::insert_event(
                &mut tx,
                &p.version,
                Role::Champion,
                None,
                actor,
                now,
                Some(&note),
            )
            .await?;
        } else {
            for m in &markets {
                registry::insert_event(
                    &mut tx,
                    &p.version,
                    Role::Champion,
                    Some(m.code()),
                    actor,
                    now,
                    Some(&note),
                )
                .await?;
            }
        }
        sqlx::query(
            "update model_promotions set state = 'done', decided_by = $1, decided_at = $2, previous = $3, \
             thresholds_before = $4, thresholds_after = $5 where id = $6 and state = 'pending'",
        )
        .bind(&who)
        .bind(now)
        .bind(serde_json::to_string(&previous).unwrap_or_default())
        .bind(before)
        .bind(after)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query(
            "update model_promotions set state = 'refused', decided_by = $1, decided_at = $2 \
             where id = $3 and state = 'pending'",
        )
        .bind(&who)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: if approve {
                "model.promote_approve"
            } else {
                "model.promote_refuse"
            },
            object: format!("model:{}", p.version),
            before: None,
            after: Some(serde_json::json!({ "promotion": id, "markets": p.markets })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, id).await?.ok_or(PromotionError::NoRequest(id))
}

/// Undoes the latest approved promotion: the previous champion of each market it moved, and
/// those markets' thresholds as they were before it, in one transaction. Audited.
pub async fn rollback(db: &Db, actor: &Actor, now: Millis) -> Result<Promotion, PromotionError> {
    let last: Option<(i64,)> = sqlx::query_as(
        "select id from model_promotions where state = 'done' order by decided_at desc, id desc limit 1",
    )
    .fetch_optional(db.pool())
    .await?;
    let (id,) = last.ok_or(PromotionError::NothingToRollBack)?;
    let p = get(db, id).await?.ok_or(PromotionError::NoRequest(id))?;
    let mut tx = db.begin_write().await?;
    let note = format!("rollback of promotion {id}");
    for (market, version) in &p.previous {
        registry::insert_event(
            &mut tx,
            version,
            Role::Champion,
            Some(market),
            actor,
            now,
            Some(&note),
        )
        .await?;
    }
    if let Some(before) = p.thresholds_before {
        let restored: Vec<(Market, Category, Band)> = thresholds::bands_of(&mut tx, before)
            .await?
            .into_iter()
            .filter(|(m, _, _)| p.previous.contains_key(m.code()))
            .collect();
        thresholds::write_bands(&mut tx, actor, &restored, &note, now).await?;
    }
    sqlx::query("update model_promotions set state = 'rolled_back' where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record_at(
        &mut *tx,
        NewEntry {
            actor,
            action: "model.rollback",
            object: format!("model:{}", p.version),
            before: None,
            after: Some(serde_json::json!({ "promotion": id, "restored": p.previous })),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, id).await?.ok_or(PromotionError::NoRequest(id))
}

#[cfg(test)]
mod tests {
    use super::matched_threshold;

    #[test]
    fn a_refitted_threshold_keeps_the_share_of_ads_above_it() {
        let old: Vec<f32> = (0..100).map(|i| i as f32 / 100.0).collect();
        // The new model scores everything half as high.
        let mut new: Vec<f32> = old.iter().map(|s| s / 2.0).collect();
        new.sort_by(|a, b| b.total_cmp(a));
        let t = matched_threshold(&old, &new, 0.9);
        let above_old = old.iter().filter(|s| f64::from(**s) >= 0.9).count();
        let above_new = new.iter().filter(|s| f64::from(**s) >= t).count();
        assert_eq!(above_old, above_new);
        assert!((t - 0.45).abs() < 0.01, "{t}");
        // A threshold nobody reaches stays out of reach.
        assert!(matched_threshold(&old, &new, 1.0) > f64::from(new[0]));
    }
}
