//! Rules in the database: creating, editing (every edit a new version), the lifecycle
//! draft → background → pending live → live (approved by a second person) → expired /
//! archived, every step audited; and what the decision worker loads.

use super::matcher::{self, Mode};
use super::spec::{RuleSpec, SpecError};
pub use super::view::State;
use crate::access::audit::{self, Actor, NewEntry};
use crate::platform::db::{Db, WriteTx};
use crate::platform::time::Millis;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The mode the worker evaluates a rule in, if any. A rule waiting for approval keeps
/// running in background.
pub fn mode_of(state: State) -> Option<Mode> {
    match state {
        State::Background | State::PendingLive => Some(Mode::Background),
        State::Live => Some(Mode::Live),
        _ => None,
    }
}

/// A step a person asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Evaluate on live traffic without effect (also: withdraw a request, or step a live
    /// rule back).
    Background,
    /// Ask for the rule to go live.
    RequestLive,
    /// Approve a request: a different person from the one who asked.
    Approve,
    /// Put the rule away.
    Archive,
}

impl Step {
    /// The name used in URLs, the CLI and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Background => "background",
            Step::RequestLive => "request_live",
            Step::Approve => "approve",
            Step::Archive => "archive",
        }
    }

    /// Parses a step name (`request-live` too).
    pub fn parse(s: &str) -> Option<Step> {
        let s = s.replace('-', "_");
        [
            Step::Background,
            Step::RequestLive,
            Step::Approve,
            Step::Archive,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// Why a rule operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{0}")]
    Invalid(#[from] SpecError),
    #[error("no rule {0}")]
    NotFound(i64),
    #[error("a {state} rule cannot {step}")]
    Transition {
        state: &'static str,
        step: &'static str,
    },
    #[error("a second person must approve: {0} asked for this rule to go live")]
    SecondPerson(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A rule as listed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RuleRow {
    pub id: i64,
    pub name: String,
    pub owner: String,
    pub state: State,
    pub version: i64,
    pub requested_by: Option<String>,
    pub approved_by: Option<String>,
    pub expires_at: Option<Millis>,
    pub background_since: Option<Millis>,
    pub live_since: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// `reject`, `review` or `flag`.
    pub action: String,
    /// Hits recorded by the worker in the last 24 hours (live or background).
    pub hits_24h: i64,
}

/// One version of a rule.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct VersionRow {
    pub version: i64,
    pub created_by: String,
    pub created_at: Millis,
    pub spec: RuleSpec,
    pub has_backtest: bool,
}

/// A rule in full: its current version's text and its history.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RuleDetail {
    #[serde(flatten)]
    pub rule: RuleRow,
    pub spec: RuleSpec,
    pub versions: Vec<VersionRow>,
    /// The current version's last backtest, as stored.
    pub backtest: Option<serde_json::Value>,
}

const ROW_COLUMNS: &str = "r.id, r.name, r.owner, r.state, r.version, r.requested_by, r.approved_by, \
     r.expires_at, r.background_since, r.live_since, r.created_at, r.updated_at, v.spec";

type Row = (
    i64,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    String,
);

fn action_kind(spec: &RuleSpec) -> &'static str {
    match spec.action {
        super::spec::RuleAction::Reject(_) => "reject",
        super::spec::RuleAction::Review(_) => "review",
        super::spec::RuleAction::Flag(_) => "flag",
    }
}

fn read_spec(json: &str) -> RuleSpec {
    // Stored specs were validated on the way in; one that no longer reads (a category
    // renamed) shows as a rule matching nothing rather than failing the page.
    serde_json::from_str(json).unwrap_or_else(|_| RuleSpec {
        name: "(unreadable)".into(),
        description: String::new(),
        conditions: super::spec::Condition::Any(vec![super::spec::Condition::Not(Box::new(
            super::spec::Condition::Market(Vec::new()),
        ))]),
        action: super::spec::RuleAction::Flag("unreadable".into()),
        expires_at: None,
        emergency: false,
    })
}

fn to_row(r: Row, hits_24h: i64) -> (RuleRow, RuleSpec) {
    let spec = read_spec(&r.12);
    (
        RuleRow {
            id: r.0,
            name: r.1,
            owner: r.2,
            state: State::parse(&r.3).unwrap_or(State::Archived),
            version: r.4,
            requested_by: r.5,
            approved_by: r.6,
            expires_at: r.7,
            background_since: r.8,
            live_since: r.9,
            created_at: r.10,
            updated_at: r.11,
            action: action_kind(&spec).to_string(),
            hits_24h,
        },
        spec,
    )
}

/// Checks a rule the way it will run: validation, then compiling.
pub fn check(spec: &RuleSpec, now: Millis) -> Result<(), SpecError> {
    spec.validate(now)?;
    matcher::check(spec)
}

/// Stores the text of a rule's version.
async fn insert_version(
    tx: &mut WriteTx,
    id: i64,
    version: i64,
    spec: &RuleSpec,
    actor: &Actor,
    now: Millis,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into rule_versions (rule_id, version, spec, created_by, created_at) values ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(version)
    .bind(serde_json::to_string(spec).expect("a rule serialises"))
    .bind(actor.as_text())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends the audit entry of something done to rule `id`, inside its transaction.
async fn audited(
    tx: &mut WriteTx,
    actor: &Actor,
    action: &str,
    id: i64,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
    now: Millis,
) -> sqlx::Result<()> {
    audit::record_at(
        &mut **tx,
        NewEntry {
            actor,
            action,
            object: format!("rule:{id}"),
            before,
            after: Some(after),
            ip: None,
        },
        now,
    )
    .await
}

/// Stores a new rule as a draft, version 1. Returns its id.
pub async fn create(
    db: &Db,
    spec: &RuleSpec,
    actor: &Actor,
    now: Millis,
) -> Result<i64, RuleError> {
    check(spec, now)?;
    let mut tx = db.begin_write().await?;
    let (id,): (i64,) = sqlx::query_as(
        "insert into rules (name, owner, state, version, expires_at, created_at, updated_at) \
         values ($1, $2, 'draft', 1, $3, $4, $4) returning id",
    )
    .bind(spec.name.trim())
    .bind(actor.as_text())
    .bind(spec.expires_millis()?)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    insert_version(&mut tx, id, 1, spec, actor, now).await?;
    audited(
        &mut tx,
        actor,
        "rule.create",
        id,
        None,
        json!({"version": 1, "name": spec.name.trim(), "state": "draft"}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Stores a new version of a rule. The rule goes back to draft: a changed rule is proved
/// (backtest, background) and approved again before it acts. Returns the new version.
pub async fn edit(
    db: &Db,
    id: i64,
    spec: &RuleSpec,
    actor: &Actor,
    now: Millis,
) -> Result<i64, RuleError> {
    check(spec, now)?;
    let mut tx = db.begin_write().await?;
    let current: Option<(i64, String)> =
        sqlx::query_as("select version, state from rules where id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let (version, state) = current.ok_or(RuleError::NotFound(id))?;
    if state == "archived" {
        return Err(RuleError::Transition {
            state: "archived",
            step: "be edited",
        });
    }
    let next = version + 1;
    insert_version(&mut tx, id, next, spec, actor, now).await?;
    sqlx::query(
        "update rules set name = $1, version = $2, state = 'draft', requested_by = null, approved_by = null, \
         expires_at = $3, updated_at = $4 where id = $5",
    )
    .bind(spec.name.trim())
    .bind(next)
    .bind(spec.expires_millis()?)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    audited(
        &mut tx,
        actor,
        "rule.edit",
        id,
        Some(json!({"version": version, "state": state})),
        json!({"version": next, "state": "draft"}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(next)
}

/// Moves a rule one step along its life. Approving needs a different person from the one
/// who asked (whether the actor may approve at all is the caller's role check).
pub async fn step(
    db: &Db,
    id: i64,
    step: Step,
    actor: &Actor,
    now: Millis,
) -> Result<State, RuleError> {
    let mut tx = db.begin_write().await?;
    let current: Option<(String, Option<String>, i64)> =
        sqlx::query_as("select state, requested_by, version from rules where id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let (state, requested_by, version) = current.ok_or(RuleError::NotFound(id))?;
    let from = State::parse(&state).unwrap_or(State::Archived);
    let refuse = || RuleError::Transition {
        state: from.as_str(),
        step: step.as_str(),
    };
    let who = actor.as_text();
    let to = match (step, from) {
        (Step::Background, State::Draft | State::PendingLive | State::Live) => State::Background,
        (Step::RequestLive, State::Draft | State::Background) => State::PendingLive,
        (Step::Approve, State::PendingLive) => {
            if requested_by.as_deref() == Some(who.as_str()) {
                return Err(RuleError::SecondPerson(who));
            }
            State::Live
        }
        (Step::Archive, s) if s != State::Archived => State::Archived,
        _ => return Err(refuse()),
    };
    let sql = match to {
        // Shadow results count from the moment it went to background.
        State::Background if from == State::Draft => {
            "update rules set state = $1, updated_at = $2, background_since = $2, requested_by = null where id = $3"
        }
        State::Background => {
            "update rules set state = $1, updated_at = $2, requested_by = null where id = $3"
        }
        State::PendingLive => {
            "update rules set state = $1, updated_at = $2, requested_by = $4, \
             background_since = coalesce(background_since, $2) where id = $3"
        }
        State::Live => {
            "update rules set state = $1, updated_at = $2, approved_by = $4, live_since = $2 where id = $3"
        }
        _ => "update rules set state = $1, updated_at = $2 where id = $3",
    };
    let mut q = sqlx::query(sql).bind(to.as_str()).bind(now).bind(id);
    if matches!(to, State::PendingLive | State::Live) {
        q = q.bind(who.clone());
    }
    q.execute(&mut *tx).await?;
    audited(
        &mut tx,
        actor,
        &format!("rule.{}", step.as_str()),
        id,
        Some(json!({"state": from.as_str(), "version": version})),
        json!({"state": to.as_str(), "version": version}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(to)
}

/// Marks live and background rules whose expiry has passed as expired (audited as the
/// system). Returns how many.
pub async fn expire_due(db: &Db, now: Millis) -> sqlx::Result<usize> {
    let due: Vec<(i64, String)> = sqlx::query_as(
        "select id, state from rules where state in ('background', 'pending_live', 'live') \
         and expires_at is not null and expires_at <= $1",
    )
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin_batch_write().await?;
    for (id, state) in &due {
        sqlx::query(
            "update rules set state = 'expired', updated_at = $1 where id = $2 and state = $3",
        )
        .bind(now)
        .bind(id)
        .bind(state)
        .execute(&mut *tx)
        .await?;
        audited(
            &mut tx,
            &Actor::System,
            "rule.expire",
            *id,
            Some(json!({"state": state})),
            json!({"state": "expired"}),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(due.len())
}

/// Every rule, newest change first, with its hits over the last 24 hours.
pub async fn list(db: &Db, now: Millis) -> sqlx::Result<Vec<RuleRow>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "select {ROW_COLUMNS} from rules r join rule_versions v on v.rule_id = r.id and v.version = r.version \
         order by r.updated_at desc, r.id desc"
    ))
    .fetch_all(db.pool())
    .await?;
    let hits: Vec<(i64, i64)> = sqlx::query_as(
        "select rule_id, count(*) from rule_hits where at >= $1 and mode <> 'retro' group by rule_id",
    )
    .bind(now - 86_400_000)
    .fetch_all(db.pool())
    .await?;
    let hits: std::collections::HashMap<i64, i64> = hits.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let n = hits.get(&r.0).copied().unwrap_or(0);
            to_row(r, n).0
        })
        .collect())
}

/// One rule with its versions, or None.
pub async fn get(db: &Db, id: i64, now: Millis) -> sqlx::Result<Option<RuleDetail>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "select {ROW_COLUMNS} from rules r join rule_versions v on v.rule_id = r.id and v.version = r.version \
         where r.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (hits,): (i64,) = sqlx::query_as(
        "select count(*) from rule_hits where rule_id = $1 and at >= $2 and mode <> 'retro'",
    )
    .bind(id)
    .bind(now - 86_400_000)
    .fetch_one(db.pool())
    .await?;
    let (rule, spec) = to_row(row, hits);
    let versions: Vec<(i64, String, i64, String, Option<String>)> = sqlx::query_as(
        "select version, created_by, created_at, spec, backtest from rule_versions where rule_id = $1 order by version desc",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let backtest = versions
        .iter()
        .find(|v| v.0 == rule.version)
        .and_then(|v| v.4.as_deref())
        .and_then(|b| serde_json::from_str(b).ok());
    Ok(Some(RuleDetail {
        rule,
        spec,
        backtest,
        versions: versions
            .into_iter()
            .map(
                |(version, created_by, created_at, spec, backtest)| VersionRow {
                    version,
                    created_by,
                    created_at,
                    spec: read_spec(&spec),
                    has_backtest: backtest.is_some(),
                },
            )
            .collect(),
    }))
}

/// A version's text, or None.
pub async fn version_spec(db: &Db, id: i64, version: i64) -> sqlx::Result<Option<RuleSpec>> {
    let row: Option<(String,)> =
        sqlx::query_as("select spec from rule_versions where rule_id = $1 and version = $2")
            .bind(id)
            .bind(version)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(s,)| read_spec(&s)))
}

/// Keeps a backtest's result with the version it tested.
pub async fn save_backtest(
    db: &Db,
    id: i64,
    version: i64,
    result: &serde_json::Value,
) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("update rule_versions set backtest = $1 where rule_id = $2 and version = $3")
        .bind(result.to_string())
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// A rule evaluated by the worker: (id, version, mode, spec).
pub type Active = (i64, i64, Mode, RuleSpec);

/// The rules the worker evaluates: every background, pending and live rule's current version.
pub async fn active(db: &Db) -> sqlx::Result<Vec<Active>> {
    let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
        "select r.id, r.version, r.state, v.spec from rules r \
         join rule_versions v on v.rule_id = r.id and v.version = r.version \
         where r.state in ('background', 'pending_live', 'live') order by r.id",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, version, state, spec)| {
            let mode = mode_of(State::parse(&state)?)?;
            let spec = serde_json::from_str(&spec).ok()?;
            Some((id, version, mode, spec))
        })
        .collect())
}

/// What changes when any rule changes: (latest update, number of rules).
pub async fn stamp(db: &Db) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as("select coalesce(max(updated_at), 0), count(*) from rules")
        .fetch_one(db.pool())
        .await
}

pub use super::view::AdHit;

/// The rules that matched an ad, with the version that fired.
pub async fn hits_for_ad(db: &Db, ad_id: i64) -> sqlx::Result<Vec<AdHit>> {
    let rows: Vec<(i64, String, i64, String, String, i64, String)> = sqlx::query_as(
        "select h.rule_id, r.name, h.version, h.mode, h.action, h.at, v.spec from rule_hits h \
         join rules r on r.id = h.rule_id \
         join rule_versions v on v.rule_id = h.rule_id and v.version = h.version \
         where h.ad_id = $1 order by h.at, h.rule_id",
    )
    .bind(ad_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(rule_id, name, version, mode, action, at, spec)| {
            let spec = read_spec(&spec);
            let detail = match &spec.action {
                super::spec::RuleAction::Reject(c) => c.join(", "),
                super::spec::RuleAction::Review(t) => {
                    t.queue.clone().unwrap_or_else(|| "uncertain".into())
                }
                super::spec::RuleAction::Flag(l) => l.clone(),
            };
            AdHit {
                rule_id,
                name,
                version,
                mode,
                action,
                detail,
                at,
            }
        })
        .collect())
}

/// A rule's hits per UTC day over the `days` up to `now`: (day, live, background), oldest
/// first, days without hits included.
pub async fn hits_by_day(
    db: &Db,
    id: i64,
    days: i64,
    now: Millis,
) -> sqlx::Result<Vec<(String, i64, i64)>> {
    const DAY: i64 = 86_400_000;
    let first = now.div_euclid(DAY) - days + 1;
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "select at, mode from rule_hits where rule_id = $1 and at >= $2 and mode <> 'retro'",
    )
    .bind(id)
    .bind(first * DAY)
    .fetch_all(db.pool())
    .await?;
    let mut counts = vec![(0i64, 0i64); days.max(0) as usize];
    for (at, mode) in rows {
        let i = (at.div_euclid(DAY) - first) as usize;
        if let Some(c) = counts.get_mut(i) {
            if mode == "live" {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
        }
    }
    Ok(counts
        .into_iter()
        .enumerate()
        .map(|(i, (live, background))| {
            let day = chrono::DateTime::from_timestamp_millis((first + i as i64) * DAY)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            (day, live, background)
        })
        .collect())
}
