//! The JSON form of a rule, as the CLI, the API and the page take it, and its validation.
//!
//! ```json
//! {"name": "ID investasi wave", "description": "crypto investment scam",
//!  "conditions": {"all": [{"market": ["ID", "SG"]}, {"terms": ["investasi", "profit harian"]}]},
//!  "action": {"reject": ["scam"]}}
//! ```
//!
//! Every error names the field it is about (`conditions.all[1].terms[3]`), and validation
//! runs before anything is stored, so a bad rule is refused whole.

use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use crate::vocab::queue::Source;
use serde::{Deserialize, Serialize};

/// Longest rule name, in characters.
pub const MAX_NAME: usize = 120;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 2_000;
/// Most terms in one rule (over all its term lists).
pub const MAX_TERMS: usize = 100_000;
/// Longest term, in characters.
pub const MAX_TERM: usize = 200;
/// Longest regular expression, in characters.
pub const MAX_REGEX: usize = 1_000;
/// Compiled size a regular expression may take, in bytes.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Most entries in a domain or advertiser list.
pub const MAX_LIST: usize = 100_000;
/// Deepest nesting of all/any/not.
pub const MAX_DEPTH: usize = 8;
/// Most conditions (leaves and combinators) in one rule.
pub const MAX_NODES: usize = 200;
/// Longest flag label, in characters.
pub const MAX_LABEL: usize = 60;

/// A rule as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub conditions: Condition,
    pub action: RuleAction,
    /// When the rule stops acting, as RFC 3339 (`2026-12-09T00:00:00Z`). Required for an
    /// emergency rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// An emergency rule must carry an expiry of at most [`EMERGENCY_MAX_HOURS`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub emergency: bool,
}

/// Longest life of an emergency rule.
pub const EMERGENCY_MAX_HOURS: i64 = 72;

/// A condition: a leaf over one fact of the ad, or a combination.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// The text contains one of these terms, matched after the model's normalisation.
    Terms(Vec<String>),
    /// The normalised text matches this regular expression (linear-time engine).
    Regex(String),
    /// The landing page's registrable domain (eTLD+1) is one of these.
    Domain(Vec<String>),
    /// The advertiser is one of these ids.
    Advertiser(Vec<String>),
    /// The advertiser's first ad came in less than this many days ago.
    AdvertiserNewerThanDays(u32),
    Market(Vec<String>),
    /// The ad's declared language (`en`, `id`, `pt-BR` …).
    Language(Vec<String>),
    /// A model category score within bounds.
    Score(ScoreBounds),
    /// The declared daily budget in USD within bounds.
    Budget(Bounds),
}

/// A category score's bounds; at least one of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreBounds {
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Numeric bounds, inclusive; at least one of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// What a rule does when it matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleAction {
    /// Reject, for these categories.
    Reject(Vec<String>),
    /// Send to a human.
    Review(ReviewTarget),
    /// A label shown to reviewers and counted; the decision is untouched.
    Flag(String),
}

/// Where a review rule sends an ad.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewTarget {
    /// `uncertain` (default), `restricted` or `escalation` (ops heads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Multiplies the task's risk, which orders the queue after its due time (default 1,
    /// 0.1–100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<f64>,
}

/// A rule that cannot be accepted, and which field says so.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{field}: {message}")]
pub struct SpecError {
    /// Where in the rule, e.g. `conditions.all[1].terms`.
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> SpecError {
    SpecError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Reads a rule from JSON: syntax and shape errors carry their line and column.
pub fn parse(json: &str) -> Result<RuleSpec, SpecError> {
    let spec: RuleSpec =
        serde_json::from_str(json).map_err(|e| err("rule", format!("not a valid rule: {e}")))?;
    Ok(spec)
}

/// The action, checked: what the engine needs of it.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckedAction {
    Reject(Vec<Category>),
    Review { queue: Source, priority: f64 },
    Flag(String),
}

impl RuleAction {
    /// The action with its categories and queue parsed.
    pub fn check(&self) -> Result<CheckedAction, SpecError> {
        match self {
            RuleAction::Reject(categories) => {
                if categories.is_empty() {
                    return Err(err(
                        "action.reject",
                        "name at least one category the ad is rejected for",
                    ));
                }
                let mut out = Vec::new();
                for (i, c) in categories.iter().enumerate() {
                    let category = c
                        .parse::<Category>()
                        .map_err(|e| err(&format!("action.reject[{i}]"), e.to_string()))?;
                    if !out.contains(&category) {
                        out.push(category);
                    }
                }
                Ok(CheckedAction::Reject(out))
            }
            RuleAction::Review(target) => {
                let queue = match target.queue.as_deref().unwrap_or("uncertain") {
                    "uncertain" => Source::Uncertain,
                    "restricted" => Source::Restricted,
                    "escalation" => Source::Escalation,
                    other => {
                        return Err(err(
                            "action.review.queue",
                            format!(
                                "unknown queue `{}` (a rule can send to uncertain, restricted or escalation)",
                                clip(other)
                            ),
                        ));
                    }
                };
                let priority = target.priority.unwrap_or(1.0);
                if !(0.1..=100.0).contains(&priority) {
                    return Err(err("action.review.priority", "must be between 0.1 and 100"));
                }
                Ok(CheckedAction::Review { queue, priority })
            }
            RuleAction::Flag(label) => {
                let label = label.trim();
                if label.is_empty() || label.chars().count() > MAX_LABEL {
                    return Err(err(
                        "action.flag",
                        format!("a label of 1 to {MAX_LABEL} characters"),
                    ));
                }
                Ok(CheckedAction::Flag(label.to_string()))
            }
        }
    }
}

/// At most 60 characters of untrusted text, for an error message.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

impl RuleSpec {
    /// Checks everything that can be checked without compiling: lengths, names of markets
    /// and categories, bounds, sizes. Compiling (regular expressions, domains) checks the rest.
    pub fn validate(&self, now: crate::platform::time::Millis) -> Result<(), SpecError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(err("name", format!("1 to {MAX_NAME} characters")));
        }
        if self.description.chars().count() > MAX_DESCRIPTION {
            return Err(err(
                "description",
                format!("at most {MAX_DESCRIPTION} characters"),
            ));
        }
        self.action.check()?;
        let mut nodes = 0;
        let mut terms = 0;
        check_condition(&self.conditions, "conditions", 0, &mut nodes, &mut terms)?;
        match (&self.expires_at, self.emergency) {
            (None, true) => {
                return Err(err(
                    "expires_at",
                    format!(
                        "an emergency rule needs an expiry (at most {EMERGENCY_MAX_HOURS} h ahead)"
                    ),
                ));
            }
            (None, false) => {}
            (Some(_), emergency) => {
                let at = self.expires_millis()?.unwrap_or(0);
                if at <= now {
                    return Err(err("expires_at", "must be in the future"));
                }
                if emergency && at - now > EMERGENCY_MAX_HOURS * 3_600_000 {
                    return Err(err(
                        "expires_at",
                        format!("an emergency rule expires within {EMERGENCY_MAX_HOURS} h"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The expiry in milliseconds since the epoch, if any.
    pub fn expires_millis(&self) -> Result<Option<i64>, SpecError> {
        let Some(at) = &self.expires_at else {
            return Ok(None);
        };
        chrono::DateTime::parse_from_rfc3339(at.trim())
            .map(|t| Some(t.timestamp_millis()))
            .map_err(|_| {
                err(
                    "expires_at",
                    format!(
                        "`{}` is not an RFC 3339 instant such as 2026-12-09T00:00:00Z",
                        clip(at)
                    ),
                )
            })
    }
}

fn check_bounds(
    field: &str,
    min: Option<f64>,
    max: Option<f64>,
    range: (f64, f64),
) -> Result<(), SpecError> {
    if min.is_none() && max.is_none() {
        return Err(err(field, "give min, max or both"));
    }
    for (name, v) in [("min", min), ("max", max)] {
        if let Some(v) = v
            && (!v.is_finite() || v < range.0 || v > range.1)
        {
            return Err(err(
                &format!("{field}.{name}"),
                format!("must be between {} and {}", range.0, range.1),
            ));
        }
    }
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        return Err(err(field, "min is above max"));
    }
    Ok(())
}

fn check_list(field: &str, items: &[String], max_len: usize, what: &str) -> Result<(), SpecError> {
    if items.is_empty() {
        return Err(err(field, format!("the {what} list is empty")));
    }
    if items.len() > MAX_LIST {
        return Err(err(field, format!("at most {MAX_LIST} entries")));
    }
    for (i, item) in items.iter().enumerate() {
        let t = item.trim();
        if t.is_empty() || t.chars().count() > max_len {
            return Err(err(
                &format!("{field}[{i}]"),
                format!("a {what} of 1 to {max_len} characters"),
            ));
        }
    }
    Ok(())
}

fn check_condition(
    c: &Condition,
    field: &str,
    depth: usize,
    nodes: &mut usize,
    terms: &mut usize,
) -> Result<(), SpecError> {
    *nodes += 1;
    if *nodes > MAX_NODES {
        return Err(err(
            field,
            format!("a rule has at most {MAX_NODES} conditions"),
        ));
    }
    if depth > MAX_DEPTH {
        return Err(err(field, format!("nested deeper than {MAX_DEPTH}")));
    }
    match c {
        Condition::All(list) | Condition::Any(list) => {
            let key = if matches!(c, Condition::All(_)) {
                "all"
            } else {
                "any"
            };
            if list.is_empty() {
                return Err(err(
                    &format!("{field}.{key}"),
                    "needs at least one condition",
                ));
            }
            for (i, inner) in list.iter().enumerate() {
                check_condition(
                    inner,
                    &format!("{field}.{key}[{i}]"),
                    depth + 1,
                    nodes,
                    terms,
                )?;
            }
        }
        Condition::Not(inner) => {
            check_condition(inner, &format!("{field}.not"), depth + 1, nodes, terms)?
        }
        Condition::Terms(list) => {
            let field = format!("{field}.terms");
            check_list(&field, list, MAX_TERM, "term")?;
            *terms += list.len();
            if *terms > MAX_TERMS {
                return Err(err(&field, format!("a rule has at most {MAX_TERMS} terms")));
            }
            for (i, t) in list.iter().enumerate() {
                if super::matcher::term_pattern(t).is_none() {
                    return Err(err(
                        &format!("{field}[{i}]"),
                        format!(
                            "`{}` has no letters or digits left after normalisation",
                            clip(t)
                        ),
                    ));
                }
            }
        }
        Condition::Regex(pattern) => {
            if pattern.is_empty() || pattern.chars().count() > MAX_REGEX {
                return Err(err(
                    &format!("{field}.regex"),
                    format!("a pattern of 1 to {MAX_REGEX} characters"),
                ));
            }
        }
        Condition::Domain(list) => check_list(&format!("{field}.domain"), list, 253, "domain")?,
        Condition::Advertiser(list) => {
            check_list(&format!("{field}.advertiser"), list, 128, "advertiser id")?
        }
        Condition::AdvertiserNewerThanDays(days) => {
            if *days == 0 || *days > 3650 {
                return Err(err(
                    &format!("{field}.advertiser_newer_than_days"),
                    "between 1 and 3650 days",
                ));
            }
        }
        Condition::Market(list) => {
            let field = format!("{field}.market");
            check_list(&field, list, 8, "market")?;
            for (i, m) in list.iter().enumerate() {
                m.parse::<Market>()
                    .map_err(|e| err(&format!("{field}[{i}]"), e.to_string()))?;
            }
        }
        Condition::Language(list) => {
            let field = format!("{field}.language");
            check_list(&field, list, 16, "language code")?;
            for (i, l) in list.iter().enumerate() {
                let ok = l.trim().split('-').enumerate().all(|(k, part)| {
                    let n = part.len();
                    part.chars().all(|c| c.is_ascii_alphanumeric())
                        && if k == 0 {
                            (2..=3).contains(&n)
                        } else {
                            (1..=8).contains(&n)
                        }
                });
                if !ok {
                    return Err(err(
                        &format!("{field}[{i}]"),
                        format!("`{}` is not a language code such as en or pt-BR", clip(l)),
                    ));
                }
            }
        }
        Condition::Score(b) => {
            let field = format!("{field}.score");
            b.category
                .parse::<Category>()
                .map_err(|e| err(&format!("{field}.category"), e.to_string()))?;
            check_bounds(&field, b.min, b.max, (0.0, 1.0))?;
        }
        Condition::Budget(b) => check_bounds(&format!("{field}.budget"), b.min, b.max, (0.0, 1e9))?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000_000;

    #[test]
    fn the_issue_example_is_accepted_as_written() {
        let spec = parse(
            r#"{"name": "ID investasi wave", "description": "crypto investment scam",
                "conditions": {"all": [{"market": ["ID", "SG"]}, {"terms": ["investasi", "profit harian"]}]},
                "action": {"reject": ["scam"]}}"#,
        )
        .unwrap();
        spec.validate(NOW).unwrap();
        assert_eq!(
            spec.action.check().unwrap(),
            CheckedAction::Reject(vec![Category::Scam])
        );
    }

    #[test]
    fn every_leaf_and_action_form_reads() {
        for leaf in [
            r#"{"regex": "pr[o0]fit\\s+harian"}"#,
            r#"{"domain": ["example.co.id"]}"#,
            r#"{"advertiser": ["adv-1"]}"#,
            r#"{"advertiser_newer_than_days": 7}"#,
            r#"{"language": ["id", "pt-BR"]}"#,
            r#"{"score": {"category": "scam", "min": 0.4}}"#,
            r#"{"budget": {"min": 0, "max": 50}}"#,
            r#"{"not": {"market": ["US"]}}"#,
            r#"{"any": [{"market": ["US"]}, {"terms": ["x1"]}]}"#,
        ] {
            for action in [
                r#"{"reject": ["scam", "gambling"]}"#,
                r#"{"review": {"queue": "escalation"}}"#,
                r#"{"review": {}}"#,
                r#"{"flag": "wave 12"}"#,
            ] {
                let json = format!(r#"{{"name": "r", "conditions": {leaf}, "action": {action}}}"#);
                let spec = parse(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
                spec.validate(NOW).unwrap_or_else(|e| panic!("{json}: {e}"));
            }
        }
    }

    fn refused(json: &str) -> SpecError {
        match parse(json).and_then(|s| s.validate(NOW)) {
            Ok(()) => panic!("accepted: {json}"),
            Err(e) => e,
        }
    }

    #[test]
    fn bad_rules_name_their_field() {
        let e = refused(
            r#"{"name": "r", "conditions": {"all": [{"market": ["ID"]}, {"terms": []}]}, "action": {"reject": ["scam"]}}"#,
        );
        assert_eq!(e.field, "conditions.all[1].terms");
        let e = refused(
            r#"{"name": "r", "conditions": {"market": ["ID", "XX"]}, "action": {"reject": ["scam"]}}"#,
        );
        assert_eq!(e.field, "conditions.market[1]");
        assert!(e.message.contains("XX"));
        let e = refused(
            r#"{"name": "r", "conditions": {"score": {"category": "spam", "min": 0.4}}, "action": {"reject": ["scam"]}}"#,
        );
        assert_eq!(e.field, "conditions.score.category");
        let e = refused(
            r#"{"name": "r", "conditions": {"market": ["ID"]}, "action": {"reject": ["spam"]}}"#,
        );
        assert_eq!(e.field, "action.reject[0]");
        let e = refused(
            r#"{"name": "r", "conditions": {"market": ["ID"]}, "action": {"review": {"queue": "audit"}}}"#,
        );
        assert_eq!(e.field, "action.review.queue");
        let e =
            refused(r#"{"name": "", "conditions": {"market": ["ID"]}, "action": {"flag": "x"}}"#);
        assert_eq!(e.field, "name");
        let e = refused(r#"{"name": "r", "conditions": {"budget": {}}, "action": {"flag": "x"}}"#);
        assert_eq!(e.field, "conditions.budget");
        let e = refused(
            r#"{"name": "r", "conditions": {"terms": ["ok", "!!!"]}, "action": {"flag": "x"}}"#,
        );
        assert_eq!(e.field, "conditions.terms[1]");
        let e = refused(
            r#"{"name": "r", "conditions": {"market": ["ID"]}, "action": {"flag": "x"}, "emergency": true}"#,
        );
        assert_eq!(e.field, "expires_at");
        let e =
            refused(r#"{"name": "r", "conditions": {"marketz": ["ID"]}, "action": {"flag": "x"}}"#);
        assert_eq!(e.field, "rule");
        assert!(e.message.contains("line"), "{e}");
    }

    #[test]
    fn emergency_rules_expire_soon() {
        let at = |h: i64| {
            chrono::DateTime::from_timestamp_millis(NOW + h * 3_600_000)
                .unwrap()
                .to_rfc3339()
        };
        let json = |h: i64| {
            format!(
                r#"{{"name": "r", "conditions": {{"market": ["ID"]}}, "action": {{"flag": "x"}}, "emergency": true, "expires_at": "{}"}}"#,
                at(h)
            )
        };
        parse(&json(24)).unwrap().validate(NOW).unwrap();
        assert_eq!(refused(&json(100)).field, "expires_at");
        assert_eq!(refused(&json(-1)).field, "expires_at");
    }
}
