//! `/dashboards/drift`: PSI of every market × category's score distribution against a
//! reference window, coloured and labelled by band; the chosen slice's histograms; PSI per
//! day; the language and category mixes; and the alerts raised.

use super::{Board, DashboardFrame, Filters, href_with, selection, use_set_query, window_text};
use crate::api::dashboards::{DriftBoard, get_drift};
use crate::components::ChartFigure;
use crate::components::format;
use crate::components::time::in_viewer_zone;
use crate::components::{Guarded, When};
use amso_core::dashboard::view::DriftCell;
use amso_core::metrics::kpi::DriftBand;
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

/// The drift page.
#[component]
pub fn DriftPage() -> impl IntoView {
    view! {
        <Title text="Drift · Dashboards"/>
        <Guarded area=Area::Dashboards>
            <div class="dash"><Drift/></div>
        </Guarded>
    }
}

#[component]
fn Drift() -> impl IntoView {
    let query = use_query_map();
    let source = Memo::new(move |_| {
        let q = query.read();
        (
            selection(&q),
            q.get("ref_from").unwrap_or_default(),
            q.get("ref_to").unwrap_or_default(),
        )
    });
    let board = Resource::new(move || source.get(), |(sel, rf, rt)| get_drift(sel, rf, rt));
    view! {
        <DashboardFrame
            title="Drift"
            lead="How far each slice's score distribution has moved from a reference window (PSI over 20 score bins: below 0.1 stable, 0.1–0.2 watch, 0.2 and above drifted)."
            filters=Filters::WINDOW_AND_MODEL
            board
            body=move |b| view! { <DriftBody board=b query/> }
        />
    }
}

fn band_class(band: Option<DriftBand>) -> &'static str {
    match band {
        Some(DriftBand::Stable) => "psi psi-stable",
        Some(DriftBand::Watch) => "psi psi-watch",
        Some(DriftBand::Drifted) => "psi psi-drifted",
        None => "psi psi-none",
    }
}

fn band_named(name: &str) -> Option<DriftBand> {
    [DriftBand::Stable, DriftBand::Watch, DriftBand::Drifted]
        .into_iter()
        .find(|b| b.as_str() == name)
}

#[component]
/// `query` comes from the page (see the overview's body): this renders inside a transition
/// that can outlive the router.
fn DriftBody(board: DriftBoard, query: Memo<ParamsMap>) -> impl IntoView {
    let set = use_set_query();
    let DriftBoard {
        data,
        histogram_chart,
        trend_chart,
    } = board;
    let custom_reference = {
        let q = query.read_untracked();
        q.get("ref_from").is_some_and(|v| !v.is_empty())
            || q.get("ref_to").is_some_and(|v| !v.is_empty())
    };
    let cells = data.cells.clone();
    let cell = move |m: &str, c: &str| {
        cells
            .iter()
            .find(|x| x.market == m && x.category == c)
            .cloned()
    };
    let focus = data.focus.clone();
    let focus_cell: Option<DriftCell> = focus.as_ref().and_then(|(m, c)| cell(m, c));
    let markets: Vec<&'static str> = Market::ALL
        .iter()
        .map(|m| m.code())
        .filter(|m| data.cells.iter().any(|c| c.market == *m))
        .collect();
    let hist_rows = (0..data.focus_reference.len().max(data.focus_current.len()))
        .map(|b| {
            let share = |v: &Vec<f64>| v.get(b).map_or_else(|| format::NONE.to_string(), |s| format::pct(Some(*s)));
            view! {
                <tr>
                    <th scope="row">{format!("{:.2}–{:.2}", b as f64 * 0.05, (b + 1) as f64 * 0.05)}</th>
                    <td class="num">{share(&data.focus_reference)}</td>
                    <td class="num">{share(&data.focus_current)}</td>
                </tr>
            }
        })
        .collect_view();
    let psi_head = data
        .daily_psi
        .iter()
        .map(|(name, _)| view! { <th scope="col" class="num">{format::category(name)}</th> })
        .collect_view();
    let psi_rows = data
        .days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let cols = data
                .daily_psi
                .iter()
                .map(|(_, v)| {
                    let text = v
                        .get(i)
                        .copied()
                        .flatten()
                        .map_or_else(|| format::NONE.to_string(), |p| format!("{p:.3}"));
                    view! { <td class="num">{text}</td> }
                })
                .collect_view();
            view! { <tr><th scope="row">{d.clone()}</th>{cols}</tr> }
        })
        .collect_view();
    let category_js = data.category_js.clone();
    let mix_rows = data
        .language_js
        .iter()
        .map(|(m, lang)| {
            let cat = category_js.iter().find(|(x, _)| x == m).and_then(|(_, v)| *v);
            let js = |v: Option<f64>| v.map_or_else(|| format::NONE.to_string(), |v| format!("{v:.3}"));
            view! { <tr><th scope="row">{m.clone()}</th><td class="num">{js(*lang)}</td><td class="num">{js(cat)}</td></tr> }
        })
        .collect_view();
    view! {
        <form class="toolbar reference-bar" on:submit=|ev| ev.prevent_default() data-testid="drift-windows">
            <span class="muted">{format!("Current: {}. Reference:", window_text(&data.window))}</span>
            <label class="inline">
                <span class="sr-only">"Reference from"</span>
                <input type="date" data-testid="ref-from" value=data.reference.from.clone()
                    on:change={
                        let (set, to) = (set.clone(), data.reference.to.clone());
                        // Both ends go in the URL, so a chosen start keeps the end on screen.
                        move |ev| set(&[("ref_from", &event_target_value(&ev)), ("ref_to", &to)])
                    }/>
            </label>
            "–"
            <label class="inline">
                <span class="sr-only">"Reference to (inclusive)"</span>
                <input type="date" data-testid="ref-to" value=data.reference.to.clone()
                    on:change={
                        let (set, from) = (set.clone(), data.reference.from.clone());
                        move |ev| set(&[("ref_from", &from), ("ref_to", &event_target_value(&ev))])
                    }/>
            </label>
            {if custom_reference {
                view! { <a class="btn btn-ghost btn-small" href=move || href_with(&query.read(), "/dashboards/drift", &[("ref_from", ""), ("ref_to", "")])>"Use the default reference"</a> }.into_any()
            } else {
                view! { <span class="muted small">"(default: the 28 days before the current window)"</span> }.into_any()
            }}
        </form>
        <section class="card">
            <h2>"PSI by market and category"</h2>
            <div class="legend" aria-label="Bands">
                <span class="psi psi-stable">"stable"</span>" below 0.1 "
                <span class="psi psi-watch">"watch"</span>" 0.1 to 0.2 "
                <span class="psi psi-drifted">"drifted"</span>" 0.2 and above "
                <span class="psi psi-none">"—"</span>" no scores in one of the windows"
            </div>
            <div class="table-scroll">
                <table class="table grid psi-grid" data-testid="psi-grid">
                    <thead>
                        <tr>
                            <th scope="col">"Market"</th>
                            {Category::ALL.map(|c| view! { <th scope="col">{format::category(c.as_str())}</th> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {markets.into_iter().map(|m| {
                            let row = Category::ALL.map(|c| {
                                let x = cell(m, c.as_str());
                                let selected = focus.as_ref().is_some_and(|(fm, fc)| fm == m && fc == c.as_str());
                                let href = href_with(&query.read_untracked(), "/dashboards/drift", &[("market", m), ("category", c.as_str())]);
                                match x.and_then(|x| x.psi.map(|p| (p, x.band))) {
                                    Some((psi, band)) => {
                                        let word = band.map_or("", |b| b.as_str());
                                        // Stable needs no word: the number says it; watch and drifted say so.
                                        let shown_word = if band == Some(DriftBand::Stable) { "" } else { word };
                                        view! {
                                            <td>
                                                <a class=band_class(band) href=href aria-current=selected.then_some("true")
                                                    data-testid=format!("psi-{m}-{}", c.as_str())
                                                    title=format!("{m} · {}: PSI {psi:.3}, {word}", format::category(c.as_str()))>
                                                    <span class="psi-value">{format!("{psi:.2}")}</span>
                                                    <span class="psi-word">{shown_word}</span>
                                                </a>
                                            </td>
                                        }.into_any()
                                    }
                                    None => view! { <td><span class="psi psi-none" title="No scores in the current or the reference window">"—"</span></td> }.into_any(),
                                }
                            }).collect_view();
                            view! { <tr><th scope="row">{m}</th>{row}</tr> }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <p class="hint">"Click a cell to look into that slice."</p>
        </section>
        <div class="chart-grid">
            <section class="card" data-testid="drift-focus">
                {match (&focus, &focus_cell) {
                    (Some((m, c)), Some(x)) => view! {
                        <h2>{format!("{m} · {}", format::category(c))}</h2>
                        <p>
                            {x.psi.map_or_else(|| "PSI: not enough scores".to_string(), |p| format!("PSI {p:.3}"))}
                            {x.band.map(|b| view! { " " <span class=band_class(Some(b))>{b.as_str()}</span> })}
                            <span class="muted small">{format!(" · {} current and {} reference scores", format::int(x.current_n), format::int(x.reference_n))}</span>
                        </p>
                    }.into_any(),
                    _ => view! { <h2>"Score distribution"</h2> }.into_any(),
                }}
                <ChartFigure svg=histogram_chart testid="chart-histogram">
                    <table class="table compact">
                        <caption class="sr-only">"Share of scores per bin"</caption>
                        <thead><tr><th scope="col">"Score"</th><th scope="col" class="num">"Reference"</th><th scope="col" class="num">"Current"</th></tr></thead>
                        <tbody>{hist_rows}</tbody>
                    </table>
                </ChartFigure>
            </section>
            <section class="card">
                <ChartFigure svg=trend_chart testid="chart-psi-trend">
                    <table class="table compact">
                        <caption class="sr-only">"PSI per day"</caption>
                        <thead><tr><th scope="col">{data.window.day_label()}</th>{psi_head}</tr></thead>
                        <tbody>{psi_rows}</tbody>
                    </table>
                </ChartFigure>
                <p class="hint">"The chosen slice first, then the most drifted ones; dashed lines mark watch (0.1) and drifted (0.2)."</p>
            </section>
        </div>
        <div class="chart-grid">
            <section class="card">
                <h2>"Traffic mix by market"</h2>
                <table class="table compact" data-testid="mix-table">
                    <thead>
                        <tr>
                            <th scope="col">"Market"</th>
                            <th scope="col" class="num">"Language mix"</th>
                            <th scope="col" class="num">"Category mix"</th>
                        </tr>
                    </thead>
                    <tbody>{mix_rows}</tbody>
                </table>
                <p class="hint">"Jensen–Shannon distance (base 2) between the reference and current shares: 0 is the same mix, 1 nothing in common."</p>
            </section>
            <section class="card" data-testid="drift-alert-list">
                <h2>"Alerts"</h2>
                {if data.alerts.is_empty() {
                    view! { <p class="muted">"No slice has risen into watch or drifted yet."</p> }.into_any()
                } else {
                    view! {
                        <table class="table compact">
                            <thead>
                                <tr>
                                    <th scope="col">{in_viewer_zone("When")}</th>
                                    <th scope="col">"Slice"</th>
                                    <th scope="col">"Change"</th>
                                    <th scope="col" class="num">"PSI"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {data.alerts.into_iter().map(|a| {
                                    let href = href_with(&query.read_untracked(), "/dashboards/drift", &[("market", &a.market), ("category", &a.category)]);
                                    let band = band_named(&a.band);
                                    view! {
                                        <tr>
                                            <td><When at=a.at.clone()/></td>
                                            <td><a href=href>{format!("{} · {}", a.market, format::category(&a.category))}</a></td>
                                            <td>{format!("{} → ", a.previous_band)}<span class=band_class(band)>{a.band.clone()}</span></td>
                                            <td class="num">{format!("{:.3}", a.psi)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </section>
        </div>
    }
}

impl Board for DriftBoard {
    fn window(&self) -> amso_core::dashboard::view::Window {
        self.data.window.clone()
    }
}
