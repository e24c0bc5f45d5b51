//! What several staff pages show alike: a registration's status and kind
//! in words, a conflict with its claims, policy and outcome, and answers
//! for what a page could not find or do.

use crate::problem::ApiError;
use crate::web::words::label;
use crate::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use trellis_domain::ids::{CaseNumber, PartnerId, RegistrationId};
use trellis_domain::partner::Partner;
use trellis_domain::program::ConflictPolicy;
use trellis_domain::registration::Status;
use trellis_domain::values::day;
use trellis_store::{ConflictClaims, RegistrationRecord, StoreError};

/// Partners by id, as pages read their names.
pub struct Partners(pub HashMap<PartnerId, Partner>);

impl Partners {
    pub fn name(&self, id: PartnerId) -> String {
        self.0
            .get(&id)
            .map_or_else(|| format!("partner {id}"), |p| p.name.clone())
    }
}

/// The detail page of a registration.
pub fn href(id: RegistrationId) -> String {
    format!("/staff/registrations/{}", CaseNumber(id))
}

/// Words and badge colour for a status, as staff read them.
pub fn status_words(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Submitted => ("Awaiting decision", "pending"),
        Status::MoreInfo => ("Waiting on the partner", "pending"),
        other => label(other),
    }
}

/// "Lead", or "Deal, 12500.00 EUR".
pub fn kind(record: &RegistrationRecord) -> String {
    match &record.deal {
        Some(deal) => format!(
            "Deal, {} {}",
            deal.amount.decimal(),
            deal.amount.currency.code()
        ),
        None => "Lead".to_owned(),
    }
}

/// One registration in a conflict.
pub struct Claim {
    pub id: i64,
    pub case: String,
    pub href: String,
    pub partner: String,
    pub status_label: &'static str,
    pub status_class: &'static str,
    pub submitted: String,
    pub approved: Option<String>,
    pub meeting: Option<String>,
    pub active: bool,
    pub won: bool,
}

/// A conflict as staff read it.
pub struct ConflictView {
    pub id: i64,
    pub company: String,
    pub policy: &'static str,
    pub rule: &'static str,
    pub open: bool,
    pub opened: String,
    /// Who won and why, or how it will be decided.
    pub outcome: String,
    pub claims: Vec<Claim>,
}

impl ConflictView {
    pub fn new(found: &ConflictClaims, partners: &Partners) -> ConflictView {
        let conflict = &found.conflict;
        let policy = ConflictPolicy::parse(&conflict.policy);
        let claims: Vec<Claim> = found
            .claims
            .iter()
            .map(|r| claim(r, partners, conflict.winner_id == Some(r.id)))
            .collect();
        let open = conflict.status == "open";
        let outcome = match (open, conflict.winner_id) {
            (true, _) => pending(policy).to_owned(),
            (false, Some(winner)) => {
                let partner = claims
                    .iter()
                    .find(|c| c.id == winner.0)
                    .map_or_else(String::new, |c| format!(" ({})", c.partner));
                let why = conflict.reason.as_deref().unwrap_or_default();
                format!("{}{partner} won: {why}", CaseNumber(winner))
            }
            (false, None) => format!(
                "Settled with no winner: {}",
                conflict.reason.as_deref().unwrap_or_default()
            ),
        };
        ConflictView {
            id: conflict.id.0,
            company: found
                .claims
                .first()
                .map(|c| c.company_name.clone())
                .unwrap_or_default(),
            policy: policy.map_or("unknown", ConflictPolicy::as_str),
            rule: policy.map_or("", ConflictPolicy::rule),
            open,
            opened: day(conflict.opened_at),
            outcome,
            claims,
        }
    }

    /// The claims other than `id`'s, as "REG-000002 (Beta)".
    pub fn others(&self, id: i64) -> Vec<String> {
        self.claims
            .iter()
            .filter(|c| c.id != id)
            .map(|c| format!("{} ({})", c.case, c.partner))
            .collect()
    }
}

/// How an open conflict will be decided, under its policy.
fn pending(policy: Option<ConflictPolicy>) -> &'static str {
    match policy {
        Some(ConflictPolicy::FirstRegistered) => {
            "Open: the earliest registration wins once it is approved."
        }
        Some(ConflictPolicy::SplitBySegment) => {
            "Open: within one segment and product, the first to log a meeting within its window wins."
        }
        _ => "Open: the first to log a meeting within its window wins.",
    }
}

fn claim(record: &RegistrationRecord, partners: &Partners, won: bool) -> Claim {
    let (status_label, status_class) = status_words(record.life.status);
    Claim {
        id: record.id.0,
        case: record.case_number().to_string(),
        href: href(record.id),
        partner: partners.name(record.partner_id),
        status_label,
        status_class,
        submitted: day(record.life.submitted_at),
        approved: record.life.approved_at.map(day),
        meeting: record.life.first_meeting_at.map(day),
        active: record.life.status.is_active(),
        won,
    }
}

/// The answer to a store failure on a page: the API's problem document
/// (an internal error is logged and answered without details).
pub fn failed(e: StoreError) -> Response {
    ApiError::from(e).into_response()
}

/// The page for a case number that names no registration.
pub fn unknown_case(state: &AppState) -> Response {
    crate::web::message(
        state,
        StatusCode::NOT_FOUND,
        "No such registration",
        "No registration has this case number. Check it, or find the registration in the queue.",
    )
}
