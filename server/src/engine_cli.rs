//! The engine's commands: demo corpus export, training and evaluation.

use crate::cli::{CliError, EvalArgs, ExportLabelsArgs, SeedArgs, TrainArgs};
use amso_core::demo::corpus::{CorpusParams, generate};
use amso_core::engine::model::CATEGORIES;
use amso_core::engine::model::card::{ModelCard, evaluate, train_model, write_model};
use amso_core::engine::model::runtime::OnnxModel;
use amso_core::engine::model::train::TrainParams;
use amso_core::intake::validate::{NewAd, read_jsonl};
use amso_core::vocab::policy::Category;
use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

/// `amso seed --export FILE`: the labelled demo corpus as JSONL.
pub fn export_corpus(args: &SeedArgs, path: &Path) -> Result<(), CliError> {
    let started = Instant::now();
    let ads = generate(&CorpusParams {
        ads: args.ads,
        days: args.days,
        seed: args.seed,
        end: amso_core::platform::time::now_millis(),
    });
    let file = std::fs::File::create(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut out = BufWriter::new(file);
    for ad in &ads {
        serde_json::to_writer(&mut out, ad)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!(
        "wrote {} ads over {} days to {} in {:.1}s",
        ads.len(),
        args.days,
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
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

/// `amso import FILE`: queues the good rows, reports the bad ones with their line numbers.
pub async fn import(db: &amso_core::platform::db::Db, path: &Path) -> Result<(), CliError> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let (good, bad) = read_jsonl(BufReader::new(file));
    for e in &bad {
        eprintln!("{}:{}: {}", path.display(), e.line, e.reason);
    }
    let ads: Vec<NewAd> = good.into_iter().map(|(_, ad)| ad).collect();
    let started = Instant::now();
    let mut created = 0;
    let mut duplicates = 0;
    for (i, chunk) in ads.chunks(1000).enumerate() {
        let stored = amso_core::intake::ads::submit(
            db,
            "import",
            chunk,
            amso_core::platform::time::now_millis(),
        )
        .await?;
        created += stored.iter().filter(|s| s.created).count();
        duplicates += stored.iter().filter(|s| !s.created).count();
        if ads.len() > 5000 {
            eprintln!(
                "… {} of {} rows",
                ((i + 1) * 1000).min(ads.len()),
                ads.len()
            );
        }
    }
    println!(
        "queued {created} ads ({duplicates} already present, {} rows refused) in {:.1}s",
        bad.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Writes the demo history (ads over `days` days, decided and reviewed) into an empty
/// database, with a scorer of its own; prints what it wrote.
pub async fn seed_history(
    db: &amso_core::platform::db::Db,
    config: &amso_core::platform::config::Config,
    ads: usize,
    days: u32,
    seed: u64,
) -> Result<(), CliError> {
    let started = Instant::now();
    let scorer = amso_core::engine::worker::Scorer::start(Path::new(&config.model_path), 64)
        .map_err(|e| format!("cannot start the moderation engine: {e}"))?;
    eprintln!("writing demo history: {ads} ads over {days} days, decided and reviewed …");
    let summary = amso_core::demo::history::seed_history(
        db,
        &scorer,
        &amso_core::demo::history::HistoryParams {
            ads,
            days,
            seed,
            end: amso_core::platform::time::now_millis(),
            audit_rate_approve: config.audit_rate_approve,
            audit_rate_reject: config.audit_rate_reject,
            qa_rate: config.qa_rate,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "demo history: {} ads, {} reviews by {} reviewers ({} overrides of the machine), {} appeals, \
         {} escalations decided, {} items waiting for review ({:.1}s)",
        summary.ads,
        summary.reviews,
        summary.reviewers,
        summary.overrides,
        summary.appeals,
        summary.escalations_decided,
        summary.open_items,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Loads the model on its scoring thread, unless this instance runs no workers. A missing
/// or broken model or runtime library stops start-up with a clear error.
pub fn start_scorer(
    config: &amso_core::platform::config::Config,
) -> Result<Option<amso_core::engine::worker::Scorer>, CliError> {
    if config.workers == 0 {
        tracing::info!("AMSO_WORKERS=0: this instance decides no ads");
        return Ok(None);
    }
    let scorer = amso_core::engine::worker::Scorer::start(Path::new(&config.model_path), 64)
        .map_err(|e| format!("cannot start the moderation engine: {e}"))?;
    println!(
        "model {} loaded from {}",
        scorer.model_version, config.model_path
    );
    Ok(Some(scorer))
}

/// Starts the configured number of workers on `scorer`.
pub fn spawn_workers(
    db: &amso_core::platform::db::Db,
    scorer: Option<&amso_core::engine::worker::Scorer>,
    config: &amso_core::platform::config::Config,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let Some(scorer) = scorer else {
        return Vec::new();
    };
    (0..config.workers)
        .map(|_| {
            let worker = amso_core::engine::worker::WorkerConfig {
                worker_id: amso_core::engine::worker::new_worker_id(),
                batch_size: config.worker_batch.max(1),
                lease: std::time::Duration::from_secs(config.lease_seconds.max(1)),
                idle: std::time::Duration::from_millis(200),
                audit_rate_approve: config.audit_rate_approve,
                audit_rate_reject: config.audit_rate_reject,
            };
            tokio::spawn(amso_core::engine::worker::run_worker(
                db.clone(),
                scorer.clone(),
                worker,
                stop.clone(),
            ))
        })
        .collect()
}

/// `amso export-labels`: final human verdicts as training JSONL.
pub async fn export_labels(
    db: &amso_core::platform::db::Db,
    args: &ExportLabelsArgs,
) -> Result<(), CliError> {
    let since = args
        .since
        .map(|d| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
                .timestamp_millis()
        })
        .unwrap_or(0);
    let rows = amso_core::review::timeline::final_labels(db, since).await?;
    let file = std::fs::File::create(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let mut out = BufWriter::new(file);
    for row in &rows {
        serde_json::to_writer(&mut out, row)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let rejected = rows.iter().filter(|r| !r.labels.is_empty()).count();
    eprintln!(
        "wrote {} labelled ads ({} rejected, {} approved) to {}",
        rows.len(),
        rejected,
        rows.len() - rejected,
        args.out.display()
    );
    Ok(())
}
