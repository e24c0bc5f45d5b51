//! Registrable web domains: the unit a company owns on the web.
//!
//! Deduplication compares `acme.co.uk`, never `www.acme.co.uk` or
//! `eu.acme.co.uk`: every subdomain belongs to whoever registered the domain
//! under its public suffix, and the Public Suffix List is what says where that
//! suffix ends (`co.uk` is a suffix, `acme.co.uk` the registrable domain).

use std::fmt;
use std::net::Ipv6Addr;

use serde::{Deserialize, Serialize};

use super::host::{check_host, IP_ADDRESS};
use super::{Email, ValueError};

/// A registrable domain (eTLD+1) such as `acme.co.uk`, lowercased.
///
/// Internationalized domains are kept in lowercased Unicode form; no punycode
/// conversion is done. A caller that receives the `xn--` form of the same
/// domain gets a different value, so store what partners type (Unicode) and do
/// not mix in punycode from other sources.
///
/// The private section of the Public Suffix List is honoured, so
/// `acme.github.io` is its own registrable domain, distinct from
/// `other.github.io`; and a top-level domain the list does not know is
/// rejected, because it is far more often a typo (`acme.con`) than a brand-new
/// TLD.
///
/// Serializes as a plain string; deserializing validates with
/// [`WebDomain::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebDomain(String);

impl WebDomain {
    /// Finds the registrable domain in whatever a partner pasted into a
    /// website field: a bare host, a host with a port, or a full URL with
    /// scheme, user info, path, query and fragment; any case, with or without
    /// a trailing dot.
    ///
    /// `https://www.Acme.co.uk/x?y#z` gives `acme.co.uk`.
    ///
    /// # Errors
    ///
    /// [`ValueError::InvalidDomain`] for an empty input, an IP address,
    /// `localhost`, a malformed or single-label host, a bare public suffix
    /// such as `co.uk`, or a top-level domain the Public Suffix List does not
    /// know.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        host_of(input.trim())
            .and_then(|host| registrable(&host))
            .map_err(|reason| ValueError::invalid_domain(input, reason))
    }

    /// The registrable domain of an address's mail domain:
    /// `sales@eu.acme.co.uk` gives `acme.co.uk`.
    ///
    /// This says nothing about whether the domain belongs to a company: for
    /// `bob@gmail.com` it returns `gmail.com`. Deduplication must use
    /// [`company_domain_from_email`](super::company_domain_from_email), which
    /// drops free-mail providers.
    ///
    /// # Errors
    ///
    /// [`ValueError::InvalidDomain`] (quoting the mail domain) when the mail
    /// domain is a bare public suffix or has an unknown top-level domain.
    pub fn from_email(email: &Email) -> Result<Self, ValueError> {
        registrable(email.domain())
            .map_err(|reason| ValueError::invalid_domain(email.domain(), reason))
    }

    /// The domain as stored, such as `acme.co.uk`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for WebDomain {
    type Error = ValueError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<WebDomain> for String {
    fn from(domain: WebDomain) -> Self {
        domain.0
    }
}

/// The lowercased host named by a URL or bare host, with scheme, user info,
/// port, path, query, fragment and one trailing dot removed.
fn host_of(input: &str) -> Result<String, String> {
    if input.is_empty() {
        return Err("it is empty; enter the company's website, such as acme.com".into());
    }
    let authority = authority_of(strip_scheme(input));
    let host_and_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = strip_port(host_and_port)?;
    Ok(host.strip_suffix('.').unwrap_or(host).to_lowercase())
}

/// Drops `scheme://` (any valid scheme, any case) or a scheme-relative `//`.
fn strip_scheme(input: &str) -> &str {
    match input.split_once("://") {
        Some((scheme, rest)) if is_scheme(scheme) => rest,
        _ => input.strip_prefix("//").unwrap_or(input),
    }
}

/// RFC 3986 scheme syntax: a letter, then letters, digits, `+`, `-` or `.`.
/// Checking it keeps a `://` inside a query string from being taken for one.
fn is_scheme(candidate: &str) -> bool {
    candidate.starts_with(|c: char| c.is_ascii_alphabetic())
        && candidate
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Everything before the path, query or fragment. Backslash counts as a path
/// separator, as browsers treat it in web URLs.
fn authority_of(rest: &str) -> &str {
    rest.split(['/', '?', '#', '\\']).next().unwrap_or(rest)
}

/// Removes a `:port` suffix, rejecting IPv6 literals (bracketed or bare)
/// before their colons can be mistaken for a port.
fn strip_port(host_and_port: &str) -> Result<&str, String> {
    if host_and_port.starts_with('[') || host_and_port.parse::<Ipv6Addr>().is_ok() {
        return Err(IP_ADDRESS.into());
    }
    match host_and_port.rsplit_once(':') {
        None => Ok(host_and_port),
        Some((host, port)) if port.is_empty() || port.parse::<u16>().is_ok() => Ok(host),
        Some((_, port)) => Err(format!("the port {port:?} is not a number from 0 to 65535")),
    }
}

/// The registrable domain of a lowercased host, or why it has none.
fn registrable(host: &str) -> Result<WebDomain, String> {
    check_host(host)?;
    let domain = psl::domain(host.as_bytes()).ok_or_else(|| {
        format!(
            "{host:?} is a public suffix shared by many unrelated owners; \
             enter the company's own domain, such as acme.{host}"
        )
    })?;
    if !domain.suffix().is_known() {
        return Err(format!(
            "{:?} is not a known top-level domain; check the spelling",
            lossless_str(domain.suffix().as_bytes())
        ));
    }
    Ok(WebDomain(lossless_str(domain.as_bytes())))
}

/// Bytes that `psl` sliced out of a `&str` at `.` boundaries back as text.
/// An ASCII dot is never inside a multi-byte character, so no replacement
/// character can appear.
fn lossless_str(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::super::host::test_host;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_the_registrable_domain_in_urls_and_hosts() {
        let cases = [
            ("acme.com", "acme.com"),
            ("ACME.COM", "acme.com"),
            ("www.acme.com", "acme.com"),
            ("acme.com.", "acme.com"),
            ("  acme.com  ", "acme.com"),
            ("acme.com:8080", "acme.com"),
            ("acme.com:", "acme.com"),
            ("https://www.Acme.co.uk/x?y#z", "acme.co.uk"),
            ("HTTP://shop.eu.acme.co.uk", "acme.co.uk"),
            ("https://user:pw@www.acme.de:443/path", "acme.de"),
            ("//cdn.acme.io/lib.js", "acme.io"),
            ("acme.com/path?next=https://evil.com", "acme.com"),
            ("acme.com#https://evil.com", "acme.com"),
            ("acme.com\\path", "acme.com"),
            ("sales@acme.com", "acme.com"),
            ("mailto:sales@acme.com", "acme.com"),
            ("acme.github.io", "acme.github.io"),
            ("Müller.DE", "müller.de"),
            ("www.例子.公司.cn", "例子.公司.cn"),
            ("a.b.kawasaki.jp", "a.b.kawasaki.jp"),
            ("www.ck", "www.ck"),
        ];
        for (input, domain) in cases {
            let parsed = WebDomain::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(parsed.as_str(), domain, "{input}");
            assert_eq!(parsed.to_string(), domain, "{input}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_company_domain() {
        let long_host = test_host(4, 62);
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("https://", "empty"),
            ("192.168.1.1", "IP address"),
            ("http://192.168.1.1:80/", "IP address"),
            ("[::1]:8080", "IP address"),
            ("2001:db8::1", "IP address"),
            ("localhost", "localhost"),
            ("http://localhost:3000", "localhost"),
            ("co.uk", "public suffix"),
            ("github.io", "public suffix"),
            ("acme", "no dot"),
            ("acme.con", "not a known top-level domain"),
            ("acme.com:http", "port"),
            ("acme.com:70000", "port"),
            ("ac me.com", "contains ' '"),
            ("acme_corp.com", "contains '_'"),
            ("acme..com", "empty part"),
            (&test_host(1, 64), "longer than 63"),
            (&long_host, "longer than 253"),
        ];
        for (input, reason) in cases {
            match WebDomain::parse(input) {
                Err(ValueError::InvalidDomain { reason: got, .. }) => {
                    assert!(got.contains(reason), "{input:?}: {got}");
                }
                other => panic!("{input:?}: expected InvalidDomain, got {other:?}"),
            }
        }
    }

    #[test]
    fn from_email_uses_the_registrable_part_of_the_mail_domain() {
        let cases = [
            ("sales@eu.acme.co.uk", Ok("acme.co.uk")),
            ("bob@ACME.com", Ok("acme.com")),
            ("bob@gmail.com", Ok("gmail.com")),
            ("bob@co.uk", Err("public suffix")),
            ("bob@acme.con", Err("not a known top-level domain")),
        ];
        for (address, expected) in cases {
            let email = Email::parse(address).expect(address);
            let got = WebDomain::from_email(&email);
            match (got, expected) {
                (Ok(domain), Ok(want)) => assert_eq!(domain.as_str(), want, "{address}"),
                (Err(ValueError::InvalidDomain { reason, .. }), Err(want)) => {
                    assert!(reason.contains(want), "{address}: {reason}");
                }
                (got, want) => panic!("{address}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn serializes_as_a_string_and_validates_on_deserialize() {
        let domain = WebDomain::parse("https://www.acme.com").expect("valid");
        let json = serde_json::to_string(&domain).expect("serializes");
        assert_eq!(json, "\"acme.com\"");
        assert_eq!(serde_json::from_str::<WebDomain>(&json).ok(), Some(domain));
        assert!(serde_json::from_str::<WebDomain>("\"co.uk\"").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_output_reparses_to_itself(
            input in prop_oneof![
                any::<String>(),
                "[a-zA-Z0-9.:/@\\[\\]-]{0,30}",
                "(https?://)?([a-zA-Z0-9-]{1,8}\\.){1,4}(com|co\\.uk|de|jp|ck|github\\.io|zz)\\.?(:[0-9]{1,6})?(/[a-z]{0,5})?",
            ]
        ) {
            if let Ok(domain) = WebDomain::parse(&input) {
                prop_assert_eq!(WebDomain::parse(domain.as_str()), Ok(domain.clone()));
            }
        }
    }
}
