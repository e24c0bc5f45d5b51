//! The append-only event log's vocabulary. Every change the rules make is one
//! of these, stored with who made it, when, and why; later capabilities (CRM
//! sync, notifications, points, metrics) read the log rather than the tables.

use crate::ids::{AccountId, ConflictId, PartnerId, RegistrationId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A staff member or integration using a staff token.
    Staff { token_id: i64, role: String },
    /// A person of the partner team signed in to the staff workspace.
    StaffUser { user_id: i64, role: String },
    /// Someone acting for a partner (partner token or intake channel).
    Partner { partner_id: PartnerId },
    /// Trellis itself: sweeps, timers and rules that fire on their own.
    System,
    /// The CRM: a stage or meeting a sales rep recorded there, read back.
    Crm,
}

impl Actor {
    /// A compact label for lists and logs, `staff:3` (a token),
    /// `staff-user:2` (a signed-in person), `partner:12`, `system`.
    pub fn label(&self) -> String {
        match self {
            Actor::Staff { token_id, .. } => format!("staff:{token_id}"),
            Actor::StaffUser { user_id, .. } => format!("staff-user:{user_id}"),
            Actor::Partner { partner_id } => format!("partner:{partner_id}"),
            Actor::System => "system".into(),
            Actor::Crm => "crm".into(),
        }
    }
}

/// What changed. The variant name is the event kind; its fields are the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    PartnerCreated {
        name: String,
    },
    PartnerUserAdded {
        email: String,
    },
    AccountCreated {
        name: String,
        domain: Option<String>,
    },
    Submitted {
        channel: String,
        registration_kind: String,
    },
    PossibleDuplicates {
        account_ids: Vec<AccountId>,
    },
    Approved {
        #[serde(with = "time::serde::rfc3339")]
        hold_until: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        meeting_due: OffsetDateTime,
        hold_days: u32,
    },
    Declined {
        reason: String,
    },
    InfoRequested {
        question: String,
    },
    InfoProvided {
        message: String,
    },
    MeetingLogged {
        #[serde(with = "time::serde::rfc3339")]
        held_at: OffsetDateTime,
    },
    Won {
        amount: Option<String>,
        currency: Option<String>,
    },
    Lost {
        reason: Option<String>,
    },
    Expired {
        reason: String,
    },
    ConflictOpened {
        conflict_id: ConflictId,
        registrations: Vec<RegistrationId>,
    },
    ConflictJoined {
        conflict_id: ConflictId,
    },
    ConflictResolved {
        conflict_id: ConflictId,
        winner: Option<RegistrationId>,
        reason: String,
    },
    /// A partner moved between tiers: `how` is `upgrade` (criteria met),
    /// `review` (a published review), `exception`, `exception_lapsed` or
    /// `appeal`; `criteria` names what decided it.
    TierChanged {
        from: String,
        to: String,
        how: String,
        criteria: Vec<String>,
    },
    /// Overall progress to the next tier crossed the nudge threshold.
    Nudged {
        next_tier: String,
        progress_permille: i64,
        missing: Vec<String>,
    },
    /// A published review's decision for one partner.
    Reviewed {
        review_id: i64,
        quarter: String,
        action: String,
        from: String,
        to: String,
        recovery_plan: Vec<String>,
    },
    AppealFiled {
        appeal_id: i64,
        review_id: i64,
    },
    AppealDecided {
        appeal_id: i64,
        decision: String,
    },
    ExceptionGranted {
        exception_id: i64,
        tier: String,
        ends_on: String,
    },
    ExceptionLapsed {
        exception_id: i64,
        tier: String,
    },
    /// A registration waited longer than its response SLA for a decision.
    ResponseSlaBreached {
        sla_hours: u32,
    },
    /// The partner was reminded that its first meeting is due.
    MeetingReminded {
        #[serde(with = "time::serde::rfc3339")]
        meeting_due: OffsetDateTime,
    },
    /// A partner chose how it hears of its registrations; whether a Slack
    /// webhook is set, never the URL.
    NotifyChannelsSet {
        notify_via: String,
        slack_webhook: bool,
    },
}

impl Change {
    /// The stored event kind, `approved`, `conflict_opened`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Change::PartnerCreated { .. } => "partner_created",
            Change::PartnerUserAdded { .. } => "partner_user_added",
            Change::AccountCreated { .. } => "account_created",
            Change::Submitted { .. } => "submitted",
            Change::PossibleDuplicates { .. } => "possible_duplicates",
            Change::Approved { .. } => "approved",
            Change::Declined { .. } => "declined",
            Change::InfoRequested { .. } => "info_requested",
            Change::InfoProvided { .. } => "info_provided",
            Change::MeetingLogged { .. } => "meeting_logged",
            Change::Won { .. } => "won",
            Change::Lost { .. } => "lost",
            Change::Expired { .. } => "expired",
            Change::ConflictOpened { .. } => "conflict_opened",
            Change::ConflictJoined { .. } => "conflict_joined",
            Change::ConflictResolved { .. } => "conflict_resolved",
            Change::TierChanged { .. } => "tier_changed",
            Change::Nudged { .. } => "nudged",
            Change::Reviewed { .. } => "reviewed",
            Change::AppealFiled { .. } => "appeal_filed",
            Change::AppealDecided { .. } => "appeal_decided",
            Change::ExceptionGranted { .. } => "exception_granted",
            Change::ExceptionLapsed { .. } => "exception_lapsed",
            Change::ResponseSlaBreached { .. } => "response_sla_breached",
            Change::MeetingReminded { .. } => "meeting_reminded",
            Change::NotifyChannelsSet { .. } => "notify_channels_set",
        }
    }
}

/// One event to be written: what changed, to which records, and why in plain
/// words. The store adds the id, the time and the actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub change: Change,
    pub registration_id: Option<RegistrationId>,
    pub partner_id: Option<PartnerId>,
    pub account_id: Option<AccountId>,
    pub conflict_id: Option<ConflictId>,
    pub why: String,
}

impl NewEvent {
    pub fn new(change: Change, why: impl Into<String>) -> NewEvent {
        NewEvent {
            change,
            registration_id: None,
            partner_id: None,
            account_id: None,
            conflict_id: None,
            why: why.into(),
        }
    }

    pub fn on_registration(mut self, id: RegistrationId) -> NewEvent {
        self.registration_id = Some(id);
        self
    }

    pub fn on_partner(mut self, id: PartnerId) -> NewEvent {
        self.partner_id = Some(id);
        self
    }

    pub fn on_account(mut self, id: AccountId) -> NewEvent {
        self.account_id = Some(id);
        self
    }

    pub fn on_conflict(mut self, id: ConflictId) -> NewEvent {
        self.conflict_id = Some(id);
        self
    }
}
