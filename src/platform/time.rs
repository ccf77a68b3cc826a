//! Time as the database stores it: milliseconds since the Unix epoch, UTC.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

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

/// The first instant of `date` in `tz`: midnight, or where a DST change skips midnight, the
/// first local time that exists after it.
pub fn local_midnight(date: NaiveDate, tz: Tz) -> Millis {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.timestamp_millis()
        }
        chrono::LocalResult::None => tz
            .from_local_datetime(&(midnight + Duration::hours(1)))
            .earliest()
            .map_or(0, |t| t.timestamp_millis()),
    }
}

/// The local date at `at` in `tz`.
pub fn local_date(at: Millis, tz: Tz) -> NaiveDate {
    tz.from_utc_datetime(&to_datetime(at).naive_utc())
        .date_naive()
}

/// A time zone by IANA name; UTC for a name that is not one (stored names are checked when
/// saved, so this only happens to a name a newer database wrote).
pub fn zone_or_utc(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// The start of the local day (in `tz`) that holds `at`, and of the `days - 1` days before
/// it: `[from, to)` covers the last `days` local days up to the end of today. Days are
/// calendar days, 23 or 25 hours long across a DST change.
pub fn local_days(at: Millis, tz: Tz, days: i64) -> (Millis, Millis) {
    let today = local_date(at, tz);
    let first = today - Duration::days(days.max(1) - 1);
    (
        local_midnight(first, tz),
        local_midnight(today + Duration::days(1), tz),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> Millis {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn a_day_starts_at_local_midnight_in_each_zone() {
        // 2026-12-03 16:30 UTC is already the 4th in Tokyo, still the 3rd in Los Angeles.
        let at = ms("2026-12-03T16:30:00Z");
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        assert_eq!(local_days(at, tokyo, 1).0, ms("2026-12-03T15:00:00Z"));
        assert_eq!(local_days(at, tokyo, 1).1, ms("2026-12-04T15:00:00Z"));
        assert_eq!(local_days(at, la, 1).0, ms("2026-12-03T08:00:00Z"));
        assert_eq!(local_days(at, Tz::UTC, 1).0, ms("2026-12-03T00:00:00Z"));
        // One millisecond before Tokyo midnight is still the earlier day.
        assert_eq!(
            local_days(ms("2026-12-03T14:59:59.999Z"), tokyo, 1).0,
            ms("2026-12-02T15:00:00Z")
        );
        // Seven days back, Kolkata's half-hour offset kept.
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(local_days(at, kolkata, 7).0, ms("2026-11-26T18:30:00Z"));
    }

    #[test]
    fn days_across_a_dst_change_are_calendar_days() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Sunday 2026-03-29 lasts 23 hours in Berlin, Sunday 2026-10-25 lasts 25.
        let spring = local_days(ms("2026-03-29T12:00:00Z"), berlin, 1);
        assert_eq!(
            spring,
            (ms("2026-03-28T23:00:00Z"), ms("2026-03-29T22:00:00Z"))
        );
        let autumn = local_days(ms("2026-10-25T12:00:00Z"), berlin, 1);
        assert_eq!(
            autumn,
            (ms("2026-10-24T22:00:00Z"), ms("2026-10-25T23:00:00Z"))
        );
        // A week back over the spring change: 7 × 24 − 1 hours.
        let week = local_days(ms("2026-04-01T12:00:00Z"), berlin, 7);
        assert_eq!(week.1 - week.0, (7 * 24 - 1) * 3_600_000);
        // São Paulo has no DST any more; Santiago skips midnight itself in September.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let skipped = local_days(ms("2026-09-06T12:00:00Z"), santiago, 1).0;
        assert_eq!(skipped, ms("2026-09-06T04:00:00Z"));
    }

    #[test]
    fn an_unknown_zone_reads_as_utc() {
        assert_eq!(zone_or_utc("Asia/Tokyo").name(), "Asia/Tokyo");
        assert_eq!(zone_or_utc("Mars/Base"), Tz::UTC);
    }
}
