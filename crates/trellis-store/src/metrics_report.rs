//! Registration metrics for the staff workspace: meetings within the SLA,
//! approval rates, conflicts, outcomes, response times and the protection
//! windows open now. (Tier metric records are another thing: `tiers/`.)
//!
//! Each figure is one grouped statement over the period of one timestamp,
//! answered from an index led by that timestamp (migration 0013), so the
//! cost follows the rows in the period, never the whole table. Time series
//! come back by UTC day; the page folds days into weeks or months.

use crate::conflicts::BY_STAFF;
use crate::db::Store;
use crate::error::Result;
use crate::rows::{micros, RowExt as _};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;
use time::{Duration, OffsetDateTime};

/// Microseconds in a day and in an hour, as stored timestamps count them.
const DAY: i64 = 86_400_000_000;
const HOUR: i64 = 3_600_000_000;

/// A stretch of time, from `from` up to (not including) `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
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

/// How approvals are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalGroup {
    Partner,
    Segment,
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

/// Which wait a response-time histogram measures from submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// To the first decision or question.
    FirstResponse,
    Approval,
}

/// How many registrations waited `hours` whole hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourCount {
    pub hours: i64,
    pub count: i64,
}

/// How open protection windows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldGroup {
    Region,
    Segment,
    Product,
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

/// Counts of the submitted registrations of a group; the caller adds the
/// grouping column and its order.
const APPROVAL_COUNTS: &str = "COUNT(*) AS submitted, \
     SUM(CASE WHEN approved_at IS NOT NULL THEN 1 ELSE 0 END) AS approved, \
     SUM(CASE WHEN status = 'declined' THEN 1 ELSE 0 END) AS declined \
     FROM registrations WHERE submitted_at >= $1 AND submitted_at < $2";

impl Store {
    /// Approvals of `span` by day, with how many met their first meeting
    /// within `sla` and how many still may.
    pub async fn meeting_sla_days(
        &self,
        span: Span,
        sla: Duration,
        now: OffsetDateTime,
    ) -> Result<Vec<MeetingDay>> {
        let sql = format!(
            "SELECT approved_at / {DAY} AS d, COUNT(*) AS approved, \
             SUM(CASE WHEN first_meeting_at <= approved_at + $3 THEN 1 ELSE 0 END) AS met, \
             SUM(CASE WHEN first_meeting_at IS NULL AND approved_at + $3 > $4 THEN 1 ELSE 0 END) AS waiting \
             FROM registrations WHERE approved_at >= $1 AND approved_at < $2 GROUP BY d ORDER BY d"
        );
        let rows = over(&sql, span)
            .bind(micros(OffsetDateTime::UNIX_EPOCH + sla))
            .bind(micros(now))
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(MeetingDay {
                    day: row.int("d")?,
                    approved: row.int("approved")?,
                    met: row.int("met")?,
                    waiting: row.int("waiting")?,
                })
            })
            .collect()
    }

    /// Registrations submitted in `span` by the `limit` partners or segments
    /// that submitted most, with how many were approved and declined.
    pub async fn approvals(
        &self,
        span: Span,
        group: ApprovalGroup,
        limit: i64,
    ) -> Result<Vec<Approvals>> {
        // Grouping by `partner_id + 0` keeps SQLite from walking the whole
        // partner index for its order instead of the period's entries.
        let sql = match group {
            ApprovalGroup::Partner => format!(
                "SELECT p.name AS label, t.submitted, t.approved, t.declined FROM \
                 (SELECT partner_id + 0 AS partner, {APPROVAL_COUNTS} GROUP BY partner \
                  ORDER BY submitted DESC, partner LIMIT $3) t \
                 JOIN partners p ON p.id = t.partner ORDER BY t.submitted DESC, t.partner"
            ),
            ApprovalGroup::Segment => format!(
                "SELECT segment AS label, {APPROVAL_COUNTS} GROUP BY segment \
                 ORDER BY submitted DESC, COALESCE(segment, '') LIMIT $3"
            ),
        };
        let rows = over(&sql, span).bind(limit).fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| {
                Ok(Approvals {
                    label: row.opt_text("label")?,
                    submitted: row.int("submitted")?,
                    approved: row.int("approved")?,
                    declined: row.int("declined")?,
                })
            })
            .collect()
    }

    /// Conflicts opened in `span` by day: settled by the policy, resolved
    /// by staff, or still open.
    pub async fn conflict_days(&self, span: Span) -> Result<Vec<ConflictDay>> {
        let sql = format!(
            "SELECT opened_at / {DAY} AS d, \
             SUM(CASE WHEN status <> 'open' AND COALESCE(reason, '') NOT LIKE $3 THEN 1 ELSE 0 END) AS by_rule, \
             SUM(CASE WHEN status <> 'open' AND reason LIKE $3 THEN 1 ELSE 0 END) AS by_hand, \
             SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END) AS open_now \
             FROM conflicts WHERE opened_at >= $1 AND opened_at < $2 GROUP BY d ORDER BY d"
        );
        let rows = over(&sql, span)
            .bind(format!("{BY_STAFF}%"))
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ConflictDay {
                    day: row.int("d")?,
                    by_rule: row.int("by_rule")?,
                    by_hand: row.int("by_hand")?,
                    open: row.int("open_now")?,
                })
            })
            .collect()
    }

    /// Approved registrations won or lost in `span`, by day.
    pub async fn outcome_days(&self, span: Span) -> Result<Vec<OutcomeDay>> {
        let sql = format!(
            "SELECT closed_at / {DAY} AS d, \
             SUM(CASE WHEN status = 'won' THEN 1 ELSE 0 END) AS won, \
             SUM(CASE WHEN status = 'lost' THEN 1 ELSE 0 END) AS lost \
             FROM registrations WHERE closed_at >= $1 AND closed_at < $2 \
             AND approved_at IS NOT NULL AND status IN ('won', 'lost') GROUP BY d ORDER BY d"
        );
        let rows = over(&sql, span).fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| {
                Ok(OutcomeDay {
                    day: row.int("d")?,
                    won: row.int("won")?,
                    lost: row.int("lost")?,
                })
            })
            .collect()
    }

    /// Approved registrations won in `span`: how many and how much, by
    /// currency.
    pub async fn won_volume(&self, span: Span) -> Result<Vec<WonVolume>> {
        let sql = "SELECT won_currency, COUNT(*) AS won, CAST(SUM(won_amount) AS BIGINT) AS minor \
             FROM registrations WHERE closed_at >= $1 AND closed_at < $2 \
             AND approved_at IS NOT NULL AND status = 'won' \
             GROUP BY won_currency ORDER BY COALESCE(won_currency, '')";
        let rows = over(sql, span).fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| {
                Ok(WonVolume {
                    currency: row.opt_text("won_currency")?,
                    won: row.int("won")?,
                    minor: row.opt_int("minor")?.unwrap_or(0),
                })
            })
            .collect()
    }

    /// How long the registrations submitted in `span` waited for `wait`, in
    /// whole hours, as a histogram sorted by hours; those still waiting
    /// are not in it.
    pub async fn wait_hours(&self, span: Span, wait: Wait) -> Result<Vec<HourCount>> {
        let until = match wait {
            Wait::FirstResponse => "first_response_at",
            Wait::Approval => "approved_at",
        };
        let sql = format!(
            "SELECT ({until} - submitted_at) / {HOUR} AS h, COUNT(*) AS n FROM registrations \
             WHERE submitted_at >= $1 AND submitted_at < $2 AND {until} IS NOT NULL GROUP BY h ORDER BY h"
        );
        let rows = over(&sql, span).fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| {
                Ok(HourCount {
                    hours: row.int("h")?,
                    count: row.int("n")?,
                })
            })
            .collect()
    }

    /// Approved registrations whose hold is still running at `now`, counted
    /// by `group`, the `limit` largest groups first.
    pub async fn holdings(
        &self,
        now: OffsetDateTime,
        group: HoldGroup,
        limit: i64,
    ) -> Result<Vec<Holding>> {
        let column = match group {
            HoldGroup::Region => "region",
            HoldGroup::Segment => "segment",
            HoldGroup::Product => "product",
        };
        let sql = format!(
            "SELECT {column} AS label, COUNT(*) AS n FROM registrations \
             WHERE status = 'approved' AND hold_until > $1 \
             GROUP BY {column} ORDER BY n DESC, COALESCE({column}, '') LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(micros(now))
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Holding {
                    label: row.opt_text("label")?,
                    count: row.int("n")?,
                })
            })
            .collect()
    }
}

/// `sql` with the period bound as `$1` and `$2`, as every figure starts.
fn over(sql: &str, span: Span) -> Query<'_, Any, AnyArguments<'_>> {
    sqlx::query(sql)
        .bind(micros(span.from))
        .bind(micros(span.to))
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
