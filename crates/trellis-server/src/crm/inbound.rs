//! What sales record in the CRM comes back as lifecycle commands: a stage
//! the mapping calls won or lost closes the registration, a first-meeting
//! date logs the meeting. They go through the same rules as any other
//! command, so a change that does not apply (a registration never
//! approved, a meeting already logged) changes nothing, and a webhook
//! delivered twice or a page read twice is harmless.

use super::CrmLink;
use crate::AppState;
use trellis_domain::event::Actor;
use trellis_domain::ids::RegistrationId;
use trellis_domain::lifecycle::Command;
use trellis_domain::program::StageOutcome;
use trellis_domain::values::Text;
use trellis_store::StoreError;
use trellis_sync::crm::CrmChange;

/// Applies `changes`; returns how many changed a registration.
pub async fn apply_changes(
    state: &AppState,
    link: &CrmLink,
    changes: &[CrmChange],
) -> Result<u64, StoreError> {
    let mut applied = 0;
    for change in changes {
        let Some(id) = registration_of(state, change).await? else {
            continue;
        };
        for command in commands_for(link, change) {
            applied += u64::from(apply(state, id, command).await?);
        }
    }
    Ok(applied)
}

/// The registration a CRM record stands for: by the Trellis id it carries,
/// else by the CRM id Trellis stored when it synced it.
async fn registration_of(
    state: &AppState,
    change: &CrmChange,
) -> Result<Option<RegistrationId>, StoreError> {
    if let Some(id) = change.external_id.as_deref().and_then(|id| id.parse().ok()) {
        return Ok(Some(RegistrationId(id)));
    }
    state
        .store
        .registration_of_crm_record(&change.record_id)
        .await
}

/// The meeting first: a deal can be won after its first meeting, not before.
fn commands_for(link: &CrmLink, change: &CrmChange) -> Vec<Command> {
    let mut commands = Vec::new();
    if let Some(held_at) = change.meeting_at {
        commands.push(Command::LogMeeting { held_at });
    }
    let outcome = change
        .stage
        .as_deref()
        .and_then(|stage| Some((stage, link.config.outcome_of_stage(stage)?)));
    match outcome {
        Some((_, StageOutcome::Won)) => commands.push(Command::Win { amount: None }),
        Some((stage, StageOutcome::Lost)) => {
            let reason = Text::parse("reason", &format!("closed in the CRM at stage {stage}")).ok();
            commands.push(Command::Lose { reason });
        }
        None => {}
    }
    commands
}

/// Applies one command; a rule refusing it (or an unknown registration) is
/// not an error here, just nothing to do.
async fn apply(state: &AppState, id: RegistrationId, command: Command) -> Result<bool, StoreError> {
    let now = state.clock.now();
    match state
        .store
        .apply(id, command, None, &state.program, &Actor::Crm, now)
        .await
    {
        Ok(_) => Ok(true),
        Err(StoreError::Domain(refused)) => {
            tracing::debug!(registration = id.0, reason = %refused, "crm change not applied");
            Ok(false)
        }
        Err(StoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads changes since the stored cursor, page by page, applying each page
/// before moving the cursor past it (a crash repeats a page, harmlessly).
pub async fn pull_changes(state: &AppState, link: &CrmLink) -> anyhow::Result<u64> {
    const CURSOR: &str = "crm.changes";
    let mut cursor = state.store.sync_cursor(CURSOR).await?;
    let mut applied = 0;
    loop {
        let page = link.crm.changes(cursor.as_deref()).await?;
        applied += apply_changes(state, link, &page.items).await?;
        if let Some(next) = &page.next {
            state
                .store
                .set_sync_cursor(CURSOR, next, state.clock.now())
                .await?;
        }
        if page.items.is_empty() || page.next.is_none() || page.next == cursor {
            return Ok(applied);
        }
        cursor = page.next;
    }
}

/// Reads changes back every `link.poll_every`, until the process ends.
pub fn spawn_poll(state: AppState, link: std::sync::Arc<CrmLink>) {
    tokio::spawn(async move {
        let first = tokio::time::Instant::now() + link.poll_every;
        let mut tick = tokio::time::interval_at(first, link.poll_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match pull_changes(&state, &link).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(count = n, "crm: changes applied"),
                Err(e) => tracing::warn!(error = %e, "crm: reading changes failed; retrying later"),
            }
        }
    });
}
