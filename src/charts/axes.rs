//! Axes: nice value ranges and ticks, unit and slot (category) axes, and how tick labels are
//! formatted and shortened.

use super::drawing::text_width;
use super::svg::clean;
use super::{LABEL_PX, MAX_AXIS_LABEL_CHARS};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;

/// One axis: its value range and the ticks to label. It is its own plotters coordinate, so
/// grid lines and labels go exactly where the ticks are.
#[derive(Clone)]
pub(super) struct Axis {
    pub(super) range: Range<f64>,
    pub(super) ticks: Vec<(f64, String)>,
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.range.clone()).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Only bold lines: a light grid between ticks is noise at these sizes.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.iter().map(|(v, _)| *v).collect()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

impl Axis {
    /// The label of the tick at `v`; plotters hands back exactly the key points it was given.
    pub(super) fn label(&self, v: f64) -> String {
        self.ticks
            .iter()
            .find(|(t, _)| (t - v).abs() <= 1e-9 * t.abs().max(1.0))
            .map(|(_, label)| label.clone())
            .unwrap_or_default()
    }

    pub(super) fn widest_label(&self) -> i32 {
        self.ticks
            .iter()
            .map(|(_, label)| text_width(label, LABEL_PX))
            .max()
            .unwrap_or(0)
    }
}

/// A value axis from `lo` (or zero, whichever is lower) to a round number at or above `hi`,
/// with about `ticks` steps of 1, 2 or 5 × 10ⁿ.
pub(super) fn value_axis(lo: f64, hi: f64, percent: bool, ticks: usize) -> Axis {
    let lo = lo.min(0.0);
    let mut hi = hi.max(lo);
    if hi - lo < 1e-12 {
        hi = lo + 1.0;
    }
    let step = nice_step(hi - lo, ticks);
    let bottom = (lo / step + 1e-9).floor() * step;
    let top = (hi / step - 1e-9).ceil() * step;
    let steps = ((top - bottom) / step).round() as usize;
    let ticks = (0..=steps)
        .map(|i| {
            let v = bottom + i as f64 * step;
            (v, format_tick(v, step, percent))
        })
        .collect();
    Axis {
        range: bottom..top,
        ticks,
    }
}

/// A 0..1 axis (scores), labelled every 0.1 or, when narrow, every 0.2.
pub(super) fn unit_axis(plot_width: i32) -> Axis {
    let step: f64 = if plot_width >= 400 { 0.1 } else { 0.2 };
    let steps = (1.0 / step).round() as usize;
    let ticks = (0..=steps)
        .map(|i| {
            let v = i as f64 * step;
            (v, format!("{v:.1}"))
        })
        .collect();
    Axis {
        range: 0.0..1.0,
        ticks,
    }
}

/// How a slot axis labels its slots when they do not all fit.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum SlotLabels {
    /// Every k-th slot, e.g. days: the reader counts the rest.
    Thin,
    /// Every slot, shortened to fit, e.g. categories: each bar needs its name.
    Every,
}

/// Slots 0..n at integer x, padded by `pad` slots each side, labelled without touching.
pub(super) fn slot_axis(labels: &[String], pad: f64, plot_width: i32, mode: SlotLabels) -> Axis {
    let n = labels.len().max(1);
    let range = -pad..(n - 1) as f64 + pad;
    let slot_px = f64::from(plot_width) / (range.end - range.start);
    let char_px = LABEL_PX * 0.6;
    let fitting_chars = ((slot_px - 10.0) / char_px).floor() as usize;
    let max_chars = match mode {
        // Below four characters a name is no longer readable; thin out instead.
        SlotLabels::Every if fitting_chars >= 4 => fitting_chars.min(MAX_AXIS_LABEL_CHARS),
        _ => MAX_AXIS_LABEL_CHARS,
    };
    let shown: Vec<String> = labels
        .iter()
        .map(|l| shorten(&clean(l), max_chars))
        .collect();
    let widest = shown
        .iter()
        .map(|l| text_width(l, LABEL_PX))
        .max()
        .unwrap_or(0);
    let fit = (plot_width / (widest + 10)).max(1) as usize;
    let every = n.div_ceil(fit).max(1);
    let ticks = shown
        .into_iter()
        .enumerate()
        .step_by(every)
        .map(|(i, label)| (i as f64, label))
        .collect();
    Axis { range, ticks }
}

/// The smallest step of 1, 2 or 5 × 10ⁿ that splits `span` into at most `target` + 1 steps.
fn nice_step(span: f64, target: usize) -> f64 {
    let target = target.max(1) as f64;
    let magnitude = 10f64.powf((span / target).log10().floor());
    [1.0, 2.0, 5.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|step| span / step <= target + 1.0 + 1e-9)
        .unwrap_or(10.0 * magnitude)
}

/// A tick label with just enough decimals for the step, thousands grouped.
pub(super) fn format_tick(v: f64, step: f64, percent: bool) -> String {
    let (v, step, unit) = if percent {
        (v * 100.0, step * 100.0, "%")
    } else {
        (v, step, "")
    };
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10() - 1e-9).ceil().min(6.0) as usize
    };
    // Avoid "-0" for a tick that is zero up to rounding.
    let v = if v.abs() < step * 1e-6 { 0.0 } else { v };
    let text = format!("{v:.decimals$}");
    let grouped = if decimals == 0 && v.abs() >= 1000.0 {
        crate::metrics::format::group_thousands(&text)
    } else {
        text
    };
    format!("{grouped}{unit}")
}

/// At most `max_chars` characters, the last an ellipsis when shortened.
fn shorten(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        return label.to_owned();
    }
    let mut short: String = label.chars().take(max_chars.saturating_sub(1)).collect();
    short.push('…');
    short
}
