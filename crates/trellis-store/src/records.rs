//! Records as the store hands them out: what the API and pages show.

use serde::Serialize;
use time::{Date, OffsetDateTime};
use trellis_domain::ids::{AccountId, CaseNumber, ConflictId, PartnerId, RegistrationId};
use trellis_domain::registration::{Channel, Lifecycle, Market, RegistrationKind};
use trellis_domain::values::Money;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountRecord {
    pub id: AccountId,
    pub name: String,
    pub domain: Option<String>,
    /// Where the account came from: `import`, `api`, or a registration.
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A registration with everything the rules and the API need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRecord {
    pub id: RegistrationId,
    pub partner_id: PartnerId,
    pub account_id: AccountId,
    pub conflict_id: Option<ConflictId>,
    pub kind: RegistrationKind,
    pub channel: Channel,
    pub company_name: String,
    pub company_domain: Option<String>,
    pub contact_name: String,
    pub contact_email: String,
    pub use_case: Option<String>,
    pub market: Market,
    pub deal: Option<DealRecord>,
    pub life: Lifecycle,
    pub updated_at: OffsetDateTime,
}

impl RegistrationRecord {
    pub fn case_number(&self) -> CaseNumber {
        CaseNumber(self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealRecord {
    pub stage: String,
    pub amount: Money,
    pub expected_close: Date,
    pub next_step: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictRecord {
    pub id: ConflictId,
    pub account_id: AccountId,
    pub policy: String,
    /// `open` or `resolved`.
    pub status: String,
    pub winner_id: Option<RegistrationId>,
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    pub registrations: Vec<RegistrationId>,
}
