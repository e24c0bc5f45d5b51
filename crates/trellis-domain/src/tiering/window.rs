//! Calendar quarters and the rolling windows criteria are measured over.
//!
//! Everything is in UTC: a partner in Sydney and one in San Francisco are
//! reviewed over the same instants, so neither gains a day.

use std::fmt;

use serde::Serialize;
use time::{Date, Duration, Month, OffsetDateTime, UtcOffset};

use super::WindowRule;
use crate::values::day;
use crate::DomainError;

/// A calendar quarter, `2026-Q4`: reviews run once per quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    pub year: i32,
    /// 1 to 4.
    pub number: u8,
}

impl Quarter {
    /// Parses `2026-Q4`.
    pub fn parse(text: &str) -> Result<Quarter, DomainError> {
        let bad = || {
            DomainError::field(
                "quarter",
                format!("`{text}` is not a quarter; write YYYY-QN, like 2026-Q4"),
            )
        };
        let (year, number) = text.trim().split_once("-Q").ok_or_else(bad)?;
        let four_digits = year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit());
        let one_digit = number.len() == 1;
        let year = year.parse().ok().filter(|_| four_digits).ok_or_else(bad)?;
        let number = number
            .parse()
            .ok()
            .filter(|n| one_digit && (1..=4).contains(n));
        Ok(Quarter {
            year,
            number: number.ok_or_else(bad)?,
        })
    }

    pub fn containing(date: Date) -> Quarter {
        Quarter {
            year: date.year(),
            number: (u8::from(date.month()) - 1) / 3 + 1,
        }
    }

    /// The quarter before the one `now` falls in: the last one whose figures
    /// are complete.
    pub fn last_complete(now: OffsetDateTime) -> Quarter {
        Quarter::containing(utc(now).date()).previous()
    }

    /// Whether `now` is past the quarter's last instant.
    pub fn has_ended(self, now: OffsetDateTime) -> bool {
        utc(now).date() >= self.end()
    }

    /// The quarter's first day. Quarters beyond the years `time` represents
    /// (±9999) are clamped to its first or last day rather than panicking.
    pub fn first_day(self) -> Date {
        let month = (self.number.clamp(1, 4) - 1) * 3 + 1;
        let month = Month::try_from(month).unwrap_or(Month::January);
        Date::from_calendar_date(self.year, month, 1).unwrap_or(if self.year < 0 {
            Date::MIN
        } else {
            Date::MAX
        })
    }

    /// The first day of the next quarter: the quarter's exclusive end.
    pub fn end(self) -> Date {
        self.next().first_day()
    }

    pub fn next(self) -> Quarter {
        match self.number.clamp(1, 4) {
            4 => Quarter {
                year: self.year.saturating_add(1),
                number: 1,
            },
            number => Quarter {
                year: self.year,
                number: number + 1,
            },
        }
    }

    pub fn previous(self) -> Quarter {
        match self.number.clamp(1, 4) {
            1 => Quarter {
                year: self.year.saturating_sub(1),
                number: 4,
            },
            number => Quarter {
                year: self.year,
                number: number - 1,
            },
        }
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-Q{}", self.year, self.number)
    }
}

/// The instants a scorecard or review reads: `[start, end)`, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

/// A rolling year: four quarters, or 365 days.
const QUARTERS_PER_WINDOW: usize = 4;
const TRAILING_DAYS: i64 = 365;

impl Window {
    /// The window a review of `quarter` reads: the year ending with it.
    pub fn ending_with(rule: WindowRule, quarter: Quarter) -> Window {
        let end = midnight(quarter.end());
        let start = match rule {
            WindowRule::Quarters => {
                let first = (1..QUARTERS_PER_WINDOW).fold(quarter, |q, _| q.previous());
                midnight(first.first_day())
            }
            WindowRule::Trailing365Days => end.saturating_sub(Duration::days(TRAILING_DAYS)),
        };
        Window { start, end }
    }

    /// The window a scorecard shown at `now` reads. Quarter windows stop at
    /// the last complete quarter, so the figures do not move mid-quarter.
    pub fn current(rule: WindowRule, now: OffsetDateTime) -> Window {
        match rule {
            WindowRule::Quarters => Window::ending_with(rule, Quarter::last_complete(now)),
            WindowRule::Trailing365Days => {
                let end = utc(now);
                Window {
                    start: end.saturating_sub(Duration::days(TRAILING_DAYS)),
                    end,
                }
            }
        }
    }

    /// `2025-Q4 to 2026-Q3` when the window follows quarters, otherwise
    /// `2025-11-25 to 2026-11-25`.
    pub fn describe(&self) -> String {
        match (quarter_starting(self.start), quarter_starting(self.end)) {
            (Some(first), Some(after)) if first < after => {
                let last = after.previous();
                if first == last {
                    first.to_string()
                } else {
                    format!("{first} to {last}")
                }
            }
            _ => format!("{} to {}", day(self.start), day(self.end)),
        }
    }
}

/// The quarter that begins exactly at `at`, if one does.
fn quarter_starting(at: OffsetDateTime) -> Option<Quarter> {
    let at = utc(at);
    let quarter = Quarter::containing(at.date());
    (midnight(quarter.first_day()) == at).then_some(quarter)
}

fn midnight(date: Date) -> OffsetDateTime {
    date.midnight().assume_utc()
}

/// `at` in UTC; an instant too close to the end of time to convert stays as
/// it is instead of panicking.
fn utc(at: OffsetDateTime) -> OffsetDateTime {
    at.checked_to_offset(UtcOffset::UTC).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    fn quarter(text: &str) -> Quarter {
        Quarter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn parses_and_prints_quarters() {
        assert_eq!(
            quarter("2026-Q4"),
            Quarter {
                year: 2026,
                number: 4
            }
        );
        assert_eq!(quarter(" 0999-Q1 ").to_string(), "0999-Q1");
        for bad in [
            "2026-Q5", "2026-Q0", "2026Q4", "26-Q4", "2026-q4", "2026-Q44", "+202-Q1", "",
        ] {
            let error = Quarter::parse(bad).expect_err(bad).to_string();
            assert!(
                error.contains("write YYYY-QN, like 2026-Q4"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn quarters_contain_their_months() {
        let cases = [
            (date!(2026 - 01 - 01), "2026-Q1"),
            (date!(2026 - 03 - 31), "2026-Q1"),
            (date!(2026 - 04 - 01), "2026-Q2"),
            (date!(2026 - 09 - 30), "2026-Q3"),
            (date!(2026 - 12 - 31), "2026-Q4"),
        ];
        for (date, expected) in cases {
            assert_eq!(Quarter::containing(date).to_string(), expected, "{date}");
        }
    }

    #[test]
    fn quarters_step_across_years() {
        assert_eq!(quarter("2026-Q4").next(), quarter("2027-Q1"));
        assert_eq!(quarter("2027-Q1").previous(), quarter("2026-Q4"));
        assert_eq!(quarter("2026-Q2").next(), quarter("2026-Q3"));
        assert_eq!(quarter("2026-Q4").first_day(), date!(2026 - 10 - 01));
        assert_eq!(quarter("2026-Q4").end(), date!(2027 - 01 - 01));
        assert_eq!(quarter("2026-Q1").end(), date!(2026 - 04 - 01));
    }

    #[test]
    fn the_last_complete_quarter_is_the_one_before_now() {
        let cases = [
            (datetime!(2027-01-01 00:00 UTC), "2026-Q4"),
            (datetime!(2026-12-31 23:59:59 UTC), "2026-Q3"),
            (datetime!(2026-01-15 12:00 UTC), "2025-Q4"),
            // 23:30 on 31 December in New York is already January in UTC.
            (datetime!(2026-12-31 23:30 -5), "2026-Q4"),
        ];
        for (now, expected) in cases {
            assert_eq!(Quarter::last_complete(now).to_string(), expected, "{now}");
        }
        let q4 = quarter("2026-Q4");
        assert!(!q4.has_ended(datetime!(2026-12-31 23:59:59 UTC)));
        assert!(q4.has_ended(datetime!(2027-01-01 00:00 UTC)));
    }

    #[test]
    fn quarters_at_the_end_of_time_do_not_panic() {
        let last = Quarter {
            year: 9999,
            number: 4,
        };
        assert_eq!(last.end(), Date::MAX);
        let odd = Quarter {
            year: 2026,
            number: 9,
        };
        assert_eq!(odd.first_day(), date!(2026 - 10 - 01));
        assert_eq!(odd.next(), quarter("2027-Q1"));
    }

    #[test]
    fn quarter_windows_span_four_quarters_across_a_year_boundary() {
        let window = Window::ending_with(WindowRule::Quarters, quarter("2026-Q3"));
        assert_eq!(window.start, datetime!(2025-10-01 00:00 UTC));
        assert_eq!(window.end, datetime!(2026-10-01 00:00 UTC));
        assert_eq!(window.describe(), "2025-Q4 to 2026-Q3");
        let now = datetime!(2026-11-25 09:00 UTC);
        assert_eq!(Window::current(WindowRule::Quarters, now), window);
    }

    #[test]
    fn trailing_windows_are_365_days() {
        let now = datetime!(2026-11-25 09:00 UTC);
        let window = Window::current(WindowRule::Trailing365Days, now);
        assert_eq!(window.start, datetime!(2025-11-25 09:00 UTC));
        assert_eq!(window.end, now);
        assert_eq!(window.describe(), "2025-11-25 to 2026-11-25");
        // Across 29 February, 365 days do not reach back to the same date.
        let leap = Window::ending_with(WindowRule::Trailing365Days, quarter("2024-Q4"));
        assert_eq!(leap.start, datetime!(2024-01-02 00:00 UTC));
        assert_eq!(leap.describe(), "2024-01-02 to 2025-01-01");
        let plain = Window::ending_with(WindowRule::Trailing365Days, quarter("2026-Q3"));
        assert_eq!(plain.describe(), "2025-Q4 to 2026-Q3");
    }

    #[test]
    fn single_quarters_are_named_once() {
        let window = Window {
            start: datetime!(2026-07-01 00:00 UTC),
            end: datetime!(2026-10-01 00:00 UTC),
        };
        assert_eq!(window.describe(), "2026-Q3");
    }

    #[test]
    fn windows_serialize_as_rfc3339() {
        let window = Window::ending_with(WindowRule::Quarters, quarter("2026-Q3"));
        let json = serde_json::to_value(window).expect("json");
        assert_eq!(json["start"], "2025-10-01T00:00:00Z");
        assert_eq!(json["end"], "2026-10-01T00:00:00Z");
    }
}
