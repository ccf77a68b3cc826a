//! The emerging-risk radar: which terms, landing domains and advertisers rose most in a
//! market's share of ads (last 24 hours, last 7 days) against the 28 days before, ranked by
//! harm — where the model is blind first.
//!
//! Counts are kept incrementally (`store`): per UTC day × market, the ads carrying each term
//! (word unigrams and bigrams of the model's normalised tokens), registrable landing domain
//! and advertiser, bounded to the most frequent values of each day, with the human verdicts
//! those ads got. A check ranks them ([`rank`]) and keeps the result; pages read the result.
//!
//! Significance is Dunning's log-likelihood ratio G² on the 2×2 table (ads with the value /
//! without it) × (window / baseline): an entry needs at least [`MIN_COUNT`] ads in the
//! window, a higher share than before, and G² ≥ [`G2_MIN`] (p < 0.001 for one degree of
//! freedom), which keeps rare noise out whatever the lift.

#[cfg(feature = "server")]
pub mod store;

use serde::{Deserialize, Serialize};

/// Fewest ads in the window for an entry.
pub const MIN_COUNT: i64 = 5;
/// Least G² for an entry (χ² with one degree of freedom at p = 0.001).
pub const G2_MIN: f64 = 10.83;

/// What a radar entry is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Term,
    Domain,
    Advertiser,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Term, Kind::Domain, Kind::Advertiser];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Term => "term",
            Kind::Domain => "domain",
            Kind::Advertiser => "advertiser",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The windows the radar compares with the 28 days before them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Window {
    /// The current and the previous UTC day.
    #[serde(rename = "24h")]
    Day,
    /// The current UTC day and the six before it.
    #[serde(rename = "7d")]
    Week,
}

impl Window {
    pub const ALL: [Window; 2] = [Window::Day, Window::Week];

    /// The stored and typed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Day => "24h",
            Window::Week => "7d",
        }
    }

    /// Parses `24h` or `7d`.
    pub fn parse(s: &str) -> Option<Window> {
        Window::ALL.into_iter().find(|w| w.as_str() == s.trim())
    }

    /// UTC days in the window, today included.
    pub fn days(self) -> i64 {
        match self {
            Window::Day => 2,
            Window::Week => 7,
        }
    }
}

/// Baseline days before a window.
pub const BASELINE_DAYS: i64 = 28;

/// One ranked entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub rank: i64,
    pub kind: Kind,
    pub value: String,
    /// A market code, or `*` for all markets.
    pub market: String,
    /// Ads carrying it in the window, and in the 28 days before.
    pub count_now: i64,
    pub count_before: i64,
    /// Its share of the market's ads, now and before.
    pub share_now: f64,
    pub share_before: f64,
    /// share_now / share_before, each smoothed by half an ad.
    pub lift: f64,
    /// Dunning's G².
    pub g2: f64,
    /// Human reviews of its ads (window and baseline), and how many rejected.
    pub reviewed: i64,
    pub rejected: i64,
    /// rejected / reviewed, when reviewed.
    pub rejected_share: Option<f64>,
    /// Share of its ads in the window the model scored ≥ 0.5 on some category.
    pub model_high_share: f64,
    /// Its ads the model approved that humans (audits, appeals) rejected.
    pub gap: i64,
    /// The ranking score: G² × (0.1 + harm), harm the rejected share (or the model's high
    /// share before any review).
    pub score: f64,
}

/// x·ln(x), 0 at 0.
fn xlnx(x: f64) -> f64 {
    if x <= 0.0 { 0.0 } else { x * x.ln() }
}

/// Dunning's log-likelihood ratio G² of a 2×2 table: `a` of `n1` in the window carry the
/// value, `b` of `n2` in the baseline. 0 when a margin is empty.
pub fn g2(a: f64, n1: f64, b: f64, n2: f64) -> f64 {
    let (c, d) = ((n1 - a).max(0.0), (n2 - b).max(0.0));
    let n = a + b + c + d;
    if n <= 0.0 || a + b <= 0.0 || c + d <= 0.0 || n1 <= 0.0 || n2 <= 0.0 {
        return 0.0;
    }
    let g = 2.0
        * (xlnx(a) + xlnx(b) + xlnx(c) + xlnx(d) + xlnx(n)
            - xlnx(a + b)
            - xlnx(c + d)
            - xlnx(a + c)
            - xlnx(b + d));
    g.max(0.0)
}

/// The counts behind an entry, before ranking.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    pub now: i64,
    pub before: i64,
    pub model_high_now: i64,
    pub reviewed: i64,
    pub rejected: i64,
    pub gap: i64,
}

/// The entry these counts make in a market whose window and baseline hold `total_now` and
/// `total_before` ads, or None when it did not rise significantly.
pub fn entry(
    kind: Kind,
    value: &str,
    market: &str,
    c: &Counts,
    total_now: i64,
    total_before: i64,
) -> Option<Entry> {
    if c.now < MIN_COUNT || total_now <= 0 {
        return None;
    }
    let share_now = c.now as f64 / total_now as f64;
    let share_before = if total_before > 0 {
        c.before as f64 / total_before as f64
    } else {
        0.0
    };
    if share_now <= share_before {
        return None;
    }
    let g = g2(
        c.now as f64,
        total_now as f64,
        c.before as f64,
        total_before.max(0) as f64,
    );
    if g < G2_MIN {
        return None;
    }
    let lift = ((c.now as f64 + 0.5) / (total_now as f64 + 1.0))
        / ((c.before as f64 + 0.5) / (total_before.max(0) as f64 + 1.0));
    let rejected_share = (c.reviewed > 0).then(|| c.rejected as f64 / c.reviewed as f64);
    let model_high_share = c.model_high_now as f64 / c.now as f64;
    let harm = match rejected_share {
        Some(r) if c.reviewed >= 3 => r,
        _ => model_high_share,
    };
    Some(Entry {
        rank: 0,
        kind,
        value: value.to_string(),
        market: market.to_string(),
        count_now: c.now,
        count_before: c.before,
        share_now,
        share_before,
        lift,
        g2: g,
        reviewed: c.reviewed,
        rejected: c.rejected,
        rejected_share,
        model_high_share,
        gap: c.gap,
        score: g * (0.1 + harm),
    })
}

/// Orders entries: those where the model is blind (approved ads that humans rejected) first,
/// by how many; then by score. Ranks from 1.
pub fn rank(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by(|a, b| {
        (b.gap > 0)
            .cmp(&(a.gap > 0))
            .then(b.gap.cmp(&a.gap))
            .then(b.score.total_cmp(&a.score))
            .then(a.value.cmp(&b.value))
    });
    for (i, e) in entries.iter_mut().enumerate() {
        e.rank = i as i64 + 1;
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g2_matches_a_hand_worked_table() {
        // 10 of 100 now, 10 of 1,000 before. Expected counts (row × column / 1,100): 1.818,
        // 98.18, 18.18, 981.8; G² = 2 Σ O ln(O/E) = 2 (17.05 − 7.83 − 5.98 + 8.22) = 22.91.
        let g = g2(10.0, 100.0, 10.0, 1000.0);
        assert!((g - 22.91).abs() < 0.01, "{g}");
        // Equal shares: nothing.
        assert!(g2(10.0, 100.0, 100.0, 1000.0) < 1e-9);
        assert_eq!(g2(0.0, 0.0, 5.0, 10.0), 0.0);
    }

    #[test]
    fn rare_noise_stays_out_and_real_rises_get_in() {
        let c = |now, before| Counts {
            now,
            before,
            ..Default::default()
        };
        // 4 ads: under the minimum count, whatever the lift.
        assert!(entry(Kind::Term, "x", "ID", &c(4, 0), 1000, 28000).is_none());
        // 6 of 1,000 now against 120 of 28,000 (0.43%) before: not significant.
        assert!(entry(Kind::Term, "x", "ID", &c(6, 120), 1000, 28000).is_none());
        // Falling: out.
        assert!(entry(Kind::Term, "x", "ID", &c(10, 1000), 1000, 28000).is_none());
        // 40 of 1,000 now against 28 of 28,000 before: in, lift ~ 40.
        let e = entry(Kind::Term, "investasi", "ID", &c(40, 28), 1000, 28000).unwrap();
        assert!(e.g2 > 100.0 && e.lift > 30.0, "{e:?}");
    }

    #[test]
    fn blind_spots_rank_first() {
        let mk = |value: &str, gap, score| Entry {
            rank: 0,
            kind: Kind::Term,
            value: value.into(),
            market: "ID".into(),
            count_now: 10,
            count_before: 0,
            share_now: 0.1,
            share_before: 0.0,
            lift: 10.0,
            g2: 20.0,
            reviewed: 0,
            rejected: 0,
            rejected_share: None,
            model_high_share: 0.0,
            gap,
            score,
        };
        let ranked = rank(vec![
            mk("loud", 0, 500.0),
            mk("blind", 2, 5.0),
            mk("blinder", 7, 1.0),
        ]);
        let order: Vec<&str> = ranked.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(order, ["blinder", "blind", "loud"]);
        assert_eq!(ranked[2].rank, 3);
    }
}
