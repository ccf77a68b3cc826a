//! `amso user …`: add and list users.

use super::common::CliError;
use amso_core::access::audit::Actor;
use amso_core::access::users::{self, NewUser};
use amso_core::platform::db::Db;
use amso_core::vocab::market::parse_market_list;
use amso_core::vocab::role::Role;
use clap::Subcommand;
use rand::Rng;
use std::io::BufRead;

/// `amso user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin a strong password is generated and printed once.
    Add {
        /// Login email.
        #[arg(long)]
        email: String,
        /// reviewer, ops_head, executive or admin.
        #[arg(long)]
        role: Role,
        /// Comma-separated market codes the user carries (required for reviewers), e.g. US,GB.
        #[arg(long, default_value = "")]
        markets: String,
        /// Display name; defaults to the part of the email before the @.
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
}

/// Runs `amso user …`.
pub async fn run(db: &Db, command: UserCommand) -> Result<(), CliError> {
    match command {
        UserCommand::Add {
            email,
            role,
            markets,
            name,
            password_stdin,
        } => {
            let markets = parse_market_list(&markets)?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (generate_password(), true)
            };
            let display_name =
                name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_string());
            let user = users::create(
                db,
                &Actor::Cli,
                NewUser {
                    email,
                    display_name,
                    role,
                    markets,
                    password: password.clone(),
                    demo_credentials: false,
                },
            )
            .await?;
            println!(
                "created user {} ({}) id {}",
                user.email,
                user.role.label(),
                user.id
            );
            if generated {
                println!("password (shown once): {password}");
            }
            Ok(())
        }
        UserCommand::List => {
            for u in users::list(db).await? {
                println!(
                    "{:>4}  {:<32} {:<10} {:<20} {}",
                    u.id,
                    u.email,
                    u.role.as_str(),
                    u.markets
                        .iter()
                        .map(|m| m.code())
                        .collect::<Vec<_>>()
                        .join(","),
                    if u.disabled { "disabled" } else { "active" }
                );
            }
            Ok(())
        }
    }
}

/// 20 characters from an unambiguous alphabet (about 115 bits).
fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
