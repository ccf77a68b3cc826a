//! The login page.

use crate::AuthContext;
use crate::api::auth::safe_next;
use crate::error::ErrorKind;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Email and password; works without JavaScript too (a plain form post).
#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<AuthContext>();
    let query = use_query_map();
    // A fresh page load after login: every part of the page sees the new session at once.
    Effect::new(move |_| {
        if let Some(Ok(target)) = auth.login.value().get() {
            let _ = window().location().set_href(&target);
        }
    });
    let next = move || safe_next(query.read().get("next").as_deref()).unwrap_or_default();
    // Busy from submit until the next page has loaded.
    let busy =
        move || auth.login.pending().get() || matches!(auth.login.value().get(), Some(Ok(_)));
    let error = move || {
        auth.login.value().get().and_then(Result::err).map(|e| {
            let class = if e.kind == ErrorKind::RateLimited {
                "alert alert-warn"
            } else {
                "alert alert-error"
            };
            view! {
                <div class=class role="alert" data-testid="login-error">
                    {e.error}
                </div>
            }
        })
    };
    view! {
        <Title text="Log in"/>
        <section class="login">
            <div class="login-card">
                <h1>"Log in to AMSO"</h1>
                <p class="muted">"Auto-moderation operations console"</p>
                {error}
                <ActionForm action=auth.login attr:class="form">
                    <input type="hidden" name="next" prop:value=next/>
                    <label for="email">"Email"</label>
                    <input
                        id="email"
                        type="email"
                        name="email"
                        autocomplete="username"
                        required
                        autofocus
                    />
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        type="password"
                        name="password"
                        autocomplete="current-password"
                        required
                    />
                    <button
                        type="submit"
                        class="btn btn-primary"
                        data-testid="login-submit"
                        disabled=busy
                    >
                        {move || if busy() { "Logging in…" } else { "Log in" }}
                    </button>
                </ActionForm>
            </div>
        </section>
    }
}
