//! `GET /staff/conflicts`: the open channel conflicts, oldest first a page
//! at a time, and the latest settled ones, each with its claims, policy
//! and outcome. `POST /staff/conflicts/{id}/resolve` settles one by hand
//! from a registration's page, through the API's own reading of the winner
//! and reason and the same store call as `POST /api/v1/conflicts/{id}/resolve`.

use super::decide::{again, Problem};
use super::views::{failed, ConflictView, Partners};
use super::{Frame, Section, StaffSignedIn};
use crate::problem::ApiError;
use crate::web::{csrf, reload, render};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use trellis_domain::ids::{CaseNumber, ConflictId};
use trellis_store::{ConflictClaims, StoreError};

/// Open conflicts per page.
const PAGE: i64 = 50;
/// Settled conflicts listed, latest first.
const SETTLED_SHOWN: i64 = 20;

#[derive(Template)]
#[template(path = "staff_conflicts.html")]
struct ConflictsPage {
    frame: Frame,
    open: Vec<ConflictView>,
    settled: Vec<ConflictView>,
    first_page: bool,
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConflictsQuery {
    /// The id of the last open conflict on the previous page.
    after: i64,
}

async fn facts(
    state: &AppState,
    after: i64,
) -> Result<(Vec<ConflictClaims>, Vec<ConflictClaims>, Partners), StoreError> {
    let store = &state.store;
    let (open, settled) = tokio::try_join!(
        store.open_conflicts(after, PAGE),
        store.settled_conflicts(SETTLED_SHOWN),
    )?;
    let claims = open.iter().chain(&settled).flat_map(|c| &c.claims);
    let partners = store.partners_by_ids(claims.map(|r| r.partner_id)).await?;
    Ok((open, settled, Partners(partners)))
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Query(q): Query<ConflictsQuery>,
) -> Response {
    let (open, settled, partners) = match facts(&state, q.after).await {
        Ok(found) => found,
        Err(e) => return failed(e),
    };
    let next = (open.len() as i64 == PAGE)
        .then(|| open.last())
        .flatten()
        .map(|last| format!("/staff/conflicts?after={}", last.conflict.id));
    let view = |c: &ConflictClaims| ConflictView::new(c, &partners);
    let (jar, frame) = Frame::new(&state, jar, &signed_in, Section::Conflicts);
    let page = ConflictsPage {
        frame,
        open: open.iter().map(view).collect(),
        settled: settled.iter().map(view).collect(),
        first_page: q.after == 0,
        next,
    };
    (jar, render(StatusCode::OK, &page, None)).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResolveForm {
    csrf: String,
    /// The registration whose page the form is on.
    case: String,
    winner: String,
    reason: String,
}

pub async fn resolve(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Path(id): Path<i64>,
    Form(form): Form<ResolveForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return reload(&state);
    }
    let Some(case) = CaseNumber::parse(&form.case) else {
        return super::views::unknown_case(&state);
    };
    let winner = serde_json::Value::String(form.winner.clone());
    let resolved = match crate::api::resolution(&winner, &form.reason) {
        Ok((winner, reason)) => state
            .store
            .resolve_conflict(
                ConflictId(id),
                winner,
                &reason,
                &state.program,
                &signed_in.actor(),
                state.clock.now(),
            )
            .await
            .map(|_| winner)
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let refused = match resolved {
        Ok(winner) => {
            let to = format!(
                "/staff/registrations/{case}?done={}&did=resolve",
                CaseNumber(winner)
            );
            return Redirect::to(&to).into_response();
        }
        Err(e @ ApiError::Internal(_)) => return e.into_response(),
        Err(e) => e,
    };
    let (status, text) = refused.status_and_detail();
    let problem = Problem {
        id: case.0,
        form: "resolve".into(),
        text,
        status,
    };
    again(&state, jar, &signed_in, "detail", "", problem).await
}
