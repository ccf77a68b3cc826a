//! The shapes the Models page shares with the server: a comparison of two versions and a
//! promotion with its preview (computed in `engine::model::compare` and
//! `engine::model::promotion`).

use crate::metrics::estimate::Interval;
use crate::metrics::kpi::Estimate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Both models' ranking of one market × category.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellComparison {
    /// A market code, or `*` for all markets.
    pub market: String,
    pub category: String,
    pub positives: f64,
    pub negatives: f64,
    /// None: too few labels.
    pub a_roc_auc: Option<Estimate>,
    pub b_roc_auc: Option<Estimate>,
    pub a_pr_auc: Option<Estimate>,
    pub b_pr_auc: Option<Estimate>,
}

/// Both models at the thresholds each would run with, in one market.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    pub market: String,
    pub ads: u64,
    pub a_automation: f64,
    pub b_automation: f64,
    pub a_review_share: f64,
    pub b_review_share: f64,
    pub a_reject_precision: Option<Estimate>,
    pub b_reject_precision: Option<Estimate>,
    pub a_reject_recall: Option<Estimate>,
    pub b_reject_recall: Option<Estimate>,
    /// Cost of risk control per 1,000 ads (USD): review time at the market's hourly rate,
    /// budgets of wrongly rejected ads for the days lost, risk weights of missed violations;
    /// None: too few labels.
    pub a_cost_per_1k: Option<Interval>,
    pub b_cost_per_1k: Option<Interval>,
    /// Labelled ads where one model calls a violation (a score of at least 0.5) and the other
    /// does not.
    #[serde(default)]
    pub split_ads: u64,
    /// Of those, the weighted share where the humans side with B (the ad violates exactly
    /// when B flags it), with its Wilson interval on effective counts.
    #[serde(default)]
    pub b_right_when_split: Option<Estimate>,
}

/// A labelled ad the two score most differently.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Disagreement {
    pub ad_id: i64,
    pub market: String,
    pub headline: String,
    pub category: String,
    pub a_score: f32,
    pub b_score: f32,
    /// `reject: scam, …` or `approve`.
    pub human: String,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub from: i64,
    pub to: i64,
    /// Labelled ads both scored.
    pub labelled: u64,
    pub cells: Vec<CellComparison>,
    pub operating: Vec<OperatingPoint>,
    pub disagreements: Vec<Disagreement>,
}

/// One cell's thresholds now and re-fitted for the new version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refit {
    pub market: String,
    pub category: String,
    pub approve_below: f64,
    pub reject_at: f64,
    pub new_approve_below: f64,
    pub new_reject_at: f64,
}

/// What a promotion would do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    pub version: String,
    /// Empty: every market.
    pub markets: Vec<String>,
    /// Per market: (champion now, ads both scored, of them with a human verdict).
    pub evidence: BTreeMap<String, (String, u64, u64)>,
    pub cells: Vec<Refit>,
}

/// A promotion request and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    pub id: i64,
    pub version: String,
    pub markets: Vec<String>,
    /// `pending`, `done`, `refused` or `rolled_back`.
    pub state: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub preview: Preview,
    /// Per market, the champion before approval.
    pub previous: BTreeMap<String, String>,
    pub thresholds_before: Option<i64>,
    pub thresholds_after: Option<i64>,
}

/// A training's row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Training {
    pub id: i64,
    /// `running`, `done`, `failed` or `cancelled`.
    pub state: String,
    pub started_by: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// 0 to 1.
    pub progress: f64,
    pub log: String,
    pub version: Option<String>,
}
