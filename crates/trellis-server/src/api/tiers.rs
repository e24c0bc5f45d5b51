//! `/api/v1/partners/{id}/metrics`, `/scorecard` and `/benefits`: what a
//! partner measured, where that puts it, and what its tier gives it.

use super::json::Json;
use crate::auth::Caller;
use crate::metric_input::MetricRequest;
use crate::problem::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::Scorecard;
use trellis_store::{MetricRecord, PartnerStanding, Recorded};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct MetricAnswer {
    #[schema(value_type = Object)]
    metric: MetricRecord,
    /// What the measurement caused: an upgrade, a nudge (kind and why).
    events: Vec<EventSummary>,
}

#[derive(Serialize, ToSchema)]
pub struct EventSummary {
    kind: String,
    why: String,
}

/// Record a measurement for a partner. Staff record any metric; a partner
/// records its own capability evidence (certifications, proof).
#[utoipa::path(post, path = "/api/v1/partners/{id}/metrics", tag = "tiers", request_body = MetricRequest,
    responses((status = 201, body = MetricAnswer), (status = 200, body = MetricAnswer, description = "a replay of a source_id already recorded"),
        (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(r): Json<MetricRequest>,
) -> ApiResult<(StatusCode, Json<MetricAnswer>)> {
    let partner = PartnerId(id);
    caller.may_see(partner)?;
    state.store.partner(partner).await?;
    let now = state.clock.now();
    let new = r.validate(&state.program, partner, now)?;
    if caller.0.partner_scope().is_some() && !state.program.metric_requires_evidence(&new.metric) {
        return Err(ApiError::Forbidden(format!(
            "{} is an outcome metric: it comes from staff or the CRM; a partner records its capability evidence",
            new.metric
        )));
    }
    let (status, metric, events) =
        match state.store.record_metric(&new, &state.program, now).await? {
            Recorded::New { metric, events } => (StatusCode::CREATED, metric, events),
            Recorded::Repeat(metric) => (StatusCode::OK, metric, vec![]),
        };
    let events = events
        .into_iter()
        .map(|e| EventSummary {
            kind: e.change.kind().into(),
            why: e.why,
        })
        .collect();
    Ok((status, Json(MetricAnswer { metric, events })))
}

#[derive(Serialize, ToSchema)]
pub struct ScorecardView {
    partner_id: i64,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    card: Scorecard,
    in_grace: bool,
    #[schema(value_type = Object)]
    exception: Option<trellis_store::TierException>,
}

/// A partner's scorecard: each criterion with value, target and progress,
/// what is missing, and the window read.
#[utoipa::path(get, path = "/api/v1/partners/{id}/scorecard", tag = "tiers",
    responses((status = 200, body = ScorecardView), (status = 404, body = crate::problem::Problem)))]
pub async fn scorecard(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<ScorecardView>> {
    let partner = PartnerId(id);
    caller.may_see(partner)?;
    let (standing, card) = state
        .store
        .scorecard(&state.program, partner, state.clock.now())
        .await?;
    let PartnerStanding {
        grace_quarter,
        exception,
        ..
    } = standing;
    Ok(Json(ScorecardView {
        partner_id: id,
        card,
        in_grace: grace_quarter.is_some(),
        exception,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct BenefitsView {
    tier: String,
    /// Everything the partner has now: the base set and what each tier up
    /// to its own adds.
    pub(crate) benefits: Vec<String>,
    next_tier: Option<String>,
    pub(crate) next_tier_adds: Vec<String>,
    /// Hours the vendor has to answer this partner's registrations.
    pub(crate) response_sla_hours: u32,
}

/// What a partner has now, and what the next tier adds.
#[utoipa::path(get, path = "/api/v1/partners/{id}/benefits", tag = "tiers",
    responses((status = 200, body = BenefitsView), (status = 404, body = crate::problem::Problem)))]
pub async fn benefits(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<BenefitsView>> {
    let partner = PartnerId(id);
    caller.may_see(partner)?;
    let tier = state.store.partner(partner).await?.tier;
    Ok(Json(benefits_of(&state.program, &tier)))
}

/// Shared with the partner portal, which shows the same lists.
pub(crate) fn benefits_of(program: &Program, tier: &str) -> BenefitsView {
    let rank = program.tiers.iter().position(|t| t.id == tier).unwrap_or(0);
    let adds = |id: &str| {
        program
            .benefits
            .by_tier
            .get(id)
            .cloned()
            .unwrap_or_default()
    };
    let mut benefits = program.benefits.base.clone();
    for t in &program.tiers[..=rank] {
        benefits.extend(adds(&t.id));
    }
    let next = program.tiers.get(rank + 1).map(|t| t.id.clone());
    BenefitsView {
        tier: tier.to_owned(),
        benefits,
        next_tier_adds: next.as_deref().map(adds).unwrap_or_default(),
        next_tier: next,
        response_sla_hours: program.response_sla_hours_for(tier),
    }
}

/// Events shown on a partner's history.
const HISTORY: i64 = 200;

/// A partner's tier history, newest first: upgrades, nudges, review
/// decisions, appeals and exceptions, each with why.
#[utoipa::path(get, path = "/api/v1/partners/{id}/events", tag = "tiers",
    responses((status = 200, body = Vec<serde_json::Value>), (status = 404, body = crate::problem::Problem)))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<trellis_store::EventRecord>>> {
    let partner = PartnerId(id);
    caller.may_see(partner)?;
    state.store.partner(partner).await?;
    Ok(Json(state.store.partner_events(partner, HISTORY).await?))
}

/// Measurements listed per page.
const METRICS_SHOWN: i64 = 500;

/// A partner's measurements, newest first: revenue rows, certifications
/// and proof with their issue and expiry dates and evidence.
#[utoipa::path(get, path = "/api/v1/partners/{id}/metrics", tag = "tiers",
    responses((status = 200, body = Vec<serde_json::Value>), (status = 404, body = crate::problem::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<MetricRecord>>> {
    let partner = PartnerId(id);
    caller.may_see(partner)?;
    state.store.partner(partner).await?;
    Ok(Json(state.store.metrics_of(partner, METRICS_SHOWN).await?))
}
