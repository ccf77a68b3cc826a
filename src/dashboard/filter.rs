//! What a dashboard page asks for: the window, markets, categories and model of its URL, resolved
//! into a filter (whole UTC days or hours) and checked.

use crate::dashboard::view::{Selection, Window};
use crate::platform::time::Millis;
use crate::rollup::HOUR_MS;
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};

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

fn day_start(date: NaiveDate) -> Millis {
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .timestamp_millis()
}

/// The window of whole UTC days from `first` to `last` inclusive.
pub fn days_window(first: NaiveDate, last: NaiveDate) -> Window {
    Window {
        from: first.format("%Y-%m-%d").to_string(),
        to: last.format("%Y-%m-%d").to_string(),
        from_ms: day_start(first),
        to_ms: day_start(last) + DAY_MS,
    }
}

/// The window of the same length just before `w`.
pub fn previous_window(w: &Window) -> Window {
    let first = NaiveDate::parse_from_str(&w.from, "%Y-%m-%d").expect("window dates are valid");
    let last = NaiveDate::parse_from_str(&w.to, "%Y-%m-%d").expect("window dates are valid");
    let days = (last - first).num_days() + 1;
    days_window(first - Duration::days(days), first - Duration::days(1))
}

fn parse_day(s: &str, what: &str) -> Result<NaiveDate, DashboardError> {
    let day = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        DashboardError::Invalid(format!("{what} must be a date like 2026-11-02, not {s:?}"))
    })?;
    crate::platform::time::check_year(day.year(), what).map_err(DashboardError::Invalid)?;
    Ok(day)
}

/// Resolves what a page or API client asked for, against today's date (UTC).
pub fn resolve(sel: &Selection, now: Millis) -> Result<Filter, DashboardError> {
    let today = Utc
        .timestamp_millis_opt(now)
        .single()
        .ok_or_else(|| DashboardError::Invalid("bad clock".into()))?
        .date_naive();
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
