//! `POST /staff/registrations/{case}/decide`: approve, decline or ask for
//! more information from the queue or a registration's page. The words are
//! read by the API's own `decision` and the command runs through the same
//! store call as `POST /api/v1/registrations/{id}/decision`, made by the
//! signed-in person. Done, it leads back with a confirmation; refused (a
//! reason left out, a decision the registration's state does not allow), it
//! shows the page again with the problem beside the form, and nothing changed.

use super::views::unknown_case;
use super::{queue, registration, StaffSignedIn};
use crate::problem::ApiError;
use crate::web::{csrf, reload};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use trellis_domain::ids::{CaseNumber, RegistrationId};
use trellis_store::RegistrationRecord;

/// Why a form on a page was refused, shown beside that form.
pub struct Problem {
    /// The registration whose form it was.
    pub id: RegistrationId,
    /// Which form: `approve`, `decline`, `request_info` or `resolve`.
    pub form: String,
    pub text: String,
    pub status: StatusCode,
}

/// What the decision forms of one registration need.
pub struct DecisionForms {
    pub case: String,
    /// Where the forms lead back to: `queue` or `detail`.
    pub back: &'static str,
    /// The queue page the forms are on (a case number, or empty).
    pub after: String,
    /// The problem with the last decision sent from these forms.
    pub problem: Option<String>,
    /// Whether the decline form (rather than request info) has the problem.
    pub problem_on_decline: bool,
    pub problem_on_question: bool,
}

impl DecisionForms {
    pub fn new(
        record: &RegistrationRecord,
        back: &'static str,
        after: &str,
        problem: Option<&Problem>,
    ) -> DecisionForms {
        let problem = problem.filter(|p| p.id == record.id && p.form != "resolve");
        let on = |form: &str| problem.is_some_and(|p| p.form == form);
        DecisionForms {
            case: record.case_number().to_string(),
            back,
            after: after.to_owned(),
            problem_on_decline: on("decline"),
            problem_on_question: on("request_info"),
            problem: problem.map(|p| p.text.clone()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecideForm {
    csrf: String,
    decision: String,
    reason: String,
    back: String,
    after: String,
}

/// What the confirmation says after a change made from a page, named by
/// `?done=REG-000123&did=approve`.
pub fn confirmation(done: &str, did: &str) -> Option<String> {
    let case = CaseNumber::parse(done)?;
    let what = match did {
        "approve" => "approved",
        "decline" => "declined",
        "request_info" => "sent back to the partner with your question",
        "resolve" => "won the conflict: the other claims are declined",
        _ => "updated",
    };
    Some(format!("{case} {what}."))
}

/// Where a change made from a page leads: the queue (on the same page) or
/// the registration's page, confirming what was done.
fn done(back: &str, case: CaseNumber, did: &str, after: &str) -> Response {
    let confirm = format!("done={case}&did={did}");
    let to = match (back, CaseNumber::parse(after)) {
        ("queue", Some(after)) => format!("/staff/queue?after={after}&{confirm}"),
        ("queue", None) => format!("/staff/queue?{confirm}"),
        _ => format!("/staff/registrations/{case}?{confirm}"),
    };
    Redirect::to(&to).into_response()
}

pub async fn decide(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Path(case): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return reload(&state);
    }
    let Some(case) = CaseNumber::parse(&case) else {
        return unknown_case(&state);
    };
    let applied = match crate::api::decision(&form.decision, Some(&form.reason), None) {
        Ok(command) => state
            .store
            .apply(
                case.0,
                command,
                None,
                &state.program,
                &signed_in.actor(),
                state.clock.now(),
            )
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let refused = match applied {
        Ok(_) => return done(&form.back, case, &form.decision, &form.after),
        Err(ApiError::NotFound(_)) => return unknown_case(&state),
        Err(e @ ApiError::Internal(_)) => return e.into_response(),
        Err(e) => e,
    };
    let (status, text) = refused.status_and_detail();
    let problem = Problem {
        id: case.0,
        form: form.decision.clone(),
        text,
        status,
    };
    again(&state, jar, &signed_in, &form.back, &form.after, problem).await
}

/// The page a refused form came from, with its problem.
pub(super) async fn again(
    state: &AppState,
    jar: CookieJar,
    signed_in: &StaffSignedIn,
    back: &str,
    after: &str,
    problem: Problem,
) -> Response {
    match back {
        "queue" => queue::show(state, jar, signed_in, after, None, Some(problem)).await,
        _ => {
            let id = problem.id;
            registration::show(state, jar, signed_in, id, None, Some(problem)).await
        }
    }
}
