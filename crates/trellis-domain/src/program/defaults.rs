//! The built-in program and the limits each setting is checked against.
//!
//! Kept together so that "what happens if I leave this out?" and "what may I
//! put here?" are answered in one place, and so the example file and the
//! error messages quote the same numbers.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use super::{ConflictPolicy, DedupeRules, Program, RegistrationRules, Tier};
use crate::partner::PartnerKind;
use crate::tiering::{Aggregate, Benefits, Bucket, Criterion, Quantity, ReviewRules, WindowRule};

/// Long enough to cover an enterprise sales cycle, short enough that stale
/// registrations do not block other partners for years.
pub(crate) const HOLD_DAYS: RangeInclusive<u32> = 1..=730;
pub(crate) const MEETING_SLA_DAYS: RangeInclusive<u32> = 1..=365;
/// Up to 90 days: past that, no partner is still waiting for an answer.
pub(crate) const RESPONSE_SLA_HOURS: RangeInclusive<u32> = 1..=2160;
/// Below 0.5 almost any two company names "match", which would merge
/// unrelated accounts.
pub(crate) const FUZZY_THRESHOLD: RangeInclusive<f64> = 0.5..=1.0;
/// Shares of a whole: progress to the next tier, and how far below a
/// threshold still earns grace.
pub(crate) const SHARE: RangeInclusive<Quantity> = Quantity::ZERO..=Quantity::ONE;
pub(crate) const APPEAL_DAYS: RangeInclusive<u32> = 1..=365;
/// Up to ten years: older proof says nothing about a partner today.
pub(crate) const MAX_AGE_DAYS: RangeInclusive<u32> = 1..=3650;

impl Default for Program {
    fn default() -> Self {
        Program {
            name: "Trellis partner program".to_owned(),
            tiers: default_tiers(),
            registration: RegistrationRules::default(),
            dedupe: DedupeRules::default(),
            intake: Default::default(),
            notify: Default::default(),
            criteria: default_criteria(&default_tiers()),
            review: ReviewRules::default(),
            benefits: default_benefits(&default_tiers()),
            crm: None,
        }
    }
}

/// The three-step ladder most partner programs start from.
pub(crate) fn default_tiers() -> Vec<Tier> {
    [
        ("registered", "Registered"),
        ("select", "Select"),
        ("elite", "Elite"),
    ]
    .into_iter()
    .map(|(id, label)| Tier {
        id: id.to_owned(),
        label: label.to_owned(),
    })
    .collect()
}

impl Default for RegistrationRules {
    fn default() -> Self {
        RegistrationRules {
            hold_days: 90,
            meeting_sla_days: 14,
            response_sla_hours: 48,
            conflict_policy: ConflictPolicy::FirstMeeting,
            auto_approve: false,
        }
    }
}

impl Default for DedupeRules {
    fn default() -> Self {
        DedupeRules {
            fuzzy_threshold: 0.88,
        }
    }
}

impl Default for ReviewRules {
    fn default() -> Self {
        ReviewRules {
            auto_upgrade: true,
            nudge_threshold: Quantity::from_scaled(8_000),
            grace_margin: Quantity::from_scaled(1_000),
            window: WindowRule::Quarters,
            appeal_days: 30,
        }
    }
}

/// One built-in criterion, written as a table so the set reads like the
/// program file it stands in for.
struct DefaultCriterion {
    id: &'static str,
    label: &'static str,
    bucket: Bucket,
    metric: &'static str,
    aggregate: Aggregate,
    /// Tier id and value in ten-thousandths.
    thresholds: &'static [(&'static str, i64)],
    kinds: &'static [PartnerKind],
    weights: &'static [(&'static str, i64)],
    max_age_days: Option<u32>,
}

const UNIT: i64 = Quantity::SCALE;

/// Outcomes (revenue, joint customers, satisfaction, registration hygiene)
/// and capabilities (certified people, a validated offering, recent proof).
/// Resellers, referral and service partners are judged on revenue; ISVs on
/// joint customers, since their value is adoption of the integration.
const DEFAULT_CRITERIA: [DefaultCriterion; 7] = [
    DefaultCriterion {
        id: "revenue",
        label: "Partner revenue, rolling four quarters",
        bucket: Bucket::Outcome,
        metric: "revenue",
        aggregate: Aggregate::Sum,
        thresholds: &[("select", 100_000 * UNIT), ("elite", 500_000 * UNIT)],
        kinds: &[
            PartnerKind::Reseller,
            PartnerKind::Referral,
            PartnerKind::Service,
        ],
        // Influenced revenue counts half: the partner helped, but did not sell.
        weights: &[
            ("resold", UNIT),
            ("sourced", UNIT),
            ("influenced", UNIT / 2),
        ],
        max_age_days: None,
    },
    DefaultCriterion {
        id: "joint_customers",
        label: "Joint customers live on the integration",
        bucket: Bucket::Outcome,
        metric: "joint_customers",
        aggregate: Aggregate::CountDistinctActive,
        thresholds: &[("select", 3 * UNIT), ("elite", 10 * UNIT)],
        kinds: &[PartnerKind::Isv],
        weights: &[],
        max_age_days: None,
    },
    DefaultCriterion {
        id: "csat",
        label: "Customer satisfaction (1 to 5)",
        bucket: Bucket::Outcome,
        metric: "csat",
        aggregate: Aggregate::Average,
        thresholds: &[("select", 4 * UNIT), ("elite", 45 * UNIT / 10)],
        kinds: &[PartnerKind::Service, PartnerKind::Reseller],
        weights: &[],
        max_age_days: None,
    },
    DefaultCriterion {
        id: "registration_hygiene",
        label: "Share of open registrations with an owner and a next step",
        bucket: Bucket::Outcome,
        metric: "registration_hygiene",
        aggregate: Aggregate::Latest,
        thresholds: &[("select", 7 * UNIT / 10), ("elite", 85 * UNIT / 100)],
        kinds: &[],
        weights: &[],
        max_age_days: None,
    },
    DefaultCriterion {
        id: "certified_people",
        label: "Certified individuals",
        bucket: Bucket::Capability,
        metric: "certification",
        aggregate: Aggregate::CountDistinctActive,
        thresholds: &[("select", 2 * UNIT), ("elite", 5 * UNIT)],
        kinds: &[],
        weights: &[],
        max_age_days: None,
    },
    DefaultCriterion {
        id: "validated_offering",
        label: "Validated integration, packaged service or practice",
        bucket: Bucket::Capability,
        metric: "validated_offering",
        aggregate: Aggregate::CountDistinctActive,
        thresholds: &[("select", UNIT), ("elite", 2 * UNIT)],
        kinds: &[],
        weights: &[],
        max_age_days: None,
    },
    DefaultCriterion {
        id: "recent_proof",
        label: "Case studies, reviews or referenceable customers from the last year",
        bucket: Bucket::Capability,
        metric: "proof",
        aggregate: Aggregate::CountDistinctActive,
        thresholds: &[("select", UNIT), ("elite", 3 * UNIT)],
        kinds: &[],
        weights: &[],
        max_age_days: Some(365),
    },
];

/// The built-in criteria, keeping only thresholds for tiers in `tiers`: a
/// program file that renames its tiers and writes no criteria still
/// parses, and its tiers stay awarded by hand until it writes some.
pub(crate) fn default_criteria(tiers: &[Tier]) -> Vec<Criterion> {
    let scaled = |pairs: &[(&str, i64)]| -> BTreeMap<String, Quantity> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), Quantity::from_scaled(*value)))
            .collect()
    };
    let known = |id: &String| tiers.iter().any(|tier| &tier.id == id);
    DEFAULT_CRITERIA
        .iter()
        .map(|default| Criterion {
            id: default.id.to_owned(),
            label: default.label.to_owned(),
            bucket: default.bucket,
            metric: default.metric.to_owned(),
            aggregate: default.aggregate,
            thresholds: scaled(default.thresholds)
                .into_iter()
                .filter(|(tier, _)| known(tier))
                .collect(),
            kinds: default.kinds.to_vec(),
            weights: scaled(default.weights),
            requires_evidence: default.bucket == Bucket::Capability,
            max_age_days: default.max_age_days,
        })
        .filter(|criterion| !criterion.thresholds.is_empty())
        .collect()
}

pub(crate) const BASE_BENEFITS: [&str; 3] = [
    "Partner directory listing",
    "Training and certification resources",
    "Deal registration with a 48-hour response SLA",
];

const TIER_BENEFITS: [(&str, &[&str]); 2] = [
    (
        "select",
        &[
            "Priority support with a named escalation contact",
            "Published 15% margin",
            "Enablement office hours",
        ],
    ),
    (
        "elite",
        &[
            "Early access to the roadmap",
            "Market development funds (MDF)",
            "Validated partner badge",
            "Curated customer introductions",
            "20% margin",
        ],
    ),
];

/// Elite partners are answered within a day.
const TIER_RESPONSE_SLA_HOURS: [(&str, u32); 1] = [("elite", 24)];

/// The built-in benefits, for the tiers of `tiers` only (see
/// [`default_criteria`]).
pub(crate) fn default_benefits(tiers: &[Tier]) -> Benefits {
    let known = |id: &&str| tiers.iter().any(|tier| tier.id == *id);
    let strings = |items: &[&str]| items.iter().map(|item| item.to_string()).collect();
    Benefits {
        base: strings(&BASE_BENEFITS),
        by_tier: TIER_BENEFITS
            .iter()
            .filter(|(tier, _)| known(tier))
            .map(|(tier, items)| (tier.to_string(), strings(items)))
            .collect(),
        response_sla_hours: TIER_RESPONSE_SLA_HOURS
            .iter()
            .filter(|(tier, _)| known(tier))
            .map(|(tier, hours)| (tier.to_string(), *hours))
            .collect(),
    }
}
