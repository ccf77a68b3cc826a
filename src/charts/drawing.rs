//! Drawing primitives in the house style: series colours and markers, lines, text styles.

use super::{DrawResult, FONT, FONT_SCALE, PALETTE, Px, Root};
use plotters::prelude::*;

/// Radius 3 px for no weight up to 10 px for the heaviest point; area grows with weight.
pub(super) fn dot_radius(weight: f64, max_weight: f64) -> i32 {
    if max_weight <= 0.0 {
        return 4;
    }
    (3.0 + 7.0 * (weight / max_weight).sqrt())
        .round()
        .clamp(3.0, 10.0) as i32
}

/// Marker shapes, cycled alongside the palette so series differ without colour.
#[derive(Clone, Copy)]
pub(super) enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
    Ring,
}

pub(super) fn colour(series: usize) -> RGBColor {
    PALETTE[series % PALETTE.len()]
}

pub(super) fn marker(series: usize) -> Option<Marker> {
    // Five shapes against six colours: no pair repeats before the 31st series.
    const SHAPES: [Marker; 5] = [
        Marker::Circle,
        Marker::Square,
        Marker::Triangle,
        Marker::Diamond,
        Marker::Ring,
    ];
    Some(SHAPES[series % SHAPES.len()])
}

pub(super) fn draw_marker(root: &Root<'_>, (x, y): Px, shape: Marker, c: RGBColor) -> DrawResult {
    let style = c.filled();
    match shape {
        Marker::Circle => root.draw(&Circle::new((x, y), 4, style)),
        // 7 px wide: about the area of the circle.
        Marker::Square => root.draw(&Rectangle::new([(x - 3, y - 3), (x + 4, y + 4)], style)),
        Marker::Triangle => root.draw(&Polygon::new(
            vec![(x, y - 5), (x + 5, y + 4), (x - 5, y + 4)],
            style,
        )),
        Marker::Diamond => root.draw(&Polygon::new(
            vec![(x, y - 5), (x + 5, y), (x, y + 5), (x - 5, y)],
            style,
        )),
        Marker::Ring => {
            root.draw(&Circle::new((x, y), 4, WHITE.filled()))?;
            root.draw(&Circle::new((x, y), 4, c.stroke_width(2)))
        }
    }
}

/// Draws a line through pixel points, broken at gaps; marks every point when `mark_all`,
/// and always marks points that stand alone between gaps (they would be invisible otherwise).
pub(super) fn draw_line(
    root: &Root<'_>,
    points: &[Option<Px>],
    c: RGBColor,
    shape: Option<Marker>,
    mark_all: bool,
) -> DrawResult {
    for run in points.split(Option::is_none) {
        let run: Vec<Px> = run.iter().flatten().copied().collect();
        if run.len() > 1 {
            root.draw(&PathElement::new(run.clone(), c.stroke_width(2)))?;
        }
        if mark_all || run.len() == 1 {
            for &p in &run {
                match shape {
                    Some(shape) => draw_marker(root, p, shape, c)?,
                    None => root.draw(&Circle::new(p, 2, c.filled()))?,
                }
            }
        }
    }
    Ok(())
}

pub(super) fn text_style(px: f64, c: RGBColor) -> TextStyle<'static> {
    (FONT, px * FONT_SCALE).into_font().color(&c)
}

/// Estimated width of `text` in px; a little generous, so labels rather gain room than touch.
pub(super) fn text_width(text: &str, px: f64) -> i32 {
    (text.chars().count() as f64 * px * 0.6).ceil() as i32
}
