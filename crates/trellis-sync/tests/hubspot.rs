//! The HubSpot connector against the local fake HubSpot: batching, refused
//! records, rate limits, retries, dropped connections, auth, reads, and
//! webhook deliveries.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use time::macros::datetime;
use trellis_domain::program::{CrmConfig, CrmProvider};
use trellis_fakes::hubspot::{Endpoint, FakeHubSpot, Fault, HubSpotOptions, Property};
use trellis_sync::crm::hubspot::webhook::{parse_webhook, ChangedValue, WebhookError};
use trellis_sync::crm::hubspot::HubSpot;
use trellis_sync::crm::{AccountRecord, Crm, CrmError, Outcome, Record};

const MEETING: &str = "trellis_first_meeting";

fn config(base_url: &str) -> CrmConfig {
    let mut config = CrmConfig::defaults(CrmProvider::Hubspot);
    config.base_url = base_url.to_owned();
    config.meeting_property = Some(MEETING.to_owned());
    config
}

async fn fake(options: HubSpotOptions) -> (FakeHubSpot, HubSpot) {
    let fake = FakeHubSpot::start(options.with_property("deals", Property::date(MEETING))).await;
    let hubspot = HubSpot::new(&config(&fake.base_url()), HubSpotOptions::default().token)
        .with_timeout(Duration::from_millis(500));
    (fake, hubspot)
}

fn pairs(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Registration `n` of account `account`, new (with the `on_create` values).
fn registration(n: usize, account: usize) -> Record {
    Record {
        external_id: format!("reg-{n}"),
        record_id: None,
        properties: pairs(&[
            ("dealname", format!("Deal {n}")),
            ("amount", "1234.50".into()),
            ("trellis_case_number", format!("R-{n:05}")),
            ("pipeline", "default".into()),
            ("dealstage", "appointmentscheduled".into()),
        ]),
        account: AccountRecord {
            external_id: format!("acc-{account}"),
            properties: pairs(&[
                ("name", format!("Company {account}")),
                ("domain", format!("company{account}.example")),
            ]),
        },
    }
}

fn registrations(count: usize, companies: usize) -> Vec<Record> {
    (0..count).map(|n| registration(n, n % companies)).collect()
}

fn synced_id(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Synced { record_id } => record_id.clone(),
        Outcome::Rejected { message } => panic!("rejected: {message}"),
    }
}

fn deals(fake: &FakeHubSpot) -> u64 {
    fake.calls(&Endpoint::upsert("deals"))
}

#[tokio::test]
async fn upsert_creates_then_updates_without_duplicates() {
    let (fake, hubspot) = fake(HubSpotOptions::default()).await;
    let mut records = registrations(3, 2);

    let first = hubspot.upsert(&records).await.expect("first sync");
    let ids: Vec<String> = first.iter().map(synced_id).collect();
    assert_eq!(fake.records("deals").len(), 3);
    assert_eq!(fake.records("companies").len(), 2);
    assert_eq!(fake.associations("deals", "companies").len(), 3);
    assert_eq!(hubspot.calls(), 3, "companies, deals, associations");

    for (record, id) in records.iter_mut().zip(&ids) {
        record.record_id = Some(id.clone());
        record.properties.insert("amount".into(), "99.00".into());
    }
    let again = hubspot.upsert(&records).await.expect("second sync");
    assert_eq!(again.iter().map(synced_id).collect::<Vec<_>>(), ids);
    assert_eq!(fake.records("deals").len(), 3);
    assert_eq!(
        (fake.created(), fake.updated()),
        (5, 5),
        "3 deals and 2 companies, twice"
    );
    assert_eq!(hubspot.calls(), 5, "known records need no association");
    let stored = fake
        .find("deals", "trellis_registration_id", "reg-1")
        .expect("reg-1");
    assert_eq!(stored.properties["amount"], "99.00");
}

#[tokio::test]
async fn a_batch_of_250_goes_in_calls_of_100() {
    let (fake, hubspot) = fake(HubSpotOptions::default()).await;
    let outcomes = hubspot.upsert(&registrations(250, 40)).await.expect("sync");
    assert_eq!(outcomes.len(), 250);
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Synced { .. })));
    assert_eq!(fake.calls(&Endpoint::upsert("companies")), 1);
    assert_eq!(deals(&fake), 3);
    assert_eq!(fake.calls(&Endpoint::associate("deals", "companies")), 3);
    assert_eq!(hubspot.calls(), 7);
    assert_eq!(fake.records("deals").len(), 250);
    assert_eq!(fake.associations("deals", "companies").len(), 250);
}

#[tokio::test]
async fn a_refused_record_is_isolated_with_hubspots_message() {
    let (fake, hubspot) = fake(HubSpotOptions::default()).await;
    let mut records = registrations(100, 10);
    records[37]
        .properties
        .insert("dealstage".into(), "bogus".into());

    let outcomes = hubspot.upsert(&records).await.expect("sync");
    for (n, outcome) in outcomes.iter().enumerate() {
        match (n, outcome) {
            (37, Outcome::Rejected { message }) => {
                assert!(
                    message.contains("bogus was not one of the allowed options"),
                    "{message}"
                );
                assert!(message.contains("correlationId"), "{message}");
            }
            (37, synced) => panic!("the bad record went through: {synced:?}"),
            (_, outcome) => assert!(
                matches!(outcome, Outcome::Synced { .. }),
                "{n}: {outcome:?}"
            ),
        }
    }
    assert_eq!(fake.records("deals").len(), 99);
    assert_eq!(fake.associations("deals", "companies").len(), 99);
    // Halving 100 down to one costs at most two calls a level, seven levels.
    assert!(
        deals(&fake) <= 15,
        "{} upsert calls to isolate one record",
        deals(&fake)
    );
}

#[tokio::test]
async fn a_multi_status_answer_needs_no_isolation() {
    let (fake, hubspot) = fake(HubSpotOptions::default().with_multi_status()).await;
    let mut records = registrations(10, 2);
    records[4]
        .properties
        .insert("dealstage".into(), "bogus".into());

    let outcomes = hubspot.upsert(&records).await.expect("sync");
    assert!(matches!(&outcomes[4], Outcome::Rejected { message } if message.contains("bogus")));
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Synced { .. }))
            .count(),
        9
    );
    assert_eq!(deals(&fake), 1);
}

#[tokio::test]
async fn a_refused_company_holds_back_only_its_registrations() {
    let industry = Property::choice("industry", &["SOFTWARE", "RETAIL"]);
    let (fake, hubspot) =
        fake(HubSpotOptions::default().with_property("companies", industry)).await;
    let mut records = registrations(6, 3);
    for record in records
        .iter_mut()
        .filter(|r| r.account.external_id == "acc-1")
    {
        record
            .account
            .properties
            .insert("industry".into(), "MINING".into());
    }

    let outcomes = hubspot.upsert(&records).await.expect("sync");
    for (record, outcome) in records.iter().zip(&outcomes) {
        match outcome {
            Outcome::Rejected { message } if record.account.external_id == "acc-1" => {
                assert!(message.contains("its account"), "{message}");
                assert!(
                    message.contains("MINING was not one of the allowed options"),
                    "{message}"
                );
            }
            Outcome::Synced { .. } if record.account.external_id != "acc-1" => {}
            other => panic!("{}: {other:?}", record.external_id),
        }
    }
    assert_eq!(fake.records("companies").len(), 2);
    assert_eq!(fake.records("deals").len(), 4);
}

#[tokio::test]
async fn a_property_hubspot_lacks_refuses_the_call() {
    let (fake, hubspot) = fake(HubSpotOptions::default()).await;
    let mut records = registrations(5, 1);
    for record in &mut records {
        record
            .properties
            .insert("trellis_segment".into(), "smb".into());
    }
    let error = hubspot
        .upsert(&records)
        .await
        .expect_err("a mapping problem");
    let CrmError::Refused { message } = error else {
        panic!("expected Refused, got {error:?}");
    };
    assert!(
        message.contains("no property trellis_segment on deals"),
        "{message}"
    );
    assert_eq!(deals(&fake), 1, "no isolation of a configuration problem");
}

#[tokio::test]
async fn rate_limit_bursts_are_waited_out() {
    let (fake, hubspot) = fake(HubSpotOptions::default()).await;
    fake.inject_on(
        Endpoint::upsert("deals"),
        Fault::RateLimited {
            retry_after_secs: Some(1),
        },
    );
    fake.inject_on(
        Endpoint::upsert("deals"),
        Fault::RateLimited {
            retry_after_secs: None,
        },
    );

    let started = Instant::now();
    let outcomes = hubspot.upsert(&registrations(2, 1)).await.expect("sync");
    assert_eq!(outcomes.iter().map(synced_id).count(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    assert_eq!((fake.rate_limited(), deals(&fake)), (2, 3));
}

#[tokio::test]
async fn a_long_retry_after_is_handed_back() {
    let (fake, hubspot) = fake(HubSpotOptions::default()).await;
    fake.inject(Fault::RateLimited {
        retry_after_secs: Some(60),
    });
    let error = hubspot
        .properties("deals")
        .await
        .expect_err("not waited inline");
    assert!(matches!(
        error,
        CrmError::Unavailable { retry_after: Some(wait), .. } if wait == Duration::from_secs(60)
    ));
    assert_eq!(fake.total_calls(), 1);
}

#[tokio::test]
async fn the_client_paces_itself_by_the_rate_limit_headers() {
    let options = HubSpotOptions::default().with_rate_limit(4, Duration::from_millis(300));
    let (fake, hubspot) = fake(options).await;
    for n in 0..4 {
        hubspot.upsert(&[registration(n, n)]).await.expect("sync");
    }
    assert_eq!(hubspot.calls(), 12);
    assert_eq!(
        fake.rate_limited(),
        0,
        "the client waited instead of earning a 429"
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let (fake, hubspot) = fake(HubSpotOptions::default()).await;
    fake.inject_on(Endpoint::upsert("deals"), Fault::ServerError);
    fake.inject_on(Endpoint::upsert("deals"), Fault::ServerError);
    hubspot
        .upsert(&registrations(3, 1))
        .await
        .expect("third attempt succeeds");
    assert_eq!(deals(&fake), 3);

    for _ in 0..4 {
        fake.inject(Fault::ServerError);
    }
    let error = hubspot
        .properties("deals")
        .await
        .expect_err("four failures");
    let CrmError::Unavailable { message, .. } = error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(message.contains("after 4 attempt(s)"), "{message}");
    assert!(
        message.contains("HTTP 500") && message.contains("correlationId"),
        "{message}"
    );
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let (fake, hubspot) = fake(HubSpotOptions::default()).await;
    fake.inject_on(
        Endpoint::upsert("deals"),
        Fault::Slow(Duration::from_secs(2)),
    );
    let outcomes = hubspot.upsert(&registrations(2, 1)).await.expect("sync");
    assert_eq!(outcomes.iter().map(synced_id).count(), 2);
    assert_eq!(deals(&fake), 2);
    assert_eq!(
        fake.records("deals").len(),
        2,
        "the slow write and its retry are one record"
    );
}

#[tokio::test]
async fn a_dropped_connection_then_a_repeat_leaves_one_record_each() {
    let (fake, hubspot) = fake(HubSpotOptions::default()).await;
    let records = registrations(10, 3);
    fake.inject_on(Endpoint::upsert("deals"), Fault::DropConnection);
    let outcomes = hubspot.upsert(&records).await.expect("retried inline");
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Synced { .. })));
    assert_eq!(deals(&fake), 2, "the dropped batch was sent again");
    assert_eq!(fake.records("deals").len(), 10);
    assert_eq!(
        fake.associations("deals", "companies").len(),
        10,
        "no longer new, still linked"
    );

    for _ in 0..4 {
        fake.inject_on(Endpoint::upsert("deals"), Fault::DropConnection);
    }
    let more = registrations(20, 3);
    let error = hubspot
        .upsert(&more)
        .await
        .expect_err("every attempt dropped");
    assert!(matches!(error, CrmError::Unavailable { .. }), "{error:?}");
    assert_eq!(fake.records("deals").len(), 20, "applied without an answer");

    let outcomes = hubspot.upsert(&more).await.expect("the repeat");
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Synced { .. })));
    assert_eq!(fake.records("deals").len(), 20);
    assert_eq!(fake.associations("deals", "companies").len(), 20);
}

#[tokio::test]
async fn a_wrong_token_is_refused_without_retrying() {
    let fake = FakeHubSpot::start(HubSpotOptions::default()).await;
    let hubspot = HubSpot::new(&config(&fake.base_url()), "stale-token".into());
    let error = hubspot.properties("deals").await.expect_err("401");
    let CrmError::Refused { message } = error else {
        panic!("expected Refused, got {error:?}");
    };
    assert!(
        message.contains("did not accept the access token"),
        "{message}"
    );
    assert!(message.contains("correlationId"), "{message}");
    assert!(
        !message.contains("stale-token"),
        "the token stays out of messages"
    );
    assert_eq!(hubspot.calls(), 1);
}

#[tokio::test]
async fn a_missing_scope_is_named() {
    let (fake, hubspot) = fake(HubSpotOptions::default()).await;
    fake.inject_on(Endpoint::upsert("companies"), Fault::MissingScopes);
    let error = hubspot.upsert(&registrations(1, 1)).await.expect_err("403");
    let CrmError::Refused { message } = error else {
        panic!("expected Refused, got {error:?}");
    };
    assert!(message.contains("crm.objects.companies.write"), "{message}");
}

#[tokio::test]
async fn properties_are_listed() {
    let (_fake, hubspot) = fake(HubSpotOptions::default()).await;
    let names = hubspot.properties("deals").await.expect("deal properties");
    for name in ["dealname", "dealstage", "trellis_registration_id", MEETING] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    let error = hubspot
        .properties("dealz")
        .await
        .expect_err("no such object");
    assert!(matches!(error, CrmError::Refused { message } if message.contains("dealz")));
}

#[tokio::test]
async fn accounts_are_read_page_by_page() {
    let (fake, hubspot) = fake(HubSpotOptions::default()).await;
    for n in 0..150 {
        let (name, domain) = (format!("Company {n}"), format!("company{n}.example"));
        fake.seed("companies", &[("name", &name), ("domain", &domain)]);
    }
    fake.seed("companies", &[("city", "Nowhere")]);

    let first = hubspot.accounts(None).await.expect("first page");
    assert_eq!(first.items.len(), 100);
    assert_eq!(first.items[0].name, "Company 0");
    assert_eq!(first.items[0].domain.as_deref(), Some("company0.example"));
    let second = hubspot
        .accounts(first.next.as_deref())
        .await
        .expect("second page");
    assert_eq!(second.items.len(), 51);
    assert_eq!(second.next, None);
    assert_eq!(second.items[50].name, "");
    assert_eq!(second.items[50].domain, None);
}

#[tokio::test]
async fn changes_are_read_from_a_cursor() {
    let (fake, hubspot) = fake(HubSpotOptions::default()).await;
    let ids: Vec<String> = hubspot
        .upsert(&registrations(3, 1))
        .await
        .expect("sync")
        .iter()
        .map(synced_id)
        .collect();

    let all = hubspot.changes(None).await.expect("all changes");
    assert_eq!(
        all.items.len(),
        3,
        "three deals written in the same millisecond"
    );
    assert!(all
        .items
        .iter()
        .all(|c| c.stage.as_deref() == Some("appointmentscheduled")));
    assert_eq!(all.items[0].external_id.as_deref(), Some("reg-0"));
    let cursor = all.next.expect("a cursor to resume from");

    let none = hubspot.changes(Some(&cursor)).await.expect("nothing new");
    assert!(none.items.is_empty(), "{:?}", none.items);
    assert_eq!(none.next.as_deref(), Some(cursor.as_str()));

    assert!(fake.edit("deals", &ids[1], "dealstage", "closedwon"));
    assert!(fake.edit("deals", &ids[2], MEETING, "2024-03-05"));
    let changed = hubspot.changes(Some(&cursor)).await.expect("two changes");
    assert_eq!(changed.items.len(), 2);
    assert_eq!(changed.items[0].record_id, ids[1]);
    assert_eq!(changed.items[0].stage.as_deref(), Some("closedwon"));
    assert_eq!(
        changed.items[1].meeting_at,
        Some(datetime!(2024-03-05 00:00 UTC))
    );
    assert!(changed.items[0].changed_at <= changed.items[1].changed_at);
    let later = hubspot
        .changes(changed.next.as_deref())
        .await
        .expect("nothing new");
    assert!(later.items.is_empty());
}

#[test]
fn webhook_deliveries_yield_stage_and_meeting_changes() {
    let config = config("https://api.hubapi.com");
    let body = br#"[
      {"eventId": 100, "subscriptionId": 7, "portalId": 62515, "occurredAt": 1700000000000,
       "subscriptionType": "deal.propertyChange", "attemptNumber": 0, "objectId": 1234,
       "changeSource": "CRM_UI", "propertyName": "dealstage", "propertyValue": "closedwon"},
      {"eventId": 101, "subscriptionId": 8, "portalId": 62515, "occurredAt": 1700000001000,
       "subscriptionType": "object.propertyChange", "objectTypeId": "0-3", "attemptNumber": 1,
       "objectId": 1235, "propertyName": "trellis_first_meeting", "propertyValue": "1709596800000"},
      {"eventId": 102, "subscriptionId": 9, "portalId": 62515, "occurredAt": 1700000002000,
       "subscriptionType": "deal.propertyChange", "objectId": 1236,
       "propertyName": "trellis_first_meeting", "propertyValue": ""},
      {"eventId": 103, "subscriptionType": "deal.propertyChange", "objectId": 1237,
       "occurredAt": 1700000003000, "propertyName": "amount", "propertyValue": "10"},
      {"eventId": 104, "subscriptionType": "company.propertyChange", "objectId": 55,
       "occurredAt": 1700000004000, "propertyName": "dealstage", "propertyValue": "closedwon"},
      {"eventId": 105, "subscriptionType": "deal.creation", "objectId": 1238,
       "occurredAt": 1700000005000},
      {"eventId": 106, "subscriptionType": "object.propertyChange", "objectTypeId": "0-1",
       "objectId": 9, "occurredAt": 1700000006000, "propertyName": "dealstage",
       "propertyValue": "closedwon"}
    ]"#;
    let changes = parse_webhook(&config, body).expect("a valid delivery");
    assert_eq!(changes.len(), 3);
    assert_eq!(changes[0].record_id, "1234");
    assert_eq!(changes[0].event_id, "100");
    assert_eq!(changes[0].occurred_at, datetime!(2023-11-14 22:13:20 UTC));
    assert_eq!(changes[0].value, ChangedValue::Stage("closedwon".into()));
    assert_eq!(changes[1].record_id, "1235");
    assert_eq!(
        changes[1].value,
        ChangedValue::Meeting(Some(datetime!(2024-03-05 00:00 UTC)))
    );
    assert_eq!(changes[2].value, ChangedValue::Meeting(None));
}

#[test]
fn malformed_webhook_deliveries_are_refused() {
    let config = config("https://api.hubapi.com");
    let event =
        |fields: &str| format!(r#"[{{"subscriptionType": "deal.propertyChange", {fields}}}]"#);
    let cases: [(&str, String); 5] = [
        ("not json", "{".to_owned()),
        ("not an array", r#"{"eventId": 1}"#.to_owned()),
        (
            "no objectId",
            event(r#""occurredAt": 1, "propertyName": "dealstage""#),
        ),
        (
            "no occurredAt",
            event(r#""objectId": 1, "propertyName": "dealstage""#),
        ),
        (
            "an unreadable meeting",
            event(
                r#""objectId": 1, "occurredAt": 1, "propertyName": "trellis_first_meeting", "propertyValue": "soon""#,
            ),
        ),
    ];
    for (case, body) in cases {
        let error = parse_webhook(&config, body.as_bytes()).expect_err(case);
        let expected = match case {
            "not json" => matches!(error, WebhookError::NotJson(_)),
            "not an array" => matches!(error, WebhookError::NotAnArray),
            _ => matches!(error, WebhookError::Event { index: 0, .. }),
        };
        assert!(expected, "{case}: {error}");
    }
}
