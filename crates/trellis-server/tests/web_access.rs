//! Who reaches which page. Every staff page and form answers only a staff
//! session: nobody signed in and a partner signed in to the portal are both
//! sent to the staff sign-in, and their posts change nothing; a portal
//! session's secret opens nothing but the portal; a portal cookie is no
//! credential for the API. Every staff page renders for staff.

use reqwest::StatusCode;
use serde_json::{json, Value};
use time::Duration;
use trellis_store::{NewSession, Role};
use trellis_testkit::web::{location, Visitor};
use trellis_testkit::{backends, TestApp, ADMIN_TOKEN};

/// What the pages are about: two partners in conflict over one account, a
/// draft review of the last quarter.
struct World {
    case: String,
    registration: i64,
    partner: i64,
    conflict: i64,
    review: i64,
}

async fn world(app: &TestApp) -> World {
    let partner = app.partner("Northwind", "reseller").await;
    app.partner_user(partner, "Nora", "nora@northwind.com")
        .await;
    let rival = app.partner("Contoso", "reseller").await;
    let registration = app.register(partner, "Acme Corp", "acme.com").await;
    app.register(rival, "Acme Corp", "acme.com").await;
    let (_, conflicts) = app.get("/api/v1/conflicts", ADMIN_TOKEN).await;
    let conflict = conflicts["items"][0]["id"].as_i64().expect("a conflict");
    let (status, review) = app
        .post(
            "/api/v1/reviews",
            ADMIN_TOKEN,
            json!({"quarter": "2025-Q4"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{review}");
    World {
        case: format!("REG-{registration:06}"),
        registration,
        partner,
        conflict,
        review: review["id"].as_i64().expect("review id"),
    }
}

fn staff_pages(w: &World) -> Vec<String> {
    vec![
        "/staff/queue".into(),
        format!("/staff/registrations/{}", w.case),
        "/staff/conflicts".into(),
        "/staff/partners".into(),
        format!("/staff/partners/{}", w.partner),
        "/staff/tiers".into(),
        "/staff/reviews".into(),
        format!("/staff/reviews/{}", w.review),
        "/staff/metrics".into(),
        "/staff/people".into(),
    ]
}

/// Every staff form, with fields that would change something if accepted.
fn staff_forms(w: &World) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            format!("/staff/registrations/{}/decide", w.case),
            vec![("decision", "decline"), ("reason", "not a fit")],
        ),
        (
            format!("/staff/conflicts/{}/resolve", w.conflict),
            vec![("winner", "1"), ("reason", "by hand")],
        ),
        ("/staff/reviews".into(), vec![("quarter", "2025-Q3")]),
        (
            format!("/staff/reviews/{}/proposals/{}", w.review, w.partner),
            vec![("tier", "elite"), ("reason", "by hand")],
        ),
        (format!("/staff/reviews/{}/publish", w.review), vec![]),
        (
            "/staff/people".into(),
            vec![
                ("name", "Eve"),
                ("email", "eve@evil.example"),
                ("role", "admin"),
            ],
        ),
    ]
}

/// What the forms could change, to compare before and after.
async fn state_of(app: &TestApp, w: &World) -> (Value, Value, Value) {
    let (_, registration) = app
        .get(
            &format!("/api/v1/registrations/{}", w.registration),
            ADMIN_TOKEN,
        )
        .await;
    let (_, conflict) = app.get("/api/v1/conflicts", ADMIN_TOKEN).await;
    let (_, review) = app
        .get(&format!("/api/v1/reviews/{}", w.review), ADMIN_TOKEN)
        .await;
    (registration, conflict, review)
}

/// A visitor signed in to the portal as Nora.
async fn partner_visitor(app: &TestApp) -> Visitor {
    let visitor = Visitor::new(app);
    visitor.page("/portal/sign-in").await;
    visitor
        .post("/portal/sign-in", &[("work_email", "nora@northwind.com")])
        .await;
    let link = app.sign_in_link(1, "nora@northwind.com").await;
    assert_eq!(visitor.get(&link).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(visitor.get("/portal").await.status(), StatusCode::OK);
    visitor
}

#[tokio::test]
async fn staff_pages_and_forms_answer_only_a_staff_session() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let w = world(&app).await;
        let before = state_of(&app, &w).await;
        let strangers = [Visitor::new(&app), partner_visitor(&app).await];
        for (who, visitor) in ["nobody", "a partner"].iter().zip(&strangers) {
            for page in staff_pages(&w) {
                let answer = visitor.get(&page).await;
                assert_eq!(
                    answer.status(),
                    StatusCode::SEE_OTHER,
                    "{db:?} {who}: {page}"
                );
                assert!(
                    location(&answer).starts_with("/staff/sign-in"),
                    "{db:?} {who}: {page}"
                );
            }
            // The partner's page carries a valid CSRF token for its cookie.
            visitor.page("/portal").await;
            for (form, fields) in staff_forms(&w) {
                let answer = visitor.post(&form, &fields).await;
                assert_eq!(
                    answer.status(),
                    StatusCode::SEE_OTHER,
                    "{db:?} {who}: {form}"
                );
                assert_eq!(location(&answer), "/staff/sign-in", "{db:?} {who}: {form}");
            }
        }
        assert_eq!(state_of(&app, &w).await, before, "{db:?}: nothing changed");

        let staff = app.staff_visitor(Role::Admin).await;
        for page in staff_pages(&w) {
            let (status, html) = staff.page(&page).await;
            assert_eq!(status, StatusCode::OK, "{db:?}: {page}: {html}");
            assert!(
                html.contains("Sam Staff (admin)"),
                "{db:?}: the frame on {page}"
            );
        }
    }
}

#[tokio::test]
async fn a_portal_session_secret_opens_nothing_but_the_portal() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let w = world(&app).await;
        let now = app.clock.now();
        let email = trellis_domain::dedupe::Email::parse("nora@northwind.com").expect("email");
        let sender = app
            .store
            .sender(&email)
            .await
            .expect("lookup")
            .expect("nora");
        let nora = sender.user.expect("a partner user").id;
        app.store
            .create_sign_in_link("known-link", nora, now, now + Duration::minutes(5))
            .await
            .expect("link");
        let session = NewSession {
            secret: "known-portal-session",
            expires_at: now + Duration::days(1),
        };
        app.store
            .redeem_sign_in_link("known-link", &session, now)
            .await
            .expect("redeem")
            .expect("a session");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let get = |path: &str, cookie: &str| {
            http.get(format!("{}{path}", app.base))
                .header("cookie", cookie.to_owned())
                .send()
        };
        let portal = get("/portal", "trellis_portal=known-portal-session")
            .await
            .expect("get");
        assert_eq!(
            portal.status(),
            StatusCode::OK,
            "{db:?}: the secret is a live session"
        );
        let staff = get("/staff/queue", "trellis_staff=known-portal-session")
            .await
            .expect("get");
        assert_eq!(
            staff.status(),
            StatusCode::SEE_OTHER,
            "{db:?}: not a staff session"
        );
        let api = get(
            "/api/v1/registrations",
            "trellis_portal=known-portal-session",
        )
        .await
        .expect("get");
        assert_eq!(
            api.status(),
            StatusCode::UNAUTHORIZED,
            "{db:?}: cookies are no API credential"
        );
        let other = format!("/api/v1/registrations/{}", w.registration);
        let api = get(&other, "trellis_portal=known-portal-session")
            .await
            .expect("get");
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED, "{db:?}");
    }
}
