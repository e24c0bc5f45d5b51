//! Test support shared by the store's conformance suite and the server's
//! integration tests: a fresh database per test on each backend, and the
//! real application on port 0 speaking HTTP, and headless Chromium to drive
//! its pages (`browser`), or plain HTTP with cookies for page tests (`web`).

pub mod browser;
pub mod web;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Connection;
use std::time::Duration;
use time::OffsetDateTime;
use trellis_domain::dedupe::{CompanyName, Email, WebDomain};
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::registration::{Channel, Draft, Market, RegistrationKind};
use trellis_domain::values::Text;
use trellis_server::clock::Clock;
use trellis_server::mail::Mailer;
use trellis_server::AppState;
use trellis_store::{Role, Store};

/// The database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The backends this run covers: SQLite always, PostgreSQL when
/// `TRELLIS_TEST_POSTGRES_URL` names a database to create test databases from.
pub fn backends() -> Vec<Db> {
    let mut all = vec![Db::Sqlite];
    match std::env::var("TRELLIS_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => all.push(Db::Postgres),
        _ => eprintln!("TRELLIS_TEST_POSTGRES_URL is not set: PostgreSQL runs are skipped"),
    }
    all
}

/// A fresh, empty database that lives as long as this value (SQLite) or
/// until the PostgreSQL server is reset (PostgreSQL: one database per test).
pub struct FreshDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl FreshDb {
    pub async fn new(db: Db) -> FreshDb {
        match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("trellis.db").display());
                FreshDb {
                    url,
                    _dir: Some(dir),
                }
            }
            Db::Postgres => FreshDb {
                url: fresh_postgres().await,
                _dir: None,
            },
        }
    }
}

async fn fresh_postgres() -> String {
    let admin_url = std::env::var("TRELLIS_TEST_POSTGRES_URL").expect("TRELLIS_TEST_POSTGRES_URL");
    let name = format!("trellis_t_{:016x}", rand::rng().random::<u64>());
    let mut conn = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin_url);
    format!("{base}/{name}")
}

/// The admin token every test app accepts.
pub const ADMIN_TOKEN: &str = "trl_test_admin_token";

/// The real application on a random port, with a test clock.
/// Several stores (as several `trellis serve` processes would have) on one
/// fresh PostgreSQL database; `None` when no PostgreSQL is configured.
pub async fn stores_on_one_postgres(count: usize) -> Option<(FreshDb, Vec<Store>)> {
    if !backends().contains(&Db::Postgres) {
        return None;
    }
    let fresh = FreshDb::new(Db::Postgres).await;
    let mut stores = Vec::new();
    for _ in 0..count {
        stores.push(Store::connect(&fresh.url).await.expect("store"));
    }
    Some((fresh, stores))
}

pub struct TestApp {
    pub db: Db,
    pub base: String,
    pub store: Store,
    pub clock: Clock,
    pub http: reqwest::Client,
    /// The state the app runs with (to start more listeners on it).
    pub state: AppState,
    /// Where the app's mail lands, one `.eml` file per message.
    pub outbox: tempfile::TempDir,
    _fresh: FreshDb,
}

/// The time every test clock starts at.
pub fn start_time() -> OffsetDateTime {
    time::macros::datetime!(2026-01-05 09:00 UTC)
}

impl TestApp {
    pub async fn spawn(db: Db) -> TestApp {
        TestApp::spawn_with(db, Program::default()).await
    }

    pub async fn spawn_with(db: Db, program: Program) -> TestApp {
        TestApp::spawn_tuned(db, program, |_| {}).await
    }

    /// Spawns with `tune` applied to the state first (secrets, settings).
    pub async fn spawn_tuned(
        db: Db,
        program: Program,
        tune: impl FnOnce(&mut AppState),
    ) -> TestApp {
        let fresh = FreshDb::new(db).await;
        let store = Store::connect(&fresh.url).await.expect("connect store");
        let clock = Clock::test(start_time());
        store
            .ensure_admin_token(ADMIN_TOKEN, clock.now())
            .await
            .expect("admin token");
        let outbox = tempfile::tempdir().expect("outbox dir");
        let mut state = AppState::new(store.clone(), program, clock.clone());
        state.mailer = Mailer::outbox(outbox.path().to_path_buf());
        tune(&mut state);
        let running = trellis_server::start(
            state.clone(),
            "127.0.0.1:0".parse().expect("addr"),
            Duration::from_secs(3600),
        )
        .await
        .expect("start server");
        TestApp {
            db,
            base: format!("http://{}", running.addr),
            store,
            clock,
            http: reqwest::Client::new(),
            state,
            outbox,
            _fresh: fresh,
        }
    }

    /// Sends `body` (if any) as JSON with `token`; returns status and JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    /// Posts a raw body with the given headers, as an outside service (a
    /// webhook, a mail pipe) sends it; returns status and JSON.
    pub async fn post_raw(
        &self,
        path: &str,
        headers: &[(&str, String)],
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.body(body).send().await.expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Posts `body` to `path` as HubSpot delivers a webhook: signed with
    /// signature v3 over this server's public URL (unless `signature` is
    /// given, to send a wrong one), stamped `timestamp` (Unix ms).
    pub async fn post_hubspot(
        &self,
        path: &str,
        body: &str,
        secret: &str,
        signature: Option<String>,
        timestamp: i64,
    ) -> (StatusCode, Value) {
        let uri = format!("{}{path}", self.state.public_url);
        let signature = signature.unwrap_or_else(|| hubspot_v3(secret, &uri, body, timestamp));
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("X-HubSpot-Request-Timestamp", timestamp.to_string()),
            ("X-HubSpot-Signature-v3", signature),
        ];
        self.post_raw(path, &headers, body.to_owned()).await
    }

    /// The test clock's now in Unix milliseconds, as webhooks stamp it.
    pub fn millis(&self) -> i64 {
        i64::try_from(self.clock.now().unix_timestamp_nanos() / 1_000_000).expect("millis")
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Creates a partner as admin and returns its id.
    pub async fn partner(&self, name: &str, kind: &str) -> i64 {
        let (status, body) = self
            .post(
                "/api/v1/partners",
                ADMIN_TOKEN,
                serde_json::json!({"name": name, "kind": kind}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().expect("partner id")
    }

    /// Registers a lead for `partner` as admin and returns its id.
    pub async fn register(&self, partner: i64, company: &str, domain: &str) -> i64 {
        let body = lead_for(partner, company, domain);
        let (status, body) = self.post("/api/v1/registrations", ADMIN_TOKEN, body).await;
        assert_eq!(status, StatusCode::CREATED, "{:?}: {body}", self.db);
        body["id"].as_i64().expect("registration id")
    }

    /// Creates a partner token and returns the secret.
    pub async fn partner_token(&self, partner: i64) -> String {
        let (status, body) = self
            .post(
                &format!("/api/v1/partners/{partner}/tokens"),
                ADMIN_TOKEN,
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// A staff token with the manager role.
    pub async fn manager_token(&self) -> String {
        let secret = trellis_server::tokens::new_secret();
        self.store
            .create_token(
                &secret,
                Role::Manager,
                None,
                "test manager",
                self.clock.now(),
            )
            .await
            .expect("token");
        secret
    }

    /// Adds `email` as one of `partner`'s people, as admin.
    pub async fn partner_user(&self, partner: i64, name: &str, email: &str) {
        let (status, body) = self
            .post(
                &format!("/api/v1/partners/{partner}/users"),
                ADMIN_TOKEN,
                serde_json::json!({"name": name, "email": email}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// Approves a registration as admin, which starts its hold.
    pub async fn approve(&self, registration: i64) {
        let (status, body) = self
            .post(
                &format!("/api/v1/registrations/{registration}/decision"),
                ADMIN_TOKEN,
                serde_json::json!({"decision": "approve"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Every mail sent, once there are `count`: some mail (sign-in links)
    /// goes out in the background, after the answer.
    pub async fn mail_once_there_are(&self, count: usize) -> Vec<String> {
        for _ in 0..200 {
            let mail = self.sent_mail();
            if mail.len() >= count {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{count} mails were not sent: {:?}", self.sent_mail());
    }

    /// The path of the portal sign-in link in mail number `nth` (from 1),
    /// which must be addressed to `to`.
    pub async fn sign_in_link(&self, nth: usize, to: &str) -> String {
        self.link_in_mail(nth, to, "/portal/sign-in/").await
    }

    /// The staff sign-in link in the `nth` message sent, which went to `to`.
    pub async fn staff_sign_in_link(&self, nth: usize, to: &str) -> String {
        self.link_in_mail(nth, to, "/staff/sign-in/").await
    }

    async fn link_in_mail(&self, nth: usize, to: &str, prefix: &str) -> String {
        let mail = self.mail_once_there_are(nth).await.swap_remove(nth - 1);
        assert!(mail.contains(&format!("To: {to}")), "{mail}");
        let start = mail.find(prefix).expect("a sign-in link");
        mail[start..]
            .split_whitespace()
            .next()
            .expect("link")
            .to_owned()
    }

    /// Every message the app has sent so far, oldest first.
    pub fn sent_mail(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(self.outbox.path())
            .map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|path| path.extension().is_some_and(|e| e == "eml"));
        files.sort_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok());
        files
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .map(|mail| unfold_quoted_printable(&mail))
            .collect()
    }

    /// Moves the test clock forward.
    pub fn advance(&self, by: time::Duration) {
        self.clock.set(self.clock.now() + by);
    }
}

/// A valid lead registration body for `company` at `domain`.
pub fn lead(company: &str, domain: &str) -> Value {
    serde_json::json!({
        "company_name": company,
        "company_domain": domain,
        "contact_name": "Jane Doe",
        "contact_email": format!("jane@{domain}"),
        "use_case": "Replacing spreadsheets",
        "consent": true,
    })
}

/// `lead` for a given partner, as staff would send it.
pub fn lead_for(partner: i64, company: &str, domain: &str) -> Value {
    let mut body = lead(company, domain);
    body["partner_id"] = partner.into();
    body
}

/// A valid lead draft, for tests that call the store directly.
pub fn draft(partner: PartnerId, company: &str, domain: Option<&str>) -> Draft {
    Draft {
        partner_id: partner,
        kind: RegistrationKind::Lead,
        channel: Channel::Api,
        company_name: CompanyName::parse(company).expect("name"),
        domain: domain.map(|d| WebDomain::parse(d).expect("domain")),
        contact_name: Text::parse("contact_name", "Jane Doe").expect("text"),
        contact_email: Email::parse("jane@example.org").expect("email"),
        use_case: None,
        market: Market::default(),
        deal: None,
    }
}

/// The `field` of each error in a problem document, in order.
pub fn problem_fields(problem: &Value) -> Vec<String> {
    strings(&problem["errors"], "field")
}

/// The `kind` of each event in an event list, in order.
pub fn event_kinds(events: &Value) -> Vec<String> {
    strings(events, "kind")
}

fn strings(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i[key].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Undoes the quoted-printable soft line breaks and `=3D` escapes mail
/// libraries put in long lines, so tests can read links whole.
pub fn unfold_quoted_printable(mail: &str) -> String {
    mail.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// HubSpot's request signature v3: base64(HMAC-SHA256(secret, method + URI
/// + body + timestamp)) for a POST.
pub fn hubspot_v3(secret: &str, uri: &str, body: &str, timestamp: i64) -> String {
    use base64::Engine;
    let ts = timestamp.to_string();
    let mac = trellis_intake::signature::hmac_sha256(
        secret.as_bytes(),
        &[b"POST", uri.as_bytes(), body.as_bytes(), ts.as_bytes()],
    );
    base64::engine::general_purpose::STANDARD.encode(mac)
}
