//! `/dashboards/simulator`: move a market × category's approve and reject thresholds and
//! see what the audit-weighted history says they would do — automation, review volume
//! against capacity, precision, recall and cost — next to the thresholds in force; take
//! the cheapest pair within capacity, and (ops heads, admins) apply it as a new version.

use super::format;
use super::{DashError, DashHeader, use_set_query};
use crate::components::{ErrorNote, Guarded};
use crate::dashboard_api::{ApplyThresholds, BandInForce, get_band_in_force, simulate_thresholds};
use amso_core::board::{Projection, Simulation};
use amso_core::market::Market;
use amso_core::policy::Category;
use amso_core::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::time::Duration;

/// The simulator page.
#[component]
pub fn SimulatorPage() -> impl IntoView {
    view! {
        <Title text="Simulator · Dashboards"/>
        <Guarded area=Area::Dashboards>
            <Simulator/>
        </Guarded>
    }
}

#[component]
fn Simulator() -> impl IntoView {
    let query = use_query_map();
    let slice = Memo::new(move |_| {
        let q = query.read();
        (
            q.get("market").filter(|m| !m.is_empty()).unwrap_or_else(|| "US".into()),
            q.get("category").filter(|c| !c.is_empty()).unwrap_or_else(|| "scam".into()),
        )
    });
    let band = Resource::new(move || slice.get(), |(m, c)| get_band_in_force(m, c));
    let set = use_set_query();
    let set_category = set.clone();
    view! {
        <DashHeader
            title="Threshold simulator"
            lead="Projects a market × category's thresholds over the last 28 days of audit-weighted history. Other categories are held as they are."
        />
        <form class="toolbar filters card" on:submit=|ev| ev.prevent_default()>
            <label>
                "Market"
                <select data-testid="sim-market" on:change=move |ev| set(&[("market", &event_target_value(&ev))])>
                    {Market::ALL.map(|m| view! {
                        <option value=m.code() selected=move || slice.read().0 == m.code()>{format!("{} · {}", m.code(), m.name())}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Category"
                <select data-testid="sim-category" on:change=move |ev| set_category(&[("category", &event_target_value(&ev))])>
                    {Category::ALL.map(|c| view! {
                        <option value=c.as_str() selected=move || slice.read().1 == c.as_str()>{format::category(c.as_str())}</option>
                    }).collect_view()}
                </select>
            </label>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || band.get().map(|r| match r {
                Err(e) => view! { <DashError error=e/> }.into_any(),
                Ok(b) => {
                    let (market, category) = slice.get_untracked();
                    view! { <SimulatorBody market category band=b/> }.into_any()
                }
            })}
        </Transition>
    }
}

/// A threshold typed or slid: a number in [0, 1], to two decimals.
fn threshold(text: &str) -> Option<f64> {
    let x: f64 = text.trim().parse().ok()?;
    x.is_finite().then(|| (x.clamp(0.0, 1.0) * 100.0).round() / 100.0)
}

#[component]
fn SimulatorBody(market: String, category: String, band: BandInForce) -> impl IntoView {
    let approve = RwSignal::new(band.approve_below);
    let reject = RwSignal::new(band.reject_at);
    // What was last asked of the server: the sliders, once they rest for 250 ms.
    let asked = RwSignal::new((band.approve_below, band.reject_at));
    let timer = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |_| {
        let pair = (approve.get(), reject.get());
        if let Some(t) = timer.get_value() {
            t.clear();
        }
        let t = set_timeout_with_handle(move || asked.set(pair), Duration::from_millis(250)).ok();
        timer.set_value(t);
    });
    let apply = ServerAction::<ApplyThresholds>::new();
    let (m, c) = (market.clone(), category.clone());
    let sim = Resource::new(
        move || (asked.get(), apply.version().get()),
        move |((a, r), _)| simulate_thresholds(m.clone(), c.clone(), a, r),
    );
    let set_approve = move |a: f64| {
        approve.set(a);
        if a > reject.get_untracked() {
            reject.set(a);
        }
    };
    let set_reject = move |r: f64| {
        reject.set(r);
        if r < approve.get_untracked() {
            approve.set(r);
        }
    };
    let suggestion = move || sim.get().and_then(Result::ok).and_then(|s| s.suggestion);
    let confirming = RwSignal::new(false);
    let restricted = band.rule == "restricted";
    let slice = format!("{market} · {}", format::category(&category));
    let (apply_market, apply_category) = (market.clone(), category.clone());
    let confirm_text = {
        let slice = slice.clone();
        move || {
            format!(
                "Apply approve below {:.2} and reject at {:.2} to {slice}? This creates a new thresholds version, used for ads decided from now on, and records it in the audit log.",
                approve.get(),
                reject.get()
            )
        }
    };
    view! {
        <section class="card sim-controls" data-testid="sim-controls">
            <h2>{format!("{slice} — in force: approve below {:.2}, reject at {:.2} ({})", band.approve_below, band.reject_at, band.rule)}</h2>
            {restricted.then(|| view! {
                <p class="alert alert-warn">{format!("{} is restricted in {market}: it never auto-rejects, so the reject threshold has no effect; every ad scoring at or above approve-below goes to a reviewer.", format::category(&category))}</p>
            })}
            <div class="sim-sliders">
                <div class="slider">
                    <label for="sim-approve">"Approve below"</label>
                    <input id="sim-approve" type="range" min="0" max="1" step="0.01" data-testid="sim-approve-range"
                        prop:value=move || format!("{:.2}", approve.get())
                        on:input=move |ev| if let Some(a) = threshold(&event_target_value(&ev)) { set_approve(a) }/>
                    <input type="number" min="0" max="1" step="0.01" aria-label="Approve below" data-testid="sim-approve"
                        prop:value=move || format!("{:.2}", approve.get())
                        on:change=move |ev| if let Some(a) = threshold(&event_target_value(&ev)) { set_approve(a) }/>
                </div>
                <div class="slider">
                    <label for="sim-reject">"Reject at"</label>
                    <input id="sim-reject" type="range" min="0" max="1" step="0.01" data-testid="sim-reject-range"
                        prop:value=move || format!("{:.2}", reject.get())
                        on:input=move |ev| if let Some(r) = threshold(&event_target_value(&ev)) { set_reject(r) }/>
                    <input type="number" min="0" max="1" step="0.01" aria-label="Reject at" data-testid="sim-reject"
                        prop:value=move || format!("{:.2}", reject.get())
                        on:change=move |ev| if let Some(r) = threshold(&event_target_value(&ev)) { set_reject(r) }/>
                </div>
            </div>
            <p class="hint">"Scores below approve-below count as absent; at or above reject-at the ad is rejected automatically; in between a reviewer decides."</p>
            <div class="actions">
                <button type="button" class="btn" data-testid="sim-suggest"
                    disabled=move || suggestion().is_none()
                    title="The cheapest pair (in steps of 0.05) that keeps the review volume within capacity"
                    on:click=move |_| {
                        if let Some(s) = suggestion() {
                            approve.set(s.approve_below);
                            reject.set(s.reject_at);
                            asked.set((s.approve_below, s.reject_at));
                        }
                    }>
                    "Suggest"
                </button>
                <button type="button" class="btn btn-ghost" on:click=move |_| {
                    approve.set(band.approve_below);
                    reject.set(band.reject_at);
                }>"Back to the thresholds in force"</button>
                {band.can_apply.then(|| view! {
                    <button type="button" class="btn btn-primary" data-testid="sim-apply" on:click=move |_| confirming.set(true)
                        disabled=move || apply.pending().get()>
                        "Apply…"
                    </button>
                })}
            </div>
            {(!band.can_apply).then(|| view! { <p class="muted small" data-testid="sim-readonly">"Only ops heads and admins apply thresholds; you can try values here."</p> })}
            <Show when=move || confirming.get()>
                <div class="alert alert-warn confirm" role="alertdialog" aria-label="Confirm new thresholds" data-testid="sim-confirm">
                    <p>{confirm_text.clone()}</p>
                    <div class="actions">
                        <button type="button" class="btn btn-primary" data-testid="sim-apply-confirm" on:click={
                            let (m, c) = (apply_market.clone(), apply_category.clone());
                            move |_| {
                                confirming.set(false);
                                apply.dispatch(ApplyThresholds {
                                    market: m.clone(),
                                    category: c.clone(),
                                    approve_below: approve.get_untracked(),
                                    reject_at: reject.get_untracked(),
                                });
                            }
                        }>"Apply as a new version"</button>
                        <button type="button" class="btn btn-ghost" on:click=move |_| confirming.set(false)>"Cancel"</button>
                    </div>
                </div>
            </Show>
            {move || apply.value().get().map(|r| match r {
                Ok(v) => view! {
                    <div class="alert alert-ok" role="status" data-testid="sim-applied">
                        {format!("Saved as thresholds version {v} — see the ")}
                        <a href="/admin/audit">"audit log"</a>
                        " or the "
                        <a href="/thresholds">"thresholds page"</a>
                        "."
                    </div>
                }.into_any(),
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            })}
        </section>
        <Transition fallback=|| view! { <p class="muted">"Projecting…"</p> }>
            {move || sim.get().map(|r| match r {
                Err(e) => view! { <DashError error=e/> }.into_any(),
                Ok(s) => view! { <Projections sim=s/> }.into_any(),
            })}
        </Transition>
    }
}

/// Current, proposed and suggested projections side by side, and how they were made.
#[component]
fn Projections(sim: Simulation) -> impl IntoView {
    let capacity = sim.capacity_per_day;
    let columns: Vec<(&'static str, Projection)> = [("In force", Some(sim.current.clone())), ("Proposed", Some(sim.proposed.clone())), ("Suggested", sim.suggestion.clone())]
        .into_iter()
        .filter_map(|(n, p)| p.map(|p| (n, p)))
        .collect();
    type Row = (&'static str, fn(&Projection, f64) -> String);
    let rows: [Row; 8] = [
        ("Automation rate (market)", |p, _| format::pct(p.automation_rate)),
        ("Reviews per day (market)", |p, cap| format!("{} of {}", format::int(p.review_per_day), format::int(cap))),
        ("Auto-reject precision", |p, _| format::pct(p.precision)),
        ("Auto-reject recall", |p, _| format::pct(p.recall)),
        ("Reviewer cost per day", |p, _| format::money(p.review_cost_per_day)),
        ("Wrongly rejected spend per day", |p, _| format::money(p.false_positive_cost_per_day)),
        ("Harm let through per day", |p, _| format::money(p.false_negative_cost_per_day)),
        ("Cost per day", |p, _| format::money(p.cost_per_day)),
    ];
    let body = rows
        .iter()
        .enumerate()
        .map(|(i, (label, value))| {
            let cells = columns
                .iter()
                .map(|(_, p)| {
                    let over = i == 1 && p.review_per_day > capacity;
                    view! {
                        <td class=if over { "num over-capacity" } else { "num" }>
                            {value(p, capacity)}
                            {over.then(|| view! { <div class="small">"over capacity"</div> })}
                        </td>
                    }
                })
                .collect_view();
            view! { <tr class=if i == 7 { "total-row" } else { "" }><th scope="row">{*label}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <section class="card" data-testid="sim-result">
            <h2>"Projection"</h2>
            <table class="table sim-table">
                <thead>
                    <tr>
                        <th scope="col">"Per day, from the last 28 days"</th>
                        {columns.iter().map(|(n, p)| view! {
                            <th scope="col" class="num">{*n}<div class="muted small">{format!("{:.2} / {:.2}", p.approve_below, p.reject_at)}</div></th>
                        }).collect_view()}
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
            {sim.suggestion.is_none().then(|| view! {
                <p class="alert alert-warn">"No pair of thresholds keeps the review volume within this market's capacity; raise the capacity on the cost page or accept a backlog."</p>
            })}
            <p class="hint">"Thresholds as approve below / reject at. Suggested: the cheapest pair, in steps of 0.05, whose review volume fits the capacity."</p>
            <h3>"How this is projected"</h3>
            <p data-testid="sim-explanation">{sim.explanation.clone()}</p>
            <p class="muted small">
                {format!(
                    "History {} – {} ({:.0} days): {} decisions in {}, {} weighted human verdicts for {}.",
                    sim.history_from, sim.history_to, sim.history_days, format::int(sim.decided), sim.market,
                    format::int(sim.labelled), format::category(&sim.category)
                )}
            </p>
        </section>
    }
}
