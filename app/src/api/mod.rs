//! Server functions, one file per page area, each with the shapes it sends to the browser.
//! Every one checks the caller's role on the server and answers errors as [`AppError`].
//!
//! [`AppError`]: crate::error::AppError

pub mod ads;
pub mod audit;
pub mod auth;
pub mod dashboards;
pub mod keys;
pub mod reports;
pub mod review;
pub mod thresholds;
pub mod users;
