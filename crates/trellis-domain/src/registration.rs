//! Registrations: a partner's claim on a prospect, and the validated draft
//! every intake channel builds before calling the core.

use crate::dedupe::{CompanyName, Email, WebDomain};
use crate::ids::{AccountId, ConflictId, PartnerId, RegistrationId};
use crate::values::{Money, Text};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

/// Where a registration is in its life. See [`crate::lifecycle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Submitted,
    MoreInfo,
    Approved,
    Declined,
    Won,
    Lost,
    Expired,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Submitted,
        Status::MoreInfo,
        Status::Approved,
        Status::Declined,
        Status::Won,
        Status::Lost,
        Status::Expired,
    ];

    /// Active registrations hold (or may come to hold) a claim on their
    /// account; only they take part in duplicate and conflict checks.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Status::Submitted | Status::MoreInfo | Status::Approved
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::MoreInfo => "more_info",
            Status::Approved => "approved",
            Status::Declined => "declined",
            Status::Won => "won",
            Status::Lost => "lost",
            Status::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationKind {
    Lead,
    Deal,
}

impl RegistrationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationKind::Lead => "lead",
            RegistrationKind::Deal => "deal",
        }
    }

    pub fn parse(text: &str) -> Option<RegistrationKind> {
        match text {
            "lead" => Some(RegistrationKind::Lead),
            "deal" => Some(RegistrationKind::Deal),
            _ => None,
        }
    }
}

/// The way a registration reached Trellis, kept so channels can be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Api,
    Email,
    Form,
    Slack,
    Hubspot,
    Csv,
    /// Generated demo data, so it is never mistaken for real traffic.
    Demo,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Api,
        Channel::Email,
        Channel::Form,
        Channel::Slack,
        Channel::Hubspot,
        Channel::Csv,
        Channel::Demo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Api => "api",
            Channel::Email => "email",
            Channel::Form => "form",
            Channel::Slack => "slack",
            Channel::Hubspot => "hubspot",
            Channel::Csv => "csv",
            Channel::Demo => "demo",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// What a deal registration adds to a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealDetails {
    pub stage: Text,
    pub amount: Money,
    pub expected_close: Date,
    pub next_step: Option<Text>,
}

/// Where the account and its market sit; `split_by_segment` compares these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Market {
    pub segment: Option<String>,
    pub region: Option<String>,
    pub product: Option<String>,
}

/// A registration as every channel hands it to the core: all fields
/// validated, nothing looked up yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub partner_id: PartnerId,
    pub kind: RegistrationKind,
    pub channel: Channel,
    pub company_name: CompanyName,
    /// The registrable domain from `company_domain` or, failing that, the
    /// contact's email when it is not a free-mail address.
    pub domain: Option<WebDomain>,
    pub contact_name: Text,
    pub contact_email: Email,
    pub use_case: Option<Text>,
    pub market: Market,
    pub deal: Option<DealDetails>,
}

/// The lifecycle part of a registration: what the state machine reads and
/// writes. Everything else on a registration is data the rules never change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    pub status: Status,
    pub submitted_at: OffsetDateTime,
    pub approved_at: Option<OffsetDateTime>,
    pub hold_until: Option<OffsetDateTime>,
    pub meeting_due: Option<OffsetDateTime>,
    pub first_meeting_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    /// Why the registration is in its status: the decline reason, the open
    /// question, or the expiry reason.
    pub status_reason: Option<String>,
    pub won_amount: Option<Money>,
}

impl Lifecycle {
    pub fn submitted(at: OffsetDateTime) -> Lifecycle {
        Lifecycle {
            status: Status::Submitted,
            submitted_at: at,
            approved_at: None,
            hold_until: None,
            meeting_due: None,
            first_meeting_at: None,
            closed_at: None,
            status_reason: None,
            won_amount: None,
        }
    }
}

/// A stored registration, as the conflict rules need to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: RegistrationId,
    pub partner_id: PartnerId,
    pub account_id: AccountId,
    pub conflict_id: Option<ConflictId>,
    pub market: Market,
    pub life: Lifecycle,
}
