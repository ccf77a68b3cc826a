//! The error every server function returns: `{"error": "...", "kind": "..."}` on the wire,
//! with the HTTP status of its kind. Internals never reach the browser.

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
}

impl AppError {
    /// An error of `kind` with a message fit to show the user.
    pub fn new(kind: ErrorKind, error: impl Into<String>) -> AppError {
        AppError {
            error: error.into(),
            kind,
        }
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
