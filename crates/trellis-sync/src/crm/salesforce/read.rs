//! Reading from Salesforce: an object's fields (describe), SOQL queries and
//! their `nextRecordsUrl` batches, and the accounts `trellis crm pull
//! accounts` pages through.

use super::client::{Call, Client};
use crate::crm::{CrmAccount, CrmError, Page};
use serde_json::{Map, Value};
use trellis_domain::program::CrmConfig;

/// One batch of a query's answer.
#[derive(Debug, serde::Deserialize)]
pub(super) struct Batch {
    pub records: Vec<Map<String, Value>>,
    /// Where the next batch of the same query is, until the last.
    #[serde(rename = "nextRecordsUrl")]
    pub next_records_url: Option<String>,
}

/// The first batch of `soql`.
pub(super) async fn query(client: &Client, soql: &str) -> Result<Batch, CrmError> {
    let path = client.data_path("query");
    client.send(Call::query(&path, soql)).await
}

/// A later batch, from a `nextRecordsUrl` this connector was given. Anything
/// else is refused, so a cursor can never send the token elsewhere.
pub(super) async fn query_more(client: &Client, next: &str) -> Result<Batch, CrmError> {
    if !next.starts_with(&client.data_path("query/")) {
        return Err(CrmError::Refused {
            message: format!("{next:?} is not a Salesforce query cursor"),
        });
    }
    client.send(Call::get(next)).await
}

pub(super) async fn properties(client: &Client, object: &str) -> Result<Vec<String>, CrmError> {
    #[derive(serde::Deserialize)]
    struct Describe {
        fields: Vec<Field>,
    }
    #[derive(serde::Deserialize)]
    struct Field {
        name: String,
    }
    let path = client.data_path(&format!("sobjects/{object}/describe"));
    let describe: Describe = client.send(Call::get(&path)).await?;
    Ok(describe
        .fields
        .into_iter()
        .map(|field| field.name)
        .collect())
}

/// One batch of accounts; the cursor is Salesforce's `nextRecordsUrl`,
/// which stays valid for about 15 minutes between batches.
pub(super) async fn accounts(
    client: &Client,
    config: &CrmConfig,
    cursor: Option<&str>,
) -> Result<Page<CrmAccount>, CrmError> {
    let fields = AccountFields::of(config);
    let batch = match cursor {
        Some(next) => query_more(client, next).await?,
        None => query(client, &fields.soql(&config.account_object)).await?,
    };
    let items = batch
        .records
        .iter()
        .map(|record| fields.account(record))
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        next: batch.next_records_url,
    })
}

/// The account fields `[crm.account_fields]` maps `company` and `domain` to.
struct AccountFields<'a> {
    name: &'a str,
    website: Option<&'a str>,
}

impl<'a> AccountFields<'a> {
    fn of(config: &'a CrmConfig) -> AccountFields<'a> {
        AccountFields {
            name: config
                .account_fields
                .get("company")
                .map_or("Name", String::as_str),
            website: config.account_fields.get("domain").map(String::as_str),
        }
    }

    fn soql(&self, object: &str) -> String {
        let mut fields = vec!["Id", self.name];
        fields.extend(self.website);
        format!(
            "SELECT {} FROM {object} ORDER BY Id",
            distinct(&fields).join(", ")
        )
    }

    fn account(&self, record: &Map<String, Value>) -> Result<CrmAccount, CrmError> {
        Ok(CrmAccount {
            record_id: required_text(record, "Id")?.to_owned(),
            name: text(record, self.name).unwrap_or_default().to_owned(),
            domain: self
                .website
                .and_then(|field| text(record, field))
                .and_then(domain_of),
        })
    }
}

/// `https://www.acme.com/about` to `www.acme.com`: the scheme, path, query
/// and port go; the dedupe rules parse the rest properly later.
fn domain_of(website: &str) -> Option<String> {
    let website = website.trim();
    let without_scheme = website.split_once("://").map_or(website, |(_, rest)| rest);
    let host = without_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The names once each, in order.
pub(super) fn distinct<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut seen = Vec::with_capacity(names.len());
    for name in names {
        if !seen.contains(name) {
            seen.push(*name);
        }
    }
    seen
}

/// A field's text, if it has any.
pub(super) fn text<'a>(record: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

pub(super) fn required_text<'a>(
    record: &'a Map<String, Value>,
    field: &str,
) -> Result<&'a str, CrmError> {
    text(record, field).ok_or_else(|| CrmError::Unavailable {
        message: format!("Salesforce answered a record without {field}"),
        retry_after: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trellis_domain::program::CrmProvider;

    #[test]
    fn websites_become_hosts() {
        let cases = [
            ("https://www.Acme.com/about?x=1", Some("www.acme.com")),
            ("acme.com", Some("acme.com")),
            ("http://user@acme.io:8080", Some("acme.io")),
            ("  ", None),
            ("https://", None),
        ];
        for (website, host) in cases {
            assert_eq!(domain_of(website).as_deref(), host, "{website}");
        }
    }

    #[test]
    fn the_account_query_selects_the_mapped_fields_once() {
        let mut config = CrmConfig::defaults(CrmProvider::Salesforce);
        assert_eq!(
            AccountFields::of(&config).soql("Account"),
            "SELECT Id, Name, Website FROM Account ORDER BY Id"
        );
        config.account_fields.clear();
        assert_eq!(
            AccountFields::of(&config).soql("Account"),
            "SELECT Id, Name FROM Account ORDER BY Id"
        );
    }
}
