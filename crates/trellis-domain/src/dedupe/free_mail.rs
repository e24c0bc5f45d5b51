//! Free-mail providers, whose domains say nothing about a person's employer.
//!
//! Two prospects registered with `@gmail.com` contacts are not the same
//! company, so a free-mail domain must never be used as a company domain:
//! doing so would merge unrelated registrations and trigger false channel
//! conflicts.

use super::{Email, WebDomain};

/// Registrable domains of consumer mailbox providers, sorted (byte order) for
/// binary search.
const FREE_MAIL_DOMAINS: &[&str] = &[
    "126.com",
    "139.com",
    "163.com",
    "aim.com",
    "aliyun.com",
    "att.net",
    "bellsouth.net",
    "bigpond.com",
    "bk.ru",
    "bluewin.ch",
    "btinternet.com",
    "charter.net",
    "comcast.net",
    "cox.net",
    "daum.net",
    "earthlink.net",
    "email.com",
    "fastmail.com",
    "fastmail.fm",
    "foxmail.com",
    "free.fr",
    "freenet.de",
    "googlemail.com",
    "hanmail.net",
    "hey.com",
    "hushmail.com",
    "icloud.com",
    "inbox.com",
    "inbox.ru",
    "interia.pl",
    "juno.com",
    "laposte.net",
    "libero.it",
    "list.ru",
    "live.ca",
    "live.co.uk",
    "live.com",
    "live.com.au",
    "live.de",
    "live.fr",
    "live.it",
    "live.nl",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "naver.com",
    "netzero.net",
    "o2.pl",
    "onet.pl",
    "optonline.net",
    "orange.fr",
    "pm.me",
    "proton.me",
    "protonmail.ch",
    "protonmail.com",
    "qq.com",
    "rambler.ru",
    "rediffmail.com",
    "rocketmail.com",
    "rogers.com",
    "sbcglobal.net",
    "seznam.cz",
    "sfr.fr",
    "shaw.ca",
    "sina.com",
    "sky.com",
    "t-online.de",
    "telenet.be",
    "tuta.io",
    "tutanota.com",
    "tutanota.de",
    "ukr.net",
    "verizon.net",
    "virgilio.it",
    "wanadoo.fr",
    "web.de",
    "wp.pl",
    "yeah.net",
    "ymail.com",
    "zoho.com",
    "zohomail.com",
];

/// Providers registered under many country suffixes (`yahoo.co.jp`,
/// `hotmail.fr`, `gmx.at`, ...), matched on the first label of the
/// registrable domain so that a country variant missing from the list is
/// still caught. Sorted for binary search.
///
/// This errs towards "free mail" on purpose: a false positive only makes
/// dedupe fall back to the company name, while a false negative would merge
/// unrelated prospects.
const FREE_MAIL_BRANDS: &[&str] = &[
    "aol", "gmail", "gmx", "hotmail", "outlook", "yahoo", "yandex",
];

/// Whether `domain` belongs to a consumer mailbox provider rather than to the
/// company a person works for.
pub fn is_free_mail(domain: &WebDomain) -> bool {
    let name = domain.as_str();
    let brand = name.split_once('.').map_or(name, |(first, _)| first);
    FREE_MAIL_DOMAINS.binary_search(&name).is_ok() || FREE_MAIL_BRANDS.binary_search(&brand).is_ok()
}

/// The company domain implied by a contact's address, if there is one:
/// `None` for free-mail providers and for mail domains with no registrable
/// part (such as a bare public suffix).
///
/// This is the function deduplication should use on email addresses;
/// [`WebDomain::from_email`] alone would turn every Gmail contact into the
/// same "company".
pub fn company_domain_from_email(email: &Email) -> Option<WebDomain> {
    WebDomain::from_email(email)
        .ok()
        .filter(|domain| !is_free_mail(domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(input: &str) -> WebDomain {
        WebDomain::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    #[test]
    fn lists_are_sorted_and_unique_for_binary_search() {
        for list in [FREE_MAIL_DOMAINS, FREE_MAIL_BRANDS] {
            for pair in list.windows(2) {
                assert!(pair[0] < pair[1], "{pair:?} out of order");
            }
        }
    }

    #[test]
    fn every_listed_domain_is_a_registrable_domain_not_covered_by_a_brand() {
        for &listed in FREE_MAIL_DOMAINS {
            assert_eq!(domain(listed).as_str(), listed);
            let brand = listed.split('.').next().unwrap_or_default();
            assert!(FREE_MAIL_BRANDS.binary_search(&brand).is_err(), "{listed}");
        }
    }

    #[test]
    fn recognises_free_mail_domains() {
        let cases = [
            ("gmail.com", true),
            ("googlemail.com", true),
            ("outlook.com", true),
            ("hotmail.co.uk", true),
            ("hotmail.fr", true),
            ("live.com", true),
            ("msn.com", true),
            ("yahoo.com", true),
            ("yahoo.co.jp", true),
            ("ymail.com", true),
            ("aol.com", true),
            ("icloud.com", true),
            ("me.com", true),
            ("mac.com", true),
            ("proton.me", true),
            ("protonmail.com", true),
            ("gmx.de", true),
            ("gmx.net", true),
            ("web.de", true),
            ("mail.ru", true),
            ("yandex.ru", true),
            ("yandex.com.tr", true),
            ("qq.com", true),
            ("163.com", true),
            ("126.com", true),
            ("zoho.com", true),
            ("fastmail.com", true),
            ("hey.com", true),
            ("tutanota.com", true),
            ("orange.fr", true),
            ("free.fr", true),
            ("laposte.net", true),
            ("libero.it", true),
            ("t-online.de", true),
            ("btinternet.com", true),
            ("comcast.net", true),
            ("mail.google.com", false),
            ("acme.com", false),
            ("acme.co.uk", false),
            ("gmail-partners.com", false),
            ("mygmail.com", false),
            ("orange.com", false),
            ("live.io", false),
        ];
        for (input, free) in cases {
            assert_eq!(is_free_mail(&domain(input)), free, "{input}");
        }
    }

    #[test]
    fn free_mail_addresses_never_produce_a_company_domain() {
        let cases = [
            ("sales@eu.acme.co.uk", Some("acme.co.uk")),
            ("Bob@ACME.com", Some("acme.com")),
            ("bob@gmail.com", None),
            ("bob@mail.yahoo.co.jp", None),
            ("bob@hotmail.de", None),
            ("bob@co.uk", None),
        ];
        for (address, expected) in cases {
            let email = Email::parse(address).expect(address);
            let got = company_domain_from_email(&email);
            assert_eq!(got.as_ref().map(WebDomain::as_str), expected, "{address}");
        }
    }
}
