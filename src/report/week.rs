//! ISO weeks in the reporting time zone: parsing `2026-W47`, a week's window as UTC instants,
//! and time-zone names.

use super::ReportError;
use crate::dashboard::view::Window;
use crate::platform::time::{Millis, local_midnight};
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Weekday};
use chrono_tz::Tz;

/// An ISO 8601 week, `2026-W47`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    pub year: i32,
    pub week: u32,
}

impl std::fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

impl std::str::FromStr for IsoWeek {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ReportError::Invalid(format!("week must look like 2026-W47, not {s:?}"));
        let (y, w) = s.trim().split_once(['W', 'w']).ok_or_else(bad)?;
        let year: i32 = y.trim_end_matches('-').parse().map_err(|_| bad())?;
        let week: u32 = w.parse().map_err(|_| bad())?;
        crate::platform::time::check_year(year, "the week").map_err(ReportError::Invalid)?;
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)
            .map(|_| IsoWeek { year, week })
            .ok_or_else(|| ReportError::Invalid(format!("{year} has no ISO week {week}")))
    }
}

impl IsoWeek {
    /// The week a date falls in.
    pub fn of(date: NaiveDate) -> IsoWeek {
        let w = date.iso_week();
        IsoWeek {
            year: w.year(),
            week: w.week(),
        }
    }

    pub fn monday(self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon).expect("checked on parse")
    }

    /// The week `n` weeks later (negative: earlier).
    pub fn plus(self, n: i64) -> IsoWeek {
        IsoWeek::of(self.monday() + Duration::weeks(n))
    }

    /// The last complete week at `now` in `tz`: the week before the current one.
    pub fn last_complete(now: Millis, tz: Tz) -> IsoWeek {
        let today = tz
            .timestamp_millis_opt(now)
            .single()
            .map(|t| t.date_naive())
            .unwrap_or_default();
        IsoWeek::of(today - Duration::weeks(1))
    }

    /// Monday 00:00 of this week in `tz`, as epoch milliseconds.
    pub fn start_ms(self, tz: Tz) -> Millis {
        local_midnight(self.monday(), tz)
    }

    /// The window Monday..Sunday in `tz` (exact instants; local dates as labels).
    pub fn window(self, tz: Tz) -> Window {
        self.span(1, tz)
    }

    /// The window of `weeks` weeks starting with this one.
    pub fn span(self, weeks: i64, tz: Tz) -> Window {
        let first = self.monday();
        let last = first + Duration::weeks(weeks) - Duration::days(1);
        crate::dashboard::filter::days_window_in(first, last, tz)
    }
}

/// A reporting time zone by IANA name (`UTC`, `Europe/Berlin`).
pub fn time_zone(name: &str) -> Result<Tz, ReportError> {
    let name = if name.trim().is_empty() {
        "UTC"
    } else {
        name.trim()
    };
    name.parse::<Tz>()
        .map_err(|_| ReportError::Invalid(format!("unknown time zone {name:?}")))
}
