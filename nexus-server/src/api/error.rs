//! The one error shape of the API: `{"code": "...", "message": "..."}`.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::Object;
use serde::Serialize;

/// An error: a stable machine-readable `code` and a message saying what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Object, Serialize, serde::Deserialize)]
pub struct ErrorBody {
    /// Stable, snake_case; clients branch on this (`not_found`, `bad_request`, …).
    pub code: String,
    /// What was wrong, for people.
    pub message: String,
}

impl ErrorBody {
    /// An error body.
    #[must_use]
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Turns any error poem raises outside an operation (unknown path, wrong method, bad
/// request) into the JSON error body, so clients never see an HTML or plain-text error.
pub(crate) async fn into_response(err: poem::Error) -> Response {
    let status = err.status();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        // The database did not answer (a session could not be looked up): the code and
        // message every operation gives when its store fails.
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let message = if status == StatusCode::SERVICE_UNAVAILABLE {
        "the service is temporarily unavailable, try again shortly".to_owned()
    } else if status.is_server_error() {
        // Internal details stay in the logs.
        tracing::error!(error = %err, "request failed");
        "internal server error".to_owned()
    } else if status == StatusCode::NOT_FOUND {
        "no such resource".to_owned()
    } else {
        err.to_string()
    };
    poem::web::Json(ErrorBody::new(code, message))
        .with_status(status)
        .into_response()
}
