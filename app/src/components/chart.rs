//! A server-rendered chart (SVG) with a table of the same numbers for screen readers.

use leptos::prelude::*;

/// A server-rendered chart with a table of the same numbers for screen readers.
#[component]
pub fn ChartFigure(
    svg: String,
    #[prop(optional)] testid: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <figure class="chart" data-testid=(!testid.is_empty()).then_some(testid)>
            <div class="chart-svg" inner_html=svg></div>
            <details class="chart-table">
                <summary>"Table"</summary>
                {children()}
            </details>
        </figure>
    }
}
