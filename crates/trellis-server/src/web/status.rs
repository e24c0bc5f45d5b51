//! `GET /status/{token}`: a registration's status page, opened by the link
//! mailed at registration: no password, nothing but that one registration.
//! From it a partner user can get a one-time code to link Slack.

use super::words::{label, registration_timeline, TimelineItem};
use super::{csrf, message, render};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use rand::Rng;
use serde::Deserialize;
use time::Duration;
use trellis_domain::dedupe::Email;
use trellis_domain::event::Actor;
use trellis_domain::ids::RegistrationId;
use trellis_domain::values::day;
use trellis_store::{PartnerUser, RegistrationRecord};

/// How long a Slack link code works.
const SLACK_CODE_MINUTES: i64 = 15;

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    program: &'a str,
    token: &'a str,
    csrf: String,
    case_number: String,
    company: &'a str,
    status_label: &'static str,
    status_class: &'static str,
    status_reason: Option<&'a str>,
    submitted: String,
    protection: Option<String>,
    meeting_due: Option<String>,
    timeline: Vec<TimelineItem>,
    slack_code: Option<String>,
}

/// The registration a link opens, with any due expiry applied first.
async fn open(state: &AppState, token: &str) -> Result<(RegistrationRecord, String), Response> {
    let now = state.clock.now();
    let not_found = || {
        message(state, StatusCode::NOT_FOUND, "Link not valid", "This status link is unknown or has expired. Your partner manager can tell you the status of any registration.")
    };
    let (id, email) = match state.store.status_link(token, now).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(not_found()),
        Err(e) => return Err(crate::problem::ApiError::from(e).into_response()),
    };
    let loaded = async {
        state.store.expire_if_due(id, &state.program, now).await?;
        state.store.registration(id, None).await
    };
    loaded
        .await
        .map(|r| (r, email))
        .map_err(|e| crate::problem::ApiError::from(e).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    jar: CookieJar,
) -> Response {
    show(&state, &token, jar, None).await
}

async fn show(
    state: &AppState,
    token: &str,
    jar: CookieJar,
    slack_code: Option<String>,
) -> Response {
    let (record, _) = match open(state, token).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let events = match state.store.registration_events(record.id).await {
        Ok(events) => events,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let (jar, csrf) = csrf::token(jar, crate::web::secure(state));
    let (status_label, status_class) = label(record.life.status);
    let page = StatusPage {
        program: &state.program.name,
        token,
        csrf,
        case_number: record.case_number().to_string(),
        company: &record.company_name,
        status_label,
        status_class,
        status_reason: record.life.status_reason.as_deref(),
        submitted: day(record.life.submitted_at),
        protection: record.life.hold_until.map(day),
        meeting_due: record
            .life
            .meeting_due
            .filter(|_| record.life.first_meeting_at.is_none())
            .map(day),
        timeline: registration_timeline(&events, record.id),
        slack_code,
    };
    (jar, render(StatusCode::OK, &page, None)).into_response()
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
}

/// Issues a one-time code that links the Slack user who types it to the
/// person this link was mailed to.
pub async fn slack_code(
    State(state): State<AppState>,
    Path(token): Path<String>,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return message(&state, StatusCode::FORBIDDEN, "Please reload the page", "This form has expired or was sent from another site. Reload the status page and try again.");
    }
    let (record, email) = match open(&state, &token).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let issued = async {
        let user = partner_user(&state, record.id, &email).await?;
        let expires = state.clock.now() + Duration::minutes(SLACK_CODE_MINUTES);
        state.store.create_slack_code(&code, user.id, expires).await
    };
    match issued.await {
        Ok(()) => show(&state, &token, jar, Some(code)).await,
        Err(e) => crate::problem::ApiError::from(e).into_response(),
    }
}

/// The partner user the link was mailed to. Someone registering by domain
/// alone becomes a partner user here: opening the link proved the mailbox.
async fn partner_user(
    state: &AppState,
    registration: RegistrationId,
    email: &str,
) -> Result<PartnerUser, trellis_store::StoreError> {
    let address = Email::parse(email).map_err(|e| trellis_store::StoreError::Domain(e.into()))?;
    if let Some(user) = state.store.sender(&address).await?.and_then(|s| s.user) {
        return Ok(user);
    }
    let record = state.store.registration(registration, None).await?;
    let name = email.split('@').next().unwrap_or(email);
    let actor = Actor::Partner {
        partner_id: record.partner_id,
    };
    state
        .store
        .add_partner_user(record.partner_id, name, &address, &actor, state.clock.now())
        .await
}
