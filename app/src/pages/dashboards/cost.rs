//! `/dashboards/cost`: the cost of risk control per market — reviewer time, inference,
//! wrongly rejected spend and harm let through — per 1,000 ads, its trend, and the rates it
//! is computed with (editable by ops heads and admins, audited).

use super::{Board, DashboardFrame, Filters, selection, window_text};
use crate::api::dashboards::{CostBoard, SaveCostRates, get_cost};
use crate::components::ChartFigure;
use crate::components::format;
use crate::components::{ErrorNote, Guarded};
use amso_core::dashboard::view::RatesView;
use amso_core::metrics::kpi::Cost;
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The cost page.
#[component]
pub fn CostPage() -> impl IntoView {
    view! {
        <Title text="Cost · Dashboards"/>
        <Guarded area=Area::Dashboards>
            <div class="dash"><CostOfRiskControl/></div>
        </Guarded>
    }
}

#[component]
fn CostOfRiskControl() -> impl IntoView {
    let query = use_query_map();
    let sel = Memo::new(move |_| selection(&query.read()));
    let save = ServerAction::<SaveCostRates>::new();
    let board = Resource::new(
        move || (sel.get(), save.version().get()),
        |(s, _)| get_cost(s),
    );
    view! {
        <DashboardFrame
            title="Cost of risk control"
            lead="Reviewer time + inference CPU + advertiser spend lost to wrong rejections + harm from harmful ads approved, in USD."
            filters=Filters::ALL
            board
            body=move |b| view! { <CostBody board=b save/> }
        />
    }
}

/// A cost component: its name, how to read it from a [`Cost`], and how it is computed.
type Part = (&'static str, fn(&Cost) -> f64, &'static str);

/// A component of the cost per 1,000 ads decided.
fn per_1k(part: f64, decided: f64) -> String {
    if decided > 0.0 {
        format::money(part / decided * 1000.0)
    } else {
        format::NONE.to_string()
    }
}

/// A component's share of the total.
fn share(part: f64, total: f64) -> String {
    if total > 0.0 {
        format::pct(Some(part / total))
    } else {
        format::NONE.to_string()
    }
}

/// The model-assisted cost per 1,000 ads with its interval, or why there is none.
fn assisted_text(e: Option<&amso_core::metrics::estimate::Estimates>) -> String {
    match e {
        Some(e) => match (&e.fallback, e.figures.cost_per_1k_ads) {
            (None, Some(i)) => format!(
                "{} [{}–{}]",
                format::money(i.value),
                format::money(i.low),
                format::money(i.high)
            ),
            (Some(why), _) => format!("audit-only ({why})"),
            (None, None) => "too few samples".to_string(),
        },
        None => format::NONE.to_string(),
    }
}

#[component]
fn CostBody(board: CostBoard, save: ServerAction<SaveCostRates>) -> impl IntoView {
    let CostBoard {
        data,
        bars_chart,
        trend_chart,
        can_edit,
    } = board;
    let total = data.total;
    let decided: f64 = data.markets.iter().map(|(_, d, _)| d).sum();
    let parts: [Part; 4] = [
        (
            "Review",
            |c| c.review,
            "handling hours × the market's reviewer rate",
        ),
        (
            "Inference",
            |c| c.inference,
            "measured CPU time × $/CPU-hour",
        ),
        (
            "False positives",
            |c| c.false_positive,
            "estimated wrongly rejected ads × daily budget × days lost",
        ),
        (
            "False negatives",
            |c| c.false_negative,
            "estimated harmful ads approved × the category's risk weight",
        ),
    ];
    let per_1k_rows = data
        .markets
        .iter()
        .filter(|(_, d, _)| *d > 0.0)
        .map(|(m, d, c)| {
            let cols = parts.iter().map(|(_, f, _)| view! { <td class="num">{per_1k(f(c), *d)}</td> }).collect_view();
            view! { <tr><th scope="row">{m.clone()}</th>{cols}<td class="num">{per_1k(c.total, *d)}</td></tr> }
        })
        .collect_view();
    let trend_rows = data
        .days
        .iter()
        .zip(&data.daily_per_1k)
        .map(|(d, v)| view! {
            <tr><th scope="row">{d.clone()}</th><td class="num">{v.map_or_else(|| format::NONE.to_string(), format::money)}</td></tr>
        })
        .collect_view();
    view! {
        <p class="muted small">{format!("Decisions of {}.", window_text(&data.window))}</p>
        <section class="card" data-testid="cost-total">
            <h2>"Total"</h2>
            <dl class="facts facts-row cost-facts">
                <dt>"Cost of risk control"</dt><dd data-testid="cost-total-value">{format::money(total.total)}</dd>
                <dt>"Per 1,000 ads"</dt><dd>{total.per_1k_ads.map_or_else(|| format::NONE.to_string(), format::money)}<span class="muted small">" audit-only"</span></dd>
                <dt>"Per 1,000 ads, model-assisted"</dt>
                <dd data-testid="cost-per-1k-assisted">{assisted_text(data.total_estimates.as_ref())}</dd>
                {parts.iter().map(|(name, f, _)| view! {
                    <dt>{*name}</dt>
                    <dd>{format::money(f(&total))}<span class="muted small">{format!(" {}", share(f(&total), total.total))}</span></dd>
                }).collect_view()}
            </dl>
            <p class="hint">{format!("{} ads decided. ", format::int(decided))}{parts.iter().map(|(n, _, how)| format!("{n}: {how}.")).collect::<Vec<_>>().join(" ")}</p>
        </section>
        <div class="chart-grid">
            <section class="card">
                <ChartFigure svg=bars_chart testid="chart-cost-bars">
                    <table class="table compact">
                        <caption class="sr-only">"Cost per 1,000 ads by market and component"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Market"</th>
                                {parts.iter().map(|(n, _, _)| view! { <th scope="col" class="num">{*n}</th> }).collect_view()}
                                <th scope="col" class="num">"Total"</th>
                            </tr>
                        </thead>
                        <tbody>{per_1k_rows}</tbody>
                    </table>
                </ChartFigure>
            </section>
            <section class="card">
                <ChartFigure svg=trend_chart testid="chart-cost-trend">
                    <table class="table compact">
                        <caption class="sr-only">"Cost per 1,000 ads per day"</caption>
                        <thead><tr><th scope="col">{data.window.day_label()}</th><th scope="col" class="num">"Per 1,000 ads"</th></tr></thead>
                        <tbody>{trend_rows}</tbody>
                    </table>
                </ChartFigure>
            </section>
        </div>
        <section class="card">
            <h2>"By market"</h2>
            <div class="table-scroll">
                <table class="table" data-testid="cost-table">
                    <thead>
                        <tr>
                            <th scope="col">"Market"</th>
                            <th scope="col" class="num">"Decided"</th>
                            {parts.iter().map(|(n, _, _)| view! { <th scope="col" class="num">{*n}</th> }).collect_view()}
                            <th scope="col" class="num">"Total"</th>
                            <th scope="col" class="num">"Per 1,000 ads"</th>
                            <th scope="col" class="num" title="Difference estimator over calibrated scores with its 95% interval">"Model-assisted per 1,000 [95%]"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {data.markets.iter().zip(data.estimates.iter().cloned().chain(std::iter::repeat(None))).map(|((m, d, c), e)| {
                            let cols = parts.iter().map(|(_, f, _)| view! { <td class="num">{format::money(f(c))}</td> }).collect_view();
                            view! {
                                <tr data-testid=format!("cost-row-{m}")>
                                    <th scope="row">{m.clone()}</th>
                                    <td class="num">{format::int(*d)}</td>
                                    {cols}
                                    <td class="num"><strong>{format::money(c.total)}</strong></td>
                                    <td class="num">{c.per_1k_ads.map_or_else(|| format::NONE.to_string(), format::money)}</td>
                                    <td class="num">{assisted_text(e.as_ref())}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <RatesForm rates=data.rates can_edit save/>
    }
}

/// The rates behind the cost; a form for ops heads and admins, read-only for others.
#[component]
fn RatesForm(rates: RatesView, can_edit: bool, save: ServerAction<SaveCostRates>) -> impl IntoView {
    let text = |x: f64| format!("{x}");
    let markets: Vec<(String, RwSignal<String>, RwSignal<String>)> = rates
        .markets
        .iter()
        .map(|(m, h, c)| (m.clone(), RwSignal::new(text(*h)), RwSignal::new(text(*c))))
        .collect();
    let cpu = RwSignal::new(text(rates.cpu_hour_usd));
    let days = RwSignal::new(text(rates.days_lost_per_false_reject));
    let weights: Vec<(String, RwSignal<String>)> = rates
        .risk_weights
        .iter()
        .map(|(c, w)| (c.clone(), RwSignal::new(text(*w))))
        .collect();
    let problem = RwSignal::new(None::<String>);
    let (m2, w2) = (markets.clone(), weights.clone());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let number = |what: &str, s: RwSignal<String>| -> Result<f64, String> {
            s.get_untracked()
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| format!("{what} must be a number, zero or more."))
        };
        let read = || -> Result<RatesView, String> {
            Ok(RatesView {
                markets: m2
                    .iter()
                    .map(|(m, h, c)| {
                        Ok((
                            m.clone(),
                            number(&format!("{m} hourly rate"), *h)?,
                            number(&format!("{m} capacity"), *c)?,
                        ))
                    })
                    .collect::<Result<_, String>>()?,
                cpu_hour_usd: number("$/CPU-hour", cpu)?,
                days_lost_per_false_reject: number("Days lost per false reject", days)?,
                risk_weights: w2
                    .iter()
                    .map(|(c, w)| {
                        Ok((
                            c.clone(),
                            number(&format!("{} risk weight", format::category(c)), *w)?,
                        ))
                    })
                    .collect::<Result<_, String>>()?,
            })
        };
        match read() {
            Ok(rates) => {
                problem.set(None);
                save.dispatch(SaveCostRates { rates });
            }
            Err(e) => problem.set(Some(e)),
        }
    };
    let disabled = !can_edit;
    view! {
        <section class="card" data-testid="rates">
            <h2>"Rates behind the cost"</h2>
            {if can_edit {
                view! { <p class="muted">"Changes apply to every figure on the dashboards and in the weekly report, past windows included, and are recorded in the audit log."</p> }.into_any()
            } else {
                view! { <p class="alert alert-warn" data-testid="rates-readonly">"Read-only: only ops heads and admins change these rates."</p> }.into_any()
            }}
            {move || problem.get().map(|p| view! { <div class="alert alert-error" role="alert">{p}</div> })}
            {move || save.value().get().map(|r| match r {
                Ok(()) => view! { <div class="alert alert-ok" role="status" data-testid="rates-saved">"Rates saved; the figures above use them now."</div> }.into_any(),
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            })}
            <form class="rates-form" on:submit=submit>
                <fieldset disabled=disabled>
                    <div class="rates-columns">
                        <table class="table compact">
                            <caption>"Reviewers per market"</caption>
                            <thead><tr><th scope="col">"Market"</th><th scope="col">"USD per hour"</th><th scope="col">"Reviews a day"</th></tr></thead>
                            <tbody>
                                {markets.into_iter().map(|(m, h, c)| view! {
                                    <tr>
                                        <th scope="row">{m.clone()}</th>
                                        <td><input type="number" min="0" step="0.01" aria-label=format!("{m} reviewer USD per hour") data-testid=format!("rate-hourly-{m}")
                                            value=h.get_untracked() disabled=disabled prop:value=h on:input=move |ev| h.set(event_target_value(&ev))/></td>
                                        <td><input type="number" min="0" step="1" aria-label=format!("{m} review capacity per day") data-testid=format!("rate-capacity-{m}")
                                            value=c.get_untracked() disabled=disabled prop:value=c on:input=move |ev| c.set(event_target_value(&ev))/></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <div>
                            <div class="field">
                                <label for="rate-cpu">"USD per CPU-hour"</label>
                                <input id="rate-cpu" type="number" min="0" step="0.001" data-testid="rate-cpu" value=cpu.get_untracked() disabled=disabled prop:value=cpu on:input=move |ev| cpu.set(event_target_value(&ev))/>
                            </div>
                            <div class="field">
                                <label for="rate-days">"Days of spend lost per false reject"</label>
                                <input id="rate-days" type="number" min="0" step="0.1" data-testid="rate-days" value=days.get_untracked() disabled=disabled prop:value=days on:input=move |ev| days.set(event_target_value(&ev))/>
                            </div>
                            <table class="table compact">
                                <caption>"Harm per harmful ad approved (USD)"</caption>
                                <thead><tr><th scope="col">"Category"</th><th scope="col">"Risk weight"</th></tr></thead>
                                <tbody>
                                    {weights.into_iter().map(|(c, w)| view! {
                                        <tr>
                                            <th scope="row">{format::category(&c)}</th>
                                            <td><input type="number" min="0" step="1" aria-label=format!("{} risk weight in USD", format::category(&c)) data-testid=format!("rate-risk-{c}")
                                                value=w.get_untracked() disabled=disabled prop:value=w on:input=move |ev| w.set(event_target_value(&ev))/></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    </div>
                    {can_edit.then(|| view! {
                        <button type="submit" class="btn btn-primary" data-testid="rates-save" disabled=move || save.pending().get()>"Save rates"</button>
                    })}
                </fieldset>
            </form>
        </section>
    }
}

impl Board for CostBoard {
    fn window(&self) -> amso_core::dashboard::view::Window {
        self.data.window.clone()
    }
}
