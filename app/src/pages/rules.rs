//! `/rules`, `/rules/new` and `/rules/:id`: ops heads write rules, prove them on history
//! (backtest against human verdicts), try them in background on live traffic, and have a
//! second person switch them on. Executives read.

use crate::api::rules::{
    BacktestStatus, CancelBacktest, DecideRetroRequest, RequestRetroReject, RuleForm, RuleRetro,
    RuleStep, RuleView, SaveRule, StartBacktest, backtest_progress, get_rule, list_retro_requests,
    list_rules,
};
use crate::components::format::{EstimateText, estimate};
use crate::components::time::in_viewer_zone;
use crate::components::{ErrorNote, Guarded, When};
use amso_core::rules::view::{Backtest, RejectRequest, State};
use amso_core::vocab::policy::Category;
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

/// The rules list.
#[component]
pub fn RulesPage() -> impl IntoView {
    view! {
        <Title text="Rules"/>
        <Guarded area=Area::Rules>
            <RulesList/>
        </Guarded>
    }
}

fn state_class(s: State) -> String {
    format!("badge rule-state rule-state-{}", s.as_str())
}

#[component]
fn RulesList() -> impl IntoView {
    let rules = Resource::new(|| (), |_| list_rules());
    view! {
        <header class="page-header">
            <h1>"Rules"</h1>
            <p class="muted">
                "Rules act beside the model: a live rule can reject an ad or send it to review, never approve it. "
                "Prove a rule on history (backtest against what reviewers decided), run it in background on live traffic, "
                "then ask a second ops head or an admin to switch it on."
            </p>
        </header>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || rules.get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(list) => view! {
                    {list.can_write.then(|| view! { <p><a class="btn btn-primary" href="/rules/new" data-testid="new-rule">"New rule"</a></p> })}
                    <section class="card">
                        {if list.rules.is_empty() {
                            view! { <p class="muted" data-testid="no-rules">"No rules yet. Start from the radar, or write one."</p> }.into_any()
                        } else {
                            view! {
                                <table class="table" data-testid="rules-table">
                                    <thead><tr><th>"Rule"</th><th>"State"</th><th>"Action"</th><th class="num">"Version"</th><th class="num">"Hits, 24 h"</th><th>"Owner"</th><th>{in_viewer_zone("Changed")}</th></tr></thead>
                                    <tbody>
                                        {list.rules.into_iter().map(|r| view! {
                                            <tr>
                                                <td><a href=format!("/rules/{}", r.id)>{r.name.clone()}</a></td>
                                                <td><span class=state_class(r.state)>{r.state.label()}</span></td>
                                                <td>{r.action.clone()}</td>
                                                <td class="num">{r.version}</td>
                                                <td class="num">{r.hits_24h}</td>
                                                <td>{r.owner.clone()}</td>
                                                <td><When at=r.updated_at.clone()/></td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }}
                    </section>
                }.into_any(),
            })}
        </Transition>
    }
}

/// A new rule, pre-filled from the query (`term`, `domain`, `advertiser`, `market`, `name`),
/// as the radar's "Draft a rule" sends it.
#[component]
pub fn NewRulePage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.with_untracked(|q| q.get(k).unwrap_or_default());
    let initial = RuleForm {
        name: get("name"),
        markets: get("market"),
        terms: get("term"),
        domains: get("domain"),
        advertisers: get("advertiser"),
        action: "reject".into(),
        ..Default::default()
    };
    view! {
        <Title text="New rule"/>
        <Guarded area=Area::Rules>
            <header class="page-header">
                <h1>"New rule"</h1>
                <p class="muted">"Every filled field is a condition; an ad must meet all of them. A new rule starts as a draft: it acts nowhere until it is backtested, run in background and approved."</p>
            </header>
            <RuleEditor id=0 initial=initial.clone()/>
        </Guarded>
    }
}

/// The editor: the usual shape as a form, anything else as the JSON rule form.
#[component]
fn RuleEditor(id: i64, initial: RuleForm) -> impl IntoView {
    let json_mode = RwSignal::new(!initial.json.is_empty());
    let form = RwSignal::new(initial);
    let save = ServerAction::<SaveRule>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            navigate(&format!("/rules/{saved}"), Default::default());
        }
    });
    let field = move |get: fn(&RuleForm) -> String, set: fn(&mut RuleForm, String)| {
        (
            move || form.with(get),
            move |ev| form.update(|f| set(f, event_target_value(&ev))),
        )
    };
    let (name, on_name) = field(|f| f.name.clone(), |f, v| f.name = v);
    let (description, on_description) = field(|f| f.description.clone(), |f, v| f.description = v);
    let (markets, on_markets) = field(|f| f.markets.clone(), |f, v| f.markets = v);
    let (languages, on_languages) = field(|f| f.languages.clone(), |f, v| f.languages = v);
    let (terms, on_terms) = field(|f| f.terms.clone(), |f, v| f.terms = v);
    let (regex, on_regex) = field(|f| f.regex.clone(), |f, v| f.regex = v);
    let (domains, on_domains) = field(|f| f.domains.clone(), |f, v| f.domains = v);
    let (advertisers, on_advertisers) = field(|f| f.advertisers.clone(), |f, v| f.advertisers = v);
    let (newer, on_newer) = field(
        |f| f.advertiser_newer_than_days.clone(),
        |f, v| f.advertiser_newer_than_days = v,
    );
    let (score_category, on_score_category) =
        field(|f| f.score_category.clone(), |f, v| f.score_category = v);
    let (score_min, on_score_min) = field(|f| f.score_min.clone(), |f, v| f.score_min = v);
    let (action, on_action) = field(|f| f.action.clone(), |f, v| f.action = v);
    let (reject, on_reject) = field(
        |f| f.reject_categories.clone(),
        |f, v| f.reject_categories = v,
    );
    let (queue, on_queue) = field(|f| f.review_queue.clone(), |f, v| f.review_queue = v);
    let (label, on_label) = field(|f| f.flag_label.clone(), |f, v| f.flag_label = v);
    let (expires, on_expires) = field(|f| f.expires_at.clone(), |f, v| f.expires_at = v);
    let (json, on_json) = field(|f| f.json.clone(), |f, v| f.json = v);
    let term_count =
        move || form.with(|f| f.terms.lines().filter(|l| !l.trim().is_empty()).count());
    view! {
        <form class="card rule-editor" data-testid="rule-editor" on:submit=move |ev| {
            ev.prevent_default();
            let mut f = form.get_untracked();
            if !json_mode.get_untracked() {
                f.json.clear();
            }
            save.dispatch(SaveRule { id, form: f });
        }>
            <p class="tabs">
                <button type="button" class=move || if json_mode.get() { "tab" } else { "tab tab-on" } on:click=move |_| json_mode.set(false)>"Form"</button>
                <button type="button" class=move || if json_mode.get() { "tab tab-on" } else { "tab" } data-testid="json-mode" on:click=move |_| json_mode.set(true)>"JSON (any, not, several lists)"</button>
            </p>
            <Show when=move || !json_mode.get() fallback=move || view! {
                <label for="rule-json">"The rule in the JSON form the API and `amso rule create` take (see the README)"</label>
                <textarea id="rule-json" rows="18" class="mono" data-testid="rule-json" prop:value=json on:input=on_json></textarea>
            }>
                <div class="form-grid">
                    <label for="rule-name">"Name"</label>
                    <input id="rule-name" data-testid="rule-name" required maxlength="120" prop:value=name on:input=on_name/>
                    <label for="rule-description">"Why (what it catches)"</label>
                    <input id="rule-description" maxlength="2000" prop:value=description on:input=on_description/>
                    <label for="rule-markets">"Markets"</label>
                    <input id="rule-markets" data-testid="rule-markets" placeholder="ID, SG (empty: every market)" prop:value=markets on:input=on_markets/>
                    <label for="rule-languages">"Languages"</label>
                    <input id="rule-languages" placeholder="id, en (empty: any)" prop:value=languages on:input=on_languages/>
                    <label for="rule-terms">{move || format!("Terms, one a line ({} now; up to 100,000). Matching survives case, look-alike letters, leetspeak and spaced letters.", term_count())}</label>
                    <div>
                        <textarea id="rule-terms" data-testid="rule-terms" rows="6" prop:value=terms on:input=on_terms></textarea>
                        <label class="small muted file-pick">"Add the terms of a text file (one a line): "
                            <input type="file" accept=".txt,.csv,text/plain" data-testid="rule-terms-file" on:change=move |ev| add_terms_from_file(ev, form)/>
                        </label>
                    </div>
                    <label for="rule-regex">"Pattern (regular expression on the normalised text)"</label>
                    <input id="rule-regex" class="mono" maxlength="1000" prop:value=regex on:input=on_regex/>
                    <label for="rule-domains">"Landing domains, one a line"</label>
                    <textarea id="rule-domains" data-testid="rule-domains" rows="2" prop:value=domains on:input=on_domains></textarea>
                    <label for="rule-advertisers">"Advertisers, one a line"</label>
                    <textarea id="rule-advertisers" rows="2" prop:value=advertisers on:input=on_advertisers></textarea>
                    <label for="rule-newer">"Advertiser newer than (days)"</label>
                    <input id="rule-newer" inputmode="numeric" prop:value=newer on:input=on_newer/>
                    <label for="rule-score">"Model score at least"</label>
                    <span class="inline">
                        <select id="rule-score" prop:value=score_category on:change=on_score_category>
                            <option value="">"(no score condition)"</option>
                            {Category::ALL.map(|c| view! { <option value=c.as_str()>{c.as_str().replace('_', " ")}</option> }).collect_view()}
                        </select>
                        <input aria-label="least score" inputmode="decimal" placeholder="0.4" prop:value=score_min on:input=on_score_min/>
                    </span>
                    <label for="rule-action">"Action"</label>
                    <select id="rule-action" data-testid="rule-action" prop:value=action on:change=on_action>
                        <option value="reject">"Reject"</option>
                        <option value="review">"Send to review"</option>
                        <option value="flag">"Flag only (no effect on the decision)"</option>
                    </select>
                    <Show when=move || action() == "reject">
                        <label for="rule-reject">"Reject for categories"</label>
                        <input id="rule-reject" data-testid="rule-reject-categories" placeholder="scam" prop:value=reject on:input=on_reject/>
                    </Show>
                    <Show when=move || action() == "review">
                        <label for="rule-queue">"Review queue"</label>
                        <select id="rule-queue" prop:value=queue on:change=on_queue>
                            <option value="uncertain">"Uncertain"</option>
                            <option value="restricted">"Restricted"</option>
                            <option value="escalation">"Escalations (ops heads)"</option>
                        </select>
                    </Show>
                    <Show when=move || action() == "flag">
                        <label for="rule-label">"Label shown to reviewers"</label>
                        <input id="rule-label" maxlength="60" prop:value=label on:input=on_label/>
                    </Show>
                    <label for="rule-expires">"Expires (RFC 3339, optional)"</label>
                    <span class="inline">
                        <input id="rule-expires" placeholder="2026-12-09T00:00:00Z" prop:value=expires on:input=on_expires/>
                        <label class="check"><input type="checkbox" prop:checked=move || form.with(|f| f.emergency) on:change=move |ev| form.update(|f| f.emergency = event_target_checked(&ev))/>"Emergency (expires within 72 h)"</label>
                    </span>
                </div>
            </Show>
            {move || save.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
            <p><button class="btn btn-primary" type="submit" data-testid="rule-save" disabled=move || save.pending().get()>
                {if id == 0 { "Save as draft" } else { "Save as a new version (back to draft)" }}
            </button></p>
        </form>
    }
}

/// One rule.
#[component]
pub fn RulePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    view! {
        <Title text="Rule"/>
        <Guarded area=Area::Rules>
            <RuleDetail id=Signal::derive(id)/>
        </Guarded>
    }
}

#[component]
fn RuleDetail(id: Signal<i64>) -> impl IntoView {
    let step = ServerAction::<RuleStep>::new();
    let refresh = RwSignal::new(0u32);
    let rule = Resource::new(
        move || (id.get(), step.version().get(), refresh.get()),
        |(id, _, _)| get_rule(id),
    );
    let editing = RwSignal::new(false);
    let start = ServerAction::<StartBacktest>::new();
    let progress = RwSignal::new(None::<BacktestStatus>);
    Effect::new(move |_| {
        if let Some(Ok(())) = start.value().get() {
            progress.set(Some(BacktestStatus {
                running: true,
                progress: 0.0,
                error: None,
            }));
            poll(id.get_untracked(), progress, refresh);
        }
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || rule.get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(r) => view! {
                    <RuleHeader r=r.clone() step editing/>
                    {move || step.value().get().and_then(|v| v.err()).map(|e| view! { <ErrorNote error=e/> })}
                    {
                        let r = r.clone();
                        move || editing.get().then(|| {
                            let initial = r.form.clone().unwrap_or_else(|| RuleForm { json: r.json.clone(), ..Default::default() });
                            view! { <RuleEditor id=r.id initial/> }
                        })
                    }
                    <BacktestPanel r=r.clone() start progress/>
                    {(r.state == State::Live && r.can_write).then(|| view! { <RetroPanel id=r.id rejects=r.rejects viewer=r.viewer.clone()/> })}
                    <HitsByDay days=r.hits_by_day.clone()/>
                    <section class="card">
                        <h2>{format!("Version {}", r.version)}</h2>
                        <details>
                            <summary>"The rule as JSON (what the API and amso rule take)"</summary>
                            <pre class="mono small" data-testid="rule-json-view">{r.json.clone()}</pre>
                        </details>
                        <h3>"Versions"</h3>
                        <ul>
                            {r.versions.iter().map(|(v, who, at)| view! { <li>{format!("v{v} by {who}, ")}<When at=at.clone() with_zone=true/></li> }).collect_view()}
                        </ul>
                    </section>
                }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn RuleHeader(r: RuleView, step: ServerAction<RuleStep>, editing: RwSignal<bool>) -> impl IntoView {
    let id = r.id;
    let go = move |name: &'static str| {
        step.dispatch(RuleStep {
            id,
            step: name.into(),
        })
    };
    let can = r.can_write;
    let s = r.state;
    let waiting_note = match (s, r.viewer_asked, &r.requested_by) {
        (State::PendingLive, true, _) => Some(
            "You asked for this rule to go live: another ops head or an admin approves it."
                .to_string(),
        ),
        (State::PendingLive, false, Some(who)) => Some(format!(
            "{who} asked for this rule to go live. It runs in background until approved."
        )),
        _ => None,
    };
    view! {
        <header class="page-header">
            <h1>{r.name.clone()}</h1>
            <p>
                <span class=state_class(s) data-testid="rule-state">{s.label()}</span>
                " "<span class="muted">{format!("v{} · {} · owner {} · {} hits in 24 h", r.version, r.action, r.owner, r.hits_24h)}</span>
            </p>
            {(!r.description.is_empty()).then(|| view! { <p>{r.description.clone()}</p> })}
            <p class="muted small">
                {[
                    r.background_since.clone().map(|at| view! { "in background since "<When at with_zone=true/> }.into_any()),
                    r.live_since.clone().map(|at| view! { "live since "<When at with_zone=true/> }.into_any()),
                    r.approved_by.clone().map(|w| format!("approved by {w}").into_any()),
                    r.expires_at.clone().map(|at| view! { "expires "<When at with_zone=true/> }.into_any()),
                ]
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, part)| view! { {(i > 0).then_some(" · ")}{part} })
                    .collect_view()}
            </p>
            {waiting_note.map(|n| view! { <p class="alert" data-testid="approval-note">{n}</p> })}
        </header>
        {can.then(|| view! {
            <p class="actions">
                {matches!(s, State::Draft | State::PendingLive | State::Live).then(|| view! {
                    <button class="btn" data-testid="step-background" on:click=move |_| { go("background"); }>
                        {match s { State::Live => "Step back to background", State::PendingLive => "Withdraw the request", _ => "Run in background" }}
                    </button>
                })}
                {matches!(s, State::Draft | State::Background).then(|| view! {
                    <button class="btn" data-testid="step-request_live" on:click=move |_| { go("request_live"); }>"Ask to go live"</button>
                })}
                {(s == State::PendingLive && !r.viewer_asked).then(|| view! {
                    <button class="btn btn-primary" data-testid="step-approve" on:click=move |_| { go("approve"); }>"Approve: switch it on"</button>
                })}
                {(s != State::Archived).then(|| view! {
                    <button class="btn" on:click=move |_| editing.update(|e| *e = !*e)>"Edit"</button>
                    <button class="btn btn-danger" data-testid="step-archive" on:click=move |_| { go("archive"); }>"Archive"</button>
                })}
            </p>
        })}
    }
}

/// Asks how far the rule's backtest is, every half second while it runs; when it ends,
/// reloads the rule (its result is kept with the version).
fn poll(id: i64, progress: RwSignal<Option<BacktestStatus>>, refresh: RwSignal<u32>) {
    leptos::task::spawn_local(async move {
        let p = backtest_progress(id).await.ok().flatten();
        let running = p.as_ref().is_some_and(|p| p.running);
        progress.set(p);
        if running {
            set_timeout(
                move || poll(id, progress, refresh),
                std::time::Duration::from_millis(500),
            );
        } else {
            refresh.update(|n| *n += 1);
        }
    });
}

#[component]
fn BacktestPanel(
    r: RuleView,
    start: ServerAction<StartBacktest>,
    progress: RwSignal<Option<BacktestStatus>>,
) -> impl IntoView {
    let id = r.id;
    let days = RwSignal::new(28u32);
    let cancel = ServerAction::<CancelBacktest>::new();
    let can = r.can_write;
    view! {
        <section class="card" data-testid="backtest">
            <h2>"Backtest and shadow results"</h2>
            <p class="muted">
                "A backtest runs this version over the ads decided in a window. Precision is the share of its hits that reviewers found violating, "
                "among hits with a human verdict from a random audit or a routed review, each weighted by the inverse of its sampling probability (95% interval, effective sample size). "
                "New catches are hits the model approved."
            </p>
            {can.then(|| view! {
                <form class="inline" on:submit=move |ev| { ev.prevent_default(); start.dispatch(StartBacktest { id, days: days.get_untracked() }); }>
                    <label for="backtest-days">"Days"</label>
                    <input id="backtest-days" data-testid="backtest-days" type="number" min="1" max="90" prop:value=move || days.get().to_string()
                        on:input=move |ev| days.set(event_target_value(&ev).parse().unwrap_or(28))/>
                    <button class="btn btn-primary" type="submit" data-testid="backtest-run" disabled=move || progress.get().is_some_and(|p| p.running)>"Run backtest"</button>
                    {move || progress.get().filter(|p| p.running).map(|p| view! {
                        <progress data-testid="backtest-progress" max="1" value=p.progress></progress>
                        <span class="muted">{format!("{:.0}%", p.progress * 100.0)}</span>
                        <button class="btn" type="button" on:click=move |_| { cancel.dispatch(CancelBacktest { id }); }>"Cancel"</button>
                    })}
                </form>
            })}
            {move || start.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
            {move || progress.get().and_then(|p| p.error).map(|e| view! { <p class="alert alert-warn">{format!("The last backtest stopped: {e}")}</p> })}
            <div class="grid-2">
                <div>
                    <h3>"Backtest on history"</h3>
                    {match r.backtest.clone() {
                        Some(b) => view! { <BacktestFigures b testid="backtest-result"/> }.into_any(),
                        None => view! { <p class="muted">"Not backtested yet (this version)."</p> }.into_any(),
                    }}
                </div>
                <div>
                    <h3>"In background on live traffic"</h3>
                    {match r.shadow.clone() {
                        Some(b) => view! { <BacktestFigures b testid="shadow-result"/> }.into_any(),
                        None => view! { <p class="muted">"Not run in background yet."</p> }.into_any(),
                    }}
                </div>
            </div>
        </section>
    }
}

/// Appends the lines of the chosen text file to the term list (read in the browser; the
/// server checks them as if pasted).
#[cfg(feature = "hydrate")]
fn add_terms_from_file(ev: leptos::ev::Event, form: RwSignal<RuleForm>) {
    use wasm_bindgen::JsCast;
    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return;
    };
    let Some(file) = input.files().and_then(|files| files.get(0)) else {
        return;
    };
    leptos::task::spawn_local(async move {
        let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await else {
            return;
        };
        let Some(text) = text.as_string() else {
            return;
        };
        form.update(|f| {
            if !f.terms.trim().is_empty() && !f.terms.ends_with('\n') {
                f.terms.push('\n');
            }
            f.terms.push_str(text.trim_start_matches('\u{feff}'));
        });
    });
}

#[cfg(not(feature = "hydrate"))]
fn add_terms_from_file(_: leptos::ev::Event, _: RwSignal<RuleForm>) {}

/// Sweeping up what slipped through before the rule was live: count, then reopen into
/// review, or (a reject rule) ask a second person to approve rejecting them outright.
#[component]
fn RetroPanel(id: i64, rejects: bool, viewer: String) -> impl IntoView {
    let days = RwSignal::new(7u32);
    let retro = ServerAction::<RuleRetro>::new();
    let ask = ServerAction::<RequestRetroReject>::new();
    let decide = ServerAction::<DecideRetroRequest>::new();
    let requests = Resource::new(
        move || (ask.version().get(), decide.version().get()),
        move |_| list_retro_requests(id),
    );
    view! {
        <section class="card" data-testid="retro">
            <h2>"Sweep up what slipped through"</h2>
            <p class="muted">{if rejects {
                "Runs this live rule over the ads auto-approved in the window. Reopen what it matches into review, or ask to reject it outright with the rule's categories (another ops head or an admin approves). An ad is never swept up twice by the same rule. Count first."
            } else {
                "Runs this live rule over the ads auto-approved in the window and reopens what it matches into review. An ad is never reopened twice by the same rule. Count first."
            }}</p>
            <form class="inline" on:submit=move |ev| ev.prevent_default()>
                <label for="retro-days">"Days"</label>
                <input id="retro-days" type="number" min="1" max="90" prop:value=move || days.get().to_string()
                    on:input=move |ev| days.set(event_target_value(&ev).parse().unwrap_or(7))/>
                <button class="btn" type="button" data-testid="retro-count" on:click=move |_| { retro.dispatch(RuleRetro { id, days: days.get_untracked(), dry_run: true }); }>"Count matches"</button>
                {move || retro.value().get().and_then(|r| r.ok()).filter(|r| r.dry_run && r.matched > r.already).map(|r| view! {
                    <button class="btn btn-primary" type="button" data-testid="retro-run" on:click=move |_| { retro.dispatch(RuleRetro { id, days: r.days, dry_run: false }); }>
                        {format!("Reopen {} ads into review", r.matched - r.already)}
                    </button>
                    {rejects.then(|| view! {
                        <button class="btn btn-danger" type="button" data-testid="retro-ask-reject" on:click=move |_| { ask.dispatch(RequestRetroReject { id, days: r.days }); }>
                            {format!("Ask to reject {} ads…", r.matched - r.already)}
                        </button>
                    })}
                })}
            </form>
            {move || retro.value().get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(r) if r.dry_run => view! { <p data-testid="retro-result">{format!("{} auto-approved ads of the last {} days match; {} were swept up before, {} would be reopened into the {} queue.", r.matched, r.days, r.already, r.matched - r.already, r.queue)}</p> }.into_any(),
                Ok(r) => view! { <p class="alert alert-ok" data-testid="retro-result">{format!("Reopened {} ads into the {} queue ({} matched, {} swept up before).", r.reopened, r.queue, r.matched, r.already)}</p> }.into_any(),
            })}
            {move || ask.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
            {move || decide.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
            <Transition fallback=|| ()>
                {
                    let viewer = viewer.clone();
                    move || requests.get().map(|r| match r {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(list) if list.is_empty() => ().into_any(),
                        Ok(list) => view! { <RetroRequests list viewer=viewer.clone() decide/> }.into_any(),
                    })
                }
            </Transition>
        </section>
    }
}

/// A rule's requests to reject retroactively, with Approve and Refuse on the pending ones.
#[component]
fn RetroRequests(
    list: Vec<RejectRequest>,
    viewer: String,
    decide: ServerAction<DecideRetroRequest>,
) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|q| {
            let request = q.id;
            let mine = q.requested_by == viewer;
            let outcome = match q.state.as_str() {
                "pending" if mine => "Waiting for another ops head or an admin".to_string(),
                "pending" => "Waiting for you or another ops head".to_string(),
                "done" => format!(
                    "Rejected {} ads (approved by {})",
                    q.rejected.unwrap_or(0),
                    q.decided_by.clone().unwrap_or_default()
                ),
                _ => format!("Refused by {}", q.decided_by.clone().unwrap_or_default()),
            };
            view! {
                <tr data-testid="retro-request">
                    <td>{format!("#{}", q.id)}</td>
                    <td>{format!("v{}, last {} days", q.version, q.days)}</td>
                    <td class="num">{q.matched}</td>
                    <td>{q.categories.join(", ")}</td>
                    <td>{q.requested_by.clone()}</td>
                    <td data-testid="retro-request-state">{outcome}</td>
                    <td>
                        {(q.state == "pending" && !mine).then(|| view! {
                            <button class="btn btn-danger btn-small" type="button" data-testid="retro-approve"
                                on:click=move |_| { decide.dispatch(DecideRetroRequest { request, approve: true }); }>"Approve rejection"</button>
                        })}
                        {(q.state == "pending").then(|| view! {
                            <button class="btn btn-small" type="button" data-testid="retro-refuse"
                                on:click=move |_| { decide.dispatch(DecideRetroRequest { request, approve: false }); }>{if mine { "Withdraw" } else { "Refuse" }}</button>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h3>"Requests to reject"</h3>
        <table class="table">
            <thead><tr><th>"Request"</th><th>"Rule"</th><th class="num">"Matched"</th><th>"Categories"</th><th>"Asked by"</th><th>"State"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// The rule's hits a day, live and in background, over two weeks.
#[component]
fn HitsByDay(days: Vec<(String, i64, i64)>) -> impl IntoView {
    let max = days.iter().map(|d| d.1 + d.2).max().unwrap_or(0).max(1);
    let total: i64 = days.iter().map(|d| d.1 + d.2).sum();
    view! {
        <section class="card" data-testid="rule-hits-by-day">
            <h2>"Hits a day, last 14 days (UTC)"</h2>
            {if total == 0 {
                view! { <p class="muted">"No hits in the last 14 days."</p> }.into_any()
            } else {
                view! {
                    <div class="spark spark-tall" role="img" aria-label="hits a day">
                        {days.into_iter().map(|(day, live, background)| {
                            let h = |n: i64| (n as f64 / max as f64 * 100.0).round();
                            view! {
                                <span class="spark-stack" title=format!("{day}: {live} live, {background} in background")>
                                    <span class="spark-bar spark-bg" style=format!("height: {}%", h(background))></span>
                                    <span class="spark-bar" style=format!("height: {}%", h(live))></span>
                                </span>
                            }
                        }).collect_view()}
                    </div>
                    <p class="muted small">"Blue: live hits; grey: in background."</p>
                }.into_any()
            }}
        </section>
    }
}

/// An estimate in one line: value, interval and sample, or why there is none.
pub(crate) fn estimate_line(e: Option<&amso_core::metrics::kpi::Estimate>) -> String {
    match estimate(e) {
        EstimateText::Missing => "no labelled hits".into(),
        EstimateText::TooFew(s) => s,
        EstimateText::Shown { value, interval, n } => format!("{value} (95% {interval}, {n})"),
    }
}

#[component]
fn BacktestFigures(b: Backtest, testid: &'static str) -> impl IntoView {
    let precision = estimate_line(b.precision.as_ref());
    let money = |v: f64| {
        if v < 0.0 {
            format!("−${:.0}", -v)
        } else {
            format!("${v:.0}")
        }
    };
    let c = b.change.clone();
    view! {
        <dl class="facts" data-testid=testid>
            <dt>"Hits"</dt>
            <dd data-testid=format!("{testid}-hits")>{format!("{} of {} ads over {} days", b.hits, if b.ads_scanned > 0 { b.ads_scanned.to_string() } else { "the".into() }, b.days)}</dd>
            <dt>"Precision"</dt>
            <dd data-testid=format!("{testid}-precision")>{precision}</dd>
            <dt>"Labelled hits"</dt>
            <dd>{b.labelled}</dd>
            <dt>"New catches"</dt>
            <dd>{format!("{} the model approved; {} of {} with a verdict found violating (≈ {:.0} of all)", b.new_catches, b.new_catches_violating, b.new_catches_labelled, b.new_catches_violating_estimate)}</dd>
            <dt>"Overlap"</dt>
            <dd>{format!("{} the model rejected anyway", b.overlap_model_rejections)}
                {b.overlap_rules.iter().map(|o| format!("; {} also by “{}”", o.both, o.name)).collect::<String>()}</dd>
            {(b.ads_scanned > 0).then(|| view! {
                <dt>"Per day if live"</dt>
                <dd>{format!("{:+.1} reviews (capacity {:.0}); cost {}: false positives {}, missed harm {}, review time {}",
                    c.reviews_per_day, c.capacity_per_day, money(c.total_usd), money(c.false_positive_usd), money(c.false_negative_usd), money(c.review_usd))}</dd>
                <dt>"By market"</dt>
                <dd>{b.by_market.iter().map(|(m, n)| format!("{m} {n}")).collect::<Vec<_>>().join(" · ")}</dd>
            })}
        </dl>
    }
}
