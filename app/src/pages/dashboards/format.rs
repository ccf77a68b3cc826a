//! How the dashboards write numbers: counts with thousands separators, shares as percent
//! with one decimal, money as `$1,234` (cents under $100), durations as `3 h 12 min`, and
//! changes against the previous window with their direction and whether that is good.

use amso_core::kpi::Estimate;

/// Shown where there is no figure.
pub const NONE: &str = "—";

/// A whole number with thousands separators: `20,418` (rounded; negative keeps its sign).
pub fn int(x: f64) -> String {
    if !x.is_finite() {
        return NONE.into();
    }
    let n = x.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A share in [0, 1] as a percentage with one decimal: `93.4%`; `—` when absent.
pub fn pct(share: Option<f64>) -> String {
    match share {
        Some(s) if s.is_finite() => format!("{:.1}%", s * 100.0),
        _ => NONE.into(),
    }
}

/// USD: `$1,234` from $100 up, `$12.34` below.
pub fn money(usd: f64) -> String {
    if !usd.is_finite() {
        return NONE.into();
    }
    if usd.abs() >= 99.995 {
        let s = int(usd);
        match s.strip_prefix('-') {
            Some(rest) => format!("-${rest}"),
            None => format!("${s}"),
        }
    } else if usd < 0.0 {
        format!("-${:.2}", -usd)
    } else {
        format!("${usd:.2}")
    }
}

/// A duration in seconds, in the two largest units: `45 s`, `12 min`, `3 h 12 min`,
/// `2 d 5 h`; `—` when absent.
pub fn duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds.filter(|s| s.is_finite() && *s >= 0.0) else {
        return NONE.into();
    };
    let s = s.round() as i64;
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// A category name as people write it (`health_claims` → `health claims`).
pub fn category(c: &str) -> String {
    c.replace('_', " ")
}

/// An RFC 3339 UTC time as `2026-11-24 14:03 UTC`.
pub fn utc_minute(rfc3339: &str) -> String {
    let t = rfc3339.replace('T', " ");
    let minute = t.get(..16).unwrap_or(&t);
    format!("{minute} UTC")
}

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
            n: format!("n = {}", int(e.n)),
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
    let change = amso_core::kpi::relative_change(c, p)? * 100.0;
    change
        .is_finite()
        .then(|| delta(change, format!("{change:.1}"), false, better))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(int(20418.0), "20,418");
        assert_eq!(int(999.4), "999");
        assert_eq!(int(1_000_000.0), "1,000,000");
        assert_eq!(int(-1234.0), "-1,234");
        assert_eq!(int(0.0), "0");
    }

    #[test]
    fn money_shows_cents_only_under_a_hundred() {
        assert_eq!(money(1234.4), "$1,234");
        assert_eq!(money(12.345), "$12.35");
        assert_eq!(money(0.0), "$0.00");
        assert_eq!(money(100.0), "$100");
        assert_eq!(money(99.999), "$100");
    }

    #[test]
    fn durations_use_two_units() {
        assert_eq!(duration(Some(45.0)), "45 s");
        assert_eq!(duration(Some(720.0)), "12 min");
        assert_eq!(duration(Some(3.0 * 3600.0 + 12.0 * 60.0)), "3 h 12 min");
        assert_eq!(duration(Some(7200.0)), "2 h");
        assert_eq!(
            duration(Some(2.0 * 86_400.0 + 5.0 * 3600.0 + 59.0)),
            "2 d 5 h"
        );
        assert_eq!(duration(None), "—");
    }

    #[test]
    fn shares_have_one_decimal() {
        assert_eq!(pct(Some(0.9341)), "93.4%");
        assert_eq!(pct(None), "—");
    }

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

    #[test]
    fn times_read_to_the_minute() {
        assert_eq!(utc_minute("2026-11-24T14:03:59Z"), "2026-11-24 14:03 UTC");
    }
}
