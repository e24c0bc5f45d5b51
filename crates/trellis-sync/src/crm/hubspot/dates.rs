//! HubSpot's ways of writing a moment: Unix milliseconds (`1572480000000`,
//! in webhooks, filters and date properties), ISO 8601 date-times
//! (`2019-10-30T03:30:17.883Z`, in record timestamps) and plain dates
//! (`2024-01-15`, midnight UTC, as HubSpot stores date properties).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// Reads any of HubSpot's forms; `None` for anything else, the empty value
/// included.
pub(super) fn parse_instant(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(millis) = text.parse::<i64>() {
        return from_millis(millis);
    }
    if let Ok(instant) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(instant);
    }
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .ok()
        .map(|date| date.midnight().assume_utc())
}

pub(super) fn from_millis(millis: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
}

pub(super) fn to_millis(instant: OffsetDateTime) -> i64 {
    i64::try_from(instant.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reads_each_of_hubspots_forms() {
        let cases = [
            ("1572480000000", Some(datetime!(2019-10-31 00:00 UTC))),
            (
                "2019-10-30T03:30:17.883Z",
                Some(datetime!(2019-10-30 03:30:17.883 UTC)),
            ),
            (
                "2019-10-30T05:30:17+02:00",
                Some(datetime!(2019-10-30 03:30:17 UTC)),
            ),
            ("2024-01-15", Some(datetime!(2024-01-15 00:00 UTC))),
            (" 2024-01-15 ", Some(datetime!(2024-01-15 00:00 UTC))),
            ("", None),
            ("soon", None),
            ("2024-13-01", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_instant(text), expected, "{text:?}");
        }
    }

    #[test]
    fn millis_round_trip() {
        let instant = datetime!(2019-10-30 03:30:17.883 UTC);
        assert_eq!(from_millis(to_millis(instant)), Some(instant));
    }
}
