//! What a dashboard page asks for: the window, markets, categories and model of its URL, resolved
//! into a filter (calendar days of the viewer's zone, read from daily rollups when they are
//! whole UTC days and from hourly ones otherwise) and checked.

use crate::dashboard::view::{Selection, Window};
use crate::platform::time::Millis;
use crate::platform::time::{local_date, local_midnight, zone_or_utc};
use crate::rollup::HOUR_MS;
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use chrono::{Datelike, Duration, NaiveDate};
use chrono_tz::Tz;

pub(super) const DAY_MS: i64 = 24 * HOUR_MS;

/// Why a selection cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// A window of whole days and the slices to show.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub window: Window,
    pub market: Option<Market>,
    pub category: Option<Category>,
    pub model: Option<String>,
}

impl Filter {
    /// The same slices over another window.
    pub fn with_window(&self, window: Window) -> Filter {
        Filter {
            window,
            ..self.clone()
        }
    }

    /// Whether the window is whole UTC days (then the daily rollups answer it); a window in
    /// another time zone (the weekly report's) is read from the hourly ones.
    pub fn whole_utc_days(&self) -> bool {
        self.window.from_ms.rem_euclid(DAY_MS) == 0 && self.window.to_ms.rem_euclid(DAY_MS) == 0
    }

    /// The key column of the rollups that answer the window, and its range `[from, to)`.
    fn span(&self) -> (&'static str, i64, i64) {
        let unit = if self.whole_utc_days() {
            DAY_MS
        } else {
            HOUR_MS
        };
        let from = self.window.from_ms.div_euclid(unit);
        let to = (self.window.to_ms + unit - 1).div_euclid(unit);
        (if unit == DAY_MS { "day" } else { "hour" }, from, to)
    }

    /// The `where` clause over a rollup table and its parameters, numbered from 1.
    pub(super) fn clause(&self, with_category: bool) -> (String, Vec<Param>) {
        let (column, from, to) = self.span();
        let mut sql = format!("{column} >= $1 and {column} < $2");
        let mut params = vec![Param::Int(from), Param::Int(to)];
        if let Some(m) = self.market {
            params.push(Param::Text(m.code().to_string()));
            sql.push_str(&format!(" and market = ${}", params.len()));
        }
        if let (Some(c), true) = (self.category, with_category) {
            params.push(Param::Text(c.as_str().to_string()));
            sql.push_str(&format!(" and category = ${}", params.len()));
        }
        if let Some(v) = &self.model {
            params.push(Param::Text(v.clone()));
            sql.push_str(&format!(" and model_version = ${}", params.len()));
        }
        (sql, params)
    }
}

#[derive(Clone, Debug)]
pub(super) enum Param {
    Int(i64),
    Text(String),
}

/// The window of whole UTC days from `first` to `last` inclusive.
pub fn days_window(first: NaiveDate, last: NaiveDate) -> Window {
    days_window_in(first, last, Tz::UTC)
}

/// The window of the calendar days `first` to `last` inclusive in `zone`: from local
/// midnight to local midnight (23 or 25 hours for a day with a DST change).
pub fn days_window_in(first: NaiveDate, last: NaiveDate, zone: Tz) -> Window {
    Window {
        from: first.format("%Y-%m-%d").to_string(),
        to: last.format("%Y-%m-%d").to_string(),
        from_ms: local_midnight(first, zone),
        to_ms: local_midnight(last + Duration::days(1), zone),
        zone: if zone == Tz::UTC {
            String::new()
        } else {
            zone.name().to_string()
        },
    }
}

/// The zone a window's days are in.
pub fn zone_of(w: &Window) -> Tz {
    zone_or_utc(w.zone_name())
}

/// The window of the same length just before `w`, in its zone.
pub fn previous_window(w: &Window) -> Window {
    let first = NaiveDate::parse_from_str(&w.from, "%Y-%m-%d").expect("window dates are valid");
    let last = NaiveDate::parse_from_str(&w.to, "%Y-%m-%d").expect("window dates are valid");
    let days = (last - first).num_days() + 1;
    days_window_in(
        first - Duration::days(days),
        first - Duration::days(1),
        zone_of(w),
    )
}

fn parse_day(s: &str, what: &str) -> Result<NaiveDate, DashboardError> {
    let day = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        DashboardError::Invalid(format!("{what} must be a date like 2026-11-02, not {s:?}"))
    })?;
    crate::platform::time::check_year(day.year(), what).map_err(DashboardError::Invalid)?;
    Ok(day)
}

/// Resolves what a page or API client asked for, in UTC days.
pub fn resolve(sel: &Selection, now: Millis) -> Result<Filter, DashboardError> {
    resolve_in(sel, now, Tz::UTC)
}

/// Resolves what a page or API client asked for in the calendar days of `zone` (the viewer's):
/// "today" and "last 7 days" start at local midnight, and the dates of a custom window are
/// local dates. The hourly rollups make any zone exact.
pub fn resolve_in(sel: &Selection, now: Millis, zone: Tz) -> Result<Filter, DashboardError> {
    let today = local_date(now, zone);
    let days_window = |first, last| days_window_in(first, last, zone);
    let window = match sel.window.as_str() {
        "today" => days_window(today, today),
        "" | "7d" => days_window(today - Duration::days(6), today),
        "28d" => days_window(today - Duration::days(27), today),
        "custom" => {
            // An open end is today; an open start is a week before the end.
            let last = match sel.to.trim() {
                "" => today,
                to => parse_day(to, "to")?,
            };
            let first = match sel.from.trim() {
                "" => last - Duration::days(6),
                from => parse_day(from, "from")?,
            };
            if last < first {
                return Err(DashboardError::Invalid("to must not be before from".into()));
            }
            if (last - first).num_days() > 366 {
                return Err(DashboardError::Invalid(
                    "a window is at most a year long".into(),
                ));
            }
            days_window(first, last)
        }
        other => {
            return Err(DashboardError::Invalid(format!(
                "window must be today, 7d, 28d or custom, not {other:?}"
            )));
        }
    };
    let market = match sel.market.trim() {
        "" => None,
        m => Some(
            m.parse::<Market>()
                .map_err(|_| DashboardError::Invalid(format!("unknown market {m:?}")))?,
        ),
    };
    let category = match sel.category.trim() {
        "" => None,
        c => Some(
            c.parse::<Category>()
                .map_err(|_| DashboardError::Invalid(format!("unknown category {c:?}")))?,
        ),
    };
    let model = Some(sel.model.trim().to_string()).filter(|m| !m.is_empty());
    Ok(Filter {
        window,
        market,
        category,
        model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::kpis::window_days;

    fn at(rfc3339: &str) -> Millis {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    fn sel(window: &str) -> Selection {
        Selection {
            window: window.into(),
            ..Selection::default()
        }
    }

    #[test]
    fn today_starts_at_the_viewers_midnight() {
        // 23:30 UTC on the 2nd is already the 3rd in Tokyo and still the 2nd in Los Angeles.
        let now = at("2026-12-02T23:30:00Z");
        let tokyo = resolve_in(&sel("today"), now, "Asia/Tokyo".parse().unwrap()).unwrap();
        assert_eq!(tokyo.window.from, "2026-12-03");
        assert_eq!(tokyo.window.from_ms, at("2026-12-02T15:00:00Z"));
        assert_eq!(tokyo.window.to_ms, at("2026-12-03T15:00:00Z"));
        assert!(!tokyo.whole_utc_days(), "read from the hourly rollups");
        let la = resolve_in(&sel("today"), now, "America/Los_Angeles".parse().unwrap()).unwrap();
        assert_eq!(la.window.from, "2026-12-02");
        assert_eq!(la.window.from_ms, at("2026-12-02T08:00:00Z"));
        let utc = resolve(&sel("today"), now).unwrap();
        assert_eq!(
            (utc.window.from.as_str(), utc.window.zone.as_str()),
            ("2026-12-02", "")
        );
        assert!(utc.whole_utc_days());
    }

    #[test]
    fn a_week_across_a_dst_change_has_a_25_hour_day() {
        // Los Angeles falls back on Sunday 2026-11-01.
        let now = at("2026-11-03T12:00:00Z");
        let la = "America/Los_Angeles".parse().unwrap();
        let f = resolve_in(&sel("7d"), now, la).unwrap();
        assert_eq!(
            (f.window.from.as_str(), f.window.to.as_str()),
            ("2026-10-28", "2026-11-03")
        );
        assert_eq!(f.window.to_ms - f.window.from_ms, (7 * 24 + 1) * HOUR_MS);
        let days = window_days(&f.window);
        assert_eq!(days.len(), 7);
        assert_eq!(days[0].1, "10-28");
        assert_eq!(days[6].1, "11-03");
        // The week before, in the same zone, ends where this one starts.
        let before = previous_window(&f.window);
        assert_eq!(before.to_ms, f.window.from_ms);
        assert_eq!(
            (before.from.as_str(), before.zone.as_str()),
            ("2026-10-21", "America/Los_Angeles")
        );
        // Custom dates are the viewer's dates.
        let custom = Selection {
            window: "custom".into(),
            from: "2026-11-01".into(),
            to: "2026-11-01".into(),
            ..Selection::default()
        };
        let sunday = resolve_in(&custom, now, la).unwrap();
        assert_eq!(sunday.window.to_ms - sunday.window.from_ms, 25 * HOUR_MS);
    }
}
