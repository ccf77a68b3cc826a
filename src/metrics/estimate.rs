//! Model-assisted estimates of quality and cost: the difference estimator over calibrated
//! scores, the audit-only (Horvitz–Thompson) figure it is checked against, the label-free
//! figure from calibrated scores alone, and the calibration map they rest on.
//!
//! Every count behind precision, recall and the error costs is a total T = Σ y over a set of
//! decided ads (y: the human verdict). With m the calibrated prediction of y and π the
//! probability that the ad was checked by a human (audit samples: the sampling rate; ads the
//! machine routed to a human: 1), the difference estimator is
//!
//!   T̂ = Σ_all m + Σ_checked (y − m) / π,
//!
//! unbiased whatever m is (the second sum corrects the first exactly in expectation), and
//! with variance Σ (1 − π)/π · (y − m)², estimated by Σ_checked (1 − π)/π² · (y − m)² — small
//! when the model is calibrated, because then the residuals y − m are. Appeals and
//! escalations are not random samples and are never in the checked set.
//!
//! Sums are kept per score bin (the 20 bins of [`kpi::score_bin`]) so that m is the
//! calibrated value of the bin, and the estimates can be recomputed from rollups with any
//! calibration map: with v = w² − w (w = 1/π) and y ∈ {0, 1},
//! Σ v (y − m)² = Σv·y · (1 − 2m) + m² · Σv.
//!
//! Intervals: each figure is a share of a known population (auto-rejections, auto-approvals,
//! the budget of auto-rejections). The difference estimator's 95% interval is normal,
//! p̂ ± 1.96·√Var, clipped to [0, 1], with Var the larger of the observed-residual estimate and
//! the one calibration predicts (Σv·m(1 − m)), which keeps rare counts honest when a sample
//! happens to hold none; the audit-only one is Wilson's on Kish's effective count (Σw)²/Σw².
//! Costs add shares times known totals; their intervals add the components' half-widths in
//! quadrature.

use super::kpi::{self, CATEGORY_COUNT, CostRates, Estimate, HtSums, PSI_BINS, Z95};
use serde::{Deserialize, Serialize};

/// Sums of one score bin for one class of decisions (see [`BIN_MEASURES`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BinSums {
    /// Ads decided (the population).
    pub n: f64,
    /// Σ daily budget of the population.
    pub nb: f64,
    /// Checked ads: Σw, Σw·y, Σv, Σv·y with w = 1/π, v = w² − w.
    pub w: f64,
    pub wy: f64,
    pub v: f64,
    pub vy: f64,
    /// Budget-weighted: Σw·b, Σw·b·y, Σw·b², Σv·b², Σv·b²·y.
    pub wb: f64,
    pub wby: f64,
    pub wbb: f64,
    pub vbb: f64,
    pub vbby: f64,
}

/// Names of the [`BinSums`] fields, in the order [`BinSums::to_array`] writes them.
pub const BIN_MEASURES: [&str; 11] = [
    "n", "nb", "w", "wy", "v", "vy", "wb", "wby", "wbb", "vbb", "vbby",
];

impl BinSums {
    /// The fields in [`BIN_MEASURES`] order.
    pub fn to_array(&self) -> [f64; 11] {
        [
            self.n, self.nb, self.w, self.wy, self.v, self.vy, self.wb, self.wby, self.wbb,
            self.vbb, self.vbby,
        ]
    }

    /// The sums from values in [`BIN_MEASURES`] order (missing values are 0).
    pub fn from_slice(v: &[f64]) -> BinSums {
        let at = |i: usize| v.get(i).copied().unwrap_or(0.0);
        BinSums {
            n: at(0),
            nb: at(1),
            w: at(2),
            wy: at(3),
            v: at(4),
            vy: at(5),
            wb: at(6),
            wby: at(7),
            wbb: at(8),
            vbb: at(9),
            vbby: at(10),
        }
    }

    /// Adds a decided ad with its daily budget.
    pub fn add_population(&mut self, budget: f64, sign: f64) {
        self.n += sign;
        self.nb += sign * budget;
    }

    /// Adds a checked ad: weight w = 1/π, verdict y, daily budget b.
    pub fn add_checked(&mut self, w: f64, y: bool, budget: f64, sign: f64) {
        let v = w * w - w;
        let y = if y { 1.0 } else { 0.0 };
        let b = budget;
        self.w += sign * w;
        self.wy += sign * w * y;
        self.v += sign * v;
        self.vy += sign * v * y;
        self.wb += sign * w * b;
        self.wby += sign * w * b * y;
        self.wbb += sign * w * b * b;
        self.vbb += sign * v * b * b;
        self.vbby += sign * v * b * b * y;
    }
}

/// Which automatic decision an ad got, as far as one target (the ad, or one category) goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Auto-rejected (for a category: rejected naming it).
    Reject,
    /// Auto-approved.
    Approve,
    /// Everything else: routed to a human, or (for a category) rejected for another one.
    Other,
}

impl Class {
    pub const ALL: [Class; 3] = [Class::Reject, Class::Approve, Class::Other];

    /// The name stored in the rollups.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Reject => "reject",
            Class::Approve => "approve",
            Class::Other => "other",
        }
    }

    /// The class of a stored name.
    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The class of an ad for a target: `rejected_for` is whether the machine rejected it
    /// naming the target (any rejection, for the ad-level target).
    pub fn of(action: &str, rejected_for: bool) -> Class {
        match action {
            "reject" if rejected_for => Class::Reject,
            "approve" => Class::Approve,
            _ => Class::Other,
        }
    }
}

/// The calibration map of one target: the calibrated probability that a human finds a
/// violation, per score bin.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub bins: [f64; PSI_BINS],
}

/// Weight (in Horvitz–Thompson units: about two audited auto-approvals, five audited
/// auto-rejections or a hundred routed ads) of the pseudo-observation in each bin that keeps
/// sparse bins near a prior: the raw score for a version's all-markets map, that map for a
/// market's own. A single audited ad weighs 20–50 and would otherwise set its bin alone.
pub const CALIBRATION_PRIOR_WEIGHT: f64 = 100.0;

/// Calibration error above which a cell's model-assisted figure falls back to audit-only:
/// Σ over classes of |Σ_checked w·(y − m)| / Σ_checked w.
pub const CALIBRATION_ERROR_BOUND: f64 = 0.10;

/// A bin's midpoint score.
pub fn bin_midpoint(bin: usize) -> f64 {
    (bin as f64 + 0.5) / PSI_BINS as f64
}

impl Calibration {
    /// The raw scores taken as probabilities (each bin's midpoint): what an uncalibrated
    /// model claims.
    pub fn identity() -> Calibration {
        Calibration {
            bins: std::array::from_fn(bin_midpoint),
        }
    }

    /// Weighted isotonic regression (pool adjacent violators) of the checked verdicts on the
    /// score bins: Σw and Σw·y per bin (Horvitz–Thompson weights, so the map describes all
    /// decided ads, not only the checked ones), plus a pseudo-observation of weight
    /// [`CALIBRATION_PRIOR_WEIGHT`] at each bin's midpoint. The result never decreases with
    /// the score.
    pub fn fit(w: &[f64; PSI_BINS], wy: &[f64; PSI_BINS]) -> Calibration {
        Calibration::fit_toward(w, wy, &Calibration::identity())
    }

    /// The same fit with the pseudo-observations at a prior map's values instead (a market's
    /// map is pulled toward its version's all-markets map where the market has few audits).
    pub fn fit_toward(
        w: &[f64; PSI_BINS],
        wy: &[f64; PSI_BINS],
        prior: &Calibration,
    ) -> Calibration {
        // Blocks of (total weight, weighted mean, bins covered).
        let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(PSI_BINS);
        for b in 0..PSI_BINS {
            let weight = w[b].max(0.0) + CALIBRATION_PRIOR_WEIGHT;
            let hits = wy[b].clamp(0.0, w[b].max(0.0)) + CALIBRATION_PRIOR_WEIGHT * prior.bins[b];
            blocks.push((weight, hits / weight, 1));
            while blocks.len() > 1 {
                let (w2, m2, n2) = blocks[blocks.len() - 1];
                let (w1, m1, n1) = blocks[blocks.len() - 2];
                if m1 <= m2 {
                    break;
                }
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (w1 + w2, (w1 * m1 + w2 * m2) / (w1 + w2), n1 + n2);
            }
        }
        let mut bins = [0.0; PSI_BINS];
        let mut b = 0;
        for (_, mean, count) in blocks {
            for slot in bins.iter_mut().skip(b).take(count) {
                *slot = mean.clamp(0.0, 1.0);
            }
            b += count;
        }
        Calibration { bins }
    }

    /// Expected calibration error of the map on checked sums: Σ_b |Σw·y − m_b·Σw| / Σw.
    pub fn error(&self, w: &[f64; PSI_BINS], wy: &[f64; PSI_BINS]) -> Option<f64> {
        let total: f64 = w.iter().sum();
        (total > 0.0).then(|| {
            (0..PSI_BINS)
                .map(|b| (wy[b] - self.bins[b] * w[b]).abs())
                .sum::<f64>()
                / total
        })
    }
}

/// A total estimated by the difference estimator: its value and two estimates of its
/// variance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Total {
    pub value: f64,
    /// From the observed residuals: Σ_checked (1 − π)/π² · (y − m)².
    pub var_observed: f64,
    /// What calibration predicts for it: Σ_checked (1 − π)/π² · m(1 − m). When what is
    /// counted is rare (harmful ads among approvals), most samples hold none of it and the
    /// observed residuals say "no variance"; the prediction does not collapse.
    pub var_expected: f64,
}

impl Total {
    fn add(&mut self, o: Total) {
        self.value += o.value;
        self.var_observed += o.var_observed;
        self.var_expected += o.var_expected;
    }

    /// The variance used for intervals: the larger of the two estimates.
    pub fn var(&self) -> f64 {
        self.var_observed.max(self.var_expected)
    }
}

/// Additive sums behind every figure of one target in one slice: summed over model versions
/// (each with its own calibration) and markets before the figures are formed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Ads per class (reject, approve, other).
    pub n: [f64; 3],
    /// Difference-estimator totals of y per class.
    pub y: [Total; 3],
    /// Σ calibrated predictions per class (the label-free figures).
    pub predicted: [f64; 3],
    /// Audit-only samples per class: Σw, Σw², Σw·y.
    pub ht: [HtSums; 3],
    /// Σ_checked w·(y − m) per class: the calibration error's numerator.
    pub residual: [f64; 3],
    /// Auto-rejections: Σ budget, the difference-estimator total of budget × (1 − y), and the
    /// audit-only sample of budget-weighted "humans approved" (weights w·b).
    pub budget_reject: f64,
    pub fp_budget: Total,
    pub ht_fp: HtSums,
    /// Audit-only recall sample: checked ads humans found violating (Σw, Σw², and Σw of
    /// those the machine auto-rejected).
    pub ht_found: HtSums,
}

impl Totals {
    /// Adds one class's bins, read with a calibration map.
    pub fn add_class(&mut self, class: Class, bins: &[BinSums; PSI_BINS], cal: &Calibration) {
        let i = class as usize;
        for (b, s) in bins.iter().enumerate() {
            let m = cal.bins[b];
            self.n[i] += s.n;
            self.predicted[i] += s.n * m;
            self.y[i].add(Total {
                value: s.n * m + s.wy - m * s.w,
                var_observed: (s.vy * (1.0 - 2.0 * m) + m * m * s.v).max(0.0),
                var_expected: m * (1.0 - m) * s.v,
            });
            self.ht[i].merge(&HtSums {
                w: s.w,
                w2: s.v + s.w,
                wy: s.wy,
            });
            self.residual[i] += s.wy - m * s.w;
            self.ht_found.merge(&HtSums {
                w: s.wy,
                w2: s.vy + s.wy,
                wy: if class == Class::Reject { s.wy } else { 0.0 },
            });
            if class == Class::Reject {
                self.budget_reject += s.nb;
                self.fp_budget.add(Total {
                    value: s.nb * (1.0 - m) + m * s.wb - s.wby,
                    var_observed: (s.vbby * (1.0 - 2.0 * m) + m * m * s.vbb).max(0.0),
                    var_expected: m * (1.0 - m) * s.vbb,
                });
                self.ht_fp.merge(&HtSums {
                    w: s.wb,
                    w2: s.vbb + s.wbb,
                    wy: s.wb - s.wby,
                });
            }
        }
    }

    /// Adds another slice's totals.
    pub fn merge(&mut self, o: &Totals) {
        for i in 0..3 {
            self.n[i] += o.n[i];
            self.y[i].add(o.y[i]);
            self.predicted[i] += o.predicted[i];
            self.ht[i].merge(&o.ht[i]);
            self.residual[i] += o.residual[i];
        }
        self.budget_reject += o.budget_reject;
        self.fp_budget.add(o.fp_budget);
        self.ht_fp.merge(&o.ht_fp);
        self.ht_found.merge(&o.ht_found);
    }

    /// Calibration error of the slice: Σ_class |Σ w·(y − m)| / Σ w over checked ads. None
    /// before anything was checked.
    pub fn calibration_error(&self) -> Option<f64> {
        let w: f64 = self.ht.iter().map(|h| h.w).sum();
        (w > 0.0).then(|| self.residual.iter().map(|r| r.abs()).sum::<f64>() / w)
    }

    /// Precision of auto-reject, difference estimator: T̂_reject / N_reject.
    pub fn precision(&self) -> Option<Estimate> {
        let n = self.n[0];
        if n > 0.0 {
            share(self.y[0].value / n, self.y[0].var() / (n * n), &self.ht[0])
        } else {
            None
        }
    }

    /// Recall of auto-reject, difference estimator: T̂_reject / T̂_all, its variance by
    /// linearisation: ((1 − r)²·V_reject + r²·(V_approve + V_other)) / T̂_all².
    pub fn recall(&self) -> Option<Estimate> {
        let all: f64 = self.y.iter().map(|t| t.value).sum();
        if all <= 0.0 {
            return None;
        }
        let r = (self.y[0].value / all).clamp(0.0, 1.0);
        let var = ((1.0 - r).powi(2) * self.y[0].var()
            + r * r * (self.y[1].var() + self.y[2].var()))
            / (all * all);
        share(r, var, &self.ht_found)
    }

    /// Audit-only precision: the Horvitz–Thompson ratio over checked auto-rejections.
    pub fn precision_audit(&self) -> Option<Estimate> {
        kpi::ht_ratio(&self.ht[0])
    }

    /// Audit-only recall: among checked ads humans found violating (weight w), the share the
    /// machine auto-rejected.
    pub fn recall_audit(&self) -> Option<Estimate> {
        kpi::ht_ratio(&self.ht_found)
    }

    /// Label-free precision: Σ_reject m / N_reject.
    pub fn precision_label_free(&self) -> Option<f64> {
        kpi::ratio(self.predicted[0], self.n[0])
    }

    /// Label-free recall: Σ_reject m / Σ_all m.
    pub fn recall_label_free(&self) -> Option<f64> {
        kpi::ratio(self.predicted[0], self.predicted.iter().sum())
    }

    /// Difference-estimator harmful approvals: a share of the auto-approvals.
    pub fn missed(&self) -> Option<(f64, Estimate)> {
        let n = self.n[1];
        if n > 0.0 {
            share(self.y[1].value / n, self.y[1].var() / (n * n), &self.ht[1]).map(|e| (n, e))
        } else {
            None
        }
    }

    /// Audit-only harmful approvals: the HT share among checked auto-approvals, with the
    /// continuity-corrected Wilson interval (what is counted is rare: see [`rare_share`]).
    pub fn missed_audit(&self) -> Option<(f64, Estimate)> {
        let n = self.n[1];
        (n > 0.0)
            .then(|| rare_share(&self.ht[1]).map(|e| (n, e)))
            .flatten()
    }

    /// Difference-estimator wrongly rejected budget: a share of the rejected budget.
    pub fn wrongly_rejected_budget(&self) -> Option<(f64, Estimate)> {
        let b = self.budget_reject;
        if b > 0.0 {
            share(
                self.fp_budget.value / b,
                self.fp_budget.var() / (b * b),
                &self.ht[0],
            )
            .map(|e| (b, e))
        } else {
            None
        }
    }

    /// Audit-only wrongly rejected budget: the HT share of checked rejected budget humans
    /// approved, with the continuity-corrected Wilson interval.
    pub fn wrongly_rejected_budget_audit(&self) -> Option<(f64, Estimate)> {
        let b = self.budget_reject;
        (b > 0.0)
            .then(|| rare_share(&self.ht_fp).map(|e| (b, e)))
            .flatten()
    }
}

/// An audit-only share of something rare (harmful approvals, wrongly rejected budget): the
/// Horvitz–Thompson ratio with the continuity-corrected Wilson interval on effective counts
/// (Newcombe's method 4). Plain Wilson puts its lower end too high when one or two rare
/// events happen to be in a sample of a hundred, which the coverage simulation showed.
pub fn rare_share(sums: &HtSums) -> Option<Estimate> {
    if sums.w <= 0.0 {
        return None;
    }
    let p = (sums.wy / sums.w).clamp(0.0, 1.0);
    let n = sums.effective_n();
    if n <= 0.0 {
        return None;
    }
    let z = Z95;
    let z2 = z * z;
    let denominator = 2.0 * (n + z2);
    let low = if p <= 0.0 {
        0.0
    } else {
        let root = (z2 - 2.0 - 1.0 / n + 4.0 * p * (n * (1.0 - p) + 1.0)).max(0.0);
        ((2.0 * n * p + z2 - 1.0 - z * root.sqrt()) / denominator).max(0.0)
    };
    let high = if p >= 1.0 {
        1.0
    } else {
        let root = (z2 + 2.0 - 1.0 / n + 4.0 * p * (n * (1.0 - p) - 1.0)).max(0.0);
        ((2.0 * n * p + z2 + 1.0 + z * root.sqrt()) / denominator).min(1.0)
    };
    Some(Estimate {
        value: p,
        low: low.min(p),
        high: high.max(p),
        n,
    })
}

/// Checked ads (Kish effective count) below which a model-assisted share is not trusted to
/// know its own variance: its `n` is then that count, so the figure reads "too few samples".
pub const MIN_CHECKED: f64 = 5.0;

/// Cap on the effective sample size reported for a share known almost exactly.
const MAX_EFFECTIVE_N: f64 = 1e9;

/// A difference-estimator share p̂ with its estimated variance, as an [`Estimate`]: the normal
/// interval p̂ ± z·√Var, clipped to [0, 1]; n is the effective sample size p(1 − p) / Var (the
/// audit sample that would give an audit-only figure this precise) but never below the
/// checked count (Kish), and the checked count alone while that is below [`MIN_CHECKED`]. None when nothing of the share's sample was checked.
fn share(p: f64, var: f64, checked: &HtSums) -> Option<Estimate> {
    let kish = checked.effective_n();
    if checked.w <= 0.0 || kish <= 0.0 {
        return None;
    }
    let value = p.clamp(0.0, 1.0);
    let var = var.max(0.0);
    let half = Z95 * var.sqrt();
    let n = if var > 0.0 {
        (value * (1.0 - value) / var).clamp(0.0, MAX_EFFECTIVE_N)
    } else {
        MAX_EFFECTIVE_N
    };
    Some(Estimate {
        value,
        low: (value - half).max(0.0),
        high: (value + half).min(1.0),
        n: if kish < MIN_CHECKED {
            kish
        } else {
            n.max(kish)
        },
    })
}

/// An amount in USD with its 95% interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// A share of a known total, as an amount.
    pub fn of_share(total: f64, e: &Estimate) -> Interval {
        Interval {
            value: total * e.value,
            low: total * e.low,
            high: total * e.high,
        }
    }

    /// An exactly known amount.
    pub fn exact(value: f64) -> Interval {
        Interval {
            value,
            low: value,
            high: value,
        }
    }

    /// The amount times a factor (≥ 0).
    pub fn scaled(self, k: f64) -> Interval {
        Interval {
            value: self.value * k,
            low: self.low * k,
            high: self.high * k,
        }
    }

    /// high − low.
    pub fn width(&self) -> f64 {
        self.high - self.low
    }

    /// Whether x lies in the interval (ends included, with rounding room).
    pub fn contains(&self, x: f64) -> bool {
        let eps = 1e-9 * x.abs().max(1.0);
        self.low - eps <= x && x <= self.high + eps
    }

    /// Sum of independent amounts: values add, each side's half-widths add in quadrature.
    pub fn sum(parts: &[Interval]) -> Interval {
        let value: f64 = parts.iter().map(|p| p.value).sum();
        let below: f64 = parts.iter().map(|p| (p.value - p.low).powi(2)).sum();
        let above: f64 = parts.iter().map(|p| (p.high - p.value).powi(2)).sum();
        Interval {
            value,
            low: value - below.sqrt(),
            high: value + above.sqrt(),
        }
    }
}

/// The figures one estimator gives for a slice.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub precision: Option<Estimate>,
    pub recall: Option<Estimate>,
    pub false_positive_cost_usd: Option<Interval>,
    pub false_negative_cost_usd: Option<Interval>,
    pub cost_per_1k_ads: Option<Interval>,
}

/// What the calibrated scores alone say, without a single human verdict.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelFree {
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

/// Model-assisted estimates of a slice: the figures shown first, the audit-only ones beside
/// them, the label-free ones and the tripwire.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimates {
    /// `difference`, or `audit_only` when the slice fell back (see `fallback`).
    pub method: String,
    /// Why the slice fell back to audit-only figures.
    pub fallback: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
    pub audit_only: Figures,
    pub label_free: LabelFree,
    /// The label-free precision or recall lies outside the model-assisted interval: the
    /// model's scores no longer describe what humans find (a new wave it does not know).
    pub tripwire: bool,
    /// Σ_class |Σ w·(y − m)| / Σ w over the slice's checked ads.
    pub calibration_error: Option<f64>,
}

/// The cost components known exactly (no sampling): reviewer time and inference, and the
/// number of ads decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KnownCost {
    pub review_usd: f64,
    pub inference_usd: f64,
    pub decided: f64,
}

/// The error costs and cost per 1,000 ads from shares of known totals. `fp`: share of the
/// rejected budget humans approved; `missed[c]`: share of auto-approvals humans found
/// violating category c. A component with nothing to estimate (no rejections) is 0; one
/// that cannot be estimated makes the costs unknown.
fn costs(
    fp: Option<Option<(f64, Estimate)>>,
    missed: &[Option<Option<(f64, Estimate)>>; CATEGORY_COUNT],
    known: &KnownCost,
    rates: &CostRates,
) -> (Option<Interval>, Option<Interval>, Option<Interval>) {
    let amount = |part: &Option<Option<(f64, Estimate)>>, per: f64| match part {
        None => Some(Interval::exact(0.0)),
        Some(Some((total, e))) => Some(Interval::of_share(*total, e).scaled(per)),
        Some(None) => None,
    };
    let fp = amount(&fp, rates.days_lost_per_false_reject);
    let fn_parts: Option<Vec<Interval>> = missed
        .iter()
        .zip(&rates.risk_weight_usd)
        .map(|(m, usd)| amount(m, *usd))
        .collect();
    let fn_cost = fn_parts.map(|p| Interval::sum(&p));
    let per_1k = match (fp, fn_cost) {
        (Some(fp), Some(fn_cost)) if known.decided > 0.0 => Some(
            Interval::sum(&[
                Interval::exact(known.review_usd + known.inference_usd),
                fp,
                fn_cost,
            ])
            .scaled(1000.0 / known.decided),
        ),
        _ => None,
    };
    (fp, fn_cost, per_1k)
}

/// Whether there is anything to estimate in a class (ads in it), and if so the estimate.
fn part<T>(n: f64, estimate: Option<T>) -> Option<Option<T>> {
    (n > 0.0).then_some(estimate)
}

/// Precision and recall of a slice (the ad, or one category) by both estimators, the
/// label-free figures and the tripwire. `calibrated`: whether every model version behind the
/// slice has a calibration map (if not, the figures shown are audit-only).
pub fn shares(t: &Totals, calibrated: bool) -> Estimates {
    let difference = Figures {
        precision: t.precision(),
        recall: t.recall(),
        ..Figures::default()
    };
    let audit_only = Figures {
        precision: t.precision_audit(),
        recall: t.recall_audit(),
        ..Figures::default()
    };
    let label_free = LabelFree {
        precision: t.precision_label_free(),
        recall: t.recall_label_free(),
    };
    let calibration_error = t.calibration_error();
    let checked: f64 = t.ht.iter().map(|h| h.effective_n()).sum();
    let fallback = if !calibrated {
        Some("no calibration map yet for the model version".to_string())
    } else {
        calibration_error
            .filter(|e| *e > CALIBRATION_ERROR_BOUND && checked >= kpi::MIN_EFFECTIVE_SAMPLES)
            .map(|e| {
                format!("calibration error {e:.2} is above the bound {CALIBRATION_ERROR_BOUND:.2}")
            })
    };
    let tripwire = calibrated && tripped(&difference, &label_free);
    Estimates {
        method: if fallback.is_some() {
            "audit_only"
        } else {
            "difference"
        }
        .to_string(),
        figures: if fallback.is_some() {
            audit_only.clone()
        } else {
            difference
        },
        fallback,
        audit_only,
        label_free,
        tripwire,
        calibration_error,
    }
}

/// The error costs and cost per 1,000 ads by each estimator: (difference, audit-only).
pub fn cost_figures(
    ad: &Totals,
    categories: &[Totals; CATEGORY_COUNT],
    known: &KnownCost,
    rates: &CostRates,
) -> (Figures, Figures) {
    let (fp, fn_cost, per_1k) = costs(
        part(ad.n[0], ad.wrongly_rejected_budget()),
        &std::array::from_fn(|c| part(categories[c].n[1], categories[c].missed())),
        known,
        rates,
    );
    let (afp, afn, aper_1k) = costs(
        part(ad.n[0], ad.wrongly_rejected_budget_audit()),
        &std::array::from_fn(|c| part(categories[c].n[1], categories[c].missed_audit())),
        known,
        rates,
    );
    (
        Figures {
            precision: ad.precision(),
            recall: ad.recall(),
            false_positive_cost_usd: fp,
            false_negative_cost_usd: fn_cost,
            cost_per_1k_ads: per_1k,
        },
        Figures {
            precision: ad.precision_audit(),
            recall: ad.recall_audit(),
            false_positive_cost_usd: afp,
            false_negative_cost_usd: afn,
            cost_per_1k_ads: aper_1k,
        },
    )
}

/// The estimates of a slice with its error costs: the ad-level totals give precision,
/// recall and the wrongly rejected budget; the per-category totals give the harm of
/// approved ads, weighted per category.
pub fn estimates(
    ad: &Totals,
    categories: &[Totals; CATEGORY_COUNT],
    known: &KnownCost,
    rates: &CostRates,
    calibrated: bool,
) -> Estimates {
    let mut e = shares(ad, calibrated);
    let (difference, audit_only) = cost_figures(ad, categories, known, rates);
    e.audit_only = audit_only;
    e.figures = if e.fallback.is_some() {
        e.audit_only.clone()
    } else {
        difference
    };
    e
}

/// How far (absolute) a label-free figure must also be from the model-assisted one for the
/// tripwire: calibration holds per score bin, not per class of decision, so on large samples
/// the two differ by a few points without anything new happening; a wave the model does not
/// know moves them apart by far more.
pub const TRIPWIRE_MIN_GAP: f64 = 0.10;

/// Whether the label-free precision or recall lies outside the model-assisted interval of a
/// figure that rests on enough samples, and at least [`TRIPWIRE_MIN_GAP`] from it.
pub fn tripped(figures: &Figures, label_free: &LabelFree) -> bool {
    let outside = |e: &Option<Estimate>, lf: Option<f64>| match (e, lf) {
        (Some(e), Some(lf)) => {
            e.enough() && (lf < e.low || lf > e.high) && (lf - e.value).abs() >= TRIPWIRE_MIN_GAP
        }
        _ => false,
    };
    outside(&figures.precision, label_free.precision) || outside(&figures.recall, label_free.recall)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bins with everything in one bin.
    fn one_bin(bin: usize, s: BinSums) -> [BinSums; PSI_BINS] {
        let mut bins = [BinSums::default(); PSI_BINS];
        bins[bin] = s;
        bins
    }

    fn sample(n: usize, budget: f64, w: f64, hits: usize, checked: usize) -> BinSums {
        let mut s = BinSums::default();
        for _ in 0..n {
            s.add_population(budget, 1.0);
        }
        for i in 0..checked {
            s.add_checked(w, i < hits, budget, 1.0);
        }
        s
    }

    fn flat(m: f64) -> Calibration {
        Calibration {
            bins: [m; PSI_BINS],
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn the_difference_estimator_by_hand() {
        // 100 auto-rejections predicted 0.9 each; 5 audited at π = 0.05 (w = 20, v = 380),
        // 4 confirmed: T = 100·0.9 + (4·20 − 0.9·5·20) = 80;
        // Var = Σv(y − m)² = 4·380·0.01 + 380·0.81 = 323.
        let mut t = Totals::default();
        t.add_class(
            Class::Reject,
            &one_bin(18, sample(100, 10.0, 20.0, 4, 5)),
            &flat(0.9),
        );
        assert!(close(t.y[0].value, 80.0), "{:?}", t.y[0]);
        assert!(close(t.y[0].var_observed, 323.0), "{:?}", t.y[0]);
        // Calibration expects Σv·m(1 − m) = 5·380·0.09 = 171: the observed one is used.
        assert!(close(t.y[0].var_expected, 171.0), "{:?}", t.y[0]);
        assert!(close(t.y[0].var(), 323.0));
        let p = t.precision().unwrap();
        assert!(close(p.value, 0.8));
        // Effective n = p(1 − p) / Var(p̂) = 0.16 / 0.0323 ≈ 4.95, floored at the 5 checked.
        assert!(close(p.n, 5.0));
        // Normal interval 0.8 ± 1.96·√0.0323, clipped at 1.
        assert!(
            close(p.value - p.low, Z95 * 0.0323f64.sqrt()) && p.high == 1.0,
            "{p:?}"
        );
        assert!(p.low < 0.8 && p.high > 0.8);
        // Label-free: 0.9; audit-only: 4/5.
        assert!(close(t.precision_label_free().unwrap(), 0.9));
        assert!(close(t.precision_audit().unwrap().value, 0.8));
        // Wrongly rejected budget (budget 10 each): Σ(1 − m)·b + Σw·b·(m − y)
        // = 100·0.1·10 + (5·20·10·0.9 − 4·20·10) = 100 + 100 = 200;
        // Var = Σv·b²·(y − m)² = 100·323 = 32,300.
        assert!(close(t.fp_budget.value, 200.0), "{:?}", t.fp_budget);
        assert!(close(t.fp_budget.var(), 32_300.0), "{:?}", t.fp_budget);
    }

    #[test]
    fn with_nothing_predicted_it_is_horvitz_thompson() {
        let mut t = Totals::default();
        t.add_class(
            Class::Reject,
            &one_bin(18, sample(100, 0.0, 20.0, 4, 5)),
            &flat(0.0),
        );
        assert!(close(t.y[0].value, 80.0));
        assert!(close(t.y[0].var(), 4.0 * 380.0));
    }

    #[test]
    fn recall_by_linearisation() {
        let mut t = Totals::default();
        t.add_class(
            Class::Reject,
            &one_bin(18, sample(100, 0.0, 20.0, 4, 5)),
            &flat(0.9),
        );
        // 1000 approvals predicted 0.05; 20 audited at π = 0.02 (w = 50, v = 2450), 2 found:
        // T = 50 + (100 − 50) = 100; Var = 2·2450·0.9 + 0.0025·20·2450 = 4532.5.
        t.add_class(
            Class::Approve,
            &one_bin(1, sample(1000, 0.0, 50.0, 2, 20)),
            &flat(0.05),
        );
        assert!(close(t.y[1].value, 100.0));
        assert!(close(t.y[1].var_observed, 4532.5));
        // Expected: 20·2450·0.05·0.95 = 2327.5, below the observed.
        assert!(close(t.y[1].var(), 4532.5));
        let r = t.recall().unwrap();
        assert!(close(r.value, 80.0 / 180.0));
        let rr: f64 = 80.0 / 180.0;
        let var = ((1.0 - rr) * (1.0 - rr) * 323.0 + rr * rr * 4532.5) / (180.0 * 180.0);
        assert!(close(r.high - r.value, Z95 * var.sqrt()), "{r:?}");
        // Label-free recall: 90 / (90 + 50).
        assert!(close(t.recall_label_free().unwrap(), 90.0 / 140.0));
        // Audit-only recall: found w = 80 (rejections) + 100 (approvals), hits 80.
        assert!(close(t.recall_audit().unwrap().value, 80.0 / 180.0));
    }

    #[test]
    fn ads_routed_to_humans_are_known_exactly() {
        // π = 1: w = 1, v = 0, no variance; the total is what the humans found.
        let mut t = Totals::default();
        t.add_class(
            Class::Reject,
            &one_bin(10, sample(10, 0.0, 1.0, 7, 10)),
            &flat(0.5),
        );
        assert!(close(t.y[0].value, 7.0));
        assert!(close(t.y[0].var(), 0.0));
        let p = t.precision().unwrap();
        assert_eq!((p.low, p.value, p.high), (0.7, 0.7, 0.7));
    }

    #[test]
    fn a_rare_count_keeps_its_expected_variance() {
        // 1000 approvals predicted 0.01; 20 audited, none harmful: the residuals alone say
        // Σv·m² = 20·2450·0.0001 = 4.9, calibration expects Σv·m(1 − m) = 485.1.
        let mut t = Totals::default();
        t.add_class(
            Class::Approve,
            &one_bin(0, sample(1000, 0.0, 50.0, 0, 20)),
            &flat(0.01),
        );
        assert!(close(t.y[1].var_observed, 4.9));
        assert!(close(t.y[1].var(), 485.1));
        let (n, missed) = t.missed().unwrap();
        assert!(close(n, 1000.0));
        // 10 predicted − 10 corrected away = 0, yet the interval reaches past 40 ads.
        assert!(
            close(missed.value, 0.0) && missed.high * n > 40.0,
            "{missed:?}"
        );
    }

    #[test]
    fn nothing_checked_gives_no_figure() {
        let mut t = Totals::default();
        t.add_class(
            Class::Reject,
            &one_bin(18, sample(100, 0.0, 20.0, 0, 0)),
            &flat(0.9),
        );
        assert_eq!(t.precision(), None);
        assert_eq!(t.precision_audit(), None);
        assert!(close(t.precision_label_free().unwrap(), 0.9));
    }

    #[test]
    fn isotonic_fit_pools_violators_and_follows_the_data() {
        let mut w = [0.0; PSI_BINS];
        let mut wy = [0.0; PSI_BINS];
        // Bins 5 and 6 disagree with the order (60% then 40%): pooled to 50%.
        (w[5], wy[5]) = (10000.0, 6000.0);
        (w[6], wy[6]) = (10000.0, 4000.0);
        (w[18], wy[18]) = (10000.0, 9500.0);
        let c = Calibration::fit(&w, &wy);
        assert!(c.bins.windows(2).all(|p| p[0] <= p[1]), "{:?}", c.bins);
        assert!((c.bins[5] - 0.5).abs() < 0.01 && (c.bins[6] - 0.5).abs() < 0.01);
        assert!((c.bins[18] - 0.95).abs() < 0.01);
        // Empty bins follow the raw score through the prior, within the monotone order.
        assert!(c.bins[0] < 0.1 && c.bins[19] >= c.bins[18]);
        // Pooling costs |6000 − 5000| + |4000 − 5000| of 30000: 0.067; the raw scores 0.14.
        assert!(c.error(&w, &wy).unwrap() < 0.07);
        assert!(Calibration::identity().error(&w, &wy).unwrap() > 0.1);
    }

    #[test]
    fn costs_add_in_quadrature_and_scale() {
        let a = Interval {
            value: 10.0,
            low: 7.0,
            high: 14.0,
        };
        let b = Interval {
            value: 5.0,
            low: 1.0,
            high: 8.0,
        };
        let s = Interval::sum(&[a, b, Interval::exact(2.0)]);
        assert!(close(s.value, 17.0) && close(s.low, 12.0) && close(s.high, 22.0));
        assert!(s.contains(17.0) && !s.contains(22.5));
        assert!(close(s.scaled(2.0).width(), 20.0));
    }

    #[test]
    fn a_badly_calibrated_slice_falls_back_and_says_why() {
        // Predicted 0.9, humans confirm 2 of 40 checked routed ads (π = 1).
        let mut t = Totals::default();
        t.add_class(
            Class::Reject,
            &one_bin(18, sample(40, 0.0, 1.0, 2, 40)),
            &flat(0.9),
        );
        let e = shares(&t, true);
        assert_eq!(e.method, "audit_only");
        assert!(e.fallback.as_deref().unwrap().contains("calibration error"));
        assert_eq!(e.figures, e.audit_only);
        let e = shares(&t, false);
        assert_eq!(e.method, "audit_only");
        assert!(!e.tripwire);
    }

    #[test]
    fn the_tripwire_fires_when_scores_alone_disagree() {
        // Well calibrated overall (0.5 predicted, 50% confirmed in bin 10), but in bin 18
        // the model says 0.9 where humans confirm 50%: label-free 0.9, measured ≈ 0.5.
        let mut t = Totals::default();
        let mut cal = flat(0.5);
        cal.bins[18] = 0.9;
        t.add_class(
            Class::Reject,
            &one_bin(18, sample(2000, 0.0, 20.0, 50, 100)),
            &cal,
        );
        t.add_class(
            Class::Other,
            &one_bin(10, sample(5000, 0.0, 1.0, 2500, 5000)),
            &cal,
        );
        let e = shares(&t, true);
        let p = e.figures.precision.unwrap();
        assert!(p.enough() && p.high < 0.9, "{p:?}");
        assert!(e.tripwire);
    }
}
