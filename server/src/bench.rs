//! `amso bench`: throughput and latency of the engine on this machine, printed as JSON.
//!
//! Scenarios: `scoring` (featurize + ONNX on one core), `e2e` (queued in the database →
//! decision committed, one worker), `api` (one ad at a time through HTTP on loopback to its
//! decision, under light load), `python` (the same model and texts through a plain Python
//! featurizer and the official onnxruntime, for comparison).

use crate::cli::CliError;
use amso_app::ssr::AppState;
use amso_core::demo::corpus::{CorpusAd, CorpusParams, generate};
use amso_core::engine::commit;
use amso_core::engine::featurize::featurize;
use amso_core::engine::model::runtime::OnnxModel;
use amso_core::engine::worker::{Scorer, WorkerConfig, process_batch};
use amso_core::intake::ads;
use amso_core::intake::validate::NewAd;
use amso_core::platform::config::Config;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of `amso bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Comma-separated scenarios: scoring, e2e, api, python, review, dashboards, report.
    #[arg(
        long,
        default_value = "scoring,e2e,api,python,review,dashboards,report"
    )]
    pub scenarios: String,
    /// Review items queued for the review scenario.
    #[arg(long, default_value_t = 100_000)]
    pub review_items: usize,
    /// Concurrent reviewers in the review scenario.
    #[arg(long, default_value_t = 50)]
    pub reviewers: usize,
    /// Items each reviewer claims and submits in the review scenario.
    #[arg(long, default_value_t = 40)]
    pub per_reviewer: usize,
    /// Ads per throughput scenario.
    #[arg(long, default_value_t = 20_000)]
    pub ads: usize,
    /// Database for the e2e and api scenarios (default: a fresh SQLite file in a temp dir);
    /// give a postgres:// URL of an empty database to measure PostgreSQL.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Decisions written for the dashboards scenario.
    #[arg(long, default_value_t = 1_000_000)]
    pub decisions: usize,
    /// Times each dashboard query is run.
    #[arg(long, default_value_t = 30)]
    pub rounds: usize,
    /// Workers deciding at once in the e2e scenario (each claims its own batches, as
    /// `AMSO_WORKERS` workers of `amso serve` do).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Single-ad requests in the api scenario.
    #[arg(long, default_value_t = 300)]
    pub requests: usize,
}

/// Decisions already in a benchmark database (one given with --database-url may hold some).
async fn decisions_in(db: &Db) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from decisions")
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

fn corpus(n: usize) -> Vec<CorpusAd> {
    generate(&CorpusParams {
        ads: n,
        days: 7,
        seed: 99,
        end: now_millis(),
    })
}

fn to_new(a: &CorpusAd, prefix: &str) -> NewAd {
    let mut submitted = a.to_submitted(false);
    submitted.external_id = Some(format!("{prefix}-{}", a.external_id));
    submitted.validate().expect("demo ads are valid")
}

/// Runs the chosen scenarios and prints one JSON object.
pub async fn run(args: &BenchArgs, config: &Config) -> Result<(), CliError> {
    let model_path = PathBuf::from(&config.model_path);
    let mut out = serde_json::Map::new();
    out.insert(
        "machine".into(),
        json!({ "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) }),
    );
    out.insert("model".into(), json!(config.model_path));
    let scenarios: Vec<&str> = args.scenarios.split(',').map(str::trim).collect();
    let ads = corpus(args.ads);
    let tmp = std::env::temp_dir().join(format!("amso-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    if scenarios.contains(&"scoring") {
        eprintln!("scoring: featurize + ONNX Runtime, one thread, batches of 256 …");
        out.insert("scoring".into(), scoring(&model_path, &ads)?);
    }
    if scenarios.contains(&"e2e") {
        eprintln!("e2e: queued in the database → decision committed …");
        out.insert(
            "e2e".into(),
            e2e(
                &model_path,
                &ads,
                args.workers,
                args.database_url.as_deref(),
                &tmp,
            )
            .await?,
        );
    }
    if scenarios.contains(&"api") {
        eprintln!("api: single ads through HTTP to their decision …");
        out.insert(
            "api".into(),
            api(
                config,
                &ads,
                args.requests,
                args.database_url.as_deref(),
                &tmp,
            )
            .await?,
        );
    }
    if scenarios.contains(&"review") {
        eprintln!(
            "review: {} reviewers claiming and submitting against {} queued items …",
            args.reviewers, args.review_items
        );
        out.insert(
            "review".into(),
            review(args, args.database_url.as_deref(), &tmp).await?,
        );
    }
    if scenarios.contains(&"dashboards") {
        // A database that already holds decisions (--database-url) is measured as it is, so
        // the queries can be timed again without writing the history again.
        let (db, shown) = bench_db(args.database_url.as_deref(), &tmp, "dashboards").await?;
        let existing = decisions_in(&db).await?;
        let write_secs = if existing == 0 {
            eprintln!(
                "dashboards: {} decisions of history, then every dashboard query …",
                args.decisions
            );
            crate::bench_dash::write_history(&db, args.decisions, 5).await?
        } else {
            eprintln!("dashboards: every dashboard query over the {existing} decisions there …");
            0.0
        };
        let queries = crate::bench_dash::time_queries(&db, args.rounds).await?;
        let live = crate::bench_dash::live_latency(&db, config, 20).await?;
        out.insert(
            "dashboards".into(),
            json!({
                "database": shown,
                "decisions": if existing == 0 { args.decisions as i64 } else { existing },
                "history_written_seconds": write_secs,
                "queries": queries,
                "live_update_commit_to_event": live,
            }),
        );
    }
    if scenarios.contains(&"report") {
        // On a database that already holds decisions (--database-url), the report reads
        // those; otherwise --decisions of history are written first.
        let (db, shown) = bench_db(args.database_url.as_deref(), &tmp, "report").await?;
        let existing = decisions_in(&db).await?;
        let written = if existing == 0 {
            eprintln!("report: writing {} decisions of history …", args.decisions);
            crate::bench_dash::write_history(&db, args.decisions, 7).await?;
            args.decisions as i64
        } else {
            existing
        };
        eprintln!("report: the last complete week, read and rendered in every format …");
        let timed = crate::bench_dash::time_report(&db, args.rounds).await?;
        out.insert(
            "report".into(),
            json!({ "database": shown, "decisions": written, "timings": timed }),
        );
    }
    if scenarios.contains(&"python") {
        eprintln!("python: plain Python featurizer + official onnxruntime …");
        out.insert("python".into(), python(&model_path, &ads, &tmp)?);
        if let (Some(r), Some(p)) = (
            out.get("scoring")
                .and_then(|s| s["ads_per_second"].as_f64()),
            out.get("python").and_then(|s| s["ads_per_second"].as_f64()),
        ) {
            out.insert("scoring_vs_python".into(), json!(r / p));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!("{}", serde_json::to_string_pretty(&Value::Object(out))?);
    Ok(())
}

fn scoring(model_path: &Path, ads: &[CorpusAd]) -> Result<Value, CliError> {
    let mut model = OnnxModel::load(model_path)?;
    let started = Instant::now();
    let mut featurize_time = Duration::ZERO;
    for chunk in ads.chunks(256) {
        let t = Instant::now();
        let batch: Vec<Vec<u32>> = chunk
            .iter()
            .map(|a| featurize(&a.headline, &a.body, Some(&a.landing_url), model.buckets))
            .collect();
        featurize_time += t.elapsed();
        model.score(&batch)?;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(json!({
        "ads": ads.len(),
        "seconds": secs,
        "ads_per_second": ads.len() as f64 / secs,
        "featurize_share": featurize_time.as_secs_f64() / secs,
    }))
}

async fn bench_db(url: Option<&str>, tmp: &Path, name: &str) -> Result<(Db, String), CliError> {
    let url = match url {
        Some(u) => u.to_string(),
        None => format!("sqlite://{}", tmp.join(format!("{name}.db")).display()),
    };
    let db = Db::connect(&url, 8).await?;
    db.migrate().await?;
    Ok((db, amso_core::platform::db::redact(&url)))
}

async fn e2e(
    model_path: &Path,
    ads: &[CorpusAd],
    workers: usize,
    url: Option<&str>,
    tmp: &Path,
) -> Result<Value, CliError> {
    let (db, shown) = bench_db(url, tmp, "e2e").await?;
    let prefix = format!("e2e{}", now_millis());
    let new: Vec<NewAd> = ads.iter().map(|a| to_new(a, &prefix)).collect();
    let started = Instant::now();
    for chunk in new.chunks(1000) {
        ads::submit(&db, "bench", chunk, now_millis()).await?;
    }
    let queued_secs = started.elapsed().as_secs_f64();
    let scorer = Scorer::start(model_path, 4)?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers.max(1))
        .map(|i| {
            let (db, scorer) = (db.clone(), scorer.clone());
            let config = WorkerConfig {
                worker_id: format!("bench-{i}"),
                batch_size: 512,
                lease: Duration::from_secs(60),
                idle: Duration::from_millis(1),
                audit_rate_approve: 0.02,
                audit_rate_reject: 0.05,
            };
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(1 + i as u64);
                let mut decided = 0;
                loop {
                    match process_batch(&db, &scorer, &config, &mut rng).await? {
                        0 => return Ok::<usize, amso_core::engine::worker::EngineError>(decided),
                        n => decided += n,
                    }
                }
            })
        })
        .collect();
    let mut decided = 0;
    for t in tasks {
        decided += t.await.map_err(|e| format!("e2e worker panicked: {e}"))??;
    }
    let secs = started.elapsed().as_secs_f64();
    db.close().await;
    Ok(json!({
        "database": shown,
        "ads": decided,
        "workers": workers.max(1),
        "queue_insert_ads_per_second": new.len() as f64 / queued_secs,
        "seconds": secs,
        "ads_per_second": decided as f64 / secs,
    }))
}

async fn api(
    config: &Config,
    ads: &[CorpusAd],
    requests: usize,
    url: Option<&str>,
    tmp: &Path,
) -> Result<Value, CliError> {
    let (db, shown) = bench_db(url, tmp, "api").await?;
    let scorer = Scorer::start(Path::new(&config.model_path), 64)?;
    let (key, secret) = amso_core::access::apikeys::create(
        &db,
        &amso_core::access::audit::Actor::Cli,
        "bench",
        amso_core::access::apikeys::Scope::Ingest,
    )
    .await?;
    let _ = key;
    let leptos_options = leptos::config::LeptosOptions::builder()
        .output_name("amso")
        .build();
    let state = AppState {
        leptos_options,
        db: db.clone(),
        config: Arc::new(config.clone()),
        scorer: Some(scorer.clone()),
    };
    let router = crate::web::build_router(state).router;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker_config = WorkerConfig {
        worker_id: "bench-api".into(),
        batch_size: 256,
        lease: Duration::from_secs(60),
        idle: Duration::from_millis(2),
        audit_rate_approve: 0.02,
        audit_rate_reject: 0.05,
    };
    let worker = tokio::spawn(amso_core::engine::worker::run_worker(
        db.clone(),
        scorer,
        worker_config,
        stopped,
    ));
    let client = SimpleClient {
        addr: addr.to_string(),
        secret,
    };
    let prefix = format!("api{}", now_millis());
    let mut latencies = Vec::with_capacity(requests);
    for a in ads.iter().take(requests) {
        let body = serde_json::to_string(&json!({
            "external_id": format!("{prefix}-{}", a.external_id),
            "market": a.market.code(),
            "headline": a.headline,
            "body": a.body,
            "landing_url": a.landing_url,
        }))?;
        let started = Instant::now();
        let reply = client.request("POST", "/api/v1/ads", Some(&body)).await?;
        let id = reply["id"].as_i64().ok_or("submission failed")?;
        loop {
            let ad = client
                .request("GET", &format!("/api/v1/ads/{id}"), None)
                .await?;
            if ad["status"] != "queued" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        // Light load: a few requests a second would be far lighter; 20 ms apart is enough
        // for the queue to be empty at each submission.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    let _ = worker.await;
    server.abort();
    db.close().await;
    latencies.sort_by(f64::total_cmp);
    let q = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    Ok(json!({
        "database": shown,
        "requests": latencies.len(),
        "p50_ms": q(0.5),
        "p95_ms": q(0.95),
        "p99_ms": q(0.99),
        "max_ms": latencies.last(),
        "note": "submit → poll GET until decided; includes the worker's idle poll (2 ms) and HTTP on loopback",
    }))
}

/// A minimal HTTP/1.1 client over loopback, enough for the benchmark.
struct SimpleClient {
    addr: String,
    secret: String,
}

impl SimpleClient {
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<Value, CliError> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(&self.addr).await?;
        let body = body.unwrap_or("");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            self.secret,
            body.len()
        );
        stream.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await?;
        let text = String::from_utf8_lossy(&buf);
        let (_, payload) = text.split_once("\r\n\r\n").ok_or("malformed HTTP reply")?;
        Ok(serde_json::from_str(payload.trim())?)
    }
}

fn python(model_path: &Path, ads: &[CorpusAd], tmp: &Path) -> Result<Value, CliError> {
    let data = tmp.join("python.jsonl");
    let mut text = String::new();
    for a in ads {
        text.push_str(&serde_json::to_string(
            &json!({ "headline": a.headline, "body": a.body, "landing_url": a.landing_url }),
        )?);
        text.push('\n');
    }
    std::fs::write(&data, text)?;
    let model = OnnxModel::load(model_path)?;
    let python = std::env::var("AMSO_PYTHON").unwrap_or_else(|_| ".tools/venv/bin/python".into());
    let out = std::process::Command::new(&python)
        .arg("scripts/bench_python.py")
        .arg(model_path)
        .arg(&data)
        .arg(model.buckets.to_string())
        .output()
        .map_err(|e| {
            format!(
                "cannot run {python} (set AMSO_PYTHON; scripts/setup.sh installs .tools/venv): {e}"
            )
        })?;
    if !out.status.success() {
        return Err(format!(
            "python benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// p50/p95/p99/max of latencies in milliseconds.
pub(crate) fn latency_summary(mut ms: Vec<f64>) -> Value {
    ms.sort_by(f64::total_cmp);
    json!({
        "n": ms.len(),
        "p50_ms": percentile(&ms, 0.50),
        "p95_ms": percentile(&ms, 0.95),
        "p99_ms": percentile(&ms, 0.99),
        "max_ms": ms.last().copied().unwrap_or(0.0),
    })
}

/// `review`: many reviewers claim-next and submit at once against a large queue, first
/// back to back (saturation), then paced one item per second each (still ~50× a real
/// team's pace); latencies of both calls, and a check that no item was handed out twice.
async fn review(args: &BenchArgs, url: Option<&str>, tmp: &Path) -> Result<Value, CliError> {
    use amso_core::engine::commit::Decided;
    use amso_core::engine::decide::{Action, Route, Verdict};
    use amso_core::review::{self, DeskSettings, Scope, verdicts::Submission};
    use amso_core::vocab::market::Market;
    use amso_core::vocab::policy::Category;
    use amso_core::vocab::queue::{HumanVerdict, Source};
    use amso_core::vocab::role::Role;

    let (db, shown) = bench_db(url, tmp, "review").await?;
    let prefix = format!("rv{}", now_millis());
    // The queue: restricted-category items spread over the ten markets.
    let started = Instant::now();
    let corpus = corpus(args.review_items.min(20_000));
    let mut queued = 0;
    let mut round = 0;
    while queued < args.review_items {
        let take = (args.review_items - queued).min(corpus.len());
        let new: Vec<NewAd> = corpus[..take]
            .iter()
            .map(|a| to_new(a, &format!("{prefix}-{round}")))
            .collect();
        for chunk in new.chunks(1000) {
            let now = now_millis();
            let stored = ads::submit(&db, "bench", chunk, now).await?;
            let mut scores = [0.02f32; 10];
            scores[Category::Alcohol.index()] = 0.7;
            let rows: Vec<Decided> = stored
                .iter()
                .zip(chunk)
                .map(|(s, a)| Decided {
                    ad_id: s.id,
                    market: a.market,
                    scores,
                    verdict: Verdict {
                        action: Action::Review,
                        reasons: vec![Category::Alcohol],
                        route: Some(Route::Restricted),
                        audit_sample: false,
                        sampling_probability: 1.0,
                    },
                    latency_ms: 1.0,
                    submitted_at: now,
                    daily_budget_usd: a.daily_budget_usd,
                    language: None,
                })
                .collect();
            commit::record(&db, "bench", "bench", 1, &rows, now).await?;
        }
        queued += take;
        round += 1;
    }
    let setup_secs = started.elapsed().as_secs_f64();

    // The team: the same number of reviewers in every market.
    let mut team = Vec::new();
    for i in 0..args.reviewers {
        let market = Market::ALL[i % Market::ALL.len()];
        let user = amso_core::access::users::create(
            &db,
            &amso_core::access::audit::Actor::Cli,
            amso_core::access::users::NewUser {
                email: format!("bench-{prefix}-{i}@example.com"),
                display_name: format!("Bench reviewer {i}"),
                role: Role::Reviewer,
                markets: vec![market],
                password: "bench-password-long-enough".into(),
                demo_credentials: false,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        team.push(Scope {
            user_id: user.id,
            email: user.email,
            role: Role::Reviewer,
            markets: vec![market],
        });
    }

    let settings = DeskSettings::default();
    let mut phases = serde_json::Map::new();
    let mut claimed_all: Vec<i64> = Vec::new();
    for (phase, pause) in [
        ("back_to_back", Duration::ZERO),
        ("paced_1s", Duration::from_secs(1)),
    ] {
        let mut handles = Vec::new();
        let wall = Instant::now();
        for scope in team.clone() {
            let db = db.clone();
            let per = args.per_reviewer;
            handles.push(tokio::spawn(async move {
                let mut claims = Vec::with_capacity(per);
                let mut submits = Vec::with_capacity(per);
                let mut ids = Vec::with_capacity(per);
                for _ in 0..per {
                    let t = Instant::now();
                    let id = review::queues::claim_next(
                        &db,
                        &scope,
                        Source::Restricted,
                        &settings,
                        None,
                        now_millis(),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                    claims.push(t.elapsed().as_secs_f64() * 1000.0);
                    let Some(id) = id else { break };
                    ids.push(id);
                    let t = Instant::now();
                    review::verdicts::submit(
                        &db,
                        &scope,
                        id,
                        &Submission {
                            verdict: HumanVerdict::Approve,
                            categories: vec![],
                            reason_code: Some("licensed_advertiser".into()),
                            reason_text: None,
                        },
                        &settings,
                        false,
                        1.0,
                        now_millis(),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                    submits.push(t.elapsed().as_secs_f64() * 1000.0);
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                }
                Ok::<_, String>((claims, submits, ids))
            }));
        }
        let mut claims = Vec::new();
        let mut submits = Vec::new();
        for h in handles {
            let (c, s, ids) = h.await.map_err(|e| e.to_string())??;
            claims.extend(c);
            submits.extend(s);
            claimed_all.extend(ids);
        }
        let secs = wall.elapsed().as_secs_f64();
        phases.insert(
            phase.into(),
            json!({
                "items_reviewed": submits.len(),
                "reviews_per_second": submits.len() as f64 / secs,
                "claim_next": latency_summary(claims),
                "submit": latency_summary(submits),
            }),
        );
    }
    let distinct: std::collections::HashSet<i64> = claimed_all.iter().copied().collect();
    let (double,): (i64,) = sqlx::query_as(
        "select count(*) from (select task_id from reviews group by task_id having count(*) > 1) x",
    )
    .fetch_one(db.pool())
    .await?;
    db.close().await;
    Ok(json!({
        "database": shown,
        "queued_items": queued,
        "setup_seconds": setup_secs,
        "reviewers": args.reviewers,
        "phases": phases,
        "items_claimed_twice": claimed_all.len() - distinct.len() + double as usize,
    }))
}
