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

async fn set_clock(
    State(state): State<AppState>,
    _admin: Admin,
    Json(body): Json<ClockBody>,
) -> Json<ClockBody> {
    state.clock.set(body.now.to_offset(time::UtcOffset::UTC));
    Json(ClockBody {
        now: state.clock.now(),
    })
}

async fn read_clock(State(state): State<AppState>, _admin: Admin) -> Json<ClockBody> {
    Json(ClockBody {
        now: state.clock.now(),
    })
}
