//! Host-name syntax shared by [`Email`](super::Email) domains and
//! [`WebDomain`](super::WebDomain)s.
//!
//! One checker for both keeps the rules consistent: a domain accepted after
//! the `@` of an address is also accepted as a website, and the other way
//! round.
//!
//! Internationalized names are checked in their Unicode form (any Unicode
//! letter or digit is allowed in a label) because no punycode conversion is
//! done; the 63 and 253 limits are therefore counted in characters, not in the
//! octets of the `xn--` form.

use std::net::Ipv4Addr;

/// Longest host name DNS can carry, in characters.
const MAX_HOST_CHARS: usize = 253;

/// Longest single DNS label, in characters.
const MAX_LABEL_CHARS: usize = 63;

/// Reason given for any IP address, v4 or v6, so both read the same.
pub(crate) const IP_ADDRESS: &str =
    "it is an IP address; enter the company's domain name instead, such as acme.com";

/// Checks that `host` is a public DNS name: not an IP address, not
/// `localhost`, at least two labels, every label well formed and a
/// non-numeric top-level domain.
///
/// `host` must already be lowercased and have no trailing dot; the error is a
/// reason to put in a [`ValueError`](super::ValueError).
pub(crate) fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the domain is empty".into());
    }
    if host.chars().count() > MAX_HOST_CHARS {
        return Err(format!(
            "the domain is longer than {MAX_HOST_CHARS} characters"
        ));
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return Err(IP_ADDRESS.into());
    }
    if host == "localhost" || host.ends_with(".localhost") {
        return Err("localhost is not a public domain; enter the company's own domain".into());
    }
    if !host.contains('.') {
        return Err("the domain has no dot; enter a full domain such as acme.com".into());
    }
    host.split('.').try_for_each(check_label)?;
    check_top_level(host)
}

/// Checks one dot-separated label: 1 to 63 letters, digits or hyphens, not
/// starting or ending with a hyphen (RFC 1123, extended to Unicode letters).
fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("the domain has an empty part (a leading dot or two dots in a row)".into());
    }
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(format!(
            "the part {label:?} of the domain is longer than {MAX_LABEL_CHARS} characters"
        ));
    }
    if let Some(c) = label.chars().find(|c| !c.is_alphanumeric() && *c != '-') {
        return Err(format!(
            "the domain contains {c:?}; only letters, digits, hyphens and dots are allowed"
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!(
            "the part {label:?} of the domain starts or ends with a hyphen"
        ));
    }
    Ok(())
}

/// Rejects an all-digit last label: no top-level domain is numeric, and such
/// hosts are partial or mistyped IP addresses (`10.1.2`).
fn check_top_level(host: &str) -> Result<(), String> {
    let numeric = host
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()));
    if numeric {
        return Err("the domain ends in a number, so it looks like an IP address; enter a domain name such as acme.com".into());
    }
    Ok(())
}

/// A `.com` host of `labels` labels of `label_chars` letters each, for
/// length-limit tests.
#[cfg(test)]
pub(crate) fn test_host(labels: usize, label_chars: usize) -> String {
    format!("{}.com", vec!["a".repeat(label_chars); labels].join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_public_host_names() {
        let hosts = [
            "acme.com",
            "eu.acme.co.uk",
            "my-company.io",
            "163.com",
            "münchen.de",
            "例子.公司.cn",
            &test_host(1, 63),
            &test_host(4, 60),
        ];
        for host in hosts {
            assert_eq!(check_host(host), Ok(()), "{host}");
        }
    }

    #[test]
    fn rejects_malformed_hosts_with_a_reason() {
        let cases = [
            ("", "empty"),
            ("10.0.0.1", "IP address"),
            ("10.0.1", "ends in a number"),
            ("localhost", "localhost"),
            ("api.localhost", "localhost"),
            ("acme", "no dot"),
            (".acme.com", "empty part"),
            ("acme..com", "empty part"),
            ("acme.com.", "empty part"),
            ("ac me.com", "contains ' '"),
            ("acme_corp.com", "contains '_'"),
            ("-acme.com", "hyphen"),
            ("acme-.com", "hyphen"),
            (&test_host(1, 64), "longer than 63"),
            (&test_host(4, 62), "longer than 253"),
        ];
        for (host, reason) in cases {
            let error = check_host(host).expect_err(host);
            assert!(error.contains(reason), "{host}: {error}");
        }
    }
}
