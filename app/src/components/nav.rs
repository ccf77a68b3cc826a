//! The left-hand navigation: the areas the viewer's role may open, and who is logged in.

use crate::AuthContext;
use crate::{api::auth::Viewer, api::users::markets_label};
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_router::components::A;
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
