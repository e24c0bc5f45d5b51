//! Channel conflicts under each policy, and manual resolution, on every
//! backend. Every outcome must be explainable from the event log.

use reqwest::StatusCode;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::Duration;
use trellis_domain::program::{ConflictPolicy, Program};
use trellis_testkit::{backends, event_kinds, lead_for, Db, TestApp, ADMIN_TOKEN as ADMIN};

async fn app_with(db: Db, policy: ConflictPolicy) -> TestApp {
    let mut program = Program::default();
    program.registration.conflict_policy = policy;
    TestApp::spawn_with(db, program).await
}

/// Two partners registering the same company; returns both registrations.
async fn two_claims(app: &TestApp, a: Value, b: Value) -> (Value, Value) {
    let (status, first) = app.post("/api/v1/registrations", ADMIN, a).await;
    assert_eq!(status, StatusCode::CREATED, "{:?}: {first}", app.db);
    let (status, second) = app.post("/api/v1/registrations", ADMIN, b).await;
    assert_eq!(status, StatusCode::CREATED, "{:?}: {second}", app.db);
    (first, second)
}

async fn claims_on_acme(app: &TestApp) -> (Value, Value) {
    let (a, b) = (
        app.partner("Alpha", "reseller").await,
        app.partner("Beta", "reseller").await,
    );
    two_claims(
        app,
        lead_for(a, "Acme Corp", "acme.com"),
        lead_for(b, "ACME Corporation", "acme.com"),
    )
    .await
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("id")
}

async fn act(app: &TestApp, reg: &Value, what: &str, body: Value) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/registrations/{}/{what}", id(reg)),
        ADMIN,
        body,
    )
    .await
}

async fn status_of(app: &TestApp, reg: &Value) -> Value {
    app.get(&format!("/api/v1/registrations/{}", id(reg)), ADMIN)
        .await
        .1
}

#[tokio::test]
async fn first_meeting_wins_and_the_other_is_declined_naming_the_winner_and_date() {
    for db in backends() {
        let app = app_with(db, ConflictPolicy::FirstMeeting).await;
        let (first, second) = claims_on_acme(&app).await;
        assert_eq!(second["conflict"]["status"], "open", "{db:?}: {second}");
        assert_eq!(
            second["conflict"]["registrations"],
            json!([first["case_number"], second["case_number"]])
        );
        let conflict = second["conflict"]["id"].clone();
        assert_eq!(
            status_of(&app, &first).await["conflict"]["id"],
            conflict,
            "{db:?}: visible on both"
        );

        for reg in [&first, &second] {
            let (status, body) = act(&app, reg, "decision", json!({"decision": "approve"})).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{db:?}: both may be approved: {body}"
            );
        }
        app.advance(Duration::days(5));
        let held = app.clock.now().format(&Rfc3339).expect("fmt");
        let (status, body) = act(&app, &second, "meetings", json!({"held_at": held})).await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {body}");
        assert_eq!(body["conflict"]["status"], "resolved");
        assert_eq!(body["conflict"]["winner"], second["case_number"]);

        let loser = status_of(&app, &first).await;
        assert_eq!(loser["status"], "declined", "{db:?}: {loser}");
        let reason = loser["status_reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains(second["case_number"].as_str().unwrap_or("?"))
                && reason.contains("2026-01-10"),
            "{db:?}: {reason}"
        );

        let (_, conflicts) = app.get("/api/v1/conflicts?status=resolved", ADMIN).await;
        assert_eq!(conflicts["items"][0]["id"], conflict, "{db:?}: {conflicts}");
        let (_, events) = app
            .get(
                &format!("/api/v1/registrations/{}/events", id(&first)),
                ADMIN,
            )
            .await;
        let kinds: Vec<_> = event_kinds(&events);
        assert_eq!(
            kinds,
            [
                "account_created",
                "submitted",
                "conflict_opened",
                "approved",
                "declined",
                "conflict_resolved"
            ],
            "{db:?}"
        );
    }
}

#[tokio::test]
async fn first_registered_lets_the_earlier_claim_win_and_blocks_jumping_the_queue() {
    for db in backends() {
        let app = app_with(db, ConflictPolicy::FirstRegistered).await;
        let (first, second) = claims_on_acme(&app).await;
        let (status, body) = act(&app, &second, "decision", json!({"decision": "approve"})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(first["case_number"].as_str().unwrap_or("?")),
            "{db:?}: {body}"
        );
        assert_eq!(
            status_of(&app, &second).await["status"],
            "submitted",
            "{db:?}: refused means unchanged"
        );

        let (status, body) = act(&app, &first, "decision", json!({"decision": "approve"})).await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {body}");
        assert_eq!(body["conflict"]["winner"], first["case_number"]);
        let loser = status_of(&app, &second).await;
        assert_eq!(loser["status"], "declined", "{db:?}: {loser}");
        assert!(
            loser["status_reason"]
                .as_str()
                .unwrap_or_default()
                .contains("earliest registration to be approved"),
            "{db:?}: {loser}"
        );
    }
}

#[tokio::test]
async fn split_by_segment_keeps_different_segments_apart() {
    for db in backends() {
        let app = app_with(db, ConflictPolicy::SplitBySegment).await;
        let (a, b, c) = (
            app.partner("A", "reseller").await,
            app.partner("B", "isv").await,
            app.partner("C", "service").await,
        );
        let with = |partner, segment: &str, product: &str| {
            let mut body = lead_for(partner, "Globex", "globex.com");
            body["segment"] = segment.into();
            body["product"] = product.into();
            body
        };
        let (first, second) = two_claims(
            &app,
            with(a, "enterprise", "analytics"),
            with(b, "smb", "analytics"),
        )
        .await;
        assert_eq!(first["account_id"], second["account_id"], "{db:?}");
        assert_eq!(
            second["conflict"],
            Value::Null,
            "{db:?}: different segments: {second}"
        );
        let (status, third) = app
            .post(
                "/api/v1/registrations",
                ADMIN,
                with(c, "Enterprise", "analytics"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{db:?}");
        assert_eq!(
            third["conflict"]["registrations"],
            json!([first["case_number"], third["case_number"]]),
            "{db:?}: {third}"
        );
    }
}

#[tokio::test]
async fn staff_resolve_by_hand_with_a_reason_and_only_once() {
    for db in backends() {
        let app = app_with(db, ConflictPolicy::FirstMeeting).await;
        let (first, second) = claims_on_acme(&app).await;
        let conflict = second["conflict"]["id"].as_i64().expect("conflict");
        let path = format!("/api/v1/conflicts/{conflict}/resolve");
        let (status, body) = app
            .post(
                &path,
                ADMIN,
                json!({"winner": first["case_number"], "reason": ""}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}: {body}");
        let (status, body) = app
            .post(&path, ADMIN, json!({"winner": 999, "reason": "x"}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}: not a member: {body}");

        let (status, body) = app.post(&path, ADMIN, json!({"winner": first["case_number"], "reason": "Alpha sourced it at the trade show"})).await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {body}");
        assert_eq!(body["winner"], first["case_number"]);
        let loser = status_of(&app, &second).await;
        assert_eq!(loser["status"], "declined");
        assert!(
            loser["status_reason"]
                .as_str()
                .unwrap_or_default()
                .contains("trade show"),
            "{db:?}: {loser}"
        );
        assert_eq!(
            status_of(&app, &first).await["status"],
            "submitted",
            "{db:?}: the winner keeps its claim"
        );

        let (status, _) = app
            .post(
                &path,
                ADMIN,
                json!({"winner": first["case_number"], "reason": "again"}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}: already resolved");
    }
}

#[tokio::test]
async fn when_the_other_claimant_drops_out_the_conflict_settles_for_the_one_left() {
    for db in backends() {
        let app = app_with(db, ConflictPolicy::FirstMeeting).await;
        let (first, second) = claims_on_acme(&app).await;
        act(
            &app,
            &second,
            "decision",
            json!({"decision": "decline", "reason": "Not qualified"}),
        )
        .await;
        let winner = status_of(&app, &first).await;
        assert_eq!(winner["conflict"]["status"], "resolved", "{db:?}: {winner}");
        assert_eq!(winner["conflict"]["winner"], first["case_number"]);
        assert!(
            winner["conflict"]["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("only claimant"),
            "{db:?}: {winner}"
        );
    }
}

#[tokio::test]
async fn a_third_claimant_joins_the_open_conflict() {
    for db in backends() {
        let app = app_with(db, ConflictPolicy::FirstMeeting).await;
        let (_, second) = claims_on_acme(&app).await;
        let gamma = app.partner("Gamma", "referral").await;
        let (status, third) = app
            .post(
                "/api/v1/registrations",
                ADMIN,
                lead_for(gamma, "Acme", "acme.com"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{db:?}");
        assert_eq!(
            third["conflict"]["id"], second["conflict"]["id"],
            "{db:?}: {third}"
        );
        assert_eq!(
            third["conflict"]["registrations"].as_array().map(Vec::len),
            Some(3)
        );
    }
}
