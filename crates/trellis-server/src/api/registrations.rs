//! `/api/v1/registrations`: intake over the API, reads, and the lifecycle
//! commands (decision, answer, meeting, outcome).

use super::json::{parse, Json, Query};
use super::views::{CandidateView, CrmView, OtherRegistration, Page, RegistrationView};
use crate::auth::{Caller, Staff};
use crate::input::{money, Checker, RegistrationRequest};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use trellis_domain::ids::{AccountId, PartnerId, RegistrationId};
use trellis_domain::lifecycle::Command;
use trellis_domain::registration::{Channel, Status};
use trellis_domain::values::{Currency, Text};
use trellis_store::{
    IdempotencyOutcome, Principal, RegistrationFilter, RequestKey, StoredResponse, DEFAULT_PAGE,
    MAX_PAGE,
};
use utoipa::{IntoParams, ToSchema};

/// Register a lead or deal.
///
/// Links the registration to an account (exact domain or normalized name),
/// lists similar names as possible duplicates, refuses a partner's second
/// active claim on one account, and opens a channel conflict when another
/// partner holds one. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/registrations", tag = "registrations",
    request_body = RegistrationRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key and body answer the first result again")),
    responses((status = 201, body = RegistrationView), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let request = idempotency_key(&headers)?.map(|key| RequestKey::new(caller.key(), key, &body));
    if let Some(request) = &request {
        match state.store.check_idempotency(request).await? {
            IdempotencyOutcome::New => {}
            IdempotencyOutcome::Replay(stored) => return Ok(replay(stored)),
            IdempotencyOutcome::Created(id) => {
                let view = detail(&state, id, caller.partner_scope()).await?;
                return Ok((StatusCode::CREATED, Json(view)).into_response());
            }
            IdempotencyOutcome::Mismatch => return Err(ApiError::KeyReused),
        }
    }
    let input: RegistrationRequest = parse(&headers, &body)?;
    let partner = registering_partner(&state, &caller, input.partner_id).await?;
    let draft = input.into_draft(partner, Channel::Api)?;
    let (program, now) = (&state.program, state.clock.now());
    let registered = state
        .store
        .register(&draft, program, &caller.actor(), now, request.as_ref())
        .await?;
    let mut view = RegistrationView::new(&registered.registration, registered.conflict.as_ref());
    let duplicates = state
        .store
        .candidates(&registered.possible_duplicates)
        .await?;
    view.possible_duplicates = Some(duplicates.iter().map(CandidateView::from).collect());
    if state.crm.is_some() {
        view.crm = Some(CrmView::pending());
    }
    let text = serde_json::to_string(&view).map_err(|e| ApiError::Internal(e.into()))?;
    if let Some(request) = &request {
        let stored = StoredResponse {
            status: 201,
            body: text.clone(),
        };
        state.store.remember_response(request, &stored).await?;
    }
    Ok(json_response(StatusCode::CREATED, text))
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str().map(str::trim) {
        Ok(key) if (1..=255).contains(&key.len()) => Ok(Some(key.to_owned())),
        _ => Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        )),
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    json_response(status, stored.body)
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The partner a registration is for: a partner token's own, or the
/// `partner_id` staff name (which must exist).
async fn registering_partner(
    state: &AppState,
    caller: &Principal,
    requested: Option<i64>,
) -> ApiResult<PartnerId> {
    match (caller.partner_scope(), requested) {
        (Some(own), None) => Ok(own),
        (Some(own), Some(id)) if id == own.0 => Ok(own),
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "partner_id",
            "a partner token registers for its own partner only; leave partner_id out",
        )),
        (None, None) => Err(ApiError::invalid(
            "partner_id",
            "is required with a staff token",
        )),
        (None, Some(id)) => match state.store.partner(PartnerId(id)).await {
            Ok(p) => Ok(p.id),
            Err(trellis_store::StoreError::NotFound(_)) => Err(ApiError::invalid(
                "partner_id",
                format!("no partner has the id {id}"),
            )),
            Err(e) => Err(e.into()),
        },
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// submitted | more_info | approved | declined | won | lost | expired
    status: Option<String>,
    partner_id: Option<i64>,
    account_id: Option<i64>,
    /// Start after this id (from `next_after`).
    after: Option<i64>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
}

/// List registrations (a partner token sees only its own).
#[utoipa::path(get, path = "/api/v1/registrations", tag = "registrations", params(ListQuery),
    responses((status = 200, body = Page<RegistrationView>)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Page<RegistrationView>>> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            ApiError::invalid("status", format!("'{s}' is not a status: use submitted, more_info, approved, declined, won, lost or expired"))
        })?),
    };
    let limit = page_limit(q.limit)?;
    let partner_id = match caller.0.partner_scope() {
        Some(own) => Some(own),
        None => q.partner_id.map(PartnerId),
    };
    state
        .store
        .expire_due(&state.program, state.clock.now())
        .await?;
    let filter = RegistrationFilter {
        status,
        partner_id,
        account_id: q.account_id.map(AccountId),
        after: q.after.unwrap_or(0),
        limit,
    };
    let records = state.store.registrations(&filter).await?;
    let mut views: Vec<_> = records
        .iter()
        .map(|r| RegistrationView::new(r, None))
        .collect();
    with_crm(&state, &mut views).await?;
    Ok(Json(Page::new(views, limit, |v: &RegistrationView| v.id)))
}

pub fn page_limit(limit: Option<i64>) -> ApiResult<i64> {
    match limit.unwrap_or(DEFAULT_PAGE) {
        n if (1..=MAX_PAGE).contains(&n) => Ok(n),
        n => Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {MAX_PAGE} (found {n})"),
        )),
    }
}

/// One registration, with its conflict and the other active registrations
/// on its account.
#[utoipa::path(get, path = "/api/v1/registrations/{id}", tag = "registrations",
    responses((status = 200, body = RegistrationView), (status = 404, body = crate::problem::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<RegistrationView>> {
    let id = RegistrationId(id);
    let scope = caller.0.partner_scope();
    state.store.registration(id, scope).await?;
    state
        .store
        .expire_if_due(id, &state.program, state.clock.now())
        .await?;
    detail(&state, id, scope).await.map(Json)
}

/// The full view of a registration. Staff also see the other active
/// registrations on its account; a partner never sees other partners' claims
/// beyond what its own conflict says.
async fn detail(
    state: &AppState,
    id: RegistrationId,
    scope: Option<PartnerId>,
) -> ApiResult<RegistrationView> {
    let record = state.store.registration(id, scope).await?;
    let conflict = match record.conflict_id {
        Some(c) => Some(state.store.conflict(c).await?),
        None => None,
    };
    let mut view = RegistrationView::new(&record, conflict.as_ref());
    if scope.is_none() {
        let others = state
            .store
            .active_registrations_on(record.account_id)
            .await?;
        let others = others.iter().filter(|o| o.id != record.id);
        view.other_registrations = Some(others.map(OtherRegistration::from).collect());
    }
    with_crm(state, std::slice::from_mut(&mut view)).await?;
    Ok(view)
}

/// Fills each view's `crm` from the sync queue, when a CRM is configured.
async fn with_crm(state: &AppState, views: &mut [RegistrationView]) -> ApiResult<()> {
    if state.crm.is_none() {
        return Ok(());
    }
    let ids: Vec<_> = views.iter().map(|v| RegistrationId(v.id)).collect();
    let mut states = state.store.crm_states(&ids).await?;
    for view in views {
        let known = states.remove(&view.id);
        view.crm = Some(known.map_or_else(CrmView::pending, CrmView::from));
    }
    Ok(())
}

/// A registration's history: who changed what, when, and why.
#[utoipa::path(get, path = "/api/v1/registrations/{id}/events", tag = "registrations",
    responses((status = 200, body = Vec<serde_json::Value>), (status = 404, body = crate::problem::Problem)))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<trellis_store::EventRecord>>> {
    let id = RegistrationId(id);
    state
        .store
        .registration(id, caller.0.partner_scope())
        .await?;
    state
        .store
        .expire_if_due(id, &state.program, state.clock.now())
        .await?;
    Ok(Json(state.store.registration_events(id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// approve | decline | request_info
    decision: String,
    /// Required to decline (the reason) and to request info (the question).
    reason: Option<String>,
    /// Override the program's hold window for this approval.
    hold_days: Option<u32>,
}

/// Staff decide: approve, decline (with a reason) or ask for more information.
#[utoipa::path(post, path = "/api/v1/registrations/{id}/decision", tag = "registrations", request_body = DecisionRequest,
    responses((status = 200, body = RegistrationView), (status = 409, body = crate::problem::Problem)))]
pub async fn decide(
    state: State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
    Json(r): Json<DecisionRequest>,
) -> ApiResult<Json<RegistrationView>> {
    let command = decision(&r.decision, r.reason.as_deref(), r.hold_days)?;
    run(state, staff, id, command).await
}

/// The command a staff decision names: the API and the staff pages read
/// the same words with the same checks.
pub(crate) fn decision(
    decision: &str,
    reason: Option<&str>,
    hold_days: Option<u32>,
) -> ApiResult<Command> {
    Ok(match decision {
        "approve" => Command::Approve { hold_days },
        "decline" => Command::Decline {
            reason: text("reason", reason, "say why it is declined")?,
        },
        "request_info" => Command::RequestInfo {
            question: text("reason", reason, "write the question for the partner")?,
        },
        other => {
            return Err(ApiError::invalid(
                "decision",
                format!("'{other}' is not a decision: use approve, decline or request_info"),
            ))
        }
    })
}

fn text(field: &'static str, value: Option<&str>, hint: &str) -> ApiResult<Text> {
    Text::parse(field, value.unwrap_or_default())
        .map_err(|_| ApiError::invalid(field, format!("is required: {hint}")))
}

async fn run(
    State(state): State<AppState>,
    caller: Principal,
    id: i64,
    command: Command,
) -> ApiResult<Json<RegistrationView>> {
    let id = RegistrationId(id);
    let scope = caller.partner_scope();
    state
        .store
        .apply(
            id,
            command,
            scope,
            &state.program,
            &caller.actor(),
            state.clock.now(),
        )
        .await?;
    detail(&state, id, scope).await.map(Json)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoRequest {
    /// The partner's answer to the open question.
    message: String,
}

/// The partner answers a request for more information.
#[utoipa::path(post, path = "/api/v1/registrations/{id}/info", tag = "registrations", request_body = InfoRequest,
    responses((status = 200, body = RegistrationView), (status = 409, body = crate::problem::Problem)))]
pub async fn provide_info(
    state: State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(r): Json<InfoRequest>,
) -> ApiResult<Json<RegistrationView>> {
    let message = text(
        "message",
        Some(&r.message),
        "write the answer to the question",
    )?;
    run(state, caller.0, id, Command::ProvideInfo { message }).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingRequest {
    /// When the first meeting was held (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    held_at: OffsetDateTime,
}

/// Log the first meeting (staff or the owning partner); on or before
/// `meeting_due` it locks the protection.
#[utoipa::path(post, path = "/api/v1/registrations/{id}/meetings", tag = "registrations", request_body = MeetingRequest,
    responses((status = 200, body = RegistrationView), (status = 409, body = crate::problem::Problem)))]
pub async fn log_meeting(
    state: State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(r): Json<MeetingRequest>,
) -> ApiResult<Json<RegistrationView>> {
    run(
        state,
        caller.0,
        id,
        Command::LogMeeting { held_at: r.held_at },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    /// won | lost
    outcome: String,
    /// The won amount, decimal string; defaults to the deal amount.
    #[schema(value_type = Option<String>)]
    amount: Option<serde_json::Value>,
    /// Currency of the amount; defaults to the deal currency.
    currency: Option<String>,
    reason: Option<String>,
}

/// Close an approved registration as won or lost.
#[utoipa::path(post, path = "/api/v1/registrations/{id}/outcome", tag = "registrations", request_body = OutcomeRequest,
    responses((status = 200, body = RegistrationView), (status = 409, body = crate::problem::Problem)))]
pub async fn close(
    state: State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
    Json(r): Json<OutcomeRequest>,
) -> ApiResult<Json<RegistrationView>> {
    let command = match r.outcome.as_str() {
        "won" => {
            let deal = state
                .store
                .registration(RegistrationId(id), None)
                .await?
                .deal;
            let mut c = Checker::default();
            let currency = match (&r.currency, &deal) {
                (Some(code), _) => c.check("currency", Currency::parse(code)),
                (None, Some(d)) => Some(d.amount.currency),
                (None, None) => None,
            };
            let amount = match (&r.amount, currency) {
                (Some(raw), Some(cur)) => money(&mut c, "amount", raw, cur),
                (Some(_), None) => {
                    c.fail("currency", "is required with an amount");
                    None
                }
                (None, _) => None,
            };
            let amount = amount.or(deal.map(|d| d.amount));
            c.finish(|| Some(Command::Win { amount }))?
        }
        "lost" => Command::Lose {
            reason: Text::optional("reason", r.reason.as_deref())?,
        },
        other => {
            return Err(ApiError::invalid(
                "outcome",
                format!("'{other}' is not an outcome: use won or lost"),
            ))
        }
    };
    run(state, staff, id, command).await
}
