//! The background sweep: expires registrations whose deadlines passed and
//! lapses tier exceptions whose end date came. Reads are correct without it
//! (each read applies a due expiry, and an exception past its date no
//! longer counts); the sweep makes sure tiers, the event log and lists
//! catch up even when nobody looks.

use crate::AppState;
use std::time::Duration;

pub fn spawn(state: AppState, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match state
                .store
                .expire_due(&state.program, state.clock.now())
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "expiry sweep"),
                Err(e) => tracing::warn!(error = %e, "expiry sweep failed; retrying next tick"),
            }
            match state
                .store
                .lapse_exceptions(&state.program, state.clock.now())
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(lapsed = n, "tier exceptions lapsed"),
                Err(e) => tracing::warn!(error = %e, "exception sweep failed; retrying next tick"),
            }
        }
    });
}
