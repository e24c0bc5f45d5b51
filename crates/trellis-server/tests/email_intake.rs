//! Email to registration through its real entry points: `POST
//! /api/v1/intake/email` with raw RFC 5322 messages, and a real SMTP
//! conversation with the built-in receiver.

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use trellis_testkit::{backends, Db, TestApp, ADMIN_TOKEN};

/// A fixture message, sent from the partner's own domain.
fn message(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../trellis-intake/tests/fixtures/email/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    String::from_utf8_lossy(&text)
        .replace("partner.example", "northwind.com")
        .into_bytes()
}

async fn partner(app: &TestApp) -> i64 {
    partner_at(app, "registered").await
}

async fn partner_at(app: &TestApp, tier: &str) -> i64 {
    let body = serde_json::json!({"name": "Northwind", "kind": "reseller", "tier": tier, "email_domains": ["northwind.com"]});
    let (status, created) = app.post("/api/v1/partners", ADMIN_TOKEN, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_i64().expect("id")
}

async fn send(app: &TestApp, raw: Vec<u8>, content_type: &str) -> (StatusCode, Value) {
    let headers = [
        ("authorization", format!("Bearer {ADMIN_TOKEN}")),
        ("content-type", content_type.to_owned()),
    ];
    app.post_raw("/api/v1/intake/email", &headers, raw).await
}

#[tokio::test]
async fn a_partner_email_registers_and_the_sender_gets_the_case_number_by_mail() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        let partner = partner(&app).await;
        let (status, answer) = send(&app, message("plain.eml"), "message/rfc822").await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {answer}");
        assert_eq!(
            (answer["outcome"].as_str(), answer["case_number"].as_str()),
            (Some("registered"), Some("REG-000001")),
            "{db:?}: {answer}"
        );
        let (_, registration) = app.get("/api/v1/registrations/1", ADMIN_TOKEN).await;
        assert_eq!(
            (
                registration["channel"].as_str(),
                registration["partner_id"].as_i64()
            ),
            (Some("email"), Some(partner))
        );
        assert_eq!(
            (
                registration["company_domain"].as_str(),
                registration["segment"].as_str()
            ),
            (Some("acme.com"), Some("Mid-market"))
        );
        let reply = app.sent_mail().pop().expect("a reply");
        for expected in [
            "To: bob@northwind.com",
            "REG-000001",
            "In-Reply-To: <20260303091358.4412@northwind.com>",
            "within 48 hours",
            "partner portal (we mail you a sign-in link, no password): http://127.0.0.1:8080/portal/registrations/REG-000001",
        ] {
            assert!(reply.contains(expected), "{db:?}: {expected} in {reply}");
        }
        let (_, invalid) = send(&app, message("quoted_printable.eml"), "message/rfc822").await;
        assert_eq!(invalid["outcome"], "incomplete", "{db:?}: {invalid}");
        let reply = app.sent_mail().pop().expect("a reply");
        assert!(
            reply.contains("- company_domain: web domain") && reply.contains("corrected fields"),
            "{db:?}: {reply}"
        );
    }
}

#[tokio::test]
async fn the_reply_promises_the_response_time_of_the_partner_s_tier() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        partner_at(&app, "elite").await;
        let (status, answer) = send(&app, message("plain.eml"), "message/rfc822").await;
        assert_eq!(status, StatusCode::OK, "{db:?}: {answer}");
        let reply = app.sent_mail().pop().expect("a reply");
        assert!(
            reply.contains("within 24 hours"),
            "{db:?}: elite answers within a day: {reply}"
        );
    }
}

#[tokio::test]
async fn missing_fields_are_listed_and_strangers_are_politely_refused() {
    let app = TestApp::spawn(Db::Sqlite).await;
    partner(&app).await;
    let (status, answer) = send(&app, message("missing_fields.eml"), "message/rfc822").await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (StatusCode::OK, Some("incomplete")),
        "{answer}"
    );
    assert!(
        !answer["missing"].as_array().expect("missing").is_empty(),
        "{answer}"
    );
    assert!(app
        .sent_mail()
        .pop()
        .expect("reply")
        .contains("please reply with the missing or corrected fields"));

    let stranger = String::from_utf8(message("plain.eml"))
        .expect("text")
        .replace("bob@northwind.com", "eve@gmail.com");
    let (_, answer) = send(&app, stranger.into_bytes(), "message/rfc822").await;
    assert_eq!(answer["outcome"], "refused", "{answer}");
    let reply = app.sent_mail().pop().expect("reply");
    assert!(
        reply.contains("To: eve@gmail.com") && reply.contains("not linked to a partner"),
        "{reply}"
    );
    let (_, list) = app.get("/api/v1/registrations", ADMIN_TOKEN).await;
    assert_eq!(list["items"], serde_json::json!([]), "nothing was created");
}

#[tokio::test]
async fn what_is_not_mail_gets_a_clear_4xx() {
    let app = TestApp::spawn(Db::Sqlite).await;
    assert_eq!(
        send(&app, message("plain.eml"), "text/plain").await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let (status, answer) = send(&app, message("not_mail.eml"), "message/rfc822").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let huge = [message("plain.eml"), vec![b'x'; 11 * 1024 * 1024]].concat();
    assert_eq!(
        send(&app, huge, "message/rfc822").await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

/// Reads one SMTP reply (possibly multi-line) and returns its last line.
async fn reply(reader: &mut (impl AsyncBufReadExt + Unpin)) -> String {
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.expect("read");
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return line.trim_end().to_owned();
        }
    }
}

#[tokio::test]
async fn a_real_smtp_conversation_registers_and_refuses_other_recipients() {
    for db in backends() {
        let app = TestApp::spawn(db).await;
        partner(&app).await;
        let addr = trellis_server::intake::smtp::listen(
            app.state.clone(),
            "127.0.0.1:0".parse().expect("addr"),
        )
        .await
        .expect("listen");
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        assert!(
            reply(&mut read).await.starts_with("220"),
            "{db:?}: greeting"
        );
        let mut say = async |line: &str| {
            write
                .write_all(format!("{line}\r\n").as_bytes())
                .await
                .expect("write");
        };
        say("EHLO mail.northwind.com").await;
        assert!(reply(&mut read).await.starts_with("250"));
        say("MAIL FROM:<bob@northwind.com>").await;
        assert!(reply(&mut read).await.starts_with("250"));
        say("RCPT TO:<someone-else@localhost>").await;
        assert!(
            reply(&mut read).await.starts_with("550"),
            "{db:?}: other recipients are refused at RCPT"
        );
        say("RCPT TO:<register@localhost>").await;
        assert!(reply(&mut read).await.starts_with("250"));
        say("DATA").await;
        assert!(reply(&mut read).await.starts_with("354"));
        let body = String::from_utf8(message("plain.eml")).expect("text");
        for line in body.lines() {
            let stuffed = if line.starts_with('.') {
                format!(".{line}")
            } else {
                line.to_owned()
            };
            say(&stuffed).await;
        }
        say(".").await;
        let accepted = reply(&mut read).await;
        assert!(
            accepted.starts_with("250") && accepted.contains("REG-000001"),
            "{db:?}: {accepted}"
        );
        say("QUIT").await;
        assert!(reply(&mut read).await.starts_with("221"));
        let (_, registration) = app.get("/api/v1/registrations/1", ADMIN_TOKEN).await;
        assert_eq!(
            registration["channel"], "email",
            "{db:?}: the 250 came after the registration was stored"
        );
    }
}

#[tokio::test]
async fn a_reply_the_relay_refused_goes_out_with_a_later_sweep() {
    for db in backends() {
        let folder = tempfile::tempdir().expect("dir");
        let outbox = folder.path().join("outbox");
        // A file where the outbox folder should be: sending fails.
        std::fs::write(&outbox, "in the way").expect("blocker");
        let mailer = trellis_server::mail::Mailer::outbox(outbox.clone());
        let program = trellis_domain::program::Program::default();
        let app = TestApp::spawn_tuned(db, program, |state| state.mailer = mailer).await;
        partner(&app).await;
        let (status, answer) = send(&app, message("plain.eml"), "message/rfc822").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{db:?}: the registration stands: {answer}"
        );

        std::fs::remove_file(&outbox).expect("blocker goes");
        std::fs::create_dir(&outbox).expect("outbox");
        app.advance(time::Duration::minutes(2));
        trellis_server::sweep::run_once(&app.state).await;
        let sent: Vec<_> = std::fs::read_dir(&outbox).expect("dir").collect();
        assert_eq!(sent.len(), 1, "{db:?}");
        let path = sent[0].as_ref().expect("entry").path();
        let reply = std::fs::read_to_string(path).expect("reply");
        assert!(
            reply.contains("REG-000001") && reply.contains("In-Reply-To:"),
            "{reply}"
        );
    }
}
