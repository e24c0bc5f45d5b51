//! Keeping HubSpot in step, end to end against the local fake HubSpot on
//! both backends: registrations arrive once and follow each change, faults
//! lose and duplicate nothing, a record HubSpot rejects becomes a dead
//! letter with HubSpot's own words while the rest flow, and stage changes
//! come back by webhook (signed, once) and by reading changes; and the same
//! round trip with the local fake Salesforce.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use trellis_domain::program::{CrmConfig, CrmProvider, Program};
use trellis_fakes::hubspot::{Endpoint, FakeHubSpot, Fault, HubSpotOptions, Property};
use trellis_fakes::salesforce::{FakeOptions, FakeSalesforce};
use trellis_server::crm::dispatch::sync_once;
use trellis_server::crm::inbound::pull_changes;
use trellis_server::crm::CrmLink;
use trellis_sync::crm::hubspot::HubSpot;
use trellis_sync::crm::salesforce::{Credentials, Salesforce};
use trellis_sync::crm::Crm;
use trellis_testkit::{backends, lead_for, Db, TestApp, ADMIN_TOKEN};

const SECRET: &str = "hubspot-app-client-secret";

/// An app whose program syncs to `fake`; senders are driven by the test.
async fn app(db: Db, fake: &FakeHubSpot, tune: impl FnOnce(&mut CrmConfig)) -> TestApp {
    let mut config = CrmConfig::defaults(CrmProvider::Hubspot);
    config.base_url = fake.base_url();
    tune(&mut config);
    let token = HubSpotOptions::default().token;
    let crm = HubSpot::new(&config, token).with_timeout(Duration::from_millis(500));
    app_with(db, config, Arc::new(crm)).await
}

/// An app whose program syncs to `crm` as `config` maps it.
async fn app_with(db: Db, config: CrmConfig, crm: Arc<dyn Crm>) -> TestApp {
    let program = Program {
        crm: Some(config.clone()),
        ..Program::default()
    };
    let mut link = CrmLink::new(crm, config);
    link.workers = 0;
    TestApp::spawn_tuned(db, program, |state| {
        state.crm = Some(Arc::new(link));
        state.secrets.hubspot_client_secret = Some(SECRET.into());
    })
    .await
}

/// Sends batches until nothing is due, moving the clock past any backoff,
/// until nothing is pending; returns how many rounds that took.
async fn sync_all(app: &TestApp) -> usize {
    let link = app.state.crm.clone().expect("a CRM");
    for round in 0..50 {
        while sync_once(&app.state, &link).await.expect("sync") > 0 {}
        if app.store.sync_lag().await.expect("lag").pending == 0 {
            return round;
        }
        app.advance(time::Duration::minutes(10));
    }
    panic!("the queue never drained");
}

async fn registration(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/v1/registrations/{id}"), ADMIN_TOKEN)
        .await
        .1
}

async fn approve(app: &TestApp, id: i64) {
    let path = format!("/api/v1/registrations/{id}/decision");
    let (status, body) = app
        .post(&path, ADMIN_TOKEN, json!({"decision": "approve"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn registrations_reach_hubspot_once_and_each_change_updates_them() {
    for db in backends() {
        let fake = FakeHubSpot::start(HubSpotOptions::default()).await;
        let app = app(db, &fake, |_| {}).await;
        let partner = app.partner("Northwind", "reseller").await;
        let mut ids = Vec::new();
        for (company, domain) in [
            ("Acme", "acme.com"),
            ("Globex", "globex.com"),
            ("Initech", "initech.com"),
        ] {
            ids.push(app.register(partner, company, domain).await);
        }
        assert_eq!(
            registration(&app, ids[0]).await["crm"]["state"],
            "pending",
            "{db:?}"
        );
        sync_all(&app).await;

        let deals = fake.records("deals");
        assert_eq!(
            (deals.len(), fake.records("companies").len()),
            (3, 3),
            "{db:?}"
        );
        assert_eq!(fake.associations("deals", "companies").len(), 3, "{db:?}");
        let acme = fake
            .find("deals", "trellis_registration_id", &ids[0].to_string())
            .expect("the deal for Acme");
        assert_eq!(acme.properties["dealname"], "Acme");
        assert_eq!(acme.properties["trellis_partner"], "Northwind");
        assert_eq!(
            acme.properties["pipeline"], "default",
            "starting values on creation"
        );
        let shown = registration(&app, ids[0]).await;
        assert_eq!(shown["crm"]["state"], "synced", "{db:?}: {shown}");
        assert_eq!(shown["crm"]["record_id"], acme.id.to_string());

        approve(&app, ids[0]).await;
        assert_eq!(registration(&app, ids[0]).await["crm"]["state"], "pending");
        sync_all(&app).await;
        let acme = fake
            .find("deals", "trellis_registration_id", &ids[0].to_string())
            .expect("the deal for Acme");
        assert_eq!(acme.properties["trellis_status"], "approved", "{db:?}");
        assert_eq!(
            fake.created(),
            6,
            "{db:?}: three deals and three companies, none twice"
        );
        assert_eq!(
            fake.calls(&Endpoint::associate("deals", "companies")),
            1,
            "{db:?}: a known deal is not associated again"
        );
    }
}

#[tokio::test]
async fn outages_rate_limits_and_dropped_connections_lose_and_duplicate_nothing() {
    for db in backends() {
        let fake = FakeHubSpot::start(HubSpotOptions::default()).await;
        let app = app(db, &fake, |_| {}).await;
        let partner = app.partner("Northwind", "reseller").await;
        let mut ids = Vec::new();
        for i in 0..230 {
            ids.push(
                app.register(partner, &format!("Company {i}"), &format!("company{i}.com"))
                    .await,
            );
        }
        fake.inject_on(Endpoint::upsert("deals"), Fault::DropConnection);
        fake.inject(Fault::RateLimited {
            retry_after_secs: Some(1),
        });
        for _ in 0..8 {
            fake.inject(Fault::ServerError);
        }
        fake.inject_on(
            Endpoint::upsert("deals"),
            Fault::Slow(Duration::from_secs(2)),
        );
        let rounds = sync_all(&app).await;
        assert!(
            rounds >= 1,
            "{db:?}: the outage outlasted the inline retries"
        );

        let deals = fake.records("deals");
        assert_eq!(
            deals.len(),
            ids.len(),
            "{db:?}: every registration arrived, once"
        );
        for id in &ids {
            assert!(
                fake.find("deals", "trellis_registration_id", &id.to_string())
                    .is_some(),
                "{db:?}: registration {id} is in HubSpot"
            );
        }
        let lag = app.store.sync_lag().await.expect("lag");
        assert_eq!((lag.synced, lag.failed), (230, 0), "{db:?}");
    }
}

#[tokio::test]
async fn a_record_hubspot_rejects_is_a_dead_letter_in_its_words_while_the_rest_flow() {
    for db in backends() {
        let options = HubSpotOptions::default().with_property(
            "deals",
            Property::choice("trellis_region", &["emea", "amer", "apac"]),
        );
        let fake = FakeHubSpot::start(options).await;
        let app = app(db, &fake, |config| {
            config
                .fields
                .insert("region".into(), "trellis_region".into());
        })
        .await;
        let partner = app.partner("Northwind", "reseller").await;
        let mut ids = Vec::new();
        for (i, region) in ["emea", "moon", "apac"].into_iter().enumerate() {
            let mut body = lead_for(partner, &format!("Company {i}"), &format!("company{i}.com"));
            body["region"] = json!(region);
            let (status, created) = app.post("/api/v1/registrations", ADMIN_TOKEN, body).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            ids.push(created["id"].as_i64().expect("id"));
        }
        sync_all(&app).await;

        assert_eq!(
            fake.records("deals").len(),
            2,
            "{db:?}: the good ones arrived"
        );
        let refused = registration(&app, ids[1]).await;
        assert_eq!(refused["crm"]["state"], "failed", "{db:?}: {refused}");
        let error = refused["crm"]["error"].as_str().expect("an error");
        assert!(error.contains("moon"), "{db:?}: HubSpot's words: {error}");

        let (_, dead) = app.get("/api/v1/events/dead-letter", ADMIN_TOKEN).await;
        assert_eq!(dead.as_array().map(Vec::len), Some(1), "{db:?}: {dead}");
        assert_eq!(
            (
                dead[0]["consumer"].as_str(),
                dead[0]["registration_id"].as_i64()
            ),
            (Some("crm"), Some(ids[1]))
        );
        let retry = format!(
            "/api/v1/events/{}/retry",
            dead[0]["id"].as_str().expect("id")
        );
        assert_eq!(
            app.post(&retry, ADMIN_TOKEN, json!({})).await.0,
            StatusCode::ACCEPTED
        );
        assert_eq!(registration(&app, ids[1]).await["crm"]["state"], "pending");
        let calls = fake.calls(&Endpoint::upsert("deals"));
        sync_all(&app).await;
        assert!(
            fake.calls(&Endpoint::upsert("deals")) > calls,
            "{db:?}: sent again"
        );
        assert_eq!(
            registration(&app, ids[1]).await["crm"]["state"],
            "failed",
            "still refused"
        );
    }
}

/// An approved registration, synced: the fake, the app, the registration's
/// id and HubSpot's id for its deal.
async fn approved_in_hubspot(db: Db) -> (FakeHubSpot, TestApp, i64, String) {
    let fake = FakeHubSpot::start(HubSpotOptions::default()).await;
    let app = app(db, &fake, |_| {}).await;
    let partner = app.partner("Northwind", "reseller").await;
    let id = app.register(partner, "Acme", "acme.com").await;
    approve(&app, id).await;
    sync_all(&app).await;
    let record = registration(&app, id).await["crm"]["record_id"]
        .as_str()
        .expect("synced")
        .to_owned();
    (fake, app, id, record)
}

fn stage_change(record_id: &str, stage: &str, at: i64) -> String {
    json!([{
        "eventId": 100, "subscriptionId": 7, "portalId": 62515, "appId": 1, "occurredAt": at,
        "subscriptionType": "deal.propertyChange", "attemptNumber": 0,
        "objectId": record_id.parse::<i64>().expect("a HubSpot id"),
        "propertyName": "dealstage", "propertyValue": stage, "changeSource": "CRM_UI"
    }])
    .to_string()
}

#[tokio::test]
async fn hubspot_webhooks_close_registrations_once_and_refuse_forgeries_and_replays() {
    for db in backends() {
        let (_fake, app, id, record) = approved_in_hubspot(db).await;

        let path = "/webhooks/hubspot/crm";
        let body = stage_change(&record, "closedwon", app.millis());
        let forged = Some("bm90IGEgc2lnbmF0dXJl".to_owned());
        let (status, _) = app
            .post_hubspot(path, &body, SECRET, forged, app.millis())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{db:?}");
        assert_eq!(
            registration(&app, id).await["status"],
            "approved",
            "{db:?}: unchanged"
        );

        let (status, answer) = app
            .post_hubspot(path, &body, SECRET, None, app.millis())
            .await;
        assert_eq!(
            (status, answer["applied"].as_i64()),
            (StatusCode::OK, Some(1)),
            "{db:?}: {answer}"
        );
        assert_eq!(registration(&app, id).await["status"], "won", "{db:?}");
        let (status, _) = app
            .post_hubspot(path, &body, SECRET, None, app.millis())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{db:?}: a replay");
        let (_, events) = app
            .get(&format!("/api/v1/registrations/{id}/events"), ADMIN_TOKEN)
            .await;
        let won = events
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == "won");
        assert_eq!(
            won.map(|e| e["actor"].clone()).collect::<Vec<_>>(),
            [json!("crm")],
            "{db:?}"
        );
    }
}

#[tokio::test]
async fn stage_changes_made_in_hubspot_are_read_back_once() {
    for db in backends() {
        let (fake, app, id, record) = approved_in_hubspot(db).await;
        let link = app.state.crm.clone().expect("a CRM");
        assert_eq!(
            pull_changes(&app.state, &link).await.expect("pull"),
            0,
            "{db:?}: nothing closed yet"
        );

        assert!(fake.edit("deals", &record, "dealstage", "closedlost"));
        assert_eq!(
            pull_changes(&app.state, &link).await.expect("pull"),
            1,
            "{db:?}"
        );
        let shown = registration(&app, id).await;
        assert_eq!(shown["status"], "lost", "{db:?}: {shown}");
        assert_eq!(
            pull_changes(&app.state, &link).await.expect("pull"),
            0,
            "{db:?}: read once"
        );
    }
}

#[tokio::test]
async fn registrations_reach_salesforce_and_its_stage_and_meeting_come_back() {
    for db in backends() {
        let options = FakeOptions::default();
        let credentials = Credentials::client_credentials(
            options.client_id.clone(),
            options.client_secret.clone(),
        );
        let fake = FakeSalesforce::start(options).await;
        let mut config = CrmConfig::defaults(CrmProvider::Salesforce);
        config.salesforce.login_url = fake.login_url().to_owned();
        let crm = Salesforce::new(&config, credentials).with_timeout(Duration::from_millis(500));
        let app = app_with(db, config, Arc::new(crm)).await;
        let partner = app.partner("Northwind", "reseller").await;
        let acme = app.register(partner, "Acme", "acme.com").await;
        app.register(partner, "Globex", "globex.com").await;
        approve(&app, acme).await;
        sync_all(&app).await;

        let records = fake.records("Partner_Registration__c");
        assert_eq!(records.len(), 2, "{db:?}");
        let ours = records
            .iter()
            .find(|r| r["Trellis_Id__c"] == json!(acme.to_string()))
            .expect("Acme's registration");
        assert_eq!(
            (ours["Name"].as_str(), ours["Status__c"].as_str()),
            (Some("Acme"), Some("approved"))
        );
        assert_eq!(fake.records("Account").len(), 2, "{db:?}");
        assert_eq!(registration(&app, acme).await["crm"]["state"], "synced");

        app.advance(time::Duration::days(2));
        let change = json!({"Stage__c": "Closed Won", "First_Meeting__c": "2026-01-06"});
        fake.edit("Partner_Registration__c", &acme.to_string(), change)
            .expect("a rep's edit");
        let link = app.state.crm.clone().expect("a CRM");
        assert_eq!(
            pull_changes(&app.state, &link).await.expect("pull"),
            2,
            "{db:?}: meeting, then won"
        );
        let shown = registration(&app, acme).await;
        assert_eq!(shown["status"], "won", "{db:?}: {shown}");
        assert!(shown["first_meeting_at"].is_string(), "{shown}");
        assert_eq!(
            pull_changes(&app.state, &link).await.expect("pull"),
            0,
            "{db:?}: read once"
        );
    }
}
