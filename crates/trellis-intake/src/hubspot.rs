//! HubSpot: request signature v3, and the form data HubSpot delivers to a
//! webhook, mapped to a registration's fields. Pure: the caller reads the
//! headers, the full URL and the raw body, and passes the clock.
//!
//! Contracts followed (HubSpot's documentation, "Validating requests"):
//! - `X-HubSpot-Signature-v3` is base64(HMAC-SHA256(client secret,
//!   method + URI + body + timestamp)), the timestamp being the
//!   `X-HubSpot-Request-Timestamp` header (Unix milliseconds);
//! - in the URI, the percent-encodings of `: / ? @ ! $ ' ( ) * , ;` are
//!   decoded before signing, and nothing else is;
//! - a timestamp older than five minutes is refused.
//!
//! Payload shapes read by [`parse_submission`] (each may also come as a JSON
//! array of them):
//! - a workflow's "Send a webhook" action with a customized body: a flat
//!   object of property names and values;
//! - a workflow webhook with all properties, or any CRM record: an object
//!   whose `properties` map names to values, either plain (CRM v3) or as
//!   `{"value": …, "versions": […]}` (contacts v1, with `form-submissions`);
//! - the Forms API's submission: `fields: [{"objectTypeId", "name", "value"}]`
//!   with `submittedAt` and `legalConsentOptions`;
//! - the Forms API's list of submissions: `results: [{"conversionId",
//!   "submittedAt", "values": [{"name", "value"}], "pageUrl"}]`, or one of them;
//! - `submissionValues`, as a list of `{"name", "value"}` or as an object.

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::fields::{consent_answer, Fields};
pub use crate::signature::SignatureError;
use crate::signature::{check_window, constant_time_eq, hmac_sha256, parse_timestamp};

/// The header that carries the v3 signature (base64 of 32 bytes).
pub const SIGNATURE_HEADER: &str = "X-HubSpot-Signature-v3";
/// The header that carries the signing time, Unix milliseconds.
pub const TIMESTAMP_HEADER: &str = "X-HubSpot-Request-Timestamp";
/// How old a request may be (HubSpot: five minutes). The same tolerance is
/// applied to timestamps ahead of the local clock.
pub const MAX_AGE_MILLIS: u64 = 300_000;

/// Verifies HubSpot's request signature v3.
///
/// - `method` is the request method as received (`POST`);
/// - `uri` is the full URL HubSpot called, scheme, host, path and query in
///   their original order (`https://trellis.example.com/hooks/hubspot?p=1`);
///   behind a proxy, rebuild it from the forwarded scheme and host. It is
///   decoded with [`decode_uri_v3`] before signing, as HubSpot prescribes;
/// - `raw_body` is the body exactly as received, before any parsing;
/// - `timestamp_header` and `signature_header` are the header values (`""`
///   when absent); `now_millis` is the current time in Unix milliseconds.
///
/// A timestamp more than [`MAX_AGE_MILLIS`] old is refused (HubSpot's rule),
/// and so is one more than that far in the future (a stricter choice: a
/// request from HubSpot never comes from the future).
pub fn verify_v3(
    client_secret: &[u8],
    method: &str,
    uri: &str,
    raw_body: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    now_millis: i64,
) -> Result<(), SignatureError> {
    if client_secret.is_empty() {
        return Err(SignatureError::Malformed {
            what: "client secret",
            reason: "it is empty, so no request can be verified",
        });
    }
    let timestamp = parse_timestamp(TIMESTAMP_HEADER, timestamp_header)?;
    if signature_header.is_empty() {
        return Err(SignatureError::Missing(SIGNATURE_HEADER));
    }
    let given = base64::engine::general_purpose::STANDARD
        .decode(signature_header)
        .ok()
        .filter(|bytes| bytes.len() == 32)
        .ok_or(SignatureError::Malformed {
            what: SIGNATURE_HEADER,
            reason: "expected the base64 of a 32-byte HMAC-SHA256",
        })?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(SignatureError::Malformed {
            what: "request method",
            reason: "expected an HTTP method such as POST",
        });
    }
    let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(SignatureError::Malformed {
            what: "request URI",
            reason: "expected the full URL HubSpot called, with scheme and host",
        });
    }
    check_window(timestamp, now_millis, MAX_AGE_MILLIS, 1000)?;
    let uri = decode_uri_v3(uri);
    let expected = hmac_sha256(
        client_secret,
        &[
            method.as_bytes(),
            uri.as_bytes(),
            raw_body,
            timestamp_header.as_bytes(),
        ],
    );
    if constant_time_eq(&expected, &given) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Decodes, in a request URI, exactly the percent-encodings HubSpot lists for
/// signature v3 — `%3A : %2F / %3F ? %40 @ %21 ! %24 $ %27 ' %28 ( %29 )
/// %2A * %2C , %3B ;` — in one pass, hex digits in either case. Every other
/// encoding (`%20`, `%26`, `%3D`, `%25`…) stays as it is.
pub fn decode_uri_v3(uri: &str) -> Cow<'_, str> {
    if !uri.contains('%') {
        return Cow::Borrowed(uri);
    }
    let bytes = uri.as_bytes();
    let mut out = String::with_capacity(uri.len());
    let mut copied = 0;
    let mut i = 0;
    while i + 2 < bytes.len() {
        if bytes[i] == b'%' {
            let code = [
                bytes[i + 1].to_ascii_uppercase(),
                bytes[i + 2].to_ascii_uppercase(),
            ];
            let decoded = match &code {
                b"3A" => Some(':'),
                b"2F" => Some('/'),
                b"3F" => Some('?'),
                b"40" => Some('@'),
                b"21" => Some('!'),
                b"24" => Some('$'),
                b"27" => Some('\''),
                b"28" => Some('('),
                b"29" => Some(')'),
                b"2A" => Some('*'),
                b"2C" => Some(','),
                b"3B" => Some(';'),
                _ => None,
            };
            if let Some(c) = decoded {
                out.push_str(&uri[copied..i]);
                out.push(c);
                i += 3;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&uri[copied..]);
    Cow::Owned(out)
}

/// Which HubSpot properties (form field names) fill which registration
/// field: the program file's `[intake.hubspot]` table, whose defaults are
/// HubSpot's usual property names.
pub use trellis_domain::program::HubspotFields as FieldMap;

/// One form submission, mapped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Submission {
    pub fields: Fields,
    pub partner_id: Option<String>,
    pub program: Option<String>,
    /// `submittedAt` (or, for a contact record, the newest form submission's
    /// `timestamp`), Unix milliseconds.
    pub submitted_at_millis: Option<i64>,
    /// `conversionId` / `conversion-id` / `submissionId`: HubSpot's id of the
    /// submission, for idempotency.
    pub submission_id: Option<String>,
}

/// Why a HubSpot payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the HubSpot payload is not valid JSON: {0}")]
    NotJson(String),
    #[error("the HubSpot payload is not a JSON object or an array of objects")]
    NotAnObject,
    #[error("item {0} of the HubSpot payload is not a JSON object")]
    ItemNotAnObject(usize),
    #[error(
        "a HubSpot webhook event ({0}) carries no form data: send the form's data with a \
         workflow's \"Send a webhook\" action instead"
    )]
    EventNotification(String),
}

/// Parses the form data HubSpot posted (see the module documentation for the
/// shapes) into one [`Submission`] per record, mapped through `map`.
///
/// Consent comes from `legalConsentOptions.consent.consentToProcess` and from
/// the mapped consent field; if either says no the answer is no. Marketing
/// `communications` and `legitimateInterest` are not consent to process and
/// are ignored. Values are trimmed; blank values count as absent; repeated
/// fields (multiple checkboxes) are joined with `;`, as HubSpot does.
pub fn parse_submission(raw_body: &[u8], map: &FieldMap) -> Result<Vec<Submission>, ParseError> {
    let value: Value =
        serde_json::from_slice(raw_body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let records: Vec<&Map<String, Value>> = match &value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| item.as_object().ok_or(ParseError::ItemNotAnObject(i)))
            .collect::<Result<_, _>>()?,
        Value::Object(object) => match object.get("results").and_then(Value::as_array) {
            Some(results) if results.iter().all(Value::is_object) && !results.is_empty() => {
                results.iter().filter_map(Value::as_object).collect()
            }
            _ => vec![object],
        },
        _ => return Err(ParseError::NotAnObject),
    };
    records
        .into_iter()
        .map(|record| read_record(record, map))
        .collect()
}

/// Property values by lower-cased name (with and without an object prefix).
#[derive(Default)]
struct Properties {
    values: HashMap<String, Vec<String>>,
}

impl Properties {
    fn add(&mut self, name: &str, object_type: Option<&str>, value: &Value) {
        let Some(text) = scalar_text(value) else {
            return;
        };
        let name = name.trim().to_lowercase();
        if name.is_empty() {
            return;
        }
        let mut keys = vec![name.clone()];
        if let Some((prefix, bare)) = name.split_once('/') {
            if is_object_type_id(prefix) && !bare.is_empty() {
                keys.push(bare.to_string());
            }
        } else if let Some(object_type) = object_type.filter(|t| is_object_type_id(t)) {
            keys.push(format!("{object_type}/{name}"));
        }
        for key in keys {
            let values = self.values.entry(key).or_default();
            if !values.contains(&text) {
                values.push(text.clone());
            }
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        let values = self.values.get(&name.trim().to_lowercase())?;
        let joined = values.join(";");
        (!joined.is_empty()).then_some(joined)
    }

    /// The first alternative with a value; `a+b` joins a's and b's values.
    fn pick(&self, alternatives: &[String]) -> Option<String> {
        alternatives.iter().find_map(|alternative| {
            let parts: Vec<String> = alternative.split('+').filter_map(|n| self.get(n)).collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
    }
}

/// `0-1`, `0-2`, `2-123456`: HubSpot's object type ids.
fn is_object_type_id(text: &str) -> bool {
    text.split_once('-').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
    })
}

/// A value as trimmed text: strings, numbers and booleans; `{"value": …}`
/// (contacts v1); arrays of those joined with `;`. Blank and null are absent.
fn scalar_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Object(object) => {
            return object.get("value").and_then(|v| match v {
                Value::Object(_) => None,
                v => scalar_text(v),
            })
        }
        Value::Array(items) => items
            .iter()
            .filter(|v| !v.is_object() && !v.is_array())
            .filter_map(scalar_text)
            .collect::<Vec<_>>()
            .join(";"),
        Value::Null => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// Milliseconds from a number or a string of digits.
fn millis(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `[{"name", "value", "objectTypeId"?}]`: true when `value` is such a list.
fn add_name_value_list(properties: &mut Properties, value: Option<&Value>) -> bool {
    let Some(items) = value.and_then(Value::as_array) else {
        return false;
    };
    if !items
        .iter()
        .all(|item| item.get("name").is_some_and(Value::is_string))
    {
        return false;
    }
    for item in items {
        if let (Some(name), Some(value)) = (item["name"].as_str(), item.get("value")) {
            properties.add(
                name,
                item.get("objectTypeId").and_then(Value::as_str),
                value,
            );
        }
    }
    true
}

fn read_record(record: &Map<String, Value>, map: &FieldMap) -> Result<Submission, ParseError> {
    let mut properties = Properties::default();
    let mut structured = false;
    structured |= add_name_value_list(&mut properties, record.get("fields"));
    structured |= add_name_value_list(&mut properties, record.get("values"));
    match record.get("submissionValues") {
        Some(Value::Object(values)) => {
            structured = true;
            for (name, value) in values {
                properties.add(name, None, value);
            }
        }
        other => structured |= add_name_value_list(&mut properties, other),
    }
    if let Some(Value::Object(values)) = record.get("properties") {
        structured = true;
        for (name, value) in values {
            properties.add(name, None, value);
        }
    }
    if !structured {
        if let Some(kind) = record.get("subscriptionType").and_then(Value::as_str) {
            if record.contains_key("eventId") || record.contains_key("objectId") {
                return Err(ParseError::EventNotification(kind.to_string()));
            }
        }
        // A customized workflow body: the record itself is the properties.
        for (name, value) in record {
            properties.add(name, None, value);
        }
    }

    // Contacts v1 records list form submissions; the newest one is this one.
    let newest_form = record
        .get("form-submissions")
        .and_then(Value::as_array)
        .and_then(|forms| {
            forms
                .iter()
                .max_by_key(|f| millis(f.get("timestamp")).unwrap_or(i64::MIN))
        });
    let submitted_at_millis = millis(record.get("submittedAt"))
        .or_else(|| newest_form.and_then(|f| millis(f.get("timestamp"))));
    let submission_id = id_text(record.get("conversionId"))
        .or_else(|| id_text(record.get("conversion-id")))
        .or_else(|| id_text(record.get("submissionId")))
        .or_else(|| newest_form.and_then(|f| id_text(f.get("conversion-id"))));

    let answers = [
        properties
            .pick(&map.consent)
            .and_then(|v| consent_answer(&v)),
        legal_consent(record),
    ];
    let consent = if answers.contains(&Some(false)) {
        Some(false)
    } else if answers.contains(&Some(true)) {
        Some(true)
    } else {
        None
    };

    Ok(Submission {
        fields: Fields {
            company_name: properties.pick(&map.company_name),
            company_domain: properties.pick(&map.company_domain),
            contact_name: properties.pick(&map.contact_name),
            contact_email: properties.pick(&map.contact_email),
            use_case: properties.pick(&map.use_case),
            consent,
            ..Fields::default()
        },
        partner_id: properties.pick(&map.partner_id),
        program: properties.pick(&map.program),
        submitted_at_millis,
        submission_id,
    })
}

/// `legalConsentOptions.consent.consentToProcess`.
fn legal_consent(record: &Map<String, Value>) -> Option<bool> {
    match record
        .get("legalConsentOptions")?
        .get("consent")?
        .get("consentToProcess")?
    {
        Value::Bool(b) => Some(*b),
        Value::String(s) => consent_answer(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use proptest::prelude::*;
    use serde_json::json;
    use sha2::Sha256;

    /// The documented formula, computed here with the hmac crate directly:
    /// base64(HMAC-SHA256(secret, method + uri + body + timestamp)).
    fn documented_signature(secret: &str, method: &str, uri: &str, body: &str, ts: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{method}{uri}{body}{ts}").as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    // HubSpot's own test vector for v3, from the official Python client
    // (HubSpot/hubspot-api-python, tests/spec/utils/test_signature.py), which
    // uses the documentation's example secret, URL and body.
    const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const URI: &str = "https://www.example.com/webhook_uri";
    const BODY: &str = "{'example_field':'example_value'}";
    const TS: &str = "15000000";
    const SDK_SIGNATURE: &str = "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=";
    const NOW: i64 = 15_000_000;

    /// Name, URI, body, timestamp header, signature header, now, expected.
    type VerifyCase<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        i64,
        Result<(), SignatureError>,
    );

    fn check(uri: &str, body: &str, ts: &str, sig: &str, now: i64) -> Result<(), SignatureError> {
        verify_v3(
            SECRET.as_bytes(),
            "POST",
            uri,
            body.as_bytes(),
            ts,
            sig,
            now,
        )
    }

    #[test]
    fn hubspots_vector_verifies() {
        assert_eq!(
            documented_signature(SECRET, "POST", URI, BODY, TS),
            SDK_SIGNATURE
        );
        assert_eq!(check(URI, BODY, TS, SDK_SIGNATURE, NOW), Ok(()));
    }

    #[test]
    fn a_real_looking_request_signed_as_documented_verifies() {
        let secret = "5d5ad2a1-0c5b-4d5d-9c0f-0f4b4b2a7c11";
        let uri_received =
            "https://trellis.example.com/hooks/hubspot?partner=p%40acme%2Ccom&q=a%20b";
        // Signed over the URI with the listed encodings decoded; %20 kept.
        let uri_signed = "https://trellis.example.com/hooks/hubspot?partner=p@acme,com&q=a%20b";
        let body = r#"[{"email":"jane@acme.com","firstname":"Jane"}]"#;
        let ts = "1700000000000";
        let sig = documented_signature(secret, "POST", uri_signed, body, ts);
        let verify = |uri: &str, sig: &str| {
            verify_v3(
                secret.as_bytes(),
                "POST",
                uri,
                body.as_bytes(),
                ts,
                sig,
                1_700_000_060_000,
            )
        };
        assert_eq!(verify(uri_received, &sig), Ok(()));
        assert_eq!(verify(uri_signed, &sig), Ok(()));
        // Signed over the raw, still-encoded URI it does not verify: the
        // decoding is part of the contract.
        let raw_sig = documented_signature(secret, "POST", uri_received, body, ts);
        assert_eq!(
            verify(uri_received, &raw_sig),
            Err(SignatureError::Mismatch)
        );
        // %20 is not in HubSpot's table: signing over a decoded space fails.
        let space_sig = documented_signature(
            secret,
            "POST",
            "https://trellis.example.com/hooks/hubspot?partner=p@acme,com&q=a b",
            body,
            ts,
        );
        assert_eq!(
            verify(uri_received, &space_sig),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn decode_uri_v3_table() {
        for (uri, expected) in [
            ("https://a.io/x", "https://a.io/x"),
            (
                "https://a.io/x?a=%3A%2F%3F%40%21%24%27%28%29%2A%2C%3B",
                "https://a.io/x?a=:/?@!$'()*,;",
            ),
            (
                "https://a.io/x?a=%3a%2f%3f%40%2a%2c%3b",
                "https://a.io/x?a=:/?@*,;",
            ),
            (
                "https://a.io/x?a=%20%26%3D%25%2B%7E",
                "https://a.io/x?a=%20%26%3D%25%2B%7E",
            ),
            // One pass: %253A is an encoded %, then 3A.
            ("https://a.io/%253A", "https://a.io/%253A"),
            ("https://a.io/%3", "https://a.io/%3"),
            ("https://a.io/%", "https://a.io/%"),
            ("https://a.io/%%3A", "https://a.io/%:"),
            ("https://a.io/é%40ü", "https://a.io/é@ü"),
            ("%40", "@"),
        ] {
            assert_eq!(decode_uri_v3(uri), expected, "{uri}");
        }
    }

    #[test]
    fn verify_v3_table() {
        use SignatureError::*;
        let malformed_sig = Malformed {
            what: SIGNATURE_HEADER,
            reason: "expected the base64 of a 32-byte HMAC-SHA256",
        };
        let not_full_url = Malformed {
            what: "request URI",
            reason: "expected the full URL HubSpot called, with scheme and host",
        };
        let later = "15000001";
        let resigned_later = documented_signature(SECRET, "POST", URI, BODY, later);
        let cases: Vec<VerifyCase> = vec![
            ("documented", URI, BODY, TS, SDK_SIGNATURE, NOW, Ok(())),
            (
                "tampered body",
                URI,
                "{'example_field':'example_valuf'}",
                TS,
                SDK_SIGNATURE,
                NOW,
                Err(Mismatch),
            ),
            ("empty body", URI, "", TS, SDK_SIGNATURE, NOW, Err(Mismatch)),
            (
                "tampered timestamp",
                URI,
                BODY,
                later,
                SDK_SIGNATURE,
                NOW,
                Err(Mismatch),
            ),
            (
                "re-signed at a later time",
                URI,
                BODY,
                later,
                &resigned_later,
                NOW,
                Ok(()),
            ),
            (
                "other path",
                "https://www.example.com/webhook_uri2",
                BODY,
                TS,
                SDK_SIGNATURE,
                NOW,
                Err(Mismatch),
            ),
            (
                "http instead of https",
                "http://www.example.com/webhook_uri",
                BODY,
                TS,
                SDK_SIGNATURE,
                NOW,
                Err(Mismatch),
            ),
            (
                "trailing slash",
                "https://www.example.com/webhook_uri/",
                BODY,
                TS,
                SDK_SIGNATURE,
                NOW,
                Err(Mismatch),
            ),
            (
                "flipped signature",
                URI,
                BODY,
                TS,
                "IPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=",
                NOW,
                Err(Mismatch),
            ),
            (
                "5 minutes old",
                URI,
                BODY,
                TS,
                SDK_SIGNATURE,
                NOW + 300_000,
                Ok(()),
            ),
            (
                "5 minutes and 1 ms old",
                URI,
                BODY,
                TS,
                SDK_SIGNATURE,
                NOW + 300_001,
                Err(Stale {
                    age_secs: 301,
                    max_secs: 300,
                }),
            ),
            (
                "an hour old",
                URI,
                BODY,
                TS,
                SDK_SIGNATURE,
                NOW + 3_600_000,
                Err(Stale {
                    age_secs: 3600,
                    max_secs: 300,
                }),
            ),
            (
                "5 minutes ahead",
                URI,
                BODY,
                TS,
                SDK_SIGNATURE,
                NOW - 300_000,
                Ok(()),
            ),
            (
                "an hour ahead",
                URI,
                BODY,
                TS,
                SDK_SIGNATURE,
                NOW - 3_600_000,
                Err(Stale {
                    age_secs: -3600,
                    max_secs: 300,
                }),
            ),
            // Seconds instead of milliseconds: 15000 s in ms terms is far off.
            (
                "timestamp in seconds",
                URI,
                BODY,
                "15000",
                SDK_SIGNATURE,
                NOW,
                Err(Stale {
                    age_secs: 14_985,
                    max_secs: 300,
                }),
            ),
            (
                "no timestamp",
                URI,
                BODY,
                "",
                SDK_SIGNATURE,
                NOW,
                Err(Missing(TIMESTAMP_HEADER)),
            ),
            (
                "timestamp not digits",
                URI,
                BODY,
                "1.5e7",
                SDK_SIGNATURE,
                NOW,
                Err(Malformed {
                    what: TIMESTAMP_HEADER,
                    reason: "expected a Unix timestamp of decimal digits",
                }),
            ),
            (
                "no signature",
                URI,
                BODY,
                TS,
                "",
                NOW,
                Err(Missing(SIGNATURE_HEADER)),
            ),
            (
                "hex instead of base64",
                URI,
                BODY,
                TS,
                "1cf5bbdd152d2a6718a040c00c6d2ce8c98615653358928a5b4eebf110e0710c",
                NOW,
                Err(malformed_sig),
            ),
            (
                "base64 of too few bytes",
                URI,
                BODY,
                TS,
                "HPW73RUtKmcYoEDADG0s6A==",
                NOW,
                Err(malformed_sig),
            ),
            (
                "space for plus",
                URI,
                BODY,
                TS,
                "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw =",
                NOW,
                Err(malformed_sig),
            ),
            (
                "path only",
                "/webhook_uri",
                BODY,
                TS,
                SDK_SIGNATURE,
                NOW,
                Err(not_full_url),
            ),
            (
                "empty uri",
                "",
                BODY,
                TS,
                SDK_SIGNATURE,
                NOW,
                Err(not_full_url),
            ),
        ];
        for (name, uri, body, ts, sig, now, expected) in cases {
            assert_eq!(check(uri, body, ts, sig, now), expected, "{name}");
        }
        assert_eq!(
            verify_v3(
                SECRET.as_bytes(),
                "GET",
                URI,
                BODY.as_bytes(),
                TS,
                SDK_SIGNATURE,
                NOW
            ),
            Err(Mismatch)
        );
        assert_eq!(
            verify_v3(b"", "POST", URI, BODY.as_bytes(), TS, SDK_SIGNATURE, NOW),
            Err(Malformed {
                what: "client secret",
                reason: "it is empty, so no request can be verified"
            })
        );
        assert_eq!(
            verify_v3(
                SECRET.as_bytes(),
                "",
                URI,
                BODY.as_bytes(),
                TS,
                SDK_SIGNATURE,
                NOW
            ),
            Err(Malformed {
                what: "request method",
                reason: "expected an HTTP method such as POST"
            })
        );
        assert_eq!(
            Stale { age_secs: 301, max_secs: 300 }.to_string(),
            "the request timestamp is 301 s old; requests older than 300 s are refused as possible replays"
        );
    }

    fn parse(value: Value) -> Result<Vec<Submission>, ParseError> {
        parse_submission(value.to_string().as_bytes(), &FieldMap::default())
    }

    fn jane() -> Fields {
        Fields {
            company_name: Some("Acme Corp".into()),
            company_domain: Some("acme.com".into()),
            contact_name: Some("Jane Doe".into()),
            contact_email: Some("jane@acme.com".into()),
            use_case: Some("SSO for 500 seats".into()),
            consent: None,
            ..Fields::default()
        }
    }

    #[test]
    fn parse_submission_table() {
        let cases: Vec<(&str, Value, Vec<Submission>)> = vec![
            (
                "workflow webhook, customized body",
                json!({
                    "company": "Acme Corp", "website": "acme.com", "firstname": "Jane",
                    "lastname": "Doe", "email": "jane@acme.com", "message": "SSO for 500 seats",
                    "trellis_partner_id": "P-17", "trellis_program": "emea-2026", "hs_object_id": 901
                }),
                vec![Submission {
                    fields: jane(),
                    partner_id: Some("P-17".into()),
                    program: Some("emea-2026".into()),
                    ..Submission::default()
                }],
            ),
            (
                "workflow webhook, an array of records",
                json!([
                    { "company": "Acme Corp", "email": "jane@acme.com" },
                    { "company": "Globex", "email": "hank@globex.com", "firstname": "Hank" }
                ]),
                vec![
                    Submission {
                        fields: Fields {
                            company_name: Some("Acme Corp".into()),
                            contact_email: Some("jane@acme.com".into()),
                            ..Fields::default()
                        },
                        ..Submission::default()
                    },
                    Submission {
                        fields: Fields {
                            company_name: Some("Globex".into()),
                            contact_email: Some("hank@globex.com".into()),
                            contact_name: Some("Hank".into()),
                            ..Fields::default()
                        },
                        ..Submission::default()
                    },
                ],
            ),
            (
                "workflow webhook with all properties (contacts v1 record)",
                json!({
                    "vid": 901, "canonical-vid": 901, "portal-id": 62515, "is-contact": true,
                    "properties": {
                        "company": { "value": "Acme Corp", "versions": [{ "value": "Acme Corp", "timestamp": 1 }] },
                        "website": { "value": "acme.com" },
                        "firstname": { "value": "Jane" }, "lastname": { "value": "Doe" },
                        "email": { "value": "jane@acme.com" },
                        "message": { "value": "SSO for 500 seats" },
                        "trellis_partner_id": { "value": "P-17" }
                    },
                    "form-submissions": [
                        { "conversion-id": "old", "timestamp": 1_600_000_000_000_i64, "form-id": "f" },
                        { "conversion-id": "2e137f47", "timestamp": 1_700_000_000_000_i64, "form-id": "f" }
                    ]
                }),
                vec![Submission {
                    fields: jane(),
                    partner_id: Some("P-17".into()),
                    submitted_at_millis: Some(1_700_000_000_000),
                    submission_id: Some("2e137f47".into()),
                    ..Submission::default()
                }],
            ),
            (
                "CRM v3 record",
                json!({ "id": "901", "properties": { "company": "Acme Corp", "email": "jane@acme.com", "firstname": null } }),
                vec![Submission {
                    fields: Fields {
                        company_name: Some("Acme Corp".into()),
                        contact_email: Some("jane@acme.com".into()),
                        ..Fields::default()
                    },
                    ..Submission::default()
                }],
            ),
            (
                "Forms API submission with legal consent",
                json!({
                    "submittedAt": "1700000000123",
                    "fields": [
                        { "objectTypeId": "0-1", "name": "email", "value": "jane@acme.com" },
                        { "objectTypeId": "0-1", "name": "firstname", "value": "Jane" },
                        { "objectTypeId": "0-1", "name": "lastname", "value": "Doe" },
                        { "objectTypeId": "0-2", "name": "name", "value": "Acme Corp" },
                        { "objectTypeId": "0-2", "name": "domain", "value": "acme.com" },
                        { "objectTypeId": "0-1", "name": "message", "value": " SSO for 500 seats " },
                        { "objectTypeId": "0-1", "name": "trellis_program", "value": "emea-2026" }
                    ],
                    "context": { "pageUri": "https://acme.com/partners", "pageName": "Partners" },
                    "legalConsentOptions": {
                        "consent": {
                            "consentToProcess": true,
                            "text": "I agree to allow Example Company to store and process my personal data.",
                            "communications": [{ "value": false, "subscriptionTypeId": 999, "text": "…" }]
                        }
                    }
                }),
                vec![Submission {
                    fields: Fields {
                        consent: Some(true),
                        ..jane()
                    },
                    program: Some("emea-2026".into()),
                    submitted_at_millis: Some(1_700_000_000_123),
                    ..Submission::default()
                }],
            ),
            (
                "Forms API submission, consent refused",
                json!({
                    "fields": [{ "name": "email", "value": "jane@acme.com" }],
                    "legalConsentOptions": { "consent": { "consentToProcess": false } }
                }),
                vec![Submission {
                    fields: Fields {
                        contact_email: Some("jane@acme.com".into()),
                        consent: Some(false),
                        ..Fields::default()
                    },
                    ..Submission::default()
                }],
            ),
            (
                "legitimate interest is not consent",
                json!({
                    "fields": [{ "name": "email", "value": "jane@acme.com" }],
                    "legalConsentOptions": { "legitimateInterest": { "value": true, "subscriptionTypeId": 1, "legalBasis": "LEAD", "text": "…" } }
                }),
                vec![Submission {
                    fields: Fields {
                        contact_email: Some("jane@acme.com".into()),
                        ..Fields::default()
                    },
                    ..Submission::default()
                }],
            ),
            (
                "Forms API list of submissions, prefixed names, consent checkbox",
                json!({
                    "results": [
                        {
                            "conversionId": "c-2", "submittedAt": 1_700_000_000_000_i64, "pageUrl": "https://acme.com",
                            "values": [
                                { "name": "0-1/email", "value": "jane@acme.com" },
                                { "name": "0-1/company", "value": "Acme Corp" },
                                { "name": "LEGAL_CONSENT.processing", "value": "true" },
                                { "name": "0-1/trellis_partner_id", "value": "P-17" }
                            ]
                        },
                        {
                            "conversionId": "c-1", "submittedAt": 1_600_000_000_000_i64,
                            "values": [
                                { "name": "email", "value": "hank@globex.com" },
                                { "name": "LEGAL_CONSENT.processing", "value": "false" }
                            ]
                        }
                    ],
                    "paging": { "next": { "after": "x" } }
                }),
                vec![
                    Submission {
                        fields: Fields {
                            company_name: Some("Acme Corp".into()),
                            contact_email: Some("jane@acme.com".into()),
                            consent: Some(true),
                            ..Fields::default()
                        },
                        partner_id: Some("P-17".into()),
                        submitted_at_millis: Some(1_700_000_000_000),
                        submission_id: Some("c-2".into()),
                        ..Submission::default()
                    },
                    Submission {
                        fields: Fields {
                            contact_email: Some("hank@globex.com".into()),
                            consent: Some(false),
                            ..Fields::default()
                        },
                        submitted_at_millis: Some(1_600_000_000_000),
                        submission_id: Some("c-1".into()),
                        ..Submission::default()
                    },
                ],
            ),
            (
                "submissionValues as an object, multi-checkbox as a list",
                json!({
                    "submissionId": 77,
                    "submissionValues": { "email": "jane@acme.com", "message": ["SSO", "SCIM"], "company": "" }
                }),
                vec![Submission {
                    fields: Fields {
                        contact_email: Some("jane@acme.com".into()),
                        use_case: Some("SSO;SCIM".into()),
                        ..Fields::default()
                    },
                    submission_id: Some("77".into()),
                    ..Submission::default()
                }],
            ),
            (
                "submissionValues as a list, a repeated field",
                json!({
                    "submissionValues": [
                        { "name": "email", "value": "jane@acme.com" },
                        { "name": "message", "value": "SSO" },
                        { "name": "message", "value": "SCIM" }
                    ]
                }),
                vec![Submission {
                    fields: Fields {
                        contact_email: Some("jane@acme.com".into()),
                        use_case: Some("SSO;SCIM".into()),
                        ..Fields::default()
                    },
                    ..Submission::default()
                }],
            ),
            (
                "a consent conflict is a no",
                json!({
                    "fields": [{ "name": "LEGAL_CONSENT.processing", "value": "false" }],
                    "legalConsentOptions": { "consent": { "consentToProcess": true } }
                }),
                vec![Submission {
                    fields: Fields {
                        consent: Some(false),
                        ..Fields::default()
                    },
                    ..Submission::default()
                }],
            ),
            ("an empty array", json!([]), vec![]),
            ("an empty object", json!({}), vec![Submission::default()]),
        ];
        for (name, body, expected) in cases {
            assert_eq!(parse(body), Ok(expected), "{name}");
        }
    }

    #[test]
    fn custom_field_maps() {
        let map = FieldMap {
            company_name: vec!["0-2/name".into(), "company".into()],
            contact_name: vec!["full_name".into(), "firstname+lastname".into()],
            consent: vec!["gdpr_ok".into()],
            partner_id: vec!["Partner".into()],
            ..FieldMap::default()
        };
        let body = json!({
            "fields": [
                { "objectTypeId": "0-1", "name": "name", "value": "Jane Doe" },
                { "objectTypeId": "0-2", "name": "name", "value": "Acme Corp" },
                { "name": "company", "value": "Acme (typed)" },
                { "name": "lastname", "value": "Doe" },
                { "name": "GDPR_OK", "value": "Yes" },
                { "name": "partner", "value": "P-9" }
            ]
        });
        let got = parse_submission(body.to_string().as_bytes(), &map).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].fields.company_name.as_deref(), Some("Acme Corp"));
        assert_eq!(got[0].fields.contact_name.as_deref(), Some("Doe"));
        assert_eq!(got[0].fields.consent, Some(true));
        assert_eq!(got[0].partner_id.as_deref(), Some("P-9"));
    }

    #[test]
    fn parse_errors() {
        let map = FieldMap::default();
        assert!(matches!(
            parse_submission(b"", &map),
            Err(ParseError::NotJson(_))
        ));
        assert!(matches!(
            parse_submission(b"{\"a\":", &map),
            Err(ParseError::NotJson(_))
        ));
        assert!(matches!(
            parse_submission(b"\xff", &map),
            Err(ParseError::NotJson(_))
        ));
        assert_eq!(
            parse_submission(b"\"text\"", &map),
            Err(ParseError::NotAnObject)
        );
        assert_eq!(parse_submission(b"42", &map), Err(ParseError::NotAnObject));
        assert_eq!(
            parse_submission(b"[{}, 3]", &map),
            Err(ParseError::ItemNotAnObject(1))
        );
        let event = json!([{
            "eventId": 1, "subscriptionId": 12345, "portalId": 62515, "occurredAt": 1_564_113_600_000_i64,
            "subscriptionType": "contact.creation", "attemptNumber": 0, "objectId": 123,
            "changeSource": "CRM", "changeFlag": "NEW", "appId": 54321
        }]);
        let err = parse_submission(event.to_string().as_bytes(), &map).unwrap_err();
        assert_eq!(
            err,
            ParseError::EventNotification("contact.creation".into())
        );
        assert!(err.to_string().contains("Send a webhook"));
        let deep = "[".repeat(10_000);
        assert!(matches!(
            parse_submission(deep.as_bytes(), &map),
            Err(ParseError::NotJson(_))
        ));
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            "[ -~é]{0,12}".prop_map(Value::String),
            prop_oneof![
                Just("email"),
                Just("company"),
                Just("firstname"),
                Just("value"),
                Just("name"),
                Just("0-1/email"),
                Just("true"),
                Just("LEGAL_CONSENT.processing")
            ]
            .prop_map(|s| Value::String(s.into())),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let key = prop_oneof![
                Just("fields".to_string()),
                Just("values".to_string()),
                Just("submissionValues".to_string()),
                Just("properties".to_string()),
                Just("results".to_string()),
                Just("name".to_string()),
                Just("value".to_string()),
                Just("objectTypeId".to_string()),
                Just("submittedAt".to_string()),
                Just("conversionId".to_string()),
                Just("form-submissions".to_string()),
                Just("timestamp".to_string()),
                Just("legalConsentOptions".to_string()),
                Just("consent".to_string()),
                Just("consentToProcess".to_string()),
                Just("subscriptionType".to_string()),
                Just("eventId".to_string()),
                "[a-z0-9/_+-]{0,8}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(key, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn verify_v3_never_panics(
            secret in proptest::collection::vec(any::<u8>(), 0..40),
            method in ".{0,8}",
            uri in "(https?://)?.{0,60}",
            body in proptest::collection::vec(any::<u8>(), 0..200),
            timestamp in ".{0,20}",
            signature in ".{0,60}",
            now in any::<i64>(),
        ) {
            let _ = verify_v3(&secret, &method, &uri, &body, &timestamp, &signature, now);
        }

        #[test]
        fn signed_requests_verify_and_tampered_ones_do_not(
            secret in "[ -~]{1,40}",
            path in "/[a-zA-Z0-9/%:@!$'()*,;?=&._~-]{0,40}",
            body in "[ -~é]{0,200}",
            timestamp in 0i64..4_000_000_000_000,
            skew in -300_000i64..=300_000,
        ) {
            let uri = format!("https://trellis.example.com{path}");
            let ts = timestamp.to_string();
            let sig = documented_signature(&secret, "POST", &decode_uri_v3(&uri), &body, &ts);
            let now = timestamp + skew;
            prop_assert_eq!(verify_v3(secret.as_bytes(), "POST", &uri, body.as_bytes(), &ts, &sig, now), Ok(()));
            let tampered = format!("{body} ");
            prop_assert_eq!(
                verify_v3(secret.as_bytes(), "POST", &uri, tampered.as_bytes(), &ts, &sig, now),
                Err(SignatureError::Mismatch)
            );
        }

        #[test]
        fn decode_uri_v3_never_panics_and_only_shrinks(uri in ".{0,80}") {
            let decoded = decode_uri_v3(&uri);
            prop_assert!(decoded.len() <= uri.len());
        }

        #[test]
        fn parse_submission_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_submission(&body, &FieldMap::default());
        }

        #[test]
        fn parse_submission_never_panics_on_json(value in arbitrary_json()) {
            let _ = parse_submission(value.to_string().as_bytes(), &FieldMap::default());
        }
    }
}
