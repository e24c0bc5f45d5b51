//! Replay protection for signed webhooks: a signature proves who sent a
//! request and when, not that it is the first time it arrives. Each
//! delivery's signature is recorded once; a second arrival is a replay.

use crate::db::Store;
use crate::error::Result;
use crate::rows::micros;
use time::{Duration, OffsetDateTime};

/// Longer than any signature's freshness window (five minutes), so a
/// replay is refused by the window or by this record, never by neither.
const KEEP: Duration = Duration::minutes(15);

impl Store {
    /// Records a delivery by `key` (its channel and signature); false when
    /// it was recorded before: a replay, to be refused.
    pub async fn first_delivery(&self, key: &str, now: OffsetDateTime) -> Result<bool> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE received_at < $1")
            .bind(micros(now - KEEP))
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO webhook_deliveries (key, received_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(inserted.rows_affected() == 1)
    }
}
