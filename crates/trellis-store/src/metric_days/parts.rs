//! What each figure counts per UTC day, and the one grouped statement that
//! counts it over any set of time ranges: whole days to keep, or a stretch
//! that depends on the clock (holds running after now, approvals still
//! inside their meeting SLA).

use crate::conflicts::BY_STAFF;
use crate::db::Store;
use crate::error::Result;
use crate::rows::RowExt as _;
use sqlx::any::AnyRow;

/// Microseconds in a day and in an hour, as stored timestamps count them.
pub(crate) const DAY: i64 = 86_400_000_000;
const HOUR: i64 = 3_600_000_000;

/// The timestamp whose UTC day a part is kept under. Each is set once in a
/// row's life (at intake, by the lifecycle's approval and close, when a
/// conflict opens) and never moved, so the days a row counts on can only
/// be added to: a changed row's days, read after the change, are every day
/// the change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Column {
    Submitted,
    Approved,
    Closed,
    HoldUntil,
    Opened,
}

impl Column {
    pub(crate) const ALL: [Column; 5] = [
        Column::Submitted,
        Column::Approved,
        Column::Closed,
        Column::HoldUntil,
        Column::Opened,
    ];

    /// The table and the column.
    pub(crate) fn sql(self) -> (&'static str, &'static str) {
        match self {
            Column::Submitted => ("registrations", "submitted_at"),
            Column::Approved => ("registrations", "approved_at"),
            Column::Closed => ("registrations", "closed_at"),
            Column::HoldUntil => ("registrations", "hold_until"),
            Column::Opened => ("conflicts", "opened_at"),
        }
    }
}

/// What a part groups by within a day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Key {
    /// The day as a whole (a time series).
    Whole,
    /// A partner id or a number of hours.
    Number(i64),
    /// A segment, region, product or currency; `None` for none.
    Label(Option<String>),
}

impl Key {
    pub(crate) fn number(&self) -> Option<i64> {
        match self {
            Key::Number(number) => Some(*number),
            _ => None,
        }
    }

    pub(crate) fn label(self) -> Option<String> {
        match self {
            Key::Label(label) => label,
            _ => None,
        }
    }
}

/// Up to three counts of one group; a part fills as many as it counts.
pub(crate) type Counts = [i64; 3];

/// One group of one day.
#[derive(Debug)]
pub(crate) struct Row {
    pub day: i64,
    pub key: Key,
    pub counts: Counts,
}

/// Every per-day part a figure of the metrics page is summed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Part {
    /// Approvals, and those met within the meeting SLA.
    Meetings,
    /// Approvals with no meeting yet (read only where the SLA still runs).
    Waiting,
    /// Submitted, approved, declined.
    ByPartner,
    BySegment,
    /// Settled by rule, resolved by staff, open.
    Conflicts,
    /// Won, lost.
    Outcomes,
    /// Won, and the sum of their amounts in minor units.
    WonVolume,
    /// Registrations by whole hours waited.
    FirstResponse,
    ApprovalWait,
    /// Approved registrations by the day their hold runs out.
    HoldsByRegion,
    HoldsBySegment,
    HoldsByProduct,
}

/// How rows are grouped within a day: an SQL expression, or nothing.
enum Grouped {
    Whole,
    Number(String),
    Label(&'static str),
}

/// How a part is counted: its grouping, up to three counts, which rows.
struct Recipe {
    grouped: Grouped,
    counts: Vec<String>,
    only: &'static str,
}

impl Part {
    /// The parts kept per day; `Waiting` depends on the clock and is always
    /// read afresh.
    pub(crate) const KEPT: [Part; 11] = [
        Part::Meetings,
        Part::ByPartner,
        Part::BySegment,
        Part::Conflicts,
        Part::Outcomes,
        Part::WonVolume,
        Part::FirstResponse,
        Part::ApprovalWait,
        Part::HoldsByRegion,
        Part::HoldsBySegment,
        Part::HoldsByProduct,
    ];
    pub(crate) const HOLDS: [Part; 3] = [
        Part::HoldsByRegion,
        Part::HoldsBySegment,
        Part::HoldsByProduct,
    ];

    /// Whether the part is shown day by day rather than summed by key.
    pub(crate) fn is_series(self) -> bool {
        matches!(
            self,
            Part::Meetings | Part::Waiting | Part::Conflicts | Part::Outcomes
        )
    }

    pub(crate) fn column(self) -> Column {
        match self {
            Part::Meetings | Part::Waiting => Column::Approved,
            Part::ByPartner | Part::BySegment | Part::FirstResponse | Part::ApprovalWait => {
                Column::Submitted
            }
            Part::Conflicts => Column::Opened,
            Part::Outcomes | Part::WonVolume => Column::Closed,
            Part::HoldsByRegion | Part::HoldsBySegment | Part::HoldsByProduct => Column::HoldUntil,
        }
    }

    /// `sla` is the meeting SLA in microseconds, which `Meetings` reads.
    fn recipe(self, sla: i64) -> Recipe {
        let sum = |when: &str| format!("SUM(CASE WHEN {when} THEN 1 ELSE 0 END)");
        let count = || vec!["COUNT(*)".to_owned()];
        let decisions = || {
            let mut counts = count();
            counts.push(sum("approved_at IS NOT NULL"));
            counts.push(sum("status = 'declined'"));
            counts
        };
        let waited = |until: &str| Grouped::Number(format!("({until} - submitted_at) / {HOUR}"));
        let held = |label| (Grouped::Label(label), count(), "status = 'approved'");
        // BY_STAFF is a constant of ours, with no quote in it.
        let by_staff = format!("LIKE '{BY_STAFF}%'");
        let (grouped, counts, only) = match self {
            Part::Meetings => {
                let met = sum(&format!("first_meeting_at <= approved_at + {sla}"));
                (Grouped::Whole, vec!["COUNT(*)".into(), met], "1 = 1")
            }
            Part::Waiting => (Grouped::Whole, count(), "first_meeting_at IS NULL"),
            Part::ByPartner => (Grouped::Number("partner_id".into()), decisions(), "1 = 1"),
            Part::BySegment => (Grouped::Label("segment"), decisions(), "1 = 1"),
            Part::Conflicts => {
                let by_rule = sum(&format!(
                    "status <> 'open' AND COALESCE(reason, '') NOT {by_staff}"
                ));
                let by_hand = sum(&format!("status <> 'open' AND reason {by_staff}"));
                (
                    Grouped::Whole,
                    vec![by_rule, by_hand, sum("status = 'open'")],
                    "1 = 1",
                )
            }
            Part::Outcomes => (
                Grouped::Whole,
                vec![sum("status = 'won'"), sum("status = 'lost'")],
                "approved_at IS NOT NULL AND status IN ('won', 'lost')",
            ),
            Part::WonVolume => (
                Grouped::Label("won_currency"),
                vec!["COUNT(*)".into(), "CAST(SUM(won_amount) AS BIGINT)".into()],
                "approved_at IS NOT NULL AND status = 'won'",
            ),
            Part::FirstResponse => (
                waited("first_response_at"),
                count(),
                "first_response_at IS NOT NULL",
            ),
            Part::ApprovalWait => (waited("approved_at"), count(), "approved_at IS NOT NULL"),
            Part::HoldsByRegion => held("region"),
            Part::HoldsBySegment => held("segment"),
            Part::HoldsByProduct => held("product"),
        };
        Recipe {
            grouped,
            counts,
            only,
        }
    }
}

/// The statement counting `recipe` over `ranges` of its timestamp, grouped
/// by day and key; ranges bind as `$1, $2, ...` in pairs.
fn statement(column: Column, recipe: &Recipe, ranges: usize) -> String {
    let (table, at) = column.sql();
    let within: Vec<String> = (0..ranges)
        .map(|i| format!("{at} >= ${} AND {at} < ${}", 2 * i + 1, 2 * i + 2))
        .collect();
    let (key, group_by) = match &recipe.grouped {
        Grouped::Whole => ("NULL".to_owned(), "d"),
        Grouped::Number(sql) => (sql.clone(), "d, k"),
        Grouped::Label(sql) => ((*sql).to_owned(), "d, k"),
    };
    let counts: Vec<String> = (recipe.counts.iter().enumerate())
        .map(|(i, sql)| format!("{sql} AS n{i}"))
        .collect();
    format!(
        "SELECT {at} / {DAY} AS d, {key} AS k, {} FROM {table} WHERE ({}) AND {} GROUP BY {group_by}",
        counts.join(", "),
        within.join(" OR "),
        recipe.only
    )
}

impl Store {
    /// `part` over `ranges` (microseconds, half-open) of its timestamp, by
    /// day and key; `sla` is the meeting SLA in microseconds.
    pub(crate) async fn count_part(
        &self,
        part: Part,
        sla: i64,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<Row>> {
        if ranges.is_empty() {
            return Ok(Vec::new());
        }
        let recipe = part.recipe(sla);
        let sql = statement(part.column(), &recipe, ranges.len());
        let query = ranges
            .iter()
            .fold(sqlx::query(&sql), |q, &(from, to)| q.bind(from).bind(to));
        let rows = query.fetch_all(&self.reader).await?;
        rows.iter().map(|row| read(&recipe, row)).collect()
    }
}

fn read(recipe: &Recipe, row: &AnyRow) -> Result<Row> {
    let key = match recipe.grouped {
        Grouped::Whole => Key::Whole,
        Grouped::Number(_) => Key::Number(row.int("k")?),
        Grouped::Label(_) => Key::Label(row.opt_text("k")?),
    };
    let mut counts = [0; 3];
    for (i, count) in counts.iter_mut().take(recipe.counts.len()).enumerate() {
        *count = row.opt_int(&format!("n{i}"))?.unwrap_or(0);
    }
    Ok(Row {
        day: row.int("d")?,
        key,
        counts,
    })
}
