//! `/dashboards/quality`: precision, recall and F1 of automatic rejection per market ×
//! category with intervals and sample sizes (model-assisted first, audit-only one click
//! away, label-free beside them with the tripwire), the weekly trend, and a reliability
//! diagram per category before and after calibration.

use super::{Board, DashboardFrame, Filters, selection, window_text};
use crate::api::dashboards::{QualityBoard, RefitCalibration, get_quality};
use crate::components::ChartFigure;
use crate::components::Guarded;
use crate::components::format::{self, EstimateText};
use amso_core::dashboard::view::QualityCell;
use amso_core::metrics::kpi::{self, Estimate};
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
    // Made here, not in the body: live updates re-render the body, and an action made there
    // would lose its answer ("N maps refitted") to the next one.
    let refit = ServerAction::<RefitCalibration>::new();
    view! {
        <DashboardFrame
            title="Quality"
            lead="Automatic rejection against human verdicts. Model-assisted figures (difference estimator: calibrated scores of every decided ad, corrected by the audited ads' residuals weighted by 1 / sampling probability) are shown first; the audit-only (Horvitz–Thompson) figures are one click away. 95% Wilson intervals on effective sample sizes."
            filters=Filters::ALL
            board
            body=move |b| view! { <QualityBody board=b preferred=sel.get_untracked().category refit/> }
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

/// Everything about a cell in one sentence, for its tooltip.
fn cell_summary(cell: &QualityCell, by: Estimator) -> String {
    let part = |name: &str, e: Option<&Estimate>| match format::estimate(e) {
        EstimateText::Shown { value, interval, n } => format!("{name} {value} [{interval}], {n}"),
        EstimateText::TooFew(t) => format!("{name}: {t}"),
        EstimateText::Missing => format!("{name}: no samples"),
    };
    let label_free = cell.estimates.as_ref().map_or_else(String::new, |e| {
        format!(
            "; label-free precision {}, recall {}{}{}",
            format::pct(e.label_free.precision),
            format::pct(e.label_free.recall),
            if e.tripwire {
                " — TRIPWIRE: outside the model-assisted interval"
            } else {
                ""
            },
            e.fallback
                .as_ref()
                .map_or_else(String::new, |f| format!("; audit-only: {f}"))
        )
    });
    format!(
        "{} · {}: {}; {}; F1 {}{}",
        if cell.market == "ALL" {
            "All markets"
        } else {
            &cell.market
        },
        format::category(&cell.category),
        part("precision", figure(cell, false, by)),
        part("recall", figure(cell, true, by)),
        f1_of(cell, by).unwrap_or_else(|| format::NONE.to_string()),
        label_free
    )
}

/// Which estimator the page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Estimator {
    /// Model-assisted (the difference estimator), or audit-only where a slice fell back.
    ModelAssisted,
    /// Horvitz–Thompson over the audit samples alone.
    AuditOnly,
}

/// A cell's precision or recall by the chosen estimator.
fn figure(cell: &QualityCell, recall: bool, by: Estimator) -> Option<&Estimate> {
    match (by, &cell.estimates) {
        (Estimator::ModelAssisted, Some(e)) => {
            if recall {
                e.figures.recall.as_ref()
            } else {
                e.figures.precision.as_ref()
            }
        }
        _ => {
            if recall {
                cell.recall.as_ref()
            } else {
                cell.precision.as_ref()
            }
        }
    }
}

/// F1 of the chosen estimator's figures when both rest on enough samples.
fn f1_of(cell: &QualityCell, by: Estimator) -> Option<String> {
    let p = format::confident(figure(cell, false, by))?;
    let r = format::confident(figure(cell, true, by))?;
    kpi::f1(p, r).map(|f| format!("{f:.3}"))
}

/// Which figure the market × category grid shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metric {
    Precision,
    Recall,
    F1,
}

/// One grid cell for `metric`: the figure with its interval and n, or "too few".
fn grid_cell(cell: Option<&QualityCell>, metric: Metric, by: Estimator) -> AnyView {
    let Some(cell) = cell else {
        return view! { <td class="q-cell muted">{format::NONE}</td> }.into_any();
    };
    let title = cell_summary(cell, by);
    let tripwire = cell.estimates.as_ref().is_some_and(|e| e.tripwire);
    let estimate = match metric {
        Metric::Precision => figure(cell, false, by),
        Metric::Recall => figure(cell, true, by),
        Metric::F1 => {
            return match (f1_of(cell, by), cell.f1) {
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
            <td class="q-cell" class:tripwire=tripwire title=title>
                <span class="q-value">{value}{tripwire.then_some(" ⚠")}</span>
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
fn QualityBody(
    board: QualityBoard,
    preferred: String,
    refit: ServerAction<RefitCalibration>,
) -> impl IntoView {
    let QualityBoard {
        data,
        trend_chart,
        reliability_charts,
        reliability_after_charts,
        can_refit,
    } = board;
    let estimator = RwSignal::new(Estimator::ModelAssisted);
    let tripwires = data.tripwires.clone();
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
        .enumerate()
        .map(|(i, w)| {
            let at = |v: &Vec<Option<f64>>| format::pct(v.get(i).copied().flatten());
            view! {
                <tr>
                    <th scope="row">{w.clone()}</th>
                    <td class="num">{at(&data.weekly_precision)}</td>
                    <td class="num">{at(&data.weekly_recall)}</td>
                    <td class="num muted">{at(&data.weekly_precision_audit)}</td>
                    <td class="num muted">{at(&data.weekly_recall_audit)}</td>
                </tr>
            }
        })
        .collect_view();
    // Reliability: the categories by the weight behind them, heaviest first.
    let calibrated_model = data.calibrated_model.clone();
    let mut reliability: Vec<(amso_core::dashboard::view::Reliability, (String, String))> = data
        .reliability
        .into_iter()
        .zip(reliability_charts.into_iter().zip(reliability_after_charts))
        .collect();
    // Heaviest first, by the weight in thousandths and then the name: the browser reads the
    // weights back from JSON, where the last bit of a float can differ, and an order that hung on
    // it would pick another first category than the server drew and break hydration.
    let weight = |r: &amso_core::dashboard::view::Reliability| {
        (r.points.iter().map(|p| p.2).sum::<f64>() * 1000.0).round() as i64
    };
    reliability.sort_by(|a, b| {
        weight(&b.0)
            .cmp(&weight(&a.0))
            .then_with(|| a.0.category.cmp(&b.0.category))
    });
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
        {(!tripwires.is_empty()).then(|| view! {
            <div class="alert alert-warn" role="alert" data-testid="tripwire">
                <strong>"Tripwire: the model no longer knows what it does not know. "</strong>
                "Its calibrated scores alone say something outside the model-assisted interval in "
                {tripwires.iter().map(|(m, c)| format!("{} × {}", if m == "ALL" { "all markets" } else { m }, format::category(c))).collect::<Vec<_>>().join(", ")}
                ". A new kind of violation, or a change in what humans reject, is the usual cause: look at the overrides and the drift page, and audit more there."
            </div>
        })}
        <fieldset class="segmented quality-estimator" data-testid="quality-estimator">
            <legend class="sr-only">"Estimator"</legend>
            {[(Estimator::ModelAssisted, "Model-assisted"), (Estimator::AuditOnly, "Audit-only")].into_iter().map(|(e, label)| view! {
                <label class:on=move || estimator.get() == e>
                    <input type="radio" name="quality-estimator" value=label prop:checked=move || estimator.get() == e on:change=move |_| estimator.set(e)/>
                    {label}
                </label>
            }).collect_view()}
        </fieldset>
        <section class="card">
            <h2>"All markets, by category"</h2>
            {if overall.is_empty() {
                view! { <p class="muted">"No audited decisions in this window."</p> }.into_any()
            } else {
                let overall = StoredValue::new(overall);
                view! {
                    <table class="table" data-testid="quality-table">
                        <thead>
                            <tr>
                                <th scope="col">"Category"</th>
                                <th scope="col" class="num">"Precision [95% interval] n"</th>
                                <th scope="col" class="num">"Recall [95% interval] n"</th>
                                <th scope="col" class="num">"F1"</th>
                                <th scope="col" class="num" title="Calibrated scores alone, without a human verdict: the tripwire compares it with the interval">"Label-free P / R"</th>
                                <th scope="col">"Method"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {move || {
                                let by = estimator.get();
                                overall.with_value(|all| all.iter().map(|cell| {
                                    let (method, note) = match (&cell.estimates, by) {
                                        (_, Estimator::AuditOnly) => ("audit-only".to_string(), String::new()),
                                        (Some(e), _) if e.fallback.is_some() => ("audit-only".to_string(), e.fallback.clone().unwrap_or_default()),
                                        (Some(_), _) => ("model-assisted".to_string(), String::new()),
                                        (None, _) => ("audit-only".to_string(), "no estimate sums".to_string()),
                                    };
                                    let label_free = cell.estimates.as_ref().map_or_else(
                                        || format::NONE.to_string(),
                                        |e| format!("{} / {}", format::pct(e.label_free.precision), format::pct(e.label_free.recall)),
                                    );
                                    let tripwire = cell.estimates.as_ref().is_some_and(|e| e.tripwire);
                                    view! {
                                        <tr data-testid=format!("quality-ALL-{}", cell.category) class:tripwire=tripwire>
                                            <th scope="row">{format::category(&cell.category)}</th>
                                            {estimate_cell(figure(cell, false, by))}
                                            {estimate_cell(figure(cell, true, by))}
                                            <td class="num">{f1_of(cell, by).unwrap_or_else(|| format::NONE.to_string())}</td>
                                            <td class="num">{label_free}{tripwire.then_some(" ⚠")}</td>
                                            <td data-testid="quality-method" title=note.clone()>{method}{(!note.is_empty()).then(|| view! { <div class="muted small">{note.clone()}</div> })}</td>
                                        </tr>
                                    }
                                }).collect_view())
                            }}
                        </tbody>
                    </table>
                    <p class="hint">"Model-assisted: n is the number of audit samples that would give an audit-only figure this precise. Audit-only: n is the effective number of audit samples (Kish). Below 20 a cell says “too few samples”; F1 is shown only when both figures have enough. Label-free figures use the calibrated scores alone: the tripwire (⚠) fires when they fall outside the model-assisted interval."</p>
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
                            let by = estimator.get();
                            markets.iter().map(|market| {
                                let row = categories.iter().map(|c| cells.with_value(|all| {
                                    grid_cell(all.iter().find(|x| &x.market == market && x.category == *c), m, by)
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
                        <thead><tr><th scope="col">"Week"</th><th scope="col" class="num">"Precision"</th><th scope="col" class="num">"Recall"</th><th scope="col" class="num">"Precision, audit-only"</th><th scope="col" class="num">"Recall, audit-only"</th></tr></thead>
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
                    reliability.with_value(|list| list.iter().find(|(r, _)| r.category == c).cloned()).map(|(r, (svg, after))| {
                        let after_caption = format!("Reliability of {} after calibration", format::category(&r.category));
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
                            {if after.is_empty() {
                                view! { <p class="muted small" data-testid="no-calibration">"No calibration map for this category yet: its figures are audit-only."</p> }.into_any()
                            } else {
                                let rows = r.calibrated.iter().map(|(p, rate, w)| view! {
                                    <tr><td class="num">{format!("{p:.3}")}</td><td class="num">{format::pct(Some(*rate))}</td><td class="num">{format::int(*w)}</td></tr>
                                }).collect_view();
                                view! {
                                    <p data-testid="ece-after">
                                        "After calibration"
                                        {calibrated_model.clone().map(|m| format!(" (map of {m})"))}
                                        ": "
                                        <strong>{r.ece_calibrated.map_or_else(|| format::NONE.to_string(), |e| format!("{e:.3}"))}</strong>
                                    </p>
                                    <ChartFigure svg=after testid="chart-reliability-after">
                                        <table class="table compact">
                                            <caption class="sr-only">{after_caption.clone()}</caption>
                                            <thead><tr><th scope="col" class="num">"Calibrated probability"</th><th scope="col" class="num">"Confirmed rate"</th><th scope="col" class="num">"Weight"</th></tr></thead>
                                            <tbody>{rows}</tbody>
                                        </table>
                                    </ChartFigure>
                                }.into_any()
                            }}
                        }
                    })
                }}
                <Show when=move || reliability.with_value(|l| l.is_empty())>
                    <p class="muted">"No human verdicts in this window to calibrate against."</p>
                </Show>
                <p class="hint">"Calibration maps: weighted isotonic regression of the audited verdicts on the score, per model version and category, refitted daily on the last 28 days."</p>
                {can_refit.then(|| view! {
                    <div class="actions">
                        <button type="button" class="btn" data-testid="refit-calibration"
                            disabled=move || refit.pending().get()
                            on:click=move |_| { refit.dispatch(RefitCalibration {}); }>
                            {move || if refit.pending().get() { "Refitting…" } else { "Refit calibration now" }}
                        </button>
                        {move || refit.value().get().map(|r| match r {
                            Ok(n) => view! { <span class="muted small" role="status">{format!(" {n} maps refitted; reload to see the figures with them.")}</span> }.into_any(),
                            Err(e) => view! { <span class="alert-error small" role="alert">{format!(" {e}")}</span> }.into_any(),
                        })}
                    </div>
                })}
            </section>
        </div>
    }
}

impl Board for QualityBoard {
    fn window(&self) -> amso_core::dashboard::view::Window {
        self.data.window.clone()
    }
}
