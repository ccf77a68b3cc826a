//! The report's trend charts, drawn by one builder for the PDF and the Reports page alike.

use crate::charts::{self, ChartSpec, Series};
use crate::dashboard::view::WeeklyReport;

/// Automation and override rates over the trend weeks, at `size` (the chart default when
/// `None`).
pub fn rates_chart(r: &WeeklyReport, size: Option<(u32, u32)>) -> String {
    let mut spec = ChartSpec::new(
        "Automation and override rates by week",
        "ISO week",
        "Share of decisions (%)",
    )
    .desc("Weekly automation rate and override rate over the eight weeks ending with the report's week.")
    .percent();
    if let Some((w, h)) = size {
        spec = spec.size(w, h);
    }
    charts::line_chart(
        &spec,
        &r.trend_weeks,
        &[
            Series::new("Automation rate", r.trend_automation.clone()),
            Series::new("Override rate", r.trend_override.clone()),
        ],
    )
}

/// Cost of risk control per 1,000 ads over the trend weeks, at `size`.
pub fn cost_chart(r: &WeeklyReport, size: (u32, u32)) -> String {
    let spec = ChartSpec::new(
        "Cost of risk control per 1,000 ads by week",
        "ISO week",
        "USD per 1,000 ads",
    )
    .size(size.0, size.1);
    charts::line_chart(
        &spec,
        &r.trend_weeks,
        &[Series::new(
            "Cost per 1,000 ads",
            r.trend_cost_per_1k.clone(),
        )],
    )
}
