//! `/ads` and `/ads/:id`: ops heads search submitted ads and inspect a decision.

use crate::components::ad_text::{
    ContributionBars, MarkedAdText, RuleHits, STATUSES, ScoreBars, status_class, status_label,
};
use crate::components::time::in_viewer_zone;
use crate::components::{ErrorNote, Guarded, When};
use crate::{api::ads::AdDetail, api::ads::get_ad_detail, api::ads::list_ads};
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

/// The ads table page.
#[component]
pub fn AdsPage() -> impl IntoView {
    view! {
        <Title text="Ads"/>
        <Guarded area=Area::Ads>
            <AdsTable/>
        </Guarded>
    }
}

#[component]
fn AdsTable() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).unwrap_or_default();
    let page = move || get("page").parse::<i64>().unwrap_or(1).max(1);
    let ads = Resource::new(
        move || {
            (
                get("market"),
                get("status"),
                get("category"),
                get("advertiser"),
                get("q"),
                page(),
                get("from"),
                get("to"),
            )
        },
        |(market, status, category, advertiser, q, page, from, to)| {
            list_ads(crate::api::ads::AdQuery {
                market,
                status,
                category,
                advertiser,
                q,
                page,
                from,
                to,
            })
        },
    );
    let navigate = use_navigate();
    let set = move |key: &'static str, value: String| {
        let params: Vec<(String, String)> = [
            "market",
            "status",
            "category",
            "advertiser",
            "q",
            "from",
            "to",
        ]
        .iter()
        .map(|k| {
            (
                k.to_string(),
                if *k == key { value.clone() } else { get(k) },
            )
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
        let qs = params
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        navigate(
            &format!("/ads{}{qs}", if qs.is_empty() { "" } else { "?" }),
            Default::default(),
        );
    };
    let set_filter = set.clone();
    let on = move |key: &'static str| {
        let set_filter = set_filter.clone();
        move |ev: leptos::ev::Event| set_filter(key, event_target_value(&ev))
    };
    view! {
        <header class="page-header">
            <h1>"Ads"</h1>
            <p class="muted">"Every submitted ad, newest first, with the machine's decision."</p>
        </header>
        <section class="card">
            <div class="toolbar filters" data-testid="ads-filters">
                <label>
                    "Market"
                    <select on:change=on("market") prop:value=move || get("market")>
                        <option value="">"All"</option>
                        {Market::ALL.map(|m| view! { <option value=m.code()>{m.code()}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "Status"
                    <select on:change=on("status") prop:value=move || get("status")>
                        <option value="">"All"</option>
                        {STATUSES.map(|(s, l)| view! { <option value=s>{l}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "Reason"
                    <select on:change=on("category") prop:value=move || get("category")>
                        <option value="">"Any"</option>
                        {Category::ALL.map(|c| view! { <option value=c.as_str()>{c.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "Advertiser"
                    <input type="text" placeholder="adv-us-001" on:change=on("advertiser") prop:value=move || get("advertiser")/>
                </label>
                <label>
                    "Text"
                    <input type="text" placeholder="words in headline or body" on:change=on("q") prop:value=move || get("q")/>
                </label>
                <label>
                    "Submitted from"
                    <input type="date" data-testid="ads-from" on:change=on("from") prop:value=move || get("from")/>
                </label>
                <label>
                    "to"
                    <input type="date" data-testid="ads-to" on:change=on("to") prop:value=move || get("to")/>
                </label>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading ads…"</p> }>
                {move || {
                    ads.get().map(|result| match result {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(p) if p.rows.is_empty() => view! {
                            <p class="muted" data-testid="ads-empty">"No ads match these filters."</p>
                        }.into_any(),
                        Ok(p) => {
                            let pages = (p.total + p.page_size - 1) / p.page_size;
                            let (prev, next) = (p.page - 1, p.page + 1);
                            let link = move |n: i64| {
                                let mut qs: Vec<String> = ["market", "status", "category", "advertiser", "q", "from", "to"]
                                    .iter()
                                    .filter(|k| !get(k).is_empty())
                                    .map(|k| format!("{k}={}", urlencode(&get(k))))
                                    .collect();
                                qs.push(format!("page={n}"));
                                format!("/ads?{}", qs.join("&"))
                            };
                            view! {
                                <table class="table" data-testid="ads-table">
                                    <thead><tr>
                                        <th>{in_viewer_zone("Submitted")}</th><th>"Market"</th><th>"Headline"</th>
                                        <th>"Advertiser"</th><th>"Status"</th><th>"Reasons"</th><th>"Top score"</th>
                                    </tr></thead>
                                    <tbody>
                                        {p.rows.into_iter().map(|r| view! {
                                            <tr>
                                                <td><When at=r.submitted_at/></td>
                                                <td>{r.market}</td>
                                                <td class="headline"><a href=format!("/ads/{}", r.id)>{r.headline}</a></td>
                                                <td>{r.advertiser_id}</td>
                                                <td><span class=status_class(&r.status)>{status_label(&r.status)}</span></td>
                                                <td>{r.reasons.join(", ")}</td>
                                                <td class="nowrap">{match (r.top_category, r.top_score) {
                                                    (Some(c), Some(s)) => format!("{c} {s:.2}"),
                                                    _ => "—".into(),
                                                }}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <div class="pager">
                                    {(prev >= 1).then(|| view! { <a class="btn btn-small" href=link(prev)>"← Newer"</a> })}
                                    <span class="muted">{format!("Page {} of {} · {} ads", p.page, pages.max(1), p.total)}</span>
                                    {(next <= pages).then(|| view! { <a class="btn btn-small" href=link(next) data-testid="next-page">"Older →"</a> })}
                                </div>
                            }.into_any()
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One ad's page.
#[component]
pub fn AdPage() -> impl IntoView {
    view! {
        <Title text="Ad"/>
        <Guarded area=Area::Ads>
            <AdView/>
        </Guarded>
    }
}

#[component]
fn AdView() -> impl IntoView {
    let params = use_params_map();
    let detail = Resource::new(
        move || {
            params
                .read()
                .get("id")
                .and_then(|id| id.parse::<i64>().ok())
                .unwrap_or(0)
        },
        get_ad_detail,
    );
    let ad_id = Signal::derive(move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    });
    view! {
        <p><a href="/ads">"← All ads"</a></p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || detail.get().map(|r| match r {
                Ok(ad) => view! { <AdCard ad/> }.into_any(),
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            })}
        </Transition>
        <super::golden::GoldenBox ad_id/>
    }
}

#[component]
fn AdCard(ad: AdDetail) -> impl IntoView {
    view! {
        <header class="page-header">
            <h1>{format!("Ad {}", ad.id)}</h1>
            <p class="muted">
                {format!("{} · {} · advertiser {} · submitted ", ad.market, ad.language.clone().unwrap_or_else(|| "language unknown".into()), ad.advertiser_id)}
                <When at=ad.submitted_at.clone() with_zone=true/>
                {format!(" · source {}", ad.source)}
            </p>
        </header>
        <div class="grid-2">
            <section class="card">
                <h2>"As submitted"</h2>
                <MarkedAdText ad=ad.clone()/>
                <dl class="facts">
                    <dt>"Landing URL"</dt>
                    <dd><code>{ad.landing_url.clone().unwrap_or_else(|| "none".into())}</code></dd>
                    <dt>"Domain"</dt>
                    <dd>{ad.landing_domain.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Daily budget"</dt>
                    <dd>{format!("${:.2}", ad.daily_budget_usd)}</dd>
                    <dt>"External id"</dt>
                    <dd><code>{ad.external_id.clone()}</code></dd>
                </dl>
            </section>
            <section class="card">
                <h2>"Decision"</h2>
                <p>
                    <span class=status_class(&ad.status) data-testid="ad-status">{status_label(&ad.status)}</span>
                    {ad.route.clone().map(|r| view! { <span class="badge badge-muted">{format!("route: {r}")}</span> })}
                    {ad.audit_sample.then(|| view! { <span class="badge">"audit sample"</span> })}
                </p>
                <p class="muted">
                    {match (&ad.model_version, ad.thresholds_version, &ad.decided_at) {
                        (Some(m), Some(t), Some(at)) => view! {
                            {format!("Model {m}, thresholds v{t}, decided ")}
                            <When at=at.clone() with_zone=true/>
                        }.into_any(),
                        _ => "Not decided yet: the ad is waiting in the queue.".into_any(),
                    }}
                </p>
                {(!ad.reasons.is_empty()).then(|| view! { <p>{format!("Reasons: {}", ad.reasons.join(", "))}</p> })}
                <RuleHits rules=ad.rules.clone() link=true/>
                <h3>"Scores"</h3>
                <ScoreBars scores=ad.scores.clone()/>
            </section>
        </div>
        <section class="card">
            <h2>{format!("What raised the {} score", ad.explained.clone().unwrap_or_else(|| "top".into()))}</h2>
            <p class="muted">"Each n-gram's effect: how much the score's log-odds drop when it is left out (+1 ≈ the odds shrink 2.7×). Words are marked in the text above."</p>
            <ContributionBars contributions=ad.contributions.clone()/>
        </section>
        <section class="card" data-testid="timeline">
            <h2>{in_viewer_zone("Timeline")}</h2>
            <ol class="timeline">
                {ad.timeline.iter().map(|(at, actor, action, detail)| view! {
                    <li>
                        <span class="muted small"><When at=at.clone()/></span>
                        " "<strong>{action_label(action)}</strong>
                        " "<span class="muted">{format!("by {actor}")}</span>
                        {(!detail.is_empty()).then(|| view! { <div class="small" dir="auto">{detail.clone()}</div> })}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}

/// A timeline action in words.
fn action_label(action: &str) -> String {
    match action {
        "submitted" => "Submitted".into(),
        "decided" => "Machine decision".into(),
        "review.submit" => "Reviewed".into(),
        "review.override" => "Reviewed, overriding the machine".into(),
        "review.bulk" => "Decided in bulk".into(),
        "review.escalate" => "Escalated".into(),
        "review.skip" => "Skipped".into(),
        "review.undo" => "Review undone".into(),
        "appeal.file" => "Appeal filed".into(),
        other => other.to_string(),
    }
}
