//! `/dashboards/simulator`: move a market × category's approve and reject thresholds and
//! see what the audit-weighted history says they would do — automation, review volume
//! against capacity, precision, recall and cost — next to the thresholds in force; take
//! the cheapest pair within capacity, and (ops heads, admins) apply it as a new version.

use super::{DashError, DashHeader, use_set_query};
use crate::api::dashboards::{
    ApplyThresholds, BandInForce, get_band_in_force, simulate_thresholds,
};
use crate::components::format;
use crate::components::{ErrorNote, Guarded};
use amso_core::dashboard::view::{Projection, Simulation};
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use amso_core::vocab::role::Area;
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
            <div class="dash"><Simulator/></div>
        </Guarded>
    }
}

/// A market and category, as the URL names them.
type Slice = (String, String);

#[component]
fn Simulator() -> impl IntoView {
    let query = use_query_map();
    let slice = Memo::new(move |_| {
        let q = query.read();
        (
            q.get("market")
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "US".into()),
            q.get("category")
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "scam".into()),
        )
    });
    let set = use_set_query();
    let set_category = set.clone();
    let apply = ServerAction::<ApplyThresholds>::new();
    // The thresholds being tried, for the slice they were tried on (none: those in force).
    let proposed = RwSignal::new(None::<(Slice, (f64, f64))>);
    // The same, once the sliders have rested for 250 ms: what the projection is asked for.
    let asked = RwSignal::new(None::<(Slice, (f64, f64))>);
    let timer = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |_| {
        let p = proposed.get();
        if let Some(t) = timer.get_value() {
            t.clear();
        }
        let t = set_timeout_with_handle(move || asked.set(p), Duration::from_millis(250)).ok();
        timer.set_value(t);
    });
    let for_slice = move |p: Option<(Slice, (f64, f64))>| {
        p.filter(|(s, _)| *s == slice.get()).map(|(_, pair)| pair)
    };
    let band = Resource::new(
        move || (slice.get(), apply.version().get()),
        |((m, c), _)| get_band_in_force(m, c),
    );
    let sim = Resource::new(
        move || (slice.get(), for_slice(asked.get()), apply.version().get()),
        |((m, c), pair, _)| simulate_thresholds(m, c, pair.map(|p| p.0), pair.map(|p| p.1)),
    );
    let propose = move |pair: (f64, f64)| proposed.set(Some((slice.get_untracked(), pair)));
    let confirming = RwSignal::new(false);
    let tried = move || for_slice(proposed.get());
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
        <section class="card sim-controls" data-testid="sim-controls">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || band.get().map(|r| match r {
                    Err(e) => view! { <DashError error=e/> }.into_any(),
                    Ok(b) => {
                        let (market, category) = slice.get_untracked();
                        view! { <Sliders market category band=b tried=Signal::derive(tried) propose=Callback::new(propose)/> }.into_any()
                    }
                })}
            </Transition>
            <div class="actions">
                <Transition fallback=|| view! { <button type="button" class="btn" disabled=true>"Suggest"</button> }>
                    {move || {
                        let suggestion = sim.get().and_then(Result::ok).and_then(|s| s.suggestion);
                        let title = match &suggestion {
                            Some(s) => format!("Approve below {:.2}, reject at {:.2}: the cheapest pair (in steps of 0.05) that keeps the review volume within capacity", s.approve_below, s.reject_at),
                            None => "No pair of thresholds keeps the review volume within capacity".to_string(),
                        };
                        view! {
                            <button type="button" class="btn" data-testid="sim-suggest" disabled=suggestion.is_none() title=title
                                on:click=move |_| {
                                    if let Some(s) = &suggestion {
                                        propose((s.approve_below, s.reject_at));
                                    }
                                }>
                                "Suggest"
                            </button>
                        }
                    }}
                </Transition>
                <button type="button" class="btn btn-ghost" data-testid="sim-reset" on:click=move |_| proposed.set(None)>
                    "Back to the thresholds in force"
                </button>
                <Transition fallback=|| ()>
                    {move || band.get().and_then(Result::ok).map(|b| if b.can_apply {
                        view! {
                            <button type="button" class="btn btn-primary" data-testid="sim-apply" on:click=move |_| confirming.set(true)
                                disabled=move || apply.pending().get()>
                                "Apply…"
                            </button>
                        }.into_any()
                    } else {
                        view! { <p class="muted small" data-testid="sim-readonly">"Only ops heads apply thresholds; you can try values here."</p> }.into_any()
                    })}
                </Transition>
            </div>
            <Show when=move || confirming.get()>
                {move || {
                    let (market, category) = slice.get_untracked();
                    let pair = tried().or_else(|| {
                        band.get_untracked().and_then(Result::ok).map(|b| (b.approve_below, b.reject_at))
                    });
                    pair.map(|(a, r)| view! {
                        <div class="alert alert-warn confirm" role="alertdialog" aria-label="Confirm new thresholds" data-testid="sim-confirm">
                            <p>{format!(
                                "Apply approve below {a:.2} and reject at {r:.2} to {market} · {}? This creates a new thresholds version, used for ads decided from now on, and records it in the audit log.",
                                format::category(&category)
                            )}</p>
                            <div class="actions">
                                <button type="button" class="btn btn-primary" data-testid="sim-apply-confirm" on:click={
                                    let (market, category) = (market.clone(), category.clone());
                                    move |_| {
                                        confirming.set(false);
                                        apply.dispatch(ApplyThresholds {
                                            market: market.clone(),
                                            category: category.clone(),
                                            approve_below: a,
                                            reject_at: r,
                                        });
                                    }
                                }>"Confirm and apply"</button>
                                <button type="button" class="btn btn-ghost" on:click=move |_| confirming.set(false)>"Cancel"</button>
                            </div>
                        </div>
                    })
                }}
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

/// A threshold typed or slid: a number in [0, 1], to two decimals.
fn threshold(text: &str) -> Option<f64> {
    let x: f64 = text.trim().parse().ok()?;
    x.is_finite()
        .then(|| (x.clamp(0.0, 1.0) * 100.0).round() / 100.0)
}

/// The two thresholds as sliders and number fields. They show `tried`, else the band in
/// force, and send every move to `propose` keeping approve-below ≤ reject-at.
#[component]
fn Sliders(
    market: String,
    category: String,
    band: BandInForce,
    tried: Signal<Option<(f64, f64)>>,
    propose: Callback<(f64, f64)>,
) -> impl IntoView {
    let in_force = (band.approve_below, band.reject_at);
    let pair = move || tried.get().unwrap_or(in_force);
    let set_approve = move |a: f64| {
        let (_, r) = pair();
        propose.run((a, r.max(a)));
    };
    let set_reject = move |r: f64| {
        let (a, _) = pair();
        propose.run((a.min(r), r));
    };
    let restricted = band.rule == "restricted";
    view! {
        <h2>{format!(
            "{market} · {} — in force: approve below {:.2}, reject at {:.2} ({})",
            format::category(&category), band.approve_below, band.reject_at, band.rule
        )}</h2>
        {restricted.then(|| view! {
            <p class="alert alert-warn">{format!(
                "In {market}, {} is restricted: it never auto-rejects, so the reject threshold has no effect; every ad scoring at or above approve-below goes to a reviewer.",
                format::category(&category)
            )}</p>
        })}
        <div class="sim-sliders">
            <div class="slider">
                <label for="sim-approve">"Approve below"</label>
                <input id="sim-approve" type="range" min="0" max="1" step="0.01" data-testid="sim-approve-range"
                    value=format!("{:.2}", in_force.0)
                    prop:value=move || format!("{:.2}", pair().0)
                    on:input=move |ev| if let Some(a) = threshold(&event_target_value(&ev)) { set_approve(a) }/>
                <input type="number" min="0" max="1" step="0.01" aria-label="Approve below" data-testid="sim-approve"
                    value=format!("{:.2}", in_force.0)
                    prop:value=move || format!("{:.2}", pair().0)
                    on:change=move |ev| if let Some(a) = threshold(&event_target_value(&ev)) { set_approve(a) }/>
            </div>
            <div class="slider">
                <label for="sim-reject">"Reject at"</label>
                <input id="sim-reject" type="range" min="0" max="1" step="0.01" data-testid="sim-reject-range"
                    value=format!("{:.2}", in_force.1)
                    prop:value=move || format!("{:.2}", pair().1)
                    on:input=move |ev| if let Some(r) = threshold(&event_target_value(&ev)) { set_reject(r) }/>
                <input type="number" min="0" max="1" step="0.01" aria-label="Reject at" data-testid="sim-reject"
                    value=format!("{:.2}", in_force.1)
                    prop:value=move || format!("{:.2}", pair().1)
                    on:change=move |ev| if let Some(r) = threshold(&event_target_value(&ev)) { set_reject(r) }/>
            </div>
        </div>
        <p class="hint">"Scores below approve-below count as absent; at or above reject-at the ad is rejected automatically; in between a reviewer decides."</p>
    }
}

/// Current, proposed and suggested projections side by side, and how they were made.
#[component]
fn Projections(sim: Simulation) -> impl IntoView {
    let capacity = sim.capacity_per_day;
    let columns: Vec<(&'static str, Projection)> = [
        ("In force", Some(sim.current.clone())),
        ("Proposed", Some(sim.proposed.clone())),
        ("Suggested", sim.suggestion.clone()),
    ]
    .into_iter()
    .filter_map(|(n, p)| p.map(|p| (n, p)))
    .collect();
    type Row = (&'static str, fn(&Projection, f64) -> String);
    let rows: [Row; 8] = [
        ("Automation rate (market)", |p, _| {
            format::pct(p.automation_rate)
        }),
        ("Reviews per day (market)", |p, cap| {
            format!("{} of {}", format::int(p.review_per_day), format::int(cap))
        }),
        ("Auto-reject precision", |p, _| format::pct(p.precision)),
        ("Auto-reject recall", |p, _| format::pct(p.recall)),
        ("Reviewer cost per day", |p, _| {
            format::money(p.review_cost_per_day)
        }),
        ("Wrongly rejected spend per day", |p, _| {
            format::money(p.false_positive_cost_per_day)
        }),
        ("Harm let through per day", |p, _| {
            format::money(p.false_negative_cost_per_day)
        }),
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
