//! `/api/v1/conflicts`: channel conflicts and their manual resolution.

use super::json::{Json, Query};
use super::registrations::page_limit;
use super::views::{ConflictSummary, Page};
use crate::auth::Staff;
use crate::problem::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use trellis_domain::ids::{CaseNumber, ConflictId, RegistrationId};
use trellis_domain::values::Text;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConflictQuery {
    /// open | resolved
    status: Option<String>,
    after: Option<i64>,
    limit: Option<i64>,
}

/// List channel conflicts (staff).
#[utoipa::path(get, path = "/api/v1/conflicts", tag = "conflicts", params(ConflictQuery),
    responses((status = 200, body = Page<ConflictSummary>)))]
pub async fn list(
    State(state): State<AppState>,
    _staff: Staff,
    Query(q): Query<ConflictQuery>,
) -> ApiResult<Json<Page<ConflictSummary>>> {
    if let Some(s) = q
        .status
        .as_deref()
        .filter(|s| !matches!(*s, "open" | "resolved"))
    {
        return Err(ApiError::invalid(
            "status",
            format!("'{s}' is not a conflict status: use open or resolved"),
        ));
    }
    let limit = page_limit(q.limit)?;
    let records = state
        .store
        .conflicts(q.status.as_deref(), q.after.unwrap_or(0), limit)
        .await?;
    let views = records.iter().map(ConflictSummary::from).collect();
    Ok(Json(Page::new(views, limit, |c: &ConflictSummary| c.id)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// The registration that keeps the account: its id or case number.
    winner: serde_json::Value,
    reason: String,
}

/// Settle a conflict by hand (staff): the winner keeps its claim, the other
/// active registrations are declined with the reason.
#[utoipa::path(post, path = "/api/v1/conflicts/{id}/resolve", tag = "conflicts", request_body = ResolveRequest,
    responses((status = 200, body = ConflictSummary), (status = 409, body = crate::problem::Problem)))]
pub async fn resolve(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
    Json(r): Json<ResolveRequest>,
) -> ApiResult<Json<ConflictSummary>> {
    let (winner, reason) = resolution(&r.winner, &r.reason)?;
    let resolved = state
        .store
        .resolve_conflict(
            ConflictId(id),
            winner,
            &reason,
            &state.program,
            &staff.actor(),
            state.clock.now(),
        )
        .await?;
    Ok(Json(ConflictSummary::from(&resolved)))
}

/// The winner (an id or a case number) and reason of a manual settlement:
/// the API and the staff pages read them with the same checks.
pub(crate) fn resolution(
    winner: &serde_json::Value,
    reason: &str,
) -> ApiResult<(RegistrationId, Text)> {
    let winner = match winner {
        serde_json::Value::Number(n) => n.as_i64().map(RegistrationId),
        serde_json::Value::String(s) => CaseNumber::parse(s).map(|c| c.0),
        _ => None,
    }
    .ok_or_else(|| {
        ApiError::invalid(
            "winner",
            "give the winning registration's id or case number (REG-000123)",
        )
    })?;
    Ok((winner, Text::parse("reason", reason)?))
}
