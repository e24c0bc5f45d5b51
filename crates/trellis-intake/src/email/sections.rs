//! Which lines of a body may hold fields.
//!
//! A body is cut into sections: the sender's own text at the top, then one
//! section per forwarded message. Each section ends at a signature or at
//! quoted history. History ends the whole body: what a partner quotes in a
//! reply is an older message (often our own auto-reply quoting their first
//! attempt), and reading it would register stale values. A signature only
//! ends its section, because clients put the signature above a forwarded
//! message.

use std::borrow::Cow;

/// How deep forwards nested by quoting (`Begin forwarded message:` followed
/// by `>` lines) are unwrapped; a bound keeps hostile input from recursing.
const MAX_FORWARD_DEPTH: usize = 8;

/// How far below a `From:` line an Outlook reply header's `Sent:` may be.
const OUTLOOK_HEADER_SPAN: usize = 4;

/// A run of lines that may hold fields.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Section<'a> {
    /// False for the sender's own text, true inside a forwarded message.
    pub forwarded: bool,
    pub lines: Vec<Cow<'a, str>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `---------- Forwarded message ---------` and the like.
    Forward,
    /// `-- `, `Sent from my iPhone`: the end of the sender's text.
    Signature,
    /// `>` quotes, `On ... wrote:`, `-----Original Message-----`, Outlook's
    /// `From:`/`Sent:` block: everything below is an older message.
    History,
    Text,
}

/// Splits a body into its readable sections, the top one first.
pub(crate) fn sections(text: &str) -> Vec<Section<'_>> {
    let lines: Vec<Cow<'_, str>> = text.lines().map(Cow::Borrowed).collect();
    let mut out = Vec::new();
    split(&lines, false, 0, &mut out);
    out
}

fn split<'a>(lines: &[Cow<'a, str>], forwarded: bool, depth: usize, out: &mut Vec<Section<'a>>) {
    out.push(Section {
        forwarded,
        lines: Vec::new(),
    });
    let mut reading = true;
    let mut i = 0;
    while i < lines.len() {
        match classify(lines, i) {
            Kind::Text => {
                if reading {
                    if let Some(section) = out.last_mut() {
                        section.lines.push(lines[i].clone());
                    }
                }
                i += 1;
            }
            Kind::Signature => {
                reading = false;
                i += 1;
            }
            Kind::History => return,
            Kind::Forward => {
                i = skip_forward_header(lines, i + 1);
                let quoted = lines[i..]
                    .iter()
                    .find(|l| !l.trim().is_empty())
                    .is_some_and(|l| l.trim_start().starts_with('>'));
                if quoted {
                    // Apple Mail quotes the forwarded message: unwrap one level.
                    let end = lines[i..]
                        .iter()
                        .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('>'))
                        .map_or(lines.len(), |p| i + p);
                    if depth < MAX_FORWARD_DEPTH {
                        let inner: Vec<Cow<'a, str>> = lines[i..end].iter().map(unquote).collect();
                        let inner_start = skip_forward_header(&inner, 0);
                        split(&inner[inner_start..], true, depth + 1, out);
                    }
                    // Lines after the quoted forward belong to no section.
                    reading = false;
                    i = end;
                } else {
                    out.push(Section {
                        forwarded: true,
                        lines: Vec::new(),
                    });
                    reading = true;
                }
            }
        }
    }
}

/// Removes one level of `>` quoting.
fn unquote<'a>(line: &Cow<'a, str>) -> Cow<'a, str> {
    let trimmed = line.trim_start();
    match trimmed.strip_prefix('>') {
        Some(rest) => Cow::Owned(rest.strip_prefix(' ').unwrap_or(rest).to_owned()),
        None => line.clone(),
    }
}

/// Skips the `From:`/`Date:`/`Subject:`/`To:` lines a client writes below a
/// forward marker (and blank lines before them), so they are not taken for an
/// Outlook reply header. Returns the index of the first line after them.
fn skip_forward_header(lines: &[Cow<'_, str>], mut i: usize) -> usize {
    while i < lines.len() && lines[i].trim().is_empty() {
        i += 1;
    }
    let start = i;
    while i < lines.len() {
        let line = unstyled(&lines[i]);
        let unquoted = line.trim_start_matches(['>', ' ']);
        if is_header_line(unquoted) {
            i += 1;
        } else if i > start && lines[i].starts_with([' ', '\t']) && !lines[i].trim().is_empty() {
            // A folded header line (a long To: list).
            i += 1;
        } else {
            break;
        }
    }
    i
}

const HEADER_NAMES: &[&str] = &[
    "from", "date", "sent", "subject", "to", "cc", "bcc", "reply-to", "von", "gesendet", "datum",
    "betreff", "an", "de", "envoyé", "objet", "à", "para", "asunto", "enviado", "fecha",
];

fn is_header_line(line: &str) -> bool {
    let Some((name, _)) = line.split_once(':') else {
        return false;
    };
    let name = name.trim().to_lowercase();
    HEADER_NAMES.contains(&name.as_str())
}

/// The line without bold markers and outer whitespace, for marker checks:
/// Gmail's plain text renders `<b>From:</b>` as `*From:*`.
fn unstyled(line: &str) -> String {
    line.trim().replace(['*'], "")
}

fn classify(lines: &[Cow<'_, str>], i: usize) -> Kind {
    let raw = &lines[i];
    if raw.trim_start().starts_with('>') {
        return Kind::History;
    }
    if raw.trim_end() == "--" {
        return Kind::Signature;
    }
    let line = unstyled(raw);
    let lower = line.to_lowercase();
    if is_forward_marker(&lower) {
        return Kind::Forward;
    }
    if is_original_message_marker(&lower)
        || is_wrote_line(&lower, || lines.get(i + 1).map(|l| l.trim().to_lowercase()))
        || is_outlook_header(&lower, lines, i)
        || (lower.len() >= 10 && lower.chars().all(|c| c == '_'))
    {
        return Kind::History;
    }
    if is_mobile_signature(&lower) {
        return Kind::Signature;
    }
    Kind::Text
}

fn is_forward_marker(lower: &str) -> bool {
    const PHRASES: &[&str] = &[
        "forwarded message",
        "weitergeleitete nachricht",
        "message transféré",
        "mensaje reenviado",
        "mensagem encaminhada",
        "messaggio inoltrato",
        "doorgestuurd bericht",
    ];
    lower == "begin forwarded message:"
        || lower == "début du message réexpédié :"
        || (lower.starts_with("---") && PHRASES.iter().any(|p| lower.contains(p)))
}

fn is_original_message_marker(lower: &str) -> bool {
    const PHRASES: &[&str] = &[
        "original message",
        "ursprüngliche nachricht",
        "message d'origine",
        "mensaje original",
        "mensagem original",
        "messaggio originale",
        "oorspronkelijk bericht",
    ];
    lower.starts_with("---") && PHRASES.iter().any(|p| lower.contains(p))
}

/// `On Tue, 3 Mar 2026 at 10:02, Jane Doe <jane@acme.com> wrote:`, possibly
/// wrapped onto a second line, in a few languages.
fn is_wrote_line(lower: &str, next: impl FnOnce() -> Option<String>) -> bool {
    const OPENERS: &[&str] = &["on ", "le ", "am ", "el ", "em ", "il ", "op "];
    const ENDINGS: &[&str] = &[
        "wrote:",
        "a écrit :",
        "a écrit:",
        "schrieb:",
        "escribió:",
        "escreveu:",
        "ha scritto:",
        "scrisse:",
        "schreef:",
    ];
    let ends = |s: &str| ENDINGS.iter().any(|e| s.ends_with(e));
    if OPENERS.iter().any(|o| lower.starts_with(o)) {
        ends(lower) || next().is_some_and(|n| ends(&n) && n.len() < 120)
    } else {
        // `Jane Doe <jane@acme.com> wrote:` (older clients).
        ends(lower) && (lower.contains('@') || lower.contains('<'))
    }
}

/// Outlook quotes with a header block rather than `>`:
/// `From: Jane` then `Sent: Tuesday...` (or `Date:`) within a few lines.
fn is_outlook_header(lower: &str, lines: &[Cow<'_, str>], i: usize) -> bool {
    const FROM: &[&str] = &["from:", "von:", "de:", "de :"];
    const SENT: &[&str] = &[
        "sent:",
        "date:",
        "gesendet:",
        "datum:",
        "envoyé :",
        "envoyé:",
        "enviado:",
        "enviado el:",
        "fecha:",
    ];
    if !FROM.iter().any(|f| lower.starts_with(f)) {
        return false;
    }
    lines
        .iter()
        .skip(i + 1)
        .take(OUTLOOK_HEADER_SPAN)
        .map(|l| unstyled(l).to_lowercase())
        .any(|l| SENT.iter().any(|s| l.starts_with(s)))
}

fn is_mobile_signature(lower: &str) -> bool {
    const OPENERS: &[&str] = &[
        "sent from my ",
        "sent from outlook",
        "sent from mail for ",
        "sent from yahoo mail",
        "sent with proton mail",
        "get outlook for ",
        "envoyé de mon ",
        "von meinem ",
        "enviado desde mi ",
    ];
    lower.len() < 100 && OPENERS.iter().any(|o| lower.starts_with(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<(bool, Vec<String>)> {
        sections(text)
            .into_iter()
            .map(|s| {
                (
                    s.forwarded,
                    s.lines.into_iter().map(|l| l.into_owned()).collect(),
                )
            })
            .collect()
    }

    fn top(text: &str) -> Vec<String> {
        texts(text).remove(0).1
    }

    #[test]
    fn the_top_section_ends_at_signatures_and_history() {
        for (body, expected) in [
            ("a\nb", vec!["a", "b"]),
            ("a\n-- \nBob\nCompany: X", vec!["a"]),
            ("a\n--\nBob", vec!["a"]),
            ("a\n> quoted\nb", vec!["a"]),
            ("a\n  > quoted", vec!["a"]),
            (
                "a\nOn Mon, 2 Mar 2026 at 10:00, Jane <j@x.com> wrote:\nb",
                vec!["a"],
            ),
            (
                "a\nOn Mon, 2 Mar 2026 at 10:00, Jane <\nj@x.com> wrote:\nb",
                vec!["a"],
            ),
            ("a\nLe lun. 2 mars 2026, Jeanne a écrit :\nb", vec!["a"]),
            ("a\nJane Doe <j@x.com> wrote:\nb", vec!["a"]),
            ("a\n-----Original Message-----\nb", vec!["a"]),
            (
                "a\n________________________________\nFrom: Jane\nb",
                vec!["a"],
            ),
            ("a\nFrom: Jane Doe\nSent: Monday\nTo: x\nb", vec!["a"]),
            ("a\n*From:* Jane Doe\n*Sent:* Monday\nb", vec!["a"]),
            ("a\nSent from my iPhone\nb", vec!["a"]),
            (
                "a\nGet Outlook for iOS<https://aka.ms/o0ukef>\nb",
                vec!["a"],
            ),
            // Not markers:
            (
                "a\nFrom: the web form\nb",
                vec!["a", "From: the web form", "b"],
            ),
            (
                "On boarding: soon\n---\nb",
                vec!["On boarding: soon", "---", "b"],
            ),
            ("- - -\nb", vec!["- - -", "b"]),
        ] {
            assert_eq!(top(body), expected, "{body:?}");
        }
    }

    #[test]
    fn forwarded_messages_are_sections_of_their_own() {
        let body = "FYI\n\n---------- Forwarded message ---------\nFrom: Jane <j@x.com>\nDate: Mon, 2 Mar 2026\nSubject: Hi\nTo: Bob <b@y.com>\n\nCompany: Acme\n-- \nJane\n";
        assert_eq!(
            texts(body),
            [
                (false, vec!["FYI".to_owned(), String::new()]),
                (true, vec![String::new(), "Company: Acme".to_owned()]),
            ]
        );
    }

    #[test]
    fn a_signature_above_a_forward_does_not_hide_it() {
        let body =
            "FYI\n-- \nBob\n\n-------- Forwarded Message --------\nSubject: x\n\nCompany: Acme";
        let sections = texts(body);
        assert_eq!(
            sections[1],
            (true, vec![String::new(), "Company: Acme".to_owned()])
        );
    }

    #[test]
    fn history_hides_later_forwards() {
        let body =
            "Thanks\nOn Mon, Jane wrote:\n---------- Forwarded message ---------\nCompany: Old";
        assert_eq!(texts(body), [(false, vec!["Thanks".to_owned()])]);
    }

    #[test]
    fn quoted_apple_forwards_are_unwrapped_once() {
        let body = "Sent from my iPhone\n\nBegin forwarded message:\n\n> From: Jane <j@x.com>\n> Date: 2 March 2026\n> Subject: Hi\n> \n> Company: Acme\n> > Company: Older\n";
        let sections = texts(body);
        assert_eq!(sections.len(), 2, "{sections:?}");
        assert_eq!(sections[1], (true, vec!["Company: Acme".to_owned()]));
    }

    #[test]
    fn nested_quoted_forwards_stop_at_a_depth() {
        let mut body = String::new();
        for level in 0..50 {
            body.push_str(&">".repeat(level));
            body.push_str("Begin forwarded message:\n");
        }
        body.push_str(&">".repeat(50));
        body.push_str("Company: Deep\n");
        let sections = sections(&body);
        assert!(sections.len() <= MAX_FORWARD_DEPTH + 2);
    }
}
