//! Score histograms per market × category read from the rollups: what drift (PSI) is computed
//! on, by the drift page and the drift check alike, and how many scores a PSI needs.

use super::filter::Filter;
use super::kpis::grouped;
use crate::metrics::kpi::{self};
use crate::platform::db::Db;
use crate::rollup::{CAT_MEASURES, cat};
use std::collections::BTreeMap;

/// Scores a slice needs in its current window before its PSI counts.
pub const MIN_DRIFT_SCORES: f64 = 100.0;

/// Scores a slice needs on one day before that day's PSI is drawn.
pub const MIN_DAILY_DRIFT_SCORES: f64 = 30.0;

/// Score histograms per market × category over a window.
pub async fn histograms(db: &Db, f: &Filter) -> sqlx::Result<BTreeMap<(String, String), Vec<f64>>> {
    let rows = grouped(
        db,
        "rollup_categories",
        &CAT_MEASURES[cat::HIST..cat::HIST + kpi::PSI_BINS],
        &["market", "category"],
        f,
        true,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(k, v)| ((k[0].clone(), k[1].clone()), v))
        .collect())
}
