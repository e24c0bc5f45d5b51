//! The partner portal driven over HTTP as a browser would: a sign-in link
//! read from the outbox, the session cookie, the hidden CSRF field.

use reqwest::header::LOCATION;
use reqwest::{redirect, Response, StatusCode};
use serde_json::{json, Value};
use trellis_domain::program::Program;
use trellis_testkit::web::set_cookie;
use trellis_testkit::{backends, event_kinds, Db, TestApp, ADMIN_TOKEN};

const NORA: &str = "nora@northwind.com";

/// What a browser holds: the CSRF cookie and field, and once signed in the
/// session cookie.
struct Browser {
    http: reqwest::Client,
    csrf_cookie: String,
    csrf: String,
    session: Option<String>,
}

impl Browser {
    /// Opens the sign-in page, as a person does first.
    async fn open(app: &TestApp) -> Browser {
        let http = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .build()
            .expect("client");
        let page = http
            .get(format!("{}/portal/sign-in", app.base))
            .send()
            .await
            .expect("get");
        assert_eq!(page.status(), StatusCode::OK);
        let csrf_cookie = set_cookie(&page, "trellis_csrf").expect("a CSRF cookie");
        let pair = csrf_cookie.split(';').next().expect("pair").to_owned();
        let csrf = pair.split('=').nth(1).expect("value").to_owned();
        let html = page.text().await.expect("html");
        assert!(
            html.contains(&format!("value=\"{csrf}\"")) && html.contains("for=\"work_email\""),
            "{html}"
        );
        Browser {
            http,
            csrf_cookie: pair,
            csrf,
            session: None,
        }
    }

    fn cookies(&self) -> String {
        match &self.session {
            Some(session) => format!("{}; {session}", self.csrf_cookie),
            None => self.csrf_cookie.clone(),
        }
    }

    async fn get(&self, app: &TestApp, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", app.base))
            .header("cookie", self.cookies())
            .send()
            .await
            .expect("get")
    }

    /// Posts `fields` with the CSRF field set to `csrf`.
    async fn post(
        &self,
        app: &TestApp,
        path: &str,
        csrf: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let mut form = vec![("csrf", csrf)];
        form.extend_from_slice(fields);
        self.http
            .post(format!("{}{path}", app.base))
            .header("cookie", self.cookies())
            .form(&form)
            .send()
            .await
            .expect("post")
    }

    /// A page's status and HTML.
    async fn page(&self, app: &TestApp, path: &str) -> (StatusCode, String) {
        let response = self.get(app, path).await;
        (response.status(), response.text().await.expect("html"))
    }

    /// Posts a form with this browser's CSRF token; status, where it
    /// redirects (if it does) and the HTML.
    async fn submit(
        &self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let response = self.post(app, path, &self.csrf, fields).await;
        let status = response.status();
        let to = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().expect("location").to_owned())
            .unwrap_or_default();
        (status, to, response.text().await.expect("html"))
    }

    async fn ask_for_link(&self, app: &TestApp, email: &str) -> (StatusCode, String) {
        let response = self
            .post(app, "/portal/sign-in", &self.csrf, &[("work_email", email)])
            .await;
        (response.status(), response.text().await.expect("html"))
    }

    /// Follows a sign-in link; keeps the session cookie it sets.
    async fn follow(&mut self, app: &TestApp, link: &str) -> Response {
        let response = self.get(app, link).await;
        if let Some(set) = set_cookie(&response, "trellis_portal") {
            self.session = Some(set.split(';').next().expect("pair").to_owned());
        }
        response
    }
}

fn location(response: &Response) -> &str {
    response.headers()[LOCATION].to_str().expect("location")
}

/// A partner with Nora as one of its people; returns the partner's id.
async fn northwind(app: &TestApp) -> i64 {
    let partner = app.partner("Northwind", "reseller").await;
    app.partner_user(partner, "Nora", NORA).await;
    partner
}

async fn signed_in(app: &TestApp) -> Browser {
    signed_in_as(app, NORA, 1).await
}

/// A browser signed in as `email`, whose link is mail number `nth`.
async fn signed_in_as(app: &TestApp, email: &str, nth: usize) -> Browser {
    let mut browser = Browser::open(app).await;
    browser.ask_for_link(app, email).await;
    let link = app.sign_in_link(nth, email).await;
    let response = browser.follow(app, &link).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    browser
}

#[tokio::test]
async fn a_mailed_link_signs_in_once_with_a_guarded_cookie() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        northwind(&app).await;
        let mut browser = Browser::open(&app).await;
        let home = browser.get(&app, "/portal").await;
        assert_eq!(home.status(), StatusCode::SEE_OTHER, "{db:?}");
        assert_eq!(location(&home), "/portal/sign-in");

        let (status, html) = browser.ask_for_link(&app, NORA).await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        assert!(html.contains("Check your mail"), "{db:?}: {html}");
        let link = app.sign_in_link(1, NORA).await;

        let first = browser.follow(&app, &link).await;
        assert_eq!(first.status(), StatusCode::SEE_OTHER, "{db:?}");
        assert_eq!(location(&first), "/portal");
        let set = set_cookie(&first, "trellis_portal").expect("a session cookie");
        for attribute in [
            "HttpOnly",
            "SameSite=Lax",
            "Path=/portal",
            "Max-Age=1209600",
        ] {
            assert!(set.contains(attribute), "{db:?}: {attribute} in {set}");
        }
        assert!(!set.contains("Secure"), "{db:?}: plain http: {set}");
        let home = browser.get(&app, "/portal").await;
        assert_eq!(home.status(), StatusCode::OK, "{db:?}");
        assert!(home.text().await.expect("html").contains("Northwind"));

        let again = Browser::open(&app).await.follow(&app, &link).await;
        assert_eq!(again.status(), StatusCode::GONE, "{db:?}: single use");
        assert!(set_cookie(&again, "trellis_portal").is_none(), "{db:?}");
        assert!(again
            .text()
            .await
            .expect("html")
            .contains("Ask for a new link"));
    }
}

#[tokio::test]
async fn an_expired_link_is_refused_and_an_unknown_address_gets_the_same_answer_and_no_mail() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        northwind(&app).await;
        let mut browser = Browser::open(&app).await;
        let (_, known) = browser.ask_for_link(&app, NORA).await;
        let link = app.sign_in_link(1, NORA).await;
        app.advance(time::Duration::minutes(31));
        let late = browser.follow(&app, &link).await;
        assert_eq!(late.status(), StatusCode::GONE, "{db:?}: expired");
        assert!(browser.session.is_none(), "{db:?}");

        let stranger = "eve@northwind-partners.com";
        let (status, unknown) = browser.ask_for_link(&app, stranger).await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        assert_eq!(
            unknown.replace(stranger, "ADDRESS"),
            known.replace(NORA, "ADDRESS"),
            "{db:?}: the same page whether or not the address is known"
        );
        browser.ask_for_link(&app, NORA).await;
        let mail = app.mail_once_there_are(2).await;
        assert!(
            mail.len() == 2 && mail.iter().all(|m| m.contains(&format!("To: {NORA}"))),
            "{db:?}: no mail to a stranger: {mail:?}"
        );
    }
}

#[tokio::test]
async fn behind_https_the_session_cookie_is_secure() {
    let app = TestApp::spawn_tuned(Db::Sqlite, Program::default(), |state| {
        state.public_url = "https://partners.example.com".into()
    })
    .await;
    northwind(&app).await;
    let mut browser = Browser::open(&app).await;
    browser.ask_for_link(&app, NORA).await;
    let link = app.sign_in_link(1, NORA).await;
    let mail = app.sent_mail().pop().expect("mail");
    assert!(
        mail.contains("https://partners.example.com/portal/sign-in/"),
        "{mail}"
    );
    let response = browser.follow(&app, &link).await;
    let set = set_cookie(&response, "trellis_portal").expect("a session cookie");
    assert!(set.contains("Secure"), "{set}");
}

#[tokio::test]
async fn the_home_page_shows_only_the_partners_own_standing_and_registrations() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = northwind(&app).await;
        let rival = app.partner("Contoso", "reseller").await;
        let acme = app.register(partner, "Acme Corp", "acme.com").await;
        let pending = app.register(partner, "Globex", "globex.com").await;
        let hidden = app
            .register(rival, "Zanzibar Hidden Holdings", "zanzibar-hidden.com")
            .await;
        app.approve(acme).await;
        app.approve(hidden).await;
        app.advance(time::Duration::days(10));
        let browser = signed_in(&app).await;

        let home = browser.get(&app, "/portal").await;
        assert_eq!(home.status(), StatusCode::OK, "{db:?}");
        let csp = home.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_owned();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        let html = home.text().await.expect("html");
        let (_, card) = app
            .get(
                &format!("/api/v1/partners/{partner}/scorecard"),
                ADMIN_TOKEN,
            )
            .await;
        let percent = (card["progress_to_next"].as_f64().expect("progress") * 100.0).round();
        for expected in [
            "Your tier: Registered".to_owned(),
            format!("<progress id=\"tier-progress\" max=\"100\" value=\"{percent}\">"),
            "of the way to Select".to_owned(),
            "Acme Corp".to_owned(),
            "80 days left".to_owned(),
            "Globex".to_owned(),
            "held once approved".to_owned(),
            format!("REG-{acme:06} approved"),
        ] {
            assert!(html.contains(&expected), "{db:?}: {expected} in {html}");
        }
        assert!(html.contains(&format!("REG-{pending:06}")), "{db:?}");
        assert!(
            !html.contains("Zanzibar"),
            "{db:?}: another partner's registration"
        );
        assert!(
            !html.contains(&format!("REG-{hidden:06}")),
            "{db:?}: another partner's decision"
        );
    }
}

#[tokio::test]
async fn signing_out_ends_the_session_and_posts_without_the_csrf_token_change_nothing() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        northwind(&app).await;
        let browser = signed_in(&app).await;

        let forged = browser.post(&app, "/portal/sign-out", "", &[]).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{db:?}");
        assert_eq!(
            browser.get(&app, "/portal").await.status(),
            StatusCode::OK,
            "{db:?}: still signed in"
        );
        let mails = app.sent_mail().len();
        let forged = browser
            .post(
                &app,
                "/portal/sign-in",
                &"0".repeat(64),
                &[("work_email", NORA)],
            )
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{db:?}");
        assert_eq!(app.sent_mail().len(), mails, "{db:?}: no link sent");

        let out = browser
            .post(&app, "/portal/sign-out", &browser.csrf, &[])
            .await;
        assert_eq!(out.status(), StatusCode::SEE_OTHER, "{db:?}");
        assert_eq!(location(&out), "/portal/sign-in");
        let cleared = set_cookie(&out, "trellis_portal").expect("the cookie is cleared");
        assert!(cleared.starts_with("trellis_portal=;"), "{db:?}: {cleared}");
        let after = browser.get(&app, "/portal").await;
        assert_eq!(
            after.status(),
            StatusCode::SEE_OTHER,
            "{db:?}: the old cookie opens nothing"
        );
    }
}

/// The portal page of registration `id`.
fn case(id: i64) -> String {
    format!("/portal/registrations/REG-{id:06}")
}

/// A registration as staff read it from the API.
async fn registration(app: &TestApp, id: i64) -> Value {
    let (status, body) = app
        .get(&format!("/api/v1/registrations/{id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The kinds of a registration's events, oldest first.
async fn kinds(app: &TestApp, id: i64) -> Vec<String> {
    let path = format!("/api/v1/registrations/{id}/events");
    event_kinds(&app.get(&path, ADMIN_TOKEN).await.1)
}

/// The kinds of a partner's own events (tier, reviews, appeals).
async fn partner_kinds(app: &TestApp, partner: i64) -> Vec<String> {
    let path = format!("/api/v1/partners/{partner}/events");
    event_kinds(&app.get(&path, ADMIN_TOKEN).await.1)
}

/// Staff ask the partner a question about registration `id`.
async fn ask(app: &TestApp, id: i64, question: &str) {
    let path = format!("/api/v1/registrations/{id}/decision");
    let body = json!({"decision": "request_info", "reason": question});
    let (status, body) = app.post(&path, ADMIN_TOKEN, body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Reviews the quarter that ended before the test clock starts and
/// publishes it; returns the review's id.
async fn published_review(app: &TestApp) -> i64 {
    let (status, review) = app
        .post(
            "/api/v1/reviews",
            ADMIN_TOKEN,
            json!({"quarter": "2025-Q4"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{review}");
    let id = review["id"].as_i64().expect("review id");
    let path = format!("/api/v1/reviews/{id}/publish");
    let (status, body) = app.post(&path, ADMIN_TOKEN, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

#[tokio::test]
async fn the_registration_pages_show_the_partners_cases_with_their_deadlines_and_history() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = northwind(&app).await;
        let acme = app.register(partner, "Acme Corp", "acme.com").await;
        let globex = app.register(partner, "Globex", "globex.com").await;
        app.approve(acme).await;
        ask(&app, globex, "Which product line?").await;
        app.advance(time::Duration::days(10));
        let browser = signed_in(&app).await;

        let (status, home) = browser.page(&app, "/portal").await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        assert!(
            home.contains("href=\"/portal/registrations\"")
                && home.contains("href=\"/portal/appeals\"")
                && home.contains(&format!("href=\"{}\"", case(acme))),
            "{db:?}: {home}"
        );
        let (status, list) = browser.page(&app, "/portal/registrations").await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        for expected in ["Acme Corp", "80 days left", "Globex", "Needs your answer"] {
            assert!(list.contains(expected), "{db:?}: {expected} in {list}");
        }
        assert!(
            list.find("Globex") < list.find("Acme Corp"),
            "{db:?}: newest first"
        );

        let (status, page) = browser.page(&app, &case(acme)).await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        for expected in [
            "<h1>Acme Corp</h1>",
            "Approved",
            "Protected until</dt><dd>2026-04-05 (80 days left)",
            "First meeting due</dt><dd>2026-01-19 (4 days left)",
            "Jane Doe &#60;jane@acme.com&#62;",
            "action=\"/portal/registrations/REG-000001/meeting\"",
            "<label for=\"held_on\">Date of the meeting</label>",
            "Received through the API",
            "Approved: protected for 90 days, until 2026-04-05",
        ] {
            assert!(page.contains(expected), "{db:?}: {expected} in {page}");
        }
        assert!(!page.contains("/answer\""), "{db:?}: nothing to answer");

        let (_, page) = browser.page(&app, &case(globex)).await;
        for expected in [
            "The partner team asks: Which product line?",
            "action=\"/portal/registrations/REG-000002/answer\"",
            "<label for=\"message\">Your answer</label>",
            "The partner team asked for more information: Which product line?",
        ] {
            assert!(page.contains(expected), "{db:?}: {expected} in {page}");
        }
        assert!(!page.contains("/meeting\""), "{db:?}: not approved yet");
    }
}

#[tokio::test]
async fn the_list_shows_a_page_at_a_time_and_continues_below_the_last_one_shown() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = northwind(&app).await;
        for n in 1..=26 {
            let company = format!("Company {n:02}");
            app.register(partner, &company, &format!("company{n}.com"))
                .await;
        }
        let browser = signed_in(&app).await;
        let (_, first) = browser.page(&app, "/portal/registrations").await;
        assert!(
            first.contains("Company 26") && first.contains("Company 02"),
            "{db:?}"
        );
        assert!(!first.contains("Company 01"), "{db:?}: on the next page");
        let more = "/portal/registrations?before=2";
        assert!(
            first.contains(&format!("href=\"{more}\"")),
            "{db:?}: {first}"
        );
        let (_, second) = browser.page(&app, more).await;
        assert!(
            second.contains("Company 01") && !second.contains("Company 02"),
            "{db:?}: {second}"
        );
        assert!(!second.contains("Show more"), "{db:?}: the last page");
    }
}

#[tokio::test]
async fn answering_and_logging_a_meeting_run_the_lifecycle_and_refused_input_changes_nothing() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = northwind(&app).await;
        let acme = app.register(partner, "Acme Corp", "acme.com").await;
        let globex = app.register(partner, "Globex", "globex.com").await;
        ask(&app, globex, "Which product line?").await;
        app.approve(acme).await;
        let browser = signed_in(&app).await;
        let answer = format!("{}/answer", case(globex));

        let (status, _, html) = browser.submit(&app, &answer, &[("message", " ")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");
        assert!(
            html.contains("Your answer: write the answer to the question"),
            "{db:?}: {html}"
        );
        let forged = browser
            .post(&app, &answer, "", &[("message", "EU only")])
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{db:?}");
        assert_eq!(registration(&app, globex).await["status"], "more_info");

        let (status, to, _) = browser
            .submit(&app, &answer, &[("message", "The EU product line")])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{db:?}");
        assert_eq!(to, case(globex));
        assert_eq!(registration(&app, globex).await["status"], "submitted");
        assert!(kinds(&app, globex).await.contains(&"info_provided".into()));
        let (_, page) = browser.page(&app, &case(globex)).await;
        assert!(
            page.contains("Answered: The EU product line") && page.contains("Pending"),
            "{db:?}: {page}"
        );
        let (status, _, html) = browser.submit(&app, &answer, &[("message", "Again")]).await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}: nothing asked now");
        assert!(html.contains("a registration that is submitted"), "{html}");

        let meeting = format!("{}/meeting", case(acme));
        for (held_on, problem) in [
            ("soon", "Date of the meeting: &#39;soon&#39; is not a date"),
            (
                "2026-01-09",
                "Date of the meeting: must not be in the future",
            ),
            (
                "2026-01-04",
                "Date of the meeting: must not be before the registration",
            ),
        ] {
            let (status, _, html) = browser
                .submit(&app, &meeting, &[("held_on", held_on)])
                .await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{db:?}: {held_on}"
            );
            assert!(html.contains(problem), "{db:?}: {problem} in {html}");
            assert!(
                html.contains(&format!("value=\"{held_on}\"")),
                "{db:?}: kept"
            );
        }
        let forged = browser
            .post(&app, &meeting, "", &[("held_on", "2026-01-05")])
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{db:?}");
        assert!(registration(&app, acme).await["first_meeting_at"].is_null());

        app.advance(time::Duration::days(2));
        let (status, to, _) = browser
            .submit(&app, &meeting, &[("held_on", "2026-01-06")])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{db:?}");
        assert_eq!(to, case(acme));
        let record = registration(&app, acme).await;
        assert_eq!(record["first_meeting_at"], "2026-01-06T00:00:00Z", "{db:?}");
        assert!(kinds(&app, acme).await.contains(&"meeting_logged".into()));
        let (_, page) = browser.page(&app, &case(acme)).await;
        assert!(
            page.contains("First meeting</dt><dd>held on 2026-01-06")
                && !page.contains("/meeting\""),
            "{db:?}: {page}"
        );
        let (status, _, html) = browser
            .submit(&app, &meeting, &[("held_on", "2026-01-06")])
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}");
        assert!(html.contains("already logged"), "{db:?}: {html}");
    }
}

/// A lead as the portal's form sends it.
const LEAD: &[(&str, &str)] = &[
    ("kind", "lead"),
    ("company_name", "Initech"),
    ("company_domain", "https://www.initech.com/about"),
    ("contact_name", "Peter Gibbons"),
    ("contact_email", "peter@initech.com"),
    ("use_case", "TPS reports"),
    ("consent", "yes"),
];

#[tokio::test]
async fn a_partner_registers_a_lead_and_a_deal_through_the_same_rules_as_the_api() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = northwind(&app).await;
        let browser = signed_in(&app).await;
        let new = "/portal/registrations/new";
        let (status, form) = browser.page(&app, new).await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        for label in [
            "Company",
            "Website",
            "Contact email",
            "Amount",
            "Expected close date",
        ] {
            assert!(
                form.contains(&format!("\">{label}</label>")),
                "{db:?}: {label}"
            );
        }
        assert!(
            !form.contains("name=\"segment\""),
            "{db:?}: not split by segment"
        );

        let forged = browser.post(&app, new, "", LEAD).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{db:?}");
        let incomplete = [
            ("kind", "lead"),
            ("company_name", " "),
            ("contact_email", "peter@"),
        ];
        let (status, _, html) = browser.submit(&app, new, &incomplete).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");
        for problem in [
            "Company: is required",
            "Consent: must be true",
            "Contact email: ",
        ] {
            assert!(html.contains(problem), "{db:?}: {problem} in {html}");
        }
        let mut deal = LEAD.to_vec();
        deal.extend([
            ("kind", "deal"),
            ("stage", "Discovery"),
            ("currency", "EUR"),
        ]);
        deal.retain(|(k, v)| *k != "kind" || *v == "deal");
        let (status, _, html) = browser.submit(&app, new, &deal).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");
        assert!(
            html.contains("Amount: is required for a deal")
                && html.contains("Expected close date: is required")
                && html.contains("value=\"Discovery\""),
            "{db:?}: {html}"
        );
        let (_, list) = app.get("/api/v1/registrations", ADMIN_TOKEN).await;
        assert_eq!(
            list["items"].as_array().map(Vec::len),
            Some(0),
            "{db:?}: {list}"
        );

        let (status, to, _) = browser.submit(&app, new, LEAD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{db:?}");
        assert_eq!(to, case(1));
        let lead = registration(&app, 1).await;
        assert_eq!(
            (
                &lead["kind"],
                &lead["channel"],
                &lead["partner_id"],
                &lead["company_domain"]
            ),
            (
                &json!("lead"),
                &json!("form"),
                &json!(partner),
                &json!("initech.com")
            ),
            "{db:?}: {lead}"
        );
        let (_, page) = browser.page(&app, &to).await;
        assert!(
            page.contains("Pending") && page.contains("Received through the web form"),
            "{db:?}: {page}"
        );

        let (status, _, html) = browser.submit(&app, new, LEAD).await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}: a second claim");
        assert!(
            html.contains("REG-000001"),
            "{db:?}: names the case: {html}"
        );

        deal.retain(|(k, _)| !k.starts_with("company") && !k.starts_with("contact"));
        deal.extend([
            ("company_name", "Umbrella"),
            ("contact_name", "Alice"),
            ("contact_email", "alice@umbrella.com"),
            ("amount", "12500.00"),
            ("expected_close_date", "2026-03-31"),
            ("next_step", "Demo"),
        ]);
        let (status, to, _) = browser.submit(&app, new, &deal).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{db:?}");
        assert_eq!(to, case(2));
        let (_, page) = browser.page(&app, &to).await;
        for expected in [
            "Deal stage</dt><dd>Discovery",
            "Amount</dt><dd>12500.00 EUR",
            "Expected close</dt><dd>2026-03-31",
            "Next step</dt><dd>Demo",
        ] {
            assert!(page.contains(expected), "{db:?}: {expected} in {page}");
        }
        assert_eq!(
            kinds(&app, 2).await.last().map(String::as_str),
            Some("submitted")
        );
    }
}

#[tokio::test]
async fn a_partner_appeals_a_published_review_decision_with_evidence() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = northwind(&app).await;
        let review = published_review(&app).await;
        let browser = signed_in(&app).await;
        let (status, list) = browser.page(&app, "/portal/appeals").await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        let appeal = format!("/portal/reviews/{review}/appeal");
        assert!(
            list.contains("2025-Q4: Stays at Registered")
                && list.contains("Appeal by 2026-02-04")
                && list.contains(&format!("href=\"{appeal}\"")),
            "{db:?}: {list}"
        );
        let (status, form) = browser.page(&app, &appeal).await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        assert!(
            form.contains("<label for=\"evidence\">Evidence links</label>"),
            "{db:?}"
        );

        let evidence = "https://example.com/deal-1\n\nftp://example.com/x";
        let (status, _, html) = browser
            .submit(
                &app,
                &appeal,
                &[("message", "We closed two deals"), ("evidence", evidence)],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");
        assert!(
            html.contains(
                "Evidence links: &#39;ftp://example.com/x&#39; is not an http or https URL"
            ),
            "{db:?}: {html}"
        );
        let (status, _, html) = browser.submit(&app, &appeal, &[("message", "")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");
        assert!(
            html.contains("Why the decision should change: "),
            "{db:?}: {html}"
        );
        let forged = browser
            .post(&app, &appeal, "", &[("message", "We closed two deals")])
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{db:?}");
        assert!(!partner_kinds(&app, partner)
            .await
            .contains(&"appeal_filed".into()));

        let evidence = "https://example.com/deal-1\r\n https://example.com/deal-2 \r\n";
        let (status, to, _) = browser
            .submit(
                &app,
                &appeal,
                &[("message", "We closed two deals"), ("evidence", evidence)],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{db:?}");
        assert_eq!(to, "/portal/appeals");
        assert!(partner_kinds(&app, partner)
            .await
            .contains(&"appeal_filed".into()));
        let (_, list) = browser.page(&app, "/portal/appeals").await;
        assert!(
            list.contains("Appeal open")
                && list.contains("You wrote: We closed two deals")
                && list.contains("href=\"https://example.com/deal-2\"")
                && !list.contains(&format!("href=\"{appeal}\"")),
            "{db:?}: {list}"
        );
        let (status, _, html) = browser
            .submit(&app, &appeal, &[("message", "Once more")])
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{db:?}");
        assert!(html.contains("already appealed"), "{db:?}: {html}");

        app.advance(time::Duration::days(31));
        // Past the session's lifetime too: signed in afresh.
        let browser = signed_in_as(&app, NORA, 2).await;
        let (_, list) = browser.page(&app, "/portal/appeals").await;
        assert!(
            list.contains("The appeal window closed on 2026-02-04"),
            "{db:?}: {list}"
        );
    }
}

#[tokio::test]
async fn another_partners_session_finds_none_of_the_first_partners_cases_or_decisions() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = northwind(&app).await;
        let acme = app.register(partner, "Acme Corp", "acme.com").await;
        let globex = app.register(partner, "Globex", "globex.com").await;
        app.approve(acme).await;
        ask(&app, globex, "Which product line?").await;
        // Reviewed before the rival existed: the decision is Northwind's alone.
        let review = published_review(&app).await;
        let rival = app.partner("Contoso", "reseller").await;
        app.partner_user(rival, "Carl", "carl@contoso.com").await;
        app.register(rival, "Initech", "initech.com").await;
        let browser = signed_in_as(&app, "carl@contoso.com", 1).await;

        let (_, unknown) = browser.page(&app, &case(999)).await;
        let appeal = format!("/portal/reviews/{review}/appeal");
        for path in [case(acme), case(globex), appeal.clone()] {
            let (status, html) = browser.page(&app, &path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{db:?}: {path}");
            assert_eq!(html, unknown, "{db:?}: {path} answers as an unknown case");
        }
        let posts = [
            (format!("{}/answer", case(globex)), ("message", "EU only")),
            (format!("{}/meeting", case(acme)), ("held_on", "2026-01-05")),
            (appeal, ("message", "Not fair")),
        ];
        for (path, field) in &posts {
            let (status, _, html) = browser.submit(&app, path, &[*field]).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{db:?}: {path}");
            assert_eq!(html, unknown, "{db:?}: {path}");
        }
        assert_eq!(registration(&app, globex).await["status"], "more_info");
        assert!(registration(&app, acme).await["first_meeting_at"].is_null());
        let appeals = partner_kinds(&app, partner).await;
        assert!(!appeals.contains(&"appeal_filed".into()), "{db:?}");

        for path in [
            "/portal",
            "/portal/registrations",
            "/portal/registrations/new",
            "/portal/appeals",
        ] {
            let (status, html) = browser.page(&app, path).await;
            assert_eq!(status, StatusCode::OK, "{db:?}: {path}");
            for theirs in [
                "Acme Corp",
                "Globex",
                "REG-000001",
                "REG-000002",
                "Northwind",
            ] {
                assert!(!html.contains(theirs), "{db:?}: {theirs} on {path}");
            }
        }
        let (_, own) = browser.page(&app, "/portal/registrations").await;
        assert!(own.contains("Initech"), "{db:?}: its own registration");
    }
}

#[tokio::test]
async fn a_case_link_opened_before_signing_in_opens_after_the_mailed_link() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = northwind(&app).await;
        let acme = app.register(partner, "Acme Corp", "acme.com").await;
        let mut browser = Browser::open(&app).await;
        let asked = browser.get(&app, &case(acme)).await;
        assert_eq!(asked.status(), StatusCode::SEE_OTHER, "{db:?}");
        let sign_in = "/portal/sign-in?next=%2Fportal%2Fregistrations%2FREG-000001";
        assert_eq!(location(&asked), sign_in, "{db:?}");
        let (_, form) = browser.page(&app, sign_in).await;
        assert!(
            form.contains("name=\"next\" value=\"/portal/registrations/REG-000001\""),
            "{db:?}: {form}"
        );

        let fields = [
            ("work_email", NORA),
            ("next", "/portal/registrations/REG-000001"),
        ];
        browser.submit(&app, "/portal/sign-in", &fields).await;
        let link = app.sign_in_link(1, NORA).await;
        assert!(
            link.ends_with("?next=%2Fportal%2Fregistrations%2FREG-000001"),
            "{link}"
        );
        let opened = browser.follow(&app, &link).await;
        assert_eq!(location(&opened), case(acme), "{db:?}");
        let (status, page) = browser.page(&app, &case(acme)).await;
        assert_eq!(status, StatusCode::OK, "{db:?}");
        assert!(page.contains("Acme Corp"), "{db:?}");

        let elsewhere = Browser::open(&app).await;
        let fields = [("work_email", NORA), ("next", "//evil.example/portal/")];
        elsewhere.submit(&app, "/portal/sign-in", &fields).await;
        let link = app.sign_in_link(2, NORA).await;
        assert!(
            !link.contains("next"),
            "{db:?}: an unsafe next is dropped: {link}"
        );
        let mut elsewhere = elsewhere;
        assert_eq!(location(&elsewhere.follow(&app, &link).await), "/portal");
    }
}
