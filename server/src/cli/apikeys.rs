//! `amso apikey …`: create and revoke API keys.

use super::common::CliError;
use amso_core::access::apikeys;
use amso_core::access::audit::Actor;
use amso_core::platform::db::Db;
use clap::Subcommand;

/// `amso apikey …`
#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create a key; its secret is printed once.
    Create {
        /// What the key is for, e.g. the ingest system's name.
        #[arg(long)]
        name: String,
        /// ingest (submit ads, read their status, appeal) or kpis (read KPIs and reports).
        #[arg(long)]
        scope: apikeys::Scope,
    },
    /// Revoke a key by id.
    Revoke {
        #[arg(long)]
        id: i64,
    },
}

/// Runs `amso apikey …`.
pub async fn run(db: &Db, command: ApikeyCommand) -> Result<(), CliError> {
    match command {
        ApikeyCommand::Create { name, scope } => {
            let (key, secret) = apikeys::create(db, &Actor::Cli, &name, scope).await?;
            println!(
                "created API key {} ({}, scope {})",
                key.id,
                key.name,
                key.scope.as_str()
            );
            println!("secret (shown once): {secret}");
        }
        ApikeyCommand::Revoke { id } => {
            if apikeys::revoke(db, &Actor::Cli, id).await? {
                println!("revoked API key {id}");
            } else {
                return Err(format!("no live API key with id {id}").into());
            }
        }
    }
    Ok(())
}
