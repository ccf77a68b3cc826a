//! Comparing two model versions on exactly the ads both scored (one deciding, the other in
//! shadow, or both in shadow) that have a final human verdict from the random sample (audits
//! and routed reviews; appeals, escalations and QA second opinions left out), each weighted by
//! 1 / its sampling probability so the figures stand for the traffic.
//!
//! Per market × category (and all markets): weighted ROC-AUC with a Hanley–McNeil 95%
//! interval and weighted average precision (PR-AUC) with a logit interval, both on Kish
//! effective counts; "too few labels" under 5 effective positives or negatives. Per market, at
//! the thresholds each would run with (the current ones for `a`, the ones re-fitted to the same
//! review volume for `b`, see [`super::promotion`]): automation rate, review share, and the
//! precision and recall of auto-reject with Wilson intervals; and, on the ads where one calls a
//! violation (a score of 0.5 or more) and the other does not, the weighted share where the
//! humans side with `b` — a paired reading, so it can show which is right long before the two
//! ROC-AUC intervals part. And the
//! labelled ads on which the two disagree most, with the humans' verdicts.

use super::CATEGORIES;
use super::promotion::matched_threshold;
use crate::metrics::estimate::Interval;
use crate::metrics::kpi::{Estimate, HtSums, ht_ratio};
pub use crate::model_view::{CellComparison, Comparison, Disagreement, OperatingPoint};
use crate::platform::db::{Db, Flag};
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use std::collections::HashMap;

/// The window compared.
pub const WINDOW_MS: i64 = 28 * 86_400_000;
/// A model calls an ad violating when one of its scores (calibrated probabilities) is at least
/// this.
pub const SPLIT_AT: f32 = 0.5;
/// Effective positives and negatives a ranking figure needs.
pub const MIN_EACH: f64 = 5.0;

/// One labelled ad both scored.
struct Pair {
    ad_id: i64,
    market: String,
    headline: String,
    a: [f32; CATEGORIES],
    b: [f32; CATEGORIES],
    weight: f64,
    /// Per category, whether the human found it.
    y: [bool; CATEGORIES],
    human: String,
    budget: f64,
}

/// Weighted ROC-AUC (ties count half) and its Hanley–McNeil interval on effective counts.
pub fn roc_auc(scored: &[(f32, bool, f64)]) -> Option<Estimate> {
    let (pos, neg) = effective(scored);
    if pos < MIN_EACH || neg < MIN_EACH {
        return None;
    }
    let mut v: Vec<&(f32, bool, f64)> = scored.iter().collect();
    v.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (mut below_neg, mut sum, mut wp, mut wn) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        let (mut tie_pos, mut tie_neg) = (0.0, 0.0);
        while j < v.len() && v[j].0 == v[i].0 {
            if v[j].1 {
                tie_pos += v[j].2;
            } else {
                tie_neg += v[j].2;
            }
            j += 1;
        }
        sum += tie_pos * (below_neg + tie_neg / 2.0);
        below_neg += tie_neg;
        wp += tie_pos;
        wn += tie_neg;
        i = j;
    }
    let auc = (sum / (wp * wn)).clamp(0.0, 1.0);
    let q1 = auc / (2.0 - auc);
    let q2 = 2.0 * auc * auc / (1.0 + auc);
    let var = (auc * (1.0 - auc) + (pos - 1.0) * (q1 - auc * auc) + (neg - 1.0) * (q2 - auc * auc))
        / (pos * neg);
    let se = var.max(0.0).sqrt();
    Some(Estimate {
        value: auc,
        low: (auc - 1.96 * se).max(0.0),
        high: (auc + 1.96 * se).min(1.0),
        n: pos + neg,
    })
}

/// Weighted average precision and a logit interval on the effective positives.
pub fn pr_auc(scored: &[(f32, bool, f64)]) -> Option<Estimate> {
    let (pos, neg) = effective(scored);
    if pos < MIN_EACH || neg < MIN_EACH {
        return None;
    }
    let mut v: Vec<&(f32, bool, f64)> = scored.iter().collect();
    v.sort_by(|x, y| y.0.total_cmp(&x.0));
    let total_pos: f64 = v.iter().filter(|x| x.1).map(|x| x.2).sum();
    let (mut seen, mut seen_pos, mut ap) = (0.0, 0.0, 0.0);
    for x in &v {
        seen += x.2;
        if x.1 {
            seen_pos += x.2;
            ap += x.2 * seen_pos / seen;
        }
    }
    let ap = (ap / total_pos).clamp(1e-6, 1.0 - 1e-6);
    let logit = (ap / (1.0 - ap)).ln();
    let se = 1.0 / (pos * ap * (1.0 - ap)).sqrt();
    let back = |z: f64| 1.0 / (1.0 + (-z).exp());
    Some(Estimate {
        value: ap,
        low: back(logit - 1.96 * se),
        high: back(logit + 1.96 * se),
        n: pos + neg,
    })
}

/// Weighted sums of a per-ad cost over a sample drawn with known probabilities.
#[derive(Default)]
struct CostSums {
    w: f64,
    w2: f64,
    wc: f64,
    w2c: f64,
    w2c2: f64,
}

/// Fewer effective ads than this give no cost figure.
const MIN_COST_SAMPLE: f64 = 10.0;

impl CostSums {
    fn add(&mut self, w: f64, usd: f64) {
        self.w += w;
        self.w2 += w * w;
        self.wc += w * usd;
        self.w2c += w * w * usd;
        self.w2c2 += w * w * usd * usd;
    }

    /// The mean cost per 1,000 ads (Hájek ratio Σw·c / Σw) with its linearised normal 95%
    /// interval, Var = Σ w²(c − ĉ)² / (Σw)², clipped at 0; None below [`MIN_COST_SAMPLE`]
    /// effective ads.
    fn per_1k(&self) -> Option<Interval> {
        if self.w <= 0.0 || self.w * self.w / self.w2 < MIN_COST_SAMPLE {
            return None;
        }
        let mean = self.wc / self.w;
        let spread = (self.w2c2 - 2.0 * mean * self.w2c + mean * mean * self.w2).max(0.0);
        let half = 1.96 * spread.sqrt() / self.w;
        Some(Interval {
            value: 1000.0 * mean,
            low: 1000.0 * (mean - half).max(0.0),
            high: 1000.0 * (mean + half),
        })
    }
}

/// Kish effective counts of positives and negatives.
fn effective(scored: &[(f32, bool, f64)]) -> (f64, f64) {
    let kish = |hit: bool| {
        let (w, w2) = scored
            .iter()
            .filter(|x| x.1 == hit)
            .fold((0.0, 0.0), |(a, b), x| (a + x.2, b + x.2 * x.2));
        if w2 > 0.0 { w * w / w2 } else { 0.0 }
    };
    (kish(true), kish(false))
}

type LabelledRow = (
    i64,
    String,
    String,
    String,
    String,
    Flag,
    String,
    Option<String>,
    f64,
    String,
    String,
    f64,
);

/// Compares versions `a` and `b` over the 28 days before `now`, in `market` or all.
pub async fn compare(
    db: &Db,
    a: &str,
    b: &str,
    market: Option<Market>,
    now: Millis,
) -> sqlx::Result<Comparison> {
    let from = now - WINDOW_MS;
    let rows: Vec<LabelledRow> = sqlx::query_as(
        "select a.id, a.market, a.headline, d.model_version, d.scores, d.audit_sample, d.action, d.route, \
         d.sampling_probability, r.verdict, r.categories, a.daily_budget_usd \
         from decisions d join ads a on a.id = d.ad_id \
         join reviews r on r.ad_id = a.id and r.source <> 'qa' \
         and r.id = (select max(r2.id) from reviews r2 where r2.ad_id = a.id and r2.source <> 'qa') \
         where d.decided_at >= $1 and d.decided_at < $2 and (cast($3 as text) is null or a.market = $3)",
    )
    .bind(from)
    .bind(now)
    .bind(market.map(|m| m.code()))
    .fetch_all(db.pool())
    .await?;
    let shadow: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
        "select ad_id, version, scores from shadow_scores where version in ($1, $2) and at >= $3",
    )
    .bind(a)
    .bind(b)
    .bind(from)
    .fetch_all(db.pool())
    .await?;
    let shadow: HashMap<(i64, &str), [f32; CATEGORIES]> = shadow
        .iter()
        .filter_map(|(id, v, s)| Some(((*id, v.as_str()), crate::engine::serving::unpack(s)?)))
        .collect();
    let mut pairs = Vec::new();
    for r in rows {
        let sampled =
            (r.5.0 || (r.6 == "review" && r.7.as_deref() != Some("escalation"))) && r.8 > 0.0;
        if !sampled {
            continue;
        }
        let scores_of = |v: &str| {
            if r.3 == v {
                Some(crate::rules::backtest::parse_scores(&r.4))
            } else {
                shadow.get(&(r.0, v)).copied()
            }
        };
        let (Some(sa), Some(sb)) = (scores_of(a), scores_of(b)) else {
            continue;
        };
        let categories: Vec<String> = if r.9 == "reject" {
            serde_json::from_str(&r.10).unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut y = [false; CATEGORIES];
        for c in Category::ALL {
            y[c.index()] = categories.iter().any(|x| x == c.as_str());
        }
        pairs.push(Pair {
            ad_id: r.0,
            market: r.1,
            headline: r.2,
            a: sa,
            b: sb,
            weight: 1.0 / r.8,
            y,
            human: if r.9 == "reject" {
                format!("reject: {}", categories.join(", "))
            } else {
                "approve".into()
            },
            budget: r.11,
        });
    }
    let mut markets: Vec<String> = pairs.iter().map(|p| p.market.clone()).collect();
    markets.sort();
    markets.dedup();
    let mut scopes = vec!["*".to_string()];
    scopes.extend(markets.iter().cloned());
    let mut cells = Vec::new();
    for scope in &scopes {
        let inside: Vec<&Pair> = pairs
            .iter()
            .filter(|p| scope == "*" || p.market == *scope)
            .collect();
        for c in Category::ALL {
            let i = c.index();
            let of = |pick: fn(&Pair) -> &[f32; CATEGORIES]| -> Vec<(f32, bool, f64)> {
                inside
                    .iter()
                    .map(|p| (pick(p)[i], p.y[i], p.weight))
                    .collect()
            };
            let sa = of(|p| &p.a);
            let sb = of(|p| &p.b);
            let (positives, negatives) = effective(&sa);
            cells.push(CellComparison {
                market: scope.clone(),
                category: c.as_str().to_string(),
                positives,
                negatives,
                a_roc_auc: roc_auc(&sa),
                b_roc_auc: roc_auc(&sb),
                a_pr_auc: pr_auc(&sa),
                b_pr_auc: pr_auc(&sb),
            });
        }
    }
    let (_, bands) = crate::engine::thresholds::current(db).await?;
    let rates = crate::dashboard::kpis::rates(db).await?;
    let handling: Vec<(String, f64)> = sqlx::query_as(
        "select market, cast(avg(finished_at - started_at) as double precision) from reviews \
         where finished_at >= $1 and finished_at < $2 and not bulk group by market",
    )
    .bind(from)
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    let mut operating = Vec::new();
    for m in &markets {
        let inside: Vec<&Pair> = pairs.iter().filter(|p| p.market == *m).collect();
        let band = |c: Category| {
            bands
                .iter()
                .find(|x| x.market.code() == m && x.category == c)
                .map_or((1.0, 1.0), |x| (x.approve_below, x.reject_at))
        };
        // b's thresholds: each cell moved to keep a's share of these ads above it.
        let mut b_bands = [(1.0, 1.0); CATEGORIES];
        for c in Category::ALL {
            let i = c.index();
            let old: Vec<f32> = inside.iter().map(|p| p.a[i]).collect();
            let mut new: Vec<f32> = inside.iter().map(|p| p.b[i]).collect();
            new.sort_by(|x, y| y.total_cmp(x));
            let (ab, rj) = band(c);
            let nb = matched_threshold(&old, &new, ab);
            b_bands[i] = (nb, matched_threshold(&old, &new, rj).max(nb));
        }
        // A review's cost: the market's mean handling time at its reviewers' hourly rate.
        let review_usd = handling
            .iter()
            .find(|(x, _)| x == m)
            .map_or(0.0, |(_, ms)| ms / 3_600_000.0)
            * rates.hourly(m);
        let point = |pick: fn(&Pair) -> &[f32; CATEGORIES],
                     bands_of: &dyn Fn(usize) -> (f64, f64)| {
            let (mut auto, mut review, mut w_all) = (0.0, 0.0, 0.0);
            let (mut precision, mut recall) = (HtSums::default(), HtSums::default());
            let mut cost = CostSums::default();
            for p in &inside {
                let s = pick(p);
                let rejects = (0..CATEGORIES).any(|i| f64::from(s[i]) >= bands_of(i).1);
                let routed = !rejects && (0..CATEGORIES).any(|i| f64::from(s[i]) >= bands_of(i).0);
                let violating = p.y.iter().any(|x| *x);
                let usd = if routed {
                    review_usd
                } else if rejects && !violating {
                    p.budget * rates.cost.days_lost_per_false_reject
                } else if !rejects {
                    (0..CATEGORIES)
                        .filter(|i| p.y[*i])
                        .map(|i| rates.cost.risk_weight_usd[i])
                        .sum()
                } else {
                    0.0
                };
                cost.add(p.weight, usd);
                w_all += p.weight;
                if routed {
                    review += p.weight;
                } else {
                    auto += p.weight;
                }
                if rejects {
                    precision.add(p.weight, violating);
                }
                if violating {
                    recall.add(p.weight, rejects);
                }
            }
            (
                auto / w_all.max(1e-9),
                review / w_all.max(1e-9),
                ht_ratio(&precision),
                ht_ratio(&recall),
                cost.per_1k(),
            )
        };
        let a_point = point(|p| &p.a, &|i| band(Category::ALL[i]));
        let b_point = point(|p| &p.b, &|i| b_bands[i]);
        // Where one calls a violation and the other does not: who the humans side with.
        let calls = |s: &[f32; CATEGORIES]| s.iter().any(|x| *x >= SPLIT_AT);
        let mut split = HtSums::default();
        let mut split_ads = 0;
        for p in inside.iter().filter(|p| calls(&p.a) != calls(&p.b)) {
            split_ads += 1;
            split.add(p.weight, calls(&p.b) == p.y.iter().any(|x| *x));
        }
        operating.push(OperatingPoint {
            market: m.clone(),
            ads: inside.len() as u64,
            a_automation: a_point.0,
            b_automation: b_point.0,
            a_review_share: a_point.1,
            b_review_share: b_point.1,
            a_reject_precision: a_point.2,
            b_reject_precision: b_point.2,
            a_reject_recall: a_point.3,
            b_reject_recall: b_point.3,
            a_cost_per_1k: a_point.4,
            b_cost_per_1k: b_point.4,
            split_ads,
            b_right_when_split: ht_ratio(&split),
        });
    }
    let mut disagreements: Vec<Disagreement> = pairs
        .iter()
        .map(|p| {
            let i = (0..CATEGORIES)
                .max_by(|x, y| {
                    (p.a[*x] - p.b[*x])
                        .abs()
                        .total_cmp(&(p.a[*y] - p.b[*y]).abs())
                })
                .unwrap_or(0);
            Disagreement {
                ad_id: p.ad_id,
                market: p.market.clone(),
                headline: p.headline.clone(),
                category: Category::ALL[i].as_str().to_string(),
                a_score: p.a[i],
                b_score: p.b[i],
                human: p.human.clone(),
            }
        })
        .collect();
    disagreements.sort_by(|x, y| {
        (y.a_score - y.b_score)
            .abs()
            .total_cmp(&(x.a_score - x.b_score).abs())
    });
    disagreements.truncate(20);
    Ok(Comparison {
        a: a.to_string(),
        b: b.to_string(),
        from,
        to: now,
        labelled: pairs.len() as u64,
        cells,
        operating,
        disagreements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_auc_counts_ordered_pairs_with_weights_and_ties_half() {
        // 6 positives above 6 negatives: perfect.
        let mut v: Vec<(f32, bool, f64)> =
            (0..6).map(|i| (0.9 - i as f32 * 0.01, true, 1.0)).collect();
        v.extend((0..6).map(|i| (0.1 + i as f32 * 0.01, false, 1.0)));
        assert!((roc_auc(&v).unwrap().value - 1.0).abs() < 1e-12);
        // All tied: one half.
        let tied: Vec<(f32, bool, f64)> = (0..12).map(|i| (0.5, i % 2 == 0, 1.0)).collect();
        assert!((roc_auc(&tied).unwrap().value - 0.5).abs() < 1e-12);
        // Hand-worked: positives at 0.8, 0.4; negatives at 0.6, 0.2 (each five times):
        // pairs (0.8 > 0.6, 0.8 > 0.2, 0.4 < 0.6, 0.4 > 0.2) → 3 of 4.
        let mut h = Vec::new();
        for _ in 0..5 {
            h.extend([
                (0.8, true, 1.0),
                (0.4, true, 1.0),
                (0.6, false, 1.0),
                (0.2, false, 1.0),
            ]);
        }
        let e = roc_auc(&h).unwrap();
        assert!((e.value - 0.75).abs() < 1e-12);
        assert!(e.low < 0.75 && e.high > 0.75);
        // The negative at 0.6 weighing 3: positives 0.8 and 0.4 against 0.6 (w 3) and 0.2
        // (w 1) win 3 + 1 + 0 + 1 of 2 · 4.
        let w: Vec<(f32, bool, f64)> = h
            .iter()
            .map(|x| (x.0, x.1, if x.0 == 0.6 { 3.0 } else { 1.0 }))
            .collect();
        assert!((roc_auc(&w).unwrap().value - 5.0 / 8.0).abs() < 1e-12);
        // Too few labels: none.
        assert!(roc_auc(&h[..8]).is_none());
    }

    #[test]
    fn average_precision_of_a_perfect_and_a_hand_worked_ranking() {
        let mut v: Vec<(f32, bool, f64)> =
            (0..6).map(|i| (0.9 - i as f32 * 0.01, true, 1.0)).collect();
        v.extend((0..6).map(|i| (0.1 + i as f32 * 0.01, false, 1.0)));
        assert!(pr_auc(&v).unwrap().value > 0.999);
        // Ranking P N P N … (6 each): precision at the k-th positive is k / (2k − 1).
        let alt: Vec<(f32, bool, f64)> = (0..12)
            .map(|i| (1.0 - i as f32 * 0.05, i % 2 == 0, 1.0))
            .collect();
        let expected: f64 = (1..=6).map(|k| k as f64 / (2 * k - 1) as f64).sum::<f64>() / 6.0;
        assert!((pr_auc(&alt).unwrap().value - expected).abs() < 1e-9);
    }

    #[test]
    fn cost_per_thousand_is_the_weighted_mean_with_a_linearised_interval() {
        let mut c = CostSums::default();
        // Ten ads of weight 2 costing nothing, ten of weight 1 costing $3.
        for _ in 0..10 {
            c.add(2.0, 0.0);
            c.add(1.0, 3.0);
        }
        let i = c.per_1k().unwrap();
        // Mean = 30 / 30 = $1 an ad = $1,000 per 1,000.
        assert!((i.value - 1000.0).abs() < 1e-9);
        // Σw²(c − 1)² = 10·4·1 + 10·1·4 = 80; half-width = 1.96·√80 / 30 per ad.
        let half = 1.96 * 80f64.sqrt() / 30.0 * 1000.0;
        assert!((i.high - i.value - half).abs() < 1e-9);
        assert!((i.value - i.low - half).abs() < 1e-9);
        // Too few effective ads: no figure.
        let mut few = CostSums::default();
        few.add(5.0, 1.0);
        assert!(few.per_1k().is_none());
    }
}
