//! Who may see and do what, and how bad input is answered: always the right
//! 4xx with a problem+json message saying what to fix, and nothing changed.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_store::RequestKey;
use trellis_testkit::{
    backends, lead, lead_for, problem_fields, Db, TestApp, ADMIN_TOKEN as ADMIN,
};

async fn count_registrations(app: &TestApp) -> usize {
    let (_, list) = app.get("/api/v1/registrations?limit=500", ADMIN).await;
    list["items"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn partner_tokens_see_and_touch_only_their_own_partner() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (a, b) = (
            app.partner("A", "reseller").await,
            app.partner("B", "reseller").await,
        );
        let (ta, tb) = (app.partner_token(a).await, app.partner_token(b).await);
        let (status, mine) = app
            .post("/api/v1/registrations", &ta, lead("Acme", "acme.com"))
            .await;
        assert_eq!(
            (status, mine["partner_id"].as_i64()),
            (StatusCode::CREATED, Some(a)),
            "{db:?}: {mine}"
        );
        let id = mine["id"].as_i64().expect("id");

        for path in [
            format!("/api/v1/registrations/{id}"),
            format!("/api/v1/registrations/{id}/events"),
            format!("/api/v1/partners/{a}"),
        ] {
            let (status, body) = app.get(&path, &tb).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{db:?}: {path}: {body}");
        }
        let (status, _) = app
            .post(
                &format!("/api/v1/registrations/{id}/info"),
                &tb,
                json!({"message": "x"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{db:?}");
        let (status, _) = app
            .post(
                &format!("/api/v1/registrations/{id}/meetings"),
                &tb,
                json!({"held_at": "2026-01-05T08:00:00Z"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{db:?}");
        let (_, list) = app
            .get(&format!("/api/v1/registrations?partner_id={a}"), &tb)
            .await;
        assert_eq!(
            list["items"],
            json!([]),
            "{db:?}: a filter cannot widen the scope"
        );
        let (status, _) = app
            .post(
                "/api/v1/registrations",
                &tb,
                lead_for(a, "Other", "other.com"),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{db:?}: cannot register for another partner"
        );

        let (status, _) = app
            .post(
                &format!("/api/v1/registrations/{id}/decision"),
                &ta,
                json!({"decision": "approve"}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{db:?}: partners do not decide"
        );
        for path in ["/api/v1/conflicts", "/api/v1/accounts/1"] {
            assert_eq!(
                app.get(path, &ta).await.0,
                StatusCode::FORBIDDEN,
                "{db:?}: {path}"
            );
        }
        let (_, theirs) = app
            .post("/api/v1/registrations", &tb, lead("Acme GmbH", "acme.com"))
            .await;
        assert_eq!(theirs["conflict"]["status"], "open", "{db:?}: {theirs}");
        let (status, body) = app.get(&format!("/api/v1/registrations/{id}"), &ta).await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {body}");
        assert_eq!(
            body.get("other_registrations"),
            None,
            "{db:?}: partners never see other partners' claims"
        );
        let (_, partners) = app.get("/api/v1/partners", &ta).await;
        assert_eq!(
            partners["items"].as_array().map(Vec::len),
            Some(1),
            "{db:?}: {partners}"
        );
    }
}

#[tokio::test]
async fn missing_or_unknown_tokens_get_401_and_managers_cannot_mint_tokens() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (status, body) = app
            .call(Method::GET, "/api/v1/registrations", None, None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{db:?}: {body}");
        assert_eq!(body["type"], "/problems/unauthorized");
        let (status, _) = app.get("/api/v1/registrations", "trl_not_a_token").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{db:?}");
        let manager = app.manager_token().await;
        let partner = app.partner("A", "isv").await;
        let (status, _) = app
            .post(
                &format!("/api/v1/partners/{partner}/tokens"),
                &manager,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{db:?}");
        let (status, _) = app
            .post(
                "/api/v1/registrations",
                &manager,
                lead_for(partner, "Acme", "acme.com"),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{db:?}: managers register for partners"
        );
    }
}

#[tokio::test]
async fn bad_input_gets_a_clear_problem_and_changes_nothing() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("A", "reseller").await;
        let good = lead_for(partner, "Acme", "acme.com");
        let with = |key: &str, value: Value| {
            let mut body = good.clone();
            body[key] = value;
            body
        };
        let cases = [
            (with("consent", false.into()), "consent"),
            (
                with("contact_email", "jane at acme".into()),
                "contact_email",
            ),
            (with("company_domain", "acme..com".into()), "company_domain"),
            (with("company_name", "".into()), "company_name"),
            (with("kind", "opportunity".into()), "kind"),
            (with("partner_id", 4242.into()), "partner_id"),
            (with("compnay_name", "typo".into()), "compnay_name"),
            (with("consent", "yes".into()), "consent"),
        ];
        for (body, field) in cases {
            let (status, problem) = app.post("/api/v1/registrations", ADMIN, body).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{db:?}: {field}: {problem}"
            );
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(field),
                "{db:?}: {field}: {problem}"
            );
        }
        let (status, problem) = app
            .post(
                "/api/v1/registrations",
                ADMIN,
                json!({"partner_id": partner}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");
        let fields: Vec<_> = problem_fields(&problem);
        assert_eq!(
            fields,
            ["consent", "company_name", "contact_email", "contact_name"],
            "{db:?}: every missing field at once"
        );

        let raw = |body: &'static str, content_type: &'static str| {
            app.http
                .post(format!("{}/api/v1/registrations", app.base))
                .bearer_auth(ADMIN)
                .header("content-type", content_type)
                .body(body)
        };
        let response = raw("{\"company_name\": ", "application/json")
            .send()
            .await
            .expect("send");
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{db:?}: malformed JSON"
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let response = raw("company_name=Acme", "application/x-www-form-urlencoded")
            .send()
            .await
            .expect("send");
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{db:?}"
        );
        let huge = format!("{{\"company_name\": \"{}\"}}", "x".repeat(10 * 1024 * 1024));
        let response = app
            .http
            .post(format!("{}/api/v1/registrations", app.base))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .expect("send");
        assert_eq!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{db:?}: 10 MB body"
        );
        assert_eq!(
            count_registrations(&app).await,
            0,
            "{db:?}: nothing was created"
        );
    }
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_a_different_body() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("A", "reseller").await;
        let send = |body: Value| {
            app.http
                .post(format!("{}/api/v1/registrations", app.base))
                .bearer_auth(ADMIN)
                .header("Idempotency-Key", "abc-123")
                .json(&body)
                .send()
        };
        let first = send(lead_for(partner, "Acme", "acme.com"))
            .await
            .expect("send");
        assert_eq!(first.status(), StatusCode::CREATED, "{db:?}");
        let first: Value = first.json().await.expect("json");
        let again = send(lead_for(partner, "Acme", "acme.com"))
            .await
            .expect("send");
        assert_eq!(
            again.status(),
            StatusCode::CREATED,
            "{db:?}: replayed, not a 409"
        );
        assert_eq!(
            again.json::<Value>().await.expect("json"),
            first,
            "{db:?}: the same answer"
        );
        let other = send(lead_for(partner, "Globex", "globex.com"))
            .await
            .expect("send");
        assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");
        assert_eq!(count_registrations(&app).await, 1, "{db:?}");
    }
}

#[tokio::test]
async fn openapi_describes_every_route_and_health_answers() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (status, doc) = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/api/v1/partners",
        "/api/v1/partners/{id}",
        "/api/v1/partners/{id}/users",
        "/api/v1/partners/{id}/tokens",
        "/api/v1/registrations",
        "/api/v1/registrations/{id}",
        "/api/v1/registrations/{id}/events",
        "/api/v1/registrations/{id}/decision",
        "/api/v1/registrations/{id}/info",
        "/api/v1/registrations/{id}/meetings",
        "/api/v1/registrations/{id}/outcome",
        "/api/v1/accounts",
        "/api/v1/accounts/{id}",
        "/api/v1/accounts/match",
        "/api/v1/conflicts",
        "/api/v1/conflicts/{id}/resolve",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    let (status, body) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
}

#[tokio::test]
async fn the_test_clock_is_admin_only_and_moves_the_server_time() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let manager = app.manager_token().await;
    let (status, _) = app
        .post(
            "/api/v1/test-clock",
            &manager,
            json!({"now": "2027-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .post(
            "/api/v1/test-clock",
            ADMIN,
            json!({"now": "2027-01-01T01:00:00+01:00"}),
        )
        .await;
    assert_eq!(
        (status, body["now"].as_str()),
        (StatusCode::OK, Some("2027-01-01T00:00:00Z"))
    );
    let partner = app.partner("A", "reseller").await;
    let (_, created) = app
        .post(
            "/api/v1/registrations",
            ADMIN,
            lead_for(partner, "Acme", "acme.com"),
        )
        .await;
    assert_eq!(created["submitted_at"], "2027-01-01T00:00:00Z");
}

/// The process stopped after the registration committed but before its
/// answer was kept: a retry answers from the registration, never a second.
#[tokio::test]
async fn a_retry_after_a_lost_answer_returns_the_registration_it_created() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("A", "reseller").await;
        let body = lead_for(partner, "Acme", "acme.com");
        let principal = app
            .store
            .authenticate(ADMIN)
            .await
            .expect("auth")
            .expect("admin");
        let bytes = serde_json::to_vec(&body).expect("json");
        let key = RequestKey::new(principal.key(), "retry-1".into(), &bytes);
        let draft = trellis_testkit::draft(PartnerId(partner), "Acme", Some("acme.com"));
        let program = std::sync::Arc::new(Program::default());
        let created = app
            .store
            .register(
                &draft,
                &program,
                &principal.actor(),
                app.clock.now(),
                Some(&key),
            )
            .await
            .expect("register");

        let retry = app
            .http
            .post(format!("{}/api/v1/registrations", app.base))
            .bearer_auth(ADMIN)
            .header("Idempotency-Key", "retry-1")
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(retry.status(), StatusCode::CREATED, "{db:?}");
        let answer: Value = retry.json().await.expect("json");
        assert_eq!(answer["id"], created.registration.id.0, "{db:?}: {answer}");
        assert_eq!(count_registrations(&app).await, 1, "{db:?}");
    }
}

#[tokio::test]
async fn partner_users_are_unique_by_email_and_validated() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("A", "service").await;
        let path = format!("/api/v1/partners/{partner}/users");
        let (status, user) = app
            .post(
                &path,
                ADMIN,
                json!({"name": "Dana Scully", "email": "dana@fbi.gov"}),
            )
            .await;
        assert_eq!(
            (status, user["email"].as_str()),
            (StatusCode::CREATED, Some("dana@fbi.gov")),
            "{db:?}: {user}"
        );
        let (status, body) = app
            .post(
                &path,
                ADMIN,
                json!({"name": "Dana again", "email": "dana@fbi.gov"}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}: {body}");
        let (status, body) = app
            .post(&path, ADMIN, json!({"name": "", "email": "nope"}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}: {body}");
        assert_eq!(
            body["errors"].as_array().map(Vec::len),
            Some(2),
            "{db:?}: {body}"
        );
        let (status, _) = app
            .post(
                "/api/v1/partners/999/users",
                ADMIN,
                json!({"name": "X", "email": "x@y.com"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{db:?}");
    }
}

#[tokio::test]
async fn lists_page_by_id_and_filter_by_status_partner_and_account() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (a, b) = (
            app.partner("A", "reseller").await,
            app.partner("B", "reseller").await,
        );
        for i in 0..5 {
            let partner = if i % 2 == 0 { a } else { b };
            let (status, _) = app
                .post(
                    "/api/v1/registrations",
                    ADMIN,
                    lead_for(partner, &format!("Firm {i}"), &format!("firm{i}.com")),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{db:?}");
        }
        let (_, page) = app.get("/api/v1/registrations?limit=2", ADMIN).await;
        assert_eq!(page["items"].as_array().map(Vec::len), Some(2), "{db:?}");
        let after = page["next_after"].as_i64().expect("next page");
        let (_, rest) = app
            .get(
                &format!("/api/v1/registrations?limit=10&after={after}"),
                ADMIN,
            )
            .await;
        assert_eq!(rest["items"].as_array().map(Vec::len), Some(3), "{db:?}");
        assert_eq!(rest["next_after"], Value::Null);
        let (_, mine) = app
            .get(&format!("/api/v1/registrations?partner_id={a}"), ADMIN)
            .await;
        assert_eq!(mine["items"].as_array().map(Vec::len), Some(3), "{db:?}");
        let (_, none) = app
            .get("/api/v1/registrations?status=approved", ADMIN)
            .await;
        assert_eq!(none["items"], json!([]), "{db:?}");
        let account = rest["items"][0]["account_id"].as_i64().expect("account");
        let (_, on_account) = app
            .get(
                &format!("/api/v1/registrations?account_id={account}"),
                ADMIN,
            )
            .await;
        assert_eq!(
            on_account["items"].as_array().map(Vec::len),
            Some(1),
            "{db:?}"
        );
        for bad in ["status=open", "limit=0", "limit=501", "colour=red"] {
            let (status, body) = app
                .get(&format!("/api/v1/registrations?{bad}"), ADMIN)
                .await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{db:?}: {bad}: {body}"
            );
        }
    }
}
