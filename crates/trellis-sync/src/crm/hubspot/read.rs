//! Reading from HubSpot: property names, companies page by page, and
//! registration records changed since a cursor (CRM search).

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::client::Call;
use super::dates::{parse_instant, to_millis};
use super::error::refused;
use super::HubSpot;
use crate::crm::{CrmAccount, CrmChange, CrmError, Page};

/// HubSpot's largest page of a record list.
const LIST_PAGE: usize = 100;
/// HubSpot's largest page of search results.
const SEARCH_PAGE: usize = 200;
/// When deals, companies and custom objects were last changed. (Contacts
/// call it `lastmodifieddate`; registrations are never contacts.)
const LAST_MODIFIED: &str = "hs_lastmodifieddate";

#[derive(Deserialize)]
struct Listed {
    #[serde(default)]
    results: Vec<Found>,
    paging: Option<Paging>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Found {
    id: String,
    #[serde(default)]
    properties: HashMap<String, Option<String>>,
    updated_at: Option<String>,
}

impl Found {
    fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .get(name)?
            .as_deref()
            .filter(|value| !value.is_empty())
    }

    fn changed_at(&self) -> Option<OffsetDateTime> {
        self.property(LAST_MODIFIED)
            .or(self.updated_at.as_deref())
            .and_then(parse_instant)
    }
}

#[derive(Deserialize)]
struct Paging {
    next: Option<NextPage>,
}

#[derive(Deserialize)]
struct NextPage {
    after: String,
}

#[derive(Deserialize)]
struct PropertyList {
    results: Vec<PropertyName>,
}

#[derive(Deserialize)]
struct PropertyName {
    name: String,
}

impl HubSpot {
    pub(super) async fn property_names(&self, object: &str) -> Result<Vec<String>, CrmError> {
        let call = Call::get(format!("/crm/v3/properties/{object}"));
        let list: PropertyList = self.read(&call).await?;
        Ok(list.results.into_iter().map(|p| p.name).collect())
    }

    pub(super) async fn account_page(
        &self,
        cursor: Option<&str>,
    ) -> Result<Page<CrmAccount>, CrmError> {
        let (name, domain) = (self.account_name_property(), self.account_domain_property());
        let mut call = Call::get(format!("/crm/v3/objects/{}", self.config.account_object))
            .query("limit", LIST_PAGE.to_string())
            .query("properties", format!("{name},{domain}"));
        if let Some(after) = cursor {
            call = call.query("after", after);
        }
        let listed: Listed = self.read(&call).await?;
        let items = listed
            .results
            .iter()
            .map(|found| CrmAccount {
                record_id: found.id.clone(),
                name: found.property(name).unwrap_or_default().to_owned(),
                domain: found.property(domain).map(str::to_owned),
            })
            .collect();
        let next = listed.paging.and_then(|p| p.next).map(|next| next.after);
        Ok(Page { items, next })
    }

    /// Records modified at or after the cursor's moment, oldest first, by
    /// CRM search. The cursor is a modification time, so a reading never
    /// pages deep into one search and never meets HubSpot's cap of 10,000
    /// results per search.
    pub(super) async fn change_page(
        &self,
        cursor: Option<&str>,
    ) -> Result<Page<CrmChange>, CrmError> {
        let cursor = cursor.map(ChangeCursor::parse).transpose()?;
        let call = Call::post(
            format!("/crm/v3/objects/{}/search", self.config.object),
            self.change_search(cursor.as_ref()),
        );
        let listed: Listed = self.read(&call).await?;
        let mut next = cursor;
        let mut items = Vec::with_capacity(listed.results.len());
        for found in &listed.results {
            let Some(changed_at) = found.changed_at() else {
                tracing::warn!(record = %found.id, "a HubSpot record without a readable {LAST_MODIFIED} was skipped");
                continue;
            };
            if next
                .as_ref()
                .is_some_and(|c| c.has_seen(&found.id, changed_at))
            {
                continue;
            }
            next.get_or_insert_with(ChangeCursor::default)
                .see(&found.id, changed_at);
            items.push(self.change(found, changed_at));
        }
        Ok(Page {
            items,
            next: next.map(|cursor| cursor.to_string()),
        })
    }

    fn change_search(&self, cursor: Option<&ChangeCursor>) -> Value {
        let mut properties = vec![
            self.config.id_property.as_str(),
            self.config.stage_property.as_str(),
            LAST_MODIFIED,
        ];
        properties.extend(self.config.meeting_property.as_deref());
        let mut search = json!({
            "sorts": [{ "propertyName": LAST_MODIFIED, "direction": "ASCENDING" }],
            "properties": properties,
            "limit": SEARCH_PAGE,
        });
        if let Some(cursor) = cursor {
            search["filterGroups"] = json!([{ "filters": [{
                "propertyName": LAST_MODIFIED,
                "operator": "GTE",
                "value": cursor.millis.to_string(),
            }]}]);
            // More records changed in one millisecond than a page holds:
            // skip past the ones already read, which sort first.
            if cursor.seen.len() >= SEARCH_PAGE {
                search["after"] = json!(cursor.seen.len().to_string());
            }
        }
        search
    }

    fn change(&self, found: &Found, changed_at: OffsetDateTime) -> CrmChange {
        let meeting = self.config.meeting_property.as_deref();
        CrmChange {
            record_id: found.id.clone(),
            external_id: found.property(&self.config.id_property).map(str::to_owned),
            stage: found
                .property(&self.config.stage_property)
                .map(str::to_owned),
            meeting_at: meeting
                .and_then(|name| found.property(name))
                .and_then(parse_instant),
            changed_at,
        }
    }

    /// Sends a read and decodes its 200 answer.
    async fn read<T: serde::de::DeserializeOwned>(&self, call: &Call) -> Result<T, CrmError> {
        let reply = self.client.send(call).await?;
        if !reply.is_success() {
            return Err(refused(&call.describe(), reply.status, &reply.body));
        }
        T::deserialize(&reply.body).map_err(|error| CrmError::Unavailable {
            message: format!(
                "HubSpot's answer to {} could not be read ({error}); it is asked again later",
                call.describe()
            ),
            retry_after: None,
        })
    }
}

/// Where a reading of changes stopped: the last modification time read (Unix
/// milliseconds) and the records already read at exactly that time, since
/// the next search starts at that time again (`GTE`) to miss none that share
/// it. Written `millis` or `millis:id,id`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct ChangeCursor {
    millis: i64,
    seen: BTreeSet<String>,
}

impl ChangeCursor {
    fn parse(text: &str) -> Result<ChangeCursor, CrmError> {
        let (millis, seen) = text.split_once(':').unwrap_or((text, ""));
        let millis = millis.parse().map_err(|_| CrmError::Refused {
            message: format!(
                "the HubSpot change cursor {text:?} is not one Trellis wrote; clear it to read \
                 changes from the beginning"
            ),
        })?;
        let seen = seen
            .split(',')
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(ChangeCursor { millis, seen })
    }

    fn has_seen(&self, id: &str, changed_at: OffsetDateTime) -> bool {
        to_millis(changed_at) == self.millis && self.seen.contains(id)
    }

    fn see(&mut self, id: &str, changed_at: OffsetDateTime) {
        let millis = to_millis(changed_at);
        if millis != self.millis {
            self.millis = millis;
            self.seen.clear();
        }
        self.seen.insert(id.to_owned());
    }
}

impl std::fmt::Display for ChangeCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.millis)?;
        let mut separator = ':';
        for id in &self.seen {
            write!(f, "{separator}{id}")?;
            separator = ',';
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::dates::from_millis;
    use super::*;

    #[test]
    fn a_cursor_round_trips() {
        for text in ["1700000000000", "1700000000000:11,12"] {
            assert_eq!(
                ChangeCursor::parse(text).map(|c| c.to_string()),
                Ok(text.to_owned())
            );
        }
        assert!(ChangeCursor::parse("yesterday").is_err());
    }

    #[test]
    fn a_later_change_resets_the_ids_seen() {
        let moment = |millis| from_millis(millis).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let mut cursor = ChangeCursor::default();
        cursor.see("11", moment(5));
        cursor.see("12", moment(5));
        assert!(cursor.has_seen("11", moment(5)));
        assert!(!cursor.has_seen("11", moment(6)));
        cursor.see("13", moment(6));
        assert_eq!(cursor.to_string(), "6:13");
    }
}
