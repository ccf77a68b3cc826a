//! `amso report`: one week's report written to a file.

use super::common::{CliError, connect};
use amso_core::platform::config::Config;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
use amso_core::report::{self, Format, ReportError, build::Request};
use clap::Args;

/// Options of `amso report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// ISO week, e.g. 2026-W47; default the last complete week in the reporting time zone.
    #[arg(long, default_value = "")]
    pub week: String,
    /// pdf, xlsx or csv.
    #[arg(long, default_value = "pdf")]
    pub format: String,
    /// The file to write.
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// Comma-separated market codes; default every market.
    #[arg(long, default_value = "")]
    pub markets: String,
    /// IANA time zone of the week; default AMSO_REPORT_TIME_ZONE (UTC).
    #[arg(long, default_value = "")]
    pub time_zone: String,
    /// CSV only: start the file with a UTF-8 byte-order mark, so Excel reads every script.
    #[arg(long)]
    pub bom: bool,
}

/// Runs `amso report`.
pub async fn run(config: &Config, args: &ReportArgs) -> Result<(), CliError> {
    let db = connect(config).await?;
    let result = write(&db, config, args).await;
    db.close().await;
    Ok(result?)
}

/// Writes one format of a week's report to a file.
async fn write(db: &Db, config: &Config, args: &ReportArgs) -> Result<(), ReportError> {
    let now = now_millis();
    let format: Format = args.format.parse()?;
    let req = Request::asked(
        &args.week,
        &args.markets,
        &args.time_zone,
        config.report_tz(),
        now,
    )?;
    let out = &args.out;
    let started = std::time::Instant::now();
    let built = report::build::build(db, &req, now).await?;
    let bytes = report::build::render_async(std::sync::Arc::new(built), format).await?;
    let bytes = format.with_bom(args.bom, bytes);
    std::fs::write(out, &bytes)
        .map_err(|e| ReportError::Invalid(format!("cannot write {}: {e}", out.display())))?;
    println!(
        "wrote the {} report for {} ({}) to {} ({} bytes, {} ms)",
        format.as_str().to_uppercase(),
        req.week,
        req.tz.name(),
        out.display(),
        bytes.len(),
        started.elapsed().as_millis()
    );
    Ok(())
}
