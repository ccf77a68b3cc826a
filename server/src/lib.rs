//! The `amso` server: the axum router with pages, server functions, health and metrics,
//! plus the session and access middleware. `main.rs` only parses the command line.

pub mod api;
pub mod bench;
pub mod bench_dash;
pub mod cli;
pub mod engine_cli;
pub mod metrics;
pub mod reports;
pub mod session_store;
pub mod web;

pub use web::{Server, build_router};
