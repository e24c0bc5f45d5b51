//! The background sweep: expires registrations whose deadlines passed,
//! lapses tier exceptions whose end date came, escalates registrations past
//! their response SLA, reminds partners of first meetings coming due, and
//! delivers queued notifications. Reads are correct without it (each read
//! applies a due expiry, and an exception past its date no longer counts);
//! the sweep makes sure tiers, the event log, lists and people catch up
//! even when nobody looks. Every step works from stored state, so several
//! processes may sweep one database and a restart repeats nothing.

use crate::mail::OutgoingMail;
use crate::AppState;
use std::time::Duration;

/// Notifications sent per sweep; the next sweep sends the rest.
const DELIVERY_BATCH: i64 = 100;

pub fn spawn(state: AppState, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            run_once(&state).await;
        }
    });
}

/// One sweep; each step's failure is logged and retried next time.
pub async fn run_once(state: &AppState) {
    let (program, now) = (&state.program, state.clock.now());
    let store = &state.store;
    report("expired", store.expire_due(program, now).await);
    report(
        "exceptions lapsed",
        store.lapse_exceptions(program, now).await,
    );
    report("escalated", store.escalate_overdue(program, now).await);
    report(
        "meetings reminded",
        store.remind_meetings(program, now).await,
    );
    report("notifications sent", deliver(state).await);
}

fn report<E: std::fmt::Display>(what: &'static str, outcome: Result<u64, E>) {
    match outcome {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "sweep: {what}"),
        Err(e) => tracing::warn!(error = %e, "sweep: {what} failed; retrying next time"),
    }
}

/// Sends the notifications due now; a failed send is tried again later.
async fn deliver(state: &AppState) -> Result<u64, trellis_store::StoreError> {
    let now = state.clock.now();
    let mut sent = 0;
    for note in state.store.claim_notifications(now, DELIVERY_BATCH).await? {
        let mail = OutgoingMail {
            to: note.recipient.clone(),
            subject: note.subject.clone(),
            text: note.body.clone(),
            in_reply_to: None,
        };
        match state.mailer.send(&mail).await {
            Ok(()) => {
                state.store.notification_sent(note.id, now).await?;
                sent += 1;
            }
            Err(e) => {
                tracing::warn!(error = %e, id = note.id, "notification not sent; it will be retried");
                let error = format!("{e:#}");
                state.store.notification_failed(&note, &error, now).await?;
            }
        }
    }
    Ok(sent)
}
