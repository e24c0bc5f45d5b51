//! Validated email addresses.
//!
//! Deliberately practical rather than full RFC 5322: quoted local parts,
//! comments and IP-literal domains are rejected because partners type contact
//! addresses of real people, and those forms only appear in spam and tests.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::host::check_host;
use super::ValueError;

/// Longest address SMTP can deliver to (RFC 5321), in characters.
const MAX_ADDRESS_CHARS: usize = 254;

/// Longest part before the `@` (RFC 5321), in characters.
const MAX_LOCAL_CHARS: usize = 64;

/// Symbols allowed in an unquoted local part (RFC 5322 `atext`, plus the dot).
const LOCAL_SYMBOLS: &str = "!#$%&'*+-/=?^_`{|}~.";

/// An email address that can be used to reach a person and to derive a
/// company domain.
///
/// The domain part is lowercased because domains are case-insensitive; the
/// part before the `@` is kept exactly as typed (only surrounding whitespace
/// is trimmed) because some mail servers do treat it case-sensitively. Two
/// addresses differing only in local-part case therefore compare unequal.
///
/// Serializes as a plain string; deserializing validates with
/// [`Email::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Validates and normalizes a typed address.
    ///
    /// Accepts `+` tags, dots, Unicode letters in either part and
    /// internationalized domains; rejects anything without exactly one `@`,
    /// with spaces or control characters, or with a domain that is not a
    /// public host name.
    ///
    /// # Errors
    ///
    /// [`ValueError::InvalidEmail`], with the reason the address is unusable.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        normalize(input.trim())
            .map(Email)
            .map_err(|reason| ValueError::invalid_email(input, reason))
    }

    /// The lowercased part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit('@').next().unwrap_or_default()
    }

    /// The address as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = ValueError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

/// The stored form of a trimmed address, or why it is not one.
fn normalize(address: &str) -> Result<String, String> {
    check_characters(address)?;
    let (local, domain) = split_at_sign(address)?;
    check_local_part(local)?;
    let domain = domain.to_lowercase();
    check_host(&domain)?;
    Ok(format!("{local}@{domain}"))
}

/// Whole-address checks that need no parsing: not empty, not too long, no
/// whitespace or control characters anywhere.
fn check_characters(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("it is empty; enter an address such as name@acme.com".into());
    }
    if address.chars().count() > MAX_ADDRESS_CHARS {
        return Err(format!("it is longer than {MAX_ADDRESS_CHARS} characters"));
    }
    match address
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        Some(c) => Err(format!(
            "it contains {c:?}; remove spaces and invisible characters"
        )),
        None => Ok(()),
    }
}

/// Splits at the single `@`, rejecting a missing `@`, several of them, or an
/// empty side.
fn split_at_sign(address: &str) -> Result<(&str, &str), String> {
    let mut parts = address.split('@');
    let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => (local, domain),
        (_, _, Some(_)) => return Err("it has more than one @".into()),
        _ => return Err("it has no @; enter an address such as name@acme.com".into()),
    };
    if local.is_empty() {
        return Err("there is nothing before the @".into());
    }
    if domain.is_empty() {
        return Err("there is nothing after the @".into());
    }
    Ok((local, domain))
}

/// Checks the part before the `@` as an unquoted dot-atom (RFC 5322), with
/// Unicode letters allowed (RFC 6531).
fn check_local_part(local: &str) -> Result<(), String> {
    if local.chars().count() > MAX_LOCAL_CHARS {
        return Err(format!(
            "the part before the @ is longer than {MAX_LOCAL_CHARS} characters"
        ));
    }
    if let Some(c) = local
        .chars()
        .find(|c| !c.is_alphanumeric() && !LOCAL_SYMBOLS.contains(*c))
    {
        return Err(format!(
            "the part before the @ contains {c:?}, which is not allowed"
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(
            "the part before the @ cannot start or end with a dot or have two dots in a row".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::host::test_host;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_normalizes_practical_addresses() {
        let cases = [
            ("bob@acme.com", "bob@acme.com", "acme.com"),
            ("  Bob.Smith@ACME.Com  ", "Bob.Smith@acme.com", "acme.com"),
            ("bob+crm@acme.co.uk", "bob+crm@acme.co.uk", "acme.co.uk"),
            (
                "sales@eu.acme.co.uk",
                "sales@eu.acme.co.uk",
                "eu.acme.co.uk",
            ),
            ("o'brien@acme.ie", "o'brien@acme.ie", "acme.ie"),
            ("jürgen@Müller.DE", "jürgen@müller.de", "müller.de"),
            ("info@例子.公司.cn", "info@例子.公司.cn", "例子.公司.cn"),
            ("a_b-c=d@x-y.io", "a_b-c=d@x-y.io", "x-y.io"),
        ];
        for (input, stored, domain) in cases {
            let email = Email::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(email.as_str(), stored, "{input}");
            assert_eq!(email.to_string(), stored, "{input}");
            assert_eq!(email.domain(), domain, "{input}");
        }
    }

    #[test]
    fn rejects_unusable_addresses_with_a_reason() {
        let long_local = format!("{}@acme.com", "a".repeat(65));
        let long_address = format!("a@{}", test_host(5, 60));
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("bob.acme.com", "no @"),
            ("bob@acme@com", "more than one @"),
            ("@acme.com", "nothing before"),
            ("bob@", "nothing after"),
            ("bob smith@acme.com", "contains ' '"),
            ("bob@acme.com\u{0}", "contains '\\0'"),
            ("bob@acme", "no dot"),
            ("bob@localhost", "localhost"),
            ("bob@10.0.0.1", "IP address"),
            ("bob@[10.0.0.1]", "contains '['"),
            ("\"bob\"@acme.com", "contains '\"'"),
            ("bob,jim@acme.com", "contains ','"),
            (".bob@acme.com", "dot"),
            ("bob.@acme.com", "dot"),
            ("bob..smith@acme.com", "dot"),
            ("bob@acme..com", "empty part"),
            ("bob@-acme.com", "hyphen"),
            (long_local.as_str(), "longer than 64"),
            (long_address.as_str(), "longer than 254"),
        ];
        for (input, reason) in cases {
            match Email::parse(input) {
                Err(ValueError::InvalidEmail { reason: got, .. }) => {
                    assert!(got.contains(reason), "{input:?}: {got}");
                }
                other => panic!("{input:?}: expected InvalidEmail, got {other:?}"),
            }
        }
    }

    #[test]
    fn local_part_at_the_limit_is_accepted() {
        let input = format!("{}@acme.com", "a".repeat(64));
        assert!(Email::parse(&input).is_ok());
    }

    #[test]
    fn serializes_as_a_string_and_validates_on_deserialize() {
        let email = Email::parse("Bob@ACME.com").expect("valid");
        let json = serde_json::to_string(&email).expect("serializes");
        assert_eq!(json, "\"Bob@acme.com\"");
        assert_eq!(serde_json::from_str::<Email>(&json).ok(), Some(email));
        assert!(serde_json::from_str::<Email>("\"not an email\"").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_output_reparses_to_itself(
            input in prop_oneof![
                any::<String>(),
                "[a-zA-Z0-9.+_@ -]{0,20}@[a-zA-Z0-9.-]{0,20}",
            ]
        ) {
            if let Ok(email) = Email::parse(&input) {
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
            }
        }
    }
}
