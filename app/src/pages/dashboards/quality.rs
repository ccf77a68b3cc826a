//! `/dashboards/quality`: precision, recall and F1 of automatic rejection per market ×
//! category with intervals and sample sizes, the weekly trend, and a reliability diagram
//! per category with its expected calibration error.

use super::{Board, DashboardFrame, Filters, selection, window_text};
use crate::api::dashboards::{QualityBoard, get_quality};
use crate::components::ChartFigure;
use crate::components::Guarded;
use crate::components::format::{self, EstimateText};
use amso_core::dashboard::view::QualityCell;
use amso_core::metrics::kpi::Estimate;
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The quality page.
#[component]
pub fn QualityPage() -> impl IntoView {
    view! {
        <Title text="Quality · Dashboards"/>
        <Guarded area=Area::Dashboards>
            <div class="dash"><Quality/></div>
        </Guarded>
    }
}

#[component]
fn Quality() -> impl IntoView {
    let query = use_query_map();
    let sel = Memo::new(move |_| selection(&query.read()));
    let board = Resource::new(move || sel.get(), get_quality);
    view! {
        <DashboardFrame
            title="Quality"
            lead="Automatic rejection against human verdicts: audit samples weighted by 1 / sampling probability (Horvitz–Thompson), 95% Wilson intervals on the effective sample size."
            filters=Filters::ALL
            board
            body=move |b| view! { <QualityBody board=b preferred=sel.get_untracked().category/> }
        />
    }
}

/// An estimate with its interval and sample, or why there is none.
fn estimate_cell(e: Option<&Estimate>) -> AnyView {
    match format::estimate(e) {
        EstimateText::Shown { value, interval, n } => view! {
            <td class="num">{value}<div class="muted small">{format!("[{interval}] {n}")}</div></td>
        }
        .into_any(),
        EstimateText::TooFew(t) => view! { <td class="num too-few">{t}</td> }.into_any(),
        EstimateText::Missing => view! { <td class="num muted">{format::NONE}</td> }.into_any(),
    }
}

/// F1 when both precision and recall rest on enough samples.
fn f1_text(cell: &QualityCell) -> Option<String> {
    let both = format::confident(cell.precision.as_ref()).is_some()
        && format::confident(cell.recall.as_ref()).is_some();
    cell.f1.filter(|_| both).map(|f| format!("{f:.3}"))
}

/// Everything about a cell in one sentence, for its tooltip.
fn cell_summary(cell: &QualityCell) -> String {
    let part = |name: &str, e: Option<&Estimate>| match format::estimate(e) {
        EstimateText::Shown { value, interval, n } => format!("{name} {value} [{interval}], {n}"),
        EstimateText::TooFew(t) => format!("{name}: {t}"),
        EstimateText::Missing => format!("{name}: no samples"),
    };
    format!(
        "{} · {}: {}; {}; F1 {}",
        if cell.market == "ALL" {
            "All markets"
        } else {
            &cell.market
        },
        format::category(&cell.category),
        part("precision", cell.precision.as_ref()),
        part("recall", cell.recall.as_ref()),
        f1_text(cell).unwrap_or_else(|| format::NONE.to_string())
    )
}

/// Which figure the market × category grid shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metric {
    Precision,
    Recall,
    F1,
}

/// One grid cell for `metric`: the figure with its interval and n, or "too few".
fn grid_cell(cell: Option<&QualityCell>, metric: Metric) -> AnyView {
    let Some(cell) = cell else {
        return view! { <td class="q-cell muted">{format::NONE}</td> }.into_any();
    };
    let title = cell_summary(cell);
    let estimate = match metric {
        Metric::Precision => cell.precision.as_ref(),
        Metric::Recall => cell.recall.as_ref(),
        Metric::F1 => {
            return match (f1_text(cell), cell.f1) {
                (Some(f), _) => {
                    view! { <td class="q-cell" title=title><span class="q-value">{f}</span></td> }
                        .into_any()
                }
                (None, Some(_)) => {
                    view! { <td class="q-cell too-few" title=title>"too few"</td> }.into_any()
                }
                (None, None) => {
                    view! { <td class="q-cell muted" title=title>{format::NONE}</td> }.into_any()
                }
            };
        }
    };
    match format::estimate(estimate) {
        EstimateText::Shown { value, interval, n } => view! {
            <td class="q-cell" title=title>
                <span class="q-value">{value}</span>
                <span class="q-detail">{interval}</span>
                <span class="q-detail">{n}</span>
            </td>
        }
        .into_any(),
        EstimateText::TooFew(_) => view! {
            <td class="q-cell too-few" title=title>"too few"<span class="q-detail">{format!("n={}", format::int(estimate.map_or(0.0, |e| e.n)))}</span></td>
        }
        .into_any(),
        EstimateText::Missing => view! { <td class="q-cell muted" title=title>{format::NONE}</td> }.into_any(),
    }
}

/// Sort key of a market code: `ALL` first, then the usual market order.
fn market_rank(code: &str) -> usize {
    if code == "ALL" {
        return 0;
    }
    Market::ALL
        .iter()
        .position(|m| m.code() == code)
        .map_or(usize::MAX, |i| i + 1)
}

#[component]
fn QualityBody(board: QualityBoard, preferred: String) -> impl IntoView {
    let QualityBoard {
        data,
        trend_chart,
        reliability_charts,
    } = board;
    // Categories in the usual order that have figures; markets with figures, ALL first.
    let categories: Vec<&'static str> = Category::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| data.cells.iter().any(|x| x.category == *c))
        .collect();
    let mut markets: Vec<String> = data.cells.iter().map(|c| c.market.clone()).collect();
    markets.sort_by_key(|m| market_rank(m));
    markets.dedup();
    let overall: Vec<QualityCell> = categories
        .iter()
        .filter_map(|c| {
            data.cells
                .iter()
                .find(|x| x.market == "ALL" && x.category == *c)
                .cloned()
        })
        .collect();
    let cells = StoredValue::new(data.cells.clone());
    let metric = RwSignal::new(Metric::Precision);
    let trend_rows = data
        .weeks
        .iter()
        .zip(data.weekly_precision.iter().zip(&data.weekly_recall))
        .map(|(w, (p, r))| view! {
            <tr><th scope="row">{w.clone()}</th><td class="num">{format::pct(*p)}</td><td class="num">{format::pct(*r)}</td></tr>
        })
        .collect_view();
    // Reliability: the categories by the weight behind them, heaviest first.
    let mut reliability: Vec<(amso_core::dashboard::view::Reliability, String)> = data
        .reliability
        .into_iter()
        .zip(reliability_charts)
        .collect();
    let weight =
        |r: &amso_core::dashboard::view::Reliability| r.points.iter().map(|p| p.2).sum::<f64>();
    reliability.sort_by(|a, b| weight(&b.0).total_cmp(&weight(&a.0)));
    let first = reliability
        .iter()
        .position(|(r, _)| r.category == preferred)
        .unwrap_or(0);
    let chosen = RwSignal::new(
        reliability
            .get(first)
            .map(|(r, _)| r.category.clone())
            .unwrap_or_default(),
    );
    let reliability = StoredValue::new(reliability);
    view! {
        <p class="muted small">{format!("Decisions of {}.", window_text(&data.window))}</p>
        <section class="card">
            <h2>"All markets, by category"</h2>
            {if overall.is_empty() {
                view! { <p class="muted">"No audited decisions in this window."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="quality-table">
                        <thead>
                            <tr>
                                <th scope="col">"Category"</th>
                                <th scope="col" class="num">"Precision [95% interval] n"</th>
                                <th scope="col" class="num">"Recall [95% interval] n"</th>
                                <th scope="col" class="num">"F1"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {overall.into_iter().map(|cell| view! {
                                <tr data-testid=format!("quality-ALL-{}", cell.category)>
                                    <th scope="row">{format::category(&cell.category)}</th>
                                    {estimate_cell(cell.precision.as_ref())}
                                    {estimate_cell(cell.recall.as_ref())}
                                    <td class="num">{f1_text(&cell).unwrap_or_else(|| format::NONE.to_string())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <p class="hint">"n is the effective number of audit samples behind a figure (Kish). Below 20 a cell says “too few samples” instead of a number; F1 is shown only when both precision and recall have enough."</p>
                }.into_any()
            }}
        </section>
        <section class="card">
            <div class="card-head">
                <h2>"By market and category"</h2>
                <fieldset class="segmented" data-testid="quality-metric">
                    <legend class="sr-only">"Figure shown"</legend>
                    {[(Metric::Precision, "Precision"), (Metric::Recall, "Recall"), (Metric::F1, "F1")].into_iter().map(|(m, label)| view! {
                        <label class:on=move || metric.get() == m>
                            <input type="radio" name="quality-metric" value=label prop:checked=move || metric.get() == m on:change=move |_| metric.set(m)/>
                            {label}
                        </label>
                    }).collect_view()}
                </fieldset>
            </div>
            <div class="table-scroll">
                <table class="table grid quality-grid" data-testid="quality-grid">
                    <thead>
                        <tr>
                            <th scope="col">"Market"</th>
                            {categories.iter().map(|c| view! { <th scope="col">{format::category(c)}</th> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {move || {
                            let m = metric.get();
                            markets.iter().map(|market| {
                                let row = categories.iter().map(|c| cells.with_value(|all| {
                                    grid_cell(all.iter().find(|x| &x.market == market && x.category == *c), m)
                                })).collect_view();
                                view! {
                                    <tr class=if market == "ALL" { "all-row" } else { "" } data-testid=format!("quality-row-{market}")>
                                        <th scope="row">{if market == "ALL" { "All markets".to_string() } else { market.clone() }}</th>
                                        {row}
                                    </tr>
                                }
                            }).collect_view()
                        }}
                    </tbody>
                </table>
            </div>
            <p class="hint">"Each cell: the figure, its 95% interval and n; greyed “too few” where fewer than 20 effective samples. Hover a cell for all three figures."</p>
        </section>
        <div class="chart-grid">
            <section class="card">
                <ChartFigure svg=trend_chart testid="chart-quality-trend">
                    <table class="table compact">
                        <caption class="sr-only">"Precision and recall per week"</caption>
                        <thead><tr><th scope="col">"Week"</th><th scope="col" class="num">"Precision"</th><th scope="col" class="num">"Recall"</th></tr></thead>
                        <tbody>{trend_rows}</tbody>
                    </table>
                </ChartFigure>
                <p class="hint">"The 8 ISO weeks ending with the window; weeks with too few samples are gaps."</p>
            </section>
            <section class="card" data-testid="reliability">
                <div class="card-head">
                    <h2>"Calibration"</h2>
                    <label class="inline">
                        "Category "
                        <select data-testid="reliability-category" on:change=move |ev| chosen.set(event_target_value(&ev))>
                            {reliability.with_value(|list| list.iter().map(|(r, _)| {
                                let c = r.category.clone();
                                let is = c.clone();
                                view! { <option value=c.clone() selected=move || chosen.get() == is>{format::category(&c)}</option> }
                            }).collect_view())}
                        </select>
                    </label>
                </div>
                {move || {
                    let c = chosen.get();
                    reliability.with_value(|list| list.iter().find(|(r, _)| r.category == c).cloned()).map(|(r, svg)| {
                        let rows = r.points.iter().map(|(score, rate, w)| view! {
                            <tr><td class="num">{format!("{score:.2}")}</td><td class="num">{format::pct(Some(*rate))}</td><td class="num">{format::int(*w)}</td></tr>
                        }).collect_view();
                        view! {
                            <p data-testid="ece">
                                "Expected calibration error: "
                                <strong>{r.ece.map_or_else(|| format::NONE.to_string(), |e| format!("{e:.3}"))}</strong>
                                <span class="muted small">" (weighted mean gap between predicted score and confirmed rate; 0 is perfect)"</span>
                            </p>
                            <ChartFigure svg>
                                <table class="table compact">
                                    <caption class="sr-only">{format!("Reliability of {}", format::category(&r.category))}</caption>
                                    <thead><tr><th scope="col" class="num">"Mean predicted score"</th><th scope="col" class="num">"Confirmed rate"</th><th scope="col" class="num">"Weight"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            </ChartFigure>
                        }
                    })
                }}
                <Show when=move || reliability.with_value(|l| l.is_empty())>
                    <p class="muted">"No human verdicts in this window to calibrate against."</p>
                </Show>
            </section>
        </div>
    }
}

impl Board for QualityBoard {
    fn window(&self) -> amso_core::dashboard::view::Window {
        self.data.window.clone()
    }
}
