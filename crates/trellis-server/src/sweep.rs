//! The background sweep: expires registrations whose deadlines passed,
//! lapses tier exceptions whose end date came, escalates registrations past
//! their response SLA, reminds partners of first meetings coming due, sends
//! weekly summaries and the quarterly review reminder, purges expired
//! sign-in links and sessions, and delivers queued notifications. Reads are correct without it (each read
//! applies a due expiry, and an exception past its date no longer counts);
//! the sweep makes sure tiers, the event log, lists and people catch up
//! even when nobody looks. Every step works from stored state, so several
//! processes may sweep one database and a restart repeats nothing.

use crate::AppState;
use std::time::Duration;

pub fn spawn(state: AppState, every: Duration) {
    tokio::spawn(async move {
        // The first sweep comes one interval after start, not at once: a
        // process that just started (or a test that just set its clock)
        // has nothing overdue that cannot wait that long.
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
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
    let (store, team) = (&state.store, &state.team_channels());
    report("expired", store.expire_due(program, now).await);
    report(
        "exceptions lapsed",
        store.lapse_exceptions(program, now).await,
    );
    report(
        "escalated",
        store.escalate_overdue(program, team, now).await,
    );
    report(
        "meetings reminded",
        store.remind_meetings(program, now).await,
    );
    report(
        "weekly summaries",
        store.send_weekly_summaries(program, now).await,
    );
    let review = store.remind_review(program, team, now).await.map(u64::from);
    report("review reminders", review);
    report(
        "expired sign-ins purged",
        store.purge_expired_sign_ins(now).await,
    );
    report(
        "notifications sent",
        crate::outbox::deliver_due(state).await,
    );
}

fn report<E: std::fmt::Display>(what: &'static str, outcome: Result<u64, E>) {
    match outcome {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "sweep: {what}"),
        Err(e) => tracing::warn!(error = %e, "sweep: {what} failed; retrying next time"),
    }
}
