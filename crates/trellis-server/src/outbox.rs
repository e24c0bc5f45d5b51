//! Delivering the notification outbox through the mailer: due messages in
//! the sweep, and an answer that follows a change at once (queued first, so
//! a relay that is down only delays it).

use crate::mail::OutgoingMail;
use crate::AppState;
use trellis_store::{NewNotification, Notification, StoreError};

/// Notifications sent per sweep; the next sweep sends the rest.
const DELIVERY_BATCH: i64 = 100;

/// Sends the notifications due now; returns how many went out.
pub async fn deliver_due(state: &AppState) -> Result<u64, StoreError> {
    let now = state.clock.now();
    let mut sent = 0;
    for note in state.store.claim_notifications(now, DELIVERY_BATCH).await? {
        sent += u64::from(send(state, &note).await?);
    }
    Ok(sent)
}

/// Queues `mail` and sends it now; if sending fails it stays queued and
/// the sweep retries it. Never for mail carrying a secret (a magic link):
/// the queue is stored as written.
pub async fn send_now(
    state: &AppState,
    kind: &str,
    mail: &OutgoingMail,
) -> Result<bool, StoreError> {
    let new = NewNotification {
        kind: kind.into(),
        recipient: mail.to.clone(),
        subject: mail.subject.clone(),
        body: mail.text.clone(),
        in_reply_to: mail.in_reply_to.clone(),
        registration_id: None,
    };
    let note = state.store.queue_claimed(&new, state.clock.now()).await?;
    send(state, &note).await
}

/// Sends one claimed message and settles it; returns whether it went out.
async fn send(state: &AppState, note: &Notification) -> Result<bool, StoreError> {
    let now = state.clock.now();
    let mail = OutgoingMail {
        to: note.recipient.clone(),
        subject: note.subject.clone(),
        text: note.body.clone(),
        in_reply_to: note.in_reply_to.clone(),
    };
    match state.mailer.send(&mail).await {
        Ok(()) => {
            state.store.notification_sent(note.id, now).await?;
            Ok(true)
        }
        Err(e) => {
            tracing::warn!(error = %e, id = note.id, "notification not sent; it will be retried");
            state
                .store
                .notification_failed(note, &format!("{e:#}"), now)
                .await?;
            Ok(false)
        }
    }
}
