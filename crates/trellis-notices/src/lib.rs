//! What Trellis tells people, one kind of notice at a time, and how each
//! looks in mail (plain text and HTML, from one askama template pair per
//! kind under `templates/notices/`) and in Slack (Block Kit, `slack.rs`).
//!
//! A notice holds only what its reader may know: the facts of their own
//! registration, never another partner's. The conflict notice, for one,
//! has no field that could name the competing partner, so no template can
//! leak it.

mod slack;

use askama::Template;
use time::Date;
use trellis_domain::ids::CaseNumber;
use trellis_domain::program::ConflictPolicy;

/// The registration a notice is about, as its own partner knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub number: CaseNumber,
    pub company: String,
}

/// Something to tell a person, with the facts the wording needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Intake reply: the registration was received.
    Received(Received),
    /// Intake reply: fields are missing or wrong.
    Incomplete(Incomplete),
    /// Intake reply: the registration was refused.
    Refused(Refused),
    /// Intake reply: the sender speaks for no partner.
    UnknownSender(UnknownSender),
    Approved(Approved),
    Declined(Declined),
    InfoRequested(InfoRequested),
    Expired(Expired),
    /// To the partner team: a registration waited past its response SLA.
    Escalation(Escalation),
    MeetingReminder(MeetingReminder),
    WeeklySummary(WeeklySummary),
    /// To the partner team: a quarter's review is not published yet.
    ReviewDue(ReviewDue),
    ConflictOpened(ConflictOpened),
    Won(Won),
    Lost(Lost),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub case: Case,
    pub response_sla_hours: u32,
    /// Another registration claims the account; the conflict rules decide.
    pub in_conflict: bool,
    /// The registration's page in the partner portal, which signs the
    /// reader in by a mailed link and then opens it.
    pub portal_link: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSender {
    pub sender: String,
    pub program: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    pub case: Case,
    pub hold_days: u32,
    pub hold_until: Date,
    pub meeting_due: Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declined {
    pub case: Case,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoRequested {
    pub case: Case,
    pub question: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub case: Case,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub case: Case,
    /// The registering partner: staff may know it.
    pub partner: String,
    pub sla_hours: u32,
    pub submitted: Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingReminder {
    pub case: Case,
    pub meeting_due: Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklySummary {
    pub partner: String,
    /// The ISO week, `2026-W02`.
    pub period: String,
    pub rows: Vec<SummaryRow>,
}

/// One open registration in a weekly summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub case: Case,
    pub standing: Standing,
}

/// Where an open registration stands, for the weekly summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Waiting,
    MoreInfo,
    /// Approved, with days left on the protection and, until a first
    /// meeting is logged, days left to log it.
    Approved {
        held_days: i64,
        meeting_in_days: Option<i64>,
    },
}

impl SummaryRow {
    /// The row's state and next step in one line, shared by every rendering.
    pub fn describe(&self) -> String {
        match self.standing {
            Standing::Waiting => "waiting for the partner team's decision".into(),
            Standing::MoreInfo => "the partner team asked for more information: please answer".into(),
            Standing::Approved {
                held_days,
                meeting_in_days: Some(days),
            } => format!(
                "approved; log the first meeting within {days} days to keep the protection ({held_days} days left)"
            ),
            Standing::Approved { held_days, .. } => {
                format!("approved and protected, {held_days} days left")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDue {
    /// `2025-Q4`.
    pub quarter: String,
}

/// A conflict opened on, or joined by, the reader's registration. It says
/// that another registration claims the account and how the program
/// decides, and nothing of who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictOpened {
    pub case: Case,
    pub policy: ConflictPolicy,
}

impl ConflictOpened {
    /// How the policy decides, in plain words.
    pub fn rule(&self) -> &'static str {
        self.policy.rule()
    }

    pub fn meeting_decides(&self) -> bool {
        self.policy == ConflictPolicy::FirstMeeting
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Won {
    pub case: Case,
    /// `12500.00 EUR`, when the amount is known.
    pub amount: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    pub case: Case,
    pub reason: Option<String>,
}

/// A notice written out for mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The body in plain words; `notices/body.txt` picks the kind's template.
#[derive(Template)]
#[template(path = "notices/body.txt")]
struct Body<'a> {
    notice: &'a Notice,
}

/// The HTML mail: `notices/mail.html` lays out the kind's template.
#[derive(Template)]
#[template(path = "notices/mail.html")]
struct Html<'a> {
    notice: &'a Notice,
    subject: &'a str,
    program: &'a str,
}

impl Notice {
    /// The kind stored with the queued message.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::Received(_)
            | Notice::Incomplete(_)
            | Notice::Refused(_)
            | Notice::UnknownSender(_) => "intake_reply",
            Notice::Approved(_) => "approved",
            Notice::Declined(_) => "declined",
            Notice::InfoRequested(_) => "info_requested",
            Notice::Expired(_) => "expired",
            Notice::Escalation(_) => "response_sla_breached",
            Notice::MeetingReminder(_) => "meeting_reminded",
            Notice::WeeklySummary(_) => "weekly_summary",
            Notice::ReviewDue(_) => "review_due",
            Notice::ConflictOpened(_) => "conflict_opened",
            Notice::Won(_) => "won",
            Notice::Lost(_) => "lost",
        }
    }

    /// The registration it is about, if one.
    pub fn case(&self) -> Option<&Case> {
        match self {
            Notice::Received(n) => Some(&n.case),
            Notice::Approved(n) => Some(&n.case),
            Notice::Declined(n) => Some(&n.case),
            Notice::InfoRequested(n) => Some(&n.case),
            Notice::Expired(n) => Some(&n.case),
            Notice::Escalation(n) => Some(&n.case),
            Notice::MeetingReminder(n) => Some(&n.case),
            Notice::ConflictOpened(n) => Some(&n.case),
            Notice::Won(n) => Some(&n.case),
            Notice::Lost(n) => Some(&n.case),
            Notice::Incomplete(_)
            | Notice::Refused(_)
            | Notice::UnknownSender(_)
            | Notice::WeeklySummary(_)
            | Notice::ReviewDue(_) => None,
        }
    }

    /// One line that says what happened, with the case number first.
    pub fn subject(&self) -> String {
        let on = |case: &Case, what: &str| format!("{} {}: {what}", case.number, case.company);
        match self {
            Notice::Received(n) => format!("{} received: {}", n.case.number, n.case.company),
            Notice::Incomplete(_) => "We need a little more to register this".into(),
            Notice::Refused(_) | Notice::UnknownSender(_) => "We could not register this".into(),
            Notice::Approved(n) => on(&n.case, "approved"),
            Notice::Declined(n) => on(&n.case, "declined"),
            Notice::InfoRequested(n) => on(&n.case, "more information needed"),
            Notice::Expired(n) => on(&n.case, "expired"),
            Notice::Escalation(n) => format!(
                "{} is past its {}-hour response time",
                n.case.number, n.sla_hours
            ),
            Notice::MeetingReminder(n) => format!(
                "{}: log your first meeting with {} by {}",
                n.case.number, n.case.company, n.meeting_due
            ),
            Notice::WeeklySummary(n) => format!("Your registrations this week ({})", n.period),
            Notice::ReviewDue(n) => format!("The {} partner review is due", n.quarter),
            Notice::ConflictOpened(n) => on(&n.case, "another registration claims this account"),
            Notice::Won(n) => on(&n.case, "closed won"),
            Notice::Lost(n) => on(&n.case, "closed lost"),
        }
    }

    /// The body in plain words, unsigned: what happened and the next step.
    pub fn text(&self) -> String {
        render(&Body { notice: self })
    }

    /// Subject, signed plain text and HTML, for a multipart/alternative mail.
    pub fn mail(&self, program: &str) -> Mail {
        let subject = self.subject();
        let html = render(&Html {
            notice: self,
            subject: &subject,
            program,
        });
        Mail {
            text: format!("{}\n-- \n{program}\n", self.text()),
            subject,
            html,
        }
    }

    /// The Slack incoming-webhook payload: Block Kit with a plain fallback.
    pub fn slack(&self, program: &str) -> serde_json::Value {
        slack::message(self, program)
    }
}

/// Templates only display strings, numbers and dates, whose formatting
/// cannot fail; a failure would be a broken template, caught by the tests.
fn render(template: &impl Template) -> String {
    template
        .render()
        .unwrap_or_else(|e| panic!("a notice template failed to render: {e}"))
}

#[cfg(test)]
mod tests;
