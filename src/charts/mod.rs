//! Server-rendered SVG charts in one house style, for the dashboards and the weekly report.
//!
//! plotters' SVG backend draws them (text stays `<text>`, so the server needs no fonts), then
//! the root `<svg>` is rewritten to scale in CSS and to be announced by screen readers: a
//! `viewBox`, `width="100%"`, `role="img"`, and `<title>` and `<desc>` as its first children.
//! Every chart has a title, axis titles, a light horizontal grid and a legend when it shows more
//! than one series; empty input draws a frame saying "No data for this selection".
//!
//! Rendering is CPU work: call these from `spawn_blocking` or a dedicated thread.
//!
//! The palette has six colours, ordered so that neighbouring series differ in lightness (CIE L*,
//! in brackets) as well as in hue, which keeps them apart for colour-blind readers and on a grey
//! printout: navy `#1f3b73` (26), orange `#e07b00` (62), teal `#22776c` (45), light grey-blue
//! `#9fb3c8` (72), dark red `#9b2226` (35), mid grey `#6c757d` (49). Navy against orange, the
//! first pair, survives every common colour-vision deficiency. Colour is never the only cue:
//! line series also cycle through five marker shapes (no colour and shape pair repeats within
//! 30 series), and stacked segments are split by white hairlines.

mod axes;
mod drawing;
mod layout;
mod svg;

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use self::axes::{Axis, SlotLabels, slot_axis, unit_axis, value_axis};
use self::drawing::{colour, dot_radius, draw_line, marker, text_style, text_width};
use self::layout::{Layout, LegendItem, Swatch, build_plot, chart_size, draw_header, draw_no_data};
use self::svg::{Sizing, clean, join_names, or_default, render};

/// Series colours, in the order series get them (see the module documentation).
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1f, 0x3b, 0x73),
    RGBColor(0xe0, 0x7b, 0x00),
    RGBColor(0x22, 0x77, 0x6c),
    RGBColor(0x9f, 0xb3, 0xc8),
    RGBColor(0x9b, 0x22, 0x26),
    RGBColor(0x6c, 0x75, 0x7d),
];
const NAVY: RGBColor = PALETTE[0];
const LIGHT_BLUE: RGBColor = PALETTE[3];
const MID_GREY: RGBColor = PALETTE[5];
const INK: RGBColor = RGBColor(0x1d, 0x27, 0x33);
const MUTED: RGBColor = RGBColor(0x49, 0x50, 0x57);
const GRID: RGBColor = RGBColor(0xe6, 0xe9, 0xed);
const AXIS: RGBColor = RGBColor(0xad, 0xb5, 0xbd);

/// The UI's font stack (style/main.css) without quotes, which plotters would escape.
pub(crate) const FONT: &str =
    "system-ui, -apple-system, Segoe UI, Roboto, Noto Sans, Helvetica, Arial, sans-serif";
/// plotters' SVG backend writes `font-size` as the requested size divided by 1.24.
const FONT_SCALE: f64 = 1.24;
const LABEL_PX: f64 = 12.0;
const TITLE_PX: f64 = 14.0;
/// Outer padding and the gap the layout leaves around text, in px.
const PAD: i32 = 12;
const LEGEND_ROW: i32 = 20;
const SWATCH_W: i32 = 20;
/// plotters puts tick labels twice the tick length away from the axis.
const TICK: i32 = 4;
const MAX_AXIS_LABEL_CHARS: usize = 16;
/// Values beyond this are clamped so axis arithmetic stays finite.
const MAX_ABS_VALUE: f64 = 1e12;

/// The message an empty chart shows.
pub const NO_DATA: &str = "No data for this selection";
/// Number of equal bins of [0, 1] in [`histogram_overlay`].
pub const HISTOGRAM_BINS: usize = 20;

type DrawResult<T = ()> = Result<T, DrawingAreaErrorKind<std::io::Error>>;
type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Plot<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Axis, Axis>>;
/// A point on the canvas, in px from the top left.
type Px = (i32, i32);

/// What a chart shows and how big it is; size in px, default 720×280.
#[derive(Clone, Debug)]
pub struct ChartSpec {
    /// Drawn above the chart and announced as the SVG `<title>`.
    pub title: String,
    /// One-sentence summary for screen readers (`<desc>`); a generic one is made when empty.
    pub desc: String,
    /// X axis title, with its unit.
    pub x_label: String,
    /// Y axis title, with its unit.
    pub y_label: String,
    /// Width in px (the viewBox; the SVG itself scales to its container); at least 240.
    pub width: u32,
    /// Height in px; at least 160.
    pub height: u32,
    /// y axis as percent (values given as shares 0..1, axis shows 0%..100%); the axis ends at
    /// the first round value above the data, so a 3% rate is not flattened against 100%.
    pub percent: bool,
}

impl ChartSpec {
    /// A 720×280 chart with these titles.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        Self {
            title: title.to_owned(),
            desc: String::new(),
            x_label: x_label.to_owned(),
            y_label: y_label.to_owned(),
            width: 720,
            height: 280,
            percent: false,
        }
    }

    /// Sets the screen-reader summary.
    pub fn desc(mut self, d: &str) -> Self {
        self.desc = d.to_owned();
        self
    }

    /// Shows y values (shares 0..1) as percentages.
    pub fn percent(mut self) -> Self {
        self.percent = true;
        self
    }

    /// Sets the size in px.
    pub fn size(mut self, w: u32, h: u32) -> Self {
        self.width = w;
        self.height = h;
        self
    }
}

/// One named line of a [`line_chart`].
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// y per x-slot; None = gap (no point)
    pub values: Vec<Option<f64>>,
}

impl Series {
    /// A series from its name and one value per x slot.
    pub fn new(name: &str, values: Vec<Option<f64>>) -> Self {
        Self {
            name: name.to_owned(),
            values,
        }
    }
}

/// Lines over labelled x slots (e.g. days "11-02"), one colour per series, points marked; thin out x labels when there are many.
pub fn line_chart(spec: &ChartSpec, x_labels: &[String], series: &[Series]) -> String {
    line_chart_with_marks(spec, x_labels, series, &[])
}

/// Same as line_chart plus horizontal dashed reference lines (e.g. PSI bands 0.1 "watch", 0.2 "drifted"), each labelled at the right end.
pub fn line_chart_with_marks(
    spec: &ChartSpec,
    x_labels: &[String],
    series: &[Series],
    marks: &[(f64, &str)],
) -> String {
    let slots = x_labels.len();
    let values: Vec<Vec<Option<f64>>> = series
        .iter()
        .map(|s| {
            (0..slots)
                .map(|i| s.values.get(i).copied().flatten().and_then(finite))
                .collect()
        })
        .collect();
    let data: Vec<f64> = values.iter().flatten().flatten().copied().collect();
    let marks: Vec<(f64, String)> = marks
        .iter()
        .filter_map(|&(v, label)| finite(v).map(|v| (v, clean(label))))
        .collect();
    let desc = or_default(&spec.desc, data.is_empty(), || {
        let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
        format!(
            "Line chart of {} over {} points from {} to {}.",
            join_names(&names),
            slots,
            x_labels.first().map_or("", String::as_str),
            x_labels.last().map_or("", String::as_str),
        )
    });
    render(
        chart_size(spec),
        Sizing::Fluid,
        &spec.title,
        &desc,
        |root| {
            if data.is_empty() {
                return draw_no_data(root, spec);
            }
            let legend: Vec<LegendItem> = if series.len() > 1 {
                series
                    .iter()
                    .enumerate()
                    .map(|(i, s)| LegendItem::new(&s.name, Swatch::Line(colour(i), marker(i))))
                    .collect()
            } else {
                Vec::new()
            };
            let top = draw_header(root, &spec.title, &legend)?;
            let mark_room = marks
                .iter()
                .map(|(_, label)| text_width(label, LABEL_PX) + 8)
                .max()
                .unwrap_or(0);
            let layout = Layout::new(root, spec, top, PAD.max(mark_room + 6));
            let (lo, hi) = bounds(data.iter().chain(marks.iter().map(|(v, _)| v)).copied());
            let y = value_axis(lo, hi, spec.percent, layout.tick_count());
            let x = slot_axis(x_labels, 0.3, layout.plot_width(&y), SlotLabels::Thin);
            let plot = build_plot(root, &layout, spec, &x, &y)?;

            let dash = MID_GREY.stroke_width(1);
            for (v, label) in &marks {
                let from = plot.backend_coord(&(x.range.start, *v));
                let to = plot.backend_coord(&(x.range.end, *v));
                root.draw(&DashedPathElement::new(vec![from, to], 6, 4, dash))?;
                let style = text_style(LABEL_PX, MUTED).pos(Pos::new(HPos::Left, VPos::Center));
                root.draw(&Text::new(label.clone(), (to.0 + 6, to.1), style))?;
            }
            // Markers on every point stop helping once they merge into a solid band.
            let mark_all = layout.plot_width(&y) >= 12 * slots as i32;
            for (i, vals) in values.iter().enumerate() {
                let points: Vec<Option<Px>> = vals
                    .iter()
                    .enumerate()
                    .map(|(slot, v)| v.map(|v| plot.backend_coord(&(slot as f64, v))))
                    .collect();
                draw_line(root, &points, colour(i), marker(i), mark_all)?;
            }
            Ok(())
        },
    )
}

/// Stacked vertical bars: one bar per category label, one stack segment per component (component name, values per category).
///
/// Negative and non-finite values count as zero; all-zero totals draw the empty frame.
pub fn stacked_bars(
    spec: &ChartSpec,
    categories: &[String],
    components: &[(String, Vec<f64>)],
) -> String {
    let n = categories.len();
    let heights: Vec<Vec<f64>> = components
        .iter()
        .map(|(_, values)| {
            (0..n)
                .map(|i| {
                    values
                        .get(i)
                        .copied()
                        .and_then(finite)
                        .unwrap_or(0.0)
                        .max(0.0)
                })
                .collect()
        })
        .collect();
    let totals: Vec<f64> = (0..n).map(|i| heights.iter().map(|h| h[i]).sum()).collect();
    let max_total = totals.iter().copied().fold(0.0, f64::max);
    let empty = max_total <= 0.0;
    let desc = or_default(&spec.desc, empty, || {
        let names: Vec<&str> = components.iter().map(|(name, _)| name.as_str()).collect();
        format!(
            "Stacked bar chart of {} for {} categories.",
            join_names(&names),
            n
        )
    });
    render(
        chart_size(spec),
        Sizing::Fluid,
        &spec.title,
        &desc,
        |root| {
            if empty {
                return draw_no_data(root, spec);
            }
            let legend: Vec<LegendItem> = if components.len() > 1 {
                components
                    .iter()
                    .enumerate()
                    .map(|(i, (name, _))| LegendItem::new(name, Swatch::Bar(colour(i))))
                    .collect()
            } else {
                Vec::new()
            };
            let top = draw_header(root, &spec.title, &legend)?;
            let layout = Layout::new(root, spec, top, PAD);
            let y = value_axis(0.0, max_total, spec.percent, layout.tick_count());
            let plot_width = layout.plot_width(&y);
            let x = slot_axis(categories, 0.5, plot_width, SlotLabels::Every);
            let plot = build_plot(root, &layout, spec, &x, &y)?;

            // Bars fill 70% of their slot but never grow wider than 56 px.
            let slot_px = f64::from(plot_width) / n as f64;
            let half = 0.35_f64.min(28.0 / slot_px.max(1.0));
            for i in 0..n {
                let mut base = 0.0;
                for (k, h) in heights.iter().enumerate() {
                    let h = h[i];
                    if h <= 0.0 {
                        continue;
                    }
                    let c = i as f64;
                    let lower_left = plot.backend_coord(&(c - half, base));
                    let upper_right = plot.backend_coord(&(c + half, base + h));
                    root.draw(&Rectangle::new(
                        [lower_left, upper_right],
                        colour(k).filled(),
                    ))?;
                    if base > 0.0 {
                        let seam = vec![lower_left, (upper_right.0, lower_left.1)];
                        root.draw(&PathElement::new(seam, WHITE.stroke_width(1)))?;
                    }
                    base += h;
                }
            }
            Ok(())
        },
    )
}

/// Two overlaid histograms of shares over 20 equal bins of [0,1] (reference drawn as filled light bars, current as a dark outlined step/bars), legend "Reference"/"Current".
///
/// `reference` and `current` are raw values in [0, 1] (e.g. model scores); each is binned and
/// shown as the share of its own count per bin, so samples of different sizes compare.
/// Values outside [0, 1] fall into the end bins; non-finite ones are ignored.
pub fn histogram_overlay(spec: &ChartSpec, reference: &[f64], current: &[f64]) -> String {
    let reference = bin_shares(reference);
    let current = bin_shares(current);
    let empty = reference.is_none() && current.is_none();
    let desc = or_default(&spec.desc, empty, || {
        format!(
            "Histogram of reference and current values over {HISTOGRAM_BINS} equal bins from 0 to 1."
        )
    });
    render(
        chart_size(spec),
        Sizing::Fluid,
        &spec.title,
        &desc,
        |root| {
            if empty {
                return draw_no_data(root, spec);
            }
            let mut legend = Vec::new();
            if reference.is_some() {
                legend.push(LegendItem::new("Reference", Swatch::Bar(LIGHT_BLUE)));
            }
            if current.is_some() {
                legend.push(LegendItem::new("Current", Swatch::Line(NAVY, None)));
            }
            let top = draw_header(root, &spec.title, &legend)?;
            let layout = Layout::new(root, spec, top, PAD);
            let hi = reference
                .iter()
                .chain(current.iter())
                .flatten()
                .copied()
                .fold(0.0, f64::max);
            let y = value_axis(0.0, hi, spec.percent, layout.tick_count());
            let x = unit_axis(layout.plot_width(&y));
            let plot = build_plot(root, &layout, spec, &x, &y)?;

            let edge = |k: usize| k as f64 / HISTOGRAM_BINS as f64;
            if let Some(shares) = &reference {
                for (k, &share) in shares.iter().enumerate() {
                    if share <= 0.0 {
                        continue;
                    }
                    let (x0, y0) = plot.backend_coord(&(edge(k), 0.0));
                    let (x1, y1) = plot.backend_coord(&(edge(k + 1), share));
                    // A 1 px gap keeps neighbouring bins apart.
                    let bar = Rectangle::new([(x0 + 1, y0), (x1, y1)], LIGHT_BLUE.filled());
                    root.draw(&bar)?;
                }
            }
            if let Some(shares) = &current {
                let mut outline = vec![plot.backend_coord(&(0.0, 0.0))];
                for (k, &share) in shares.iter().enumerate() {
                    outline.push(plot.backend_coord(&(edge(k), share)));
                    outline.push(plot.backend_coord(&(edge(k + 1), share)));
                }
                outline.push(plot.backend_coord(&(1.0, 0.0)));
                root.draw(&PathElement::new(outline, NAVY.stroke_width(2)))?;
            }
            Ok(())
        },
    )
}

/// Reliability diagram: points (mean predicted score, observed rate, weight) with the diagonal y = x dashed; point radius grows with weight (sqrt-scaled, capped).
///
/// Both axes run 0..1 (the y axis in percent when `spec.percent`); coordinates outside are
/// clamped, points with a non-finite coordinate are dropped, and a bad weight counts as zero.
pub fn reliability(spec: &ChartSpec, points: &[(f64, f64, f64)]) -> String {
    let mut points: Vec<(f64, f64, f64)> = points
        .iter()
        .filter(|(x, y, _)| x.is_finite() && y.is_finite())
        .map(|&(x, y, w)| {
            let w = if w.is_finite() { w.max(0.0) } else { 0.0 };
            (x.clamp(0.0, 1.0), y.clamp(0.0, 1.0), w)
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let desc = or_default(&spec.desc, points.is_empty(), || {
        format!(
            "Reliability diagram of {} score bins against the diagonal of perfect calibration.",
            points.len()
        )
    });
    render(
        chart_size(spec),
        Sizing::Fluid,
        &spec.title,
        &desc,
        |root| {
            if points.is_empty() {
                return draw_no_data(root, spec);
            }
            let legend = [
                LegendItem::new("Observed (dot size = weight)", Swatch::Dot(NAVY)),
                LegendItem::new("Perfect calibration", Swatch::Dashed(MID_GREY)),
            ];
            let top = draw_header(root, &spec.title, &legend)?;
            let layout = Layout::new(root, spec, top, PAD);
            let y = value_axis(0.0, 1.0, spec.percent, layout.tick_count().min(6));
            let x = unit_axis(layout.plot_width(&y));
            let plot = build_plot(root, &layout, spec, &x, &y)?;

            let diagonal = vec![
                plot.backend_coord(&(0.0, 0.0)),
                plot.backend_coord(&(1.0, 1.0)),
            ];
            root.draw(&DashedPathElement::new(
                diagonal,
                6,
                4,
                MID_GREY.stroke_width(1),
            ))?;
            let centres: Vec<Px> = points
                .iter()
                .map(|&(x, y, _)| plot.backend_coord(&(x, y)))
                .collect();
            if centres.len() > 1 {
                root.draw(&PathElement::new(
                    centres.clone(),
                    NAVY.mix(0.6).stroke_width(1),
                ))?;
            }
            let max_weight = points.iter().map(|p| p.2).fold(0.0, f64::max);
            let mut dots: Vec<(Px, i32)> = centres
                .into_iter()
                .zip(&points)
                .map(|(centre, &(_, _, w))| (centre, dot_radius(w, max_weight)))
                .collect();
            // Big dots first so that small ones stay visible on top of them.
            dots.sort_by_key(|&(_, r)| std::cmp::Reverse(r));
            for (centre, r) in dots {
                root.draw(&Circle::new(centre, r, NAVY.mix(0.3).filled()))?;
                root.draw(&Circle::new(centre, r, NAVY.stroke_width(1)))?;
            }
            Ok(())
        },
    )
}

/// Tiny inline line without axes or text for table cells: width×height px (e.g. 120×28); last point marked. Still has <title>.
pub fn sparkline(title: &str, values: &[Option<f64>], width: u32, height: u32) -> String {
    let (w, h) = (width.clamp(16, 4000), height.clamp(8, 4000));
    render((w, h), Sizing::Fixed, title, "", |root| {
        let (left, right) = (4, w as i32 - 4);
        let (upper, lower) = (4, h as i32 - 4);
        let data: Vec<f64> = values
            .iter()
            .copied()
            .flatten()
            .filter_map(finite)
            .collect();
        if data.is_empty() {
            let mid = h as i32 / 2;
            let baseline = vec![(left, mid), (right, mid)];
            return root
                .draw(&DashedPathElement::new(
                    baseline,
                    3,
                    3,
                    AXIS.stroke_width(1),
                ))
                .map(drop);
        }
        let (mut lo, mut hi) = data
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        if hi - lo < 1e-12 {
            // A flat series sits in the middle rather than on an edge.
            lo -= 1.0;
            hi += 1.0;
        }
        let last = values.len().saturating_sub(1).max(1) as f64;
        let x_at = |i: usize| {
            if values.len() == 1 {
                (left + right) / 2
            } else {
                left + ((right - left) as f64 * i as f64 / last).round() as i32
            }
        };
        let y_at = |v: f64| lower - ((lower - upper) as f64 * (v - lo) / (hi - lo)).round() as i32;
        let points: Vec<Option<Px>> = values
            .iter()
            .enumerate()
            .map(|(i, v)| v.and_then(finite).map(|v| (x_at(i), y_at(v))))
            .collect();
        draw_line(root, &points, NAVY, None, false)?;
        if let Some(&end) = points.iter().flatten().last() {
            root.draw(&Circle::new(end, 3, NAVY.filled()))?;
        }
        Ok(())
    })
}

impl ValueFormatter<f64> for Axis {
    fn format(value: &f64) -> String {
        value.to_string()
    }

    fn format_ext(&self, value: &f64) -> String {
        self.label(*value)
    }
}

/// The share of finite values per bin, or None when there are none.
fn bin_shares(values: &[f64]) -> Option<[f64; HISTOGRAM_BINS]> {
    let mut counts = [0usize; HISTOGRAM_BINS];
    let mut total = 0usize;
    for v in values.iter().copied().filter(|v| v.is_finite()) {
        let bin = (v.clamp(0.0, 1.0) * HISTOGRAM_BINS as f64) as usize;
        counts[bin.min(HISTOGRAM_BINS - 1)] += 1;
        total += 1;
    }
    (total > 0).then(|| counts.map(|c| c as f64 / total as f64))
}

/// Lowest and highest of the values and zero.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((0.0, 0.0), |(lo, hi), v| (f64::min(lo, v), f64::max(hi, v)))
}

/// A finite value, clamped to a range the axis arithmetic handles.
fn finite(v: f64) -> Option<f64> {
    v.is_finite()
        .then(|| v.clamp(-MAX_ABS_VALUE, MAX_ABS_VALUE))
}

#[cfg(test)]
mod tests {
    use super::axes::format_tick;
    use super::*;

    fn days(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("11-{:02}", i % 30 + 1)).collect()
    }

    /// Tags nest and close, and the document is one `<svg>` with the accessible head.
    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
        assert!(svg.contains("viewBox=\"0 0 "), "{svg}");
        assert!(svg.contains("role=\"img\""));
        let head = svg.split_once('>').unwrap().1;
        assert!(head.starts_with("<title>"), "title must be the first child");
        for bad in ["NaN", "inf"] {
            assert!(!svg.contains(bad), "{bad} in {svg}");
        }
        let mut open: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("unclosed tag") + start;
            let tag = &rest[start + 1..end];
            let name = tag
                .trim_start_matches('/')
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap();
            if tag.starts_with('/') {
                assert_eq!(open.pop(), Some(name), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                open.push(name);
            }
            assert!(
                !rest[start + 1..end].contains('<'),
                "stray < inside a tag: {tag}"
            );
            rest = &rest[end + 1..];
        }
        assert!(open.is_empty(), "unclosed: {open:?}");
    }

    fn spec() -> ChartSpec {
        ChartSpec::new("Override rate by market", "Day (UTC)", "Overrides (%)")
            .desc("Override rate stayed near 3% in every market.")
            .percent()
    }

    fn sample_series() -> Vec<Series> {
        vec![
            Series::new(
                "DE",
                (0..14)
                    .map(|i| Some(0.03 + 0.01 * f64::from(i % 4)))
                    .collect(),
            ),
            Series::new(
                "FR",
                (0..14)
                    .map(|i| (i != 5).then(|| 0.05 - 0.002 * f64::from(i)))
                    .collect(),
            ),
            Series::new(
                "UK",
                (0..14).map(|i| (i % 3 != 0).then_some(0.02)).collect(),
            ),
        ]
    }

    #[test]
    fn line_chart_is_accessible_scalable_svg() {
        let svg = line_chart(&spec(), &days(14), &sample_series());
        assert_well_formed(&svg);
        assert!(svg.contains("viewBox=\"0 0 720 280\" width=\"100%\" role=\"img\""));
        assert!(svg.contains("<title>Override rate by market</title>"));
        assert!(svg.contains("<desc>Override rate stayed near 3% in every market.</desc>"));
        assert!(svg.contains("<polyline"), "lines are drawn");
        assert!(svg.contains(">\n11-01\n</text>"), "first day is labelled");
        assert!(svg.contains(">\nFR\n</text>"), "legend names the series");
        assert!(!svg.contains(NO_DATA));
    }

    #[test]
    fn percent_axis_labels_in_percent() {
        let svg = line_chart(&spec(), &days(14), &sample_series());
        assert!(svg.contains(">\n0%\n</text>"), "{svg}");
        assert!(svg.contains(">\n6%\n</text>"), "{svg}");
        let plain = ChartSpec::new("Volume", "Day", "Ads (count)");
        let svg = line_chart(
            &plain,
            &days(3),
            &[Series::new("ads", vec![Some(1200.0); 3])],
        );
        assert!(!svg.contains("%\n</text>"));
        assert!(svg.contains(">\n1,200\n</text>"), "{svg}");
    }

    #[test]
    fn many_days_thin_out_labels() {
        let labels = days(90);
        let series = [Series::new(
            "all",
            (0..90).map(|i| Some(f64::from(i))).collect(),
        )];
        let svg = line_chart(&spec(), &labels, &series);
        assert_well_formed(&svg);
        let x = slot_axis(&labels, 0.3, 600, SlotLabels::Thin);
        assert!(x.ticks.len() < 20 && x.ticks.len() > 4, "{}", x.ticks.len());
        assert_eq!(x.ticks[0].1, "11-01");
        let names = [
            "Financial services and crypto".to_owned(),
            "Alcohol".to_owned(),
        ];
        let x = slot_axis(&names, 0.5, 160, SlotLabels::Every);
        let shown: Vec<&str> = x.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(shown, ["Financia…", "Alcohol"]);
    }

    #[test]
    fn empty_inputs_draw_the_no_data_frame() {
        let s = spec();
        let cases = [
            line_chart(&s, &[], &[]),
            line_chart(&s, &days(5), &[]),
            line_chart(
                &s,
                &days(5),
                &[Series::new("a", vec![None, Some(f64::NAN)])],
            ),
            line_chart_with_marks(&s, &[], &[], &[(0.1, "watch")]),
            stacked_bars(&s, &[], &[]),
            stacked_bars(&s, &days(3), &[("a".into(), vec![0.0, 0.0, 0.0])]),
            histogram_overlay(&s, &[], &[f64::NAN]),
            reliability(&s, &[(f64::NAN, 0.5, 1.0)]),
        ];
        for svg in cases {
            assert_well_formed(&svg);
            assert!(svg.contains(NO_DATA), "{svg}");
            assert!(svg.contains("<desc>"));
        }
        let empty_spark = sparkline("Trend", &[], 120, 28);
        assert_well_formed(&empty_spark);
        assert!(!empty_spark.contains("<text"));
    }

    #[test]
    fn single_points_and_zeros_draw_without_nan() {
        let s = spec();
        let one = [Series::new("only", vec![Some(0.0)])];
        for svg in [
            line_chart(&s, &days(1), &one),
            line_chart(&s, &days(4), &[Series::new("z", vec![Some(0.0); 4])]),
            stacked_bars(&s, &days(1), &[("a".into(), vec![0.4])]),
            histogram_overlay(&s, &[0.5], &[]),
            reliability(&s, &[(0.5, 0.5, 0.0)]),
            sparkline("One", &[Some(3.0)], 120, 28),
            sparkline("Flat", &[Some(0.0), Some(0.0)], 120, 28),
            line_chart(&s.clone().size(0, 0), &days(2), &one),
        ] {
            assert_well_formed(&svg);
            assert!(!svg.contains(NO_DATA), "{svg}");
        }
        let lone = line_chart(&s, &days(1), &one);
        assert!(lone.contains("<circle"), "a single point is still marked");
    }

    #[test]
    fn hostile_text_is_escaped() {
        let evil = "<script>&\"";
        let s = ChartSpec::new(evil, evil, evil).desc(evil);
        let series = [
            Series::new(evil, vec![Some(1.0), Some(2.0)]),
            Series::new("b", vec![Some(2.0), Some(1.0)]),
        ];
        let labels = vec![evil.to_owned(), "x\u{0}y".to_owned()];
        for svg in [
            line_chart_with_marks(&s, &labels, &series, &[(1.5, evil)]),
            stacked_bars(
                &s,
                &labels,
                &[(evil.into(), vec![1.0, 2.0]), ("b".into(), vec![1.0, 1.0])],
            ),
            sparkline(evil, &[Some(1.0)], 100, 20),
        ] {
            assert_well_formed(&svg);
            assert!(!svg.contains("<script"), "{svg}");
            assert!(svg.contains("&lt;script&gt;&amp;&quot;"), "{svg}");
            assert!(!svg.contains('\u{0}'));
        }
    }

    #[test]
    fn marks_are_drawn_and_labelled() {
        let psi = [Series::new("PSI", vec![Some(0.02), Some(0.05), Some(0.12)])];
        let s = ChartSpec::new("Score drift", "Day", "PSI");
        let svg = line_chart_with_marks(&s, &days(3), &psi, &[(0.1, "watch"), (0.2, "drifted")]);
        assert_well_formed(&svg);
        assert!(svg.contains(">\nwatch\n</text>") && svg.contains(">\ndrifted\n</text>"));
        assert!(
            svg.contains(">\n0.20\n</text>"),
            "axis reaches the highest mark"
        );
    }

    #[test]
    fn stacked_bars_stack_components() {
        let cats: Vec<String> = ["DE", "FR", "UK"].map(String::from).to_vec();
        let comps = vec![
            ("Approved".to_owned(), vec![120.0, 80.0, 40.0]),
            ("Rejected".to_owned(), vec![30.0, -5.0, 10.0]),
        ];
        let svg = stacked_bars(&ChartSpec::new("Decisions", "Market", "Ads"), &cats, &comps);
        assert_well_formed(&svg);
        // Two legend swatches plus five segments (the negative one is dropped).
        assert_eq!(svg.matches("fill=\"#1F3B73\"").count(), 1 + 3);
        assert_eq!(svg.matches("fill=\"#E07B00\"").count(), 1 + 2);
        assert!(svg.contains(">\n150\n</text>") || svg.contains(">\n160\n</text>"));
    }

    #[test]
    fn histogram_bins_shares_per_sample() {
        let shares = bin_shares(&[0.0, 0.04, 0.5, 1.0, 7.0, f64::NAN]).unwrap();
        assert_eq!(shares[0], 0.4);
        assert_eq!(shares[10], 0.2);
        assert_eq!(shares[19], 0.4);
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(bin_shares(&[f64::INFINITY]).is_none());
        let svg = histogram_overlay(&spec(), &[0.1, 0.2, 0.2], &[0.8, 0.9]);
        assert_well_formed(&svg);
        assert!(svg.contains(">\nReference\n</text>") && svg.contains(">\nCurrent\n</text>"));
    }

    #[test]
    fn reliability_scales_dots_by_weight() {
        assert_eq!(dot_radius(0.0, 100.0), 3);
        assert_eq!(dot_radius(100.0, 100.0), 10);
        assert_eq!(dot_radius(25.0, 100.0), 7);
        let svg = reliability(
            &spec(),
            &[(0.1, 0.05, 10.0), (0.5, 0.6, 100.0), (0.9, 0.85, 1.0)],
        );
        assert_well_formed(&svg);
        assert!(svg.contains("r=\"10\""));
        assert!(svg.contains(">\n100%\n</text>"));
    }

    #[test]
    fn sparkline_marks_the_last_point_and_has_no_text() {
        let svg = sparkline(
            "Override rate, 14 days",
            &[Some(1.0), None, Some(3.0), Some(2.0)],
            120,
            28,
        );
        assert_well_formed(&svg);
        assert!(svg.contains("viewBox=\"0 0 120 28\" width=\"120\" height=\"28\""));
        assert!(svg.contains("<title>Override rate, 14 days</title>"));
        assert!(!svg.contains("<text"));
        assert!(
            svg.contains("<circle cx=\"116\""),
            "last point marked at the right end: {svg}"
        );
    }

    #[test]
    fn value_axis_ends_on_round_ticks() {
        let y = value_axis(0.0, 0.37, true, 5);
        assert_eq!(y.range, 0.0..0.4);
        let labels: Vec<&str> = y.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0%", "10%", "20%", "30%", "40%"]);
        let y = value_axis(-3.0, 12.0, false, 4);
        assert_eq!(y.range, -5.0..15.0);
        assert_eq!(format_tick(0.025, 0.005, true), "2.5%");
        assert_eq!(format_tick(-1234567.0, 1000.0, false), "-1,234,567");
    }

    /// `AMSO_WRITE_CHARTS=1 cargo test -p amso-core --lib charts::tests::write_samples` writes
    /// one SVG per chart to /tmp/charts for a look in a browser.
    #[test]
    fn write_samples() {
        if std::env::var("AMSO_WRITE_CHARTS").as_deref() != Ok("1") {
            return;
        }
        let dir = std::path::Path::new("/tmp/charts");
        std::fs::create_dir_all(dir).unwrap();
        let psi: Vec<Option<f64>> = (0..30)
            .map(|i| (i != 11).then(|| 0.03 + 0.006 * f64::from(i) + 0.02 * f64::from(i % 5) / 4.0))
            .collect();
        let markets = ["DE", "FR", "UK", "ES", "IT", "PL"];
        let rates: Vec<Series> = markets
            .iter()
            .enumerate()
            .map(|(m, name)| {
                Series::new(
                    name,
                    (0..14)
                        .map(|d| Some(0.02 + 0.01 * m as f64 + 0.008 * ((d + m) % 4) as f64))
                        .collect(),
                )
            })
            .collect();
        let reference: Vec<f64> = (0..2000)
            .map(|i| ((i * 7919) % 1000) as f64 / 1000.0 * (i % 3 + 1) as f64 / 3.0)
            .collect();
        let current: Vec<f64> = reference
            .iter()
            .map(|v| (v * 1.15 + 0.03).min(1.0))
            .collect();
        let cats: Vec<String> = markets.iter().map(|m| m.to_string()).collect();
        let charts = [
            ("line", line_chart(&spec(), &days(14), &rates)),
            (
                "line_gaps",
                line_chart(&spec(), &days(14), &sample_series()),
            ),
            (
                "line_90",
                line_chart(
                    &ChartSpec::new("Ads reviewed per day", "Day (UTC)", "Ads (count)"),
                    &days(90),
                    &[Series::new(
                        "Reviewed",
                        (0..90)
                            .map(|i| Some(9000.0 + 3000.0 * ((i % 7) as f64)))
                            .collect(),
                    )],
                ),
            ),
            (
                "psi",
                line_chart_with_marks(
                    &ChartSpec::new("Score drift (PSI) vs. last month", "Day (UTC)", "PSI"),
                    &days(30),
                    &[Series::new("PSI", psi)],
                    &[(0.1, "watch"), (0.2, "drifted")],
                ),
            ),
            (
                "bars",
                stacked_bars(
                    &ChartSpec::new("Decisions by market", "Market", "Ads (count)"),
                    &cats,
                    &[
                        (
                            "Approved".into(),
                            vec![1200.0, 900.0, 1500.0, 400.0, 700.0, 300.0],
                        ),
                        (
                            "Sent to review".into(),
                            vec![300.0, 200.0, 250.0, 90.0, 120.0, 60.0],
                        ),
                        (
                            "Rejected".into(),
                            vec![150.0, 80.0, 200.0, 30.0, 60.0, 25.0],
                        ),
                    ],
                ),
            ),
            (
                "bars_share",
                stacked_bars(
                    &ChartSpec::new("Decision mix by market", "Market", "Share of ads (%)")
                        .percent(),
                    &cats,
                    &[
                        ("Approved".into(), vec![0.7, 0.6, 0.8, 0.75, 0.65, 0.7]),
                        ("Sent to review".into(), vec![0.2, 0.3, 0.1, 0.15, 0.2, 0.2]),
                        ("Rejected".into(), vec![0.1, 0.1, 0.1, 0.1, 0.15, 0.1]),
                    ],
                ),
            ),
            (
                "histogram",
                histogram_overlay(
                    &ChartSpec::new("Score distribution", "Model score", "Share of ads (%)")
                        .percent(),
                    &reference,
                    &current,
                ),
            ),
            (
                "reliability",
                reliability(
                    &ChartSpec::new(
                        "Calibration, last 7 days",
                        "Mean predicted score",
                        "Observed reject rate (%)",
                    )
                    .percent()
                    .size(480, 360),
                    &[
                        (0.05, 0.02, 4000.0),
                        (0.15, 0.12, 1200.0),
                        (0.3, 0.22, 600.0),
                        (0.5, 0.55, 300.0),
                        (0.7, 0.78, 150.0),
                        (0.9, 0.95, 80.0),
                    ],
                ),
            ),
            ("empty", line_chart(&spec(), &[], &[])),
            (
                "line_narrow",
                line_chart(&spec().size(360, 260), &days(14), &rates),
            ),
            (
                "bars_long_names",
                stacked_bars(
                    &ChartSpec::new("Decisions by category", "Policy category", "Ads (count)"),
                    &[
                        "Adult content",
                        "Alcohol",
                        "Counterfeit goods",
                        "Dangerous products",
                        "Financial services and crypto",
                        "Gambling",
                        "Health claims",
                        "Political",
                        "Tobacco",
                        "Weapons",
                    ]
                    .map(String::from),
                    &[
                        (
                            "Approved".into(),
                            vec![40.0, 300.0, 12.0, 50.0, 420.0, 80.0, 260.0, 35.0, 9.0, 4.0],
                        ),
                        (
                            "Rejected".into(),
                            vec![120.0, 30.0, 90.0, 25.0, 60.0, 40.0, 70.0, 15.0, 30.0, 22.0],
                        ),
                    ],
                ),
            ),
            (
                "reliability_wide",
                reliability(
                    &ChartSpec::new("Calibration", "Mean predicted score", "Observed rate"),
                    &[(0.1, 0.1, 5.0), (0.5, 0.4, 5.0), (0.95, 1.0, 0.0)],
                ),
            ),
            (
                "hostile",
                line_chart(
                    &ChartSpec::new("<script>&\" title", "x <unit>", "y & more"),
                    &days(3),
                    &[
                        Series::new("<script>&\"", vec![Some(1.0), Some(2.0), Some(1.5)]),
                        Series::new("b", vec![Some(2.0), None, Some(1.0)]),
                    ],
                ),
            ),
            (
                "spark",
                sparkline(
                    "Override rate",
                    &(0..14).map(|i| Some(f64::from(i % 5))).collect::<Vec<_>>(),
                    120,
                    28,
                ),
            ),
        ];
        for (name, svg) in charts {
            assert_well_formed(&svg);
            std::fs::write(dir.join(format!("{name}.svg")), svg).unwrap();
        }
    }
}
