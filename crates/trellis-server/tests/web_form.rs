//! The open registration form and the status page, driven over HTTP as a
//! browser would: cookie, hidden CSRF field, form encoding.

use axum::routing::post;
use reqwest::StatusCode;
use std::sync::{Arc, Mutex};
use trellis_domain::program::{CaptchaProvider, Program};
use trellis_testkit::{backends, Db, TestApp, ADMIN_TOKEN};

/// What a browser holds between requests: the CSRF cookie and field.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn open_form(app: &TestApp) -> (Browser, reqwest::Response) {
    let response = app
        .http
        .get(format!("{}/register", app.base))
        .send()
        .await
        .expect("get");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let csrf = cookie.split('=').nth(1).expect("value").to_owned();
    (Browser { cookie, csrf }, response)
}

async fn send(app: &TestApp, browser: &Browser, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let mut form: Vec<(&str, &str)> = vec![("csrf", &browser.csrf)];
    form.extend_from_slice(fields);
    let response = app
        .http
        .post(format!("{}/register", app.base))
        .header("cookie", &browser.cookie)
        .form(&form)
        .send()
        .await
        .expect("post");
    (response.status(), response.text().await.expect("html"))
}

const GOOD: &[(&str, &str)] = &[
    ("work_email", "nora@northwind.com"),
    ("company_name", "Acme <script>alert(1)</script> Inc"),
    ("company_domain", "acme.com"),
    ("contact_name", "Jane Doe"),
    ("contact_email", "jane@acme.com"),
    ("use_case", "CRM rollout"),
    ("consent", "yes"),
    ("fax", ""),
];

async fn partner_with_domain(app: &TestApp) {
    let (status, body) = app
        .post("/api/v1/partners", ADMIN_TOKEN, serde_json::json!({"name": "Northwind", "kind": "reseller", "email_domains": ["northwind.com"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

fn status_link(mail: &str) -> String {
    let start = mail.find("/status/").expect("a status link in the mail");
    mail[start..]
        .split_whitespace()
        .next()
        .expect("link")
        .to_owned()
}

#[tokio::test]
async fn a_partner_registers_through_the_form_and_follows_the_status_link() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        partner_with_domain(&app).await;
        let (browser, page) = open_form(&app).await;
        assert_eq!(page.status(), StatusCode::OK);
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_owned();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("form-action 'self'"),
            "{csp}"
        );
        let html = page.text().await.expect("html");
        assert!(
            html.contains(&format!("value=\"{}\"", browser.csrf))
                && html.contains("no captcha configured"),
            "{html}"
        );

        let (status, html) = send(&app, &browser, GOOD).await;
        assert_eq!(status, StatusCode::CREATED, "{db:?}: {html}");
        assert!(
            html.contains("REG-000001") && html.contains("Pending"),
            "{db:?}"
        );
        assert!(
            html.contains("Acme &#60;script&#62;"),
            "{db:?}: escaped: {html}"
        );
        assert!(!html.contains("<script>alert"), "{db:?}");
        let (_, registration) = app.get("/api/v1/registrations/1", ADMIN_TOKEN).await;
        assert_eq!(registration["channel"], "form", "{db:?}");
        assert_eq!(
            registration["company_name"], "Acme <script>alert(1)</script> Inc",
            "{db:?}: stored as text"
        );

        let mail = app.sent_mail().pop().expect("a mail");
        assert!(
            mail.contains("To: nora@northwind.com") && mail.contains("REG-000001"),
            "{db:?}: {mail}"
        );
        let link = status_link(&mail);
        let status_page = app
            .http
            .get(format!("{}{link}", app.base))
            .send()
            .await
            .expect("get");
        assert_eq!(status_page.status(), StatusCode::OK, "{db:?}");
        let html = status_page.text().await.expect("html");
        assert!(
            html.contains("REG-000001")
                && html.contains("Pending")
                && html.contains("Received through the web form")
                && html.contains("href=\"/portal/registrations/REG-000001\""),
            "{db:?}: {html}"
        );
        let missing = app
            .http
            .get(format!("{}/status/trl_nope", app.base))
            .send()
            .await
            .expect("get");
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_status_page_hands_out_a_slack_link_code() {
    let app = TestApp::spawn(Db::Sqlite).await;
    partner_with_domain(&app).await;
    let (browser, _) = open_form(&app).await;
    send(&app, &browser, GOOD).await;
    let link = status_link(&app.sent_mail().pop().expect("mail"));
    let page = app
        .http
        .get(format!("{}{link}", app.base))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), StatusCode::OK);
    let forged = app
        .http
        .post(format!("{}{link}/slack-code", app.base))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let issued = app
        .http
        .post(format!("{}{link}/slack-code", app.base))
        .header("cookie", &browser.cookie)
        .form(&[("csrf", browser.csrf.as_str())])
        .send()
        .await
        .expect("post");
    let html = issued.text().await.expect("html");
    let code = html
        .split("/register link ")
        .nth(1)
        .and_then(|rest| rest.get(..6))
        .expect("a code on the page");
    let user = app
        .store
        .redeem_slack_code(code, "T1", "U1", app.clock.now())
        .await
        .expect("the code links");
    assert_eq!(user.email, "nora@northwind.com");
}

#[tokio::test]
async fn bad_posts_are_refused_and_create_nothing() {
    let app = TestApp::spawn(Db::Sqlite).await;
    partner_with_domain(&app).await;
    let (browser, _) = open_form(&app).await;
    let no_csrf = Browser {
        cookie: browser.cookie.clone(),
        csrf: "0".repeat(64),
    };
    assert_eq!(
        send(&app, &no_csrf, GOOD).await.0,
        StatusCode::FORBIDDEN,
        "CSRF"
    );
    let mut honeypot = GOOD.to_vec();
    honeypot.push(("fax", "555-0100"));
    honeypot.retain(|(k, v)| *k != "fax" || !v.is_empty());
    assert_eq!(
        send(&app, &browser, &honeypot).await.0,
        StatusCode::BAD_REQUEST,
        "honeypot"
    );
    let mut stranger = GOOD.to_vec();
    stranger[0] = ("work_email", "eve@gmail.com");
    let (status, html) = send(&app, &browser, &stranger).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("not on any partner") && html.contains("value=\"Jane Doe\""),
        "the form keeps what was typed: {html}"
    );
    let (status, _) = send(&app, &browser, GOOD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "three posts a minute without a captcha"
    );
    let (_, list) = app.get("/api/v1/registrations", ADMIN_TOKEN).await;
    assert_eq!(list["items"], serde_json::json!([]));
}

/// A local stand-in for a captcha provider's siteverify endpoint: it accepts
/// exactly one token and records what it was sent.
async fn fake_siteverify(seen: Arc<Mutex<Vec<String>>>) -> String {
    let app = axum::Router::new().route(
        "/siteverify",
        post(move |body: String| {
            let seen = seen.clone();
            async move {
                let ok = body.contains("response=solved-token") && body.contains("secret=captcha-secret");
                seen.lock().expect("lock").push(body);
                axum::Json(serde_json::json!({"success": ok, "error-codes": if ok { vec![] } else { vec!["invalid-input-response"] }}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/siteverify")
}

#[tokio::test]
async fn the_captcha_is_verified_server_side() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut program = Program::default();
    program.intake.captcha.provider = CaptchaProvider::Turnstile;
    program.intake.captcha.site_key = Some("0x4AAA-site".into());
    program.intake.captcha.verify_url = fake_siteverify(seen.clone()).await;
    let app = TestApp::spawn_tuned(Db::Sqlite, program, |state| {
        state.secrets.captcha_secret = Some("captcha-secret".into())
    })
    .await;
    partner_with_domain(&app).await;
    let (browser, page) = open_form(&app).await;
    let html = page.text().await.expect("html");
    assert!(
        html.contains("cf-turnstile") && html.contains("data-sitekey=\"0x4AAA-site\""),
        "{html}"
    );

    let (status, _) = send(&app, &browser, GOOD).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no token");
    let mut wrong = GOOD.to_vec();
    wrong.push(("cf-turnstile-response", "forged-token"));
    assert_eq!(
        send(&app, &browser, &wrong).await.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a token the provider rejects"
    );
    let mut solved = GOOD.to_vec();
    solved.push(("cf-turnstile-response", "solved-token"));
    assert_eq!(send(&app, &browser, &solved).await.0, StatusCode::CREATED);
    let calls = seen.lock().expect("lock").clone();
    assert_eq!(calls.len(), 2, "no call without a token: {calls:?}");
    assert!(calls[1].contains("remoteip=127.0.0.1"), "{calls:?}");
}
