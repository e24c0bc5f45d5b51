//! What the API answers: records turned into JSON views.

use serde::Serialize;
use time::OffsetDateTime;
use trellis_store::{Candidate, ConflictRecord, RegistrationRecord};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct DealView {
    pub stage: String,
    /// Decimal string, exact.
    pub amount: String,
    pub currency: String,
    pub expected_close_date: String,
    pub next_step: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConflictSummary {
    pub id: i64,
    /// `open` or `resolved`.
    pub status: String,
    pub policy: String,
    /// Case numbers of every registration in the conflict.
    pub registrations: Vec<String>,
    pub winner: Option<String>,
    pub reason: Option<String>,
}

impl From<&ConflictRecord> for ConflictSummary {
    fn from(c: &ConflictRecord) -> Self {
        ConflictSummary {
            id: c.id.0,
            status: c.status.clone(),
            policy: c.policy.clone(),
            registrations: c
                .registrations
                .iter()
                .map(|id| trellis_domain::ids::CaseNumber(*id).to_string())
                .collect(),
            winner: c
                .winner_id
                .map(|id| trellis_domain::ids::CaseNumber(id).to_string()),
            reason: c.reason.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CandidateView {
    pub account_id: i64,
    pub name: String,
    pub domain: Option<String>,
    /// Name similarity, 0 to 1.
    pub score: f64,
}

impl From<&Candidate> for CandidateView {
    fn from(c: &Candidate) -> Self {
        CandidateView {
            account_id: c.account_id.0,
            name: c.name.clone(),
            domain: c.domain.clone(),
            score: c.score,
        }
    }
}

/// Another active registration on the same account (staff only).
#[derive(Serialize, ToSchema)]
pub struct OtherRegistration {
    pub case_number: String,
    pub status: String,
    pub kind: String,
    pub partner_id: i64,
}

impl From<&RegistrationRecord> for OtherRegistration {
    fn from(r: &RegistrationRecord) -> Self {
        OtherRegistration {
            case_number: r.case_number().to_string(),
            status: r.life.status.as_str().into(),
            kind: r.kind.as_str().into(),
            partner_id: r.partner_id.0,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RegistrationView {
    pub id: i64,
    pub case_number: String,
    pub status: String,
    /// Why it is in its status: decline reason, open question, expiry reason.
    pub status_reason: Option<String>,
    pub kind: String,
    pub channel: String,
    pub partner_id: i64,
    pub account_id: i64,
    pub company_name: String,
    pub company_domain: Option<String>,
    pub contact_name: String,
    pub contact_email: String,
    pub use_case: Option<String>,
    pub segment: Option<String>,
    pub region: Option<String>,
    pub product: Option<String>,
    pub deal: Option<DealView>,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub approved_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub hold_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub meeting_due: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_meeting_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    pub won_amount: Option<String>,
    /// Similar account names staff should check (on creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub possible_duplicates: Option<Vec<CandidateView>>,
    pub conflict: Option<ConflictSummary>,
    /// Other active registrations on the same account (on detail reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_registrations: Option<Vec<OtherRegistration>>,
    /// Where the registration stands in the CRM; null when no CRM is
    /// configured.
    pub crm: Option<CrmView>,
}

/// A registration's record in the CRM and whether it is up to date.
#[derive(Serialize, ToSchema)]
pub struct CrmView {
    /// The CRM's id for the record, once it has one.
    pub record_id: Option<String>,
    /// `pending` (a change waits to be sent), `synced` or `failed` (the CRM
    /// rejected it; see `/api/v1/events/dead-letter`).
    pub state: String,
    /// Why it failed or was last retried, in the CRM's words.
    pub error: Option<String>,
}

impl CrmView {
    /// A registration just created: the CRM has not heard of it yet.
    pub fn pending() -> CrmView {
        CrmView {
            record_id: None,
            state: "pending".into(),
            error: None,
        }
    }
}

impl From<trellis_store::CrmState> for CrmView {
    fn from(state: trellis_store::CrmState) -> Self {
        CrmView {
            record_id: state.record_id,
            state: state.state,
            error: state.error,
        }
    }
}

impl RegistrationView {
    pub fn new(r: &RegistrationRecord, conflict: Option<&ConflictRecord>) -> Self {
        let l = &r.life;
        RegistrationView {
            id: r.id.0,
            case_number: r.case_number().to_string(),
            status: l.status.as_str().into(),
            status_reason: l.status_reason.clone(),
            kind: r.kind.as_str().into(),
            channel: r.channel.as_str().into(),
            partner_id: r.partner_id.0,
            account_id: r.account_id.0,
            company_name: r.company_name.clone(),
            company_domain: r.company_domain.clone(),
            contact_name: r.contact_name.clone(),
            contact_email: r.contact_email.clone(),
            use_case: r.use_case.clone(),
            segment: r.market.segment.clone(),
            region: r.market.region.clone(),
            product: r.market.product.clone(),
            deal: r.deal.as_ref().map(|d| DealView {
                stage: d.stage.clone(),
                amount: d.amount.decimal(),
                currency: d.amount.currency.to_string(),
                expected_close_date: d.expected_close.to_string(),
                next_step: d.next_step.clone(),
            }),
            submitted_at: l.submitted_at,
            approved_at: l.approved_at,
            hold_until: l.hold_until,
            meeting_due: l.meeting_due,
            first_meeting_at: l.first_meeting_at,
            closed_at: l.closed_at,
            won_amount: l.won_amount.map(|m| m.decimal()),
            possible_duplicates: None,
            conflict: conflict.map(ConflictSummary::from),
            other_registrations: None,
            crm: None,
        }
    }
}

/// A page of results and where the next one starts.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, limit: i64, id_of: impl Fn(&T) -> i64) -> Page<T> {
        let next_after = (items.len() as i64 == limit)
            .then(|| items.last().map(&id_of))
            .flatten();
        Page { items, next_after }
    }
}
