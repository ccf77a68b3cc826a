//! Golden items: ops heads mark decided ads with their right answer (one at a time from the ad
//! page, or in bulk from an `amso export-labels` file) and set the share of each reviewer's
//! items that are golden; everyone on the queues page reads accuracy on them, ops heads the
//! team's, a reviewer their own. Nothing here is ever part of what a reviewer's review screen
//! is sent.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, internal, require_area, require_ops_head},
    amso_core::access::audit::Actor,
    amso_core::metrics::kpi::{Z95, wilson},
    amso_core::platform::time::{now_millis, to_rfc3339},
    amso_core::review::golden,
    amso_core::vocab::policy::Category,
    amso_core::vocab::queue::HumanVerdict,
    amso_core::vocab::role::{Area, Role},
};

/// Answers below this: a cell says "too few" instead of a rate.
pub const MIN_ANSWERS: i64 = 5;
/// The longest bulk file accepted, in bytes.
pub const MAX_IMPORT_BYTES: usize = 2_000_000;
/// The longest category list accepted, in characters.
pub const MAX_CATEGORIES_LEN: usize = 300;

/// A share of answers right, with its 95% (Wilson) interval; `None` below [`MIN_ANSWERS`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    pub answered: i64,
    pub right: i64,
    /// (rate, low, high) in [0, 1].
    pub rate: Option<(f64, f64, f64)>,
}

#[cfg(feature = "ssr")]
fn accuracy(answered: i64, right: i64) -> Accuracy {
    let rate = (answered >= MIN_ANSWERS)
        .then(|| wilson(right as f64, answered as f64, Z95))
        .flatten()
        .map(|(low, high)| (right as f64 / answered as f64, low, high));
    Accuracy {
        answered,
        right,
        rate,
    }
}

/// One reviewer's row of the golden accuracy table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoldenRow {
    pub name: String,
    pub overall: Accuracy,
    /// (category or "approve", accuracy).
    pub by_category: Vec<(String, Accuracy)>,
    /// Over the same days, for comparison: QA second reviews that agreed with them, and the
    /// share of their reviews that overruled the machine.
    pub qa: Accuracy,
    pub reviews: i64,
    pub overrides: i64,
}

/// Golden accuracy over the last `days` days: every reviewer's (ops heads) or one's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoldenAccuracy {
    pub days: i64,
    pub rows: Vec<GoldenRow>,
    /// The categories with any answer, in the table's column order.
    pub categories: Vec<String>,
}

/// A golden item as ops heads list it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoldenItemView {
    pub ad_id: i64,
    pub external_id: String,
    pub market: String,
    pub headline: String,
    pub verdict: String,
    pub categories: Vec<String>,
    pub marked_by: String,
    pub marked_at: String,
    pub answers: Accuracy,
}

/// The golden set and its setting (ops heads).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoldenSet {
    pub rate: f64,
    pub items: Vec<GoldenItemView>,
}

/// What a bulk import did: how many ads it marked, and each refused line with why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoldenImport {
    pub marked: usize,
    pub errors: Vec<(usize, String)>,
}

/// Parses a verdict and its categories as an ops head gives them.
#[cfg(feature = "ssr")]
pub fn parse_answer(
    verdict: &str,
    categories: &[String],
) -> Result<(HumanVerdict, Vec<Category>), String> {
    let v = HumanVerdict::parse(verdict.trim()).ok_or_else(|| {
        format!(
            "verdict: `{}` is not approve or reject",
            verdict.chars().take(40).collect::<String>()
        )
    })?;
    if categories.iter().map(String::len).sum::<usize>() > MAX_CATEGORIES_LEN {
        return Err(format!(
            "categories: at most {MAX_CATEGORIES_LEN} characters"
        ));
    }
    let mut out = Vec::new();
    for c in categories
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
    {
        out.push(c.parse::<Category>().map_err(|_| {
            format!(
                "categories: `{}` is not a policy category",
                c.chars().take(40).collect::<String>()
            )
        })?);
    }
    golden::check_answer(v, &out).map_err(|e| e.to_string())?;
    Ok((v, out))
}

/// Golden accuracy over the last `days` days (1–90): ops heads see every reviewer, a
/// reviewer only themselves.
#[server(prefix = "/rpc", endpoint = "get_golden_accuracy")]
pub async fn get_golden_accuracy(days: i64) -> Result<GoldenAccuracy, AppError> {
    let user = require_area(Area::Queues)?;
    if !(1..=90).contains(&days) {
        return Err(AppError::new(
            ErrorKind::Invalid,
            format!("days must be between 1 and 90 (got {days})"),
        ));
    }
    let state = app_state()?;
    let now = now_millis();
    let from = now - days * 86_400_000;
    let only = (user.role != Role::OpsHead).then_some(user.id);
    let scores = golden::accuracy(&state.db, from, now, only)
        .await
        .map_err(internal)?;
    let (work, _, _) = amso_core::review::team::reviewer_stats(&state.db, from, now, only)
        .await
        .map_err(internal)?;
    let mut categories: Vec<String> = Category::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .chain(std::iter::once("approve".to_string()))
        .filter(|c| {
            scores
                .iter()
                .any(|s| s.by_category.iter().any(|x| &x.0 == c))
        })
        .collect();
    categories.dedup();
    let rows = scores
        .iter()
        .map(|s| {
            let w = work.iter().find(|w| w.reviewer_id == s.reviewer_id);
            GoldenRow {
                name: s.name.clone(),
                overall: accuracy(s.answered, s.correct),
                by_category: s
                    .by_category
                    .iter()
                    .map(|(c, n, right)| (c.clone(), accuracy(*n, *right)))
                    .collect(),
                qa: accuracy(w.map_or(0, |w| w.qa_checked), w.map_or(0, |w| w.qa_agreed)),
                reviews: w.map_or(0, |w| w.reviews),
                overrides: w.map_or(0, |w| w.overrides),
            }
        })
        .collect();
    Ok(GoldenAccuracy {
        days,
        rows,
        categories,
    })
}

/// The golden set and the golden share (ops heads).
#[server(prefix = "/rpc", endpoint = "get_golden_set")]
pub async fn get_golden_set() -> Result<GoldenSet, AppError> {
    require_ops_head("golden items")?;
    let state = app_state()?;
    let rate = golden::rate(&state.db).await.map_err(internal)?;
    let items = golden::list(&state.db).await.map_err(internal)?;
    Ok(GoldenSet {
        rate,
        items: items
            .into_iter()
            .map(|g| GoldenItemView {
                ad_id: g.ad_id,
                external_id: g.external_id,
                market: g.market,
                headline: g.headline,
                verdict: g.verdict.as_str().into(),
                categories: g.categories.iter().map(|c| c.as_str().into()).collect(),
                marked_by: g.marked_by,
                marked_at: to_rfc3339(g.marked_at),
                answers: accuracy(g.answered, g.correct),
            })
            .collect(),
    })
}

/// An ad as its page's golden box reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdGolden {
    /// Only a decided ad can be golden.
    pub decided: bool,
    /// Its right answer (verdict, categories), if it is golden.
    pub answer: Option<(String, Vec<String>)>,
}

/// Whether one ad can be golden and its answer if it is (ops heads; the ad page).
#[server(prefix = "/rpc", endpoint = "get_ad_golden")]
pub async fn get_ad_golden(ad_id: i64) -> Result<AdGolden, AppError> {
    require_ops_head("golden items")?;
    let state = app_state()?;
    let decided = golden::is_decided(&state.db, ad_id)
        .await
        .map_err(internal)?;
    let answer = golden::of_ad(&state.db, ad_id)
        .await
        .map_err(internal)?
        .map(|(v, c)| {
            (
                v.as_str().to_string(),
                c.iter().map(|c| c.as_str().to_string()).collect(),
            )
        });
    Ok(AdGolden { decided, answer })
}

/// Marks a decided ad golden with its right answer, or changes it (ops heads; audited).
#[server(prefix = "/rpc", endpoint = "mark_golden")]
pub async fn mark_golden(
    ad_id: i64,
    verdict: String,
    #[server(default)] categories: Vec<String>,
) -> Result<(), AppError> {
    let user = require_ops_head("golden items")?;
    let state = app_state()?;
    let (verdict, categories) =
        parse_answer(&verdict, &categories).map_err(|e| AppError::new(ErrorKind::Invalid, e))?;
    golden::mark(
        &state.db,
        &Actor::User(user.email),
        ad_id,
        verdict,
        &categories,
        now_millis(),
    )
    .await
    .map_err(AppError::from)
}

/// Takes an ad out of the golden set (ops heads; audited).
#[server(prefix = "/rpc", endpoint = "unmark_golden")]
pub async fn unmark_golden(ad_id: i64) -> Result<(), AppError> {
    let user = require_ops_head("golden items")?;
    let state = app_state()?;
    golden::unmark(&state.db, &Actor::User(user.email), ad_id, now_millis())
        .await
        .map_err(AppError::from)
}

/// Sets the share of each reviewer's items that are golden, 0–1 (ops heads; audited).
#[server(prefix = "/rpc", endpoint = "set_golden_rate")]
pub async fn set_golden_rate(rate: f64) -> Result<(), AppError> {
    let user = require_ops_head("golden items")?;
    let state = app_state()?;
    golden::set_rate(&state.db, &Actor::User(user.email), rate, now_millis())
        .await
        .map_err(AppError::from)
}

/// Marks golden every ad of an `amso export-labels` file (one JSON object a line, by
/// `external_id`, `labels` empty for approve); a bad line is reported with its number and
/// the others still load (ops heads; each audited).
#[server(prefix = "/rpc", endpoint = "import_golden")]
pub async fn import_golden(text: String) -> Result<GoldenImport, AppError> {
    let user = require_ops_head("golden items")?;
    if text.len() > MAX_IMPORT_BYTES {
        return Err(AppError::new(
            ErrorKind::Invalid,
            format!("the file is limited to {MAX_IMPORT_BYTES} bytes"),
        ));
    }
    let state = app_state()?;
    let (marked, errors) =
        golden::import_labels(&state.db, &Actor::User(user.email), &text, now_millis())
            .await
            .map_err(internal)?;
    Ok(GoldenImport { marked, errors })
}
