//! The one error type of the HTTP API and its JSON shape:
//! `{"error": {"code": "…", "message": "…", "field": "…"}}`.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use qala_geodata::{Error as DataError, ValidationError};
use serde_json::json;

use crate::media::sanitize::Refused;
use crate::state::{PhotoError, WriteError};

/// An error answered to an HTTP client.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Sentence for people; never internal details on a 5xx.
    pub message: String,
    /// The input field at fault, if any.
    pub field: Option<String>,
    /// Seconds to wait before trying again (`Retry-After`), if it is known.
    pub retry_after: Option<u64>,
}

/// The code of [`ApiError::storage_unavailable`].
pub const STORAGE_UNAVAILABLE: &str = "storage_unavailable";

/// The `Retry-After` of a `503 storage_unavailable`: long enough not to
/// hammer a failing database, short enough for a brief outage.
pub const STORAGE_RETRY_AFTER_SECONDS: u64 = 5;

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with no field.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// `429` with `Retry-After`: `wait` rounded up to whole seconds.
    pub fn too_many(code: &'static str, message: &str, wait: Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let seconds = seconds.max(1);
        Self {
            retry_after: Some(seconds),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                code,
                format!("{message}; try again in {seconds} seconds"),
            )
        }
    }

    /// 404 for a missing record.
    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} {id} not found"),
        )
    }

    /// 503 when storage cannot take the request now (database out of
    /// reach, disk full, read-only or failing): the client may retry after
    /// [`STORAGE_RETRY_AFTER_SECONDS`] (a write with the same
    /// `Idempotency-Key`, since this write may still have committed).
    pub fn storage_unavailable() -> Self {
        Self::unavailable(
            STORAGE_UNAVAILABLE,
            "storage is unavailable; try again shortly",
            STORAGE_RETRY_AFTER_SECONDS,
        )
    }

    /// `503` with `Retry-After: seconds`: the server cannot answer now,
    /// the same request may succeed later.
    pub fn unavailable(code: &'static str, message: impl Into<String>, seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
        }
    }

    /// 400 for a bad query or path parameter.
    pub fn bad_parameter(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_parameter", message)
        }
    }
}

/// Malformed requests are 400; well-formed requests that break a domain rule are 422.
fn status_for(code: &str) -> StatusCode {
    match code {
        "invalid_json" | "unknown_field" | "invalid_parameter" | "invalid_status"
        | "unknown_layer" | "invalid_action" => StatusCode::BAD_REQUEST,
        // The request is fine; the current status does not allow it.
        "invalid_transition" => StatusCode::CONFLICT,
        // Likewise: another moderator already hid (or unhid) the issue.
        "already_hidden" | "not_hidden" => StatusCode::CONFLICT,
        // The issue changed between the server's read and its commit.
        "conflict" => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self {
            status: status_for(e.code),
            code: e.code,
            message: e.message.into_owned(),
            field: e.field.map(|f| f.into_owned()),
            retry_after: None,
        }
    }
}

impl From<DataError> for ApiError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::Invalid(v) => v.into(),
            DataError::NotFound { what, id } => Self::not_found(what, id),
            DataError::IdempotencyConflict => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different report",
            ),
            ref unavailable if unavailable.is_unavailable() => {
                tracing::warn!(error = %e, "storage unavailable");
                Self::storage_unavailable()
            }
            other => {
                // Details go to the log, not to the client.
                tracing::error!(error = %other, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal server error",
                )
            }
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Data(e) => e.into(),
            WriteError::Duplicate(first) => Self::new(
                StatusCode::CONFLICT,
                "duplicate_report",
                format!(
                    "you reported the same thing here moments ago: it is issue {first} (/api/v1/issues/{first})"
                ),
            ),
            WriteError::Forbidden(message) => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", message)
            }
            WriteError::Task(e) => {
                tracing::error!(error = %e, "issue write task failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal server error",
                )
            }
        }
    }
}

impl From<PhotoError> for ApiError {
    fn from(e: PhotoError) -> Self {
        match e {
            PhotoError::Disabled => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "media_unavailable",
                "this server keeps no photos",
            ),
            PhotoError::Refused(refused @ Refused::UnsupportedType) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                refused.to_string(),
            ),
            PhotoError::Refused(refused @ Refused::TooLarge(_)) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "image_too_large",
                refused.to_string(),
            ),
            PhotoError::Refused(refused @ Refused::Invalid(_)) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_image",
                refused.to_string(),
            ),
            PhotoError::Io(e) => {
                // A full or failing disk: like a database that cannot write.
                tracing::warn!(error = %e, "the media directory cannot be written");
                Self::storage_unavailable()
            }
            PhotoError::Write(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": {"code": self.code, "message": self.message, "field": self.field}});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
