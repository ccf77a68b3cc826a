//! The pages.

pub mod ads;
pub mod audit;
pub mod dashboards;
pub mod golden;
pub mod keys;
pub mod login;
pub mod models;
pub mod queues;
pub mod radar;
pub mod reports;
pub mod review;
pub mod rules;
pub mod thresholds;
pub mod users;

use crate::AuthContext;
use crate::components::Guarded;
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

/// `/`: sends each role to its start page, and the logged-out to the login page.
#[component]
pub fn Home() -> impl IntoView {
    let auth = expect_context::<AuthContext>();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                auth.viewer
                    .get()
                    .map(|viewer| {
                        let path = match viewer {
                            Ok(Some(v)) => Area::home(v.role).path(),
                            _ => "/login",
                        };
                        view! { <Redirect path=path/> }
                    })
            }}
        </Suspense>
    }
}

/// What an area will hold, said plainly, until it is built.
fn not_built_text(area: Area) -> &'static str {
    match area {
        Area::Dashboards => {
            "Live KPIs (automation and override rates, auto-reject precision and recall with \
             intervals, backlog and SLA, drift, cost of risk control) appear here once ads are \
             being decided. There is no decision history yet, so there are no numbers to show."
        }
        Area::Reports => {
            "The weekly report (PDF, XLSX, CSV) is generated here from the dashboard figures. \
             There are no decided ads yet, so there is no week to report on."
        }
        Area::Queues
        | Area::Ads
        | Area::Thresholds
        | Area::Rules
        | Area::Radar
        | Area::Models
        | Area::Users
        | Area::ApiKeys
        | Area::Audit => "",
    }
}

/// An honest empty state for an area that does not exist yet.
#[component]
pub fn NotBuilt(area: Area) -> impl IntoView {
    view! {
        <Title text=area.label()/>
        <Guarded area>
            <header class="page-header">
                <h1>{area.label()}</h1>
            </header>
            <section class="empty-state" data-testid="not-built">
                <h2>"Not available yet"</h2>
                <p>{not_built_text(area)}</p>
            </section>
        </Guarded>
    }
}

/// The page for an unknown path.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <section class="empty-state">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <a class="btn" href="/">"Go to your start page"</a>
        </section>
    }
}
