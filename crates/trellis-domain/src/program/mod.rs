//! The vendor's partner program: tiers and what they ask and give,
//! deal-registration rules and dedupe thresholds, read from one TOML file
//! that the vendor keeps under version control.
//!
//! Every key is optional and falls back to the built-in default, so an empty
//! file is a complete program and a vendor only writes what they change.
//! The exceptions are inside a table that adds something of the vendor's
//! own (a `[[tiers]]` label, a criterion's measurement), which has no
//! sensible default.
//!
//! # Why the file is walked by hand instead of `#[derive(Deserialize)]`
//!
//! `trellis config check` has to show a vendor *every* mistake in one run,
//! each with its line and key. Serde's derive stops at the first problem
//! (`deny_unknown_fields` included), and wrapping fields in `toml::Spanned`
//! only locates values that deserialized, not the range and cross-field
//! checks that come after. So the text is parsed once into
//! [`toml::de::DeTable`], which keeps the byte span of every key and value,
//! and each section is read through a small `TableReader` (`reader.rs`).
//! Every read records its key as accepted, converts and range-checks the
//! value, and on a problem records a [`ConfigIssue`] at the key's line and
//! carries on with the default. When a section is finished, every key it did
//! not ask for is reported as unknown together with the accepted keys, so that
//! list cannot drift from the code that reads them.
//!
//! # Adding a section
//!
//! A new section such as `[intake]` is: a struct with a `Default` impl (in
//! `defaults.rs`), a `read_intake(TableReader) -> IntakeRules` function that
//! calls the typed readers for each key (in `parse.rs`), a field on
//! [`Program`], and one line in `parse::read_program`. Arrays of tables such
//! as `[[criteria]]` go through `TableReader::array`, as `tiers` does, and
//! tables keyed by data such as tier ids (`[benefits.tiers]`) through
//! `TableReader::map`.

mod benefits;
mod criteria;
mod crm;
mod defaults;
mod intake;
mod notify;
mod parse;
mod reader;
mod tiers;

#[cfg(test)]
mod tests;

use std::fmt;

use crate::tiering::{Benefits, Criterion, ReviewRules};

/// A vendor's partner program, validated and with every default filled in.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Program {
    /// Shown to partners and in the admin UI.
    pub name: String,
    /// Partner tiers, lowest first; never empty.
    pub tiers: Vec<Tier>,
    pub registration: RegistrationRules,
    pub dedupe: DedupeRules,
    pub intake: IntakeRules,
    pub notify: NotifyRules,
    /// What each tier asks of a partner, from `[[criteria]]`.
    pub criteria: Vec<Criterion>,
    pub review: ReviewRules,
    pub benefits: Benefits,
    /// The CRM that is the source of truth; `None`: nothing is synced.
    pub crm: Option<CrmConfig>,
}

pub use crm::{CrmConfig, CrmProvider, SalesforceSettings, StageOutcome, RECORD_FIELDS};
pub use intake::{Captcha, CaptchaProvider, HubspotFields, IntakeRules};
pub use notify::NotifyRules;

/// One partner tier, such as "Select".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tier {
    /// Stable lowercase slug (`[a-z0-9-]+`) stored on partners; renaming the
    /// label must not orphan them.
    pub id: String,
    /// What partners and staff see.
    pub label: String,
}

/// How deal registrations are held, chased and decided.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegistrationRules {
    /// How long an approved registration protects the partner's deal.
    pub hold_days: u32,
    /// Days the partner has to log a first customer meeting; never more than
    /// `hold_days`.
    pub meeting_sla_days: u32,
    /// Hours the vendor has to approve or reject a submitted registration.
    pub response_sla_hours: u32,
    /// Who wins when two partners register the same opportunity.
    pub conflict_policy: ConflictPolicy,
    /// Approve registrations with no conflict without a human review.
    pub auto_approve: bool,
}

/// Who wins when two partners register the same opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The partner who first logs a customer meeting.
    FirstMeeting,
    /// The partner who registered first.
    FirstRegistered,
    /// Each partner keeps the registration for their own segment.
    SplitBySegment,
}

impl ConflictPolicy {
    /// Every policy, in the order documentation and error messages list them.
    pub const ALL: [ConflictPolicy; 3] = [
        ConflictPolicy::FirstMeeting,
        ConflictPolicy::FirstRegistered,
        ConflictPolicy::SplitBySegment,
    ];

    /// The spelling used in program files and in JSON (`first_meeting`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::FirstMeeting => "first_meeting",
            ConflictPolicy::FirstRegistered => "first_registered",
            ConflictPolicy::SplitBySegment => "split_by_segment",
        }
    }

    /// The policy named as in program files, as conflicts store it.
    pub fn parse(text: &str) -> Option<ConflictPolicy> {
        ConflictPolicy::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// How the policy decides, in plain words.
    pub const fn rule(self) -> &'static str {
        match self {
            ConflictPolicy::FirstMeeting => {
                "the first partner to log a customer meeting keeps the registration"
            }
            ConflictPolicy::FirstRegistered => "the registration submitted first keeps the account",
            ConflictPolicy::SplitBySegment => {
                "each partner keeps the registration for its own market segment"
            }
        }
    }
}

/// How eagerly incoming accounts are matched against existing ones.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DedupeRules {
    /// Similarity (0.5 to 1.0) at or above which two account names are
    /// treated as the same company.
    pub fuzzy_threshold: f64,
}

impl Program {
    /// Parses and validates a program file. Never panics.
    ///
    /// On success the warnings are problems worth showing but not worth
    /// refusing the file for. On failure every error in the file is returned
    /// (in file order) and warnings are dropped, since the file has to be
    /// edited anyway. A TOML syntax error is reported alone: nothing after it
    /// can be trusted.
    pub fn parse(text: &str) -> Result<ParsedProgram, ConfigErrors> {
        parse::parse(text)
    }

    /// The tier with this id, if the program has it.
    pub fn tier(&self, id: &str) -> Option<&Tier> {
        self.tiers.iter().find(|tier| tier.id == id)
    }

    /// The tier's position on the ladder, 0 for the lowest.
    pub fn tier_rank(&self, id: &str) -> Option<usize> {
        self.tiers.iter().position(|tier| tier.id == id)
    }

    /// The tier a newly recruited partner starts in.
    ///
    /// # Panics
    ///
    /// If `tiers` is empty. [`Program::parse`] and [`Program::default`] never
    /// produce such a program; only hand-built values can.
    pub fn lowest_tier(&self) -> &Tier {
        self.tiers
            .first()
            .expect("a program always has at least one tier")
    }
}

impl Program {
    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|criterion| criterion.id == id)
    }

    /// The criteria that read metric rows named `metric`: those measuring it
    /// directly, and weighted ones reading it as `{their metric}.{weight}`
    /// (`revenue.resold`).
    pub fn criteria_reading<'p>(&'p self, metric: &'p str) -> impl Iterator<Item = &'p Criterion> {
        self.criteria.iter().filter(move |criterion| {
            metric == criterion.metric
                || metric
                    .strip_prefix(criterion.metric.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|part| criterion.weights.contains_key(part))
        })
    }

    /// Whether some criterion reads rows named `metric`, so recording one
    /// can change a scorecard.
    pub fn known_metric(&self, metric: &str) -> bool {
        self.criteria_reading(metric).next().is_some()
    }

    /// Whether a row named `metric` must carry evidence (a URL or an id).
    pub fn metric_requires_evidence(&self, metric: &str) -> bool {
        self.criteria_reading(metric)
            .any(|criterion| criterion.requires_evidence)
    }

    /// Hours the vendor has to answer a registration from a partner in
    /// `tier`: the tier's own SLA where `[benefits]` sets one.
    pub fn response_sla_hours_for(&self, tier: &str) -> u32 {
        self.benefits
            .response_sla_hours
            .get(tier)
            .copied()
            .unwrap_or(self.registration.response_sla_hours)
    }

    /// A copy of the program with other criteria, to simulate a review
    /// before editing the file. `criteria` is a JSON array in the shape of
    /// `[[criteria]]` and is checked by the same code as the file, so every
    /// problem is reported, each under its key (`criteria[1].bucket`). The
    /// issues have no line (0): the JSON is not a file.
    pub fn with_criteria_json(
        &self,
        criteria: &serde_json::Value,
    ) -> Result<Program, ConfigErrors> {
        Ok(Program {
            criteria: criteria::from_json(&self.tiers, criteria)?,
            ..self.clone()
        })
    }
}

/// A program that passed validation, with the warnings found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedProgram {
    pub program: Program,
    pub warnings: Vec<ConfigIssue>,
}

/// One problem in a program file, located the way an editor shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// 1-based line; 0 when the input was not a file, such as criteria
    /// sent as JSON.
    pub line: usize,
    /// 1-based column, counted in characters; 0 with line 0.
    pub column: usize,
    /// Dotted path of the offending key (`registration.hold_days`,
    /// `tiers[1].id`); empty for a TOML syntax error, which has no key.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}, column {}: ", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Every error found in a program file, in file order; never empty when
/// returned by [`Program::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", one_per_line(.0))]
pub struct ConfigErrors(pub Vec<ConfigIssue>);

fn one_per_line(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(ConfigIssue::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
