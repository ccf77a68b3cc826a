//! Demo accounts: one user per role with published passwords, for trying the product.
//! A production deployment refuses to start while any of them is enabled.

use crate::access::audit::Actor;
use crate::access::password::PUBLISHED_DEMO_PASSWORDS;
use crate::access::users::{self, NewUser, UserError};
use crate::platform::db::Db;
use crate::vocab::market::Market;
use crate::vocab::role::Role;

/// One published demo login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoLogin {
    pub email: &'static str,
    pub password: &'static str,
    pub role: Role,
    pub display_name: &'static str,
    pub markets: &'static [Market],
    /// ISO 639-1 codes of the languages they read (empty: any).
    pub languages: &'static [&'static str],
}

/// The demo logins, one per role.
pub const DEMO_LOGINS: [DemoLogin; 4] = [
    DemoLogin {
        email: "reviewer@amso.test",
        password: PUBLISHED_DEMO_PASSWORDS[0],
        role: Role::Reviewer,
        display_name: "Rina Reviewer",
        markets: &[Market::Us, Market::Gb, Market::De],
        languages: &["en", "de"],
    },
    DemoLogin {
        email: "ops@amso.test",
        password: PUBLISHED_DEMO_PASSWORDS[1],
        role: Role::OpsHead,
        display_name: "Omar Ops",
        markets: &[],
        languages: &[],
    },
    DemoLogin {
        email: "exec@amso.test",
        password: PUBLISHED_DEMO_PASSWORDS[2],
        role: Role::Executive,
        display_name: "Eva Executive",
        markets: &[],
        languages: &[],
    },
    DemoLogin {
        email: "admin@amso.test",
        password: PUBLISHED_DEMO_PASSWORDS[3],
        role: Role::Admin,
        display_name: "Ada Admin",
        markets: &[],
        languages: &[],
    },
];

/// Creates the demo users that do not exist yet; returns how many were created.
/// Existing accounts are left as they are (their passwords may have been changed).
pub async fn ensure_demo_users(db: &Db) -> Result<usize, UserError> {
    let mut created = 0;
    for login in &DEMO_LOGINS {
        let new = NewUser {
            email: login.email.into(),
            display_name: login.display_name.into(),
            role: login.role,
            markets: login.markets.to_vec(),
            password: login.password.into(),
            demo_credentials: true,
            // Not chosen: the browser proposes its own zone at the first login.
            time_zone: None,
            languages: login.languages.iter().map(|l| l.to_string()).collect(),
        };
        match users::create(db, &Actor::System, new).await {
            Ok(_) => created += 1,
            Err(UserError::DuplicateEmail(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(created)
}
