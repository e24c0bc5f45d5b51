//! Exact decimal quantities for criteria: revenue, scores, shares and counts.
//!
//! Thresholds are compared with measurements, and a partner who reached
//! exactly 0.7 must not miss a 0.7 threshold because of binary rounding, so
//! values are integers of ten-thousandths, never floats. Four decimals cover
//! money in every common currency, satisfaction scores and shares.

use std::fmt;
use std::iter::Sum;
use std::ops::Add;

use serde::{Serialize, Serializer};

use crate::DomainError;

/// A decimal with four fractional digits, stored as ten-thousandths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(i64);

/// How values are written, quoted by every parse error.
const EXAMPLE: &str =
    "digits with an optional leading `-` and at most 4 decimals, like 1250 or 4.5";

impl Quantity {
    /// Ten-thousandths per unit.
    pub const SCALE: i64 = 10_000;
    const DECIMALS: usize = 4;
    pub const ZERO: Quantity = Quantity(0);
    pub const ONE: Quantity = Quantity(Self::SCALE);

    /// The quantity of `scaled` ten-thousandths, as stored in a database.
    pub const fn from_scaled(scaled: i64) -> Quantity {
        Quantity(scaled)
    }

    /// The value in ten-thousandths, for storage and exact arithmetic.
    pub const fn scaled(self) -> i64 {
        self.0
    }

    /// A whole number of units. Beyond ±922 trillion units the value
    /// saturates; no criterion counts anywhere near that.
    pub const fn from_units(units: i64) -> Quantity {
        Quantity(units.saturating_mul(Self::SCALE))
    }

    /// Parses `123`, `-4.5` or `0.25` exactly.
    pub fn parse(text: &str) -> Result<Quantity, DomainError> {
        Quantity::parse_text(text).map_err(|reason| DomainError::field("value", reason))
    }

    /// Reads a JSON number or a numeric string. Numbers go through their
    /// shortest decimal text, so `0.7` is exactly 0.7 and not the nearest
    /// binary fraction.
    pub fn from_json(value: &serde_json::Value) -> Result<Quantity, DomainError> {
        let read = match value {
            serde_json::Value::String(text) => Quantity::parse_text(text),
            serde_json::Value::Number(number) => match (number.as_i64(), number.as_f64()) {
                (Some(int), _) => Quantity::parse_text(&int.to_string()),
                (None, Some(float)) => Quantity::from_float(float),
                (None, None) => Err(format!("`{number}` is not a number; write {EXAMPLE}")),
            },
            _ => Err(format!(
                "expected a number, found `{value}`; write {EXAMPLE}"
            )),
        };
        read.map_err(|reason| DomainError::field("value", reason))
    }

    /// Reads a float through its shortest decimal text (Rust never prints
    /// an exponent for `f64`), so `0.1` is exactly one tenth and a float
    /// with more than four decimals is refused rather than rounded.
    pub(crate) fn from_float(float: f64) -> Result<Quantity, String> {
        Quantity::parse_text(&format!("{float}"))
    }

    /// [`Quantity::parse`] with the reason alone, for readers that report
    /// it under their own key.
    pub(crate) fn parse_text(text: &str) -> Result<Quantity, String> {
        let trimmed = text.trim();
        let (negative, unsigned) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        let dangling_point = unsigned.ends_with('.');
        if whole.is_empty() || dangling_point || !digits(whole) || !digits(fraction) {
            return Err(format!("`{text}` is not a number; write {EXAMPLE}"));
        }
        if fraction.len() > Self::DECIMALS {
            return Err(format!(
                "`{text}` has more than {} decimals; round it to {} or fewer",
                Self::DECIMALS,
                Self::DECIMALS
            ));
        }
        let padded = format!("{whole}{fraction:0<width$}", width = Self::DECIMALS);
        let magnitude: i128 = padded.parse().map_err(|_| too_large(text))?;
        let signed = if negative { -magnitude } else { magnitude };
        i64::try_from(signed)
            .map(Quantity)
            .map_err(|_| too_large(text))
    }

    /// `self × weight`, rounded half away from zero to four decimals, so a
    /// weighted total does not depend on the order its parts were added.
    pub fn weighted(self, weight: Quantity) -> Quantity {
        let product = i128::from(self.0) * i128::from(weight.0);
        saturated(divide_rounded(product, i128::from(Self::SCALE)))
    }

    /// The mean of `count` values adding up to `total`, rounded half away
    /// from zero; `None` when there is nothing to average.
    pub fn mean(total: Quantity, count: i64) -> Option<Quantity> {
        (count > 0).then(|| saturated(divide_rounded(i128::from(total.0), i128::from(count))))
    }

    /// How far along `self` is towards `target`, from 0 to 1, for progress
    /// bars. A target of zero or less is reached by any value at or above it.
    pub fn progress(self, target: Quantity) -> f64 {
        if target.0 <= 0 {
            return if self >= target { 1.0 } else { 0.0 };
        }
        (self.to_f64() / target.to_f64()).clamp(0.0, 1.0)
    }

    /// Whether `self` is at least `target × (1 − margin)`: a miss small
    /// enough to earn grace. Exact, so a value on the boundary is never
    /// pushed either way by rounding.
    pub fn below_by_at_most(self, target: Quantity, margin: Quantity) -> bool {
        let scale = i128::from(Self::SCALE);
        i128::from(self.0) * scale >= i128::from(target.0) * (scale - i128::from(margin.0))
    }

    /// The nearest float, for ratios and display only.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / Self::SCALE as f64
    }
}

fn too_large(text: &str) -> String {
    format!(
        "`{text}` is too large; values go up to {}",
        Quantity(i64::MAX)
    )
}

/// `numerator / denominator` rounded half away from zero; `denominator > 0`.
fn divide_rounded(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.abs() * 2 >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

fn saturated(value: i128) -> Quantity {
    Quantity(i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX }))
}

/// Saturating: totals of criteria never approach the limit, and a clamped
/// total still compares correctly against any threshold.
impl Add for Quantity {
    type Output = Quantity;

    fn add(self, other: Quantity) -> Quantity {
        Quantity(self.0.saturating_add(other.0))
    }
}

impl Sum for Quantity {
    fn sum<I: Iterator<Item = Quantity>>(values: I) -> Quantity {
        values.fold(Quantity::ZERO, Add::add)
    }
}

/// The shortest exact decimal: `100000`, `4.5`, `-0.0001`.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let scale = Self::SCALE.unsigned_abs();
        let (whole, fraction) = (magnitude / scale, magnitude % scale);
        if fraction == 0 {
            return write!(f, "{sign}{whole}");
        }
        let digits = format!("{fraction:0width$}", width = Self::DECIMALS);
        write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// A JSON number: an integer when whole (`72000`, not `72000.0`), else the
/// nearest float, which for four decimals prints as the exact value.
impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 % Self::SCALE == 0 {
            serializer.serialize_i64(self.0 / Self::SCALE)
        } else {
            serializer.serialize_f64(self.to_f64())
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn parses_exact_decimals() {
        let cases = [
            ("123", Some(1_230_000)),
            ("-4.5", Some(-45_000)),
            ("0.25", Some(2_500)),
            (" 0.0001 ", Some(1)),
            ("007", Some(70_000)),
            ("-0", Some(0)),
            ("922337203685477.5807", Some(i64::MAX)),
            ("-922337203685477.5808", Some(i64::MIN)),
            ("922337203685477.5808", None),
            ("99999999999999999999999999999999999999999", None),
            ("0.00001", None),
            ("1e3", None),
            ("", None),
            ("-", None),
            (".5", None),
            ("5.", None),
            ("+5", None),
            ("1,000", None),
            ("--1", None),
            ("1.2.3", None),
            ("NaN", None),
        ];
        for (text, expected) in cases {
            let parsed = Quantity::parse(text).ok().map(Quantity::scaled);
            assert_eq!(parsed, expected, "{text:?}");
        }
    }

    #[test]
    fn parse_errors_say_what_to_write() {
        let cases = [
            ("abc", "`abc` is not a number; write digits"),
            (
                "0.12345",
                "`0.12345` has more than 4 decimals; round it to 4 or fewer",
            ),
            ("1e30", "is not a number"),
            (
                "1000000000000000",
                "is too large; values go up to 922337203685477.5807",
            ),
        ];
        for (text, message) in cases {
            let error = Quantity::parse(text).expect_err(text).to_string();
            assert!(error.contains(message), "{text}: {error}");
        }
    }

    #[test]
    fn reads_json_numbers_by_their_decimal_text() {
        let cases = [
            (json!(100000), Some(q("100000"))),
            (json!(0.7), Some(q("0.7"))),
            (json!(4.25), Some(q("4.25"))),
            (json!(-3), Some(q("-3"))),
            (json!("12.5"), Some(q("12.5"))),
            (json!(0.00001), None),
            (json!(u64::MAX), None),
            (json!("twelve"), None),
            (json!(null), None),
            (json!([1]), None),
        ];
        for (value, expected) in cases {
            assert_eq!(Quantity::from_json(&value).ok(), expected, "{value}");
        }
    }

    #[test]
    fn displays_the_shortest_exact_decimal() {
        let cases = [
            (Quantity::from_units(100_000), "100000"),
            (q("4.5"), "4.5"),
            (q("0.8"), "0.8"),
            (q("-0.0001"), "-0.0001"),
            (q("-12"), "-12"),
            (Quantity::ZERO, "0"),
            (Quantity::from_scaled(i64::MIN), "-922337203685477.5808"),
        ];
        for (quantity, expected) in cases {
            assert_eq!(quantity.to_string(), expected);
        }
    }

    #[test]
    fn serializes_as_a_json_number() {
        let json = serde_json::to_value([q("72000"), q("4.5"), q("0.85"), q("-1")]).expect("json");
        assert_eq!(json, json!([72000, 4.5, 0.85, -1]));
    }

    #[test]
    fn weights_round_half_away_from_zero() {
        let cases = [
            ("1000", "0.5", "500"),
            ("0.0001", "0.5", "0.0001"),
            ("-0.0001", "0.5", "-0.0001"),
            ("0.0001", "0.4999", "0"),
            ("3", "1", "3"),
        ];
        for (value, weight, expected) in cases {
            assert_eq!(
                q(value).weighted(q(weight)),
                q(expected),
                "{value} × {weight}"
            );
        }
        let huge = Quantity::from_scaled(i64::MAX);
        assert_eq!(huge.weighted(q("2")), huge);
    }

    #[test]
    fn means_round_and_refuse_empty_sets() {
        assert_eq!(Quantity::mean(q("13"), 3), Some(q("4.3333")));
        assert_eq!(Quantity::mean(q("0.0002"), 3), Some(q("0.0001")));
        assert_eq!(Quantity::mean(q("-0.0002"), 3), Some(q("-0.0001")));
        assert_eq!(Quantity::mean(q("9"), 0), None);
        assert_eq!(Quantity::mean(q("9"), -2), None);
    }

    #[test]
    fn progress_is_clamped_to_zero_and_one() {
        let cases = [
            ("72000", "100000", 0.72),
            ("150", "100", 1.0),
            ("-5", "100", 0.0),
            ("0", "0", 1.0),
            ("-1", "0", 0.0),
            ("-1", "-2", 1.0),
        ];
        for (value, target, expected) in cases {
            let progress = q(value).progress(q(target));
            assert!(
                (progress - expected).abs() < 1e-9,
                "{value}/{target}: {progress}"
            );
        }
    }

    #[test]
    fn grace_boundary_is_exact() {
        let margin = q("0.1");
        assert!(q("90").below_by_at_most(q("100"), margin));
        assert!(!q("89.9999").below_by_at_most(q("100"), margin));
        assert!(q("120").below_by_at_most(q("100"), margin));
        assert!(q("0.63").below_by_at_most(q("0.7"), margin));
        assert!(!q("0.6299").below_by_at_most(q("0.7"), margin));
        assert!(q("0").below_by_at_most(q("5"), Quantity::ONE));
    }

    #[test]
    fn adds_and_sums_saturating() {
        assert_eq!(q("1.5") + q("2.25"), q("3.75"));
        let total: Quantity = [q("1"), q("0.5"), q("-3")].into_iter().sum();
        assert_eq!(total, q("-1.5"));
        let top = Quantity::from_scaled(i64::MAX);
        assert_eq!(top + Quantity::ONE, top);
        assert_eq!(Quantity::from_units(i64::MAX), top);
    }

    proptest! {
        #[test]
        fn display_parses_back(scaled in any::<i64>()) {
            let quantity = Quantity::from_scaled(scaled);
            prop_assert_eq!(Quantity::parse(&quantity.to_string()), Ok(quantity));
        }

        #[test]
        fn floats_with_four_decimals_read_exactly(scaled in -1_000_000_000i64..1_000_000_000) {
            let quantity = Quantity::from_scaled(scaled);
            prop_assert_eq!(Quantity::from_float(quantity.to_f64()), Ok(quantity));
        }
    }
}
