//! The Slack slash command through its real entry point, with requests
//! signed exactly as Slack signs them (v0, HMAC-SHA256 over
//! `v0:{timestamp}:{body}`).

use reqwest::StatusCode;
use serde_json::Value;
use time::Duration;
use trellis_domain::dedupe::Email;
use trellis_domain::event::Actor;
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_intake::signature::hmac_sha256;
use trellis_testkit::{backends, Db, TestApp};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

async fn app(db: Db) -> TestApp {
    TestApp::spawn_tuned(db, Program::default(), |state| {
        state.secrets.slack_signing_secret = Some(SECRET.into());
    })
    .await
}

fn form(text: &str, user: &str) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "token=ignored&team_id=T1DC2JH3J&team_domain=acme&channel_id=C1&channel_name=deals&user_id={user}&user_name=nora&command=%2Fregister&text={}&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F1%2Fx&trigger_id=1.2.3",
        encode(text)
    )
}

/// Slack's `X-Slack-Signature` for `body` at `timestamp`.
fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let ts = timestamp.to_string();
    let mac = hmac_sha256(
        secret.as_bytes(),
        &[b"v0:", ts.as_bytes(), b":", body.as_bytes()],
    );
    format!(
        "v0={}",
        mac.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Posts `body` signed with `secret` at `timestamp`, as Slack does.
async fn post(app: &TestApp, body: &str, secret: &str, timestamp: i64) -> (StatusCode, Value) {
    let headers = [
        (
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("X-Slack-Request-Timestamp", timestamp.to_string()),
        ("X-Slack-Signature", signature(secret, timestamp, body)),
    ];
    app.post_raw("/slack/commands", &headers, body.to_owned())
        .await
}

async fn say(app: &TestApp, text: &str, user: &str) -> (StatusCode, String) {
    let (status, body) = post(
        app,
        &form(text, user),
        SECRET,
        app.clock.now().unix_timestamp(),
    )
    .await;
    assert_eq!(body["response_type"], "ephemeral", "{body}");
    (status, body["blocks"].to_string())
}

async fn linked_partner(app: &TestApp) -> PartnerId {
    let partner = PartnerId(app.partner("Northwind", "reseller").await);
    let email = Email::parse("nora@northwind.com").expect("email");
    let user = app
        .store
        .add_partner_user(partner, "Nora", &email, &Actor::System, app.clock.now())
        .await
        .expect("user");
    app.store
        .create_slack_code("482913", user.id, app.clock.now() + Duration::minutes(15))
        .await
        .expect("code");
    partner
}

#[tokio::test]
async fn a_linked_slack_user_registers_and_checks_the_status() {
    for db in backends() {
        let app = app(db).await;
        let partner = linked_partner(&app).await;
        let (_, text) = say(
            &app,
            "Acme Corp, acme.com, Jane Doe <jane@acme.com>, consent: yes",
            "U2CERLKJA",
        )
        .await;
        assert!(text.contains("not linked"), "{db:?}: {text}");

        let (status, text) = say(&app, "link 482913", "U2CERLKJA").await;
        assert_eq!(status, StatusCode::OK);
        assert!(text.contains("Linked"), "{db:?}: {text}");
        let (_, text) = say(&app, "Acme Corp, acme.com, Jane Doe <mailto:jane@acme.com|jane@acme.com>, new CRM rollout, consent: yes", "U2CERLKJA").await;
        assert!(text.contains("REG-000001"), "{db:?}: {text}");
        let registration = app
            .store
            .registration(trellis_domain::ids::RegistrationId(1), Some(partner))
            .await
            .expect("stored");
        assert_eq!(
            (
                registration.channel.as_str(),
                registration.contact_email.as_str()
            ),
            ("slack", "jane@acme.com"),
            "{db:?}"
        );
        let (_, events) = app
            .get(
                "/api/v1/registrations/1/events",
                trellis_testkit::ADMIN_TOKEN,
            )
            .await;
        assert_eq!(events[1]["data"]["channel"], "slack", "{db:?}: {events}");

        let (_, text) = say(&app, "status REG-000001", "U2CERLKJA").await;
        assert!(text.contains("submitted"), "{db:?}: {text}");
        let (_, text) = say(
            &app,
            "Globex, globex.com, Hank <hank@globex.com>, no consent mentioned",
            "U2CERLKJA",
        )
        .await;
        assert!(
            text.contains("consent"),
            "{db:?}: the missing consent is named: {text}"
        );
        let (_, text) = say(&app, "help", "U2CERLKJA").await;
        assert!(text.contains("status REG-000123"), "{db:?}: {text}");
    }
}

#[tokio::test]
async fn a_forged_or_stale_request_gets_401_and_changes_nothing() {
    let app = app(Db::Sqlite).await;
    linked_partner(&app).await;
    let body = form("link 482913", "U1");
    let now = app.clock.now().unix_timestamp();
    assert_eq!(
        post(&app, &body, "not-the-secret", now).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(&app, &body, SECRET, now - 301).await.0,
        StatusCode::UNAUTHORIZED,
        "replay window"
    );
    let tampered = body.replace("U1", "U9");
    let signature = signature(SECRET, now, &body);
    let response = app
        .http
        .post(format!("{}/slack/commands", app.base))
        .header("X-Slack-Request-Timestamp", now.to_string())
        .header("X-Slack-Signature", signature)
        .body(tampered)
        .send()
        .await
        .expect("send");
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "a body changed after signing"
    );
    assert!(
        app.store
            .slack_user("T1DC2JH3J", "U1")
            .await
            .expect("lookup")
            .is_none(),
        "the code was not spent"
    );
    let (status, _) = post(&app, &body, SECRET, now).await;
    assert_eq!(status, StatusCode::OK, "the genuine request still works");
}
