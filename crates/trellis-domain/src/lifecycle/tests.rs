//! The registration state machine: one table per rule family, then
//! properties over random command sequences and random states.

use super::{apply, due_expiry, expires_at, Command, MAX_HOLD_DAYS};
use crate::event::Change;
use crate::program::{Program, RegistrationRules};
use crate::registration::{Lifecycle, Status};
use crate::values::{day, Currency, Money, Text};
use crate::DomainError;
use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// When the registration in these tests was submitted.
const SUBMITTED: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);
/// When staff approve it: a day later.
const APPROVED: OffsetDateTime = datetime!(2026-03-03 09:00 UTC);
/// `APPROVED` plus the default 14-day meeting SLA.
const MEETING_DUE: OffsetDateTime = datetime!(2026-03-17 09:00 UTC);
/// `APPROVED` plus the default 90-day hold.
const HOLD_UNTIL: OffsetDateTime = datetime!(2026-06-01 09:00 UTC);
/// When the commands of the status-by-command matrix are applied.
const LATER: OffsetDateTime = datetime!(2026-03-09 09:00 UTC);

const SECOND: Duration = Duration::SECOND;

// ---------------------------------------------------------------- helpers

fn rules() -> RegistrationRules {
    Program::default().registration
}

fn rules_with(meeting_sla_days: u32, hold_days: u32) -> RegistrationRules {
    RegistrationRules {
        meeting_sla_days,
        hold_days,
        ..rules()
    }
}

fn days(n: u32) -> Duration {
    Duration::days(i64::from(n))
}

fn text(s: &str) -> Text {
    Text::parse("text", s).expect("non-empty text")
}

fn usd(minor: i64) -> Money {
    Money {
        minor,
        currency: Currency::parse("USD").expect("a valid code"),
    }
}

fn approve() -> Command {
    Command::Approve { hold_days: None }
}

fn decline() -> Command {
    Command::Decline {
        reason: text("not a fit"),
    }
}

fn request_info() -> Command {
    Command::RequestInfo {
        question: text("who is the buyer?"),
    }
}

fn provide_info() -> Command {
    Command::ProvideInfo {
        message: text("the CFO"),
    }
}

fn log_meeting(held_at: OffsetDateTime) -> Command {
    Command::LogMeeting { held_at }
}

fn win() -> Command {
    Command::Win {
        amount: Some(usd(1_250_050)),
    }
}

fn lose() -> Command {
    Command::Lose {
        reason: Some(text("went with a competitor")),
    }
}

fn expire() -> Command {
    Command::Expire {
        reason: "the clock ran out".into(),
    }
}

fn try_apply(
    life: &Lifecycle,
    command: Command,
    now: OffsetDateTime,
) -> Result<(Lifecycle, Change), DomainError> {
    apply(life, command, &rules(), now)
}

/// Applies a command that must succeed under the default rules.
fn ok(life: &Lifecycle, command: Command, now: OffsetDateTime) -> (Lifecycle, Change) {
    let shown = format!("{command:?} on a {} registration", life.status.as_str());
    try_apply(life, command, now).unwrap_or_else(|e| panic!("{shown} failed: {e}"))
}

fn then(life: &Lifecycle, command: Command, now: OffsetDateTime) -> Lifecycle {
    ok(life, command, now).0
}

fn submitted() -> Lifecycle {
    Lifecycle::submitted(SUBMITTED)
}

/// Approved at `APPROVED` with the program's default hold.
fn approved() -> Lifecycle {
    then(&submitted(), approve(), APPROVED)
}

/// Approved, with the first meeting logged (as it happens) at `held_at`.
fn met(held_at: OffsetDateTime) -> Lifecycle {
    then(&approved(), log_meeting(held_at), held_at)
}

/// A registration brought to `status` through legal commands only, all
/// before `LATER`.
fn reach(status: Status) -> Lifecycle {
    let closing = APPROVED + days(2);
    match status {
        Status::Submitted => submitted(),
        Status::MoreInfo => then(&submitted(), request_info(), APPROVED),
        Status::Approved => approved(),
        Status::Declined => then(&submitted(), decline(), APPROVED),
        Status::Won => then(&approved(), win(), closing),
        Status::Lost => then(&approved(), lose(), closing),
        Status::Expired => then(&approved(), expire(), closing),
    }
}

fn is_closed(status: Status) -> bool {
    matches!(
        status,
        Status::Declined | Status::Won | Status::Lost | Status::Expired
    )
}

fn conflict_message(result: Result<(Lifecycle, Change), DomainError>) -> String {
    match result {
        Err(DomainError::Conflict(message)) => message,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn field_message(result: Result<(Lifecycle, Change), DomainError>, field: &str) -> String {
    match result {
        Err(DomainError::Field { field: f, message }) if f == field => message,
        other => panic!("expected an error on {field}, got {other:?}"),
    }
}

// ------------------------------------------------------------ transitions

#[test]
fn every_legal_transition_sets_exactly_its_fields() {
    let now = LATER;
    let more_info = reach(Status::MoreInfo);
    let approved = approved();
    let met = met(APPROVED + days(1));
    let rows: Vec<(&str, Lifecycle, Command, Lifecycle, Change)> = vec![
        (
            "submitted -> approved with the program's hold",
            submitted(),
            approve(),
            Lifecycle {
                status: Status::Approved,
                approved_at: Some(now),
                hold_until: Some(now + days(90)),
                meeting_due: Some(now + days(14)),
                ..submitted()
            },
            Change::Approved {
                hold_until: now + days(90),
                meeting_due: now + days(14),
                hold_days: 90,
            },
        ),
        (
            "submitted -> approved with a hold override",
            submitted(),
            Command::Approve {
                hold_days: Some(30),
            },
            Lifecycle {
                status: Status::Approved,
                approved_at: Some(now),
                hold_until: Some(now + days(30)),
                meeting_due: Some(now + days(14)),
                ..submitted()
            },
            Change::Approved {
                hold_until: now + days(30),
                meeting_due: now + days(14),
                hold_days: 30,
            },
        ),
        (
            "submitted -> declined",
            submitted(),
            decline(),
            Lifecycle {
                status: Status::Declined,
                closed_at: Some(now),
                status_reason: Some("not a fit".into()),
                ..submitted()
            },
            Change::Declined {
                reason: "not a fit".into(),
            },
        ),
        (
            "submitted -> more_info",
            submitted(),
            request_info(),
            Lifecycle {
                status: Status::MoreInfo,
                status_reason: Some("who is the buyer?".into()),
                ..submitted()
            },
            Change::InfoRequested {
                question: "who is the buyer?".into(),
            },
        ),
        (
            "more_info -> submitted clears the question",
            more_info.clone(),
            provide_info(),
            submitted(),
            Change::InfoProvided {
                message: "the CFO".into(),
            },
        ),
        (
            "more_info -> declined replaces the question with the reason",
            more_info.clone(),
            decline(),
            Lifecycle {
                status: Status::Declined,
                closed_at: Some(now),
                status_reason: Some("not a fit".into()),
                ..more_info.clone()
            },
            Change::Declined {
                reason: "not a fit".into(),
            },
        ),
        (
            "approved: a meeting is logged and the status stays",
            approved.clone(),
            log_meeting(APPROVED + days(2)),
            Lifecycle {
                first_meeting_at: Some(APPROVED + days(2)),
                ..approved.clone()
            },
            Change::MeetingLogged {
                held_at: APPROVED + days(2),
            },
        ),
        (
            "approved -> won with an amount",
            approved.clone(),
            win(),
            Lifecycle {
                status: Status::Won,
                closed_at: Some(now),
                won_amount: Some(usd(1_250_050)),
                ..approved.clone()
            },
            Change::Won {
                amount: Some("12500.50".into()),
                currency: Some("USD".into()),
            },
        ),
        (
            "approved -> won without an amount",
            approved.clone(),
            Command::Win { amount: None },
            Lifecycle {
                status: Status::Won,
                closed_at: Some(now),
                ..approved.clone()
            },
            Change::Won {
                amount: None,
                currency: None,
            },
        ),
        (
            "approved with a meeting -> won keeps the meeting",
            met.clone(),
            win(),
            Lifecycle {
                status: Status::Won,
                closed_at: Some(now),
                won_amount: Some(usd(1_250_050)),
                ..met.clone()
            },
            Change::Won {
                amount: Some("12500.50".into()),
                currency: Some("USD".into()),
            },
        ),
        (
            "approved -> lost with a reason",
            approved.clone(),
            lose(),
            Lifecycle {
                status: Status::Lost,
                closed_at: Some(now),
                status_reason: Some("went with a competitor".into()),
                ..approved.clone()
            },
            Change::Lost {
                reason: Some("went with a competitor".into()),
            },
        ),
        (
            "approved -> lost without a reason",
            approved.clone(),
            Command::Lose { reason: None },
            Lifecycle {
                status: Status::Lost,
                closed_at: Some(now),
                ..approved.clone()
            },
            Change::Lost { reason: None },
        ),
        (
            "approved -> expired",
            approved.clone(),
            expire(),
            Lifecycle {
                status: Status::Expired,
                closed_at: Some(now),
                status_reason: Some("the clock ran out".into()),
                ..approved.clone()
            },
            Change::Expired {
                reason: "the clock ran out".into(),
            },
        ),
    ];
    for (name, from, command, life, change) in rows {
        assert_eq!(try_apply(&from, command, now), Ok((life, change)), "{name}");
    }
}

#[test]
fn approval_after_an_answered_question_has_no_reason_left() {
    let answered = then(&reach(Status::MoreInfo), provide_info(), APPROVED);
    let (life, _) = ok(&answered, approve(), LATER);
    assert_eq!(life.status, Status::Approved);
    assert_eq!(life.status_reason, None);
    assert_eq!(life.submitted_at, SUBMITTED);
}

#[test]
fn a_question_can_be_asked_and_answered_again() {
    let mut life = submitted();
    for round in 0..3 {
        let now = SUBMITTED + days(round + 1);
        life = then(&life, request_info(), now);
        assert_eq!(life.status, Status::MoreInfo);
        life = then(&life, provide_info(), now + SECOND);
        assert_eq!(life, submitted(), "round {round}");
    }
}

/// Every legal (from, command) pair, written out from the diagram at the top
/// of `lifecycle.rs` rather than taken from the code under test.
const LEGAL: &[(Status, &str)] = &[
    (Status::Submitted, "approve"),
    (Status::Submitted, "decline"),
    (Status::Submitted, "request_info"),
    (Status::MoreInfo, "provide_info"),
    (Status::MoreInfo, "decline"),
    (Status::Approved, "log_meeting"),
    (Status::Approved, "win"),
    (Status::Approved, "lose"),
    (Status::Approved, "expire"),
];

/// One command of each kind: its name in `LEGAL`, the verb its error message
/// uses, and arguments that are valid at `LATER` from any `reach(..)` state.
fn one_of_each() -> Vec<(&'static str, &'static str, Command)> {
    vec![
        ("approve", "approve", approve()),
        ("decline", "decline", decline()),
        ("request_info", "request information on", request_info()),
        ("provide_info", "answer a question on", provide_info()),
        (
            "log_meeting",
            "log a meeting on",
            log_meeting(APPROVED + days(1)),
        ),
        ("win", "mark as won", win()),
        ("lose", "mark as lost", lose()),
        ("expire", "expire", expire()),
    ]
}

#[test]
fn every_status_and_command_pair_is_allowed_or_refused_by_name() {
    let mut checked = 0;
    let mut legal = 0;
    for status in Status::ALL {
        let from = reach(status);
        assert_eq!(from.status, status);
        for (name, verb, command) in one_of_each() {
            checked += 1;
            let result = try_apply(&from, command, LATER);
            if LEGAL.contains(&(status, name)) {
                legal += 1;
                assert!(result.is_ok(), "{name} from {status:?}: {result:?}");
                continue;
            }
            let allowed: Vec<&str> = LEGAL
                .iter()
                .filter(|(_, n)| *n == name)
                .map(|(s, _)| s.as_str())
                .collect();
            assert_eq!(
                conflict_message(result),
                format!(
                    "cannot {verb} a registration that is {}; only a registration that is {} can be",
                    status.as_str(),
                    allowed.join(" or ")
                ),
                "{name} from {status:?}"
            );
        }
    }
    assert_eq!(checked, Status::ALL.len() * 8);
    assert_eq!(legal, LEGAL.len());
}

#[test]
fn the_refusal_names_both_statuses_a_decline_may_start_from() {
    let message = conflict_message(try_apply(&reach(Status::Won), decline(), LATER));
    assert!(message.contains("that is won"), "{message}");
    assert!(message.contains("submitted or more_info"), "{message}");
}

#[test]
fn closed_registrations_refuse_every_command() {
    for status in Status::ALL.into_iter().filter(|s| is_closed(*s)) {
        let from = reach(status);
        for (name, _, command) in one_of_each() {
            let message = conflict_message(try_apply(&from, command, LATER));
            assert!(
                message.contains(&format!("that is {}", status.as_str())),
                "{name} from {status:?}: {message}"
            );
        }
    }
}

// ------------------------------------------------------------------ holds

#[test]
fn hold_days_must_lie_between_the_meeting_sla_and_the_maximum() {
    let default = rules;
    let long_sla = || rules_with(30, 60);
    // (rules, override, Some(granted hold) or None when refused)
    let rows: Vec<(RegistrationRules, Option<u32>, Option<u32>)> = vec![
        (default(), None, Some(90)),
        (default(), Some(0), None),
        (default(), Some(1), None),
        (default(), Some(13), None),
        (default(), Some(14), Some(14)),
        (default(), Some(15), Some(15)),
        (default(), Some(365), Some(365)),
        (default(), Some(729), Some(729)),
        (default(), Some(MAX_HOLD_DAYS), Some(MAX_HOLD_DAYS)),
        (default(), Some(MAX_HOLD_DAYS + 1), None),
        (default(), Some(u32::MAX), None),
        (long_sla(), None, Some(60)),
        (long_sla(), Some(14), None),
        (long_sla(), Some(29), None),
        (long_sla(), Some(30), Some(30)),
        (rules_with(14, 10), None, None),
        (rules_with(14, 800), None, None),
    ];
    for (rules, hold_days, granted) in rows {
        let case = format!("sla {} override {hold_days:?}", rules.meeting_sla_days);
        let result = apply(&submitted(), Command::Approve { hold_days }, &rules, LATER);
        match granted {
            Some(days_granted) => {
                let (life, change) = result.unwrap_or_else(|e| panic!("{case}: {e}"));
                let hold_until = LATER + days(days_granted);
                let meeting_due = LATER + days(rules.meeting_sla_days);
                assert_eq!(life.hold_until, Some(hold_until), "{case}");
                assert_eq!(life.meeting_due, Some(meeting_due), "{case}");
                assert_eq!(
                    change,
                    Change::Approved {
                        hold_until,
                        meeting_due,
                        hold_days: days_granted,
                    },
                    "{case}"
                );
            }
            None => {
                let asked = hold_days.unwrap_or(rules.hold_days);
                assert_eq!(
                    field_message(result, "hold_days"),
                    format!(
                        "must be between {} (the meeting SLA) and 730 days (found {asked})",
                        rules.meeting_sla_days
                    ),
                    "{case}"
                );
            }
        }
    }
}

#[test]
fn a_hold_as_long_as_the_meeting_sla_ends_with_it() {
    let (life, _) = ok(
        &submitted(),
        Command::Approve {
            hold_days: Some(14),
        },
        APPROVED,
    );
    assert_eq!(life.meeting_due, Some(MEETING_DUE));
    assert_eq!(life.hold_until, Some(MEETING_DUE));
    assert_eq!(expires_at(&life), Some(MEETING_DUE));
}

// --------------------------------------------------------------- meetings

#[test]
fn a_meeting_may_be_logged_from_submission_up_to_and_including_meeting_due() {
    // (held_at, now)
    let rows = [
        (SUBMITTED, APPROVED),
        (APPROVED - SECOND, APPROVED),
        (APPROVED, APPROVED),
        (APPROVED + days(3), APPROVED + days(3)),
        (APPROVED + days(3), APPROVED + days(40)),
        (MEETING_DUE - SECOND, MEETING_DUE),
        (MEETING_DUE, MEETING_DUE),
        (MEETING_DUE, MEETING_DUE + days(5)),
    ];
    for (held_at, now) in rows {
        let (life, change) = ok(&approved(), log_meeting(held_at), now);
        assert_eq!(
            life,
            Lifecycle {
                first_meeting_at: Some(held_at),
                ..approved()
            },
            "held {held_at} at {now}"
        );
        assert_eq!(change, Change::MeetingLogged { held_at });
    }
}

#[test]
fn a_meeting_in_the_future_is_refused() {
    for (held_at, now) in [
        (APPROVED + SECOND, APPROVED),
        (APPROVED + days(2), APPROVED + days(1)),
        (MEETING_DUE, MEETING_DUE - SECOND),
    ] {
        let message = field_message(try_apply(&approved(), log_meeting(held_at), now), "held_at");
        assert_eq!(message, "must not be in the future");
    }
}

#[test]
fn a_meeting_before_the_submission_is_refused_naming_its_day() {
    for held_at in [SUBMITTED - SECOND, SUBMITTED - days(30)] {
        let message = field_message(
            try_apply(&approved(), log_meeting(held_at), APPROVED),
            "held_at",
        );
        assert!(message.contains("before the registration was submitted"));
        assert!(message.contains("2026-03-02"), "{message}");
    }
}

#[test]
fn a_meeting_after_meeting_due_is_a_conflict_naming_the_deadline() {
    for (held_at, now) in [
        (MEETING_DUE + SECOND, MEETING_DUE + SECOND),
        (MEETING_DUE + days(1), MEETING_DUE + days(2)),
        (HOLD_UNTIL - SECOND, HOLD_UNTIL),
    ] {
        let message = conflict_message(try_apply(&approved(), log_meeting(held_at), now));
        assert!(message.contains("after the first-meeting deadline"));
        assert!(message.contains("2026-03-17"), "{message}");
    }
}

#[test]
fn a_second_meeting_is_a_conflict_naming_the_first() {
    let first = APPROVED + days(2);
    let life = met(first);
    for held_at in [first, first + days(1), APPROVED] {
        let message = conflict_message(try_apply(&life, log_meeting(held_at), first + days(3)));
        assert_eq!(
            message,
            "the first meeting was already logged, held on 2026-03-05"
        );
    }
}

// -------------------------------------------------------------- deadlines

#[test]
fn the_day_helper_matches_the_dates_these_tests_spell_out() {
    assert_eq!(day(SUBMITTED), "2026-03-02");
    assert_eq!(day(MEETING_DUE), "2026-03-17");
    assert_eq!(day(HOLD_UNTIL), "2026-06-01");
    let life = approved();
    assert_eq!(life.meeting_due, Some(MEETING_DUE));
    assert_eq!(life.hold_until, Some(HOLD_UNTIL));
}

#[test]
fn without_a_meeting_the_registration_expires_just_after_meeting_due() {
    let life = approved();
    let meeting_reason = Some("no first meeting was logged by 2026-03-17".to_string());
    let rows = [
        (APPROVED, None),
        (MEETING_DUE - SECOND, None),
        (MEETING_DUE, None),
        (MEETING_DUE + Duration::MICROSECOND, meeting_reason.clone()),
        (MEETING_DUE + SECOND, meeting_reason.clone()),
        // Past both deadlines the missed meeting is the reason given.
        (HOLD_UNTIL + days(1), meeting_reason.clone()),
    ];
    for (now, reason) in rows {
        assert_eq!(due_expiry(&life, now), reason, "at {now}");
    }
}

#[test]
fn with_a_meeting_in_time_the_registration_expires_just_after_its_hold() {
    let life = met(MEETING_DUE);
    let hold_reason = Some(
        "the registration was not closed by the end of its hold window on 2026-06-01".to_string(),
    );
    let rows = [
        (MEETING_DUE + days(1), None),
        (HOLD_UNTIL - SECOND, None),
        (HOLD_UNTIL, None),
        (HOLD_UNTIL + Duration::MICROSECOND, hold_reason.clone()),
        (HOLD_UNTIL + days(400), hold_reason.clone()),
    ];
    for (now, reason) in rows {
        assert_eq!(due_expiry(&life, now), reason, "at {now}");
    }
}

#[test]
fn only_approved_registrations_expire() {
    let far_future = HOLD_UNTIL + days(3650);
    for status in Status::ALL {
        let life = reach(status);
        let expected = (status == Status::Approved).then_some(MEETING_DUE);
        assert_eq!(expires_at(&life), expected, "{status:?}");
        assert_eq!(
            due_expiry(&life, far_future).is_some(),
            status == Status::Approved,
            "{status:?}"
        );
        // Closed registrations keep their old deadlines but never expire.
        let stale = Lifecycle {
            meeting_due: Some(SUBMITTED),
            hold_until: Some(SUBMITTED),
            ..life
        };
        if status != Status::Approved {
            assert_eq!(due_expiry(&stale, far_future), None, "{status:?}");
            assert_eq!(expires_at(&stale), None, "{status:?}");
        }
    }
}

#[test]
fn expires_at_is_the_earlier_of_the_live_deadlines() {
    let early = APPROVED + days(10);
    let late = APPROVED + days(20);
    let approved_with = |meeting_due, hold_until, first_meeting_at| Lifecycle {
        meeting_due,
        hold_until,
        first_meeting_at,
        ..approved()
    };
    let met_at = Some(APPROVED + days(1));
    let rows = [
        // (meeting_due, hold_until, first_meeting_at, expected)
        (Some(early), Some(late), None, Some(early)),
        (Some(late), Some(early), None, Some(early)),
        (Some(early), Some(early), None, Some(early)),
        (Some(early), Some(late), met_at, Some(late)),
        (Some(late), Some(early), met_at, Some(early)),
        (Some(early), None, None, Some(early)),
        (Some(early), None, met_at, None),
        (None, Some(late), None, Some(late)),
        (None, Some(late), met_at, Some(late)),
        (None, None, None, None),
    ];
    for (meeting_due, hold_until, first_meeting_at, expected) in rows {
        let life = approved_with(meeting_due, hold_until, first_meeting_at);
        assert_eq!(expires_at(&life), expected, "{life:?}");
    }
    assert_eq!(expires_at(&approved()), Some(MEETING_DUE));
    assert_eq!(expires_at(&met(APPROVED)), Some(HOLD_UNTIL));
}

#[test]
fn the_sweep_expires_with_the_reason_due_expiry_gives() {
    let now = MEETING_DUE + days(1);
    let reason = due_expiry(&approved(), now).expect("overdue");
    let (life, change) = ok(
        &approved(),
        Command::Expire {
            reason: reason.clone(),
        },
        now,
    );
    assert_eq!(life.status, Status::Expired);
    assert_eq!(life.closed_at, Some(now));
    assert_eq!(life.status_reason.as_deref(), Some(reason.as_str()));
    assert_eq!(change, Change::Expired { reason });
    assert_eq!(due_expiry(&life, now + days(1000)), None);
}

// ------------------------------------------------------------- properties

/// What a random run asks of the registration; arguments that depend on the
/// current state or time are resolved when the step runs.
#[derive(Debug, Clone)]
enum Step {
    Approve(Option<u32>),
    Decline,
    RequestInfo,
    ProvideInfo,
    /// Held this many seconds before now (negative: in the future).
    LogMeeting(i64),
    Win(Option<i64>),
    Lose(bool),
    /// Expire for no reason the clock would give.
    Expire,
    /// Expire only if `due_expiry` says so, as the sweep does.
    Sweep,
}

impl Step {
    fn command(&self, life: &Lifecycle, now: OffsetDateTime) -> Option<Command> {
        Some(match self {
            Step::Approve(hold_days) => Command::Approve {
                hold_days: *hold_days,
            },
            Step::Decline => decline(),
            Step::RequestInfo => request_info(),
            Step::ProvideInfo => provide_info(),
            Step::LogMeeting(ago) => log_meeting(now - Duration::seconds(*ago)),
            Step::Win(amount) => Command::Win {
                amount: amount.map(usd),
            },
            Step::Lose(with_reason) => Command::Lose {
                reason: with_reason.then(|| text("lost")),
            },
            Step::Expire => expire(),
            Step::Sweep => Command::Expire {
                reason: due_expiry(life, now)?,
            },
        })
    }
}

const DAY_SECS: i64 = 86_400;

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => proptest::option::weighted(0.7, 0u32..=800).prop_map(Step::Approve),
        1 => Just(Step::Decline),
        1 => Just(Step::RequestInfo),
        1 => Just(Step::ProvideInfo),
        3 => (-DAY_SECS..=60 * DAY_SECS).prop_map(Step::LogMeeting),
        1 => proptest::option::of(0i64..=1_000_000_000).prop_map(Step::Win),
        1 => any::<bool>().prop_map(Step::Lose),
        1 => Just(Step::Expire),
        2 => Just(Step::Sweep),
    ]
}

/// Programs as `Program::parse` accepts them: the hold covers the meeting SLA.
fn any_rules() -> impl Strategy<Value = RegistrationRules> {
    (1u32..=365)
        .prop_flat_map(|sla| (Just(sla), sla..=MAX_HOLD_DAYS))
        .prop_map(|(sla, hold)| rules_with(sla, hold))
}

/// A moment between 2000 and 2050.
fn any_time() -> impl Strategy<Value = OffsetDateTime> {
    (0i64..=50 * 365 * DAY_SECS)
        .prop_map(|secs| datetime!(2000-01-01 00:00 UTC) + Duration::seconds(secs))
}

fn any_status() -> impl Strategy<Value = Status> {
    proptest::sample::select(Status::ALL.to_vec())
}

/// Any lifecycle at all, consistent or not, with times around `base`.
fn any_lifecycle() -> impl Strategy<Value = Lifecycle> {
    let offset =
        || proptest::option::of((-400 * DAY_SECS..=400 * DAY_SECS).prop_map(Duration::seconds));
    (
        any_status(),
        any_time(),
        offset(),
        offset(),
        offset(),
        offset(),
        offset(),
        proptest::option::of("[a-z ]{1,20}"),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(
            |(status, base, approved, hold, due, meeting, closed, reason, amount)| Lifecycle {
                status,
                submitted_at: base,
                approved_at: approved.map(|d| base + d),
                hold_until: hold.map(|d| base + d),
                meeting_due: due.map(|d| base + d),
                first_meeting_at: meeting.map(|d| base + d),
                closed_at: closed.map(|d| base + d),
                status_reason: reason,
                won_amount: amount.map(usd),
            },
        )
}

/// What every reachable state satisfies.
fn check_state(life: &Lifecycle) -> Result<(), TestCaseError> {
    prop_assert_eq!(life.closed_at.is_some(), is_closed(life.status));
    if life.status == Status::Approved {
        prop_assert!(life.approved_at.is_some());
    }
    if let Some(approved_at) = life.approved_at {
        let (Some(due), Some(until)) = (life.meeting_due, life.hold_until) else {
            return Err(TestCaseError::fail(format!(
                "approved without deadlines: {life:?}"
            )));
        };
        prop_assert!(life.submitted_at <= approved_at);
        prop_assert!(approved_at <= due, "{:?}", life);
        prop_assert!(due <= until, "{:?}", life);
    }
    if let Some(first) = life.first_meeting_at {
        prop_assert!(life.submitted_at <= first);
        prop_assert!(
            life.meeting_due.is_some_and(|due| first <= due),
            "{:?}",
            life
        );
    }
    Ok(())
}

/// What every successful step preserves.
fn check_step(before: &Lifecycle, after: &Lifecycle) -> Result<(), TestCaseError> {
    prop_assert!(!is_closed(before.status), "{:?} changed", before.status);
    prop_assert_eq!(after.submitted_at, before.submitted_at);
    if before.approved_at.is_some() {
        prop_assert_eq!(after.approved_at, before.approved_at);
        prop_assert_eq!(after.meeting_due, before.meeting_due);
        prop_assert_eq!(after.hold_until, before.hold_until);
    }
    if before.first_meeting_at.is_some() {
        prop_assert_eq!(after.first_meeting_at, before.first_meeting_at);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn command_sequences_keep_the_invariants(
        rules in any_rules(),
        start in any_time(),
        steps in proptest::collection::vec((0..=40 * DAY_SECS, any_step()), 0..32),
    ) {
        let mut now = start;
        let mut life = Lifecycle::submitted(now);
        for (gap, step) in steps {
            now += Duration::seconds(gap);
            let Some(command) = step.command(&life, now) else {
                continue;
            };
            let result = apply(&life, command, &rules, now);
            if is_closed(life.status) {
                prop_assert!(
                    matches!(result, Err(DomainError::Conflict(_))),
                    "a {:?} registration accepted {:?}: {:?}", life.status, step, result
                );
            }
            if let Ok((next, _)) = result {
                check_step(&life, &next)?;
                life = next;
            }
            check_state(&life)?;
        }
    }

    #[test]
    fn apply_never_panics_on_any_state(
        life in any_lifecycle(),
        step in any_step(),
        rules in any_rules(),
        ago in -DAY_SECS..=DAY_SECS,
    ) {
        let now = life.submitted_at + Duration::seconds(ago);
        if let Some(command) = step.command(&life, now) {
            let allowed = LEGAL.iter().any(|(status, _)| *status == life.status);
            let result = apply(&life, command, &rules, now);
            if !allowed {
                prop_assert!(matches!(result, Err(DomainError::Conflict(_))));
            }
        }
    }

    #[test]
    fn due_expiry_fires_exactly_after_expires_at(
        life in any_lifecycle(),
        delta in -2 * DAY_SECS..=2 * DAY_SECS,
    ) {
        let anchor = expires_at(&life).unwrap_or(life.submitted_at);
        for now in [anchor + Duration::seconds(delta), anchor, anchor + Duration::MICROSECOND] {
            let deadline = expires_at(&life);
            prop_assert_eq!(
                due_expiry(&life, now).is_some(),
                deadline.is_some_and(|at| now > at),
                "{:?} at {}", life, now
            );
        }
    }
}
