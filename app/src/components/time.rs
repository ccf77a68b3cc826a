//! Instants on the viewer's wall clock. Responses carry instants as RFC 3339 UTC; a page
//! shows them in the time zone the viewer chose (`YYYY-MM-DD HH:MM`, the exact UTC instant on
//! hover) and says which zone its columns are in. The server converts with the zone
//! database; the browser, which renders the same components after client-side navigation,
//! asks its own `Intl` (the wasm bundle carries no zone database).

use crate::AuthContext;
use leptos::prelude::*;

/// The viewer's IANA time zone; "" while unknown and for UTC.
pub fn viewer_zone() -> Signal<String> {
    let auth = expect_context::<AuthContext>();
    Signal::derive(move || {
        auth.viewer
            .get()
            .and_then(Result::ok)
            .flatten()
            .map(|v| v.time_zone)
            .unwrap_or_default()
    })
}

/// How a zone is named on a page: `UTC` for "" or UTC itself, else its IANA name.
pub fn zone_label(zone: &str) -> &str {
    if zone.is_empty() || zone == "Etc/UTC" {
        "UTC"
    } else {
        zone
    }
}

/// A column heading or label naming the viewer's zone: `When (Asia/Tokyo)`.
pub fn in_viewer_zone(label: &'static str) -> impl Fn() -> String + Send + Sync + Clone + 'static {
    let zone = viewer_zone();
    move || format!("{label} ({})", zone_label(&zone.get()))
}

/// `YYYY-MM-DD HH:MM UTC` of an RFC 3339 instant (the text itself when it is not one).
pub fn utc_minute(at: &str) -> String {
    amso_core::metrics::format::utc_minute(at)
}

/// `YYYY-MM-DD HH:MM` of an RFC 3339 instant on the wall clocks of `zone` ("" is UTC); None
/// when `at` is not an instant.
#[cfg(feature = "ssr")]
pub fn local_minute(at: &str, zone: &str) -> Option<String> {
    let ms = chrono::DateTime::parse_from_rfc3339(at)
        .ok()?
        .timestamp_millis();
    // Stored zones were checked when saved; "" (and anything else) reads as UTC.
    let tz = amso_core::platform::time::zone_or_utc(zone);
    Some(amso_core::platform::time::local_minute(ms, tz))
}

/// `YYYY-MM-DD HH:MM` of an RFC 3339 instant on the wall clocks of `zone` ("" is UTC), by
/// the browser's `Intl.DateTimeFormat`; None when `at` is not an instant or the browser does
/// not know the zone.
#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
pub fn local_minute(at: &str, zone: &str) -> Option<String> {
    use wasm_bindgen::{JsCast, JsValue};
    let date = js_sys::Date::new(&JsValue::from_str(at));
    if date.get_time().is_nan() {
        return None;
    }
    let options = js_sys::Object::new();
    let set =
        |key: &str, value: &str| js_sys::Reflect::set(&options, &key.into(), &value.into()).ok();
    set("timeZone", if zone.is_empty() { "UTC" } else { zone })?;
    for key in ["year", "month", "day", "hour", "minute"] {
        set(key, if key == "year" { "numeric" } else { "2-digit" })?;
    }
    set("hourCycle", "h23")?;
    let args = js_sys::Array::of2(&js_sys::Array::of1(&"en-GB".into()), &options);
    // A zone the browser does not know throws a RangeError: caught, not a panic.
    let intl = js_sys::Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
    let constructor: js_sys::Function = js_sys::Reflect::get(&intl, &"DateTimeFormat".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let format: js_sys::Intl::DateTimeFormat = js_sys::Reflect::construct(&constructor, &args)
        .ok()?
        .unchecked_into();
    let mut part = std::collections::HashMap::new();
    for p in format.format_to_parts(&date).iter() {
        let kind = js_sys::Reflect::get(&p, &"type".into()).ok()?.as_string()?;
        let value = js_sys::Reflect::get(&p, &"value".into())
            .ok()?
            .as_string()?;
        part.insert(kind, value);
    }
    let get = |k: &str| part.get(k).cloned();
    Some(format!(
        "{}-{}-{} {}:{}",
        get("year")?,
        get("month")?,
        get("day")?,
        get("hour")?,
        get("minute")?
    ))
}

/// Neither server nor browser (a plain `cargo check` of the app): UTC.
#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
pub fn local_minute(at: &str, _zone: &str) -> Option<String> {
    Some(utc_minute(at).trim_end_matches(" UTC").to_string())
}

/// An instant on the viewer's clock, `2026-12-04 09:15`, with the exact UTC instant on
/// hover. `with_zone` adds the zone's name, for an instant in running text rather than
/// under a heading that names it.
#[component]
pub fn When(#[prop(into)] at: String, #[prop(optional)] with_zone: bool) -> impl IntoView {
    let zone = viewer_zone();
    let title = format!("{} (exact instant)", utc_minute(&at));
    let datetime = at.clone();
    let text = move || {
        let z = zone.get();
        match local_minute(&at, &z) {
            Some(local) if with_zone => format!("{local} {}", zone_label(&z)),
            Some(local) => local,
            None => utc_minute(&at),
        }
    };
    view! { <time class="nowrap" datetime=datetime title=title>{text}</time> }
}

/// A day (`YYYY-MM-DD`) of an RFC 3339 instant on the viewer's calendar.
pub fn local_day(at: &str, zone: &str) -> String {
    local_minute(at, zone)
        .and_then(|m| m.get(..10).map(str::to_string))
        .unwrap_or_else(|| at.get(..10).unwrap_or_default().to_string())
}
