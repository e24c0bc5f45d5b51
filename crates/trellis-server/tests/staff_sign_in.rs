//! Signing in to the staff workspace: by password (argon2, never told apart
//! from an unknown address), by mailed single-use link, returning to the
//! page asked for, and signing out; a partner's session opens nothing here.

use reqwest::{Response, StatusCode};
use trellis_store::Role;
use trellis_testkit::web::{location, set_cookie, Visitor, STAFF_PASSWORD};
use trellis_testkit::{backends, TestApp};

const SAM: &str = "sam@vendor.example";
/// A page only a signed-in staff user opens.
const PAGE: &str = "/staff/queue";

async fn sign_in(visitor: &Visitor, email: &str, password: &str) -> Response {
    visitor.page("/staff/sign-in").await;
    let fields = [("email", email), ("password", password)];
    visitor.post("/staff/sign-in", &fields).await
}

#[tokio::test]
async fn a_password_opens_a_guarded_session_and_a_wrong_one_is_told_apart_from_nothing() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        app.staff_user("Sam", SAM, Role::Manager).await;
        let visitor = Visitor::new(&app);
        let page = visitor.get(PAGE).await;
        assert_eq!(page.status(), StatusCode::SEE_OTHER, "{db:?}");
        assert_eq!(location(&page), "/staff/sign-in?next=%2Fstaff%2Fqueue");

        let wrong = sign_in(&visitor, SAM, "not the password at all").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{db:?}");
        assert!(set_cookie(&wrong, "trellis_staff").is_none(), "{db:?}");
        let wrong = wrong.text().await.expect("html");
        let unknown = sign_in(&visitor, "eve@vendor.example", STAFF_PASSWORD).await;
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED, "{db:?}");
        let unknown = unknown.text().await.expect("html");
        assert!(
            wrong.contains("That email and password do not match"),
            "{wrong}"
        );
        assert_eq!(
            wrong.replace(SAM, "ADDRESS"),
            unknown.replace("eve@vendor.example", "ADDRESS"),
            "{db:?}: the same answer whether or not the address is known"
        );
        assert_eq!(visitor.get(PAGE).await.status(), StatusCode::SEE_OTHER);

        let right = sign_in(&visitor, SAM, STAFF_PASSWORD).await;
        assert_eq!(right.status(), StatusCode::SEE_OTHER, "{db:?}");
        assert_eq!(location(&right), "/staff");
        let set = set_cookie(&right, "trellis_staff").expect("a session cookie");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/staff", "Max-Age=43200"] {
            assert!(set.contains(attribute), "{db:?}: {attribute} in {set}");
        }
        assert_eq!(visitor.get(PAGE).await.status(), StatusCode::OK, "{db:?}");
    }
}

#[tokio::test]
async fn a_mailed_link_signs_in_once_and_returns_to_the_page_asked_for() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        app.staff_user("Sam", SAM, Role::Admin).await;
        let visitor = Visitor::new(&app);
        visitor.page("/staff/sign-in?next=/staff/conflicts").await;
        let fields = [("email", SAM), ("next", "/staff/conflicts")];
        let asked = visitor.post("/staff/sign-in/link", &fields).await;
        assert_eq!(asked.status(), StatusCode::OK, "{db:?}");
        assert!(asked
            .text()
            .await
            .expect("html")
            .contains("Check your mail"));
        let link = app.staff_sign_in_link(1, SAM).await;
        assert!(link.ends_with("?next=%2Fstaff%2Fconflicts"), "{link}");

        let followed = visitor.get(&link).await;
        assert_eq!(followed.status(), StatusCode::SEE_OTHER, "{db:?}");
        assert_eq!(location(&followed), "/staff/conflicts");
        assert_eq!(visitor.get(PAGE).await.status(), StatusCode::OK, "{db:?}");
        let again = Visitor::new(&app).get(&link).await;
        assert_eq!(again.status(), StatusCode::GONE, "{db:?}: single use");

        visitor.page("/staff/sign-in").await;
        let stranger = [("email", "eve@vendor.example"), ("next", "")];
        let answer = visitor.post("/staff/sign-in/link", &stranger).await;
        assert_eq!(answer.status(), StatusCode::OK, "{db:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(app.sent_mail().len(), 1, "{db:?}: no mail to a stranger");
    }
}

#[tokio::test]
async fn after_sign_in_only_pages_of_the_workspace_are_returned_to() {
    let app = TestApp::spawn(trellis_testkit::Db::Sqlite).await;
    app.staff_user("Sam", SAM, Role::Manager).await;
    for next in [
        "https://evil.example/",
        "//evil.example/staff",
        "/portal",
        "/staffing",
    ] {
        let visitor = Visitor::new(&app);
        visitor.page(&format!("/staff/sign-in?next={next}")).await;
        let fields = [("email", SAM), ("password", STAFF_PASSWORD), ("next", next)];
        let signed_in = visitor.post("/staff/sign-in", &fields).await;
        assert_eq!(location(&signed_in), "/staff", "{next}");
    }
}

#[tokio::test]
async fn signing_out_ends_the_session_and_a_forged_post_changes_nothing() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let visitor = app.staff_visitor(Role::Manager).await;
        visitor.page(PAGE).await;
        let forged = visitor.post_with_csrf("/staff/sign-out", "", &[]).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{db:?}");
        assert_eq!(visitor.get(PAGE).await.status(), StatusCode::OK, "{db:?}");

        let out = visitor.post("/staff/sign-out", &[]).await;
        assert_eq!(out.status(), StatusCode::SEE_OTHER, "{db:?}");
        assert_eq!(location(&out), "/staff/sign-in");
        assert_eq!(
            visitor.get(PAGE).await.status(),
            StatusCode::SEE_OTHER,
            "{db:?}: signed out"
        );
    }
}

#[tokio::test]
async fn sessions_of_one_audience_never_open_the_other() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let now = app.clock.now();
        let user = app.staff_user("Sam", SAM, Role::Manager).await;
        let staff = trellis_store::NewSession {
            secret: "staff-secret",
            expires_at: now + time::Duration::hours(1),
        };
        app.store
            .open_staff_session(user.id, &staff, now)
            .await
            .expect("open");
        assert_eq!(
            app.store
                .staff_session("staff-secret", now)
                .await
                .expect("read"),
            Some(user),
            "{db:?}"
        );
        assert!(
            app.store
                .portal_session("staff-secret", now)
                .await
                .expect("read")
                .is_none(),
            "{db:?}: a staff secret is no portal session"
        );
        let later = now + time::Duration::hours(2);
        assert!(app
            .store
            .staff_session("staff-secret", later)
            .await
            .expect("read")
            .is_none());
        let purged = app
            .store
            .purge_expired_sign_ins(later)
            .await
            .expect("purge");
        assert_eq!(purged, 1, "{db:?}: the expired session is swept away");
    }
}

#[tokio::test]
async fn a_new_password_ends_the_persons_sessions() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let visitor = app.staff_visitor(Role::Admin).await;
        assert_eq!(visitor.get(PAGE).await.status(), StatusCode::OK, "{db:?}");
        let email = trellis_domain::dedupe::Email::parse("admin@vendor.example").expect("email");
        let hash = trellis_server::passwords::hash("another long password").expect("hash");
        app.store
            .set_staff_password(&email, Some(&hash))
            .await
            .expect("set");
        assert_eq!(
            visitor.get(PAGE).await.status(),
            StatusCode::SEE_OTHER,
            "{db:?}"
        );
        let old = sign_in(&Visitor::new(&app), "admin@vendor.example", STAFF_PASSWORD).await;
        assert_eq!(old.status(), StatusCode::UNAUTHORIZED, "{db:?}");
    }
}

#[tokio::test]
async fn an_admin_adds_people_who_sign_in_by_link_and_a_manager_may_not() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let manager = app.staff_visitor(Role::Manager).await;
        let (_, queue) = manager.page(PAGE).await;
        assert!(
            !queue.contains("/staff/people"),
            "{db:?}: not in a manager's nav"
        );
        let (status, _) = manager.page("/staff/people").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{db:?}");
        manager.page(PAGE).await;
        let fields = [
            ("name", "Eve"),
            ("email", "eve@vendor.example"),
            ("role", "admin"),
        ];
        let refused = manager.post("/staff/people", &fields).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{db:?}");

        let admin = app.staff_visitor(Role::Admin).await;
        let (status, html) = admin.page("/staff/people").await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        assert!(
            html.contains("manager@vendor.example") && html.contains("a password or a mailed link")
        );
        let bad = [
            ("name", " "),
            ("email", "not an address"),
            ("role", "partner"),
        ];
        let answer = admin.post("/staff/people", &bad).await;
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");
        let html = answer.text().await.expect("html");
        for problem in ["Name: give", "Work email:", "Role: choose admin or manager"] {
            assert!(html.contains(problem), "{db:?}: {problem} in {html}");
        }
        let (_, html) = admin.page("/staff/people").await;
        assert!(!html.contains("not an address"), "{db:?}: nothing added");

        let fields = [
            ("name", "Lee Ops"),
            ("email", "lee@vendor.example"),
            ("role", "manager"),
        ];
        let added = admin.post("/staff/people", &fields).await;
        assert_eq!(added.status(), StatusCode::SEE_OTHER, "{db:?}");
        let again = admin.post("/staff/people", &fields).await;
        assert_eq!(
            again.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{db:?}: once"
        );
        let lee = Visitor::new(&app);
        lee.page("/staff/sign-in").await;
        lee.post("/staff/sign-in/link", &[("email", "lee@vendor.example")])
            .await;
        let link = app.staff_sign_in_link(1, "lee@vendor.example").await;
        assert_eq!(
            lee.get(&link).await.status(),
            StatusCode::SEE_OTHER,
            "{db:?}"
        );
        assert_eq!(lee.get(PAGE).await.status(), StatusCode::OK, "{db:?}");
    }
}
