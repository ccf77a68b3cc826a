//! The dashboards: the figures as they travel to pages, the KPIs API and the weekly report
//! ([`view`], plain data shared with the browser bundle), and one module per page that reads
//! them from the rollups. Pages, the KPIs API and the weekly report all call these, so they
//! cannot disagree.

pub mod view;

#[cfg(feature = "server")]
pub mod cost;
#[cfg(feature = "server")]
pub mod drift;
#[cfg(feature = "server")]
pub mod drift_alerts;
#[cfg(feature = "server")]
pub mod estimates;
#[cfg(feature = "server")]
pub mod estimator_eval;
#[cfg(feature = "server")]
pub mod filter;
#[cfg(feature = "server")]
pub mod kpis;
#[cfg(feature = "server")]
pub mod live;
#[cfg(feature = "server")]
pub mod overrides;
#[cfg(feature = "server")]
pub mod overview;
#[cfg(feature = "server")]
pub mod quality;
#[cfg(feature = "server")]
pub mod scores;
#[cfg(feature = "server")]
pub mod simulator;
