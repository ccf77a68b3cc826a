//! `/thresholds`: ops heads see and edit thresholds per market × category and the market
//! policy matrix. Every change is versioned and audited.

use crate::components::time::in_viewer_zone;
use crate::components::{ErrorNote, Guarded, When};
use crate::{
    api::thresholds::GridCell, api::thresholds::UpdateCell, api::thresholds::get_thresholds,
};
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;

/// The thresholds page.
#[component]
pub fn ThresholdsPage() -> impl IntoView {
    view! {
        <Title text="Thresholds & policy"/>
        <Guarded area=Area::Thresholds>
            <ThresholdsEditor/>
        </Guarded>
    }
}

fn rule_letter(rule: &str) -> &'static str {
    match rule {
        "prohibited" => "P",
        "restricted" => "R",
        _ => "A",
    }
}

#[component]
fn ThresholdsEditor() -> impl IntoView {
    let update = ServerAction::<UpdateCell>::new();
    let grid = Resource::new(move || update.version().get(), |_| get_thresholds());
    let selected = RwSignal::new(None::<GridCell>);
    view! {
        <header class="page-header">
            <h1>"Thresholds & policy"</h1>
            <p class="muted">
                "Per market and category: below "<b>"approve"</b>" the category counts as absent; at or above "
                <b>"reject"</b>" a prohibited category is rejected; in between a reviewer decides. "
                "Restricted categories always go to a reviewer once detected; allowed ones never block."
            </p>
        </header>
        {move || update.value().get().map(|r| match r {
            Ok(v) => view! { <div class="alert alert-ok" role="status" data-testid="threshold-saved">{format!("Saved. Thresholds are now version {v}.")}</div> }.into_any(),
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || grid.get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(g) => {
                    let cells = g.cells.clone();
                    let cell = move |m: Market, c: Category| cells.iter().find(|x| x.market == m && x.category == c).cloned();
                    view! {
                        <section class="card">
                            <h2>{format!("In force: thresholds version {}", g.version)}</h2>
                            <div class="table-scroll">
                            <table class="table grid" data-testid="threshold-grid">
                                <thead><tr>
                                    <th>"Market"</th>
                                    {Category::ALL.map(|c| view! { <th>{c.as_str().replace('_', " ")}</th> }).collect_view()}
                                </tr></thead>
                                <tbody>
                                    {Market::ALL.map(|m| {
                                        let cell = cell.clone();
                                        view! {
                                            <tr>
                                                <th>{m.code()}</th>
                                                {Category::ALL.map(|c| {
                                                    let x = cell(m, c);
                                                    match x {
                                                        Some(x) => {
                                                            let label = format!("{} {:.2}–{:.2}", rule_letter(&x.rule), x.approve_below, x.reject_at);
                                                            let class = format!("cell rule-{}", x.rule);
                                                            let testid = format!("cell-{}-{}", m.code(), c.as_str());
                                                            view! {
                                                                <td>
                                                                    <button class=class data-testid=testid title=format!("{} {}: {}", m.code(), c.as_str(), x.rule) on:click=move |_| selected.set(Some(x.clone()))>
                                                                        {label}
                                                                    </button>
                                                                </td>
                                                            }.into_any()
                                                        }
                                                        None => view! { <td>"—"</td> }.into_any(),
                                                    }
                                                }).collect_view()}
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                            <p class="hint">"P prohibited · R restricted · A allowed; the numbers are approve below – reject at. Click a cell to change it."</p>
                        </section>
                        <section class="card">
                            <h2>"Recent versions"</h2>
                            <table class="table">
                                <thead><tr><th>"Version"</th><th>{in_viewer_zone("When")}</th><th>"Who"</th><th>"Change"</th></tr></thead>
                                <tbody>
                                    {g.history.into_iter().map(|(v, at, who, note)| view! {
                                        <tr><td>{v}</td><td><When at/></td><td>{who}</td><td>{note}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                    }.into_any()
                }
            })}
        </Transition>
        <SlaEditor/>
        <ReasonEditor/>
        {move || selected.get().map(|cell| view! { <CellEditor cell update selected/> })}
    }
}

#[component]
fn CellEditor(
    cell: GridCell,
    update: ServerAction<UpdateCell>,
    selected: RwSignal<Option<GridCell>>,
) -> impl IntoView {
    let approve = RwSignal::new(format!("{:.2}", cell.approve_below));
    let reject = RwSignal::new(format!("{:.2}", cell.reject_at));
    let rule = RwSignal::new(cell.rule.clone());
    let (market, category) = (cell.market, cell.category);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        update.dispatch(UpdateCell {
            market: market.code().to_string(),
            category: category.as_str().to_string(),
            approve_below: approve.get().trim().parse().unwrap_or(-1.0),
            reject_at: reject.get().trim().parse().unwrap_or(-1.0),
            rule: rule.get(),
        });
        selected.set(None);
    };
    view! {
        <section class="card editor" data-testid="cell-editor">
            <h2>{format!("{} · {}", market.name(), category.as_str())}</h2>
            <form class="form form-grid" on:submit=save>
                <div class="field">
                    <label for="approve-below">"Approve below"</label>
                    <input id="approve-below" type="text" inputmode="decimal" prop:value=approve on:input=move |ev| approve.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="reject-at">"Reject at"</label>
                    <input id="reject-at" type="text" inputmode="decimal" prop:value=reject on:input=move |ev| reject.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="rule">"Policy"</label>
                    <select id="rule" prop:value=rule on:change=move |ev| rule.set(event_target_value(&ev))>
                        <option value="prohibited">"Prohibited"</option>
                        <option value="restricted">"Restricted (always reviewed)"</option>
                        <option value="allowed">"Allowed"</option>
                    </select>
                </div>
                <div class="field field-wide actions">
                    <button type="submit" class="btn btn-primary" data-testid="save-cell">"Save as new version"</button>
                    <button type="button" class="btn btn-ghost" on:click=move |_| selected.set(None)>"Cancel"</button>
                </div>
            </form>
        </section>
    }
}

/// Per-market review SLA: how long from submission to a final human decision.
#[component]
fn SlaEditor() -> impl IntoView {
    let save = ServerAction::<crate::api::review::SetSla>::new();
    let sla = Resource::new(
        move || save.version().get(),
        |_| crate::api::review::get_sla(),
    );
    view! {
        <section class="card" data-testid="sla-editor">
            <h2>"Review SLA per market"</h2>
            <p class="muted">"Hours from submission (or appeal, or escalation) to a final human decision. Queues hand out items in order of this due time; changes apply to items queued from now on and are audited."</p>
            {move || save.value().get().map(|r| match r {
                Ok(()) => view! { <div class="alert alert-ok" role="status" data-testid="sla-saved">"SLA saved."</div> }.into_any(),
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || sla.get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(rows) => view! {
                        <div class="sla-grid">
                            {rows.into_iter().map(|(market, hours)| {
                                let value = RwSignal::new(format!("{hours}"));
                                let m = market.clone();
                                view! {
                                    <form class="sla-cell" on:submit=move |ev| {
                                        ev.prevent_default();
                                        save.dispatch(crate::api::review::SetSla { market: m.clone(), hours: value.get().trim().parse().unwrap_or(-1.0) });
                                    }>
                                        <label for=format!("sla-{market}")>{market.clone()}</label>
                                        <input id=format!("sla-{market}") type="text" inputmode="decimal" size="4" prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/>
                                        <span class="muted small">"h"</span>
                                        <button class="btn btn-small" type="submit">"Save"</button>
                                    </form>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The managed list of reasons reviewers give when they overrule the machine.
#[component]
fn ReasonEditor() -> impl IntoView {
    let save = ServerAction::<crate::api::review::SaveReasonCode>::new();
    let reasons = Resource::new(
        move || save.version().get(),
        |_| crate::api::review::list_all_reason_codes(),
    );
    let code = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    view! {
        <section class="card" data-testid="reason-editor">
            <h2>"Override reasons"</h2>
            <p class="muted">"The list reviewers pick from when they overrule the machine. Retired reasons stay on past reviews but can no longer be chosen."</p>
            {move || save.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || reasons.get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(rows) => view! {
                        <table class="table compact">
                            <thead><tr><th>"Code"</th><th>"Label"</th><th>"Status"</th><th></th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|(c, l, active)| {
                                    let (c2, l2) = (c.clone(), l.clone());
                                    view! {
                                        <tr data-reason=c.clone()>
                                            <td><code>{c.clone()}</code></td>
                                            <td>{l.clone()}</td>
                                            <td>{if active { "in use" } else { "retired" }}</td>
                                            <td><button class="btn btn-small" on:click=move |_| {
                                                save.dispatch(crate::api::review::SaveReasonCode { code: c2.clone(), label: l2.clone(), active: !active });
                                            }>{if active { "Retire" } else { "Restore" }}</button></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Transition>
            <form class="toolbar" on:submit=move |ev| {
                ev.prevent_default();
                save.dispatch(crate::api::review::SaveReasonCode { code: code.get(), label: label.get(), active: true });
            }>
                <label for="reason-code">"New code"</label>
                <input id="reason-code" type="text" placeholder="counterfeit_brand" prop:value=code on:input=move |ev| code.set(event_target_value(&ev))/>
                <label for="reason-label">"Label"</label>
                <input id="reason-label" type="text" placeholder="Uses a brand it does not own" prop:value=label on:input=move |ev| label.set(event_target_value(&ev))/>
                <button class="btn btn-primary" type="submit">"Add reason"</button>
            </form>
        </section>
    }
}
