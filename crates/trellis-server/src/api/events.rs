//! `/api/v1/events`: effects of the event log that failed for good (a
//! record the CRM rejected, a message no relay would take), and a way to
//! send one again once its cause is fixed (staff). `/api/v1/crm/status`:
//! how far the CRM lags behind.

use super::json::Json;
use crate::auth::Staff;
use crate::problem::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use time::OffsetDateTime;
use trellis_store::{CrmDeadLetter, Notification, SyncLag};
use utoipa::ToSchema;

/// One dead letter, whichever effect it was.
#[derive(Serialize, ToSchema)]
pub struct DeadLetter {
    /// What to retry: `crm-{event id}` or `notification-{id}`.
    pub id: String,
    /// `crm`, or the notification's channel (`email`, `slack`).
    pub consumer: String,
    pub registration_id: Option<i64>,
    /// What it was: the notification's subject, or the registration synced.
    pub about: String,
    /// The last error, in the receiving service's own words.
    pub error: Option<String>,
    pub attempts: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl From<CrmDeadLetter> for DeadLetter {
    fn from(letter: CrmDeadLetter) -> Self {
        DeadLetter {
            id: format!("crm-{}", letter.event_id),
            consumer: "crm".into(),
            registration_id: Some(letter.registration_id),
            about: format!("registration {} to the CRM", letter.registration_id),
            error: letter.error,
            attempts: letter.attempts,
            at: letter.changed_at,
        }
    }
}

impl From<Notification> for DeadLetter {
    fn from(note: Notification) -> Self {
        DeadLetter {
            id: format!("notification-{}", note.id),
            consumer: note.channel.as_str().into(),
            registration_id: None,
            about: format!("{} to {}: {}", note.kind, note.recipient, note.subject),
            error: note.last_error,
            attempts: note.attempts,
            at: note.created_at,
        }
    }
}

/// Dead letters, newest first, each with its last error.
#[utoipa::path(get, path = "/api/v1/events/dead-letter", tag = "events",
    responses((status = 200, body = Vec<DeadLetter>)))]
pub async fn dead_letter(
    State(state): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<Vec<DeadLetter>>> {
    let crm = state.store.crm_dead_letters().await?;
    let notes = state.store.dead_notifications().await?;
    let mut letters: Vec<DeadLetter> = crm.into_iter().map(DeadLetter::from).collect();
    letters.extend(notes.into_iter().map(DeadLetter::from));
    letters.sort_by_key(|letter| std::cmp::Reverse(letter.at));
    Ok(Json(letters))
}

/// Send a dead letter again, due now with fresh attempts.
#[utoipa::path(post, path = "/api/v1/events/{id}/retry", tag = "events",
    params(("id" = String, Path, description = "a dead letter's id: crm-{event id} or notification-{id}")),
    responses((status = 202, description = "queued again"), (status = 404, body = crate::problem::Problem)))]
pub async fn retry(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    match state
        .store
        .retry_dead_letter(&id, state.clock.now())
        .await?
    {
        true => Ok(StatusCode::ACCEPTED),
        false => Err(ApiError::NotFound(format!(
            "no dead letter has the id {id:?}; GET /api/v1/events/dead-letter lists them"
        ))),
    }
}

/// How the CRM sync stands: records waiting, failed, synced, and the age of
/// the oldest change still waiting.
#[derive(Serialize, ToSchema)]
pub struct SyncStatus {
    /// `hubspot`, `salesforce`, or none when no CRM is configured.
    pub provider: Option<String>,
    #[schema(value_type = Object)]
    pub queue: SyncLag,
    /// Seconds since the oldest waiting change; 0 when nothing waits.
    pub lag_seconds: i64,
    /// CRM calls this process made since it started.
    pub calls: u64,
}

#[utoipa::path(get, path = "/api/v1/crm/status", tag = "events",
    responses((status = 200, body = SyncStatus)))]
pub async fn crm_status(
    State(state): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<SyncStatus>> {
    let queue = state.store.sync_lag().await?;
    let lag_seconds = queue.oldest_pending_since.map_or(0, |since| {
        (state.clock.now() - since).whole_seconds().max(0)
    });
    Ok(Json(SyncStatus {
        provider: state
            .crm
            .as_ref()
            .map(|link| link.config.provider.as_str().to_owned()),
        queue,
        lag_seconds,
        calls: state.crm.as_ref().map_or(0, |link| link.crm.calls()),
    }))
}
