//! `trellis crm check`, `trellis crm pull accounts` and `trellis events
//! retry`, run as an operator would, against the local fake HubSpot (served
//! by the runtime's other worker while a command runs).

mod common;

use common::trellis;
use std::path::Path;
use std::process::Output;
use trellis_fakes::hubspot::{FakeHubSpot, HubSpotOptions};
use trellis_testkit::{Db, FreshDb};

fn program(dir: &Path, name: &str, base_url: &str, extra: &str) -> String {
    let path = dir.join(name);
    let text = format!("[crm]\nprovider = \"hubspot\"\nbase_url = \"{base_url}\"\n{extra}");
    std::fs::write(&path, text).expect("program file");
    path.to_str().expect("utf-8 path").to_owned()
}

fn run(args: &[&str], token: Option<&str>) -> Output {
    let mut command = trellis();
    command.args(args).env_remove("TRELLIS_HUBSPOT_TOKEN");
    if let Some(token) = token {
        command.env("TRELLIS_HUBSPOT_TOKEN", token);
    }
    command.output().expect("trellis runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_check_names_each_missing_property_and_the_missing_token() {
    let fake = FakeHubSpot::start(HubSpotOptions::default()).await;
    let token = HubSpotOptions::default().token;
    let dir = tempfile::tempdir().expect("dir");
    let sound = program(dir.path(), "sound.toml", &fake.base_url(), "");
    let output = run(&["crm", "check", "--config", &sound], Some(&token));
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("every mapped property exists"),
        "{}",
        text(&output)
    );

    let extra = "[crm.fields]\npartner = \"trellis_partner_tier\"\n[crm.account_fields]\ndomain = \"website_domain\"\n";
    let broken = program(dir.path(), "broken.toml", &fake.base_url(), extra);
    let output = run(&["crm", "check", "--config", &broken], Some(&token));
    assert!(!output.status.success());
    let said = text(&output);
    assert!(said.contains("deals: trellis_partner_tier"), "{said}");
    assert!(said.contains("companies: website_domain"), "{said}");

    let output = run(&["crm", "check", "--config", &sound], None);
    assert!(!output.status.success());
    assert!(
        text(&output).contains("TRELLIS_HUBSPOT_TOKEN is not set"),
        "{}",
        text(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_pull_accounts_imports_every_page_once_and_events_retry_names_what_it_finds() {
    let fake = FakeHubSpot::start(HubSpotOptions::default()).await;
    for i in 0..150 {
        fake.seed(
            "companies",
            &[
                ("name", &format!("Company {i} GmbH")),
                ("domain", &format!("company{i}.de")),
            ],
        );
    }
    fake.seed(
        "companies",
        &[("name", "Broken Inc"), ("domain", "not a domain")],
    );
    let token = HubSpotOptions::default().token;
    let dir = tempfile::tempdir().expect("dir");
    let config = program(dir.path(), "program.toml", &fake.base_url(), "");
    let fresh = FreshDb::new(Db::Sqlite).await;
    let pull = [
        "crm", "pull", "accounts", "--config", &config, "--db", &fresh.url,
    ];
    let first = run(&pull, Some(&token));
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("150 created, 0 already known, 1 refused"),
        "{}",
        text(&first)
    );
    assert!(
        text(&first).contains("Broken Inc"),
        "the refused one is named: {}",
        text(&first)
    );
    let again = run(&pull, Some(&token));
    assert!(
        text(&again).contains("0 created, 150 already known"),
        "{}",
        text(&again)
    );

    let output = run(&["events", "retry", "crm-999", "--db", &fresh.url], None);
    assert!(!output.status.success());
    assert!(
        text(&output).contains("no dead letter has the id \"crm-999\""),
        "{}",
        text(&output)
    );
    let output = run(&["events", "retry", "--all", "--db", &fresh.url], None);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("0 CRM dead letters are queued again"),
        "{}",
        text(&output)
    );
}
