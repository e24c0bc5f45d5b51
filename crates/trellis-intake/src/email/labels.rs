//! Labelled lines (`Company: Acme Inc`) and the cleaning of their values.

use std::borrow::Cow;

use crate::fields::{consent_answer, Fields};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Company,
    Website,
    Contact,
    Email,
    UseCase,
    Consent,
    Segment,
    Region,
    Product,
}

/// Every label a partner may write, lowercase. A space matches any run of
/// spaces, tabs or underscores, so `Company   name` and `company_name` work.
/// Longer labels win over their prefixes (`company domain` over `company`).
const LABELS: &[(&str, Field)] = &[
    ("company", Field::Company),
    ("company name", Field::Company),
    ("account", Field::Company),
    ("account name", Field::Company),
    ("organisation", Field::Company),
    ("organization", Field::Company),
    ("organisation name", Field::Company),
    ("organization name", Field::Company),
    ("customer", Field::Company),
    ("customer name", Field::Company),
    ("prospect", Field::Company),
    ("prospect name", Field::Company),
    ("firm", Field::Company),
    ("website", Field::Website),
    ("web site", Field::Website),
    ("company website", Field::Website),
    ("domain", Field::Website),
    ("company domain", Field::Website),
    ("web", Field::Website),
    ("url", Field::Website),
    ("site", Field::Website),
    ("contact", Field::Contact),
    ("contact name", Field::Contact),
    ("contact person", Field::Contact),
    ("main contact", Field::Contact),
    ("name", Field::Contact),
    ("person", Field::Contact),
    ("email", Field::Email),
    ("e-mail", Field::Email),
    ("email address", Field::Email),
    ("e-mail address", Field::Email),
    ("contact email", Field::Email),
    ("contact e-mail", Field::Email),
    ("mail", Field::Email),
    ("use case", Field::UseCase),
    ("usecase", Field::UseCase),
    ("use-case", Field::UseCase),
    ("need", Field::UseCase),
    ("project", Field::UseCase),
    ("opportunity", Field::UseCase),
    ("notes", Field::UseCase),
    ("description", Field::UseCase),
    ("consent", Field::Consent),
    ("consent given", Field::Consent),
    ("opt-in", Field::Consent),
    ("opt in", Field::Consent),
    ("optin", Field::Consent),
    ("permission", Field::Consent),
    ("segment", Field::Segment),
    ("region", Field::Region),
    ("product", Field::Product),
];

/// What a body's lines yielded: the fields, plus an address found in a
/// `Contact: Jane Doe <jane@acme.com>` line, which fills `contact_email` only
/// if no `Email:` line does.
#[derive(Debug, Default)]
pub(crate) struct Found {
    fields: Fields,
    contact_address: Option<String>,
}

impl Found {
    pub(crate) fn is_empty(&self) -> bool {
        self.fields == Fields::default() && self.contact_address.is_none()
    }

    pub(crate) fn finish(mut self) -> Fields {
        if self.fields.contact_email.is_none() {
            self.fields.contact_email = self.contact_address;
        }
        self.fields
    }

    /// Records a value unless the field already has one: the first occurrence
    /// wins, since later ones are usually a signature, a footer or a quote
    /// that slipped past the cut. Blank values do not count as occurrences.
    fn set(&mut self, field: Field, value: &str) {
        let value = clean_value(value);
        if value.is_empty() {
            return;
        }
        let f = &mut self.fields;
        match field {
            Field::Company => first(&mut f.company_name, value),
            Field::Website => first(&mut f.company_domain, value),
            Field::Contact => {
                let (name, address) = split_contact(&value);
                if let Some(name) = name {
                    first(&mut f.contact_name, name);
                }
                if let Some(address) = address {
                    first(&mut self.contact_address, address);
                }
            }
            Field::Email => first(&mut f.contact_email, bare_address(&value)),
            Field::UseCase => first(&mut f.use_case, value),
            Field::Consent => {
                if f.consent.is_none() {
                    f.consent = consent(&value);
                }
            }
            Field::Segment => first(&mut f.segment, value),
            Field::Region => first(&mut f.region, value),
            Field::Product => first(&mut f.product, value),
        }
    }
}

fn first(slot: &mut Option<String>, value: String) {
    if slot.is_none() && !value.is_empty() {
        *slot = Some(value);
    }
}

/// Reads the labelled fields of one section into `found`.
///
/// A label line with no value takes the next line as its value (forms that
/// put the answer below the question). `Use case` goes on over the following
/// lines until a blank line or another label, since descriptions wrap.
pub(crate) fn read_lines(lines: &[Cow<'_, str>], found: &mut Found) {
    let mut i = 0;
    while i < lines.len() {
        let Some((field, value)) = parse_label_line(&lines[i]) else {
            i += 1;
            continue;
        };
        i += 1;
        let mut value = value.trim().to_owned();
        let is_value_line = |line: &str| {
            !line.trim().is_empty() && parse_label_line(line).is_none() && !looks_like_label(line)
        };
        if field == Field::UseCase {
            while let Some(next) = lines.get(i).filter(|l| is_value_line(l)) {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(next.trim());
                i += 1;
            }
        } else if value.is_empty() {
            if let Some(next) = lines.get(i).filter(|l| is_value_line(l)) {
                value = next.trim().to_owned();
                i += 1;
            }
        }
        found.set(field, &value);
    }
}

/// Parses `Label: value` (or `Label - value`, `Label = value`, a tab between
/// table cells) for a known label, tolerating bullets, numbering, bold
/// markers and a parenthesised hint such as `Consent (yes/no):`.
pub(crate) fn parse_label_line(line: &str) -> Option<(Field, &str)> {
    let s = strip_bullet(line);
    let (field, len) = LABELS
        .iter()
        .filter_map(|&(label, field)| match_label(s, label).map(|len| (field, len)))
        .max_by_key(|&(_, len)| len)?;
    let rest = &s[len..];
    let (gap, rest) = split_gap(rest);
    let (gap, rest) = match rest.strip_prefix('(').and_then(|r| r.split_once(')')) {
        Some((hint, after)) if hint.len() <= 40 => {
            let (more, rest) = split_gap(after);
            (if more.contains('\t') { more } else { gap }, rest)
        }
        _ => (gap, rest),
    };
    let mut chars = rest.chars();
    let value = match chars.next() {
        Some(':' | '：' | '=') => chars.as_str(),
        Some('-' | '–' | '—') => {
            let after = chars.as_str();
            if after.is_empty() || after.starts_with(char::is_whitespace) {
                after
            } else {
                return None;
            }
        }
        Some(_) if gap.contains('\t') => rest,
        _ => return None,
    };
    Some((field, strip_emphasis(value)))
}

/// Whether a line looks like `Some label: value` for a label we do not know
/// (`Budget: 50k`), which ends a multi-line value all the same.
fn looks_like_label(line: &str) -> bool {
    let s = strip_bullet(line);
    let Some((label, after)) = s.split_once(':') else {
        return false;
    };
    if !(after.is_empty() || after.starts_with(char::is_whitespace)) {
        return false;
    }
    let label = label.trim_end_matches(['*', '_', ' ']);
    !label.is_empty()
        && label.len() <= 30
        && label.split_whitespace().count() <= 3
        && label.starts_with(char::is_alphabetic)
        && label
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '&' | '/' | '\'' | '(' | ')'))
}

/// Leading whitespace, one bullet (`-`, `*`, `•`, ...), a list number (`1.`,
/// `2)`) and bold/italic markers.
fn strip_bullet(line: &str) -> &str {
    let mut s = line.trim_start();
    if let Some(rest) = s.strip_prefix(['•', '·', '◦', '‣', '▪', '●', '–', '—']) {
        s = rest.trim_start();
    } else if let Some(rest) = s.strip_prefix(['-', '*', '+']) {
        // `*Company:*` is bold, not a bullet; `* Company:` and `-Company:` are bullets.
        if rest.starts_with(char::is_whitespace) || s.starts_with('-') {
            s = rest.trim_start();
        }
    } else {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if (1..=2).contains(&digits) {
            if let Some(rest) = s[digits..].strip_prefix(['.', ')']) {
                if rest.starts_with(char::is_whitespace) {
                    s = rest.trim_start();
                }
            }
        }
    }
    s.trim_start_matches(['*', '_'])
}

/// Case-insensitive match of `label` at the start of `s`, ending at a word
/// boundary; returns the length matched in `s`. Labels are ASCII, so
/// comparing char by char keeps byte offsets in `s` valid.
fn match_label(s: &str, label: &str) -> Option<usize> {
    let mut rest = s;
    for want in label.chars() {
        if want == ' ' {
            let gap = rest.len() - rest.trim_start_matches([' ', '\t', '_']).len();
            if gap == 0 {
                return None;
            }
            rest = &rest[gap..];
        } else {
            let mut chars = rest.chars();
            if chars.next()?.to_ascii_lowercase() != want {
                return None;
            }
            rest = chars.as_str();
        }
    }
    if rest.starts_with(char::is_alphanumeric) {
        return None;
    }
    Some(s.len() - rest.len())
}

/// Splits off spaces, tabs and bold markers; returns (them, the rest).
fn split_gap(s: &str) -> (&str, &str) {
    let end = s.len() - s.trim_start_matches([' ', '\t', '*', '_']).len();
    s.split_at(end)
}

fn strip_emphasis(value: &str) -> &str {
    let value = value.trim().trim_start_matches('*').trim();
    let value = value.trim_end_matches('*').trim_end();
    match value.strip_prefix('_').and_then(|v| v.strip_suffix('_')) {
        Some(inner) => inner.trim(),
        None => value,
    }
}

/// Collapses whitespace and drops link annotations: Outlook's plain text
/// writes `acme.com<http://acme.com/>` and `jane@acme.com<mailto:jane@acme.com>`,
/// Markdown writes `[acme.com](https://acme.com)`.
fn clean_value(value: &str) -> String {
    let value = strip_markdown_links(value);
    let value = strip_angle_links(&value);
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn strip_angle_links(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>').map(|c| open + c) else {
            break;
        };
        let inner = &rest[open + 1..close];
        let lower = inner.to_ascii_lowercase();
        let is_link = ["mailto:", "http://", "https://"]
            .iter()
            .any(|p| lower.starts_with(p));
        out.push_str(&rest[..open]);
        if !is_link {
            out.push_str(&rest[open..=close]);
        } else if out.trim().is_empty() {
            out.push_str(strip_mailto(inner));
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

fn strip_markdown_links(value: &str) -> Cow<'_, str> {
    if !value.contains("](") {
        return Cow::Borrowed(value);
    }
    // Each step consumes the text up to the `](` it found, so the work stays
    // linear however many brackets a hostile value holds.
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(mid) = rest.find("](") {
        let Some(open) = rest[..mid].rfind('[') else {
            out.push_str(&rest[..mid + 2]);
            rest = &rest[mid + 2..];
            continue;
        };
        let Some(close) = rest[mid..].find(')').map(|c| mid + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..mid]);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn strip_mailto(s: &str) -> &str {
    match s.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("mailto:") => &s[7..],
        _ => s,
    }
}

/// `Jane Doe <jane@acme.com>` gives the address; anything else is kept as
/// written for the server to validate.
fn bare_address(value: &str) -> String {
    match split_contact(value) {
        (_, Some(address)) => address,
        _ => strip_mailto(value).to_owned(),
    }
}

/// Splits `Jane Doe <jane@acme.com>`, `Jane Doe (jane@acme.com)` or
/// `Jane Doe, jane@acme.com` into name and address; a value without an
/// address is all name, and a bare address has no name.
fn split_contact(value: &str) -> (Option<String>, Option<String>) {
    for (open, close) in [('<', '>'), ('(', ')'), ('[', ']')] {
        if let Some(start) = value.rfind(open) {
            if let Some(len) = value[start..].find(close) {
                let inner = strip_mailto(value[start + 1..start + len].trim());
                if is_address(inner) {
                    let name = format!("{} {}", &value[..start], &value[start + len + 1..]);
                    return (clean_name(&name), Some(inner.to_owned()));
                }
            }
        }
    }
    let token = value
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '|'))
        .find(|t| is_address(strip_mailto(t)));
    match token {
        Some(token) => {
            let start = token.as_ptr() as usize - value.as_ptr() as usize;
            let name = format!("{} {}", &value[..start], &value[start + token.len()..]);
            (clean_name(&name), Some(strip_mailto(token).to_owned()))
        }
        None => (clean_name(value), None),
    }
}

fn is_address(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// The name left when the address is taken out, without the separators and
/// quotes that went with the address.
fn clean_name(name: &str) -> Option<String> {
    let is_separator = |t: &str| {
        t.chars()
            .all(|c| matches!(c, ',' | ';' | '|' | '-' | '–' | '—'))
    };
    let mut words: Vec<&str> = Vec::new();
    for word in name.split_whitespace() {
        if is_separator(word) && words.last().is_none_or(|w| is_separator(w)) {
            continue;
        }
        words.push(word);
    }
    while words.last().is_some_and(|w| is_separator(w)) {
        words.pop();
    }
    let name = words.join(" ");
    let name =
        name.trim_matches(|c: char| matches!(c, ',' | ';' | '|' | '"' | '\'') || c.is_whitespace());
    (!name.is_empty()).then(|| name.to_owned())
}

/// A consent answer, or failing that the answer before a comma, bracket or
/// dash (`Yes, by phone`), read by `consent_answer` either way: `Some(true)`
/// only for a plain yes.
fn consent(value: &str) -> Option<bool> {
    consent_answer(value).or_else(|| {
        let head = value
            .split([',', ';', '(', '.', '!', '–', '—'])
            .next()
            .unwrap_or(value);
        let head = head.split(" - ").next().unwrap_or(head);
        consent_answer(head)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_lines() {
        use Field::*;
        for (line, expected) in [
            ("Company: Acme Inc", Some((Company, "Acme Inc"))),
            ("company:Acme", Some((Company, "Acme"))),
            ("COMPANY NAME : Acme", Some((Company, "Acme"))),
            ("Company name: Acme", Some((Company, "Acme"))),
            ("Company_name = Acme", Some((Company, "Acme"))),
            ("Company - Acme - EMEA", Some((Company, "Acme - EMEA"))),
            ("Company domain: acme.com", Some((Website, "acme.com"))),
            ("  - Website: acme.com", Some((Website, "acme.com"))),
            ("* **Contact**: Jane", Some((Contact, "Jane"))),
            ("**Contact:** Jane", Some((Contact, "Jane"))),
            ("*Contact:* Jane", Some((Contact, "Jane"))),
            ("• Email: j@acme.com", Some((Email, "j@acme.com"))),
            ("•Email: j@acme.com", Some((Email, "j@acme.com"))),
            ("1. E-mail: j@acme.com", Some((Email, "j@acme.com"))),
            ("2) Use-case: CRM", Some((UseCase, "CRM"))),
            ("Consent (yes/no): yes", Some((Consent, "yes"))),
            ("Opt-in: yes", Some((Consent, "yes"))),
            ("Company:", Some((Company, ""))),
            ("Company:   **Acme**  ", Some((Company, "Acme"))),
            ("Company\tAcme", Some((Company, "Acme"))),
            ("Company \tAcme", Some((Company, "Acme"))),
            ("Web: acme.com", Some((Website, "acme.com"))),
            ("Website-acme.com", None),
            ("Company Acme", None),
            ("Companies: x", None),
            ("Websites: x", None),
            ("Need-based pricing is fine", None),
            ("Hi, Company: Acme", None),
            ("Budget: 50k", None),
            ("", None),
            ("-", None),
            ("İİİ: x", None),
        ] {
            assert_eq!(parse_label_line(line), expected, "{line:?}");
        }
    }

    #[test]
    fn contacts_split_into_name_and_address() {
        for (value, name, address) in [
            (
                "Jane Doe <jane@acme.com>",
                Some("Jane Doe"),
                Some("jane@acme.com"),
            ),
            (
                "\"Jane Doe\" <mailto:jane@acme.com>",
                Some("Jane Doe"),
                Some("jane@acme.com"),
            ),
            (
                "Jane Doe (jane@acme.com)",
                Some("Jane Doe"),
                Some("jane@acme.com"),
            ),
            (
                "Jane Doe, jane@acme.com",
                Some("Jane Doe"),
                Some("jane@acme.com"),
            ),
            (
                "Jane Doe - jane@acme.com - CTO",
                Some("Jane Doe - CTO"),
                Some("jane@acme.com"),
            ),
            ("jane@acme.com", None, Some("jane@acme.com")),
            ("Jane Doe", Some("Jane Doe"), None),
            ("Jane Doe (CTO)", Some("Jane Doe (CTO)"), None),
            ("@", Some("@"), None),
        ] {
            assert_eq!(
                split_contact(value),
                (name.map(String::from), address.map(String::from)),
                "{value:?}"
            );
        }
    }

    #[test]
    fn values_lose_link_annotations() {
        for (value, expected) in [
            ("acme.com<http://acme.com/>", "acme.com"),
            ("jane@acme.com <mailto:jane@acme.com>", "jane@acme.com"),
            ("<https://acme.com>", "https://acme.com"),
            ("<mailto:jane@acme.com>", "jane@acme.com"),
            ("[acme.com](https://acme.com)", "acme.com"),
            ("see [the site](https://acme.com) now", "see the site now"),
            ("Jane <jane@acme.com>", "Jane <jane@acme.com>"),
            ("a  \t b", "a b"),
            ("[unclosed", "[unclosed"),
            ("<", "<"),
            ("](", "]("),
            ("[a [b](u) c", "[a b c"),
            ("x](y) [z](w)", "x](y) z"),
        ] {
            assert_eq!(clean_value(value), expected, "{value:?}");
        }
    }

    #[test]
    fn consent_reads_only_a_plain_answer() {
        for (value, expected) in [
            ("yes", Some(true)),
            ("Yes, by phone on 3 March", Some(true)),
            ("Yes - confirmed", Some(true)),
            ("yes (verbal)", Some(true)),
            ("No.", Some(false)),
            ("Yes the contact agreed", None),
            ("pending", None),
        ] {
            assert_eq!(consent(value), expected, "{value:?}");
        }
    }
}
