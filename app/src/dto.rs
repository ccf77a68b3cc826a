//! Data shapes that travel between the server and the browser.

use amso_core::vocab::market::Market;
use amso_core::vocab::role::{Area, Role};
use serde::{Deserialize, Serialize};

/// The logged-in user, as the pages need them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub markets: Vec<Market>,
}

impl Viewer {
    /// Whether this viewer may open `area`.
    pub fn can_open(&self, area: Area) -> bool {
        area.allows(self.role)
    }
}

/// A user row on the admin page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub markets: Vec<Market>,
    pub disabled: bool,
    pub demo_credentials: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// One audit log row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    /// The changed fields in words (`role: reviewer → ops_head`).
    pub change: String,
    pub ip: Option<String>,
}

/// Formats a market list for display (`US, GB`), or `all` when empty.
pub fn markets_label(markets: &[Market]) -> String {
    if markets.is_empty() {
        "all".into()
    } else {
        markets
            .iter()
            .map(|m| m.code())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
