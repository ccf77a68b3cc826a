//! The engine's scenarios: `scoring` (featurize + ONNX on one core), `e2e` (queued in the
//! database → decision committed), `api` (one ad at a time through HTTP on loopback to its
//! decision, under light load) and `python` (the same model and texts through a plain Python
//! featurizer and the official onnxruntime, for comparison).

use super::fixtures::{bench_db, to_new};
use crate::cli::common::CliError;
use amso_app::ssr::AppState;
use amso_core::demo::corpus::CorpusAd;
use amso_core::engine::featurize::featurize;
use amso_core::engine::model::runtime::OnnxModel;
use amso_core::engine::worker::{Scorer, WorkerConfig, process_batch};
use amso_core::intake::ads;
use amso_core::intake::validate::NewAd;
use amso_core::platform::config::Config;
use amso_core::platform::time::now_millis;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn scoring(model_path: &Path, ads: &[CorpusAd]) -> Result<Value, CliError> {
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

pub async fn e2e(
    model_path: &Path,
    ads: &[CorpusAd],
    workers: usize,
    url: Option<&str>,
    tmp: &Path,
) -> Result<Value, CliError> {
    let (db, shown) = bench_db(url, tmp, "e2e").await?;
    let out = e2e_on(&db, &shown, model_path, ads, workers).await;
    db.close().await;
    out
}

/// The e2e scenario on a database already open: the ads queued, then decided by `workers`.
pub async fn e2e_on(
    db: &amso_core::platform::db::Db,
    shown: &str,
    model_path: &Path,
    ads: &[CorpusAd],
    workers: usize,
) -> Result<Value, CliError> {
    let db = db.clone();
    let prefix = format!("e2e{}", now_millis());
    let new: Vec<NewAd> = ads.iter().map(|a| to_new(a, &prefix)).collect();
    let started = Instant::now();
    for chunk in new.chunks(1000) {
        ads::submit(&db, "bench", chunk, now_millis()).await?;
    }
    let queued_secs = started.elapsed().as_secs_f64();
    // One set of models for every worker, as in `amso serve` (a challenger loads once).
    let models = amso_core::engine::serving::Models::new(Scorer::start(model_path, 4)?);
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers.max(1))
        .map(|i| {
            let (db, models) = (db.clone(), models.clone());
            let config = WorkerConfig {
                worker_id: format!("bench-{i}"),
                batch_size: 512,
                lease: Duration::from_secs(60),
                idle: Duration::from_millis(1),
                audit_rate_approve: 0.02,
                audit_rate_reject: 0.05,
                learning_share: 0.0,
            };
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(1 + i as u64);
                let mut live_rules = Default::default();
                let mut decided = 0;
                loop {
                    match process_batch(&db, &models, &config, &mut rng, &mut live_rules).await? {
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
    Ok(json!({
        "database": shown,
        "ads": decided,
        "workers": workers.max(1),
        "queue_insert_ads_per_second": new.len() as f64 / queued_secs,
        "seconds": secs,
        "ads_per_second": decided as f64 / secs,
    }))
}

pub async fn api(
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
    let router = crate::http::build_router(state).router;
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
        learning_share: 0.0,
    };
    let worker = tokio::spawn(amso_core::engine::worker::run_worker(
        db.clone(),
        amso_core::engine::serving::Models::new(scorer),
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

pub fn python(model_path: &Path, ads: &[CorpusAd], tmp: &Path) -> Result<Value, CliError> {
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
