//! `GET /staff/registrations/{case}`: one registration as staff weigh it:
//! its fields and deadlines, the account with the other open claims on it
//! and the near accounts that may be the same company, the conflict panel
//! (policy, every claim, the outcome, and the form to settle it by hand),
//! the decision forms while it waits, and its full audit trail.

use super::decide::{confirmation, DecisionForms, Problem};
use super::history;
use super::views::{failed, href, kind, status_words, unknown_case, ConflictView, Partners};
use super::{Frame, Section, StaffSignedIn};
use crate::web::render;
use crate::web::words::{days_left, TimelineItem};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use time::OffsetDateTime;
use trellis_domain::ids::{CaseNumber, RegistrationId};
use trellis_domain::registration::Status;
use trellis_domain::values::day;
use trellis_store::{
    AccountRecord, Candidate, ConflictClaims, EventRecord, RegistrationRecord, StoreError,
};

/// Another open registration on the same account.
struct Other {
    case: String,
    href: String,
    partner: String,
    status_label: &'static str,
    status_class: &'static str,
    kind: String,
}

#[derive(Template)]
#[template(path = "staff_registration.html")]
struct DetailPage {
    frame: Frame,
    done: Option<String>,
    case: String,
    company: String,
    partner: String,
    status_label: &'static str,
    status_class: &'static str,
    status_reason: Option<String>,
    fields: Vec<(&'static str, String)>,
    deadlines: Vec<(&'static str, String)>,
    account: AccountRecord,
    others: Vec<Other>,
    duplicates: Vec<Candidate>,
    conflict: Option<ConflictView>,
    resolve_problem: Option<String>,
    decidable: bool,
    forms: DecisionForms,
    timeline: Vec<TimelineItem>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DetailQuery {
    done: String,
    did: String,
}

/// What the page reads from the store.
struct Facts {
    record: RegistrationRecord,
    account: AccountRecord,
    others: Vec<RegistrationRecord>,
    conflict: Option<ConflictClaims>,
    duplicates: Vec<Candidate>,
    events: Vec<EventRecord>,
    partners: Partners,
    staff: std::collections::HashMap<i64, String>,
}

async fn facts(state: &AppState, id: RegistrationId) -> Result<Facts, StoreError> {
    let store = &state.store;
    let record = store.registration(id, None).await?;
    let threshold = state.program.dedupe.fuzzy_threshold;
    let conflicts = record.conflict_id.map_or_else(Vec::new, |c| vec![c]);
    let (account, others, conflict, mut duplicates, events) = tokio::try_join!(
        store.account(record.account_id),
        store.active_registrations_on(record.account_id),
        store.conflicts_with_claims(&conflicts),
        store.similar_accounts(std::slice::from_ref(&record), threshold),
        store.registration_timeline(id, record.conflict_id),
    )?;
    let conflict = conflict.into_iter().next();
    let (staff_ids, actor_partners) = history::actors(&events);
    let claims = conflict.iter().flat_map(|c| &c.claims);
    let partner_ids = others.iter().chain(claims).map(|r| r.partner_id);
    let partner_ids = partner_ids.chain(actor_partners).chain([record.partner_id]);
    let (partners, staff) = tokio::try_join!(
        store.partners_by_ids(partner_ids),
        store.staff_names(staff_ids),
    )?;
    Ok(Facts {
        duplicates: duplicates.remove(&id).unwrap_or_default(),
        others: others.into_iter().filter(|o| o.id != id).collect(),
        record,
        account,
        conflict,
        events,
        partners: Partners(partners),
        staff,
    })
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Path(case): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let Some(case) = CaseNumber::parse(&case) else {
        return unknown_case(&state);
    };
    let done = confirmation(&q.done, &q.did);
    show(&state, jar, &signed_in, case.0, done, None).await
}

/// The page of registration `id`, with a confirmation or a form's problem.
pub(super) async fn show(
    state: &AppState,
    jar: CookieJar,
    signed_in: &StaffSignedIn,
    id: RegistrationId,
    done: Option<String>,
    problem: Option<Problem>,
) -> Response {
    let facts = match facts(state, id).await {
        Ok(facts) => facts,
        Err(StoreError::NotFound(_)) => return unknown_case(state),
        Err(e) => return failed(e),
    };
    let status = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let record = &facts.record;
    let (status_label, status_class) = status_words(record.life.status);
    let resolve_problem = problem
        .as_ref()
        .filter(|p| p.form == "resolve")
        .map(|p| p.text.clone());
    let (jar, frame) = Frame::new(state, jar, signed_in, Section::Queue);
    let page = DetailPage {
        frame,
        done,
        case: record.case_number().to_string(),
        company: record.company_name.clone(),
        partner: facts.partners.name(record.partner_id),
        status_label,
        status_class,
        status_reason: record.life.status_reason.clone(),
        fields: fields(record),
        deadlines: deadlines(record, state.clock.now()),
        others: facts
            .others
            .iter()
            .map(|o| other(o, &facts.partners))
            .collect(),
        conflict: facts
            .conflict
            .as_ref()
            .map(|c| ConflictView::new(c, &facts.partners)),
        resolve_problem,
        decidable: matches!(record.life.status, Status::Submitted | Status::MoreInfo),
        forms: DecisionForms::new(record, "detail", "", problem.as_ref()),
        timeline: history::timeline(&facts.events, &facts.partners, &facts.staff),
        account: facts.account,
        duplicates: facts.duplicates,
    };
    (jar, render(status, &page, None)).into_response()
}

/// The registration's own fields, those it has.
fn fields(record: &RegistrationRecord) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("Kind", kind(record)),
        ("Channel", record.channel.as_str().to_owned()),
        (
            "Contact",
            format!("{} <{}>", record.contact_name, record.contact_email),
        ),
    ];
    let optional = [
        ("Domain", record.company_domain.clone()),
        ("Use case", record.use_case.clone()),
        ("Segment", record.market.segment.clone()),
        ("Region", record.market.region.clone()),
        ("Product", record.market.product.clone()),
    ];
    fields.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
    if let Some(deal) = &record.deal {
        fields.push(("Deal stage", deal.stage.clone()));
        fields.push(("Expected close", deal.expected_close.to_string()));
        if let Some(step) = &deal.next_step {
            fields.push(("Next step", step.clone()));
        }
    }
    fields
}

/// The dates that matter, with the days left on those still ahead.
fn deadlines(record: &RegistrationRecord, now: OffsetDateTime) -> Vec<(&'static str, String)> {
    let life = &record.life;
    let ahead = |at: OffsetDateTime| match at > now {
        true => format!("{} ({})", day(at), days_left(at, now)),
        false => format!("{} (passed)", day(at)),
    };
    let mut dates = vec![("Submitted", day(life.submitted_at))];
    let optional = [
        ("Approved", life.approved_at.map(day)),
        ("Protected until", life.hold_until.map(ahead)),
        (
            "First meeting due",
            life.meeting_due
                .filter(|_| life.first_meeting_at.is_none())
                .map(ahead),
        ),
        ("First meeting held", life.first_meeting_at.map(day)),
        ("Closed", life.closed_at.map(day)),
    ];
    dates.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
    dates
}

fn other(record: &RegistrationRecord, partners: &Partners) -> Other {
    let (status_label, status_class) = status_words(record.life.status);
    Other {
        case: record.case_number().to_string(),
        href: href(record.id),
        partner: partners.name(record.partner_id),
        status_label,
        status_class,
        kind: kind(record),
    }
}
