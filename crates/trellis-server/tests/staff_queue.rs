//! The staff validation queue, a registration's page with its conflict
//! panel, and the conflicts list, over HTTP as a signed-in staff member
//! on every backend: decisions and manual settlements go through the same
//! rules as the API and are recorded as the person's; refused forms and
//! forged posts change nothing; no page opens without a staff session.

use reqwest::header::SET_COOKIE;
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::Duration;
use trellis_domain::ids::{ConflictId, RegistrationId};
use trellis_store::Role;
use trellis_testkit::web::{location, Visitor, STAFF_PASSWORD};
use trellis_testkit::{backends, TestApp, ADMIN_TOKEN as ADMIN};

fn case(id: i64) -> String {
    format!("REG-{id:06}")
}

async fn status_of(app: &TestApp, id: i64) -> String {
    let (_, body) = app.get(&format!("/api/v1/registrations/{id}"), ADMIN).await;
    body["status"].as_str().expect("status").to_owned()
}

async fn events_of(app: &TestApp, id: i64) -> Vec<Value> {
    let (_, body) = app
        .get(&format!("/api/v1/registrations/{id}/events"), ADMIN)
        .await;
    body.as_array().expect("events").clone()
}

/// Alpha and Beta each register Acme (acme.com); returns both ids.
async fn claims_on_acme(app: &TestApp) -> (i64, i64) {
    let alpha = app.partner("Alpha", "reseller").await;
    let beta = app.partner("Beta", "reseller").await;
    let first = app.register(alpha, "Acme Corp", "acme.com").await;
    app.advance(Duration::hours(1));
    let second = app.register(beta, "ACME Corporation", "acme.com").await;
    (first, second)
}

async fn decide(visitor: &Visitor, id: i64, fields: &[(&str, &str)]) -> reqwest::Response {
    let path = format!("/staff/registrations/{}/decide", case(id));
    visitor.post(&path, fields).await
}

#[tokio::test]
async fn the_queue_lists_the_oldest_first_with_the_time_waited_and_marks_the_overdue() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("Northwind", "reseller").await;
        let older = app.register(partner, "Acme Corp", "acme.com").await;
        app.advance(Duration::hours(30));
        let newer = app.register(partner, "Globex", "globex.com").await;
        let staff = app.staff_visitor(Role::Manager).await;

        let (status, html) = staff.page("/staff/queue").await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        let (at_older, at_newer) = (
            html.find(&case(older)).expect("older listed"),
            html.find(&case(newer)).expect("newer listed"),
        );
        assert!(at_older < at_newer, "oldest first");
        assert!(html.contains("waited 30 h of 48 h"), "{html}");
        assert!(html.contains("waited 0 h of 48 h"), "{html}");
        assert!(!html.contains(", overdue"), "nothing overdue yet");
        assert!(
            html.contains("Northwind") && html.contains("globex.com"),
            "{html}"
        );

        app.advance(Duration::hours(19));
        // A staff session lasts 12 hours: sign in again.
        let staff = Visitor::new(&app);
        staff.page("/staff/sign-in").await;
        let fields = [
            ("email", "manager@vendor.example"),
            ("password", STAFF_PASSWORD),
        ];
        staff.post("/staff/sign-in", &fields).await;
        let (status, html) = staff.page("/staff/queue").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(
            html.contains("class=\"sla overdue\">waited 49 h of 48 h, overdue"),
            "{html}"
        );
        assert!(
            html.contains("waited 19 h of 48 h</td>"),
            "the newer is not"
        );
    }
}

#[tokio::test]
async fn decisions_from_the_queue_change_the_registration_and_name_the_staff_user() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("Northwind", "reseller").await;
        let ids = [
            app.register(partner, "Acme Corp", "acme.com").await,
            app.register(partner, "Globex", "globex.com").await,
            app.register(partner, "Initech", "initech.com").await,
        ];
        let staff = app.staff_visitor(Role::Manager).await;
        staff.page("/staff/queue").await;
        let decisions = [
            (ids[0], "approve", "", "approved"),
            (ids[1], "decline", "Existing customer", "declined"),
            (ids[2], "request_info", "Which team is buying?", "more_info"),
        ];
        for (id, decision, reason, expected) in decisions {
            let fields = [
                ("decision", decision),
                ("reason", reason),
                ("back", "queue"),
            ];
            let response = decide(&staff, id, &fields).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{db:?}");
            assert_eq!(
                location(&response),
                format!("/staff/queue?done={}&did={decision}", case(id))
            );
            assert_eq!(status_of(&app, id).await, expected);
            let events = events_of(&app, id).await;
            let last = events.last().expect("an event");
            let actor = last["actor"].as_str().expect("actor");
            assert!(actor.starts_with("staff-user:"), "{last}");
        }
        let (_, html) = staff
            .page(&format!("/staff/queue?done={}&did=approve", case(ids[0])))
            .await;
        assert!(html.contains(&format!("{} approved.", case(ids[0]))));
        assert!(
            html.contains("Nothing is waiting for a decision."),
            "{html}"
        );
        let waiting = &html[html.find("Waiting on the partner</h2>").expect("list")..];
        assert!(
            waiting.contains(&case(ids[2])) && waiting.contains("Which team is buying?"),
            "{waiting}"
        );
        let (_, detail) = staff
            .page(&format!("/staff/registrations/{}", case(ids[1])))
            .await;
        assert!(
            detail.contains("declined: Existing customer <span class=\"who\">by Sam Staff</span>"),
            "{detail}"
        );
    }
}

#[tokio::test]
async fn a_refused_decision_says_what_to_fix_beside_its_row_and_changes_nothing() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("Northwind", "reseller").await;
        let id = app.register(partner, "Acme Corp", "acme.com").await;
        let before = events_of(&app, id).await.len();
        let staff = app.staff_visitor(Role::Manager).await;
        staff.page("/staff/queue").await;

        let fields = [("decision", "decline"), ("reason", "  "), ("back", "queue")];
        let response = decide(&staff, id, &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{db:?}"
        );
        let html = response.text().await.expect("html");
        let row = &html[html
            .find(&format!("<tr id=\"{}\">", case(id)))
            .expect("row")..];
        assert!(
            row.contains("role=\"alert\"") && row.contains("say why it is declined"),
            "{row}"
        );
        assert!(row.contains("id=\"decline-REG-") && row.contains("aria-invalid=\"true\""));
        assert_eq!(status_of(&app, id).await, "submitted");
        assert_eq!(events_of(&app, id).await.len(), before);

        app.approve(id).await;
        let fields = [("decision", "approve"), ("back", "detail")];
        let response = decide(&staff, id, &fields).await;
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let html = response.text().await.expect("html");
        assert!(
            html.contains("cannot approve") || html.contains("approved"),
            "{html}"
        );
        assert!(
            html.contains("role=\"alert\""),
            "the 409 message is shown: {html}"
        );
    }
}

#[tokio::test]
async fn posts_without_the_csrf_token_change_nothing() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (first, second) = claims_on_acme(&app).await;
        let staff = app.staff_visitor(Role::Manager).await;
        let (_, html) = staff
            .page(&format!("/staff/registrations/{}", case(first)))
            .await;
        let conflict = html
            .split("/staff/conflicts/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .expect("a resolve form")
            .to_owned();
        let before = events_of(&app, first).await.len();
        for csrf in ["", "forged"] {
            let path = format!("/staff/registrations/{}/decide", case(first));
            let response = staff
                .post_with_csrf(&path, csrf, &[("decision", "approve")])
                .await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{db:?}");
            let path = format!("/staff/conflicts/{conflict}/resolve");
            let fields = [
                ("case", case(first)),
                ("winner", case(second)),
                ("reason", "forged".into()),
            ];
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = staff.post_with_csrf(&path, csrf, &fields).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
        }
        assert_eq!(status_of(&app, first).await, "submitted");
        assert_eq!(status_of(&app, second).await, "submitted");
        assert_eq!(events_of(&app, first).await.len(), before);
    }
}

#[tokio::test]
async fn the_registration_page_shows_the_account_the_conflict_policy_and_the_winner() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (first, second) = claims_on_acme(&app).await;
        let staff = app.staff_visitor(Role::Manager).await;
        let page = format!("/staff/registrations/{}", case(first));
        let (status, html) = staff.page(&page).await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        let others = &html[html.find("Other open registrations").expect("others")..];
        assert!(others.contains(&case(second)) && others.contains("Beta"));
        let panel = &html[html.find("Channel conflict").expect("the conflict panel")..];
        for expected in [
            "first_meeting",
            "the first partner to log a customer meeting keeps the registration",
            "Open: the first to log a meeting within its window wins.",
            "Alpha",
            "Beta",
            &case(second),
            "Resolve conflict",
        ] {
            assert!(panel.contains(expected), "{expected} in {panel}");
        }
        assert!(
            html.contains("Reason to decline"),
            "decision forms while it waits"
        );

        app.approve(first).await;
        app.approve(second).await;
        let meeting = json!({"held_at": "2026-01-05T10:00:00Z"});
        let path = format!("/api/v1/registrations/{second}/meetings");
        let (status, body) = app.post(&path, ADMIN, meeting).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        let (_, html) = staff.page(&page).await;
        let panel = &html[html.find("Channel conflict").expect("the conflict panel")..];
        assert!(
            panel.contains(&format!(
                "{} (Beta) won: {} logged the first meeting",
                case(second),
                case(second)
            )),
            "{panel}"
        );
        assert!(!panel.contains("Resolve conflict"), "settled: no form");
        assert!(
            !html.contains("Reason to decline"),
            "declined: nothing to decide"
        );
        assert!(html.contains("by API token"), "who approved: {html}");
        assert!(html.contains("by Trellis"), "who settled");

        let (status, html) = staff.page("/staff/conflicts").await;
        assert_eq!(status, StatusCode::OK);
        let settled = &html[html.find("Recently settled").expect("settled")..];
        assert!(settled.contains(&case(first)) && settled.contains("Acme Corp"));
        assert!(html.contains("No open conflicts."));
    }
}

#[tokio::test]
async fn staff_settle_a_conflict_by_hand_with_a_reason() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let (first, second) = claims_on_acme(&app).await;
        let staff = app.staff_visitor(Role::Manager).await;
        let (_, conflicts) = staff.page("/staff/conflicts").await;
        let open = &conflicts[conflicts.find("Open</h2>").expect("open")..];
        assert!(
            open.contains(&case(first)) && open.contains(&case(second)),
            "{open}"
        );
        let page = format!("/staff/registrations/{}", case(second));
        let (_, html) = staff.page(&page).await;
        let conflict = html
            .split("/staff/conflicts/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .expect("a resolve form")
            .to_owned();
        let path = format!("/staff/conflicts/{conflict}/resolve");

        let (second_case, first_case) = (case(second), case(first));
        let fields = [
            ("case", second_case.as_str()),
            ("winner", first_case.as_str()),
            ("reason", ""),
        ];
        let response = staff.post(&path, &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{db:?}"
        );
        let html = response.text().await.expect("html");
        assert!(html.contains("id=\"resolve-problem\""), "{html}");
        assert_eq!(status_of(&app, second).await, "submitted");

        let fields = [
            ("case", second_case.as_str()),
            ("winner", first_case.as_str()),
            ("reason", "Alpha brought the customer to us"),
        ];
        let response = staff.post(&path, &fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            location(&response),
            format!("/staff/registrations/{second_case}?done={first_case}&did=resolve")
        );
        assert_eq!(status_of(&app, second).await, "declined");
        assert_eq!(status_of(&app, first).await, "submitted");
        let id = ConflictId(conflict.parse().expect("conflict id"));
        let settled = app.store.conflict(id).await.expect("conflict");
        assert_eq!(settled.status, "resolved");
        assert_eq!(settled.winner_id, Some(RegistrationId(first)));
        let (_, html) = staff.page(location(&response)).await;
        assert!(html.contains("won the conflict"), "{html}");
        assert!(
            html.contains(&format!("{first_case} (Alpha) won: resolved by staff in favour of {first_case}: Alpha brought the customer to us")),
            "{html}"
        );
        assert!(html.contains("by Sam Staff"));
    }
}

#[tokio::test]
async fn no_staff_page_opens_without_a_staff_session() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("Northwind", "reseller").await;
        let id = app.register(partner, "Acme Corp", "acme.com").await;
        app.partner_user(partner, "Nora", "nora@northwind.com")
            .await;
        let portal = Visitor::new(&app);
        portal.page("/portal/sign-in").await;
        portal
            .post("/portal/sign-in", &[("work_email", "nora@northwind.com")])
            .await;
        let link = app.sign_in_link(1, "nora@northwind.com").await;
        let signed_in = portal.get(&link).await;
        let session = signed_in
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("trellis_portal="))
            .and_then(|v| v.split(';').next())
            .expect("a portal session")
            .to_owned();
        let anonymous = Visitor::new(&app);
        let bare = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let forged = format!("trellis_portal={session}; trellis_staff={session}");
        for path in [
            "/staff/queue".to_owned(),
            "/staff/conflicts".to_owned(),
            format!("/staff/registrations/{}", case(id)),
        ] {
            let response = anonymous.get(&path).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{db:?} {path}");
            assert!(location(&response).starts_with("/staff/sign-in?next="));
            let response = bare
                .get(format!("{}{path}", app.base))
                .header("cookie", &forged)
                .send()
                .await
                .expect("get");
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
            assert!(location(&response).starts_with("/staff/sign-in"));
        }
        for path in [
            format!("/staff/registrations/{}/decide", case(id)),
            "/staff/conflicts/1/resolve".to_owned(),
        ] {
            let response = anonymous.post(&path, &[("decision", "approve")]).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
            assert_eq!(location(&response), "/staff/sign-in");
        }
        assert_eq!(status_of(&app, id).await, "submitted");
    }
}
