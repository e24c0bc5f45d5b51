//! `GET /portal/registrations/{case}`: one registration as its partner sees
//! it (the prospect, the deadlines, a deal's terms, a conflict without the
//! other partner, the history in plain words) and the two things the
//! partner does on it: answer the partner team's question (`POST .../answer`)
//! and log the first meeting (`POST .../meeting`). Both run the lifecycle
//! commands the REST API runs, as the partner; a refused one changes
//! nothing and shows the page again with what to fix or why not now.

use super::facts::{facts, Fact};
use super::session::SignedIn;
use super::{failure, refusal, show, Nav};
use crate::input::{self, Checker};
use crate::problem::ApiError;
use crate::web::csrf;
use crate::web::words::{conflict_settled, label, registration_timeline, TimelineItem};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use time::{Date, OffsetDateTime};
use trellis_domain::event::Actor;
use trellis_domain::ids::CaseNumber;
use trellis_domain::lifecycle::{self, Command};
use trellis_domain::program::ConflictPolicy;
use trellis_domain::registration::Status;
use trellis_domain::values::Text;
use trellis_store::{RegistrationRecord, StoreError};

/// The forms' fields by the labels the page gives them.
const LABELS: &[(&str, &str)] = &[
    ("message", "Your answer"),
    ("held_on", "Date of the meeting"),
    ("held_at", "Date of the meeting"),
];

/// Both forms of the page; what a refused post entered is shown again.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CaseForm {
    csrf: String,
    message: String,
    held_on: String,
}

#[derive(Template)]
#[template(path = "portal_case.html")]
struct CasePage<'a> {
    program: &'a str,
    nav: Nav,
    case_number: String,
    company: &'a str,
    status_label: &'static str,
    status_class: &'static str,
    /// The open question, or why the registration closed.
    reason: Option<&'a str>,
    asks_answer: bool,
    asks_meeting: bool,
    facts: Vec<Fact>,
    conflict: Option<String>,
    timeline: Vec<TimelineItem>,
    problems: Vec<String>,
    form: &'a CaseForm,
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(case): Path<String>,
    jar: CookieJar,
) -> Response {
    match own(&state, &signed_in, &case).await {
        Ok(record) => {
            let form = CaseForm::default();
            view(
                &state,
                &signed_in,
                jar,
                &record,
                StatusCode::OK,
                vec![],
                &form,
            )
            .await
        }
        Err(e) => failure(&state, e),
    }
}

/// `POST /portal/registrations/{case}/answer`
pub async fn answer(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(case): Path<String>,
    jar: CookieJar,
    Form(form): Form<CaseForm>,
) -> Response {
    let command = |_: &RegistrationRecord| match Text::parse("message", &form.message) {
        Ok(message) => Ok(Command::ProvideInfo { message }),
        Err(_) => Err(ApiError::invalid(
            "message",
            "write the answer to the question",
        )),
    };
    act(&state, &signed_in, &case, jar, &form, command).await
}

/// `POST /portal/registrations/{case}/meeting`
pub async fn meeting(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(case): Path<String>,
    jar: CookieJar,
    Form(form): Form<CaseForm>,
) -> Response {
    let command = |record: &RegistrationRecord| {
        let mut c = Checker::default();
        let date = input::date(&mut c, "held_on", &form.held_on);
        let held_at = c.finish(|| date.map(|d| held_at(record, d)))?;
        Ok(Command::LogMeeting { held_at })
    };
    act(&state, &signed_in, &case, jar, &form, command).await
}

/// The moment a meeting held on `day` is logged at: the start of that day,
/// or the submission itself when the meeting was the same day, so a
/// meeting on the day of registering counts and one before it does not.
fn held_at(record: &RegistrationRecord, day: Date) -> OffsetDateTime {
    let submitted = record.life.submitted_at;
    match day == submitted.date() {
        true => submitted,
        false => day.midnight().assume_utc(),
    }
}

/// Runs the command `command` builds from the form, once the registration
/// is known to be the partner's (so another partner's case is "not found"
/// whatever the form holds). Done, the browser goes back to the page;
/// refused, the page shows what to fix (422) or why not now (409).
async fn act(
    state: &AppState,
    signed_in: &SignedIn,
    case: &str,
    jar: CookieJar,
    form: &CaseForm,
    command: impl FnOnce(&RegistrationRecord) -> Result<Command, ApiError>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return crate::web::reload(state);
    }
    let record = match own(state, signed_in, case).await {
        Ok(record) => record,
        Err(e) => return failure(state, e),
    };
    let partner = signed_in.user.partner_id;
    let actor = Actor::Partner {
        partner_id: partner,
    };
    let done = match command(&record) {
        Ok(command) => state
            .store
            .apply(
                record.id,
                command,
                Some(partner),
                &state.program,
                &actor,
                state.clock.now(),
            )
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let (status, problems) = match done.map_err(|e| refusal(e, LABELS)) {
        Ok(done) => return Redirect::to(&path(done.case_number())).into_response(),
        Err(Ok(refused)) => refused,
        Err(Err(other)) => return failure(state, other),
    };
    // As it is now: a refused command may have found it expired.
    match own(state, signed_in, case).await {
        Ok(record) => view(state, signed_in, jar, &record, status, problems, form).await,
        Err(e) => failure(state, e),
    }
}

/// The page of a registration.
pub(super) fn path(case: CaseNumber) -> String {
    format!("/portal/registrations/{case}")
}

/// The signed-in partner's registration numbered `case`, with an expiry
/// that fell due applied first; "not found" alike for a malformed number,
/// an unknown one and another partner's.
async fn own(
    state: &AppState,
    signed_in: &SignedIn,
    case: &str,
) -> Result<RegistrationRecord, ApiError> {
    let id = CaseNumber::parse(case)
        .ok_or_else(|| ApiError::NotFound("registration not found".into()))?
        .0;
    let scope = Some(signed_in.user.partner_id);
    let record = state.store.registration(id, scope).await?;
    let now = state.clock.now();
    if lifecycle::due_expiry(&record.life, now).is_none() {
        return Ok(record);
    }
    state.store.expire_if_due(id, &state.program, now).await?;
    Ok(state.store.registration(id, scope).await?)
}

async fn view(
    state: &AppState,
    signed_in: &SignedIn,
    jar: CookieJar,
    record: &RegistrationRecord,
    status: StatusCode,
    problems: Vec<String>,
    form: &CaseForm,
) -> Response {
    let read = async {
        let events = state.store.registration_events(record.id).await?;
        Ok::<_, StoreError>((events, conflict_notice(state, record).await?))
    };
    let (events, conflict) = match read.await {
        Ok(read) => read,
        Err(e) => return failure(state, e.into()),
    };
    let life = &record.life;
    let (status_label, status_class) = label(life.status);
    let (jar, nav) = Nav::new(state, signed_in, jar, "registrations");
    let page = CasePage {
        program: &state.program.name,
        nav,
        case_number: record.case_number().to_string(),
        company: &record.company_name,
        status_label,
        status_class,
        reason: life.status_reason.as_deref(),
        asks_answer: life.status == Status::MoreInfo,
        asks_meeting: life.status == Status::Approved && life.first_meeting_at.is_none(),
        facts: facts(record, state.clock.now()),
        conflict,
        timeline: registration_timeline(&events, record.id),
        problems,
        form,
    };
    show(jar, status, &page)
}

/// What a partner may know of a conflict on its registration: another
/// registration claims the account, the rule that decides, and how it
/// ended for this one; never whose the other registration is.
async fn conflict_notice(
    state: &AppState,
    record: &RegistrationRecord,
) -> Result<Option<String>, StoreError> {
    let Some(id) = record.conflict_id else {
        return Ok(None);
    };
    let conflict = state.store.conflict(id).await?;
    if conflict.status == "resolved" {
        return Ok(Some(format!(
            "{}.",
            conflict_settled(conflict.winner_id, record.id)
        )));
    }
    let policy = ConflictPolicy::ALL
        .into_iter()
        .find(|p| p.as_str() == conflict.policy)
        .unwrap_or(state.program.registration.conflict_policy);
    Ok(Some(format!(
        "Another partner's registration claims this account too. Under this program, {}.",
        policy.rule()
    )))
}
