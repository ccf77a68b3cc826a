//! `amso radar`: the emerging-risk radar after a check, as a table or JSON.

use super::common::CliError;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
use amso_core::radar::{Window, store};

/// Options of `amso radar`.
#[derive(Debug, clap::Args)]
pub struct RadarArgs {
    /// A market code (default: all markets).
    #[arg(long)]
    pub market: Option<String>,
    /// `24h` (the current and the previous UTC day) or `7d`.
    #[arg(long, default_value = "24h")]
    pub window: String,
    /// Entries to show.
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    #[arg(long)]
    pub json: bool,
}

/// Folds in what is new, ranks, and prints.
pub async fn run(db: &Db, args: &RadarArgs) -> Result<(), CliError> {
    let window = Window::parse(&args.window).ok_or("--window is 24h or 7d")?;
    let market = match args.market.as_deref().map(str::trim) {
        None | Some("") | Some("*") => "*".to_string(),
        Some(m) => m
            .parse::<amso_core::vocab::market::Market>()?
            .code()
            .to_string(),
    };
    let summary = store::check(db, now_millis()).await?;
    let (entries, _) = store::entries(db, window, &market, args.limit.clamp(1, 100)).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "window": window.as_str(),
                "market": market,
                "check": summary,
                "entries": entries,
            }))?
        );
        return Ok(());
    }
    println!(
        "{:>4}  {:<10} {:<32} {:>6} {:>6} {:>7} {:>8} {:>9} {:>4}",
        "rank", "kind", "value", "now", "before", "lift", "G²", "rejected", "gap"
    );
    for e in entries {
        println!(
            "{:>4}  {:<10} {:<32} {:>6} {:>6} {:>7.1} {:>8.1} {:>9} {:>4}",
            e.rank,
            e.kind.as_str(),
            e.value.chars().take(32).collect::<String>(),
            e.count_now,
            e.count_before,
            e.lift,
            e.g2,
            e.rejected_share
                .map_or("—".into(), |r| format!("{:.0}%", r * 100.0)),
            e.gap
        );
    }
    Ok(())
}
