//! The partner portal driven over HTTP as a browser would: a sign-in link
//! read from the outbox, the session cookie, the hidden CSRF field.

use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::{redirect, Response, StatusCode};
use trellis_domain::program::Program;
use trellis_testkit::{backends, Db, TestApp, ADMIN_TOKEN};

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
        let csrf_cookie = cookie(&page, "trellis_csrf").expect("a CSRF cookie");
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

    async fn ask_for_link(&self, app: &TestApp, email: &str) -> (StatusCode, String) {
        let response = self
            .post(app, "/portal/sign-in", &self.csrf, &[("work_email", email)])
            .await;
        (response.status(), response.text().await.expect("html"))
    }

    /// Follows a sign-in link; keeps the session cookie it sets.
    async fn follow(&mut self, app: &TestApp, link: &str) -> Response {
        let response = self.get(app, link).await;
        if let Some(set) = cookie(&response, "trellis_portal") {
            self.session = Some(set.split(';').next().expect("pair").to_owned());
        }
        response
    }
}

/// The `Set-Cookie` header that sets `name`, whole.
fn cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
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
    let mut browser = Browser::open(app).await;
    browser.ask_for_link(app, NORA).await;
    let link = app.sign_in_link(1, NORA).await;
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
        let set = cookie(&first, "trellis_portal").expect("a session cookie");
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
        assert!(cookie(&again, "trellis_portal").is_none(), "{db:?}");
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
    let set = cookie(&response, "trellis_portal").expect("a session cookie");
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
        let cleared = cookie(&out, "trellis_portal").expect("the cookie is cleared");
        assert!(cleared.starts_with("trellis_portal=;"), "{db:?}: {cleared}");
        let after = browser.get(&app, "/portal").await;
        assert_eq!(
            after.status(),
            StatusCode::SEE_OTHER,
            "{db:?}: the old cookie opens nothing"
        );
    }
}
