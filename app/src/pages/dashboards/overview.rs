//! `/dashboards`: the headline figures of a window against the previous one, one row per
//! market, drift alerts and the daily trends; updated live as decisions and reviews land.

use super::{
    Board, DashboardFrame, Filters, Live, LiveIndicator, href_with, selection, window_text,
};
use crate::api::dashboards::{OverviewBoard, RuleFigure, get_overview};
use crate::components::ChartFigure;
use crate::components::format::{self, Better, Delta, EstimateText};
use crate::components::{Guarded, When};
use amso_core::dashboard::view::{Backlog, DriftAlert, DriftCell, Kpis, MarketRow, TripwireAlert};
use amso_core::metrics::kpi::{DriftBand, Estimate};
use amso_core::vocab::queue::Source;
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

/// The overview page.
#[component]
pub fn OverviewPage() -> impl IntoView {
    view! {
        <Title text="Dashboards"/>
        <Guarded area=Area::Dashboards>
            <div class="dash"><Overview/></div>
        </Guarded>
    }
}

#[component]
fn Overview() -> impl IntoView {
    let query = use_query_map();
    let sel = Memo::new(move |_| selection(&query.read()));
    let board = Resource::new(move || sel.get(), get_overview);
    let live = RwSignal::new(Live::Connecting);
    #[cfg(feature = "hydrate")]
    super::follow_stream("kpis", live, move || board.refetch());
    view! {
        <DashboardFrame
            title="Overview"
            lead="How well the automation works, what it costs and where it drifts. Changes compare with the window of the same length just before."
            filters=Filters::ALL
            board
            body=move |b| view! { <OverviewBody board=b query/> }
        >
        <div class="live-bar">
            <LiveIndicator live/>
            <Transition fallback=|| ()>
                {move || board.get().and_then(Result::ok).map(|b| view! {
                    <span class="muted small" data-testid="updated">{format!("updated {}", b.updated)}</span>
                    <span class="muted small" data-testid="window">{format!(" · {}, compared with {}", window_text(&b.data.window), window_text(&b.data.previous_window))}</span>
                })}
            </Transition>
        </div>

        </DashboardFrame>
    }
}

/// One KPI tile.
#[component]
fn Tile(
    testid: &'static str,
    label: &'static str,
    value: String,
    detail: Option<String>,
    delta: Option<Delta>,
    #[prop(optional)] weak: bool,
) -> impl IntoView {
    view! {
        <section class="kpi card" data-testid=testid>
            <h2 class="kpi-label">{label}</h2>
            <p class=if weak { "kpi-value kpi-weak" } else { "kpi-value" } data-testid=format!("{testid}-value")>{value}</p>
            // Text of the tile reads "Ads decided 4,402 3,328 auto-approved…", figures apart.
            " "
            {detail.map(|d| view! { <p class="kpi-detail">{d}</p> })}
            <DeltaLine delta/>
        </section>
    }
}

/// The change against the previous window, or why there is none.
#[component]
fn DeltaLine(delta: Option<Delta>) -> impl IntoView {
    match delta {
        Some(d) => view! {
            <p class=format!("kpi-delta {}", d.class) title=format!("{} against the previous window", d.words)>
                <span aria-hidden="true">{d.text}</span>
                <span class="sr-only">{format!("{} against the previous window", d.words)}</span>
                <span class="muted" aria-hidden="true">" vs previous"</span>
            </p>
        }
        .into_any(),
        None => view! { <p class="kpi-delta delta-flat muted">"no previous figure"</p> }.into_any(),
    }
}

/// A tile for an estimate (model-assisted, with the audit-only figure beside it where they
/// differ): a number only when it rests on enough samples.
#[component]
fn EstimateTile(
    testid: &'static str,
    label: &'static str,
    current: Option<Estimate>,
    previous: Option<Estimate>,
    audit_only: Option<Estimate>,
    assisted: bool,
) -> impl IntoView {
    let method = if assisted {
        format!(
            " · model-assisted; audit-only {}",
            format::pct(audit_only.map(|e| e.value))
        )
    } else {
        String::new()
    };
    let delta = format::delta_points(
        format::confident(current.as_ref()),
        format::confident(previous.as_ref()),
        Better::Up,
    );
    match format::estimate(current.as_ref()) {
        EstimateText::Shown { value, interval, n } => view! {
            <Tile testid label value detail=Some(format!("95% interval [{interval}] · {n} (effective){method}")) delta/>
        }
        .into_any(),
        EstimateText::TooFew(text) => view! {
            <Tile testid label value=text weak=true detail=Some("Audit samples too few for a confident figure".into()) delta=None/>
        }
        .into_any(),
        EstimateText::Missing => view! {
            <Tile testid label value=format::NONE.to_string() weak=true detail=Some("No audited automatic rejections in this window".into()) delta=None/>
        }
        .into_any(),
    }
}

/// A slice's model-assisted precision (or recall), where it has one.
fn assisted(k: &Kpis, recall: bool) -> Option<Estimate> {
    let f = &k
        .estimates
        .as_ref()
        .filter(|e| e.method == "difference")?
        .figures;
    if recall { f.recall } else { f.precision }
}

/// A slice's model-assisted cost per 1,000 ads, where it has one.
fn cost_per_1k(k: &Kpis) -> Option<amso_core::metrics::estimate::Interval> {
    k.estimates
        .as_ref()
        .filter(|e| e.method == "difference")?
        .figures
        .cost_per_1k_ads
}

#[component]
/// `query` is the page's URL query, read once where the router is known: the body renders
/// inside a transition that can outlive it (an SSR render racing a navigation).
fn OverviewBody(board: OverviewBoard, query: Memo<ParamsMap>) -> impl IntoView {
    let OverviewBoard {
        data,
        automation_chart,
        override_chart,
        sparklines,
        updated: _,
        rules,
    } = board;
    let (k, p) = (data.totals.clone(), data.previous.clone());
    let day_heading = data.window.day_label();
    let (automation_day, override_day) = (day_heading.clone(), day_heading);
    let rel = |c: f64, p: f64, better| format::delta_relative(Some(c), Some(p), better);
    let days = data.days.clone();
    let automation_rows = days
        .iter()
        .zip(&data.daily_automation)
        .map(|(d, v)| view! { <tr><th scope="row">{d.clone()}</th><td class="num">{format::pct(*v)}</td></tr> })
        .collect_view();
    let override_rows = days
        .iter()
        .zip(&data.daily_override)
        .map(|(d, v)| view! { <tr><th scope="row">{d.clone()}</th><td class="num">{format::pct(*v)}</td></tr> })
        .collect_view();
    view! {
        <div class="kpi-grid" data-testid="kpi-tiles">
            <Tile
                testid="kpi-decided"
                label="Ads decided"
                value=format::int(k.decided)
                detail=Some(format!(
                    "{} auto-approved · {} auto-rejected · {} to reviewers",
                    format::int(k.auto_approved), format::int(k.auto_rejected), format::int(k.routed)
                ))
                delta=rel(k.decided, p.decided, Better::Neither)
            />
            <Tile
                testid="kpi-automation"
                label="Automation rate"
                value=format::pct(k.automation_rate)
                detail=Some("Decided without a human".into())
                delta=format::delta_points(k.automation_rate, p.automation_rate, Better::Up)
            />
            <EstimateTile testid="kpi-precision" label="Auto-reject precision" current=assisted(&k, false).or(k.precision) previous=assisted(&p, false).or(p.precision) audit_only=k.precision assisted=assisted(&k, false).is_some()/>
            <EstimateTile testid="kpi-recall" label="Auto-reject recall" current=assisted(&k, true).or(k.recall) previous=assisted(&p, true).or(p.recall) audit_only=k.recall assisted=assisted(&k, true).is_some()/>
            <Tile
                testid="kpi-override"
                label="Override rate"
                value=format::pct(k.override_rate)
                detail=Some(format!("{} of {} human-checked automatic decisions", format::int(k.overridden), format::int(k.checked)))
                delta=format::delta_points(k.override_rate, p.override_rate, Better::Down)
            />
            <Tile
                testid="kpi-appeals"
                label="Appeal overturn rate"
                value=format::pct(k.appeal_overturn_rate)
                detail=Some(format!("of {} appeals decided", format::int(k.appeals_decided)))
                delta=format::delta_points(k.appeal_overturn_rate, p.appeal_overturn_rate, Better::Down)
            />
            <Tile
                testid="kpi-sla"
                label="SLA: p50 / p95 to final decision"
                value=format!("{} / {}", format::duration(k.sla_p50_seconds), format::duration(k.sla_p95_seconds))
                detail=Some(format!("{} within SLA · {} human decisions", format::pct(k.sla_within), format::int(k.sla_n)))
                delta=format::delta_points(k.sla_within, p.sla_within, Better::Up)
            />
            <Tile
                testid="kpi-handling"
                label="Median handling time"
                value=format::duration(k.median_handling_seconds)
                detail=Some(format!("over {} reviews", format::int(k.reviews)))
                delta=format::delta_relative(k.median_handling_seconds, p.median_handling_seconds, Better::Down)
            />
            {match (cost_per_1k(&k), cost_per_1k(&p)) {
                (Some(now), before) => view! {
                    <Tile
                        testid="kpi-cost"
                        label="Cost of risk control per 1,000 ads"
                        value=format::money(now.value)
                        detail=Some(format!(
                            "95% interval {}–{} · model-assisted; audit-only {} · {} in total",
                            format::money(now.low),
                            format::money(now.high),
                            k.cost.per_1k_ads.map_or_else(|| format::NONE.to_string(), format::money),
                            format::money(k.cost.total)
                        ))
                        delta=format::delta_relative(Some(now.value), before.map(|b| b.value), Better::Down)
                    />
                }.into_any(),
                (None, _) => view! {
                    <Tile
                        testid="kpi-cost"
                        label="Cost of risk control"
                        value=format::money(k.cost.total)
                        detail=Some(format!(
                            "{} per 1,000 ads",
                            k.cost.per_1k_ads.map_or_else(|| format::NONE.to_string(), format::money)
                        ))
                        delta=format::delta_relative(k.cost.per_1k_ads, p.cost.per_1k_ads, Better::Down)
                    />
                }.into_any(),
            }}
            <BacklogTile backlog=data.backlog.clone()/>
        </div>
        <p class="hint">"The SLA change is the share within SLA; the cost change is per 1,000 ads. Precision, recall and the error costs are model-assisted (calibrated scores of every decided ad, corrected by the audit samples' residuals), with the audit-only (Horvitz–Thompson) figures beside them; 95% Wilson intervals on effective sample sizes. See the Quality page."</p>
        <DriftBox cells=data.drift.clone() alerts=data.alerts.clone() query/>
        <TripwireBox alerts=data.tripwires.clone() query/>
        <MarketTable rows=data.markets.clone() sparklines query/>
        {(!data.by_version.is_empty()).then(|| view! { <VersionsBox versions=data.by_version.clone()/> })}
        <RulesBox rules/>
        <div class="chart-grid">
            <ChartFigure svg=automation_chart testid="chart-automation">
                <table class="table compact">
                    <caption class="sr-only">"Automation rate per day"</caption>
                    <thead><tr><th scope="col">{automation_day.clone()}</th><th scope="col" class="num">"Automation rate"</th></tr></thead>
                    <tbody>{automation_rows}</tbody>
                </table>
            </ChartFigure>
            <ChartFigure svg=override_chart testid="chart-override">
                <table class="table compact">
                    <caption class="sr-only">"Override rate per day"</caption>
                    <thead><tr><th scope="col">{override_day.clone()}</th><th scope="col" class="num">"Override rate"</th></tr></thead>
                    <tbody>{override_rows}</tbody>
                </table>
            </ChartFigure>
        </div>
    }
}

/// When more than one model version decided in the window (a promotion, a canary or a
/// rollback inside it): each version's own figures.
#[component]
fn VersionsBox(versions: Vec<(String, Kpis)>) -> impl IntoView {
    view! {
        <section class="card" data-testid="versions-box">
            <h2>"By model version"</h2>
            <p class="muted small">"More than one model version decided ads in this window; each row is what that version decided. Precision is model-assisted where the slice has it, else audit-only."</p>
            <table class="table">
                <thead><tr>
                    <th scope="col">"Version"</th><th scope="col" class="num">"Decided"</th>
                    <th scope="col" class="num">"Automation"</th><th scope="col" class="num">"Override rate"</th>
                    <th scope="col" class="num">"Auto-reject precision"</th><th scope="col" class="num">"Cost / 1,000 ads"</th>
                </tr></thead>
                <tbody>
                    {versions.into_iter().map(|(v, k)| {
                        let precision = assisted(&k, false).or(k.precision);
                        let cost = cost_per_1k(&k);
                        view! {
                            <tr data-testid="versions-box-row">
                                <th scope="row" class="mono">{v}</th>
                                <td class="num">{format::int(k.decided)}</td>
                                <td class="num">{format::pct(k.automation_rate)}</td>
                                <td class="num">{format::pct(k.override_rate)}<div class="muted small">{format!("of {} checked", format::int(k.checked))}</div></td>
                                {estimate_cell(precision.as_ref())}
                                <td class="num">{cost.map_or_else(|| "too few samples".to_string(), |c| format!("{} [{}–{}]", format::money(c.value), format::money(c.low), format::money(c.high)))}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// The rules that fired in the window: hits a day and precision against human verdicts.
#[component]
fn RulesBox(rules: Vec<RuleFigure>) -> impl IntoView {
    view! {
        <section class="card" data-testid="rules-box">
            <h2>"Rules in this window"</h2>
            {if rules.is_empty() {
                view! { <p class="muted">"No rule fired on live traffic in this window. "<a href="/rules">"Rules"</a></p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr>
                            <th scope="col">"Rule"</th><th scope="col">"State"</th><th scope="col" class="num">"Hits"</th>
                            <th scope="col">"Hits per day"</th><th scope="col">"Precision (human verdicts)"</th>
                        </tr></thead>
                        <tbody>
                            {rules.into_iter().map(|r| view! {
                                <tr data-testid="rules-box-row">
                                    <th scope="row"><a href=format!("/rules/{}", r.id)>{r.name.clone()}</a></th>
                                    <td>{r.state.clone()}</td>
                                    <td class="num">{format::int(r.hits as f64)}</td>
                                    <td class="spark"><span class="spark-svg" inner_html=r.sparkline.clone()></span></td>
                                    <td data-testid="rules-box-precision">{crate::pages::rules::estimate_line(r.precision.as_ref())}<div class="muted small">{format!("{} hits with a human verdict", format::int(r.labelled as f64))}</div></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <p class="hint">"Hits on live traffic in the window, live and in background (background hits change nothing). Precision: the share of hits humans found violating, weighted by 1/sampling probability; 95% Wilson interval on the effective sample size."</p>
                }.into_any()
            }}
        </section>
    }
}

/// Open review items by queue, live.
#[component]
fn BacklogTile(backlog: Vec<Backlog>) -> impl IntoView {
    let open: i64 = backlog.iter().map(|b| b.open).sum();
    let past: i64 = backlog.iter().map(|b| b.past_due).sum();
    view! {
        <section class="kpi card" data-testid="kpi-backlog">
            <h2 class="kpi-label">"Backlog now"</h2>
            <p class="kpi-value" data-testid="kpi-backlog-value">{format::int(open as f64)}</p>
            " "
            <p class="kpi-detail">{format!("{} past their SLA", format::int(past as f64))}</p>
            <ul class="backlog-list">
                {backlog.into_iter().map(|b| {
                    let label = b.source.parse::<Source>().map(|s| s.label()).unwrap_or("Other");
                    view! {
                        <li>
                            <span>{label}</span>
                            <span class="num">
                                {format::int(b.open as f64)}
                                {(b.past_due > 0).then(|| view! { <span class="bad">{format!(" ({} late)", b.past_due)}</span> })}
                            </span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

/// Slices in watch or drifted, and the latest alerts with links to the drift tab.
#[component]
fn DriftBox(
    cells: Vec<DriftCell>,
    alerts: Vec<DriftAlert>,
    query: Memo<ParamsMap>,
) -> impl IntoView {
    let drifted = cells
        .iter()
        .filter(|c| c.band == Some(DriftBand::Drifted))
        .count();
    let watch = cells
        .iter()
        .filter(|c| c.band == Some(DriftBand::Watch))
        .count();
    let badge_class = if drifted > 0 {
        "badge badge-err"
    } else {
        "badge badge-warn"
    };
    let badge = match (drifted, watch) {
        (0, 0) => view! { <span class="badge badge-ok" data-testid="drift-badge" data-count="0">"all stable"</span> }.into_any(),
        (d, w) => view! {
            <span class=badge_class data-testid="drift-badge" data-count=drifted + watch>
                {format!("{d} drifted · {w} watch")}
            </span>
        }
        .into_any(),
    };
    let shown: Vec<DriftAlert> = alerts.into_iter().take(6).collect();
    view! {
        <section class="card drift-box" data-testid="drift-alerts">
            <h2>"Model drift " {badge}</h2>
            {if shown.is_empty() {
                view! { <p class="muted">"No drift alerts yet. Alerts appear when a slice's PSI rises into watch (0.1) or drifted (0.2)."</p> }.into_any()
            } else {
                view! {
                    <ul class="alert-list">
                        {shown.into_iter().map(|a| {
                            let href = href_with(&query.try_get_untracked().unwrap_or_default(), "/dashboards/drift", &[("market", &a.market), ("category", &a.category)]);
                            view! {
                                <li class=format!("band-{}", a.band)>
                                    <span class="muted small"><When at=a.at.clone() with_zone=true/></span>
                                    <a href=href>{format!("{} · {}", a.market, format::category(&a.category))}</a>
                                    <span>{format!("{} → {}", a.previous_band, a.band)}</span>
                                    <span class="num">{format!("PSI {:.3}", a.psi)}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <p class="small"><a href=move || href_with(&query.read(), "/dashboards/drift", &[])>"All drift figures and alerts →"</a></p>
        </section>
    }
}

/// The estimates' tripwire alerts: where the model's calibrated scores alone fell outside the
/// model-assisted interval (a new kind of violation the model does not know).
#[component]
fn TripwireBox(alerts: Vec<TripwireAlert>, query: Memo<ParamsMap>) -> impl IntoView {
    (!alerts.is_empty()).then(|| view! {
        <section class="card" data-testid="tripwire-alerts">
            <h2>"Tripwire " <span class="badge badge-warn">{format!("{} recent", alerts.len())}</span></h2>
            <p class="muted small">"The model's calibrated scores alone said something outside the interval the audits measure: it no longer knows what it does not know. Audit more there, and look at the overrides."</p>
            <ul class="alert-list">
                {alerts.into_iter().take(6).map(|a| {
                    let category = if a.category == "*" { String::new() } else { a.category.clone() };
                    let href = href_with(&query.try_get_untracked().unwrap_or_default(), "/dashboards/quality", &[("market", &a.market), ("category", &category)]);
                    let slice = if a.category == "*" { "all categories".to_string() } else { format::category(&a.category) };
                    view! {
                        <li class="band-watch">
                            <span class="muted small"><When at=a.at.clone() with_zone=true/></span>
                            <a href=href>{format!("{} · {slice}", a.market)}</a>
                            <span>{format!("{}: label-free {} outside {}–{}", a.figure, format::pct(Some(a.label_free)), format::pct(Some(a.low)), format::pct(Some(a.high)))}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    })
}

fn estimate_cell(e: Option<&Estimate>) -> AnyView {
    match format::estimate(e) {
        EstimateText::Shown { value, interval, n } => view! {
            <td class="num">{value}<div class="muted small">{format!("[{interval}]")}</div><div class="muted small">{n}</div></td>
        }
        .into_any(),
        EstimateText::TooFew(_) => view! {
            <td class="num too-few" title="Fewer than 20 effective audit samples">
                "too few"<div class="small">{format!("n={}", format::int(e.map_or(0.0, |e| e.n)))}</div>
            </td>
        }
        .into_any(),
        EstimateText::Missing => view! { <td class="num muted">{format::NONE}</td> }.into_any(),
    }
}

/// One row per market with the same figures as the tiles and a daily sparkline.
#[component]
fn MarketTable(
    rows: Vec<MarketRow>,
    sparklines: Vec<String>,
    query: Memo<ParamsMap>,
) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"By market"</h2>
            <div class="table-scroll">
                <table class="table market-table" data-testid="market-table">
                    <thead>
                        <tr>
                            <th scope="col">"Market"</th>
                            <th scope="col" class="num">"Decided"</th>
                            <th scope="col">"Per day"</th>
                            <th scope="col" class="num">"Automation"</th>
                            <th scope="col" class="num">"Precision"</th>
                            <th scope="col" class="num">"Recall"</th>
                            <th scope="col" class="num">"Override"</th>
                            <th scope="col" class="num">"Appeals overturned"</th>
                            <th scope="col" class="num">"Backlog"</th>
                            <th scope="col" class="num">"SLA p50 / p95"</th>
                            <th scope="col" class="num">"Within SLA"</th>
                            <th scope="col" class="num">"Median handling"</th>
                            <th scope="col" class="num" title="Total cost (audit-only), then the model-assisted cost per 1,000 ads with its 95% interval">"Cost / per 1,000 ads"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows.into_iter().zip(sparklines.into_iter().chain(std::iter::repeat(String::new()))).map(|(row, spark)| {
                            let MarketRow { market, kpis, previous, backlog, daily_decided, .. } = row;
                            let Kpis { decided, .. } = kpis;
                            let change = format::delta_relative(Some(decided), Some(previous.decided), Better::Neither);
                            let href = href_with(&query.try_get_untracked().unwrap_or_default(), "/dashboards", &[("market", &market)]);
                            let days_text = format!(
                                "Decided per day: {}",
                                daily_decided.iter().map(|v| format::int(*v)).collect::<Vec<_>>().join(", ")
                            );
                            view! {
                                <tr data-testid=format!("market-row-{market}")>
                                    <th scope="row"><a href=href title=format!("Show {market} only")>{market.clone()}</a></th>
                                    <td class="num">
                                        <span data-testid="market-decided">{format::int(decided)}</span>
                                        {change.map(|d| view! { <div class=format!("small {}", d.class) title=d.words.clone()>{d.text}</div> })}
                                    </td>
                                    <td class="spark">
                                        <span class="spark-svg" inner_html=spark></span>
                                        <span class="sr-only">{days_text}</span>
                                    </td>
                                    <td class="num">{format::pct(kpis.automation_rate)}</td>
                                    {estimate_cell(assisted(&kpis, false).or(kpis.precision).as_ref())}
                                    {estimate_cell(assisted(&kpis, true).or(kpis.recall).as_ref())}
                                    <td class="num">{format::pct(kpis.override_rate)}<div class="muted small">{format!("{} / {}", format::int(kpis.overridden), format::int(kpis.checked))}</div></td>
                                    <td class="num">{format::pct(kpis.appeal_overturn_rate)}<div class="muted small">{format!("of {}", format::int(kpis.appeals_decided))}</div></td>
                                    <td class="num">{format::int(backlog as f64)}</td>
                                    <td class="num">{format::duration(kpis.sla_p50_seconds)}<div class="muted small">{format::duration(kpis.sla_p95_seconds)}</div></td>
                                    <td class="num">{format::pct(kpis.sla_within)}</td>
                                    <td class="num nowrap">{format::duration(kpis.median_handling_seconds)}</td>
                                    <td class="num">
                                        {format::money(kpis.cost.total)}
                                        {match cost_per_1k(&kpis) {
                                            Some(i) => view! {
                                                <div class="small" title=format!("Model-assisted, 95% interval {}–{}; audit-only {}", format::money(i.low), format::money(i.high), kpis.cost.per_1k_ads.map_or_else(|| format::NONE.to_string(), format::money))>
                                                    {format::money(i.value)}
                                                </div>
                                                <div class="muted small">{format!("{}–{}", format::money(i.low), format::money(i.high))}</div>
                                            }.into_any(),
                                            None => view! { <div class="muted small">{kpis.cost.per_1k_ads.map_or_else(|| format::NONE.to_string(), format::money)}</div> }.into_any(),
                                        }}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <p class="hint">"Precision and recall cells show the estimate, its 95% interval and the effective sample size; “too few samples” below 20. Click a market to filter the whole page to it."</p>
        </section>
    }
}

impl Board for OverviewBoard {
    fn window(&self) -> amso_core::dashboard::view::Window {
        self.data.window.clone()
    }
}
