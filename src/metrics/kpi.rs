//! The dashboard's metrics as pure functions over plain numbers: interval estimates from
//! Horvitz–Thompson samples, score drift, duration quantiles from bucket counts, calibration
//! and the cost of risk control.
//!
//! Definitions follow "Metric definitions" in `DESIGN.md`. Nothing here reads a clock, a
//! database or JSON, so the same code runs on the server, in reports and in the browser.

use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use serde::{Deserialize, Serialize};

/// Number of policy categories: the length of every per-category array here.
pub const CATEGORY_COUNT: usize = Category::ALL.len();

/// The two-sided 95% normal quantile, z such that P(|Z| ≤ z) = 0.95.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Effective samples below this: a cell says "too few samples" instead of a number.
pub const MIN_EFFECTIVE_SAMPLES: f64 = 20.0;

/// A proportion with its 95% interval and the sample it rests on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The point estimate, in [0, 1].
    pub value: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
    /// Kish effective sample size.
    pub n: f64,
}

impl Estimate {
    /// Whether the estimate rests on at least [`MIN_EFFECTIVE_SAMPLES`] effective samples.
    pub fn enough(&self) -> bool {
        self.n >= MIN_EFFECTIVE_SAMPLES
    }
}

/// Wilson score interval for `successes` out of `n` (both may be fractional: effective
/// counts), with p = successes / n:
/// (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n), clamped to [0, 1].
/// None when n ≤ 0 (or NaN).
pub fn wilson(successes: f64, n: f64, z: f64) -> Option<(f64, f64)> {
    if n.is_nan() || n <= 0.0 {
        return None;
    }
    let p = (successes / n).clamp(0.0, 1.0);
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = p + z2 / (2.0 * n);
    let margin = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let low = ((centre - margin) / denominator).clamp(0.0, 1.0);
    let high = ((centre + margin) / denominator).clamp(0.0, 1.0);
    Some((low, high))
}

/// Weighted sums of a Horvitz–Thompson sample: Σw, Σw², Σw·y (y in {0, 1}), where an item's
/// weight is 1 / its sampling probability (items routed to review for uncertainty: 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HtSums {
    /// Σw.
    pub w: f64,
    /// Σw².
    pub w2: f64,
    /// Σw·y: the weight of the items that are hits.
    pub wy: f64,
}

impl HtSums {
    /// Adds one sampled item with its weight and whether it is a hit.
    pub fn add(&mut self, weight: f64, hit: bool) {
        self.w += weight;
        self.w2 += weight * weight;
        if hit {
            self.wy += weight;
        }
    }

    /// Adds another sample's sums (rolling slices or days up).
    pub fn merge(&mut self, other: &HtSums) {
        self.w += other.w;
        self.w2 += other.w2;
        self.wy += other.wy;
    }

    /// Kish effective sample size n_eff = (Σw)² / Σw² (0 when empty).
    pub fn effective_n(&self) -> f64 {
        if self.w2 > 0.0 {
            self.w * self.w / self.w2
        } else {
            0.0
        }
    }
}

/// The Horvitz–Thompson ratio estimate p = Σw·y / Σw with a 95% Wilson interval computed on
/// effective counts (successes = p·n_eff, n = n_eff). None when Σw = 0.
pub fn ht_ratio(sums: &HtSums) -> Option<Estimate> {
    if sums.w <= 0.0 {
        return None;
    }
    // Sums of float weights can put Σw·y a hair above Σw, and Wilson's bound at p = 1 can
    // come out a hair below 1: keep the value a share and inside its own interval.
    let value = (sums.wy / sums.w).clamp(0.0, 1.0);
    let n = sums.effective_n();
    let (low, high) = wilson(value * n, n, Z95)?;
    Some(Estimate {
        value,
        low: low.min(value),
        high: high.max(value),
        n,
    })
}

#[cfg(test)]
mod interval_edges {
    use super::*;

    #[test]
    fn a_perfect_estimate_lies_inside_its_interval() {
        for (w, w2, wy) in [
            (50.0, 50.0, 50.0),
            (0.1 + 0.2, 0.05, 0.3),
            (1013.7, 25000.3, 1013.7000000001),
        ] {
            let e = ht_ratio(&HtSums { w, w2, wy }).unwrap();
            assert!(
                e.low <= e.value && e.value <= e.high && e.value <= 1.0,
                "{e:?}"
            );
        }
    }
}

/// F1 score, the harmonic mean 2·P·R / (P + R). None when precision and recall are both 0.
pub fn f1(precision: f64, recall: f64) -> Option<f64> {
    let sum = precision + recall;
    (sum != 0.0).then(|| 2.0 * precision * recall / sum)
}

/// Share a / b (automation rate, override rate, …). None when b = 0.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0).then(|| a / b)
}

/// Number of equal-width score bins on [0, 1] for drift and calibration.
pub const PSI_BINS: usize = 20;

/// Share put in place of an empty bin's, so that PSI's logarithm stays finite.
pub const PSI_FLOOR: f64 = 0.0001;

/// Bin of a score among [`PSI_BINS`] equal-width bins on [0, 1]: ⌊score · 20⌋. A score of
/// 1.0 (or above) goes to the last bin; NaN and negative scores go to bin 0.
pub fn score_bin(score: f64) -> usize {
    if score.is_nan() || score <= 0.0 {
        return 0;
    }
    ((score * PSI_BINS as f64) as usize).min(PSI_BINS - 1)
}

/// Population stability index of current counts q against reference counts p (counts, not
/// shares; each side is normalised to shares inside, and an empty bin's share is replaced
/// by [`PSI_FLOOR`]): PSI = Σ (q − p) · ln(q / p).
/// None if either total is 0 or the two have different lengths.
pub fn psi(reference: &[f64], current: &[f64]) -> Option<f64> {
    let reference = shares(reference)?;
    let current = shares(current)?;
    if reference.len() != current.len() {
        return None;
    }
    let floored = |share: f64| if share > 0.0 { share } else { PSI_FLOOR };
    Some(
        reference
            .iter()
            .zip(&current)
            .map(|(&p, &q)| {
                let (p, q) = (floored(p), floored(q));
                (q - p) * (q / p).ln()
            })
            .sum(),
    )
}

/// How far a score distribution has moved, by its PSI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftBand {
    /// PSI < 0.1.
    Stable,
    /// 0.1 ≤ PSI < 0.2.
    Watch,
    /// PSI ≥ 0.2.
    Drifted,
}

impl DriftBand {
    /// The band a PSI falls in: < 0.1 stable, 0.1–0.2 watch, ≥ 0.2 drifted.
    pub fn of(psi: f64) -> DriftBand {
        if psi < 0.1 {
            DriftBand::Stable
        } else if psi < 0.2 {
            DriftBand::Watch
        } else {
            DriftBand::Drifted
        }
    }

    /// The name shown and serialised (`watch`).
    pub fn as_str(self) -> &'static str {
        match self {
            DriftBand::Stable => "stable",
            DriftBand::Watch => "watch",
            DriftBand::Drifted => "drifted",
        }
    }
}

/// Jensen–Shannon distance between two count vectors of equal length (categorical mixes
/// such as language or category): with shares p, q and m = (p + q) / 2,
/// JSD = ½ Σ p·log₂(p/m) + ½ Σ q·log₂(q/m), and the distance is √JSD, in [0, 1].
/// Zero entries contribute 0. None if either total is 0 or the lengths differ.
pub fn js_distance(p: &[f64], q: &[f64]) -> Option<f64> {
    let p = shares(p)?;
    let q = shares(q)?;
    if p.len() != q.len() {
        return None;
    }
    let divergence: f64 = p
        .iter()
        .zip(&q)
        .map(|(&p, &q)| {
            let m = (p + q) / 2.0;
            let term = |x: f64| if x > 0.0 { x * (x / m).log2() } else { 0.0 };
            (term(p) + term(q)) / 2.0
        })
        .sum();
    // Rounding can leave the divergence a hair outside [0, 1]; the square root must not NaN.
    Some(divergence.clamp(0.0, 1.0).sqrt())
}

/// Counts as shares of their total; None when the total is not positive.
fn shares(counts: &[f64]) -> Option<Vec<f64>> {
    let total: f64 = counts.iter().sum();
    (total > 0.0).then(|| counts.iter().map(|c| c / total).collect())
}

/// Number of duration buckets, the overflow bucket included. Bucket 0 is [0, 1 s); bucket
/// b ≥ 1 is [1000·1.1^(b−1), 1000·1.1^b) ms; the last, 164, is everything from
/// 1000·1.1^163 ms ≈ 64.6 days up, the first edge past 60 days (1.1^162 s ≈ 58.8 days).
pub const DURATION_BUCKETS: usize = 165;

/// Growth factor from one bucket edge to the next: durations are kept to within 10%.
const BUCKET_GROWTH: f64 = 1.1;

/// Upper edge (ms) of every finite bucket, round(1000 · 1.1^b). Membership is decided on
/// these whole-millisecond edges so a bucket and its reported edge never disagree.
const UPPER_EDGES_MS: [i64; DURATION_BUCKETS - 1] = upper_edges_ms();

const fn upper_edges_ms() -> [i64; DURATION_BUCKETS - 1] {
    let mut edges = [0; DURATION_BUCKETS - 1];
    let mut edge = 1000.0;
    let mut b = 0;
    while b < edges.len() {
        edges[b] = f64::round(edge) as i64;
        edge *= BUCKET_GROWTH;
        b += 1;
    }
    edges
}

/// The bucket a duration in milliseconds falls in (negative durations: bucket 0).
pub fn duration_bucket(ms: i64) -> usize {
    UPPER_EDGES_MS.partition_point(|&edge| edge <= ms)
}

/// Upper edge (ms) of a bucket, round(1000 · 1.1^b). The overflow bucket (and any index past
/// it) has no upper edge and reports its lower edge.
pub fn bucket_upper_ms(bucket: usize) -> i64 {
    UPPER_EDGES_MS[bucket.min(DURATION_BUCKETS - 2)]
}

/// Nearest-rank quantile read from bucket counts: the upper edge of the first bucket whose
/// cumulative count reaches ⌈q·N⌉ (q in (0, 1]), so it bounds the exact
/// [`nearest_rank`] from above by less than 10%. Input: (bucket, count) pairs in any order,
/// repeats added up, counts may be 0; indices past the overflow bucket count as overflow and
/// negative counts as 0. None when N = 0.
pub fn quantile_from_buckets(counts: &[(usize, i64)], q: f64) -> Option<i64> {
    let mut per_bucket = [0_i64; DURATION_BUCKETS];
    for &(bucket, count) in counts {
        per_bucket[bucket.min(DURATION_BUCKETS - 1)] += count.max(0);
    }
    let total: i64 = per_bucket.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = rank(q, total as usize) as i64;
    let mut cumulative = 0;
    per_bucket
        .iter()
        .position(|&count| {
            cumulative += count;
            cumulative >= rank
        })
        .map(bucket_upper_ms)
}

/// Nearest-rank quantile of exact values (for tests and direct recomputation): of input
/// sorted ascending, the ⌈q·N⌉-th value. None when empty.
pub fn nearest_rank(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[rank(q, sorted.len()) - 1])
}

/// The 1-based nearest rank ⌈q·N⌉, within 1..=N. A hair comes off q·N first because
/// products such as 0.07 × 100 = 7.000000000000001 would otherwise round up a whole rank.
fn rank(q: f64, n: usize) -> usize {
    let rank = (q * n as f64 - 1e-9).ceil();
    // `as` saturates (NaN to 0), and the clamp brings that back into range.
    (rank as usize).clamp(1, n)
}

/// One reliability bin (of [`PSI_BINS`], binned by [`score_bin`]): Horvitz–Thompson sums
/// over the human-checked items whose score falls in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Σw.
    pub w: f64,
    /// Σw·y, y = 1 when a human confirmed the violation.
    pub wy: f64,
    /// Σw·score.
    pub ws: f64,
}

/// Expected calibration error: Σ_b (w_b / W) · |wy_b/w_b − ws_b/w_b| over bins with w_b > 0,
/// the weighted gap between observed violation rate and mean score. Each term reduces to
/// |wy_b − ws_b| / W, which is how it is computed. None when W = 0.
pub fn expected_calibration_error(bins: &[CalibrationBin]) -> Option<f64> {
    let total: f64 = bins.iter().map(|bin| bin.w).sum();
    if total <= 0.0 {
        return None;
    }
    let gap: f64 = bins
        .iter()
        .filter(|bin| bin.w > 0.0)
        .map(|bin| (bin.wy - bin.ws).abs())
        .sum();
    Some(gap / total)
}

/// Rates behind the cost of risk control: editable settings. Missing fields deserialise to
/// their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CostRates {
    /// USD per CPU-hour of inference. Default 0.05.
    pub cpu_hour_usd: f64,
    /// Days of spend an advertiser loses when an ad is wrongly rejected. Default 3.
    pub days_lost_per_false_reject: f64,
    /// USD of harm per harmful ad approved, per category in [`Category::ALL`] order.
    /// Defaults: weapons 100, drugs 100, tobacco 30, alcohol 20, gambling 60, adult 50,
    /// scam 160, health_claims 80, counterfeit 60, political 40.
    pub risk_weight_usd: [f64; CATEGORY_COUNT],
}

impl Default for CostRates {
    fn default() -> Self {
        CostRates {
            cpu_hour_usd: 0.05,
            days_lost_per_false_reject: 3.0,
            risk_weight_usd: Category::ALL.map(|category| match category {
                Category::Weapons => 100.0,
                Category::Drugs => 100.0,
                Category::Tobacco => 30.0,
                Category::Alcohol => 20.0,
                Category::Gambling => 60.0,
                Category::Adult => 50.0,
                Category::Scam => 160.0,
                Category::HealthClaims => 80.0,
                Category::Counterfeit => 60.0,
                Category::Political => 40.0,
            }),
        }
    }
}

/// Default reviewer hourly rate (USD/h) for a market code, any case: US 38, GB 32, DE 34,
/// FR 31, BR 12, ID 8, JP 30, KR 26, AE 22, SG 27; an unknown code gets 25.
pub fn default_hourly_rate(market: &str) -> f64 {
    match market.parse::<Market>() {
        Ok(Market::Us) => 38.0,
        Ok(Market::Gb) => 32.0,
        Ok(Market::De) => 34.0,
        Ok(Market::Fr) => 31.0,
        Ok(Market::Br) => 12.0,
        Ok(Market::Id) => 8.0,
        Ok(Market::Jp) => 30.0,
        Ok(Market::Kr) => 26.0,
        Ok(Market::Ae) => 22.0,
        Ok(Market::Sg) => 27.0,
        Err(_) => 25.0,
    }
}

/// What the cost is computed from, for one slice and window (all sums over the slice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostInputs {
    /// Ads decided.
    pub decided: f64,
    /// Σ review handling time, ms.
    pub handling_ms: f64,
    /// Σ measured inference CPU time, ms.
    pub cpu_ms: f64,
    /// Horvitz–Thompson Σ w·daily_budget_usd over auto-rejected ads that humans approved.
    pub fp_budget_w: f64,
    /// Horvitz–Thompson Σ w over auto-approved ads that humans rejected, per violated
    /// category in [`Category::ALL`] order (an ad violating two categories counts in both).
    pub fn_w: [f64; CATEGORY_COUNT],
}

impl CostInputs {
    /// Adds another slice's or window's sums.
    pub fn merge(&mut self, other: &CostInputs) {
        self.decided += other.decided;
        self.handling_ms += other.handling_ms;
        self.cpu_ms += other.cpu_ms;
        self.fp_budget_w += other.fp_budget_w;
        for (mine, theirs) in self.fn_w.iter_mut().zip(other.fn_w) {
            *mine += theirs;
        }
    }
}

/// The cost of risk control in USD, by component.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Sum of the four components.
    pub total: f64,
    /// Reviewer time.
    pub review: f64,
    /// Model inference CPU time.
    pub inference: f64,
    /// Advertiser spend lost to wrongly rejected ads.
    pub false_positive: f64,
    /// Harm from harmful ads approved.
    pub false_negative: f64,
    /// Total per 1,000 ads decided; None when none were decided.
    pub per_1k_ads: Option<f64>,
}

/// Milliseconds in an hour.
const MS_PER_HOUR: f64 = 3.6e6;

/// The cost of risk control: review = handling_ms / 3.6e6 × hourly_rate;
/// inference = cpu_ms / 3.6e6 × cpu_hour_usd;
/// false_positive = fp_budget_w × days_lost_per_false_reject;
/// false_negative = Σ_c fn_w[c] × risk_weight_usd[c];
/// per_1k_ads = total / decided × 1000 (None when decided = 0).
pub fn cost(inputs: &CostInputs, hourly_rate: f64, rates: &CostRates) -> Cost {
    let review = inputs.handling_ms / MS_PER_HOUR * hourly_rate;
    let inference = inputs.cpu_ms / MS_PER_HOUR * rates.cpu_hour_usd;
    let false_positive = inputs.fp_budget_w * rates.days_lost_per_false_reject;
    let false_negative = inputs
        .fn_w
        .iter()
        .zip(&rates.risk_weight_usd)
        .map(|(w, usd)| w * usd)
        .sum();
    let total = review + inference + false_positive + false_negative;
    Cost {
        total,
        review,
        inference,
        false_positive,
        false_negative,
        per_1k_ads: ratio(total, inputs.decided).map(|per_ad| per_ad * 1000.0),
    }
}

/// Change against the previous window, (current − previous) / previous. None when the
/// previous value is 0.
pub fn relative_change(current: f64, previous: f64) -> Option<f64> {
    (previous != 0.0).then(|| (current - previous) / previous)
}

/// The median of a list of durations.
pub fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2
    })
}

/// Cohen's kappa for two raters' binary verdicts: (first, second) pairs. `None` without
/// pairs or when chance agreement is already total.
pub fn cohens_kappa(pairs: &[(bool, bool)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let agree = pairs.iter().filter(|(a, b)| a == b).count() as f64 / n;
    let a_yes = pairs.iter().filter(|(a, _)| *a).count() as f64 / n;
    let b_yes = pairs.iter().filter(|(_, b)| *b).count() as f64 / n;
    let chance = a_yes * b_yes + (1.0 - a_yes) * (1.0 - b_yes);
    if (1.0 - chance).abs() < 1e-12 {
        return None;
    }
    Some((agree - chance) / (1.0 - chance))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts two floats agree to 1e-9 (hand-worked values are given to more digits).
    #[track_caller]
    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-9,
            "{actual} is not {expected}"
        );
    }

    #[test]
    fn wilson_eight_of_ten_matches_the_formula_by_hand() {
        // p = 0.8, n = 10, z = 1.96: z² = 3.8416, z²/n = 0.38416.
        // denominator = 1.38416; centre = 0.8 + 3.8416/20 = 0.99208;
        // margin = 1.96·√(0.8·0.2/10 + 3.8416/400) = 1.96·√0.025604 = 0.3136244990430435.
        // low = (0.99208 − 0.31362450) / 1.38416 = 0.49015684672072346,
        // high = (0.99208 + 0.31362450) / 1.38416 = 0.9433190520193067.
        let (low, high) = wilson(8.0, 10.0, 1.96).unwrap();
        close(low, 0.490_156_846_720_723_5);
        close(high, 0.943_319_052_019_306_7);
    }

    #[test]
    fn wilson_stays_in_the_unit_interval_and_needs_samples() {
        // 0 of 10 at Z95: centre = z²/20 = 0.19207, margin = z·√(z²/400) = z²/20, so the
        // low end is exactly 0 and high = 2·(z²/20) / (1 + z²/10) = 0.2775327998628892.
        let (low, high) = wilson(0.0, 10.0, Z95).unwrap();
        close(low, 0.0);
        close(high, 0.277_532_799_862_889_2);
        let (low, high) = wilson(10.0, 10.0, Z95).unwrap();
        close(high, 1.0);
        assert!(low > 0.7 && low < 1.0);
        assert_eq!(wilson(0.0, 0.0, Z95), None);
        assert_eq!(wilson(1.0, -2.0, Z95), None);
        assert_eq!(wilson(1.0, f64::NAN, Z95), None);
    }

    #[test]
    fn ht_ratio_with_mixed_weights() {
        // Three audited auto-approvals sampled at p = 0.02 (w = 50 each), one a violation,
        // and two routed items (w = 1) that are both violations.
        let mut sums = HtSums::default();
        sums.add(50.0, true);
        sums.add(50.0, false);
        sums.add(50.0, false);
        sums.add(1.0, true);
        sums.add(1.0, true);
        // Σw = 152, Σw² = 3·2500 + 2·1 = 7502, Σw·y = 50 + 1 + 1 = 52.
        assert_eq!(
            sums,
            HtSums {
                w: 152.0,
                w2: 7502.0,
                wy: 52.0
            }
        );
        // n_eff = 152² / 7502 = 23104 / 7502 = 3.0797120767795256.
        close(sums.effective_n(), 3.079_712_076_779_525_6);

        let estimate = ht_ratio(&sums).unwrap();
        // p̂ = 52 / 152 = 0.34210526315789475.
        close(estimate.value, 0.342_105_263_157_894_75);
        close(estimate.n, 3.079_712_076_779_525_6);
        // Wilson at Z95 on p̂ with n = 3.07971: z²/n = 1.247343, denominator = 2.247343,
        // centre = 0.342105 + 0.623672 = 0.965777,
        // margin = z·√(0.342105·0.657895/3.07971 + 3.841459/37.93851) = 0.818355
        // → ((0.965777 − 0.818355) / 2.247343, (0.965777 + 0.818355) / 2.247343)
        // = (0.065598286485104, 0.7938849324338063).
        close(estimate.low, 0.065_598_286_485_104);
        close(estimate.high, 0.793_884_932_433_806_3);
        assert!(!estimate.enough());
    }

    #[test]
    fn ht_sums_merge_and_empty_cases() {
        let mut a = HtSums::default();
        a.add(50.0, true);
        let mut b = HtSums::default();
        b.add(2.0, false);
        b.add(2.0, true);
        a.merge(&b);
        // Σw = 54, Σw² = 2500 + 4 + 4 = 2508, Σw·y = 50 + 2 = 52.
        assert_eq!(
            a,
            HtSums {
                w: 54.0,
                w2: 2508.0,
                wy: 52.0
            }
        );
        assert_eq!(HtSums::default().effective_n(), 0.0);
        assert_eq!(ht_ratio(&HtSums::default()), None);
    }

    #[test]
    fn unit_weights_give_the_plain_count_and_enough_samples() {
        // 20 items of weight 1: n_eff = 20² / 20 = 20, exactly the threshold; 5 hits → 0.25.
        let mut sums = HtSums::default();
        for i in 0..20 {
            sums.add(1.0, i < 5);
        }
        let estimate = ht_ratio(&sums).unwrap();
        close(estimate.n, 20.0);
        close(estimate.value, 0.25);
        assert!(estimate.enough());
        let (low, high) = wilson(5.0, 20.0, Z95).unwrap();
        close(estimate.low, low);
        close(estimate.high, high);
    }

    #[test]
    fn f1_is_the_harmonic_mean() {
        // 2·0.9·0.6 / (0.9 + 0.6) = 1.08 / 1.5 = 0.72.
        close(f1(0.9, 0.6).unwrap(), 0.72);
        close(f1(1.0, 0.0).unwrap(), 0.0);
        assert_eq!(f1(0.0, 0.0), None);
    }

    #[test]
    fn ratio_and_relative_change() {
        close(ratio(3.0, 4.0).unwrap(), 0.75);
        assert_eq!(ratio(3.0, 0.0), None);
        // (120 − 100) / 100 = 0.2; (80 − 100) / 100 = −0.2.
        close(relative_change(120.0, 100.0).unwrap(), 0.2);
        close(relative_change(80.0, 100.0).unwrap(), -0.2);
        close(relative_change(5.0, 5.0).unwrap(), 0.0);
        assert_eq!(relative_change(5.0, 0.0), None);
    }

    #[test]
    fn score_bins_are_twenty_equal_widths() {
        assert_eq!(score_bin(0.0), 0);
        assert_eq!(score_bin(0.049), 0);
        assert_eq!(score_bin(0.05), 1);
        assert_eq!(score_bin(0.5), 10);
        assert_eq!(score_bin(0.999), 19);
        assert_eq!(score_bin(1.0), 19);
        assert_eq!(score_bin(1.5), 19);
        assert_eq!(score_bin(-0.2), 0);
        assert_eq!(score_bin(f64::NAN), 0);
    }

    #[test]
    fn psi_floors_an_empty_reference_bin() {
        // Reference shares (0, 0.5, 0.5) → (0.0001, 0.5, 0.5); current (0.1, 0.45, 0.45).
        // PSI = (0.1 − 0.0001)·ln(0.1/0.0001) + 2·(0.45 − 0.5)·ln(0.45/0.5)
        //     = 0.0999·6.907755 + 0.1·0.1053605 = 0.7006208039360982.
        let value = psi(&[0.0, 50.0, 50.0], &[10.0, 45.0, 45.0]).unwrap();
        close(value, 0.700_620_803_936_098_2);
        assert_eq!(DriftBand::of(value), DriftBand::Drifted);
    }

    #[test]
    fn psi_of_the_same_distribution_is_zero() {
        // Counts are normalised: (1, 2, 3) and (10, 20, 30) are the same shares.
        close(psi(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]).unwrap(), 0.0);
        let mut scores = [0.0; PSI_BINS];
        for score in [0.01, 0.33, 0.34, 0.97, 1.0] {
            scores[score_bin(score)] += 1.0;
        }
        close(psi(&scores, &scores).unwrap(), 0.0);
    }

    #[test]
    fn psi_needs_two_non_empty_vectors_of_one_length() {
        assert_eq!(psi(&[0.0, 0.0], &[1.0, 1.0]), None);
        assert_eq!(psi(&[1.0, 1.0], &[0.0, 0.0]), None);
        assert_eq!(psi(&[1.0, 1.0], &[1.0, 1.0, 1.0]), None);
    }

    #[test]
    fn drift_bands_split_at_one_and_two_tenths() {
        assert_eq!(DriftBand::of(0.0), DriftBand::Stable);
        assert_eq!(DriftBand::of(0.099), DriftBand::Stable);
        assert_eq!(DriftBand::of(0.1), DriftBand::Watch);
        assert_eq!(DriftBand::of(0.199), DriftBand::Watch);
        assert_eq!(DriftBand::of(0.2), DriftBand::Drifted);
        assert_eq!(DriftBand::Watch.as_str(), "watch");
        assert_eq!(DriftBand::Stable.as_str(), "stable");
        assert_eq!(DriftBand::Drifted.as_str(), "drifted");
    }

    #[test]
    fn js_distance_identical_disjoint_and_worked() {
        close(
            js_distance(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]).unwrap(),
            0.0,
        );
        // Disjoint: m = (½, ½); each side contributes ½·1·log₂(1/½) = ½, JSD = 1, √1 = 1.
        close(js_distance(&[5.0, 0.0], &[0.0, 7.0]).unwrap(), 1.0);
        // p = (½, ½), q = (¾, ¼), m = (0.625, 0.375).
        // KL(p‖m) = ½·log₂(0.8) + ½·log₂(4/3) = 0.04655470219574073,
        // KL(q‖m) = ¾·log₂(1.2) + ¼·log₂(2/3) = 0.05103517919505626,
        // JSD = ½·(0.046554702 + 0.051035179) = 0.0487949406953985, √ = 0.22089576884901735.
        close(
            js_distance(&[1.0, 1.0], &[3.0, 1.0]).unwrap(),
            0.220_895_768_849_017_35,
        );
        assert_eq!(js_distance(&[0.0, 0.0], &[1.0, 1.0]), None);
        assert_eq!(js_distance(&[1.0], &[1.0, 1.0]), None);
    }

    #[test]
    fn duration_buckets_at_their_edges() {
        // Edges round(1000·1.1^b): 1000, 1100, 1210, 1331, 1464.1 → 1464, 1610.51 → 1611.
        assert_eq!(duration_bucket(-5), 0);
        assert_eq!(duration_bucket(0), 0);
        assert_eq!(duration_bucket(999), 0);
        assert_eq!(duration_bucket(1000), 1);
        assert_eq!(duration_bucket(1099), 1);
        assert_eq!(duration_bucket(1100), 2);
        assert_eq!(duration_bucket(1209), 2);
        assert_eq!(duration_bucket(1210), 3);
        assert_eq!(duration_bucket(1463), 4);
        assert_eq!(duration_bucket(1464), 5);
        assert_eq!(bucket_upper_ms(0), 1000);
        assert_eq!(bucket_upper_ms(1), 1100);
        assert_eq!(bucket_upper_ms(2), 1210);
        assert_eq!(bucket_upper_ms(4), 1464);
        assert_eq!(bucket_upper_ms(5), 1611);
    }

    #[test]
    fn every_duration_lies_below_its_bucket_edge() {
        for ms in [0, 1, 999, 1000, 1500, 2853, 3000, 86_400_000, 5_000_000_000] {
            let bucket = duration_bucket(ms);
            assert!(ms < bucket_upper_ms(bucket), "{ms} in bucket {bucket}");
            if bucket > 0 {
                assert!(ms >= bucket_upper_ms(bucket - 1), "{ms} in bucket {bucket}");
            }
        }
    }

    #[test]
    fn the_overflow_bucket_starts_past_sixty_days() {
        const SIXTY_DAYS_MS: i64 = 60 * 86_400_000; // 5_184_000_000
        let overflow = DURATION_BUCKETS - 1;
        // 1000·1.1^162 = 5_077_091_561 ms (58.8 days) < 60 days ≤ 1000·1.1^163 = 5_584_800_717.
        assert_eq!(bucket_upper_ms(overflow - 2), 5_077_091_561);
        assert_eq!(bucket_upper_ms(overflow - 1), 5_584_800_717);
        assert!(duration_bucket(SIXTY_DAYS_MS) < overflow);
        assert_eq!(duration_bucket(5_584_800_717), overflow);
        assert_eq!(duration_bucket(i64::MAX), overflow);
        // The overflow bucket reports its lower edge.
        assert_eq!(bucket_upper_ms(overflow), 5_584_800_717);
        assert_eq!(bucket_upper_ms(overflow + 7), 5_584_800_717);
    }

    #[test]
    fn quantiles_from_buckets_bound_the_exact_nearest_rank() {
        // Buckets: 500 → 0, 1050 → 1 (×2), 1200 → 2, 1500 → 5 [1464, 1611),
        // 3000 → 12 [round(2853.1167) = 2853, round(3138.4284) = 3138).
        let values = [500, 1050, 1050, 1200, 1500, 3000];
        let mut counts: Vec<(usize, i64)> = Vec::new();
        for ms in values {
            counts.push((duration_bucket(ms), 1));
        }
        assert_eq!(counts[5], (12, 1));
        counts.reverse(); // any order
        counts.push((7, 0)); // empty buckets are harmless

        // q = 0.5: rank ⌈3⌉ = 3 → 1050, bucket 1 whose upper edge is 1100.
        assert_eq!(nearest_rank(&values, 0.5), Some(1050));
        assert_eq!(quantile_from_buckets(&counts, 0.5), Some(1100));
        // q = 0.6: rank ⌈3.6⌉ = 4 → 1200, bucket 2, edge 1210.
        assert_eq!(nearest_rank(&values, 0.6), Some(1200));
        assert_eq!(quantile_from_buckets(&counts, 0.6), Some(1210));
        // q = 0.75: rank ⌈4.5⌉ = 5 → 1500, bucket 5, edge 1611.
        assert_eq!(nearest_rank(&values, 0.75), Some(1500));
        assert_eq!(quantile_from_buckets(&counts, 0.75), Some(1611));
        // q = 0.9 and 1: rank 6 → 3000, bucket 12, edge 3138.
        assert_eq!(nearest_rank(&values, 0.9), Some(3000));
        assert_eq!(quantile_from_buckets(&counts, 0.9), Some(3138));
        assert_eq!(quantile_from_buckets(&counts, 1.0), Some(3138));
        // q = 0.1: rank ⌈0.6⌉ = 1 → 500, bucket 0, edge 1000.
        assert_eq!(nearest_rank(&values, 0.1), Some(500));
        assert_eq!(quantile_from_buckets(&counts, 0.1), Some(1000));
    }

    #[test]
    fn quantiles_add_repeated_buckets_and_need_samples() {
        // Bucket 1 appears twice (3 + 2 = 5 of 10), bucket 3 holds the other 5.
        let counts = [(3, 5), (1, 3), (1, 2)];
        assert_eq!(quantile_from_buckets(&counts, 0.5), Some(1100));
        assert_eq!(quantile_from_buckets(&counts, 0.51), Some(1331));
        assert_eq!(quantile_from_buckets(&[], 0.5), None);
        assert_eq!(quantile_from_buckets(&[(4, 0)], 0.5), None);
        assert_eq!(nearest_rank(&[], 0.5), None);
    }

    #[test]
    fn nearest_rank_does_not_round_up_on_float_noise() {
        // 0.07 × 100 = 7.000000000000001 in floating point; the rank is still 7.
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(nearest_rank(&values, 0.07), Some(7));
        assert_eq!(nearest_rank(&values, 0.95), Some(95));
        assert_eq!(nearest_rank(&values, 1.0), Some(100));
        // Out-of-range q is clamped to the first and last rank.
        assert_eq!(nearest_rank(&values, 0.0), Some(1));
        assert_eq!(nearest_rank(&values, 1.5), Some(100));
    }

    #[test]
    fn expected_calibration_error_worked() {
        let bins = [
            // Observed rate 10/100 = 0.10, mean score 15/100 = 0.15.
            CalibrationBin {
                w: 100.0,
                wy: 10.0,
                ws: 15.0,
            },
            // An empty bin is skipped.
            CalibrationBin::default(),
            // Observed rate 40/50 = 0.8, mean score 45/50 = 0.9.
            CalibrationBin {
                w: 50.0,
                wy: 40.0,
                ws: 45.0,
            },
        ];
        // W = 150: ECE = (100/150)·0.05 + (50/150)·0.1 = 1/30 + 1/30 = 1/15.
        close(expected_calibration_error(&bins).unwrap(), 1.0 / 15.0);
        assert_eq!(
            expected_calibration_error(&[CalibrationBin::default()]),
            None
        );
        assert_eq!(expected_calibration_error(&[]), None);
    }

    #[test]
    fn cost_with_all_four_components() {
        let mut fn_w = [0.0; CATEGORY_COUNT];
        fn_w[Category::Scam.index()] = 2.0;
        fn_w[Category::Weapons.index()] = 1.0;
        let inputs = CostInputs {
            decided: 5000.0,
            handling_ms: 7_200_000.0, // 2 h
            cpu_ms: 1_800_000.0,      // 0.5 h
            fp_budget_w: 40.0,        // e.g. one audited ad, w = 10, budget $4/day
            fn_w,
        };
        let mut rates = CostRates::default();
        rates.risk_weight_usd[Category::Scam.index()] = 800.0;
        rates.risk_weight_usd[Category::Weapons.index()] = 500.0;
        let breakdown = cost(&inputs, default_hourly_rate("US"), &rates);
        // review = 2 h × $38 = 76; inference = 0.5 h × $0.05 = 0.025;
        // false_positive = 40 × 3 days = 120; false_negative = 2 × 800 + 1 × 500 = 2100.
        close(breakdown.review, 76.0);
        close(breakdown.inference, 0.025);
        close(breakdown.false_positive, 120.0);
        close(breakdown.false_negative, 2100.0);
        // total = 76 + 0.025 + 120 + 2100 = 2296.025; per 1k = 2296.025 / 5000 × 1000 = 459.205.
        close(breakdown.total, 2296.025);
        close(breakdown.per_1k_ads.unwrap(), 459.205);

        let nothing_decided = CostInputs {
            decided: 0.0,
            ..inputs
        };
        assert_eq!(cost(&nothing_decided, 38.0, &rates).per_1k_ads, None);
    }

    #[test]
    fn cost_inputs_merge_adds_every_field() {
        let mut a = CostInputs {
            decided: 10.0,
            handling_ms: 1000.0,
            cpu_ms: 20.0,
            fp_budget_w: 5.0,
            fn_w: [1.0; CATEGORY_COUNT],
        };
        let mut fn_w = [0.0; CATEGORY_COUNT];
        fn_w[Category::Political.index()] = 3.0;
        a.merge(&CostInputs {
            decided: 2.0,
            handling_ms: 500.0,
            cpu_ms: 1.0,
            fp_budget_w: 0.5,
            fn_w,
        });
        let mut expected_fn_w = [1.0; CATEGORY_COUNT];
        expected_fn_w[Category::Political.index()] = 4.0;
        assert_eq!(
            a,
            CostInputs {
                decided: 12.0,
                handling_ms: 1500.0,
                cpu_ms: 21.0,
                fp_budget_w: 5.5,
                fn_w: expected_fn_w,
            }
        );
    }

    #[test]
    fn default_rates_follow_the_documented_table() {
        let rates = CostRates::default();
        let by_name: Vec<(&str, f64)> = Category::ALL
            .iter()
            .map(|c| (c.as_str(), rates.risk_weight_usd[c.index()]))
            .collect();
        assert_eq!(
            by_name,
            [
                ("weapons", 100.0),
                ("drugs", 100.0),
                ("tobacco", 30.0),
                ("alcohol", 20.0),
                ("gambling", 60.0),
                ("adult", 50.0),
                ("scam", 160.0),
                ("health_claims", 80.0),
                ("counterfeit", 60.0),
                ("political", 40.0),
            ]
        );
        assert_eq!(rates.cpu_hour_usd, 0.05);
        assert_eq!(rates.days_lost_per_false_reject, 3.0);

        let hourly: Vec<f64> = ["US", "GB", "DE", "FR", "BR", "ID", "JP", "KR", "AE", "SG"]
            .iter()
            .map(|code| default_hourly_rate(code))
            .collect();
        assert_eq!(
            hourly,
            [38.0, 32.0, 34.0, 31.0, 12.0, 8.0, 30.0, 26.0, 22.0, 27.0]
        );
        assert_eq!(default_hourly_rate("gb"), 32.0);
        assert_eq!(default_hourly_rate("XX"), 25.0);
        assert_eq!(default_hourly_rate(""), 25.0);
    }

    #[test]
    fn kappa_matches_a_worked_example() {
        // 50 pairs: 20 both reject, 15 both approve, 5 + 10 disagreements.
        let mut pairs = vec![(true, true); 20];
        pairs.extend(vec![(false, false); 15]);
        pairs.extend(vec![(true, false); 5]);
        pairs.extend(vec![(false, true); 10]);
        // p_o = 0.7; p_first = 0.5, p_second = 0.6; p_e = 0.3 + 0.2 = 0.5; κ = 0.4
        assert!((cohens_kappa(&pairs).unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(cohens_kappa(&[]), None);
        assert_eq!(cohens_kappa(&[(true, true), (true, true)]), None);
        assert!((cohens_kappa(&[(true, true), (false, false)]).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
    }
}
