//! Partner tiers in the store: the measurements criteria read, what they
//! add up to per partner, and the tier moves they cause (upgrades and
//! nudges at once; reviews, appeals and exceptions by decision).

pub(crate) mod appeals;
mod exceptions;
mod metrics;
mod observe;
mod review_lists;
pub(crate) mod reviews;
mod roster;
mod standing;

pub use appeals::AppealRecord;
pub use exceptions::NewException;
pub(crate) use metrics::record_outcome;
pub use metrics::{MetricRecord, NewMetric, Recorded};
pub use observe::HYGIENE;
pub use review_lists::{NamedProposal, ReviewSummary};
pub use reviews::{Adjustment, ProposalRecord, ReviewRecord};
pub use roster::{GraceRecord, PartnerOverview};
pub use standing::{PartnerStanding, TierException};
