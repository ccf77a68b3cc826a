//! The machine's decision for one scored ad: thresholds per market × category, the market
//! policy matrix, and random audit sampling. Pure: no I/O, no clock, randomness passed in.

use crate::engine::model::CATEGORIES;
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What a market's policy says about a category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Detected above the reject threshold: auto-reject.
    Prohibited,
    /// Detected at all (at or above the approve threshold): always a human decides.
    Restricted,
    /// Never a reason to reject or review.
    Allowed,
}

impl Rule {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Prohibited => "prohibited",
            Rule::Restricted => "restricted",
            Rule::Allowed => "allowed",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Rule> {
        [Rule::Prohibited, Rule::Restricted, Rule::Allowed]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// The two thresholds of one market × category.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Below this the category is considered absent.
    pub approve_below: f64,
    /// At or above this a prohibited category is rejected.
    pub reject_at: f64,
}

/// Thresholds and policy in force, with the thresholds version decisions record.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub thresholds_version: i64,
    pub bands: HashMap<(Market, Category), Band>,
    pub policy: HashMap<(Market, Category), Rule>,
    /// Share of auto-approvals also sent to reviewers as audit samples.
    pub audit_rate_approve: f64,
    /// Share of auto-rejections also sent to reviewers as audit samples.
    pub audit_rate_reject: f64,
}

/// The machine's action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Approve,
    Reject,
    Review,
}

impl Action {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Review => "review",
        }
    }
}

/// Why an ad goes to a human.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// A prohibited category scored between the thresholds.
    Uncertain,
    /// A restricted category was detected.
    Restricted,
    /// A random sample of an automatic decision, for unbiased quality estimates.
    Audit,
    /// A live rule sent it to the ops heads.
    Escalation,
}

impl Route {
    /// The stored name (also the review queue's source).
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Uncertain => "uncertain",
            Route::Restricted => "restricted",
            Route::Audit => "audit",
            Route::Escalation => "escalation",
        }
    }
}

/// A decision, before it is stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub action: Action,
    /// The categories behind a reject or review.
    pub reasons: Vec<Category>,
    /// Whether (and why) a human sees it.
    pub route: Option<Route>,
    pub audit_sample: bool,
    /// The probability that this ad was sent to a human: the audit rate for automatic
    /// decisions, 1 for reviews. Quality estimates weigh samples by its inverse.
    pub sampling_probability: f64,
}

/// A band that never fires, used when a market × category has no thresholds.
const CLOSED: Band = Band {
    approve_below: 1.0,
    reject_at: 1.01,
};

/// Decides one ad. `draw` is a uniform random number in [0, 1) for audit sampling.
pub fn decide(rules: &Rules, market: Market, scores: &[f32; CATEGORIES], draw: f64) -> Verdict {
    let mut rejects = Vec::new();
    let mut uncertain = Vec::new();
    let mut restricted = Vec::new();
    for c in Category::ALL {
        let score = f64::from(scores[c.index()]);
        let band = rules.bands.get(&(market, c)).copied().unwrap_or(CLOSED);
        if score < band.approve_below {
            continue;
        }
        match rules
            .policy
            .get(&(market, c))
            .copied()
            .unwrap_or(Rule::Prohibited)
        {
            Rule::Allowed => {}
            Rule::Restricted => restricted.push(c),
            Rule::Prohibited if score >= band.reject_at => rejects.push(c),
            Rule::Prohibited => uncertain.push(c),
        }
    }
    let (action, reasons, route) = if !rejects.is_empty() {
        (Action::Reject, rejects, None)
    } else if !restricted.is_empty() {
        restricted.extend(uncertain);
        (Action::Review, restricted, Some(Route::Restricted))
    } else if !uncertain.is_empty() {
        (Action::Review, uncertain, Some(Route::Uncertain))
    } else {
        (Action::Approve, Vec::new(), None)
    };
    sampled(rules, action, reasons, route, draw)
}

/// The verdict with its audit draw: automatic decisions are sampled at their action's rate
/// (the same `draw` decides, so a rule that changes the action redraws nothing).
fn sampled(
    rules: &Rules,
    action: Action,
    reasons: Vec<Category>,
    route: Option<Route>,
    draw: f64,
) -> Verdict {
    let rate = match action {
        Action::Approve => rules.audit_rate_approve,
        Action::Reject => rules.audit_rate_reject,
        Action::Review => 1.0,
    };
    let audit_sample = action != Action::Review && draw < rate;
    Verdict {
        action,
        reasons,
        route: if audit_sample {
            Some(Route::Audit)
        } else {
            route
        },
        audit_sample,
        sampling_probability: rate,
    }
}

/// Applies what the live rules that matched an ad say to the model's verdict. Precedence,
/// most restrictive first: a rejection (the model's or a rule's) beats a review, which beats
/// an approval; rules never approve, so no rule can let through what policy prohibits. A
/// reject rule adds its categories to the model's own reasons. A review rule sends an ad the
/// model would approve to its queue; an ad the model already routes keeps the model's queue
/// (its reasons are the more specific). Flags and background rules never reach here.
/// `draw` must be the draw the model's verdict was sampled with.
pub fn overrule(
    rules: &Rules,
    model: Verdict,
    reject_for: &[Category],
    review_in: Option<Route>,
    draw: f64,
) -> Verdict {
    if !reject_for.is_empty() {
        let mut reasons = if model.action == Action::Reject {
            model.reasons
        } else {
            Vec::new()
        };
        for c in reject_for {
            if !reasons.contains(c) {
                reasons.push(*c);
            }
        }
        return sampled(rules, Action::Reject, reasons, None, draw);
    }
    match review_in {
        Some(route) if model.action == Action::Approve => {
            sampled(rules, Action::Review, Vec::new(), Some(route), draw)
        }
        _ => model,
    }
}

/// Default share of review capacity given to ads where the champion and a shadow challenger
/// disagree (`AMSO_LEARNING_SHARE`).
pub const DEFAULT_LEARNING_SHARE: f64 = 0.005;

/// How much two models disagree about an ad: the largest difference of their scores over the
/// categories, in [0, 1].
pub fn disagreement(a: &[f32; CATEGORIES], b: &[f32; CATEGORIES]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from((x - y).abs()))
        .fold(0.0, f64::max)
}

/// The learning share: besides the audit sample, an automatic decision goes to a human with
/// probability p = min(1, budget · d / Σd), d its [`disagreement`] with the challenger and
/// budget = `share` × the number of this batch's verdicts that already go to humans (so the
/// share is of review capacity, and the expected number drawn is the budget). The draw is
/// independent of the audit draw, so the ad's probability of being checked becomes
/// π = 1 − (1 − audit rate)(1 − p), which is what is recorded as its sampling probability:
/// precision and recall estimates (weights 1/π) stay unbiased and training rows keep the right
/// weights. `draws` are uniform in [0, 1), one per verdict. Answers how many were drawn.
pub fn learning_sample(
    verdicts: &mut [Verdict],
    champion: &[[f32; CATEGORIES]],
    challenger: &[[f32; CATEGORIES]],
    share: f64,
    draws: &[f64],
) -> usize {
    let to_humans = verdicts.iter().filter(|v| v.route.is_some()).count();
    let budget = share.max(0.0) * to_humans as f64;
    let automatic =
        |v: &Verdict| v.action != Action::Review && matches!(v.route, None | Some(Route::Audit));
    let d: Vec<f64> = champion
        .iter()
        .zip(challenger)
        .map(|(a, b)| disagreement(a, b))
        .collect();
    let total: f64 = verdicts
        .iter()
        .zip(&d)
        .filter(|(v, _)| automatic(v))
        .map(|(_, d)| d)
        .sum();
    if budget <= 0.0 || total <= 0.0 {
        return 0;
    }
    let mut drawn = 0;
    for ((v, d), draw) in verdicts.iter_mut().zip(&d).zip(draws) {
        if !automatic(v) || *d <= 0.0 {
            continue;
        }
        let p = (budget * d / total).min(1.0);
        v.sampling_probability = 1.0 - (1.0 - v.sampling_probability) * (1.0 - p);
        if !v.audit_sample && *draw < p {
            v.audit_sample = true;
            v.route = Some(Route::Audit);
            drawn += 1;
        }
    }
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        let mut r = Rules {
            thresholds_version: 1,
            audit_rate_approve: 0.02,
            audit_rate_reject: 0.05,
            ..Default::default()
        };
        for m in Market::ALL {
            for c in Category::ALL {
                r.bands.insert(
                    (m, c),
                    Band {
                        approve_below: 0.2,
                        reject_at: 0.8,
                    },
                );
                r.policy.insert((m, c), Rule::Prohibited);
            }
        }
        r.policy
            .insert((Market::Gb, Category::Alcohol), Rule::Restricted);
        r.policy
            .insert((Market::Us, Category::Alcohol), Rule::Allowed);
        r
    }

    fn scores(pairs: &[(Category, f32)]) -> [f32; CATEGORIES] {
        let mut s = [0.01; CATEGORIES];
        for (c, v) in pairs {
            s[c.index()] = *v;
        }
        s
    }

    #[test]
    fn clean_ads_are_approved_and_sometimes_audited() {
        let v = decide(&rules(), Market::De, &scores(&[]), 0.5);
        assert_eq!(
            (v.action, v.route, v.audit_sample),
            (Action::Approve, None, false)
        );
        assert_eq!(v.sampling_probability, 0.02);
        let v = decide(&rules(), Market::De, &scores(&[]), 0.01);
        assert_eq!(
            (v.action, v.route, v.audit_sample),
            (Action::Approve, Some(Route::Audit), true)
        );
    }

    #[test]
    fn prohibited_above_reject_threshold_is_rejected() {
        let v = decide(
            &rules(),
            Market::Ae,
            &scores(&[(Category::Scam, 0.93), (Category::Gambling, 0.5)]),
            0.9,
        );
        assert_eq!(v.action, Action::Reject);
        assert_eq!(v.reasons, vec![Category::Scam]);
        let v = decide(
            &rules(),
            Market::Ae,
            &scores(&[(Category::Scam, 0.93)]),
            0.04,
        );
        assert_eq!(
            (v.route, v.sampling_probability),
            (Some(Route::Audit), 0.05)
        );
    }

    #[test]
    fn the_uncertain_band_goes_to_review() {
        let v = decide(
            &rules(),
            Market::Jp,
            &scores(&[(Category::Gambling, 0.5)]),
            0.0,
        );
        assert_eq!(
            (v.action, v.route),
            (Action::Review, Some(Route::Uncertain))
        );
        assert_eq!(v.sampling_probability, 1.0);
        assert!(!v.audit_sample);
    }

    #[test]
    fn restricted_categories_always_get_a_human_and_allowed_ones_never_block() {
        let wine = scores(&[(Category::Alcohol, 0.97)]);
        let gb = decide(&rules(), Market::Gb, &wine, 0.9);
        assert_eq!(
            (gb.action, gb.route),
            (Action::Review, Some(Route::Restricted))
        );
        assert_eq!(
            decide(&rules(), Market::Us, &wine, 0.9).action,
            Action::Approve
        );
        assert_eq!(
            decide(&rules(), Market::Ae, &wine, 0.9).action,
            Action::Reject
        );
        // A prohibited hit outranks a restricted one.
        let both = scores(&[(Category::Alcohol, 0.97), (Category::Drugs, 0.9)]);
        assert_eq!(
            decide(&rules(), Market::Gb, &both, 0.9).action,
            Action::Reject
        );
    }

    #[test]
    fn rules_only_ever_tighten_a_decision() {
        let r = rules();
        let clean = scores(&[]);
        let approve = decide(&r, Market::De, &clean, 0.5);
        // A reject rule beats the model's approval and is sampled at the reject rate.
        let v = overrule(&r, approve.clone(), &[Category::Scam], None, 0.04);
        assert_eq!(
            (v.action, v.reasons.clone()),
            (Action::Reject, vec![Category::Scam])
        );
        assert_eq!(
            (v.route, v.sampling_probability),
            (Some(Route::Audit), 0.05)
        );
        // ... and beats a review rule and the model's own review.
        let uncertain = decide(&r, Market::Jp, &scores(&[(Category::Gambling, 0.5)]), 0.5);
        let v = overrule(
            &r,
            uncertain.clone(),
            &[Category::Scam],
            Some(Route::Escalation),
            0.5,
        );
        assert_eq!((v.action, v.route), (Action::Reject, None));
        // A review rule routes an approval, and leaves the model's routing alone.
        let v = overrule(&r, approve.clone(), &[], Some(Route::Escalation), 0.5);
        assert_eq!(
            (v.action, v.route, v.sampling_probability),
            (Action::Review, Some(Route::Escalation), 1.0)
        );
        assert_eq!(
            overrule(&r, uncertain.clone(), &[], Some(Route::Escalation), 0.5),
            uncertain
        );
        // A model rejection stays one whatever a review rule says; its reasons gain the rule's.
        let reject = decide(&r, Market::Ae, &scores(&[(Category::Weapons, 0.95)]), 0.5);
        assert_eq!(
            overrule(&r, reject.clone(), &[], Some(Route::Uncertain), 0.5),
            reject
        );
        let v = overrule(&r, reject, &[Category::Scam, Category::Weapons], None, 0.5);
        assert_eq!(v.reasons, vec![Category::Weapons, Category::Scam]);
        // Nothing matched: the model's verdict as it was.
        assert_eq!(overrule(&r, approve.clone(), &[], None, 0.5), approve);
    }

    fn automatic(action: Action, p: f64) -> Verdict {
        Verdict {
            action,
            reasons: Vec::new(),
            route: None,
            audit_sample: false,
            sampling_probability: p,
        }
    }

    #[test]
    fn the_learning_share_draws_where_the_models_disagree_and_records_the_probability() {
        let mut scores_b = [[0.0f32; CATEGORIES]; 4];
        scores_b[1][2] = 0.8; // strong disagreement
        scores_b[2][5] = 0.2; // weak disagreement
        let scores_a = [[0.0f32; CATEGORIES]; 4];
        let mut review = automatic(Action::Review, 1.0);
        review.route = Some(Route::Uncertain);
        let fresh = || {
            vec![
                automatic(Action::Approve, 0.02),
                automatic(Action::Approve, 0.02),
                automatic(Action::Reject, 0.05),
                review.clone(),
            ]
        };
        // One verdict goes to humans: budget = 0.5 × 1; d = (0, 0.8, 0.2), Σd = 1.
        let mut v = fresh();
        let n = learning_sample(&mut v, &scores_a, &scores_b, 0.5, &[0.0, 0.39, 0.11, 0.0]);
        assert_eq!(n, 1, "{v:?}");
        assert_eq!(
            v[0].sampling_probability, 0.02,
            "no disagreement, no change"
        );
        assert!(!v[0].audit_sample);
        // p = 0.4: π = 1 − 0.98 × 0.6; drawn (0.39 < 0.4).
        assert!((v[1].sampling_probability - (1.0 - 0.98 * 0.6)).abs() < 1e-12);
        assert!(v[1].audit_sample && v[1].route == Some(Route::Audit));
        // p = 0.1: π = 1 − 0.95 × 0.9; not drawn (0.11 ≥ 0.1) but the probability is kept.
        assert!((v[2].sampling_probability - (1.0 - 0.95 * 0.9)).abs() < 1e-12);
        assert!(!v[2].audit_sample);
        assert_eq!(v[3].sampling_probability, 1.0, "reviews are untouched");
        // No share, or nothing going to humans: nothing changes.
        let mut v = fresh();
        assert_eq!(
            learning_sample(&mut v, &scores_a, &scores_b, 0.0, &[0.0; 4]),
            0
        );
        assert_eq!(v, fresh());
        let mut v = fresh()[..3].to_vec();
        assert_eq!(
            learning_sample(&mut v, &scores_a[..3], &scores_b[..3], 0.5, &[0.0; 3]),
            0
        );
    }

    #[test]
    fn the_learning_share_draws_the_budget_on_average() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let mut drawn = 0;
        let rounds = 4000;
        for _ in 0..rounds {
            let a: Vec<[f32; CATEGORIES]> = (0..50).map(|_| [rng.r#gen(); CATEGORIES]).collect();
            let b: Vec<[f32; CATEGORIES]> = (0..50).map(|_| [rng.r#gen(); CATEGORIES]).collect();
            let mut v: Vec<Verdict> = (0..50).map(|_| automatic(Action::Approve, 0.0)).collect();
            for x in v.iter_mut().take(10) {
                x.action = Action::Review;
                x.route = Some(Route::Uncertain);
            }
            let draws: Vec<f64> = (0..50).map(|_| rng.r#gen()).collect();
            drawn += learning_sample(&mut v, &a, &b, 0.1, &draws);
        }
        // Budget 0.1 × 10 = 1 a round.
        let mean = drawn as f64 / rounds as f64;
        assert!((mean - 1.0).abs() < 0.06, "{mean}");
    }
}
