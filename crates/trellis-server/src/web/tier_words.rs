//! Tiers in the words pages use, shared by the partner portal and the staff
//! workspace so both say the same thing about the same scorecard.

use trellis_domain::program::Program;
use trellis_domain::tiering::CriterionScore;

/// A tier's label as people read it; its id if the program dropped it.
pub(crate) fn tier_label<'p>(program: &'p Program, id: &'p str) -> &'p str {
    program.tier(id).map_or(id, |tier| tier.label.as_str())
}

/// Progress 0..1 as whole percent.
pub(crate) fn percent(progress: f64) -> u8 {
    (progress.clamp(0.0, 1.0) * 100.0).round() as u8
}

/// "3 of 5", or the value alone when the tier asks nothing of it.
pub(crate) fn measure(score: &CriterionScore) -> String {
    match score.target {
        Some(target) => format!("{} of {target}", score.value),
        None => score.value.to_string(),
    }
}
