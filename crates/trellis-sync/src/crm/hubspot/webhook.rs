//! HubSpot's webhook deliveries, read into the stage and meeting changes of
//! registration records. Pure: the server verifies the delivery's signature
//! first (`trellis_intake::hubspot::verify_v3`) and passes the raw body.
//!
//! A delivery is a JSON array of events, each with `eventId`,
//! `subscriptionId`, `portalId`, `occurredAt` (Unix milliseconds),
//! `subscriptionType`, `objectId`, `attemptNumber`, `changeSource`, and for a
//! property change `propertyName` and `propertyValue`. Standard objects are
//! named by their singular (`deal.propertyChange`); any object may also come
//! as `object.propertyChange` with its `objectTypeId` (`0-3` for deals). For
//! a custom object, set `[crm] object` to its type id (`2-…`) so its events
//! are recognised.

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use trellis_domain::program::CrmConfig;

use super::dates::{from_millis, parse_instant};

/// What one relevant event says about a registration's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookChange {
    /// HubSpot's id of the record (`objectId`).
    pub record_id: String,
    /// HubSpot's `eventId`; a redelivery repeats it.
    pub event_id: String,
    pub occurred_at: OffsetDateTime,
    pub value: ChangedValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangedValue {
    /// The record's stage (`stage_property`) is now this.
    Stage(String),
    /// The meeting property is now this moment; `None` once cleared.
    Meeting(Option<OffsetDateTime>),
}

/// Why a delivery could not be read. Answering it with a 400 tells the
/// sender, and nothing in it repeats more than the offending field's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook body is not JSON ({0})")]
    NotJson(String),
    #[error("the webhook body is not a JSON array of events, as HubSpot sends")]
    NotAnArray,
    #[error("webhook event {index} is malformed: {reason}")]
    Event { index: usize, reason: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    event_id: Option<Value>,
    subscription_type: String,
    object_id: Value,
    occurred_at: i64,
    object_type_id: Option<String>,
    property_name: Option<String>,
    property_value: Option<Value>,
}

/// The stage and meeting changes of `config.object` records in a delivery,
/// in delivery order; other events (other objects, other properties,
/// creations, deletions) are left out.
pub fn parse_webhook(config: &CrmConfig, body: &[u8]) -> Result<Vec<WebhookChange>, WebhookError> {
    let delivery: Value =
        serde_json::from_slice(body).map_err(|error| WebhookError::NotJson(error.to_string()))?;
    let Value::Array(events) = delivery else {
        return Err(WebhookError::NotAnArray);
    };
    let mut changes = Vec::new();
    for (index, event) in events.into_iter().enumerate() {
        let malformed = |reason: String| WebhookError::Event { index, reason };
        let event = Event::deserialize(event).map_err(|error| malformed(error.to_string()))?;
        if let Some(change) = read_event(config, &event).map_err(malformed)? {
            changes.push(change);
        }
    }
    Ok(changes)
}

fn read_event(config: &CrmConfig, event: &Event) -> Result<Option<WebhookChange>, String> {
    if !concerns(
        &config.object,
        &event.subscription_type,
        event.object_type_id.as_deref(),
    ) {
        return Ok(None);
    }
    let property = event
        .property_name
        .as_deref()
        .ok_or("a property change without `propertyName`")?;
    let text = value_text(event.property_value.as_ref());
    let value = if property == config.stage_property {
        if text.is_empty() {
            return Ok(None);
        }
        ChangedValue::Stage(text)
    } else if config.meeting_property.as_deref() == Some(property) {
        ChangedValue::Meeting(meeting(&text)?)
    } else {
        return Ok(None);
    };
    Ok(Some(WebhookChange {
        record_id: id_text(&event.object_id).ok_or("`objectId` is not an id")?,
        event_id: event
            .event_id
            .as_ref()
            .and_then(id_text)
            .unwrap_or_default(),
        occurred_at: from_millis(event.occurred_at).ok_or("`occurredAt` is out of range")?,
        value,
    }))
}

/// Whether a subscription type is a property change of `object`.
fn concerns(object: &str, subscription: &str, object_type_id: Option<&str>) -> bool {
    let Some(subject) = subscription.strip_suffix(".propertyChange") else {
        return false;
    };
    let object = object.to_ascii_lowercase();
    let (singular, type_id) = match object.as_str() {
        "deals" => ("deal", "0-3"),
        "companies" => ("company", "0-2"),
        "contacts" => ("contact", "0-1"),
        "tickets" => ("ticket", "0-5"),
        custom => ("", custom),
    };
    (!singular.is_empty() && subject == singular)
        || (subject == "object" && object_type_id == Some(type_id))
}

fn meeting(text: &str) -> Result<Option<OffsetDateTime>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    parse_instant(text)
        .map(Some)
        .ok_or_else(|| format!("the meeting value {text:?} is not a date or Unix milliseconds"))
}

/// HubSpot writes property values as strings; numbers are read as written.
fn value_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.trim().to_owned(),
        Some(Value::Number(number)) => number.to_string(),
        _ => String::new(),
    }
}

/// HubSpot's ids are numbers in webhooks; strings are accepted too.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(number) if number.is_u64() => Some(number.to_string()),
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        _ => None,
    }
}
