//! The API's one error type, mapped to `application/problem+json` (RFC 9457)
//! in one place. Domain and store errors become 4xx with the rule's own
//! words; anything internal is logged with its context and answered as a
//! bare 500, so no driver message or stack detail leaks to a caller.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use trellis_domain::DomainError;
use trellis_store::StoreError;

/// One field that needs fixing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug)]
pub enum ApiError {
    /// The request could not be read at all (400).
    BadRequest(String),
    /// No token, or a token Trellis does not know (401).
    Unauthorized,
    /// The caller is known but may not do this (403).
    Forbidden(String),
    /// Missing, or not the caller's to see (404).
    NotFound(String),
    /// Not allowed in the current state (409).
    Conflict(String),
    /// The body is too large (413).
    TooLarge(String),
    /// Not JSON when JSON was expected (415).
    UnsupportedMediaType(String),
    /// Well-formed but invalid fields (422).
    Invalid(Vec<FieldError>),
    /// Idempotency-Key reused with a different body (422).
    KeyReused,
    /// A bug or an outage; details go to the log only (500).
    Internal(anyhow::Error),
}

/// The problem document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A stable URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    /// What went wrong and what to fix, in plain words.
    pub detail: String,
    /// Each invalid field, for 422 answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// The status and the human message, for pages that show the problem
    /// in place (an internal error is logged, as always).
    pub fn status_and_detail(self) -> (StatusCode, String) {
        let (status, _, detail, _) = self.parts();
        (status, detail)
    }

    /// The human message alone, for channels that answer in their own medium.
    pub fn detail(self) -> String {
        self.parts().2
    }

    fn parts(self) -> (StatusCode, &'static str, String, Vec<FieldError>) {
        match self {
            ApiError::BadRequest(d) => (StatusCode::BAD_REQUEST, "bad-request", d, vec![]),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send a valid token as 'Authorization: Bearer <token>'".into(),
                vec![],
            ),
            ApiError::Forbidden(d) => (StatusCode::FORBIDDEN, "forbidden", d, vec![]),
            ApiError::NotFound(d) => (StatusCode::NOT_FOUND, "not-found", d, vec![]),
            ApiError::Conflict(d) => (StatusCode::CONFLICT, "conflict", d, vec![]),
            ApiError::TooLarge(d) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", d, vec![]),
            ApiError::UnsupportedMediaType(d) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", d, vec![])
            }
            ApiError::Invalid(errors) => {
                let detail = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail, errors)
            }
            ApiError::KeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "this Idempotency-Key was already used with a different request body; use a new key for a new request".into(),
                vec![],
            ),
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side; it has been logged, and the request may be retried".into(),
                    vec![],
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, detail, errors) = self.parts();
        let problem = Problem {
            kind: format!("/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            errors,
        };
        let body = serde_json::to_string(&problem).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        match e {
            DomainError::Field { field, message } => ApiError::invalid(field, message),
            DomainError::Invalid(v) => ApiError::invalid("value", v.to_string()),
            DomainError::Conflict(message) => ApiError::Conflict(message),
            already @ DomainError::AlreadyRegistered { .. } => {
                ApiError::Conflict(already.to_string())
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            StoreError::Domain(d) => d.into(),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let text = rejection.body_text();
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(
                "the request body is larger than the 1 MiB this endpoint accepts".into(),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
                "send the body as JSON with 'Content-Type: application/json'".into(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::invalid("body", text),
            _ => ApiError::BadRequest(format!("the body is not valid JSON: {text}")),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::invalid("query", rejection.body_text())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
