//! Upserts with sObject Collections keyed by External ID fields: first the
//! batch's accounts (each once), then the registrations, each naming its
//! account by the account's External ID through the lookup relationship,
//! so no call is spent learning Salesforce ids. 200 records per call.

use super::client::{Call, Client};
use super::error::RecordError;
use crate::crm::{AccountRecord, CrmError, Outcome, Record};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use trellis_domain::program::CrmConfig;

/// The most records one sObject Collections call takes.
pub(super) const BATCH_LIMIT: usize = 200;

/// One element of the answer, in the order of the records sent.
#[derive(Debug, serde::Deserialize)]
struct UpsertResult {
    id: Option<String>,
    success: bool,
    #[serde(default)]
    errors: Vec<RecordError>,
}

impl UpsertResult {
    fn into_outcome(self) -> Outcome {
        match self.id {
            Some(record_id) if self.success => Outcome::Synced { record_id },
            _ if self.errors.is_empty() => Outcome::Rejected {
                message: "Salesforce did not save the record and gave no reason".into(),
            },
            _ => Outcome::Rejected {
                message: self
                    .errors
                    .iter()
                    .map(RecordError::describe)
                    .collect::<Vec<_>>()
                    .join("; "),
            },
        }
    }
}

pub(super) async fn upsert(
    client: &Client,
    config: &CrmConfig,
    records: &[Record],
) -> Result<Vec<Outcome>, CrmError> {
    let accounts = unique_accounts(records);
    let bodies: Vec<Value> = accounts
        .iter()
        .map(|account| account_body(config, account))
        .collect();
    let saved = upsert_all(
        client,
        &config.account_object,
        &config.account_id_property,
        bodies,
    )
    .await?;
    let refused: HashMap<&str, String> = accounts
        .iter()
        .zip(saved)
        .filter_map(|(account, outcome)| match outcome {
            Outcome::Rejected { message } => Some((account.external_id.as_str(), message)),
            Outcome::Synced { .. } => None,
        })
        .collect();

    let sendable = records
        .iter()
        .filter(|record| !refused.contains_key(record.account.external_id.as_str()));
    let bodies: Vec<Value> = sendable
        .map(|record| registration_body(config, record))
        .collect();
    let mut saved = upsert_all(client, &config.object, &config.id_property, bodies)
        .await?
        .into_iter();
    records
        .iter()
        .map(
            |record| match refused.get(record.account.external_id.as_str()) {
                Some(reason) => Ok(Outcome::Rejected {
                    message: format!(
                        "its account {} was not saved: {reason}",
                        record.account.external_id
                    ),
                }),
                None => saved.next().ok_or_else(|| short_answer(&config.object)),
            },
        )
        .collect()
}

/// Upserts `bodies` in calls of at most [`BATCH_LIMIT`], one outcome each.
async fn upsert_all(
    client: &Client,
    object: &str,
    id_field: &str,
    bodies: Vec<Value>,
) -> Result<Vec<Outcome>, CrmError> {
    let path = client.data_path(&format!("composite/sobjects/{object}/{id_field}"));
    let mut outcomes = Vec::with_capacity(bodies.len());
    for chunk in bodies.chunks(BATCH_LIMIT) {
        let body = json!({ "allOrNone": false, "records": chunk });
        let results: Vec<UpsertResult> = client.send(Call::patch(&path, &body)).await?;
        if results.len() != chunk.len() {
            return Err(short_answer(object));
        }
        outcomes.extend(results.into_iter().map(UpsertResult::into_outcome));
    }
    Ok(outcomes)
}

fn short_answer(object: &str) -> CrmError {
    CrmError::Unavailable {
        message: format!("Salesforce answered a {object} upsert with the wrong number of results"),
        retry_after: None,
    }
}

/// Each account once, in the order first named, with the properties of
/// its last mention (the newest).
fn unique_accounts(records: &[Record]) -> Vec<&AccountRecord> {
    let mut position: HashMap<&str, usize> = HashMap::new();
    let mut accounts: Vec<&AccountRecord> = Vec::new();
    for account in records.iter().map(|record| &record.account) {
        match position.get(account.external_id.as_str()) {
            Some(&at) => accounts[at] = account,
            None => {
                position.insert(&account.external_id, accounts.len());
                accounts.push(account);
            }
        }
    }
    accounts
}

fn account_body(config: &CrmConfig, account: &AccountRecord) -> Value {
    let mut fields = sobject(&config.account_object);
    fields.insert(
        config.account_id_property.clone(),
        Value::String(account.external_id.clone()),
    );
    insert_properties(&mut fields, &account.properties);
    Value::Object(fields)
}

/// The registration's fields, its External ID, its account by reference,
/// and `[crm.on_create]` while Salesforce has not yet answered its id: an
/// upsert cannot say "only on create", so that is as near as it comes.
fn registration_body(config: &CrmConfig, record: &Record) -> Value {
    let mut fields = sobject(&config.object);
    if record.record_id.is_none() {
        insert_properties(&mut fields, &config.on_create);
    }
    insert_properties(&mut fields, &record.properties);
    fields.insert(
        config.id_property.clone(),
        Value::String(record.external_id.clone()),
    );
    let mut account = sobject(&config.account_object);
    account.insert(
        config.account_id_property.clone(),
        Value::String(record.account.external_id.clone()),
    );
    fields.insert(
        config.salesforce.account_relationship.clone(),
        Value::Object(account),
    );
    Value::Object(fields)
}

/// `{"attributes": {"type": object}}`, which every record of a collection
/// and every reference inside one must carry.
fn sobject(object: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("attributes".into(), json!({ "type": object }));
    fields
}

/// Mapped properties as JSON strings; an empty value clears the field.
fn insert_properties(fields: &mut Map<String, Value>, properties: &BTreeMap<String, String>) {
    for (name, value) in properties {
        let value = if value.is_empty() {
            Value::Null
        } else {
            Value::String(value.clone())
        };
        fields.insert(name.clone(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trellis_domain::program::CrmProvider;

    fn record(id: &str, account: &str, name: &str) -> Record {
        Record {
            external_id: id.into(),
            record_id: None,
            properties: BTreeMap::from([
                ("Name".to_owned(), name.to_owned()),
                ("Hold_Until__c".to_owned(), String::new()),
            ]),
            account: AccountRecord {
                external_id: account.into(),
                properties: BTreeMap::from([("Name".to_owned(), name.to_owned())]),
            },
        }
    }

    #[test]
    fn accounts_are_sent_once_with_their_newest_properties() {
        let records = [
            record("r1", "a1", "Acme"),
            record("r2", "a2", "Globex"),
            record("r3", "a1", "Acme Corp"),
        ];
        let accounts = unique_accounts(&records);
        let names: Vec<(&str, &str)> = accounts
            .iter()
            .map(|a| (a.external_id.as_str(), a.properties["Name"].as_str()))
            .collect();
        assert_eq!(names, [("a1", "Acme Corp"), ("a2", "Globex")]);
    }

    #[test]
    fn a_registration_names_its_account_through_the_relationship() {
        let mut config = CrmConfig::defaults(CrmProvider::Salesforce);
        config.on_create = BTreeMap::from([("Stage__c".to_owned(), "Prospecting".to_owned())]);
        let body = registration_body(&config, &record("r1", "a1", "Acme"));
        assert_eq!(
            body,
            json!({
                "attributes": {"type": "Partner_Registration__c"},
                "Trellis_Id__c": "r1",
                "Name": "Acme",
                "Hold_Until__c": null,
                "Stage__c": "Prospecting",
                "Account__r": {"attributes": {"type": "Account"}, "Trellis_Account_Id__c": "a1"},
            })
        );
        let mut known = record("r1", "a1", "Acme");
        known.record_id = Some("a01000000000001AAA".into());
        assert!(registration_body(&config, &known).get("Stage__c").is_none());
    }

    #[test]
    fn failures_carry_salesforces_code_message_and_fields() {
        let result: UpsertResult = serde_json::from_value(json!({
            "success": false,
            "errors": [{"statusCode": "REQUIRED_FIELD_MISSING",
                        "message": "Required fields are missing: [Name]", "fields": ["Name"]}]
        }))
        .expect("an upsert result");
        assert_eq!(
            result.into_outcome(),
            Outcome::Rejected {
                message:
                    "REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (fields: Name)"
                        .into()
            }
        );
    }
}
