//! The golden-item cards of the queues page: accuracy on golden items (every reviewer's for an
//! ops head, a reviewer's own otherwise), and for ops heads the golden set: its share of each
//! reviewer's items, its items, and a bulk import from an `amso export-labels` file.

use crate::api::golden::{
    Accuracy, ImportGolden, SetGoldenRate, UnmarkGolden, get_golden_accuracy, get_golden_set,
};
use crate::components::{ErrorNote, When};
use leptos::prelude::*;

/// "83% (61–94%)", or "too few (3)" below the smallest sample a rate is given for.
pub fn accuracy_text(a: &Accuracy) -> String {
    match a.rate {
        Some((r, low, high)) => format!(
            "{:.0}% ({:.0}–{:.0}%)",
            r * 100.0,
            low * 100.0,
            high * 100.0
        ),
        None if a.answered == 0 => "—".into(),
        None => format!("too few ({})", a.answered),
    }
}

/// Accuracy on golden items over the last 7 days, per category, beside QA agreement and the
/// override rate; `team` for ops heads (every reviewer), otherwise the person's own.
#[component]
pub fn GoldenAccuracyTable(team: bool) -> impl IntoView {
    let scores = Resource::new(|| (), |_| get_golden_accuracy(7));
    view! {
        <section class="card" data-testid="golden-accuracy">
            <h2>{if team { "Accuracy on golden items, last 7 days" } else { "Your accuracy on golden items, last 7 days" }}</h2>
            <p class="muted small">"Golden items are decided ads with a known right answer, handed now and then like any other item. Right means the same verdict and, for a rejection, every violated category the answer names. Rates carry their 95% interval; below 5 answers a cell shows only the counts (too few for a rate)."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || scores.get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(g) if g.rows.is_empty() => view! {
                        <p class="muted" data-testid="golden-none">"No golden items answered in the last 7 days."</p>
                    }.into_any(),
                    Ok(g) => {
                        let categories = g.categories.clone();
                        view! {
                            <div class="table-scroll"><table class="table table-compact">
                                <thead><tr>
                                    <th>"Reviewer"</th>
                                    <th class="num">"Golden right"</th>
                                    {categories.iter().map(|c| view! { <th class="num">{c.replace('_', " ")}</th> }).collect_view()}
                                    <th class="num">"QA agreement"</th>
                                    <th class="num">"Overrides"</th>
                                </tr></thead>
                                <tbody>
                                    {g.rows.into_iter().map(|r| {
                                        let cells = categories.iter().map(|c| {
                                            let cell = r.by_category.iter().find(|(x, _)| x == c).map(|(_, a)| a.clone());
                                            view! { <AccuracyCell accuracy=cell test_id=format!("golden-{c}")/> }
                                        }).collect_view();
                                        view! {
                                            <tr data-testid="golden-row">
                                                <td>{r.name}</td>
                                                <AccuracyCell accuracy=Some(r.overall) test_id="golden-overall".to_string()/>
                                                {cells}
                                                <AccuracyCell accuracy=Some(r.qa) test_id="golden-qa".to_string()/>
                                                <td class="num">{if r.reviews == 0 { "—".to_string() } else { format!("{:.1}%", 100.0 * r.overrides as f64 / r.reviews as f64) }}
                                                    <div class="muted small">{format!("{} of {}", r.overrides, r.reviews)}</div>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// One accuracy figure: the rate and its interval over "right of answered", or below the
/// smallest sample only the counts, muted.
#[component]
fn AccuracyCell(accuracy: Option<Accuracy>, test_id: String) -> impl IntoView {
    match accuracy {
        None => view! { <td class="num muted" data-testid=test_id>"—"</td> }.into_any(),
        Some(a) if a.rate.is_none() => view! {
            <td class="num muted" data-testid=test_id title="Fewer than 5 answers: too few for a rate">
                {if a.answered == 0 { "—".to_string() } else { format!("{} of {}", a.right, a.answered) }}
            </td>
        }.into_any(),
        Some(a) => view! {
            <td class="num nowrap" data-testid=test_id>{accuracy_text(&a)}
                <div class="muted small">{format!("{} of {}", a.right, a.answered)}</div>
            </td>
        }.into_any(),
    }
}

/// The golden set (ops heads): the share of each reviewer's items that are golden, the items
/// with how reviewers did on each, and a bulk import.
#[component]
pub fn GoldenSetCard() -> impl IntoView {
    let set_rate = ServerAction::<SetGoldenRate>::new();
    let import = ServerAction::<ImportGolden>::new();
    let unmark = ServerAction::<UnmarkGolden>::new();
    let set = Resource::new(
        move || {
            (
                set_rate.version().get(),
                import.version().get(),
                unmark.version().get(),
            )
        },
        |_| get_golden_set(),
    );
    let rate = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    view! {
        <section class="card" data-testid="golden-set">
            <h2>"Golden set"</h2>
            {move || set_rate.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
            {move || unmark.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || set.get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(s) => view! {
                        <p class="small" data-testid="golden-rate">{format!(
                            "{} golden item(s); {:.1}% of each reviewer's items are golden. Mark one from its ad page.",
                            s.items.len(), s.rate * 100.0
                        )}</p>
                        {(!s.items.is_empty()).then(|| view! {
                            <details>
                                <summary>"The items"</summary>
                                <table class="table">
                                    <thead><tr><th>"Ad"</th><th>"Market"</th><th>"Right answer"</th><th class="num">"Answered right"</th><th>"Marked"</th><th></th></tr></thead>
                                    <tbody>
                                        {s.items.into_iter().map(|g| {
                                            let id = g.ad_id;
                                            view! {
                                                <tr data-testid="golden-item">
                                                    <td><a href=format!("/ads/{id}")>{g.headline}</a><div class="muted small">{g.external_id}</div></td>
                                                    <td>{g.market}</td>
                                                    <td>{if g.categories.is_empty() { g.verdict.clone() } else { format!("{}: {}", g.verdict, g.categories.join(", ")) }}</td>
                                                    <td class="num">{format!("{} of {}", g.answers.right, g.answers.answered)}</td>
                                                    <td class="small">{g.marked_by}<div class="muted"><When at=g.marked_at.clone() with_zone=true/></div></td>
                                                    <td><button class="btn btn-small" on:click=move |_| { unmark.dispatch(UnmarkGolden { ad_id: id }); }>"Remove"</button></td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </details>
                        })}
                    }.into_any(),
                })}
            </Transition>
            <form class="toolbar" data-testid="golden-rate-form" on:submit=move |ev| {
                ev.prevent_default();
                if let Ok(pct) = rate.get().trim().trim_end_matches('%').parse::<f64>() {
                    set_rate.dispatch(SetGoldenRate { rate: pct / 100.0 });
                }
            }>
                <label>"Golden share of each reviewer's items (%)"
                    <input type="number" min="0" max="100" step="0.5" placeholder="2" data-testid="golden-rate-input"
                        prop:value=rate on:input=move |ev| rate.set(event_target_value(&ev))/>
                </label>
                <button type="submit" class="btn btn-small">"Save"</button>
            </form>
            <details>
                <summary>"Import from an export-labels file"</summary>
                <p class="muted small">"Paste lines of " <code>"amso export-labels"</code> " (one JSON object a line: external_id, labels; no labels means approve). Lines that do not load are listed with their number; the others are marked."</p>
                <textarea rows="4" class="wide" data-testid="golden-import-text" prop:value=text on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                <button class="btn btn-small" on:click=move |_| { import.dispatch(ImportGolden { text: text.get() }); }>"Import"</button>
                {move || import.value().get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(i) => view! {
                        <p class="small" data-testid="golden-import-result">{format!("Marked {} golden item(s).", i.marked)}</p>
                        <ul class="small">{i.errors.into_iter().map(|(line, why)| view! { <li>{format!("line {line}: {why}")}</li> }).collect_view()}</ul>
                    }.into_any(),
                })}
            </details>
        </section>
    }
}

/// The ad page's golden box (ops heads): the ad's right answer if it is golden, and a form
/// to mark it or change the answer. Others see nothing.
#[component]
pub fn GoldenBox(#[prop(into)] ad_id: Signal<i64>) -> impl IntoView {
    use crate::api::golden::{MarkGolden, get_ad_golden};
    use amso_core::vocab::policy::Category;
    let mark = ServerAction::<MarkGolden>::new();
    let unmark = ServerAction::<UnmarkGolden>::new();
    let current = Resource::new(
        move || (ad_id.get(), mark.version().get(), unmark.version().get()),
        |(id, _, _)| get_ad_golden(id),
    );
    let verdict = RwSignal::new("reject".to_string());
    let chosen = RwSignal::new(Vec::<String>::new());
    view! {
        <Transition fallback=|| ()>
            {move || current.get().and_then(Result::ok).map(|g| {
                let (decided, answer) = (g.decided, g.answer);
                let ad_id = ad_id.get_untracked();
                view! {
                <section class="card" data-testid="golden-box">
                    <h2>"Golden item"</h2>
                    {move || mark.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
                    {match &answer {
                        Some((v, c)) => view! {
                            <p data-testid="golden-answer">{format!("Golden: the right answer is {}{}", v, if c.is_empty() { String::new() } else { format!(" ({})", c.join(", ")) })}</p>
                            <button class="btn btn-small" on:click=move |_| { unmark.dispatch(UnmarkGolden { ad_id }); }>"Remove from the golden set"</button>
                        }.into_any(),
                        None if !decided => view! { <p class="muted">"Only a decided ad can be golden."</p> }.into_any(),
                        None => view! { <p class="muted">"Not golden. Mark it with its right answer and reviewers will be handed it now and then, looking like any other item."</p> }.into_any(),
                    }}
                    {decided.then(|| view! {
                        <form class="toolbar" data-testid="golden-form" on:submit=move |ev| {
                            ev.prevent_default();
                            let categories = if verdict.get() == "reject" { chosen.get() } else { Vec::new() };
                            mark.dispatch(MarkGolden { ad_id, verdict: verdict.get(), categories });
                        }>
                            <label>"Right answer"
                                <select data-testid="golden-verdict" prop:value=move || verdict.get() on:change=move |ev| verdict.set(event_target_value(&ev))>
                                    <option value="reject">"reject"</option>
                                    <option value="approve">"approve"</option>
                                </select>
                            </label>
                            <fieldset class="inline" prop:disabled=move || verdict.get() != "reject">
                                {Category::ALL.map(|c| {
                                    let name = c.as_str();
                                    view! {
                                        <label class="check">
                                            <input type="checkbox" data-testid=format!("golden-cat-{name}")
                                                prop:checked=move || chosen.get().iter().any(|x| x == name)
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    chosen.update(|v| {
                                                        v.retain(|x| x != name);
                                                        if on { v.push(name.to_string()); }
                                                    });
                                                }/>
                                            {name.replace('_', " ")}
                                        </label>
                                    }
                                }).collect_view()}
                            </fieldset>
                            <button type="submit" class="btn btn-small" data-testid="golden-save">"Mark golden"</button>
                        </form>
                    })}
                </section>
            }})}
        </Transition>
    }
}
