//! Which tier a partner's measurements earn, and the scorecard that shows a
//! partner how far it is from the next one.
//!
//! A criterion asks each tier for the threshold of the highest tier at or
//! below it that names one, so a criterion written only for Select still
//! holds at Elite. A tier above the lowest that no applicable criterion
//! names is awarded by hand: measurements never reach it, which keeps a
//! program whose criteria do not mention its tiers from promoting everyone.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::{Bucket, Criterion, Quantity, Window};
use crate::partner::PartnerKind;
use crate::program::{Program, Tier};

/// A criterion's aggregate over the window, as the store computed it, with
/// the evidence (URLs or ids) behind it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    pub value: Quantity,
    pub evidence: Vec<String>,
}

/// The criteria that apply to a kind of partner; a criterion without kinds
/// applies to every kind.
pub fn applicable(criteria: &[Criterion], kind: PartnerKind) -> impl Iterator<Item = &Criterion> {
    criteria
        .iter()
        .filter(move |criterion| criterion.kinds.is_empty() || criterion.kinds.contains(&kind))
}

/// One criterion's measured value against what a tier asks of it.
pub(super) struct Check<'p> {
    pub(super) criterion: &'p Criterion,
    pub(super) value: Quantity,
    /// None when neither the tier nor any tier below it names a threshold.
    pub(super) target: Option<Quantity>,
}

impl Check<'_> {
    pub(super) fn met(&self) -> bool {
        self.target.is_none_or(|target| self.value >= target)
    }
}

/// Every applicable criterion checked against the tier at `rank`; a
/// criterion with no observation counts as zero.
pub(super) fn checks<'p>(
    program: &'p Program,
    kind: PartnerKind,
    rank: usize,
    observed: &BTreeMap<String, Observed>,
) -> Vec<Check<'p>> {
    let ladder = program.tiers.get(..=rank).unwrap_or(&program.tiers);
    applicable(&program.criteria, kind)
        .map(|criterion| Check {
            criterion,
            value: observed
                .get(&criterion.id)
                .map_or(Quantity::ZERO, |o| o.value),
            target: requirement(criterion, ladder),
        })
        .collect()
}

/// The threshold of the highest tier of `ladder` that names one.
fn requirement(criterion: &Criterion, ladder: &[Tier]) -> Option<Quantity> {
    ladder
        .iter()
        .rev()
        .find_map(|tier| criterion.thresholds.get(&tier.id).copied())
}

/// Whether measurements can earn the tier at `rank` at all.
fn measured(program: &Program, kind: PartnerKind, rank: usize) -> bool {
    let Some(tier) = program.tiers.get(rank) else {
        return false;
    };
    rank == 0 || applicable(&program.criteria, kind).any(|c| c.thresholds.contains_key(&tier.id))
}

/// The rank of the highest tier the measurements earn; the lowest tier when
/// they earn none.
pub(super) fn highest_rank(
    program: &Program,
    kind: PartnerKind,
    observed: &BTreeMap<String, Observed>,
) -> usize {
    (1..program.tiers.len())
        .rev()
        .find(|&rank| {
            measured(program, kind, rank)
                && checks(program, kind, rank, observed).iter().all(Check::met)
        })
        .unwrap_or(0)
}

/// The id of the highest tier the measurements earn.
///
/// # Panics
///
/// If the program has no tiers, which [`Program::parse`] never allows.
pub fn highest_qualified<'p>(
    program: &'p Program,
    kind: PartnerKind,
    observed: &BTreeMap<String, Observed>,
) -> &'p str {
    &program.tiers[highest_rank(program, kind, observed)].id
}

/// One line of a scorecard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriterionScore {
    pub id: String,
    pub label: String,
    pub bucket: Bucket,
    pub value: Quantity,
    /// What the next tier asks (the current tier's at the top); None when
    /// it asks nothing of this criterion.
    pub target: Option<Quantity>,
    pub met: bool,
    /// 0 to 1, for a progress bar.
    pub progress: f64,
    pub evidence: Vec<String>,
}

/// What a partner sees: where it stands, what the next tier needs, and what
/// to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scorecard {
    pub tier: String,
    pub next_tier: Option<String>,
    /// Mean progress of the criteria towards the next tier; 1 at the top,
    /// 0 when the next tier is awarded by hand.
    pub progress_to_next: f64,
    pub criteria: Vec<CriterionScore>,
    /// One sentence per unmet criterion, in words a partner can act on.
    pub missing: Vec<String>,
    pub window: Window,
    pub window_label: String,
}

/// The scorecard of a partner of `kind` in `tier` (a tier the program no
/// longer has is read as the lowest).
pub fn scorecard(
    program: &Program,
    kind: PartnerKind,
    tier: &str,
    observed: &BTreeMap<String, Observed>,
    window: &Window,
) -> Scorecard {
    let rank = program.tier_rank(tier).unwrap_or(0);
    let next = program.tiers.get(rank + 1);
    let target_rank = if next.is_some() { rank + 1 } else { rank };
    let checks = checks(program, kind, target_rank, observed);
    let window_label = window.describe();
    let target_label = program.tiers.get(target_rank).map_or("", |t| &t.label);
    let mut missing: Vec<String> = (checks.iter())
        .filter(|check| !check.met())
        .map(|check| shortfall(check, target_label, &window_label))
        .collect();
    let by_hand = next.filter(|_| !measured(program, kind, target_rank));
    if let Some(next) = by_hand {
        missing.push(format!(
            "{} is awarded by the program team; no measured criterion leads to it",
            next.label
        ));
    }
    let criteria: Vec<CriterionScore> = (checks.iter())
        .map(|check| score(check, observed))
        .collect();
    let progress_to_next = match (next, by_hand) {
        (None, _) => 1.0,
        (Some(_), Some(_)) => 0.0,
        (Some(_), None) => mean_progress(&criteria),
    };
    Scorecard {
        tier: tier.to_owned(),
        next_tier: next.map(|t| t.id.clone()),
        progress_to_next,
        criteria,
        missing,
        window: *window,
        window_label,
    }
}

fn score(check: &Check<'_>, observed: &BTreeMap<String, Observed>) -> CriterionScore {
    let criterion = check.criterion;
    CriterionScore {
        id: criterion.id.clone(),
        label: criterion.label.clone(),
        bucket: criterion.bucket,
        value: check.value,
        target: check.target,
        met: check.met(),
        progress: check.target.map_or(1.0, |t| check.value.progress(t)),
        evidence: observed
            .get(&criterion.id)
            .map(|o| o.evidence.clone())
            .unwrap_or_default(),
    }
}

/// A tier whose every criterion is met is a whole step away, whatever
/// the number of criteria; with none measured there is nothing to average.
fn mean_progress(criteria: &[CriterionScore]) -> f64 {
    if criteria.is_empty() {
        return 0.0;
    }
    criteria.iter().map(|c| c.progress).sum::<f64>() / criteria.len() as f64
}

/// `Partner revenue, rolling four quarters: 72000 of 100000 needed for Select
/// (2025-Q4 to 2026-Q3)`. Capability criteria are counted at the window's
/// end, so instead of the window they say what to add.
pub(super) fn shortfall(check: &Check<'_>, tier_label: &str, window_label: &str) -> String {
    let criterion = check.criterion;
    let target = check.target.unwrap_or_default();
    let mut line = format!(
        "{}: {} of {target} needed for {tier_label}",
        criterion.label, check.value
    );
    // Writing to a String cannot fail.
    let _ = match criterion.bucket {
        Bucket::Outcome => write!(line, " ({window_label})"),
        Bucket::Capability => write!(line, "; add {}", item_to_add(criterion)),
    };
    line
}

/// `a certification with its evidence`, from the metric's name.
fn item_to_add(criterion: &Criterion) -> String {
    let noun = criterion.metric.replace(['_', '.'], " ");
    let article = match noun.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    };
    let evidence = if criterion.requires_evidence {
        " with its evidence"
    } else {
        ""
    };
    format!("{article} {noun}{evidence}")
}

/// Whether progress to the next tier crossed the program's nudge threshold
/// on the way up, so a partner is nudged once per approach, not on every
/// recalculation above the line.
pub fn nudge_due(program: &Program, before: f64, after: f64) -> bool {
    let threshold = program.review.nudge_threshold.to_f64();
    before < threshold && after >= threshold
}
