//! The access guard: a page's content for the roles that may open it, a clear refusal for the
//! others.

use super::forms::ErrorNote;
use crate::AuthContext;
use amso_core::vocab::role::{Area, Role};
use leptos::prelude::*;
use leptos_router::components::Redirect;

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
