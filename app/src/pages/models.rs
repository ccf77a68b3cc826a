//! `/models`: the model registry. Every version with its role, the markets it is champion of,
//! its card's held-out figures and checksum; and which version was champion in each market at
//! any past instant, with the role changes that led there.

use crate::api::models::{
    Comparison, DecidePromotion, ModelHistoryView, ModelVersionView, Preview, PreviewPromotion,
    Promotion, RequestPromotion, RollbackModel, ShadowModel, Training, cancel_training,
    compare_models, get_model_history, list_models, list_promotions, list_trainings,
    start_training,
};
use crate::components::format::{EstimateText, estimate};
use crate::components::{ErrorNote, Guarded, When};
use amso_core::metrics::estimate::Interval;
use amso_core::metrics::kpi::Estimate;
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;

/// The Models page.
#[component]
pub fn ModelsPage() -> impl IntoView {
    view! {
        <Title text="Models"/>
        <Guarded area=Area::Models>
            <Models/>
        </Guarded>
    }
}

/// The first 60 characters, with an ellipsis when cut (the whole text is the cell's title).
fn short(text: &str) -> String {
    if text.chars().count() <= 60 {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(60).collect::<String>())
    }
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:.4}"))
}

#[component]
fn Models() -> impl IntoView {
    let shadow = ServerAction::<ShadowModel>::new();
    let request = ServerAction::<RequestPromotion>::new();
    let decide = ServerAction::<DecidePromotion>::new();
    let rollback = ServerAction::<RollbackModel>::new();
    let changed = move || {
        (
            shadow.version().get(),
            request.version().get(),
            decide.version().get(),
            rollback.version().get(),
        )
    };
    let versions = Resource::new(changed, |_| list_models());
    let promotions = Resource::new(changed, |_| list_promotions());
    let promote_version = RwSignal::new(String::new());
    let at = RwSignal::new(String::new());
    let asked = RwSignal::new(String::new());
    let history = Resource::new(move || asked.get(), get_model_history);
    view! {
        <header class="page-header">
            <h1>"Models"</h1>
            <p class="muted">"Every model version the servers on this database can run, with the bytes' checksum and the card's figures on held-out data; and which version decided in which market at any past instant."</p>
        </header>
        <section class="card" data-testid="model-versions">
            <h2>"Versions"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || versions.get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok((list, _)) if list.is_empty() => view! { <p class="muted">"No version registered yet: a server registers the model it runs when it starts, and "<code>"amso model import"</code>" adds one."</p> }.into_any(),
                    Ok((list, can)) => view! {
                        <div class="table-scroll"><table class="table">
                            <thead><tr>
                                <th scope="col">"Version"</th><th scope="col">"Role"</th><th scope="col"><span class="sr-only">"Actions"</span></th><th scope="col">"Champion in"</th>
                                <th scope="col" class="num">"ROC-AUC"</th><th scope="col" class="num" title="The TF-IDF + logistic regression baseline trained on the same rows, on the same held-out split">"Baseline"</th><th scope="col" class="num">"PR-AUC"</th><th scope="col" class="num">"F1"</th>
                                <th scope="col">"Trained on"</th><th scope="col">"Registered"</th><th scope="col">"sha-256"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|v| {
                                    let markets = if v.champion_of.len() >= 10 { "every market".to_string() } else { v.champion_of.join(", ") };
                                    view! {
                                        <tr data-testid="model-row">
                                            <td class="mono" data-testid="model-version">{v.version.clone()}</td>
                                            <td><span class=format!("badge role-{}", v.role) data-testid="model-role">{if v.role.is_empty() { "–".to_string() } else { v.role.clone() }}</span></td>
                                            <td>{can.then(|| view! { <VersionActions v=v.clone() shadow promote_version/> })}</td>
                                            <td data-testid="model-champion-of">{markets}</td>
                                            <td class="num">{figure(v.roc_auc)}{below_baseline(v.roc_auc, v.baseline_roc_auc).then(|| view! { <div><span class="badge badge-warn" title="The TF-IDF + logistic regression baseline ranks the held-out ads better than this model">"below baseline"</span></div> })}</td>
                                            <td class="num" data-testid="model-baseline">{figure(v.baseline_roc_auc)}</td>
                                            <td class="num">{figure(v.pr_auc)}</td>
                                            <td class="num">{figure(v.f1)}</td>
                                            <td class="small" title=v.data_source.clone().unwrap_or_default()>{short(&v.data_source.clone().unwrap_or_else(|| "no card".into()))}{v.heldout_rows.map(|n| format!(" · {n} held out"))}</td>
                                            <td class="small"><When at=v.created_at.clone() with_zone=true/>{format!(" by {} ({})", v.created_by, v.source)}</td>
                                            <td class="mono small" title=v.sha256.clone()>{v.sha256.chars().take(8).collect::<String>()}"…"</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        <p class="hint">"Figures are macro averages over the categories on the card's held-out split; Baseline is the ROC-AUC of a TF-IDF + logistic regression model trained on the same rows, so a model that does not beat it is visible at once. Import a model with "<code>"amso model import DIR"</code>"; export one with "<code>"amso model export VERSION --out DIR"</code>"."</p>
                    }.into_any(),
                })}
            </Transition>
        </section>
        {move || shadow.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
        <CompareCard versions/>
        <Transition fallback=|| ()>
            {move || promotions.get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok((list, can, me)) => view! {
                    {can.then(|| view! { <TrainCard trained=versions/> })}
                    {can.then(|| view! { <PromoteCard version=promote_version request/> })}
                    <PromotionsCard list can me decide rollback/>
                }.into_any(),
            })}
        </Transition>
        <section class="card" data-testid="model-history">
            <h2>"Which version decided, when"</h2>
            <form class="inline" on:submit=move |ev| { ev.prevent_default(); asked.set(at.get_untracked()); }>
                <label for="model-at">"Instant (UTC)"</label>
                <input id="model-at" data-testid="model-at" placeholder="2026-11-20T10:00Z (empty: now)" maxlength="64"
                    prop:value=move || at.get() on:input=move |ev| at.set(event_target_value(&ev))/>
                <button class="btn" type="submit" data-testid="model-at-go">"Show"</button>
            </form>
            <Transition fallback=|| ()>
                {move || history.get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(h) => view! { <History h/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn History(h: ModelHistoryView) -> impl IntoView {
    view! {
        <p data-testid="model-history-at">"At "<When at=h.at.clone() with_zone=true/>":"</p>
        {if h.champions.is_empty() {
            view! { <p class="muted" data-testid="model-history-none">"No version was champion anywhere then."</p> }.into_any()
        } else {
            view! {
                <table class="table compact">
                    <thead><tr><th scope="col">"Market"</th><th scope="col">"Champion"</th></tr></thead>
                    <tbody>
                        {h.champions.into_iter().map(|(m, v)| view! {
                            <tr data-testid=format!("champion-{m}")><th scope="row">{m.clone()}</th><td class="mono">{v}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        <h3>"Role changes up to then"</h3>
        <ul class="timeline">
            {h.events.into_iter().map(|e| view! {
                <li>
                    <span class="small muted"><When at=e.at.clone() with_zone=true/></span>" "
                    <span class="mono">{e.version.clone()}</span>
                    {format!(
                        " became {}{} ({})",
                        e.role,
                        match (e.role.as_str(), e.market.is_empty()) {
                            ("champion", true) => " in every market".to_string(),
                            ("champion", false) => format!(" in {}", e.market),
                            _ => String::new(),
                        },
                        e.actor
                    )}
                    {(!e.note.is_empty()).then(|| view! { <span class="muted">{format!(" — {}", e.note)}</span> })}
                </li>
            }).collect_view()}
        </ul>
    }
}

/// Run in shadow, or open the promotion form, for one version (ops heads and admins; the
/// server refuses others).
#[component]
fn VersionActions(
    v: ModelVersionView,
    shadow: ServerAction<ShadowModel>,
    promote_version: RwSignal<String>,
) -> impl IntoView {
    let version = v.version.clone();
    let for_promote = v.version.clone();
    let champion_everywhere = v.champion_of.len() >= 10;
    view! {
        <span class="inline">
            {(v.role != "challenger" && v.role != "champion").then(|| view! {
                <button class="btn btn-small" type="button" data-testid="model-shadow"
                    on:click=move |_| { shadow.dispatch(ShadowModel { version: version.clone() }); }>"Run in shadow"</button>
            })}
            {(!champion_everywhere).then(|| view! {
                <button class="btn btn-small" type="button" data-testid="model-promote"
                    on:click=move |_| promote_version.set(for_promote.clone())>"Promote…"</button>
            })}
        </span>
    }
}

fn estimate_cell(e: Option<&Estimate>) -> String {
    match estimate(e) {
        EstimateText::Missing => "too few labels".into(),
        EstimateText::TooFew(s) => s,
        EstimateText::Shown {
            value, interval, ..
        } => format!("{value} ({interval})"),
    }
}

/// Whether a model ranks worse than its baseline by more than 0.001 of ROC-AUC.
fn below_baseline(model: Option<f64>, baseline: Option<f64>) -> bool {
    matches!((model, baseline), (Some(m), Some(b)) if m < b - 0.001)
}

fn split_cell(ads: u64, e: Option<&Estimate>) -> String {
    if ads == 0 {
        return "they never split".into();
    }
    format!("{} of {ads} ads", estimate_cell(e))
}

fn cost_cell(c: Option<&Interval>) -> String {
    c.map_or_else(
        || "too few labels".to_string(),
        |c| format!("${:.2} (${:.2}–${:.2})", c.value, c.low, c.high),
    )
}

fn auc_cell(e: Option<&Estimate>) -> String {
    e.map_or_else(
        || "too few labels".to_string(),
        |e| format!("{:.3} ({:.3}–{:.3})", e.value, e.low, e.high),
    )
}

/// Two versions side by side on the labelled ads both scored.
#[component]
fn CompareCard(
    versions: Resource<Result<(Vec<ModelVersionView>, bool), crate::error::AppError>>,
) -> impl IntoView {
    let a = RwSignal::new(String::new());
    let b = RwSignal::new(String::new());
    let market = RwSignal::new(String::new());
    let asked = RwSignal::new(None::<(String, String, String)>);
    let result = Resource::new(
        move || asked.get(),
        |q| async move {
            match q {
                Some((a, b, m)) => compare_models(a, b, m).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let options = move || {
        versions
            .get()
            .and_then(Result::ok)
            .map(|(list, _)| list)
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                let label = format!(
                    "{} ({})",
                    v.version,
                    if v.role.is_empty() {
                        "–"
                    } else {
                        v.role.as_str()
                    }
                );
                view! { <option value=v.version.clone()>{label}</option> }
            })
            .collect_view()
    };
    view! {
        <section class="card" data-testid="model-compare">
            <h2>"Compare two versions"</h2>
            <p class="muted">"On exactly the ads both scored in the last 28 days (one deciding, the other in shadow) that a human settled as part of the random sample (audits and routed reviews), each weighted by 1 / its sampling probability."</p>
            <form class="inline" on:submit=move |ev| { ev.prevent_default(); asked.set(Some((a.get_untracked(), b.get_untracked(), market.get_untracked()))); }>
                <label for="compare-a">"A"</label>
                <select id="compare-a" data-testid="compare-a" prop:value=move || a.get() on:change=move |ev| a.set(event_target_value(&ev))>
                    <option value="">"choose"</option>
                    <Transition fallback=|| ()>{options}</Transition>
                </select>
                <label for="compare-b">"B"</label>
                <select id="compare-b" data-testid="compare-b" prop:value=move || b.get() on:change=move |ev| b.set(event_target_value(&ev))>
                    <option value="">"choose"</option>
                    <Transition fallback=|| ()>{options}</Transition>
                </select>
                <label for="compare-market">"Market"</label>
                <input id="compare-market" data-testid="compare-market" placeholder="all" maxlength="3" size="4"
                    prop:value=move || market.get() on:input=move |ev| market.set(event_target_value(&ev))/>
                <button class="btn" type="submit" data-testid="compare-go">"Compare"</button>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Comparing…"</p> }>
                {move || result.get().map(|r| match r {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(None) => ().into_any(),
                    Ok(Some(c)) => view! { <ComparisonView c/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ComparisonView(c: Comparison) -> impl IntoView {
    let scope = if c.operating.len() == 1 {
        c.operating[0].market.clone()
    } else {
        "*".to_string()
    };
    let cells: Vec<_> = c
        .cells
        .iter()
        .filter(|x| x.market == scope)
        .cloned()
        .collect();
    view! {
        <p data-testid="compare-labelled">{format!("{} labelled ads both scored. A: {}; B: {}.", c.labelled, c.a, c.b)}</p>
        <table class="table compact" data-testid="compare-cells">
            <caption>{if scope == "*" { "All markets, per category".to_string() } else { format!("{scope}, per category") }}</caption>
            <thead><tr>
                <th scope="col">"Category"</th><th scope="col" class="num">"Positives"</th>
                <th scope="col">"ROC-AUC A"</th><th scope="col">"ROC-AUC B"</th>
                <th scope="col">"PR-AUC A"</th><th scope="col">"PR-AUC B"</th>
            </tr></thead>
            <tbody>
                {cells.into_iter().map(|x| view! {
                    <tr>
                        <th scope="row">{x.category.replace('_', " ")}</th>
                        <td class="num">{format!("{:.0}", x.positives)}</td>
                        <td>{auc_cell(x.a_roc_auc.as_ref())}</td>
                        <td>{auc_cell(x.b_roc_auc.as_ref())}</td>
                        <td>{auc_cell(x.a_pr_auc.as_ref())}</td>
                        <td>{auc_cell(x.b_pr_auc.as_ref())}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <table class="table compact" data-testid="compare-operating">
            <caption>"At the thresholds each would run with (B's re-fitted to A's review volume)"</caption>
            <thead><tr>
                <th scope="col">"Market"</th><th scope="col" class="num">"Ads"</th>
                <th scope="col">"Automation A / B"</th><th scope="col">"Review share A / B"</th>
                <th scope="col">"Auto-reject precision A"</th><th scope="col">"B"</th>
                <th scope="col">"Auto-reject recall A"</th><th scope="col">"B"</th>
                <th scope="col">"Cost / 1,000 ads A"</th><th scope="col">"B"</th>
                <th scope="col">"Where they split: humans side with B"</th>
            </tr></thead>
            <tbody>
                {c.operating.into_iter().map(|o| view! {
                    <tr>
                        <th scope="row">{o.market.clone()}</th>
                        <td class="num">{o.ads}</td>
                        <td>{format!("{:.1}% / {:.1}%", o.a_automation * 100.0, o.b_automation * 100.0)}</td>
                        <td>{format!("{:.1}% / {:.1}%", o.a_review_share * 100.0, o.b_review_share * 100.0)}</td>
                        <td>{estimate_cell(o.a_reject_precision.as_ref())}</td>
                        <td>{estimate_cell(o.b_reject_precision.as_ref())}</td>
                        <td>{estimate_cell(o.a_reject_recall.as_ref())}</td>
                        <td>{estimate_cell(o.b_reject_recall.as_ref())}</td>
                        <td>{cost_cell(o.a_cost_per_1k.as_ref())}</td>
                        <td>{cost_cell(o.b_cost_per_1k.as_ref())}</td>
                        <td data-testid="compare-split">{split_cell(o.split_ads, o.b_right_when_split.as_ref())}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <p class="small muted">"Cost per 1,000 ads: review time at the market's hourly rate, the budgets of wrongly rejected ads for the days lost, and the risk weight of each missed violation. Where they split: the labelled ads where one model calls a violation (a score of 0.5 or more) and the other does not, and how often (weighted) the humans' verdict sides with B; with the whole interval above 50%, B is measurably right more often. Ranges are 95% intervals."</p>
        <h3>"Where they disagree most"</h3>
        <ul class="timeline" data-testid="compare-disagreements">
            {c.disagreements.into_iter().map(|d| view! {
                <li>
                    <span class="small muted">{format!("{} · ad {} · {}", d.market, d.ad_id, d.category.replace('_', " "))}</span>" "
                    <span>{d.headline.clone()}</span>
                    {format!(" — A {:.2}, B {:.2}; humans: {}", d.a_score, d.b_score, d.human)}
                </li>
            }).collect_view()}
        </ul>
    }
}

/// Preview a promotion, then ask for a second person's approval.
#[component]
fn PromoteCard(
    version: RwSignal<String>,
    request: ServerAction<RequestPromotion>,
) -> impl IntoView {
    let markets = RwSignal::new(String::new());
    let preview = ServerAction::<PreviewPromotion>::new();
    view! {
        <section class="card" data-testid="model-promote-card">
            <h2>"Promote a version"</h2>
            <p class="muted">"A canary takes some markets; leave markets empty for every market. The thresholds are re-fitted so the new model sends the same share of each market's ads to review and to rejection as the current one. Another ops head or an admin approves."</p>
            <form class="inline" on:submit=move |ev| ev.prevent_default()>
                <label for="promote-version">"Version"</label>
                <input id="promote-version" data-testid="promote-version" class="mono" maxlength="200" prop:value=move || version.get() on:input=move |ev| version.set(event_target_value(&ev))/>
                <label for="promote-markets">"Markets"</label>
                <input id="promote-markets" data-testid="promote-markets" placeholder="ID, SG (empty: every market)" maxlength="200" prop:value=move || markets.get() on:input=move |ev| markets.set(event_target_value(&ev))/>
                <button class="btn" type="button" data-testid="promote-preview"
                    on:click=move |_| { preview.dispatch(PreviewPromotion { version: version.get_untracked(), markets: markets.get_untracked() }); }>"Preview"</button>
                {move || preview.value().get().and_then(|r| r.ok()).map(|_| view! {
                    <button class="btn btn-primary" type="button" data-testid="promote-request"
                        on:click=move |_| { request.dispatch(RequestPromotion { version: version.get_untracked(), markets: markets.get_untracked() }); }>"Ask for approval"</button>
                })}
            </form>
            {move || preview.value().get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(p) => view! { <PreviewView p/> }.into_any(),
            })}
            {move || request.value().get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(p) => view! { <p class="alert alert-ok" data-testid="promote-requested">{format!("Promotion {} waits for a second person.", p.id)}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn PreviewView(p: Preview) -> impl IntoView {
    let changed: Vec<_> = p
        .cells
        .iter()
        .filter(|c| {
            (c.approve_below - c.new_approve_below).abs() > 1e-9
                || (c.reject_at - c.new_reject_at).abs() > 1e-9
        })
        .cloned()
        .collect();
    view! {
        <ul data-testid="promote-evidence">
            {p.evidence.iter().map(|(m, (champion, scored, labelled))| view! {
                <li>{format!("{m}: champion now {champion}; {scored} ads scored by both, {labelled} with a human verdict")}</li>
            }).collect_view()}
        </ul>
        <table class="table compact" data-testid="promote-cells">
            <caption>{format!("Thresholds re-fitted ({} of {} cells change)", changed.len(), p.cells.len())}</caption>
            <thead><tr><th scope="col">"Cell"</th><th scope="col">"Approve below"</th><th scope="col">"Reject at"</th></tr></thead>
            <tbody>
                {changed.into_iter().map(|c| view! {
                    <tr>
                        <th scope="row">{format!("{} {}", c.market, c.category.replace('_', " "))}</th>
                        <td>{format!("{:.3} → {:.3}", c.approve_below, c.new_approve_below)}</td>
                        <td>{format!("{:.3} → {:.3}", c.reject_at, c.new_reject_at)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Promotions: pending ones to approve or refuse, and one-action rollback.
#[component]
fn PromotionsCard(
    list: Vec<Promotion>,
    can: bool,
    me: String,
    decide: ServerAction<DecidePromotion>,
    rollback: ServerAction<RollbackModel>,
) -> impl IntoView {
    let any_done = list.iter().any(|p| p.state == "done");
    view! {
        <section class="card" data-testid="model-promotions">
            <h2>"Promotions"</h2>
            {(can && any_done).then(|| view! {
                <p>
                    <button class="btn btn-danger" type="button" data-testid="model-rollback"
                        on:click=move |_| { rollback.dispatch(RollbackModel {}); }>"Roll back the latest promotion"</button>
                    " "<span class="muted small">"Puts back the previous champion and its thresholds in the markets it moved."</span>
                </p>
            })}
            {move || rollback.value().get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(p) => view! { <p class="alert alert-ok" data-testid="model-rolled-back">{format!("Rolled back promotion {} of {}.", p.id, p.version)}</p> }.into_any(),
            })}
            {move || decide.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
            {if list.is_empty() {
                view! { <p class="muted">"No promotion yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table compact">
                        <thead><tr><th scope="col">"#"</th><th scope="col">"Version"</th><th scope="col">"Markets"</th><th scope="col">"State"</th><th scope="col">"Asked by"</th><th scope="col">"Decided by"</th><th scope="col"></th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|p| {
                                let id = p.id;
                                let mine = p.requested_by == me;
                                let pending = p.state == "pending";
                                view! {
                                    <tr data-testid="promotion-row">
                                        <td>{p.id}</td>
                                        <td class="mono">{p.version.clone()}</td>
                                        <td>{if p.markets.is_empty() { "every market".to_string() } else { p.markets.join(", ") }}</td>
                                        <td data-testid="promotion-state">{p.state.replace('_', " ")}</td>
                                        <td>{p.requested_by.clone()}</td>
                                        <td>{p.decided_by.clone().unwrap_or_default()}</td>
                                        <td>
                                            {(can && pending && !mine).then(|| view! {
                                                <button class="btn btn-primary btn-small" type="button" data-testid="promotion-approve"
                                                    on:click=move |_| { decide.dispatch(DecidePromotion { id, approve: true }); }>"Approve"</button>
                                            })}
                                            {(can && pending).then(|| view! {
                                                <button class="btn btn-small" type="button" data-testid="promotion-refuse"
                                                    on:click=move |_| { decide.dispatch(DecidePromotion { id, approve: false }); }>{if mine { "Withdraw" } else { "Refuse" }}</button>
                                            })}
                                            {(pending && mine).then(|| view! { <span class="muted small">"waiting for a second person"</span> })}
                                        </td>
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

/// Asks how the latest training stands every second while one runs; reloads the versions
/// when it ends.
fn follow(trainings: RwSignal<Vec<Training>>, done: impl Fn() + Clone + 'static) {
    leptos::task::spawn_local(async move {
        let list = list_trainings().await.unwrap_or_default();
        let running = list.first().is_some_and(|t| t.state == "running");
        trainings.set(list);
        if running {
            set_timeout(
                move || follow(trainings, done),
                std::time::Duration::from_millis(1000),
            );
        } else {
            done();
        }
    });
}

/// Train a candidate from the human verdicts, with its progress, log and a cancel button.
#[component]
fn TrainCard(
    trained: Resource<Result<(Vec<ModelVersionView>, bool), crate::error::AppError>>,
) -> impl IntoView {
    let days = RwSignal::new(28u32);
    let corpus = RwSignal::new(false);
    let trainings = RwSignal::new(Vec::<Training>::new());
    let error = RwSignal::new(None::<crate::error::AppError>);
    let refresh = move || trained.refetch();
    Effect::new(move |_| follow(trainings, refresh));
    let start = move |_| {
        leptos::task::spawn_local(async move {
            match start_training(days.get_untracked(), corpus.get_untracked()).await {
                Ok(_) => {
                    error.set(None);
                    follow(trainings, refresh);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card" data-testid="model-train">
            <h2>"Train a candidate"</h2>
            <p class="muted">"From the final human verdicts of the chosen days (audits and routed reviews weighted by 1/sampling probability, capped at 20); the most recent labelled week is held out for the card's figures and the calibration. One training runs at a time."</p>
            <form class="inline" on:submit=move |ev| ev.prevent_default()>
                <label for="train-days">"Days of verdicts"</label>
                <input id="train-days" type="number" min="1" max="365" data-testid="train-days"
                    prop:value=move || days.get().to_string() on:input=move |ev| days.set(event_target_value(&ev).parse().unwrap_or(28))/>
                <label><input type="checkbox" data-testid="train-corpus" prop:checked=move || corpus.get() on:change=move |ev| corpus.set(event_target_checked(&ev))/>" with the demo corpus"</label>
                <button class="btn btn-primary" type="button" data-testid="train-start" on:click=start>"Start training"</button>
            </form>
            {move || error.get().map(|e| view! { <ErrorNote error=e/> })}
            {move || trainings.get().into_iter().next().map(|t| {
                let id = t.id;
                let running = t.state == "running";
                view! {
                    <div data-testid="train-latest">
                        <p>
                            <span data-testid="train-state">{t.state.clone()}</span>
                            {format!(" · started by {} · ", t.started_by)}
                            {t.version.clone().map(|v| view! { <span class="mono" data-testid="train-version">{v}</span> })}
                        </p>
                        <progress max="1" value=t.progress data-testid="train-progress"></progress>
                        {running.then(|| view! {
                            <button class="btn btn-small" type="button" data-testid="train-cancel"
                                on:click=move |_| { leptos::task::spawn_local(async move { let _ = cancel_training(id).await; }); }>"Cancel"</button>
                        })}
                        <pre class="small mono" data-testid="train-log">{t.log.clone()}</pre>
                    </div>
                }
            })}
        </section>
    }
}
