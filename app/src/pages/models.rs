//! `/models`: the model registry. Every version with its role, the markets it is champion of,
//! its card's held-out figures and checksum; and which version was champion in each market at
//! any past instant, with the role changes that led there.

use crate::api::models::{ModelHistoryView, get_model_history, list_models};
use crate::components::{ErrorNote, Guarded};
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;

/// The Models page.
#[component]
pub fn ModelsPage() -> impl IntoView {
    view! {
        <Title text="Models"/>
        <Guarded area=Area::Models>
            <Models/>
        </Guarded>
    }
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:.4}"))
}

#[component]
fn Models() -> impl IntoView {
    let versions = Resource::new(|| (), |_| list_models());
    let at = RwSignal::new(String::new());
    let asked = RwSignal::new(String::new());
    let history = Resource::new(move || asked.get(), get_model_history);
    view! {
        <header class="page-header">
            <h1>"Models"</h1>
            <p class="muted">"Every model version the servers on this database can run, with the bytes' checksum and the card's figures on held-out data; and which version decided in which market at any past instant."</p>
        </header>
        <section class="card" data-testid="model-versions">
            <h2>"Versions"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || versions.get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No version registered yet: a server registers the model it runs when it starts, and "<code>"amso model import"</code>" adds one."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="table">
                            <thead><tr>
                                <th scope="col">"Version"</th><th scope="col">"Role"</th><th scope="col">"Champion in"</th>
                                <th scope="col" class="num">"ROC-AUC"</th><th scope="col" class="num">"PR-AUC"</th><th scope="col" class="num">"F1"</th>
                                <th scope="col">"Trained on"</th><th scope="col">"Registered"</th><th scope="col">"sha-256"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|v| {
                                    let markets = if v.champion_of.len() >= 10 { "every market".to_string() } else { v.champion_of.join(", ") };
                                    view! {
                                        <tr data-testid="model-row">
                                            <th scope="row" class="mono">{v.version.clone()}</th>
                                            <td><span class=format!("badge role-{}", v.role) data-testid="model-role">{if v.role.is_empty() { "–".to_string() } else { v.role.clone() }}</span></td>
                                            <td data-testid="model-champion-of">{markets}</td>
                                            <td class="num">{figure(v.roc_auc)}</td>
                                            <td class="num">{figure(v.pr_auc)}</td>
                                            <td class="num">{figure(v.f1)}</td>
                                            <td class="small">{v.data_source.clone().unwrap_or_else(|| "no card".into())}{v.heldout_rows.map(|n| format!(" · {n} held out"))}</td>
                                            <td class="small">{format!("{} by {} ({})", v.created_at, v.created_by, v.source)}</td>
                                            <td class="mono small" title=v.sha256.clone()>{v.sha256.chars().take(12).collect::<String>()}"…"</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <p class="hint">"Figures are macro averages over the categories on the card's held-out split. Import a model with "<code>"amso model import DIR"</code>"; export one with "<code>"amso model export VERSION --out DIR"</code>"."</p>
                    }.into_any(),
                })}
            </Transition>
        </section>
        <section class="card" data-testid="model-history">
            <h2>"Which version decided, when"</h2>
            <form class="inline" on:submit=move |ev| { ev.prevent_default(); asked.set(at.get_untracked()); }>
                <label for="model-at">"Instant (UTC)"</label>
                <input id="model-at" data-testid="model-at" placeholder="2026-11-20T10:00Z (empty: now)" maxlength="64"
                    prop:value=move || at.get() on:input=move |ev| at.set(event_target_value(&ev))/>
                <button class="btn" type="submit" data-testid="model-at-go">"Show"</button>
            </form>
            <Transition fallback=|| ()>
                {move || history.get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(h) => view! { <History h/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn History(h: ModelHistoryView) -> impl IntoView {
    view! {
        <p data-testid="model-history-at">{format!("At {}:", h.at)}</p>
        {if h.champions.is_empty() {
            view! { <p class="muted" data-testid="model-history-none">"No version was champion anywhere then."</p> }.into_any()
        } else {
            view! {
                <table class="table compact">
                    <thead><tr><th scope="col">"Market"</th><th scope="col">"Champion"</th></tr></thead>
                    <tbody>
                        {h.champions.into_iter().map(|(m, v)| view! {
                            <tr data-testid=format!("champion-{m}")><th scope="row">{m.clone()}</th><td class="mono">{v}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        <h3>"Role changes up to then"</h3>
        <ul class="timeline">
            {h.events.into_iter().map(|e| view! {
                <li>
                    <span class="small muted">{e.at.clone()}</span>" "
                    <span class="mono">{e.version.clone()}</span>
                    {format!(" became {}{} ({})", e.role, if e.market.is_empty() { " in every market".to_string() } else { format!(" in {}", e.market) }, e.actor)}
                    {(!e.note.is_empty()).then(|| view! { <span class="muted">{format!(" — {}", e.note)}</span> })}
                </li>
            }).collect_view()}
        </ul>
    }
}
