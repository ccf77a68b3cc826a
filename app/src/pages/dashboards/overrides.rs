//! `/dashboards/overrides`: where reviewers overrule the machine — a market × category
//! heatmap of override rates with counts, the same by reviewer and by reason, a daily
//! trend, and for a chosen slice the overridden ads, each linking to its page.

use super::{Board, DashboardFrame, Filters, href_with, selection, window_text};
use crate::api::dashboards::{OverridesBoard, get_overrides};
use crate::components::ChartFigure;
use crate::components::format;
use crate::components::time::in_viewer_zone;
use crate::components::{Guarded, When};
use amso_core::dashboard::view::{OverrideCell, OverrideCount};
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use amso_core::vocab::queue::Source;
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

/// The overrides page.
#[component]
pub fn OverridesPage() -> impl IntoView {
    view! {
        <Title text="Overrides · Dashboards"/>
        <Guarded area=Area::Dashboards>
            <div class="dash"><Overrides/></div>
        </Guarded>
    }
}

#[component]
fn Overrides() -> impl IntoView {
    let query = use_query_map();
    let sel = Memo::new(move |_| selection(&query.read()));
    let board = Resource::new(move || sel.get(), get_overrides);
    view! {
        <DashboardFrame
            title="Overrides"
            lead="Human-checked automatic decisions (audit samples and appeals) where the reviewer's final verdict differs from the machine's action."
            filters=Filters::WINDOW_AND_MODEL
            board
            body=move |b| view! { <OverridesBody board=b query/> }
        />
    }
}

/// The heat of a cell: background opacity grows with the rate, full at 30%.
fn heat(rate: f64) -> String {
    let alpha = (rate / 0.3).clamp(0.0, 1.0) * 0.5 + 0.04;
    format!("background-color: rgba(180, 35, 24, {alpha:.2})")
}

/// Sums of cells: (checked, overridden).
fn sums<'a>(cells: impl Iterator<Item = &'a OverrideCell>) -> (f64, f64) {
    cells.fold((0.0, 0.0), |(c, o), x| (c + x.checked, o + x.overridden))
}

#[component]
/// `query` comes from the page (see the overview's body): this renders inside a transition
/// that can outlive the router.
fn OverridesBody(board: OverridesBoard, query: Memo<ParamsMap>) -> impl IntoView {
    let OverridesBoard { data, trend_chart } = board;
    let q = query.read_untracked();
    let (sel_market, sel_category) = (
        q.get("market").unwrap_or_default(),
        q.get("category").unwrap_or_default(),
    );
    let slice = [sel_market.clone(), format::category(&sel_category)]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    let link = |m: &str, c: &str| {
        href_with(
            &q,
            "/dashboards/overrides",
            &[("market", m), ("category", c)],
        )
    };
    let cells = data.cells.clone();
    let markets: Vec<&'static str> = Market::ALL
        .iter()
        .map(|m| m.code())
        .filter(|m| cells.iter().any(|c| c.market == *m))
        .collect();
    let heat_cell = |checked: f64,
                     overridden: f64,
                     href: String,
                     label: String,
                     selected: bool,
                     testid: String| {
        if checked <= 0.0 {
            return view! { <td><span class="heat heat-none" title=format!("{label}: none checked")>{format::NONE}</span></td> }.into_any();
        }
        let rate = overridden / checked;
        view! {
            <td>
                <a class="heat" href=href style=heat(rate) aria-current=selected.then_some("true") data-testid=testid
                    title=format!("{label}: {} of {} checked overridden", format::int(overridden), format::int(checked))>
                    <span class="heat-rate">{format::pct(Some(rate))}</span>
                    <span class="heat-count">{format!("{}/{}", format::int(overridden), format::int(checked))}</span>
                </a>
            </td>
        }
        .into_any()
    };
    let rows = markets
        .iter()
        .map(|m| {
            let row = Category::ALL
                .map(|c| {
                    let (checked, overridden) = sums(
                        cells
                            .iter()
                            .filter(|x| x.market == *m && x.category == c.as_str()),
                    );
                    heat_cell(
                        checked,
                        overridden,
                        link(m, c.as_str()),
                        format!("{m} · {}", format::category(c.as_str())),
                        sel_market == *m && sel_category == c.as_str(),
                        format!("ovr-{m}-{}", c.as_str()),
                    )
                })
                .collect_view();
            let (checked, overridden) = sums(cells.iter().filter(|x| x.market == *m));
            let all = heat_cell(
                checked,
                overridden,
                link(m, ""),
                format!("{m}, all categories"),
                sel_market == *m && sel_category.is_empty(),
                format!("ovr-{m}-all"),
            );
            view! { <tr><th scope="row">{*m}</th>{row}{all}</tr> }
        })
        .collect_view();
    let totals = Category::ALL
        .map(|c| {
            let (checked, overridden) = sums(cells.iter().filter(|x| x.category == c.as_str()));
            heat_cell(
                checked,
                overridden,
                link("", c.as_str()),
                format!("All markets · {}", format::category(c.as_str())),
                sel_market.is_empty() && sel_category == c.as_str(),
                format!("ovr-all-{}", c.as_str()),
            )
        })
        .collect_view();
    let (all_checked, all_overridden) = sums(cells.iter());
    let trend_rows = data
        .days
        .iter()
        .zip(&data.daily_rate)
        .map(|(d, v)| view! { <tr><th scope="row">{d.clone()}</th><td class="num">{format::pct(*v)}</td></tr> })
        .collect_view();
    let clear = link("", "");
    let has_slice = !slice.is_empty();
    let of_slice = if has_slice {
        format!(", {slice}")
    } else {
        String::new()
    };
    view! {
        <p class="muted small">{format!("Decisions of {}.", window_text(&data.window))}</p>
        <section class="card">
            <h2>"Override rate by market and category"</h2>
            <div class="table-scroll">
                <table class="table grid heatmap" data-testid="override-heatmap">
                    <thead>
                        <tr>
                            <th scope="col">"Market"</th>
                            {Category::ALL.map(|c| view! { <th scope="col">{format::category(c.as_str())}</th> }).collect_view()}
                            <th scope="col">"All"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                    <tfoot>
                        <tr>
                            <th scope="row">"All"</th>
                            {totals}
                            <td class="heat-total">
                                <span class="heat-rate">{format::pct(amso_core::metrics::kpi::ratio(all_overridden, all_checked))}</span>
                                <span class="heat-count">{format!("{}/{}", format::int(all_overridden), format::int(all_checked))}</span>
                            </td>
                        </tr>
                    </tfoot>
                </table>
            </div>
            <p class="hint">"Each cell: overridden share and overridden / checked. Darker is higher (full at 30%); “—” where nothing was checked. Click a cell to see its overridden ads."</p>
        </section>
        {has_slice.then(|| {
            let drill = data.drill.clone();
            view! {
                <section class="card" data-testid="drill">
                    <div class="card-head">
                        <h2>{format!("Overridden ads: {slice}")}</h2>
                        <a class="btn btn-ghost btn-small" href=clear.clone() data-testid="drill-clear">"Clear selection"</a>
                    </div>
                    {if drill.is_empty() {
                        view! { <p class="muted">"No overridden ads in this slice and window."</p> }.into_any()
                    } else {
                        let n = drill.len();
                        view! {
                            <div class="table-scroll">
                                <table class="table" data-testid="drill-table">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Ad"</th>
                                            <th scope="col">"Headline"</th>
                                            <th scope="col">"Machine → reviewer"</th>
                                            <th scope="col">"Queue"</th>
                                            <th scope="col">"Reason"</th>
                                            <th scope="col">"Reviewer"</th>
                                            <th scope="col">{in_viewer_zone("When")}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {drill.into_iter().map(|a| view! {
                                            <tr data-testid=format!("drill-{}", a.ad_id)>
                                                <td class="nowrap"><a href=format!("/ads/{}", a.ad_id)>{format!("#{}", a.ad_id)}</a><div class="muted small">{format!("{} · {}", a.market, format::category(&a.category))}</div></td>
                                                <td class="truncate" dir="auto">{a.headline}</td>
                                                <td class="nowrap">{format!("{} → {}", a.machine_action, a.verdict)}</td>
                                                <td>{a.source.parse::<Source>().map_or_else(|_| a.source.clone(), |s| s.label().to_string())}</td>
                                                <td>{a.reason_code.map_or_else(|| format::NONE.to_string(), |r| format::category(&r))}</td>
                                                <td>{a.reviewer}</td>
                                                <td><When at=a.at.clone()/></td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <p class="hint">{format!("{n} ads, newest first{}.", if n >= 200 { " (the latest 200)" } else { "" })}</p>
                        }.into_any()
                    }}
                </section>
            }
        })}
        <div class="chart-grid">
            <CountTable title=format!("By reviewer{of_slice}") key_head="Reviewer" rows=data.by_reviewer testid="by-reviewer"/>
            <CountTable title=format!("By reason{of_slice}") key_head="Reason" rows=data.by_reason testid="by-reason"/>
        </div>
        <section class="card">
            <ChartFigure svg=trend_chart testid="chart-override-trend">
                <table class="table compact">
                    <caption class="sr-only">"Override rate per day"</caption>
                    <thead><tr><th scope="col">{data.window.day_label()}</th><th scope="col" class="num">"Override rate"</th></tr></thead>
                    <tbody>{trend_rows}</tbody>
                </table>
            </ChartFigure>
        </section>
    }
}

/// Reviews and overrides by one key (a reviewer or a reason).
#[component]
fn CountTable(
    title: String,
    key_head: &'static str,
    rows: Vec<OverrideCount>,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <section class="card" data-testid=testid>
            <h2>{title}</h2>
            {if rows.is_empty() {
                view! { <p class="muted">"No overrides in this window."</p> }.into_any()
            } else {
                view! {
                    <table class="table compact">
                        <thead>
                            <tr>
                                <th scope="col">{key_head}</th>
                                <th scope="col" class="num">"Overrides"</th>
                                <th scope="col" class="num">"Reviews"</th>
                                <th scope="col" class="num">"Rate"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {rows.into_iter().map(|r| view! {
                                <tr>
                                    <th scope="row">{r.label}</th>
                                    <td class="num">{format::int(r.overrides)}</td>
                                    <td class="num">{format::int(r.reviews)}</td>
                                    <td class="num">{format::pct(r.rate)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

impl Board for OverridesBoard {
    fn window(&self) -> amso_core::dashboard::view::Window {
        self.data.window.clone()
    }
}
