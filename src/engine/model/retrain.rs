//! Training a candidate from what humans decided. The rows are the final human verdicts (the
//! latest review of each ad, QA second opinions left out — what `amso export-labels` gives)
//! reviewed since a date, optionally with the demo corpus. They are weighted so the set
//! stands for the traffic rather than for what the old model found uncertain: an audit sample
//! or a routed review counts 1 / its sampling probability, capped at [`WEIGHT_CAP`] so a
//! handful of 2% audits cannot drown the rest (an uncapped 1/0.02 = 50 makes one audited ad
//! worth fifty reviews and the fit noisy); appeals and escalations, which are not random
//! draws, count 1, as do corpus rows. The most recent labelled week is held out (a time-based
//! split), so the card's figures say how the model does on the week after its data. The
//! held-out labels also fit the candidate's calibration maps (the same kind the
//! model-assisted estimates use), kept with the version from its first day.
//!
//! One training runs at a time per database (a row in `model_trainings` claims it); its
//! progress, log and outcome are kept there.

use super::card::{self, ModelCard, TrainError};
use super::registry::{self, RegistryError, Source};
use super::train::TrainParams;
use super::{CATEGORIES, Weights};
use crate::access::audit::Actor;
use crate::dashboard::estimates::{ALL_MARKETS, CheckedSums, fit_maps, store_maps};
use crate::intake::validate::{NewAd, SubmittedAd};
use crate::metrics::kpi::PSI_BINS;
use crate::platform::db::{Db, Flag};
use crate::platform::time::{Millis, to_rfc3339};
use crate::vocab::policy::Category;
use std::sync::atomic::AtomicBool;

/// The most one human verdict counts.
pub const WEIGHT_CAP: f64 = 20.0;
/// The held-out span: the most recent labelled week.
pub const HELDOUT_MS: i64 = 7 * 86_400_000;
/// Positive verdicts every category needs in the training rows.
pub const MIN_POSITIVES: usize = 5;
/// Labelled rows a training needs at least.
pub const MIN_ROWS: usize = 100;

/// A human verdict to train on.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub ad: NewAd,
    pub weight: f32,
    pub at: Millis,
}

/// Why a training did not run or did not finish; nothing registered.
#[derive(Debug, thiserror::Error)]
pub enum RetrainError {
    #[error("a training is running already (started by {0}); wait for it or cancel it")]
    Busy(String),
    #[error("{0} labelled ads since the chosen date; a training needs at least {MIN_ROWS}")]
    TooFewRows(usize),
    #[error(
        "too few labels per category: {0} (each needs {MIN_POSITIVES} rejections for it in the training rows; pick an earlier date or add the corpus)"
    )]
    TooFewPositives(String),
    #[error("the training was cancelled")]
    Cancelled,
    #[error("the training stopped: {0}")]
    Stopped(String),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

type VerdictRow = (
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    f64,
    String,
    String,
    i64,
    Flag,
    String,
    Option<String>,
    f64,
);

/// The final human verdicts of reviews finished at or after `since`, weighted.
pub async fn verdicts(db: &Db, since: Millis) -> sqlx::Result<Vec<Verdict>> {
    verdicts_between(db, since, Millis::MAX).await
}

/// The final human verdicts as they stood at `until`: of reviews finished from `since` up to
/// (not including) `until`, each ad's latest, weighted.
pub async fn verdicts_between(db: &Db, since: Millis, until: Millis) -> sqlx::Result<Vec<Verdict>> {
    let rows: Vec<VerdictRow> = sqlx::query_as(
        "select a.external_id, a.market, a.language, a.headline, a.body, a.landing_url, a.advertiser_id, \
         a.daily_budget_usd, r.verdict, r.categories, r.finished_at, d.audit_sample, d.action, d.route, \
         d.sampling_probability \
         from reviews r join ads a on a.id = r.ad_id join decisions d on d.ad_id = a.id \
         where r.source <> 'qa' and r.finished_at >= $1 and r.finished_at < $2 and r.id = ( \
            select max(r2.id) from reviews r2 where r2.ad_id = r.ad_id and r2.source <> 'qa' \
            and r2.finished_at < $2) \
         order by r.finished_at, r.id",
    )
    .bind(since)
    .bind(until)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let labels: Vec<String> = if r.8 == "reject" {
                serde_json::from_str(&r.9).unwrap_or_default()
            } else {
                Vec::new()
            };
            let ad = SubmittedAd {
                external_id: Some(r.0),
                market: Some(r.1),
                language: r.2,
                headline: Some(r.3),
                body: Some(r.4),
                landing_url: r.5,
                advertiser_id: Some(r.6),
                daily_budget_usd: Some(r.7),
                labels: Some(labels),
            }
            .validate()
            .ok()?;
            let sampled = (r.11.0 || (r.12 == "review" && r.13.as_deref() != Some("escalation")))
                && r.14 > 0.0;
            let weight = if sampled {
                (1.0 / r.14).min(WEIGHT_CAP)
            } else {
                1.0
            };
            Some(Verdict {
                ad,
                weight: weight as f32,
                at: r.10,
            })
        })
        .collect())
}

/// What a finished training made.
#[derive(Clone, Debug)]
pub struct Trained {
    pub weights: Weights,
    pub card: ModelCard,
    /// The held-out ads' scores and labels (for calibration).
    pub heldout: Vec<(NewAd, [f32; CATEGORIES])>,
}

/// Trains on `verdicts` (the most recent week held out) plus `corpus` (training only).
/// None: cancelled.
pub fn train(
    verdicts: &[Verdict],
    corpus: &[NewAd],
    since_text: &str,
    params: &TrainParams,
    progress: impl FnMut(usize, f64),
    cancel: &AtomicBool,
) -> Result<Option<Trained>, RetrainError> {
    train_holding_out(
        verdicts, corpus, since_text, HELDOUT_MS, params, progress, cancel,
    )
}

/// [`train`] with the most recent `heldout_ms` of verdicts held out instead of a week.
pub fn train_holding_out(
    verdicts: &[Verdict],
    corpus: &[NewAd],
    since_text: &str,
    heldout_ms: i64,
    params: &TrainParams,
    progress: impl FnMut(usize, f64),
    cancel: &AtomicBool,
) -> Result<Option<Trained>, RetrainError> {
    if verdicts.len() < MIN_ROWS {
        return Err(RetrainError::TooFewRows(verdicts.len()));
    }
    let last = verdicts.iter().map(|v| v.at).max().unwrap_or(0);
    let cut = last - heldout_ms;
    let (held, recent_train): (Vec<&Verdict>, Vec<&Verdict>) =
        verdicts.iter().partition(|v| v.at > cut);
    let mut training: Vec<(&NewAd, f32)> = recent_train.iter().map(|v| (&v.ad, v.weight)).collect();
    training.extend(
        corpus
            .iter()
            .filter(|a| a.labels.is_some())
            .map(|a| (a, 1.0)),
    );
    let short: Vec<String> = Category::ALL
        .iter()
        .filter_map(|c| {
            let n = training
                .iter()
                .filter(|(a, _)| a.labels.as_ref().is_some_and(|l| l.contains(c)))
                .count();
            (n < MIN_POSITIVES).then(|| format!("{} ({n})", c.as_str()))
        })
        .collect();
    if !short.is_empty() {
        return Err(RetrainError::TooFewPositives(short.join(", ")));
    }
    let heldout: Vec<&NewAd> = held.iter().map(|v| &v.ad).collect();
    let source = format!(
        "final human verdicts reviewed since {since_text} ({} rows, audits and routed reviews weighted 1/p capped at {WEIGHT_CAP}){}",
        verdicts.len(),
        if corpus.is_empty() {
            String::new()
        } else {
            format!(" + demo corpus ({} rows, weight 1)", corpus.len())
        }
    );
    let span = if heldout_ms == HELDOUT_MS {
        "the most recent labelled week".to_string()
    } else {
        format!(
            "the most recent {:.1} labelled days",
            heldout_ms as f64 / 86_400_000.0
        )
    };
    let split = format!("time: verdicts after {} ({span}) held out", to_rfc3339(cut));
    let Some((weights, card)) = card::train_split(
        &training, &heldout, &source, &split, params, progress, cancel,
    )?
    else {
        return Ok(None);
    };
    let scores = card::score_all(&weights, &heldout, params.buckets);
    let heldout = held.iter().map(|v| v.ad.clone()).zip(scores).collect();
    Ok(Some(Trained {
        weights,
        card,
        heldout,
    }))
}

pub use crate::model_view::Training;

type TrainingRow = (
    i64,
    String,
    String,
    i64,
    Option<i64>,
    f64,
    String,
    Option<String>,
);

/// The latest trainings, newest first.
pub async fn trainings(db: &Db, limit: i64) -> sqlx::Result<Vec<Training>> {
    let rows: Vec<TrainingRow> = sqlx::query_as(
        "select id, state, started_by, started_at, finished_at, progress, log, version \
         from model_trainings order by id desc limit $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Training {
            id: r.0,
            state: r.1,
            started_by: r.2,
            started_at: r.3,
            finished_at: r.4,
            progress: r.5,
            log: r.6,
            version: r.7,
        })
        .collect())
}

/// Claims the database's one training slot; a running training older than an hour is taken
/// to have died with its server and is marked failed.
pub async fn claim(db: &Db, actor: &Actor, now: Millis) -> Result<i64, RetrainError> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "update model_trainings set state = 'failed', finished_at = $1, log = log || 'no progress for an hour; taken as stopped\n' \
         where state = 'running' and updated_at < $2",
    )
    .bind(now)
    .bind(now - 3_600_000)
    .execute(&mut *tx)
    .await?;
    let running: Option<(String,)> =
        sqlx::query_as("select started_by from model_trainings where state = 'running' limit 1")
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((who,)) = running {
        return Err(RetrainError::Busy(who));
    }
    let (id,): (i64,) = sqlx::query_as(
        "insert into model_trainings (state, started_by, started_at, updated_at, progress, log) \
         values ('running', $1, $2, $2, 0, '') returning id",
    )
    .bind(actor.as_text())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Records progress (0 to 1) and a log line.
pub async fn report(db: &Db, id: i64, progress: f64, line: &str, now: Millis) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "update model_trainings set progress = $1, log = log || $2, updated_at = $3 where id = $4",
    )
    .bind(progress)
    .bind(format!("{line}\n"))
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Marks a training finished: `done` with its version, `failed` or `cancelled`.
pub async fn finish(
    db: &Db,
    id: i64,
    state: &str,
    version: Option<&str>,
    line: &str,
    now: Millis,
) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "update model_trainings set state = $1, version = $2, finished_at = $3, updated_at = $3, \
         log = log || $4, progress = case when $1 = 'done' then 1 else progress end where id = $5",
    )
    .bind(state)
    .bind(version)
    .bind(now)
    .bind(format!("{line}\n"))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Registers a trained model as a candidate (source `train`) and stores its calibration maps
/// fitted on its held-out verdicts. Answers its version.
pub async fn register(
    db: &Db,
    trained: &Trained,
    actor: &Actor,
    now: Millis,
) -> Result<String, RetrainError> {
    let bytes = card::onnx_bytes(&trained.weights, &trained.card);
    let card_json = serde_json::to_string(&trained.card).unwrap_or_default();
    let version =
        registry::register(db, &bytes, Some(&card_json), Source::Train, actor, now).await?;
    let mut sums: CheckedSums = Default::default();
    for (ad, scores) in &trained.heldout {
        let labels = ad.labels.as_deref().unwrap_or(&[]);
        let top = scores.iter().copied().fold(0.0f32, f32::max);
        let mut add = |market: &str, target: &str, score: f32, hit: bool| {
            let e = sums
                .entry((market.to_string(), target.to_string()))
                .or_insert(([0.0; PSI_BINS], [0.0; PSI_BINS]));
            let b = ((f64::from(score) * PSI_BINS as f64) as usize).min(PSI_BINS - 1);
            e.0[b] += 1.0;
            if hit {
                e.1[b] += 1.0;
            }
        };
        for market in [ad.market.code(), ALL_MARKETS] {
            add(
                market,
                crate::dashboard::estimates::AD_TARGET,
                top,
                !labels.is_empty(),
            );
            for c in Category::ALL {
                add(market, c.as_str(), scores[c.index()], labels.contains(&c));
            }
        }
    }
    let maps = fit_maps(&version, &sums, now);
    store_maps(db, &maps, actor, now).await?;
    Ok(version)
}

/// Asks a running training to stop (at the end of its epoch).
pub async fn cancel(db: &Db, id: i64, now: Millis) -> sqlx::Result<bool> {
    let mut tx = db.begin_write().await?;
    let n = sqlx::query(
        "update model_trainings set state = 'cancelled', finished_at = $1, updated_at = $1, \
         log = log || 'cancel asked\n' where id = $2 and state = 'running'",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n > 0)
}

async fn cancelled(db: &Db, id: i64) -> sqlx::Result<bool> {
    let (state,): (String,) = sqlx::query_as("select state from model_trainings where id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await?;
    Ok(state == "cancelled")
}

/// Runs training `id` (claimed with [`claim`]) on the verdicts reviewed since `since` (and the
/// demo corpus when asked), reporting each step to `say` and to the training's log, stopping
/// at the end of an epoch once it is cancelled; registers the candidate. Shared by the
/// command line and the Models page.
pub async fn run(
    db: &Db,
    id: i64,
    since: Millis,
    with_corpus: bool,
    epochs: usize,
    actor: &Actor,
    say: impl Fn(&str),
) -> Result<String, RetrainError> {
    let now = crate::platform::time::now_millis;
    let outcome = async {
        let verdicts = verdicts(db, since).await?;
        let corpus: Vec<NewAd> = if with_corpus {
            crate::demo::corpus::generate(&crate::demo::corpus::CorpusParams {
                ads: 20_000,
                days: 28,
                seed: 42,
                end: now(),
            })
            .iter()
            .filter_map(|a| a.to_submitted(true).validate().ok())
            .collect()
        } else {
            Vec::new()
        };
        let line = format!(
            "{} human verdicts since {}{}",
            verdicts.len(),
            to_rfc3339(since),
            if with_corpus {
                format!(", {} corpus rows", corpus.len())
            } else {
                String::new()
            }
        );
        say(&line);
        report(db, id, 0.02, &line, now()).await?;
        let params = TrainParams {
            epochs: epochs.max(1),
            ..Default::default()
        };
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, f64)>();
        let since_text = to_rfc3339(since);
        let flag = stop.clone();
        let training = tokio::task::spawn_blocking(move || {
            train(
                &verdicts,
                &corpus,
                &since_text,
                &params,
                |e, loss| {
                    let _ = tx.send((e, loss));
                },
                &flag,
            )
        });
        while let Some((epoch, loss)) = rx.recv().await {
            let line = format!("epoch {epoch}/{epochs}: loss {loss:.4}");
            say(&line);
            if cancelled(db, id).await? {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                continue;
            }
            let share = 0.05 + 0.9 * epoch as f64 / epochs.max(1) as f64;
            report(db, id, share, &line, now()).await?;
        }
        let trained = training
            .await
            .map_err(|e| RetrainError::Stopped(e.to_string()))??
            .ok_or(RetrainError::Cancelled)?;
        let version = register(db, &trained, actor, now()).await?;
        let h = &trained.card.heldout;
        let line = format!(
            "registered {version} as a candidate: held-out macro ROC-AUC {}, PR-AUC {}, F1 {:.4} on {} ads; the TF-IDF baseline on the same rows: ROC-AUC {}",
            h.macro_roc_auc.map_or("–".into(), |v| format!("{v:.4}")),
            h.macro_pr_auc.map_or("–".into(), |v| format!("{v:.4}")),
            h.macro_f1,
            h.rows,
            trained
                .card
                .baseline
                .as_ref()
                .and_then(|b| b.heldout.macro_roc_auc)
                .map_or("–".into(), |v| format!("{v:.4}")),
        );
        say(&line);
        Ok::<(String, String), RetrainError>((version, line))
    }
    .await;
    match outcome {
        Ok((version, line)) => {
            finish(db, id, "done", Some(&version), &line, now()).await?;
            Ok(version)
        }
        Err(RetrainError::Cancelled) => Err(RetrainError::Cancelled),
        Err(e) => {
            finish(db, id, "failed", None, &e.to_string(), now()).await?;
            Err(e)
        }
    }
}
