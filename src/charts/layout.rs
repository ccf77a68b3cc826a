//! Where things go on a chart: its size, the header with title and legend, the plot area, and
//! the empty-chart frame.

use super::axes::Axis;
use super::drawing::{Marker, draw_marker, text_style, text_width};
use super::svg::clean;
use super::{
    AXIS, ChartSpec, DrawResult, FONT, FONT_SCALE, GRID, INK, LABEL_PX, LEGEND_ROW, MUTED, NO_DATA,
    PAD, Plot, Root, SWATCH_W, TICK, TITLE_PX,
};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The spec's size, kept where the layout works: smaller would leave no plot area, and much
/// bigger is a caller mistake.
pub(super) fn chart_size(spec: &ChartSpec) -> (u32, u32) {
    (spec.width.clamp(240, 4000), spec.height.clamp(160, 4000))
}

/// The frame an empty chart shows: title, a light box and the message in its centre.
pub(super) fn draw_no_data(root: &Root<'_>, spec: &ChartSpec) -> DrawResult {
    let top = draw_header(root, &spec.title, &[])?;
    let (w, h) = root.dim_in_pixel();
    let (right, bottom) = (w as i32 - PAD, h as i32 - PAD);
    root.draw(&Rectangle::new(
        [(PAD, top), (right, bottom)],
        GRID.stroke_width(1),
    ))?;
    let style = text_style(TITLE_PX, MUTED).pos(Pos::new(HPos::Center, VPos::Center));
    let centre = ((PAD + right) / 2, (top + bottom) / 2);
    root.draw(&Text::new(NO_DATA, centre, style))?;
    Ok(())
}

/// How a legend entry is drawn.
pub(super) enum Swatch {
    Line(RGBColor, Option<Marker>),
    Bar(RGBColor),
    Dot(RGBColor),
    Dashed(RGBColor),
}

pub(super) struct LegendItem {
    label: String,
    swatch: Swatch,
}

impl LegendItem {
    pub(super) fn new(label: &str, swatch: Swatch) -> Self {
        Self {
            label: clean(label),
            swatch,
        }
    }
}

/// Draws the title and the legend below it (wrapping to more rows as needed); returns the y
/// where the plot area may start.
pub(super) fn draw_header(root: &Root<'_>, title: &str, legend: &[LegendItem]) -> DrawResult<i32> {
    let width = root.dim_in_pixel().0 as i32;
    let title_style = (FONT, TITLE_PX * FONT_SCALE)
        .into_font()
        .style(FontStyle::Bold)
        .color(&INK)
        .pos(Pos::new(HPos::Left, VPos::Top));
    root.draw(&Text::new(clean(title), (PAD, PAD), title_style))?;
    let mut row = PAD + 26;
    if legend.is_empty() {
        return Ok(row);
    }
    let label_style = text_style(LABEL_PX, MUTED).pos(Pos::new(HPos::Left, VPos::Center));
    let mut x = PAD;
    for item in legend {
        let item_width = SWATCH_W + 6 + text_width(&item.label, LABEL_PX);
        if x > PAD && x + item_width > width - PAD {
            x = PAD;
            row += LEGEND_ROW;
        }
        let mid = row + LEGEND_ROW / 2 - 2;
        match item.swatch {
            Swatch::Line(c, shape) => {
                let stroke = vec![(x, mid), (x + SWATCH_W, mid)];
                root.draw(&PathElement::new(stroke, c.stroke_width(2)))?;
                if let Some(shape) = shape {
                    draw_marker(root, (x + SWATCH_W / 2, mid), shape, c)?;
                }
            }
            Swatch::Bar(c) => {
                let corners = [(x + 3, mid - 6), (x + SWATCH_W - 3, mid + 6)];
                root.draw(&Rectangle::new(corners, c.filled()))?;
            }
            Swatch::Dot(c) => {
                let centre = (x + SWATCH_W / 2, mid);
                root.draw(&Circle::new(centre, 5, c.mix(0.3).filled()))?;
                root.draw(&Circle::new(centre, 5, c.stroke_width(1)))?;
            }
            Swatch::Dashed(c) => {
                let stroke = vec![(x, mid), (x + SWATCH_W, mid)];
                root.draw(&DashedPathElement::new(stroke, 6, 4, c.stroke_width(1)))?;
            }
        }
        let text = Text::new(
            item.label.clone(),
            (x + SWATCH_W + 6, mid),
            label_style.clone(),
        );
        root.draw(&text)?;
        x += item_width + 18;
    }
    Ok(row + LEGEND_ROW + 10)
}

/// Where the plot area goes; the axis label areas come from the axes themselves.
pub(super) struct Layout {
    pub(super) top: i32,
    pub(super) right: i32,
    pub(super) bottom: i32,
    pub(super) left: i32,
    pub(super) width: i32,
    pub(super) height: i32,
    pub(super) x_desc: String,
    pub(super) y_desc: String,
}

impl Layout {
    pub(super) fn new(root: &Root<'_>, spec: &ChartSpec, top: i32, right: i32) -> Self {
        let (width, height) = root.dim_in_pixel();
        Self {
            top,
            right,
            bottom: 8,
            left: PAD - 2,
            width: width as i32,
            height: height as i32,
            x_desc: clean(&spec.x_label),
            y_desc: clean(&spec.y_label),
        }
    }

    /// Height under the x axis: tick labels and, below them, the axis title.
    fn x_area(&self) -> i32 {
        let labels = 2 * TICK + 16;
        if self.x_desc.is_empty() {
            labels
        } else {
            labels + 20
        }
    }

    /// Width left of the y axis: the axis title (rotated) and the widest tick label.
    fn y_area(&self, y: &Axis) -> i32 {
        let labels = y.widest_label() + 2 * TICK + 4;
        if self.y_desc.is_empty() {
            labels
        } else {
            labels + 24
        }
    }

    pub(super) fn plot_width(&self, y: &Axis) -> i32 {
        (self.width - self.left - self.right - self.y_area(y)).max(1)
    }

    /// About one grid line per 36 px of plot height.
    pub(super) fn tick_count(&self) -> usize {
        let plot_height = self.height - self.top - self.bottom - self.x_area();
        (plot_height / 36).clamp(2, 8) as usize
    }
}

/// Builds the coordinate system and draws axes, grid and labels.
pub(super) fn build_plot<'a, 'b>(
    root: &'a Root<'b>,
    layout: &Layout,
    spec: &ChartSpec,
    x: &Axis,
    y: &Axis,
) -> DrawResult<Plot<'a, 'b>> {
    let mut plot = ChartBuilder::on(root)
        .margin_top(layout.top)
        .margin_right(layout.right)
        .margin_bottom(layout.bottom)
        .margin_left(layout.left)
        .x_label_area_size(layout.x_area())
        .y_label_area_size(layout.y_area(y))
        .build_cartesian_2d(x.clone(), y.clone())?;
    let mut mesh = plot.configure_mesh();
    mesh.disable_x_mesh()
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS.stroke_width(1))
        .set_all_tick_mark_size(TICK)
        .label_style(text_style(LABEL_PX, MUTED))
        .axis_desc_style(text_style(LABEL_PX, INK));
    if !spec.x_label.is_empty() {
        mesh.x_desc(layout.x_desc.clone());
    }
    if !spec.y_label.is_empty() {
        mesh.y_desc(layout.y_desc.clone());
    }
    mesh.draw()?;
    Ok(plot)
}
