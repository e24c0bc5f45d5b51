//! How the pages word a registration for its partner: the status badge, the
//! days left on a deadline, and the history in plain sentences. The history
//! is worded from each event's data rather than its stored sentence, which
//! is written for staff: it names other cases and the store's own terms.

use time::OffsetDateTime;
use trellis_domain::event::Change;
use trellis_domain::ids::RegistrationId;
use trellis_domain::registration::Status;
use trellis_domain::values::{day, rfc3339};
use trellis_store::EventRecord;

/// One dated line of a history, as the pages show it.
pub(crate) struct TimelineItem {
    pub(super) at: String,
    pub(super) day: String,
    pub(super) text: String,
    /// Who made the change, where the reader may know (staff pages).
    pub(super) who: Option<String>,
}

/// Words and badge colour for a status, as a partner reads them.
pub(crate) fn label(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Submitted => ("Pending", "pending"),
        Status::MoreInfo => ("Needs your answer", "pending"),
        Status::Approved => ("Approved", "good"),
        Status::Won => ("Won", "good"),
        Status::Declined => ("Declined", "closed"),
        Status::Lost => ("Lost", "closed"),
        Status::Expired => ("Expired", "closed"),
    }
}

/// "12 days left" until `until`, counting a started day as a day.
pub(crate) fn days_left(until: OffsetDateTime, now: OffsetDateTime) -> String {
    let seconds = (until - now).whole_seconds().max(0);
    match (seconds + 86_399) / 86_400 {
        1 => "1 day left".to_owned(),
        n => format!("{n} days left"),
    }
}

/// An event about the partner itself (its tier, reviews, appeals), in the
/// words it was stored with: those are written for the partner already.
pub(crate) fn timeline_item(event: &EventRecord) -> TimelineItem {
    dated(event, event.why.clone())
}

/// A registration's history as its own partner reads it; events that are
/// staff's business (account matching, missed response times) are left out.
pub(crate) fn registration_timeline(
    events: &[EventRecord],
    own: RegistrationId,
) -> Vec<TimelineItem> {
    events
        .iter()
        .filter_map(|event| {
            let change = serde_json::from_value(event.data.clone()).ok()?;
            Some(dated(event, sentence(change, own)?))
        })
        .collect()
}

fn dated(event: &EventRecord, text: String) -> TimelineItem {
    TimelineItem {
        at: rfc3339(event.at),
        day: day(event.at),
        text,
        who: None,
    }
}

/// One change to registration `own` in a plain sentence, or `None` when it
/// is not the partner's to read.
fn sentence(change: Change, own: RegistrationId) -> Option<String> {
    Some(match change {
        Change::Submitted { channel, .. } => format!(
            "Received through {}; waiting for the partner team's decision",
            channel_words(&channel)
        ),
        Change::Approved {
            hold_until,
            meeting_due,
            hold_days,
        } => format!(
            "Approved: protected for {hold_days} days, until {}; first meeting due by {}",
            day(hold_until),
            day(meeting_due)
        ),
        Change::Declined { reason } => format!("Declined: {reason}"),
        Change::InfoRequested { question } => {
            format!("The partner team asked for more information: {question}")
        }
        Change::InfoProvided { message } => format!("Answered: {message}"),
        Change::MeetingLogged { held_at } => format!(
            "First meeting logged, held on {}; the protection is locked",
            day(held_at)
        ),
        Change::Won { amount, currency } => match (amount, currency) {
            (Some(a), Some(c)) => format!("Closed won, {a} {c}"),
            _ => "Closed won".to_owned(),
        },
        Change::Lost { reason } => match reason {
            Some(reason) => format!("Closed lost: {reason}"),
            None => "Closed lost".to_owned(),
        },
        Change::Expired { reason } => format!("Expired: {reason}"),
        Change::ConflictOpened { .. } | Change::ConflictJoined { .. } => {
            "Another partner's registration claims this account too; the program's conflict rule decides".to_owned()
        }
        Change::ConflictResolved { winner, .. } => conflict_settled(winner, own).to_owned(),
        Change::MeetingReminded { meeting_due } => format!(
            "Reminder sent: log the first meeting by {}",
            day(meeting_due)
        ),
        _ => return None,
    })
}

/// How a settled conflict turned out for registration `own`.
pub(crate) fn conflict_settled(
    winner: Option<RegistrationId>,
    own: RegistrationId,
) -> &'static str {
    match winner {
        Some(w) if w == own => "The conflict over this account was settled in your favour",
        Some(_) => "The conflict over this account was settled for another registration",
        None => "The conflict over this account closed with no registration still active",
    }
}

/// A channel's stored name as a sentence reads it.
fn channel_words(channel: &str) -> &str {
    match channel {
        "api" => "the API",
        "email" => "email",
        "form" => "the web form",
        "slack" => "Slack",
        "hubspot" => "HubSpot",
        "csv" => "a CSV import",
        other => other,
    }
}
