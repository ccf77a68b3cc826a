//! `/queues/item/:id`: the review screen. Everything a reviewer needs to decide one ad, and
//! a key for every action: A approve, R reject, 1–0 categories, E escalate, S skip,
//! Enter submit and next, U undo, ? help.

use crate::api::ads::AdDetail;
use crate::api::review::{
    EscalateReview, ReviewScreen, SkipReview, SubmitReview, UndoReview, get_review,
};
use crate::api::wellness::TakeBreak;
use crate::components::ad_text::{
    ContributionBars, MarkedAdText, RuleHits, ScoreBars, status_class, status_label,
};
use crate::components::time::{local_day, utc_minute, viewer_zone};
use crate::components::{ErrorNote, Guarded};
use crate::error::AppError;
use amso_core::vocab::policy::Category;
use amso_core::vocab::queue::{HumanVerdict, Source};
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

/// The last review this reviewer submitted, while it can still be undone.
#[derive(Clone, Debug, PartialEq)]
struct LastReview {
    review_id: i64,
    ad_id: i64,
    verdict: String,
    /// `Date.now()` when it was submitted.
    at_ms: f64,
}

/// The review screen.
#[component]
pub fn ReviewPage() -> impl IntoView {
    view! {
        <Title text="Review"/>
        <Guarded area=Area::Queues>
            <ReviewDesk/>
        </Guarded>
    }
}

fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// Where to go after an action: the next item, or the queues page saying the queue is empty.
fn next_path(next: Option<i64>, source: Source) -> String {
    match next {
        Some(id) => format!("/queues/item/{id}"),
        None => format!("/queues?empty={}", source.as_str()),
    }
}

/// The decision being prepared for the item on screen.
#[derive(Clone, Copy)]
struct Draft {
    verdict: RwSignal<Option<HumanVerdict>>,
    categories: RwSignal<Vec<Category>>,
    reason: RwSignal<String>,
    note: RwSignal<String>,
    escalating: RwSignal<bool>,
    escalation_note: RwSignal<String>,
    message: RwSignal<Option<String>>,
    help: RwSignal<bool>,
}

impl Draft {
    fn new() -> Draft {
        Draft {
            verdict: RwSignal::new(None),
            categories: RwSignal::new(Vec::new()),
            reason: RwSignal::new(String::new()),
            note: RwSignal::new(String::new()),
            escalating: RwSignal::new(false),
            escalation_note: RwSignal::new(String::new()),
            message: RwSignal::new(None),
            help: RwSignal::new(false),
        }
    }

    /// A fresh draft for a newly opened item: the machine's flagged categories pre-ticked.
    fn reset(&self, screen: &ReviewScreen) {
        self.verdict.set(None);
        self.categories.set(
            screen
                .ad
                .reasons
                .iter()
                .filter_map(|c| c.parse().ok())
                .collect(),
        );
        self.reason.set(String::new());
        self.note.set(String::new());
        self.escalating.set(false);
        self.escalation_note.set(String::new());
        self.message.set(None);
    }

    fn toggle(&self, c: Category) {
        self.categories.update(|cs| {
            if let Some(i) = cs.iter().position(|x| *x == c) {
                cs.remove(i);
            } else {
                cs.push(c);
            }
        });
    }
}

/// Moves the keyboard focus to an element, after the current render (it may be appearing).
fn focus(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let id = id.to_string();
        request_animation_frame(move || {
            if let Some(el) = document()
                .get_element_by_id(&id)
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = el.focus();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

#[component]
fn ReviewDesk() -> impl IntoView {
    let params = use_params_map();
    let task_id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let screen = Resource::new(task_id, get_review);
    let draft = Draft::new();
    let last = RwSignal::new(None::<LastReview>);
    let submit = ServerAction::<SubmitReview>::new();
    let escalate = ServerAction::<EscalateReview>::new();
    let skip = ServerAction::<SkipReview>::new();
    let undo = ServerAction::<UndoReview>::new();
    let lost = RwSignal::new(false);
    let navigate = use_navigate();
    let current = RwSignal::new(None::<ReviewScreen>);

    // A newly loaded item gets a fresh draft and the keyboard focus.
    Effect::new(move |_| {
        if let Some(Ok(s)) = screen.get()
            && current.with_untracked(|c| c.as_ref().map(|c| c.task_id)) != Some(s.task_id)
        {
            draft.reset(&s);
            lost.set(!s.held);
            current.set(Some(s));
            focus("review-desk");
        }
    });

    // After submit: remember it for undo, then go to the next item.
    {
        let navigate = navigate.clone();
        Effect::new(move |_| {
            if let Some(result) = submit.value().get() {
                match result {
                    Ok(r) => {
                        let source = current.with_untracked(|c| c.as_ref().map(|c| c.source));
                        last.set(Some(LastReview {
                            review_id: r.review_id,
                            ad_id: r.ad_id,
                            verdict: r.ad_status.clone(),
                            at_ms: now_ms(),
                        }));
                        if let Some(source) = source {
                            navigate(&next_path(r.next_task, source), Default::default());
                        }
                    }
                    Err(e) => draft.message.set(Some(e.error)),
                }
            }
        });
    }
    for outcome in [escalate.value(), skip.value()] {
        let navigate = navigate.clone();
        Effect::new(move |_| {
            if let Some(result) = outcome.get() {
                match result {
                    Ok(next) => {
                        if let Some(source) =
                            current.with_untracked(|c| c.as_ref().map(|c| c.source))
                        {
                            navigate(&next_path(next, source), Default::default());
                        }
                    }
                    Err(e) => draft.message.set(Some(e.error)),
                }
            }
        });
    }
    {
        let navigate = navigate.clone();
        Effect::new(move |_| {
            if let Some(result) = undo.value().get() {
                match result {
                    Ok(task) => {
                        last.set(None);
                        current.set(None);
                        navigate(&format!("/queues/item/{task}"), Default::default());
                        screen.refetch();
                    }
                    Err(e) => draft.message.set(Some(e.error)),
                }
            }
        });
    }

    // Prepare and send the decision on screen (Enter).
    let send = move || {
        let Some(s) = current.get_untracked() else {
            return;
        };
        if !s.held {
            draft
                .message
                .set(Some("This item is not reserved for you any more.".into()));
            return;
        }
        if draft.escalating.get_untracked() {
            let note = draft.escalation_note.get_untracked();
            if note.trim().is_empty() {
                draft
                    .message
                    .set(Some("Say in the note why this needs an ops head.".into()));
                focus("escalation-note");
                return;
            }
            escalate.dispatch(EscalateReview {
                task_id: s.task_id,
                note,
            });
            return;
        }
        let Some(verdict) = draft.verdict.get_untracked() else {
            draft
                .message
                .set(Some("Choose Approve (A) or Reject (R) first.".into()));
            return;
        };
        let categories = draft.categories.get_untracked();
        if verdict == HumanVerdict::Reject && categories.is_empty() {
            draft.message.set(Some(
                "Tick the violated categories (keys 1–0) before rejecting.".into(),
            ));
            return;
        }
        let machine = s.ad.action.clone().unwrap_or_default();
        let reason = draft.reason.get_untracked();
        if verdict.overrides(&machine) && reason.is_empty() {
            draft.message.set(Some(format!(
                "You are overriding the machine's {machine}: pick a reason (↑/↓), then Enter."
            )));
            focus("reason");
            return;
        }
        if reason == "other" && draft.note.get_untracked().trim().is_empty() {
            draft
                .message
                .set(Some("Reason “other” needs a note.".into()));
            focus("reason-note");
            return;
        }
        draft.message.set(None);
        submit.dispatch(SubmitReview {
            task_id: s.task_id,
            verdict: verdict.as_str().to_string(),
            categories: categories.iter().map(|c| c.as_str().to_string()).collect(),
            reason_code: reason,
            reason_text: draft.note.get_untracked(),
            next: true,
        });
    };

    let do_undo = move || {
        let Some(l) = last.get_untracked() else {
            draft.message.set(Some("Nothing to undo.".into()));
            return;
        };
        let window = current
            .with_untracked(|c| c.as_ref().map(|c| c.undo_window_seconds))
            .unwrap_or(30) as f64;
        if now_ms() - l.at_ms > window * 1000.0 {
            draft
                .message
                .set(Some("The undo window has passed.".into()));
            last.set(None);
            return;
        }
        undo.dispatch(UndoReview {
            review_id: l.review_id,
        });
    };
    let do_skip = move || {
        if let Some(s) = current.get_untracked() {
            skip.dispatch(SkipReview { task_id: s.task_id });
        }
    };
    let start_escalation = move || {
        draft.escalating.set(true);
        focus("escalation-note");
    };

    // Keys. Inside a text field only Enter (without Shift) and Escape count.
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let key = ev.key();
            let tag = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .map(|e| e.tag_name().to_ascii_lowercase())
                .unwrap_or_default();
            let typing = matches!(tag.as_str(), "input" | "textarea" | "select");
            if key == "Escape" {
                draft.help.set(false);
                if typing {
                    focus("review-desk");
                } else if draft.escalating.get_untracked() {
                    draft.escalating.set(false);
                }
                return;
            }
            if key == "Enter" && !ev.shift_key() {
                if tag == "button" || tag == "a" {
                    return;
                }
                ev.prevent_default();
                send();
                return;
            }
            if typing {
                return;
            }
            let handled = match key.as_str() {
                "a" | "A" => {
                    draft.verdict.set(Some(HumanVerdict::Approve));
                    true
                }
                "r" | "R" => {
                    draft.verdict.set(Some(HumanVerdict::Reject));
                    true
                }
                "e" | "E" => {
                    start_escalation();
                    true
                }
                "s" | "S" => {
                    do_skip();
                    true
                }
                "u" | "U" => {
                    do_undo();
                    true
                }
                "?" => {
                    draft.help.update(|h| *h = !*h);
                    true
                }
                "n" | "N" => {
                    focus("reason-note");
                    true
                }
                k if k.len() == 1 && k.as_bytes()[0].is_ascii_digit() => {
                    let d = (k.as_bytes()[0] - b'0') as usize;
                    let i = if d == 0 { 9 } else { d - 1 };
                    draft.toggle(Category::ALL[i]);
                    true
                }
                _ => false,
            };
            if handled {
                ev.prevent_default();
            }
        });
        on_cleanup(move || handle.remove());
        // Keep the item reserved while the screen is open.
        let renew = set_interval_with_handle(
            move || {
                if let Some(s) = current.get_untracked().filter(|s| s.held) {
                    leptos::task::spawn_local(async move {
                        if let Ok(false) = crate::api::review::renew_review(s.task_id).await {
                            lost.set(true);
                        }
                    });
                }
            },
            std::time::Duration::from_secs(60),
        );
        if let Ok(h) = renew {
            on_cleanup(move || h.clear());
        }
    }
    let _ = (&send, &do_undo, &do_skip, &start_escalation);

    let busy = move || submit.pending().get() || escalate.pending().get() || skip.pending().get();
    view! {
        <div id="review-desk" tabindex="-1" class="review-desk" data-testid="review-desk">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || screen.get().map(|r: Result<ReviewScreen, AppError>| match r {
                    Err(e) => view! {
                        <ErrorNote error=e/>
                        <p><a href="/queues">"Back to the queues"</a></p>
                    }.into_any(),
                    Ok(s) => view! { <Screen s draft lost/> }.into_any(),
                })}
            </Transition>
            {move || last.get().map(|l| view! {
                <div class="toast" role="status" data-testid="last-review">
                    {format!("Ad {} is now {}. ", l.ad_id, status_label(&l.verdict))}
                    <button class="btn btn-small" on:click=move |_| do_undo()>"Undo (U)"</button>
                </div>
            })}
            <DecisionBar draft busy=Signal::derive(busy) send=Callback::new(move |_| send()) skip=Callback::new(move |_| do_skip()) escalate=Callback::new(move |_| start_escalation())/>
            <Show when=move || draft.help.get()>
                <KeyHelp on_close=Callback::new(move |_| draft.help.set(false))/>
            </Show>
        </div>
    }
}

#[component]
fn Screen(s: ReviewScreen, draft: Draft, lost: RwSignal<bool>) -> impl IntoView {
    let ad = s.ad.clone();
    view! {
        <header class="review-header">
            <div>
                <span class="badge">{s.source.label()}</span>
                " "<strong>{ad.market.clone()}</strong>
                {ad.language.clone().map(|l| format!(" · {l}"))}
                <span class="muted">" · ad "<span data-testid="ad-id">{ad.id}</span>{format!(" · waiting {} · ", s.waiting)}</span>
                <span class=if s.overdue { "bad" } else { "muted" }>{s.due.clone()}</span>
            </div>
            <div class="muted small">
                {format!("{} more in this queue · ", s.remaining)}
                <a href=format!("/queues/list/{}", s.source.as_str())>"list"</a>
                " · press "<kbd>"?"</kbd>" for keys"
            </div>
        </header>
        {move || lost.get().then(|| view! {
            <div class="alert alert-warn" role="alert">"This item is no longer reserved for you (its lease expired or it was decided). "<a href="/queues">"Back to the queues"</a></div>
        })}
        <BreakPrompt run=s.harmful_run after=s.break_after held=s.held/>
        {s.note.clone().map(|n| {
            let title = if s.source == Source::Appeal { "The advertiser's appeal" } else { "Escalation note" };
            view! { <section class="card note-card" data-testid="task-note"><h2>{title}</h2><p dir="auto">{n}</p></section> }
        })}
        <div class="grid-2">
            <AdText ad=ad.clone()/>
            <Machine s=s.clone()/>
        </div>
        <History s=s.clone()/>
        <ReasonPicker s draft/>
    }
}

/// After a run of items from hard-to-look-at categories, a break is offered (not forced: the
/// item stays reserved while they decide).
#[component]
fn BreakPrompt(run: i64, after: i64, held: bool) -> impl IntoView {
    let take = ServerAction::<TakeBreak>::new();
    let dismissed = RwSignal::new(false);
    let navigate = use_navigate();
    let due = held && run >= after;
    Effect::new(move |_| {
        if let Some(Ok(())) = take.value().get() {
            navigate("/queues?break=1", Default::default());
        }
    });
    view! {
        <Show when=move || due && !dismissed.get()>
            <div class="alert alert-warn break-prompt" role="alert" data-testid="break-prompt">
                {format!("You have been handed {run} items in a row from the categories with exposure limits. Step away from the screen for ten minutes; this item waits for you.")}
                <div class="actions">
                    <button class="btn btn-primary btn-small" data-testid="take-break"
                        on:click=move |_| { take.dispatch(TakeBreak {}); }>"Take a break"</button>
                    <button class="btn btn-small" on:click=move |_| dismissed.set(true)>"Not now"</button>
                </div>
            </div>
        </Show>
    }
}

/// The ad as the advertiser wrote it: plain text only, the URL never a live link.
#[component]
fn AdText(ad: AdDetail) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"As submitted"</h2>
            <MarkedAdText ad=ad.clone()/>
            <dl class="facts">
                <dt>"Landing URL"</dt>
                <dd><code data-testid="landing-url">{ad.landing_url.clone().unwrap_or_else(|| "none".into())}</code></dd>
                <dt>"Domain"</dt>
                <dd>{ad.landing_domain.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>"Daily budget"</dt>
                <dd>{format!("${:.2}", ad.daily_budget_usd)}</dd>
                <dt>"Advertiser"</dt>
                <dd><code>{ad.advertiser_id.clone()}</code></dd>
                <dt>"Status"</dt>
                <dd><span class=status_class(&ad.status)>{status_label(&ad.status)}</span></dd>
            </dl>
        </section>
    }
}

/// What the machine did and why.
#[component]
fn Machine(s: ReviewScreen) -> impl IntoView {
    let ad = s.ad;
    view! {
        <section class="card">
            <h2>"The machine"</h2>
            <p data-testid="machine-action">
                {match ad.action.as_deref() {
                    Some("approve") => "Auto-approved".to_string(),
                    Some("reject") => "Auto-rejected".to_string(),
                    Some(_) => format!("Sent to review{}", ad.route.clone().map(|r| format!(" ({r})")).unwrap_or_default()),
                    None => "Not decided".to_string(),
                }}
                {(!ad.reasons.is_empty()).then(|| format!(" · flagged: {}", ad.reasons.join(", ")))}
            </p>
            <RuleHits rules=ad.rules.clone()/>
            <p class="muted small">{match (&ad.model_version, ad.thresholds_version) {
                (Some(m), Some(t)) => format!("Model {m} · thresholds v{t}"),
                _ => String::new(),
            }}</p>
            <ScoreBars scores=ad.scores.clone()/>
            {(!s.policy.is_empty()).then(|| view! {
                <h3>"Market policy"</h3>
                <table class="table compact" data-testid="policy">
                    <thead><tr><th>"Category"</th><th>"Rule"</th><th class="num">"Approve below"</th><th class="num">"Reject at"</th></tr></thead>
                    <tbody>
                        {s.policy.iter().map(|(c, rule, a, r)| view! {
                            <tr><td>{c.replace('_', " ")}</td><td><span class=format!("rule rule-{rule}")>{rule.clone()}</span></td><td class="num">{format!("{a:.2}")}</td><td class="num">{format!("{r:.2}")}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <h3>{format!("What raised the {} score", ad.explained.clone().unwrap_or_else(|| "top".into()).replace('_', " "))}</h3>
            <ContributionBars contributions=ad.contributions.iter().take(8).cloned().collect()/>
        </section>
    }
}

#[component]
fn History(s: ReviewScreen) -> impl IntoView {
    let h = s.history;
    let zone = viewer_zone();
    view! {
        <section class="card" data-testid="advertiser-history">
            <h2>{format!("Advertiser {}", s.ad.advertiser_id)}</h2>
            <p>{format!("{} other ads · {} rejected · {} appeals ({} overturned)", h.ads, h.rejected, h.appeals, h.appeals_overturned)}</p>
            {(!h.recent.is_empty()).then(|| view! {
                <table class="table compact">
                    <tbody>
                        {h.recent.into_iter().map(|(id, headline, status, at)| view! {
                            <tr>
                                <td class="muted small" title=utc_minute(&at)>{let at = at.clone(); move || local_day(&at, &zone.get())}</td>
                                <td class="truncate" dir="auto">{headline}</td>
                                <td><span class=status_class(&status)>{status_label(&status)}</span></td>
                                <td class="muted small">{format!("ad {id}")}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}

#[component]
fn ReasonPicker(s: ReviewScreen, draft: Draft) -> impl IntoView {
    let reasons = s.reasons.clone();
    view! {
        <section class="card reason-card">
            <label for="reason">"Reason "<span class="muted small">"(required when you overrule the machine)"</span></label>
            <select id="reason" data-testid="reason" prop:value=move || draft.reason.get() on:change=move |ev| draft.reason.set(event_target_value(&ev))>
                <option value="">"—"</option>
                {reasons.into_iter().map(|r| view! { <option value=r.code.clone()>{r.label}</option> }).collect_view()}
            </select>
            <label for="reason-note">"Note "<kbd>"N"</kbd></label>
            <textarea id="reason-note" rows="2" maxlength="1000" prop:value=move || draft.note.get() on:input=move |ev| draft.note.set(event_target_value(&ev))></textarea>
            <Show when=move || draft.escalating.get()>
                <label for="escalation-note">"Escalation note for the ops heads (Enter sends, Esc cancels)"</label>
                <textarea id="escalation-note" data-testid="escalation-note" rows="2" maxlength="2000" prop:value=move || draft.escalation_note.get() on:input=move |ev| draft.escalation_note.set(event_target_value(&ev))></textarea>
            </Show>
        </section>
    }
}

/// Verdict, categories and the action buttons, each with its key.
#[component]
fn DecisionBar(
    draft: Draft,
    busy: Signal<bool>,
    send: Callback<()>,
    skip: Callback<()>,
    escalate: Callback<()>,
) -> impl IntoView {
    let verdict_class = move |v: HumanVerdict| {
        if draft.verdict.get() == Some(v) {
            match v {
                HumanVerdict::Approve => "btn btn-approve active",
                HumanVerdict::Reject => "btn btn-reject active",
            }
        } else {
            "btn"
        }
    };
    view! {
        <div class="decision-bar" data-testid="decision-bar">
            // What is missing before a submit, where the reviewer is looking.
            {move || draft.message.get().map(|m| view! { <div class="alert alert-warn decision-message" role="alert" data-testid="review-message">{m}</div> })}
            <div class="verdicts">
                <button class=move || verdict_class(HumanVerdict::Approve) data-testid="verdict-approve"
                    aria-pressed=move || (draft.verdict.get() == Some(HumanVerdict::Approve)).to_string()
                    on:click=move |_| draft.verdict.set(Some(HumanVerdict::Approve))><kbd>"A"</kbd>" Approve"</button>
                <button class=move || verdict_class(HumanVerdict::Reject) data-testid="verdict-reject"
                    aria-pressed=move || (draft.verdict.get() == Some(HumanVerdict::Reject)).to_string()
                    on:click=move |_| draft.verdict.set(Some(HumanVerdict::Reject))><kbd>"R"</kbd>" Reject"</button>
            </div>
            <div class="categories" role="group" aria-label="Violated categories">
                {Category::ALL.into_iter().enumerate().map(|(i, c)| {
                    let key = (i + 1) % 10;
                    view! {
                        <label class="cat" class:on=move || draft.categories.read().contains(&c) data-testid=format!("cat-{}", c.as_str())>
                            <input type="checkbox" tabindex="-1"
                                prop:checked=move || draft.categories.read().contains(&c)
                                on:change=move |_| draft.toggle(c)/>
                            <kbd>{key.to_string()}</kbd>" "{c.as_str().replace('_', " ")}
                        </label>
                    }
                }).collect_view()}
            </div>
            <div class="actions">
                <button class="btn" on:click=move |_| skip.run(()) disabled=move || busy.get()><kbd>"S"</kbd>" Skip"</button>
                <button class="btn" on:click=move |_| escalate.run(()) disabled=move || busy.get()><kbd>"E"</kbd>" Escalate"</button>
                <button class="btn btn-primary" data-testid="submit" on:click=move |_| send.run(()) disabled=move || busy.get()><kbd>"Enter"</kbd>" Submit & next"</button>
            </div>
        </div>
    }
}

#[component]
fn KeyHelp(on_close: Callback<()>) -> impl IntoView {
    let keys = [
        ("A", "Approve"),
        ("R", "Reject"),
        ("1 … 9, 0", "Tick or untick a category (in the order shown)"),
        ("N", "Write a note"),
        (
            "Enter",
            "Submit and open the next item (or send the escalation)",
        ),
        ("E", "Escalate to the ops heads with a note"),
        ("S", "Skip: put the item back in the queue"),
        ("U", "Undo your last submission (shortly after)"),
        ("Esc", "Leave a text field / close this help"),
        ("?", "Show or hide this help"),
    ];
    view! {
        <div class="overlay" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" data-testid="key-help">
            <div class="overlay-card">
                <h2>"Keyboard shortcuts"</h2>
                <table class="table compact">
                    <tbody>
                        {keys.into_iter().map(|(k, what)| view! { <tr><td><kbd>{k}</kbd></td><td>{what}</td></tr> }).collect_view()}
                    </tbody>
                </table>
                <button class="btn" on:click=move |_| on_close.run(())>"Close (Esc)"</button>
            </div>
        </div>
    }
}
