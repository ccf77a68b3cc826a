//! Turning plotters' output into the finished SVG document: a scalable, accessible root with
//! `<title>` and `<desc>`, and the text cleaning and escaping it needs.

use super::{DrawResult, NO_DATA, Root};
use plotters::prelude::*;
use std::fmt::Write as _;

/// Draws a `w`×`h` chart into a fresh SVG and turns plotters' output into the finished document.
pub(super) fn render(
    (w, h): (u32, u32),
    sizing: Sizing,
    title: &str,
    desc: &str,
    draw: impl FnOnce(&Root<'_>) -> DrawResult,
) -> String {
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present())
    };
    if let Err(error) = drawn {
        tracing::warn!(%error, title, "chart rendering failed");
        svg = format!(r##"<svg><rect width="{w}" height="{h}" fill="#FFFFFF"/></svg>"##);
    }
    finish(&svg, (w, h), sizing, &clean(title), &clean(desc))
}

/// How the finished SVG sizes itself in the page.
#[derive(Clone, Copy)]
pub(super) enum Sizing {
    /// `width="100%"`: fills its container, height from the viewBox's aspect ratio.
    Fluid,
    /// Its own size in px: a sparkline must not stretch a table cell.
    Fixed,
}

/// Replaces plotters' opening tag with a scalable, accessible one.
fn finish(svg: &str, (w, h): (u32, u32), sizing: Sizing, title: &str, desc: &str) -> String {
    let body = svg.find('>').map_or("", |end| &svg[end + 1..]);
    let size = match sizing {
        Sizing::Fluid => r#"width="100%""#.to_owned(),
        Sizing::Fixed => format!(r#"width="{w}" height="{h}""#),
    };
    let mut out = String::with_capacity(svg.len() + 256);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" {size} role="img"><title>{}</title>"#,
        escape_xml(title)
    );
    if !desc.is_empty() {
        let _ = write!(out, "<desc>{}</desc>", escape_xml(desc));
    }
    out.push_str(body.trim());
    out
}

/// Caller text without control characters, which XML 1.0 does not allow.
pub(super) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
    out
}

/// The caller's summary, or one made by `make` (or the no-data message) when it is empty.
pub(super) fn or_default(desc: &str, empty: bool, make: impl FnOnce() -> String) -> String {
    if !desc.trim().is_empty() {
        desc.to_owned()
    } else if empty {
        format!("{NO_DATA}.")
    } else {
        make()
    }
}

pub(super) fn join_names(names: &[&str]) -> String {
    match names {
        [] => "no series".to_owned(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}
