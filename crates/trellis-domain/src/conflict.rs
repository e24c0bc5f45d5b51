//! Channel conflict: two partners claiming the same account.
//!
//! A conflict opens when a partner registers an account another partner holds
//! an active registration on. The program's policy decides who wins:
//! - `first_meeting`: every claimant may be approved; the first to log a
//!   meeting inside its window wins, the others are declined.
//! - `first_registered`: the earliest registration wins once approved. A later
//!   claimant cannot be approved while an earlier one still awaits a decision.
//! - `split_by_segment`: claims on different segments or products do not
//!   conflict at all; within one segment and product, `first_meeting` applies.
//!
//! Staff can settle any conflict by hand. When all claimants but one drop out
//! (declined, lost, expired), the conflict settles for the one left.

use crate::ids::{CaseNumber, PartnerId, RegistrationId};
use crate::program::ConflictPolicy;
use crate::registration::{Market, Member, Status};
use crate::values::day;
use crate::DomainError;
use time::OffsetDateTime;

/// Whether a new claim by `partner` on `market` competes with `existing`.
pub fn competes(
    policy: ConflictPolicy,
    partner: PartnerId,
    market: &Market,
    existing: &Member,
) -> bool {
    existing.partner_id != partner
        && existing.life.status.is_active()
        && (policy != ConflictPolicy::SplitBySegment || same_segment(market, &existing.market))
}

/// Two claims are in the same segment unless both name a segment (or a
/// product) and the names differ: a claim that names none covers them all.
pub fn same_segment(a: &Market, b: &Market) -> bool {
    let overlaps = |x: &Option<String>, y: &Option<String>| match (x, y) {
        (Some(x), Some(y)) => x
            .chars()
            .flat_map(char::to_lowercase)
            .eq(y.chars().flat_map(char::to_lowercase)),
        _ => true,
    };
    overlaps(&a.segment, &b.segment) && overlaps(&a.product, &b.product)
}

/// How a conflict ends: the winner keeps its claim, every other active
/// claimant is declined with the reason given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub winner: Option<RegistrationId>,
    pub declined: Vec<RegistrationId>,
    /// One sentence naming the winning case, the rule and the date.
    pub reason: String,
}

/// What just happened to a member of an open conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    Approved(RegistrationId),
    MeetingLogged {
        id: RegistrationId,
        held_at: OffsetDateTime,
    },
    /// A member was declined, lost or expired.
    MemberClosed,
    /// Staff picked the winner by hand.
    Manual {
        winner: RegistrationId,
        reason: String,
    },
}

/// Checks, before approval, that `first_registered` lets `id` win: no earlier
/// claimant may still be waiting for a decision.
pub fn check_approval(
    policy: ConflictPolicy,
    members: &[Member],
    id: RegistrationId,
) -> Result<(), DomainError> {
    if policy != ConflictPolicy::FirstRegistered {
        return Ok(());
    }
    let Some(me) = members.iter().find(|m| m.id == id) else {
        return Ok(());
    };
    let earlier_pending = members
        .iter()
        .filter(|m| {
            m.id != id
                && matches!(m.life.status, Status::Submitted | Status::MoreInfo)
                && (m.life.submitted_at, m.id) < (me.life.submitted_at, me.id)
        })
        .min_by_key(|m| (m.life.submitted_at, m.id));
    match earlier_pending {
        Some(first) => Err(DomainError::conflict(format!(
            "{} registered this account first (on {}) and still awaits a decision; under the first_registered policy decide it first",
            CaseNumber(first.id),
            day(first.life.submitted_at)
        ))),
        None => Ok(()),
    }
}

/// Decides whether `trigger` settles the conflict whose members (after the
/// triggering change) are `members`.
pub fn settle(policy: ConflictPolicy, members: &[Member], trigger: &Trigger) -> Option<Settlement> {
    match trigger {
        Trigger::Manual { winner, reason } => {
            Some(settlement(members, Some(*winner), reason.clone()))
        }
        Trigger::MeetingLogged { id, held_at } if policy != ConflictPolicy::FirstRegistered => {
            let reason = format!(
                "{} logged the first meeting, on {}, under the {} policy",
                CaseNumber(*id),
                day(*held_at),
                policy.as_str()
            );
            Some(settlement(members, Some(*id), reason))
        }
        Trigger::Approved(id) if policy == ConflictPolicy::FirstRegistered => {
            let reason = format!(
                "{} was the earliest registration to be approved, under the first_registered policy",
                CaseNumber(*id)
            );
            Some(settlement(members, Some(*id), reason))
        }
        _ => last_one_standing(members),
    }
}

fn last_one_standing(members: &[Member]) -> Option<Settlement> {
    let mut active = members.iter().filter(|m| m.life.status.is_active());
    match (active.next(), active.next()) {
        (Some(only), None) => Some(settlement(
            members,
            Some(only.id),
            format!("{} is the only claimant still active", CaseNumber(only.id)),
        )),
        (None, _) => Some(settlement(
            members,
            None,
            "no claimant is still active".into(),
        )),
        _ => None,
    }
}

fn settlement(members: &[Member], winner: Option<RegistrationId>, reason: String) -> Settlement {
    let declined = members
        .iter()
        .filter(|m| Some(m.id) != winner && m.life.status.is_active())
        .map(|m| m.id)
        .collect();
    Settlement {
        winner,
        declined,
        reason,
    }
}

#[cfg(test)]
mod tests;
