//! `/reports`: the executive weekly report. Pick an ISO week (and markets), read the summary
//! in the page, download the PDF, XLSX or CSV; below, the archive the weekly schedule fills
//! (who made each rendering, when, from which data, and whether its mail went out). The week
//! and markets live in the URL, so a link opens the same report.

use crate::api::reports::{ArchiveReport, ReportsBoard, RetryReportDelivery, get_reports};
use crate::components::ChartFigure;
use crate::components::format;
use crate::components::time::in_viewer_zone;
use crate::components::{ErrorNote, Guarded, When};
use crate::pages::dashboards::use_set_query;
use amso_core::dashboard::view::{ArchivedReport, Kpis, WeeklyReport};
use amso_core::vocab::market::Market;
use amso_core::vocab::role::Area;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The Reports page.
#[component]
pub fn ReportsPage() -> impl IntoView {
    view! {
        <Title text="Weekly report"/>
        <Guarded area=Area::Reports>
            <div class="dash"><Reports/></div>
        </Guarded>
    }
}

#[component]
fn Reports() -> impl IntoView {
    let query = use_query_map();
    let archive = ServerAction::<ArchiveReport>::new();
    let retry = ServerAction::<RetryReportDelivery>::new();
    let board = Resource::new(
        move || {
            let q = query.read();
            (
                q.get("week").unwrap_or_default(),
                q.get("markets").unwrap_or_default(),
                archive.version().get(),
                retry.version().get(),
            )
        },
        |(week, markets, _, _)| get_reports(week, markets),
    );
    view! {
        <header class="page-header">
            <h1>"Weekly report"</h1>
            <p class="muted">
                "One document a week for leadership, with the same figures as the dashboards: the week against the one before and the 4-week average."
            </p>
        </header>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || board.get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(b) => view! { <ReportBody board=b archive retry/> }.into_any(),
            })}
        </Transition>
    }
}

/// `/api/v1/reports/weekly?…` for one format.
fn download_href(r: &WeeklyReport, format: &str) -> String {
    let markets = if r.all_markets {
        String::new()
    } else {
        format!("&markets={}", r.markets_in_scope.join(","))
    };
    format!(
        "/api/v1/reports/weekly?week={}&format={format}&tz={}{markets}",
        r.week, r.time_zone
    )
}

#[component]
fn ReportBody(
    board: ReportsBoard,
    archive: ServerAction<ArchiveReport>,
    retry: ServerAction<RetryReportDelivery>,
) -> impl IntoView {
    let ReportsBoard {
        weeks,
        report,
        trend_chart,
        archive: runs,
        schedule,
        can_manage,
    } = board;
    let set = use_set_query();
    let set_week = set.clone();
    let week = report.week.clone();
    let in_scope = report.markets_in_scope.clone();
    let all = report.all_markets;
    let toggle = move |code: &'static str, on: bool| {
        let mut chosen: Vec<&str> = if all {
            Market::ALL.iter().map(|m| m.code()).collect()
        } else {
            in_scope.iter().map(String::as_str).collect()
        };
        chosen.retain(|c| *c != code);
        if on {
            chosen.push(code);
        }
        chosen.sort_by_key(|c| Market::ALL.iter().position(|m| m.code() == *c));
        let list = if chosen.len() == Market::ALL.len() || chosen.is_empty() {
            String::new()
        } else {
            chosen.join(",")
        };
        set(&[("markets", &list)]);
    };
    let scope = report.markets_in_scope.clone();
    let markets_param = if report.all_markets {
        String::new()
    } else {
        report.markets_in_scope.join(",")
    };
    let archive_week = week.clone();
    let trend_report = report.clone();
    let (pdf_href, xlsx_href, csv_href) = (
        download_href(&report, "pdf"),
        download_href(&report, "xlsx"),
        download_href(&report, "csv"),
    );
    let pending = archive.pending();
    let archived = archive.value();
    view! {
        <section class="card report-controls" aria-label="Week and markets">
            <label>
                "Week "
                <select
                    data-testid="report-week"
                    on:change=move |ev| set_week(&[("week", &event_target_value(&ev))])
                >
                    {weeks
                        .into_iter()
                        .map(|w| {
                            let selected = w == week;
                            view! { <option value=w.clone() selected=selected>{w.clone()}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <fieldset class="market-checks">
                <legend>"Markets"</legend>
                {Market::ALL
                    .iter()
                    .map(|m| {
                        let code = m.code();
                        let checked = scope.iter().any(|s| s == code);
                        let toggle = toggle.clone();
                        view! {
                            <label class="check">
                                <input
                                    type="checkbox"
                                    checked=checked
                                    data-testid=format!("report-market-{code}")
                                    on:change=move |ev| toggle(code, event_target_checked(&ev))
                                />
                                {code}
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <div class="actions">
                <a class="btn btn-primary" data-testid="download-pdf" href=pdf_href download>"Download PDF"</a>
                <a class="btn" data-testid="download-xlsx" href=xlsx_href download>"Download XLSX"</a>
                <a class="btn" data-testid="download-csv" href=csv_href download>"Download CSV"</a>
                <button
                    class="btn btn-ghost"
                    data-testid="archive-now"
                    disabled=move || pending.get()
                    on:click=move |_| {
                        archive.dispatch(ArchiveReport {
                            week: archive_week.clone(),
                            markets: markets_param.clone(),
                        });
                    }
                >
                    {move || if pending.get() { "Archiving…" } else { "Keep in archive" }}
                </button>
            </div>
            {move || archived.get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
        </section>
        <Summary report=report.clone()/>
        <ChartFigure svg=trend_chart testid="report-trend">
            <TrendTable report=trend_report.clone()/>
        </ChartFigure>
        <MarketTable report=report.clone()/>
        <Schedule schedule=schedule/>
        <Archive runs=runs retry can_manage/>
    }
}

/// One headline figure with its change and the 4-week average.
#[component]
fn Tile(
    label: &'static str,
    value: String,
    before: String,
    average: String,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <section class="kpi card" data-testid=testid>
            <h2 class="kpi-label">{label}</h2>
            <p class="kpi-value" data-testid=format!("{testid}-value")>{value}</p>
            <p class="kpi-detail">{format!("vs week before: {before}")}</p>
            <p class="kpi-detail">{format!("4-week average: {average}")}</p>
        </section>
    }
}

fn points(now: Option<f64>, before: Option<f64>) -> String {
    match (now, before) {
        (Some(a), Some(b)) => format!("{:+.1} pts", (a - b) * 100.0),
        _ => format::NONE.into(),
    }
}

fn relative(now: f64, before: f64) -> String {
    if before > 0.0 {
        format!("{:+.1}%", (now / before - 1.0) * 100.0)
    } else {
        format::NONE.into()
    }
}

#[component]
fn Summary(report: WeeklyReport) -> impl IntoView {
    let (t, p, a) = (&report.totals, &report.previous, &report.average);
    let value = |e: Option<amso_core::metrics::kpi::Estimate>| format::pct(e.map(|e| e.value));
    let per_1k = |k: &Kpis| {
        k.cost
            .per_1k_ads
            .map_or_else(|| format::NONE.to_string(), format::money)
    };
    view! {
        <section aria-label="Summary" data-testid="report-summary">
            <h2>{format!("Week {} · {} – {} ({})", report.week, report.window.from, report.window.to, report.time_zone)}</h2>
            <div class="kpi-grid">
                <Tile label="Ads decided" testid="report-decided" value=format::int(t.decided) before=relative(t.decided, p.decided) average=format::int(a.decided)/>
                <Tile label="Automation rate" testid="report-automation" value=format::pct(t.automation_rate) before=points(t.automation_rate, p.automation_rate) average=format::pct(a.automation_rate)/>
                <Tile label="Auto-reject precision" testid="report-precision" value=value(t.precision) before=points(t.precision.map(|e| e.value), p.precision.map(|e| e.value)) average=value(a.precision)/>
                <Tile label="Auto-reject recall" testid="report-recall" value=value(t.recall) before=points(t.recall.map(|e| e.value), p.recall.map(|e| e.value)) average=value(a.recall)/>
                <Tile label="Override rate" testid="report-override" value=format::pct(t.override_rate) before=points(t.override_rate, p.override_rate) average=format::pct(a.override_rate)/>
                <Tile label="Appeal overturn rate" testid="report-appeals" value=format::pct(t.appeal_overturn_rate) before=points(t.appeal_overturn_rate, p.appeal_overturn_rate) average=format::pct(a.appeal_overturn_rate)/>
                <Tile label="SLA p95" testid="report-sla" value=format::duration(t.sla_p95_seconds) before=format!("was {}", format::duration(p.sla_p95_seconds)) average=format::duration(a.sla_p95_seconds)/>
                <Tile label="Cost per 1,000 ads" testid="report-cost" value=per_1k(t) before=per_1k(p) average=per_1k(a)/>
            </div>
            <h3>"What moved this week"</h3>
            <ul class="findings" data-testid="report-findings">
                {report.findings.iter().map(|f| view! { <li>{f.clone()}</li> }).collect_view()}
            </ul>
        </section>
    }
}

/// The trend chart's numbers, for screen readers.
#[component]
fn TrendTable(report: WeeklyReport) -> impl IntoView {
    view! {
        <table class="table">
            <thead>
                <tr><th scope="col">"Week"</th><th scope="col" class="num">"Automation rate"</th><th scope="col" class="num">"Override rate"</th></tr>
            </thead>
            <tbody>
                {report
                    .trend_weeks
                    .iter()
                    .enumerate()
                    .map(|(i, w)| view! {
                        <tr>
                            <th scope="row">{w.clone()}</th>
                            <td class="num">{format::pct(report.trend_automation.get(i).copied().flatten())}</td>
                            <td class="num">{format::pct(report.trend_override.get(i).copied().flatten())}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn MarketTable(report: WeeklyReport) -> impl IntoView {
    let row = |label: String, k: &Kpis, total: bool| {
        let est = |e: Option<amso_core::metrics::kpi::Estimate>| match format::estimate(e.as_ref())
        {
            format::EstimateText::Shown {
                value, interval, ..
            } => format!("{value} ({interval})"),
            format::EstimateText::TooFew(s) => s,
            format::EstimateText::Missing => format::NONE.to_string(),
        };
        view! {
            <tr class=if total { "total" } else { "" } data-testid=format!("report-row-{label}")>
                <th scope="row">{label.clone()}</th>
                <td class="num">{format::int(k.decided)}</td>
                <td class="num">{format::pct(k.automation_rate)}</td>
                <td class="num">{est(k.precision)}</td>
                <td class="num">{est(k.recall)}</td>
                <td class="num">{format::pct(k.override_rate)}</td>
                <td class="num">{format::pct(k.appeal_overturn_rate)}</td>
                <td class="num">{format::duration(k.sla_p95_seconds)}</td>
                <td class="num">{k.cost.per_1k_ads.map_or_else(|| format::NONE.to_string(), format::money)}</td>
            </tr>
        }
    };
    view! {
        <section class="card" aria-label="Markets">
            <h2>"Markets this week"</h2>
            <div class="table-scroll">
                <table class="table">
                    <thead>
                        <tr>
                            <th scope="col">"Market"</th>
                            <th scope="col" class="num">"Decided"</th>
                            <th scope="col" class="num">"Automated"</th>
                            <th scope="col" class="num">"Precision (95% CI)"</th>
                            <th scope="col" class="num">"Recall (95% CI)"</th>
                            <th scope="col" class="num">"Override"</th>
                            <th scope="col" class="num">"Appeals overturned"</th>
                            <th scope="col" class="num">"SLA p95"</th>
                            <th scope="col" class="num">"Cost / 1,000 ads"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {report.markets.iter().map(|m| row(m.market.clone(), &m.week, false)).collect_view()}
                        {row("All".to_string(), &report.totals, true)}
                    </tbody>
                </table>
            </div>
            <ul class="muted small">
                {report.sample_notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn Schedule(schedule: amso_core::dashboard::view::ReportSchedule) -> impl IntoView {
    let when = if schedule.when == "off" {
        "The weekly schedule is off (AMSO_REPORT_SCHEDULE=off).".to_string()
    } else {
        format!(
            "Every {}, the week just ended is rendered in all three formats and kept below.",
            schedule.when,
        )
    };
    let next = match (schedule.next_week, schedule.next_at) {
        (Some(w), Some(at)) if schedule.when != "off" => {
            Some(view! { {format!(" Next: {w} at ")}<When at with_zone=true/>"." })
        }
        _ => None,
    };
    let mail = if !schedule.mail {
        "Mail is not configured (set AMSO_SMTP_URL and AMSO_REPORT_RECIPIENTS): reports are archived only.".to_string()
    } else if schedule.recipients.is_empty() {
        "SMTP is set but AMSO_REPORT_RECIPIENTS is empty: reports are archived only.".to_string()
    } else {
        format!("The PDF is mailed to {}.", schedule.recipients.join(", "))
    };
    view! {
        <section class="card" aria-label="Schedule" data-testid="report-schedule">
            <h2>"Schedule"</h2>
            <p>{when}{next}</p>
            <p class="muted">{mail}</p>
        </section>
    }
}

/// Where a report's mail stands, its instants on the viewer's clock.
fn delivery_text(r: &ArchivedReport) -> AnyView {
    let at = |t: &Option<String>| t.clone().map(|at| view! { <When at with_zone=true/> });
    match r.delivery.as_str() {
        "none" => "not mailed".into_any(),
        "sent" => {
            view! { "sent "{at(&r.delivered_at)}{format!(" to {}", r.recipients)} }.into_any()
        }
        "pending" if r.delivery_attempts == 0 => "queued".into_any(),
        "pending" => view! {
            {format!(
                "retrying (attempt {} failed: {}); next try ",
                r.delivery_attempts,
                r.delivery_error.clone().unwrap_or_default(),
            )}
            {at(&r.delivery_next_at)}
        }
        .into_any(),
        "failed" => format!(
            "FAILED after {} attempts: {}",
            r.delivery_attempts,
            r.delivery_error.clone().unwrap_or_default()
        )
        .into_any(),
        other => other.to_string().into_any(),
    }
}

#[component]
fn Archive(
    runs: Vec<ArchivedReport>,
    retry: ServerAction<RetryReportDelivery>,
    can_manage: bool,
) -> impl IntoView {
    if runs.is_empty() {
        return view! {
            <section class="card" aria-label="Archive" data-testid="report-archive">
                <h2>"Archive"</h2>
                <p class="muted">"Nothing archived yet: the schedule keeps each week's report here once it has run."</p>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="card" aria-label="Archive" data-testid="report-archive">
            <h2>"Archive"</h2>
            <div class="table-scroll">
                <table class="table">
                    <thead>
                        <tr>
                            <th scope="col">"Week"</th>
                            <th scope="col">"Made by"</th>
                            <th scope="col">{in_viewer_zone("When")}</th>
                            <th scope="col">"From which data"</th>
                            <th scope="col">"Files"</th>
                            <th scope="col">"Mail"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {runs
                            .into_iter()
                            .map(|r| {
                                let id = r.id;
                                let files = if r.state == "ready" {
                                    ["pdf", "xlsx", "csv"]
                                        .into_iter()
                                        .map(|f| view! {
                                            <a class="btn btn-small" href=format!("/api/v1/reports/archive/{id}?format={f}") download>{f.to_uppercase()}</a>
                                        })
                                        .collect_view()
                                        .into_any()
                                } else if r.state == "failed" {
                                    view! { <span class="badge badge-bad">{format!("failed: {}", r.error.clone().unwrap_or_default())}</span> }.into_any()
                                } else {
                                    view! { <span class="muted">"rendering…"</span> }.into_any()
                                };
                                let by = if r.origin == "schedule" { "schedule".to_string() } else { r.generated_by.clone() };
                                let data = view! {
                                    {format!("{} decisions, newest ", r.decisions.map(|d| format::int(d as f64)).unwrap_or_default())}
                                    {r.data_through.clone().map(|at| view! { <When at/> })}
                                    {if r.markets.is_empty() { String::new() } else { format!(" · markets {}", r.markets) }}
                                };
                                let failed = r.delivery == "failed";
                                view! {
                                    <tr data-testid=format!("archive-row-{}", r.id) data-origin=r.origin.clone() data-delivery=r.delivery.clone()>
                                        <th scope="row">{r.week.clone()}</th>
                                        <td>{by}</td>
                                        <td>{r.generated_at.clone().map(|at| view! { <When at/> })}</td>
                                        <td class="small">{data}</td>
                                        <td>{files}</td>
                                        <td class=if failed { "small bad" } else { "small" }>
                                            {delivery_text(&r)}
                                            {(failed && can_manage).then(|| view! {
                                                <button class="btn btn-small" on:click=move |_| { retry.dispatch(RetryReportDelivery { id }); }>"Retry"</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
