//! The built-in program and the limits each setting is checked against.
//!
//! Kept together so that "what happens if I leave this out?" and "what may I
//! put here?" are answered in one place, and so the example file and the
//! error messages quote the same numbers.

use std::ops::RangeInclusive;

use super::{ConflictPolicy, DedupeRules, Program, RegistrationRules, Tier};

/// Long enough to cover an enterprise sales cycle, short enough that stale
/// registrations do not block other partners for years.
pub(crate) const HOLD_DAYS: RangeInclusive<u32> = 1..=730;
pub(crate) const MEETING_SLA_DAYS: RangeInclusive<u32> = 1..=365;
/// Up to 90 days: past that, no partner is still waiting for an answer.
pub(crate) const RESPONSE_SLA_HOURS: RangeInclusive<u32> = 1..=2160;
/// Below 0.5 almost any two company names "match", which would merge
/// unrelated accounts.
pub(crate) const FUZZY_THRESHOLD: RangeInclusive<f64> = 0.5..=1.0;

impl Default for Program {
    fn default() -> Self {
        Program {
            name: "Trellis partner program".to_owned(),
            tiers: default_tiers(),
            registration: RegistrationRules::default(),
            dedupe: DedupeRules::default(),
            intake: Default::default(),
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
