//! Timed work with the test clock, on every backend: a registration past
//! its response SLA is escalated once, a partner is reminded once of a
//! first meeting coming due, and a message that cannot be sent is retried
//! with backoff until it goes out or becomes a dead letter.

use reqwest::StatusCode;
use serde_json::json;
use time::Duration;
use trellis_domain::program::Program;
use trellis_server::mail::Mailer;
use trellis_server::sweep::run_once;
use trellis_testkit::{backends, event_kinds, TestApp, ADMIN_TOKEN as ADMIN};

const PROGRAM: &str = "[notify]\nescalation_email = \"partners@vendor.com\"\n";

fn program() -> Program {
    Program::parse(PROGRAM).expect("program").program
}

async fn kinds(app: &TestApp, id: i64) -> Vec<String> {
    let (_, events) = app
        .get(&format!("/api/v1/registrations/{id}/events"), ADMIN)
        .await;
    event_kinds(&events)
}

/// A reseller with one person, who receives its messages.
async fn partner_with_user(app: &TestApp, name: &str, email: &str) -> i64 {
    let partner = app.partner(name, "reseller").await;
    let user = json!({"name": "Someone", "email": email});
    let path = format!("/api/v1/partners/{partner}/users");
    assert_eq!(app.post(&path, ADMIN, user).await.0, StatusCode::CREATED);
    partner
}

/// Runs and publishes a review, so no reminder that it is due goes out.
async fn publish_review(app: &TestApp, quarter: &str) {
    let (status, review) = app
        .post("/api/v1/reviews", ADMIN, json!({"quarter": quarter}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{review}");
    let path = format!("/api/v1/reviews/{}/publish", review["id"]);
    assert_eq!(app.post(&path, ADMIN, json!({})).await.0, StatusCode::OK);
}

/// The mails sent to `to` whose text contains `about`.
fn mails(app: &TestApp, to: &str, about: &str) -> Vec<String> {
    let to = format!("To: {to}");
    app.sent_mail()
        .into_iter()
        .filter(|m| m.contains(&to) && m.contains(about))
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

#[tokio::test]
async fn a_registration_past_its_tier_response_sla_is_escalated_once() {
    for db in backends() {
        let app = TestApp::spawn_with(db, program()).await;
        let registered_tier = app.partner("Northwind", "reseller").await;
        let body = json!({"name": "Contoso", "kind": "reseller", "tier": "elite"});
        let (_, elite) = app.post("/api/v1/partners", ADMIN, body).await;
        let slow = app.register(registered_tier, "Acme Inc.", "acme.com").await;
        let fast = app
            .register(elite["id"].as_i64().expect("id"), "Globex", "globex.com")
            .await;

        app.advance(Duration::hours(25));
        run_once(&app.state).await;
        assert_eq!(
            count(&kinds(&app, fast).await, "response_sla_breached"),
            1,
            "{db:?}: elite answers in 24 hours"
        );
        assert_eq!(count(&kinds(&app, slow).await, "response_sla_breached"), 0);

        app.advance(Duration::hours(24));
        run_once(&app.state).await;
        run_once(&app.state).await;
        assert_eq!(
            count(&kinds(&app, slow).await, "response_sla_breached"),
            1,
            "{db:?}"
        );
        let sent: Vec<_> = app
            .sent_mail()
            .into_iter()
            .filter(|m| m.contains("To: partners@vendor.com") && m.contains("response time"))
            .collect();
        assert_eq!(sent.len(), 2, "{db:?}: one escalation each: {sent:?}");
        assert!(
            sent.iter()
                .any(|m| m.contains("REG-000001") && m.contains("48-hour")),
            "{sent:?}"
        );
    }
}

/// More registrations waiting under the slow SLA than one sweep looks at
/// must not hold back a breach under a fast one.
#[tokio::test]
async fn a_backlog_under_a_slow_sla_never_holds_back_a_fast_tiers_escalation() {
    for db in backends() {
        let app = TestApp::spawn_with(db, program()).await;
        let registered_tier = app.partner("Northwind", "reseller").await;
        for i in 0..210 {
            app.register(
                registered_tier,
                &format!("Company {i}"),
                &format!("company{i}.com"),
            )
            .await;
        }
        app.advance(Duration::hours(1));
        let body = json!({"name": "Contoso", "kind": "reseller", "tier": "elite"});
        let (_, elite) = app.post("/api/v1/partners", ADMIN, body).await;
        let fast = app
            .register(elite["id"].as_i64().expect("id"), "Globex", "globex.com")
            .await;
        app.advance(Duration::hours(25));
        run_once(&app.state).await;
        assert_eq!(
            count(&kinds(&app, fast).await, "response_sla_breached"),
            1,
            "{db:?}: escalated on time behind 210 older, slower ones"
        );
    }
}

#[tokio::test]
async fn a_partner_is_reminded_once_before_its_first_meeting_is_due() {
    for db in backends() {
        let app = TestApp::spawn_with(db, program()).await;
        let partner = partner_with_user(&app, "Northwind", "bob@northwind.com").await;
        let id = app.register(partner, "Acme Inc.", "acme.com").await;
        let met = app.register(partner, "Globex", "globex.com").await;
        for reg in [id, met] {
            let path = format!("/api/v1/registrations/{reg}/decision");
            let (status, _) = app.post(&path, ADMIN, json!({"decision": "approve"})).await;
            assert_eq!(status, StatusCode::OK);
        }
        let held = (app.clock.now() + Duration::days(1))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("time");
        app.advance(Duration::days(2));
        let (status, _) = app
            .post(
                &format!("/api/v1/registrations/{met}/meetings"),
                ADMIN,
                json!({"held_at": held}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        app.advance(Duration::days(8));
        run_once(&app.state).await;
        assert_eq!(
            count(&kinds(&app, id).await, "meeting_reminded"),
            0,
            "{db:?}: four days before is too early"
        );
        app.advance(Duration::days(2));
        run_once(&app.state).await;
        run_once(&app.state).await;
        assert_eq!(
            count(&kinds(&app, id).await, "meeting_reminded"),
            1,
            "{db:?}"
        );
        assert_eq!(
            count(&kinds(&app, met).await, "meeting_reminded"),
            0,
            "a meeting was logged"
        );
        let reminders: Vec<_> = app
            .sent_mail()
            .into_iter()
            .filter(|m| m.contains("To: bob@northwind.com") && m.contains("log your first meeting"))
            .collect();
        assert_eq!(reminders.len(), 1, "{reminders:?}");
        assert!(
            reminders[0].contains("REG-000001") && !reminders[0].contains("REG-000002"),
            "{reminders:?}"
        );
    }
}

#[tokio::test]
async fn a_message_that_cannot_be_sent_is_retried_with_backoff_then_kept_as_a_dead_letter() {
    for db in backends() {
        let folder = tempfile::tempdir().expect("dir");
        // A file where the outbox folder should be: every send fails until
        // the folder replaces it.
        let later = folder.path().join("outbox");
        std::fs::write(&later, "in the way").expect("blocker");
        let mailer = Mailer::outbox(later.clone());
        let app = TestApp::spawn_tuned(db, program(), |state| state.mailer = mailer).await;
        let partner = app.partner("Northwind", "reseller").await;
        app.register(partner, "Acme Inc.", "acme.com").await;
        publish_review(&app, "2025-Q4").await;
        app.advance(Duration::hours(49));
        run_once(&app.state).await;
        let queued = app
            .store
            .notifications_to("partners@vendor.com")
            .await
            .expect("queued");
        assert_eq!(
            (queued[0].status.as_str(), queued[0].attempts),
            ("pending", 1),
            "{db:?}"
        );
        assert!(queued[0].last_error.is_some());

        std::fs::remove_file(&later).expect("blocker goes");
        std::fs::create_dir(&later).expect("outbox appears");
        run_once(&app.state).await;
        assert_eq!(
            std::fs::read_dir(&later).expect("dir").count(),
            0,
            "not before its backoff"
        );
        app.advance(Duration::minutes(2));
        run_once(&app.state).await;
        assert_eq!(
            std::fs::read_dir(&later).expect("dir").count(),
            1,
            "{db:?}: delivered once"
        );
        let sent = app
            .store
            .notifications_to("partners@vendor.com")
            .await
            .expect("sent");
        assert_eq!(sent[0].status, "sent");

        std::fs::remove_dir_all(&later).expect("outbox goes");
        std::fs::write(&later, "in the way").expect("blocker");
        let other = app.register(partner, "Globex", "globex.com").await;
        app.advance(Duration::hours(49));
        for _ in 0..8 {
            run_once(&app.state).await;
            app.advance(Duration::hours(6));
        }
        let notes = app
            .store
            .notifications_to("partners@vendor.com")
            .await
            .expect("notes");
        let (_, dead) = app.get("/api/v1/events/dead-letter", ADMIN).await;
        assert_eq!(dead.as_array().map(Vec::len), Some(1), "{db:?}: {notes:?}");
        assert_eq!(dead[0]["attempts"], 8);
        assert_eq!(dead[0]["consumer"], "email");
        assert!(dead[0]["about"]
            .as_str()
            .expect("about")
            .contains(&format!("REG-{other:06}")));
        assert!(dead[0]["error"].is_string(), "{dead}");
        let id = dead[0]["id"].as_str().expect("an id");
        let retry = format!("/api/v1/events/{id}/retry");
        assert_eq!(
            app.post(&retry, ADMIN, json!({})).await.0,
            StatusCode::ACCEPTED
        );
        assert_eq!(
            app.post(&retry, ADMIN, json!({})).await.0,
            StatusCode::NOT_FOUND,
            "no longer dead"
        );
        std::fs::remove_file(&later).expect("blocker goes");
        std::fs::create_dir(&later).expect("outbox back");
        run_once(&app.state).await;
        assert_eq!(
            std::fs::read_dir(&later).expect("dir").count(),
            1,
            "the dead letter went out on retry"
        );
    }
}

#[tokio::test]
async fn each_partner_gets_one_summary_a_week_of_its_own_open_registrations() {
    for db in backends() {
        let app = TestApp::spawn_with(db, program()).await;
        let partner = partner_with_user(&app, "Northwind", "bob@northwind.com").await;
        let other = partner_with_user(&app, "Contoso", "eve@contoso.com").await;
        let approved = app.register(partner, "Acme Inc.", "acme.com").await;
        app.register(partner, "Globex", "globex.com").await;
        app.register(other, "Initech", "initech.com").await;
        let path = format!("/api/v1/registrations/{approved}/decision");
        assert_eq!(
            app.post(&path, ADMIN, json!({"decision": "approve"}))
                .await
                .0,
            StatusCode::OK
        );

        run_once(&app.state).await;
        run_once(&app.state).await;
        let summaries = mails(&app, "bob@northwind.com", "Open registrations of Northwind");
        assert_eq!(summaries.len(), 1, "{db:?}: once a week: {summaries:?}");
        let summary = &summaries[0];
        assert!(
            summary
                .contains("REG-000001 Acme Inc.: approved; log the first meeting within 14 days"),
            "{summary}"
        );
        assert!(
            summary.contains("REG-000002 Globex: waiting for the partner team's decision"),
            "{summary}"
        );
        assert!(
            !summary.contains("Initech"),
            "another partner's registration: {summary}"
        );
        assert_eq!(mails(&app, "eve@contoso.com", "Initech").len(), 1);

        app.advance(Duration::days(7));
        run_once(&app.state).await;
        assert_eq!(
            mails(&app, "bob@northwind.com", "Open registrations of Northwind").len(),
            2,
            "{db:?}"
        );
    }
}

#[tokio::test]
async fn the_partner_team_is_reminded_once_a_quarter_that_its_review_is_due() {
    for db in backends() {
        let app = TestApp::spawn_with(db, program()).await;
        run_once(&app.state).await;
        run_once(&app.state).await;
        let due = mails(
            &app,
            "partners@vendor.com",
            "The 2025-Q4 partner review is due",
        );
        assert_eq!(due.len(), 1, "{db:?}: {due:?}");

        publish_review(&app, "2025-Q4").await;
        app.advance(Duration::days(90));
        run_once(&app.state).await;
        assert_eq!(
            mails(
                &app,
                "partners@vendor.com",
                "The 2026-Q1 partner review is due"
            )
            .len(),
            1
        );
        publish_review(&app, "2026-Q1").await;
        app.advance(Duration::days(1));
        run_once(&app.state).await;
        assert_eq!(
            mails(&app, "partners@vendor.com", "partner review is due").len(),
            2,
            "{db:?}"
        );
    }
}

#[tokio::test]
async fn partners_hear_of_each_decision_on_their_own_registrations() {
    for db in backends() {
        let app = TestApp::spawn_with(db, program()).await;
        let partner = partner_with_user(&app, "Northwind", "bob@northwind.com").await;
        partner_with_user(&app, "Contoso", "eve@contoso.com").await;
        let approved = app.register(partner, "Acme Inc.", "acme.com").await;
        let declined = app.register(partner, "Globex", "globex.com").await;
        let asked = app.register(partner, "Initech", "initech.com").await;
        let decisions = [
            (approved, json!({"decision": "approve"})),
            (
                declined,
                json!({"decision": "decline", "reason": "Already a direct customer"}),
            ),
            (
                asked,
                json!({"decision": "request_info", "reason": "Which product line?"}),
            ),
        ];
        for (id, decision) in decisions {
            let path = format!("/api/v1/registrations/{id}/decision");
            assert_eq!(app.post(&path, ADMIN, decision).await.0, StatusCode::OK);
        }
        run_once(&app.state).await;
        let approval = mails(
            &app,
            "bob@northwind.com",
            "Subject: REG-000001 Acme Inc.: approved",
        );
        assert_eq!(approval.len(), 1, "{db:?}");
        assert!(
            approval[0].contains("log the first meeting by 2026-01-19"),
            "{approval:?}"
        );
        let decline = mails(
            &app,
            "bob@northwind.com",
            "Subject: REG-000002 Globex: declined",
        );
        assert!(
            decline.len() == 1 && decline[0].contains("Already a direct customer"),
            "{decline:?}"
        );
        let question = mails(
            &app,
            "bob@northwind.com",
            "Subject: REG-000003 Initech: more information needed",
        );
        assert!(
            question.len() == 1 && question[0].contains("Which product line?"),
            "{question:?}"
        );
        assert!(
            mails(&app, "eve@contoso.com", "REG-").is_empty(),
            "another partner hears nothing"
        );

        // No first meeting by its due date: the protection ends, and it says so.
        app.advance(Duration::days(15));
        run_once(&app.state).await;
        let expired = mails(
            &app,
            "bob@northwind.com",
            "Subject: REG-000001 Acme Inc.: expired",
        );
        assert_eq!(expired.len(), 1, "{db:?}");
        assert!(expired[0].contains("register it again"), "{expired:?}");
    }
}
