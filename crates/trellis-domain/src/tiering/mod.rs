//! Partner tiers: criteria, scorecards, reviews with grace, and benefits.
//!
//! A program's criteria are configuration (`[[criteria]]` in the program
//! file). Measurements arrive as metric rows; the store aggregates them per
//! criterion over a window, and the functions here turn those aggregates
//! into a scorecard, an upgrade, a nudge, or a review proposal. Nothing here
//! reads a clock or a database, so every decision is a function of what was
//! measured, and the reasons it gives are built from the same numbers.

mod quantity;
mod review;
mod score;
mod window;

#[cfg(test)]
mod tests;

pub use quantity::Quantity;
pub use review::{propose, Action, Proposal, Standing};
pub use score::{
    applicable, highest_qualified, nudge_due, scorecard, CriterionScore, Observed, Scorecard,
};
pub use window::{Quarter, Window};

use crate::partner::PartnerKind;
use serde::Serialize;
use std::collections::BTreeMap;

/// One line of a tier checklist, as the program file states it. Its JSON
/// leaves out what the file may leave out, so it reads back through
/// [`Program::with_criteria_json`](crate::program::Program::with_criteria_json).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Criterion {
    /// Stable slug (`[a-z0-9_-]+`), unique in the program.
    pub id: String,
    /// What partners read: "Partner revenue, rolling four quarters".
    pub label: String,
    pub bucket: Bucket,
    /// The metric rows it reads (`revenue`, `csat`, `certified_people`).
    pub metric: String,
    pub aggregate: Aggregate,
    /// The value to reach per tier id. A tier with no entry asks nothing of
    /// this criterion; the lowest tier usually has none.
    pub thresholds: BTreeMap<String, Quantity>,
    /// Partner kinds the criterion applies to; empty means every kind.
    pub kinds: Vec<PartnerKind>,
    /// For `sum`: weight per sub-metric, read as `{metric}.{key}` (revenue
    /// `resold`, `sourced`, `influenced`). Empty: the metric itself, weight 1.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub weights: BTreeMap<String, Quantity>,
    /// Whether a metric row for it must carry evidence (a URL or an id).
    /// Defaults to true for capability criteria.
    pub requires_evidence: bool,
    /// For `count_distinct_active`: items older than this many days no
    /// longer count (recent proof). None: only `expires_on` ends an item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u32>,
}

/// Whether a criterion measures results or the ability to deliver them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Outcome,
    Capability,
}

impl Bucket {
    pub const ALL: [Bucket; 2] = [Bucket::Outcome, Bucket::Capability];

    pub const fn as_str(self) -> &'static str {
        match self {
            Bucket::Outcome => "outcome",
            Bucket::Capability => "capability",
        }
    }
}

/// How a criterion folds its metric rows over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Total of the values in the window (revenue).
    Sum,
    /// Mean of the values in the window (CSAT).
    Average,
    /// The most recent value in the window (a rate reported each quarter).
    Latest,
    /// Distinct `item`s not expired at the window's end (certified people).
    CountDistinctActive,
}

impl Aggregate {
    pub const ALL: [Aggregate; 4] = [
        Aggregate::Sum,
        Aggregate::Average,
        Aggregate::Latest,
        Aggregate::CountDistinctActive,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Aggregate::Sum => "sum",
            Aggregate::Average => "average",
            Aggregate::Latest => "latest",
            Aggregate::CountDistinctActive => "count_distinct_active",
        }
    }
}

/// How tiers move, from `[review]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewRules {
    /// Move a partner up the moment it meets every criterion of a higher tier.
    pub auto_upgrade: bool,
    /// Overall progress to the next tier (0..1) at which a nudge is recorded.
    pub nudge_threshold: Quantity,
    /// How far below a threshold (0..1 of it) a missed criterion still earns
    /// grace instead of a downgrade.
    pub grace_margin: Quantity,
    pub window: WindowRule,
    /// Days after a review's publication during which its decisions may be
    /// appealed.
    pub appeal_days: u32,
}

/// Which rolling window scorecards and reviews read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowRule {
    /// The four calendar quarters ending with the last complete one.
    Quarters,
    /// The 365 days before the moment of evaluation.
    Trailing365Days,
}

impl WindowRule {
    pub const ALL: [WindowRule; 2] = [WindowRule::Quarters, WindowRule::Trailing365Days];

    pub const fn as_str(self) -> &'static str {
        match self {
            WindowRule::Quarters => "quarters",
            WindowRule::Trailing365Days => "trailing_365_days",
        }
    }
}

/// What partners get: a base set for all, and what each tier adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benefits {
    /// Every partner, whatever its tier.
    pub base: Vec<String>,
    /// Tier id -> what that tier adds on top of the tiers below it.
    pub by_tier: BTreeMap<String, Vec<String>>,
    /// Tier id -> registration response SLA in hours, where it differs
    /// from `[registration] response_sla_hours`.
    pub response_sla_hours: BTreeMap<String, u32>,
}
