//! The notification outbox: messages are queued in the transaction that
//! decides them, and delivered afterwards by whichever process claims them,
//! at least once, with exponential backoff and jitter between attempts. A
//! message that keeps failing becomes a dead letter staff can retry.

use crate::db::{Store, Tx};
use crate::error::Result;
use crate::retry::retry_delay;
use crate::rows::{micros, RowExt};
use serde::Serialize;
use sqlx::any::AnyRow;
use time::{Duration, OffsetDateTime};
use trellis_domain::ids::RegistrationId;

/// Attempts before a message is a dead letter (the last waits ~4 hours).
const MAX_ATTEMPTS: i64 = 8;
/// How long a claim keeps other processes off a message being sent.
const CLAIM: Duration = Duration::minutes(5);
/// The first retry's delay; each further one doubles it.
const FIRST_RETRY: Duration = Duration::minutes(1);
/// No wait between attempts is longer, however many were made.
const MAX_DELAY: Duration = Duration::hours(4);

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub in_reply_to: Option<String>,
    pub registration_id: Option<RegistrationId>,
}

/// A queued message.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub in_reply_to: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Queues messages inside the caller's transaction: they exist exactly
/// when the change they tell of does.
pub(crate) async fn queue(
    tx: &mut Tx,
    notes: &[NewNotification],
    now: OffsetDateTime,
    claimed_until: Option<OffsetDateTime>,
) -> Result<Vec<Notification>> {
    let mut queued = Vec::with_capacity(notes.len());
    for note in notes {
        let row = sqlx::query(
            "INSERT INTO notifications (kind, recipient, subject, body, in_reply_to, status, next_at, \
             registration_id, created_at, claimed_until) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $6, $8) RETURNING *",
        )
        .bind(&note.kind)
        .bind(&note.recipient)
        .bind(&note.subject)
        .bind(&note.body)
        .bind(note.in_reply_to.as_deref())
        .bind(micros(now))
        .bind(note.registration_id.map(|id| id.0))
        .bind(claimed_until.map(micros))
        .fetch_one(&mut **tx)
        .await?;
        queued.push(from_row(&row)?);
    }
    Ok(queued)
}

impl Store {
    /// Queues one message on its own, claimed by the caller, who sends it
    /// at once; should that fail, the sweep tries again. For answers that
    /// follow a committed change (an intake reply), so the answer outlives
    /// a relay that is down.
    pub async fn queue_claimed(
        &self,
        note: &NewNotification,
        now: OffsetDateTime,
    ) -> Result<Notification> {
        let mut tx = self.write().await?;
        let queued = queue(&mut tx, std::slice::from_ref(note), now, Some(now + CLAIM)).await?;
        tx.commit().await?;
        queued
            .into_iter()
            .next()
            .ok_or_else(|| crate::StoreError::Corrupt("a queued notification vanished".into()))
    }

    /// Claims up to `limit` messages due for delivery. Several processes
    /// may call this at once: each message is claimed by one of them, and
    /// a claim that is not settled (a crash mid-send) lapses, so the
    /// message is sent again rather than lost.
    pub async fn claim_notifications(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<Notification>> {
        let mut tx = self.write().await?;
        let sql = format!(
            "UPDATE notifications SET claimed_until = $1 WHERE id IN (SELECT id FROM notifications \
             WHERE status = 'pending' AND next_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) \
             ORDER BY id LIMIT $3{}) RETURNING *",
            self.skip_locked()
        );
        let rows = sqlx::query(&sql)
            .bind(micros(now + CLAIM))
            .bind(micros(now))
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut claimed: Vec<Notification> = rows.iter().map(from_row).collect::<Result<_>>()?;
        claimed.sort_by_key(|n| n.id);
        Ok(claimed)
    }

    /// Settles a claimed message as delivered.
    pub async fn notification_sent(&self, id: i64, now: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE notifications SET status = 'sent', sent_at = $2, claimed_until = NULL WHERE id = $1")
            .bind(id)
            .bind(micros(now))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Settles a claimed message as failed: it is tried again after a delay
    /// that doubles each time (with up to a quarter of jitter, so a relay
    /// that comes back is not met by every message at once), and after
    /// [`MAX_ATTEMPTS`] it is a dead letter.
    pub async fn notification_failed(
        &self,
        note: &Notification,
        error: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let attempts = note.attempts + 1;
        let status = if attempts >= MAX_ATTEMPTS {
            "dead"
        } else {
            "pending"
        };
        let delay = retry_delay(FIRST_RETRY, attempts, note.id, MAX_DELAY);
        sqlx::query(
            "UPDATE notifications SET status = $2, attempts = $3, last_error = $4, next_at = $5, \
             claimed_until = NULL WHERE id = $1",
        )
        .bind(note.id)
        .bind(status)
        .bind(attempts)
        .bind(error)
        .bind(micros(now + delay))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Messages that failed every attempt, newest first.
    pub async fn dead_notifications(&self) -> Result<Vec<Notification>> {
        let rows =
            sqlx::query("SELECT * FROM notifications WHERE status = 'dead' ORDER BY id DESC")
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(from_row).collect()
    }

    /// Puts a dead letter back in the queue, due now, with fresh attempts.
    /// Returns false when there is no such dead letter.
    pub async fn retry_notification(&self, id: i64, now: OffsetDateTime) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE notifications SET status = 'pending', attempts = 0, next_at = $2 \
             WHERE id = $1 AND status = 'dead'",
        )
        .bind(id)
        .bind(micros(now))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every message for one recipient, oldest first (tests and support).
    pub async fn notifications_to(&self, recipient: &str) -> Result<Vec<Notification>> {
        let rows = sqlx::query("SELECT * FROM notifications WHERE recipient = $1 ORDER BY id")
            .bind(recipient)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(from_row).collect()
    }
}

fn from_row(row: &AnyRow) -> Result<Notification> {
    Ok(Notification {
        id: row.int("id")?,
        kind: row.text("kind")?,
        recipient: row.text("recipient")?,
        subject: row.text("subject")?,
        body: row.text("body")?,
        in_reply_to: row.opt_text("in_reply_to")?,
        status: row.text("status")?,
        attempts: row.int("attempts")?,
        last_error: row.opt_text("last_error")?,
        created_at: row.at("created_at")?,
    })
}
