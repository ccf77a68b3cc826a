//! Errors at the HTTP edge. REST handlers return `Result<Response, AppError>` (the same
//! [`AppError`] server functions return), so every error body is `{"error", "kind"}` with the
//! status its kind (or a malformed request) calls for. Two middlewares finish the job: server
//! functions' errors get their status (the framework answers every error with 500), and any
//! other error under `/api/` that is not JSON yet (a body over the size limit, a method the
//! route does not have) is given the same JSON shape.

pub use amso_app::error::{AppError, ErrorKind};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What a REST handler returns.
pub type ApiResult = Result<Response, AppError>;

/// Logs `detail` and returns a generic internal error: details stay in the server log.
pub use amso_app::error::internal;

/// Largest error body the middlewares read back (they are a few hundred bytes).
const ERROR_BODY_LIMIT: usize = 1 << 20;

/// Server functions answer errors with status 500; this gives each error the status of its
/// kind (401, 403, 422, …), read from the JSON body every error carries, and sends the body
/// clients see.
pub async fn rpc_error_status(req: Request, next: Next) -> Response {
    let is_rpc = req.uri().path().starts_with("/rpc/");
    let response = next.run(req).await;
    if !is_rpc || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let error = match axum::body::to_bytes(body, ERROR_BODY_LIMIT).await {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| AppError::new(ErrorKind::Internal, "internal error")),
        Err(_) => AppError::new(ErrorKind::Internal, "internal error"),
    };
    parts.status =
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(seconds) = error.retry_after {
        parts
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    let body = serde_json::to_vec(&error.public()).unwrap_or_default();
    Response::from_parts(parts, Body::from(body))
}

/// The kind of an error status that no handler chose (axum's own rejections and fallbacks).
fn kind_of(status: StatusCode) -> ErrorKind {
    match status {
        StatusCode::UNAUTHORIZED => ErrorKind::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorKind::Forbidden,
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => ErrorKind::NotFound,
        StatusCode::CONFLICT => ErrorKind::Conflict,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::TooLarge,
        StatusCode::TOO_MANY_REQUESTS => ErrorKind::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorKind::Unavailable,
        s if s.is_client_error() => ErrorKind::Invalid,
        _ => ErrorKind::Internal,
    }
}

/// Gives every error under `/api/` the JSON shape, keeping its status: axum answers a body
/// over the size limit (413), an unknown method (405) or an unreadable path with plain text.
pub async fn json_api_errors(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, ERROR_BODY_LIMIT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let kind = kind_of(status);
    let message = if text.is_empty() || kind == ErrorKind::Internal {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let mut out = AppError::new(kind, message).into_response();
    *out.status_mut() = status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchosen_statuses_get_a_kind() {
        assert_eq!(kind_of(StatusCode::PAYLOAD_TOO_LARGE), ErrorKind::TooLarge);
        assert_eq!(kind_of(StatusCode::METHOD_NOT_ALLOWED), ErrorKind::NotFound);
        assert_eq!(kind_of(StatusCode::BAD_REQUEST), ErrorKind::Invalid);
        assert_eq!(kind_of(StatusCode::BAD_GATEWAY), ErrorKind::Internal);
    }
}
