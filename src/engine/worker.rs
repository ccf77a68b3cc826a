//! The moderation engine at run time: one thread owns the ONNX session and scores batches
//! sent through a bounded channel (overload is refused, not queued without end); workers
//! claim queued ads under a lease, score, decide and commit each batch in one transaction.

use crate::engine::commit::{self, ClaimedAd, Decided};
use crate::engine::decide::decide;
use crate::engine::featurize::{FeatureKind, featurize, featurize_explained};
use crate::engine::model::CATEGORIES;
use crate::engine::model::runtime::{OnnxModel, RuntimeError};
use crate::engine::rules_store;
use crate::engine::serving::{self, Models};
use crate::platform::db::Db;
use crate::platform::time::now_millis;
use crate::rules::live::LiveRules;
use crate::rules::matcher::{Facts, TextRead};
use crate::vocab::policy::Category;
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

/// An n-gram's effect on a score: (kind, text, drop in the score's log-odds when it is
/// left out). Log-odds, because a saturated probability hides every single effect.
pub type Contribution = (String, String, f32);

enum Job {
    Score {
        texts: Vec<AdText>,
        reply: Reply,
    },
    Explain {
        text: AdText,
        category: Category,
        top: usize,
        reply: oneshot::Sender<Result<Vec<Contribution>, String>>,
    },
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
        let path = model_path.to_path_buf();
        Scorer::start_with(queue, move || OnnxModel::load(&path))
    }

    /// Loads a model from its ONNX bytes (a registry version) on a dedicated thread.
    pub fn start_bytes(bytes: Vec<u8>, label: &str, queue: usize) -> Result<Scorer, RuntimeError> {
        let label = std::path::PathBuf::from(label);
        Scorer::start_with(queue, move || OnnxModel::from_bytes(&bytes, &label))
    }

    fn start_with(
        queue: usize,
        load: impl FnOnce() -> Result<OnnxModel, RuntimeError> + Send + 'static,
    ) -> Result<Scorer, RuntimeError> {
        let (jobs, inbox) = sync_channel::<Job>(queue.max(1));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<String, RuntimeError>>();
        std::thread::Builder::new()
            .name("amso-scorer".into())
            .spawn(move || {
                let mut model = match load() {
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
                    match job {
                        Job::Score { texts, reply } => {
                            let features: Vec<Vec<u32>> = texts
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
                            let _ = reply.send(model.score(&features).map_err(|e| e.to_string()));
                        }
                        Job::Explain {
                            text,
                            category,
                            top,
                            reply,
                        } => {
                            let _ = reply.send(explain_with(&mut model, &text, category, top));
                        }
                    }
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
        self.ask(|reply| Job::Score { texts, reply }).await
    }

    /// The `top` n-grams that raise `category`'s score most, by leaving each out in turn.
    pub async fn explain(
        &self,
        text: AdText,
        category: Category,
        top: usize,
    ) -> Result<Vec<Contribution>, EngineError> {
        self.ask(|reply| Job::Explain {
            text,
            category,
            top,
            reply,
        })
        .await
    }

    /// Queues a job without waiting for room (a full queue is an overload) and awaits
    /// its answer.
    async fn ask<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<T, String>>) -> Job,
    ) -> Result<T, EngineError> {
        let (reply, answer) = oneshot::channel();
        match self.jobs.try_send(job(reply)) {
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

/// Occlusion: the score with all features, minus the score with each distinct n-gram
/// left out, for the n-grams that matter most.
fn explain_with(
    model: &mut OnnxModel,
    text: &AdText,
    category: Category,
    top: usize,
) -> Result<Vec<Contribution>, String> {
    let features = featurize_explained(
        &text.headline,
        &text.body,
        text.landing_url.as_deref(),
        model.buckets,
    );
    let mut distinct: Vec<(FeatureKind, String)> = Vec::new();
    for (_, kind, t) in &features {
        if !distinct.iter().any(|(k, x)| k == kind && x == t) {
            distinct.push((*kind, t.clone()));
        }
    }
    let all: Vec<u32> = features.iter().map(|f| f.0).collect();
    let mut batch = vec![all];
    for (kind, t) in &distinct {
        batch.push(
            features
                .iter()
                .filter(|(_, k, x)| !(k == kind && x == t))
                .map(|f| f.0)
                .collect(),
        );
    }
    let scores = model.score(&batch).map_err(|e| e.to_string())?;
    let logit = |p: f32| {
        let p = f64::from(p).clamp(1e-9, 1.0 - 1e-9);
        (p / (1.0 - p)).ln() as f32
    };
    let base = logit(scores[0][category.index()]);
    let mut out: Vec<Contribution> = distinct
        .into_iter()
        .zip(scores.iter().skip(1))
        .map(|((kind, t), s)| {
            let kind = match kind {
                FeatureKind::Word => "word",
                FeatureKind::Bigram => "bigram",
                FeatureKind::CharGram => "chars",
                FeatureKind::Domain => "domain",
            };
            (kind.to_string(), t, base - logit(s[category.index()]))
        })
        .collect();
    out.sort_by(|a, b| b.2.total_cmp(&a.2));
    out.truncate(top);
    Ok(out)
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
    /// Share of review capacity drawn where the champion and a shadow challenger disagree
    /// ([`crate::engine::decide::learning_sample`]).
    pub learning_share: f64,
}

/// Claims, scores, decides and stores one batch; returns how many ads were decided. The
/// batch is split by the model version deciding each ad's market (see [`Models`]), and each
/// part is decided and committed with its version alone: no commit mixes versions. A
/// challenger scores the same ads at the same time, in shadow.
pub async fn process_batch(
    db: &Db,
    models: &Models,
    config: &WorkerConfig,
    rng: &mut StdRng,
    live_rules: &mut LiveRules,
) -> Result<usize, EngineError> {
    let plan = models.current(db, now_millis()).await?;
    let claimed: Vec<ClaimedAd> = commit::claim(
        db,
        &config.worker_id,
        config.batch_size,
        config.lease.as_millis() as i64,
        now_millis(),
    )
    .await?;
    let mut groups: Vec<(Scorer, Vec<ClaimedAd>)> = Vec::new();
    for ad in claimed {
        let scorer = plan.scorer_for(ad.market);
        match groups
            .iter_mut()
            .find(|(s, _)| s.model_version == scorer.model_version)
        {
            Some((_, ads)) => ads.push(ad),
            None => groups.push((scorer.clone(), vec![ad])),
        }
    }
    let mut stored = 0;
    for (scorer, ads) in groups {
        let challenger = plan
            .challenger
            .as_ref()
            .filter(|c| c.model_version != scorer.model_version);
        stored += decide_part(db, &scorer, challenger, ads, config, rng, live_rules).await?;
    }
    Ok(stored)
}

/// Scores, decides and stores ads claimed together that one version decides.
async fn decide_part(
    db: &Db,
    scorer: &Scorer,
    challenger: Option<&Scorer>,
    claimed: Vec<ClaimedAd>,
    config: &WorkerConfig,
    rng: &mut StdRng,
    live_rules: &mut LiveRules,
) -> Result<usize, EngineError> {
    let rules = rules_store::load(db, config.audit_rate_approve, config.audit_rate_reject).await?;
    let now = now_millis();
    // The rules read the batch's texts on another thread while the model scores it.
    let set = live_rules.current(db, now).await?;
    let reading = (!set.is_empty()).then(|| {
        crate::rules::live::read_batch(
            set.clone(),
            claimed
                .iter()
                .map(|a| (a.headline.clone(), a.body.clone(), a.landing_url.clone()))
                .collect(),
        )
    });
    let started = Instant::now();
    let texts: Vec<AdText> = claimed
        .iter()
        .map(|a| AdText {
            headline: a.headline.clone(),
            body: a.body.clone(),
            landing_url: a.landing_url.clone(),
        })
        .collect();
    let (scores, shadow) = match challenger {
        Some(c) => {
            let (a, b) = tokio::join!(scorer.score(texts.clone()), c.score(texts));
            (a?, Some((c.model_version.clone(), b)))
        }
        None => (scorer.score(texts).await?, None),
    };
    let per_ad_ms = started.elapsed().as_secs_f64() * 1000.0 / claimed.len() as f64;
    let read = match reading {
        Some(job) => job
            .await
            .map_err(|e| EngineError::Inference(format!("reading texts for the rules: {e}")))?,
        None => Vec::new(),
    };
    let draws: Vec<f64> = claimed.iter().map(|_| rng.r#gen::<f64>()).collect();
    let mut verdicts: Vec<_> = claimed
        .iter()
        .zip(&scores)
        .zip(&draws)
        .map(|((ad, s), draw)| decide(&rules, ad.market, s, *draw))
        .collect();
    let fired = if set.is_empty() {
        Vec::new()
    } else {
        let first_seen = if set.needs_first_seen {
            let ids: Vec<&str> = claimed.iter().map(|a| a.advertiser_id.as_str()).collect();
            crate::rules::live::first_seen(db, &ids).await?
        } else {
            Default::default()
        };
        let facts: Vec<(i64, Facts<'_>, TextRead)> = claimed
            .iter()
            .zip(&scores)
            .zip(read)
            .map(|((ad, s), read)| {
                (
                    ad.id,
                    Facts {
                        market: ad.market,
                        language: ad.language.as_deref(),
                        headline: &ad.headline,
                        body: &ad.body,
                        landing_url: ad.landing_url.as_deref(),
                        advertiser: &ad.advertiser_id,
                        advertiser_first_seen: first_seen.get(&ad.advertiser_id).copied(),
                        scores: s,
                        daily_budget_usd: ad.daily_budget_usd,
                        now,
                    },
                    read,
                )
            })
            .collect();
        crate::rules::live::apply(&set, &rules, &facts, &mut verdicts, &draws)
    };
    if let Some((_, Ok(challenger_scores))) = &shadow {
        let draws: Vec<f64> = claimed.iter().map(|_| rng.r#gen::<f64>()).collect();
        crate::engine::decide::learning_sample(
            &mut verdicts,
            &scores,
            challenger_scores,
            config.learning_share,
            &draws,
        );
    }
    let decided: Vec<Decided> = claimed
        .iter()
        .zip(scores)
        .zip(verdicts)
        .map(|((ad, s), verdict)| Decided {
            ad_id: ad.id,
            market: ad.market,
            verdict,
            scores: s,
            latency_ms: per_ad_ms,
            submitted_at: ad.submitted_at,
            daily_budget_usd: ad.daily_budget_usd,
            language: ad.language.clone(),
        })
        .collect();
    let stored = commit::record_with_rules(
        db,
        &config.worker_id,
        &scorer.model_version,
        rules.thresholds_version,
        &decided,
        &fired,
        now,
    )
    .await?;
    if let Some((version, scored)) = shadow {
        // A challenger that failed costs its figures, never the decisions.
        match scored {
            Ok(scored) => {
                let rows: Vec<(i64, [f32; CATEGORIES])> =
                    claimed.iter().map(|a| a.id).zip(scored).collect();
                if let Err(e) = serving::store_shadow(db, &version, &rows, now).await {
                    tracing::warn!(%version, error = %e, "shadow scores not stored");
                }
            }
            Err(e) => tracing::warn!(%version, error = %e, "the challenger did not score"),
        }
    }
    Ok(stored)
}

/// Runs until `shutdown` turns true, deciding queued ads batch by batch.
pub async fn run_worker(
    db: Db,
    models: Models,
    config: WorkerConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut rng = StdRng::from_entropy();
    let mut live_rules = LiveRules::default();
    tracing::info!(worker = %config.worker_id, model = %models.fallback().model_version, "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let pause = match process_batch(&db, &models, &config, &mut rng, &mut live_rules).await {
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
