//! `/radar`: the emerging-risk radar. Terms, landing domains and advertisers whose share of a
//! market's ads rose most against the 28 days before, ranked by harm (where the model is
//! blind first); each opens its trend, the markets it spreads to and sample ads, and drafts a
//! rule.

use crate::api::radar::{RadarDetail, get_radar, get_radar_detail};
use crate::components::format::pct;
use crate::components::{ErrorNote, Guarded, When};
use crate::pages::ads::urlencode;
use amso_core::radar::{Entry, Kind};
use amso_core::vocab::market::Market;
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

/// The radar page.
#[component]
pub fn RadarPage() -> impl IntoView {
    view! {
        <Title text="Emerging risks"/>
        <Guarded area=Area::Radar>
            <Radar/>
        </Guarded>
    }
}

/// Where "Draft a rule" goes for an entry.
fn draft_href(e: &Entry, market: &str) -> String {
    let field = match e.kind {
        Kind::Term => "term",
        Kind::Domain => "domain",
        Kind::Advertiser => "advertiser",
    };
    let mut href = format!(
        "/rules/new?{field}={}&name={}",
        urlencode(&e.value),
        urlencode(&format!(
            "{} {}",
            if market == "*" { "all markets" } else { market },
            e.value
        ))
    );
    if market != "*" {
        href.push_str(&format!("&market={market}"));
    }
    href
}

#[component]
fn Radar() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).unwrap_or_default();
    let window = move || {
        let w = get("window");
        if w.is_empty() { "24h".to_string() } else { w }
    };
    let market = move || {
        let m = get("market");
        if m.is_empty() { "*".to_string() } else { m }
    };
    let radar = Resource::new(move || (window(), market()), |(w, m)| get_radar(w, m));
    let navigate = use_navigate();
    let go = move |w: String, m: String| {
        navigate(
            &format!("/radar?window={w}&market={}", urlencode(&m)),
            Default::default(),
        );
    };
    let go_window = {
        let go = go.clone();
        move |ev| go(event_target_value(&ev), market())
    };
    let go_market = move |ev| go(window(), event_target_value(&ev));
    view! {
        <header class="page-header">
            <h1>"Emerging risks"</h1>
            <p class="muted">
                "Terms, landing domains and advertisers whose share of ads rose most against the 28 days before. "
                "An entry needs 5 ads and a log-likelihood ratio G² ≥ 10.8 (p < 0.001), which keeps rare noise out. "
                "Ranked by harm: first where the model approved ads that reviewers rejected (the model is blind), then by G² × how often reviewers rejected."
            </p>
        </header>
        <div class="toolbar">
            <label class="inline" for="radar-window">"Window"</label>
            <select id="radar-window" data-testid="radar-window" prop:value=window on:change=go_window>
                <option value="24h">"Last 24 h (today and yesterday, UTC)"</option>
                <option value="7d">"Last 7 days"</option>
            </select>
            <label class="inline" for="radar-market">"Market"</label>
            <select id="radar-market" data-testid="radar-market" prop:value=market on:change=go_market>
                <option value="*">"All markets"</option>
                {Market::ALL.map(|m| view! { <option value=m.code()>{format!("{} {}", m.code(), m.name())}</option> }).collect_view()}
            </select>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || radar.get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(v) => view! {
                    <p class="muted small">{match v.checked_at.clone() {
                        Some(at) => view! { "Checked "<When at with_zone=true/>"; the check runs with the drift check." }.into_any(),
                        None => "Not checked yet: the first check runs with the drift check.".into_any(),
                    }}</p>
                    {if v.entries.is_empty() {
                        view! { <section class="card"><p class="muted" data-testid="radar-empty">"Nothing rose significantly in this window."</p></section> }.into_any()
                    } else {
                        let market = v.market.clone();
                        let can_draft = v.can_draft;
                        view! {
                            <section class="card">
                                <table class="table radar" data-testid="radar-table">
                                    <thead><tr>
                                        <th class="num">"#"</th><th>"What"</th><th class="num">"Ads now"</th><th class="num">"Before"</th>
                                        <th class="num">"Lift"</th><th class="num">"G²"</th><th class="num">"Rejected by reviewers"</th>
                                        <th class="num">"Model scored high"</th><th class="num">"Model blind"</th><th></th>
                                    </tr></thead>
                                    <tbody>
                                        {v.entries.into_iter().map(|e| view! { <EntryRow e market=market.clone() can_draft/> }).collect_view()}
                                    </tbody>
                                </table>
                            </section>
                        }.into_any()
                    }}
                }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn EntryRow(e: Entry, market: String, can_draft: bool) -> impl IntoView {
    let open = RwSignal::new(false);
    let detail = Resource::new(move || open.get(), {
        let (kind, value, market) = (e.kind, e.value.clone(), market.clone());
        move |on| {
            let (value, market) = (value.clone(), market.clone());
            async move {
                if on {
                    Some(get_radar_detail(kind.as_str().into(), value, market).await)
                } else {
                    None
                }
            }
        }
    });
    let href = draft_href(&e, &market);
    let testid = format!("radar-{}-{}", e.kind.as_str(), e.value);
    let rejected = match e.rejected_share {
        Some(r) => format!("{} of {}", pct(Some(r)), e.reviewed),
        None => "no reviews yet".into(),
    };
    let row_class = if e.gap > 0 { "blind" } else { "" };
    view! {
        <tr data-testid=testid class=row_class>
            <td class="num">{e.rank}</td>
            <td><span class="badge badge-muted">{e.kind.as_str()}</span>" "<strong dir="auto">{e.value.clone()}</strong></td>
            <td class="num">{e.count_now}</td>
            <td class="num">{e.count_before}</td>
            <td class="num">{format!("×{:.1}", e.lift)}</td>
            <td class="num">{format!("{:.0}", e.g2)}</td>
            <td class="num">{rejected}</td>
            <td class="num">{pct(Some(e.model_high_share))}</td>
            <td class="num">{if e.gap > 0 { format!("{} ads", e.gap) } else { "—".into() }}</td>
            <td class="nowrap">
                <button class="btn btn-small" on:click=move |_| open.update(|o| *o = !*o)>{move || if open.get() { "Close" } else { "Open" }}</button>
                {can_draft.then(|| view! { " "<a class="btn btn-small btn-primary" data-testid="draft-rule" href=href.clone()>"Draft a rule"</a> })}
            </td>
        </tr>
        {move || open.get().then(|| view! {
            <tr class="radar-detail"><td colspan="10">
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || detail.get().flatten().map(|d| match d {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(d) => view! { <Detail d/> }.into_any(),
                    })}
                </Suspense>
            </td></tr>
        })}
    }
}

#[component]
fn Detail(d: RadarDetail) -> impl IntoView {
    let max = d.trend.iter().map(|t| t.1).max().unwrap_or(0).max(1);
    view! {
        <div class="grid-2">
            <div>
                <h3>"Ads a day (35 days)"</h3>
                <div class="spark" role="img" aria-label="ads a day">
                    {d.trend.iter().map(|(day, n)| {
                        let h = (*n as f64 / max as f64 * 100.0).round();
                        view! { <span class="spark-bar" style=format!("height: {h}%") title=format!("{day}: {n}")></span> }
                    }).collect_view()}
                </div>
                <h3>"Markets"</h3>
                <p>{d.markets.iter().map(|(m, n)| format!("{m} {n}")).collect::<Vec<_>>().join(" · ")}</p>
            </div>
            <div>
                <h3>"Sample ads (text only)"</h3>
                <ul class="samples" data-testid="radar-samples">
                    {d.samples.into_iter().map(|s| view! {
                        <li>
                            <a href=format!("/ads/{}", s.id)>{format!("Ad {} · {} · {}", s.id, s.market, s.status)}</a>
                            <div dir="auto"><strong>{s.headline}</strong></div>
                            <div class="small" dir="auto">{s.body}</div>
                            {s.landing_url.map(|u| view! { <code class="small">{u}</code> })}
                        </li>
                    }).collect_view()}
                </ul>
            </div>
        </div>
    }
}
