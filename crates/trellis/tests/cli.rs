//! The `trellis` binary itself: serving, durability across `kill -9`,
//! configuration checks, tokens, imports and the demo.

mod common;

use common::{trellis, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};
use trellis_testkit::{backends, lead_for, Db, FreshDb};

#[tokio::test]
async fn an_acknowledged_registration_survives_kill_9_right_after_the_answer() {
    for db in backends() {
        let fresh = FreshDb::new(db).await;
        let server = Server::start(&fresh.url, &[]);
        let (status, partner) = server
            .post("/api/v1/partners", json!({"name": "A", "kind": "reseller"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{db:?}: {partner}");
        let partner = partner["id"].as_i64().expect("id");
        let mut acknowledged = Vec::new();
        for i in 0..20 {
            let (status, body) = server
                .post(
                    "/api/v1/registrations",
                    lead_for(partner, &format!("Company {i}"), &format!("company{i}.com")),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{db:?}: {body}");
            acknowledged.push(body["case_number"].clone());
        }
        server.kill_hard();

        let server = Server::start(&fresh.url, &[]);
        let (_, list) = server.get("/api/v1/registrations?limit=100").await;
        let stored: Vec<_> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|r| r["case_number"].clone())
            .collect();
        assert_eq!(
            stored, acknowledged,
            "{db:?}: every acknowledged registration is there"
        );
    }
}

#[tokio::test]
async fn the_test_clock_route_exists_only_with_the_flag() {
    let fresh = FreshDb::new(Db::Sqlite).await;
    let plain = Server::start(&fresh.url, &[]);
    let (status, _) = plain
        .post("/api/v1/test-clock", json!({"now": "2030-01-01T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    drop(plain);
    let testing = Server::start(&fresh.url, &["--test-clock"]);
    let (status, body) = testing
        .post("/api/v1/test-clock", json!({"now": "2030-01-01T00:00:00Z"}))
        .await;
    assert_eq!(
        (status, body["now"].as_str()),
        (StatusCode::OK, Some("2030-01-01T00:00:00Z"))
    );
    drop(testing);
    let started = Server::start(&fresh.url, &["--test-clock=2029-06-01T08:00:00+02:00"]);
    let (_, body) = started.get("/api/v1/test-clock").await;
    assert_eq!(body["now"], "2029-06-01T06:00:00Z", "it starts at START");
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn config_check_reports_every_error_with_its_line_and_a_bad_config_never_starts() {
    let output = trellis()
        .args(["config", "check", &fixture("bad_program.toml")])
        .output()
        .expect("run");
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "line 2",
        "line 5",
        "hold_day",
        "line 6",
        "meeting_sla_days",
        "line 7",
        "whoever_shouts",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let output = trellis()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            &db,
            "--config",
            &fixture("bad_program.toml"),
        ])
        .output()
        .expect("run");
    assert!(!output.status.success(), "the server refused to start");
    assert!(String::from_utf8_lossy(&output.stderr).contains("whoever_shouts"));

    let good = trellis()
        .args([
            "config",
            "check",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../trellis.example.toml"),
        ])
        .output()
        .expect("run");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
}

#[tokio::test]
async fn token_create_prints_a_working_token_once_and_import_feeds_dedupe() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let output = trellis()
        .args(["token", "create", "--role", "manager", "--db", &db])
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(token.starts_with("trl_") && token.len() == 68, "{token}");

    let output = trellis()
        .args(["import", "accounts", &fixture("accounts.csv"), "--db", &db])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success()
            && text.contains("3 accounts created, 1 already known, 2 rows rejected"),
        "{text}"
    );
    assert!(
        text.contains("row 6") && text.contains("row 7"),
        "spreadsheet row numbers: {text}"
    );

    let server = Server::start(&db, &[]);
    let response = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/accounts/match?company_name=Initech&company_domain=",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    let found: Value = response.json().await.expect("json");
    assert_eq!(found["linked"]["domain"], "initech.com", "{found}");
}

/// Runs `trellis user ARGS`, writing `stdin` to it; returns whether it
/// succeeded and what it printed (stdout, then stderr).
fn user_command(args: &[&str], stdin: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = trellis()
        .arg("user")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("wait");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn user_create_stores_an_argon2_hash_that_signs_in_and_refuses_what_is_wrong() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let create = |email: &'static str, password: &'static str| {
        let db = db.clone();
        move || {
            let args = [
                "create",
                "--email",
                email,
                "--name",
                "Mia Manager",
                "--role",
                "manager",
                "--password-stdin",
                "--db",
                &db,
            ];
            user_command(&args, password)
        }
    };
    let (ok, text) = create("mia@vendor.example", "short\n")();
    assert!(!ok && text.contains("at least 12 characters"), "{text}");
    let (ok, text) = create("not an address", "a long enough password\n")();
    assert!(!ok && text.contains("--email"), "{text}");
    let (ok, text) = create("mia@vendor.example", "a long enough password\n")();
    assert!(
        ok && text.contains("added Mia Manager <mia@vendor.example> as manager"),
        "{text}"
    );
    let (ok, text) = create("mia@vendor.example", "a long enough password\n")();
    assert!(!ok && text.contains("already a staff user"), "{text}");

    let store = trellis_store::Store::connect(&db).await.expect("store");
    let email = trellis_domain::dedupe::Email::parse("mia@vendor.example").expect("email");
    let (user, hash) = store
        .staff_user_by_email(&email)
        .await
        .expect("read")
        .expect("mia");
    assert_eq!(user.role, trellis_store::Role::Manager);
    let hash = hash.expect("a password hash");
    assert!(
        hash.starts_with("$argon2id$") && !hash.contains("long enough"),
        "{hash}"
    );
    assert!(trellis_server::passwords::verify(
        "a long enough password",
        Some(&hash)
    ));

    let args = [
        "password",
        "--email",
        "mia@vendor.example",
        "--remove",
        "--db",
        &db,
    ];
    let (ok, text) = user_command(&args, "");
    assert!(ok && text.contains("password removed"), "{text}");
    let (_, hash) = store
        .staff_user_by_email(&email)
        .await
        .expect("read")
        .expect("mia");
    assert!(hash.is_none(), "signs in by mailed link only");
}

#[tokio::test]
async fn the_demo_is_a_living_program() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let server = Server::start(&db, &["--demo"]);
    let (_, partners) = server.get("/api/v1/partners?limit=500").await;
    let partners = partners["items"].as_array().expect("partners").clone();
    assert_eq!(partners.len(), 40);
    for kind in ["reseller", "referral", "service", "isv"] {
        assert!(partners.iter().any(|p| p["kind"] == kind), "{kind}");
    }
    for tier in ["registered", "select", "elite"] {
        assert!(partners.iter().any(|p| p["tier"] == tier), "{tier}");
    }
    for status in [
        "submitted",
        "more_info",
        "approved",
        "declined",
        "won",
        "lost",
        "expired",
    ] {
        let (_, list) = server
            .get(&format!("/api/v1/registrations?status={status}&limit=5"))
            .await;
        assert!(
            !list["items"].as_array().expect("items").is_empty(),
            "no {status} registration in the demo"
        );
    }
    let (_, open) = server.get("/api/v1/conflicts?status=open").await;
    let (_, resolved) = server.get("/api/v1/conflicts?status=resolved").await;
    assert!(
        !open["items"].as_array().expect("open").is_empty()
            && !resolved["items"].as_array().expect("resolved").is_empty()
    );
}

#[tokio::test]
async fn import_registrations_prints_one_result_per_row() {
    let fresh = FreshDb::new(Db::Sqlite).await;
    let store = trellis_store::Store::connect(&fresh.url)
        .await
        .expect("store");
    let new = trellis_store::NewPartner::plain(
        "Northwind",
        trellis_domain::partner::PartnerKind::Reseller,
        "registered",
    );
    let partner = store
        .create_partner(
            &new,
            &trellis_domain::event::Actor::System,
            trellis_testkit::start_time(),
        )
        .await
        .expect("partner");
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../trellis-server/tests/fixtures/csv/mixed.csv"
    );
    let output = trellis()
        .args([
            "import",
            "registrations",
            file,
            "--partner",
            &partner.id.to_string(),
            "--db",
            &fresh.url,
        ])
        .output()
        .expect("run");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("row,status,case_number,reason\n2,registered,REG-000001"),
        "{stdout}"
    );
    assert!(
        stderr.contains("7 rows for Northwind: 3 registered, 1 duplicate, 3 invalid"),
        "{stderr}"
    );
    let missing = trellis()
        .args([
            "import",
            "registrations",
            file,
            "--partner",
            "99",
            "--db",
            &fresh.url,
        ])
        .output()
        .expect("run");
    assert!(
        !missing.status.success()
            && String::from_utf8_lossy(&missing.stderr).contains("partner 99")
    );
}

#[test]
fn import_metrics_checks_each_row_as_the_api_does_and_skips_repeats() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let demo = trellis().args(["demo", "--db", &db]).output().expect("run");
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let file = dir.path().join("metrics.csv");
    std::fs::write(
        &file,
        "partner_id,metric,value,occurred_at,source_id,evidence_url,item\n\
         1,revenue.resold,50000,2025-06-01T00:00:00Z,inv-1,,\n\
         1,certification,1,2025-06-01T00:00:00Z,cert-1,https://training.example/c/1,ana\n\
         1,revenue.resold,50000,2025-06-01T00:00:00Z,inv-1,,\n\
         999,revenue.resold,5,2025-06-01T00:00:00Z,inv-2,,\n\
         1,certification,1,2025-06-01T00:00:00Z,cert-2,,bob\n",
    )
    .expect("write csv");
    let path = file.display().to_string();
    let import = || {
        let output = trellis()
            .args(["import", "metrics", &path, "--db", &db])
            .output()
            .expect("run");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let first = import();
    assert!(
        first.contains("2 metrics recorded, 1 already recorded, 2 rows rejected"),
        "{first}"
    );
    assert!(
        first.contains("row 5: partner_id") && first.contains("row 6: evidence_url"),
        "{first}"
    );
    let again = import();
    assert!(
        again.contains("0 metrics recorded, 3 already recorded"),
        "{again}"
    );
}
