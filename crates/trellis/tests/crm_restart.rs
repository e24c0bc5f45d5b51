//! Nothing acknowledged is lost, nothing is sent twice: a `trellis serve`
//! killed (SIGKILL) in the middle of syncing 10,000 registrations to HubSpot
//! leaves every one to arrive, exactly once, after it starts again.

mod common;

use common::{trellis, Server};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use trellis_domain::event::Actor;
use trellis_domain::partner::PartnerKind;
use trellis_fakes::hubspot::{FakeHubSpot, HubSpotOptions};
use trellis_store::{NewPartner, Store};
use trellis_testkit::{backends, start_time, FreshDb};

const REGISTRATIONS: usize = 10_000;

/// Registers the leads through `trellis import registrations`, before any
/// server runs, so the whole queue is waiting when the first one starts.
async fn seed(url: &str, program: &std::path::Path, dir: &std::path::Path) {
    let store = Store::connect(url).await.expect("store");
    let new = NewPartner::plain("Northwind", PartnerKind::Reseller, "registered");
    let partner = store
        .create_partner(&new, &Actor::System, start_time())
        .await
        .expect("partner");
    let mut file = String::from("Company,Website,Contact,Email,Use case,Consent\n");
    for i in 0..REGISTRATIONS {
        writeln!(
            file,
            "Company {i} Ltd,company{i}.com,Jo Lee,jo@company{i}.com,Evaluating,yes"
        )
        .expect("row");
    }
    let csv = dir.join("leads.csv");
    std::fs::write(&csv, file).expect("csv");
    let status = trellis()
        .args(["import", "registrations"])
        .arg(&csv)
        .args([
            "--partner",
            &partner.id.0.to_string(),
            "--db",
            url,
            "--config",
        ])
        .arg(program)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("import");
    assert!(status.success(), "the import ran");
}

/// Waits until `done` holds, polling; panics after `limit`.
async fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_sync_sends_every_registration_exactly_once_after_restart() {
    for db in backends() {
        let fresh = FreshDb::new(db).await;
        // HubSpot's own pace (calls per second) keeps the sync running long
        // enough to be interrupted.
        let options = HubSpotOptions::default().with_rate_limit(60, Duration::from_secs(1));
        let token = options.token.clone();
        let fake = FakeHubSpot::start(options).await;
        let dir = tempfile::tempdir().expect("dir");
        let program = dir.path().join("program.toml");
        let toml = format!(
            "[crm]\nprovider = \"hubspot\"\nbase_url = \"{}\"\n",
            fake.base_url()
        );
        std::fs::write(&program, toml).expect("program");
        seed(&fresh.url, &program, dir.path()).await;

        let args = ["--config", program.to_str().expect("path")];
        let env = [("TRELLIS_HUBSPOT_TOKEN", token.as_str())];
        let first = Server::start_with_env(&fresh.url, &args, &env);
        wait_for(Duration::from_secs(120), "the sync to start", || {
            fake.records("deals").len() >= REGISTRATIONS / 5
        })
        .await;
        first.kill_hard();
        let at_kill = fake.records("deals").len();
        assert!(
            at_kill < REGISTRATIONS,
            "{db:?}: killed mid-sync ({at_kill} sent)"
        );

        let second = Server::start_with_env(&fresh.url, &args, &env);
        let mut synced = 0;
        let started = Instant::now();
        while synced < REGISTRATIONS as i64 {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "{db:?}: the sync resumed"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            let (_, status) = second.get("/api/v1/crm/status").await;
            synced = status["queue"]["synced"].as_i64().unwrap_or(0);
            assert_eq!(status["queue"]["failed"], 0, "{db:?}: {status}");
        }

        let deals = fake.records("deals");
        let ids: HashSet<_> = deals
            .iter()
            .map(|deal| deal.properties["trellis_registration_id"].clone())
            .collect();
        assert_eq!(
            (deals.len(), ids.len()),
            (REGISTRATIONS, REGISTRATIONS),
            "{db:?}: each arrived once"
        );
        assert_eq!(fake.records("companies").len(), REGISTRATIONS, "{db:?}");
        assert_eq!(
            fake.created(),
            2 * REGISTRATIONS as u64,
            "{db:?}: no record was created twice, whatever was sent again"
        );
        let pairs: HashSet<_> = fake
            .associations("deals", "companies")
            .into_iter()
            .collect();
        assert_eq!(
            pairs.len(),
            REGISTRATIONS,
            "{db:?}: every deal is linked to its company"
        );
    }
}
