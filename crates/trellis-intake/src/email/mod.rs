//! Registrations sent by email: a partner writes to the intake address, and
//! the body holds short labelled fields.
//!
//! ```text
//! Company: Acme Inc
//! Website: acme.com
//! Contact: Jane Doe <jane@acme.com>
//! Use case: replacing spreadsheets for 40 field reps
//! Consent: yes
//! ```
//!
//! [`parse_message`] reads the message (headers, MIME structure, transfer
//! encodings, charsets, all by mail-parser) into an [`IncomingMail`] whose
//! `text` is the body as plain text; [`extract_fields`] finds the fields in
//! that text. Both are pure and total: any bytes give a value or an error,
//! never a panic, since they read what strangers send.
//!
//! # The body
//!
//! - The text/plain part is preferred, because it is what the sender typed;
//!   HTML-only mail is converted, with blocks (`<p>`, `<div>`, `<tr>`, ...)
//!   and `<br>` as line breaks and table cells separated by tabs, so a form
//!   laid out in a table still reads `Company<TAB>Acme`.
//! - A forwarded message attached as `message/rfc822` is appended below a
//!   `---------- Forwarded message ---------` line, exactly as a client
//!   forwarding inline would write it, so both kinds of forward are read by
//!   one rule.
//!
//! # The fields
//!
//! - A field is a line `Label: value`; the label is matched without regard to
//!   case or spacing, after a bullet (`-`, `*`, `•`), a list number or bold
//!   markers (`**Company:**`), and may be followed by `:`, `-`, `=` or a tab.
//!   Synonyms map to one field (`Organisation`, `Account` and `Customer` are
//!   the company; `Website`, `Domain` and `URL` the company domain).
//! - A label with no value takes the next line; `Use case` goes on over the
//!   following lines until a blank line or another label.
//! - Unknown labels are ignored, and the first occurrence of a field wins.
//! - `Contact: Jane Doe <jane@acme.com>` gives the contact's name, and their
//!   email when no `Email:` line does.
//! - `Consent` counts only as a plain yes or no ([`consent_answer`]).
//!
//! # What is not read
//!
//! Reading stops at the signature (`-- `, `Sent from my iPhone`) and at
//! quoted history (`>` lines, `On ... wrote:`, `-----Original Message-----`,
//! Outlook's `From:`/`Sent:` block): a reply quotes older messages, often our
//! own auto-reply quoting the partner's first attempt, and their values must
//! not override what the partner writes now. Forwarded messages are the
//! exception: a partner forwarding a prospect's mail means its fields, so
//! they are read when the partner's own text has none. Outlook marks a
//! forward and a reply alike (`From:`/`Sent:`), so an Outlook forward reads
//! as history.
//!
//! [`consent_answer`]: crate::consent_answer

mod html;
mod labels;
mod sections;

use mail_parser::{HeaderName, Message, MessageParser, PartType};
use serde::Serialize;

use crate::fields::Fields;

/// The largest message accepted, in bytes: registrations are a few lines of
/// text, and parsing is bounded by input size, so a cap bounds the work a
/// sender can cause.
pub const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// Forwards nested deeper than this are not read: nobody forwards a forward
/// of a forward eight times, and the bound keeps recursion off hostile input.
const MAX_NESTED_MESSAGES: usize = 8;

/// What an intake adapter needs from one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncomingMail {
    /// The sender's bare address, as written (`jane@Acme.com`, not lowercased):
    /// the adapter identifies the partner by it.
    pub from: String,
    /// The display name in `From:`, if any.
    pub from_name: Option<String>,
    /// The bare addresses in `To:`.
    pub to: Vec<String>,
    pub subject: Option<String>,
    /// Without angle brackets; for threading replies and spotting resends.
    pub message_id: Option<String>,
    /// The body as plain text with `\n` line ends, forwarded messages
    /// appended; what [`extract_fields`] reads.
    pub text: String,
}

/// Why bytes could not be read as a registration email.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("not a mail message: no RFC 5322 header could be read")]
    NotMail,
    #[error("the message has no From address")]
    NoFromAddress,
    #[error("the message is too large: {size} bytes, the limit is {MAX_MESSAGE_BYTES} bytes")]
    TooLarge { size: usize },
    #[error("the message has no readable body: no text or HTML part with any text")]
    NoReadableBody,
}

/// Parses a raw RFC 5322 message.
pub fn parse_message(raw: &[u8]) -> Result<IncomingMail, MailError> {
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(MailError::TooLarge { size: raw.len() });
    }
    let parsed = Parsed(parse_mime(raw).ok_or(MailError::NotMail)?);
    let message = &parsed.0;
    // mail-parser reads any `word: text` line as a header, so a CSV or a
    // sentence parses too; mail has at least one header that mail defines.
    if message
        .headers()
        .iter()
        .all(|h| matches!(h.name, HeaderName::Other(_)))
    {
        return Err(MailError::NotMail);
    }
    let sender = message
        .from()
        .and_then(|from| from.iter().find(|a| a.address().is_some_and(is_address)))
        .ok_or(MailError::NoFromAddress)?;
    let from = sender.address().unwrap_or_default().trim().to_owned();
    let from_name = non_blank(sender.name());
    let to = message
        .to()
        .map(|to| {
            to.iter()
                .filter_map(|a| a.address())
                .filter(|a| is_address(a))
                .map(|a| a.trim().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let text = body_text(message, 0);
    if text.trim().is_empty() {
        return Err(MailError::NoReadableBody);
    }
    Ok(IncomingMail {
        from,
        from_name,
        to,
        subject: non_blank(message.subject()),
        message_id: non_blank(message.message_id()),
        text,
    })
}

/// Finds the labelled fields in a body (see the module docs for the rules).
pub fn extract_fields(text: &str) -> Fields {
    let text = normalize(text);
    let mut own = labels::Found::default();
    let mut forwarded = labels::Found::default();
    for section in sections::sections(&text) {
        let found = if section.forwarded {
            &mut forwarded
        } else {
            &mut own
        };
        labels::read_lines(&section.lines, found);
    }
    if own.is_empty() {
        forwarded.finish()
    } else {
        own.finish()
    }
}

/// mail-parser's parse, with its `debug_assert!`s contained.
///
/// mail-parser 0.11 has a few `debug_assert!(false, ...)` on states that
/// malformed MIME can reach (a `message/rfc822` part whose headers run into
/// the next boundary, found by the mutation tests). Release builds compile
/// them out and mail-parser recovers; debug builds (the tests) would panic
/// on a stranger's bytes. Catching the unwind keeps `parse_message` total in
/// every build; such a message reads as not mail in a debug build. (libFuzzer
/// aborts on any panic before it unwinds: fuzz with `cargo fuzz run -O`.)
fn parse_mime(raw: &[u8]) -> Option<Message<'_>> {
    std::panic::catch_unwind(|| MessageParser::default().parse(raw))
        .ok()
        .flatten()
}

/// A parsed message that is taken apart iteratively when dropped.
///
/// Attached messages nest as `Message` values inside parts, and the derived
/// drop recurses once per level: 20,000 nested `message/rfc822` headers (a
/// megabyte) overflow a 2 MiB thread stack. Parsing itself is iterative.
struct Parsed<'x>(Message<'x>);

impl Drop for Parsed<'_> {
    fn drop(&mut self) {
        let mut stack = vec![std::mem::take(&mut self.0)];
        while let Some(mut message) = stack.pop() {
            for part in &mut message.parts {
                if matches!(part.body, PartType::Message(_)) {
                    if let PartType::Message(nested) = std::mem::take(&mut part.body) {
                        stack.push(nested);
                    }
                }
            }
        }
    }
}

/// The message's own text, then each attached message as an inline forward.
fn body_text(message: &Message<'_>, depth: usize) -> String {
    let mut text = parts_text(message, &message.text_body);
    if text.trim().is_empty() {
        // A text/plain alternative left empty by the client: use the HTML.
        text = parts_text(message, &message.html_body);
    }
    if depth < MAX_NESTED_MESSAGES {
        for part in message.attachments() {
            if let PartType::Message(nested) = &part.body {
                text.push_str("\n\n");
                text.push_str(&forwarded_block(nested, depth + 1));
            }
        }
    }
    normalize(&text).into_owned()
}

fn parts_text(message: &Message<'_>, ids: &[u32]) -> String {
    let mut text = String::new();
    for part in ids.iter().filter_map(|&id| message.part(id)) {
        let part_text = match &part.body {
            PartType::Text(t) => t.to_string(),
            PartType::Html(h) => html::html_to_plain(h),
            _ => continue,
        };
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&part_text);
    }
    text
}

/// An attached message written as Gmail writes an inline forward.
fn forwarded_block(message: &Message<'_>, depth: usize) -> String {
    let mut block = String::from("---------- Forwarded message ---------\n");
    if let Some(from) = message.from().and_then(|f| f.first()) {
        let address = from.address().unwrap_or_default();
        match from.name() {
            Some(name) => block.push_str(&format!("From: {name} <{address}>\n")),
            None => block.push_str(&format!("From: {address}\n")),
        }
    }
    if let Some(subject) = message.subject() {
        block.push_str(&format!("Subject: {subject}\n"));
    }
    block.push('\n');
    block.push_str(&body_text(message, depth));
    block
}

/// `\n` line ends, and the invisible or odd spaces mail clients insert turned
/// into plain spaces (or dropped), so labels match.
fn normalize(text: &str) -> std::borrow::Cow<'_, str> {
    let odd = |c: char| {
        matches!(
            c,
            '\r' | '\u{a0}'
                | '\u{2007}'
                | '\u{202f}'
                | '\u{200b}'
                | '\u{200c}'
                | '\u{200d}'
                | '\u{2060}'
                | '\u{feff}'
                | '\u{ad}'
        )
    };
    if !text.contains(odd) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\u{a0}' | '\u{2007}' | '\u{202f}' => out.push(' '),
            '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}' => {}
            _ => out.push(c),
        }
    }
    out.into()
}

fn is_address(address: &str) -> bool {
    address
        .split_once('@')
        .is_some_and(|(local, domain)| !local.trim().is_empty() && !domain.trim().is_empty())
}

fn non_blank(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests;
