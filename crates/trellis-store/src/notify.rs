//! The notification outbox: messages are queued in the transaction that
//! decides them, and delivered afterwards by whichever process claims them,
//! at least once, with exponential backoff and jitter between attempts. A
//! message that keeps failing becomes a dead letter staff can retry; one
//! that cannot succeed (a revoked Slack webhook) becomes one at once.
//!
//! Each message goes out on one channel: a mail to an address, or a Slack
//! message to a partner's or the partner team's channel. A Slack message
//! names whose channel, never the webhook URL, which is read at delivery.

use crate::claims::Queue;
use crate::db::{Store, Tx};
use crate::error::Result;
use crate::retry::retry_delay;
use crate::rows::{micros, RowExt};
use serde::Serialize;
use sqlx::any::AnyRow;
use time::{Duration, OffsetDateTime};
use trellis_domain::ids::{PartnerId, RegistrationId};
use trellis_notices::{Mail, Notice};

/// Attempts before a message is a dead letter (the last waits ~4 hours).
const MAX_ATTEMPTS: i64 = 8;
/// The outbox, in the order messages were queued.
const QUEUE: Queue = Queue {
    table: "notifications",
    key: "id",
    pending: "status = 'pending'",
    order: "id",
    returning: "*",
};

/// How long a claim keeps other processes off a message being sent.
const CLAIM: Duration = Duration::minutes(5);
/// The first retry's delay; each further one doubles it.
const FIRST_RETRY: Duration = Duration::minutes(1);
/// No wait between attempts is longer, however many were made.
const MAX_DELAY: Duration = Duration::hours(4);

/// The channel a message goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryChannel {
    Email,
    Slack,
}

impl DeliveryChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryChannel::Email => "email",
            DeliveryChannel::Slack => "slack",
        }
    }

    fn parse(text: &str) -> Option<DeliveryChannel> {
        [DeliveryChannel::Email, DeliveryChannel::Slack]
            .into_iter()
            .find(|c| c.as_str() == text)
    }
}

/// Whose Slack channel a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlackChannel {
    /// The partner's own incoming webhook.
    Partner(PartnerId),
    /// The partner team's (`--slack-webhook-url`).
    Program,
}

impl SlackChannel {
    /// As stored in `recipient`: `partner:12` or `program`.
    fn stored(self) -> String {
        match self {
            SlackChannel::Partner(id) => format!("partner:{id}"),
            SlackChannel::Program => "program".into(),
        }
    }

    fn parse(text: &str) -> Option<SlackChannel> {
        match text.strip_prefix("partner:") {
            Some(id) => id
                .parse()
                .ok()
                .map(|id| SlackChannel::Partner(PartnerId(id))),
            None => (text == "program").then_some(SlackChannel::Program),
        }
    }
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub kind: String,
    pub channel: DeliveryChannel,
    /// An address, or for Slack whose channel (see [`SlackChannel`]).
    pub recipient: String,
    pub subject: String,
    /// The plain text: the mail's text part, or what a Slack message says.
    pub body: String,
    /// The mail's HTML part.
    pub html: Option<String>,
    /// The Slack message as JSON (Block Kit).
    pub slack_message: Option<String>,
    pub in_reply_to: Option<String>,
    pub registration_id: Option<RegistrationId>,
}

/// A notice written out once, to be queued for each of its recipients.
#[derive(Debug, Clone)]
pub struct Outgoing {
    kind: &'static str,
    registration_id: Option<RegistrationId>,
    mail: Mail,
    slack: String,
}

impl Outgoing {
    pub fn new(notice: &Notice, program: &str) -> Outgoing {
        Outgoing {
            kind: notice.kind(),
            registration_id: notice.case().map(|case| case.number.0),
            mail: notice.mail(program),
            slack: notice.slack(program).to_string(),
        }
    }

    /// The notice as a mail to `to`.
    pub fn email(&self, to: &str) -> NewNotification {
        let mut note = self.addressed(DeliveryChannel::Email, to.to_owned());
        note.html = Some(self.mail.html.clone());
        note
    }

    /// The notice as a Slack message to `channel`.
    pub fn slack(&self, channel: SlackChannel) -> NewNotification {
        let mut note = self.addressed(DeliveryChannel::Slack, channel.stored());
        note.slack_message = Some(self.slack.clone());
        note
    }

    fn addressed(&self, channel: DeliveryChannel, recipient: String) -> NewNotification {
        NewNotification {
            kind: self.kind.into(),
            channel,
            recipient,
            subject: self.mail.subject.clone(),
            body: self.mail.text.clone(),
            html: None,
            slack_message: None,
            in_reply_to: None,
            registration_id: self.registration_id,
        }
    }
}

/// A queued message.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub channel: DeliveryChannel,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    #[serde(skip)]
    pub html: Option<String>,
    #[serde(skip)]
    pub slack_message: Option<String>,
    pub in_reply_to: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Notification {
    /// Whose Slack channel this message is for; `None` for a mail.
    pub fn slack_channel(&self) -> Option<SlackChannel> {
        match self.channel {
            DeliveryChannel::Slack => SlackChannel::parse(&self.recipient),
            DeliveryChannel::Email => None,
        }
    }
}

/// Why a delivery failed, as the settling of the message needs it.
#[derive(Debug, Clone, Copy)]
pub enum Failure<'a> {
    /// Worth another try: after the usual backoff, or at the time the
    /// receiver asked for (Slack's `Retry-After`).
    Transient {
        error: &'a str,
        retry_at: Option<OffsetDateTime>,
    },
    /// Will fail the same way every time (a revoked webhook, an archived
    /// channel): a dead letter at once, with the receiver's own words.
    Permanent { error: &'a str },
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
             registration_id, created_at, claimed_until, channel, html, slack_message) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $6, $8, $9, $10, $11) RETURNING *",
        )
        .bind(&note.kind)
        .bind(&note.recipient)
        .bind(&note.subject)
        .bind(&note.body)
        .bind(note.in_reply_to.as_deref())
        .bind(micros(now))
        .bind(note.registration_id.map(|id| id.0))
        .bind(claimed_until.map(micros))
        .bind(note.channel.as_str())
        .bind(note.html.as_deref())
        .bind(note.slack_message.as_deref())
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
        let rows = self.claim_due(&QUEUE, now, CLAIM, limit).await?;
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

    /// Settles a claimed message as failed. A transient failure is tried
    /// again when the receiver asked, or else after a delay that doubles
    /// each time (with up to a quarter of jitter, so a relay that comes back
    /// is not met by every message at once); after [`MAX_ATTEMPTS`], or at
    /// once for a permanent failure, it is a dead letter.
    pub async fn notification_failed(
        &self,
        note: &Notification,
        failure: Failure<'_>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let attempts = note.attempts + 1;
        let (error, retry_at, permanent) = match failure {
            Failure::Transient { error, retry_at } => (error, retry_at, false),
            Failure::Permanent { error } => (error, None, true),
        };
        let status = if permanent || attempts >= MAX_ATTEMPTS {
            "dead"
        } else {
            "pending"
        };
        let next_at = retry_at
            .unwrap_or_else(|| now + retry_delay(FIRST_RETRY, attempts, note.id, MAX_DELAY));
        sqlx::query(
            "UPDATE notifications SET status = $2, attempts = $3, last_error = $4, next_at = $5, \
             claimed_until = NULL WHERE id = $1",
        )
        .bind(note.id)
        .bind(status)
        .bind(attempts)
        .bind(error)
        .bind(micros(next_at))
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
        channel: row.parsed("channel", DeliveryChannel::parse)?,
        recipient: row.text("recipient")?,
        subject: row.text("subject")?,
        body: row.text("body")?,
        html: row.opt_text("html")?,
        slack_message: row.opt_text("slack_message")?,
        in_reply_to: row.opt_text("in_reply_to")?,
        status: row.text("status")?,
        attempts: row.int("attempts")?,
        last_error: row.opt_text("last_error")?,
        created_at: row.at("created_at")?,
    })
}
