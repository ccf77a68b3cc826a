//! What every command stands on: the operator-facing error, connecting (and migrating), and
//! the demo accounts.

use amso_core::demo::accounts::{DEMO_LOGINS, ensure_demo_users};
use amso_core::platform::config::Config;
use amso_core::platform::db::Db;

/// A boxed error with a message meant for the operator.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// Connects and migrates: every command works on an up-to-date schema.
pub async fn connect(config: &Config) -> Result<Db, CliError> {
    let db = Db::connect(&config.database_url, config.db_max_connections).await?;
    db.migrate().await?;
    Ok(db)
}

/// Demo accounts have published passwords: refused in production.
pub fn refuse_demo_in_production(config: &Config) -> Result<(), CliError> {
    if config.is_production() {
        return Err("demo accounts are refused when AMSO_ENV=production".into());
    }
    Ok(())
}

/// Creates the demo accounts (where missing) and prints their logins.
pub async fn seed_demo_users(db: &Db) -> Result<(), CliError> {
    let created = ensure_demo_users(db).await?;
    println!("demo accounts ({created} newly created):");
    for login in &DEMO_LOGINS {
        println!(
            "  {:<10} {:<20} password: {}",
            login.role.label(),
            login.email,
            login.password
        );
    }
    Ok(())
}
