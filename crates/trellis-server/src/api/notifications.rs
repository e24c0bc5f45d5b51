//! `/api/v1/notifications`: messages that failed every attempt, and a way
//! to send one again once its cause is fixed (staff).

use super::json::Json;
use crate::auth::Staff;
use crate::problem::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::{Path, State};
use trellis_store::Notification;

/// Dead letters: notifications that failed every attempt, newest first,
/// each with its last error.
#[utoipa::path(get, path = "/api/v1/notifications/dead-letter", tag = "notifications",
    responses((status = 200, body = Vec<serde_json::Value>)))]
pub async fn dead_letter(
    State(state): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<Vec<Notification>>> {
    Ok(Json(state.store.dead_notifications().await?))
}

/// Queue a dead letter again, due now with fresh attempts.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/retry", tag = "notifications",
    responses((status = 202, description = "queued again"), (status = 404, body = crate::problem::Problem)))]
pub async fn retry(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<i64>,
) -> ApiResult<axum::http::StatusCode> {
    match state
        .store
        .retry_notification(id, state.clock.now())
        .await?
    {
        true => Ok(axum::http::StatusCode::ACCEPTED),
        false => Err(ApiError::NotFound(format!(
            "no dead letter has the id {id}"
        ))),
    }
}
