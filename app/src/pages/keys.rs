//! `/admin/keys`: API keys for ingest systems and KPI readers. Admins create them (the
//! secret is shown once) and revoke them.

use crate::api::keys::{CreateApiKey, RevokeApiKey, list_api_keys};
use crate::components::time::in_viewer_zone;
use crate::components::{ErrorNote, Guarded, When};
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;

/// The API keys page.
#[component]
pub fn KeysPage() -> impl IntoView {
    view! {
        <Title text="API keys"/>
        <Guarded area=Area::ApiKeys>
            <Keys/>
        </Guarded>
    }
}

#[component]
fn Keys() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_keys(),
    );
    let name = RwSignal::new(String::new());
    let scope = RwSignal::new("ingest".to_string());
    view! {
        <header class="page-header">
            <h1>"API keys"</h1>
            <p class="muted">"Ingest keys submit ads, read their status and file appeals; KPI keys read dashboards and reports. A key's secret is shown once, when it is created; only its hash is stored."</p>
        </header>
        <section class="card">
            <h2>"New key"</h2>
            <form class="form form-grid" data-testid="new-key-form" on:submit=move |ev| {
                ev.prevent_default();
                create.dispatch(CreateApiKey { name: name.get(), scope: scope.get() });
            }>
                <div class="field">
                    <label for="key-name">"Name"</label>
                    <input id="key-name" type="text" maxlength="100" placeholder="e.g. EU ad server" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="key-scope">"Scope"</label>
                    <select id="key-scope" prop:value=scope on:change=move |ev| scope.set(event_target_value(&ev))>
                        <option value="ingest">"ingest — submit ads, read status, appeal"</option>
                        <option value="kpis">"kpis — read KPIs and reports"</option>
                        <option value="rules">"rules — manage rules, read the radar"</option>
                    </select>
                </div>
                <div class="field field-wide actions">
                    <button class="btn btn-primary" type="submit" data-testid="create-key">"Create key"</button>
                </div>
            </form>
            {move || create.value().get().map(|r| match r {
                Ok(k) => view! {
                    <div class="alert alert-ok" role="status" data-testid="new-key">
                        <p>{format!("Key “{}” ({}) created. Copy the secret now: it will not be shown again.", k.name, k.scope)}</p>
                        <p><code data-testid="new-key-secret">{k.secret}</code></p>
                    </div>
                }.into_any(),
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            })}
        </section>
        {move || revoke.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
        <section class="card">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || keys.get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! { <p class="muted">"No API keys yet."</p> }.into_any(),
                    Ok(rows) => view! {
                        <table class="table" data-testid="keys-table">
                            <thead><tr><th>"Name"</th><th>"Scope"</th><th>"Starts with"</th><th>{in_viewer_zone("Created")}</th><th>"By"</th><th>"Status"</th><th></th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|k| {
                                    let id = k.id;
                                    let live = k.revoked.is_none();
                                    view! {
                                        <tr data-key=k.name.clone()>
                                            <td>{k.name.clone()}</td>
                                            <td>{k.scope.clone()}</td>
                                            <td><code>{format!("{}…", k.prefix)}</code></td>
                                            <td><When at=k.created.clone()/></td>
                                            <td>{k.created_by.clone()}</td>
                                            <td>{match &k.revoked {
                                                None => view! { <span class="badge badge-ok">"live"</span> }.into_any(),
                                                Some(at) => view! { <span class="badge badge-muted">"revoked "<When at=at.clone()/></span> }.into_any(),
                                            }}</td>
                                            <td>{live.then(|| view! {
                                                <button class="btn btn-small" data-testid=format!("revoke-{id}") on:click=move |_| { revoke.dispatch(RevokeApiKey { id }); }>"Revoke"</button>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
