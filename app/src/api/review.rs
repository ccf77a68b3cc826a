//! Server functions for the reviewer workspace: queues, claiming, the review screen,
//! submitting, escalating, skipping, undo, the list view with bulk decisions, and the
//! reviewers' own numbers. Every call checks role and market scope on the server.

use crate::api::ads::AdDetail;
use crate::error::AppError;
use amso_core::vocab::queue::Source;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, internal, require_area},
    amso_core::{
        access::users::User,
        platform::time::{local_days, now_millis, zone_or_utc},
        review::{self, ReviewError, Scope},
        vocab::queue::HumanVerdict,
        vocab::role::Area,
    },
};

/// One queue on the queues page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueCard {
    pub source: Source,
    pub open: i64,
    pub available: i64,
    /// How long the oldest item has waited, in words ("3 h 12 min").
    pub oldest_age: Option<String>,
    pub overdue: i64,
}

/// This person's numbers for today (their local day).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DayNumbers {
    pub reviews: i64,
    pub overrides: i64,
    pub median_handling: Option<String>,
    pub qa_checked: i64,
    pub qa_agreed: i64,
    pub audits: i64,
    pub audits_agreed: i64,
}

/// The queues page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueOverview {
    pub queues: Vec<QueueCard>,
    /// The item this person holds: (task id, queue).
    pub held: Option<(i64, Source)>,
    pub markets: Vec<String>,
    pub today: DayNumbers,
    /// The IANA zone "today" is read in (the person's own).
    pub time_zone: String,
    /// When this person's day began, RFC 3339 UTC (shown on hover).
    pub day_from: String,
    /// The languages this person reads; empty: any.
    pub reads: Vec<String>,
    /// The reviewers' backlog by market and language in this person's markets, with who can
    /// take it.
    pub languages: Vec<LanguageRow>,
}

/// One market × language of the reviewers' backlog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LanguageRow {
    pub market: String,
    /// ISO 639-1 code; `None`: the ads declared none.
    pub language: Option<String>,
    pub open: i64,
    pub overdue: i64,
    pub oldest_age: Option<String>,
    /// Who can be handed these items; empty: nobody (flagged).
    pub readers: Vec<String>,
}

/// A managed reason code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub label: String,
}

/// The review screen for one held item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewScreen {
    pub task_id: i64,
    pub source: Source,
    /// The escalation note or the advertiser's appeal statement.
    pub note: Option<String>,
    pub waiting: String,
    /// "due in 3 h" or "overdue by 20 min".
    pub due: String,
    pub overdue: bool,
    /// Whether this person holds the item (otherwise the screen is read-only).
    pub held: bool,
    /// Blind QA: the first reviewer's verdict is hidden.
    pub blind: bool,
    pub ad: AdDetail,
    /// The market's rule and thresholds for each category the machine flagged or scored
    /// highest: (category, rule, approve below, reject at).
    pub policy: Vec<(String, String, f64, f64)>,
    pub history: History,
    pub reasons: Vec<Reason>,
    /// Items left in this queue for this person, besides this one.
    pub remaining: i64,
    pub undo_window_seconds: i64,
    /// Items of capped (hard to look at) categories this person was handed in a row.
    pub harmful_run: i64,
    /// The run at which a break is offered.
    pub break_after: i64,
}

/// The advertiser's record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub ads: i64,
    pub rejected: i64,
    pub appeals: i64,
    pub appeals_overturned: i64,
    /// (ad id, headline, status, submitted)
    pub recent: Vec<(i64, String, String, String)>,
}

/// What submitting did, and where to go next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubmitResult {
    pub review_id: i64,
    pub ad_id: i64,
    pub ad_status: String,
    pub overrode: bool,
    pub qa_sampled: bool,
    pub escalated: bool,
    /// The next item claimed in the same queue, if any.
    pub next_task: Option<i64>,
}

/// One row of a queue's list view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub task_id: i64,
    pub ad_id: i64,
    pub market: String,
    pub language: Option<String>,
    pub headline: String,
    pub advertiser_id: String,
    pub reasons: Vec<String>,
    pub top_category: Option<String>,
    pub top_score: f64,
    pub waiting: String,
    pub due: String,
    pub overdue: bool,
    pub risk: f64,
    pub held_by: Option<String>,
}

/// What a bulk decision did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BulkResult {
    pub decided: usize,
    /// (task id, why it was not decided)
    pub refused: Vec<(i64, String)>,
}

/// One reviewer's row on the team table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamRow {
    pub name: String,
    pub email: String,
    pub numbers: DayNumbers,
}

/// The team's numbers for ops heads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamNumbers {
    pub rows: Vec<TeamRow>,
    /// Cohen's kappa between first and second (QA) reviews, and the number of pairs.
    pub kappa: Option<f64>,
    pub qa_pairs: i64,
    pub days: i64,
}

/// A duration in words: "45 s", "12 min", "3 h 5 min", "2 d 4 h".
pub fn span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => {
            let m = (s % 3600) / 60;
            if m == 0 {
                format!("{} h", s / 3600)
            } else {
                format!("{} h {m} min", s / 3600)
            }
        }
        _ => format!("{} d {} h", s / 86400, (s % 86400) / 3600),
    }
}

#[cfg(feature = "ssr")]
fn scope_of(user: &User) -> Scope {
    Scope {
        user_id: user.id,
        email: user.email.clone(),
        role: user.role,
        markets: user.markets.clone(),
    }
}

#[cfg(feature = "ssr")]
fn parse_source(s: &str) -> Result<Source, AppError> {
    s.parse()
        .map_err(|e: String| AppError::new(ErrorKind::Invalid, e))
}

#[cfg(feature = "ssr")]
fn desk(state: &crate::ssr::AppState) -> review::DeskSettings {
    review::DeskSettings {
        lease_ms: state.config.review_lease_seconds as i64 * 1000,
        qa_rate: state.config.qa_rate,
        undo_window_ms: state.config.undo_window_seconds as i64 * 1000,
    }
}

#[cfg(feature = "ssr")]
fn day_numbers(d: &review::team::ReviewerDay) -> DayNumbers {
    DayNumbers {
        reviews: d.reviews,
        overrides: d.overrides,
        median_handling: d.median_handling_ms.map(span),
        qa_checked: d.qa_checked,
        qa_agreed: d.qa_agreed,
        audits: d.audits,
        audits_agreed: d.audits_agreed,
    }
}

/// The queues this person works, with sizes and ages in their markets, and their day.
#[server(prefix = "/rpc", endpoint = "get_queue_overview")]
pub async fn get_queue_overview() -> Result<QueueOverview, AppError> {
    let user = require_area(Area::Queues)?;
    let state = app_state()?;
    let scope = scope_of(&user);
    let now = now_millis();
    let queues = review::queues::summaries(&state.db, &scope, now)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|q| QueueCard {
            source: q.source,
            open: q.open,
            available: q.available,
            oldest_age: q.oldest_at.map(|t| span(now - t)),
            overdue: q.overdue,
        })
        .collect();
    let held = review::queues::held(&state.db, &scope)
        .await
        .map_err(internal)?;
    let tz = zone_or_utc(&user.time_zone);
    let (day_from, _) = local_days(now, tz, 1);
    let (days, _, _) = review::team::reviewer_stats(&state.db, day_from, now + 1, Some(user.id))
        .await
        .map_err(internal)?;
    let markets = scope.visible_markets();
    let languages = review::queues::language_backlog(&state.db, &markets, now)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|l| LanguageRow {
            market: l.market.code().to_string(),
            language: l.language,
            open: l.open,
            overdue: l.overdue,
            oldest_age: l.oldest_at.map(|t| span(now - t)),
            readers: l.readers,
        })
        .collect();
    Ok(QueueOverview {
        queues,
        held,
        markets: markets.iter().map(|m| m.code().to_string()).collect(),
        today: days.first().map(day_numbers).unwrap_or_default(),
        time_zone: tz.name().to_string(),
        day_from: amso_core::platform::time::to_rfc3339(day_from),
        reads: user.languages.clone(),
        languages,
    })
}

/// Claims the next item of a queue for this person; `None` when the queue is empty for them.
#[server(prefix = "/rpc", endpoint = "start_review")]
pub async fn start_review(source: String) -> Result<Option<i64>, AppError> {
    let user = require_area(Area::Queues)?;
    let state = app_state()?;
    let source = parse_source(&source)?;
    review::queues::claim_next(
        &state.db,
        &scope_of(&user),
        source,
        &desk(&state),
        None,
        now_millis(),
    )
    .await
    .map_err(AppError::from)
}

/// The review screen for an item.
#[server(prefix = "/rpc", endpoint = "get_review")]
pub async fn get_review(task_id: i64) -> Result<ReviewScreen, AppError> {
    let user = require_area(Area::Queues)?;
    let state = app_state()?;
    let scope = scope_of(&user);
    let now = now_millis();
    let task = review::tasks::task_for(&state.db, &scope, task_id)
        .await
        .map_err(AppError::from)?;
    let held = task.state == "open" && task.claimed_by == Some(user.id);
    let mut ad = crate::api::ads::load_ad_detail(&state, task.ad_id).await?;
    // Background rules are shadows: reviewers see what acted, not what is being tried.
    ad.rules.retain(|r| r.mode != "background");
    // Blind QA: until the second verdict is in, nothing of the first review leaves the
    // server (the ad's status reflects it, the timeline names it), on the QA item's screen
    // and on any other item of the same ad.
    let blind = review::tasks::blind_for(&state.db, task.ad_id, user.id)
        .await
        .map_err(internal)?;
    if blind {
        ad.status = "in_review".into();
        ad.timeline
            .retain(|(_, _, action, _)| matches!(action.as_str(), "submitted" | "decided"));
    }
    // A golden item is shown as the ad stood when the machine decided it, arriving when its
    // task says: no human call, no answer, nothing dated weeks back.
    if let Some(g) = review::golden::task_of_user(state.db.pool(), task_id, user.id)
        .await
        .map_err(internal)?
    {
        ad.status = match ad.action.as_deref() {
            Some("approve") => "auto_approved",
            Some("reject") => "auto_rejected",
            _ => "in_review",
        }
        .into();
        ad.audit_sample = g.source == Source::Audit;
        let submitted = amso_core::platform::time::to_rfc3339(g.created_at - 1_800);
        let decided = amso_core::platform::time::to_rfc3339(g.created_at);
        ad.submitted_at = submitted.clone();
        ad.decided_at = Some(decided.clone());
        ad.timeline
            .retain(|(_, _, action, _)| matches!(action.as_str(), "submitted" | "decided"));
        for (at, _, action, _) in &mut ad.timeline {
            *at = if action == "submitted" {
                submitted.clone()
            } else {
                decided.clone()
            };
        }
    }
    let (_, cells) = amso_core::engine::thresholds::current(&state.db)
        .await
        .map_err(internal)?;
    let mut shown: Vec<String> = ad.reasons.clone();
    if let Some(top) = &ad.explained
        && !shown.contains(top)
    {
        shown.push(top.clone());
    }
    let policy = shown
        .iter()
        .filter_map(|c| {
            let cell = cells
                .iter()
                .find(|x| x.market.code() == ad.market && x.category.as_str() == c)?;
            Some((
                c.clone(),
                cell.rule.as_str().to_string(),
                cell.approve_below,
                cell.reject_at,
            ))
        })
        .collect();
    let h = review::timeline::advertiser_history(
        &state.db,
        &ad.advertiser_id,
        ad.id,
        &scope.visible_markets(),
    )
    .await
    .map_err(internal)?;
    let reasons = review::reasons::reason_codes(&state.db)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|r| Reason {
            code: r.code,
            label: r.label,
        })
        .collect();
    let remaining = review::queues::summaries(&state.db, &scope, now)
        .await
        .map_err(internal)?
        .into_iter()
        .find(|q| q.source == task.source)
        .map_or(0, |q| q.available);
    let overdue = task.due_at < now;
    let harmful_run = review::exposure::run_of(&state.db, user.id, now)
        .await
        .map_err(internal)?;
    let break_after = review::exposure::wellness(&state.db)
        .await
        .map_err(internal)?
        .break_after;
    Ok(ReviewScreen {
        task_id,
        source: task.source,
        note: task.note,
        waiting: span(now - task.created_at),
        due: if overdue {
            format!("overdue by {}", span(now - task.due_at))
        } else {
            format!("due in {}", span(task.due_at - now))
        },
        overdue,
        held,
        blind,
        ad,
        policy,
        history: History {
            ads: h.ads,
            rejected: h.rejected,
            appeals: h.appeals,
            appeals_overturned: h.appeals_overturned,
            recent: h
                .recent
                .into_iter()
                .map(|(id, headline, status, at)| {
                    (
                        id,
                        headline,
                        status,
                        amso_core::platform::time::to_rfc3339(at),
                    )
                })
                .collect(),
        },
        reasons,
        remaining,
        undo_window_seconds: state.config.undo_window_seconds as i64,
        harmful_run,
        break_after,
    })
}

/// Records a verdict on the held item and, with `next`, claims the next one in its queue.
#[server(prefix = "/rpc", endpoint = "submit_review")]
pub async fn submit_review(
    task_id: i64,
    verdict: String,
    #[server(default)] categories: Vec<String>,
    reason_code: String,
    reason_text: String,
    next: bool,
) -> Result<SubmitResult, AppError> {
    let user = require_area(Area::Queues)?;
    let state = app_state()?;
    let scope = scope_of(&user);
    let submission = submission(verdict, categories, reason_code, reason_text)?;
    let settings = desk(&state);
    let task = review::tasks::task_for(&state.db, &scope, task_id)
        .await
        .map_err(AppError::from)?;
    let out = review::verdicts::submit(
        &state.db,
        &scope,
        task_id,
        &submission,
        &settings,
        false,
        rand::random::<f64>(),
        now_millis(),
    )
    .await
    .map_err(AppError::from)?;
    let next_task = if next {
        review::queues::claim_next(
            &state.db,
            &scope,
            task.source,
            &settings,
            None,
            now_millis(),
        )
        .await
        .map_err(AppError::from)?
    } else {
        None
    };
    Ok(SubmitResult {
        review_id: out.review_id,
        ad_id: out.ad_id,
        ad_status: out.ad_status,
        overrode: out.overrode_machine,
        qa_sampled: out.qa_sampled,
        escalated: out.escalated,
        next_task,
    })
}

#[cfg(feature = "ssr")]
fn submission(
    verdict: String,
    categories: Vec<String>,
    reason_code: String,
    reason_text: String,
) -> Result<review::verdicts::Submission, AppError> {
    let verdict = HumanVerdict::parse(verdict.trim())
        .ok_or_else(|| AppError::new(ErrorKind::Invalid, "verdict must be approve or reject"))?;
    let mut cats = Vec::new();
    for c in categories {
        let c: amso_core::vocab::policy::Category =
            c.parse()
                .map_err(|e: amso_core::vocab::policy::UnknownCategory| {
                    AppError::new(ErrorKind::Invalid, e.to_string())
                })?;
        if !cats.contains(&c) {
            cats.push(c);
        }
    }
    Ok(review::verdicts::Submission {
        verdict,
        categories: cats,
        reason_code: Some(reason_code.trim().to_string()).filter(|c| !c.is_empty()),
        reason_text: Some(reason_text).filter(|t| !t.trim().is_empty()),
    })
}

/// Sends the held item to the ops heads with a note, then claims the next one.
#[server(prefix = "/rpc", endpoint = "escalate_review")]
pub async fn escalate_review(task_id: i64, note: String) -> Result<Option<i64>, AppError> {
    let user = require_area(Area::Queues)?;
    let state = app_state()?;
    let scope = scope_of(&user);
    let task = review::tasks::task_for(&state.db, &scope, task_id)
        .await
        .map_err(AppError::from)?;
    review::verdicts::escalate(&state.db, &scope, task_id, &note, now_millis())
        .await
        .map_err(AppError::from)?;
    review::queues::claim_next(
        &state.db,
        &scope,
        task.source,
        &desk(&state),
        None,
        now_millis(),
    )
    .await
    .map_err(AppError::from)
}

/// Puts the held item back in its queue and claims a different one.
#[server(prefix = "/rpc", endpoint = "skip_review")]
pub async fn skip_review(task_id: i64) -> Result<Option<i64>, AppError> {
    let user = require_area(Area::Queues)?;
    let state = app_state()?;
    let scope = scope_of(&user);
    let task = review::tasks::task_for(&state.db, &scope, task_id)
        .await
        .map_err(AppError::from)?;
    review::verdicts::skip(&state.db, &scope, task_id, now_millis())
        .await
        .map_err(AppError::from)?;
    review::queues::claim_next(
        &state.db,
        &scope,
        task.source,
        &desk(&state),
        Some(task_id),
        now_millis(),
    )
    .await
    .map_err(AppError::from)
}

/// Takes back this person's last review (within the undo window); returns its item, which
/// they hold again.
#[server(prefix = "/rpc", endpoint = "undo_review")]
pub async fn undo_review(review_id: i64) -> Result<i64, AppError> {
    let user = require_area(Area::Queues)?;
    let state = app_state()?;
    review::verdicts::undo(
        &state.db,
        &scope_of(&user),
        review_id,
        &desk(&state),
        now_millis(),
    )
    .await
    .map_err(AppError::from)
}

/// Keeps the held item reserved while its screen is open; false when it is no longer held.
#[server(prefix = "/rpc", endpoint = "renew_review")]
pub async fn renew_review(task_id: i64) -> Result<bool, AppError> {
    let user = require_area(Area::Queues)?;
    let state = app_state()?;
    let scope = scope_of(&user);
    review::tasks::task_for(&state.db, &scope, task_id)
        .await
        .map_err(AppError::from)?;
    review::queues::renew(&state.db, &scope, task_id, &desk(&state), now_millis())
        .await
        .map_err(internal)
}

/// A queue's open items in this person's markets, most urgent first.
#[server(prefix = "/rpc", endpoint = "list_review_queue")]
pub async fn list_review_queue(
    source: String,
    market: String,
    category: String,
    band: String,
    min_age_minutes: String,
) -> Result<Vec<QueueRow>, AppError> {
    let user = require_area(Area::Queues)?;
    let state = app_state()?;
    let scope = scope_of(&user);
    let source = parse_source(&source)?;
    let invalid = |m: String| AppError::new(ErrorKind::Invalid, m);
    let market = match market.trim() {
        "" => None,
        m => {
            let m: amso_core::vocab::market::Market = m
                .parse()
                .map_err(|e: amso_core::vocab::market::UnknownMarket| invalid(e.to_string()))?;
            if !scope.sees(m) {
                return Err(AppError::new(
                    ErrorKind::Forbidden,
                    format!("the {} market is outside your scope", m.code()),
                ));
            }
            Some(m)
        }
    };
    let category = match category.trim() {
        "" => None,
        c => Some(
            c.parse()
                .map_err(|e: amso_core::vocab::policy::UnknownCategory| invalid(e.to_string()))?,
        ),
    };
    let score_range = match band.trim() {
        "" => None,
        "low" => Some((0.0, 0.5)),
        "mid" => Some((0.5, 0.8)),
        "high" => Some((0.8, 1.01)),
        other => return Err(invalid(format!("unknown score band `{other}`"))),
    };
    let min_age_ms = match min_age_minutes.trim() {
        "" => None,
        m => {
            // A year is far beyond any SLA; larger values would overflow as milliseconds.
            const MAX_MINUTES: i64 = 366 * 24 * 60;
            let minutes = m
                .parse::<i64>()
                .ok()
                .filter(|m| (0..=MAX_MINUTES).contains(m))
                .ok_or_else(|| {
                    AppError::malformed(format!(
                        "minimum age must be a whole number of minutes from 0 to {MAX_MINUTES}"
                    ))
                })?;
            Some(minutes * 60_000)
        }
    };
    let now = now_millis();
    let items = review::queues::list_queue(
        &state.db,
        &scope,
        source,
        &review::queues::QueueFilter {
            market,
            category,
            score_range,
            min_age_ms,
            limit: 200,
        },
        now,
    )
    .await
    .map_err(AppError::from)?;
    Ok(items
        .into_iter()
        .map(|i| QueueRow {
            task_id: i.task_id,
            ad_id: i.ad_id,
            market: i.market.code().to_string(),
            language: i.language,
            headline: i.headline,
            advertiser_id: i.advertiser_id,
            reasons: i.reasons.iter().map(|c| c.as_str().to_string()).collect(),
            top_category: i.top_category.map(|c| c.as_str().to_string()),
            top_score: i.top_score,
            waiting: span(now - i.created_at),
            due: if i.due_at < now {
                format!("overdue {}", span(now - i.due_at))
            } else {
                format!("in {}", span(i.due_at - now))
            },
            overdue: i.due_at < now,
            risk: i.risk,
            held_by: i.held_by,
        })
        .collect())
}

/// Decides many items of a queue with one verdict and reason; each gets its own review and
/// audit entry, and items outside the caller's scope or held by others are refused.
#[server(prefix = "/rpc", endpoint = "bulk_review")]
pub async fn bulk_review(
    task_ids: Vec<i64>,
    verdict: String,
    #[server(default)] categories: Vec<String>,
    reason_code: String,
    reason_text: String,
) -> Result<BulkResult, AppError> {
    let user = require_area(Area::Queues)?;
    let state = app_state()?;
    let scope = scope_of(&user);
    if task_ids.is_empty() {
        return Err(AppError::new(
            ErrorKind::Invalid,
            "select at least one item",
        ));
    }
    if task_ids.len() > 500 {
        return Err(AppError::new(
            ErrorKind::Invalid,
            "at most 500 items at once",
        ));
    }
    let submission = submission(verdict, categories, reason_code, reason_text)?;
    if submission.reason_code.is_none() {
        return Err(AppError::new(
            ErrorKind::Invalid,
            "a bulk decision needs a reason",
        ));
    }
    let settings = desk(&state);
    let mut decided = 0;
    let mut refused = Vec::new();
    for id in task_ids {
        match review::verdicts::submit(
            &state.db,
            &scope,
            id,
            &submission,
            &settings,
            true,
            1.0,
            now_millis(),
        )
        .await
        {
            Ok(_) => decided += 1,
            Err(ReviewError::Db(e)) => return Err(internal(e)),
            Err(e) => refused.push((id, e.to_string())),
        }
    }
    Ok(BulkResult { decided, refused })
}

/// Every reviewer's numbers over the last `days` days, with inter-reviewer agreement.
#[server(prefix = "/rpc", endpoint = "get_team_numbers")]
pub async fn get_team_numbers(days: i64) -> Result<TeamNumbers, AppError> {
    let user = require_area(Area::Queues)?;
    if user.role != amso_core::vocab::role::Role::OpsHead {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "team numbers are for ops heads",
        ));
    }
    let state = app_state()?;
    let days = days.clamp(1, 90);
    let now = now_millis();
    let (from, _) = local_days(now, zone_or_utc(&user.time_zone), days);
    let (rows, kappa, qa_pairs) = review::team::reviewer_stats(&state.db, from, now + 1, None)
        .await
        .map_err(internal)?;
    let mut rows: Vec<_> = rows.iter().collect();
    rows.sort_by(|a, b| b.reviews.cmp(&a.reviews).then_with(|| a.name.cmp(&b.name)));
    Ok(TeamNumbers {
        rows: rows
            .into_iter()
            .map(|d| TeamRow {
                name: d.name.clone(),
                email: d.email.clone(),
                numbers: day_numbers(d),
            })
            .collect(),
        kappa,
        qa_pairs,
        days,
    })
}

/// The managed reason codes a reviewer can give.
#[server(prefix = "/rpc", endpoint = "list_reason_codes")]
pub async fn list_reason_codes() -> Result<Vec<Reason>, AppError> {
    require_area(Area::Queues)?;
    let state = app_state()?;
    Ok(review::reasons::reason_codes(&state.db)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|r| Reason {
            code: r.code,
            label: r.label,
        })
        .collect())
}

/// Takes one item picked from the list view (if nobody else holds it) and returns its id.
#[server(prefix = "/rpc", endpoint = "open_review")]
pub async fn open_review(task_id: i64) -> Result<i64, AppError> {
    let user = require_area(Area::Queues)?;
    let state = app_state()?;
    review::queues::claim(
        &state.db,
        &scope_of(&user),
        task_id,
        &desk(&state),
        now_millis(),
    )
    .await
    .map_err(AppError::from)?;
    Ok(task_id)
}

/// Each market's review SLA in hours.
#[server(prefix = "/rpc", endpoint = "get_sla")]
pub async fn get_sla() -> Result<Vec<(String, f64)>, AppError> {
    require_area(Area::Thresholds)?;
    let state = app_state()?;
    Ok(review::tasks::sla_settings(&state.db)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|(m, h)| (m.code().to_string(), h))
        .collect())
}

/// Changes one market's review SLA (hours from submission to a final decision); audited.
#[server(prefix = "/rpc", endpoint = "set_sla")]
pub async fn set_sla(market: String, hours: f64) -> Result<(), AppError> {
    let user = require_area(Area::Thresholds)?;
    let state = app_state()?;
    let market: amso_core::vocab::market::Market =
        market
            .parse()
            .map_err(|e: amso_core::vocab::market::UnknownMarket| {
                AppError::new(ErrorKind::Invalid, e.to_string())
            })?;
    review::tasks::set_sla(
        &state.db,
        &amso_core::access::audit::Actor::User(user.email),
        market,
        hours,
        now_millis(),
    )
    .await
    .map_err(AppError::from)
}

/// A reason code on the policy page: (code, label, active).
#[server(prefix = "/rpc", endpoint = "list_all_reason_codes")]
pub async fn list_all_reason_codes() -> Result<Vec<(String, String, bool)>, AppError> {
    require_area(Area::Thresholds)?;
    let state = app_state()?;
    Ok(review::reasons::all_reason_codes(&state.db)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|r| (r.code, r.label, r.active))
        .collect())
}

/// Adds a reason code, or relabels, retires or restores one; audited.
#[server(prefix = "/rpc", endpoint = "save_reason_code")]
pub async fn save_reason_code(code: String, label: String, active: bool) -> Result<(), AppError> {
    let user = require_area(Area::Thresholds)?;
    let state = app_state()?;
    review::reasons::save_reason_code(
        &state.db,
        &amso_core::access::audit::Actor::User(user.email),
        &code,
        &label,
        active,
        now_millis(),
    )
    .await
    .map_err(AppError::from)
}
