//! Quarterly review proposals: upgrade, hold, grace or downgrade, each with
//! reasons a partner can read and, for grace, the plan to recover.
//!
//! Grace exists because a partner slightly below its tier for one review is
//! usually a timing accident (a deal slipping a week past the quarter), and
//! a downgrade for it costs more goodwill than the tier is worth. A second
//! review in a row below the tier, or a wide miss, is not an accident.

use std::collections::BTreeMap;

use serde::Serialize;
use time::Date;

use super::score::{checks, highest_rank, shortfall, Check, Observed};
use super::{Quantity, Window};
use crate::partner::PartnerKind;
use crate::program::Program;

/// What a review proposes for one partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Upgrade,
    Hold,
    /// Keeps the tier for one more review despite a small miss.
    Grace,
    Downgrade,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Upgrade,
        Action::Hold,
        Action::Grace,
        Action::Downgrade,
    ];

    /// The action spelled as stored and in JSON (`grace`).
    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Upgrade => "upgrade",
            Action::Hold => "hold",
            Action::Grace => "grace",
            Action::Downgrade => "downgrade",
        }
    }
}

/// A partner's tier state going into a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub tier: String,
    /// Whether the last published review put the partner in grace.
    pub in_grace: bool,
    /// A tier held by hand until a date; the caller passes it only while it
    /// lasts.
    pub exception: Option<(String, Date)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proposal {
    pub current_tier: String,
    pub proposed_tier: String,
    pub action: Action,
    /// Full sentences, shown to the partner as they are.
    pub reasons: Vec<String>,
    /// For grace: what to reach by the next review.
    pub recovery_plan: Vec<String>,
}

/// What a review of `window` proposes for a partner of `kind`; the review
/// after it is on `next_review`. A tier the program no longer has is read
/// as the lowest.
///
/// # Panics
///
/// If the program has no tiers, which [`Program::parse`] never allows.
pub fn propose(
    program: &Program,
    kind: PartnerKind,
    standing: &Standing,
    observed: &BTreeMap<String, Observed>,
    window: &Window,
    next_review: Date,
) -> Proposal {
    let review = Review {
        program,
        standing,
        window_label: window.describe(),
    };
    if let Some((tier, until)) = &standing.exception {
        return review.held_by_exception(tier, *until);
    }
    let current = program.tier_rank(&standing.tier).unwrap_or(0);
    let best = highest_rank(program, kind, observed);
    if best > current {
        return review.upgrade(&checks(program, kind, best, observed), best);
    }
    let all = checks(program, kind, current, observed);
    let missed: Vec<&Check<'_>> = all.iter().filter(|check| !check.met()).collect();
    let margin = program.review.grace_margin;
    let close = missed.iter().all(|check| {
        let target = check.target.unwrap_or_default();
        check.value.below_by_at_most(target, margin)
    });
    if missed.is_empty() || best == current {
        review.hold(current, &missed)
    } else if close && !standing.in_grace {
        review.grace(current, &missed, next_review)
    } else {
        review.downgrade(current, &missed, best)
    }
}

/// What every proposal of one review shares.
struct Review<'a> {
    program: &'a Program,
    standing: &'a Standing,
    window_label: String,
}

impl Review<'_> {
    fn label(&self, rank: usize) -> &str {
        &self.program.tiers[rank].label
    }

    fn proposal(&self, action: Action, proposed_tier: &str, reasons: Vec<String>) -> Proposal {
        Proposal {
            current_tier: self.standing.tier.clone(),
            proposed_tier: proposed_tier.to_owned(),
            action,
            reasons,
            recovery_plan: Vec::new(),
        }
    }

    fn held_by_exception(&self, tier: &str, until: Date) -> Proposal {
        let label = self.program.tier(tier).map_or(tier, |t| &t.label);
        let reason = format!(
            "{label} is held by an exception until {until}, so this review leaves the tier as it is."
        );
        self.proposal(Action::Hold, tier, vec![reason])
    }

    fn upgrade(&self, met: &[Check<'_>], best: usize) -> Proposal {
        let label = self.label(best);
        let mut reasons = vec![format!(
            "Meets every criterion for {label} over {}.",
            self.window_label
        )];
        reasons.extend(met.iter().filter_map(|check| {
            let target = check.target?;
            let criterion = &check.criterion.label;
            Some(format!(
                "{criterion}: {}, at or above the {target} needed for {label}.",
                check.value
            ))
        }));
        self.proposal(Action::Upgrade, &self.program.tiers[best].id, reasons)
    }

    /// Also the answer for the lowest tier, which has nowhere lower to go.
    fn hold(&self, current: usize, missed: &[&Check<'_>]) -> Proposal {
        let label = self.label(current);
        let first = if missed.is_empty() {
            format!(
                "Meets every criterion of {label} over {}.",
                self.window_label
            )
        } else {
            format!("{label} is the program's first tier, so it is kept.")
        };
        let reasons = self.explained(first, current, missed);
        self.proposal(Action::Hold, &self.program.tiers[current].id, reasons)
    }

    fn grace(&self, current: usize, missed: &[&Check<'_>], next_review: Date) -> Proposal {
        let label = self.label(current);
        let first = format!(
            "Every missed criterion of {label} is within the {}% grace margin, \
             so {label} is kept until the next review on {next_review}.",
            self.margin_percent()
        );
        let recovery_plan = missed
            .iter()
            .map(|check| {
                format!(
                    "Reach {} on {} (now {}) by {next_review}",
                    check.target.unwrap_or_default(),
                    check.criterion.label,
                    check.value
                )
            })
            .collect();
        let reasons = self.explained(first, current, missed);
        let mut proposal = self.proposal(Action::Grace, &self.program.tiers[current].id, reasons);
        proposal.recovery_plan = recovery_plan;
        proposal
    }

    fn downgrade(&self, current: usize, missed: &[&Check<'_>], best: usize) -> Proposal {
        let (label, lower) = (self.label(current), self.label(best));
        let first = if self.standing.in_grace {
            format!(
                "Below the criteria of {label} for the second review in a row, \
                 so the tier moves to {lower}."
            )
        } else {
            format!(
                "Missed the criteria of {label} by more than the {}% grace margin, \
                 so the tier moves to {lower}, the highest tier whose criteria are met.",
                self.margin_percent()
            )
        };
        let reasons = self.explained(first, current, missed);
        self.proposal(Action::Downgrade, &self.program.tiers[best].id, reasons)
    }

    /// `first`, then one sentence per criterion missed at `rank`.
    fn explained(&self, first: String, rank: usize, missed: &[&Check<'_>]) -> Vec<String> {
        let label = self.label(rank);
        let shortfalls = missed
            .iter()
            .map(|check| format!("{}.", shortfall(check, label, &self.window_label)));
        std::iter::once(first).chain(shortfalls).collect()
    }

    fn margin_percent(&self) -> Quantity {
        self.program
            .review
            .grace_margin
            .weighted(Quantity::from_units(100))
    }
}
