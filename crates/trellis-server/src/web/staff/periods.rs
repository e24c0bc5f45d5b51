//! The periods the metrics page offers, and the weeks or months a period's
//! time series is shown in. A period is whole UTC days ending with today,
//! by the server's clock, so the store's per-day figures fold into buckets
//! exactly.

use time::{Date, Duration, Month, OffsetDateTime};
use trellis_store::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Last30,
    Last90,
    Last365,
    /// The calendar quarter so far.
    Quarter,
}

impl Period {
    pub const ALL: [Period; 4] = [
        Period::Last30,
        Period::Last90,
        Period::Last365,
        Period::Quarter,
    ];
    pub const DEFAULT: Period = Period::Last90;

    /// How the period is named in a URL (`?period=90d`).
    pub fn param(self) -> &'static str {
        match self {
            Period::Last30 => "30d",
            Period::Last90 => "90d",
            Period::Last365 => "365d",
            Period::Quarter => "quarter",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Period::Last30 => "Last 30 days",
            Period::Last90 => "Last 90 days",
            Period::Last365 => "Last 365 days",
            Period::Quarter => "This quarter",
        }
    }

    pub fn parse(param: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.param() == param)
    }

    /// The days the period covers at `now`: from its first day to today.
    pub fn span(self, now: OffsetDateTime) -> Span {
        let today = now.date();
        let first = match self {
            Period::Last30 => today - Duration::days(29),
            Period::Last90 => today - Duration::days(89),
            Period::Last365 => today - Duration::days(364),
            Period::Quarter => quarter_start(today),
        };
        Span { first, last: today }
    }

    /// The buckets its time series are shown in: weeks, or months for a
    /// year.
    pub fn buckets(self, now: OffsetDateTime) -> Buckets {
        let Span { first, last } = self.span(now);
        match self {
            Period::Last365 => Buckets::months(first, last),
            _ => Buckets::weeks(first, last),
        }
    }
}

fn quarter_start(day: Date) -> Date {
    let month = (u8::from(day.month()) - 1) / 3 * 3 + 1;
    let month = Month::try_from(month).unwrap_or(Month::January);
    Date::from_calendar_date(day.year(), month, 1).unwrap_or(day)
}

/// Days since the Unix epoch, as the store groups by.
fn epoch_day(day: Date) -> i64 {
    i64::from(day.to_julian_day() - OffsetDateTime::UNIX_EPOCH.date().to_julian_day())
}

fn month_number(day: Date) -> i64 {
    i64::from(day.year()) * 12 + i64::from(u8::from(day.month()))
}

/// Consecutive weeks or months from a period's first day.
pub struct Buckets {
    first: Date,
    monthly: bool,
    /// Each bucket's name in a table and its shorter name on a chart axis.
    pub names: Vec<String>,
    pub short: Vec<String>,
}

impl Buckets {
    fn weeks(first: Date, last: Date) -> Buckets {
        let count = (last - first).whole_days() / 7 + 1;
        let starts: Vec<Date> = (0..count).map(|w| first + Duration::weeks(w)).collect();
        Buckets {
            first,
            monthly: false,
            names: starts.iter().map(|d| format!("Week of {d}")).collect(),
            short: starts
                .iter()
                .map(|d| format!("{} {}", short_month(d.month()), d.day()))
                .collect(),
        }
    }

    fn months(first: Date, last: Date) -> Buckets {
        let count = month_number(last) - month_number(first) + 1;
        let mut names = Vec::new();
        let mut short = Vec::new();
        let (mut year, mut month) = (first.year(), first.month());
        for _ in 0..count {
            names.push(format!("{year}-{:02}", u8::from(month)));
            short.push(short_month(month).to_owned());
            if month == Month::December {
                year += 1;
            }
            month = month.next();
        }
        Buckets {
            first,
            monthly: true,
            names,
            short,
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// The bucket of a day since the Unix epoch, if the period holds it.
    fn index(&self, day: i64) -> Option<usize> {
        let offset = if self.monthly {
            let date = OffsetDateTime::UNIX_EPOCH.date() + Duration::days(day);
            month_number(date) - month_number(self.first)
        } else {
            (day - epoch_day(self.first)).div_euclid(7)
        };
        usize::try_from(offset).ok().filter(|&i| i < self.len())
    }

    /// Sums per-day counts into the buckets.
    pub fn fold<const N: usize>(
        &self,
        days: impl Iterator<Item = (i64, [i64; N])>,
    ) -> Vec<[i64; N]> {
        let mut sums = vec![[0; N]; self.len()];
        for (day, counts) in days {
            if let Some(i) = self.index(day) {
                for (sum, count) in sums[i].iter_mut().zip(counts) {
                    *sum += count;
                }
            }
        }
        sums
    }
}

fn short_month(month: Month) -> &'static str {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    NAMES[usize::from(u8::from(month)) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-02-10 15:30 UTC);

    #[test]
    fn periods_are_whole_days_ending_today() {
        let span = Period::Last30.span(NOW);
        assert_eq!(span.first, date!(2026 - 01 - 12));
        assert_eq!(span.last, date!(2026 - 02 - 10));
        assert_eq!(Period::Quarter.span(NOW).first, date!(2026 - 01 - 01));
        let august = datetime!(2026-08-31 23:00 UTC);
        assert_eq!(Period::Quarter.span(august).first, date!(2026 - 07 - 01));
        assert_eq!(Period::parse("365d"), Some(Period::Last365));
        assert_eq!(Period::parse("forever"), None);
    }

    #[test]
    fn days_fold_into_weeks_from_the_first_day() {
        let buckets = Period::Last30.buckets(NOW);
        assert_eq!(buckets.len(), 5);
        assert_eq!(buckets.names[0], "Week of 2026-01-12");
        assert_eq!(buckets.short[1], "Jan 19");
        let first = epoch_day(date!(2026 - 01 - 12));
        let sums = buckets.fold(
            [
                (first, [1, 2]),
                (first + 6, [1, 0]),
                (first + 7, [5, 5]),
                (first - 1, [9, 9]),
            ]
            .into_iter(),
        );
        assert_eq!(sums[0], [2, 2]);
        assert_eq!(sums[1], [5, 5]);
        assert_eq!(sums[4], [0, 0]);
    }

    #[test]
    fn a_year_folds_into_calendar_months() {
        let buckets = Period::Last365.buckets(NOW);
        assert_eq!(buckets.len(), 13);
        assert_eq!(buckets.names[0], "2025-02");
        assert_eq!(buckets.names[12], "2026-02");
        assert_eq!(buckets.short[11], "Jan");
        let sums = buckets.fold([(epoch_day(date!(2026 - 01 - 31)), [3])].into_iter());
        assert_eq!(sums[11], [3]);
    }
}
