//! Pieces the pages share: the navigation, the access guard, form controls.

use crate::AuthContext;
use crate::error::{AppError, ErrorKind};
use crate::{api::auth::Viewer, api::users::markets_label};
use amso_core::vocab::market::Market;
use amso_core::vocab::role::{Area, Role};
use leptos::prelude::*;
use leptos_router::components::{A, Redirect};
use leptos_router::hooks::use_location;

/// The left-hand navigation: the areas the viewer's role may open, and who is logged in.
#[component]
pub fn Sidebar() -> impl IntoView {
    let auth = expect_context::<AuthContext>();
    let location = use_location();
    view! {
        <aside class="sidebar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"A"</span>
                <span class="brand-name">"AMSO"</span>
                <span class="brand-sub">"Moderation ops"</span>
            </a>
            <Transition fallback=|| ()>
                {move || {
                    auth.viewer
                        .get()
                        .and_then(Result::ok)
                        .flatten()
                        .map(|viewer| {
                            let areas: Vec<Area> = Area::ALL
                                .into_iter()
                                .filter(|a| viewer.can_open(*a))
                                .collect();
                            view! {
                                <nav class="nav" aria-label="Main">
                                    {areas
                                        .into_iter()
                                        .map(|area| {
                                            let current = move || {
                                                Area::for_path(&location.pathname.get()) == Some(area)
                                            };
                                            view! {
                                                <A href=area.path() attr:class="nav-link" attr:aria-current=move || current().then_some("page")>
                                                    {area.label()}
                                                </A>
                                            }
                                        })
                                        .collect_view()}
                                </nav>
                                <UserBox viewer/>
                            }
                        })
                }}
            </Transition>
        </aside>
    }
}

#[component]
fn UserBox(viewer: Viewer) -> impl IntoView {
    let scope = if viewer.role.is_market_scoped() {
        format!("Markets: {}", markets_label(&viewer.markets))
    } else {
        "All markets".to_string()
    };
    view! {
        <div class="userbox">
            <div class="userbox-name" data-testid="viewer-name">{viewer.display_name}</div>
            <div class="userbox-meta">
                <span class="badge" data-testid="viewer-role">{viewer.role.label()}</span>
                <span class="muted">{scope}</span>
            </div>
            <div class="userbox-email muted">{viewer.email}</div>
            // A plain form post: the server ends the session and answers with a redirect,
            // so the browser reloads as a logged-out visitor.
            <form method="post" action="/rpc/logout">
                <button type="submit" class="btn btn-ghost btn-small" data-testid="logout">
                    "Log out"
                </button>
            </form>
        </div>
    }
}

/// Shows `children` only to a viewer whose role may open `area`; sends a logged-out
/// visitor to the login page and tells everyone else plainly that they have no access.
#[component]
pub fn Guarded(area: Area, children: ChildrenFn) -> impl IntoView {
    let auth = expect_context::<AuthContext>();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                auth.viewer
                    .get()
                    .map(|viewer| match viewer {
                        Ok(Some(v)) if v.can_open(area) => children.read_value()().into_any(),
                        Ok(Some(v)) => view! { <Forbidden role=v.role area/> }.into_any(),
                        Ok(None) => {
                            view! { <Redirect path=format!("/login?next={}", area.path())/> }
                                .into_any()
                        }
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

/// The page a role sees for an area it may not open.
#[component]
pub fn Forbidden(role: Role, area: Area) -> impl IntoView {
    view! {
        <section class="empty-state" data-testid="forbidden">
            <h1>"No access"</h1>
            <p>
                {format!("{} is not available to the {} role.", area.label(), role.label())}
                " If you need it, ask an administrator to change your role."
            </p>
            <a class="btn" href="/">"Go to your start page"</a>
        </section>
    }
}

/// An error message box, worded for the user.
#[component]
pub fn ErrorNote(error: AppError) -> impl IntoView {
    let hint = match error.kind {
        ErrorKind::Unauthenticated => " Your session may have ended; log in again.",
        ErrorKind::Forbidden => " Your role does not allow this.",
        _ => "",
    };
    view! {
        <div class="alert alert-error" role="alert">
            {error.error}
            {hint}
        </div>
    }
}

/// Checkboxes for markets, bound to `selected`.
#[component]
pub fn MarketPicker(selected: RwSignal<Vec<Market>>, #[prop(into)] name: String) -> impl IntoView {
    view! {
        <fieldset class="market-picker">
            <legend>"Markets"</legend>
            {Market::ALL
                .into_iter()
                .map(|market| {
                    let id = format!("{name}-{}", market.code());
                    let label_for = id.clone();
                    view! {
                        <label class="check" for=label_for title=market.name()>
                            <input
                                type="checkbox"
                                id=id
                                value=market.code()
                                prop:checked=move || selected.with(|s| s.contains(&market))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    selected.update(|s| {
                                        s.retain(|m| *m != market);
                                        if on {
                                            s.push(market);
                                            s.sort();
                                        }
                                    });
                                }
                            />
                            {market.code()}
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}

/// A role drop-down bound to `selected`.
#[component]
pub fn RoleSelect(selected: RwSignal<Role>, #[prop(into)] id: String) -> impl IntoView {
    view! {
        <select
            id=id
            on:change=move |ev| {
                if let Ok(role) = event_target_value(&ev).parse() {
                    selected.set(role);
                }
            }
        >
            {Role::ALL
                .into_iter()
                .map(|role| {
                    view! {
                        <option value=role.as_str() selected=move || selected.get() == role>
                            {role.label()}
                        </option>
                    }
                })
                .collect_view()}
        </select>
    }
}

/// A list of markets as a comma-separated string, as the server functions take it.
pub fn market_codes(markets: &[Market]) -> String {
    markets
        .iter()
        .map(|m| m.code())
        .collect::<Vec<_>>()
        .join(",")
}
