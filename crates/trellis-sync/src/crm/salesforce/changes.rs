//! Registration records changed in Salesforce, oldest first, by
//! `SystemModstamp`. The cursor is the last record's stamp and Id, so
//! records that share a stamp are neither skipped nor read twice when a
//! page ends among them.

use super::client::Client;
use super::read::{distinct, query, query_more, required_text, text};
use crate::crm::{CrmChange, CrmError, Page};
use serde_json::{Map, Value};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};
use trellis_domain::program::CrmConfig;

/// How many changes one call reads unless told otherwise: Salesforce's
/// largest query batch.
pub(super) const PAGE: usize = 2000;

pub(super) async fn changes(
    client: &Client,
    config: &CrmConfig,
    cursor: Option<&str>,
    page: usize,
) -> Result<Page<CrmChange>, CrmError> {
    let after = cursor.map(Cursor::parse).transpose()?;
    let mut batch = query(client, &soql(config, after.as_ref(), page)).await?;
    let mut items = Vec::with_capacity(batch.records.len());
    loop {
        for record in &batch.records {
            items.push(change(config, record)?);
        }
        match batch.next_records_url {
            Some(next) => batch = query_more(client, &next).await?,
            None => break,
        }
    }
    let next = match items.last() {
        Some(last) => Some(
            Cursor {
                stamp: last.changed_at,
                id: last.record_id.clone(),
            }
            .to_string(),
        ),
        None => cursor.map(str::to_owned),
    };
    Ok(Page { items, next })
}

fn soql(config: &CrmConfig, after: Option<&Cursor>, page: usize) -> String {
    let mut fields = vec![
        "Id",
        config.id_property.as_str(),
        config.stage_property.as_str(),
    ];
    fields.extend(config.meeting_property.as_deref());
    fields.push("SystemModstamp");
    let filter = after.map_or_else(String::new, |cursor| {
        let stamp = soql_datetime(cursor.stamp);
        format!(
            " WHERE SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > '{}')",
            cursor.id
        )
    });
    format!(
        "SELECT {} FROM {}{filter} ORDER BY SystemModstamp, Id LIMIT {page}",
        distinct(&fields).join(", "),
        config.object
    )
}

fn change(config: &CrmConfig, record: &Map<String, Value>) -> Result<CrmChange, CrmError> {
    let record_id = required_text(record, "Id")?.to_owned();
    let stamp = required_text(record, "SystemModstamp")?;
    let changed_at = datetime(stamp).ok_or_else(|| CrmError::Unavailable {
        message: format!("Salesforce answered an unreadable SystemModstamp {stamp:?}"),
        retry_after: None,
    })?;
    let meeting_at = match config.meeting_property.as_deref() {
        Some(field) => meeting(record, field, &record_id)?,
        None => None,
    };
    Ok(CrmChange {
        external_id: text(record, &config.id_property).map(str::to_owned),
        stage: text(record, &config.stage_property).map(str::to_owned),
        meeting_at,
        changed_at,
        record_id,
    })
}

/// The meeting field's value: a Date (taken as midnight UTC) or Date/Time.
fn meeting(
    record: &Map<String, Value>,
    field: &str,
    record_id: &str,
) -> Result<Option<OffsetDateTime>, CrmError> {
    let Some(value) = text(record, field) else {
        return Ok(None);
    };
    datetime(value)
        .or_else(|| date(value))
        .map(Some)
        .ok_or_else(|| CrmError::Refused {
            message: format!(
                "{field} of {record_id} is {value:?}, neither a date nor a date and time: \
                 map [crm] meeting_property to a Date or Date/Time field"
            ),
        })
}

/// Salesforce's datetimes: `2026-11-25T10:00:00.000+0000`, or RFC 3339.
fn datetime(text: &str) -> Option<OffsetDateTime> {
    let salesforce = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    OffsetDateTime::parse(text, salesforce)
        .or_else(|_| OffsetDateTime::parse(text, &Rfc3339))
        .ok()
}

fn date(text: &str) -> Option<OffsetDateTime> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .ok()
        .map(|day| day.midnight().assume_utc())
}

/// A SOQL datetime literal (unquoted, UTC, milliseconds).
fn soql_datetime(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Where the last page ended: `{stamp}|{Id}`.
#[derive(Debug, PartialEq, Eq)]
struct Cursor {
    stamp: OffsetDateTime,
    id: String,
}

impl Cursor {
    fn parse(text: &str) -> Result<Cursor, CrmError> {
        let refused = || CrmError::Refused {
            message: format!("{text:?} is not a Salesforce change cursor"),
        };
        let (stamp, id) = text.split_once('|').ok_or_else(refused)?;
        let stamp = OffsetDateTime::parse(stamp, &Rfc3339).map_err(|_| refused())?;
        // Salesforce ids are 15 or 18 letters and digits; anything else
        // must not reach the query text.
        let id_like = matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !id_like {
            return Err(refused());
        }
        Ok(Cursor {
            stamp,
            id: id.to_owned(),
        })
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}", soql_datetime(self.stamp), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use trellis_domain::program::CrmProvider;

    #[test]
    fn salesforce_datetimes_and_dates_are_read() {
        assert_eq!(
            datetime("2026-11-25T10:00:00.000+0000"),
            Some(datetime!(2026-11-25 10:00 UTC))
        );
        assert_eq!(
            datetime("2026-11-25T11:00:00.250+0100"),
            Some(datetime!(2026-11-25 10:00:00.25 UTC))
        );
        assert_eq!(
            datetime("2026-11-25T10:00:00Z"),
            Some(datetime!(2026-11-25 10:00 UTC))
        );
        assert_eq!(date("2026-12-01"), Some(datetime!(2026-12-01 0:00 UTC)));
        assert_eq!(datetime("next tuesday"), None);
    }

    #[test]
    fn the_cursor_round_trips_and_refuses_what_is_not_one() {
        let cursor = Cursor {
            stamp: datetime!(2026-11-25 10:00:00.5 +01:00),
            id: "a01000000000001AAA".into(),
        };
        let text = cursor.to_string();
        assert_eq!(text, "2026-11-25T09:00:00.500Z|a01000000000001AAA");
        assert_eq!(Cursor::parse(&text).expect("a cursor"), cursor);
        for bad in [
            "",
            "2026-11-25T09:00:00Z",
            "yesterday|a01000000000001AAA",
            "2026-11-25T09:00:00Z|a01' OR Id != '",
        ] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_query_resumes_after_the_cursor_and_breaks_ties_by_id() {
        let config = CrmConfig::defaults(CrmProvider::Salesforce);
        assert_eq!(
            soql(&config, None, 2000),
            "SELECT Id, Trellis_Id__c, Stage__c, First_Meeting__c, SystemModstamp \
             FROM Partner_Registration__c ORDER BY SystemModstamp, Id LIMIT 2000"
        );
        let cursor = Cursor::parse("2026-11-25T09:00:00.000Z|a01000000000001AAA").expect("ok");
        assert_eq!(
            soql(&config, Some(&cursor), 5),
            "SELECT Id, Trellis_Id__c, Stage__c, First_Meeting__c, SystemModstamp \
             FROM Partner_Registration__c WHERE SystemModstamp > 2026-11-25T09:00:00.000Z \
             OR (SystemModstamp = 2026-11-25T09:00:00.000Z AND Id > 'a01000000000001AAA') \
             ORDER BY SystemModstamp, Id LIMIT 5"
        );
    }
}
