//! `/dashboards/*`: what operations heads watch — the overview with live KPIs, quality with
//! intervals, model drift, the cost of risk control, the threshold simulator and reviewer
//! overrides. The filters live in the URL query, so any view can be shared and the Back
//! button steps through them; the charts come from the server as SVG, each with a table of
//! the same numbers for screen readers.

pub mod cost;
pub mod drift;
pub mod overrides;
pub mod overview;
pub mod quality;
pub mod simulator;

use crate::api::dashboards::list_model_versions;
use crate::components::ErrorNote;
use crate::components::format;
use crate::error::{AppError, ErrorKind};
use amso_core::dashboard::view::{Selection, Window};
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

/// The dashboards' tabs: label and path.
const TABS: [(&str, &str); 6] = [
    ("Overview", "/dashboards"),
    ("Quality", "/dashboards/quality"),
    ("Drift", "/dashboards/drift"),
    ("Cost", "/dashboards/cost"),
    ("Simulator", "/dashboards/simulator"),
    ("Overrides", "/dashboards/overrides"),
];

/// The query keys that follow the reader from tab to tab.
const CARRIED: [&str; 6] = ["window", "from", "to", "market", "category", "model"];

/// The selection a page's query asks for (absent keys: defaults).
pub fn selection(q: &ParamsMap) -> Selection {
    let get = |k: &str| q.get(k).unwrap_or_default();
    Selection {
        window: get("window"),
        from: get("from"),
        to: get("to"),
        market: get("market"),
        category: get("category"),
        model: get("model"),
    }
}

/// `path` with the query `q` after `changes` (an empty value removes its key).
pub fn href_with(q: &ParamsMap, path: &str, changes: &[(&'static str, &str)]) -> String {
    let mut q = q.clone();
    for (key, value) in changes {
        if value.is_empty() {
            q.remove(key);
        } else {
            q.replace(*key, (*value).to_string());
        }
    }
    format!("{path}{}", q.to_query_string())
}

/// A function that moves the current page to its query after `changes`, as a new history
/// entry (so Back returns to the previous view), without scrolling.
pub fn use_set_query() -> impl Fn(&[(&'static str, &str)]) + Clone + Send + Sync + 'static {
    let navigate = use_navigate();
    let query = use_query_map();
    let location = use_location();
    move |changes| {
        let href = href_with(
            &query.get_untracked(),
            &location.pathname.get_untracked(),
            changes,
        );
        navigate(
            &href,
            NavigateOptions {
                scroll: false,
                ..Default::default()
            },
        );
    }
}

/// The window as a phrase: `2026-11-18 – 2026-11-24 (Asia/Tokyo)`, days in the viewer's zone.
pub fn window_text(w: &Window) -> String {
    let zone = w.zone_name();
    if w.from == w.to {
        format!("{} ({zone})", w.from)
    } else {
        format!("{} – {} ({zone})", w.from, w.to)
    }
}

/// The page title, the lead and the dashboards' tabs, which keep the filters.
#[component]
pub fn DashHeader(title: &'static str, lead: &'static str) -> impl IntoView {
    let query = use_query_map();
    let location = use_location();
    view! {
        <header class="page-header">
            <h1>{title}</h1>
            <p class="muted">{lead}</p>
        </header>
        <nav class="tabs" aria-label="Dashboards">
            {TABS
                .into_iter()
                .map(|(label, path)| {
                    let href = move || {
                        let q = query.read();
                        let kept: ParamsMap = CARRIED
                            .iter()
                            .filter_map(|k| q.get(k).filter(|v| !v.is_empty()).map(|v| (*k, v)))
                            .collect();
                        format!("{path}{}", kept.to_query_string())
                    };
                    let current = move || (location.pathname.get() == path).then_some("page");
                    view! {
                        <a class="tab" href=href aria-current=current>
                            {label}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}

/// Which filters a page offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filters {
    pub market: bool,
    pub category: bool,
    pub model: bool,
}

impl Filters {
    /// Window, market, category and model.
    pub const ALL: Filters = Filters {
        market: true,
        category: true,
        model: true,
    };
    /// Window and model: pages where market and category pick a slice by clicking.
    pub const WINDOW_AND_MODEL: Filters = Filters {
        market: false,
        category: false,
        model: true,
    };
}

/// The filter bar: window (today, 7 or 28 days, or custom dates), market, category and
/// model version. Every change is a navigation to the new query. `shown` is the window on
/// screen, which a switch to custom dates starts from.
#[component]
pub fn FilterBar(
    filters: Filters,
    #[prop(into)] shown: Signal<Option<Window>>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let query = use_query_map();
    let set = use_set_query();
    let value = move |k: &str| query.read().get(k).unwrap_or_default();
    let window = move || match value("window").as_str() {
        "" => "7d".to_string(),
        w => w.to_string(),
    };
    let custom = move || window() == "custom";
    let on_window = {
        let set = set.clone();
        move |ev| {
            let w = event_target_value(&ev);
            if w == "custom" {
                let (from, to) = shown
                    .get_untracked()
                    .map(|w| (w.from, w.to))
                    .unwrap_or_default();
                set(&[("window", "custom"), ("from", &from), ("to", &to)]);
            } else {
                set(&[("window", &w), ("from", ""), ("to", "")]);
            }
        }
    };
    let set_from = set.clone();
    let set_to = set.clone();
    let set_market = set.clone();
    let set_category = set.clone();
    let set_model = set;
    let models = Resource::new(|| (), |_| list_model_versions());
    let any_filter = move || {
        let q = query.read();
        CARRIED
            .iter()
            .any(|k| q.get(k).is_some_and(|v| !v.is_empty()))
    };
    let location = use_location();
    view! {
        <form class="toolbar filters card dash-filters" on:submit=|ev| ev.prevent_default() data-testid="dash-filters">
            <label>
                "Window"
                <select on:change=on_window data-testid="filter-window">
                    {[("today", "Today"), ("7d", "Last 7 days"), ("28d", "Last 28 days"), ("custom", "Custom dates")]
                        .into_iter()
                        .map(|(v, label)| view! { <option value=v selected=move || window() == v>{label}</option> })
                        .collect_view()}
                </select>
            </label>
            <Show when=custom>
                <label>
                    "From"
                    <input type="date" data-testid="filter-from" prop:value=move || value("from")
                        on:change={
                            let set = set_from.clone();
                            move |ev| set(&[("window", "custom"), ("from", &event_target_value(&ev))])
                        }/>
                </label>
                <label>
                    "To (inclusive)"
                    <input type="date" data-testid="filter-to" prop:value=move || value("to")
                        on:change={
                            let set = set_to.clone();
                            move |ev| set(&[("window", "custom"), ("to", &event_target_value(&ev))])
                        }/>
                </label>
            </Show>
            {filters.market.then(|| view! {
                <label>
                    "Market"
                    <select data-testid="filter-market" on:change=move |ev| set_market(&[("market", &event_target_value(&ev))])>
                        <option value="" selected=move || value("market").is_empty()>"All markets"</option>
                        {Market::ALL.map(|m| view! {
                            <option value=m.code() selected=move || value("market") == m.code()>{format!("{} · {}", m.code(), m.name())}</option>
                        }).collect_view()}
                    </select>
                </label>
            })}
            {filters.category.then(|| view! {
                <label>
                    "Category"
                    <select data-testid="filter-category" on:change=move |ev| set_category(&[("category", &event_target_value(&ev))])>
                        <option value="" selected=move || value("category").is_empty()>"All categories"</option>
                        {Category::ALL.map(|c| view! {
                            <option value=c.as_str() selected=move || value("category") == c.as_str()>{format::category(c.as_str())}</option>
                        }).collect_view()}
                    </select>
                </label>
            })}
            {filters.model.then(|| view! {
                <Transition fallback=|| view! {
                    <label>"Model version"<select disabled=true><option>"All versions"</option></select></label>
                }>
                    {move || {
                        // A version in the URL stays choosable even before it has data.
                        let mut list = models.get().and_then(Result::ok).unwrap_or_default();
                        let chosen = value("model");
                        if !chosen.is_empty() && !list.contains(&chosen) {
                            list.push(chosen);
                        }
                        let set = set_model.clone();
                        view! {
                            <label>
                                "Model version"
                                <select data-testid="filter-model" on:change=move |ev| set(&[("model", &event_target_value(&ev))])>
                                    <option value="" selected=move || value("model").is_empty()>"All versions"</option>
                                    {list.into_iter().map(|v| {
                                        let (is, label) = (v.clone(), v.clone());
                                        view! { <option value=v selected=move || value("model") == is>{label}</option> }
                                    }).collect_view()}
                                </select>
                            </label>
                        }
                    }}
                </Transition>
            })}
            {children.map(|c| c())}
            <Show when=any_filter>
                <a class="btn btn-ghost btn-small filters-reset" href=move || location.pathname.get()>"Reset filters"</a>
            </Show>
        </form>
    }
}

/// What a dashboard page's board knows of itself: the window its figures cover.
pub trait Board: Clone + Send + Sync + 'static {
    /// The window on screen.
    fn window(&self) -> Window;
}

/// The frame every dashboard page shares: the header with the tabs, the filter bar (starting
/// from the window on screen), anything the page puts in between (`children`), and the board
/// of the URL's selection drawn by `body`, with loading and errors handled once.
#[component]
pub fn DashboardFrame<B, F, V>(
    title: &'static str,
    lead: &'static str,
    filters: Filters,
    board: Resource<Result<B, AppError>>,
    body: F,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView
where
    B: Board + serde::Serialize + serde::de::DeserializeOwned,
    F: Fn(B) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let shown = Signal::derive(move || {
        board
            .get_untracked()
            .and_then(Result::ok)
            .map(|b| b.window())
    });
    view! {
        <DashHeader title lead/>
        <FilterBar filters shown/>
        {children.map(|c| c())}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || board.get().map(|r| match r {
                Err(e) => view! { <DashError error=e/> }.into_any(),
                Ok(b) => body(b).into_any(),
            })}
        </Transition>
    }
}

/// A dashboard's error: a refusal says plainly that the role cannot open the dashboards.
#[component]
pub fn DashError(error: AppError) -> impl IntoView {
    if error.kind == ErrorKind::Forbidden {
        view! {
            <div class="alert alert-error" role="alert" data-testid="dash-forbidden">
                "Your role cannot open the dashboards."
            </div>
        }
        .into_any()
    } else {
        view! { <ErrorNote error/> }.into_any()
    }
}

/// Whether the live stream is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Live {
    Connecting,
    Open,
    Reconnecting,
}

/// "● Live" while the stream is open; "Reconnecting…" while it is not.
#[component]
pub fn LiveIndicator(live: RwSignal<Live>) -> impl IntoView {
    view! {
        <span
            class=move || match live.get() {
                Live::Open => "live live-on",
                _ => "live live-off",
            }
            data-testid="live-indicator"
            data-state=move || match live.get() {
                Live::Open => "open",
                Live::Connecting => "connecting",
                Live::Reconnecting => "reconnecting",
            }
            aria-live="polite"
        >
            {move || match live.get() {
                Live::Open => "● Live",
                Live::Connecting => "Connecting…",
                Live::Reconnecting => "Reconnecting…",
            }}
        </span>
    }
}

/// Follows the server's event stream: calls `on_event` when `event` arrives (at once, then
/// at most every 400 ms however many arrive), keeps `live` current, and after a lost connection
/// calls `on_event` once more to catch up. Closed with the page.
#[cfg(feature = "hydrate")]
pub fn follow_stream(event: &'static str, live: RwSignal<Live>, on_event: impl Fn() + 'static) {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::EventSource;

    type Listener = Closure<dyn FnMut(JsValue)>;
    struct Follow {
        event: &'static str,
        live: RwSignal<Live>,
        on_event: Box<dyn Fn()>,
        stream: RefCell<Option<(EventSource, Vec<Listener>)>>,
        pending: Cell<bool>,
        again: Cell<bool>,
        was_open: Cell<bool>,
        stopped: Cell<bool>,
    }

    // At once for the first event, then at most once per 400 ms while more arrive.
    fn soon(f: &Rc<Follow>) {
        if f.pending.replace(true) {
            f.again.set(true);
            return;
        }
        (f.on_event)();
        let f = f.clone();
        set_timeout(
            move || {
                f.pending.set(false);
                if f.again.replace(false) && !f.stopped.get() {
                    soon(&f);
                }
            },
            Duration::from_millis(400),
        );
    }

    fn open(f: &Rc<Follow>) {
        if f.stopped.get() {
            return;
        }
        let Ok(source) = EventSource::new("/api/v1/stream") else {
            f.live.set(Live::Reconnecting);
            return;
        };
        let on_open: Listener = Closure::new({
            let f = f.clone();
            move |_| {
                f.live.set(Live::Open);
                if f.was_open.replace(true) {
                    soon(&f);
                }
            }
        });
        let on_change: Listener = Closure::new({
            let f = f.clone();
            move |_| soon(&f)
        });
        let on_error: Listener = Closure::new({
            let f = f.clone();
            move |_| {
                if f.stopped.get() {
                    return;
                }
                f.live.set(Live::Reconnecting);
                // The browser retries by itself unless the server refused the stream.
                let closed = f
                    .stream
                    .borrow()
                    .as_ref()
                    .is_some_and(|(s, _)| s.ready_state() == EventSource::CLOSED);
                if closed {
                    let f = f.clone();
                    set_timeout(move || open(&f), Duration::from_secs(5));
                }
            }
        });
        let _ = source.add_event_listener_with_callback("open", on_open.as_ref().unchecked_ref());
        let _ =
            source.add_event_listener_with_callback(f.event, on_change.as_ref().unchecked_ref());
        let _ = source.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
        if let Some((old, _)) = f
            .stream
            .replace(Some((source, vec![on_open, on_change, on_error])))
        {
            old.close();
        }
    }

    let follow = Rc::new(Follow {
        event,
        live,
        on_event: Box::new(on_event),
        stream: RefCell::new(None),
        pending: Cell::new(false),
        again: Cell::new(false),
        was_open: Cell::new(false),
        stopped: Cell::new(false),
    });
    open(&follow);
    let kept = StoredValue::new_local(follow);
    on_cleanup(move || {
        kept.with_value(|f| {
            f.stopped.set(true);
            // Dropping the listeners also ends their references to `f`.
            if let Some((source, _)) = f.stream.take() {
                source.close();
            }
        })
    });
}
