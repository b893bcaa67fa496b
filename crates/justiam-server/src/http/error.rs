//! The single table from errors to status, `code`, headers and the JSON error body. The web UI
//! answers by the same table (`ui::view::UiError`), with a page instead of the JSON body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use justiam_core::CoreError;
use justiam_types::ErrorBody;
use serde_json::json;

use crate::telemetry::request_id::current_request_id;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<serde_json::Value>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation_error", message)
            .with_details(json!({ "field": field }))
    }

    pub fn missing_credential() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs a credential: send Authorization: Bearer <token>",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine `code`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message for the client (never a server-side detail).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Seconds for `Retry-After` (`429`).
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }
}

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> Self {
        use StatusCode as S;
        let message = error.to_string();
        match error {
            CoreError::Validation { field, .. } => Self::validation(&field, message),
            CoreError::BadRequest { code, .. } => Self::new(S::BAD_REQUEST, code, message),
            CoreError::NotFound(_) => Self::new(S::NOT_FOUND, "not_found", message),
            CoreError::Conflict { code, .. } => Self::new(S::CONFLICT, code, message),
            CoreError::MissingPermission(p) => Self::new(S::FORBIDDEN, "forbidden", message)
                .with_details(json!({ "permission": p.as_str() })),
            CoreError::CannotGrant(p) | CoreError::Outranked(p) => {
                Self::new(S::FORBIDDEN, "forbidden", message)
                    .with_details(json!({ "permission": p.as_str() }))
            }
            CoreError::OwnerLacks(p) => Self::new(S::FORBIDDEN, "forbidden", message)
                .with_details(json!({ "permission": p.as_str(), "field": "permissions" })),
            CoreError::Forbidden { code, .. } => Self::new(S::FORBIDDEN, code, message),
            CoreError::InvalidToken => Self::new(S::UNAUTHORIZED, "invalid_token", message),
            CoreError::Unauthorized { code, .. } => Self::new(S::UNAUTHORIZED, code, message),
            CoreError::InvalidCredentials => {
                Self::new(S::UNAUTHORIZED, "invalid_credentials", message)
            }
            CoreError::Throttled { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(S::TOO_MANY_REQUESTS, "too_many_requests", message)
            },
            CoreError::Unavailable { code, .. } => Self::new(S::SERVICE_UNAVAILABLE, code, message),
            CoreError::Database(e) if is_unavailable(&e) => {
                tracing::error!(request_id = current_request_id().as_str(), error = %e, "database unavailable");
                Self::new(
                    S::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; retry shortly",
                )
            }
            CoreError::Database(e) => {
                tracing::error!(request_id = current_request_id().as_str(), error = %e, "database error");
                Self::internal()
            }
            CoreError::Internal(e) => {
                tracing::error!(request_id = current_request_id().as_str(), error = %format!("{e:#}"), "internal error");
                Self::internal()
            }
        }
    }
}

/// The database is down or going away (rather than refusing this statement): answer `503`, so
/// clients retry instead of reporting a bug.
fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), 57P (shutdown, admin command), 53300 (too many
        // connections).
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P") || code == "53300"
        }),
        _ => false,
    }
}

/// The challenge of a `401` for a request that sent no bearer credential: RFC 6750 §3.1 gives it no
/// error code (the client may not have known authentication was needed).
const CHALLENGE_WITHOUT_CREDENTIAL: &str = r#"Bearer realm="justiam""#;
/// The challenge of a `401` for a bearer credential that was sent and refused.
const CHALLENGE_REFUSED_CREDENTIAL: &str = r#"Bearer error="invalid_token""#;

impl ApiError {
    /// `WWW-Authenticate` of a `401` (none for a failed password login, which is no bearer
    /// authentication).
    fn challenge(&self) -> Option<&'static str> {
        match (self.status, self.code) {
            (
                StatusCode::UNAUTHORIZED,
                "invalid_credentials" | "invalid_mfa_code" | "invalid_mfa_token",
            ) => None,
            (StatusCode::UNAUTHORIZED, "unauthorized") => Some(CHALLENGE_WITHOUT_CREDENTIAL),
            (StatusCode::UNAUTHORIZED, _) => Some(CHALLENGE_REFUSED_CREDENTIAL),
            _ => None,
        }
    }

    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred; the request id in the x-request-id header identifies it in the server log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let challenge = self.challenge();
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
            details: self.details,
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        close_if_body_unread(self.status, headers);
        response
    }
}

/// `413` and `415` are answered before the body is read to its end: the rest of it is still on
/// the wire, so the connection cannot carry another request and the client must not reuse it
/// (RFC 9112 §9.6). Without the header a pooling client races the server's close.
pub fn close_if_body_unread(status: StatusCode, headers: &mut axum::http::HeaderMap) {
    if matches!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE
    ) {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

pub async fn route_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method",
    )
}
