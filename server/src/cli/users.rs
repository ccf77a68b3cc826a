//! `amso user …`: add and list users.

use super::common::CliError;
use amso_core::access::audit::Actor;
use amso_core::access::users::{self, NewUser, UserChange};
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
        /// IANA time zone their days are read in, e.g. Asia/Tokyo (default UTC).
        #[arg(long)]
        time_zone: Option<String>,
        /// Comma-separated ISO 639-1 codes of the languages they read, e.g. ja,en (default:
        /// any; claim-next then does not match on language for them).
        #[arg(long, default_value = "")]
        languages: String,
    },
    /// Change a user's time zone or languages.
    Set {
        /// Login email of the user to change.
        #[arg(long)]
        email: String,
        /// IANA time zone, e.g. Europe/Berlin.
        #[arg(long)]
        time_zone: Option<String>,
        /// Comma-separated ISO 639-1 codes; an empty string: any language.
        #[arg(long)]
        languages: Option<String>,
    },
    /// List users.
    List {
        /// One JSON array of users (id, email, role, markets, time zone, languages, …).
        #[arg(long)]
        json: bool,
    },
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
            time_zone,
            languages,
        } => {
            let markets = parse_market_list(&markets)?;
            let languages = users::parse_languages(&languages)?;
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
                    time_zone,
                    languages,
                },
            )
            .await?;
            println!(
                "created user {} ({}) id {}, time zone {}, languages {}",
                user.email,
                user.role.label(),
                user.id,
                user.time_zone,
                languages_label(&user.languages)
            );
            if generated {
                println!("password (shown once): {password}");
            }
            Ok(())
        }
        UserCommand::Set {
            email,
            time_zone,
            languages,
        } => {
            let email = users::normalize_email(&email)?;
            let Some(user) = users::list(db)
                .await?
                .into_iter()
                .find(|u| u.email == email)
            else {
                return Err(format!("no user with email {email}").into());
            };
            let languages = languages
                .as_deref()
                .map(users::parse_languages)
                .transpose()?;
            let after = users::update(
                db,
                &Actor::Cli,
                None,
                user.id,
                UserChange {
                    time_zone,
                    languages,
                    ..Default::default()
                },
            )
            .await?;
            println!(
                "{}: time zone {}, languages {}",
                after.email,
                after.time_zone,
                languages_label(&after.languages)
            );
            Ok(())
        }
        UserCommand::List { json } => {
            let list = users::list(db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            for u in list {
                println!(
                    "{:>4}  {:<32} {:<10} {:<12} {:<20} {:<10} {}",
                    u.id,
                    u.email,
                    u.role.as_str(),
                    u.markets
                        .iter()
                        .map(|m| m.code())
                        .collect::<Vec<_>>()
                        .join(","),
                    u.time_zone,
                    languages_label(&u.languages),
                    if u.disabled { "disabled" } else { "active" }
                );
            }
            Ok(())
        }
    }
}

fn languages_label(languages: &[String]) -> String {
    if languages.is_empty() {
        "any".into()
    } else {
        languages.join(",")
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
