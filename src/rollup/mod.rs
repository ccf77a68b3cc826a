//! Rollups behind the dashboards: sums per hour × market × category × model version, kept
//! up to date inside the same write transactions as the decisions and reviews they count,
//! so that dashboards read a few thousand rows instead of scanning millions of decisions.
//!
//! Two clocks, on purpose:
//! - everything about a machine decision and its **final human verdict** (the latest review
//!   that is not a QA second opinion) is counted at the hour of the decision: quality is a
//!   property of the decisions made in a window, whenever the humans got to them;
//! - the **reviewing work** (handling time, SLA, appeals settled, reviews by reviewer and
//!   reason) is counted at the hour the review finished.
//!
//! A decision adds its contribution once; a review or an undo replaces the ad's verdict
//! contribution (minus the old one, plus the new one) and adds or removes its own work. The
//! same contribution functions also rebuild every rollup from the raw rows ([`recompute`]),
//! which is how the tests prove that what was kept incrementally is what the rows say.
//!
//! Horvitz–Thompson sums carry the weight 1 / sampling probability of the decision. An ad is
//! in the weighted sample when it was an audit sample of an automatic decision or when the
//! machine routed it to a human (probability 1); ads checked only because of an appeal count
//! for the override rate but not for precision and recall, since appeals are not random.

use crate::metrics::estimate::{BIN_MEASURES, BinSums, Class};
use crate::metrics::kpi;
use crate::platform::time::Millis;
use crate::vocab::policy::Category;
use std::collections::BTreeMap;

pub mod store;

/// The category, model version or queue of rollup rows kept for every one of them.
pub const ANY: &str = "*";

/// Milliseconds in an hour: rollup rows are keyed by `ms / HOUR_MS`.
pub const HOUR_MS: i64 = 3_600_000;

/// The rollup hour of a timestamp.
pub fn hour_of(ms: Millis) -> i64 {
    ms.div_euclid(HOUR_MS)
}

/// Measures of `rollup_ads`, in column order. The `ad` module names their positions.
pub const AD_MEASURES: [&str; 31] = [
    "decided",
    "auto_approved",
    "auto_rejected",
    "routed",
    "audit_samples",
    "infer_ms",
    "p_w",
    "p_w2",
    "p_wy",
    "r_w",
    "r_w2",
    "r_wy",
    "checked",
    "overridden",
    "fp_bw",
    "fn_weapons",
    "fn_drugs",
    "fn_tobacco",
    "fn_alcohol",
    "fn_gambling",
    "fn_adult",
    "fn_scam",
    "fn_health_claims",
    "fn_counterfeit",
    "fn_political",
    "reviews",
    "handling_ms",
    "appeals_decided",
    "appeals_overturned",
    "sla_n",
    "sla_within",
];

/// Positions in [`AD_MEASURES`].
pub mod ad {
    /// Machine decisions.
    pub const DECIDED: usize = 0;
    pub const AUTO_APPROVED: usize = 1;
    pub const AUTO_REJECTED: usize = 2;
    /// Sent to a human by the machine (uncertain or restricted).
    pub const ROUTED: usize = 3;
    pub const AUDIT_SAMPLES: usize = 4;
    /// Σ inference time of the decisions, ms.
    pub const INFER_MS: usize = 5;
    /// Precision sample: auto-rejections with a weighted human verdict (Σw, Σw², Σw·confirmed).
    pub const P_W: usize = 6;
    /// Recall sample: weighted ads humans found violating (Σw, Σw², Σw·auto-rejected).
    pub const R_W: usize = 9;
    /// Automatic decisions with a final human verdict (audits and appeals), unweighted.
    pub const CHECKED: usize = 12;
    /// Of those, the ones the human verdict overruled.
    pub const OVERRIDDEN: usize = 13;
    /// HT Σ w·daily budget of auto-rejections humans approved.
    pub const FP_BW: usize = 14;
    /// HT Σ w of auto-approvals humans rejected, per violated category (10 columns).
    pub const FN_W: usize = 15;
    /// Reviews finished in the hour (QA second opinions included).
    pub const REVIEWS: usize = 25;
    /// Σ review handling time, ms.
    pub const HANDLING_MS: usize = 26;
    pub const APPEALS_DECIDED: usize = 27;
    pub const APPEALS_OVERTURNED: usize = 28;
    /// Ads the machine routed to a human that got their final decision in the hour.
    pub const SLA_N: usize = 29;
    /// Of those, the ones decided by their due time (submission + market SLA).
    pub const SLA_WITHIN: usize = 30;
}

/// Measures of `rollup_categories`, in column order. The `cat` module names their positions.
pub const CAT_MEASURES: [&str; 86] = [
    "h00", "h01", "h02", "h03", "h04", "h05", "h06", "h07", "h08", "h09", "h10", "h11", "h12",
    "h13", "h14", "h15", "h16", "h17", "h18", "h19", "cp_w", "cp_w2", "cp_wy", "cr_w", "cr_w2",
    "cr_wy", "cw00", "cw01", "cw02", "cw03", "cw04", "cw05", "cw06", "cw07", "cw08", "cw09",
    "cw10", "cw11", "cw12", "cw13", "cw14", "cw15", "cw16", "cw17", "cw18", "cw19", "cy00", "cy01",
    "cy02", "cy03", "cy04", "cy05", "cy06", "cy07", "cy08", "cy09", "cy10", "cy11", "cy12", "cy13",
    "cy14", "cy15", "cy16", "cy17", "cy18", "cy19", "cs00", "cs01", "cs02", "cs03", "cs04", "cs05",
    "cs06", "cs07", "cs08", "cs09", "cs10", "cs11", "cs12", "cs13", "cs14", "cs15", "cs16", "cs17",
    "cs18", "cs19",
];

/// Positions in [`CAT_MEASURES`].
pub mod cat {
    /// 20-bin histogram of the category's score over all decisions.
    pub const HIST: usize = 0;
    /// Precision sample for the category: auto-rejected for it (Σw, Σw², Σw·confirmed).
    pub const P_W: usize = 20;
    /// Recall sample: humans found the category (Σw, Σw², Σw·auto-rejected for it).
    pub const R_W: usize = 23;
    /// Reliability bins over the weighted sample: Σw, Σw·confirmed, Σw·score (20 each).
    pub const CAL_W: usize = 26;
    pub const CAL_Y: usize = 46;
    pub const CAL_S: usize = 66;
}

/// Measures of `rollup_estimates`, in column order: each of [`BIN_MEASURES`] for score bins
/// 0–19 (`n00` … `n19`, `nb00` …).
pub static ESTIMATE_MEASURES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| {
        BIN_MEASURES
            .iter()
            .flat_map(|m| {
                (0..kpi::PSI_BINS).map(move |b| &*Box::leak(format!("{m}{b:02}").into_boxed_str()))
            })
            .collect()
    });

/// The `target` of `rollup_estimates` rows about the ad as a whole.
pub const TARGET_AD: &str = "ad";
/// The `target` of `rollup_estimates` rows about the row's category.
pub const TARGET_CATEGORY: &str = "category";

/// The per-bin sums of a `rollup_estimates` row.
pub fn estimate_bins(v: &[f64]) -> [BinSums; kpi::PSI_BINS] {
    std::array::from_fn(|b| {
        let values: Vec<f64> = (0..BIN_MEASURES.len())
            .map(|m| v.get(m * kpi::PSI_BINS + b).copied().unwrap_or(0.0))
            .collect();
        BinSums::from_slice(&values)
    })
}

fn add_bin(row: &mut [f64], bin: usize, sums: &BinSums) {
    for (m, x) in sums.to_array().into_iter().enumerate() {
        row[m * kpi::PSI_BINS + bin] += x;
    }
}

/// A decision and the facts about its ad that the rollups need.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionFacts {
    pub ad_id: i64,
    pub market: String,
    pub language: String,
    pub model_version: String,
    pub decided_at: Millis,
    pub submitted_at: Millis,
    pub scores: [f32; 10],
    pub action: String,
    pub reasons: Vec<Category>,
    pub audit_sample: bool,
    pub sampling_probability: f64,
    pub latency_ms: f64,
    pub daily_budget_usd: f64,
}

impl DecisionFacts {
    /// The highest-scoring category: the ad's row in `rollup_ads`.
    pub fn top_category(&self) -> Category {
        let mut best = 0;
        for (i, s) in self.scores.iter().enumerate() {
            if *s > self.scores[best] {
                best = i;
            }
        }
        Category::ALL[best]
    }

    /// The Horvitz–Thompson weight when the ad is in the random sample humans check.
    pub fn sample_weight(&self) -> Option<f64> {
        let sampled = self.audit_sample || self.action == "review";
        (sampled && self.sampling_probability > 0.0).then(|| 1.0 / self.sampling_probability)
    }

    /// The estimate rows of the ad: the ad as a whole (category [`ANY`], binned by its top
    /// score), then every category (binned by its score), with the class of the decision for
    /// each and the ad's budget.
    fn estimate_rows(&self, hour: i64) -> Vec<(EstimateKey, usize, f64)> {
        let top = self.top_category();
        let max = f64::from(self.scores[top.index()]);
        let row = |category: &str, target: &str, class: Class, score: f64| {
            (
                (
                    (
                        hour,
                        self.market.clone(),
                        category.to_string(),
                        self.model_version.clone(),
                    ),
                    target.to_string(),
                    class.as_str().to_string(),
                ),
                kpi::score_bin(score),
                self.daily_budget_usd,
            )
        };
        let mut out = Vec::with_capacity(1 + Category::ALL.len());
        out.push(row(ANY, TARGET_AD, Class::of(&self.action, true), max));
        for c in Category::ALL {
            out.push(row(
                c.as_str(),
                TARGET_CATEGORY,
                Class::of(&self.action, self.reasons.contains(&c)),
                f64::from(self.scores[c.index()]),
            ));
        }
        out
    }

    fn key(&self, hour: i64) -> Key {
        (
            hour,
            self.market.clone(),
            self.top_category().as_str().to_string(),
            self.model_version.clone(),
        )
    }
}

/// An ad's final human verdict: the latest review that is not a QA second opinion.
#[derive(Clone, Debug, PartialEq)]
pub struct FinalVerdict {
    pub reject: bool,
    pub categories: Vec<Category>,
}

/// One finished review, as far as the work rollups care.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewWork {
    pub reviewer_id: i64,
    pub source: String,
    pub reject: bool,
    pub overrode: bool,
    pub reason_code: Option<String>,
    /// The ad's status before the review: `in_review` means this review settled a routed ad.
    pub status_before: String,
    pub started_at: Millis,
    pub finished_at: Millis,
    /// When the task was due (submission + the market's SLA, for routed ads).
    pub due_at: Millis,
}

type Key = (i64, String, String, String);

/// (key, reviewer, reason code or "", source) of a `rollup_overrides` row.
pub type OverrideKey = (Key, i64, String, String);

/// (key, target, class) of a `rollup_estimates` row.
pub type EstimateKey = (Key, String, String);

/// Changes to the rollup tables, summed in memory before they are written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delta {
    pub ads: BTreeMap<Key, Vec<f64>>,
    pub categories: BTreeMap<Key, Vec<f64>>,
    /// (key, kind, bucket) → count.
    pub durations: BTreeMap<(Key, String, i64), f64>,
    /// (key, reviewer, reason code or "", source) → [reviews, overrides].
    pub overrides: BTreeMap<OverrideKey, [f64; 2]>,
    /// (hour, market, language, model) → decisions.
    pub languages: BTreeMap<Key, f64>,
    /// (key, target, class) → [`ESTIMATE_MEASURES`].
    pub estimates: BTreeMap<EstimateKey, Vec<f64>>,
}

fn estimate_row(map: &mut BTreeMap<EstimateKey, Vec<f64>>, key: EstimateKey) -> &mut Vec<f64> {
    map.entry(key)
        .or_insert_with(|| vec![0.0; ESTIMATE_MEASURES.len()])
}

fn row(map: &mut BTreeMap<Key, Vec<f64>>, key: Key, width: usize) -> &mut Vec<f64> {
    map.entry(key).or_insert_with(|| vec![0.0; width])
}

impl Delta {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.ads.is_empty()
            && self.categories.is_empty()
            && self.durations.is_empty()
            && self.overrides.is_empty()
            && self.languages.is_empty()
            && self.estimates.is_empty()
    }

    /// What a machine decision adds on its own.
    pub fn decision(&mut self, d: &DecisionFacts) {
        let hour = hour_of(d.decided_at);
        let r = row(&mut self.ads, d.key(hour), AD_MEASURES.len());
        r[ad::DECIDED] += 1.0;
        match d.action.as_str() {
            "approve" => r[ad::AUTO_APPROVED] += 1.0,
            "reject" => r[ad::AUTO_REJECTED] += 1.0,
            _ => r[ad::ROUTED] += 1.0,
        }
        if d.audit_sample {
            r[ad::AUDIT_SAMPLES] += 1.0;
        }
        r[ad::INFER_MS] += d.latency_ms;
        for c in Category::ALL {
            let key = (
                hour,
                d.market.clone(),
                c.as_str().to_string(),
                d.model_version.clone(),
            );
            let r = row(&mut self.categories, key, CAT_MEASURES.len());
            r[cat::HIST + kpi::score_bin(f64::from(d.scores[c.index()]))] += 1.0;
        }
        *self
            .languages
            .entry((
                hour,
                d.market.clone(),
                d.language.clone(),
                d.model_version.clone(),
            ))
            .or_default() += 1.0;
        for (key, bin, budget) in d.estimate_rows(hour) {
            let mut sums = BinSums::default();
            sums.add_population(budget, 1.0);
            add_bin(estimate_row(&mut self.estimates, key), bin, &sums);
        }
    }

    /// What the ad's final human verdict adds (`sign` −1 takes it back).
    pub fn verdict(&mut self, d: &DecisionFacts, v: &FinalVerdict, sign: f64) {
        let hour = hour_of(d.decided_at);
        let auto_reject = d.action == "reject";
        let r = row(&mut self.ads, d.key(hour), AD_MEASURES.len());
        if d.action != "review" {
            r[ad::CHECKED] += sign;
            if v.reject != auto_reject {
                r[ad::OVERRIDDEN] += sign;
            }
        }
        let Some(w) = d.sample_weight() else {
            return;
        };
        for (i, (key, bin, budget)) in d.estimate_rows(hour).into_iter().enumerate() {
            let y = if i == 0 {
                v.reject
            } else {
                v.reject && v.categories.contains(&Category::ALL[i - 1])
            };
            let mut sums = BinSums::default();
            sums.add_checked(w, y, budget, sign);
            add_bin(estimate_row(&mut self.estimates, key), bin, &sums);
        }
        if auto_reject {
            add_ht(r, ad::P_W, w, v.reject, sign);
            if !v.reject {
                r[ad::FP_BW] += sign * w * d.daily_budget_usd;
            }
        }
        if v.reject {
            add_ht(r, ad::R_W, w, auto_reject, sign);
            if d.action == "approve" {
                for c in &v.categories {
                    r[ad::FN_W + c.index()] += sign * w;
                }
            }
        }
        for c in Category::ALL {
            let key = (
                hour,
                d.market.clone(),
                c.as_str().to_string(),
                d.model_version.clone(),
            );
            let r = row(&mut self.categories, key, CAT_MEASURES.len());
            let found = v.reject && v.categories.contains(&c);
            let rejected_for = auto_reject && d.reasons.contains(&c);
            if rejected_for {
                add_ht(r, cat::P_W, w, found, sign);
            }
            if found {
                add_ht(r, cat::R_W, w, rejected_for, sign);
            }
            let score = f64::from(d.scores[c.index()]);
            let bin = kpi::score_bin(score);
            r[cat::CAL_W + bin] += sign * w;
            if found {
                r[cat::CAL_Y + bin] += sign * w;
            }
            r[cat::CAL_S + bin] += sign * w * score;
        }
    }

    /// What a finished review adds as work (`sign` −1 takes it back).
    pub fn work(&mut self, d: &DecisionFacts, w: &ReviewWork, sign: f64) {
        let key = d.key(hour_of(w.finished_at));
        // Durations and overrides by reviewer are kept per market only (category and model
        // are [`ANY`]): sliced finer they would be hundreds of thousands of rows a month.
        let market_key = (key.0, key.1.clone(), ANY.to_string(), ANY.to_string());
        let handling = (w.finished_at - w.started_at).max(0);
        let r = row(&mut self.ads, key.clone(), AD_MEASURES.len());
        r[ad::REVIEWS] += sign;
        r[ad::HANDLING_MS] += sign * handling as f64;
        if w.source == "appeal" {
            r[ad::APPEALS_DECIDED] += sign;
            if !w.reject {
                r[ad::APPEALS_OVERTURNED] += sign;
            }
        }
        let settles = w.source != "qa" && w.status_before == "in_review";
        if settles {
            r[ad::SLA_N] += sign;
            if w.finished_at <= w.due_at {
                r[ad::SLA_WITHIN] += sign;
            }
            let sla = w.finished_at - d.submitted_at;
            *self
                .durations
                .entry((
                    market_key.clone(),
                    "sla".into(),
                    kpi::duration_bucket(sla) as i64,
                ))
                .or_default() += sign;
        }
        *self
            .durations
            .entry((
                market_key.clone(),
                "handling".into(),
                kpi::duration_bucket(handling) as i64,
            ))
            .or_default() += sign;
        let o = self
            .overrides
            .entry((
                market_key,
                w.reviewer_id,
                w.reason_code.clone().unwrap_or_default(),
                ANY.to_string(),
            ))
            .or_default();
        o[0] += sign;
        if w.overrode {
            o[1] += sign;
        }
    }

    /// Adds another delta to this one.
    pub fn merge(&mut self, other: Delta) {
        for (k, v) in other.ads {
            let r = row(&mut self.ads, k, AD_MEASURES.len());
            r.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        for (k, v) in other.categories {
            let r = row(&mut self.categories, k, CAT_MEASURES.len());
            r.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        for (k, v) in other.durations {
            *self.durations.entry(k).or_default() += v;
        }
        for (k, v) in other.overrides {
            let o = self.overrides.entry(k).or_default();
            o[0] += v[0];
            o[1] += v[1];
        }
        for (k, v) in other.languages {
            *self.languages.entry(k).or_default() += v;
        }
        for (k, v) in other.estimates {
            let r = estimate_row(&mut self.estimates, k);
            r.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
    }

    /// Drops entries that add up to nothing (after a review and its undo, say), so that two
    /// deltas describing the same totals compare equal.
    pub fn without_zeros(mut self) -> Delta {
        let zero = |x: &f64| x.abs() < 1e-9;
        self.ads.retain(|_, v| !v.iter().all(zero));
        self.categories.retain(|_, v| !v.iter().all(zero));
        self.durations.retain(|_, v| !zero(v));
        self.overrides.retain(|_, v| !v.iter().all(zero));
        self.languages.retain(|_, v| !zero(v));
        self.estimates.retain(|_, v| !v.iter().all(zero));
        self
    }

    /// Where two deltas differ by more than rounding (relative 1e-9), as readable lines.
    pub fn differences(&self, other: &Delta) -> Vec<String> {
        let a = self.clone().without_zeros();
        let b = other.clone().without_zeros();
        let mut out = Vec::new();
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
        let mut rows = |name: &str,
                        x: &BTreeMap<Key, Vec<f64>>,
                        y: &BTreeMap<Key, Vec<f64>>,
                        cols: &[&str]| {
            for k in x.keys().chain(y.keys()) {
                let (xv, yv) = (x.get(k), y.get(k));
                for (i, col) in cols.iter().enumerate() {
                    let xi = xv.map_or(0.0, |v| v[i]);
                    let yi = yv.map_or(0.0, |v| v[i]);
                    if !close(xi, yi) {
                        out.push(format!("{name} {k:?} {col}: {xi} vs {yi}"));
                    }
                }
            }
        };
        rows("rollup_ads", &a.ads, &b.ads, &AD_MEASURES);
        rows(
            "rollup_categories",
            &a.categories,
            &b.categories,
            &CAT_MEASURES,
        );
        rows(
            "rollup_languages",
            &flat(&a.languages),
            &flat(&b.languages),
            &["decided"],
        );
        for k in a.estimates.keys().chain(b.estimates.keys()) {
            let (xv, yv) = (a.estimates.get(k), b.estimates.get(k));
            for (i, col) in ESTIMATE_MEASURES.iter().enumerate() {
                let xi = xv.map_or(0.0, |v| v[i]);
                let yi = yv.map_or(0.0, |v| v[i]);
                if !close(xi, yi) {
                    out.push(format!("rollup_estimates {k:?} {col}: {xi} vs {yi}"));
                }
            }
        }
        for k in a.durations.keys().chain(b.durations.keys()) {
            let (x, y) = (
                a.durations.get(k).copied().unwrap_or(0.0),
                b.durations.get(k).copied().unwrap_or(0.0),
            );
            if !close(x, y) {
                out.push(format!("rollup_durations {k:?}: {x} vs {y}"));
            }
        }
        for k in a.overrides.keys().chain(b.overrides.keys()) {
            let (x, y) = (
                a.overrides.get(k).copied().unwrap_or_default(),
                b.overrides.get(k).copied().unwrap_or_default(),
            );
            if !close(x[0], y[0]) || !close(x[1], y[1]) {
                out.push(format!("rollup_overrides {k:?}: {x:?} vs {y:?}"));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The same sums per day instead of per hour.
    pub fn daily(&self) -> Delta {
        let day = |k: &Key| (k.0.div_euclid(24), k.1.clone(), k.2.clone(), k.3.clone());
        let mut out = Delta::default();
        for (k, v) in &self.ads {
            let r = row(&mut out.ads, day(k), AD_MEASURES.len());
            r.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        for (k, v) in &self.categories {
            let r = row(&mut out.categories, day(k), CAT_MEASURES.len());
            r.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        for ((k, kind, bucket), v) in &self.durations {
            *out.durations
                .entry((day(k), kind.clone(), *bucket))
                .or_default() += v;
        }
        for ((k, reviewer, reason, source), v) in &self.overrides {
            let o = out
                .overrides
                .entry((day(k), *reviewer, reason.clone(), source.clone()))
                .or_default();
            o[0] += v[0];
            o[1] += v[1];
        }
        for (k, v) in &self.languages {
            *out.languages.entry(day(k)).or_default() += v;
        }
        for ((k, target, class), v) in &self.estimates {
            let r = estimate_row(&mut out.estimates, (day(k), target.clone(), class.clone()));
            r.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        out
    }
}

/// A measure vector with only its non-zero entries, as (index, value): a review touches a
/// handful of the hundreds of measures of its rows.
type Sparse = Vec<(usize, f64)>;

/// A [`Delta`] as it waits in `rollup_queue` (JSON): maps as lists, vectors sparse.
#[derive(serde::Serialize, serde::Deserialize)]
struct Queued {
    ads: Vec<(Key, Sparse)>,
    categories: Vec<(Key, Sparse)>,
    durations: Vec<((Key, String, i64), f64)>,
    overrides: Vec<(OverrideKey, [f64; 2])>,
    languages: Vec<(Key, f64)>,
    estimates: Vec<(EstimateKey, Sparse)>,
}

fn sparse(v: Vec<f64>) -> Sparse {
    v.into_iter()
        .enumerate()
        .filter(|(_, x)| *x != 0.0)
        .collect()
}

/// A sparse vector back at its full width; an index beyond it is refused.
fn dense(s: Sparse, width: usize) -> Result<Vec<f64>, String> {
    let mut v = vec![0.0; width];
    for (i, x) in s {
        *v.get_mut(i)
            .ok_or_else(|| format!("measure {i} of a queued rollup row is beyond {width}"))? = x;
    }
    Ok(v)
}

fn dense_map<K: Ord>(
    rows: Vec<(K, Sparse)>,
    width: usize,
) -> Result<BTreeMap<K, Vec<f64>>, String> {
    rows.into_iter()
        .map(|(k, s)| Ok((k, dense(s, width)?)))
        .collect()
}

impl Delta {
    /// The delta as JSON for `rollup_queue` (f64 values round-trip exactly: serde_json's
    /// `float_roundtrip` parser).
    pub fn into_queued(self) -> String {
        let d = self.without_zeros();
        let q = Queued {
            ads: d.ads.into_iter().map(|(k, v)| (k, sparse(v))).collect(),
            categories: d
                .categories
                .into_iter()
                .map(|(k, v)| (k, sparse(v)))
                .collect(),
            durations: d.durations.into_iter().collect(),
            overrides: d.overrides.into_iter().collect(),
            languages: d.languages.into_iter().collect(),
            estimates: d
                .estimates
                .into_iter()
                .map(|(k, v)| (k, sparse(v)))
                .collect(),
        };
        serde_json::to_string(&q).expect("a delta serialises")
    }

    /// Reads what [`Delta::into_queued`] wrote.
    pub fn from_queued(json: &str) -> Result<Delta, String> {
        let q: Queued =
            serde_json::from_str(json).map_err(|e| format!("a queued rollup delta: {e}"))?;
        Ok(Delta {
            ads: dense_map(q.ads, AD_MEASURES.len())?,
            categories: dense_map(q.categories, CAT_MEASURES.len())?,
            durations: q.durations.into_iter().collect(),
            overrides: q.overrides.into_iter().collect(),
            languages: q.languages.into_iter().collect(),
            estimates: dense_map(q.estimates, ESTIMATE_MEASURES.len())?,
        })
    }
}

/// The two granularities the rollups are kept at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grain {
    /// `rollup_*` tables, keyed by `hour` (hours since the epoch).
    Hour,
    /// `rollup_*_daily` tables, keyed by `day` (UTC days since the epoch).
    Day,
}

impl Grain {
    /// The time column.
    pub fn column(self) -> &'static str {
        match self {
            Grain::Hour => "hour",
            Grain::Day => "day",
        }
    }

    /// The table name suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            Grain::Hour => "",
            Grain::Day => "_daily",
        }
    }
}

fn flat(m: &BTreeMap<Key, f64>) -> BTreeMap<Key, Vec<f64>> {
    m.iter().map(|(k, v)| (k.clone(), vec![*v])).collect()
}

fn add_ht(r: &mut [f64], at: usize, w: f64, hit: bool, sign: f64) {
    r[at] += sign * w;
    r[at + 1] += sign * w * w;
    if hit {
        r[at + 2] += sign * w;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_delta_reads_back_exactly() {
        let facts = DecisionFacts {
            ad_id: 7,
            market: "DE".into(),
            language: "de".into(),
            model_version: "v1".into(),
            decided_at: 1_700_000_000_123,
            submitted_at: 1_700_000_000_000,
            scores: [0.91, 0.1, 0.333, 0.0, 0.05, 0.2, 0.0, 0.7, 0.01, 0.02],
            action: "approve".into(),
            reasons: vec![],
            audit_sample: true,
            sampling_probability: 0.03,
            latency_ms: 1.25,
            daily_budget_usd: 137.5,
        };
        let mut d = Delta::default();
        d.decision(&facts);
        let verdict = FinalVerdict {
            reject: true,
            categories: vec![Category::ALL[0], Category::ALL[7]],
        };
        d.verdict(&facts, &verdict, 1.0);
        d.work(
            &facts,
            &ReviewWork {
                reviewer_id: 3,
                source: "audit".into(),
                reject: true,
                overrode: true,
                reason_code: Some("scam".into()),
                status_before: "approved".into(),
                started_at: 1_700_000_100_000,
                finished_at: 1_700_000_160_000,
                due_at: 1_700_000_900_000,
            },
            1.0,
        );
        let json = d.clone().into_queued();
        let back = Delta::from_queued(&json).unwrap();
        assert_eq!(back, d.clone().without_zeros());
        assert!(back.differences(&d).is_empty());
        // Sparse: far smaller than the hundreds of measures of its rows written out.
        let measures: usize = d.ads.values().map(Vec::len).sum::<usize>()
            + d.categories.values().map(Vec::len).sum::<usize>()
            + d.estimates.values().map(Vec::len).sum::<usize>();
        assert!(json.len() < measures * 2, "{} bytes", json.len());
        assert!(Delta::from_queued("{").is_err());
        let too_wide = json.replacen("[[0,", "[[9999,", 1);
        assert!(Delta::from_queued(&too_wide).is_err());
    }
}
