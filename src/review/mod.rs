//! Human review in the database: queues of review tasks, claimed one at a time under a
//! lease; reviews that confirm or overrule the machine; escalations, skips, undo, bulk
//! decisions, blind QA second reviews and advertiser appeals. Every human action writes an
//! audit entry on the ad (`ad:{id}`) in the same transaction as the change itself.

pub mod appeals;
pub mod exposure;
pub mod golden;
pub mod queues;
pub mod reasons;
pub mod tasks;
pub mod team;
pub mod timeline;
pub mod verdicts;

use crate::access::audit::Actor;
use crate::platform::db::numbered as placeholders;
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use crate::vocab::queue::Source;
use crate::vocab::role::Role;

/// Who is acting, and where they may act.
#[derive(Clone, Debug)]
pub struct Scope {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    /// The markets a reviewer carries (ignored for ops heads, who see every market).
    pub markets: Vec<Market>,
}

impl Scope {
    /// The markets this person may see and decide.
    pub fn visible_markets(&self) -> Vec<Market> {
        match self.role {
            Role::Reviewer => self.markets.clone(),
            _ => Market::ALL.to_vec(),
        }
    }

    /// Whether `market` is within this person's scope.
    pub fn sees(&self, market: Market) -> bool {
        self.role != Role::Reviewer || self.markets.contains(&market)
    }

    fn actor(&self) -> Actor {
        Actor::User(self.email.clone())
    }
}

/// Why a review action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Whether this person's role works the queue of `source`.
fn check_works(scope: &Scope, source: Source) -> Result<(), ReviewError> {
    if source.worked_by(scope.role) {
        Ok(())
    } else {
        Err(ReviewError::Forbidden(format!(
            "the {} queue is not worked by your role",
            source.as_str()
        )))
    }
}

/// How the review desk runs (from the configuration).
#[derive(Clone, Copy, Debug)]
pub struct DeskSettings {
    pub lease_ms: Millis,
    /// Share of human reviews checked again, blind, by a second reviewer.
    pub qa_rate: f64,
    /// How long after submitting a review its reviewer may still undo it.
    pub undo_window_ms: Millis,
}

impl Default for DeskSettings {
    fn default() -> Self {
        DeskSettings {
            lease_ms: 5 * 60 * 1000,
            qa_rate: 0.05,
            undo_window_ms: 30 * 1000,
        }
    }
}

pub(super) const MAX_NOTE: usize = 2000;

/// A required free text (a note, a statement), trimmed and at most `MAX_NOTE` characters.
pub(super) fn required_text<'a>(
    text: &'a str,
    name: &str,
    when_empty: &str,
) -> Result<&'a str, ReviewError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ReviewError::Invalid(when_empty.into()));
    }
    if text.chars().count() > MAX_NOTE {
        return Err(ReviewError::Invalid(format!(
            "{name} is limited to {MAX_NOTE} characters"
        )));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_count_from_the_first() {
        assert_eq!(placeholders(3, 2), "$3,$4");
    }
}
