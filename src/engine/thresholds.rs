//! Editing thresholds (each change makes a new version) and the market policy matrix,
//! with an audit entry for every change.

use crate::access::audit::{self, Actor, NewEntry};
use crate::engine::decide::{Band, Rule};
use crate::platform::db::{Db, WriteTx};
use crate::platform::time::{Millis, now_millis};
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use serde::Serialize;
use serde_json::json;

/// One cell of the thresholds × policy grid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cell {
    pub market: Market,
    pub category: Category,
    pub approve_below: f64,
    pub reject_at: f64,
    pub rule: Rule,
}

/// A thresholds version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Version {
    pub version: i64,
    pub created_at: i64,
    pub created_by: String,
    pub note: String,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ThresholdError {
    #[error("thresholds must satisfy 0 ≤ approve below ≤ reject at ≤ 1 (got {0} and {1})")]
    OutOfRange(f64, f64),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The grid in force: the newest thresholds version and the policy matrix.
pub async fn current(db: &Db) -> sqlx::Result<(i64, Vec<Cell>)> {
    let rules = crate::engine::rules_store::load(db, 0.0, 0.0).await?;
    let mut cells = Vec::new();
    for m in Market::ALL {
        for c in Category::ALL {
            let band = rules.bands.get(&(m, c)).copied().unwrap_or(Band {
                approve_below: 1.0,
                reject_at: 1.0,
            });
            cells.push(Cell {
                market: m,
                category: c,
                approve_below: band.approve_below,
                reject_at: band.reject_at,
                rule: rules
                    .policy
                    .get(&(m, c))
                    .copied()
                    .unwrap_or(Rule::Prohibited),
            });
        }
    }
    Ok((rules.thresholds_version, cells))
}

/// The newest thresholds versions first.
pub async fn versions(db: &Db, limit: i64) -> sqlx::Result<Vec<Version>> {
    let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
        "select version, created_at, created_by, note from threshold_versions order by version desc limit $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(version, created_at, created_by, note)| Version {
            version,
            created_at,
            created_by,
            note,
        })
        .collect())
}

/// Sets one market × category band, creating a new thresholds version (a copy of the
/// newest with this cell changed). Returns the new version.
pub async fn set_band(
    db: &Db,
    actor: &Actor,
    market: Market,
    category: Category,
    band: Band,
) -> Result<i64, ThresholdError> {
    let mut tx = db.begin_write().await?;
    let new = write_band(&mut tx, actor, market, category, band).await?;
    tx.commit().await?;
    Ok(new)
}

/// The newest thresholds version and, in it, the cell's (approve below, reject at).
async fn band_in_force(
    tx: &mut WriteTx,
    market: Market,
    category: Category,
) -> sqlx::Result<(i64, Option<(f64, f64)>)> {
    let (version,): (i64,) =
        sqlx::query_as("select coalesce(max(version), 0) from threshold_versions")
            .fetch_one(&mut **tx)
            .await?;
    let band = sqlx::query_as(
        "select approve_below, reject_at from thresholds where version = $1 and market = $2 and category = $3",
    )
    .bind(version)
    .bind(market.code())
    .bind(category.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    Ok((version, band))
}

/// [`set_band`] inside `tx`.
async fn write_band(
    tx: &mut WriteTx,
    actor: &Actor,
    market: Market,
    category: Category,
    band: Band,
) -> Result<i64, ThresholdError> {
    if !(0.0..=1.0).contains(&band.approve_below)
        || !(0.0..=1.0).contains(&band.reject_at)
        || band.approve_below > band.reject_at
    {
        return Err(ThresholdError::OutOfRange(
            band.approve_below,
            band.reject_at,
        ));
    }
    let (old, before) = band_in_force(tx, market, category).await?;
    let new = old + 1;
    let note = format!(
        "{} {}: approve below {:.2}, reject at {:.2}",
        market.code(),
        category.as_str(),
        band.approve_below,
        band.reject_at
    );
    sqlx::query("insert into threshold_versions (version, created_at, created_by, note) values ($1, $2, $3, $4)")
        .bind(new)
        .bind(now_millis())
        .bind(actor.as_text())
        .bind(&note)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "insert into thresholds (version, market, category, approve_below, reject_at) \
         select $1, market, category, approve_below, reject_at from thresholds where version = $2",
    )
    .bind(new)
    .bind(old)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "insert into thresholds (version, market, category, approve_below, reject_at) values ($1, $2, $3, $4, $5) \
         on conflict (version, market, category) do update set approve_below = excluded.approve_below, \
         reject_at = excluded.reject_at",
    )
    .bind(new)
    .bind(market.code())
    .bind(category.as_str())
    .bind(band.approve_below)
    .bind(band.reject_at)
    .execute(&mut **tx)
    .await?;
    audit::record(
        &mut **tx,
        NewEntry {
            actor,
            action: "thresholds.update",
            object: format!("thresholds:{}:{}", market.code(), category.as_str()),
            before: before.map(|(a, r)| json!({ "version": old, "approve_below": a, "reject_at": r })),
            after: Some(json!({ "version": new, "approve_below": band.approve_below, "reject_at": band.reject_at })),
            ip: None,
        },
    )
    .await?;
    Ok(new)
}

/// Sets many bands at once inside `tx`: one new thresholds version (a copy of the newest
/// with these cells changed), noted with `note` and audited as one change. Returns it.
pub async fn write_bands(
    tx: &mut WriteTx,
    actor: &Actor,
    bands: &[(Market, Category, Band)],
    note: &str,
    at: Millis,
) -> Result<i64, ThresholdError> {
    for (_, _, band) in bands {
        if !(0.0..=1.0).contains(&band.approve_below)
            || !(0.0..=1.0).contains(&band.reject_at)
            || band.approve_below > band.reject_at
        {
            return Err(ThresholdError::OutOfRange(
                band.approve_below,
                band.reject_at,
            ));
        }
    }
    let (old,): (i64,) = sqlx::query_as("select coalesce(max(version), 0) from threshold_versions")
        .fetch_one(&mut **tx)
        .await?;
    let new = old + 1;
    sqlx::query("insert into threshold_versions (version, created_at, created_by, note) values ($1, $2, $3, $4)")
        .bind(new)
        .bind(at)
        .bind(actor.as_text())
        .bind(note)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "insert into thresholds (version, market, category, approve_below, reject_at) \
         select $1, market, category, approve_below, reject_at from thresholds where version = $2",
    )
    .bind(new)
    .bind(old)
    .execute(&mut **tx)
    .await?;
    for (market, category, band) in bands {
        sqlx::query(
            "insert into thresholds (version, market, category, approve_below, reject_at) values ($1, $2, $3, $4, $5) \
             on conflict (version, market, category) do update set approve_below = excluded.approve_below, \
             reject_at = excluded.reject_at",
        )
        .bind(new)
        .bind(market.code())
        .bind(category.as_str())
        .bind(band.approve_below)
        .bind(band.reject_at)
        .execute(&mut **tx)
        .await?;
    }
    audit::record_at(
        &mut **tx,
        NewEntry {
            actor,
            action: "thresholds.update_many",
            object: format!("thresholds:{new}"),
            before: Some(json!({ "version": old })),
            after: Some(json!({ "version": new, "cells": bands.len(), "note": note })),
            ip: None,
        },
        at,
    )
    .await?;
    Ok(new)
}

/// The bands of thresholds version `version`.
pub async fn bands_of(
    tx: &mut WriteTx,
    version: i64,
) -> sqlx::Result<Vec<(Market, Category, Band)>> {
    let rows: Vec<(String, String, f64, f64)> = sqlx::query_as(
        "select market, category, approve_below, reject_at from thresholds where version = $1",
    )
    .bind(version)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(m, c, a, r)| {
            Some((
                m.parse().ok()?,
                c.parse().ok()?,
                Band {
                    approve_below: a,
                    reject_at: r,
                },
            ))
        })
        .collect())
}

/// Sets the policy rule of one market × category inside `tx`.
async fn write_rule(
    tx: &mut WriteTx,
    actor: &Actor,
    market: Market,
    category: Category,
    rule: Rule,
) -> sqlx::Result<()> {
    let before: Option<(String,)> =
        sqlx::query_as("select rule from policy_matrix where market = $1 and category = $2")
            .bind(market.code())
            .bind(category.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    sqlx::query(
        "insert into policy_matrix (market, category, rule, updated_at) values ($1, $2, $3, $4) \
         on conflict (market, category) do update set rule = excluded.rule, updated_at = excluded.updated_at",
    )
    .bind(market.code())
    .bind(category.as_str())
    .bind(rule.as_str())
    .bind(now_millis())
    .execute(&mut **tx)
    .await?;
    audit::record(
        &mut **tx,
        NewEntry {
            actor,
            action: "policy.update",
            object: format!("policy:{}:{}", market.code(), category.as_str()),
            before: before.map(|(r,)| json!({ "rule": r })),
            after: Some(json!({ "rule": rule.as_str() })),
            ip: None,
        },
    )
    .await?;
    Ok(())
}

/// Edits one cell of the grid, its band and its rule, in one transaction: a new thresholds
/// version only when the band changes, the rule only when it changes, an audit entry for
/// each. Returns the thresholds version in force afterwards.
pub async fn edit_cell(
    db: &Db,
    actor: &Actor,
    market: Market,
    category: Category,
    band: Band,
    rule: Rule,
) -> Result<i64, ThresholdError> {
    let mut tx = db.begin_write().await?;
    let (mut version, before) = band_in_force(&mut tx, market, category).await?;
    let band_changed = before.is_none_or(|(a, r)| {
        (a - band.approve_below).abs() > 1e-9 || (r - band.reject_at).abs() > 1e-9
    });
    if band_changed {
        version = write_band(&mut tx, actor, market, category, band).await?;
    }
    let rule_before: Option<(String,)> =
        sqlx::query_as("select rule from policy_matrix where market = $1 and category = $2")
            .bind(market.code())
            .bind(category.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    if rule_before.is_none_or(|(r,)| r != rule.as_str()) {
        write_rule(&mut tx, actor, market, category, rule).await?;
    }
    tx.commit().await?;
    Ok(version)
}
