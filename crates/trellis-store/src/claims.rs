//! Claiming due rows of a queue table (the notification outbox, the CRM
//! sync): several processes may claim at once and each row goes to one of
//! them (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer). A
//! claim that is never settled (a crash mid-send) lapses, so the row is
//! sent again rather than lost.

use crate::db::Store;
use crate::error::Result;
use crate::rows::micros;
use sqlx::any::AnyRow;
use time::{Duration, OffsetDateTime};

/// A queue table and how its rows are named, told pending and ordered.
pub(crate) struct Queue {
    pub table: &'static str,
    pub key: &'static str,
    /// The condition a pending row meets (`status = 'pending'`).
    pub pending: &'static str,
    pub order: &'static str,
    /// The columns the claim answers with.
    pub returning: &'static str,
}

impl Store {
    /// Claims up to `limit` rows of `queue` due at `now`, for `hold`.
    pub(crate) async fn claim_due(
        &self,
        queue: &Queue,
        now: OffsetDateTime,
        hold: Duration,
        limit: i64,
    ) -> Result<Vec<AnyRow>> {
        let Queue {
            table,
            key,
            pending,
            order,
            returning,
        } = queue;
        let sql = format!(
            "UPDATE {table} SET claimed_until = $1 WHERE {key} IN (SELECT {key} FROM {table} \
             WHERE {pending} AND next_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) \
             ORDER BY {order} LIMIT $3{}) RETURNING {returning}",
            self.skip_locked()
        );
        let mut tx = self.write().await?;
        let rows = sqlx::query(&sql)
            .bind(micros(now + hold))
            .bind(micros(now))
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows)
    }
}
