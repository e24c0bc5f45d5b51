//! `GET /staff/queue`: the registrations waiting for a staff decision,
//! oldest first a page at a time, each with how long it has waited against
//! its partner's response SLA, the possible duplicates and conflicts to
//! weigh, and one-click decisions; then those waiting on the partner.

use super::decide::{confirmation, DecisionForms, Problem};
use super::views::{failed, href, kind, ConflictView, Partners};
use super::{Frame, Section, StaffSignedIn};
use crate::web::render;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use trellis_domain::ids::{CaseNumber, ConflictId, RegistrationId};
use trellis_domain::registration::Status;
use trellis_domain::values::day;
use trellis_store::{Candidate, RegistrationRecord, StoreError};

/// Registrations per page of the queue.
const PAGE: i64 = 50;
/// Registrations waiting on the partner listed (oldest first).
const WAITING_SHOWN: i64 = 50;

struct Row {
    case: String,
    href: String,
    partner: String,
    company: String,
    domain: Option<String>,
    kind: String,
    channel: &'static str,
    waited: String,
    overdue: bool,
    duplicates: Vec<String>,
    /// The conflict's state ("open", "settled") and the other claims.
    conflict: Option<(bool, Vec<String>)>,
    forms: DecisionForms,
}

struct Waiting {
    case: String,
    href: String,
    partner: String,
    company: String,
    question: String,
    since: String,
}

#[derive(Template)]
#[template(path = "staff_queue.html")]
struct QueuePage {
    frame: Frame,
    done: Option<String>,
    rows: Vec<Row>,
    first_page: bool,
    next: Option<String>,
    waiting: Vec<Waiting>,
}

/// `?after=REG-000050` pages on; `?done=REG-000123&did=approve` confirms
/// the decision just made.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    after: String,
    done: String,
    did: String,
}

/// What a page of the queue reads from the store.
struct Facts {
    rows: Vec<RegistrationRecord>,
    waiting: Vec<RegistrationRecord>,
    conflicts: HashMap<ConflictId, ConflictView>,
    duplicates: HashMap<RegistrationId, Vec<Candidate>>,
    partners: Partners,
}

async fn facts(state: &AppState, after: Option<RegistrationId>) -> Result<Facts, StoreError> {
    let store = &state.store;
    let rows = store.decision_queue(Status::Submitted, after, PAGE).await?;
    let waiting = store
        .decision_queue(Status::MoreInfo, None, WAITING_SHOWN)
        .await?;
    let conflict_ids: Vec<ConflictId> = rows.iter().filter_map(|r| r.conflict_id).collect();
    let conflicts = store.conflicts_with_claims(&conflict_ids).await?;
    let partner_ids = rows.iter().chain(&waiting).map(|r| r.partner_id);
    let claimants = conflicts
        .iter()
        .flat_map(|c| &c.claims)
        .map(|r| r.partner_id);
    let partners = Partners(store.partners_by_ids(partner_ids.chain(claimants)).await?);
    let threshold = state.program.dedupe.fuzzy_threshold;
    let duplicates = store.similar_accounts(&rows, threshold).await?;
    let conflicts = conflicts
        .iter()
        .map(|c| (c.conflict.id, ConflictView::new(c, &partners)))
        .collect();
    Ok(Facts {
        rows,
        waiting,
        conflicts,
        duplicates,
        partners,
    })
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Query(q): Query<QueueQuery>,
) -> Response {
    let done = confirmation(&q.done, &q.did);
    show(&state, jar, &signed_in, &q.after, done, None).await
}

/// The queue page starting after the case `after` (the first page when it
/// names none), with a confirmation or a row's problem.
pub(super) async fn show(
    state: &AppState,
    jar: CookieJar,
    signed_in: &StaffSignedIn,
    after: &str,
    done: Option<String>,
    problem: Option<Problem>,
) -> Response {
    let after = CaseNumber::parse(after).map(|c| c.0);
    let facts = match facts(state, after).await {
        Ok(facts) => facts,
        Err(e) => return failed(e),
    };
    let now = state.clock.now();
    let after_case = after.map(|a| CaseNumber(a).to_string()).unwrap_or_default();
    let status = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let rows: Vec<Row> = facts
        .rows
        .iter()
        .map(|r| {
            let forms = DecisionForms::new(r, "queue", &after_case, problem.as_ref());
            row(state, r, &facts, forms, now)
        })
        .collect();
    let next = (facts.rows.len() as i64 == PAGE)
        .then(|| facts.rows.last())
        .flatten()
        .map(|last| format!("/staff/queue?after={}", last.case_number()));
    let waiting = facts
        .waiting
        .iter()
        .map(|r| waiting(r, &facts.partners))
        .collect();
    let (jar, frame) = Frame::new(state, jar, signed_in, Section::Queue);
    let page = QueuePage {
        frame,
        done,
        rows,
        first_page: after.is_none(),
        next,
        waiting,
    };
    (jar, render(status, &page, None)).into_response()
}

fn row(
    state: &AppState,
    record: &RegistrationRecord,
    facts: &Facts,
    forms: DecisionForms,
    now: OffsetDateTime,
) -> Row {
    let tier = facts
        .partners
        .0
        .get(&record.partner_id)
        .map_or("", |p| p.tier.as_str());
    let sla = state.program.response_sla_hours_for(tier);
    let waited = now - record.life.submitted_at;
    let hours = waited.whole_hours();
    let duplicates = facts
        .duplicates
        .get(&record.id)
        .map_or_else(Vec::new, |found| {
            found
                .iter()
                .map(|c| match &c.domain {
                    Some(domain) => format!("{} ({domain})", c.name),
                    None => c.name.clone(),
                })
                .collect()
        });
    let conflict = record
        .conflict_id
        .and_then(|id| facts.conflicts.get(&id))
        .map(|c| (c.open, c.others(record.id.0)));
    Row {
        case: record.case_number().to_string(),
        href: href(record.id),
        partner: facts.partners.name(record.partner_id),
        company: record.company_name.clone(),
        domain: record.company_domain.clone(),
        kind: kind(record),
        channel: record.channel.as_str(),
        waited: format!("waited {hours} h of {sla} h"),
        overdue: waited >= Duration::hours(i64::from(sla)),
        duplicates,
        conflict,
        forms,
    }
}

fn waiting(record: &RegistrationRecord, partners: &Partners) -> Waiting {
    Waiting {
        case: record.case_number().to_string(),
        href: href(record.id),
        partner: partners.name(record.partner_id),
        company: record.company_name.clone(),
        question: record.life.status_reason.clone().unwrap_or_default(),
        since: day(record.updated_at),
    }
}
