//! Reads a program file section by section.

use toml::de::DeTable;

use super::defaults::{
    APPEAL_DAYS, FUZZY_THRESHOLD, HOLD_DAYS, MEETING_SLA_DAYS, RESPONSE_SLA_HOURS, SHARE,
};
use super::reader::{Diagnostics, Origin, Setting, TableReader};
use super::{
    benefits, criteria, crm, intake, notify, tiers, ConfigErrors, ConflictPolicy, DedupeRules,
    ParsedProgram, Program, RegistrationRules,
};
use crate::tiering::{ReviewRules, WindowRule};

/// See [`Program::parse`].
pub(crate) fn parse(text: &str) -> Result<ParsedProgram, ConfigErrors> {
    let mut diagnostics = Diagnostics::new(text);
    let program = match DeTable::parse(text) {
        Ok(document) => read_program(TableReader::new(
            &mut diagnostics,
            String::new(),
            Some(document.get_ref()),
        )),
        Err(syntax) => {
            let span = syntax.span().unwrap_or_default();
            diagnostics.error(&span, "", format!("invalid TOML: {}", syntax.message()));
            return Err(ConfigErrors(diagnostics.finish().0));
        }
    };
    let (errors, warnings) = diagnostics.finish();
    if errors.is_empty() {
        Ok(ParsedProgram { program, warnings })
    } else {
        Err(ConfigErrors(errors))
    }
}

fn read_program(mut document: TableReader<'_, '_>) -> Program {
    let defaults = Program::default();
    let name = document.string("name", &defaults.name).value;
    let ladder = tiers::read(&mut document);
    let registration = read_registration(document.section("registration"));
    let dedupe = read_dedupe(document.section("dedupe"));
    let intake = intake::read(document.section("intake"));
    let notify = notify::read(document.section("notify"));
    let criteria = criteria::read(&mut document, &ladder);
    let review = read_review(document.section("review"));
    let benefits = benefits::read(document.section("benefits"), &ladder);
    let crm = crm::read(document.section("crm"));
    document.finish();
    Program {
        name,
        tiers: ladder.tiers,
        registration,
        dedupe,
        intake,
        notify,
        criteria,
        review,
        benefits,
        crm,
    }
}

fn read_registration(mut section: TableReader<'_, '_>) -> RegistrationRules {
    let defaults = RegistrationRules::default();
    let hold_days = section.integer("hold_days", defaults.hold_days, HOLD_DAYS);
    let meeting_sla_days = section.integer(
        "meeting_sla_days",
        defaults.meeting_sla_days,
        MEETING_SLA_DAYS,
    );
    let response_sla_hours = section.integer(
        "response_sla_hours",
        defaults.response_sla_hours,
        RESPONSE_SLA_HOURS,
    );
    let conflict_policy = section.choice(
        "conflict_policy",
        defaults.conflict_policy,
        &ConflictPolicy::ALL,
        ConflictPolicy::as_str,
    );
    let auto_approve = section.boolean("auto_approve", defaults.auto_approve);
    check_meeting_within_hold(&mut section, &hold_days, &meeting_sla_days);
    section.finish();
    RegistrationRules {
        hold_days: hold_days.value,
        meeting_sla_days: meeting_sla_days.value,
        response_sla_hours: response_sla_hours.value,
        conflict_policy: conflict_policy.value,
        auto_approve: auto_approve.value,
    }
}

/// A partner cannot be asked to meet the customer after their registration
/// has already lapsed. The error goes on whichever of the two keys the vendor
/// wrote, preferring `meeting_sla_days`.
fn check_meeting_within_hold(
    section: &mut TableReader<'_, '_>,
    hold_days: &Setting<u32>,
    meeting_sla_days: &Setting<u32>,
) {
    if meeting_sla_days.value <= hold_days.value {
        return;
    }
    match (&meeting_sla_days.origin, &hold_days.origin) {
        (Origin::File(span), Origin::File(_) | Origin::Default) => section.error(
            span,
            "meeting_sla_days",
            format!("must not exceed hold_days ({})", hold_days.value),
        ),
        (Origin::Default, Origin::File(span)) => section.error(
            span,
            "hold_days",
            format!(
                "must be at least meeting_sla_days ({}, the default)",
                meeting_sla_days.value
            ),
        ),
        // A rejected value was already reported, and the defaults agree.
        _ => {}
    }
}

fn read_dedupe(mut section: TableReader<'_, '_>) -> DedupeRules {
    let defaults = DedupeRules::default();
    let fuzzy_threshold =
        section.number("fuzzy_threshold", defaults.fuzzy_threshold, FUZZY_THRESHOLD);
    section.finish();
    DedupeRules {
        fuzzy_threshold: fuzzy_threshold.value,
    }
}

fn read_review(mut section: TableReader<'_, '_>) -> ReviewRules {
    let defaults = ReviewRules::default();
    let auto_upgrade = section.boolean("auto_upgrade", defaults.auto_upgrade);
    let nudge_threshold = section.quantity("nudge_threshold", defaults.nudge_threshold, SHARE);
    let grace_margin = section.quantity("grace_margin", defaults.grace_margin, SHARE);
    let window = section.choice(
        "window",
        defaults.window,
        &WindowRule::ALL,
        WindowRule::as_str,
    );
    let appeal_days = section.integer("appeal_days", defaults.appeal_days, APPEAL_DAYS);
    section.finish();
    ReviewRules {
        auto_upgrade: auto_upgrade.value,
        nudge_threshold: nudge_threshold.value,
        grace_margin: grace_margin.value,
        window: window.value,
        appeal_days: appeal_days.value,
    }
}
