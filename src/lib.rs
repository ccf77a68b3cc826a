//! AMSO core: the domain and the engine, free of any web framework.
//!
//! The vocabulary modules ([`market`], [`policy`], [`queue`], [`role`]) compile everywhere, the browser bundle
//! included; everything that does I/O sits behind the `server` feature.

pub mod board;
pub mod kpi;
pub mod market;
pub mod policy;
pub mod queue;
pub mod role;

#[cfg(feature = "server")]
pub mod ads;
#[cfg(feature = "server")]
pub mod apikeys;
#[cfg(feature = "server")]
pub mod audit;
#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod charts;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod corpus;
#[cfg(feature = "server")]
pub mod csv;
#[cfg(feature = "server")]
pub mod dashboard;
#[cfg(feature = "server")]
pub mod db;
#[cfg(feature = "server")]
pub mod decide;
#[cfg(feature = "server")]
pub mod demo;
#[cfg(feature = "server")]
pub mod engine;
#[cfg(feature = "server")]
pub mod featurize;
#[cfg(feature = "server")]
pub mod history;
#[cfg(feature = "server")]
pub mod ingest;
#[cfg(feature = "server")]
pub mod model;
#[cfg(feature = "server")]
pub mod password;
#[cfg(feature = "server")]
pub mod report;
#[cfg(feature = "server")]
pub mod review;
#[cfg(feature = "server")]
pub mod rollup;
#[cfg(feature = "server")]
pub mod rules_store;
#[cfg(feature = "server")]
pub mod thresholds;
#[cfg(feature = "server")]
pub mod time;
#[cfg(feature = "server")]
pub mod users;
