//! `/dashboards/quality`: precision, recall and F1 of automatic rejection per market ×
//! category with intervals and sample sizes, the weekly trend, and a reliability diagram
//! per category with its expected calibration error.

use super::format::{self, EstimateText};
use super::{ChartFigure, DashError, DashHeader, FilterBar, Filters, selection, window_text};
use crate::components::Guarded;
use crate::dashboard_api::{QualityBoard, get_quality};
use amso_core::board::QualityCell;
use amso_core::kpi::Estimate;
use amso_core::market::Market;
use amso_core::policy::Category;
use amso_core::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The quality page.
#[component]
pub fn QualityPage() -> impl IntoView {
    view! {
        <Title text="Quality · Dashboards"/>
        <Guarded area=Area::Dashboards>
            <Quality/>
        </Guarded>
    }
}

#[component]
fn Quality() -> impl IntoView {
    let query = use_query_map();
    let sel = Memo::new(move |_| selection(&query.read()));
    let board = Resource::new(move || sel.get(), get_quality);
    let shown = Signal::derive(move || board.get_untracked().and_then(Result::ok).map(|b| b.data.window));
    view! {
        <DashHeader
            title="Quality"
            lead="Automatic rejection against human verdicts: audit samples weighted by 1 / sampling probability (Horvitz–Thompson), 95% Wilson intervals on the effective sample size."
        />
        <FilterBar filters=Filters::ALL shown/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || board.get().map(|r| match r {
                Err(e) => view! { <DashError error=e/> }.into_any(),
                Ok(b) => view! { <QualityBody board=b preferred=sel.get_untracked().category/> }.into_any(),
            })}
        </Transition>
    }
}

fn estimate_cell(e: Option<&Estimate>) -> AnyView {
    match format::estimate(e) {
        EstimateText::Shown { value, interval, n } => view! {
            <td class="num">{value}<div class="muted small">{format!("[{interval}]")}</div></td>
            <td class="num muted">{n.trim_start_matches("n = ").to_string()}</td>
        }
        .into_any(),
        EstimateText::TooFew(_) => view! {
            <td class="num too-few">"too few samples"</td>
            <td class="num too-few">{e.map(|e| format::int(e.n))}</td>
        }
        .into_any(),
        EstimateText::Missing => view! {
            <td class="num muted">{format::NONE}</td>
            <td class="num muted">"0"</td>
        }
        .into_any(),
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
    // Categories in the usual order, each with its rows (ALL first).
    let groups: Vec<(String, Vec<QualityCell>)> = Category::ALL
        .iter()
        .filter_map(|c| {
            let mut rows: Vec<QualityCell> = data
                .cells
                .iter()
                .filter(|x| x.category == c.as_str())
                .cloned()
                .collect();
            rows.sort_by_key(|r| market_rank(&r.market));
            (!rows.is_empty()).then(|| (c.as_str().to_string(), rows))
        })
        .collect();
    let trend_rows = data
        .weeks
        .iter()
        .zip(data.weekly_precision.iter().zip(&data.weekly_recall))
        .map(|(w, (p, r))| view! {
            <tr><th scope="row">{w.clone()}</th><td class="num">{format::pct(*p)}</td><td class="num">{format::pct(*r)}</td></tr>
        })
        .collect_view();
    // Reliability: the categories by the weight behind them, heaviest first.
    let mut reliability: Vec<(amso_core::board::Reliability, String)> =
        data.reliability.into_iter().zip(reliability_charts).collect();
    let weight = |r: &amso_core::board::Reliability| r.points.iter().map(|p| p.2).sum::<f64>();
    reliability.sort_by(|a, b| weight(&b.0).total_cmp(&weight(&a.0)));
    let first = reliability
        .iter()
        .position(|(r, _)| r.category == preferred)
        .unwrap_or(0);
    let chosen = RwSignal::new(reliability.get(first).map(|(r, _)| r.category.clone()).unwrap_or_default());
    let reliability = StoredValue::new(reliability);
    view! {
        <p class="muted small">{format!("Decisions of {}.", window_text(&data.window))}</p>
        <section class="card">
            <h2>"Precision, recall and F1 by market and category"</h2>
            {if groups.is_empty() {
                view! { <p class="muted">"No audited decisions in this window."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                        <table class="table quality-table" data-testid="quality-table">
                            <thead>
                                <tr>
                                    <th scope="col">"Market"</th>
                                    <th scope="col" class="num">"Precision"</th>
                                    <th scope="col" class="num">"n"</th>
                                    <th scope="col" class="num">"Recall"</th>
                                    <th scope="col" class="num">"n"</th>
                                    <th scope="col" class="num">"F1"</th>
                                </tr>
                            </thead>
                            {groups.into_iter().map(|(category, rows)| view! {
                                <tbody data-category=category.clone()>
                                    <tr class="group-row"><th scope="rowgroup" colspan="6">{format::category(&category)}</th></tr>
                                    {rows.into_iter().map(|cell| {
                                        let both = format::confident(cell.precision.as_ref()).is_some()
                                            && format::confident(cell.recall.as_ref()).is_some();
                                        let is_all = cell.market == "ALL";
                                        view! {
                                            <tr class=if is_all { "all-row" } else { "" } data-testid=format!("quality-{}-{}", cell.market, cell.category)>
                                                <th scope="row">{if is_all { "All markets".to_string() } else { cell.market.clone() }}</th>
                                                {estimate_cell(cell.precision.as_ref())}
                                                {estimate_cell(cell.recall.as_ref())}
                                                {match (both, cell.f1) {
                                                    (true, Some(f)) => view! { <td class="num">{format!("{f:.3}")}</td> }.into_any(),
                                                    (false, Some(_)) => view! { <td class="num too-few">"too few samples"</td> }.into_any(),
                                                    _ => view! { <td class="num muted">{format::NONE}</td> }.into_any(),
                                                }}
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            }).collect_view()}
                        </table>
                    </div>
                    <p class="hint">"Each figure shows its 95% interval and n, the effective number of audit samples behind it. Below 20 effective samples a cell says “too few samples” instead of a number."</p>
                }.into_any()
            }}
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
