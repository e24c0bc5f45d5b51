//! The store's error. It hides the database driver: callers learn what went
//! wrong in domain terms, and driver details stay in the logs.

use trellis_domain::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist, or the caller may not see it.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A business rule refused the command.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The database failed; the details are for the logs only.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A shared commit failed, so nothing of this write was kept; the
    /// database's details are in the log.
    #[error("the write was not committed: {0}")]
    CommitFailed(String),
    /// Stored data could not be read back (a bug or a hand-edited row).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn conflict(message: impl Into<String>) -> StoreError {
        StoreError::Domain(DomainError::conflict(message))
    }

    /// True when the database refused a write because a unique key exists.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => db.is_unique_violation(),
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The answer of a spawned lookup: its own, or the panic it raised. Only a
/// runtime shutting down cancels one, and then the pool is going too.
pub(crate) fn joined<T>(done: std::result::Result<Result<T>, tokio::task::JoinError>) -> Result<T> {
    match done {
        Ok(found) => found,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(StoreError::Database(sqlx::Error::PoolClosed)),
    }
}
