//! What the workspace's pages share: answering with a rendered page, a
//! missing record as a 404 page, and the refusals of a form in words the
//! page shows beside it.

use crate::problem::ApiError;
use crate::web::{message, render};
use crate::AppState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use trellis_store::StoreError;

/// A page, with the cookie jar its frame may have refreshed.
pub fn answer(jar: CookieJar, status: StatusCode, page: &impl Template) -> Response {
    (jar, render(status, page, None)).into_response()
}

/// A store failure: a record that is not there is a page saying so;
/// anything else is the API's answer for it (an outage is logged, not shown).
pub fn failed(state: &AppState, e: StoreError) -> Response {
    match e {
        StoreError::NotFound(what) => not_found(state, what),
        other => ApiError::from(other).into_response(),
    }
}

pub fn not_found(state: &AppState, what: &str) -> Response {
    let text = format!("There is no such {what}. It may have been typed wrong; go back to the list and follow a link from there.");
    message(state, StatusCode::NOT_FOUND, "Not found", &text)
}

/// How a form's refusal is answered.
pub enum Refusal {
    /// The page again, with one sentence per problem to fix.
    Fix(Vec<String>),
    /// A failure that is not the person's to fix, answered as it is.
    Answer(Response),
}

/// What a form's validation or store call refused.
pub fn refusal(state: &AppState, e: ApiError) -> Refusal {
    match e {
        ApiError::Invalid(fields) => Refusal::Fix(
            fields
                .into_iter()
                .map(|f| format!("{}: {}", field_label(&f.field), f.message))
                .collect(),
        ),
        ApiError::Conflict(text) => Refusal::Fix(vec![text]),
        ApiError::NotFound(what) => {
            Refusal::Answer(not_found(state, what.trim_end_matches(" not found")))
        }
        other => Refusal::Answer(other.into_response()),
    }
}

/// A field's name as its form labels it.
fn field_label(field: &str) -> String {
    let words = field.replace('_', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
