//! An ad as the ad page and the review screen show it: its text with the words that drove the
//! scores marked, the score bars, the n-gram contributions, and its status badge.

use crate::api::ads::{AdDetail, Contribution};
use leptos::prelude::*;

pub const STATUSES: [(&str, &str); 7] = [
    ("queued", "Queued"),
    ("auto_approved", "Auto-approved"),
    ("auto_rejected", "Auto-rejected"),
    ("in_review", "In review"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("appealed", "Appealed"),
];

/// An ad status as people read it.
pub fn status_label(status: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("Unknown", |(_, l)| l)
}

/// The badge class of an ad status.
pub fn status_class(status: &str) -> &'static str {
    match status {
        "auto_approved" | "approved" => "badge badge-ok",
        "auto_rejected" | "rejected" => "badge badge-err",
        "in_review" | "appealed" => "badge badge-warn",
        _ => "badge badge-muted",
    }
}

/// Splits `text` into runs, marking the words among `words` (case-insensitive).
fn highlight(text: &str, words: &[String]) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let flush = |cur: &mut String, in_word: bool, out: &mut Vec<(String, bool)>| {
        if !cur.is_empty() {
            let hit = in_word && words.iter().any(|w| *w == cur.to_lowercase());
            out.push((std::mem::take(cur), hit));
        }
    };
    for c in text.chars() {
        let is_word = c.is_alphanumeric();
        if is_word != in_word {
            flush(&mut current, in_word, &mut out);
            in_word = is_word;
        }
        current.push(c);
    }
    flush(&mut current, in_word, &mut out);
    out
}

/// The ad's headline and body as plain text, in its language and direction, with the words
/// that raised the explained score marked.
#[component]
pub fn MarkedAdText(ad: AdDetail) -> impl IntoView {
    let words: Vec<String> = ad
        .contributions
        .iter()
        .filter(|c| c.kind == "word" && c.delta > 0.0)
        .map(|c| c.text.clone())
        .collect();
    let marked = move |text: &str| {
        highlight(text, &words)
            .into_iter()
            .map(|(t, hit)| {
                if hit {
                    view! { <mark>{t}</mark> }.into_any()
                } else {
                    t.into_any()
                }
            })
            .collect_view()
    };
    let dir = if ad.rtl { "rtl" } else { "ltr" };
    view! {
        <div class="ad-text" dir=dir lang=ad.language.clone().unwrap_or_default() data-testid="ad-text">
            <p class="ad-headline">{marked(&ad.headline)}</p>
            <p class="ad-body">{marked(&ad.body)}</p>
        </div>
    }
}

/// Per-category scores as bars, highest first.
#[component]
pub fn ScoreBars(scores: Vec<(String, f32)>) -> impl IntoView {
    view! {
        <table class="bars" data-testid="scores">
            <tbody>
                {scores.into_iter().map(|(c, s)| {
                    let width = format!("width: {:.1}%", s * 100.0);
                    view! {
                        <tr>
                            <th>{c.replace('_', " ")}</th>
                            <td><div class="bar"><div class="bar-fill" style=width></div></div></td>
                            <td class="num">{format!("{s:.3}")}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The n-grams behind the explained score, as bars of their effect in log-odds.
#[component]
pub fn ContributionBars(contributions: Vec<Contribution>) -> impl IntoView {
    let max_delta = contributions
        .iter()
        .map(|c| c.delta.abs())
        .fold(0.0f32, f32::max)
        .max(1e-6);
    if contributions.is_empty() {
        return view! { <p class="muted">"No explanation available (the ad is not scored yet, or the engine is not running)."</p> }.into_any();
    }
    view! {
        <table class="bars" data-testid="contributions">
            <tbody>
                {contributions.into_iter().map(|c| {
                    let width = format!("width: {:.1}%", (c.delta.abs() / max_delta) * 100.0);
                    let class = if c.delta >= 0.0 { "bar-fill" } else { "bar-fill bar-neg" };
                    view! {
                        <tr>
                            <th><code>{c.text}</code><span class="muted">{format!(" {}", c.kind)}</span></th>
                            <td><div class="bar"><div class=class style=width></div></div></td>
                            <td class="num">{format!("{:+.2}", c.delta)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The rules that matched an ad, each in one sentence, with a link to the rule for those who
/// may open rules.
#[component]
pub fn RuleHits(
    rules: Vec<crate::api::ads::RuleHitView>,
    #[prop(optional)] link: bool,
) -> impl IntoView {
    (!rules.is_empty()).then(|| {
        view! {
            <ul class="rule-hits" data-testid="rule-hits">
                {rules.into_iter().map(|r| {
                    let class = format!("rule-hit rule-hit-{}", r.mode);
                    let sentence = r.sentence();
                    let href = format!("/rules/{}", r.rule_id);
                    view! {
                        <li class=class>
                            {if link {
                                view! { <a href=href>{sentence}</a> }.into_any()
                            } else {
                                view! { <span>{sentence}</span> }.into_any()
                            }}
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
    })
}
