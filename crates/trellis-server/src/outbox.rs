//! Delivering the notification outbox, each message on its channel: mail
//! through the mailer, Slack through the recipient's incoming webhook, read
//! at delivery so a rotated URL takes effect. Due messages go in the sweep;
//! an answer that follows a change goes at once (queued first, so a relay
//! that is down only delays it).

use crate::mail::OutgoingMail;
use crate::AppState;
use std::time::Duration;
use trellis_store::StoreError;
use trellis_store::{DeliveryChannel, Failure, NewNotification, Notification, SlackChannel};

/// Notifications sent per sweep; the next sweep sends the rest.
const DELIVERY_BATCH: i64 = 100;

/// Why a message did not go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undelivered {
    /// Worth another try: after `after` when the receiver said so, else
    /// with the outbox's backoff.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// Will fail the same way every time: a dead letter at once.
    Dead { error: String },
}

/// Sends the notifications due now; returns how many went out.
pub async fn deliver_due(state: &AppState) -> Result<u64, StoreError> {
    let now = state.clock.now();
    let mut sent = 0;
    for note in state.store.claim_notifications(now, DELIVERY_BATCH).await? {
        sent += u64::from(send(state, &note).await?);
    }
    Ok(sent)
}

/// Queues `note` and sends it now; if sending fails it stays queued and
/// the sweep retries it. Never for mail carrying a secret (a magic link):
/// the queue is stored as written.
pub async fn send_now(state: &AppState, note: &NewNotification) -> Result<bool, StoreError> {
    let note = state.store.queue_claimed(note, state.clock.now()).await?;
    send(state, &note).await
}

/// Sends one claimed message and settles it; returns whether it went out.
async fn send(state: &AppState, note: &Notification) -> Result<bool, StoreError> {
    let outcome = match note.channel {
        DeliveryChannel::Email => send_mail(state, note).await,
        DeliveryChannel::Slack => send_slack(state, note).await,
    };
    let now = state.clock.now();
    let (error, failure) = match &outcome {
        Ok(()) => {
            state.store.notification_sent(note.id, now).await?;
            return Ok(true);
        }
        Err(Undelivered::Retry { error, after }) => {
            let retry_at = after.map(|after| now + after);
            (error, Failure::Transient { error, retry_at })
        }
        Err(Undelivered::Dead { error }) => (error, Failure::Permanent { error }),
    };
    tracing::warn!(%error, id = note.id, channel = ?note.channel, "notification not sent");
    state.store.notification_failed(note, failure, now).await?;
    Ok(false)
}

async fn send_mail(state: &AppState, note: &Notification) -> Result<(), Undelivered> {
    let mail = OutgoingMail {
        to: note.recipient.clone(),
        subject: note.subject.clone(),
        text: note.body.clone(),
        html: note.html.clone(),
        in_reply_to: note.in_reply_to.clone(),
    };
    state
        .mailer
        .send(&mail)
        .await
        .map_err(|e| Undelivered::Retry {
            error: format!("{e:#}"),
            after: None,
        })
}

async fn send_slack(state: &AppState, note: &Notification) -> Result<(), Undelivered> {
    let dead = |error: String| Undelivered::Dead { error };
    let message = note
        .slack_message
        .as_deref()
        .ok_or_else(|| dead("the queued Slack message has no content".into()))?;
    let hook = match note.slack_channel() {
        Some(SlackChannel::Partner(partner)) => state
            .store
            .partner_channels(partner)
            .await
            .map_err(|e| Undelivered::Retry {
                error: format!("reading the partner's Slack webhook: {e}"),
                after: None,
            })?
            .slack_webhook
            .ok_or_else(|| {
                dead(format!(
                    "partner {partner} has no Slack webhook URL: set one (PATCH /api/v1/partners/{partner}) \
                     or choose notify_via email, then retry"
                ))
            })?,
        Some(SlackChannel::Program) => state.secrets.slack_webhook_url.clone().ok_or_else(|| {
            dead("the program has no Slack webhook URL (--slack-webhook-url): set it, then retry".into())
        })?,
        None => return Err(dead(format!("no Slack channel is named {:?}", note.recipient))),
    };
    crate::slack_webhook::post(&state.http, &hook, message).await
}
