//! The domain's one error type. The HTTP layer maps each variant to a status
//! code in one place; messages are written for the person who must fix them.

use crate::dedupe::ValueError;
use crate::ids::CaseNumber;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Input that can never be valid, whatever the state (422).
    #[error(transparent)]
    Invalid(#[from] ValueError),
    /// A required field is missing or empty (422).
    #[error("{field}: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
    /// The command is not allowed in the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// The partner already holds an active registration for this account
    /// (409); bulk imports report it as a duplicate row.
    #[error(
        "your partner already holds an active registration for this account: {existing} ({status})"
    )]
    AlreadyRegistered {
        existing: CaseNumber,
        status: &'static str,
    },
}

impl DomainError {
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::Field {
            field,
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        DomainError::Conflict(message.into())
    }
}
