//! `/admin/audit`: the append-only record of human actions and settings changes.

use crate::api::audit::list_audit;
use crate::components::time::in_viewer_zone;
use crate::components::{ErrorNote, Guarded, When};
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;

/// The audit log page.
#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <Title text="Audit log"/>
        <Guarded area=Area::Audit>
            <AuditLog/>
        </Guarded>
    }
}

#[component]
fn AuditLog() -> impl IntoView {
    let prefix = RwSignal::new(String::new());
    let q = RwSignal::new(String::new());
    let entries = Resource::new(
        move || (prefix.get(), q.get()),
        |(p, q)| list_audit(p, q, 200),
    );
    let export = move || {
        format!(
            "/admin/audit.csv?prefix={}&q={}",
            crate::pages::ads::urlencode(&prefix.get()),
            crate::pages::ads::urlencode(&q.get())
        )
    };
    view! {
        <header class="page-header">
            <h1>"Audit log"</h1>
            <p class="muted">
                "Every login, user change and settings change, newest first. The database refuses edits and deletions."
            </p>
        </header>
        <section class="card">
            <div class="toolbar">
                <label for="audit-prefix">"Action starts with"</label>
                <select
                    id="audit-prefix"
                    on:change=move |ev| prefix.set(event_target_value(&ev))
                >
                    <option value="">"Any action"</option>
                    <option value="auth.">"Logins and logouts (auth.)"</option>
                    <option value="user.">"User changes (user.)"</option>
                    <option value="thresholds.">"Threshold changes (thresholds.)"</option>
                    <option value="policy.">"Policy changes (policy.)"</option>
                    <option value="apikey.">"API keys (apikey.)"</option>
                    <option value="review.">"Reviews, overrides, escalations, skips (review.)"</option>
                    <option value="appeal.">"Appeals (appeal.)"</option>
                    <option value="settings.">"Settings (settings.)"</option>
                </select>
                <label for="audit-q">"Actor or object contains"</label>
                <input id="audit-q" type="search" placeholder="ad:42, someone@example.com" data-testid="audit-q"
                    prop:value=move || q.get() on:change=move |ev| q.set(event_target_value(&ev))/>
                <a class="btn" href=export data-testid="audit-csv" rel="external" download>"Export CSV"</a>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    entries
                        .get()
                        .map(|result| match result {
                            Ok(rows) if rows.is_empty() => {
                                view! { <p class="muted">"No entries match."</p> }.into_any()
                            }
                            Ok(rows) => {
                                view! {
                                    <table class="table" data-testid="audit-table">
                                        <thead>
                                            <tr>
                                                <th>{in_viewer_zone("Time")}</th>
                                                <th>"Actor"</th>
                                                <th>"Action"</th>
                                                <th>"Object"</th>
                                                <th>"Change"</th>
                                                <th>"IP"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {rows
                                                .into_iter()
                                                .map(|r| {
                                                    view! {
                                                        <tr>
                                                            <td><When at=r.at/></td>
                                                            <td>{r.actor}</td>
                                                            <td><code>{r.action}</code></td>
                                                            <td>{r.object}</td>
                                                            <td class="change">{r.change}</td>
                                                            <td>{r.ip.unwrap_or_default()}</td>
                                                        </tr>
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                }
                                    .into_any()
                            }
                            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}
