//! The report as a workbook (rust_xlsxwriter): sheets Summary, Markets, Categories,
//! Overrides, Drift, Cost and Trend. Numbers are stored as numbers with percent, currency and
//! count formats; every table has a frozen, filtered header row and set column widths; the
//! Trend and Cost sheets carry native Excel charts over their own cells. Text that comes from
//! ads, advertisers or reviewers is always written as a string cell, never as a formula.

use crate::dashboard::view::{Kpis, WeeklyReport};
use crate::metrics::format::pts;
use crate::metrics::kpi::Estimate;
use crate::report::ReportError;
use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, Worksheet, XlsxError};

/// One cell of a table.
enum Cell {
    /// Text, written as a string cell whatever it starts with.
    Text(String),
    Count(f64),
    Share(Option<f64>),
    Usd(Option<f64>),
    Number(Option<f64>),
}

use Cell::*;

fn text(s: impl Into<String>) -> Cell {
    Text(s.into())
}

struct Formats {
    header: Format,
    count: Format,
    share: Format,
    usd: Format,
    number: Format,
    title: Format,
    wrap: Format,
}

impl Formats {
    fn new() -> Self {
        Formats {
            header: Format::new()
                .set_bold()
                .set_background_color("D9E2EC")
                .set_border_bottom(rust_xlsxwriter::FormatBorder::Thin),
            count: Format::new().set_num_format("#,##0"),
            share: Format::new().set_num_format("0.0%"),
            usd: Format::new().set_num_format("$#,##0.00"),
            number: Format::new().set_num_format("0.000"),
            title: Format::new().set_bold().set_font_size(14),
            wrap: Format::new().set_text_wrap(),
        }
    }
}

fn render_err(e: XlsxError) -> ReportError {
    ReportError::Render {
        format: "XLSX",
        message: e.to_string(),
    }
}

/// Writes a table at `top`: a header row (bold, frozen when `top` is 0, filtered) and rows.
fn table(
    ws: &mut Worksheet,
    f: &Formats,
    top: u32,
    header: &[(&str, f64)],
    rows: Vec<Vec<Cell>>,
) -> Result<u32, XlsxError> {
    for (c, (name, width)) in header.iter().enumerate() {
        let c = c as u16;
        ws.write_string_with_format(top, c, *name, &f.header)?;
        ws.set_column_width(c, *width)?;
    }
    let mut r = top;
    for row in &rows {
        r += 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Text(s) => {
                    ws.write_string(r, c, s.as_str())?;
                }
                Count(x) => {
                    ws.write_number_with_format(r, c, *x, &f.count)?;
                }
                Share(Some(x)) => {
                    ws.write_number_with_format(r, c, *x, &f.share)?;
                }
                Usd(Some(x)) => {
                    ws.write_number_with_format(r, c, *x, &f.usd)?;
                }
                Number(Some(x)) => {
                    ws.write_number_with_format(r, c, *x, &f.number)?;
                }
                Share(None) | Usd(None) | Number(None) => {}
            }
        }
    }
    if top == 0 {
        ws.set_freeze_panes(1, 0)?;
    }
    ws.autofilter(top, 0, r.max(top + 1), header.len() as u16 - 1)?;
    Ok(r)
}

fn estimate_cells(e: Option<Estimate>) -> [Cell; 4] {
    [
        Share(e.map(|e| e.value)),
        Share(e.map(|e| e.low)),
        Share(e.map(|e| e.high)),
        Number(e.map(|e| e.n)),
    ]
}

fn thin(e: Option<Estimate>) -> Cell {
    text(match e {
        None => "no samples",
        Some(e) if !e.enough() => "too few samples",
        Some(_) => "",
    })
}

const MARKET_HEADER: [(&str, f64); 23] = [
    ("Market", 9.0),
    ("Decided", 11.0),
    ("Auto-approved", 13.0),
    ("Auto-rejected", 13.0),
    ("Routed to review", 15.0),
    ("Automation rate", 15.0),
    ("Checked", 10.0),
    ("Overridden", 11.0),
    ("Override rate", 13.0),
    ("Precision", 11.0),
    ("Precision low", 13.0),
    ("Precision high", 14.0),
    ("Precision n (effective)", 20.0),
    ("Recall", 10.0),
    ("Recall low", 11.0),
    ("Recall high", 12.0),
    ("Recall n (effective)", 18.0),
    ("Appeal overturn rate", 19.0),
    ("SLA p50 (s)", 12.0),
    ("SLA p95 (s)", 12.0),
    ("Within SLA", 11.0),
    ("Median handling (s)", 18.0),
    ("Cost per 1,000 ads", 17.0),
];

fn market_row(label: &str, k: &Kpis) -> Vec<Cell> {
    let mut row = vec![
        text(label),
        Count(k.decided),
        Count(k.auto_approved),
        Count(k.auto_rejected),
        Count(k.routed),
        Share(k.automation_rate),
        Count(k.checked),
        Count(k.overridden),
        Share(k.override_rate),
    ];
    row.extend(estimate_cells(k.precision));
    row.extend(estimate_cells(k.recall));
    row.extend([
        Share(k.appeal_overturn_rate),
        Number(k.sla_p50_seconds),
        Number(k.sla_p95_seconds),
        Share(k.sla_within),
        Number(k.median_handling_seconds),
        Usd(k.cost.per_1k_ads),
    ]);
    row
}

/// The workbook's bytes.
pub fn render(r: &WeeklyReport) -> Result<Vec<u8>, ReportError> {
    build(r).map_err(render_err)
}

fn build(r: &WeeklyReport) -> Result<Vec<u8>, XlsxError> {
    let f = Formats::new();
    let mut wb = Workbook::new();

    // Summary: headline figures against the week before and the 4-week average.
    {
        let ws = wb.add_worksheet().set_name("Summary")?;
        let (t, p, a) = (&r.totals, &r.previous, &r.average);
        let rows = vec![
            vec![
                text("Ads decided"),
                Count(t.decided),
                Count(p.decided),
                Count(a.decided),
                text(crate::metrics::format::change(t.decided, p.decided)),
            ],
            share_row(
                "Automation rate",
                t.automation_rate,
                p.automation_rate,
                a.automation_rate,
            ),
            share_row(
                "Auto-reject precision",
                t.precision.map(|e| e.value),
                p.precision.map(|e| e.value),
                a.precision.map(|e| e.value),
            ),
            share_row(
                "Auto-reject recall",
                t.recall.map(|e| e.value),
                p.recall.map(|e| e.value),
                a.recall.map(|e| e.value),
            ),
            share_row(
                "Override rate",
                t.override_rate,
                p.override_rate,
                a.override_rate,
            ),
            share_row(
                "Appeal overturn rate",
                t.appeal_overturn_rate,
                p.appeal_overturn_rate,
                a.appeal_overturn_rate,
            ),
            share_row("Within SLA", t.sla_within, p.sla_within, a.sla_within),
            vec![
                text("SLA p95 (s)"),
                Number(t.sla_p95_seconds),
                Number(p.sla_p95_seconds),
                Number(a.sla_p95_seconds),
                text(""),
            ],
            vec![
                text("Median handling (s)"),
                Number(t.median_handling_seconds),
                Number(p.median_handling_seconds),
                Number(a.median_handling_seconds),
                text(""),
            ],
            vec![
                text("Cost of risk control"),
                Usd(Some(t.cost.total)),
                Usd(Some(p.cost.total)),
                Usd(Some(a.cost.total)),
                text(crate::metrics::format::change(t.cost.total, p.cost.total)),
            ],
            vec![
                text("Cost per 1,000 ads"),
                Usd(t.cost.per_1k_ads),
                Usd(p.cost.per_1k_ads),
                Usd(a.cost.per_1k_ads),
                text(""),
            ],
        ];
        let last = table(
            ws,
            &f,
            0,
            &[
                ("Metric", 24.0),
                ("This week", 14.0),
                ("Week before", 14.0),
                ("4-week average", 15.0),
                ("Change vs week before", 22.0),
            ],
            rows,
        )?;
        let mut row = last + 2;
        ws.write_string_with_format(row, 0, format!("AMSO weekly report {}", r.week), &f.title)?;
        row += 1;
        for line in [
            format!(
                "Week {} to {} ({}); week before {} to {}; 4-week average {} to {}.",
                r.window.from,
                r.window.to,
                r.time_zone,
                r.previous_window.from,
                r.previous_window.to,
                r.average_window.from,
                r.average_window.to
            ),
            format!("Markets: {}.", r.markets_in_scope.join(", ")),
            format!(
                "Generated {} from {} decisions (newest {}).",
                r.generated_at,
                r.decisions_in_database,
                r.data_through.as_deref().unwrap_or("none")
            ),
        ]
        .into_iter()
        .chain(r.findings.iter().cloned())
        .chain(r.sample_notes.iter().cloned())
        {
            ws.write_string_with_format(row, 0, line, &f.wrap)?;
            ws.merge_range(row, 0, row, 4, "", &f.wrap).ok();
            ws.set_row_height(row, 30)?;
            row += 1;
        }
    }

    // Markets: the week, one row per market, then the week before and the average.
    {
        let ws = wb.add_worksheet().set_name("Markets")?;
        let mut rows = vec![market_row("ALL", &r.totals)];
        rows.extend(r.markets.iter().map(|m| market_row(&m.market, &m.week)));
        table(ws, &f, 0, &MARKET_HEADER, rows)?;
    }

    // Categories: quality and overrides per market × category.
    {
        let ws = wb.add_worksheet().set_name("Categories")?;
        let rows = r
            .categories
            .iter()
            .map(|c| {
                let mut row = vec![text(c.market.as_str()), text(c.category.as_str())];
                row.extend(estimate_cells(c.precision));
                row.extend(estimate_cells(c.recall));
                row.extend([
                    Number(c.f1),
                    Count(c.checked),
                    Count(c.overridden),
                    Share(c.override_rate),
                    Share(c.previous_override_rate),
                    thin(c.precision),
                ]);
                row
            })
            .collect();
        table(
            ws,
            &f,
            0,
            &[
                ("Market", 9.0),
                ("Category", 15.0),
                ("Precision", 11.0),
                ("Precision low", 13.0),
                ("Precision high", 14.0),
                ("Precision n (effective)", 20.0),
                ("Recall", 10.0),
                ("Recall low", 11.0),
                ("Recall high", 12.0),
                ("Recall n (effective)", 18.0),
                ("F1", 8.0),
                ("Checked", 10.0),
                ("Overridden", 11.0),
                ("Override rate", 13.0),
                ("Override rate week before", 23.0),
                ("Note", 18.0),
            ],
            rows,
        )?;
    }

    // Rules: what matched in the week, how precisely, and what was switched on or expired.
    {
        let ws = wb.add_worksheet().set_name("Rules")?;
        let rows = r
            .rules
            .iter()
            .map(|x| {
                let [v, low, high, n] = estimate_cells(x.precision);
                vec![
                    Count(x.id as f64),
                    text(x.name.as_str()),
                    text(x.state.as_str()),
                    text(x.action.as_str()),
                    Count(x.hits_live as f64),
                    Count(x.hits_background as f64),
                    v,
                    low,
                    high,
                    n,
                    text(if x.switched_on { "yes" } else { "" }),
                    text(if x.expired { "yes" } else { "" }),
                ]
            })
            .collect();
        table(
            ws,
            &f,
            0,
            &[
                ("Rule id", 9.0),
                ("Rule", 36.0),
                ("State", 14.0),
                ("Action", 10.0),
                ("Hits live", 11.0),
                ("Hits in background", 18.0),
                ("Precision", 11.0),
                ("Low (95%)", 11.0),
                ("High (95%)", 11.0),
                ("Effective n", 11.0),
                ("Switched on this week", 20.0),
                ("Expired this week", 17.0),
            ],
            rows,
        )?;
    }

    // Overrides: by reason, by reviewer, and the week's overridden ads (text from people).
    {
        let ws = wb.add_worksheet().set_name("Overrides")?;
        let rows = r
            .reasons
            .iter()
            .map(|c| {
                vec![
                    text("reason"),
                    text(c.key.as_str()),
                    text(c.label.as_str()),
                    Count(c.reviews),
                    Count(c.overrides),
                    Share(c.rate),
                ]
            })
            .chain(r.reviewers.iter().map(|c| {
                vec![
                    text("reviewer"),
                    text(c.key.as_str()),
                    text(c.label.as_str()),
                    Count(c.reviews),
                    Count(c.overrides),
                    Share(c.rate),
                ]
            }))
            .collect();
        let last = table(
            ws,
            &f,
            0,
            &[
                ("By", 10.0),
                ("Key", 22.0),
                ("Name", 40.0),
                ("Reviews", 10.0),
                ("Overrides", 11.0),
                ("Override rate", 13.0),
            ],
            rows,
        )?;
        let top = last + 3;
        ws.write_string_with_format(
            top - 1,
            0,
            "Overridden ads of the week (newest first)",
            &f.title,
        )?;
        for (c, name) in [
            "Ad",
            "Market",
            "Category",
            "Machine",
            "Verdict",
            "Source",
            "Reason",
            "Reason text",
            "Reviewer",
            "At (UTC)",
            "Advertiser",
            "Headline",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string_with_format(top, c as u16, *name, &f.header)?;
        }
        for (i, a) in r.overridden.iter().enumerate() {
            let row = top + 1 + i as u32;
            ws.write_number(row, 0, a.ad_id as f64)?;
            for (c, s) in [
                &a.market,
                &a.category,
                &a.machine_action,
                &a.verdict,
                &a.source,
                a.reason_code.as_deref().unwrap_or(""),
                a.reason_text.as_deref().unwrap_or(""),
                &a.reviewer,
                &a.at,
                &a.advertiser,
                &a.headline,
            ]
            .iter()
            .enumerate()
            {
                ws.write_string(row, c as u16 + 1, *s)?;
            }
        }
        ws.set_column_width(11, 60)?;
    }

    // Drift: PSI per market × category, then the week's alerts.
    {
        let ws = wb.add_worksheet().set_name("Drift")?;
        let rows = r
            .drift
            .iter()
            .map(|d| {
                vec![
                    text(d.market.as_str()),
                    text(d.category.as_str()),
                    Number(d.psi),
                    text(d.band.map_or("too few scores", |b| b.as_str())),
                    Count(d.current_n),
                    Count(d.reference_n),
                ]
            })
            .collect();
        let last = table(
            ws,
            &f,
            0,
            &[
                ("Market", 9.0),
                ("Category", 15.0),
                ("PSI", 8.0),
                ("Band", 15.0),
                ("Scores this week", 16.0),
                ("Scores in reference", 18.0),
            ],
            rows,
        )?;
        let top = last + 3;
        ws.write_string_with_format(top - 1, 0, "Drift alerts raised this week", &f.title)?;
        for (c, name) in ["At (UTC)", "Market", "Category", "Band", "From band", "PSI"]
            .iter()
            .enumerate()
        {
            ws.write_string_with_format(top, c as u16, *name, &f.header)?;
        }
        for (i, a) in r.alerts.iter().enumerate() {
            let row = top + 1 + i as u32;
            for (c, s) in [&a.at, &a.market, &a.category, &a.band, &a.previous_band]
                .iter()
                .enumerate()
            {
                ws.write_string(row, c as u16, s.as_str())?;
            }
            ws.write_number_with_format(row, 5, a.psi, &f.number)?;
        }
    }

    // Cost: components per market, with a stacked column chart over the cells.
    {
        let ws = wb.add_worksheet().set_name("Cost")?;
        let rows: Vec<Vec<Cell>> = r
            .markets
            .iter()
            .map(|m| (m.market.as_str(), &m.week))
            .chain(std::iter::once(("ALL", &r.totals)))
            .map(|(label, k)| {
                vec![
                    text(label),
                    Count(k.decided),
                    Usd(Some(k.cost.review)),
                    Usd(Some(k.cost.inference)),
                    Usd(Some(k.cost.false_positive)),
                    Usd(Some(k.cost.false_negative)),
                    Usd(Some(k.cost.total)),
                    Usd(k.cost.per_1k_ads),
                ]
            })
            .collect();
        table(
            ws,
            &f,
            0,
            &[
                ("Market", 9.0),
                ("Decided", 11.0),
                ("Review (USD)", 14.0),
                ("Inference (USD)", 15.0),
                ("False positives (USD)", 20.0),
                ("False negatives (USD)", 20.0),
                ("Total (USD)", 13.0),
                ("Per 1,000 ads (USD)", 18.0),
            ],
            rows,
        )?;
        let last = r.markets.len() as u32;
        if last > 0 {
            let mut chart = Chart::new(ChartType::ColumnStacked);
            chart
                .title()
                .set_name("Cost of risk control by market and component");
            for col in 2..=5u16 {
                chart
                    .add_series()
                    .set_name(("Cost", 0, col))
                    .set_categories(("Cost", 1, 0, last, 0))
                    .set_values(("Cost", 1, col, last, col));
            }
            chart.y_axis().set_name("USD");
            ws.insert_chart(last + 3, 0, &chart)?;
        }
    }

    // Trend: eight weeks, with a line chart of automation and override rates.
    {
        let ws = wb.add_worksheet().set_name("Trend")?;
        let rows = r
            .trend_weeks
            .iter()
            .enumerate()
            .map(|(i, w)| {
                vec![
                    text(w.as_str()),
                    Count(r.trend_decided.get(i).copied().unwrap_or(0.0)),
                    Share(r.trend_automation.get(i).copied().flatten()),
                    Share(r.trend_override.get(i).copied().flatten()),
                    Usd(r.trend_cost_per_1k.get(i).copied().flatten()),
                ]
            })
            .collect();
        table(
            ws,
            &f,
            0,
            &[
                ("Week", 10.0),
                ("Decided", 11.0),
                ("Automation rate", 15.0),
                ("Override rate", 13.0),
                ("Cost per 1,000 ads", 17.0),
            ],
            rows,
        )?;
        let last = r.trend_weeks.len() as u32;
        if last > 0 {
            let mut chart = Chart::new(ChartType::Line);
            chart
                .title()
                .set_name("Automation and override rates by week");
            for col in 2..=3u16 {
                chart
                    .add_series()
                    .set_name(("Trend", 0, col))
                    .set_categories(("Trend", 1, 0, last, 0))
                    .set_values(("Trend", 1, col, last, col));
            }
            ws.insert_chart(last + 3, 0, &chart)?;
        }
    }
    wb.save_to_buffer()
}

fn share_row(label: &str, t: Option<f64>, p: Option<f64>, a: Option<f64>) -> Vec<Cell> {
    vec![text(label), Share(t), Share(p), Share(a), text(pts(t, p))]
}
