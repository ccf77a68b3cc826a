//! The left-hand navigation: the areas the viewer's role may open, and who is logged in.

use crate::AuthContext;
use crate::api::auth::{SetMyTimeZone, Viewer};
use crate::api::users::markets_label;
use crate::components::ErrorNote;
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
            <TimeZoneBox time_zone=viewer.time_zone chosen=viewer.time_zone_chosen/>
            // A plain form post: the server ends the session and answers with a redirect,
            // so the browser reloads as a logged-out visitor.
            <form method="post" action="/rpc/logout">
                <button type="submit" class="btn btn-ghost btn-small" data-testid="logout">
                    "Log out"
                </button>
            </form>
        </div>
    }
    .into_any()
}

/// The zones of the markets AMSO serves, offered when typing a time zone.
pub const MARKET_ZONES: [&str; 11] = [
    "America/Los_Angeles",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Asia/Dubai",
    "Asia/Jakarta",
    "Asia/Singapore",
    "Asia/Seoul",
    "Asia/Tokyo",
];

/// The zone the browser runs in (`Intl`), if it says.
#[cfg(feature = "hydrate")]
fn browser_time_zone() -> Option<String> {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    js_sys::Reflect::get(&format.resolved_options(), &"timeZone".into())
        .ok()?
        .as_string()
}

/// The person's time zone, a way to change it, and until they (or an admin) chose one, the
/// browser's own zone proposed. The page reloads after a change: every figure is read anew.
#[component]
fn TimeZoneBox(time_zone: String, chosen: bool) -> impl IntoView {
    let set = ServerAction::<SetMyTimeZone>::new();
    let editing = RwSignal::new(false);
    let typed = RwSignal::new(time_zone.clone());
    let browser = RwSignal::new(None::<String>);
    #[cfg(not(feature = "hydrate"))]
    let _ = chosen;
    #[cfg(feature = "hydrate")]
    {
        let current = time_zone.clone();
        Effect::new(move |_| {
            if !chosen {
                browser.set(browser_time_zone().filter(|z| *z != current));
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(_)) = set.value().get() {
                let _ = window().location().reload();
            }
        });
    }
    let shown = time_zone.clone();
    view! {
        <div class="userbox-zone small" data-testid="time-zone">
            <span title="Your days, \"today\" and date windows are read in this zone">
                "Time zone: " <strong data-testid="time-zone-name">{shown}</strong>
            </span>
            " "
            <button type="button" class="btn-link small" on:click=move |_| editing.update(|e| *e = !*e)>
                "change"
            </button>
            {move || browser.get().map(|zone| {
                let keep = time_zone.clone();
                let use_zone = zone.clone();
                view! {
                    <div class="zone-proposal" role="status" data-testid="zone-proposal">
                        {format!("Your browser is on {zone}. Read your days in it?")}
                        <div class="actions">
                            <button type="button" class="btn btn-small btn-primary" data-testid="zone-accept"
                                on:click=move |_| { set.dispatch(SetMyTimeZone { time_zone: use_zone.clone() }); }>
                                {format!("Use {zone}")}
                            </button>
                            <button type="button" class="btn btn-small" data-testid="zone-keep"
                                on:click=move |_| { set.dispatch(SetMyTimeZone { time_zone: keep.clone() }); }>
                                {format!("Keep {}", time_zone)}
                            </button>
                        </div>
                    </div>
                }
            })}
            <Show when=move || editing.get()>
                <form class="zone-form" on:submit=move |ev| {
                    ev.prevent_default();
                    set.dispatch(SetMyTimeZone { time_zone: typed.get() });
                }>
                    <input type="text" list="zone-list" maxlength="64" aria-label="Time zone (IANA name)"
                        data-testid="zone-input" prop:value=typed
                        on:input=move |ev| typed.set(event_target_value(&ev))/>
                    <datalist id="zone-list">
                        {MARKET_ZONES.map(|z| view! { <option value=z></option> }).collect_view()}
                    </datalist>
                    <button type="submit" class="btn btn-small" data-testid="zone-save">"Save"</button>
                </form>
            </Show>
            {move || set.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
        </div>
    }
    .into_any()
}
