//! `GET/POST /staff/people`, admins only: who works in the workspace, and
//! adding a person, who then signs in by a link mailed to their address
//! (a password, if they want one, is theirs to set with `trellis user
//! password`, so no admin ever knows it).

use super::page::answer;
use super::{Frame, Section, StaffSignedIn};
use crate::web::{csrf, message, reload};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use trellis_domain::dedupe::Email;
use trellis_store::{NewStaffUser, Role, StaffUser, StoreError};

/// More people than any partner team has.
const LISTED: i64 = 500;

#[derive(Template)]
#[template(path = "staff_people.html")]
struct PeoplePage {
    frame: Frame,
    people: Vec<(StaffUser, bool)>,
    problems: Vec<String>,
    form: PersonForm,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PersonForm {
    csrf: String,
    name: String,
    email: String,
    role: String,
}

/// Only an admin adds people; a manager is told so.
fn admin_only(state: &AppState, signed_in: &StaffSignedIn) -> Option<Response> {
    (signed_in.user.role != Role::Admin).then(|| {
        message(
            state,
            StatusCode::FORBIDDEN,
            "Admins only",
            "Only an admin of the workspace sees and adds its people. Ask one of them.",
        )
    })
}

async fn show(
    state: &AppState,
    jar: CookieJar,
    signed_in: &StaffSignedIn,
    (status, problems, form): (StatusCode, Vec<String>, PersonForm),
) -> Response {
    let people = match state.store.staff_users(LISTED).await {
        Ok(people) => people,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let (jar, frame) = Frame::new(state, jar, signed_in, Section::People);
    let page = PeoplePage {
        frame,
        people,
        problems,
        form,
    };
    answer(jar, status, &page)
}

/// `GET /staff/people`
pub async fn page(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
) -> Response {
    if let Some(refused) = admin_only(&state, &signed_in) {
        return refused;
    }
    let blank = PersonForm {
        role: "manager".into(),
        ..PersonForm::default()
    };
    show(&state, jar, &signed_in, (StatusCode::OK, Vec::new(), blank)).await
}

/// `POST /staff/people`: adds a person who signs in by mailed link.
pub async fn add(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Form(form): Form<PersonForm>,
) -> Response {
    if let Some(refused) = admin_only(&state, &signed_in) {
        return refused;
    }
    if !csrf::valid(&jar, &form.csrf) {
        return reload(&state);
    }
    let problems = match added(&state, &form).await {
        Ok(()) => return Redirect::to("/staff/people").into_response(),
        Err(problems) => problems,
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    show(&state, jar, &signed_in, (status, problems, form)).await
}

/// Checks the form whole, then adds the person; the problems otherwise.
async fn added(state: &AppState, form: &PersonForm) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let name = form.name.trim();
    if name.is_empty() {
        problems.push("Name: give the person's name, as colleagues know it".to_owned());
    }
    let email = Email::parse(&form.email).map_err(|e| format!("Work email: {e}"));
    let role = Role::parse(&form.role)
        .filter(|r| *r != Role::Partner)
        .ok_or_else(|| "Role: choose admin or manager".to_owned());
    let (email, role) = match (email, role) {
        (Ok(email), Ok(role)) if problems.is_empty() => (email, role),
        (email, role) => {
            problems.extend(email.err().into_iter().chain(role.err()));
            return Err(problems);
        }
    };
    let new = NewStaffUser {
        email: &email,
        name,
        role,
        password_hash: None,
    };
    match state.store.create_staff_user(&new, state.clock.now()).await {
        Ok(_) => Ok(()),
        Err(StoreError::Domain(e)) => Err(vec![e.to_string()]),
        Err(e) => Err(vec![format!("The person was not added: {e}")]),
    }
}
