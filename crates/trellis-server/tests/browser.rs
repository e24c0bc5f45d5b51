//! The partner portal and the staff queue end to end in real headless Chromium: the person's
//! own clicks and typing, the real form with its CSRF field, the cookies as
//! the browser keeps them. Screenshots land in `target/screenshots/`.

use reqwest::StatusCode;
use serde_json::json;
use trellis_store::Role;
use trellis_testkit::browser::Browser;
use trellis_testkit::web::STAFF_PASSWORD;
use trellis_testkit::{Db, TestApp, ADMIN_TOKEN};

const NORA: &str = "nora@northwind.com";

#[tokio::test]
async fn a_partner_signs_in_by_mailed_link_sees_its_standing_and_signs_out() {
    let Some(browser) = Browser::open("portal_sign_in").await else {
        return;
    };
    let app = TestApp::spawn(Db::Sqlite).await;
    let partner = app.partner("Northwind", "reseller").await;
    app.partner_user(partner, "Nora", NORA).await;
    let acme = app.register(partner, "Acme Corp", "acme.com").await;
    app.approve(acme).await;
    let revenue = json!({"metric": "revenue", "value": 50000, "occurred_at": "2025-06-01T00:00:00Z",
                         "source_id": "invoice-1"});
    let metrics = format!("/api/v1/partners/{partner}/metrics");
    let (status, body) = app.post(&metrics, ADMIN_TOKEN, revenue).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.advance(time::Duration::days(10));

    browser.visit(&format!("{}/portal/sign-in", app.base)).await;
    browser.screenshot("1-sign-in").await;
    browser.fill("Your work email", NORA).await;
    browser.click("Email me a sign-in link").await;
    assert_eq!(browser.text_of("h1").await, "Check your mail");
    browser.screenshot("2-check-your-mail").await;

    let link = app.sign_in_link(1, NORA).await;
    browser.visit(&format!("{}{link}", app.base)).await;
    assert_eq!(browser.path().await, "/portal");
    assert_eq!(browser.text_of("h1").await, "Northwind");
    assert_eq!(
        browser.text_of("#tier-heading").await,
        "Your tier: Registered"
    );
    let (_, card) = app
        .get(
            &format!("/api/v1/partners/{partner}/scorecard"),
            ADMIN_TOKEN,
        )
        .await;
    let percent = (card["progress_to_next"].as_f64().expect("progress") * 100.0).round();
    assert!(percent > 0.0, "some way to the next tier: {card}");
    assert_eq!(
        browser.attribute("progress#tier-progress", "value").await,
        Some(percent.to_string()),
        "the bar shows the scorecard's progress"
    );
    let label = browser.text_of("label[for=tier-progress]").await;
    assert!(
        label.starts_with(&format!("{percent}% of the way to Select")),
        "{label}"
    );
    let registrations = browser
        .text_of("section[aria-labelledby=registrations-heading]")
        .await;
    for expected in [
        format!("REG-{acme:06}"),
        "Acme Corp".into(),
        "80 days left".into(),
    ] {
        assert!(
            registrations.contains(&expected),
            "{expected} in {registrations}"
        );
    }
    browser.screenshot("3-home").await;
    browser.phone_screenshot("3-home").await;

    browser.click("Sign out").await;
    assert_eq!(browser.path().await, "/portal/sign-in");
    browser.visit(&format!("{}/portal", app.base)).await;
    assert_eq!(
        browser.path().await,
        "/portal/sign-in",
        "signed out, the home page sends the browser to sign in"
    );
    browser.close().await;
}

/// The whole journey: a partner registers a lead in the portal and sees it
/// pending; staff approve it from the queue; the partner sees the hold
/// counting down and its tier progress; a second partner's claim on the same
/// company shows on the staff conflict panel.
#[tokio::test]
async fn a_lead_goes_from_the_portal_through_the_queue_to_a_conflict_panel() {
    let Some(browser) = Browser::open("portal_registration").await else {
        return;
    };
    let app = TestApp::spawn(Db::Sqlite).await;
    let partner = app.partner("Northwind", "reseller").await;
    app.partner_user(partner, "Nora", NORA).await;
    let revenue = json!({"metric": "revenue", "value": 50000, "occurred_at": "2025-06-01T00:00:00Z",
                         "source_id": "invoice-1"});
    let metrics = format!("/api/v1/partners/{partner}/metrics");
    let (status, body) = app.post(&metrics, ADMIN_TOKEN, revenue).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    browser.visit(&format!("{}/portal/sign-in", app.base)).await;
    browser.fill("Your work email", NORA).await;
    browser.click("Email me a sign-in link").await;
    let link = app.sign_in_link(1, NORA).await;
    browser.visit(&format!("{}{link}", app.base)).await;
    assert_eq!(browser.path().await, "/portal");

    browser.click("Register a prospect").await;
    assert_eq!(browser.path().await, "/portal/registrations/new");
    browser.screenshot("1-new-registration").await;
    browser.phone_screenshot("1-new-registration").await;
    for (label, value) in [
        ("Company", "Initech"),
        ("Website", "initech.com"),
        ("Contact name", "Peter Gibbons"),
        ("Contact email", "peter@initech.com"),
        ("What do they need?", "TPS reports, automated"),
    ] {
        browser.fill(label, value).await;
    }
    browser
        .check("The contact agreed to be registered with the vendor")
        .await;
    browser.click("Register").await;

    assert_eq!(browser.path().await, "/portal/registrations/REG-000001");
    assert_eq!(browser.text_of("h1").await, "Initech");
    assert_eq!(browser.text_of("#status").await, "Pending");
    let timeline = browser.text_of("ol.timeline").await;
    assert!(
        timeline.contains("Received through the web form; waiting for the partner team's decision"),
        "{timeline}"
    );
    browser.screenshot("2-detail").await;
    browser.phone_screenshot("2-detail").await;

    browser.click("Registrations").await;
    assert_eq!(browser.path().await, "/portal/registrations");
    let list = browser.text_of("#registrations").await;
    for expected in ["REG-000001", "Pending", "Initech", "held once approved"] {
        assert!(list.contains(expected), "{expected} in {list}");
    }
    browser.screenshot("3-list").await;
    browser.phone_screenshot("3-list").await;
    let (_, registration) = app.get("/api/v1/registrations/1", ADMIN_TOKEN).await;
    assert_eq!(registration["status"], "submitted", "{registration}");

    // The partner team approves it from the queue, in the same browser.
    app.staff_user("Sam Staff", "sam@vendor.example", Role::Manager)
        .await;
    browser.visit(&format!("{}/staff/queue", app.base)).await;
    browser.fill("Work email", "sam@vendor.example").await;
    browser.fill("Password", STAFF_PASSWORD).await;
    browser.click("Sign in").await;
    assert_eq!(browser.path().await, "/staff/queue");
    let row = browser.text_of("tr[id='REG-000001']").await;
    assert!(
        row.contains("Initech") && row.contains("Northwind"),
        "{row}"
    );
    browser.click("Approve").await;
    assert_eq!(browser.text_of("p.done").await, "REG-000001 approved.");

    // The partner sees the hold counting down, and its tier progress.
    app.advance(time::Duration::days(10));
    browser.visit(&format!("{}/portal", app.base)).await;
    let registrations = browser
        .text_of("section[aria-labelledby=registrations-heading]")
        .await;
    assert!(registrations.contains("80 days left"), "{registrations}");
    let label = browser.text_of("label[for=tier-progress]").await;
    assert!(label.contains("of the way to Select"), "{label}");
    browser.screenshot("4-home-approved").await;
    browser
        .visit(&format!("{}/portal/registrations/REG-000001", app.base))
        .await;
    assert_eq!(browser.text_of("#status").await, "Approved");
    browser.screenshot("5-detail-approved").await;

    // A second partner claims the same company: staff see it on the panel.
    let globex = app.partner("Globex Partners", "reseller").await;
    let second = app.register(globex, "Initech Inc", "initech.com").await;
    browser
        .visit(&format!("{}/staff/registrations/REG-{second:06}", app.base))
        .await;
    // Ten days on, the 12-hour staff session has lapsed: signing in again
    // returns to the page asked for.
    assert_eq!(browser.path().await, "/staff/sign-in");
    browser.fill("Work email", "sam@vendor.example").await;
    browser.fill("Password", STAFF_PASSWORD).await;
    browser.click("Sign in").await;
    assert_eq!(
        browser.path().await,
        format!("/staff/registrations/REG-{second:06}")
    );
    let panel = browser.text_of("section.conflict-panel").await;
    for expected in ["Northwind", "Globex Partners", "REG-000001"] {
        assert!(panel.contains(expected), "{expected} in {panel}");
    }
    browser.screenshot("6-staff-conflict-panel").await;
    browser.close().await;
}

/// A staff manager signs in with a password, approves a partner's lead
/// from the queue with one click, and weighs a second partner's claim on
/// the same company in the registration's conflict panel.
#[tokio::test]
async fn a_staff_manager_approves_from_the_queue_and_reads_the_conflict_panel() {
    let Some(browser) = Browser::open("staff_queue").await else {
        return;
    };
    let app = TestApp::spawn(Db::Sqlite).await;
    app.staff_user("Sam Staff", "sam@vendor.example", Role::Manager)
        .await;
    let northwind = app.partner("Northwind", "reseller").await;
    let acme = app.register(northwind, "Acme Corp", "acme.com").await;
    let acme_case = format!("REG-{acme:06}");

    browser.visit(&format!("{}/staff/queue", app.base)).await;
    assert_eq!(browser.path().await, "/staff/sign-in");
    browser.fill("Work email", "sam@vendor.example").await;
    browser.fill("Password", STAFF_PASSWORD).await;
    browser.click("Sign in").await;
    assert_eq!(browser.path().await, "/staff/queue");
    let row = browser.text_of(&format!("tr[id='{acme_case}']")).await;
    assert!(
        row.contains("Northwind") && row.contains("waited 0 h of 48 h"),
        "{row}"
    );
    browser.screenshot("1-queue").await;

    browser.click("Approve").await;
    assert_eq!(
        browser.text_of("p.done").await,
        format!("{acme_case} approved.")
    );
    let (_, registration) = app
        .get(&format!("/api/v1/registrations/{acme}"), ADMIN_TOKEN)
        .await;
    assert_eq!(registration["status"], "approved", "{registration}");

    let globex = app.partner("Globex Partners", "reseller").await;
    let second = app.register(globex, "ACME Corporation", "acme.com").await;
    browser.visit(&format!("{}/staff/queue", app.base)).await;
    let row = browser.text_of(&format!("tr[id='REG-{second:06}']")).await;
    assert!(
        row.contains(&format!("conflicts with {acme_case} (Northwind)")),
        "{row}"
    );
    browser.click(&format!("REG-{second:06}")).await;
    let panel = browser.text_of("section.conflict-panel").await;
    for expected in ["first_meeting", "Northwind", "Globex Partners", "Open:"] {
        assert!(panel.contains(expected), "{expected} in {panel}");
    }
    browser.screenshot("2-conflict-panel").await;

    browser.click("Conflicts").await;
    assert_eq!(browser.path().await, "/staff/conflicts");
    let open = browser.text_of("article.conflict").await;
    assert!(
        open.contains(&acme_case) && open.contains("Globex Partners"),
        "{open}"
    );
    browser.screenshot("3-conflicts").await;
    browser.close().await;
}
