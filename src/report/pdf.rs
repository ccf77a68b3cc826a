//! The report as an A4 PDF (krilla): a summary page with the headline figures and what moved,
//! the market table with the trends, cost and drift, and the overrides with the notes on
//! sample sizes. The faces (`fonts`: DejaVu Sans, Noto for Arabic, Japanese and Korean) are
//! embedded as subsets, so the text in every market's script is selectable and searchable;
//! the charts are the dashboards' own (`charts`, plotters), placed as vector graphics with
//! their text kept as text. Meaning never rests on colour alone, so it prints in grey.

use crate::charts::{self, ChartSpec};
use crate::dashboard::view::{Kpis, WeeklyReport};
use crate::metrics::format::{NONE, change, duration, estimate_line, int, money, pct, pts};
use crate::metrics::kpi::DriftBand;
use crate::report::{ReportError, trend};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla_svg::{SurfaceExt, SvgSettings};
use std::sync::{Arc, OnceLock};

use super::fonts::{DEJAVU, DEJAVU_BOLD, faces};
/// The family charts are drawn in once their SVG is handed to the PDF.
const FAMILY: &str = "DejaVu Sans";

const A4: (f32, f32) = (595.28, 841.89);
const MARGIN: f32 = 42.0;
const WIDTH: f32 = A4.0 - 2.0 * MARGIN;
const PAGES: usize = 5;
/// Human-checked decisions a market × category needs to be listed among the most overruled.
const MIN_CELL_CHECKED: f64 = 10.0;

const INK: (u8, u8, u8) = (0x1d, 0x27, 0x33);
const MUTED: (u8, u8, u8) = (0x49, 0x50, 0x57);
const RULE: (u8, u8, u8) = (0xad, 0xb5, 0xbd);
const SHADE: (u8, u8, u8) = (0xf1, 0xf3, 0xf5);

/// The charts' font database (their text is Latin: codes, weeks and figures), built once.
fn chart_fonts() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(DEJAVU.to_vec());
        db.load_font_data(DEJAVU_BOLD.to_vec());
        db.set_sans_serif_family(FAMILY);
        Arc::new(db)
    })
    .clone()
}

/// Width of `s` in points at `size`, each character in the face that draws it.
fn text_width(s: &str, bold: bool, size: f32) -> f32 {
    faces().width(s, bold, size)
}

/// Text cut to fit `width`, with an ellipsis when cut.
fn fit(s: &str, bold: bool, size: f32, width: f32) -> String {
    if text_width(s, bold, size) <= width {
        return s.to_string();
    }
    let mut out: String = s.to_string();
    while !out.is_empty() && text_width(&format!("{out}…"), bold, size) > width {
        out.pop();
    }
    format!("{out}…")
}

/// Words of `s` broken into lines no wider than `width`.
fn wrap(s: &str, bold: bool, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, bold, size) > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            line = word.to_string();
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn color((r, g, b): (u8, u8, u8)) -> rgb::Color {
    rgb::Color::new(r, g, b)
}

fn fill(c: (u8, u8, u8)) -> Fill {
    Fill {
        paint: color(c).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

/// A page being written top to bottom.
struct Sheet<'a, 'b> {
    s: &'a mut Surface<'b>,
    y: f32,
}

impl Sheet<'_, '_> {
    fn text_at(&mut self, x: f32, baseline: f32, s: &str, bold: bool, size: f32, c: (u8, u8, u8)) {
        if s.is_empty() {
            return;
        }
        self.s.set_fill(Some(fill(c)));
        let mut x = x;
        for run in faces().runs(s, bold, size) {
            self.s.draw_text(
                Point::from_xy(x, baseline),
                run.font,
                size,
                run.text,
                false,
                run.direction,
            );
            x += run.width;
        }
    }

    /// A line of text at the cursor, which moves down by `size * 1.35`.
    fn line(&mut self, s: &str, bold: bool, size: f32, c: (u8, u8, u8)) {
        self.y += size * 1.35;
        self.text_at(MARGIN, self.y, s, bold, size, c);
    }

    fn paragraph(&mut self, s: &str, size: f32, indent: f32) {
        for l in wrap(s, false, size, WIDTH - indent) {
            self.y += size * 1.4;
            self.text_at(MARGIN + indent, self.y, &l, false, size, INK);
        }
    }

    fn bullet(&mut self, s: &str, size: f32) {
        self.text_at(MARGIN + 2.0, self.y + size * 1.4, "•", false, size, INK);
        self.paragraph(s, size, 12.0);
        self.y += 2.0;
    }

    fn heading(&mut self, s: &str) {
        self.y += 16.0;
        self.line(s, true, 12.5, INK);
        self.y += 4.0;
        self.rule(MARGIN, self.y, WIDTH, RULE);
        self.y += 2.0;
    }

    fn rect(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill_c: Option<(u8, u8, u8)>,
        stroke: Option<(u8, u8, u8)>,
    ) {
        let Some(r) = Rect::from_xywh(x, y, w, h) else {
            return;
        };
        let mut pb = PathBuilder::new();
        pb.push_rect(r);
        let Some(path) = pb.finish() else { return };
        self.s.set_fill(fill_c.map(fill));
        self.s.set_stroke(stroke.map(|c| Stroke {
            paint: color(c).into(),
            width: 0.6,
            ..Stroke::default()
        }));
        self.s.draw_path(&path);
        self.s.set_stroke(None);
    }

    fn rule(&mut self, x: f32, y: f32, w: f32, c: (u8, u8, u8)) {
        self.rect(x, y, w, 0.6, Some(c), None);
    }

    /// A table: header row, then rows; columns with widths summing to `WIDTH`.
    fn table(
        &mut self,
        columns: &[(&str, f32, Align)],
        rows: &[Vec<String>],
        bold_last: bool,
        size: f32,
    ) {
        let row_h = size * 1.75;
        let total: f32 = columns.iter().map(|c| c.1).sum();
        let scale = WIDTH / total;
        let draw_row = |sheet: &mut Sheet<'_, '_>,
                        cells: &[String],
                        bold: bool,
                        c: (u8, u8, u8),
                        size: f32| {
            let mut x = MARGIN;
            let baseline = sheet.y + row_h * 0.68;
            for (cell, (_, w, align)) in cells.iter().zip(columns) {
                let w = w * scale;
                let s = fit(cell, bold, size, w - 6.0);
                let tx = match align {
                    Align::Left => x + 3.0,
                    Align::Right => x + w - 3.0 - text_width(&s, bold, size),
                };
                sheet.text_at(tx, baseline, &s, bold, size, c);
                x += w;
            }
            sheet.y += row_h;
        };
        self.rect(MARGIN, self.y, WIDTH, row_h, Some(SHADE), None);
        let header: Vec<String> = columns.iter().map(|c| c.0.to_string()).collect();
        draw_row(self, &header, true, INK, size * 0.95);
        self.rule(MARGIN, self.y, WIDTH, RULE);
        for (i, row) in rows.iter().enumerate() {
            let last = i + 1 == rows.len();
            if last && bold_last {
                self.rule(MARGIN, self.y, WIDTH, RULE);
            }
            draw_row(self, row, last && bold_last, INK, size);
        }
        self.rule(MARGIN, self.y, WIDTH, RULE);
    }

    /// One of the dashboards' SVG charts, scaled to `WIDTH`.
    fn chart(&mut self, svg: &str, (w, h): (u32, u32)) -> Result<(), ReportError> {
        let svg = svg
            .replacen(
                r#"width="100%""#,
                &format!(r#"width="{w}" height="{h}""#),
                1,
            )
            .replace(charts::FONT, FAMILY);
        let opt = usvg::Options {
            fontdb: chart_fonts(),
            font_family: FAMILY.into(),
            ..usvg::Options::default()
        };
        let tree = usvg::Tree::from_str(&svg, &opt).map_err(|e| ReportError::Render {
            format: "PDF",
            message: format!("chart: {e}"),
        })?;
        let scale = WIDTH / w as f32;
        let size = Size::from_wh(WIDTH, h as f32 * scale).expect("positive size");
        self.y += 6.0;
        self.s
            .push_transform(&Transform::from_translate(MARGIN, self.y));
        self.s.draw_svg(&tree, size, SvgSettings::default());
        self.s.pop();
        self.y += size.height();
        Ok(())
    }

    fn footer(&mut self, r: &WeeklyReport, page: usize) {
        let y = A4.1 - MARGIN / 2.0;
        self.rule(MARGIN, y - 12.0, WIDTH, RULE);
        self.text_at(
            MARGIN,
            y,
            &format!(
                "AMSO weekly report {} · {} · generated {}",
                r.week, r.time_zone, r.generated_at
            ),
            false,
            7.5,
            MUTED,
        );
        let p = format!("page {page} of {PAGES}");
        self.text_at(
            A4.0 - MARGIN - text_width(&p, false, 7.5),
            y,
            &p,
            false,
            7.5,
            MUTED,
        );
    }
}

/// Writes one page with `draw`.
fn page(
    doc: &mut Document,
    r: &WeeklyReport,
    number: usize,
    draw: impl FnOnce(&mut Sheet<'_, '_>) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let mut page = doc.start_page_with(PageSettings::from_wh(A4.0, A4.1).expect("A4"));
    let mut surface = page.surface();
    let result = {
        let mut sheet = Sheet {
            s: &mut surface,
            y: MARGIN,
        };
        let drawn = draw(&mut sheet);
        sheet.footer(r, number);
        drawn
    };
    surface.finish();
    page.finish();
    result
}

fn day_range(r: &WeeklyReport) -> String {
    let d = |s: &str| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| d.format("%-d %b %Y").to_string())
            .unwrap_or_else(|_| s.to_string())
    };
    format!("{} – {}", d(&r.window.from), d(&r.window.to))
}

/// One headline tile: label, value, change against the week before, the 4-week average.
struct Tile {
    label: &'static str,
    value: String,
    detail: String,
    vs_before: String,
    average: String,
}

/// The model-assisted precision of a slice, where it has one.
fn assisted(k: &Kpis) -> Option<crate::metrics::kpi::Estimate> {
    k.estimates.as_ref().and_then(|e| e.figures.precision)
}

fn tiles(r: &WeeklyReport) -> Vec<Tile> {
    let (t, p, a) = (&r.totals, &r.previous, &r.average);
    let ci = |e: Option<crate::metrics::kpi::Estimate>| {
        e.map_or_else(
            || "no audit samples".to_string(),
            |e| {
                format!(
                    "95% CI {:.1}–{:.1}% · n {:.0}{}",
                    e.low * 100.0,
                    e.high * 100.0,
                    e.n,
                    if e.enough() { "" } else { " (thin)" }
                )
            },
        )
    };
    let value = |e: Option<crate::metrics::kpi::Estimate>| pct(e.map(|e| e.value));
    vec![
        Tile {
            label: "Ads decided",
            value: int(t.decided),
            detail: format!("{} automatic", int(t.auto_approved + t.auto_rejected)),
            vs_before: change(t.decided, p.decided),
            average: int(a.decided),
        },
        Tile {
            label: "Automation rate",
            value: pct(t.automation_rate),
            detail: format!("{} routed to reviewers", int(t.routed)),
            vs_before: pts(t.automation_rate, p.automation_rate),
            average: pct(a.automation_rate),
        },
        Tile {
            label: "Auto-reject precision",
            value: value(assisted(t).or(t.precision)),
            detail: match assisted(t) {
                Some(e) => format!(
                    "model-assisted · 95% CI {:.1}–{:.1}% · audit-only {}",
                    e.low * 100.0,
                    e.high * 100.0,
                    value(t.precision)
                ),
                None => ci(t.precision),
            },
            vs_before: pts(t.precision.map(|e| e.value), p.precision.map(|e| e.value)),
            average: value(a.precision),
        },
        Tile {
            label: "Auto-reject recall",
            value: value(t.recall),
            detail: ci(t.recall),
            vs_before: pts(t.recall.map(|e| e.value), p.recall.map(|e| e.value)),
            average: value(a.recall),
        },
        Tile {
            label: "Override rate",
            value: pct(t.override_rate),
            detail: format!("{} of {} checked", int(t.overridden), int(t.checked)),
            vs_before: pts(t.override_rate, p.override_rate),
            average: pct(a.override_rate),
        },
        Tile {
            label: "Appeal overturn rate",
            value: pct(t.appeal_overturn_rate),
            detail: format!("{} appeals decided", int(t.appeals_decided)),
            vs_before: pts(t.appeal_overturn_rate, p.appeal_overturn_rate),
            average: pct(a.appeal_overturn_rate),
        },
        Tile {
            label: "SLA p95 (submit → final)",
            value: duration(t.sla_p95_seconds),
            detail: format!(
                "{} within SLA · p50 {}",
                pct(t.sla_within),
                duration(t.sla_p50_seconds)
            ),
            vs_before: format!("was {}", duration(p.sla_p95_seconds)),
            average: duration(a.sla_p95_seconds),
        },
        Tile {
            label: "Cost per 1,000 ads",
            value: t
                .estimates
                .as_ref()
                .and_then(|e| e.figures.cost_per_1k_ads)
                .map(|i| i.value)
                .or(t.cost.per_1k_ads)
                .map_or_else(|| NONE.into(), money),
            detail: match t.estimates.as_ref().and_then(|e| e.figures.cost_per_1k_ads) {
                Some(i) => format!(
                    "model-assisted, 95% CI {}–{} · audit-only {}",
                    money(i.low),
                    money(i.high),
                    t.cost.per_1k_ads.map_or_else(|| NONE.into(), money),
                ),
                None => format!("{} in total", money(t.cost.total)),
            },
            vs_before: change(
                t.cost.per_1k_ads.unwrap_or(0.0),
                p.cost.per_1k_ads.unwrap_or(0.0),
            ),
            average: a.cost.per_1k_ads.map_or_else(|| NONE.into(), money),
        },
    ]
}

fn summary(sheet: &mut Sheet<'_, '_>, r: &WeeklyReport) -> Result<(), ReportError> {
    sheet.line("AMSO · Weekly moderation report", false, 9.0, MUTED);
    sheet.y += 6.0;
    sheet.line(&format!("Week {}", r.week), true, 22.0, INK);
    let scope = if r.all_markets {
        format!("all {} markets", r.markets_in_scope.len())
    } else {
        format!("markets {}", r.markets_in_scope.join(", "))
    };
    sheet.line(
        &format!("{} · {} · {}", day_range(r), r.time_zone, scope),
        false,
        10.0,
        MUTED,
    );
    sheet.y += 12.0;

    // Eight tiles, four to a row.
    let gap = 8.0;
    let tw = (WIDTH - 3.0 * gap) / 4.0;
    let th = 78.0;
    for (i, t) in tiles(r).iter().enumerate() {
        let x = MARGIN + (i % 4) as f32 * (tw + gap);
        let y = sheet.y + (i / 4) as f32 * (th + gap);
        sheet.rect(x, y, tw, th, Some(SHADE), Some(RULE));
        sheet.text_at(
            x + 7.0,
            y + 14.0,
            &fit(t.label, false, 8.0, tw - 14.0),
            false,
            8.0,
            MUTED,
        );
        sheet.text_at(x + 7.0, y + 35.0, &t.value, true, 17.0, INK);
        sheet.text_at(
            x + 7.0,
            y + 48.0,
            &fit(&t.detail, false, 6.8, tw - 14.0),
            false,
            6.8,
            MUTED,
        );
        sheet.text_at(
            x + 7.0,
            y + 60.0,
            &format!("vs week before: {}", t.vs_before),
            false,
            7.2,
            INK,
        );
        sheet.text_at(
            x + 7.0,
            y + 71.0,
            &format!("4-week average: {}", t.average),
            false,
            7.2,
            INK,
        );
    }
    sheet.y += 2.0 * th + gap;

    sheet.heading("What moved this week");
    for f in &r.findings {
        sheet.bullet(f, 9.5);
    }

    sheet.heading("Drift alerts this week");
    if r.alerts.is_empty() {
        sheet.paragraph(
            "None: every slice's score distribution stayed within its band.",
            9.0,
            0.0,
        );
    } else {
        let rows: Vec<Vec<String>> = r
            .alerts
            .iter()
            .take(12)
            .map(|a| {
                vec![
                    a.at.get(..16).unwrap_or(&a.at).replace('T', " "),
                    a.market.clone(),
                    a.category.clone(),
                    format!("{} → {}", a.previous_band, a.band),
                    format!("{:.3}", a.psi),
                ]
            })
            .collect();
        sheet.table(
            &[
                ("Raised (UTC)", 26.0, Align::Left),
                ("Market", 12.0, Align::Left),
                ("Category", 20.0, Align::Left),
                ("Band", 26.0, Align::Left),
                ("PSI", 12.0, Align::Right),
            ],
            &rows,
            false,
            8.5,
        );
        if r.alerts.len() > 12 {
            sheet.paragraph(
                &format!(
                    "…and {} more in the XLSX (Drift sheet).",
                    r.alerts.len() - 12
                ),
                8.0,
                0.0,
            );
        }
    }
    sheet.heading("Model versions in use");
    sheet.paragraph(
        &if r.models.is_empty() {
            "No model decided ads this week.".to_string()
        } else {
            r.models.join(", ")
        },
        9.0,
        0.0,
    );
    sheet.paragraph(
        &format!(
            "Built from {} decisions in the database (newest {}). Week {} to {}, {}; compared with {} to {} and the four weeks {} to {}.",
            int(r.decisions_in_database as f64),
            r.data_through.as_deref().unwrap_or("none"),
            r.window.from,
            r.window.to,
            r.time_zone,
            r.previous_window.from,
            r.previous_window.to,
            r.average_window.from,
            r.average_window.to
        ),
        7.5,
        0.0,
    );
    Ok(())
}

fn thin_mark(e: Option<crate::metrics::kpi::Estimate>) -> &'static str {
    match e {
        Some(e) if !e.enough() => " *",
        _ => "",
    }
}

fn market_cells(label: &str, k: &Kpis) -> Vec<String> {
    vec![
        label.to_string(),
        int(k.decided),
        pct(k.automation_rate),
        format!("{}{}", estimate_line(k.precision), thin_mark(k.precision)),
        format!("{}{}", estimate_line(k.recall), thin_mark(k.recall)),
        pct(k.override_rate),
        pct(k.appeal_overturn_rate),
        duration(k.sla_p95_seconds),
        k.cost.per_1k_ads.map_or_else(|| NONE.into(), money),
    ]
}

fn markets(sheet: &mut Sheet<'_, '_>, r: &WeeklyReport) -> Result<(), ReportError> {
    sheet.heading("Markets this week");
    let mut rows: Vec<Vec<String>> = r
        .markets
        .iter()
        .map(|m| market_cells(&m.market, &m.week))
        .collect();
    rows.push(market_cells("All", &r.totals));
    sheet.table(
        &[
            ("Market", 8.0, Align::Left),
            ("Decided", 11.0, Align::Right),
            ("Automated", 13.0, Align::Right),
            ("Precision (95% CI)", 25.0, Align::Right),
            ("Recall (95% CI)", 25.0, Align::Right),
            ("Override", 12.0, Align::Right),
            ("Overturn", 11.0, Align::Right),
            ("SLA p95", 10.0, Align::Right),
            ("Cost/1k", 11.0, Align::Right),
        ],
        &rows,
        true,
        7.6,
    );
    sheet.y += 4.0;
    sheet.paragraph(
        "Automated: decided without a human. Override: human-checked automatic decisions a reviewer overruled. Overturn: decided appeals that overturned the machine. * fewer than 20 effective audit samples: read as a rough indication.",
        7.0,
        0.0,
    );
    sheet.heading("Trends over eight weeks");
    let (w, h) = (720, 270);
    sheet.chart(&trend::rates_chart(r, Some((w, h))), (w, h))?;
    sheet.chart(&trend::cost_chart(r, (w, 220)), (w, 220))?;
    Ok(())
}

fn cost_and_drift(sheet: &mut Sheet<'_, '_>, r: &WeeklyReport) -> Result<(), ReportError> {
    sheet.heading("Cost of risk control by market and component");
    let names: Vec<String> = r.markets.iter().map(|m| m.market.clone()).collect();
    let component = |f: fn(&Kpis) -> f64| r.markets.iter().map(|m| f(&m.week)).collect::<Vec<_>>();
    let (w, h) = (720, 300);
    let spec = ChartSpec::new("Cost by market, USD for the week", "Market", "USD").size(w, h);
    let svg = charts::stacked_bars(
        &spec,
        &names,
        &[
            ("Reviewers".to_string(), component(|k| k.cost.review)),
            ("Inference".to_string(), component(|k| k.cost.inference)),
            (
                "False rejects".to_string(),
                component(|k| k.cost.false_positive),
            ),
            (
                "Harm let through".to_string(),
                component(|k| k.cost.false_negative),
            ),
        ],
    );
    sheet.chart(&svg, (w, h))?;
    sheet.paragraph(
        &format!(
            "Total {}: reviewers {}, inference {}, false rejects {}, harm let through {}.",
            money(r.totals.cost.total),
            money(r.totals.cost.review),
            money(r.totals.cost.inference),
            money(r.totals.cost.false_positive),
            money(r.totals.cost.false_negative)
        ),
        8.5,
        0.0,
    );

    sheet.heading("Drift status: score distributions against the 4 weeks before");
    let bands = [
        (Some(DriftBand::Stable), "Stable (PSI < 0.1)"),
        (Some(DriftBand::Watch), "Watch (0.1–0.2)"),
        (Some(DriftBand::Drifted), "Drifted (≥ 0.2)"),
        (None, "Too few scores"),
    ];
    let components: Vec<(String, Vec<f64>)> = bands
        .iter()
        .map(|(band, label)| {
            (
                label.to_string(),
                r.markets
                    .iter()
                    .map(|m| {
                        r.drift
                            .iter()
                            .filter(|d| d.market == m.market && d.band == *band)
                            .count() as f64
                    })
                    .collect(),
            )
        })
        .collect();
    let spec = ChartSpec::new(
        "Categories per market by drift band",
        "Market",
        "Categories",
    )
    .size(w, 260);
    sheet.chart(&charts::stacked_bars(&spec, &names, &components), (w, 260))?;
    let mut worst: Vec<_> = r.drift.iter().filter(|d| d.psi.is_some()).collect();
    worst.sort_by(|a, b| b.psi.unwrap_or(0.0).total_cmp(&a.psi.unwrap_or(0.0)));
    let named: Vec<String> = worst
        .iter()
        .take(5)
        .map(|d| {
            format!(
                "{} {} {:.2} ({})",
                d.market,
                d.category,
                d.psi.unwrap_or(0.0),
                d.band.map_or(NONE, |b| b.as_str())
            )
        })
        .collect();
    if !named.is_empty() {
        sheet.paragraph(&format!("Highest PSI: {}.", named.join("; ")), 8.5, 0.0);
    }
    Ok(())
}

fn overrides(sheet: &mut Sheet<'_, '_>, r: &WeeklyReport) -> Result<(), ReportError> {
    sheet.heading("Top override reasons");
    let all: f64 = r.reasons.iter().map(|c| c.overrides).sum();
    let rows: Vec<Vec<String>> = r
        .reasons
        .iter()
        .take(8)
        .map(|c| {
            vec![
                c.label.clone(),
                int(c.overrides),
                pct(crate::metrics::kpi::ratio(c.overrides, all)),
            ]
        })
        .collect();
    if rows.is_empty() {
        sheet.paragraph("No reviewer overruled the machine this week.", 9.0, 0.0);
    } else {
        sheet.table(
            &[
                ("Reason", 66.0, Align::Left),
                ("Overrides", 16.0, Align::Right),
                ("Share of overrides", 18.0, Align::Right),
            ],
            &rows,
            false,
            8.5,
        );
    }
    sheet.heading("Where reviewers overrule the machine most");
    let mut cells: Vec<_> = r
        .categories
        .iter()
        .filter(|c| c.market != "ALL" && c.checked >= MIN_CELL_CHECKED && c.override_rate.is_some())
        .collect();
    cells.sort_by(|a, b| {
        b.override_rate
            .unwrap_or(0.0)
            .total_cmp(&a.override_rate.unwrap_or(0.0))
    });
    let rows: Vec<Vec<String>> = cells
        .iter()
        .take(10)
        .map(|c| {
            vec![
                c.market.clone(),
                c.category.clone(),
                pct(c.override_rate),
                pts(c.override_rate, c.previous_override_rate),
                format!("{} of {}", int(c.overridden), int(c.checked)),
            ]
        })
        .collect();
    if rows.is_empty() {
        sheet.paragraph(
            "No market × category had 20 or more human-checked decisions this week.",
            9.0,
            0.0,
        );
    } else {
        sheet.table(
            &[
                ("Market", 12.0, Align::Left),
                ("Category", 22.0, Align::Left),
                ("Override rate", 18.0, Align::Right),
                ("vs week before", 18.0, Align::Right),
                ("Overridden", 20.0, Align::Right),
            ],
            &rows,
            false,
            8.5,
        );
        sheet.paragraph(
            "Cells with at least 20 human-checked automatic decisions.",
            7.0,
            0.0,
        );
    }
    if !r.overridden.is_empty() {
        sheet.heading("Overridden this week, the latest");
        let rows: Vec<Vec<String>> = r
            .overridden
            .iter()
            .take(5)
            .map(|a| {
                vec![
                    a.market.clone(),
                    a.headline.clone(),
                    format!("{} → {}", a.machine_action, a.verdict),
                    a.reviewer.clone(),
                ]
            })
            .collect();
        sheet.table(
            &[
                ("Market", 10.0, Align::Left),
                ("Ad", 48.0, Align::Left),
                ("Machine → reviewer", 20.0, Align::Left),
                ("Reviewer", 22.0, Align::Left),
            ],
            &rows,
            false,
            8.0,
        );
    }
    sheet.heading("Notes on sample sizes and method");
    for n in &r.sample_notes {
        sheet.bullet(n, 8.5);
    }
    Ok(())
}

/// Page 5: the rules of the week.
fn rules(sheet: &mut Sheet<'_, '_>, r: &WeeklyReport) -> Result<(), ReportError> {
    sheet.heading("Rules this week");
    let names = |f: fn(&crate::dashboard::view::ReportRule) -> bool| {
        r.rules
            .iter()
            .filter(|x| f(x))
            .map(|x| format!("“{}”", x.name))
            .collect::<Vec<_>>()
    };
    let on = names(|x| x.switched_on);
    let expired = names(|x| x.expired);
    sheet.paragraph(
        &format!(
            "Switched on: {}. Expired: {}.",
            if on.is_empty() {
                "none".to_string()
            } else {
                on.join(", ")
            },
            if expired.is_empty() {
                "none".to_string()
            } else {
                expired.join(", ")
            },
        ),
        9.0,
        0.0,
    );
    if r.rules.is_empty() {
        sheet.paragraph("No rule matched an ad this week.", 9.0, 0.0);
        return Ok(());
    }
    let precision = |e: Option<crate::metrics::kpi::Estimate>| match e {
        Some(e) if e.enough() => format!(
            "{} ({:.0}–{:.0}%)",
            pct(Some(e.value)),
            e.low * 100.0,
            e.high * 100.0
        ),
        Some(e) => format!("too few (n={})", int(e.n)),
        None => "no verdicts".into(),
    };
    let table = |sheet: &mut Sheet<'_, '_>, rows: Vec<Vec<String>>| {
        sheet.table(
            &[
                ("Rule", 40.0, Align::Left),
                ("State", 14.0, Align::Left),
                ("Action", 11.0, Align::Left),
                ("Hits live", 12.0, Align::Right),
                ("Background", 13.0, Align::Right),
                ("Precision (95%)", 24.0, Align::Right),
            ],
            &rows,
            false,
            8.5,
        );
    };
    let row = |x: &crate::dashboard::view::ReportRule| {
        vec![
            x.name.clone(),
            x.state.clone(),
            x.action.clone(),
            int(x.hits_live as f64),
            int(x.hits_background as f64),
            precision(x.precision),
        ]
    };
    sheet.line("Top rules by hits", true, 10.0, INK);
    table(sheet, r.rules.iter().take(10).map(row).collect());
    let mut by_precision: Vec<&crate::dashboard::view::ReportRule> = r
        .rules
        .iter()
        .filter(|x| x.precision.is_some_and(|e| e.enough()))
        .collect();
    by_precision.sort_by(|a, b| {
        let v = |x: &crate::dashboard::view::ReportRule| x.precision.map_or(0.0, |e| e.value);
        v(b).total_cmp(&v(a))
    });
    sheet.y += 8.0;
    sheet.line(
        "Top rules by precision (at least 20 effective verdicts)",
        true,
        10.0,
        INK,
    );
    if by_precision.is_empty() {
        sheet.paragraph("No rule has enough reviewed hits yet.", 9.0, 0.0);
    } else {
        table(sheet, by_precision.into_iter().take(10).map(row).collect());
    }
    sheet.paragraph(
        "Precision: the share of a rule's hits reviewers found violating, among hits with a verdict from a random audit or a routed review, weighted by 1 / sampling probability.",
        8.0,
        0.0,
    );
    Ok(())
}

/// The PDF's bytes.
pub fn render(r: &WeeklyReport) -> Result<Vec<u8>, ReportError> {
    let mut doc = Document::new();
    page(&mut doc, r, 1, |s| summary(s, r))?;
    page(&mut doc, r, 2, |s| markets(s, r))?;
    page(&mut doc, r, 3, |s| cost_and_drift(s, r))?;
    page(&mut doc, r, 4, |s| overrides(s, r))?;
    page(&mut doc, r, 5, |s| rules(s, r))?;
    doc.set_metadata(
        Metadata::new()
            .title(format!("AMSO weekly report {}", r.week))
            .creator("AMSO".into())
            .language("en".into()),
    );
    doc.finish().map_err(|e| ReportError::Render {
        format: "PDF",
        message: format!("{e:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_four_a4_pages_with_embedded_fonts() {
        let r = WeeklyReport {
            week: "2026-W47".into(),
            time_zone: "UTC".into(),
            trend_weeks: (40..48).map(|w| format!("2026-W{w}")).collect(),
            trend_automation: vec![Some(0.8); 8],
            trend_override: vec![Some(0.05); 8],
            trend_cost_per_1k: vec![Some(12.0); 8],
            findings: vec!["12,345 ads decided.".into()],
            ..WeeklyReport::default()
        };
        let pdf = render(&r).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("FontFile2"), "fonts are embedded");
        assert_eq!(
            text.matches("MediaBox[0 0 595.28 841.89]").count(),
            PAGES,
            "four A4 pages"
        );
        if let Ok(dir) = std::env::var("AMSO_REPORT_SAMPLE_DIR") {
            std::fs::write(format!("{dir}/sample.pdf"), &pdf).unwrap();
        }
    }

    /// Names, reason labels and ad text in Japanese, Korean and Arabic come back out of the
    /// PDF as the same text (poppler's `pdftotext`, which `scripts/setup.sh` installs), drawn
    /// in faces that have their glyphs.
    #[test]
    fn every_script_is_drawn_and_reads_back() {
        use crate::dashboard::view::{OverriddenAd, OverrideCount};
        assert!(
            super::faces().missing().is_empty(),
            "fonts missing: {:?} (scripts/setup.sh installs fonts-noto-core and fonts-noto-cjk)",
            super::faces().missing()
        );
        let person = |label: &str| OverrideCount {
            key: label.into(),
            label: label.into(),
            reviews: 10.0,
            overrides: 3.0,
            rate: Some(0.3),
        };
        let ad = |market: &str, headline: &str, reviewer: &str| OverriddenAd {
            ad_id: 1,
            market: market.into(),
            category: "gambling".into(),
            machine_action: "approve".into(),
            verdict: "reject".into(),
            source: "audit".into(),
            reason_code: None,
            reviewer: reviewer.into(),
            at: "2026-11-20T10:00:00Z".into(),
            headline: headline.into(),
            advertiser: "x".into(),
            reason_text: None,
        };
        let r = WeeklyReport {
            week: "2026-W47".into(),
            time_zone: "Asia/Tokyo".into(),
            reasons: vec![
                person("賭博の広告"),
                person("도박 광고"),
                person("إعلان قمار"),
            ],
            overridden: vec![
                ad("JP", "今すぐ登録してボーナス", "佐藤 花子"),
                ad("KR", "지금 가입하고 보너스 받기", "김민준"),
                ad("AE", "سجل الآن واحصل على مكافأة", "سارة العلي"),
            ],
            ..WeeklyReport::default()
        };
        let pdf = render(&r).unwrap();
        if let Ok(dir) = std::env::var("AMSO_REPORT_SAMPLE_DIR") {
            std::fs::write(format!("{dir}/scripts.pdf"), &pdf).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report.pdf");
        std::fs::write(&file, &pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .arg(&file)
            .arg("-")
            .output()
            .expect("pdftotext runs (poppler-utils; scripts/setup.sh installs it)");
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        for s in [
            "賭博の広告",
            "도박 광고",
            "今すぐ登録してボーナス",
            "지금 가입하고 보너스 받기",
            "佐藤 花子",
            "김민준",
        ] {
            assert!(text.contains(s), "{s:?} not in the PDF's text:\n{text}");
        }
        // Arabic comes back as the same words in the same (reading) order. Word by word the
        // letters are compared as a set: poppler writes the two letters of a ligature glyph
        // (lam-alef, لا) reversed when it turns a right-to-left line back into reading order,
        // though the PDF maps the glyph to them in order.
        let letters = |w: &str| {
            let mut v: Vec<char> = w.chars().collect();
            v.sort_unstable();
            v
        };
        for s in ["إعلان قمار", "سجل الآن واحصل على مكافأة", "سارة العلي"]
        {
            let want: Vec<Vec<char>> = s.split_whitespace().map(letters).collect();
            let found = text.lines().any(|line| {
                let line: String = line
                    .chars()
                    .filter(|c| !('\u{202a}'..='\u{202e}').contains(c))
                    .collect();
                let got: Vec<Vec<char>> = line.split_whitespace().map(letters).collect();
                got.windows(want.len()).any(|w| w == want.as_slice())
            });
            assert!(found, "{s:?} not in the PDF's text:\n{text}");
        }
        let fonts = String::from_utf8_lossy(&pdf);
        for face in ["NotoSansCJKjp", "NotoSansCJKkr", "NotoSansArabic"] {
            assert!(fonts.contains(face), "{face} is embedded");
        }
        assert!(
            pdf.len() < 400_000,
            "subset faces keep it small: {} bytes",
            pdf.len()
        );
    }
}
