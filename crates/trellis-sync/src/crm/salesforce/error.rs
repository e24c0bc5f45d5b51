//! Salesforce's error answers: how each failed exchange is handled (repeated,
//! signed in again, or given up), and messages that say what to fix.

use crate::crm::CrmError;
use reqwest::StatusCode;
use std::error::Error as _;
use std::time::Duration;

/// What became of one failed HTTP exchange.
#[derive(Debug)]
pub(super) enum Failure {
    /// Worth repeating soon: a 5xx, a timeout, a dropped connection.
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The session token expired or was revoked: sign in again.
    SessionExpired,
    /// Repeating will not help.
    Final(CrmError),
}

impl Failure {
    /// What the caller of the connector learns once no more attempts are made.
    pub(super) fn into_error(self) -> CrmError {
        match self {
            Failure::Transient {
                message,
                retry_after,
            } => CrmError::Unavailable {
                message,
                retry_after,
            },
            Failure::SessionExpired => CrmError::Refused {
                message: "Salesforce refused a session it had just issued (INVALID_SESSION_ID): \
                          check the connected app's session and IP policies for the integration user"
                    .into(),
            },
            Failure::Final(error) => error,
        }
    }
}

/// An answer read whole: its status, `Retry-After` and body.
pub(super) struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub body: String,
}

/// One entry of the array Salesforce answers for a failed call:
/// `[{"message": "...", "errorCode": "INVALID_FIELD", "fields": [...]}]`.
#[derive(Debug, serde::Deserialize)]
struct ApiError {
    message: String,
    #[serde(rename = "errorCode")]
    code: String,
}

/// One entry of an upsert result's `errors`: the same facts under
/// `statusCode`.
#[derive(Debug, serde::Deserialize)]
pub(super) struct RecordError {
    #[serde(rename = "statusCode")]
    code: String,
    message: String,
    #[serde(default)]
    fields: Vec<String>,
}

impl RecordError {
    /// Salesforce's own words, with the fields it blames.
    pub(super) fn describe(&self) -> String {
        if self.fields.is_empty() {
            format!("{}: {}", self.code, self.message)
        } else {
            format!(
                "{}: {} (fields: {})",
                self.code,
                self.message,
                self.fields.join(", ")
            )
        }
    }
}

/// A failed answer of the REST API, by status and Salesforce's error code.
pub(super) fn classify(answer: &Answer) -> Failure {
    let errors: Vec<ApiError> = serde_json::from_str(&answer.body).unwrap_or_default();
    let has = |code: &str| errors.iter().any(|error| error.code == code);
    let said = said(&errors, &answer.body);
    let status = answer.status;
    if status == StatusCode::UNAUTHORIZED && has("INVALID_SESSION_ID") {
        return Failure::SessionExpired;
    }
    if has("REQUEST_LIMIT_EXCEEDED") {
        // Mostly the rolling 24-hour allowance, which seconds of waiting do
        // not restore: the sync queue tries again later instead.
        return Failure::Final(CrmError::Unavailable {
            message: format!("Salesforce's API request limit is reached ({said})"),
            retry_after: answer.retry_after,
        });
    }
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Failure::Transient {
            message: format!("Salesforce answered {status} ({said})"),
            retry_after: answer.retry_after,
        };
    }
    let advice = errors
        .iter()
        .find_map(|error| what_to_fix(&error.code))
        .unwrap_or("");
    Failure::Final(CrmError::Refused {
        message: format!("Salesforce answered {status} ({said}){advice}"),
    })
}

/// A failed answer of the OAuth token endpoint:
/// `{"error": "invalid_grant", "error_description": "..."}`.
pub(super) fn classify_sign_in(answer: &Answer) -> Failure {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: String,
    }
    if answer.status == StatusCode::TOO_MANY_REQUESTS || answer.status.is_server_error() {
        return Failure::Transient {
            message: format!("Salesforce's sign-in answered {}", answer.status),
            retry_after: answer.retry_after,
        };
    }
    let said = match serde_json::from_str::<OAuthError>(&answer.body) {
        Ok(error) => format!("{}: {}", error.error, error.error_description),
        Err(_) => excerpt(&answer.body),
    };
    Failure::Final(CrmError::Refused {
        message: format!(
            "Salesforce refused the sign-in ({said}); check TRELLIS_SALESFORCE_CLIENT_ID, the \
             secret or key file, [crm.salesforce] login_url and username, and that the \
             connected app allows this flow for the integration user"
        ),
    })
}

/// A request that never got a whole answer.
pub(super) fn transport(error: &reqwest::Error) -> Failure {
    if error.is_builder() {
        return Failure::Final(CrmError::Refused {
            message: format!("cannot build a request to Salesforce: {error}"),
        });
    }
    let mut message = if error.is_timeout() {
        "Salesforce did not answer in time".to_owned()
    } else {
        "the connection to Salesforce failed".to_owned()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Failure::Transient {
        message,
        retry_after: None,
    }
}

/// What Salesforce said, as `CODE: message; CODE: message`.
fn said(errors: &[ApiError], body: &str) -> String {
    if errors.is_empty() {
        return excerpt(body);
    }
    errors
        .iter()
        .map(|error| format!("{}: {}", error.code, error.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The start of a body that is not Salesforce's error shape (a proxy's page).
fn excerpt(body: &str) -> String {
    const MAX: usize = 200;
    match body.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &body[..end]),
        None if body.trim().is_empty() => "no details".into(),
        None => body.to_owned(),
    }
}

/// What a person should change for the errors that come from configuration.
fn what_to_fix(code: &str) -> Option<&'static str> {
    Some(match code {
        "INVALID_FIELD" | "INVALID_FIELD_FOR_INSERT_UPDATE" => {
            ": a field named in [crm] does not exist on the object or the integration user \
             cannot see it; compare [crm.fields] and [crm.account_fields] with `trellis crm check`"
        }
        "NOT_FOUND" | "INVALID_TYPE" => {
            ": check [crm] object, account_object, id_property and account_id_property (each \
             External ID field must be marked External ID) and that the integration user can \
             see them"
        }
        "INSUFFICIENT_ACCESS"
        | "INSUFFICIENT_ACCESS_OR_READONLY"
        | "API_DISABLED_FOR_ORG"
        | "API_CURRENTLY_DISABLED"
        | "FUNCTIONALITY_NOT_ENABLED" => {
            ": give the integration user the API Enabled permission and read and edit access \
             to the mapped objects and fields"
        }
        "INVALID_QUERY_LOCATOR" => {
            ": the accounts cursor expired (Salesforce keeps one about 15 minutes between \
             pages); start the pull again"
        }
        "INVALID_QUERY_FILTER_OPERATOR" | "MALFORMED_QUERY" => {
            ": check that the stage and meeting fields in [crm] are queryable fields of the object"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).expect("a status"),
            retry_after: None,
            body: body.into(),
        }
    }

    #[test]
    fn an_unknown_field_is_refused_with_salesforces_words_and_what_to_fix() {
        let body = r#"[{"message":"No such column 'Colour__c' on sobject of type Account","errorCode":"INVALID_FIELD"}]"#;
        let Failure::Final(CrmError::Refused { message }) = classify(&answer(400, body)) else {
            panic!("an unknown field is not worth repeating");
        };
        assert!(
            message.contains("INVALID_FIELD: No such column 'Colour__c'"),
            "{message}"
        );
        assert!(message.contains("[crm.fields]"), "{message}");
    }

    #[test]
    fn server_errors_are_transient_and_an_expired_session_signs_in_again() {
        let body = r#"[{"message":"Server unavailable","errorCode":"SERVER_UNAVAILABLE"}]"#;
        assert!(matches!(
            classify(&answer(503, body)),
            Failure::Transient { .. }
        ));
        assert!(matches!(
            classify(&answer(500, "<html>oops</html>")),
            Failure::Transient { .. }
        ));
        let body = r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        assert!(matches!(
            classify(&answer(401, body)),
            Failure::SessionExpired
        ));
    }

    #[test]
    fn the_request_limit_is_unavailable_at_once() {
        let body =
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        let failure = classify(&answer(403, body));
        let Failure::Final(CrmError::Unavailable { message, .. }) = failure else {
            panic!("the request limit makes Salesforce unavailable, not refusing");
        };
        assert!(
            message.contains("TotalRequests Limit exceeded."),
            "{message}"
        );
    }

    #[test]
    fn a_refused_sign_in_quotes_the_oauth_error() {
        let body = r#"{"error":"invalid_client","error_description":"invalid client credentials"}"#;
        let Failure::Final(CrmError::Refused { message }) = classify_sign_in(&answer(400, body))
        else {
            panic!("bad credentials are refused");
        };
        assert!(
            message.contains("invalid_client: invalid client credentials"),
            "{message}"
        );
    }

    #[test]
    fn long_unknown_bodies_are_cut() {
        let long = "x".repeat(1000);
        assert_eq!(excerpt(&long).chars().count(), 201);
        assert_eq!(excerpt(" "), "no details");
    }
}
