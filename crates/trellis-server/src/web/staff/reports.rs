//! The registration metrics the workspace shows, each as a chart and the
//! table behind it; the same table is what its CSV file holds. The store
//! counts (`metrics_report.rs`, from parts kept per day); this module only
//! folds days into weeks or months and turns counts into rates, in integer
//! arithmetic.

use super::charts::{bar_chart, column_chart, Bar, Drawing, Series};
use super::periods::Buckets;
use trellis_domain::values::{Currency, Money};
use trellis_store::{
    percentile, Approvals, ConflictDay, Figures, Holding, HourCount, MeetingDay, OutcomeDay,
    WonVolume,
};

/// Partners, segments and groups of holds shown at most, largest first.
pub const TOP: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Meetings,
    ApprovalByPartner,
    ApprovalBySegment,
    Conflicts,
    Outcomes,
    WonVolume,
    ResponseTimes,
    HoldsByRegion,
    HoldsBySegment,
    HoldsByProduct,
}

impl Metric {
    /// In the order the page shows them.
    pub const ALL: [Metric; 10] = [
        Metric::Meetings,
        Metric::ApprovalByPartner,
        Metric::ApprovalBySegment,
        Metric::Conflicts,
        Metric::Outcomes,
        Metric::WonVolume,
        Metric::ResponseTimes,
        Metric::HoldsByRegion,
        Metric::HoldsBySegment,
        Metric::HoldsByProduct,
    ];

    /// The metric's name in its CSV file's URL.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Meetings => "meetings",
            Metric::ApprovalByPartner => "approval-by-partner",
            Metric::ApprovalBySegment => "approval-by-segment",
            Metric::Conflicts => "conflicts",
            Metric::Outcomes => "outcomes",
            Metric::WonVolume => "won-volume",
            Metric::ResponseTimes => "response-times",
            Metric::HoldsByRegion => "holds-by-region",
            Metric::HoldsBySegment => "holds-by-segment",
            Metric::HoldsByProduct => "holds-by-product",
        }
    }

    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The metric drawn from a period's figures, its time series in
    /// `buckets`; `sla_days` is the program's meeting SLA.
    pub fn report(self, figures: &Figures, buckets: &Buckets, sla_days: u32) -> Report {
        let f = figures;
        match self {
            Metric::Meetings => meetings(&f.meetings, buckets, sla_days),
            Metric::ApprovalByPartner => approvals(&f.approvals_by_partner, self, "Partner"),
            Metric::ApprovalBySegment => approvals(&f.approvals_by_segment, self, "Segment"),
            Metric::Conflicts => conflicts(&f.conflicts, buckets),
            Metric::Outcomes => outcomes(&f.outcomes, buckets),
            Metric::WonVolume => won_volume(&f.won_volume),
            Metric::ResponseTimes => response_times(&f.first_response, &f.approval_wait),
            Metric::HoldsByRegion => holds(&f.holds_by_region, self, "Region"),
            Metric::HoldsBySegment => holds(&f.holds_by_segment, self, "Segment"),
            Metric::HoldsByProduct => holds(&f.holds_by_product, self, "Product"),
        }
    }
}

/// A metric as shown: a heading, a one-line summary, the chart, and the
/// table the chart draws (also its CSV).
pub struct Report {
    pub name: &'static str,
    pub title: String,
    pub summary: String,
    pub drawing: Drawing,
    pub table: Table,
}

/// Rows of cells under column headings; the first column names the row,
/// the others are figures.
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Report {
    fn new(metric: Metric, title: String, summary: String, table: Table, draw: Drawn) -> Report {
        let id = metric.name();
        let drawing = match draw {
            Drawn::Bars(bars) => bar_chart(id, &title, &summary, &bars),
            Drawn::Columns(buckets, series, unit) => {
                column_chart(id, &title, &summary, &buckets, &series, unit)
            }
        };
        Report {
            name: id,
            title,
            summary,
            drawing,
            table,
        }
    }
}

/// Which chart a report draws.
enum Drawn {
    Bars(Vec<Bar>),
    Columns(Vec<String>, Vec<Series>, &'static str),
}

/// `part` of `whole` in whole percent, rounded half up; none of nothing.
pub fn percent(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| (part * 200 + whole) / (whole * 2))
}

fn shown(rate: Option<i64>) -> String {
    rate.map_or_else(|| "n/a".to_owned(), |r| format!("{r}%"))
}

fn named(label: &Option<String>) -> String {
    label.clone().unwrap_or_else(|| "(none)".to_owned())
}

fn headings(names: &[&str]) -> Vec<String> {
    names.iter().map(|&n| n.to_owned()).collect()
}

/// A table of one row per bucket: its name, then its figures.
fn bucket_rows<const N: usize>(
    buckets: &Buckets,
    sums: &[[i64; N]],
    extra: impl Fn(&[i64; N]) -> Vec<String>,
) -> Vec<Vec<String>> {
    buckets
        .names
        .iter()
        .zip(sums)
        .map(|(name, sum)| {
            let mut row = vec![name.clone()];
            row.extend(sum.iter().map(i64::to_string));
            row.extend(extra(sum));
            row
        })
        .collect()
}

/// Adds up the buckets column by column.
fn totals<const N: usize>(sums: &[[i64; N]]) -> [i64; N] {
    sums.iter().fold([0; N], |mut total, sum| {
        total.iter_mut().zip(sum).for_each(|(t, s)| *t += s);
        total
    })
}

fn meetings(days: &[MeetingDay], buckets: &Buckets, sla: u32) -> Report {
    let sums = buckets.fold(days.iter().map(|d| (d.day, [d.approved, d.met, d.waiting])));
    // Approvals still inside their SLA have neither met nor missed it.
    let rate = |[approved, met, waiting]: &[i64; 3]| percent(*met, approved - waiting);
    let table = Table {
        columns: headings(&[
            "Approved in",
            "Approved",
            "Met the SLA",
            "Still in time",
            "Rate",
        ]),
        rows: bucket_rows(buckets, &sums, |s| vec![shown(rate(s))]),
    };
    let total = totals(&sums);
    let summary = format!(
        "{} of {} approvals whose SLA has run had a first meeting within {sla} days ({}).",
        total[1],
        total[0] - total[2],
        shown(rate(&total))
    );
    let series = vec![Series {
        name: "Met the SLA".into(),
        values: sums.iter().map(|s| rate(s).unwrap_or(0)).collect(),
    }];
    let title = format!("First meeting within {sla} days of approval");
    let drawn = Drawn::Columns(buckets.short.clone(), series, "%");
    Report::new(Metric::Meetings, title, summary, table, drawn)
}

fn approvals(rows: &[Approvals], metric: Metric, by: &str) -> Report {
    let rate = |a: &Approvals| percent(a.approved, a.approved + a.declined);
    let table = Table {
        columns: headings(&[by, "Submitted", "Approved", "Declined", "Approval rate"]),
        rows: rows
            .iter()
            .map(|a| {
                vec![
                    named(&a.label),
                    a.submitted.to_string(),
                    a.approved.to_string(),
                    a.declined.to_string(),
                    shown(rate(a)),
                ]
            })
            .collect(),
    };
    let bars = rows
        .iter()
        .map(|a| Bar {
            label: named(&a.label),
            value: rate(a).unwrap_or(0),
            shown: format!("{} of {}", shown(rate(a)), a.approved + a.declined),
        })
        .collect();
    let title = format!("Approval rate by {}", by.to_lowercase());
    let summary = format!(
        "Share of decided registrations approved, for the {TOP} {}s that submitted most in the period.",
        by.to_lowercase()
    );
    Report::new(metric, title, summary, table, Drawn::Bars(bars))
}

fn conflicts(days: &[ConflictDay], buckets: &Buckets) -> Report {
    let sums = buckets.fold(days.iter().map(|d| (d.day, [d.by_rule, d.by_hand, d.open])));
    let table = Table {
        columns: headings(&["Opened in", "Settled by rule", "Resolved by staff", "Open"]),
        rows: bucket_rows(buckets, &sums, |_| Vec::new()),
    };
    let [by_rule, by_hand, open] = totals(&sums);
    let summary = format!(
        "Of the conflicts opened in the period, {by_rule} were settled by the program's rule, {by_hand} resolved by staff and {open} are open."
    );
    let series = ["Settled by rule", "Resolved by staff", "Open"]
        .iter()
        .enumerate()
        .map(|(i, name)| Series {
            name: (*name).into(),
            values: sums.iter().map(|s| s[i]).collect(),
        })
        .collect();
    let title = "Conflicts avoided and unresolved".to_owned();
    let drawn = Drawn::Columns(buckets.short.clone(), series, "");
    Report::new(Metric::Conflicts, title, summary, table, drawn)
}

fn outcomes(days: &[OutcomeDay], buckets: &Buckets) -> Report {
    let sums = buckets.fold(days.iter().map(|d| (d.day, [d.won, d.lost])));
    let rate = |[won, lost]: &[i64; 2]| percent(*won, won + lost);
    let table = Table {
        columns: headings(&["Closed in", "Won", "Lost", "Win rate"]),
        rows: bucket_rows(buckets, &sums, |s| vec![shown(rate(s))]),
    };
    let total = totals(&sums);
    let summary = format!(
        "{} won and {} lost of the approved registrations closed in the period: a win rate of {}.",
        total[0],
        total[1],
        shown(rate(&total))
    );
    let series = vec![
        Series {
            name: "Won".into(),
            values: sums.iter().map(|s| s[0]).collect(),
        },
        Series {
            name: "Lost".into(),
            values: sums.iter().map(|s| s[1]).collect(),
        },
    ];
    let title = "Win rate on approved registrations".to_owned();
    let drawn = Drawn::Columns(buckets.short.clone(), series, "");
    Report::new(Metric::Outcomes, title, summary, table, drawn)
}

/// A sum of minor units as the currency writes it ("12500.50"); the bare
/// units for a code the program no longer knows.
fn amount(volume: &WonVolume) -> String {
    let currency = volume
        .currency
        .as_deref()
        .and_then(|c| Currency::parse(c).ok());
    match currency {
        Some(currency) => Money {
            minor: volume.minor,
            currency,
        }
        .decimal(),
        None => volume.minor.to_string(),
    }
}

fn won_volume(rows: &[WonVolume]) -> Report {
    let currency = |v: &WonVolume| {
        v.currency
            .clone()
            .unwrap_or_else(|| "(no amount)".to_owned())
    };
    let table = Table {
        columns: headings(&["Currency", "Won", "Amount", "Amount in minor units"]),
        rows: rows
            .iter()
            .map(|v| {
                vec![
                    currency(v),
                    v.won.to_string(),
                    amount(v),
                    v.minor.to_string(),
                ]
            })
            .collect(),
    };
    let bars = rows
        .iter()
        .map(|v| Bar {
            label: currency(v),
            value: v.won,
            shown: format!("{} won, {}", v.won, amount(v)),
        })
        .collect();
    let title = "Won volume on approved registrations".to_owned();
    let summary =
        "Approved registrations won in the period and their amounts, by currency.".to_owned();
    Report::new(Metric::WonVolume, title, summary, table, Drawn::Bars(bars))
}

fn response_times(first: &[HourCount], approval: &[HourCount]) -> Report {
    let measures = [("First response", first), ("Approval", approval)];
    let hours = |h: Option<i64>| h.map_or_else(|| "n/a".to_owned(), |h| h.to_string());
    let count = |waits: &[HourCount]| waits.iter().map(|h| h.count).sum::<i64>();
    let table = Table {
        columns: headings(&[
            "Time to",
            "Registrations",
            "Median hours",
            "90th percentile hours",
        ]),
        rows: measures
            .iter()
            .map(|(name, waits)| {
                vec![
                    (*name).to_owned(),
                    count(waits).to_string(),
                    hours(percentile(waits, 50)),
                    hours(percentile(waits, 90)),
                ]
            })
            .collect(),
    };
    let bars = measures
        .iter()
        .flat_map(|(name, waits)| {
            [("median", 50), ("90th percentile", 90)].map(|(which, p)| {
                let value = percentile(waits, p);
                Bar {
                    label: format!("{name}, {which}"),
                    value: value.unwrap_or(0),
                    shown: format!("{} h", hours(value)),
                }
            })
        })
        .collect();
    let title = "Time to first response and to approval".to_owned();
    let summary =
        "Whole hours from submission, for registrations submitted in the period.".to_owned();
    let drawn = Drawn::Bars(bars);
    Report::new(Metric::ResponseTimes, title, summary, table, drawn)
}

fn holds(rows: &[Holding], metric: Metric, by: &str) -> Report {
    let table = Table {
        columns: headings(&[by, "Active holds"]),
        rows: rows
            .iter()
            .map(|h| vec![named(&h.label), h.count.to_string()])
            .collect(),
    };
    let bars = rows
        .iter()
        .map(|h| Bar {
            label: named(&h.label),
            value: h.count,
            shown: h.count.to_string(),
        })
        .collect();
    let title = format!("Active protection windows by {}", by.to_lowercase());
    let summary =
        format!("Approved registrations whose hold runs today, for the {TOP} largest groups.");
    Report::new(metric, title, summary, table, Drawn::Bars(bars))
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percentages_are_whole_and_rounded_half_up() {
        assert_eq!(percent(1, 3), Some(33));
        assert_eq!(percent(2, 3), Some(67));
        assert_eq!(percent(1, 8), Some(13));
        assert_eq!(percent(0, 5), Some(0));
        assert_eq!(percent(5, 5), Some(100));
        assert_eq!(percent(0, 0), None);
    }
}
