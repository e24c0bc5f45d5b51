//! The partner portal: partner users sign in with a link mailed to their
//! work address (no password) and see their own partner's standing,
//! registrations and review decisions; they register prospects, answer
//! questions, log meetings and appeal decisions. A session belongs to one
//! partner user, and every page reads only that user's partner: another
//! partner's case answers "not found" exactly like an unknown one.

mod appeals;
mod case;
mod facts;
mod home;
mod new_registration;
mod registrations;
mod session;
mod sign_in;

use crate::problem::{ApiError, FieldError};
use crate::web::{csrf, message, render, secure};
use crate::AppState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::CookieJar;
use session::SignedIn;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(home::page))
        .route("/portal/registrations", get(registrations::page))
        .route(
            "/portal/registrations/new",
            get(new_registration::page).post(new_registration::post),
        )
        .route("/portal/registrations/{case}", get(case::page))
        .route("/portal/registrations/{case}/answer", post(case::answer))
        .route("/portal/registrations/{case}/meeting", post(case::meeting))
        .route("/portal/appeals", get(appeals::page))
        .route(
            "/portal/reviews/{review}/appeal",
            get(appeals::form).post(appeals::post),
        )
        .route("/portal/sign-in", get(sign_in::page).post(sign_in::request))
        .route("/portal/sign-in/{token}", get(sign_in::follow))
        .route("/portal/sign-out", post(sign_in::sign_out))
        .layer(Extension(crate::web::sign_in_mail::limiter()))
}

/// What tops every signed-in page: the portal's links (the one shown now
/// marked), who is signed in, and the sign-out form with its CSRF token.
pub(super) struct Nav {
    pub user: String,
    pub csrf: String,
    /// `home`, `registrations`, `new` or `appeals`.
    pub current: &'static str,
}

impl Nav {
    /// The nav for `signed_in` on page `current`, with the page's CSRF
    /// token, which `jar` now carries.
    fn new(
        state: &AppState,
        signed_in: &SignedIn,
        jar: CookieJar,
        current: &'static str,
    ) -> (CookieJar, Nav) {
        let (jar, csrf) = csrf::token(jar, secure(state));
        let nav = Nav {
            user: signed_in.user.name.clone(),
            csrf,
            current,
        };
        (jar, nav)
    }
}

/// A page with the cookie jar its CSRF token is in.
fn show(jar: CookieJar, status: StatusCode, page: &impl Template) -> Response {
    (jar, render(status, page, None)).into_response()
}

/// A failure as a page: "not found" in the same words whatever was not
/// found (so another partner's case looks like no case at all), anything
/// else as the API answers it.
fn failure(state: &AppState, error: ApiError) -> Response {
    match error {
        ApiError::NotFound(_) => message(
            state,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing of yours at this address. Your registrations and decisions are listed in the portal.",
        ),
        other => other.into_response(),
    }
}

/// How a form the rules refused is answered: with what to fix (422) or
/// why not now (409), shown on the form again; `Err` is any other error,
/// for [`failure`].
fn refusal(
    error: ApiError,
    labels: &[(&str, &str)],
) -> Result<(StatusCode, Vec<String>), ApiError> {
    match error {
        ApiError::Invalid(errors) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            relabel(lines(errors), labels),
        )),
        ApiError::Conflict(why) => Ok((StatusCode::CONFLICT, vec![why])),
        other => Err(other),
    }
}

/// Field errors as `field: what to fix` lines, the way intake reports them.
fn lines(errors: Vec<FieldError>) -> Vec<String> {
    errors
        .into_iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect()
}

/// Problems as a form's reader sees them: each field named by its label on
/// the form (`labels` pairs field names with labels) rather than its name.
fn relabel(problems: Vec<String>, labels: &[(&str, &str)]) -> Vec<String> {
    problems
        .into_iter()
        .map(|problem| {
            let label = problem.split_once(": ").and_then(|(field, what)| {
                let (_, label) = labels.iter().find(|(f, _)| *f == field)?;
                Some(format!("{label}: {what}"))
            });
            label.unwrap_or(problem)
        })
        .collect()
}
