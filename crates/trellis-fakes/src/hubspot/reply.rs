//! What the fake answers, in HubSpot's shapes: an error body always has
//! `status: "error"`, `message`, `correlationId` and `category`.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::schema::Problem;

/// A status and a JSON body.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body,
        }
    }

    pub fn error(status: StatusCode, category: &str, message: impl Into<String>) -> Reply {
        Reply {
            status,
            body: json!({
                "status": "error",
                "message": message.into(),
                "correlationId": correlation_id(),
                "category": category,
            }),
        }
    }

    /// A 400 about the request itself (too many inputs, bad JSON...).
    pub fn invalid(message: impl Into<String>) -> Reply {
        Reply::error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    /// HubSpot's 400 for refused property values: the problems as a JSON
    /// list inside `message`, and again in `errors`.
    pub fn refused_values(problems: &[Problem]) -> Reply {
        let mut reply = Reply::invalid(values_message(problems));
        reply.body["errors"] = problems.iter().map(problem_detail).collect();
        reply
    }

    pub fn unknown_object(object: &str) -> Reply {
        Reply::error(
            StatusCode::BAD_REQUEST,
            "OBJECT_NOT_FOUND",
            format!("Unable to infer object type from: {object}"),
        )
    }

    pub fn unauthorized() -> Reply {
        Reply::error(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication \
             and you can find more details at \
             https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )
    }

    pub fn missing_scopes(scope: &str) -> Reply {
        let mut reply = Reply::error(
            StatusCode::FORBIDDEN,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. Read more \
             about required scopes here: https://developers.hubspot.com/scopes.",
        );
        reply.body["errors"] = json!([{
            "message": "One or more of the following scopes are required.",
            "context": { "requiredGranularScopes": [scope] },
        }]);
        reply
    }

    pub fn rate_limited() -> Reply {
        let mut reply = Reply::error(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITS",
            "You have reached your ten_secondly_rolling limit.",
        );
        reply.body["errorType"] = json!("RATE_LIMIT");
        reply.body["policyName"] = json!("TEN_SECONDLY_ROLLING");
        reply
    }

    pub fn server_error() -> Reply {
        Reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "internal error",
        )
    }
}

/// One entry of a batch's `errors`, naming its inputs' trace ids.
pub(crate) fn batch_error(problems: &[Problem], trace_id: &str) -> Value {
    json!({
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": values_message(problems),
        "context": { "objectWriteTraceId": [trace_id] },
        "errors": problems.iter().map(problem_detail).collect::<Vec<_>>(),
    })
}

fn values_message(problems: &[Problem]) -> String {
    let list: Vec<Value> = problems
        .iter()
        .map(|p| {
            json!({
                "isValid": false,
                "message": p.message,
                "error": p.code,
                "name": p.property,
                "localizedErrorMessage": p.message,
            })
        })
        .collect();
    format!("Property values were not valid: {}", Value::Array(list))
}

fn problem_detail(problem: &Problem) -> Value {
    json!({
        "message": problem.message,
        "code": problem.code,
        "context": { "propertyName": [problem.property] },
    })
}

/// Distinct per answer, in the form HubSpot uses (a UUID).
fn correlation_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "00000000-0000-4000-8000-{:012x}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Unix milliseconds as HubSpot writes instants (`2019-10-30T03:30:17.883Z`).
pub(crate) fn iso(millis: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|instant| instant.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Now, in Unix milliseconds.
pub(crate) fn now_millis() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}
