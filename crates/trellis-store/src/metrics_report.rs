//! Registration metrics for the staff workspace: meetings within the SLA,
//! approval rates, conflicts, outcomes, response times and the protection
//! windows open now. (Tier metric records are another thing: `tiers/`.)
//!
//! The figures are sums of per-day parts that [`crate::MetricDays`] keeps;
//! this module names what a page asks for and what it gets, and assembles
//! the figures from the summed parts. Time series come by UTC day; the
//! page folds days into weeks or months.

use crate::metric_days::{Part, Tally};
use std::collections::HashMap;
use time::{Date, Duration, OffsetDateTime};
use trellis_domain::ids::PartnerId;
use trellis_domain::partner::Partner;

/// Whole UTC days, `first` to `last`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub first: Date,
    pub last: Date,
}

impl Span {
    /// The days as days since the Unix epoch, `[from, to)`; none when
    /// `last` comes before `first`.
    pub(crate) fn days(self) -> (i64, i64) {
        let epoch = OffsetDateTime::UNIX_EPOCH.date().to_julian_day();
        let day = |date: Date| i64::from(date.to_julian_day() - epoch);
        let from = day(self.first);
        (from, (day(self.last) + 1).max(from))
    }
}

/// What the metrics page asks for.
#[derive(Debug, Clone, Copy)]
pub struct Asked {
    pub span: Span,
    /// Holds run, and approvals are still inside their SLA, as of `now`.
    pub now: OffsetDateTime,
    /// The program's time from approval to a first meeting.
    pub meeting_sla: Duration,
    /// Partners, segments and groups of holds shown at most, largest first.
    pub top: usize,
}

/// Every figure of the metrics page over one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    /// Approvals by day, with how many met their first meeting within the
    /// SLA and how many still may.
    pub meetings: Vec<MeetingDay>,
    /// Registrations submitted in the period by the partners and segments
    /// that submitted most, with how many were approved and declined.
    pub approvals_by_partner: Vec<Approvals>,
    pub approvals_by_segment: Vec<Approvals>,
    /// Conflicts opened in the period by day, by how they stand now.
    pub conflicts: Vec<ConflictDay>,
    /// Approved registrations won or lost in the period, by day.
    pub outcomes: Vec<OutcomeDay>,
    /// Approved registrations won in the period, by currency.
    pub won_volume: Vec<WonVolume>,
    /// How long the registrations submitted in the period waited for a
    /// first response and for approval, in whole hours, sorted by hours;
    /// those still waiting are not in it.
    pub first_response: Vec<HourCount>,
    pub approval_wait: Vec<HourCount>,
    /// Approved registrations whose hold is still running, the largest
    /// groups first.
    pub holds_by_region: Vec<Holding>,
    pub holds_by_segment: Vec<Holding>,
    pub holds_by_product: Vec<Holding>,
}

/// Registrations approved on one day (days since the Unix epoch, UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingDay {
    pub day: i64,
    pub approved: i64,
    /// First meeting logged within the SLA of approval.
    pub met: i64,
    /// No meeting yet, but the SLA has not run out: not yet a miss.
    pub waiting: i64,
}

/// Registrations submitted in a period by one partner or segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approvals {
    /// The partner's name or the segment; `None` for no segment.
    pub label: Option<String>,
    pub submitted: i64,
    pub approved: i64,
    pub declined: i64,
}

/// Conflicts opened on one day, by how they stand now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictDay {
    pub day: i64,
    /// Settled by the program's policy.
    pub by_rule: i64,
    /// Resolved by staff.
    pub by_hand: i64,
    pub open: i64,
}

/// Approved registrations closed on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeDay {
    pub day: i64,
    pub won: i64,
    pub lost: i64,
}

/// Won registrations of a period in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WonVolume {
    /// `None` for wins recorded without an amount.
    pub currency: Option<String>,
    pub won: i64,
    /// The sum in the currency's minor units.
    pub minor: i64,
}

/// How many registrations waited `hours` whole hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourCount {
    pub hours: i64,
    pub count: i64,
}

/// Open protection windows in one region, segment or product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// `None` for registrations that named none.
    pub label: Option<String>,
    pub count: i64,
}

/// The `percent`th percentile (nearest rank) of a histogram sorted by hours.
pub fn percentile(histogram: &[HourCount], percent: i64) -> Option<i64> {
    let total: i64 = histogram.iter().map(|h| h.count).sum();
    if total == 0 {
        return None;
    }
    // The smallest rank covering `percent` of the values, at least the first.
    let rank = ((percent * total + 99) / 100).max(1);
    let mut seen = 0;
    histogram.iter().find_map(|h| {
        seen += h.count;
        (seen >= rank).then_some(h.hours)
    })
}

impl Figures {
    /// The figures from the period's summed parts; `partners` names the
    /// partners that submitted most (one gone from the table drops out).
    pub(crate) fn assemble(
        tally: &Tally,
        partners: &HashMap<PartnerId, Partner>,
        top: usize,
    ) -> Figures {
        let approvals = |label, [submitted, approved, declined]: [i64; 3]| Approvals {
            label,
            submitted,
            approved,
            declined,
        };
        let name = |id| Some(partners.get(&PartnerId(id))?.name.clone());
        let hours = |part| {
            let groups = tally.sorted(part).into_iter();
            groups
                .filter_map(|(key, [count, ..])| {
                    Some(HourCount {
                        hours: key.number()?,
                        count,
                    })
                })
                .collect()
        };
        let holds = |part| {
            let groups = tally.ranked(part, top).into_iter();
            groups
                .map(|(key, [count, ..])| Holding {
                    label: key.label(),
                    count,
                })
                .collect()
        };
        Figures {
            meetings: meetings(tally),
            approvals_by_partner: (tally.ranked(Part::ByPartner, top).into_iter())
                .filter_map(|(key, counts)| Some(approvals(Some(name(key.number()?)?), counts)))
                .collect(),
            approvals_by_segment: (tally.ranked(Part::BySegment, top).into_iter())
                .map(|(key, counts)| approvals(key.label(), counts))
                .collect(),
            conflicts: (tally.days(Part::Conflicts))
                .map(|(day, [by_rule, by_hand, open])| ConflictDay {
                    day,
                    by_rule,
                    by_hand,
                    open,
                })
                .collect(),
            outcomes: (tally.days(Part::Outcomes))
                .map(|(day, [won, lost, _])| OutcomeDay { day, won, lost })
                .collect(),
            won_volume: (tally.sorted(Part::WonVolume).into_iter())
                .map(|(key, [won, minor, _])| WonVolume {
                    currency: key.label(),
                    won,
                    minor,
                })
                .collect(),
            first_response: hours(Part::FirstResponse),
            approval_wait: hours(Part::ApprovalWait),
            holds_by_region: holds(Part::HoldsByRegion),
            holds_by_segment: holds(Part::HoldsBySegment),
            holds_by_product: holds(Part::HoldsByProduct),
        }
    }
}

/// Each day's approvals, with those of them still inside the SLA.
fn meetings(tally: &Tally) -> Vec<MeetingDay> {
    let waiting: HashMap<i64, i64> = tally
        .days(Part::Waiting)
        .map(|(d, [n, ..])| (d, n))
        .collect();
    tally
        .days(Part::Meetings)
        .map(|(day, [approved, met, _])| MeetingDay {
            day,
            approved,
            met,
            waiting: waiting.get(&day).copied().unwrap_or(0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{percentile, HourCount};

    fn histogram(pairs: &[(i64, i64)]) -> Vec<HourCount> {
        pairs
            .iter()
            .map(|&(hours, count)| HourCount { hours, count })
            .collect()
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let waits = histogram(&[(1, 5), (3, 4), (40, 1)]);
        assert_eq!(percentile(&waits, 50), Some(1));
        assert_eq!(percentile(&waits, 60), Some(3));
        assert_eq!(percentile(&waits, 90), Some(3));
        assert_eq!(percentile(&waits, 100), Some(40));
        assert_eq!(percentile(&waits, 0), Some(1));
        assert_eq!(percentile(&[], 50), None);
    }
}
