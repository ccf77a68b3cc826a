//! Time as the database stores it: milliseconds since the Unix epoch, UTC.

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the Unix epoch, the unit of every stored timestamp.
pub type Millis = i64;

/// The current time in stored form.
pub fn now_millis() -> Millis {
    Utc::now().timestamp_millis()
}

/// A stored timestamp as a UTC date-time (the epoch if out of range).
pub fn to_datetime(ms: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A stored timestamp as RFC 3339 UTC text, to the second.
pub fn to_rfc3339(ms: Millis) -> String {
    to_datetime(ms).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The years a date typed by a person or a client may fall in. Dates outside are refused
/// (400) before any arithmetic: a window reaching year −200000 overflows date types.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2200;

/// Refuses a date outside [`YEARS`], naming the field.
pub fn check_year(year: i32, what: &str) -> Result<(), String> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(format!(
            "{what} must fall between {} and {}",
            YEARS.start(),
            YEARS.end()
        ))
    }
}
