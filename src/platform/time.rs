//! Time as the database stores it: milliseconds since the Unix epoch, UTC.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
pub use chrono_tz::Tz;

/// Milliseconds since the Unix epoch, the unit of every stored timestamp.
pub type Millis = i64;

/// The current time in stored form: the system clock, or the rehearsal clock when
/// `AMSO_CLOCK_START` is set (see [`clock_offset`]).
pub fn now_millis() -> Millis {
    Utc::now().timestamp_millis() + clock_offset()
}

/// Milliseconds this process's clock runs ahead of (or behind) the system's. With
/// `AMSO_CLOCK_START=2026-12-04T14:59:45Z` the process's clock reads that instant when it
/// first asks the time and runs on from there at the system clock's pace: a rehearsal of a
/// day boundary, or a browser test that must cross one. Unset (the normal case): 0. The
/// configuration refuses a value that does not parse, and any value in production.
pub fn clock_offset() -> Millis {
    static OFFSET: std::sync::OnceLock<Millis> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| match std::env::var("AMSO_CLOCK_START") {
        Err(_) => 0,
        Ok(start) if start.trim().is_empty() => 0,
        Ok(start) => match DateTime::parse_from_rfc3339(start.trim()) {
            Ok(at) => {
                let offset = at.timestamp_millis() - Utc::now().timestamp_millis();
                tracing::warn!(start = %start, offset_ms = offset, "AMSO_CLOCK_START: this process runs on a rehearsal clock");
                offset
            }
            Err(_) => 0,
        },
    })
}

/// An instant as `YYYY-MM-DD HH:MM` on the wall clocks of `tz`.
pub fn local_minute(ms: Millis, tz: Tz) -> String {
    to_datetime(ms)
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M")
        .to_string()
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
    fn an_instant_reads_on_each_zones_wall_clock() {
        let at = ms("2026-12-03T14:59:30Z");
        assert_eq!(local_minute(at, Tz::UTC), "2026-12-03 14:59");
        assert_eq!(
            local_minute(at, "Asia/Tokyo".parse().unwrap()),
            "2026-12-03 23:59"
        );
        assert_eq!(
            local_minute(at + 30_000, "Asia/Tokyo".parse().unwrap()),
            "2026-12-04 00:00"
        );
        assert_eq!(
            local_minute(at, "Asia/Kolkata".parse().unwrap()),
            "2026-12-03 20:29"
        );
        // Los Angeles in summer time (UTC-7) and after falling back (UTC-8).
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        assert_eq!(
            local_minute(ms("2026-07-01T12:00:00Z"), la),
            "2026-07-01 05:00"
        );
        assert_eq!(
            local_minute(ms("2026-12-01T12:00:00Z"), la),
            "2026-12-01 04:00"
        );
        // The repeated hour of 2026-11-01: 08:30 and 09:30 UTC both read 01:30.
        assert_eq!(
            local_minute(ms("2026-11-01T08:30:00Z"), la),
            "2026-11-01 01:30"
        );
        assert_eq!(
            local_minute(ms("2026-11-01T09:30:00Z"), la),
            "2026-11-01 01:30"
        );
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
