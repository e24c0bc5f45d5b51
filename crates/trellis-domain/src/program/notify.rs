//! `[notify]`: who hears about what needs a person, when reminders go out,
//! and how mail leaves (the relay and the sender).

use super::reader::{Origin, Setting, TableReader};
use crate::channels::{check_sender, SmtpUrl};
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
    /// The SMTP relay; `--smtp-url` wins over it. A password written here
    /// is the operator's choice; it never prints (see [`SmtpUrl`]).
    pub smtp_url: Option<SmtpUrl>,
    /// The sender of outgoing mail; the program's name and intake address
    /// when unset.
    pub from: Option<String>,
}

impl Default for NotifyRules {
    fn default() -> Self {
        NotifyRules {
            escalation_email: None,
            meeting_reminder_days: 3,
            smtp_url: None,
            from: None,
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
    let smtp_url = section.string("smtp_url", "");
    let smtp_url = checked(&mut section, "smtp_url", smtp_url, SmtpUrl::parse);
    let from = section.string("from", "");
    let from = checked(&mut section, "from", from, |text| {
        check_sender(text).map(|()| text.trim().to_owned())
    });
    section.finish();
    NotifyRules {
        escalation_email,
        meeting_reminder_days,
        smtp_url,
        from,
    }
}

/// The value of an optional key written in the file, converted by `parse`;
/// a value `parse` refuses is reported at the key's line.
fn checked<T, E: std::fmt::Display>(
    section: &mut TableReader<'_, '_>,
    key: &'static str,
    setting: Setting<String>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Option<T> {
    let Origin::File(span) = setting.origin else {
        return None;
    };
    parse(&setting.value)
        .map_err(|e| section.error(&span, key, format!("{key} {e}")))
        .ok()
}
