//! `GET /staff/reviews/{id}`: one review's proposals, a page at a time,
//! with the forms that act on a draft: adjust a proposal (a reason is
//! required), publish the review, and decide the appeals partners filed.
//! Each form calls the store exactly as its REST twin does; a refusal is
//! shown above the proposals and changes nothing.

use super::page::{answer, failed, refusal, Refusal};
use super::{Frame, Section, StaffSignedIn};
use crate::problem::ApiError;
use crate::web::tier_words::tier_label;
use crate::web::{csrf, reload};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use trellis_domain::ids::PartnerId;
use trellis_domain::tiering::Action;
use trellis_domain::values::day;
use trellis_store::{AppealRecord, NamedProposal, ReviewSummary, StoreError};

/// Proposals shown per page.
const PAGE: i64 = 100;
/// Appeals shown; a review has at most one per partner.
const APPEALS_SHOWN: i64 = 200;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Paging {
    /// The partner id of the last proposal of the previous page.
    after: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AdjustForm {
    csrf: String,
    proposed_tier: String,
    action: String,
    reason: String,
    /// One step per line; empty keeps the drafted plan.
    recovery_plan: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    csrf: String,
    decision: String,
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PublishForm {
    csrf: String,
}

/// An option of a select, with whether it is chosen.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct Row {
    partner_id: i64,
    name: String,
    current: String,
    proposed: String,
    action: &'static str,
    reasons: Vec<String>,
    plan: Vec<String>,
    adjusted: Option<String>,
    tiers: Vec<Choice>,
    actions: Vec<Choice>,
}

struct Appeal {
    id: i64,
    partner_id: i64,
    filed: String,
    message: String,
    evidence: Vec<String>,
    status: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "staff_review.html")]
struct ReviewPage {
    frame: Frame,
    review: ReviewSummary,
    draft: bool,
    published: String,
    rows: Vec<Row>,
    next_after: Option<i64>,
    appeals: Vec<Appeal>,
    problems: Vec<String>,
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Path(id): Path<i64>,
    Query(paging): Query<Paging>,
) -> Response {
    show(&state, jar, &signed_in, (id, paging.after), Vec::new()).await
}

async fn show(
    state: &AppState,
    jar: CookieJar,
    signed_in: &StaffSignedIn,
    (id, after): (i64, Option<i64>),
    problems: Vec<String>,
) -> Response {
    let store = &state.store;
    let after = PartnerId(after.unwrap_or(0));
    let read = tokio::try_join!(
        store.review_summary(id),
        store.review_proposals(id, after, PAGE + 1),
        store.review_appeals(id, APPEALS_SHOWN),
    );
    let (review, mut proposals, appeals) = match read {
        Ok(read) => read,
        Err(e) => return failed(state, e),
    };
    let more = proposals.len() as i64 > PAGE;
    proposals.truncate(PAGE as usize);
    let next_after = (proposals.last())
        .map(|p| p.record.partner_id.0)
        .filter(|_| more);
    let status = match problems.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let (jar, frame) = Frame::new(state, jar, signed_in, Section::Reviews);
    let page = ReviewPage {
        frame,
        draft: review.status == "draft",
        published: review.published_at.map(day).unwrap_or_default(),
        review,
        rows: proposals.iter().map(|p| row(state, p)).collect(),
        next_after,
        appeals: appeals.iter().map(appeal).collect(),
        problems,
    };
    answer(jar, status, &page)
}

fn row(state: &AppState, p: &NamedProposal) -> Row {
    let program = &state.program;
    let proposal = &p.record.proposal;
    let tiers = (program.tiers.iter()).map(|t| Choice {
        value: t.id.clone(),
        label: t.label.clone(),
        selected: t.id == proposal.proposed_tier,
    });
    Row {
        partner_id: p.record.partner_id.0,
        name: p.partner_name.clone(),
        current: tier_label(program, &proposal.current_tier).to_owned(),
        proposed: tier_label(program, &proposal.proposed_tier).to_owned(),
        action: proposal.action.as_str(),
        reasons: proposal.reasons.clone(),
        plan: proposal.recovery_plan.clone(),
        adjusted: p.record.adjusted_reason.clone(),
        tiers: tiers.collect(),
        actions: (Action::ALL.iter())
            .map(|a| Choice {
                value: a.as_str().to_owned(),
                label: a.as_str().to_owned(),
                selected: *a == proposal.action,
            })
            .collect(),
    }
}

fn appeal(a: &AppealRecord) -> Appeal {
    Appeal {
        id: a.id,
        partner_id: a.partner_id.0,
        filed: day(a.created_at),
        message: a.message.clone(),
        evidence: a.evidence_urls.clone(),
        status: a.status.clone(),
        reason: a.reason.clone().unwrap_or_default(),
    }
}

/// The answer to a form: back to the review where it succeeded, or the
/// review again with what to fix.
async fn settle(
    state: &AppState,
    jar: CookieJar,
    signed_in: &StaffSignedIn,
    id: i64,
    done: Result<(), ApiError>,
) -> Response {
    match done {
        Ok(()) => Redirect::to(&format!("/staff/reviews/{id}")).into_response(),
        Err(e) => match refusal(state, e) {
            Refusal::Fix(problems) => show(state, jar, signed_in, (id, None), problems).await,
            Refusal::Answer(response) => response,
        },
    }
}

/// Store results as the forms settle them.
fn done<T>(result: Result<T, StoreError>) -> Result<(), ApiError> {
    result.map(|_| ()).map_err(ApiError::from)
}

/// `POST /staff/reviews/{id}/proposals/{partner}`: the store call of
/// `POST /api/v1/reviews/{id}/proposals/{partner_id}`.
pub async fn adjust(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Path((id, partner)): Path<(i64, i64)>,
    Form(form): Form<AdjustForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return reload(&state);
    }
    let steps: Vec<String> = (form.recovery_plan.lines())
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    let plan = (!steps.is_empty()).then_some(steps);
    let tier_and_action = (form.proposed_tier.as_str(), form.action.as_str());
    let done = match crate::api::adjustment(&state.program, tier_and_action, plan, &form.reason) {
        Ok(adjustment) => done(
            state
                .store
                .adjust_proposal(id, PartnerId(partner), &adjustment)
                .await,
        ),
        Err(e) => Err(e),
    };
    settle(&state, jar, &signed_in, id, done).await
}

/// `POST /staff/reviews/{id}/publish`: the store call of
/// `POST /api/v1/reviews/{id}/publish`, as the signed-in person.
pub async fn publish(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Path(id): Path<i64>,
    Form(form): Form<PublishForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return reload(&state);
    }
    let now = state.clock.now();
    let published = state
        .store
        .publish_review(id, &signed_in.actor(), now)
        .await;
    settle(&state, jar, &signed_in, id, done(published)).await
}

/// `POST /staff/reviews/{id}/appeals/{appeal}/decision`: the store call of
/// `POST /api/v1/appeals/{id}/decision`.
pub async fn decide(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Path((id, appeal)): Path<(i64, i64)>,
    Form(form): Form<DecisionForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return reload(&state);
    }
    let done = match crate::api::appeal_decision(&form.decision, &form.reason) {
        Ok((upheld, reason)) => done(
            state
                .store
                .decide_appeal(
                    appeal,
                    Some(id),
                    upheld,
                    reason.as_str(),
                    &signed_in.actor(),
                    state.clock.now(),
                )
                .await,
        ),
        Err(e) => Err(e),
    };
    settle(&state, jar, &signed_in, id, done).await
}
