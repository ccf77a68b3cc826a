//! `/admin/users`: administrators list, create and edit users.

use crate::components::nav::MARKET_ZONES;
use crate::components::time::in_viewer_zone;
use crate::components::{ErrorNote, Guarded, MarketPicker, RoleSelect, When, market_codes};
use crate::{api::users::CreateUser, api::users::UpdateUser, api::users::list_users};
use crate::{api::users::UserSummary, api::users::languages_label, api::users::markets_label};
use amso_core::vocab::market::Market;
use amso_core::vocab::role::{Area, Role};
use leptos::prelude::*;
use leptos_meta::Title;

/// The users page.
#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Title text="Users"/>
        <Guarded area=Area::Users>
            <UsersAdmin/>
        </Guarded>
    }
}

#[component]
fn UsersAdmin() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let users = Resource::new(
        move || (create.version().get(), update.version().get()),
        |_| list_users(),
    );
    view! {
        <header class="page-header">
            <h1>"Users"</h1>
            <p class="muted">
                "Roles decide what each person can open; reviewers work only the markets they carry."
            </p>
        </header>
        <NewUserForm create/>
        <section class="card">
            <h2>"All users"</h2>
            {move || {
                update.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })
            }}
            <Transition fallback=|| view! { <p class="muted">"Loading users…"</p> }>
                {move || {
                    users
                        .get()
                        .map(|result| match result {
                            Ok(list) => view! { <UserTable list update/> }.into_any(),
                            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn NewUserForm(create: ServerAction<CreateUser>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Reviewer);
    let markets = RwSignal::new(Vec::<Market>::new());
    let password = RwSignal::new(String::new());
    let time_zone = RwSignal::new(String::new());
    let languages = RwSignal::new(String::new());

    // Clear the form after a successful create.
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            email.set(String::new());
            display_name.set(String::new());
            password.set(String::new());
            markets.set(Vec::new());
            time_zone.set(String::new());
            languages.set(String::new());
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateUser {
            email: email.get(),
            display_name: display_name.get(),
            role: role.get().as_str().to_string(),
            markets: market_codes(&markets.get()),
            password: password.get(),
            time_zone: Some(time_zone.get()).filter(|z| !z.trim().is_empty()),
            languages: Some(languages.get()),
        });
    };

    view! {
        <section class="card">
            <h2>"Add a user"</h2>
            {move || {
                create
                    .value()
                    .get()
                    .map(|result| match result {
                        Ok(user) => {
                            view! {
                                <div class="alert alert-ok" role="status" data-testid="create-ok">
                                    {format!("Created {} ({}).", user.email, user.role.label())}
                                </div>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    })
            }}
            <form class="form form-grid" on:submit=submit data-testid="new-user-form">
                <div class="field">
                    <label for="new-email">"Email"</label>
                    <input
                        id="new-email"
                        type="email"
                        required
                        prop:value=email
                        on:input=move |ev| email.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="new-name">"Display name"</label>
                    <input
                        id="new-name"
                        type="text"
                        required
                        prop:value=display_name
                        on:input=move |ev| display_name.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="new-role">"Role"</label>
                    <RoleSelect selected=role id="new-role"/>
                </div>
                <div class="field">
                    <label for="new-password">"Initial password"</label>
                    <input
                        id="new-password"
                        type="password"
                        autocomplete="new-password"
                        minlength="10"
                        required
                        prop:value=password
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="new-zone">"Time zone"</label>
                    <input
                        id="new-zone"
                        type="text"
                        list="new-zone-list"
                        maxlength="64"
                        placeholder="UTC (the browser proposes one at first login)"
                        prop:value=time_zone
                        on:input=move |ev| time_zone.set(event_target_value(&ev))
                    />
                    <datalist id="new-zone-list">
                        {MARKET_ZONES.map(|z| view! { <option value=z></option> }).collect_view()}
                    </datalist>
                </div>
                <div class="field">
                    <label for="new-languages">"Languages they read"</label>
                    <input
                        id="new-languages"
                        type="text"
                        maxlength="200"
                        placeholder="ISO 639-1 codes, e.g. ja, en (empty: any)"
                        prop:value=languages
                        on:input=move |ev| languages.set(event_target_value(&ev))
                    />
                </div>
                <div class="field field-wide">
                    <MarketPicker selected=markets name="new-markets"/>
                    <p class="hint">
                        "Reviewers need at least one market. For other roles markets are informational."
                    </p>
                </div>
                <div class="field field-wide">
                    <button
                        type="submit"
                        class="btn btn-primary"
                        disabled=move || create.pending().get()
                        data-testid="create-user"
                    >
                        "Create user"
                    </button>
                </div>
            </form>
        </section>
    }
}

#[component]
fn UserTable(list: Vec<UserSummary>, update: ServerAction<UpdateUser>) -> impl IntoView {
    let editing = RwSignal::new(None::<i64>);
    view! {
        <table class="table" data-testid="users-table">
            <thead>
                <tr>
                    <th>"Email"</th>
                    <th>"Name"</th>
                    <th>"Role"</th>
                    <th>"Markets"</th>
                    <th>"Time zone · languages"</th>
                    <th>"Status"</th>
                    <th>{in_viewer_zone("Created")}</th>
                    <th><span class="sr-only">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|user| {
                        let id = user.id;
                        view! {
                            <Show
                                when=move || editing.get() == Some(id)
                                fallback={
                                    let user = user.clone();
                                    move || view! { <UserRow user=user.clone() editing/> }
                                }
                            >
                                <UserEditRow user=user.clone() editing update/>
                            </Show>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn UserRow(user: UserSummary, editing: RwSignal<Option<i64>>) -> impl IntoView {
    let id = user.id;
    let status = if user.disabled {
        view! { <span class="badge badge-muted">"Disabled"</span> }.into_any()
    } else if user.demo_credentials {
        view! { <span class="badge badge-warn" title="Password is the published demo password">"Demo login"</span> }
            .into_any()
    } else {
        view! { <span class="badge badge-ok">"Active"</span> }.into_any()
    };
    let email = user.email.clone();
    view! {
        <tr data-email=email>
            <td>{user.email}</td>
            <td>{user.display_name}</td>
            <td>{user.role.label()}</td>
            <td>{markets_label(&user.markets)}</td>
            <td>
                {user.time_zone}
                <div class="muted small" data-testid="user-languages">{languages_label(&user.languages)}</div>
            </td>
            <td>{status}</td>
            <td><When at=user.created_at/></td>
            <td>
                <button class="btn btn-small" on:click=move |_| editing.set(Some(id))>
                    "Edit"
                </button>
            </td>
        </tr>
    }
}

#[component]
fn UserEditRow(
    user: UserSummary,
    editing: RwSignal<Option<i64>>,
    update: ServerAction<UpdateUser>,
) -> impl IntoView {
    let id = user.id;
    let display_name = RwSignal::new(user.display_name.clone());
    let role = RwSignal::new(user.role);
    let markets = RwSignal::new(user.markets.clone());
    let disabled = RwSignal::new(user.disabled);
    let password = RwSignal::new(String::new());
    let zone_before = user.time_zone.clone();
    let time_zone = RwSignal::new(user.time_zone.clone());
    let languages = RwSignal::new(user.languages.join(", "));
    let save = move |_| {
        let zone = time_zone.get();
        update.dispatch(UpdateUser {
            id,
            display_name: display_name.get(),
            role: role.get().as_str().to_string(),
            markets: market_codes(&markets.get()),
            disabled: disabled.get(),
            password: password.get(),
            // An unchanged zone is not sent, so it does not count as chosen.
            time_zone: (zone != zone_before).then_some(zone),
            languages: Some(languages.get()),
        });
        editing.set(None);
    };
    let email = user.email.clone();
    view! {
        <tr class="editing" data-email=email>
            <td>{user.email}</td>
            <td>
                <input
                    type="text"
                    aria-label="Display name"
                    prop:value=display_name
                    on:input=move |ev| display_name.set(event_target_value(&ev))
                />
            </td>
            <td>
                <RoleSelect selected=role id=format!("role-{id}")/>
            </td>
            <td>
                <MarketPicker selected=markets name=format!("markets-{id}")/>
            </td>
            <td>
                <input
                    type="text"
                    list="edit-zone-list"
                    maxlength="64"
                    aria-label="Time zone"
                    prop:value=time_zone
                    on:input=move |ev| time_zone.set(event_target_value(&ev))
                />
                <datalist id="edit-zone-list">
                    {MARKET_ZONES.map(|z| view! { <option value=z></option> }).collect_view()}
                </datalist>
                <input
                    type="text"
                    maxlength="200"
                    aria-label="Languages"
                    placeholder="ja, en (empty: any)"
                    prop:value=languages
                    on:input=move |ev| languages.set(event_target_value(&ev))
                />
            </td>
            <td>
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=disabled
                        on:change=move |ev| disabled.set(event_target_checked(&ev))
                    />
                    "Disabled"
                </label>
            </td>
            <td>
                <input
                    type="password"
                    placeholder="New password (optional)"
                    aria-label="New password"
                    autocomplete="new-password"
                    prop:value=password
                    on:input=move |ev| password.set(event_target_value(&ev))
                />
            </td>
            <td class="nowrap">
                <button class="btn btn-primary btn-small" on:click=save>
                    "Save"
                </button>
                <button class="btn btn-ghost btn-small" on:click=move |_| editing.set(None)>
                    "Cancel"
                </button>
            </td>
        </tr>
    }
}
