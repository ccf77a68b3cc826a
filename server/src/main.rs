//! The `amso` binary.

use amso_server::cli::{Cli, run};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    // Logs go to stderr, so commands that print JSON (eval, bench) keep stdout clean.
    let json_logs = std::env::var("AMSO_LOG_FORMAT").is_ok_and(|f| f.trim() == "json");
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn,usvg=error"));
    if json_logs {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .json()
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init();
    }
    if let Err(e) = run(cli).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// `amso model list | head -1`: when whoever reads our output goes away, stop quietly with
/// success, as Unix tools do, instead of panicking on the broken pipe (Rust ignores SIGPIPE,
/// so `println!` panics on it).
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
