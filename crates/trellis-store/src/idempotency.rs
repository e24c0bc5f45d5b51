//! `Idempotency-Key` support for creating requests: a retried request with
//! the same key and body gets the first answer again instead of a second
//! registration; the same key with a different body is refused.

use crate::db::Store;
use crate::error::Result;
use crate::rows::{micros, RowExt};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// What a stored key says about a new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyOutcome {
    /// First time: process it, then [`Store::remember_response`].
    New,
    /// Seen with the same body: answer this again.
    Replay(StoredResponse),
    /// Seen with another body: refuse.
    Mismatch,
}

/// SHA-256 of a request body, hex encoded.
pub fn request_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

impl Store {
    pub async fn check_idempotency(
        &self,
        principal: &str,
        key: &str,
        body: &[u8],
    ) -> Result<IdempotencyOutcome> {
        let row = sqlx::query("SELECT request_hash, status, body FROM idempotency_keys WHERE principal = $1 AND key = $2")
            .bind(principal)
            .bind(key)
            .fetch_optional(&self.writer)
            .await?;
        let Some(row) = row else {
            return Ok(IdempotencyOutcome::New);
        };
        if row.text("request_hash")? != request_hash(body) {
            return Ok(IdempotencyOutcome::Mismatch);
        }
        Ok(IdempotencyOutcome::Replay(StoredResponse {
            status: u16::try_from(row.int("status")?).unwrap_or(500),
            body: row.text("body")?,
        }))
    }

    /// Keeps a response for replay. A concurrent request with the same key
    /// that finished first wins; this one's answer is then dropped.
    pub async fn remember_response(
        &self,
        principal: &str,
        key: &str,
        body: &[u8],
        response: &StoredResponse,
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO idempotency_keys (principal, key, request_hash, status, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (principal, key) DO NOTHING",
        )
        .bind(principal)
        .bind(key)
        .bind(request_hash(body))
        .bind(i64::from(response.status))
        .bind(&response.body)
        .bind(micros(now))
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
