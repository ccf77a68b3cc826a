//! How the dashboards show estimates and changes: an estimate with its interval or "too few
//! samples", and changes against the previous window with their direction and whether that is
//! good. Plain numbers are written by `amso_core::metrics::format`, as everywhere else.

pub use amso_core::metrics::format::{NONE, category, duration, int, money, pct};
use amso_core::metrics::kpi::Estimate;

/// An estimate for a table cell or tile: the value, its interval and sample, or why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EstimateText {
    /// No sample at all.
    Missing,
    /// Fewer than 20 effective samples: `too few samples (n=4)`.
    TooFew(String),
    /// value `93.4%`, interval `90.1–95.8%`, sample `n = 412`.
    Shown {
        value: String,
        interval: String,
        n: String,
    },
}

/// How an estimate is written.
pub fn estimate(e: Option<&Estimate>) -> EstimateText {
    match e {
        None => EstimateText::Missing,
        Some(e) if !e.enough() => EstimateText::TooFew(format!("too few samples (n={})", int(e.n))),
        Some(e) => EstimateText::Shown {
            value: pct(Some(e.value)),
            interval: format!("{:.1}–{:.1}%", e.low * 100.0, e.high * 100.0),
            // A model-assisted figure known almost exactly has an effective n in the billions.
            n: if e.n >= 1e6 {
                "n > 1,000,000".to_string()
            } else {
                format!("n = {}", int(e.n))
            },
        },
    }
}

/// The value of an estimate that rests on enough samples.
pub fn confident(e: Option<&Estimate>) -> Option<f64> {
    e.filter(|e| e.enough()).map(|e| e.value)
}

/// Which way a figure should move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Up,
    Down,
    /// Neither direction is good or bad in itself (volume).
    Neither,
}

/// A change against the previous window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delta {
    /// `▲ 1.2 pts`, `▼ 3.4%`, `= 0.0 pts`.
    pub text: String,
    /// `delta-good`, `delta-bad` or `delta-flat`.
    pub class: &'static str,
    /// The same in words, for the tooltip and screen readers: `up 1.2 points, better`.
    pub words: String,
}

fn delta(change: f64, shown: String, points: bool, better: Better) -> Delta {
    // A change too small to show at this precision is no change.
    let flat = shown.parse::<f64>().is_ok_and(|v| v == 0.0);
    let (arrow, way) = match (flat, change > 0.0) {
        (true, _) => ("=", "unchanged"),
        (false, true) => ("▲", "up"),
        (false, false) => ("▼", "down"),
    };
    let class = match (better, way) {
        (Better::Up, "up") | (Better::Down, "down") => "delta-good",
        (Better::Up, "down") | (Better::Down, "up") => "delta-bad",
        _ => "delta-flat",
    };
    let magnitude = shown.trim_start_matches('-');
    let words = match (way, class) {
        ("unchanged", _) => "unchanged".to_string(),
        (_, "delta-good") => format!(
            "{way} {magnitude}{}, better",
            if points { " points" } else { "%" }
        ),
        (_, "delta-bad") => format!(
            "{way} {magnitude}{}, worse",
            if points { " points" } else { "%" }
        ),
        _ => format!("{way} {magnitude}{}", if points { " points" } else { "%" }),
    };
    Delta {
        text: format!("{arrow} {magnitude}{}", if points { " pts" } else { "%" }),
        class,
        words,
    }
}

/// The change of a share in percentage points (`▲ 1.2 pts`); None without both values.
pub fn delta_points(current: Option<f64>, previous: Option<f64>, better: Better) -> Option<Delta> {
    let change = (current? - previous?) * 100.0;
    change
        .is_finite()
        .then(|| delta(change, format!("{change:.1}"), true, better))
}

/// The relative change of an amount (`▼ 3.4%`); None without both values or when the
/// previous one is 0.
pub fn delta_relative(
    current: Option<f64>,
    previous: Option<f64>,
    better: Better,
) -> Option<Delta> {
    let (c, p) = (current?, previous?);
    let change = amso_core::metrics::kpi::relative_change(c, p)? * 100.0;
    change
        .is_finite()
        .then(|| delta(change, format!("{change:.1}"), false, better))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_samples_are_not_shown_as_numbers() {
        let few = Estimate {
            value: 0.9,
            low: 0.6,
            high: 0.98,
            n: 4.2,
        };
        assert_eq!(
            estimate(Some(&few)),
            EstimateText::TooFew("too few samples (n=4)".into())
        );
        let many = Estimate {
            value: 0.934,
            low: 0.901,
            high: 0.958,
            n: 412.0,
        };
        assert_eq!(
            estimate(Some(&many)),
            EstimateText::Shown {
                value: "93.4%".into(),
                interval: "90.1–95.8%".into(),
                n: "n = 412".into()
            }
        );
        assert_eq!(confident(Some(&few)), None);
    }

    #[test]
    fn changes_say_which_way_and_whether_good() {
        let d = delta_points(Some(0.82), Some(0.80), Better::Up).unwrap();
        assert_eq!(d.text, "▲ 2.0 pts");
        assert_eq!(d.class, "delta-good");
        assert_eq!(d.words, "up 2.0 points, better");
        let d = delta_points(Some(0.05), Some(0.04), Better::Down).unwrap();
        assert_eq!(d.class, "delta-bad");
        let d = delta_relative(Some(90.0), Some(100.0), Better::Down).unwrap();
        assert_eq!(d.text, "▼ 10.0%");
        assert_eq!(d.class, "delta-good");
        let d = delta_relative(Some(100.01), Some(100.0), Better::Up).unwrap();
        assert_eq!(d.text, "= 0.0%");
        assert_eq!(d.class, "delta-flat");
        assert!(delta_relative(Some(5.0), Some(0.0), Better::Up).is_none());
        assert_eq!(
            delta_relative(Some(110.0), Some(100.0), Better::Neither)
                .unwrap()
                .class,
            "delta-flat"
        );
    }
}
