//! The registration lifecycle through the HTTP API, on every backend.

use reqwest::StatusCode;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use trellis_testkit::{
    backends, event_kinds, lead_for, problem_fields, start_time, TestApp, ADMIN_TOKEN as ADMIN,
};

fn at(value: &serde_json::Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("timestamp"), &Rfc3339).expect("RFC 3339")
}

async fn submitted(app: &TestApp, company: &str, domain: &str) -> (i64, i64) {
    let partner = app.partner(&format!("{company} partner"), "reseller").await;
    (partner, app.register(partner, company, domain).await)
}

async fn decide(
    app: &TestApp,
    id: i64,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    app.post(&format!("/api/v1/registrations/{id}/decision"), ADMIN, body)
        .await
}

#[tokio::test]
async fn approval_sets_hold_and_meeting_windows_and_a_meeting_then_win_closes_it() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (_, id) = submitted(&app, "Acme Inc.", "acme.com").await;
        let (status, body) = decide(&app, id, json!({"decision": "approve"})).await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {body}");
        assert_eq!(body["status"], "approved");
        assert_eq!(at(&body["hold_until"]), start_time() + Duration::days(90));
        assert_eq!(at(&body["meeting_due"]), start_time() + Duration::days(14));

        app.advance(Duration::days(3));
        let held = app.clock.now() - Duration::hours(1);
        let path = format!("/api/v1/registrations/{id}/meetings");
        let (status, body) = app
            .post(
                &path,
                ADMIN,
                json!({"held_at": held.format(&Rfc3339).expect("fmt")}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {body}");
        assert_eq!(at(&body["first_meeting_at"]), held);

        let (status, body) = app
            .post(
                &path,
                ADMIN,
                json!({"held_at": held.format(&Rfc3339).expect("fmt")}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "{db:?}: second first meeting: {body}"
        );

        let outcome = format!("/api/v1/registrations/{id}/outcome");
        let (status, body) = app
            .post(
                &outcome,
                ADMIN,
                json!({"outcome": "won", "amount": "12500.50", "currency": "EUR"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {body}");
        assert_eq!(body["status"], "won");
        assert_eq!(body["won_amount"], "12500.50");

        let (_, events) = app
            .get(&format!("/api/v1/registrations/{id}/events"), ADMIN)
            .await;
        let kinds: Vec<_> = event_kinds(&events);
        assert_eq!(
            kinds,
            [
                "account_created",
                "submitted",
                "approved",
                "meeting_logged",
                "won"
            ],
            "{db:?}"
        );
        assert!(
            events[2]["why"]
                .as_str()
                .unwrap_or_default()
                .contains("protected for 90 days"),
            "{db:?}: {events}"
        );
        assert!(
            events
                .as_array()
                .expect("events")
                .iter()
                .all(|e| e["actor"] == "staff:1"),
            "{db:?}: {events}"
        );
    }
}

#[tokio::test]
async fn decline_needs_a_reason_and_more_info_needs_a_question_answered_by_the_partner() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (partner, id) = submitted(&app, "Globex", "globex.com").await;
        let (status, body) = decide(&app, id, json!({"decision": "decline"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}: {body}");
        assert_eq!(body["errors"][0]["field"], "reason");

        let (status, _) = decide(&app, id, json!({"decision": "request_info"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");
        let (status, body) = decide(
            &app,
            id,
            json!({"decision": "request_info", "reason": "Who is the sponsor?"}),
        )
        .await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("more_info")),
            "{db:?}: {body}"
        );
        assert_eq!(body["status_reason"], "Who is the sponsor?");

        let token = app.partner_token(partner).await;
        let (status, body) = app
            .post(
                &format!("/api/v1/registrations/{id}/info"),
                &token,
                json!({"message": "The CFO"}),
            )
            .await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("submitted")),
            "{db:?}: {body}"
        );

        let (status, body) = decide(
            &app,
            id,
            json!({"decision": "decline", "reason": "Direct deal in progress"}),
        )
        .await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("declined")),
            "{db:?}: {body}"
        );
        assert_eq!(body["status_reason"], "Direct deal in progress");
    }
}

#[tokio::test]
async fn illegal_transitions_answer_409_and_change_nothing() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (_, id) = submitted(&app, "Initech", "initech.com").await;
        let meeting = json!({"held_at": start_time().format(&Rfc3339).expect("fmt")});
        let (status, body) = app
            .post(
                &format!("/api/v1/registrations/{id}/meetings"),
                ADMIN,
                meeting,
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("submitted"),
            "{db:?}: {body}"
        );
        assert_eq!(body["type"], "/problems/conflict");

        let (status, _) = app
            .post(
                &format!("/api/v1/registrations/{id}/outcome"),
                ADMIN,
                json!({"outcome": "won"}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}");
        decide(&app, id, json!({"decision": "decline", "reason": "No"})).await;
        let (status, body) = decide(&app, id, json!({"decision": "approve"})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("declined"),
            "{db:?}: {body}"
        );

        let (_, events) = app
            .get(&format!("/api/v1/registrations/{id}/events"), ADMIN)
            .await;
        assert_eq!(
            events.as_array().map(Vec::len),
            Some(3),
            "{db:?}: account_created, submitted, declined: {events}"
        );
    }
}

#[tokio::test]
async fn no_meeting_by_the_deadline_expires_on_read_and_in_the_sweep() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (_, first) = submitted(&app, "Umbrella", "umbrella.com").await;
        let (_, second) = submitted(&app, "Hooli", "hooli.com").await;
        decide(&app, first, json!({"decision": "approve"})).await;
        decide(&app, second, json!({"decision": "approve"})).await;

        app.advance(Duration::days(14));
        let (_, body) = app
            .get(&format!("/api/v1/registrations/{first}"), ADMIN)
            .await;
        assert_eq!(
            body["status"], "approved",
            "{db:?}: exactly at meeting_due it still stands"
        );

        app.advance(Duration::seconds(1));
        let (_, body) = app
            .get(&format!("/api/v1/registrations/{first}"), ADMIN)
            .await;
        assert_eq!(body["status"], "expired", "{db:?}: {body}");
        assert!(
            body["status_reason"]
                .as_str()
                .unwrap_or_default()
                .contains("no first meeting was logged by 2026-01-19"),
            "{db:?}: {body}"
        );

        let swept = app
            .store
            .expire_due(&Default::default(), app.clock.now())
            .await
            .expect("sweep");
        assert_eq!(swept, 1, "{db:?}: the sweep expires the one nobody read");
        let (_, events) = app
            .get(&format!("/api/v1/registrations/{second}/events"), ADMIN)
            .await;
        let last = events
            .as_array()
            .and_then(|e| e.last())
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            (last["kind"].as_str(), last["actor"].as_str()),
            (Some("expired"), Some("system")),
            "{db:?}: {events}"
        );
    }
}

#[tokio::test]
async fn a_locked_registration_still_expires_at_the_end_of_its_hold() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (_, id) = submitted(&app, "Vandelay Industries", "vandelay.com").await;
        decide(&app, id, json!({"decision": "approve", "hold_days": 30})).await;
        app.advance(Duration::days(2));
        let held = app.clock.now().format(&Rfc3339).expect("fmt");
        let (status, _) = app
            .post(
                &format!("/api/v1/registrations/{id}/meetings"),
                ADMIN,
                json!({"held_at": held}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        app.advance(Duration::days(20));
        let (_, body) = app.get(&format!("/api/v1/registrations/{id}"), ADMIN).await;
        assert_eq!(
            body["status"], "approved",
            "{db:?}: the meeting locked it past meeting_due"
        );
        app.advance(Duration::days(9));
        let (_, body) = app.get(&format!("/api/v1/registrations/{id}"), ADMIN).await;
        assert_eq!(body["status"], "expired", "{db:?}: {body}");
        assert!(
            body["status_reason"]
                .as_str()
                .unwrap_or_default()
                .contains("hold window"),
            "{db:?}: {body}"
        );
    }
}

#[tokio::test]
async fn deal_registrations_carry_stage_amount_currency_close_date_and_next_step() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("Dealer", "reseller").await;
        let mut body = lead_for(partner, "Wonka Industries", "wonka.com");
        body["kind"] = "deal".into();
        let (status, problem) = app.post("/api/v1/registrations", ADMIN, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");
        let fields: Vec<_> = problem_fields(&problem);
        assert_eq!(
            fields,
            ["stage", "currency", "amount", "expected_close_date"],
            "{db:?}"
        );

        body["stage"] = "Proposal".into();
        body["amount"] = 48000.5.into();
        body["currency"] = "usd".into();
        body["expected_close_date"] = "2026-03-31".into();
        let (status, problem) = app.post("/api/v1/registrations", ADMIN, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{db:?}: floats are refused: {problem}"
        );
        body["amount"] = "48000.50".into();
        body["next_step"] = "Pricing call".into();
        let (status, created) = app.post("/api/v1/registrations", ADMIN, body).await;
        assert_eq!(status, StatusCode::CREATED, "{db:?}: {created}");
        assert_eq!(
            created["deal"],
            json!({"stage": "Proposal", "amount": "48000.50", "currency": "USD", "expected_close_date": "2026-03-31", "next_step": "Pricing call"})
        );
    }
}

#[tokio::test]
async fn a_command_after_a_deadline_is_refused_and_the_expiry_stands() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (partner, id) = submitted(&app, "Soylent", "soylent.com").await;
        decide(&app, id, json!({"decision": "approve"})).await;
        app.advance(Duration::days(15));
        let other = app.partner_token(app.partner("Other", "isv").await).await;
        let path = format!("/api/v1/registrations/{id}/meetings");
        let held = json!({"held_at": app.clock.now().format(&Rfc3339).expect("fmt")});
        let (status, _) = app.post(&path, &other, held.clone()).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{db:?}: another partner learns nothing"
        );
        let stored = app
            .store
            .registration_events(trellis_domain::ids::RegistrationId(id))
            .await
            .expect("events");
        assert!(
            stored.iter().all(|e| e.kind != "expired"),
            "{db:?}: and triggers nothing"
        );

        let own = app.partner_token(partner).await;
        let (status, body) = app.post(&path, &own, held).await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("expired"),
            "{db:?}: {body}"
        );
        let (_, events) = app
            .get(&format!("/api/v1/registrations/{id}/events"), ADMIN)
            .await;
        assert_eq!(
            event_kinds(&events).last().map(String::as_str),
            Some("expired"),
            "{db:?}: {events}"
        );
    }
}
