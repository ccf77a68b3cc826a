//! The `amso` binary's library: the command line ([`cli`]), the HTTP server ([`http`]) and
//! what a server runs in the background ([`jobs`]). `main.rs` only parses the command line
//! and sets up logging. Every query lives in `amso-core`; nothing here speaks SQL.

pub mod cli;
pub mod http;
pub mod jobs;

pub use http::{Server, build_router};
