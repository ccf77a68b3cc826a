//! The rules pages: the list, one rule with its backtest and shadow results, the editor
//! (a form for the usual shape, or the JSON rule form for anything), lifecycle steps and
//! backtests with progress.

use crate::error::AppError;
use amso_core::rules::view::{Backtest, RejectRequest, State};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, internal, require_area},
    amso_core::access::audit::Actor,
    amso_core::access::users::User,
    amso_core::platform::time::{now_millis, to_rfc3339},
    amso_core::rules::{spec, store},
    amso_core::vocab::role::Area,
};

/// Longest text the editor accepts in one field (a term list of 100,000 terms fits).
pub const MAX_FIELD: usize = 4_000_000;

/// One row of the rules list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleListItem {
    pub id: i64,
    pub name: String,
    pub state: State,
    pub action: String,
    pub version: i64,
    pub hits_24h: i64,
    pub owner: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

/// The rules list, and whether the viewer may write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleList {
    pub rules: Vec<RuleListItem>,
    pub can_write: bool,
}

/// One rule as its page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub state: State,
    pub version: i64,
    pub owner: String,
    pub requested_by: Option<String>,
    pub approved_by: Option<String>,
    pub expires_at: Option<String>,
    pub background_since: Option<String>,
    pub live_since: Option<String>,
    pub action: String,
    pub hits_24h: i64,
    /// The current version in the JSON rule form, pretty.
    pub json: String,
    /// (version, who, when).
    pub versions: Vec<(i64, String, String)>,
    /// The current version's last backtest.
    pub backtest: Option<Backtest>,
    /// What the rule matched on live traffic while in background.
    pub shadow: Option<Backtest>,
    pub can_write: bool,
    /// Whether the viewer is the one who asked for it to go live (then someone else approves).
    pub viewer_asked: bool,
    /// The viewer's email (a request they made waits for someone else).
    pub viewer: String,
    /// Whether the rule rejects (only such a rule may reject retroactively).
    pub rejects: bool,
    /// The form fields of the current version, when it has the form's shape.
    pub form: Option<RuleForm>,
    /// Hits per UTC day over the last 14 days: (day, live, background).
    pub hits_by_day: Vec<(String, i64, i64)>,
}

/// The editor's fields. Lists are one entry a line (terms, domains, advertisers) or
/// comma-separated (markets, languages, categories). When `json` is not empty it is the
/// rule, in the JSON rule form, and the other fields are ignored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    pub name: String,
    pub description: String,
    pub markets: String,
    pub languages: String,
    pub terms: String,
    pub regex: String,
    pub domains: String,
    pub advertisers: String,
    /// Whole days, or empty.
    pub advertiser_newer_than_days: String,
    /// A category, and the least score, or empty.
    pub score_category: String,
    pub score_min: String,
    /// `reject`, `review` or `flag`.
    pub action: String,
    pub reject_categories: String,
    pub review_queue: String,
    pub flag_label: String,
    /// RFC 3339, or empty.
    pub expires_at: String,
    pub emergency: bool,
    pub json: String,
}

/// Where a backtest stands, for the progress bar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacktestStatus {
    pub running: bool,
    pub progress: f64,
    pub error: Option<String>,
}

#[cfg(feature = "ssr")]
fn writer() -> Result<User, AppError> {
    let user = require_area(Area::Rules)?;
    if !user.role.writes_rules() {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "only ops heads and admins change rules",
        ));
    }
    Ok(user)
}

/// Every rule.
#[server(prefix = "/rpc", endpoint = "list_rules")]
pub async fn list_rules() -> Result<RuleList, AppError> {
    let user = require_area(Area::Rules)?;
    let state = app_state()?;
    let rules = store::list(&state.db, now_millis())
        .await
        .map_err(internal)?;
    Ok(RuleList {
        can_write: user.role.writes_rules(),
        rules: rules
            .into_iter()
            .map(|r| RuleListItem {
                id: r.id,
                name: r.name,
                state: r.state,
                action: r.action,
                version: r.version,
                hits_24h: r.hits_24h,
                owner: r.owner,
                updated_at: to_rfc3339(r.updated_at),
            })
            .collect(),
    })
}

/// One rule with its backtest and shadow results.
#[server(prefix = "/rpc", endpoint = "get_rule")]
pub async fn get_rule(id: i64) -> Result<RuleView, AppError> {
    let user = require_area(Area::Rules)?;
    let state = app_state()?;
    let now = now_millis();
    let r = store::get(&state.db, id, now)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::new(ErrorKind::NotFound, format!("no rule {id}")))?;
    let shadow = match r.rule.background_since {
        Some(since) => Some(
            amso_core::rules::backtest::shadow(&state.db, id, since, now)
                .await
                .map_err(internal)?,
        ),
        None => None,
    };
    Ok(RuleView {
        id,
        name: r.rule.name,
        description: r.spec.description.clone(),
        state: r.rule.state,
        version: r.rule.version,
        owner: r.rule.owner,
        viewer_asked: r.rule.requested_by.as_deref() == Some(user.email.as_str()),
        viewer: user.email.clone(),
        rejects: matches!(r.spec.action, spec::RuleAction::Reject(_)),
        requested_by: r.rule.requested_by,
        approved_by: r.rule.approved_by,
        expires_at: r.rule.expires_at.map(to_rfc3339),
        background_since: r.rule.background_since.map(to_rfc3339),
        live_since: r.rule.live_since.map(to_rfc3339),
        action: r.rule.action,
        hits_24h: r.rule.hits_24h,
        json: serde_json::to_string_pretty(&r.spec).map_err(internal)?,
        versions: r
            .versions
            .iter()
            .map(|v| (v.version, v.created_by.clone(), to_rfc3339(v.created_at)))
            .collect(),
        backtest: r.backtest.and_then(|b| serde_json::from_value(b).ok()),
        shadow,
        can_write: user.role.writes_rules(),
        form: form_of(&r.spec),
        hits_by_day: store::hits_by_day(&state.db, id, 14, now)
            .await
            .map_err(internal)?,
    })
}

/// Stores a rule from the editor: a new rule when `id` is 0, else a new version. Answers
/// the rule's id.
#[server(prefix = "/rpc", endpoint = "save_rule")]
pub async fn save_rule(id: i64, form: RuleForm) -> Result<i64, AppError> {
    let user = writer()?;
    let state = app_state()?;
    for (name, value) in [
        ("name", &form.name),
        ("description", &form.description),
        ("markets", &form.markets),
        ("languages", &form.languages),
        ("regex", &form.regex),
        (
            "advertiser_newer_than_days",
            &form.advertiser_newer_than_days,
        ),
        ("score_category", &form.score_category),
        ("score_min", &form.score_min),
        ("action", &form.action),
        ("reject_categories", &form.reject_categories),
        ("review_queue", &form.review_queue),
        ("flag_label", &form.flag_label),
        ("expires_at", &form.expires_at),
    ] {
        crate::api::limit_text(name, value, spec::MAX_DESCRIPTION)?;
    }
    for (name, value) in [
        ("terms", &form.terms),
        ("domains", &form.domains),
        ("advertisers", &form.advertisers),
        ("json", &form.json),
    ] {
        crate::api::limit_text(name, value, MAX_FIELD)?;
    }
    let spec = spec_of(&form).map_err(|e| AppError::new(ErrorKind::Invalid, e))?;
    let actor = Actor::User(user.email);
    let now = now_millis();
    let saved = if id == 0 {
        store::create(&state.db, &spec, &actor, now).await
    } else {
        store::edit(&state.db, id, &spec, &actor, now)
            .await
            .map(|_| id)
    };
    saved.map_err(|e| match e {
        store::RuleError::Invalid(e) => AppError::new(ErrorKind::Invalid, explain_field(&e, &form)),
        other => AppError::from(other),
    })
}

/// Moves a rule along its life: `background`, `request_live`, `approve` or `archive`.
#[server(prefix = "/rpc", endpoint = "rule_step")]
pub async fn rule_step(id: i64, step: String) -> Result<State, AppError> {
    let user = writer()?;
    let state = app_state()?;
    crate::api::limit_text("step", &step, 40)?;
    let step = store::Step::parse(&step).ok_or_else(|| {
        AppError::new(
            ErrorKind::Invalid,
            "steps: background, request_live, approve, archive",
        )
    })?;
    Ok(store::step(&state.db, id, step, &Actor::User(user.email), now_millis()).await?)
}

/// Starts a backtest of the rule's current version over the last `days` days.
#[server(prefix = "/rpc", endpoint = "start_backtest")]
pub async fn start_backtest(id: i64, days: u32) -> Result<(), AppError> {
    writer()?;
    let state = app_state()?;
    let r = store::get(&state.db, id, now_millis())
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::new(ErrorKind::NotFound, format!("no rule {id}")))?;
    if days == 0 || days > amso_core::rules::backtest::MAX_DAYS {
        return Err(AppError::new(
            ErrorKind::Invalid,
            format!(
                "days: a backtest reads 1 to {} days",
                amso_core::rules::backtest::MAX_DAYS
            ),
        ));
    }
    amso_core::rules::backtest::jobs::start(state.db.clone(), id, r.rule.version, r.spec, days)
        .map_err(|e| AppError::new(ErrorKind::Conflict, e))
}

/// What a retroaction found (and did, unless a dry run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetroView {
    pub dry_run: bool,
    pub days: u32,
    pub matched: u64,
    pub already: u64,
    pub reopened: u64,
    pub queue: String,
}

/// Sweeps up with a live rule: counts (dry run) or reopens into review what it matches among
/// the ads auto-approved in the last `days` days.
#[server(prefix = "/rpc", endpoint = "rule_retro")]
pub async fn rule_retro(id: i64, days: u32, dry_run: bool) -> Result<RetroView, AppError> {
    let user = writer()?;
    let state = app_state()?;
    let r = amso_core::rules::retro::run(
        &state.db,
        id,
        days,
        dry_run,
        &Actor::User(user.email),
        now_millis(),
    )
    .await?;
    Ok(RetroView {
        dry_run: r.dry_run,
        days: r.days,
        matched: r.matched,
        already: r.already,
        reopened: r.reopened,
        queue: r.queue,
    })
}

/// Asks for a live reject rule's new matches among the ads auto-approved in the last `days`
/// days to be rejected; another ops head or an admin approves.
#[server(prefix = "/rpc", endpoint = "request_retro_reject")]
pub async fn request_retro_reject(id: i64, days: u32) -> Result<RejectRequest, AppError> {
    let user = writer()?;
    let state = app_state()?;
    Ok(amso_core::rules::retro::request_reject(
        &state.db,
        id,
        days,
        &Actor::User(user.email),
        now_millis(),
    )
    .await?)
}

/// The rule's requests to reject retroactively, newest first.
#[server(prefix = "/rpc", endpoint = "list_retro_requests")]
pub async fn list_retro_requests(id: i64) -> Result<Vec<RejectRequest>, AppError> {
    require_area(Area::Rules)?;
    let state = app_state()?;
    amso_core::rules::retro::requests(&state.db, id)
        .await
        .map_err(internal)
}

/// Approves (someone other than the asker) or refuses a request to reject retroactively.
#[server(prefix = "/rpc", endpoint = "decide_retro_request")]
pub async fn decide_retro_request(request: i64, approve: bool) -> Result<RejectRequest, AppError> {
    let user = writer()?;
    let state = app_state()?;
    Ok(amso_core::rules::retro::decide(
        &state.db,
        request,
        approve,
        &Actor::User(user.email),
        now_millis(),
    )
    .await?)
}

/// Where the rule's backtest stands (None: none ran in this server process).
#[server(prefix = "/rpc", endpoint = "backtest_progress")]
pub async fn backtest_progress(id: i64) -> Result<Option<BacktestStatus>, AppError> {
    require_area(Area::Rules)?;
    Ok(
        amso_core::rules::backtest::jobs::status(id).map(|s| BacktestStatus {
            running: s.running,
            progress: s.progress,
            error: s.error,
        }),
    )
}

/// Stops the rule's running backtest.
#[server(prefix = "/rpc", endpoint = "cancel_backtest")]
pub async fn cancel_backtest(id: i64) -> Result<bool, AppError> {
    writer()?;
    Ok(amso_core::rules::backtest::jobs::cancel(id))
}

/// The editor's fields as a rule: every filled field a condition, all of them required.
#[cfg(feature = "ssr")]
fn spec_of(form: &RuleForm) -> Result<spec::RuleSpec, String> {
    use spec::{Condition, RuleAction};
    if !form.json.trim().is_empty() {
        return spec::parse(&form.json).map_err(|e| e.to_string());
    }
    let comma = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let lines = |s: &str| -> Vec<String> {
        s.lines()
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut all = Vec::new();
    let markets = comma(&form.markets);
    if !markets.is_empty() {
        all.push(Condition::Market(markets));
    }
    let languages = comma(&form.languages);
    if !languages.is_empty() {
        all.push(Condition::Language(languages));
    }
    let terms = lines(&form.terms);
    if !terms.is_empty() {
        all.push(Condition::Terms(terms));
    }
    if !form.regex.trim().is_empty() {
        all.push(Condition::Regex(form.regex.trim().to_string()));
    }
    let domains = lines(&form.domains);
    if !domains.is_empty() {
        all.push(Condition::Domain(domains));
    }
    let advertisers = lines(&form.advertisers);
    if !advertisers.is_empty() {
        all.push(Condition::Advertiser(advertisers));
    }
    if !form.advertiser_newer_than_days.trim().is_empty() {
        let days = form
            .advertiser_newer_than_days
            .trim()
            .parse()
            .map_err(|_| "advertiser newer than: a whole number of days".to_string())?;
        all.push(Condition::AdvertiserNewerThanDays(days));
    }
    if !form.score_category.trim().is_empty() {
        let min = form
            .score_min
            .trim()
            .parse()
            .map_err(|_| "score: the least score is a number between 0 and 1".to_string())?;
        all.push(Condition::Score(spec::ScoreBounds {
            category: form.score_category.trim().to_string(),
            min: Some(min),
            max: None,
        }));
    }
    if all.is_empty() {
        return Err("conditions: fill in at least one condition (markets, terms, a pattern, domains, advertisers, a score)".into());
    }
    let action = match form.action.as_str() {
        "reject" => RuleAction::Reject(comma(&form.reject_categories)),
        "review" => RuleAction::Review(spec::ReviewTarget {
            queue: Some(form.review_queue.trim().to_string()).filter(|q| !q.is_empty()),
            priority: None,
        }),
        "flag" => RuleAction::Flag(form.flag_label.trim().to_string()),
        _ => return Err("action: choose reject, review or flag".into()),
    };
    Ok(spec::RuleSpec {
        name: form.name.trim().to_string(),
        description: form.description.trim().to_string(),
        conditions: Condition::All(all),
        action,
        expires_at: Some(form.expires_at.trim().to_string()).filter(|s| !s.is_empty()),
        emergency: form.emergency,
    })
}

/// A validation error said in the editor's terms: a term, domain or advertiser by its line
/// in the box it was typed in.
#[cfg(feature = "ssr")]
fn explain_field(e: &spec::SpecError, form: &RuleForm) -> String {
    if !form.json.trim().is_empty() {
        return e.to_string();
    }
    for (leaf, text, label) in [
        ("terms", &form.terms, "Terms"),
        ("domain", &form.domains, "Landing domains"),
        ("advertiser", &form.advertisers, "Advertisers"),
    ] {
        let Some(rest) = e.field.split(&format!(".{leaf}[")).nth(1) else {
            continue;
        };
        let Ok(index) = rest.trim_end_matches(']').parse::<usize>() else {
            continue;
        };
        // The index counts non-blank lines; say which line of the box it was.
        let line = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .nth(index)
            .map_or(index + 1, |(n, _)| n + 1);
        return format!("{label}, line {line}: {}", e.message);
    }
    e.to_string()
}

/// The editor's fields of a rule that has the form's shape (all of simple conditions).
#[cfg(feature = "ssr")]
fn form_of(s: &spec::RuleSpec) -> Option<RuleForm> {
    use spec::{Condition, RuleAction};
    let mut f = RuleForm {
        name: s.name.clone(),
        description: s.description.clone(),
        expires_at: s.expires_at.clone().unwrap_or_default(),
        emergency: s.emergency,
        ..Default::default()
    };
    let leaves = match &s.conditions {
        Condition::All(list) => list.clone(),
        other => vec![other.clone()],
    };
    for c in leaves {
        match c {
            Condition::Market(v) => f.markets = v.join(", "),
            Condition::Language(v) => f.languages = v.join(", "),
            Condition::Terms(v) => f.terms = v.join("\n"),
            Condition::Regex(r) => f.regex = r,
            Condition::Domain(v) => f.domains = v.join("\n"),
            Condition::Advertiser(v) => f.advertisers = v.join("\n"),
            Condition::AdvertiserNewerThanDays(d) => f.advertiser_newer_than_days = d.to_string(),
            Condition::Score(b) if b.max.is_none() => {
                f.score_category = b.category;
                f.score_min = b.min.map(|m| m.to_string()).unwrap_or_default();
            }
            _ => return None,
        }
    }
    match &s.action {
        RuleAction::Reject(c) => {
            f.action = "reject".into();
            f.reject_categories = c.join(", ");
        }
        RuleAction::Review(t) => {
            f.action = "review".into();
            f.review_queue = t.queue.clone().unwrap_or_default();
        }
        RuleAction::Flag(l) => {
            f.action = "flag".into();
            f.flag_label = l.clone();
        }
    }
    Some(f)
}
