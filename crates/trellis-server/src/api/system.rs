//! Health, the OpenAPI document, and the test clock.

use super::json::Json;
use crate::auth::Admin;
use crate::problem::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub fn router(doc: serde_json::Value) -> Router<AppState> {
    Router::new().route("/healthz", get(health)).route(
        "/api/v1/openapi.json",
        get(move || async move { axum::Json(doc) }),
    )
}

/// Liveness and database reachability.
async fn health(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    state.store.ping().await?;
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

/// Only under `trellis serve --test-clock`: without the flag the route
/// does not exist at all.
pub fn test_clock_router() -> Router<AppState> {
    Router::new().route("/api/v1/test-clock", post(set_clock).get(read_clock))
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    #[serde(with = "time::serde::rfc3339")]
    now: OffsetDateTime,
}

/// Sets the server's time and sweeps at it before answering. Setting the
/// clock stands for time passing, and in production time never passes
/// without a sweep (every `--sweep-seconds`); so once the answer comes,
/// everything due by the new time (expiries, escalations, reminders,
/// summaries, deliveries) has been done by this sweep, or claimed by a
/// sweep of another process that came to it first, and a test needs no
/// sleep to see it. The interval sweep keeps running beside this one.
async fn set_clock(
    State(state): State<AppState>,
    _admin: Admin,
    Json(body): Json<ClockBody>,
) -> Json<ClockBody> {
    state.clock.set(body.now.to_offset(time::UtcOffset::UTC));
    crate::sweep::run_once(&state).await;
    Json(ClockBody {
        now: state.clock.now(),
    })
}

async fn read_clock(State(state): State<AppState>, _admin: Admin) -> Json<ClockBody> {
    Json(ClockBody {
        now: state.clock.now(),
    })
}
