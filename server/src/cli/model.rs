//! `amso train` and `amso eval`: training a classifier on labelled JSONL and scoring one
//! through ONNX Runtime.

use super::common::CliError;
use amso_core::engine::model::CATEGORIES;
use amso_core::engine::model::card::{
    Evaluation, ModelCard, evaluate, is_heldout, onnx_bytes, train_model, write_model,
};
use amso_core::engine::model::runtime::OnnxModel;
use amso_core::engine::model::train::{
    EMBEDDING_LEARNING_RATE, LINEAR_LEARNING_RATE, TFIDF_LEARNING_RATE, TrainParams,
};
use amso_core::intake::validate::{NewAd, read_jsonl};
use amso_core::vocab::policy::Category;
use clap::Args;
use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::Path;
use std::time::Instant;

/// Options of `amso train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labelled JSONL (rows without `labels` are ignored).
    #[arg(long)]
    pub data: std::path::PathBuf,
    /// Directory for model.onnx and card.json.
    #[arg(long)]
    pub out: std::path::PathBuf,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Train the low-rank embedding form (of width --dim) instead of the linear default.
    #[arg(long, conflicts_with = "mean_pooled")]
    pub embedding: bool,
    /// Train the linear form on the mean of each ad's n-grams instead of its TF-IDF vector.
    #[arg(long)]
    pub mean_pooled: bool,
    /// Embedding width (with --embedding).
    #[arg(long, default_value_t = 16)]
    pub dim: usize,
    /// Hash buckets (embedding rows); a power of two is usual.
    #[arg(long, default_value_t = amso_core::engine::featurize::DEFAULT_BUCKETS)]
    pub buckets: u32,
    /// Learning rate (default 0.5 for the linear TF-IDF form, 4 with --mean-pooled, 0.4 for
    /// --embedding).
    #[arg(long)]
    pub learning_rate: Option<f32>,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// Options of `amso eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The model.onnx to evaluate (its card.json, if beside it, supplies the thresholds).
    /// Required unless --baseline.
    #[arg(long, required_unless_present = "baseline")]
    pub model: Option<std::path::PathBuf>,
    /// Labelled JSONL.
    #[arg(long)]
    pub data: std::path::PathBuf,
    /// Split --data (a fifth held out by external id), train the default trainer and the
    /// TF-IDF + logistic regression baseline on the rest, and print both on the held-out
    /// part (and --model's figures on that part too, when given).
    #[arg(long)]
    pub baseline: bool,
}

/// Reads a JSONL file, reporting bad rows on stderr (they do not stop the rest).
fn load(path: &Path) -> Result<Vec<NewAd>, CliError> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let (good, bad) = read_jsonl(BufReader::new(file));
    for e in bad.iter().take(20) {
        eprintln!("{}:{}: {}", path.display(), e.line, e.reason);
    }
    if bad.len() > 20 {
        eprintln!("… and {} more bad rows", bad.len() - 20);
    }
    eprintln!(
        "read {} rows ({} refused) from {}",
        good.len(),
        bad.len(),
        path.display()
    );
    Ok(good.into_iter().map(|(_, ad)| ad).collect())
}

/// `amso train`.
pub fn train(args: &TrainArgs) -> Result<(), CliError> {
    let ads = load(&args.data)?;
    let params = TrainParams {
        buckets: args.buckets.max(1),
        dim: args.dim.max(1),
        epochs: args.epochs.max(1),
        learning_rate: args.learning_rate.unwrap_or(if args.embedding {
            EMBEDDING_LEARNING_RATE
        } else if args.mean_pooled {
            LINEAR_LEARNING_RATE
        } else {
            TFIDF_LEARNING_RATE
        }),
        seed: args.seed,
        linear: !args.embedding,
        tfidf: !args.embedding && !args.mean_pooled,
        ..Default::default()
    };
    let started = Instant::now();
    let (weights, card) = train_model(
        &ads,
        &args.data.display().to_string(),
        &params,
        |epoch, loss| {
            eprintln!(
                "epoch {epoch}/{} loss {loss:.5} ({:.1}s)",
                params.epochs,
                started.elapsed().as_secs_f64()
            );
        },
    )?;
    write_model(&args.out, &weights, &card)?;
    eprintln!(
        "trained {} on {} rows in {:.1}s; held-out macro ROC-AUC {:.4}, macro F1 {:.4}; wrote {}",
        card.model_version,
        card.data.train_rows,
        started.elapsed().as_secs_f64(),
        card.heldout.macro_roc_auc.unwrap_or(f64::NAN),
        card.heldout.macro_f1,
        args.out.display()
    );
    Ok(())
}

/// `amso eval`: scores through ONNX Runtime, exactly as the product does.
pub fn eval(args: &EvalArgs) -> Result<(), CliError> {
    let ads: Vec<NewAd> = load(&args.data)?
        .into_iter()
        .filter(|a| a.labels.is_some())
        .collect();
    if ads.is_empty() {
        return Err("no labelled rows to evaluate".into());
    }
    if args.baseline {
        return eval_baseline(args, &ads);
    }
    let path = args.model.as_deref().ok_or("--model is required")?;
    let refs: Vec<&NewAd> = ads.iter().collect();
    let report = eval_model(path, &refs)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// A model file's figures on `ads`, scored through ONNX Runtime.
fn eval_model(path: &Path, ads: &[&NewAd]) -> Result<serde_json::Value, CliError> {
    let mut model = OnnxModel::load(path)?;
    let card: Option<ModelCard> = path
        .parent()
        .map(|d| d.join("card.json"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| serde_json::from_str(&s).ok());
    let started = Instant::now();
    let scores = score_onnx(&mut model, ads)?;
    let thresholds: Option<&BTreeMap<String, f64>> = card.as_ref().map(|c| &c.thresholds);
    let evaluation = evaluate(&scores, &labels_of(ads), thresholds);
    Ok(serde_json::json!({
        "model": path.display().to_string(),
        "model_version": model.version,
        "thresholds_from": if thresholds.is_some() { "card.json" } else { "best F1 on this data" },
        "seconds": started.elapsed().as_secs_f64(),
        "evaluation": evaluation,
    }))
}

fn score_onnx(model: &mut OnnxModel, ads: &[&NewAd]) -> Result<Vec<[f32; CATEGORIES]>, CliError> {
    let mut scores: Vec<[f32; CATEGORIES]> = Vec::with_capacity(ads.len());
    for chunk in ads.chunks(512) {
        let batch: Vec<Vec<u32>> = chunk.iter().map(|a| a.features(model.buckets)).collect();
        scores.extend(model.score(&batch)?);
    }
    Ok(scores)
}

fn labels_of(ads: &[&NewAd]) -> Vec<Vec<Category>> {
    ads.iter()
        .map(|a| a.labels.clone().unwrap_or_default())
        .collect()
}

/// `amso eval --baseline`: the default trainer against the linear baseline on one split.
fn eval_baseline(args: &EvalArgs, ads: &[NewAd]) -> Result<(), CliError> {
    let started = Instant::now();
    let params = TrainParams::default();
    let (weights, card) = train_model(ads, &args.data.display().to_string(), &params, |e, l| {
        eprintln!(
            "epoch {e}/{} loss {l:.5} ({:.1}s)",
            params.epochs,
            started.elapsed().as_secs_f64()
        )
    })?;
    // The trained model's held-out scores through ONNX Runtime, as the product would score.
    let heldout: Vec<&NewAd> = ads.iter().filter(|a| is_heldout(&a.external_id)).collect();
    let mut onnx = OnnxModel::from_bytes(&onnx_bytes(&weights, &card), Path::new("trained"))?;
    let trained = evaluate(
        &score_onnx(&mut onnx, &heldout)?,
        &labels_of(&heldout),
        None,
    );
    let baseline = card
        .baseline
        .as_ref()
        .ok_or("the baseline was not trained")?;
    let per_category: BTreeMap<&str, serde_json::Value> = Category::ALL
        .iter()
        .map(|c| {
            let auc = |e: &Evaluation| e.categories.get(c.as_str()).and_then(|q| q.roc_auc);
            (
                c.as_str(),
                serde_json::json!({
                    "trained_roc_auc": auc(&trained),
                    "baseline_roc_auc": auc(&baseline.heldout),
                }),
            )
        })
        .collect();
    let (t, b) = (
        trained.macro_roc_auc.unwrap_or(f64::NAN),
        baseline.heldout.macro_roc_auc.unwrap_or(f64::NAN),
    );
    let mut report = serde_json::json!({
        "data": args.data.display().to_string(),
        "split": card.data.split,
        "train_rows": card.data.train_rows,
        "heldout_rows": card.data.heldout_rows,
        "trained": {
            "model_type": card.model_type,
            "model_version": card.model_version,
            "macro_roc_auc": trained.macro_roc_auc,
            "macro_pr_auc": trained.macro_pr_auc,
            "macro_f1": trained.macro_f1,
        },
        "baseline": {
            "model_type": baseline.model_type,
            "macro_roc_auc": baseline.heldout.macro_roc_auc,
            "macro_pr_auc": baseline.heldout.macro_pr_auc,
            "macro_f1": baseline.heldout.macro_f1,
            "train_seconds": baseline.train_seconds,
        },
        "per_category": per_category,
        "verdict": if t >= b {
            "the trained model matches or beats the baseline (macro ROC-AUC)"
        } else {
            "the trained model loses to the baseline (macro ROC-AUC)"
        },
        "ranking_errors_ratio": (1.0 - t) / (1.0 - b),
        "seconds": started.elapsed().as_secs_f64(),
    });
    if let Some(path) = &args.model {
        report["model"] = eval_model(path, &heldout)?;
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
