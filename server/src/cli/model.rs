//! `amso train` and `amso eval`: training a classifier on labelled JSONL and scoring one
//! through ONNX Runtime.

use super::common::CliError;
use amso_core::engine::model::CATEGORIES;
use amso_core::engine::model::card::{ModelCard, evaluate, train_model, write_model};
use amso_core::engine::model::runtime::OnnxModel;
use amso_core::engine::model::train::TrainParams;
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
    /// Embedding width.
    #[arg(long, default_value_t = 16)]
    pub dim: usize,
    /// Hash buckets (embedding rows); a power of two is usual.
    #[arg(long, default_value_t = amso_core::engine::featurize::DEFAULT_BUCKETS)]
    pub buckets: u32,
    #[arg(long, default_value_t = 0.4)]
    pub learning_rate: f32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// Options of `amso eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The model.onnx to evaluate (its card.json, if beside it, supplies the thresholds).
    #[arg(long)]
    pub model: std::path::PathBuf,
    /// Labelled JSONL.
    #[arg(long)]
    pub data: std::path::PathBuf,
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
        learning_rate: args.learning_rate,
        seed: args.seed,
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
    let mut model = OnnxModel::load(&args.model)?;
    let card: Option<ModelCard> = args
        .model
        .parent()
        .map(|d| d.join("card.json"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| serde_json::from_str(&s).ok());
    let ads: Vec<NewAd> = load(&args.data)?
        .into_iter()
        .filter(|a| a.labels.is_some())
        .collect();
    if ads.is_empty() {
        return Err("no labelled rows to evaluate".into());
    }
    let started = Instant::now();
    let mut scores: Vec<[f32; CATEGORIES]> = Vec::with_capacity(ads.len());
    for chunk in ads.chunks(512) {
        let batch: Vec<Vec<u32>> = chunk.iter().map(|a| a.features(model.buckets)).collect();
        scores.extend(model.score(&batch)?);
    }
    let labels: Vec<Vec<Category>> = ads
        .iter()
        .map(|a| a.labels.clone().unwrap_or_default())
        .collect();
    let thresholds: Option<&BTreeMap<String, f64>> = card.as_ref().map(|c| &c.thresholds);
    let evaluation = evaluate(&scores, &labels, thresholds);
    let report = serde_json::json!({
        "model": args.model.display().to_string(),
        "model_version": model.version,
        "data": args.data.display().to_string(),
        "thresholds_from": if thresholds.is_some() { "card.json" } else { "best F1 on this data" },
        "seconds": started.elapsed().as_secs_f64(),
        "evaluation": evaluation,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
