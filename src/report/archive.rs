//! The weekly schedule and the report archive. A scheduled run of a week is one row, claimed
//! by inserting it (a unique index allows one per week, so several servers on one PostgreSQL
//! render it once); a claim whose server died is taken over after [`STALE_CLAIM_MS`]. The PDF
//! is mailed from the same row: a delivery is claimed by compare-and-set, retried with a
//! growing pause, and ends `sent` or `failed`, never silently.

use crate::dashboard::view::ArchivedReport;
use crate::platform::db::Db;
use crate::platform::time::{Millis, to_rfc3339};
use crate::report::week::IsoWeek;
use crate::report::{Format, ReportError};
use chrono::{Duration, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;

/// A rendering claim older than this is taken to belong to a server that died.
pub const STALE_CLAIM_MS: i64 = 10 * 60 * 1000;
/// Delivery attempts before a report's mail is marked failed.
pub const MAX_DELIVERY_ATTEMPTS: i64 = 5;
/// Missed weeks a returning schedule renders at most.
pub const MAX_CATCH_UP_WEEKS: i64 = 4;

/// When the weekly report is made: a weekday and time in a time zone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    pub weekday: Weekday,
    pub time: NaiveTime,
    pub tz: Tz,
}

impl Schedule {
    /// Parses `mon 07:00` (weekday, then 24-hour time); `off` gives `None`.
    pub fn parse(spec: &str, tz: Tz) -> Result<Option<Schedule>, ReportError> {
        let spec = spec.trim();
        if spec.eq_ignore_ascii_case("off") || spec.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        let bad = || {
            ReportError::Invalid(format!(
                "a report schedule looks like \"mon 07:00\" (or \"off\"), not {spec:?}"
            ))
        };
        let (day, time) = spec.split_once(char::is_whitespace).ok_or_else(bad)?;
        let weekday: Weekday = day.trim().parse().map_err(|_| bad())?;
        let time = NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| bad())?;
        Ok(Some(Schedule { weekday, time, tz }))
    }

    /// When `week`'s report is due: the chosen weekday and time after the week ends.
    pub fn due_at(&self, week: IsoWeek) -> Millis {
        let next_monday = week.plus(1).monday();
        let day = next_monday + Duration::days(self.weekday.num_days_from_monday() as i64);
        let local = day.and_time(self.time);
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                self.tz
                    .from_local_datetime(&(local + Duration::hours(1)))
                    .earliest()
            })
            .map_or(0, |t| t.timestamp_millis())
    }

    /// The newest week whose report is due at `now`.
    pub fn latest_due(&self, now: Millis) -> IsoWeek {
        let mut week = IsoWeek::last_complete(now, self.tz);
        while self.due_at(week) > now {
            week = week.plus(-1);
        }
        week
    }

    /// `Monday 07:00 UTC`.
    pub fn describe(&self) -> String {
        let day = match self.weekday {
            Weekday::Mon => "Monday",
            Weekday::Tue => "Tuesday",
            Weekday::Wed => "Wednesday",
            Weekday::Thu => "Thursday",
            Weekday::Fri => "Friday",
            Weekday::Sat => "Saturday",
            Weekday::Sun => "Sunday",
        };
        format!("{day} {} {}", self.time.format("%H:%M"), self.tz.name())
    }
}

/// The weeks the schedule owes at `now`: the newest due week, and after a downtime the ones
/// missed since the last scheduled run (at most [`MAX_CATCH_UP_WEEKS`]), oldest first.
pub async fn owed_weeks(db: &Db, schedule: &Schedule, now: Millis) -> sqlx::Result<Vec<IsoWeek>> {
    let done: Vec<(String,)> = sqlx::query_as(
        "select week from report_runs where origin = 'schedule' order by week desc limit 64",
    )
    .fetch_all(db.pool())
    .await?;
    let done: Vec<IsoWeek> = done.iter().filter_map(|w| w.0.parse().ok()).collect();
    let latest = schedule.latest_due(now);
    let newest_done = done.iter().max().copied();
    let mut out = Vec::new();
    let mut week = latest;
    for _ in 0..MAX_CATCH_UP_WEEKS {
        if done.contains(&week) {
            break;
        }
        out.push(week);
        // With no scheduled run on record this is a first start: only the newest week.
        if newest_done.is_none_or(|n| week <= n) {
            break;
        }
        week = week.plus(-1);
    }
    out.reverse();
    Ok(out)
}

/// Claims the scheduled run of `week` for `instance`: true when this server is to render it
/// (it inserted the row, or took over a claim gone stale).
pub async fn claim_scheduled(
    db: &Db,
    week: IsoWeek,
    tz: Tz,
    instance: &str,
    now: Millis,
) -> sqlx::Result<Option<i64>> {
    let inserted = sqlx::query(
        "insert into report_runs (week, origin, time_zone, state, claimed_by, claimed_at, generated_by) \
         values ($1, 'schedule', $2, 'rendering', $3, $4, 'schedule') on conflict do nothing",
    )
    .bind(week.to_string())
    .bind(tz.name())
    .bind(instance)
    .bind(now)
    .execute(db.pool())
    .await?
    .rows_affected();
    if inserted == 0 {
        let taken = sqlx::query(
            "update report_runs set claimed_by = $1, claimed_at = $2 \
             where week = $3 and origin = 'schedule' and state = 'rendering' and claimed_at < $4",
        )
        .bind(instance)
        .bind(now)
        .bind(week.to_string())
        .bind(now - STALE_CLAIM_MS)
        .execute(db.pool())
        .await?
        .rows_affected();
        if taken == 0 {
            return Ok(None);
        }
    }
    let (id,): (i64,) = sqlx::query_as(
        "select id from report_runs where week = $1 and origin = 'schedule' and claimed_by = $2",
    )
    .bind(week.to_string())
    .bind(instance)
    .fetch_one(db.pool())
    .await?;
    Ok(Some(id))
}

/// Starts a person's archived run of a week.
pub async fn start_manual(
    db: &Db,
    week: IsoWeek,
    tz: Tz,
    markets: &str,
    by: &str,
    now: Millis,
) -> sqlx::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "insert into report_runs (week, origin, time_zone, markets, state, claimed_by, claimed_at, generated_by) \
         values ($1, 'manual', $2, $3, 'rendering', $4, $5, $4) returning id",
    )
    .bind(week.to_string())
    .bind(tz.name())
    .bind(markets)
    .bind(by)
    .bind(now)
    .fetch_one(db.pool())
    .await?;
    Ok(id)
}

/// The three files of a rendering.
pub struct Files {
    pub pdf: Vec<u8>,
    pub xlsx: Vec<u8>,
    pub csv: Vec<u8>,
}

/// Keeps a finished rendering; with recipients, its mail is queued.
pub async fn store(
    db: &Db,
    id: i64,
    files: &Files,
    data_through: Option<Millis>,
    decisions: i64,
    recipients: &[String],
    now: Millis,
) -> sqlx::Result<()> {
    let (delivery, next) = if recipients.is_empty() {
        ("none", None)
    } else {
        ("pending", Some(now))
    };
    sqlx::query(
        "update report_runs set state = 'ready', generated_at = $1, data_through = $2, decisions = $3, \
         pdf = $4, xlsx = $5, csv = $6, delivery = $7, recipients = $8, delivery_next_at = $9 where id = $10",
    )
    .bind(now)
    .bind(data_through)
    .bind(decisions)
    .bind(files.pdf.clone())
    .bind(files.xlsx.clone())
    .bind(files.csv.clone())
    .bind(delivery)
    .bind(recipients.join(", "))
    .bind(next)
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records that a rendering failed.
pub async fn fail(db: &Db, id: i64, error: &str, now: Millis) -> sqlx::Result<()> {
    sqlx::query(
        "update report_runs set state = 'failed', error = $1, generated_at = $2 where id = $3",
    )
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

const RUN_COLUMNS: &str = "id, week, origin, time_zone, markets, state, generated_by, generated_at, data_through, decisions, \
     coalesce(length(pdf), 0), coalesce(length(xlsx), 0), coalesce(length(csv), 0), error, delivery, recipients, \
     delivery_attempts, delivery_error, delivered_at, delivery_next_at";

/// The newest archived renderings, newest first.
pub async fn list(db: &Db, limit: i64) -> sqlx::Result<Vec<ArchivedReport>> {
    use sqlx::Row;
    let sql =
        format!("select {RUN_COLUMNS} from report_runs order by claimed_at desc, id desc limit $1");
    let rows = sqlx::query(&sql).bind(limit).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            let ms = |i: usize| -> sqlx::Result<Option<String>> {
                Ok(r.try_get::<Option<i64>, _>(i)?.map(to_rfc3339))
            };
            let len = |i: usize| -> sqlx::Result<i64> {
                // length() is an integer on both databases, but SQLite may hand it back as i32.
                r.try_get::<i64, _>(i)
                    .or_else(|_| r.try_get::<i32, _>(i).map(i64::from))
            };
            Ok(ArchivedReport {
                id: r.try_get(0)?,
                week: r.try_get(1)?,
                origin: r.try_get(2)?,
                time_zone: r.try_get(3)?,
                markets: r.try_get(4)?,
                state: r.try_get(5)?,
                generated_by: r.try_get(6)?,
                generated_at: ms(7)?,
                data_through: ms(8)?,
                decisions: r.try_get(9)?,
                pdf_bytes: len(10)?,
                xlsx_bytes: len(11)?,
                csv_bytes: len(12)?,
                error: r.try_get(13)?,
                delivery: r.try_get(14)?,
                recipients: r.try_get(15)?,
                delivery_attempts: r
                    .try_get::<i64, _>(16)
                    .or_else(|_| r.try_get::<i32, _>(16).map(i64::from))?,
                delivery_error: r.try_get(17)?,
                delivered_at: ms(18)?,
                delivery_next_at: ms(19)?,
            })
        })
        .collect()
}

/// One archived file and its week.
pub async fn file(db: &Db, id: i64, format: Format) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    let sql = format!(
        "select week, {} from report_runs where id = $1 and state = 'ready'",
        format.as_str()
    );
    let row: Option<(String, Option<Vec<u8>>)> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.and_then(|(w, b)| b.map(|b| (w, b))))
}

/// A delivery due at `now`, claimed for one attempt (another server will not take it until
/// the attempt's lease passes): its id, week, recipients and PDF.
pub async fn claim_delivery(
    db: &Db,
    now: Millis,
) -> sqlx::Result<Option<(i64, String, String, Vec<u8>, i64)>> {
    let due: Vec<(i64,)> = sqlx::query_as(
        "select id from report_runs where delivery = 'pending' and delivery_next_at <= $1 order by delivery_next_at limit 5",
    )
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    for (id,) in due {
        // The lease: the next attempt is pushed out before this one starts.
        let claimed = sqlx::query(
            "update report_runs set delivery_attempts = delivery_attempts + 1, delivery_next_at = $1 \
             where id = $2 and delivery = 'pending' and delivery_next_at <= $3",
        )
        .bind(now + STALE_CLAIM_MS)
        .bind(id)
        .bind(now)
        .execute(db.pool())
        .await?
        .rows_affected();
        if claimed == 1 {
            let (week, recipients, pdf, attempts): (String, String, Option<Vec<u8>>, i64) =
                sqlx::query_as(
                    "select week, recipients, pdf, cast(delivery_attempts as bigint) from report_runs where id = $1",
                )
                .bind(id)
                .fetch_one(db.pool())
                .await?;
            return Ok(Some((
                id,
                week,
                recipients,
                pdf.unwrap_or_default(),
                attempts,
            )));
        }
    }
    Ok(None)
}

/// Records a sent mail.
pub async fn delivered(db: &Db, id: i64, now: Millis) -> sqlx::Result<()> {
    sqlx::query(
        "update report_runs set delivery = 'sent', delivered_at = $1, delivery_next_at = null, delivery_error = null where id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records a failed attempt: retried after 1, 2, 4, 8 minutes, then marked failed.
pub async fn delivery_failed(
    db: &Db,
    id: i64,
    attempts: i64,
    error: &str,
    now: Millis,
) -> sqlx::Result<()> {
    let (state, next) = if attempts >= MAX_DELIVERY_ATTEMPTS {
        ("failed", None)
    } else {
        (
            "pending",
            Some(now + 60_000 * (1 << (attempts - 1).clamp(0, 10))),
        )
    };
    sqlx::query(
        "update report_runs set delivery = $1, delivery_next_at = $2, delivery_error = $3 where id = $4",
    )
    .bind(state)
    .bind(next)
    .bind(error)
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Queues a failed delivery again (a person pressed "retry").
pub async fn retry_delivery(db: &Db, id: i64, now: Millis) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "update report_runs set delivery = 'pending', delivery_attempts = 0, delivery_next_at = $1 \
         where id = $2 and delivery = 'failed'",
    )
    .bind(now)
    .bind(id)
    .execute(db.pool())
    .await?
    .rows_affected()
        == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i32, m: u32, d: u32, h: u32) -> Millis {
        chrono::Utc
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn parses_schedules() {
        let s = Schedule::parse("mon 07:00", chrono_tz::UTC)
            .unwrap()
            .unwrap();
        assert_eq!(s.weekday, Weekday::Mon);
        assert_eq!(s.describe(), "Monday 07:00 UTC");
        assert!(Schedule::parse("off", chrono_tz::UTC).unwrap().is_none());
        assert!(Schedule::parse("monday", chrono_tz::UTC).is_err());
        assert!(Schedule::parse("mon 25:00", chrono_tz::UTC).is_err());
    }

    #[test]
    fn a_week_is_due_after_it_ends() {
        let s = Schedule::parse("mon 07:00", chrono_tz::UTC)
            .unwrap()
            .unwrap();
        let w47: IsoWeek = "2026-W47".parse().unwrap();
        assert_eq!(s.due_at(w47), ms(2026, 11, 23, 7));
        // Monday 06:00: W47 is not due yet, W46 is.
        assert_eq!(s.latest_due(ms(2026, 11, 23, 6)).to_string(), "2026-W46");
        assert_eq!(s.latest_due(ms(2026, 11, 23, 7)).to_string(), "2026-W47");
        assert_eq!(s.latest_due(ms(2026, 11, 26, 12)).to_string(), "2026-W47");
        let berlin = Schedule::parse(
            "mon 07:00",
            crate::report::week::time_zone("Europe/Berlin").unwrap(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(berlin.due_at(w47), ms(2026, 11, 23, 6));
    }
}
