//! `Idempotency-Key` for creating registrations. The key is stored in the
//! same transaction as the registration it created, so a retry can never
//! register twice, even when the process died before answering; the answer
//! itself is kept afterwards for an exact replay.

use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::rows::{micros, RowExt};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use trellis_domain::ids::RegistrationId;

/// A request as the key identifies it: who sent it, the key, and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub principal: String,
    pub key: String,
    /// SHA-256 of the body, hex encoded.
    pub body_hash: String,
}

impl RequestKey {
    pub fn new(principal: String, key: String, body: &[u8]) -> RequestKey {
        RequestKey {
            principal,
            key,
            body_hash: hex::encode(Sha256::digest(body)),
        }
    }
}

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// What a stored key says about a new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyOutcome {
    /// First time: process it.
    New,
    /// Seen with the same body: answer this again.
    Replay(StoredResponse),
    /// Seen with the same body, but its answer was never recorded (the
    /// process stopped in between): answer from the registration it created.
    Created(RegistrationId),
    /// Seen with another body: refuse.
    Mismatch,
}

/// Records the key inside the registration's transaction. A concurrent
/// request with the same key loses here, and its registration rolls back.
pub(crate) async fn reserve(
    tx: &mut Tx,
    request: &RequestKey,
    created: RegistrationId,
    now: OffsetDateTime,
) -> Result<()> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (principal, key, request_hash, registration_id, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&request.principal)
    .bind(&request.key)
    .bind(&request.body_hash)
    .bind(created.0)
    .bind(micros(now))
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from);
    match inserted {
        Err(e) if e.is_unique_violation() => Err(StoreError::conflict(
            "another request with this Idempotency-Key was processed at the same moment; retry to get its answer",
        )),
        other => other.map(|_| ()),
    }
}

impl Store {
    pub async fn check_idempotency(&self, request: &RequestKey) -> Result<IdempotencyOutcome> {
        let row = sqlx::query(
            "SELECT request_hash, registration_id, status, body FROM idempotency_keys WHERE principal = $1 AND key = $2",
        )
        .bind(&request.principal)
        .bind(&request.key)
        .fetch_optional(&self.writer)
        .await?;
        let Some(row) = row else {
            return Ok(IdempotencyOutcome::New);
        };
        if row.text("request_hash")? != request.body_hash {
            return Ok(IdempotencyOutcome::Mismatch);
        }
        Ok(match (row.opt_int("status")?, row.opt_text("body")?) {
            (Some(status), Some(body)) => IdempotencyOutcome::Replay(StoredResponse {
                status: u16::try_from(status).unwrap_or(500),
                body,
            }),
            _ => IdempotencyOutcome::Created(RegistrationId(row.int("registration_id")?)),
        })
    }

    /// Keeps the answer sent for a key, for exact replays.
    pub async fn remember_response(
        &self,
        request: &RequestKey,
        response: &StoredResponse,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $3, body = $4 WHERE principal = $1 AND key = $2",
        )
        .bind(&request.principal)
        .bind(&request.key)
        .bind(i64::from(response.status))
        .bind(&response.body)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
