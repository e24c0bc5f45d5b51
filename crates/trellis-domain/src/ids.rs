//! Typed identifiers, so a partner id can never be passed where a
//! registration id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id!(
    /// A partner company in the program.
    PartnerId
);
typed_id!(
    /// A person working for a partner.
    PartnerUserId
);
typed_id!(
    /// A prospect or customer company, shared by every registration on it.
    AccountId
);
typed_id!(
    /// A person at an account.
    ContactId
);
typed_id!(
    /// A lead or deal registration.
    RegistrationId
);
typed_id!(
    /// A channel conflict between registrations of different partners.
    ConflictId
);
typed_id!(
    /// An entry of the append-only event log.
    EventId
);

/// The human-facing number of a registration, `REG-000123`.
///
/// It is derived from the registration id so that it is unique without a
/// second sequence, and stable across backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CaseNumber(pub RegistrationId);

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "REG-{:06}", self.0 .0)
    }
}

impl CaseNumber {
    /// Parses `REG-000123` (case-insensitive, leading zeros optional).
    pub fn parse(text: &str) -> Option<CaseNumber> {
        let text = text.trim();
        let digits = text
            .get(..4)
            .filter(|prefix| prefix.eq_ignore_ascii_case("REG-"))
            .map(|_| &text[4..])?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(|n| CaseNumber(RegistrationId(n)))
    }
}

impl Serialize for CaseNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_numbers_format_and_parse() {
        assert_eq!(CaseNumber(RegistrationId(123)).to_string(), "REG-000123");
        assert_eq!(
            CaseNumber(RegistrationId(1234567)).to_string(),
            "REG-1234567"
        );
        assert_eq!(
            CaseNumber::parse(" reg-000123 "),
            Some(CaseNumber(RegistrationId(123)))
        );
        assert_eq!(CaseNumber::parse("REG-"), None);
        assert_eq!(CaseNumber::parse("REG-12a"), None);
        assert_eq!(CaseNumber::parse("ABC-000123"), None);
    }
}
