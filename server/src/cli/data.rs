//! Data in and out: `amso seed` (demo accounts and history, or the labelled corpus as
//! JSONL), `amso import` (ads from JSONL, bad rows reported by line) and `amso export-labels`
//! (final human verdicts as training rows).

use super::common::{CliError, connect, refuse_demo_in_production, seed_demo_users};
use amso_core::demo::corpus::{CorpusParams, generate, harden};
use amso_core::intake::ads;
use amso_core::intake::validate::{NewAd, read_jsonl};
use amso_core::platform::config::Config;
use amso_core::platform::db::Db;
use clap::Args;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

/// Options of `amso seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Number of demo ads to generate.
    #[arg(long, default_value_t = 100_000)]
    pub ads: usize,
    /// Days of history they span, ending now.
    #[arg(long, default_value_t = 28)]
    pub days: u32,
    /// Random seed: the same seed gives the same corpus.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Write the corpus, with labels, to this JSONL file (instead of into the database).
    #[arg(long)]
    pub export: Option<std::path::PathBuf>,
    /// With --export: paraphrase, misspell and code-switch the ads and add label noise (a
    /// harder, less templated corpus for `amso eval --baseline`).
    #[arg(long, requires = "export")]
    pub hard: bool,
}

/// Options of `amso export-labels`.
#[derive(Debug, Args)]
pub struct ExportLabelsArgs {
    /// Only verdicts given on or after this date (YYYY-MM-DD, UTC).
    #[arg(long)]
    pub since: Option<chrono::NaiveDate>,
    /// The JSONL file to write.
    #[arg(long)]
    pub out: std::path::PathBuf,
}

/// Runs `amso seed`: the labelled corpus to a file with `--export`, else the demo accounts and
/// history into an empty database.
pub async fn seed(config: &Config, args: &SeedArgs) -> Result<(), CliError> {
    refuse_demo_in_production(config)?;
    if let Some(path) = &args.export {
        return export_corpus(args, path);
    }
    let db = connect(config).await?;
    seed_demo_users(&db).await?;
    let existing = ads::count(&db).await?;
    let result = if existing > 0 {
        Err(format!(
            "the database already holds {existing} ads; demo history is only written to an empty one"
        )
        .into())
    } else {
        seed_history(&db, config, args.ads, args.days, args.seed).await
    };
    db.close().await;
    result
}

/// `amso seed --export FILE`: the labelled demo corpus as JSONL.
pub fn export_corpus(args: &SeedArgs, path: &Path) -> Result<(), CliError> {
    let started = Instant::now();
    let mut ads = generate(&CorpusParams {
        ads: args.ads,
        days: args.days,
        seed: args.seed,
        end: amso_core::platform::time::now_millis(),
    });
    if args.hard {
        harden(&mut ads, args.seed);
    }
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

/// Writes the demo history (ads over `days` days, decided and reviewed) into an empty
/// database, with a scorer of its own; prints what it wrote.
pub async fn seed_history(
    db: &Db,
    config: &Config,
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
            lifecycle: (ads >= amso_core::demo::lifecycle::MIN_ADS)
                .then(|| Path::new(&config.model_path).to_path_buf()),
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

/// `amso import FILE`: queues the good rows, reports the bad ones with their line numbers.
pub async fn import(db: &Db, path: &Path) -> Result<(), CliError> {
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

/// `amso export-labels`: final human verdicts as training JSONL.
pub async fn export_labels(db: &Db, args: &ExportLabelsArgs) -> Result<(), CliError> {
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
