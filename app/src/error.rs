//! The one error of the HTTP edge: every server function and every REST handler returns it, so
//! `{"error": "...", "kind": "..."}` is the only error body, every `kind` comes from
//! [`ErrorKind`], and a core error gives the same status whichever way it is reached (the
//! conversions are here, once). Internals never reach the client.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What went wrong, in terms a client can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Not logged in, or the session ended.
    Unauthenticated,
    /// Logged in, but the role or market scope does not allow this.
    Forbidden,
    /// The input was refused; the message says why.
    Invalid,
    NotFound,
    Conflict,
    /// Too many attempts; try later.
    RateLimited,
    /// The request body is over the size limit.
    TooLarge,
    /// The database cannot be reached right now.
    Unavailable,
    /// The server is up but not ready to serve (readiness probe).
    NotReady,
    /// Something failed on the server; details are in the server log only.
    Internal,
    /// The request did not reach the server or its answer could not be read.
    Transport,
}

impl ErrorKind {
    /// The HTTP status for this kind.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::Invalid => 422,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::RateLimited => 429,
            ErrorKind::TooLarge => 413,
            ErrorKind::Unavailable | ErrorKind::NotReady => 503,
            ErrorKind::Internal => 500,
            ErrorKind::Transport => 502,
        }
    }
}

/// An error as the client sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    pub error: String,
    pub kind: ErrorKind,
    /// The status when it is not the kind's own: 400 for a request whose parameters cannot be
    /// read (kind `invalid`, where a refused value is 422). It travels from a server function
    /// to the status middleware and is never part of the body a client gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Seconds before trying again, sent as `Retry-After` (with 429 and 503); it travels
    /// like `status` and is not part of the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl AppError {
    /// An error of `kind` with a message fit to show the user.
    pub fn new(kind: ErrorKind, error: impl Into<String>) -> AppError {
        AppError {
            error: error.into(),
            kind,
            status: None,
            retry_after: None,
        }
    }

    /// The same error, telling the client to wait `seconds` before trying again.
    pub fn retry_after(self, seconds: u64) -> AppError {
        AppError {
            retry_after: Some(seconds),
            ..self
        }
    }

    /// A request whose parameters cannot be read (a body that is not JSON, a query string or
    /// filter that does not parse): kind `invalid`, status 400.
    pub fn malformed(error: impl Into<String>) -> AppError {
        AppError {
            status: Some(400),
            ..AppError::new(ErrorKind::Invalid, error)
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        self.status.unwrap_or(self.kind.status())
    }

    /// The body a client gets: `{"error": "...", "kind": "..."}`.
    pub fn public(&self) -> AppError {
        AppError::new(self.kind, self.error.clone())
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error)
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::Deserialization(msg) => {
                AppError::new(ErrorKind::Invalid, format!("malformed request: {msg}"))
            }
            ServerFnErrorErr::Request(msg) | ServerFnErrorErr::Response(msg) => AppError::new(
                ErrorKind::Transport,
                format!("the server could not be reached: {msg}"),
            ),
            _ => AppError::new(ErrorKind::Internal, "internal error"),
        }
    }
}

#[cfg(feature = "ssr")]
mod conversions {
    //! Every core error as the client sees it: the one place that picks its kind and status.

    use super::{AppError, ErrorKind};
    use amso_core::access::users::UserError;
    use amso_core::dashboard::filter::DashboardError;
    use amso_core::engine::thresholds::ThresholdError;
    use amso_core::report::ReportError;
    use amso_core::review::ReviewError;

    /// Logs `detail` and returns a generic internal error: details stay in the server log.
    pub fn internal(detail: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %detail, "internal error");
        AppError::new(
            ErrorKind::Internal,
            "internal error; the details are in the server log",
        )
    }

    impl From<sqlx::Error> for AppError {
        fn from(e: sqlx::Error) -> AppError {
            internal(e)
        }
    }

    impl From<ReviewError> for AppError {
        fn from(e: ReviewError) -> AppError {
            match e {
                ReviewError::NotFound(_) => AppError::new(ErrorKind::NotFound, e.to_string()),
                ReviewError::Forbidden(_) => AppError::new(ErrorKind::Forbidden, e.to_string()),
                ReviewError::Conflict(_) => AppError::new(ErrorKind::Conflict, e.to_string()),
                ReviewError::Invalid(_) => AppError::new(ErrorKind::Invalid, e.to_string()),
                ReviewError::Db(e) => internal(e),
            }
        }
    }

    impl From<DashboardError> for AppError {
        fn from(e: DashboardError) -> AppError {
            match e {
                // A window, market or day that does not parse: the filter cannot be read.
                DashboardError::Invalid(m) => AppError::malformed(m),
                DashboardError::Sql(e) => internal(e),
            }
        }
    }

    impl From<ReportError> for AppError {
        fn from(e: ReportError) -> AppError {
            match e {
                // A week, format, market or time zone that does not parse.
                ReportError::Invalid(m) => AppError::malformed(m),
                other => internal(other),
            }
        }
    }

    impl From<amso_core::engine::model::promotion::PromotionError> for AppError {
        fn from(e: amso_core::engine::model::promotion::PromotionError) -> Self {
            use amso_core::engine::model::promotion::PromotionError as P;
            match &e {
                P::NotFound(_) | P::NoRequest(_) => {
                    AppError::new(ErrorKind::NotFound, e.to_string())
                }
                P::TooLittle { .. }
                | P::Already(_)
                | P::SecondPerson(_)
                | P::Decided(_)
                | P::NothingToRollBack => AppError::new(ErrorKind::Conflict, e.to_string()),
                P::Thresholds(_) => AppError::new(ErrorKind::Invalid, e.to_string()),
                P::Db(db) => internal(db),
            }
        }
    }

    impl From<amso_core::engine::model::registry::RegistryError> for AppError {
        fn from(e: amso_core::engine::model::registry::RegistryError) -> Self {
            use amso_core::engine::model::registry::RegistryError as R;
            match &e {
                R::NotFound(_) => AppError::new(ErrorKind::NotFound, e.to_string()),
                R::Clash(_) => AppError::new(ErrorKind::Conflict, e.to_string()),
                R::Db(db) => internal(db),
                R::Io(_) => internal(&e),
                _ => AppError::new(ErrorKind::Invalid, e.to_string()),
            }
        }
    }

    impl From<amso_core::rules::store::RuleError> for AppError {
        fn from(e: amso_core::rules::store::RuleError) -> Self {
            use amso_core::rules::store::RuleError;
            match &e {
                RuleError::Invalid(_) => AppError::new(ErrorKind::Invalid, e.to_string()),
                RuleError::NotFound(_) => AppError::new(ErrorKind::NotFound, e.to_string()),
                RuleError::Transition { .. } | RuleError::SecondPerson(_) => {
                    AppError::new(ErrorKind::Conflict, e.to_string())
                }
                RuleError::Db(db) => internal(db),
            }
        }
    }

    impl From<amso_core::rules::backtest::BacktestError> for AppError {
        fn from(e: amso_core::rules::backtest::BacktestError) -> Self {
            use amso_core::rules::backtest::BacktestError;
            match &e {
                BacktestError::Invalid(_) => AppError::new(ErrorKind::Invalid, e.to_string()),
                BacktestError::Cancelled => AppError::new(ErrorKind::Conflict, e.to_string()),
                BacktestError::Db(db) => internal(db),
            }
        }
    }

    impl From<amso_core::rules::retro::RetroError> for AppError {
        fn from(e: amso_core::rules::retro::RetroError) -> Self {
            use amso_core::rules::retro::RetroError;
            match e {
                RetroError::NotLive(_)
                | RetroError::Nothing
                | RetroError::Decided(_)
                | RetroError::SecondPerson(_)
                | RetroError::Changed(_) => AppError::new(ErrorKind::Conflict, e.to_string()),
                RetroError::NotReject => AppError::new(ErrorKind::Invalid, e.to_string()),
                RetroError::NotFound(_) | RetroError::NoRequest(_) => {
                    AppError::new(ErrorKind::NotFound, e.to_string())
                }
                RetroError::Scan(inner) => inner.into(),
                RetroError::Db(db) => internal(db),
            }
        }
    }

    impl From<ThresholdError> for AppError {
        fn from(e: ThresholdError) -> AppError {
            match e {
                ThresholdError::OutOfRange(..) => AppError::new(ErrorKind::Invalid, e.to_string()),
                ThresholdError::Db(e) => internal(e),
            }
        }
    }

    impl From<UserError> for AppError {
        fn from(e: UserError) -> AppError {
            use UserError::*;
            match e {
                Db(e) => internal(e),
                NotFound(_) => AppError::new(ErrorKind::NotFound, e.to_string()),
                DuplicateEmail(_) => AppError::new(ErrorKind::Conflict, e.to_string()),
                SelfLockout => AppError::new(ErrorKind::Forbidden, e.to_string()),
                InvalidEmail(_)
                | WeakPassword(_)
                | ReviewerWithoutMarkets
                | InvalidDisplayName
                | InvalidTimeZone(_)
                | InvalidLanguage(_) => AppError::new(ErrorKind::Invalid, e.to_string()),
            }
        }
    }

    impl axum::response::IntoResponse for AppError {
        fn into_response(self) -> axum::response::Response {
            let status = http::StatusCode::from_u16(self.status())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, axum::Json(self.public())).into_response();
            if let Some(seconds) = self.retry_after {
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
            }
            response
        }
    }
}

#[cfg(feature = "ssr")]
pub use conversions::internal;
