//! Trellis storage.
//!
//! One [`Store`] speaks to SQLite (embedded, the default) or PostgreSQL
//! (several `trellis serve` processes on one database) through sqlx's `Any`
//! driver, with the same SQL for both; the few places where the databases
//! truly differ live in [`db`]. Every command runs in one transaction that
//! writes the new state and the events explaining it together.

mod accounts;
mod checkpoint;
mod claims;
mod commands;
mod conflicts;
mod crm;
pub mod db;
mod dead_letters;
mod deliveries;
mod error;
mod events;
mod group_commit;
mod idempotency;
mod intake;
mod metric_days;
mod metrics_report;
mod near_walk;
mod notify;
mod on_file;
mod partners;
mod periodic;
mod portal;
mod recipients;
mod records;
mod register_batch;
mod registrations;
mod reminders;
mod retry;
mod rows;
mod sessions;
mod staff;
mod tiers;
mod tokens;
mod worklists;

pub use accounts::{AccountMatch, Candidate, NearName, NewAccount};
pub use crm::{CrmDeadLetter, CrmState, SyncItem, SyncLag, SyncResult};
pub use db::{Backend, Store};
pub use error::StoreError;
pub use events::EventRecord;
pub use idempotency::{IdempotencyOutcome, RequestKey, StoredResponse};
pub use intake::{IntakeEntry, Sender};
pub use metric_days::MetricDays;
pub use metrics_report::{
    percentile, Approvals, Asked, ConflictDay, Figures, Holding, HourCount, MeetingDay, OutcomeDay,
    Span, WonVolume,
};
pub use notify::{DeliveryChannel, Failure, NewNotification, Notification, Outgoing, SlackChannel};
pub use partners::{NewPartner, PartnerChannels, PartnerUser};
pub use portal::ReviewDecision;
pub use recipients::TeamChannels;
pub use records::{AccountRecord, ConflictRecord, DealRecord, RegistrationRecord};
pub use registrations::{Prepared, Registered, RegistrationFilter};
pub use sessions::NewSession;
pub use staff::{NewStaffUser, StaffUser};
pub use tiers::{
    Adjustment, AppealRecord, GraceRecord, MetricRecord, NamedProposal, NewException, NewMetric,
    PartnerOverview, PartnerStanding, ProposalRecord, Recorded, ReviewRecord, ReviewSummary,
    TierException, HYGIENE,
};
pub use tokens::{Principal, Role};
pub use worklists::ConflictClaims;

/// Rows per page when a caller asks for none.
pub const DEFAULT_PAGE: i64 = 50;
/// The most rows one page may hold.
pub const MAX_PAGE: i64 = 500;
