//! Slack: request signing (v0), the slash-command payload, the command text
//! a partner types, and the Block Kit reply. Pure: the caller reads the
//! headers and the raw body, passes the clock, and sends the reply.
//!
//! Contracts followed (Slack's documentation, "Verifying requests from Slack"
//! and "Implementing slash commands"):
//! - the signature is `v0=` + hex(HMAC-SHA256(signing secret, `v0:{timestamp}:{raw body}`)),
//!   the signing secret used as UTF-8 bytes (not hex-decoded);
//! - the timestamp (`X-Slack-Request-Timestamp`, Unix seconds) may differ from
//!   local time by at most five minutes, either way;
//! - a slash command arrives as `application/x-www-form-urlencoded`;
//! - message text uses `&`, `<` and `>` as control characters: Slack sends
//!   them as `&amp;`, `&lt;`, `&gt;`, and replies must escape them the same way.

use serde::Serialize;
use serde_json::{json, Value};

use crate::fields::{consent_answer, Fields};
pub use crate::signature::SignatureError;
use crate::signature::{check_window, constant_time_eq, hmac_sha256, parse_timestamp};

/// The header that carries the signature, `v0=` and 64 hex digits.
pub const SIGNATURE_HEADER: &str = "X-Slack-Signature";
/// The header that carries the signing time, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";
/// How far the signing time may lie from now, either way (Slack: five minutes).
pub const MAX_SKEW_SECS: u64 = 300;
/// The longest text Slack accepts in a section's (or any) text object.
pub const MAX_TEXT_CHARS: usize = 3000;

/// Verifies a request from Slack (signature version `v0`).
///
/// `timestamp_header` and `signature_header` are the header values as
/// received (`""` when absent); `raw_body` is the body exactly as received,
/// before any parsing. `now_unix` is the current time in Unix seconds.
pub fn verify(
    signing_secret: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    raw_body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureError> {
    if signing_secret.is_empty() {
        return Err(SignatureError::Malformed {
            what: "signing secret",
            reason: "it is empty, so no request can be verified",
        });
    }
    let timestamp = parse_timestamp(TIMESTAMP_HEADER, timestamp_header)?;
    if signature_header.is_empty() {
        return Err(SignatureError::Missing(SIGNATURE_HEADER));
    }
    let given = parse_signature(signature_header)?;
    check_window(timestamp, now_unix, MAX_SKEW_SECS, 1)?;
    let expected = hmac_sha256(
        signing_secret,
        &[b"v0:", timestamp_header.as_bytes(), b":", raw_body],
    );
    if constant_time_eq(&expected, &given) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// `v0=` followed by 64 hex digits (either case), as bytes.
fn parse_signature(value: &str) -> Result<[u8; 32], SignatureError> {
    let Some(hex) = value.strip_prefix("v0=") else {
        let reason = if value.starts_with('v') && value.contains('=') {
            "unsupported signature version: only v0 is defined"
        } else {
            "expected v0= followed by 64 hex digits"
        };
        return Err(SignatureError::Malformed {
            what: SIGNATURE_HEADER,
            reason,
        });
    };
    decode_hex_32(hex).ok_or(SignatureError::Malformed {
        what: SIGNATURE_HEADER,
        reason: "expected v0= followed by 64 hex digits",
    })
}

fn decode_hex_32(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

/// The fields of a slash-command request that Trellis uses. Absent optional
/// fields are empty strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SlashCommand {
    pub team_id: String,
    pub user_id: String,
    /// Deprecated by Slack; rely on `user_id`.
    pub user_name: String,
    /// The command as typed, e.g. `/register`.
    pub command: String,
    /// Everything after the command, with Slack's escaping still in place
    /// (see [`interpret`]).
    pub text: String,
    pub response_url: String,
    pub trigger_id: String,
    pub channel_id: String,
}

/// Why a slash-command body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the slash command body is not UTF-8")]
    NotUtf8,
    #[error("the slash command has no {0} field")]
    MissingField(&'static str),
}

/// Parses a slash-command body (`application/x-www-form-urlencoded`).
/// `team_id`, `user_id` and `command` are required; `text` may be empty. Of a
/// repeated field the first value counts.
pub fn parse_command(raw_body: &[u8]) -> Result<SlashCommand, ParseError> {
    std::str::from_utf8(raw_body).map_err(|_| ParseError::NotUtf8)?;
    let mut command = SlashCommand::default();
    let mut seen = [false; 8];
    for (key, value) in form_urlencoded::parse(raw_body) {
        let (slot, field) = match key.as_ref() {
            "team_id" => (0, &mut command.team_id),
            "user_id" => (1, &mut command.user_id),
            "user_name" => (2, &mut command.user_name),
            "command" => (3, &mut command.command),
            "text" => (4, &mut command.text),
            "response_url" => (5, &mut command.response_url),
            "trigger_id" => (6, &mut command.trigger_id),
            "channel_id" => (7, &mut command.channel_id),
            _ => continue,
        };
        if !seen[slot] {
            seen[slot] = true;
            *field = value.into_owned();
        }
    }
    for (value, name) in [
        (&command.team_id, "team_id"),
        (&command.user_id, "user_id"),
        (&command.command, "command"),
    ] {
        if value.trim().is_empty() {
            return Err(ParseError::MissingField(name));
        }
    }
    Ok(command)
}

/// What a partner asked for in a slash command's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackRequest {
    /// A lead registration; the server validates the fields like the REST API's.
    Register(Fields),
    /// The status of a registration, by its case number as typed (`REG-000123`).
    Status(String),
    /// Link this Slack user to a Trellis partner user with a one-time code.
    Link(String),
    Help,
}

/// Interprets the text of a slash command (the `text` field, escaped as Slack
/// sends it):
///
/// - `register Acme Corp, acme.com, Jane Doe <jane@acme.com>, use case…` —
///   comma-separated: company, website or domain, contact (`Name <email>`,
///   `Name email` or just an email), and the rest is the use case, commas
///   kept. When the second part holds an `@` it is taken as the contact and
///   the website as omitted. Text that starts with no keyword but holds a
///   comma is a registration too, so a dedicated `/register` command works.
///   Consent is set only by an explicit `consent: yes` / `consent yes` token
///   (any answer [`consent_answer`] knows, so `consent: no` gives
///   `Some(false)`), which is taken out of the text; otherwise it stays
///   `None` and the server asks for it.
/// - `status REG-000123` — [`SlackRequest::Status`] with the text after the word.
/// - `link 123456` — [`SlackRequest::Link`] with the code, spaces removed.
/// - `help`, empty text, a keyword without its argument, or anything else —
///   [`SlackRequest::Help`].
///
/// Slack's links (`<mailto:jane@acme.com|jane@acme.com>`,
/// `<http://acme.com|acme.com>`, `<@U123|jane>`) become what the user typed,
/// and `&amp;`, `&lt;`, `&gt;` become `&`, `<`, `>`.
pub fn interpret(text: &str) -> SlackRequest {
    let plain = unescape(text);
    let trimmed = plain.trim();
    let (word, rest) = match trimmed.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (trimmed, ""),
    };
    match word.to_lowercase().as_str() {
        "" | "help" | "?" => SlackRequest::Help,
        "register" if rest.is_empty() => SlackRequest::Help,
        "register" => SlackRequest::Register(parse_registration(rest)),
        "status" if !rest.is_empty() && !rest.contains(',') => {
            SlackRequest::Status(rest.to_string())
        }
        "link" if !rest.is_empty() && !rest.contains(',') => {
            SlackRequest::Link(rest.split_whitespace().collect())
        }
        _ if trimmed.contains(',') => SlackRequest::Register(parse_registration(trimmed)),
        _ => SlackRequest::Help,
    }
}

/// Turns Slack's escaped message text into what the user typed: links,
/// mentions and mailto links are unwrapped to their label, and the three
/// entities are decoded (after the unwrapping, so an escaped `&lt;` never
/// opens a link).
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..open]));
        let after = &rest[open + 1..];
        match after.find(['<', '>']) {
            Some(close) if after.as_bytes()[close] == b'>' => {
                match unwrap_token(&after[..close]) {
                    Some(shown) => out.push_str(&decode_entities(&shown)),
                    None => {
                        out.push('<');
                        out.push_str(&decode_entities(&after[..close]));
                        out.push('>');
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(&decode_entities(rest));
    out
}

/// What the user sees for one `<…>` token, or `None` when it is not one of
/// Slack's (then it is kept as typed).
fn unwrap_token(inner: &str) -> Option<String> {
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) => (target, Some(label)),
        None => (inner, None),
    };
    let lower = target.to_ascii_lowercase();
    if let Some(address) = lower.strip_prefix("mailto:").map(|_| &target[7..]) {
        return Some(label.unwrap_or(address).to_string());
    }
    if let Some(number) = lower.strip_prefix("tel:").map(|_| &target[4..]) {
        return Some(label.unwrap_or(number).to_string());
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Some(label.unwrap_or(target).to_string());
    }
    if let Some(id) = target.strip_prefix('@') {
        return Some(format!("@{}", label.unwrap_or(id).trim_start_matches('@')));
    }
    if let Some(id) = target.strip_prefix('#') {
        return Some(format!("#{}", label.unwrap_or(id).trim_start_matches('#')));
    }
    if let Some(special) = target.strip_prefix('!') {
        let name = special.split('^').next().unwrap_or(special);
        return Some(match label {
            Some(label) => label.to_string(),
            None => format!("@{name}"),
        });
    }
    None
}

fn decode_entities(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('&') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let (decoded, len) = if tail.starts_with("&amp;") {
            ('&', 5)
        } else if tail.starts_with("&lt;") {
            ('<', 4)
        } else if tail.starts_with("&gt;") {
            ('>', 4)
        } else {
            ('&', 1)
        };
        out.push(decoded);
        rest = &tail[len..];
    }
    out.push_str(rest);
    out.into()
}

fn parse_registration(text: &str) -> Fields {
    let (consent, text) = take_consent(text);
    let mut rest = Some(text.as_str());
    let mut next_part = || -> Option<String> {
        let current = rest?;
        let (part, remainder) = match current.split_once(',') {
            Some((part, remainder)) => (part, Some(remainder)),
            None => (current, None),
        };
        rest = remainder;
        non_blank(part)
    };
    let company_name = next_part();
    let second = next_part();
    let (company_domain, contact) = match second {
        Some(second) if second.contains('@') => (None, Some(second)),
        second => (second, next_part()),
    };
    let (contact_name, contact_email) = contact.as_deref().map(parse_contact).unwrap_or_default();
    let use_case = rest.and_then(non_blank);
    Fields {
        company_name,
        company_domain,
        contact_name,
        contact_email,
        use_case,
        consent,
        ..Fields::default()
    }
}

fn non_blank(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// `Jane Doe <jane@acme.com>`, `Jane Doe jane@acme.com`, `jane@acme.com` or
/// `Jane Doe` into a name and an email (the word holding an `@`).
fn parse_contact(text: &str) -> (Option<String>, Option<String>) {
    const WRAPPING: &[char] = &['<', '>', '(', ')', '[', ']', '"', '\'', ',', ';'];
    let mut email = None;
    let mut name_words = Vec::new();
    for word in text.split_whitespace() {
        let bare = word.trim_matches(WRAPPING);
        if email.is_none() && bare.contains('@') {
            email = Some(bare.trim_end_matches('.').to_string());
        } else {
            let bare = word.trim_matches(&['<', '>', '"'][..]);
            if !bare.is_empty() {
                name_words.push(bare);
            }
        }
    }
    let name = name_words.join(" ");
    let name = name.trim_matches(&['"', '\'', ',', ':', '-'][..]).trim();
    (
        (!name.is_empty()).then(|| name.to_string()),
        email.filter(|e| !e.is_empty()),
    )
}

/// Finds the explicit consent tokens (`consent: yes`, `consent yes`,
/// `consent=no`, any answer [`consent_answer`] knows), removes them from the
/// text, and returns the answer: `Some(false)` if any token says no.
fn take_consent(text: &str) -> (Option<bool>, String) {
    let mut spans = Vec::new();
    let mut answer = None;
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = find_ascii_ci(&text[from..], "consent") {
        let start = from + found;
        from = start + "consent".len();
        let boundary_before = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        if !boundary_before {
            continue;
        }
        // At least one separator after the word: "consented" is no token.
        let mut i = from;
        let mut separated = false;
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b':' | b'=') {
            separated = true;
            i += 1;
        }
        if !separated {
            continue;
        }
        let word_len: usize = text[i..]
            .chars()
            .take_while(|c| c.is_alphabetic())
            .map(char::len_utf8)
            .sum();
        if word_len == 0 {
            continue;
        }
        let mut end = i + word_len;
        let Some(value) = consent_answer(&text[i..end]) else {
            continue;
        };
        while end < bytes.len() && matches!(bytes[end], b'.' | b'!') {
            end += 1;
        }
        answer = Some(answer.unwrap_or(true) && value);
        spans.push((start, end));
        from = end;
    }
    let mut cleaned = text.to_string();
    for &(start, end) in spans.iter().rev() {
        let before = cleaned[..start].trim_end();
        let after = cleaned[end..].trim_start();
        let (cut_from, cut_to) =
            if before.ends_with(',') && (after.starts_with(',') || after.is_empty()) {
                // The token was a whole comma-separated part: drop its comma.
                (before.len() - 1, cleaned.len() - after.len())
            } else if before.is_empty() && after.starts_with(',') {
                // The first part: drop the comma after it.
                (0, cleaned.len() - after.len() + 1)
            } else {
                // Inside a part: drop it with the spaces before it.
                (before.len(), end)
            };
        cleaned.replace_range(cut_from..cut_to, "");
    }
    (answer, cleaned)
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Escapes text for Slack's `mrkdwn` and top-level `text`: `&`, `<` and `>`
/// become `&amp;`, `&lt;`, `&gt;` (and nothing else is encoded, as Slack
/// asks). Use it on every user-provided value put into a message, so that a
/// company called `<!channel>` is shown, not acted on.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// A reply only the invoking user sees: `response_type: "ephemeral"`, the
/// notification fallback `text` (mrkdwn; escape user values with [`escape`]),
/// and the `blocks` (an array; a single block object is wrapped, `null` is
/// left out).
pub fn ephemeral(text: &str, blocks: Value) -> Value {
    let mut reply = json!({
        "response_type": "ephemeral",
        "text": truncate(text, MAX_TEXT_CHARS),
    });
    let blocks = match blocks {
        Value::Null => None,
        Value::Object(_) => Some(Value::Array(vec![blocks])),
        other => Some(other),
    };
    if let Some(blocks) = blocks {
        reply["blocks"] = blocks;
    }
    reply
}

/// A section block of `mrkdwn`. The markdown is the caller's: interpolate
/// user-provided values through [`escape`]. Longer than Slack's 3000
/// characters, it is cut (never inside an entity or a `<…>` token) and ends
/// with `…`.
pub fn section(markdown: &str) -> Value {
    json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": truncate(markdown, MAX_TEXT_CHARS) },
    })
}

/// A context block (small grey text) with one `mrkdwn` element; the same
/// rules as [`section`].
pub fn context(markdown: &str) -> Value {
    json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": truncate(markdown, MAX_TEXT_CHARS) }],
    })
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let cut = text
        .char_indices()
        .nth(max_chars - 1)
        .map_or(text.len(), |(i, _)| i);
    let mut kept = &text[..cut];
    // Never leave half an entity or half a link behind.
    if let Some(amp) = kept.rfind('&') {
        if !kept[amp..].contains(';') {
            kept = &kept[..amp];
        }
    }
    if let Some(open) = kept.rfind('<') {
        if !kept[open..].contains('>') {
            kept = &kept[..open];
        }
    }
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Slack's worked example in "Verifying requests from Slack"
    // (docs.slack.dev/authentication/verifying-requests-from-slack), verbatim.
    const DOC_SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const DOC_TIMESTAMP: &str = "1531420618";
    const DOC_BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const DOC_SIGNATURE: &str =
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const DOC_NOW: i64 = 1_531_420_618;

    /// Name, secret, timestamp header, body, now, expected.
    type VerifyCase<'a> = (
        &'a str,
        &'a [u8],
        &'a str,
        &'a [u8],
        i64,
        Result<(), SignatureError>,
    );

    fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
        let mac = hmac_sha256(secret, &[b"v0:", timestamp.as_bytes(), b":", body]);
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        format!("v0={hex}")
    }

    #[test]
    fn slacks_documented_example_verifies() {
        assert_eq!(sign(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY), DOC_SIGNATURE);
        assert_eq!(
            verify(DOC_SECRET, DOC_TIMESTAMP, DOC_SIGNATURE, DOC_BODY, DOC_NOW),
            Ok(())
        );
        // Hex digits are compared as bytes, so upper case verifies too.
        let upper = format!("v0={}", DOC_SIGNATURE[3..].to_uppercase());
        assert_eq!(
            verify(DOC_SECRET, DOC_TIMESTAMP, &upper, DOC_BODY, DOC_NOW),
            Ok(())
        );
    }

    #[test]
    fn verify_table() {
        let mut tampered_body = DOC_BODY.to_vec();
        tampered_body[6] ^= 1;
        let mut flipped = DOC_SIGNATURE.to_string();
        flipped.replace_range(3..4, "b");
        let other_secret_sig = sign(b"another secret", DOC_TIMESTAMP, DOC_BODY);
        // Re-signed at another time by someone with the secret: fine once, but
        // the same signature with a changed timestamp header is not.
        let later = "1531420619";
        use SignatureError::*;
        let malformed_sig = Malformed {
            what: SIGNATURE_HEADER,
            reason: "expected v0= followed by 64 hex digits",
        };
        let cases: Vec<VerifyCase> = vec![
            (
                "documented",
                DOC_SECRET,
                DOC_TIMESTAMP,
                DOC_BODY,
                DOC_NOW,
                Ok(()),
            ),
            (
                "tampered body",
                DOC_SECRET,
                DOC_TIMESTAMP,
                &tampered_body[..],
                DOC_NOW,
                Err(Mismatch),
            ),
            (
                "body with a byte more",
                DOC_SECRET,
                DOC_TIMESTAMP,
                &b"token=x&"[..],
                DOC_NOW,
                Err(Mismatch),
            ),
            (
                "tampered timestamp",
                DOC_SECRET,
                later,
                DOC_BODY,
                DOC_NOW,
                Err(Mismatch),
            ),
            (
                "wrong secret",
                &b"8f742231b10e8888abcd99yyyzzz85a6"[..],
                DOC_TIMESTAMP,
                DOC_BODY,
                DOC_NOW,
                Err(Mismatch),
            ),
            (
                "empty secret",
                &b""[..],
                DOC_TIMESTAMP,
                DOC_BODY,
                DOC_NOW,
                Err(Malformed {
                    what: "signing secret",
                    reason: "it is empty, so no request can be verified",
                }),
            ),
            (
                "300 s old",
                DOC_SECRET,
                DOC_TIMESTAMP,
                DOC_BODY,
                DOC_NOW + 300,
                Ok(()),
            ),
            (
                "301 s old",
                DOC_SECRET,
                DOC_TIMESTAMP,
                DOC_BODY,
                DOC_NOW + 301,
                Err(Stale {
                    age_secs: 301,
                    max_secs: 300,
                }),
            ),
            (
                "300 s ahead",
                DOC_SECRET,
                DOC_TIMESTAMP,
                DOC_BODY,
                DOC_NOW - 300,
                Ok(()),
            ),
            (
                "301 s ahead",
                DOC_SECRET,
                DOC_TIMESTAMP,
                DOC_BODY,
                DOC_NOW - 301,
                Err(Stale {
                    age_secs: -301,
                    max_secs: 300,
                }),
            ),
            (
                "a day old",
                DOC_SECRET,
                DOC_TIMESTAMP,
                DOC_BODY,
                DOC_NOW + 86_400,
                Err(Stale {
                    age_secs: 86_400,
                    max_secs: 300,
                }),
            ),
            (
                "no timestamp",
                DOC_SECRET,
                "",
                DOC_BODY,
                DOC_NOW,
                Err(Missing(TIMESTAMP_HEADER)),
            ),
            (
                "timestamp not digits",
                DOC_SECRET,
                "1531420618.5",
                DOC_BODY,
                DOC_NOW,
                Err(Malformed {
                    what: TIMESTAMP_HEADER,
                    reason: "expected a Unix timestamp of decimal digits",
                }),
            ),
            (
                "negative timestamp",
                DOC_SECRET,
                "-1",
                DOC_BODY,
                DOC_NOW,
                Err(Malformed {
                    what: TIMESTAMP_HEADER,
                    reason: "expected a Unix timestamp of decimal digits",
                }),
            ),
        ];
        for (name, secret, timestamp, body, now, expected) in cases {
            assert_eq!(
                verify(secret, timestamp, DOC_SIGNATURE, body, now),
                expected,
                "{name}"
            );
        }
        let signature_cases: Vec<(&str, &str, Result<(), SignatureError>)> = vec![
            ("flipped digit", &flipped, Err(Mismatch)),
            ("other secret's signature", &other_secret_sig, Err(Mismatch)),
            ("missing", "", Err(Missing(SIGNATURE_HEADER))),
            ("no prefix", &DOC_SIGNATURE[3..], Err(malformed_sig)),
            (
                "v1",
                "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
                Err(Malformed {
                    what: SIGNATURE_HEADER,
                    reason: "unsupported signature version: only v0 is defined",
                }),
            ),
            ("short", "v0=a2114d57", Err(malformed_sig)),
            (
                "long",
                "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50300",
                Err(malformed_sig),
            ),
            (
                "not hex",
                "v0=g2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
                Err(malformed_sig),
            ),
            (
                "trailing space",
                "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503 ",
                Err(malformed_sig),
            ),
            (
                "multibyte",
                "v0=ä114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50",
                Err(malformed_sig),
            ),
        ];
        for (name, signature, expected) in signature_cases {
            assert_eq!(
                verify(DOC_SECRET, DOC_TIMESTAMP, signature, DOC_BODY, DOC_NOW),
                expected,
                "{name}"
            );
        }
        // A stale request is refused as stale even when its signature is right,
        // and a fresh one with a bad signature as a mismatch.
        let fresh = sign(DOC_SECRET, later, DOC_BODY);
        assert_eq!(
            verify(DOC_SECRET, later, &fresh, DOC_BODY, DOC_NOW + 1),
            Ok(())
        );
    }

    #[test]
    fn parses_the_documented_slash_command() {
        let command = parse_command(DOC_BODY).unwrap();
        assert_eq!(
            command,
            SlashCommand {
                team_id: "T1DC2JH3J".into(),
                user_id: "U2CERLKJA".into(),
                user_name: "roadrunner".into(),
                command: "/webhook-collect".into(),
                text: String::new(),
                response_url:
                    "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN"
                        .into(),
                trigger_id: "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c".into(),
                channel_id: "G8PSS9T3V".into(),
            }
        );
    }

    #[test]
    fn parse_command_table() {
        let escaped_text = "team_id=T1&user_id=U1&command=%2Fregister&text=Acme+%26amp%3B+Co%2C+%3Chttp%3A%2F%2Facme.com%7Cacme.com%3E";
        let command = parse_command(escaped_text.as_bytes()).unwrap();
        assert_eq!(command.text, "Acme &amp; Co, <http://acme.com|acme.com>");
        assert_eq!(command.command, "/register");
        assert_eq!(command.response_url, "");

        let first_wins = parse_command(b"team_id=T1&team_id=T2&user_id=U1&command=%2Fx").unwrap();
        assert_eq!(first_wins.team_id, "T1");

        for (body, expected) in [
            (
                &b"user_id=U1&command=%2Fx"[..],
                ParseError::MissingField("team_id"),
            ),
            (
                b"team_id=T1&command=%2Fx",
                ParseError::MissingField("user_id"),
            ),
            (
                b"team_id=T1&user_id=U1",
                ParseError::MissingField("command"),
            ),
            (
                b"team_id=T1&user_id=U1&command=",
                ParseError::MissingField("command"),
            ),
            (b"", ParseError::MissingField("team_id")),
            (
                b"team_id=T1&user_id=U1&command=%2Fx&text=\xff",
                ParseError::NotUtf8,
            ),
        ] {
            assert_eq!(parse_command(body), Err(expected), "{body:?}");
        }
        assert_eq!(
            ParseError::MissingField("team_id").to_string(),
            "the slash command has no team_id field"
        );
    }

    fn register(fields: Fields) -> SlackRequest {
        SlackRequest::Register(fields)
    }

    fn acme(use_case: Option<&str>, consent: Option<bool>) -> Fields {
        Fields {
            company_name: Some("Acme Corp".into()),
            company_domain: Some("acme.com".into()),
            contact_name: Some("Jane Doe".into()),
            contact_email: Some("jane@acme.com".into()),
            use_case: use_case.map(Into::into),
            consent,
            ..Fields::default()
        }
    }

    #[test]
    fn interpret_table() {
        // What Slack sends when a user types
        // `register Acme Corp, acme.com, Jane Doe <jane@acme.com>, …`: the
        // user's angle brackets escaped, the domain and the email linked.
        let as_slack_sends = "register Acme Corp, <http://acme.com|acme.com>, Jane Doe &lt;<mailto:jane@acme.com|jane@acme.com>&gt;, SSO for 500 seats, EU only";
        let cases: Vec<(&str, SlackRequest)> = vec![
            (as_slack_sends, register(acme(Some("SSO for 500 seats, EU only"), None))),
            ("register Acme Corp, acme.com, Jane Doe <jane@acme.com>, SSO for 500 seats, EU only",
                register(acme(Some("SSO for 500 seats, EU only"), None))),
            ("REGISTER Acme Corp, acme.com, Jane Doe jane@acme.com, SSO",
                register(acme(Some("SSO"), None))),
            // A dedicated /register command: no keyword, but commas.
            ("Acme Corp, acme.com, Jane Doe <jane@acme.com>, SSO",
                register(acme(Some("SSO"), None))),
            ("register Acme Corp, acme.com, Jane Doe <jane@acme.com>, SSO, consent: yes",
                register(acme(Some("SSO"), Some(true)))),
            ("register Acme Corp, acme.com, Jane Doe <jane@acme.com>, SSO for 500 seats consent yes",
                register(acme(Some("SSO for 500 seats"), Some(true)))),
            ("register Acme Corp, acme.com, Jane Doe <jane@acme.com>, consent: yes, SSO",
                register(acme(Some("SSO"), Some(true)))),
            ("register consent=yes, Acme Corp, acme.com, Jane Doe <jane@acme.com>, SSO",
                register(acme(Some("SSO"), Some(true)))),
            ("register Acme Corp, acme.com, Jane Doe <jane@acme.com>, SSO. Consent: Yes.",
                register(acme(Some("SSO."), Some(true)))),
            ("register Acme Corp, acme.com, Jane Doe <jane@acme.com>, SSO, consent: no",
                register(acme(Some("SSO"), Some(false)))),
            ("register Acme Corp, acme.com, Jane Doe <jane@acme.com>, consent management, consent: oui",
                register(acme(Some("consent management"), Some(true)))),
            // Words that are not an explicit token leave consent alone.
            ("register Acme Corp, acme.com, Jane Doe <jane@acme.com>, they consented, consent maybe",
                register(acme(Some("they consented, consent maybe"), None))),
            ("register Acme Corp, acme.com, Jane Doe <jane@acme.com>",
                register(acme(None, None))),
            ("register Acme Corp, acme.com, jane@acme.com, SSO",
                register(Fields { contact_name: None, ..acme(Some("SSO"), None) })),
            ("register Acme Corp, acme.com, Jane Doe, SSO",
                register(Fields { contact_email: None, ..acme(Some("SSO"), None) })),
            // The website left out: the second part holds the email.
            ("register Acme Corp, Jane Doe <jane@acme.com>, SSO, EU",
                register(Fields { company_domain: None, ..acme(Some("SSO, EU"), None) })),
            ("register Acme Corp, , Jane Doe <jane@acme.com>, SSO",
                register(Fields { company_domain: None, ..acme(Some("SSO"), None) })),
            ("register Acme Corp",
                register(Fields { company_name: Some("Acme Corp".into()), ..Fields::default() })),
            ("register Barnes &amp; Noble, <https://bn.com/>, <mailto:a@bn.com|a@bn.com>, books &lt;3",
                register(Fields {
                    company_name: Some("Barnes & Noble".into()),
                    company_domain: Some("https://bn.com/".into()),
                    contact_email: Some("a@bn.com".into()),
                    use_case: Some("books <3".into()),
                    ..Fields::default()
                })),
            ("status REG-000123", SlackRequest::Status("REG-000123".into())),
            ("  Status   REG-000123  ", SlackRequest::Status("REG-000123".into())),
            ("link 123456", SlackRequest::Link("123456".into())),
            ("link 123 456", SlackRequest::Link("123456".into())),
            // A company that starts with a keyword still registers.
            ("Status Labs, status.io, Jane Doe <jane@acme.com>",
                register(Fields {
                    company_name: Some("Status Labs".into()),
                    company_domain: Some("status.io".into()),
                    contact_name: Some("Jane Doe".into()),
                    contact_email: Some("jane@acme.com".into()),
                    ..Fields::default()
                })),
            ("help", SlackRequest::Help),
            ("HELP register", SlackRequest::Help),
            ("", SlackRequest::Help),
            ("   ", SlackRequest::Help),
            ("?", SlackRequest::Help),
            ("status", SlackRequest::Help),
            ("link", SlackRequest::Help),
            ("register", SlackRequest::Help),
            ("hello there", SlackRequest::Help),
        ];
        for (text, expected) in cases {
            assert_eq!(interpret(text), expected, "{text}");
        }
    }

    #[test]
    fn unescape_table() {
        for (text, expected) in [
            ("<mailto:jane@acme.com|jane@acme.com>", "jane@acme.com"),
            ("<mailto:jane@acme.com>", "jane@acme.com"),
            ("<http://acme.com|acme.com>", "acme.com"),
            (
                "<https://acme.com/x?a=1&amp;b=2>",
                "https://acme.com/x?a=1&b=2",
            ),
            ("<tel:+15551234|+1 555 1234>", "+1 555 1234"),
            ("hi <@U123|jane> in <#C1|sales>", "hi @jane in #sales"),
            ("<@U123>", "@U123"),
            (
                "<!here> <!subteam^S1|@sales-team> <!channel>",
                "@here @sales-team @channel",
            ),
            ("&lt;b&gt; &amp;amp; &amp;lt;", "<b> &amp; &lt;"),
            ("a < b > c", "a < b > c"),
            ("<jane@acme.com>", "<jane@acme.com>"),
            ("<unclosed", "<unclosed"),
            ("<<http://a.io|a.io>>", "<a.io>"),
            ("& alone &; &x;", "& alone &; &x;"),
        ] {
            assert_eq!(unescape(text), expected, "{text}");
        }
    }

    #[test]
    fn escape_and_blocks() {
        assert_eq!(
            escape("Barnes & Noble <!channel>"),
            "Barnes &amp; Noble &lt;!channel&gt;"
        );
        assert_eq!(unescape(&escape("a & <b> &amp;")), "a & <b> &amp;");
        let reply = ephemeral(
            "Registered REG-000123",
            json!([
                section(&format!("*Registered* {}", escape("Acme <Corp>"))),
                context("Case REG-000123"),
            ]),
        );
        assert_eq!(
            reply,
            json!({
                "response_type": "ephemeral",
                "text": "Registered REG-000123",
                "blocks": [
                    { "type": "section", "text": { "type": "mrkdwn", "text": "*Registered* Acme &lt;Corp&gt;" } },
                    { "type": "context", "elements": [{ "type": "mrkdwn", "text": "Case REG-000123" }] },
                ],
            })
        );
        assert_eq!(
            ephemeral("x", section("y"))["blocks"],
            json!([{ "type": "section", "text": { "type": "mrkdwn", "text": "y" } }])
        );
        assert!(ephemeral("x", Value::Null).get("blocks").is_none());
    }

    #[test]
    fn long_text_is_cut_cleanly() {
        let long = "a".repeat(MAX_TEXT_CHARS + 10);
        let text = section(&long)["text"]["text"].as_str().unwrap().to_string();
        assert_eq!(text.chars().count(), MAX_TEXT_CHARS);
        assert!(text.ends_with('…'));
        let entity = format!("{}&amp;", "a".repeat(MAX_TEXT_CHARS - 3));
        let text = context(&entity)["elements"][0]["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(text.ends_with("aa…") && !text.contains('&'), "{text}");
        let link = format!("{}<https://acme.com|acme>", "é".repeat(MAX_TEXT_CHARS - 5));
        let text = section(&link)["text"]["text"].as_str().unwrap().to_string();
        assert!(
            !text.contains('<') && text.chars().count() <= MAX_TEXT_CHARS,
            "{text}"
        );
        assert_eq!(section("short")["text"]["text"], "short");
    }

    proptest! {
        #[test]
        fn verify_never_panics(
            secret in proptest::collection::vec(any::<u8>(), 0..40),
            timestamp in ".{0,24}",
            signature in ".{0,80}",
            body in proptest::collection::vec(any::<u8>(), 0..200),
            now in any::<i64>(),
        ) {
            let _ = verify(&secret, &timestamp, &signature, &body, now);
        }

        #[test]
        fn a_fresh_signed_request_verifies_and_any_change_fails(
            secret in proptest::collection::vec(any::<u8>(), 1..40),
            timestamp in 0i64..4_000_000_000,
            skew in -300i64..=300,
            body in proptest::collection::vec(any::<u8>(), 0..200),
            flip in any::<proptest::sample::Index>(),
        ) {
            let ts = timestamp.to_string();
            let signature = sign(&secret, &ts, &body);
            prop_assert_eq!(verify(&secret, &ts, &signature, &body, timestamp + skew), Ok(()));
            if !body.is_empty() {
                let mut tampered = body.clone();
                tampered[flip.index(body.len())] ^= 0x01;
                prop_assert_eq!(
                    verify(&secret, &ts, &signature, &tampered, timestamp + skew),
                    Err(SignatureError::Mismatch)
                );
            }
        }

        #[test]
        fn parse_command_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_command(&body);
        }

        #[test]
        fn parse_command_never_panics_on_forms(body in "([a-z_]{1,12}=[^&]{0,20}&?){0,10}") {
            let _ = parse_command(body.as_bytes());
        }

        #[test]
        fn interpret_never_panics(text in ".{0,200}") {
            let _ = interpret(&text);
        }

        #[test]
        fn interpret_never_panics_on_command_like_text(
            text in "(register|status|link|help|consent|Consent:|yes|no|<|>|&amp;|&lt;|,| |@|é|x|<mailto:a@b.c|a@b.c>){0,30}",
        ) {
            let _ = interpret(&text);
        }

        #[test]
        fn escape_round_trips(text in ".{0,100}") {
            prop_assert_eq!(unescape(&escape(&text)), text);
        }

        #[test]
        fn blocks_stay_within_slacks_limit(text in ".{0,3100}") {
            let block = section(&text);
            let shown = block["text"]["text"].as_str().unwrap();
            prop_assert!(shown.chars().count() <= MAX_TEXT_CHARS);
        }
    }
}
