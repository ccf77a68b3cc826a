//! The ads pages: the searchable ads table and one ad with its decision, scores and history.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, internal, require_area},
    amso_core::vocab::policy::Category,
    amso_core::vocab::role::Area,
};

/// Rows per page of the ads table.
pub const PAGE_SIZE: i64 = 50;

/// One row of the ads table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdListRow {
    pub id: i64,
    /// RFC 3339, UTC.
    pub submitted_at: String,
    pub market: String,
    pub advertiser_id: String,
    pub headline: String,
    pub status: String,
    pub reasons: Vec<String>,
    pub top_category: Option<String>,
    pub top_score: Option<f32>,
}

/// A page of the ads table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdPage {
    pub rows: Vec<AdListRow>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// An n-gram and how much it raised the explained category's score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub text: String,
    pub kind: String,
    pub delta: f32,
}

/// One ad with its decision and the reasons behind its top score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdDetail {
    pub id: i64,
    pub external_id: String,
    pub source: String,
    pub advertiser_id: String,
    pub market: String,
    pub language: Option<String>,
    pub rtl: bool,
    pub headline: String,
    pub body: String,
    pub landing_url: Option<String>,
    pub landing_domain: Option<String>,
    pub daily_budget_usd: f64,
    pub submitted_at: String,
    pub status: String,
    pub model_version: Option<String>,
    pub thresholds_version: Option<i64>,
    pub action: Option<String>,
    pub route: Option<String>,
    pub reasons: Vec<String>,
    pub audit_sample: bool,
    pub decided_at: Option<String>,
    /// (category, score), highest first.
    pub scores: Vec<(String, f32)>,
    /// The category explained below (the top-scoring one).
    pub explained: Option<String>,
    pub contributions: Vec<Contribution>,
    /// Submission, the machine's decision and every human action, oldest first:
    /// (when, who, what, details).
    pub timeline: Vec<(String, String, String, String)>,
    /// The rules that matched the ad, with the version that fired.
    pub rules: Vec<RuleHitView>,
}

/// A rule that matched an ad (the core's shape, shared with the browser).
pub use amso_core::rules::view::AdHit as RuleHitView;

#[cfg(feature = "ssr")]
pub(super) fn invalid(msg: impl Into<String>) -> AppError {
    AppError::new(ErrorKind::Invalid, msg)
}

#[cfg(feature = "ssr")]
fn opt<T: std::str::FromStr>(s: &str) -> Result<Option<T>, AppError>
where
    T::Err: std::fmt::Display,
{
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|e: T::Err| invalid(e.to_string()))
}

/// The furthest page the Ads table turns to (a million pages of 50 ads).
pub const MAX_PAGE: i64 = 1_000_000;

/// The Ads page's filters; empty strings mean "any", dates are days (`YYYY-MM-DD`) on the
/// viewer's calendar, both inclusive.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdQuery {
    pub market: String,
    pub status: String,
    pub category: String,
    pub advertiser: String,
    pub q: String,
    pub page: i64,
    pub from: String,
    pub to: String,
}

/// The local midnight (in `tz`) that starts a `YYYY-MM-DD` day, or with `after` the one that
/// ends it, in stored milliseconds; empty means no bound.
#[cfg(feature = "ssr")]
fn day_bound(
    day: &str,
    name: &str,
    tz: amso_core::platform::time::Tz,
    after: bool,
) -> Result<Option<i64>, AppError> {
    let day = day.trim();
    if day.is_empty() {
        return Ok(None);
    }
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| AppError::malformed(format!("`{name}` must be a date like 2026-11-25")))?;
    amso_core::platform::time::check_year(chrono::Datelike::year(&date), &format!("`{name}`"))
        .map_err(AppError::malformed)?;
    let date = if after {
        date + chrono::Duration::days(1)
    } else {
        date
    };
    Ok(Some(amso_core::platform::time::local_midnight(date, tz)))
}

/// A page of ads matching the filters (empty strings mean "any"; dates are days on the
/// viewer's calendar, both inclusive).
#[server(prefix = "/rpc", endpoint = "list_ads")]
pub async fn list_ads(query: AdQuery) -> Result<AdPage, AppError> {
    let AdQuery {
        market,
        status,
        category,
        advertiser,
        q,
        page,
        from,
        to,
    } = query;
    let user = require_area(Area::Ads)?;
    let tz = amso_core::platform::time::zone_or_utc(&user.time_zone);
    let state = app_state()?;
    super::limit_text("q", &q, super::MAX_SEARCH)?;
    super::limit_text("advertiser", &advertiser, super::MAX_SEARCH)?;
    const STATUSES: [&str; 7] = [
        "queued",
        "auto_approved",
        "auto_rejected",
        "in_review",
        "approved",
        "rejected",
        "appealed",
    ];
    let status = status.trim();
    if !status.is_empty() && !STATUSES.contains(&status) {
        return Err(invalid(format!("unknown status `{status}`")));
    }
    let filter = amso_core::intake::ads::AdFilter {
        market: opt(&market)?,
        status: (!status.is_empty()).then(|| status.to_string()),
        category: opt(&category)?,
        advertiser_id: Some(advertiser.trim().to_string()).filter(|a| !a.is_empty()),
        from: day_bound(&from, "from", tz, false)?,
        // `to` is a whole day: everything submitted before the next local midnight.
        to: day_bound(&to, "to", tz, true)?,
        text: Some(q),
    };
    if page > MAX_PAGE {
        return Err(AppError::malformed(format!(
            "`page` must be at most {MAX_PAGE}"
        )));
    }
    let page = page.max(1);
    let (rows, total) =
        amso_core::intake::ads::search(&state.db, &filter, PAGE_SIZE, (page - 1) * PAGE_SIZE)
            .await
            .map_err(internal)?;
    Ok(AdPage {
        rows: rows
            .into_iter()
            .map(|r| AdListRow {
                id: r.id,
                submitted_at: amso_core::platform::time::to_rfc3339(r.submitted_at),
                market: r.market,
                advertiser_id: r.advertiser_id,
                headline: r.headline,
                status: r.status,
                reasons: r.reasons,
                top_category: r.top_category,
                top_score: r.top_score,
            })
            .collect(),
        total,
        page,
        page_size: PAGE_SIZE,
    })
}

/// One ad, its decision, and the n-grams that raised its top score.
#[server(prefix = "/rpc", endpoint = "get_ad_detail")]
pub async fn get_ad_detail(id: i64) -> Result<AdDetail, AppError> {
    require_area(Area::Ads)?;
    let state = app_state()?;
    load_ad_detail(&state, id).await
}

/// Loads one ad for a page that has already checked who may see it.
#[cfg(feature = "ssr")]
pub async fn load_ad_detail(state: &crate::ssr::AppState, id: i64) -> Result<AdDetail, AppError> {
    let ad = amso_core::intake::ads::find(&state.db, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::new(ErrorKind::NotFound, format!("no ad with id {id}")))?;
    let mut scores: Vec<(String, f32)> = ad
        .decision
        .as_ref()
        .map(|d| d.scores.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let explained = scores.first().map(|s| s.0.clone());
    let contributions = match (
        &state.scorer,
        explained
            .as_deref()
            .and_then(|c| c.parse::<Category>().ok()),
    ) {
        (Some(scorer), Some(category)) => scorer
            .explain(
                amso_core::engine::worker::AdText {
                    headline: ad.headline.clone(),
                    body: ad.body.clone(),
                    landing_url: ad.landing_url.clone(),
                },
                category,
                12,
            )
            .await
            .map_err(internal)?
            .into_iter()
            .map(|(kind, text, delta)| Contribution { text, kind, delta })
            .collect(),
        _ => Vec::new(),
    };
    let rtl = ad.language.as_deref() == Some("ar");
    let timeline = amso_core::review::timeline::timeline(&state.db, id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|e| {
            (
                amso_core::platform::time::to_rfc3339(e.at),
                e.actor,
                e.action,
                e.detail,
            )
        })
        .collect();
    Ok(AdDetail {
        landing_domain: ad
            .landing_url
            .as_deref()
            .and_then(amso_core::engine::featurize::domain_of),
        id: ad.id,
        external_id: ad.external_id,
        source: ad.source,
        advertiser_id: ad.advertiser_id,
        market: ad.market,
        language: ad.language,
        rtl,
        headline: ad.headline,
        body: ad.body,
        landing_url: ad.landing_url,
        daily_budget_usd: ad.daily_budget_usd,
        submitted_at: ad.submitted_at,
        status: ad.status,
        model_version: ad.decision.as_ref().map(|d| d.model_version.clone()),
        thresholds_version: ad.decision.as_ref().map(|d| d.thresholds_version),
        action: ad.decision.as_ref().map(|d| d.action.clone()),
        route: ad.decision.as_ref().and_then(|d| d.route.clone()),
        reasons: ad
            .decision
            .as_ref()
            .map(|d| d.reasons.clone())
            .unwrap_or_default(),
        audit_sample: ad.decision.as_ref().is_some_and(|d| d.audit_sample),
        decided_at: ad.decision.as_ref().map(|d| d.decided_at.clone()),
        scores,
        explained,
        contributions,
        timeline,
        rules: amso_core::rules::store::hits_for_ad(&state.db, id)
            .await
            .map_err(internal)?,
    })
}
