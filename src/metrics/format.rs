//! How every figure is written, in pages, charts and the weekly report alike: counts with
//! thousands separators, shares as percent with one decimal, money as `$1,234` (cents under
//! $100), durations in their two largest units, changes with their sign, and `—` where there is
//! no figure.

use crate::metrics::kpi;

/// Shown where there is no figure.
pub const NONE: &str = "—";

/// A whole number with thousands separators: `20,418` (rounded; negative keeps its sign).
pub fn int(x: f64) -> String {
    if !x.is_finite() {
        return NONE.into();
    }
    group_thousands(&format!("{:.0}", x.round()))
}

/// An integer written in digits (optionally signed) with commas between thousands.
pub fn group_thousands(digits: &str) -> String {
    let (sign, digits) = digits
        .strip_prefix('-')
        .map_or(("", digits), |rest| ("-", rest));
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}")
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

/// A change in percentage points: `+1.2 pts`.
pub fn pts(now: Option<f64>, before: Option<f64>) -> String {
    match (now, before) {
        (Some(a), Some(b)) if (a - b).is_finite() => format!("{:+.1} pts", (a - b) * 100.0),
        _ => NONE.into(),
    }
}

/// A relative change: `+4.0%`.
pub fn change(now: f64, before: f64) -> String {
    kpi::relative_change(now, before).map_or_else(|| NONE.into(), |c| format!("{:+.1}%", c * 100.0))
}

/// A share with its interval on one line: `91.2% (88.0–93.6%)`.
pub fn estimate_line(e: Option<kpi::Estimate>) -> String {
    e.map_or_else(
        || NONE.into(),
        |e| {
            format!(
                "{:.1}% ({:.1}–{:.1}%)",
                e.value * 100.0,
                e.low * 100.0,
                e.high * 100.0
            )
        },
    )
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
    fn times_read_to_the_minute() {
        assert_eq!(utc_minute("2026-11-24T14:03:59Z"), "2026-11-24 14:03 UTC");
    }

    #[test]
    fn changes_and_lines_have_their_signs() {
        assert_eq!(pts(Some(0.82), Some(0.80)), "+2.0 pts");
        assert_eq!(pts(None, Some(0.80)), NONE);
        assert_eq!(change(90.0, 100.0), "-10.0%");
        assert_eq!(change(5.0, 0.0), NONE);
        assert_eq!(group_thousands("-1234567"), "-1,234,567");
    }
}
