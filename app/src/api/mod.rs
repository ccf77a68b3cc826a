//! Server functions, one file per page area, each with the shapes it sends to the browser.
//! Every one checks the caller's role on the server and answers errors as [`AppError`].
//!
//! [`AppError`]: crate::error::AppError

pub mod ads;
pub mod audit;
pub mod auth;
pub mod dashboards;
pub mod golden;
pub mod keys;
pub mod models;
pub mod radar;
pub mod reports;
pub mod review;
pub mod rules;
pub mod thresholds;
pub mod users;
pub mod wellness;

/// The longest search string a list accepts.
pub const MAX_SEARCH: usize = 200;

/// Refuses a free-text input longer than `max` characters (422, naming the field): nothing
/// a person types is read, stored or searched unbounded.
#[cfg(feature = "ssr")]
pub fn limit_text(name: &str, value: &str, max: usize) -> Result<(), crate::error::AppError> {
    if value.chars().count() > max {
        return Err(crate::error::AppError::new(
            crate::error::ErrorKind::Invalid,
            format!("`{name}` is limited to {max} characters"),
        ));
    }
    Ok(())
}
