//! `amso bench --scenarios dashboards`: writes a synthetic history of N decisions (ads,
//! decisions, review tasks and reviews as raw rows, with their rollups written in the same
//! transactions by the same code as the live path), then times every dashboard query.

use crate::cli::CliError;
use amso_core::dashboard;
use amso_core::dashboard::view::Selection;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
use amso_core::rollup::{DecisionFacts, Delta, FinalVerdict, ReviewWork};
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use std::time::Instant;

const DAY_MS: i64 = 86_400_000;
/// Rows written per transaction.
const CHUNK: usize = 20_000;
const REVIEWERS: i64 = 20;

/// One synthetic ad with everything written for it.
struct Synth {
    facts: DecisionFacts,
    truth: Option<Category>,
    review: Option<(FinalVerdict, ReviewWork)>,
    open_task: bool,
}

/// One ad decided at `decided_at`; `end` is the end of the history (now).
fn synth(rng: &mut StdRng, id: i64, decided_at: i64, end: i64) -> Synth {
    let market = Market::ALL[rng.gen_range(0..Market::ALL.len())];
    let submitted_at = decided_at - rng.gen_range(200..60_000);
    let mut scores = [0.0f32; 10];
    for s in &mut scores {
        *s = rng.r#gen::<f32>() * 0.1;
    }
    let c = Category::ALL[rng.gen_range(0..Category::ALL.len())];
    // Late drift: scam wording changes in Indonesia in the last five days.
    let drifting = market == Market::Id && c == Category::Scam && decided_at > end - 5 * DAY_MS;
    let violating = rng.gen_bool(if drifting { 0.3 } else { 0.08 });
    if violating {
        scores[c.index()] = if drifting {
            0.3 + 0.5 * rng.r#gen::<f32>()
        } else {
            0.55 + 0.45 * rng.r#gen::<f32>()
        };
    } else if rng.gen_bool(0.1) {
        scores[c.index()] = 0.2 + 0.5 * rng.r#gen::<f32>();
    }
    let rejects: Vec<Category> = Category::ALL
        .into_iter()
        .filter(|k| scores[k.index()] >= 0.8)
        .collect();
    let (action, p) = if !rejects.is_empty() {
        ("reject", 0.05)
    } else if scores.iter().any(|s| *s >= 0.2) {
        ("review", 1.0)
    } else {
        ("approve", 0.02)
    };
    let audit = action != "review" && rng.gen_bool(p);
    let reasons = if action == "review" { vec![c] } else { rejects };
    let facts = DecisionFacts {
        ad_id: id,
        market: market.code().to_string(),
        language: market.languages()[0].code().to_string(),
        model_version: "bench-model".into(),
        decided_at,
        submitted_at,
        scores,
        action: action.into(),
        reasons,
        audit_sample: audit,
        sampling_probability: p,
        latency_ms: 0.02 + rng.r#gen::<f64>() * 0.02,
        daily_budget_usd: (20.0 + rng.r#gen::<f64>() * 400.0).round(),
    };
    let truth = violating.then_some(c);
    let recent = decided_at > end - 36 * 3_600_000;
    let (mut review, mut open_task) = (None, false);
    if action == "review" && recent {
        open_task = true;
    } else if action == "review" || audit {
        // Reviewers agree with the truth 95% of the time.
        let reject = violating != rng.gen_bool(0.05);
        let started_at = (decided_at + rng.gen_range(60_000..20 * 3_600_000)).min(end - 60_000);
        let finished_at = started_at + rng.gen_range(30_000..300_000);
        let machine_reject = action == "reject";
        review = Some((
            FinalVerdict {
                reject,
                categories: if reject { vec![c] } else { vec![] },
            },
            ReviewWork {
                reviewer_id: 1 + rng.gen_range(0..REVIEWERS),
                source: if audit { "audit" } else { "uncertain" }.into(),
                reject,
                overrode: action != "review" && reject != machine_reject,
                reason_code: (action != "review" && reject != machine_reject).then(|| {
                    if reject {
                        "missed_violation"
                    } else {
                        "benign_context"
                    }
                    .to_string()
                }),
                status_before: match action {
                    "approve" => "auto_approved",
                    "reject" => "auto_rejected",
                    _ => "in_review",
                }
                .into(),
                started_at,
                finished_at,
                due_at: submitted_at + 24 * 3_600_000,
            },
        ));
    }
    Synth {
        facts,
        truth,
        review,
        open_task,
    }
}

fn status_of(s: &Synth) -> &'static str {
    match (&s.review, s.facts.action.as_str()) {
        (Some((v, w)), _) if w.source == "uncertain" => {
            if v.reject {
                "rejected"
            } else {
                "approved"
            }
        }
        (_, "approve") => "auto_approved",
        (_, "reject") => "auto_rejected",
        _ => "in_review",
    }
}

async fn insert_rows(
    tx: &mut amso_core::platform::db::WriteTx,
    table: &str,
    columns: &str,
    rows: Vec<Vec<Value>>,
) -> Result<(), CliError> {
    if rows.is_empty() {
        return Ok(());
    }
    let width = rows[0].len();
    for chunk in rows.chunks((8_000 / width).max(1)) {
        // Nulls are written as `null`, not bound: PostgreSQL cannot coerce a parameter bound
        // as text into a bigint column.
        let mut sql = format!("insert into {table} ({columns}) values ");
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(" } else { ",(" });
            for (j, v) in row.iter().enumerate() {
                if j > 0 {
                    sql.push(',');
                }
                if v.is_null() {
                    sql.push_str("null");
                } else {
                    n += 1;
                    tx.backend().push_placeholder(&mut sql, n);
                }
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = match v {
                    Value::Null => continue,
                    Value::Bool(b) => q.bind(*b),
                    Value::Number(x) if x.is_i64() => q.bind(x.as_i64()),
                    Value::Number(x) => q.bind(x.as_f64()),
                    Value::String(s) => q.bind(s.clone()),
                    other => q.bind(other.to_string()),
                };
            }
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Writes `n` synthetic decisions (and their reviews) ending now. Returns the seconds taken.
pub async fn write_history(db: &Db, n: usize, seed: u64) -> Result<f64, CliError> {
    let started = Instant::now();
    let end = now_millis();
    let mut rng = StdRng::seed_from_u64(seed);
    {
        let mut tx = db.begin_write().await?;
        let users: Vec<Vec<Value>> = (1..=REVIEWERS)
            .map(|i| {
                json!([
                    format!("bench-reviewer-{i}@example.com"),
                    format!("Bench reviewer {i}"),
                    "reviewer",
                    "-",
                    end,
                    end
                ])
                .as_array()
                .cloned()
                .unwrap_or_default()
            })
            .collect();
        insert_rows(
            &mut tx,
            "users",
            "email, display_name, role, password_hash, created_at, updated_at",
            users,
        )
        .await?;
        tx.commit().await?;
    }
    let (first_user,): (i64,) =
        sqlx::query_as("select min(id) from users where email like 'bench-reviewer-%'")
            .fetch_one(db.pool())
            .await?;
    let mut written = 0;
    let mut review_id = 0i64;
    while written < n {
        let take = CHUNK.min(n - written);
        let batch: Vec<Synth> = (0..take)
            .map(|i| {
                // Decisions arrive in time order over the 28 days, as they would.
                let k = (written + i) as f64 / n as f64;
                let at = end - 28 * DAY_MS + (k * (28 * DAY_MS) as f64) as i64;
                synth(&mut rng, (written + i + 1) as i64, at, end)
            })
            .map(|mut s| {
                if let Some((_, w)) = &mut s.review {
                    w.reviewer_id += first_user - 1;
                }
                s
            })
            .collect();
        let mut ads = Vec::with_capacity(take);
        let mut decisions = Vec::with_capacity(take);
        let mut tasks = Vec::new();
        let mut reviews = Vec::new();
        let mut delta = Delta::default();
        for s in &batch {
            let f = &s.facts;
            let labels = s
                .truth
                .map_or_else(|| "[]".to_string(), |c| format!("[\"{}\"]", c.as_str()));
            ads.push(vec![
                json!(f.ad_id),
                json!("bench"),
                json!(format!("b{}", f.ad_id)),
                json!(format!("adv-{}", f.ad_id % 5000)),
                json!(f.market),
                json!(f.language),
                json!(format!("Bench ad {}", f.ad_id)),
                json!("Synthetic body"),
                json!(f.daily_budget_usd),
                json!(labels),
                json!(f.submitted_at),
                json!(status_of(s)),
                json!(f.decided_at),
            ]);
            decisions.push(vec![
                json!(f.ad_id),
                json!(f.model_version),
                json!(1),
                json!(serde_json::to_string(&f.scores.to_vec()).unwrap_or_default()),
                json!(f.action),
                json!(
                    serde_json::to_string(
                        &f.reasons.iter().map(|c| c.as_str()).collect::<Vec<_>>()
                    )
                    .unwrap_or_default()
                ),
                if f.action == "review" {
                    json!("uncertain")
                } else if f.audit_sample {
                    json!("audit")
                } else {
                    Value::Null
                },
                json!(f.audit_sample),
                json!(f.sampling_probability),
                json!(f.latency_ms),
                json!(f.decided_at),
                json!("bench"),
            ]);
            delta.decision(f);
            let source = if f.action == "review" {
                "uncertain"
            } else {
                "audit"
            };
            if s.open_task {
                review_id += 1;
                tasks.push(vec![
                    json!(review_id),
                    json!(f.ad_id),
                    json!(source),
                    json!(f.market),
                    json!("open"),
                    json!(f.decided_at),
                    json!(f.submitted_at + 24 * 3_600_000),
                    json!(f.daily_budget_usd * 0.5),
                    Value::Null,
                ]);
            }
            if let Some((v, w)) = &s.review {
                review_id += 1;
                tasks.push(vec![
                    json!(review_id),
                    json!(f.ad_id),
                    json!(source),
                    json!(f.market),
                    json!("done"),
                    json!(f.decided_at),
                    json!(w.due_at),
                    json!(f.daily_budget_usd * 0.5),
                    json!(w.finished_at),
                ]);
                let machine = f.action.clone();
                reviews.push(vec![
                    json!(review_id),
                    json!(review_id),
                    json!(f.ad_id),
                    json!(w.reviewer_id),
                    json!(w.source),
                    json!(f.market),
                    json!(if v.reject { "reject" } else { "approve" }),
                    json!(
                        serde_json::to_string(
                            &v.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>()
                        )
                        .unwrap_or_default()
                    ),
                    w.reason_code.as_ref().map_or(Value::Null, |r| json!(r)),
                    json!(machine),
                    json!(w.overrode),
                    json!(false),
                    json!(w.status_before),
                    json!(w.started_at),
                    json!(w.finished_at),
                ]);
                delta.verdict(f, v, 1.0);
                delta.work(f, w, 1.0);
            }
        }
        let mut tx = db.begin_write().await?;
        insert_rows(&mut tx, "ads", "id, source, external_id, advertiser_id, market, language, headline, body, daily_budget_usd, labels, submitted_at, status, decided_at", ads).await?;
        insert_rows(&mut tx, "decisions", "ad_id, model_version, thresholds_version, scores, action, reasons, route, audit_sample, sampling_probability, latency_ms, decided_at, worker", decisions).await?;
        insert_rows(
            &mut tx,
            "review_tasks",
            "id, ad_id, source, market, state, created_at, due_at, risk, closed_at",
            tasks,
        )
        .await?;
        insert_rows(&mut tx, "reviews", "id, task_id, ad_id, reviewer_id, source, market, verdict, categories, reason_code, machine_action, override, bulk, status_before, started_at, finished_at", reviews).await?;
        delta.flush(&mut tx).await?;
        tx.commit().await?;
        written += take;
        eprint!(
            "\r  {written} of {n} decisions written ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    }
    eprintln!();
    let written = started.elapsed().as_secs_f64();
    // What autovacuum does in the background of a live server, done now: after a bulk load
    // PostgreSQL has neither statistics nor a visibility map, so it would plan the backlog
    // count for one row and fetch every open task from the heap.
    if db.backend() == amso_core::platform::db::Backend::Postgres {
        eprintln!("vacuum analyze after the bulk load …");
        sqlx::query("vacuum analyze").execute(db.pool()).await?;
    }
    Ok(written)
}

/// Times each dashboard query `rounds` times over the data in `db`.
pub async fn time_queries(db: &Db, rounds: usize) -> Result<Value, CliError> {
    let now = now_millis();
    let sel = |window: &str, market: &str| Selection {
        window: window.into(),
        market: market.into(),
        ..Selection::default()
    };
    let all7 = dashboard::filter::resolve(&sel("7d", ""), now)?;
    let all28 = dashboard::filter::resolve(&sel("28d", ""), now)?;
    let us28 = dashboard::filter::resolve(&sel("28d", "US"), now)?;
    let mut out = serde_json::Map::new();
    macro_rules! timed {
        ($name:expr, $call:expr) => {{
            let mut ms = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                let t = Instant::now();
                $call;
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            out.insert($name.into(), crate::bench::latency_summary(ms));
        }};
    }
    timed!(
        "overview_7d",
        dashboard::overview::overview(db, &all7, now).await?
    );
    timed!(
        "overview_28d",
        dashboard::overview::overview(db, &all28, now).await?
    );
    timed!(
        "overview_28d_us",
        dashboard::overview::overview(db, &us28, now).await?
    );
    timed!(
        "kpis_api_json_28d",
        crate::api::overview_json(&dashboard::overview::overview(db, &all28, now).await?)
    );
    timed!(
        "quality_28d",
        dashboard::quality::quality(db, &all28).await?
    );
    timed!(
        "drift_cells_7d",
        dashboard::drift::drift_cells(db, &all7, &dashboard::drift::reference_window(&all7.window))
            .await?
    );
    timed!(
        "drift_page_7d",
        dashboard::drift::drift_view(db, &all7, &dashboard::drift::reference_window(&all7.window))
            .await?
    );
    timed!("cost_28d", dashboard::cost::cost_view(db, &all28).await?);
    timed!(
        "overrides_28d",
        dashboard::overrides::overrides_view(db, &all28).await?
    );
    timed!(
        "overrides_28d_us_drilldown",
        dashboard::overrides::overrides_view(db, &us28).await?
    );
    timed!(
        "simulator",
        dashboard::simulator::simulate(db, Market::Us, Category::Scam, 0.25, 0.85, now).await?
    );
    timed!(
        "drift_check",
        dashboard::drift_alerts::check_drift(db, now).await?
    );
    Ok(Value::Object(out))
}

/// Time from a decision's commit to the `kpis` event on an open `/api/v1/stream`, through
/// the real router, `rounds` times.
pub async fn live_latency(
    db: &Db,
    config: &amso_core::platform::config::Config,
    rounds: usize,
) -> Result<Value, CliError> {
    use axum::body::Body;
    use axum::http::{Request, header};
    use futures_util::StreamExt;
    use tower::ServiceExt;
    let password = "bench-live-password";
    let email = format!("bench-exec-{}@example.com", now_millis());
    amso_core::access::users::create(
        db,
        &amso_core::access::audit::Actor::System,
        amso_core::access::users::NewUser {
            email: email.clone(),
            display_name: "Bench executive".into(),
            role: amso_core::vocab::role::Role::Executive,
            markets: vec![],
            password: password.into(),
            demo_credentials: false,
        },
    )
    .await?;
    let state = amso_app::ssr::AppState {
        leptos_options: leptos::config::LeptosOptions::builder()
            .output_name("amso")
            .build(),
        db: db.clone(),
        config: std::sync::Arc::new(config.clone()),
        scorer: None,
    };
    let app = crate::web::build_router(state).router;
    let login = Request::post("/rpc/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(format!(
            "email={}&password={password}",
            email.replace('@', "%40")
        )))?;
    let res = app.clone().oneshot(login).await?;
    let cookie = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("amso_session="))
        .and_then(|v| v.split(';').next())
        .ok_or("bench login failed")?
        .to_string();
    let req = Request::get("/api/v1/stream")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())?;
    let mut body = app.oneshot(req).await?.into_body().into_data_stream();
    let mut ms = Vec::with_capacity(rounds);
    let mut rng = StdRng::seed_from_u64(9);
    // Above every id of the history and of earlier runs on the same database.
    let (last_id,): (Option<i64>,) = sqlx::query_as("select max(id) from ads")
        .fetch_one(db.pool())
        .await?;
    let first_id = last_id.unwrap_or(0).max(50_000_000) + 1;
    for i in 0..rounds {
        // Let the stream settle on the current state, then commit one decision.
        let settle = tokio::time::timeout(std::time::Duration::from_millis(400), body.next()).await;
        drop(settle);
        let s = synth(&mut rng, first_id + i as i64, now_millis(), now_millis());
        let mut delta = Delta::default();
        delta.decision(&s.facts);
        let f = &s.facts;
        let mut tx = db.begin_write().await?;
        insert_rows(&mut tx, "ads", "id, source, external_id, advertiser_id, market, headline, body, daily_budget_usd, submitted_at, status, decided_at",
            vec![json!([f.ad_id, "live", format!("live{}", f.ad_id), "adv", f.market, "Live", "Live", f.daily_budget_usd, f.submitted_at, "auto_approved", f.decided_at]).as_array().cloned().unwrap_or_default()]).await?;
        insert_rows(&mut tx, "decisions", "ad_id, model_version, thresholds_version, scores, action, reasons, audit_sample, sampling_probability, latency_ms, decided_at, worker",
            vec![json!([f.ad_id, "bench-model", 1, "[0,0,0,0,0,0,0,0,0,0]", "approve", "[]", false, 0.02, 0.1, f.decided_at, "live"]).as_array().cloned().unwrap_or_default()]).await?;
        delta.flush(&mut tx).await?;
        tx.commit().await?;
        let committed = Instant::now();
        loop {
            let next = tokio::time::timeout(std::time::Duration::from_secs(5), body.next())
                .await
                .map_err(|_| "no live event within 5 s")?
                .ok_or("the stream ended")??;
            if String::from_utf8_lossy(&next).starts_with("event: kpis") {
                break;
            }
        }
        ms.push(committed.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(crate::bench::latency_summary(ms))
}

/// The weekly report of the last complete week (UTC, every market): the time to read its
/// figures from the rollups, and to render each format from them, over `rounds` rounds.
/// A format's full time is reading plus rendering, as `amso report` and the API do it.
pub async fn time_report(db: &Db, rounds: usize) -> Result<Value, CliError> {
    use amso_core::report::{self, Format, build::Request, week::IsoWeek};
    let now = now_millis();
    let req = Request {
        week: IsoWeek::last_complete(now, report::UTC),
        tz: report::UTC,
        markets: Vec::new(),
    };
    let mut build_ms = Vec::with_capacity(rounds);
    let mut render_ms: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut full_ms: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut bytes = [0usize; 3];
    let mut decided = 0.0;
    for _ in 0..rounds {
        let t = Instant::now();
        let built = std::sync::Arc::new(report::build::build(db, &req, now).await?);
        let read = t.elapsed().as_secs_f64() * 1000.0;
        build_ms.push(read);
        decided = built.totals.decided;
        for (i, format) in Format::ALL.into_iter().enumerate() {
            let t = Instant::now();
            let file = report::build::render_async(built.clone(), format).await?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            render_ms[i].push(ms);
            full_ms[i].push(read + ms);
            bytes[i] = file.len();
        }
    }
    let mut formats = serde_json::Map::new();
    for (i, format) in Format::ALL.into_iter().enumerate() {
        formats.insert(
            format.as_str().into(),
            json!({
                "render": crate::bench::latency_summary(render_ms[i].clone()),
                "read_and_render": crate::bench::latency_summary(full_ms[i].clone()),
                "bytes": bytes[i],
            }),
        );
    }
    Ok(json!({
        "week": req.week.to_string(),
        "decided_in_week": decided,
        "read_figures": crate::bench::latency_summary(build_ms),
        "formats": formats,
    }))
}
