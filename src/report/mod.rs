//! The executive weekly report: one ISO week in a reporting time zone, compared with the week
//! before and with the average of the four weeks before. Every figure comes from the
//! dashboards' queries (`dashboard`), so the report, the pages and the KPIs API agree; this
//! module only picks the windows, adds the sentences, and hands the result to the three
//! writers (`pdf`, `xlsx`, `csv`).

pub mod archive;
pub mod build;
pub mod findings;
mod fonts;
pub mod pdf;
pub mod tidy;
pub mod trend;
pub mod week;
pub mod xlsx;

use crate::dashboard::filter::DashboardError;
pub use chrono_tz::Tz;

/// The default reporting time zone.
pub const UTC: Tz = chrono_tz::UTC;

/// Weeks in the report's trend charts.
pub const TREND_WEEKS: usize = 8;
/// Weeks behind the "4-week average".
pub const AVERAGE_WEEKS: usize = 4;
/// Overridden ads listed in the report (newest first).
pub const OVERRIDDEN_LISTED: usize = 100;
/// Why a report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error("rendering the {format} failed: {message}")]
    Render {
        format: &'static str,
        message: String,
    },
}

impl From<DashboardError> for ReportError {
    fn from(e: DashboardError) -> Self {
        match e {
            DashboardError::Invalid(m) => ReportError::Invalid(m),
            DashboardError::Sql(e) => ReportError::Sql(e),
        }
    }
}

/// The file formats of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Pdf,
    Xlsx,
    Csv,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Pdf, Format::Xlsx, Format::Csv];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    /// With `bom`, a CSV starts with the UTF-8 byte-order mark, so Excel opens Japanese,
    /// Korean and Arabic text as UTF-8 rather than the local code page; other formats are
    /// left as they are.
    pub fn with_bom(self, bom: bool, mut bytes: Vec<u8>) -> Vec<u8> {
        if bom && self == Format::Csv && !bytes.starts_with(UTF8_BOM) {
            bytes.splice(0..0, UTF8_BOM.iter().copied());
        }
        bytes
    }

    /// The file name a download gets: `amso-weekly-2026-W47.pdf`.
    pub fn file_name(self, week: &impl std::fmt::Display) -> String {
        format!("amso-weekly-{week}.{}", self.as_str())
    }
}

/// The UTF-8 byte-order mark.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

impl std::str::FromStr for Format {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pdf" => Ok(Format::Pdf),
            "xlsx" => Ok(Format::Xlsx),
            "csv" => Ok(Format::Csv),
            other => Err(ReportError::Invalid(format!(
                "format must be pdf, xlsx or csv, not {other:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::build::per_week;

    #[test]
    fn only_a_csv_gets_the_byte_order_mark_and_only_once() {
        use super::{Format, UTF8_BOM};
        let csv = Format::Csv.with_bom(true, "市場,件数\n".as_bytes().to_vec());
        assert!(csv.starts_with(UTF8_BOM));
        assert_eq!(&csv[3..], "市場,件数\n".as_bytes());
        assert_eq!(Format::Csv.with_bom(true, csv.clone()), csv);
        assert_eq!(Format::Csv.with_bom(false, b"a\n".to_vec()), b"a\n");
        assert_eq!(Format::Pdf.with_bom(true, b"%PDF".to_vec()), b"%PDF");
    }
    use super::findings::{cost_driver, findings};
    use super::week::{IsoWeek, time_zone};
    use super::*;
    use crate::dashboard::view::{Kpis, ReportMarket, WeeklyReport};
    use crate::metrics::estimate::{Estimates, Figures, Interval};
    use crate::metrics::format::{duration, int, money, pct, pts};
    use crate::metrics::kpi::Cost;
    use chrono::{NaiveDate, TimeZone};

    #[test]
    fn iso_weeks_parse_and_print() {
        let w: IsoWeek = "2026-W47".parse().unwrap();
        assert_eq!(
            w,
            IsoWeek {
                year: 2026,
                week: 47
            }
        );
        assert_eq!(w.to_string(), "2026-W47");
        assert_eq!(w.monday(), NaiveDate::from_ymd_opt(2026, 11, 16).unwrap());
        assert_eq!(w.plus(-1).to_string(), "2026-W46");
        assert_eq!(
            "2026-w01".parse::<IsoWeek>().unwrap().plus(-1).to_string(),
            "2025-W52"
        );
        assert!("2026-W54".parse::<IsoWeek>().is_err());
        assert!("2026-47".parse::<IsoWeek>().is_err());
        assert!("W47".parse::<IsoWeek>().is_err());
    }

    #[test]
    fn windows_follow_the_time_zone() {
        let w: IsoWeek = "2026-W47".parse().unwrap();
        let utc = w.window(chrono_tz::UTC);
        assert_eq!(
            (utc.from.as_str(), utc.to.as_str()),
            ("2026-11-16", "2026-11-22")
        );
        assert_eq!(utc.to_ms - utc.from_ms, 7 * 86_400_000);
        let berlin = w.window(time_zone("Europe/Berlin").unwrap());
        assert_eq!(utc.from_ms - berlin.from_ms, 3_600_000);
        // A week with a clock change is an hour short.
        let spring: IsoWeek = "2026-W13".parse().unwrap();
        let b = spring.window(time_zone("Europe/Berlin").unwrap());
        assert_eq!(b.to_ms - b.from_ms, 7 * 86_400_000 - 3_600_000);
        assert!(time_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn last_complete_week() {
        // Monday 2026-11-23 06:00 UTC: in UTC the last full week is W47; in Auckland it is
        // already Monday evening, still W47.
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 6, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            IsoWeek::last_complete(now, chrono_tz::UTC).to_string(),
            "2026-W47"
        );
        // Sunday 2026-11-22 23:00 in Los Angeles is Monday 07:00 UTC.
        let la = time_zone("America/Los_Angeles").unwrap();
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 7, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(IsoWeek::last_complete(now, la).to_string(), "2026-W46");
    }

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(int(1234567.0), "1,234,567");
        assert_eq!(int(999.0), "999");
        assert_eq!(money(12.345), "$12.35");
        assert_eq!(money(12345.0), "$12,345");
        assert_eq!(pct(Some(0.1234)), "12.3%");
        assert_eq!(pts(Some(0.2), Some(0.15)), "+5.0 pts");
        assert_eq!(duration(Some(30.0)), "30 s");
        assert_eq!(duration(Some(7200.0)), "2 h");
        assert_eq!(duration(Some(3.0 * 86400.0)), "3 d");
        assert_eq!("PDF".parse::<Format>().unwrap(), Format::Pdf);
        assert!("docx".parse::<Format>().is_err());
    }

    #[test]
    fn a_cost_jump_names_its_component() {
        let week = |review: f64, harm: f64| Kpis {
            decided: 1000.0,
            cost: Cost {
                review,
                false_negative: harm,
                total: review + harm,
                per_1k_ads: Some(review + harm),
                ..Cost::default()
            },
            ..Kpis::default()
        };
        assert_eq!(
            cost_driver(&week(30.0, 8000.0), &week(32.0, 0.0)).0,
            "harm let through"
        );
        assert_eq!(
            cost_driver(&week(90.0, 10.0), &week(30.0, 12.0)).0,
            "reviewer time"
        );
        // A move is named only when the two weeks' model-assisted intervals do not overlap.
        let with = |mut k: Kpis, low: f64, high: f64| {
            let value = k.cost.per_1k_ads.unwrap_or(0.0);
            k.estimates = Some(Estimates {
                figures: Figures {
                    cost_per_1k_ads: Some(Interval { value, low, high }),
                    ..Figures::default()
                },
                ..Estimates::default()
            });
            k
        };
        let report = |now: Kpis, before: Kpis| WeeklyReport {
            markets: vec![ReportMarket {
                market: "SG".into(),
                week: now,
                previous: before,
                average: Kpis::default(),
            }],
            ..WeeklyReport::default()
        };
        let text = findings(&report(
            with(week(30.0, 8000.0), 7000.0, 9000.0),
            with(week(32.0, 0.0), 20.0, 45.0),
        ))
        .join(" ");
        assert!(
            text.contains("moved most in SG: $32.00 → $8,030 (95% intervals $20.00–$45.00 and $7,000–$9,000), mostly harm let through"),
            "{text}"
        );
        let text = findings(&report(
            with(week(30.0, 8000.0), 10.0, 20000.0),
            with(week(32.0, 0.0), 20.0, 45.0),
        ))
        .join(" ");
        assert!(!text.contains("moved most"), "{text}");
        assert!(text.contains("No market's cost per 1,000 ads moved beyond its 95% interval"));
    }

    #[test]
    fn weekly_average_divides_counts_not_rates() {
        let k = Kpis {
            decided: 400.0,
            automation_rate: Some(0.8),
            cost: Cost {
                total: 40.0,
                per_1k_ads: Some(100.0),
                ..Cost::default()
            },
            ..Kpis::default()
        };
        let a = per_week(&k, 4.0);
        assert_eq!(a.decided, 100.0);
        assert_eq!(a.automation_rate, Some(0.8));
        assert_eq!(a.cost.total, 10.0);
        assert_eq!(a.cost.per_1k_ads, Some(100.0));
    }
}
