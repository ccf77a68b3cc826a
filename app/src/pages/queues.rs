//! `/queues`: the queues a person works, with sizes, ages and their own day; and
//! `/queues/list/:source`: one queue as a table with filters and bulk decisions.

use crate::AuthContext;
use crate::api::review::{
    BulkReview, LanguageRow, OpenReview, QueueRow, StartReview, get_queue_overview,
    get_team_numbers, list_review_queue,
};
use crate::api::wellness::{SetBreakAfter, SetExposureCap, get_exposure};
use crate::components::time::{local_minute, utc_minute, zone_label};
use crate::components::{ErrorNote, Guarded};
use crate::pages::golden::{GoldenAccuracyTable, GoldenSetCard};
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use amso_core::vocab::queue::Source;
use amso_core::vocab::role::{Area, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

/// The queues page.
#[component]
pub fn QueuesPage() -> impl IntoView {
    view! {
        <Title text="Queues"/>
        <Guarded area=Area::Queues>
            <QueuesOverview/>
        </Guarded>
    }
}

fn pct(n: i64, of: i64) -> String {
    if of == 0 {
        "—".into()
    } else {
        format!("{:.0}%", 100.0 * n as f64 / of as f64)
    }
}

#[component]
fn QueuesOverview() -> impl IntoView {
    let auth = expect_context::<AuthContext>();
    let start = ServerAction::<StartReview>::new();
    let overview = Resource::new(|| (), |_| get_queue_overview());
    let query = use_query_map();
    let navigate = use_navigate();
    // Claimed: open the review screen. Nothing left: say so.
    Effect::new(move |_| {
        if let Some(Ok(Some(task))) = start.value().get() {
            navigate(&format!("/queues/item/{task}"), Default::default());
        }
    });
    let is_ops = move || {
        auth.viewer
            .get()
            .and_then(|v| v.ok().flatten())
            .is_some_and(|v| v.role == Role::OpsHead)
    };
    // Counts stay current without a reload: the server says when they change.
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        if let Ok(source) = web_sys::EventSource::new("/api/v1/stream") {
            let on_change = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
                overview.refetch();
            });
            let _ = source
                .add_event_listener_with_callback("queues", on_change.as_ref().unchecked_ref());
            let kept = StoredValue::new_local((source, on_change));
            on_cleanup(move || kept.with_value(|(source, _)| source.close()));
        }
    }
    view! {
        <header class="page-header">
            <h1>"Review queues"</h1>
            <p class="muted">"Items are handed out most urgent first (SLA due time, then risk: top score × daily budget). Each is reserved for you while you work on it."</p>
        </header>
        {move || query.read().get("break").map(|_| view! {
            <div class="alert alert-ok" role="status" data-testid="on-break">"Enjoy the break. The item you held stays yours for a few minutes; after that it goes back to the queue."</div>
        })}
        {move || query.read().get("empty").map(|s| view! {
            <div class="alert" role="status" data-testid="queue-empty">{format!("Nothing left for you in {}. Well done.", s.parse::<Source>().map(|s| s.label()).unwrap_or("that queue"))}</div>
        })}
        {move || start.value().get().map(|r| match r {
            Ok(None) => view! { <div class="alert" role="status" data-testid="queue-empty">"That queue has nothing for you right now."</div> }.into_any(),
            Ok(Some(_)) => ().into_any(),
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || overview.get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(o) => view! {
                    {o.held.map(|(task, source)| view! {
                        <div class="alert" role="status">
                            {format!("You are holding an item in {}. ", source.label())}
                            <a href=format!("/queues/item/{task}") data-testid="resume">"Resume it"</a>
                        </div>
                    })}
                    <p class="muted" data-testid="scope">{format!("Your markets: {}", o.markets.join(", "))}</p>
                    <div class="queue-cards">
                        {o.queues.into_iter().map(|q| {
                            let source = q.source;
                            view! {
                                <section class="card queue-card" data-testid=format!("queue-{}", source.as_str())>
                                    <h2>{source.label()}</h2>
                                    <p class="muted small">{source.describe()}</p>
                                    <p class="queue-count">
                                        <span class="big" data-testid="queue-open">{q.open}</span>" open"
                                        {(q.open != q.available).then(|| view! {
                                            " · "<span data-testid="queue-available">{q.available}</span>" for you now"
                                        })}
                                    </p>
                                    <p class="small">
                                        {q.oldest_age.clone().map(|a| format!("Oldest waiting {a}")).unwrap_or_else(|| "Empty".into())}
                                        {(q.overdue > 0).then(|| view! { <span class="badge badge-err">{format!("{} past SLA", q.overdue)}</span> })}
                                    </p>
                                    <div class="actions">
                                        <button class="btn btn-primary" disabled=q.available == 0
                                            data-testid=format!("start-{}", source.as_str())
                                            on:click=move |_| { start.dispatch(StartReview { source: source.as_str().to_string() }); }>
                                            "Start reviewing"
                                        </button>
                                        <a class="btn" href=format!("/queues/list/{}", source.as_str())>"List"</a>
                                    </div>
                                </section>
                            }
                        }).collect_view()}
                    </div>
                    <section class="card" data-testid="my-day">
                        <h2 title=format!(
                            "Since {} {} ({})",
                            local_minute(&o.day_from, &o.time_zone).unwrap_or_default(),
                            zone_label(&o.time_zone),
                            utc_minute(&o.day_from),
                        )>
                            "Your day " <span class="muted small" data-testid="my-day-zone">{format!("({})", o.time_zone)}</span>
                        </h2>
                        <dl class="facts facts-row">
                            <dt>"Reviews"</dt><dd data-testid="my-day-reviews">{o.today.reviews}</dd>
                            <dt>"Overrides of the machine"</dt><dd>{o.today.overrides}</dd>
                            <dt>"Median handling time"</dt><dd>{o.today.median_handling.clone().unwrap_or_else(|| "—".into())}</dd>
                            <dt>"Agreed with QA second reviews"</dt><dd>{format!("{} of {} ({})", o.today.qa_agreed, o.today.qa_checked, pct(o.today.qa_agreed, o.today.qa_checked))}</dd>
                            <dt>"Agreed with the machine on audits"</dt><dd>{format!("{} of {} ({})", o.today.audits_agreed, o.today.audits, pct(o.today.audits_agreed, o.today.audits))}</dd>
                        </dl>
                    </section>
                    <LanguageTable rows=o.languages reads=o.reads/>
                }.into_any(),
            })}
        </Transition>
        <Show when=is_ops fallback=|| view! { <GoldenAccuracyTable team=false/> }>
            <TeamTable/>
            <GoldenAccuracyTable team=true/>
            <GoldenSetCard/>
            <ExposureTable/>
        </Show>
    }
}

/// The reviewers' backlog by market and language, with who can be handed it; languages
/// nobody on the team reads come first, flagged: claim-next hands those items to nobody.
#[component]
fn LanguageTable(rows: Vec<LanguageRow>, reads: Vec<String>) -> impl IntoView {
    let unread: i64 = rows
        .iter()
        .filter(|r| r.readers.is_empty())
        .map(|r| r.open)
        .sum();
    let reads_label = if reads.is_empty() {
        "You are handed items in any language.".to_string()
    } else {
        format!(
            "You are handed items in {} (and ads that declare no language).",
            reads.join(", ")
        )
    };
    view! {
        <section class="card" data-testid="languages">
            <h2>"Backlog by language"</h2>
            <p class="muted small">{reads_label}</p>
            {(unread > 0).then(|| view! {
                <div class="alert alert-error" role="alert" data-testid="unread-alert">
                    {format!("{unread} open item(s) are in a language no reviewer of their market reads: nobody is handed them. Add a reader (Users page, or amso user set --languages).")}
                </div>
            })}
            {if rows.is_empty() {
                view! { <p class="muted">"Nothing waiting."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th>"Market"</th><th>"Language"</th><th class="num">"Open"</th><th class="num">"Past SLA"</th><th>"Oldest"</th><th>"Who can take it"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| {
                                let nobody = r.readers.is_empty();
                                let lang = r.language.clone().unwrap_or_else(|| "not declared".into());
                                let test_id = format!("lang-{}-{}", r.market, r.language.as_deref().unwrap_or("none"));
                                view! {
                                    <tr class:lang-none=nobody data-testid=test_id>
                                        <td>{r.market}</td>
                                        <td>{lang}</td>
                                        <td class="num">{r.open}</td>
                                        <td class="num">{r.overdue}</td>
                                        <td>{r.oldest_age.unwrap_or_else(|| "—".into())}</td>
                                        <td data-testid="readers">{if nobody {
                                            view! { <span class="badge badge-err">"Nobody reads it"</span> }.into_any()
                                        } else {
                                            r.readers.join(", ").into_any()
                                        }}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// What each reviewer was shown today and this week in the capped categories, against the
/// caps; the caps and the break setting, editable (audited).
#[component]
fn ExposureTable() -> impl IntoView {
    let set_cap = ServerAction::<SetExposureCap>::new();
    let set_break = ServerAction::<SetBreakAfter>::new();
    let exposure = Resource::new(
        move || (set_cap.version().get(), set_break.version().get()),
        |_| get_exposure(),
    );
    let category = RwSignal::new("adult".to_string());
    let cap = RwSignal::new(String::new());
    let break_after = RwSignal::new(String::new());
    view! {
        <section class="card" data-testid="exposure">
            <h2>"Exposure to hard content"</h2>
            <p class="muted small">"Items each reviewer was handed in the categories with a daily limit: today and over the last 7 days, each in the reviewer's own time zone. Past a limit, claim-next hands them none of that category until their next day."</p>
            {move || set_cap.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
            {move || set_break.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || exposure.get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(x) => {
                        let caps = x.caps.clone();
                        view! {
                            <p class="small" data-testid="caps">
                                {if caps.is_empty() { "No daily limits.".to_string() } else {
                                    format!("Daily limits: {}. A break is offered after {} such items in a row.",
                                        caps.iter().map(|(c, n)| format!("{} {n}", c.replace('_', " "))).collect::<Vec<_>>().join(", "), x.break_after)
                                }}
                            </p>
                            {if x.rows.is_empty() {
                                view! { <p class="muted">"No reviewers."</p> }.into_any()
                            } else {
                                let heads = caps.clone();
                                view! {
                                    <table class="table">
                                        <thead><tr>
                                            <th>"Reviewer"</th>
                                            {heads.into_iter().map(|(c, n)| view! { <th class="num">{format!("{} today / {n}", c.replace('_', " "))}</th><th class="num">"7 days"</th> }).collect_view()}
                                            <th class="num">"In a row"</th>
                                        </tr></thead>
                                        <tbody>
                                            {x.rows.into_iter().map(|r| {
                                                let caps = caps.clone();
                                                view! {
                                                    <tr data-testid="exposure-row">
                                                        <td>{r.name}<div class="muted small">{r.time_zone}</div></td>
                                                        {r.today.iter().zip(&r.week).zip(&caps).map(|((t, w), (_, cap))| {
                                                            let full = *t >= *cap;
                                                            view! {
                                                                <td class="num" class:bad=full>{*t}{full.then_some(" (limit)")}</td>
                                                                <td class="num">{*w}</td>
                                                            }
                                                        }).collect_view()}
                                                        <td class="num">{r.run}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        }.into_any()
                    }
                })}
            </Transition>
            <form class="toolbar" data-testid="cap-form" on:submit=move |ev| {
                ev.prevent_default();
                let text = cap.get();
                let daily_cap = text.trim().parse::<i64>().ok();
                if text.trim().is_empty() || daily_cap.is_some() {
                    set_cap.dispatch(SetExposureCap { category: category.get(), daily_cap });
                }
            }>
                <label>"Category"
                    <select on:change=move |ev| category.set(event_target_value(&ev)) prop:value=move || category.get()>
                        {Category::ALL.map(|c| view! { <option value=c.as_str()>{c.as_str().replace('_', " ")}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Daily limit"
                    <input type="number" min="0" step="1" placeholder="empty: no limit" data-testid="cap-input"
                        prop:value=cap on:input=move |ev| cap.set(event_target_value(&ev))/>
                </label>
                <button type="submit" class="btn btn-small" data-testid="cap-save">"Set limit"</button>
            </form>
            <form class="toolbar" on:submit=move |ev| {
                ev.prevent_default();
                if let Ok(n) = break_after.get().trim().parse::<i64>() {
                    set_break.dispatch(SetBreakAfter { break_after: n });
                }
            }>
                <label>"Offer a break after"
                    <input type="number" min="1" step="1" data-testid="break-input"
                        prop:value=break_after on:input=move |ev| break_after.set(event_target_value(&ev))/>
                </label>
                " items in a row "
                <button type="submit" class="btn btn-small">"Save"</button>
            </form>
        </section>
    }
}

#[component]
fn TeamTable() -> impl IntoView {
    let team = Resource::new(|| (), |_| get_team_numbers(7));
    view! {
        <section class="card" data-testid="team">
            <h2>"Reviewers, last 7 days"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || team.get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(t) => view! {
                        <p class="muted">{match t.kappa {
                            Some(k) => format!("Inter-reviewer agreement (Cohen's κ over {} QA pairs): {k:.2}", t.qa_pairs),
                            None => format!("Inter-reviewer agreement: not enough QA pairs yet ({}).", t.qa_pairs),
                        }}</p>
                        {if t.rows.is_empty() {
                            view! { <p class="muted">"No reviews in this period."</p> }.into_any()
                        } else {
                            view! {
                                <table class="table">
                                    <thead><tr><th>"Reviewer"</th><th class="num">"Reviews"</th><th class="num">"Overrides"</th><th class="num">"Median handling"</th><th class="num">"QA agreement"</th><th class="num">"Audit agreement"</th></tr></thead>
                                    <tbody>
                                        {t.rows.into_iter().map(|r| view! {
                                            <tr>
                                                <td>{r.name}<div class="muted small">{r.email}</div></td>
                                                <td class="num">{r.numbers.reviews}</td>
                                                <td class="num">{r.numbers.overrides}</td>
                                                <td class="num">{r.numbers.median_handling.unwrap_or_else(|| "—".into())}</td>
                                                <td class="num">{format!("{} ({}/{})", pct(r.numbers.qa_agreed, r.numbers.qa_checked), r.numbers.qa_agreed, r.numbers.qa_checked)}</td>
                                                <td class="num">{format!("{} ({}/{})", pct(r.numbers.audits_agreed, r.numbers.audits), r.numbers.audits_agreed, r.numbers.audits)}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }}
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// One queue as a table: filters, selection and bulk decisions.
#[component]
pub fn QueueListPage() -> impl IntoView {
    view! {
        <Title text="Queue"/>
        <Guarded area=Area::Queues>
            <QueueList/>
        </Guarded>
    }
}

#[component]
fn QueueList() -> impl IntoView {
    let params = use_params_map();
    let source = move || {
        params
            .read()
            .get("source")
            .and_then(|s| s.parse::<Source>().ok())
            .unwrap_or(Source::Uncertain)
    };
    let market = RwSignal::new(String::new());
    let category = RwSignal::new(String::new());
    let band = RwSignal::new(String::new());
    let min_age = RwSignal::new(String::new());
    let bulk = ServerAction::<BulkReview>::new();
    let open = ServerAction::<OpenReview>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(task)) = open.value().get() {
            navigate(&format!("/queues/item/{task}"), Default::default());
        }
    });
    let rows = Resource::new(
        move || {
            (
                source(),
                market.get(),
                category.get(),
                band.get(),
                min_age.get(),
                bulk.version().get(),
            )
        },
        |(s, m, c, b, a, _)| list_review_queue(s.as_str().to_string(), m, c, b, a),
    );
    let selected = RwSignal::new(Vec::<i64>::new());
    let verdict = RwSignal::new("approve".to_string());
    let reason = RwSignal::new(String::new());
    let bulk_category = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let select_all = move |items: Vec<QueueRow>| {
        selected.set(
            items
                .iter()
                .filter(|r| r.held_by.is_none())
                .map(|r| r.task_id)
                .collect(),
        );
    };
    view! {
        <header class="page-header">
            <h1>{move || format!("{} — list", source().label())}</h1>
            <p class="muted">{move || source().describe()}</p>
            <p><a href="/queues">"← All queues"</a></p>
        </header>
        <form class="toolbar filters card" on:submit=|ev| ev.prevent_default()>
            <label>"Market"
                <select on:change=move |ev| market.set(event_target_value(&ev)) prop:value=move || market.get()>
                    <option value="">"Any of mine"</option>
                    {Market::ALL.map(|m| view! { <option value=m.code()>{m.code()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Category"
                <select on:change=move |ev| category.set(event_target_value(&ev)) prop:value=move || category.get()>
                    <option value="">"Any"</option>
                    {Category::ALL.map(|c| view! { <option value=c.as_str()>{c.as_str().replace('_', " ")}</option> }).collect_view()}
                </select>
            </label>
            <label>"Top score"
                <select on:change=move |ev| band.set(event_target_value(&ev)) prop:value=move || band.get()>
                    <option value="">"Any"</option>
                    <option value="low">"below 0.5"</option>
                    <option value="mid">"0.5 – 0.8"</option>
                    <option value="high">"0.8 and above"</option>
                </select>
            </label>
            <label>"Waiting at least (min)"
                <input type="number" min="0" prop:value=move || min_age.get() on:change=move |ev| min_age.set(event_target_value(&ev))/>
            </label>
        </form>
        {move || open.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
        {move || bulk.value().get().map(|r| match r {
            Ok(b) => view! {
                <div class="alert alert-ok" role="status" data-testid="bulk-result">
                    {format!("Decided {} item(s).", b.decided)}
                    {(!b.refused.is_empty()).then(|| format!(" Refused {}: {}", b.refused.len(), b.refused.iter().map(|(id, why)| format!("#{id} {why}")).collect::<Vec<_>>().join("; ")))}
                </div>
            }.into_any(),
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })}
        <Show when=move || source().allows_bulk()>
            <form class="card bulk-bar" on:submit=move |ev| {
                ev.prevent_default();
                let cats = if bulk_category.get().is_empty() { vec![] } else { vec![bulk_category.get()] };
                bulk.dispatch(BulkReview {
                    task_ids: selected.get(),
                    verdict: verdict.get(),
                    categories: cats,
                    reason_code: reason.get(),
                    reason_text: note.get(),
                });
                selected.set(vec![]);
            }>
                <strong>{move || format!("{} selected", selected.read().len())}</strong>
                <select prop:value=move || verdict.get() on:change=move |ev| verdict.set(event_target_value(&ev)) aria-label="Verdict">
                    <option value="approve">"Approve"</option>
                    <option value="reject">"Reject"</option>
                </select>
                <select prop:value=move || bulk_category.get() on:change=move |ev| bulk_category.set(event_target_value(&ev)) aria-label="Violated category">
                    <option value="">"No category"</option>
                    {Category::ALL.map(|c| view! { <option value=c.as_str()>{c.as_str().replace('_', " ")}</option> }).collect_view()}
                </select>
                <BulkReasons reason/>
                <input type="text" placeholder="Note (optional)" prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))/>
                <button class="btn btn-primary" type="submit" disabled=move || selected.read().is_empty() data-testid="bulk-submit">"Decide selected"</button>
            </form>
        </Show>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || rows.get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(items) if items.is_empty() => view! { <section class="empty-state"><p>"No open items match."</p></section> }.into_any(),
                Ok(items) => {
                    let all = items.clone();
                    view! {
                        <table class="table" data-testid="queue-table">
                            <thead><tr>
                                <th><input type="checkbox" aria-label="Select all" on:change=move |ev| if event_target_checked(&ev) { select_all(all.clone()) } else { selected.set(vec![]) }/></th>
                                <th>"Market"</th><th>"Ad"</th><th>"Flagged"</th><th class="num">"Top score"</th><th>"Waiting"</th><th>"SLA"</th><th class="num">"Risk $"</th><th>"Held by"</th><th></th>
                            </tr></thead>
                            <tbody>
                                {items.into_iter().map(|r| {
                                    let id = r.task_id;
                                    let free = r.held_by.is_none();
                                    view! {
                                        <tr>
                                            <td><input type="checkbox" disabled=!free aria-label=format!("Select item {id}")
                                                prop:checked=move || selected.read().contains(&id)
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    selected.update(|s| { s.retain(|x| *x != id); if on { s.push(id); } });
                                                }/></td>
                                            <td>{r.market.clone()}{r.language.clone().map(|l| format!(" · {l}"))}</td>
                                            <td class="truncate" dir="auto">{r.headline.clone()}<div class="muted small">{format!("ad {} · {}", r.ad_id, r.advertiser_id)}</div></td>
                                            <td>{r.reasons.join(", ")}</td>
                                            <td class="num">{format!("{:.2}", r.top_score)}{r.top_category.clone().map(|c| view! { <div class="muted small">{c}</div> })}</td>
                                            <td>{r.waiting.clone()}</td>
                                            <td class=if r.overdue { "bad" } else { "" }>{r.due.clone()}</td>
                                            <td class="num">{format!("{:.0}", r.risk)}</td>
                                            <td>{r.held_by.clone().unwrap_or_default()}</td>
                                            <td>{free.then(|| view! {
                                                <button class="btn btn-small" data-testid=format!("open-{id}") on:click=move |_| { open.dispatch(OpenReview { task_id: id }); }>"Review"</button>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn BulkReasons(reason: RwSignal<String>) -> impl IntoView {
    let reasons = Resource::new(|| (), |_| crate::api::review::list_reason_codes());
    view! {
        <Transition fallback=|| ()>
            {move || reasons.get().map(|r| {
                let list = r.unwrap_or_default();
                view! {
                    <select prop:value=move || reason.get() on:change=move |ev| reason.set(event_target_value(&ev)) aria-label="Reason" data-testid="bulk-reason">
                        <option value="">"Reason…"</option>
                        {list.into_iter().map(|r| view! { <option value=r.code.clone()>{r.label}</option> }).collect_view()}
                    </select>
                }
            })}
        </Transition>
    }
}
