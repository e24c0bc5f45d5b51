//! Small validated values used by registrations: money, free text and dates.

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An ISO 4217 currency code with the number of minor digits it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

/// Currencies whose minor unit is not the usual cent (ISO 4217 table A.1).
const ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
const THREE_DECIMAL: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

impl Currency {
    pub fn parse(code: &str) -> Result<Currency, DomainError> {
        let upper = code.trim().to_ascii_uppercase();
        match <[u8; 3]>::try_from(upper.as_bytes()) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_uppercase) => Ok(Currency(bytes)),
            _ => Err(DomainError::field(
                "currency",
                format!("'{code}' is not a three-letter ISO 4217 code such as USD or EUR"),
            )),
        }
    }

    pub fn code(&self) -> &str {
        // The bytes are checked ASCII uppercase letters at construction.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point: 2 for most currencies.
    pub fn minor_digits(&self) -> u32 {
        if ZERO_DECIMAL.contains(&self.code()) {
            0
        } else if THREE_DECIMAL.contains(&self.code()) {
            3
        } else {
            2
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of money in integer minor units (cents), never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    /// Parses a decimal string like `12500`, `12500.5` or `12500.50` exactly.
    pub fn parse(amount: &str, currency: Currency) -> Result<Money, DomainError> {
        let bad = || {
            DomainError::field(
                "amount",
                format!(
                    "'{amount}' is not an amount in {currency}: write digits with at most {} decimals, like 12500.00",
                    currency.minor_digits()
                ),
            )
        };
        let text = amount.trim();
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = currency.minor_digits() as usize;
        let valid = !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
            && frac.len() <= digits
            && !(text.contains('.') && frac.is_empty());
        if !valid {
            return Err(bad());
        }
        let padded = format!("{whole}{frac:0<digits$}");
        let minor = padded.parse::<i64>().map_err(|_| bad())?;
        Ok(Money { minor, currency })
    }

    /// The amount as a decimal string, `12500.50`.
    pub fn decimal(&self) -> String {
        let digits = self.currency.minor_digits();
        if digits == 0 {
            return self.minor.to_string();
        }
        let scale = 10_i64.pow(digits);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let scale = scale.unsigned_abs();
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = digits as usize
        )
    }
}

/// Free text a person typed (a reason, a question, a use case): trimmed,
/// non-empty, and bounded so one request cannot fill the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub const MAX_CHARS: usize = 5_000;

    pub fn parse(field: &'static str, input: &str) -> Result<Text, DomainError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(DomainError::field(field, "must not be empty"));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::field(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Text(trimmed.to_owned()))
    }

    /// Parses an optional field: absent or blank is `None`.
    pub fn optional(field: &'static str, input: Option<&str>) -> Result<Option<Text>, DomainError> {
        match input.map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => Text::parse(field, text).map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Formats a UTC timestamp as RFC 3339, the only format on the wire.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// Formats the calendar date of a timestamp, `2026-11-25`, for messages.
pub fn day(at: OffsetDateTime) -> String {
    let date = at.date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("usd").expect("valid code")
    }

    #[test]
    fn money_parses_exact_decimals() {
        let jpy = Currency::parse("JPY").expect("valid code");
        let kwd = Currency::parse("KWD").expect("valid code");
        let cases = [
            ("12500", usd(), Some(1_250_000)),
            ("12500.5", usd(), Some(1_250_050)),
            ("0.01", usd(), Some(1)),
            ("12500.505", usd(), None),
            ("12500.", usd(), None),
            ("-5", usd(), None),
            ("1e5", usd(), None),
            ("", usd(), None),
            ("1500", jpy, Some(1500)),
            ("1500.5", jpy, None),
            ("1.234", kwd, Some(1234)),
        ];
        for (input, currency, expected) in cases {
            let parsed = Money::parse(input, currency).ok().map(|m| m.minor);
            assert_eq!(parsed, expected, "{input} {currency}");
        }
    }

    #[test]
    fn money_prints_decimals() {
        let m = Money {
            minor: 1_250_005,
            currency: usd(),
        };
        assert_eq!(m.decimal(), "12500.05");
        let jpy = Currency::parse("JPY").expect("valid code");
        assert_eq!(
            Money {
                minor: 7,
                currency: jpy
            }
            .decimal(),
            "7"
        );
    }

    #[test]
    fn currency_rejects_non_codes() {
        for bad in ["", "US", "USDX", "U$D", "123"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(
            Text::parse("reason", "  ok ").map(|t| t.into_string()),
            Ok("ok".into())
        );
        assert!(Text::parse("reason", "   ").is_err());
        assert!(Text::parse("reason", &"x".repeat(5001)).is_err());
        assert_eq!(Text::optional("reason", Some("  ")), Ok(None));
    }
}
