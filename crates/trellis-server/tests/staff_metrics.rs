//! The staff metrics page and its CSV files, on every backend: a small
//! program built through the REST API on the test clock, and every figure
//! checked on the page and in the files.

use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::Duration;
use trellis_store::Role;
use trellis_testkit::web::{location, Visitor};
use trellis_testkit::{backends, lead_for, TestApp, ADMIN_TOKEN as ADMIN};

/// Registers a lead for `partner` with its market; returns the answer.
async fn register(app: &TestApp, partner: i64, domain: &str, market: [Option<&str>; 3]) -> Value {
    let mut body = lead_for(partner, &format!("{domain} Inc"), domain);
    for (field, value) in ["segment", "region", "product"].iter().zip(market) {
        if let Some(value) = value {
            body[*field] = value.into();
        }
    }
    let (status, answer) = app.post("/api/v1/registrations", ADMIN, body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer
}

async fn act(app: &TestApp, registration: &Value, what: &str, body: Value) {
    let path = format!("/api/v1/registrations/{}/{what}", registration["id"]);
    let (status, answer) = app.post(&path, ADMIN, body).await;
    assert_eq!(status, StatusCode::OK, "{what}: {answer}");
}

async fn meeting(app: &TestApp, registration: &Value) {
    let held = app.clock.now().format(&Rfc3339).expect("format");
    act(app, registration, "meetings", json!({ "held_at": held })).await;
}

/// The program of the test, from 2026-01-05 09:00 (t0), viewed at t0 + 25
/// days:
/// - Northwind: two enterprise leads in EMEA, approved after 2 h (met its
///   first meeting on day 3, won 1000.50 EUR on day 10) and after 5 h (no
///   meeting, lost on day 10);
/// - "=Evil Partner": two SMB leads in AMER, declined after 2 h, and
///   approved after 30 h with its meeting on day 13, still holding;
/// - Gamma and Delta each register acme.com (left open), globex.com
///   (resolved by staff for Delta on day 1) and initech.com (Delta's
///   declined after 2 h, so the policy settles it for Gamma).
async fn build(app: &TestApp) {
    let north = app.partner("Northwind <Traders>", "reseller").await;
    let evil = app.partner("=Evil Partner", "reseller").await;
    let gamma = app.partner("Gamma", "reseller").await;
    let delta = app.partner("Delta", "reseller").await;
    let enterprise = [Some("enterprise"), Some("emea"), Some("core")];
    let smb = [Some("smb"), Some("amer"), Some("addon")];
    let won = register(app, north, "wonco.com", enterprise).await;
    let lost = register(app, north, "lostco.com", enterprise).await;
    let declined = register(app, evil, "declinedco.com", smb).await;
    let holding = register(app, evil, "holdingco.com", smb).await;
    for domain in ["acme.com", "globex.com", "initech.com"] {
        register(app, gamma, domain, [None; 3]).await;
    }
    let _acme = register(app, delta, "acme.com", [None; 3]).await;
    let globex = register(app, delta, "globex.com", [None; 3]).await;
    let initech = register(app, delta, "initech.com", [None; 3]).await;

    app.advance(Duration::hours(2));
    act(app, &won, "decision", json!({"decision": "approve"})).await;
    act(
        app,
        &declined,
        "decision",
        json!({"decision": "decline", "reason": "Out of territory"}),
    )
    .await;
    act(
        app,
        &initech,
        "decision",
        json!({"decision": "decline", "reason": "Duplicate"}),
    )
    .await;
    app.advance(Duration::hours(3));
    act(app, &lost, "decision", json!({"decision": "approve"})).await;
    app.advance(Duration::hours(19));
    let conflict = globex["conflict"]["id"].as_i64().expect("conflict");
    let body = json!({"winner": globex["case_number"], "reason": "Delta met them first"});
    let (status, answer) = app
        .post(
            &format!("/api/v1/conflicts/{conflict}/resolve"),
            ADMIN,
            body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    app.advance(Duration::hours(6));
    act(app, &holding, "decision", json!({"decision": "approve"})).await;
    app.advance(Duration::days(2) - Duration::hours(6));
    meeting(app, &won).await;
    app.advance(Duration::days(7));
    act(
        app,
        &won,
        "outcome",
        json!({"outcome": "won", "amount": "1000.50", "currency": "EUR"}),
    )
    .await;
    act(
        app,
        &lost,
        "outcome",
        json!({"outcome": "lost", "reason": "Budget cut"}),
    )
    .await;
    app.advance(Duration::days(3));
    meeting(app, &holding).await;
    app.advance(Duration::days(12));
}

/// A table row as the page writes it: the label, then the figures.
fn row(cells: &[&str]) -> String {
    let mut html = format!("<tr><th scope=\"row\">{}</th>", cells[0]);
    for cell in &cells[1..] {
        html.push_str(&format!("<td class=\"num\">{cell}</td>"));
    }
    html + "</tr>"
}

async fn csv(visitor: &Visitor, name: &str, period: &str) -> String {
    let response = visitor
        .get(&format!("/staff/metrics/{name}.csv?period={period}"))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{name}");
    assert_eq!(response.headers()[CONTENT_TYPE], "text/csv; charset=utf-8");
    let disposition = response.headers()[CONTENT_DISPOSITION]
        .to_str()
        .expect("header");
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{name}-{period}.csv\"")
    );
    response.text().await.expect("csv")
}

/// What each metric's file holds for the program above, in the last 90
/// days: the rows with anything in them (weekly rows are otherwise zero).
const EXPECTED: [(&str, &str); 10] = [
    ("meetings", "Week of 2026-01-04,3,2,0,67%\n"),
    (
        "approval-by-partner",
        "Partner,Submitted,Approved,Declined,Approval rate\nGamma,3,0,1,0%\nDelta,3,0,1,0%\n\
         Northwind <Traders>,2,2,0,100%\n'=Evil Partner,2,1,1,50%\n",
    ),
    (
        "approval-by-segment",
        "Segment,Submitted,Approved,Declined,Approval rate\n(none),6,0,2,0%\nenterprise,2,2,0,100%\nsmb,2,1,1,50%\n",
    ),
    ("conflicts", "Week of 2026-01-04,1,1,1\n"),
    ("outcomes", "Week of 2026-01-11,1,1,50%\n"),
    ("won-volume", "Currency,Won,Amount,Amount in minor units\nEUR,1,1000.50,100050\n"),
    (
        "response-times",
        "Time to,Registrations,Median hours,90th percentile hours\nFirst response,6,2,30\nApproval,3,5,30\n",
    ),
    ("holds-by-region", "Region,Active holds\namer,1\n"),
    ("holds-by-segment", "Segment,Active holds\nsmb,1\n"),
    ("holds-by-product", "Product,Active holds\naddon,1\n"),
];

#[tokio::test]
async fn every_metric_shows_the_program_exactly_on_the_page_and_in_its_file() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        build(&app).await;
        let staff = app.staff_visitor(Role::Manager).await;
        let (status, html) = staff.page("/staff/metrics").await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {html}");
        let shown = [
            row(&["Week of 2026-01-04", "3", "2", "0", "67%"]),
            row(&["Northwind &#60;Traders&#62;", "2", "2", "0", "100%"]),
            row(&["=Evil Partner", "2", "1", "1", "50%"]),
            row(&["(none)", "6", "0", "2", "0%"]),
            row(&["Week of 2026-01-04", "1", "1", "1"]),
            row(&["Week of 2026-01-11", "1", "1", "50%"]),
            row(&["EUR", "1", "1000.50", "100050"]),
            row(&["First response", "6", "2", "30"]),
            row(&["Approval", "3", "5", "30"]),
            row(&["amer", "1"]),
        ];
        for fragment in shown {
            assert!(html.contains(&fragment), "{db:?}: {fragment} in {html}");
        }
        assert!(html.contains(
            "2 of 3 approvals whose SLA has run had a first meeting within 14 days (67%)."
        ));
        assert!(html.contains("<option value=\"90d\" selected>"), "{html}");
        assert!(html.contains("href=\"/staff/metrics/won-volume.csv?period=90d\""));
        assert!(html
            .contains("<title id=\"outcomes-title\">Win rate on approved registrations</title>"));
        assert!(!html.contains("style="), "no inline styles: {html}");
        for (name, rows) in EXPECTED {
            let file = csv(&staff, name, "90d").await;
            assert!(file.contains(rows), "{db:?} {name}: {file}");
        }
        let weeks = csv(&staff, "meetings", "90d").await;
        assert_eq!(weeks.lines().count(), 1 + 13, "{weeks}");
        assert!(weeks.starts_with("Approved in,Approved,Met the SLA,Still in time,Rate\nWeek of 2025-11-02,0,0,0,n/a\n"), "{weeks}");
    }
}

#[tokio::test]
async fn the_period_bounds_every_figure_but_the_holds_running_now() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        build(&app).await;
        // Day 60: the program's first days are out of the last 30.
        app.advance(Duration::days(35));
        let staff = app.staff_visitor(Role::Manager).await;
        let partners = csv(&staff, "approval-by-partner", "30d").await;
        assert_eq!(
            partners, "Partner,Submitted,Approved,Declined,Approval rate\n",
            "{db:?}"
        );
        let volume = csv(&staff, "won-volume", "30d").await;
        assert_eq!(volume, "Currency,Won,Amount,Amount in minor units\n");
        assert!(csv(&staff, "holds-by-region", "30d")
            .await
            .contains("amer,1\n"));
        for period in ["90d", "quarter"] {
            let volume = csv(&staff, "won-volume", period).await;
            assert!(
                volume.contains("EUR,1,1000.50,100050\n"),
                "{period}: {volume}"
            );
        }
        let months = csv(&staff, "outcomes", "365d").await;
        assert!(months.contains("\n2026-01,1,1,50%\n"), "{months}");
        assert_eq!(months.lines().count(), 1 + 13, "{months}");
        let (status, html) = staff.page("/staff/metrics?period=30d").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<option value=\"30d\" selected>"));
        assert!(html.contains("0 won and 0 lost"), "{html}");
    }
}

#[tokio::test]
async fn a_period_not_offered_is_named_with_the_choices_and_the_default_shown() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let staff = app.staff_visitor(Role::Admin).await;
        let (status, html) = staff.page("/staff/metrics?period=%3Cweek%3E").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");
        assert!(
            html.contains("There is no period &#34;&#60;week&#62;&#34;: choose one of 30d, 90d, 365d, quarter."),
            "{html}"
        );
        assert!(html.contains("<option value=\"90d\" selected>"));
        let response = staff.get("/staff/metrics/outcomes.csv?period=ever").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let response = staff.get("/staff/metrics/secrets.csv").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let response = staff.get("/staff/metrics/outcomes.txt").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn only_a_staff_session_opens_the_metrics() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = app.partner("Northwind", "reseller").await;
        app.partner_user(partner, "Nora", "nora@northwind.com")
            .await;
        let partner_user = Visitor::new(&app);
        partner_user.page("/portal/sign-in").await;
        partner_user
            .post("/portal/sign-in", &[("work_email", "nora@northwind.com")])
            .await;
        let link = app.sign_in_link(1, "nora@northwind.com").await;
        let signed_in = partner_user.get(&link).await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "{db:?}");
        let (status, _) = partner_user.page("/portal").await;
        assert_eq!(status, StatusCode::OK, "the portal session works");
        let stranger = Visitor::new(&app);
        for visitor in [&stranger, &partner_user] {
            for (path, next) in [
                ("/staff/metrics", "%2Fstaff%2Fmetrics"),
                (
                    "/staff/metrics?period=30d",
                    "%2Fstaff%2Fmetrics%3Fperiod%3D30d",
                ),
                (
                    "/staff/metrics/outcomes.csv",
                    "%2Fstaff%2Fmetrics%2Foutcomes.csv",
                ),
            ] {
                let response = visitor.get(path).await;
                assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
                assert_eq!(location(&response), format!("/staff/sign-in?next={next}"));
            }
        }
    }
}

#[tokio::test]
async fn figures_kept_between_visits_follow_every_change_at_once() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let staff = app.staff_visitor(Role::Manager).await;
        let partner = app.partner("Northwind", "reseller").await;
        let acme = app.register(partner, "Acme Corp", "acme.com").await;
        let (_, before) = staff.page("/staff/metrics").await;
        assert!(!before.contains("100% of 1"), "{db:?}: nothing decided yet");
        let (_, again) = staff.page("/staff/metrics").await;
        assert_eq!(
            before, again,
            "{db:?}: the same figures while nothing changed"
        );
        app.approve(acme).await;
        let (_, after) = staff.page("/staff/metrics").await;
        assert!(
            after.contains("100% of 1"),
            "{db:?}: the approval counts at once"
        );
    }
}
