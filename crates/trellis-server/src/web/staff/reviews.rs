//! `GET /staff/reviews`: the quarterly reviews, newest first, each with how
//! many partners it moves which way, and `POST /staff/reviews`, the form
//! that runs a quarter's review as a draft (the store call of
//! `POST /api/v1/reviews`).

use super::page::{answer, failed, refusal, Refusal};
use super::{Frame, Section, StaffSignedIn};
use crate::problem::ApiError;
use crate::web::{csrf, reload};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use trellis_domain::tiering::Quarter;
use trellis_domain::values::day;
use trellis_store::ReviewSummary;

/// Reviews listed per page.
const PAGE: i64 = 20;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Paging {
    /// The id of the last review of the previous page.
    before: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StartForm {
    csrf: String,
    quarter: String,
}

struct Row {
    summary: ReviewSummary,
    created: String,
    published: String,
}

#[derive(Template)]
#[template(path = "staff_reviews.html")]
struct ReviewsPage {
    frame: Frame,
    rows: Vec<Row>,
    older: Option<i64>,
    quarter: String,
    problems: Vec<String>,
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Query(paging): Query<Paging>,
) -> Response {
    let quarter = Quarter::last_complete(state.clock.now()).to_string();
    let shown = Shown {
        before: paging.before,
        quarter,
        problems: Vec::new(),
    };
    show(&state, jar, &signed_in, shown).await
}

/// What a rendering of the list carries besides the reviews.
struct Shown {
    before: Option<i64>,
    quarter: String,
    problems: Vec<String>,
}

async fn show(
    state: &AppState,
    jar: CookieJar,
    signed_in: &StaffSignedIn,
    shown: Shown,
) -> Response {
    let before = shown.before.unwrap_or(i64::MAX);
    let mut summaries = match state.store.review_summaries(before, PAGE + 1).await {
        Ok(found) => found,
        Err(e) => return failed(state, e),
    };
    let more = summaries.len() as i64 > PAGE;
    summaries.truncate(PAGE as usize);
    let older = summaries.last().map(|r| r.id).filter(|_| more);
    let status = match shown.problems.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let (jar, frame) = Frame::new(state, jar, signed_in, Section::Reviews);
    let page = ReviewsPage {
        frame,
        rows: summaries.into_iter().map(row).collect(),
        older,
        quarter: shown.quarter,
        problems: shown.problems,
    };
    answer(jar, status, &page)
}

fn row(summary: ReviewSummary) -> Row {
    Row {
        created: day(summary.created_at),
        published: summary.published_at.map(day).unwrap_or_default(),
        summary,
    }
}

/// Runs the review of the quarter asked for and opens its draft; a quarter
/// written wrong or not yet ended is shown back with what to fix.
pub async fn start(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Form(form): Form<StartForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return reload(&state);
    }
    let created = async {
        let quarter = crate::api::quarter(form.quarter.trim())?;
        let actor = signed_in.actor();
        let now = state.clock.now();
        let review = state
            .store
            .create_review(&state.program, quarter, &actor, now)
            .await?;
        Ok::<_, ApiError>(review)
    };
    match created.await {
        Ok(review) => Redirect::to(&format!("/staff/reviews/{}", review.id)).into_response(),
        Err(e) => match refusal(&state, e) {
            Refusal::Fix(problems) => {
                let shown = Shown {
                    before: None,
                    quarter: form.quarter,
                    problems,
                };
                show(&state, jar, &signed_in, shown).await
            }
            Refusal::Answer(response) => response,
        },
    }
}
