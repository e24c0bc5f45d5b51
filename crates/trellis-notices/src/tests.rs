//! Every kind renders in every form, escapes what partners typed, and
//! keeps its HTML self-contained.

use super::*;
use time::macros::date;
use trellis_domain::ids::RegistrationId;

fn case(company: &str) -> Case {
    Case {
        number: CaseNumber(RegistrationId(7)),
        company: company.into(),
    }
}

/// One notice of each kind, about `company`.
fn every_kind(company: &str) -> Vec<Notice> {
    let case = || case(company);
    vec![
        Notice::Received(Received {
            case: case(),
            response_sla_hours: 48,
            in_conflict: true,
            portal_link: "https://partners.example.com/portal/registrations/REG-000007".into(),
        }),
        Notice::Incomplete(Incomplete {
            problems: vec!["company_domain: missing".into()],
        }),
        Notice::Refused(Refused {
            reason: "consent is missing".into(),
        }),
        Notice::UnknownSender(UnknownSender {
            sender: "eve@gmail.com".into(),
            program: "Acme partner program".into(),
        }),
        Notice::Approved(Approved {
            case: case(),
            hold_days: 90,
            hold_until: date!(2026 - 04 - 05),
            meeting_due: date!(2026 - 01 - 19),
        }),
        Notice::Declined(Declined {
            case: case(),
            reason: "Already a direct customer".into(),
        }),
        Notice::InfoRequested(InfoRequested {
            case: case(),
            question: "Which product line?".into(),
        }),
        Notice::Expired(Expired {
            case: case(),
            reason: "no first meeting by 2026-01-19".into(),
        }),
        Notice::Escalation(Escalation {
            case: case(),
            partner: "Northwind".into(),
            sla_hours: 48,
            submitted: date!(2026 - 01 - 05),
        }),
        Notice::MeetingReminder(MeetingReminder {
            case: case(),
            meeting_due: date!(2026 - 01 - 19),
        }),
        Notice::WeeklySummary(WeeklySummary {
            partner: "Northwind".into(),
            period: "2026-W02".into(),
            rows: vec![SummaryRow {
                case: case(),
                standing: Standing::Approved {
                    held_days: 80,
                    meeting_in_days: Some(4),
                },
            }],
        }),
        Notice::ReviewDue(ReviewDue {
            quarter: "2025-Q4".into(),
        }),
        Notice::ConflictOpened(ConflictOpened {
            case: case(),
            policy: ConflictPolicy::FirstMeeting,
        }),
        Notice::Won(Won {
            case: case(),
            amount: Some("12500.00 EUR".into()),
        }),
        Notice::Lost(Lost {
            case: case(),
            reason: None,
        }),
    ]
}

#[test]
fn every_kind_gives_the_next_step_in_text_html_and_slack() {
    for notice in every_kind("Acme Inc.") {
        let mail = notice.mail("Acme partner program");
        let kind = notice.kind();
        assert!(mail.text.contains("Next step: "), "{kind}: {}", mail.text);
        assert!(mail.text.ends_with("-- \nAcme partner program\n"), "{kind}");
        assert!(
            mail.html.contains("<strong>Next step:</strong>"),
            "{kind}: {}",
            mail.html
        );
        assert!(mail.html.contains(&mail.subject), "{kind}");
        if let Some(case) = notice.case() {
            let number = case.number.to_string();
            for (form, text) in [
                ("subject", &mail.subject),
                ("text", &mail.text),
                ("html", &mail.html),
            ] {
                assert!(text.contains(&number), "{kind} {form}: {text}");
            }
        }
        let slack = notice.slack("Acme partner program");
        let types: Vec<_> = slack["blocks"]
            .as_array()
            .expect("blocks")
            .iter()
            .map(|b| b["type"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(types, ["header", "section", "context"], "{kind}");
        assert_eq!(slack["text"], mail.subject, "{kind}: the fallback");
        assert!(slack["blocks"][1]["text"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Next step: ")));
    }
}

#[test]
fn what_partners_typed_is_escaped_in_html_and_inert_in_slack() {
    let company = "<script>alert(1)</script> & <!channel>";
    for notice in every_kind(company) {
        let html = notice.mail("P").html;
        assert!(!html.contains("<script>"), "{}: {html}", notice.kind());
        let slack = notice.slack("P");
        assert!(!slack["text"]
            .as_str()
            .unwrap_or_default()
            .contains("<!channel>"));
        assert!(slack.to_string().contains("\"plain_text\""));
    }
}

#[test]
fn html_is_self_contained_and_inline_styled() {
    for notice in every_kind("Acme Inc.") {
        let html = notice.mail("P").html;
        for banned in ["<script", "<link", "<img", "<style", "src=", "class="] {
            assert!(!html.contains(banned), "{} has {banned}", notice.kind());
        }
        assert!(html.starts_with("<!DOCTYPE html>"));
    }
}

#[test]
fn the_texts_read_as_before() {
    let all = every_kind("Acme Inc.");
    let text = |kind: &str| {
        all.iter()
            .find(|n| n.kind() == kind)
            .map(Notice::text)
            .expect("kind")
    };
    assert!(text("approved").contains("log the first meeting by 2026-01-19"));
    assert!(text("declined").contains("Reason: Already a direct customer"));
    assert!(text("weekly_summary").contains(
        "- REG-000007 Acme Inc.: approved; log the first meeting within 4 days to keep the protection (80 days left)"
    ));
    assert!(text("won").contains("closed won, 12500.00 EUR."));
    assert!(text("lost").contains("closed lost."));
    assert!(text("intake_reply").contains("Another partner has registered this account too"));
    assert!(text("intake_reply")
        .contains("partner portal (we mail you a sign-in link, no password): https://partners.example.com/portal/registrations/REG-000007"));
}

#[test]
fn a_conflict_notice_explains_the_rule_in_plain_words() {
    let notice = |policy| {
        Notice::ConflictOpened(ConflictOpened {
            case: case("Acme Inc."),
            policy,
        })
        .text()
    };
    assert!(notice(ConflictPolicy::FirstMeeting).contains("log it as soon as it is held"));
    assert!(notice(ConflictPolicy::FirstRegistered).contains("submitted first"));
    assert!(notice(ConflictPolicy::SplitBySegment).contains("Next step: nothing for now"));
}
