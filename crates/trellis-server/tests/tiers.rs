//! Partner tiers through the HTTP API with the test clock, on every backend:
//! upgrades the moment criteria are met, nudges, reviews with grace and
//! downgrades, appeals, exceptions, per-kind criteria, simulations, and the
//! refusals that change nothing. The clock starts on 2026-01-05, so the
//! rolling window is 2025-Q1 to 2025-Q4.

use reqwest::StatusCode;
use serde_json::{json, Value};
use time::Duration;
use trellis_domain::program::Program;
use trellis_testkit::{backends, problem_fields, TestApp, ADMIN_TOKEN as ADMIN};

/// Two criteria, so each rule is easy to follow: revenue (outcome) and
/// certified people (capability, needs evidence); ISVs count joint
/// customers instead of revenue.
const PROGRAM: &str = include_str!("fixtures/tier_program.toml");

async fn app(db: trellis_testkit::Db) -> TestApp {
    let program = Program::parse(PROGRAM).expect("test program").program;
    TestApp::spawn_with(db, program).await
}

async fn partner_at(app: &TestApp, name: &str, kind: &str, tier: &str) -> i64 {
    let body = json!({"name": name, "kind": kind, "tier": tier});
    let (status, body) = app.post("/api/v1/partners", ADMIN, body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().expect("id")
}

async fn metric(app: &TestApp, partner: i64, body: Value) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/partners/{partner}/metrics"), ADMIN, body)
        .await
}

async fn revenue(app: &TestApp, partner: i64, amount: i64, source: &str) -> Value {
    let body = json!({"metric": "revenue", "value": amount, "occurred_at": "2025-06-01T00:00:00Z", "source_id": source});
    let (status, body) = metric(app, partner, body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn certify(app: &TestApp, partner: i64, person: &str) -> Value {
    let body = json!({"metric": "certification", "value": 1, "occurred_at": "2025-03-01T00:00:00Z",
        "source_id": format!("cert-{partner}-{person}"), "item": person,
        "evidence_url": format!("https://training.example/certificates/{person}")});
    let (status, body) = metric(app, partner, body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn kinds(answer: &Value) -> Vec<String> {
    answer["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_owned())
        .collect()
}

async fn tier(app: &TestApp, partner: i64) -> String {
    let (_, body) = app.get(&format!("/api/v1/partners/{partner}"), ADMIN).await;
    body["tier"].as_str().expect("tier").to_owned()
}

async fn scorecard(app: &TestApp, partner: i64) -> Value {
    let (status, body) = app
        .get(&format!("/api/v1/partners/{partner}/scorecard"), ADMIN)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn review(app: &TestApp, quarter: &str) -> Value {
    let (status, body) = app
        .post("/api/v1/reviews", ADMIN, json!({"quarter": quarter}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn publish(app: &TestApp, review: &Value) -> Value {
    let path = format!("/api/v1/reviews/{}/publish", review["id"]);
    let (status, body) = app.post(&path, ADMIN, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn proposal_for(review: &Value, partner: i64) -> Value {
    review["proposals"]
        .as_array()
        .expect("proposals")
        .iter()
        .find(|p| p["partner_id"] == partner)
        .cloned()
        .expect("a proposal for the partner")
}

#[tokio::test]
async fn a_partner_moves_up_the_moment_its_last_criterion_is_met() {
    for db in backends() {
        let app = app(db).await;
        let p = partner_at(&app, "Northwind", "reseller", "registered").await;
        assert!(kinds(&revenue(&app, p, 120_000, "inv-1").await).is_empty());
        // Three quarters of the way to Select: a nudge, not yet a move.
        assert_eq!(kinds(&certify(&app, p, "ana").await), ["nudged"]);
        assert_eq!(tier(&app, p).await, "registered");

        let answer = certify(&app, p, "ben").await;
        assert!(
            kinds(&answer).contains(&"tier_changed".to_owned()),
            "{db:?}: {answer}"
        );
        assert_eq!(tier(&app, p).await, "select");
        let (_, history) = app
            .get(&format!("/api/v1/partners/{p}/events"), ADMIN)
            .await;
        let upgrade = &history[0];
        assert_eq!(upgrade["kind"], "tier_changed");
        assert_eq!(upgrade["data"]["how"], "upgrade");
        let why = upgrade["why"].as_str().expect("why");
        assert!(
            why.contains("Partner revenue") && why.contains("Certified people"),
            "{why}"
        );

        let (_, records) = app
            .get(&format!("/api/v1/partners/{p}/metrics"), ADMIN)
            .await;
        let certified: Vec<_> = records
            .as_array()
            .expect("metrics")
            .iter()
            .filter(|m| m["metric"] == "certification")
            .collect();
        assert_eq!(certified.len(), 2, "{records}");
        assert_eq!(certified[0]["occurred_at"], "2025-03-01T00:00:00Z");
        let card = scorecard(&app, p).await;
        assert_eq!(card["tier"], "select");
        assert_eq!(card["next_tier"], "elite");
        let evidence = &card["criteria"]
            .as_array()
            .expect("criteria")
            .iter()
            .find(|c| c["id"] == "certified")
            .expect("certified")["evidence"];
        assert_eq!(evidence.as_array().map(Vec::len), Some(2), "{card}");
    }
}

#[tokio::test]
async fn progress_crossing_the_nudge_threshold_records_one_nudge_saying_what_is_left() {
    for db in backends() {
        let app = app(db).await;
        let p = partner_at(&app, "Contoso", "reseller", "registered").await;
        assert!(kinds(&revenue(&app, p, 90_000, "inv-1").await).is_empty());
        let answer = certify(&app, p, "ana").await;
        assert_eq!(kinds(&answer), ["nudged"], "{db:?}: {answer}");
        let why = answer["events"][0]["why"].as_str().expect("why");
        assert!(why.contains("Certified people"), "{why}");
        // Still above the threshold: no second nudge.
        assert!(kinds(&revenue(&app, p, 5_000, "inv-2").await).is_empty());
        let card = scorecard(&app, p).await;
        assert!(card["progress_to_next"].as_f64().expect("progress") >= 0.7);
        assert_eq!(card["missing"].as_array().map(Vec::len), Some(2), "{card}");
    }
}

#[tokio::test]
async fn a_narrow_miss_earns_grace_with_a_plan_and_a_second_miss_downgrades() {
    for db in backends() {
        let app = app(db).await;
        let narrow = partner_at(&app, "Fabrikam", "reseller", "select").await;
        revenue(&app, narrow, 95_000, "inv-1").await;
        certify(&app, narrow, "ana").await;
        certify(&app, narrow, "ben").await;
        let wide = partner_at(&app, "Litware", "reseller", "select").await;
        revenue(&app, wide, 40_000, "inv-2").await;

        let first = review(&app, "2025-Q4").await;
        let grace = proposal_for(&first, narrow);
        assert_eq!(grace["action"], "grace", "{db:?}: {grace}");
        assert_eq!(grace["proposed_tier"], "select");
        let plan = grace["recovery_plan"].as_array().expect("plan");
        assert_eq!(plan.len(), 1, "{grace}");
        assert!(
            plan[0].as_str().expect("line").contains("100000"),
            "{plan:?}"
        );
        let down = proposal_for(&first, wide);
        assert_eq!(down["action"], "downgrade", "{down}");
        assert_eq!(down["proposed_tier"], "registered");
        publish(&app, &first).await;
        assert_eq!(scorecard(&app, narrow).await["in_grace"], true);
        assert_eq!(tier(&app, wide).await, "registered");

        app.advance(Duration::days(90));
        let second = review(&app, "2026-Q1").await;
        let again = proposal_for(&second, narrow);
        assert_eq!(again["action"], "downgrade", "{again}");
        publish(&app, &second).await;
        assert_eq!(tier(&app, narrow).await, "registered");
        assert_eq!(scorecard(&app, narrow).await["in_grace"], false);
    }
}

#[tokio::test]
async fn an_upheld_appeal_restores_the_tier_and_states_the_terms() {
    for db in backends() {
        let app = app(db).await;
        let p = partner_at(&app, "Adatum", "service", "select").await;
        let token = app.partner_token(p).await;
        let published = publish(&app, &review(&app, "2025-Q4").await).await;
        assert_eq!(tier(&app, p).await, "registered");

        let body = json!({"review_id": published["id"], "message": "Our Q4 revenue was booked under our parent company",
            "evidence_urls": ["https://crm.example/invoices/2025-q4"]});
        let (status, appeal) = app
            .post(&format!("/api/v1/partners/{p}/appeals"), &token, body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{db:?}: {appeal}");
        let path = format!("/api/v1/appeals/{}/decision", appeal["id"]);
        let decision = json!({"decision": "upheld", "reason": "Parent company invoices count for this partner"});
        let (status, decided) = app.post(&path, ADMIN, decision.clone()).await;
        assert_eq!(status, StatusCode::OK, "{decided}");
        assert_eq!(decided["appeal"]["status"], "upheld");
        assert_eq!(decided["tier"], "select");
        assert_eq!(decided["effective_on"], "2026-01-05");
        assert_eq!(decided["next_review_on"], "2026-04-01");
        assert!(
            decided["thresholds"]
                .as_array()
                .is_some_and(|t| !t.is_empty()),
            "{decided}"
        );
        assert_eq!(tier(&app, p).await, "select");
        // Decided once.
        let (status, _) = app.post(&path, ADMIN, decision).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }
}

#[tokio::test]
async fn an_appeal_after_its_window_is_refused_and_changes_nothing() {
    for db in backends() {
        let app = app(db).await;
        let p = partner_at(&app, "Proseware", "reseller", "select").await;
        let published = publish(&app, &review(&app, "2025-Q4").await).await;
        app.advance(Duration::days(31));
        let body = json!({"review_id": published["id"], "message": "Please reconsider"});
        let (status, problem) = app
            .post(&format!("/api/v1/partners/{p}/appeals"), ADMIN, body)
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{db:?}: {problem}"
        );
        assert!(
            problem["detail"]
                .as_str()
                .expect("detail")
                .contains("closed on 2026-02-04"),
            "{problem}"
        );
        assert_eq!(tier(&app, p).await, "registered");
    }
}

#[tokio::test]
async fn an_exception_holds_a_tier_until_its_end_date_then_lapses_by_itself() {
    for db in backends() {
        let app = app(db).await;
        let p = partner_at(&app, "Tailspin", "reseller", "registered").await;
        let body = json!({"tier": "elite", "reason": "Strategic launch partner for the EMEA rollout", "ends_on": "2026-02-01"});
        let (status, exception) = app
            .post(&format!("/api/v1/partners/{p}/exceptions"), ADMIN, body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{db:?}: {exception}");
        assert_eq!(tier(&app, p).await, "elite");
        // A review while it holds keeps the partner where the exception says.
        let held = review(&app, "2025-Q4").await;
        assert_eq!(proposal_for(&held, p)["action"], "hold");

        let past = json!({"tier": "elite", "reason": "x", "ends_on": "2026-01-05"});
        let (status, _) = app
            .post(&format!("/api/v1/partners/{p}/exceptions"), ADMIN, past)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        app.advance(Duration::days(27));
        let lapsed = app
            .store
            .lapse_exceptions(&app.state.program, app.clock.now())
            .await
            .expect("sweep");
        assert_eq!(lapsed, 1);
        assert_eq!(tier(&app, p).await, "registered");
        let (_, history) = app
            .get(&format!("/api/v1/partners/{p}/events"), ADMIN)
            .await;
        let kinds: Vec<_> = history
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["kind"].clone())
            .collect();
        assert_eq!(
            kinds[..2],
            [json!("tier_changed"), json!("exception_lapsed")],
            "{history}"
        );
    }
}

#[tokio::test]
async fn criteria_apply_per_partner_kind() {
    for db in backends() {
        let app = app(db).await;
        let isv = partner_at(&app, "Wide World Apps", "isv", "registered").await;
        let reseller = partner_at(&app, "Woodgrove", "reseller", "registered").await;
        let ids = |card: &Value| -> Vec<String> {
            card["criteria"]
                .as_array()
                .expect("criteria")
                .iter()
                .map(|c| c["id"].as_str().expect("id").to_owned())
                .collect()
        };
        assert_eq!(
            ids(&scorecard(&app, isv).await),
            ["joint_customers", "certified"]
        );
        assert_eq!(
            ids(&scorecard(&app, reseller).await),
            ["revenue", "certified"]
        );
        for customer in ["alpine", "baker"] {
            let body = json!({"metric": "joint_customers", "value": 1, "occurred_at": "2025-09-01T00:00:00Z",
                "source_id": format!("jc-{customer}"), "item": customer});
            assert_eq!(metric(&app, isv, body).await.0, StatusCode::CREATED);
        }
        certify(&app, isv, "ana").await;
        certify(&app, isv, "ben").await;
        assert_eq!(
            tier(&app, isv).await,
            "select",
            "{db:?}: no revenue asked of an ISV"
        );
    }
}

#[tokio::test]
async fn a_simulation_shows_who_would_move_and_changes_nothing() {
    for db in backends() {
        let app = app(db).await;
        let p = partner_at(&app, "Lucerne", "reseller", "registered").await;
        revenue(&app, p, 60_000, "inv-1").await;
        let criteria = json!([{"id": "revenue", "label": "Partner revenue", "bucket": "outcome", "metric": "revenue",
            "aggregate": "sum", "thresholds": {"select": 50000, "elite": 400000}}]);
        let (status, simulated) = app
            .post(
                "/api/v1/reviews/simulate",
                ADMIN,
                json!({"quarter": "2025-Q4", "criteria": criteria}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {simulated}");
        assert_eq!(simulated["moves"], 1);
        assert_eq!(proposal_for(&simulated, p)["action"], "upgrade");
        assert_eq!(tier(&app, p).await, "registered");
        let (status, _) = app.get("/api/v1/reviews/1", ADMIN).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a simulation stores no review"
        );

        let bad = json!([{"id": "revenue", "label": "x", "bucket": "outcome", "metric": "revenue", "aggregate": "median",
            "thresholds": {"platinum": 1}}]);
        let (status, problem) = app
            .post(
                "/api/v1/reviews/simulate",
                ADMIN,
                json!({"quarter": "2025-Q4", "criteria": bad}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert!(problem_fields(&problem).len() >= 2, "{problem}");
    }
}

#[tokio::test]
async fn bad_measurements_and_review_requests_get_clear_errors_and_change_nothing() {
    for db in backends() {
        let app = app(db).await;
        let p = partner_at(&app, "Coho", "reseller", "registered").await;
        let good = json!({"metric": "revenue", "value": 1000, "occurred_at": "2025-06-01T00:00:00Z", "source_id": "inv-9"});
        let with = |key: &str, value: Value| {
            let mut body = good.clone();
            body[key] = value;
            body
        };
        let cases = [
            (with("metric", json!("margin")), "metric"),
            (with("value", json!("a lot")), "value"),
            (with("value", json!(-500)), "value"),
            (
                with("occurred_at", json!("2026-02-01T00:00:00Z")),
                "occurred_at",
            ),
            (
                json!({"metric": "certification", "value": 1, "occurred_at": "2025-06-01T00:00:00Z", "source_id": "c-1", "item": "ana"}),
                "evidence_url",
            ),
            (
                json!({"metric": "certification", "value": 1, "occurred_at": "2025-06-01T00:00:00Z", "source_id": "c-2", "evidence_url": "https://x.example/1"}),
                "item",
            ),
        ];
        for (body, field) in cases {
            let (status, problem) = metric(&app, p, body).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{db:?}: {problem}"
            );
            assert_eq!(problem_fields(&problem), [field], "{problem}");
        }
        let (status, _) = metric(&app, 9_999, good.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            scorecard(&app, p).await["criteria"][0]["value"] == 0,
            "nothing was recorded"
        );

        assert_eq!(metric(&app, p, good.clone()).await.0, StatusCode::CREATED);
        assert_eq!(
            metric(&app, p, good.clone()).await.0,
            StatusCode::OK,
            "a replay"
        );
        assert_eq!(
            metric(&app, p, with("value", json!(2000))).await.0,
            StatusCode::CONFLICT
        );
        let credit = json!({"metric": "revenue", "value": -400, "credit": true, "occurred_at": "2025-07-01T00:00:00Z", "source_id": "cn-1"});
        assert_eq!(metric(&app, p, credit).await.0, StatusCode::CREATED);
        assert_eq!(scorecard(&app, p).await["criteria"][0]["value"], 600);

        let token = app.partner_token(p).await;
        let (status, _) = app
            .post(
                &format!("/api/v1/partners/{p}/metrics"),
                &token,
                with("source_id", json!("inv-10")),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "a partner does not report its own revenue"
        );

        let (status, problem) = app
            .post("/api/v1/reviews", ADMIN, json!({"quarter": "2026-Q1"}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .expect("detail")
                .contains("2025-Q4"),
            "{problem}"
        );
        let (status, _) = app
            .post("/api/v1/reviews", ADMIN, json!({"quarter": "Q4 2025"}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let draft = review(&app, "2025-Q4").await;
        publish(&app, &draft).await;
        let (status, _) = app
            .post(
                &format!("/api/v1/reviews/{}/publish", draft["id"]),
                ADMIN,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        let another = review(&app, "2025-Q4").await;
        let (status, _) = app
            .post(
                &format!("/api/v1/reviews/{}/publish", another["id"]),
                ADMIN,
                json!({}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "one published review per quarter"
        );
    }
}

#[tokio::test]
async fn won_registrations_feed_revenue_without_reentry_and_benefits_follow_the_tier() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let p = app.partner("Alpine Ski House", "reseller").await;
        let lead = json!({"partner_id": p, "company_name": "Blue Yonder", "company_domain": "blueyonder.com",
            "contact_name": "Jo Park", "contact_email": "jo@blueyonder.com", "consent": true});
        let (status, reg) = app.post("/api/v1/registrations", ADMIN, lead).await;
        assert_eq!(status, StatusCode::CREATED, "{reg}");
        let id = reg["id"].as_i64().expect("id");
        let (status, _) = app
            .post(
                &format!("/api/v1/registrations/{id}/decision"),
                ADMIN,
                json!({"decision": "approve"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = app
            .post(
                &format!("/api/v1/registrations/{id}/outcome"),
                ADMIN,
                json!({"outcome": "won", "amount": "25000.00", "currency": "EUR"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // The default window is the four quarters before now: a deal won now
        // counts from the next quarter on.
        app.advance(Duration::days(90));
        let card = scorecard(&app, p).await;
        let revenue = card["criteria"]
            .as_array()
            .expect("criteria")
            .iter()
            .find(|c| c["id"] == "revenue")
            .cloned()
            .expect("revenue");
        assert_eq!(revenue["value"], 25000, "{card}");

        let (_, benefits) = app
            .get(&format!("/api/v1/partners/{p}/benefits"), ADMIN)
            .await;
        assert_eq!(benefits["tier"], "registered");
        assert_eq!(benefits["next_tier"], "select");
        assert!(!benefits["benefits"]
            .as_array()
            .expect("benefits")
            .is_empty());
        assert!(!benefits["next_tier_adds"]
            .as_array()
            .expect("adds")
            .is_empty());
    }
}
