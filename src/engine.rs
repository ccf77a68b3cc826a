//! The moderation engine at run time: one thread owns the ONNX session and scores batches
//! sent through a bounded channel (overload is refused, not queued without end); workers
//! claim queued ads under a lease, score, decide and commit each batch in one transaction.

use crate::ads::{self, ClaimedAd, Decided};
use crate::db::Db;
use crate::decide::decide;
use crate::featurize::featurize;
use crate::model::CATEGORIES;
use crate::model::runtime::{OnnxModel, RuntimeError};
use crate::rules_store;
use crate::time::now_millis;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// The text of one ad to score.
#[derive(Clone, Debug)]
pub struct AdText {
    pub headline: String,
    pub body: String,
    pub landing_url: Option<String>,
}

type Reply = oneshot::Sender<Result<Vec<[f32; CATEGORIES]>, String>>;

struct Job {
    texts: Vec<AdText>,
    reply: Reply,
}

/// Why scoring or a worker step failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the scorer is overloaded; try again shortly")]
    Overloaded,
    #[error("the scorer has stopped")]
    Stopped,
    #[error("inference failed: {0}")]
    Inference(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A handle to the scoring thread. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Scorer {
    jobs: SyncSender<Job>,
    /// The loaded model's version.
    pub model_version: String,
}

impl Scorer {
    /// Loads the model on a dedicated thread; `queue` batches may wait before callers are
    /// told the scorer is overloaded.
    pub fn start(model_path: &Path, queue: usize) -> Result<Scorer, RuntimeError> {
        let (jobs, inbox) = sync_channel::<Job>(queue.max(1));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<String, RuntimeError>>();
        let path = model_path.to_path_buf();
        std::thread::Builder::new()
            .name("amso-scorer".into())
            .spawn(move || {
                let mut model = match OnnxModel::load(&path) {
                    Ok(m) => {
                        let _ = ready_tx.send(Ok(m.version.clone()));
                        m
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                for job in inbox {
                    let features: Vec<Vec<u32>> = job
                        .texts
                        .iter()
                        .map(|t| {
                            featurize(
                                &t.headline,
                                &t.body,
                                t.landing_url.as_deref(),
                                model.buckets,
                            )
                        })
                        .collect();
                    let result = model.score(&features).map_err(|e| e.to_string());
                    let _ = job.reply.send(result);
                }
            })
            .expect("spawning the scorer thread");
        let model_version = ready_rx.recv().map_err(|_| {
            RuntimeError::Inference("the scorer thread died while loading".into())
        })??;
        Ok(Scorer {
            jobs,
            model_version,
        })
    }

    /// Scores ads, waiting for the scorer thread without blocking the async runtime.
    pub async fn score(&self, texts: Vec<AdText>) -> Result<Vec<[f32; CATEGORIES]>, EngineError> {
        let (reply, answer) = oneshot::channel();
        match self.jobs.try_send(Job { texts, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(EngineError::Overloaded),
            Err(TrySendError::Disconnected(_)) => return Err(EngineError::Stopped),
        }
        answer
            .await
            .map_err(|_| EngineError::Stopped)?
            .map_err(EngineError::Inference)
    }
}

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Recorded on decisions and leases.
    pub worker_id: String,
    pub batch_size: i64,
    pub lease: Duration,
    /// Pause when the queue is empty.
    pub idle: Duration,
    pub audit_rate_approve: f64,
    pub audit_rate_reject: f64,
}

/// Claims, scores, decides and stores one batch; returns how many ads were decided.
pub async fn process_batch(
    db: &Db,
    scorer: &Scorer,
    config: &WorkerConfig,
    rng: &mut StdRng,
) -> Result<usize, EngineError> {
    let claimed: Vec<ClaimedAd> = ads::claim(
        db,
        &config.worker_id,
        config.batch_size,
        config.lease.as_millis() as i64,
        now_millis(),
    )
    .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let rules = rules_store::load(db, config.audit_rate_approve, config.audit_rate_reject).await?;
    let started = Instant::now();
    let texts = claimed
        .iter()
        .map(|a| AdText {
            headline: a.headline.clone(),
            body: a.body.clone(),
            landing_url: a.landing_url.clone(),
        })
        .collect();
    let scores = scorer.score(texts).await?;
    let per_ad_ms = started.elapsed().as_secs_f64() * 1000.0 / claimed.len() as f64;
    let decided: Vec<Decided> = claimed
        .iter()
        .zip(scores)
        .map(|(ad, s)| Decided {
            ad_id: ad.id,
            market: ad.market,
            verdict: decide(&rules, ad.market, &s, rng.r#gen::<f64>()),
            scores: s,
            latency_ms: per_ad_ms,
        })
        .collect();
    let stored = ads::record(
        db,
        &config.worker_id,
        &scorer.model_version,
        rules.thresholds_version,
        &decided,
        now_millis(),
    )
    .await?;
    Ok(stored)
}

/// Runs until `shutdown` turns true, deciding queued ads batch by batch.
pub async fn run_worker(
    db: Db,
    scorer: Scorer,
    config: WorkerConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut rng = StdRng::from_entropy();
    tracing::info!(worker = %config.worker_id, model = %scorer.model_version, "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let pause = match process_batch(&db, &scorer, &config, &mut rng).await {
            Ok(0) => config.idle,
            Ok(n) => {
                tracing::debug!(decided = n, "batch committed");
                Duration::ZERO
            }
            Err(EngineError::Overloaded) => Duration::from_millis(50),
            Err(e) => {
                tracing::warn!(error = %e, "worker batch failed; its leases will expire and be retried");
                Duration::from_secs(1)
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
    tracing::info!(worker = %config.worker_id, "worker stopped");
}

/// A worker id unique to this process.
pub fn new_worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!(
        "{host}-{}-{:04x}",
        std::process::id(),
        rand::thread_rng().r#gen::<u16>()
    )
}
