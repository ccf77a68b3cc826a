//! Training a model from labelled ads, the model card, and evaluation against labels.

use super::quality::{CategoryQuality, category_quality};
use super::train::{Example, TrainParams};
use super::{CATEGORIES, Weights, baseline, onnx};
use crate::intake::validate::NewAd;
use crate::vocab::policy::Category;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// What a model was trained on and how well it does on held-out data.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelCard {
    pub model_version: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub model_type: String,
    pub data: DataSummary,
    pub params: CardParams,
    /// Per category: the score at or above which the category is called (best F1 on the
    /// held-out split).
    pub thresholds: BTreeMap<String, f64>,
    /// Per category quality on the held-out split, at those thresholds.
    pub heldout: Evaluation,
    /// The linear baseline trained on the same rows and evaluated on the same held-out split
    /// (absent from cards written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineFigures>,
}

/// The in-product baseline's figures on a model's own split ([`super::baseline`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BaselineFigures {
    pub model_type: String,
    /// Held-out quality, each category at its own best-F1 threshold.
    pub heldout: Evaluation,
    pub train_seconds: f64,
}

impl ModelCard {
    /// The card as written at `at` (a history replayed after the fact): its date, and the
    /// date in its version.
    pub fn dated(mut self, at: chrono::DateTime<chrono::Utc>) -> ModelCard {
        if let Some(fingerprint) = self.model_version.rsplit('-').next() {
            self.model_version = format!("ft-{}-{fingerprint}", at.format("%Y%m%d"));
        }
        self.created_at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self
    }

    /// Held-out macro ROC-AUC of the model and of the baseline, when both are known.
    pub fn against_baseline(&self) -> Option<(f64, f64)> {
        Some((
            self.heldout.macro_roc_auc?,
            self.baseline.as_ref()?.heldout.macro_roc_auc?,
        ))
    }
}

/// The training data.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DataSummary {
    pub source: String,
    pub labelled_rows: usize,
    pub train_rows: usize,
    pub heldout_rows: usize,
    /// Held out: rows whose external id hashes to 0 mod 5.
    pub split: String,
    pub positives: BTreeMap<String, usize>,
}

/// Hyper-parameters as recorded in the card.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CardParams {
    pub buckets: u32,
    pub dim: usize,
    pub epochs: usize,
    pub learning_rate: f32,
    pub seed: u64,
}

/// Quality figures per category and their macro averages.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Evaluation {
    pub rows: usize,
    pub categories: BTreeMap<String, CategoryQuality>,
    pub macro_roc_auc: Option<f64>,
    pub macro_pr_auc: Option<f64>,
    pub macro_f1: f64,
}

/// Whether an ad belongs to the held-out split (deterministic by external id).
pub fn is_heldout(external_id: &str) -> bool {
    let mut h: u32 = 0x811c_9dc5;
    for b in external_id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h.is_multiple_of(5)
}

fn targets(labels: &[Category]) -> [f32; CATEGORIES] {
    let mut t = [0.0; CATEGORIES];
    for c in labels {
        t[c.index()] = 1.0;
    }
    t
}

/// Scores versus labels, per category; `thresholds` of `None` picks best-F1 ones.
pub fn evaluate(
    scores: &[[f32; CATEGORIES]],
    labels: &[Vec<Category>],
    thresholds: Option<&BTreeMap<String, f64>>,
) -> Evaluation {
    let mut categories = BTreeMap::new();
    for c in Category::ALL {
        let s: Vec<f32> = scores.iter().map(|row| row[c.index()]).collect();
        let l: Vec<bool> = labels.iter().map(|ls| ls.contains(&c)).collect();
        let t = thresholds.and_then(|m| m.get(c.as_str()).copied());
        categories.insert(c.as_str().to_string(), category_quality(&s, &l, t));
    }
    let mean = |f: &dyn Fn(&CategoryQuality) -> Option<f64>| {
        let v: Vec<f64> = categories.values().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    Evaluation {
        rows: scores.len(),
        macro_roc_auc: mean(&|q| q.roc_auc),
        macro_pr_auc: mean(&|q| q.pr_auc),
        macro_f1: mean(&|q| Some(q.f1)).unwrap_or(0.0),
        categories,
    }
}

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("no labelled rows to train on (rows need a `labels` field; [] means compliant)")]
    NoLabels,
    #[error("cannot write the model to {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Trains on the labelled ads of `ads`, reporting `progress(epoch, loss)`.
pub fn train_model(
    ads: &[NewAd],
    source: &str,
    params: &TrainParams,
    progress: impl FnMut(usize, f64),
) -> Result<(Weights, ModelCard), TrainError> {
    let labelled: Vec<&NewAd> = ads.iter().filter(|a| a.labels.is_some()).collect();
    if labelled.is_empty() {
        return Err(TrainError::NoLabels);
    }
    let (heldout, training): (Vec<&NewAd>, Vec<&NewAd>) =
        labelled.iter().partition(|a| is_heldout(&a.external_id));
    let training: Vec<(&NewAd, f32)> = training.into_iter().map(|a| (a, 1.0)).collect();
    let never = std::sync::atomic::AtomicBool::new(false);
    train_split(
        &training,
        &heldout,
        source,
        "fnv1a(external_id) % 5 == 0",
        params,
        progress,
        &never,
    )?
    .ok_or(TrainError::NoLabels)
}

/// Trains on `training` (each ad with its weight) and evaluates on `heldout`, which also
/// picks each category's threshold (best F1). None: cancelled.
pub fn train_split(
    training: &[(&NewAd, f32)],
    heldout: &[&NewAd],
    source: &str,
    split: &str,
    params: &TrainParams,
    progress: impl FnMut(usize, f64),
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<Option<(Weights, ModelCard)>, TrainError> {
    if training.is_empty() {
        return Err(TrainError::NoLabels);
    }
    let train_set: Vec<Example> = training
        .iter()
        .map(|(a, w)| Example {
            ids: a.features(params.buckets),
            targets: targets(a.labels.as_deref().unwrap_or(&[])),
            weight: *w,
        })
        .collect();
    let trained = if params.linear {
        super::train::train_linear_until(&train_set, params, progress, cancel)
    } else {
        super::train::train_until(&train_set, params, progress, cancel)
    };
    let Some(weights) = trained else {
        return Ok(None);
    };
    let held_labels: Vec<Vec<Category>> = heldout
        .iter()
        .map(|a| a.labels.clone().unwrap_or_default())
        .collect();
    let held_scores = score_all(&weights, heldout, params.buckets);
    let chosen = evaluate(&held_scores, &held_labels, None);
    let thresholds: BTreeMap<String, f64> = chosen
        .categories
        .iter()
        .map(|(k, q)| (k.clone(), q.threshold))
        .collect();
    let mut positives = BTreeMap::new();
    for c in Category::ALL {
        let n = training
            .iter()
            .map(|(a, _)| *a)
            .chain(heldout.iter().copied())
            .filter(|a| a.labels.as_ref().is_some_and(|l| l.contains(&c)))
            .count();
        positives.insert(c.as_str().to_string(), n);
    }
    let now = chrono::Utc::now();
    let baseline = {
        let started = std::time::Instant::now();
        let docs: Vec<baseline::Doc> = training
            .iter()
            .map(|(a, w)| baseline::Doc {
                ids: baseline::all_features(&a.headline, &a.body, a.landing_url.as_deref()),
                targets: targets(a.labels.as_deref().unwrap_or(&[])),
                weight: *w,
            })
            .collect();
        let Some(model) = baseline::Baseline::train(&docs, &Default::default(), cancel) else {
            return Ok(None);
        };
        let scores: Vec<[f32; CATEGORIES]> = heldout
            .iter()
            .map(|a| {
                model.predict(&baseline::all_features(
                    &a.headline,
                    &a.body,
                    a.landing_url.as_deref(),
                ))
            })
            .collect();
        BaselineFigures {
            model_type: baseline::BASELINE_TYPE.to_string(),
            heldout: evaluate(&scores, &held_labels, None),
            train_seconds: started.elapsed().as_secs_f64(),
        }
    };
    let card = ModelCard {
        model_version: format!(
            "ft-{}-{:08x}",
            now.format("%Y%m%d"),
            weights_fingerprint(&weights)
        ),
        created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        model_type: if params.linear && params.tfidf {
            "linear: hashed word 1–2 + char 3–5 grams, TF-IDF (L2), one logistic regression per category (AdaGrad)".into()
        } else if params.linear {
            "linear: hashed word 1–2 + char 3–5 grams, mean-pooled, one logistic regression per category (AdaGrad)".into()
        } else {
            "fastText-style: hashed word/char n-gram embeddings, mean-pooled, one sigmoid per category".into()
        },
        data: DataSummary {
            source: source.to_string(),
            labelled_rows: training.len() + heldout.len(),
            train_rows: training.len(),
            heldout_rows: heldout.len(),
            split: split.to_string(),
            positives,
        },
        params: CardParams {
            buckets: params.buckets,
            dim: weights.dim,
            epochs: params.epochs,
            learning_rate: params.learning_rate,
            seed: params.seed,
        },
        thresholds,
        heldout: chosen,
        baseline: Some(baseline),
    };
    Ok(Some((weights, card)))
}

/// The model's scores of `ads`.
pub fn score_all(weights: &Weights, ads: &[&NewAd], buckets: u32) -> Vec<[f32; CATEGORIES]> {
    ads.iter()
        .map(|a| {
            let p = weights.predict(&a.features(buckets));
            let mut row = [0f32; CATEGORIES];
            row.copy_from_slice(&p);
            row
        })
        .collect()
}

fn weights_fingerprint(w: &Weights) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for v in w
        .out_w
        .iter()
        .chain(&w.out_b)
        .chain(w.embedding.iter().step_by(97))
    {
        for b in v.to_le_bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// The model as ONNX, with its version, buckets, width and categories as metadata.
pub fn onnx_bytes(weights: &Weights, card: &ModelCard) -> Vec<u8> {
    let categories: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
    onnx::to_onnx(
        weights,
        &[
            ("amso.model_version", card.model_version.clone()),
            ("amso.buckets", weights.buckets.to_string()),
            ("amso.dim", weights.dim.to_string()),
            (
                onnx::INPUT_KEY,
                if weights.idf.is_some() {
                    onnx::INPUT_TFIDF
                } else {
                    "mean"
                }
                .to_string(),
            ),
            ("amso.categories", categories.join(",")),
        ],
    )
}

/// Writes `DIR/model.onnx` and `DIR/card.json`.
pub fn write_model(dir: &Path, weights: &Weights, card: &ModelCard) -> Result<(), TrainError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| TrainError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let bytes = onnx_bytes(weights, card);
    let model = dir.join("model.onnx");
    std::fs::write(&model, bytes).map_err(io(&model))?;
    let card_path = dir.join("card.json");
    let json = serde_json::to_string_pretty(card).expect("the card serialises");
    std::fs::write(&card_path, json + "\n").map_err(io(&card_path))?;
    Ok(())
}
