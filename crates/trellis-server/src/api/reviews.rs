//! `/api/v1/reviews`, appeals and exceptions: the quarterly rhythm of tiers
//! and the ways a person can step in, each with a reason on the record.

use super::json::Json;
use crate::auth::{Caller, Staff};
use crate::input::Checker;
use crate::metric_input::day;
use crate::problem::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::{applicable, Action, Proposal, Quarter};
use trellis_domain::values::Text;
use trellis_store::{Adjustment, AppealRecord, NewException, ReviewRecord, TierException};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `2026-Q4`: a quarter that has ended.
    quarter: String,
}

/// A quarter as people write it (`2026-Q1`); the workspace's form reads it too.
pub(crate) fn quarter(text: &str) -> ApiResult<Quarter> {
    let mut c = Checker::default();
    let q = c.check("quarter", Quarter::parse(text));
    c.finish(|| q)
}

/// Run the review of a quarter: every partner with a proposal and reasons,
/// kept as a draft until published (staff).
#[utoipa::path(post, path = "/api/v1/reviews", tag = "tiers", request_body = ReviewRequest,
    responses((status = 201, body = Object), (status = 422, body = crate::problem::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Json(r): Json<ReviewRequest>,
) -> ApiResult<(StatusCode, Json<ReviewRecord>)> {
    let q = quarter(&r.quarter)?;
    let review = state
        .store
        .create_review(&state.program, q, &staff.actor(), state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(review)))
}

/// One review with its proposals (staff).
#[utoipa::path(get, path = "/api/v1/reviews/{id}", tag = "tiers",
    responses((status = 200, body = Object), (status = 404, body = crate::problem::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReviewRecord>> {
    Ok(Json(state.store.review(id).await?))
}

/// Apply every proposal of a draft review, dated today (staff).
#[utoipa::path(post, path = "/api/v1/reviews/{id}/publish", tag = "tiers",
    responses((status = 200, body = Object), (status = 409, body = crate::problem::Problem)))]
pub async fn publish(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReviewRecord>> {
    Ok(Json(
        state
            .store
            .publish_review(id, &staff.actor(), state.clock.now())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustRequest {
    proposed_tier: String,
    /// upgrade | hold | grace | downgrade
    action: String,
    /// Replaces the drafted recovery plan when given.
    recovery_plan: Option<Vec<String>>,
    reason: String,
}

/// Change one partner's proposal in a draft review, with the reason (staff).
#[utoipa::path(post, path = "/api/v1/reviews/{id}/proposals/{partner_id}", tag = "tiers", request_body = AdjustRequest,
    responses((status = 200, body = Object), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn adjust(
    State(state): State<AppState>,
    _staff: Staff,
    Path((id, partner)): Path<(i64, i64)>,
    Json(r): Json<AdjustRequest>,
) -> ApiResult<Json<ReviewRecord>> {
    let adjustment = adjustment(
        &state.program,
        (&r.proposed_tier, &r.action),
        r.recovery_plan,
        &r.reason,
    )?;
    Ok(Json(
        state
            .store
            .adjust_proposal(id, PartnerId(partner), &adjustment)
            .await?,
    ))
}

/// A staff change to a proposal (tier and action), checked alike whether it
/// comes from the API or the workspace: a reason is always required.
pub(crate) fn adjustment(
    program: &Program,
    (proposed_tier, action): (&str, &str),
    recovery_plan: Option<Vec<String>>,
    reason: &str,
) -> ApiResult<Adjustment> {
    let mut c = Checker::default();
    let tier = c.tier("proposed_tier", program, proposed_tier);
    let action = Action::parse(action);
    if action.is_none() {
        c.fail("action", "must be upgrade, hold, grace or downgrade");
    }
    let reason = c.check("reason", Text::parse("reason", reason));
    c.finish(|| {
        Some(Adjustment {
            proposed_tier: tier?,
            action: action?,
            recovery_plan,
            reason: reason?.into_string(),
        })
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    quarter: String,
    /// Criteria in the shape of the program file's `[[criteria]]`, as JSON.
    #[schema(value_type = Vec<Object>)]
    criteria: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct Simulation {
    quarter: String,
    /// Partners whose tier would change.
    moves: usize,
    #[schema(value_type = Vec<Object>)]
    proposals: Vec<SimulatedProposal>,
}

#[derive(Serialize)]
pub struct SimulatedProposal {
    partner_id: PartnerId,
    #[serde(flatten)]
    proposal: Proposal,
}

/// Run a review with other criteria and see who would move; nothing is
/// stored (staff).
#[utoipa::path(post, path = "/api/v1/reviews/simulate", tag = "tiers", request_body = SimulateRequest,
    responses((status = 200, body = Simulation), (status = 422, body = crate::problem::Problem)))]
pub async fn simulate(
    State(state): State<AppState>,
    _staff: Staff,
    Json(r): Json<SimulateRequest>,
) -> ApiResult<Json<Simulation>> {
    let q = quarter(&r.quarter)?;
    let program = state
        .program
        .with_criteria_json(&r.criteria)
        .map_err(|errors| {
            let fields = errors.0.into_iter().map(|e| crate::problem::FieldError {
                field: if e.key.is_empty() {
                    "criteria".into()
                } else {
                    e.key
                },
                message: e.message,
            });
            ApiError::Invalid(fields.collect())
        })?;
    let proposals: Vec<_> = state
        .store
        .evaluate(&program, q)
        .await?
        .into_iter()
        .map(|(partner_id, proposal)| SimulatedProposal {
            partner_id,
            proposal,
        })
        .collect();
    let moves = proposals
        .iter()
        .filter(|p| p.proposal.proposed_tier != p.proposal.current_tier)
        .count();
    Ok(Json(Simulation {
        quarter: q.to_string(),
        moves,
        proposals,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealRequest {
    review_id: i64,
    message: String,
    #[serde(default)]
    evidence_urls: Vec<String>,
}

/// Appeal a published review decision, with evidence (the partner, or staff for it).
#[utoipa::path(post, path = "/api/v1/partners/{id}/appeals", tag = "tiers", request_body = AppealRequest,
    responses((status = 201, body = Object), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn appeal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(r): Json<AppealRequest>,
) -> ApiResult<(StatusCode, Json<AppealRecord>)> {
    let partner = PartnerId(id);
    caller.may_see(partner)?;
    let message = crate::input::appeal(&r.message, &r.evidence_urls)?;
    let appeal = state
        .store
        .file_appeal(
            &state.program,
            partner,
            r.review_id,
            message.as_str(),
            &r.evidence_urls,
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(appeal)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// upheld | rejected
    decision: String,
    reason: String,
}

/// The decision on an appeal, and the terms that apply from now on.
#[derive(Serialize, ToSchema)]
pub struct DecisionView {
    #[schema(value_type = Object)]
    appeal: AppealRecord,
    tier: String,
    /// The date the decision takes effect.
    effective_on: String,
    /// When the partner is next reviewed.
    next_review_on: String,
    /// The thresholds the partner is held to at its tier.
    #[schema(value_type = Vec<Object>)]
    thresholds: Vec<serde_json::Value>,
}

/// An appeal decision: whether it is upheld, and the reason, which is
/// required (the API and the workspace check it alike).
pub(crate) fn decision(decision: &str, reason: &str) -> ApiResult<(bool, Text)> {
    let mut c = Checker::default();
    let upheld = match decision {
        "upheld" => Some(true),
        "rejected" => Some(false),
        _ => {
            c.fail("decision", "must be upheld or rejected");
            None
        }
    };
    let reason = c.check("reason", Text::parse("reason", reason));
    c.finish(|| Some((upheld?, reason?)))
}

/// Uphold or reject an appeal, with the reason (staff).
#[utoipa::path(post, path = "/api/v1/appeals/{id}/decision", tag = "tiers", request_body = DecisionRequest,
    responses((status = 200, body = DecisionView), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn decide(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
    Json(r): Json<DecisionRequest>,
) -> ApiResult<Json<DecisionView>> {
    let (upheld, reason) = decision(&r.decision, &r.reason)?;
    let now = state.clock.now();
    let appeal = state
        .store
        .decide_appeal(id, None, upheld, reason.as_str(), &staff.actor(), now)
        .await?;
    let partner = state.store.partner(appeal.partner_id).await?;
    let thresholds = applicable(&state.program.criteria, partner.kind)
        .filter_map(|cr| {
            let target = cr.thresholds.get(&partner.tier)?;
            Some(serde_json::json!({"id": cr.id, "label": cr.label, "target": target}))
        })
        .collect();
    Ok(Json(DecisionView {
        appeal,
        tier: partner.tier,
        effective_on: now.date().to_string(),
        next_review_on: Quarter::containing(now.date()).end().to_string(),
        thresholds,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRequest {
    tier: String,
    reason: String,
    /// YYYY-MM-DD, after today: the day the exception lapses.
    ends_on: String,
}

/// Hold a partner at a tier by hand until a date, with a reason (staff).
#[utoipa::path(post, path = "/api/v1/partners/{id}/exceptions", tag = "tiers", request_body = ExceptionRequest,
    responses((status = 201, body = Object), (status = 422, body = crate::problem::Problem)))]
pub async fn exception(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
    Json(r): Json<ExceptionRequest>,
) -> ApiResult<(StatusCode, Json<TierException>)> {
    let partner = PartnerId(id);
    state.store.partner(partner).await?;
    let mut c = Checker::default();
    let tier = c.tier("tier", &state.program, &r.tier);
    let reason = c.check("reason", Text::parse("reason", &r.reason));
    let ends_on = c.check("ends_on", day("ends_on", &r.ends_on));
    let new = c.finish(|| {
        Some(NewException {
            partner_id: partner,
            tier: tier?,
            reason: reason?.into_string(),
            ends_on: ends_on?,
        })
    })?;
    let exception = state
        .store
        .grant_exception(&new, &staff.actor(), state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(exception)))
}
