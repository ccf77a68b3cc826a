//! Form pieces the pages share: the error note, the market picker, the role select.

use crate::error::{AppError, ErrorKind};
use amso_core::vocab::market::Market;
use amso_core::vocab::role::Role;
use leptos::prelude::*;

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
