//! What rules show in the browser as well as on the server: a rule's state and a
//! backtest's result (the shapes the API, the CLI's JSON and the page share).

use crate::metrics::kpi::Estimate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a rule is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Written, evaluated nowhere (backtests only).
    Draft,
    /// Evaluated on live traffic; hits recorded, no effect.
    Background,
    /// Asked to go live; waits for a second person.
    PendingLive,
    /// Acts on decisions.
    Live,
    /// Its expiry passed.
    Expired,
    /// Put away by a person.
    Archived,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Draft,
        State::Background,
        State::PendingLive,
        State::Live,
        State::Expired,
        State::Archived,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Background => "background",
            State::PendingLive => "pending_live",
            State::Live => "live",
            State::Expired => "expired",
            State::Archived => "archived",
        }
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            State::Draft => "Draft",
            State::Background => "Background (shadow)",
            State::PendingLive => "Waiting for approval",
            State::Live => "Live",
            State::Expired => "Expired",
            State::Archived => "Archived",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A rule that overlaps the tested one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Overlap {
    pub rule_id: i64,
    pub name: String,
    /// Hits of the tested rule this live rule also matches.
    pub both: u64,
}

/// The change switching the rule on would have made, per day of the window.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Change {
    /// Reviews added (negative: taken off the queues).
    pub reviews_per_day: f64,
    /// Review capacity per day of the markets the rule hit.
    pub capacity_per_day: f64,
    /// Advertiser spend lost to ads wrongly rejected, USD.
    pub false_positive_usd: f64,
    /// Harm from harmful ads approved, USD (negative: avoided).
    pub false_negative_usd: f64,
    /// Reviewer time, USD.
    pub review_usd: f64,
    /// The sum of the three.
    pub total_usd: f64,
}

/// A backtest's result.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Backtest {
    pub rule_id: i64,
    pub version: i64,
    pub days: u32,
    pub from: i64,
    pub to: i64,
    pub ads_scanned: u64,
    pub hits: u64,
    pub by_market: BTreeMap<String, u64>,
    /// By the category the model scored highest on each hit.
    pub by_category: BTreeMap<String, u64>,
    /// By UTC day, `YYYY-MM-DD`.
    pub by_day: BTreeMap<String, u64>,
    /// Share of hits humans found violating, weighted; None without labelled hits.
    pub precision: Option<Estimate>,
    /// Hits with a human verdict from an audit sample or a routed review.
    pub labelled: u64,
    pub new_catches: u64,
    pub new_catches_labelled: u64,
    pub new_catches_violating: u64,
    /// Σ w·y over labelled new catches: how many of all the new catches are violating.
    pub new_catches_violating_estimate: f64,
    /// Hits the model rejected anyway.
    pub overlap_model_rejections: u64,
    pub overlap_rules: Vec<Overlap>,
    /// Per day, what switching it on would have changed.
    pub change: Change,
    pub elapsed_ms: u64,
}

impl Backtest {
    /// A result with nothing counted yet.
    pub fn empty(rule_id: i64, version: i64, days: u32, from: i64, to: i64) -> Backtest {
        Backtest {
            rule_id,
            version,
            days,
            from,
            to,
            ads_scanned: 0,
            hits: 0,
            by_market: BTreeMap::new(),
            by_category: BTreeMap::new(),
            by_day: BTreeMap::new(),
            precision: None,
            labelled: 0,
            new_catches: 0,
            new_catches_labelled: 0,
            new_catches_violating: 0,
            new_catches_violating_estimate: 0.0,
            overlap_model_rejections: 0,
            overlap_rules: Vec::new(),
            change: Change::default(),
            elapsed_ms: 0,
        }
    }
}

/// A rule that matched an ad, as the ad page and the review screen show it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AdHit {
    pub rule_id: i64,
    pub name: String,
    pub version: i64,
    /// `live`, `background` or `retro`.
    pub mode: String,
    /// `reject`, `review` or `flag`.
    pub action: String,
    /// The reject categories, the review queue or the flag's label.
    pub detail: String,
    pub at: i64,
}

impl AdHit {
    /// One line saying what the rule did.
    pub fn sentence(&self) -> String {
        let what = match (self.mode.as_str(), self.action.as_str()) {
            ("background", _) => format!("would {} (background, no effect)", self.action),
            ("retro", "reject") => {
                "rejected this ad (retroaction, approved by a second person)".to_string()
            }
            ("retro", _) => "reopened this ad for review (retroaction)".to_string(),
            (_, "reject") => format!("rejected it for {}", self.detail),
            (_, "review") => format!("sent it to the {} queue", self.detail),
            _ => format!("flagged it: {}", self.detail),
        };
        format!("Rule “{}” v{} {what}", self.name, self.version)
    }
}

/// A request to reject a live reject rule's matches retroactively, waiting for (or decided
/// by) a second person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RejectRequest {
    pub id: i64,
    pub rule_id: i64,
    pub version: i64,
    pub days: u32,
    /// The window's end: approval rejects matches auto-approved in `[until - days, until)`.
    pub until: i64,
    /// New matches counted when it was asked for.
    pub matched: u64,
    /// The categories the ads are rejected for (the rule's).
    pub categories: Vec<String>,
    /// `pending`, `done` or `refused`.
    pub state: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    /// Ads rejected when it was approved.
    pub rejected: Option<u64>,
}
