//! The registration state machine.
//!
//! ```text
//! submitted ─┬─> approved ─┬─> won
//!            │             ├─> lost
//!            │             └─> expired   (no first meeting by meeting_due,
//!            ├─> declined                 or not closed by hold_until)
//!            └─> more_info ──(partner answers)──> submitted
//! ```
//! Staff may also decline a registration that is waiting for more
//! information, so a question nobody answers does not hold the account for
//! ever. Every transition returns the [`Change`] that explains it.

use crate::event::Change;
use crate::program::RegistrationRules;
use crate::registration::{Lifecycle, Status};
use crate::values::{day, Money, Text};
use crate::DomainError;
use time::{Duration, OffsetDateTime};

/// Longest hold a decision may grant, whatever the program says.
pub const MAX_HOLD_DAYS: u32 = 730;

/// Something a person (or the clock) asks of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Staff approve, optionally with a hold window other than the program's.
    Approve {
        hold_days: Option<u32>,
    },
    Decline {
        reason: Text,
    },
    RequestInfo {
        question: Text,
    },
    /// The partner answers an open question.
    ProvideInfo {
        message: Text,
    },
    LogMeeting {
        held_at: OffsetDateTime,
    },
    Win {
        amount: Option<Money>,
    },
    Lose {
        reason: Option<Text>,
    },
    /// A channel conflict was settled for another registration; unlike a
    /// staff decline, this also ends an approved claim.
    YieldConflict {
        reason: String,
    },
    /// The clock passed a deadline; the reason says which.
    Expire {
        reason: String,
    },
}

impl Command {
    fn verb(&self) -> &'static str {
        match self {
            Command::Approve { .. } => "approve",
            Command::Decline { .. } => "decline",
            Command::RequestInfo { .. } => "request information on",
            Command::ProvideInfo { .. } => "answer a question on",
            Command::LogMeeting { .. } => "log a meeting on",
            Command::Win { .. } => "mark as won",
            Command::Lose { .. } => "mark as lost",
            Command::YieldConflict { .. } => "settle a conflict against",
            Command::Expire { .. } => "expire",
        }
    }

    /// The statuses this command may start from.
    fn allowed_from(&self) -> &'static [Status] {
        match self {
            Command::Approve { .. } | Command::RequestInfo { .. } => &[Status::Submitted],
            Command::Decline { .. } => &[Status::Submitted, Status::MoreInfo],
            Command::ProvideInfo { .. } => &[Status::MoreInfo],
            Command::YieldConflict { .. } => {
                &[Status::Submitted, Status::MoreInfo, Status::Approved]
            }
            Command::LogMeeting { .. }
            | Command::Win { .. }
            | Command::Lose { .. }
            | Command::Expire { .. } => &[Status::Approved],
        }
    }
}

/// Applies `command` to a registration, returning its new lifecycle and the
/// change that explains it, or why the command is not allowed now.
pub fn apply(
    life: &Lifecycle,
    command: Command,
    rules: &RegistrationRules,
    now: OffsetDateTime,
) -> Result<(Lifecycle, Change), DomainError> {
    if !command.allowed_from().contains(&life.status) {
        return Err(illegal(life, &command));
    }
    let mut next = life.clone();
    let change = match command {
        Command::Approve { hold_days } => approve(&mut next, hold_days, rules, now)?,
        Command::Decline { reason } => close(&mut next, Status::Declined, now, |n| {
            n.status_reason = Some(reason.to_string());
            Change::Declined {
                reason: reason.into_string(),
            }
        }),
        Command::YieldConflict { reason } => close(&mut next, Status::Declined, now, |n| {
            n.status_reason = Some(reason.clone());
            Change::Declined { reason }
        }),
        Command::RequestInfo { question } => {
            next.status = Status::MoreInfo;
            next.status_reason = Some(question.to_string());
            Change::InfoRequested {
                question: question.into_string(),
            }
        }
        Command::ProvideInfo { message } => {
            next.status = Status::Submitted;
            next.status_reason = None;
            Change::InfoProvided {
                message: message.into_string(),
            }
        }
        Command::LogMeeting { held_at } => log_meeting(&mut next, held_at, now)?,
        Command::Win { amount } => close(&mut next, Status::Won, now, |n| {
            n.won_amount = amount;
            Change::Won {
                amount: amount.map(|m| m.decimal()),
                currency: amount.map(|m| m.currency.to_string()),
            }
        }),
        Command::Lose { reason } => close(&mut next, Status::Lost, now, |n| {
            n.status_reason = reason.as_ref().map(Text::to_string);
            Change::Lost {
                reason: reason.map(Text::into_string),
            }
        }),
        Command::Expire { reason } => close(&mut next, Status::Expired, now, |n| {
            n.status_reason = Some(reason.clone());
            Change::Expired { reason }
        }),
    };
    Ok((next, change))
}

fn illegal(life: &Lifecycle, command: &Command) -> DomainError {
    let allowed: Vec<&str> = command.allowed_from().iter().map(|s| s.as_str()).collect();
    DomainError::conflict(format!(
        "cannot {} a registration that is {}; only a registration that is {} can be",
        command.verb(),
        life.status.as_str(),
        allowed.join(" or ")
    ))
}

fn approve(
    next: &mut Lifecycle,
    hold_days: Option<u32>,
    rules: &RegistrationRules,
    now: OffsetDateTime,
) -> Result<Change, DomainError> {
    let hold_days = hold_days.unwrap_or(rules.hold_days);
    if !(rules.meeting_sla_days..=MAX_HOLD_DAYS).contains(&hold_days) {
        return Err(DomainError::field(
            "hold_days",
            format!(
                "must be between {} (the meeting SLA) and {MAX_HOLD_DAYS} days (found {hold_days})",
                rules.meeting_sla_days
            ),
        ));
    }
    let hold_until = now + Duration::days(i64::from(hold_days));
    let meeting_due = now + Duration::days(i64::from(rules.meeting_sla_days));
    next.status = Status::Approved;
    next.status_reason = None;
    next.approved_at = Some(now);
    next.hold_until = Some(hold_until);
    next.meeting_due = Some(meeting_due);
    Ok(Change::Approved {
        hold_until,
        meeting_due,
        hold_days,
    })
}

fn log_meeting(
    next: &mut Lifecycle,
    held_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Change, DomainError> {
    if let Some(first) = next.first_meeting_at {
        return Err(DomainError::conflict(format!(
            "the first meeting was already logged, held on {}",
            day(first)
        )));
    }
    if held_at > now {
        return Err(DomainError::field("held_at", "must not be in the future"));
    }
    if held_at < next.submitted_at {
        return Err(DomainError::field(
            "held_at",
            format!(
                "must not be before the registration was submitted ({})",
                day(next.submitted_at)
            ),
        ));
    }
    if let Some(due) = next.meeting_due.filter(|due| held_at > *due) {
        return Err(DomainError::conflict(format!(
            "the meeting was held after the first-meeting deadline of {}, so it cannot lock the protection",
            day(due)
        )));
    }
    next.first_meeting_at = Some(held_at);
    Ok(Change::MeetingLogged { held_at })
}

fn close(
    next: &mut Lifecycle,
    status: Status,
    now: OffsetDateTime,
    record: impl FnOnce(&mut Lifecycle) -> Change,
) -> Change {
    next.status = status;
    next.closed_at = Some(now);
    record(next)
}

/// Why an approved registration has run out of time at `now`, if it has:
/// no first meeting by `meeting_due`, or not closed by `hold_until`.
pub fn due_expiry(life: &Lifecycle, now: OffsetDateTime) -> Option<String> {
    if life.status != Status::Approved {
        return None;
    }
    if let (None, Some(due)) = (life.first_meeting_at, life.meeting_due) {
        if now > due {
            return Some(format!("no first meeting was logged by {}", day(due)));
        }
    }
    match life.hold_until {
        Some(until) if now > until => Some(format!(
            "the registration was not closed by the end of its hold window on {}",
            day(until)
        )),
        _ => None,
    }
}

/// The earliest moment `due_expiry` would fire, so a sweep can index on it.
pub fn expires_at(life: &Lifecycle) -> Option<OffsetDateTime> {
    if life.status != Status::Approved {
        return None;
    }
    let meeting = life.meeting_due.filter(|_| life.first_meeting_at.is_none());
    match (meeting, life.hold_until) {
        (Some(m), Some(h)) => Some(m.min(h)),
        (m, h) => m.or(h),
    }
}

#[cfg(test)]
mod tests;
