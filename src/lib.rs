//! AMSO core: the domain and the engine, free of any web framework.
//!
//! One folder per concern. [`vocab`], [`metrics`] and the dashboards' view types
//! ([`dashboard::view`]) compile everywhere, the browser bundle included; everything that does
//! I/O sits behind the `server` feature.

pub mod dashboard;
pub mod metrics;
pub mod model_view;
pub mod vocab;

#[cfg(feature = "server")]
pub mod access;
#[cfg(feature = "server")]
pub mod charts;
#[cfg(feature = "server")]
pub mod demo;
#[cfg(feature = "server")]
pub mod engine;
#[cfg(feature = "server")]
pub mod intake;
#[cfg(feature = "server")]
pub mod platform;
pub mod radar;
#[cfg(feature = "server")]
pub mod report;
#[cfg(feature = "server")]
pub mod review;
#[cfg(feature = "server")]
pub mod rollup;
pub mod rules;

/// Property tests over untrusted input (ads, JSONL files, weeks, time zones, CSV cells).
#[cfg(all(test, feature = "server"))]
mod properties;
