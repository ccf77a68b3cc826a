//! The review queues and what a human can decide: vocabulary shared with the browser.

use crate::vocab::role::Role;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why an ad is in front of a human: one queue per source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A prohibited category scored between the approve and reject thresholds.
    Uncertain,
    /// A category the market allows only after review.
    Restricted,
    /// A random sample of an automatic decision.
    Audit,
    /// The advertiser contests a rejection.
    Appeal,
    /// A reviewer (or a QA disagreement) asks an ops head to decide.
    Escalation,
    /// A blind second review of a human decision.
    Qa,
}

impl Source {
    /// Every queue, in the order the queues page lists them.
    pub const ALL: [Source; 6] = [
        Source::Uncertain,
        Source::Restricted,
        Source::Audit,
        Source::Appeal,
        Source::Qa,
        Source::Escalation,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Uncertain => "uncertain",
            Source::Restricted => "restricted",
            Source::Audit => "audit",
            Source::Appeal => "appeal",
            Source::Escalation => "escalation",
            Source::Qa => "qa",
        }
    }

    /// The queue's name on screen.
    pub fn label(self) -> &'static str {
        match self {
            Source::Uncertain => "Uncertain",
            Source::Restricted => "Restricted",
            Source::Audit => "Audit samples",
            Source::Appeal => "Appeals",
            Source::Escalation => "Escalations",
            Source::Qa => "QA second reviews",
        }
    }

    /// One line on what the queue holds.
    pub fn describe(self) -> &'static str {
        match self {
            Source::Uncertain => {
                "The model was unsure: a prohibited category scored between the thresholds."
            }
            Source::Restricted => "A category this market allows only after a human check.",
            Source::Audit => {
                "Random samples of automatic decisions; your verdicts measure the machine."
            }
            Source::Appeal => {
                "Advertisers contesting a rejection. Never given to anyone who took part in rejecting it."
            }
            Source::Qa => "Blind second reviews of human decisions; disagreements go to ops heads.",
            Source::Escalation => "Hard calls sent up by reviewers and QA disagreements.",
        }
    }

    /// Whether `role` works this queue: escalations go to ops heads, the rest to reviewers
    /// and ops heads.
    pub fn worked_by(self, role: Role) -> bool {
        match self {
            Source::Escalation => role == Role::OpsHead,
            _ => matches!(role, Role::Reviewer | Role::OpsHead),
        }
    }

    /// Whether items of this queue may be decided many at once from the list view.
    /// Appeals, QA and escalations each need individual attention.
    pub fn allows_bulk(self) -> bool {
        matches!(self, Source::Uncertain | Source::Restricted | Source::Audit)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|q| q.as_str() == s)
            .ok_or_else(|| format!("unknown queue `{s}`"))
    }
}

/// What a human decides about an ad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HumanVerdict {
    Approve,
    Reject,
}

impl HumanVerdict {
    /// The stored name (matches the machine's action names).
    pub fn as_str(self) -> &'static str {
        match self {
            HumanVerdict::Approve => "approve",
            HumanVerdict::Reject => "reject",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<HumanVerdict> {
        match s {
            "approve" => Some(HumanVerdict::Approve),
            "reject" => Some(HumanVerdict::Reject),
            _ => None,
        }
    }

    /// Whether this verdict overrules the machine's action (`approve`, `reject` or
    /// `review`). Items the machine sent to review have no machine verdict to overrule.
    pub fn overrides(self, machine_action: &str) -> bool {
        matches!(machine_action, "approve" | "reject") && machine_action != self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_and_roles() {
        for s in Source::ALL {
            assert_eq!(s.as_str().parse::<Source>().unwrap(), s);
        }
        assert!("nope".parse::<Source>().is_err());
        assert!(!Source::Escalation.worked_by(Role::Reviewer));
        assert!(Source::Escalation.worked_by(Role::OpsHead));
        assert!(Source::Appeal.worked_by(Role::Reviewer));
        assert!(!Source::Audit.worked_by(Role::Executive));
        assert!(!Source::Audit.worked_by(Role::Admin));
        assert!(!Source::Appeal.allows_bulk());
    }

    #[test]
    fn override_only_against_automatic_decisions() {
        assert!(HumanVerdict::Approve.overrides("reject"));
        assert!(HumanVerdict::Reject.overrides("approve"));
        assert!(!HumanVerdict::Reject.overrides("reject"));
        assert!(!HumanVerdict::Approve.overrides("review"));
        assert!(!HumanVerdict::Reject.overrides("review"));
    }
}
