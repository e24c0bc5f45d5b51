//! `GET /portal/registrations`: the partner's registrations of every
//! status, newest first, a page at a time. "Show more" continues below the
//! last one shown (`?before=ID`), so a page costs one indexed range read
//! however many registrations came before it.

use super::session::SignedIn;
use super::{failure, show, Nav};
use crate::web::words::{days_left, label};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use time::OffsetDateTime;
use trellis_domain::ids::RegistrationId;
use trellis_domain::registration::Status;
use trellis_domain::values::day;
use trellis_store::RegistrationRecord;

/// Registrations per page.
const PAGE: i64 = 25;

/// One registration in a list: where it stands and how long it holds.
pub(super) struct Line {
    pub case_number: String,
    pub company: String,
    pub status_label: &'static str,
    pub status_class: &'static str,
    /// "12 days left", or what the registration waits for.
    pub hold: String,
}

/// A registration as a list line at `now`.
pub(super) fn line(record: &RegistrationRecord, now: OffsetDateTime) -> Line {
    let (status_label, status_class) = label(record.life.status);
    Line {
        case_number: record.case_number().to_string(),
        company: record.company_name.clone(),
        status_label,
        status_class,
        hold: hold(record, now),
    }
}

/// Days left on the hold of an approved registration; one not yet approved
/// holds nothing yet, and a closed one says when it closed.
fn hold(record: &RegistrationRecord, now: OffsetDateTime) -> String {
    let life = &record.life;
    match (life.status, life.hold_until, life.closed_at) {
        (Status::Approved, Some(until), _) => days_left(until, now),
        (Status::Submitted | Status::MoreInfo, _, _) => "held once approved".to_owned(),
        (_, _, Some(closed)) => format!("closed on {}", day(closed)),
        _ => "closed".to_owned(),
    }
}

#[derive(Template)]
#[template(path = "portal_registrations.html")]
struct ListPage<'a> {
    program: &'a str,
    nav: Nav,
    registrations: Vec<Line>,
    /// The `before` of the next page, when there is one.
    more: Option<i64>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    before: Option<i64>,
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<ListQuery>,
    jar: CookieJar,
) -> Response {
    let now = state.clock.now();
    let partner = signed_in.user.partner_id;
    let read = async {
        // Correct on read: a hold that ran out shows as expired.
        state.store.expire_due(&state.program, now).await?;
        let before = query.before.map(RegistrationId);
        state
            .store
            .partner_registrations(partner, before, PAGE + 1)
            .await
    };
    let mut records = match read.await {
        Ok(records) => records,
        Err(e) => return failure(&state, e.into()),
    };
    // One row past the page says whether there is a next one.
    let has_more = records.len() as i64 > PAGE;
    records.truncate(PAGE as usize);
    let more = records.last().map(|r| r.id.0).filter(|_| has_more);
    let (jar, nav) = Nav::new(&state, &signed_in, jar, "registrations");
    let page = ListPage {
        program: &state.program.name,
        nav,
        registrations: records.iter().map(|r| line(r, now)).collect(),
        more,
    };
    show(jar, StatusCode::OK, &page)
}
