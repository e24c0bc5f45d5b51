//! `[notify]`: who hears about what needs a person, and when reminders go out.

use super::reader::{Origin, TableReader};
use crate::dedupe::Email;
use std::ops::RangeInclusive;

/// A reminder earlier than a month ahead is forgotten before it matters.
pub(crate) const MEETING_REMINDER_DAYS: RangeInclusive<u32> = 1..=30;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotifyRules {
    /// Where a registration past the response SLA is escalated (the
    /// partner team's shared address); none: the breach is only recorded.
    pub escalation_email: Option<String>,
    /// Days before `meeting_due` that the partner is reminded to log its
    /// first meeting.
    pub meeting_reminder_days: u32,
}

impl Default for NotifyRules {
    fn default() -> Self {
        NotifyRules {
            escalation_email: None,
            meeting_reminder_days: 3,
        }
    }
}

pub(crate) fn read(mut section: TableReader<'_, '_>) -> NotifyRules {
    let defaults = NotifyRules::default();
    let escalation = section.string("escalation_email", "");
    let escalation_email = match (&escalation.origin, Email::parse(&escalation.value)) {
        (Origin::Default | Origin::Rejected, _) => None,
        (Origin::File(_), Ok(email)) => Some(email.as_str().to_owned()),
        (Origin::File(span), Err(e)) => {
            let span = span.clone();
            section.error(&span, "escalation_email", e.to_string());
            None
        }
    };
    let meeting_reminder_days = section
        .integer(
            "meeting_reminder_days",
            defaults.meeting_reminder_days,
            MEETING_REMINDER_DAYS,
        )
        .value;
    section.finish();
    NotifyRules {
        escalation_email,
        meeting_reminder_days,
    }
}
