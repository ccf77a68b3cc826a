//! The radar page: the ranked entries of a window and market, and one entry's detail.

use crate::error::AppError;
use amso_core::radar::Entry;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    crate::error::ErrorKind,
    crate::ssr::{app_state, internal, require_area},
    amso_core::radar::{Kind, Window, store},
    amso_core::vocab::role::Area,
};

/// A window's entries for a market (`*`: all markets).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RadarView {
    pub window: String,
    pub market: String,
    pub entries: Vec<Entry>,
    /// When the last check ran (RFC 3339), if ever.
    pub checked_at: Option<String>,
    /// Whether the viewer may draft rules.
    pub can_draft: bool,
}

/// An ad shown as a sample: text only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleAd {
    pub id: i64,
    pub market: String,
    pub headline: String,
    pub body: String,
    pub landing_url: Option<String>,
    pub status: String,
}

/// One entry's detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RadarDetail {
    /// (day, ads) over the last 35 days.
    pub trend: Vec<(String, i64)>,
    /// (market, ads) over the last 35 days, most first.
    pub markets: Vec<(String, i64)>,
    pub samples: Vec<SampleAd>,
}

#[cfg(feature = "ssr")]
fn market_of(market: &str) -> Result<String, AppError> {
    match market.trim() {
        "" | "*" => Ok("*".into()),
        m => m
            .parse::<amso_core::vocab::market::Market>()
            .map(|m| m.code().to_string())
            .map_err(|e| AppError::new(ErrorKind::Invalid, e.to_string())),
    }
}

/// The ranked entries of the last check.
#[server(prefix = "/rpc", endpoint = "get_radar")]
pub async fn get_radar(window: String, market: String) -> Result<RadarView, AppError> {
    let user = require_area(Area::Radar)?;
    crate::api::limit_text("window", &window, 8)?;
    crate::api::limit_text("market", &market, 8)?;
    let w = if window.is_empty() {
        Window::Day
    } else {
        Window::parse(&window)
            .ok_or_else(|| AppError::new(ErrorKind::Invalid, "window is 24h or 7d"))?
    };
    let market = market_of(&market)?;
    let state = app_state()?;
    let (entries, at) = store::entries(&state.db, w, &market, 50)
        .await
        .map_err(internal)?;
    Ok(RadarView {
        window: w.as_str().into(),
        market,
        entries,
        checked_at: at.map(amso_core::platform::time::to_rfc3339),
        can_draft: user.role.writes_rules(),
    })
}

/// One entry's daily trend, the markets it is in, and sample ads (as text).
#[server(prefix = "/rpc", endpoint = "get_radar_detail")]
pub async fn get_radar_detail(
    kind: String,
    value: String,
    market: String,
) -> Result<RadarDetail, AppError> {
    require_area(Area::Radar)?;
    crate::api::limit_text("kind", &kind, 16)?;
    crate::api::limit_text("value", &value, 200)?;
    crate::api::limit_text("market", &market, 8)?;
    let kind = Kind::parse(&kind)
        .ok_or_else(|| AppError::new(ErrorKind::Invalid, "kind is term, domain or advertiser"))?;
    let market = market_of(&market)?;
    let state = app_state()?;
    let now = amso_core::platform::time::now_millis();
    let d = store::detail(&state.db, kind, &value, &market, 35, now)
        .await
        .map_err(internal)?;
    let mut samples = Vec::new();
    for id in d.samples.iter().take(6) {
        if let Some(ad) = amso_core::intake::ads::find(&state.db, *id)
            .await
            .map_err(internal)?
        {
            samples.push(SampleAd {
                id: ad.id,
                market: ad.market,
                headline: ad.headline,
                body: ad.body,
                landing_url: ad.landing_url,
                status: ad.status,
            });
        }
    }
    Ok(RadarDetail {
        trend: d.trend,
        markets: d.markets,
        samples,
    })
}
