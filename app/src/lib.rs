#![recursion_limit = "256"]
//! AMSO's browser application: the pages, their components and server functions.
//!
//! Built twice: with `ssr` into the server (rendering and server functions), and with
//! `hydrate` into the wasm bundle that makes the server-rendered pages interactive.

pub mod api;
pub mod components;
pub mod error;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use crate::api::auth::Viewer;
use crate::components::Sidebar;
use crate::error::AppError;
use crate::{api::auth::Login, api::auth::get_viewer};
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the application.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::ssr::provide_csp_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Who is logged in, and the login action; provided to every page.
///
/// Logging in or out reloads the whole page, so the viewer never changes under a page that
/// is on screen and no page ever acts on a stale viewer.
#[derive(Clone, Copy)]
pub struct AuthContext {
    pub login: ServerAction<Login>,
    pub viewer: Resource<Result<Option<Viewer>, AppError>>,
}

/// The application: navigation by role around the pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let login = ServerAction::<Login>::new();
    let viewer = Resource::new(|| (), |_| get_viewer());
    provide_context(AuthContext { login, viewer });
    // Effects run only in the browser: this marks the page as interactive (tests wait on it).
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "AMSO".to_string() } else { format!("{page} · AMSO") }
        }/>
        <Router>
            <div class="layout">
                <Sidebar/>
                <main class="content" id="main">
                    <Routes fallback=|| view! { <pages::NotFound/> }>
                        <Route path=path!("/login") view=pages::login::LoginPage/>
                        <Route path=path!("/") view=pages::Home/>
                        <Route path=path!("/queues") view=pages::queues::QueuesPage/>
                        <Route path=path!("/queues/list/:source") view=pages::queues::QueueListPage/>
                        <Route path=path!("/queues/item/:id") view=pages::review::ReviewPage/>
                        <Route path=path!("/dashboards") view=pages::dashboards::overview::OverviewPage/>
                        <Route path=path!("/dashboards/quality") view=pages::dashboards::quality::QualityPage/>
                        <Route path=path!("/dashboards/drift") view=pages::dashboards::drift::DriftPage/>
                        <Route path=path!("/dashboards/cost") view=pages::dashboards::cost::CostPage/>
                        <Route path=path!("/dashboards/simulator") view=pages::dashboards::simulator::SimulatorPage/>
                        <Route path=path!("/dashboards/overrides") view=pages::dashboards::overrides::OverridesPage/>
                        <Route path=path!("/ads") view=pages::ads::AdsPage/>
                        <Route path=path!("/ads/:id") view=pages::ads::AdPage/>
                        <Route path=path!("/thresholds") view=pages::thresholds::ThresholdsPage/>
                        <Route path=path!("/radar") view=pages::radar::RadarPage/>
                        <Route path=path!("/rules") view=pages::rules::RulesPage/>
                        <Route path=path!("/rules/new") view=pages::rules::NewRulePage/>
                        <Route path=path!("/rules/:id") view=pages::rules::RulePage/>
                        <Route path=path!("/models") view=pages::models::ModelsPage/>
                        <Route path=path!("/reports") view=pages::reports::ReportsPage/>
                        <Route path=path!("/admin/users") view=pages::users::UsersPage/>
                        <Route path=path!("/admin/keys") view=pages::keys::KeysPage/>
                        <Route path=path!("/admin/audit") view=pages::audit::AuditPage/>
                    </Routes>
                </main>
            </div>
        </Router>
    }
}

/// The wasm entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
