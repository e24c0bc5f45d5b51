//! The Salesforce connector against the local fake org: sign-in flows,
//! upserts by External ID, per-record rejections, faults (expired sessions,
//! 5xx, timeouts, dropped connections, the request limit), describe,
//! account paging and change cursors.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};
use time::macros::datetime;
use trellis_domain::program::{CrmConfig, CrmProvider};
use trellis_fakes::salesforce::{
    Endpoint, FakeOptions, FakeSalesforce, Fault, TEST_PRIVATE_KEY_PEM,
};
use trellis_sync::crm::salesforce::{Credentials, Salesforce};
use trellis_sync::crm::{AccountRecord, Crm, CrmChange, CrmError, Outcome, Page, Record};

const REGISTRATIONS: &str = "Partner_Registration__c";
const ACCOUNTS: &str = "Account";

async fn org(options: FakeOptions) -> (FakeSalesforce, Salesforce) {
    let client_id = options.client_id.clone();
    let secret = options.client_secret.clone();
    let fake = FakeSalesforce::start(options).await;
    let client = Salesforce::new(
        &config(&fake),
        Credentials::client_credentials(client_id, secret),
    )
    .with_timeout(Duration::from_secs(2));
    (fake, client)
}

fn config(fake: &FakeSalesforce) -> CrmConfig {
    let mut config = CrmConfig::defaults(CrmProvider::Salesforce);
    config.salesforce.login_url = fake.login_url().to_owned();
    config.salesforce.username = Some(FakeOptions::default().username);
    config
}

fn registration(n: usize, account: usize) -> Record {
    Record {
        external_id: format!("reg-{n}"),
        record_id: None,
        properties: BTreeMap::from([
            ("Name".to_owned(), format!("Deal {n}")),
            ("Case_Number__c".to_owned(), format!("C-{n}")),
        ]),
        account: AccountRecord {
            external_id: format!("acct-{account}"),
            properties: BTreeMap::from([
                ("Name".to_owned(), format!("Company {account}")),
                (
                    "Website".to_owned(),
                    format!("https://www.company-{account}.example/about"),
                ),
            ]),
        },
    }
}

/// `count` registrations spread over `accounts` accounts.
fn registrations(count: usize, accounts: usize) -> Vec<Record> {
    (0..count).map(|n| registration(n, n % accounts)).collect()
}

fn synced_ids(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|outcome| match outcome {
            Outcome::Synced { record_id } => record_id.clone(),
            Outcome::Rejected { message } => panic!("rejected: {message}"),
        })
        .collect()
}

/// Each stored record's External ID, asserting none is stored twice.
fn stored_ids(fake: &FakeSalesforce, object: &str, key: &str) -> HashSet<String> {
    let records = fake.records(object);
    let ids: HashSet<String> = records
        .iter()
        .filter_map(|record| record.get(key)?.as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), records.len(), "{object} holds a duplicate");
    ids
}

fn rejection(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Rejected { message } => message,
        Outcome::Synced { record_id } => panic!("{record_id} was synced"),
    }
}

#[tokio::test]
async fn client_credentials_sign_in_once_and_call_the_instance() {
    let (fake, salesforce) = org(FakeOptions::default()).await;
    salesforce.properties(ACCOUNTS).await.expect("describe");
    salesforce
        .properties(REGISTRATIONS)
        .await
        .expect("describe");
    assert_eq!(fake.calls(Endpoint::Token), 1);
    assert_eq!(fake.calls(Endpoint::Describe), 2);
    assert_eq!(salesforce.calls(), 3);
}

#[tokio::test]
async fn a_failed_sign_in_is_repeated_with_its_call() {
    let (fake, salesforce) = org(FakeOptions::default()).await;
    fake.inject(Endpoint::Token, [Fault::Status(503)]);
    salesforce.properties(ACCOUNTS).await.expect("describe");
    assert_eq!(fake.calls(Endpoint::Token), 2);
    assert_eq!(salesforce.calls(), 3);
}

#[tokio::test]
async fn the_jwt_bearer_flow_signs_in_with_the_key_and_the_username() {
    let fake = FakeSalesforce::start(FakeOptions::default()).await;
    let client_id = FakeOptions::default().client_id;
    let key = || Credentials::jwt_bearer(&client_id, TEST_PRIVATE_KEY_PEM.as_bytes());
    let salesforce = Salesforce::new(&config(&fake), key().expect("the test key"));
    salesforce.properties(ACCOUNTS).await.expect("signed in");
    assert_eq!(fake.calls(Endpoint::Token), 1);

    let mut stranger = config(&fake);
    stranger.salesforce.username = Some("someone@else.example".into());
    let salesforce = Salesforce::new(&stranger, key().expect("the test key"));
    match salesforce.properties(ACCOUNTS).await {
        Err(CrmError::Refused { message }) => assert!(
            message.contains("invalid_grant: user hasn't approved this consumer"),
            "{message}"
        ),
        other => panic!("another user's assertion was accepted: {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_the_oauth_error() {
    let fake = FakeSalesforce::start(FakeOptions::default()).await;
    let credentials = Credentials::client_credentials(FakeOptions::default().client_id, "wrong");
    let salesforce = Salesforce::new(&config(&fake), credentials);
    match salesforce.upsert(&registrations(1, 1)).await {
        Err(CrmError::Refused { message }) => assert!(
            message.contains("invalid_client: invalid client credentials"),
            "{message}"
        ),
        other => panic!("a wrong secret was not refused: {other:?}"),
    }
    assert_eq!(fake.calls(Endpoint::Token), 1, "a refusal is not repeated");
    assert_eq!(fake.calls(Endpoint::Upsert), 0);
}

#[tokio::test]
async fn upserts_create_then_update_without_duplicates() {
    let (fake, salesforce) = org(FakeOptions::default()).await;
    let mut records = registrations(3, 2);
    let first = synced_ids(&salesforce.upsert(&records).await.expect("upsert"));
    assert_eq!(
        salesforce.calls(),
        3,
        "a sign-in, the accounts, the registrations"
    );
    assert_eq!(fake.counts().created, 5);

    let (stored, accounts) = (fake.records(REGISTRATIONS), fake.records(ACCOUNTS));
    let linked: Vec<_> = stored.iter().map(|record| &record["Account__c"]).collect();
    assert_eq!(
        linked,
        [&accounts[0]["Id"], &accounts[1]["Id"], &accounts[0]["Id"]]
    );

    records[0]
        .properties
        .insert("Name".into(), "Deal 0, renamed".into());
    let again = synced_ids(&salesforce.upsert(&records).await.expect("repeat"));
    assert_eq!(again, first);
    assert_eq!(fake.counts().created, 5);
    assert_eq!(fake.counts().updated, 5);
    assert_eq!(stored_ids(&fake, REGISTRATIONS, "Trellis_Id__c").len(), 3);
    assert_eq!(fake.records(REGISTRATIONS)[0]["Name"], "Deal 0, renamed");
}

#[tokio::test]
async fn a_large_batch_goes_in_calls_of_200() {
    let (fake, salesforce) = org(FakeOptions::default()).await;
    assert_eq!(salesforce.batch_limit(), 200);
    let outcomes = salesforce
        .upsert(&registrations(450, 230))
        .await
        .expect("upsert");
    assert_eq!(synced_ids(&outcomes).len(), 450);
    assert_eq!(fake.upsert_sizes(ACCOUNTS), [200, 30]);
    assert_eq!(fake.upsert_sizes(REGISTRATIONS), [200, 200, 50]);
    assert_eq!(salesforce.calls(), 1 + 2 + 3);
}

#[tokio::test]
async fn a_rejected_record_carries_salesforces_words_while_the_rest_sync() {
    let (fake, salesforce) = org(FakeOptions::default()).await;
    let mut records = registrations(4, 4);
    records[0]
        .properties
        .insert("Stage__c".into(), "Bogus".into());
    records[1].properties.remove("Name");
    records[2].account.properties.remove("Name");
    let outcomes = salesforce.upsert(&records).await.expect("upsert");

    let picklist = rejection(&outcomes[0]);
    assert!(
        picklist.contains("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST") && picklist.contains("Bogus"),
        "{picklist}"
    );
    let missing = rejection(&outcomes[1]);
    assert!(
        missing.contains("REQUIRED_FIELD_MISSING: Required fields are missing: [Name]"),
        "{missing}"
    );
    let account = rejection(&outcomes[2]);
    assert!(
        account.contains("acct-2") && account.contains("REQUIRED_FIELD_MISSING"),
        "{account}"
    );
    assert!(matches!(outcomes[3], Outcome::Synced { .. }));
    assert_eq!(
        stored_ids(&fake, REGISTRATIONS, "Trellis_Id__c"),
        HashSet::from(["reg-3".to_owned()])
    );
    assert_eq!(fake.upsert_sizes(REGISTRATIONS), [3], "reg-2 is not sent");
}

#[tokio::test]
async fn an_unknown_field_refuses_the_call_and_says_what_to_fix() {
    let (_fake, salesforce) = org(FakeOptions::default()).await;
    let mut records = registrations(1, 1);
    records[0]
        .properties
        .insert("Colour__c".into(), "teal".into());
    match salesforce.upsert(&records).await {
        Err(CrmError::Refused { message }) => assert!(
            message.contains("INVALID_FIELD: No such column 'Colour__c'")
                && message.contains("[crm.fields]"),
            "{message}"
        ),
        other => panic!("an unknown field was not refused: {other:?}"),
    }
}

#[tokio::test]
async fn an_expired_session_is_renewed_once() {
    let (fake, salesforce) = org(FakeOptions::default()).await;
    salesforce
        .upsert(&registrations(2, 1))
        .await
        .expect("upsert");
    fake.expire_sessions();
    let outcomes = salesforce
        .upsert(&registrations(2, 1))
        .await
        .expect("upsert");
    assert_eq!(synced_ids(&outcomes).len(), 2);
    assert_eq!(fake.calls(Endpoint::Token), 2);
    assert_eq!(
        fake.calls(Endpoint::Upsert),
        5,
        "the refused call is repeated once"
    );
}

#[tokio::test]
async fn server_errors_are_retried() {
    let (fake, salesforce) = org(FakeOptions::default()).await;
    fake.inject(Endpoint::Upsert, [Fault::Status(500), Fault::Status(503)]);
    let outcomes = salesforce
        .upsert(&registrations(3, 2))
        .await
        .expect("upsert");
    assert_eq!(synced_ids(&outcomes).len(), 3);
    assert_eq!(fake.calls(Endpoint::Upsert), 4);
    assert_eq!(salesforce.calls(), 5);
}

#[tokio::test]
async fn server_errors_that_persist_make_salesforce_unavailable() {
    let (fake, salesforce) = org(FakeOptions::default()).await;
    fake.inject(Endpoint::Describe, [Fault::Status(503); 4]);
    match salesforce.properties(ACCOUNTS).await {
        Err(CrmError::Unavailable { message, .. }) => {
            assert!(message.contains("SERVER_UNAVAILABLE"), "{message}")
        }
        other => panic!("four 503s did not make Salesforce unavailable: {other:?}"),
    }
    assert_eq!(
        fake.calls(Endpoint::Describe),
        4,
        "one call and three retries"
    );
}

#[tokio::test]
async fn retry_after_is_waited_out_when_short_and_handed_back_when_long() {
    let (fake, salesforce) = org(FakeOptions::default()).await;
    fake.inject(Endpoint::Describe, [Fault::RetryAfter(1)]);
    let started = Instant::now();
    salesforce.properties(ACCOUNTS).await.expect("after a wait");
    assert!(started.elapsed() >= Duration::from_secs(1));

    fake.inject(Endpoint::Describe, [Fault::RetryAfter(120)]);
    match salesforce.properties(ACCOUNTS).await {
        Err(CrmError::Unavailable { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(120)))
        }
        other => panic!("a long Retry-After was waited out inline: {other:?}"),
    }
    assert_eq!(fake.calls(Endpoint::Describe), 3);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_tried_again() {
    let (fake, salesforce) = org(FakeOptions::default()).await;
    let salesforce = salesforce.with_timeout(Duration::from_millis(300));
    let slow = Fault::Slow(Duration::from_millis(800));
    fake.inject(Endpoint::Describe, [slow]);
    salesforce
        .properties(ACCOUNTS)
        .await
        .expect("the second try");
    assert_eq!(fake.calls(Endpoint::Describe), 2);

    fake.inject(Endpoint::Describe, [slow; 4]);
    match salesforce.properties(ACCOUNTS).await {
        Err(CrmError::Unavailable { message, .. }) => {
            assert!(message.contains("did not answer in time"), "{message}")
        }
        other => panic!("four timeouts did not make Salesforce unavailable: {other:?}"),
    }
}

#[tokio::test]
async fn a_connection_dropped_mid_batch_then_a_repeat_stores_each_record_once() {
    let (fake, salesforce) = org(FakeOptions::default()).await;
    let records = registrations(450, 3);
    // The accounts and the first 200 registrations go through; the next
    // 200 are saved every time, but the answer never arrives.
    let mut faults = vec![Fault::Pass, Fault::Pass];
    faults.extend([Fault::Drop; 4]);
    fake.inject(Endpoint::Upsert, faults);
    match salesforce.upsert(&records).await {
        Err(CrmError::Unavailable { message, .. }) => {
            assert!(message.contains("connection"), "{message}")
        }
        other => panic!("dropped connections were not reported: {other:?}"),
    }
    assert_eq!(fake.upsert_sizes(REGISTRATIONS), [200, 200, 200, 200, 200]);

    let outcomes = salesforce.upsert(&records).await.expect("the repeat");
    assert_eq!(synced_ids(&outcomes).len(), 450);
    assert_eq!(stored_ids(&fake, REGISTRATIONS, "Trellis_Id__c").len(), 450);
    assert_eq!(
        stored_ids(&fake, ACCOUNTS, "Trellis_Account_Id__c").len(),
        3
    );
}

#[tokio::test]
async fn the_request_limit_makes_salesforce_unavailable_and_usage_is_read() {
    let options = FakeOptions {
        daily_limit: 2,
        ..FakeOptions::default()
    };
    let (fake, salesforce) = org(options).await;
    assert_eq!(salesforce.api_usage(), None);
    salesforce.properties(ACCOUNTS).await.expect("first");
    assert_eq!(salesforce.api_usage(), Some((1, 2)));
    salesforce.properties(ACCOUNTS).await.expect("second");
    match salesforce.properties(ACCOUNTS).await {
        Err(CrmError::Unavailable { message, .. }) => {
            assert!(message.contains("REQUEST_LIMIT_EXCEEDED"), "{message}")
        }
        other => panic!("the spent limit did not make Salesforce unavailable: {other:?}"),
    }
    assert_eq!(salesforce.api_usage(), Some((2, 2)));
    assert_eq!(fake.api_usage(), (2, 2));
    assert_eq!(
        fake.calls(Endpoint::Describe),
        3,
        "the daily limit is not retried inline"
    );
}

#[tokio::test]
async fn describe_lists_the_fields_and_names_a_missing_object() {
    let (fake, salesforce) = org(FakeOptions::default()).await;
    let fields = salesforce
        .properties(REGISTRATIONS)
        .await
        .expect("describe");
    for property in config(&fake).record_properties() {
        assert!(fields.iter().any(|field| field == property), "{property}");
    }
    assert!(fields.iter().any(|field| field == "SystemModstamp"));
    match salesforce.properties("Nope__c").await {
        Err(CrmError::Refused { message }) => assert!(message.contains("NOT_FOUND"), "{message}"),
        other => panic!("a missing object was not refused: {other:?}"),
    }
}

#[tokio::test]
async fn accounts_page_through_next_records_url() {
    let options = FakeOptions {
        query_batch: 2,
        ..FakeOptions::default()
    };
    let (_fake, salesforce) = org(options).await;
    salesforce
        .upsert(&registrations(5, 5))
        .await
        .expect("upsert");

    let mut cursor = None;
    let mut sizes = Vec::new();
    let mut accounts = Vec::new();
    loop {
        let page = salesforce
            .accounts(cursor.as_deref())
            .await
            .expect("a page");
        sizes.push(page.items.len());
        accounts.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(sizes, [2, 2, 1]);
    let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Company 0",
            "Company 1",
            "Company 2",
            "Company 3",
            "Company 4"
        ]
    );
    assert_eq!(accounts[3].domain.as_deref(), Some("www.company-3.example"));

    let elsewhere = salesforce
        .accounts(Some("https://evil.example/steal"))
        .await;
    assert!(matches!(elsewhere, Err(CrmError::Refused { .. })));
}

#[tokio::test]
async fn changes_follow_the_modstamp_cursor_through_ties() {
    let options = FakeOptions {
        query_batch: 3,
        ..FakeOptions::default()
    };
    let fake = FakeSalesforce::start(options).await;
    let salesforce = Salesforce::new(
        &config(&fake),
        Credentials::client_credentials(
            FakeOptions::default().client_id,
            FakeOptions::default().client_secret,
        ),
    )
    .with_change_page(4);
    fake.freeze_clock(datetime!(2026-11-25 10:00 UTC));
    salesforce
        .upsert(&registrations(5, 1))
        .await
        .expect("upsert");

    // Five records share one stamp: a page of four (read in batches of
    // three and one) ends among them, and the next starts after it.
    let first = salesforce.changes(None).await.expect("first page");
    let second = salesforce
        .changes(first.next.as_deref())
        .await
        .expect("second page");
    let third = salesforce
        .changes(second.next.as_deref())
        .await
        .expect("third page");
    let ids = |page: &Page<CrmChange>| -> Vec<String> {
        page.items
            .iter()
            .filter_map(|change| change.external_id.clone())
            .collect()
    };
    assert_eq!(ids(&first), ["reg-0", "reg-1", "reg-2", "reg-3"]);
    assert_eq!(ids(&second), ["reg-4"]);
    assert!(third.items.is_empty());
    assert_eq!(third.next, second.next, "an empty page keeps the cursor");
    assert_eq!(first.items[0].changed_at, datetime!(2026-11-25 10:00 UTC));

    fake.freeze_clock(datetime!(2026-11-26 09:30 UTC));
    let won = serde_json::json!({ "Stage__c": "Closed Won", "First_Meeting__c": "2026-12-01" });
    fake.edit(REGISTRATIONS, "reg-2", won)
        .expect("a rep's edit");
    let bogus = serde_json::json!({ "Stage__c": "Bogus" });
    assert!(fake.edit(REGISTRATIONS, "reg-1", bogus).is_err());

    let edited = salesforce
        .changes(third.next.as_deref())
        .await
        .expect("the edit");
    assert_eq!(ids(&edited), ["reg-2"]);
    let change = &edited.items[0];
    assert_eq!(change.stage.as_deref(), Some("Closed Won"));
    assert_eq!(change.meeting_at, Some(datetime!(2026-12-01 0:00 UTC)));
    assert_eq!(change.changed_at, datetime!(2026-11-26 09:30 UTC));
}
