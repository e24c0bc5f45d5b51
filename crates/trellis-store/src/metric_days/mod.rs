//! The metrics page's figures kept per UTC day in memory, so that a figure
//! over a period is a sum of day parts and a change costs only the days it
//! touched.
//!
//! Each process keeps its own parts ([`MetricDays`]) and learns of changes
//! only from the event log, so several processes may share one database.
//! On every request the events appended since are read with the days the
//! registrations and conflicts they name count on (`changes.rs`); those
//! days are forgotten, and every day the period lacks is counted again,
//! one grouped statement per part over just those days (`parts.rs`). What
//! depends on the clock rather than on stored rows is read afresh each
//! time: approvals still inside their meeting SLA, and holds running out
//! later today.

mod changes;
mod days;
mod held;
mod parts;
mod tally;

pub(crate) use parts::Part;
pub(crate) use tally::Tally;

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::metrics_report::{Asked, Figures};
use crate::rows::micros;
use changes::{Cursor, Since};
use held::Held;
use parts::{Column, Row, DAY};
use std::collections::{HashMap, HashSet};
use tokio::sync::Mutex;
use trellis_domain::ids::PartnerId;

/// The last day a timestamp can fall on, for "every day after today".
const LAST_DAY: i64 = i64::MAX / DAY;
/// Runs of days one statement counts at most (see `DaySet::coarse`).
const MOST_RUNS: usize = 32;

/// Figures kept per day by one process; empty until first asked (or
/// warmed), then kept in step with the event log.
#[derive(Default)]
pub struct MetricDays(Mutex<Option<Kept>>);

/// What the parts were counted with and up to where, and the parts.
struct Kept {
    /// The meeting SLA in microseconds: which meetings count as met.
    sla: i64,
    cursor: Cursor,
    parts: HashMap<Part, Held>,
}

/// One request in the store's units: microseconds and days since the epoch.
struct Window {
    now: i64,
    today: i64,
    sla: i64,
    /// The period's days, `[from, to)`.
    days: (i64, i64),
}

impl Window {
    fn of(asked: &Asked) -> Window {
        let now = micros(asked.now);
        Window {
            now,
            today: now.div_euclid(DAY),
            sla: asked
                .meeting_sla
                .whole_microseconds()
                .try_into()
                .unwrap_or(i64::MAX),
            days: asked.span.days(),
        }
    }

    /// The days a kept part is summed over: the period's, or for holds
    /// every day after today (today's run out with the clock).
    fn wanted(&self, part: Part) -> (i64, i64) {
        match part.column() {
            Column::HoldUntil => (self.today + 1, LAST_DAY),
            _ => self.days,
        }
    }
}

impl MetricDays {
    /// Every figure `asked` for, exactly as counting all the period's rows
    /// now would give.
    pub async fn figures(&self, store: &Store, asked: &Asked) -> Result<Figures> {
        let window = Window::of(asked);
        let (mut tally, live) = tokio::try_join!(self.tally(store, &window), live(store, &window))?;
        for (part, rows) in live {
            for row in rows {
                tally.add(part, row.day, &row.key, &row.counts);
            }
        }
        let ranked = tally.ranked(Part::ByPartner, asked.top);
        let ids = ranked
            .iter()
            .filter_map(|(key, _)| key.number())
            .map(PartnerId);
        let partners = store.partners_by_ids(ids).await?;
        Ok(Figures::assemble(&tally, &partners, asked.top))
    }

    /// The kept parts, brought up to date, summed over the window.
    async fn tally(&self, store: &Store, window: &Window) -> Result<Tally> {
        let mut slot = self.0.lock().await;
        let kept = refresh(&mut slot, store, window).await?;
        let mut tally = Tally::default();
        for (&part, held) in &mut kept.parts {
            let (from, to) = window.wanted(part);
            if part.is_series() {
                for (day, key, counts) in held.days(from, to) {
                    tally.add(part, day, key, counts);
                }
            } else {
                tally.add_sums(part, held.sum(from, to));
            }
        }
        Ok(tally)
    }
}

/// Reads what changed, forgets the days it touched, and counts the days the
/// window lacks. Anything else (a first request, a flood of events, another
/// SLA, an error on the way) starts afresh.
async fn refresh<'a>(
    slot: &'a mut Option<Kept>,
    store: &Store,
    window: &Window,
) -> Result<&'a mut Kept> {
    let kept = match slot.take() {
        Some(mut kept) if kept.sla == window.sla => match kept.cursor.advance(store).await? {
            Since::Touched(days) => {
                kept.forget(&days);
                kept
            }
            Since::Flood => Kept::start(store, window.sla).await?,
        },
        _ => Kept::start(store, window.sla).await?,
    };
    let kept = slot.insert(kept);
    kept.count_lacking(store, window).await?;
    Ok(kept)
}

impl Kept {
    async fn start(store: &Store, sla: i64) -> Result<Kept> {
        Ok(Kept {
            sla,
            cursor: Cursor::start(store).await?,
            parts: Part::KEPT
                .iter()
                .map(|&part| (part, Held::default()))
                .collect(),
        })
    }

    fn forget(&mut self, touched: &HashSet<(Column, i64)>) {
        for (part, held) in &mut self.parts {
            for &(column, day) in touched {
                if column == part.column() {
                    held.forget(day);
                }
            }
        }
    }

    /// Counts every part over the days of the window it lacks, the parts
    /// side by side.
    async fn count_lacking(&mut self, store: &Store, window: &Window) -> Result<()> {
        let mut counting = tokio::task::JoinSet::new();
        for (&part, held) in &self.parts {
            let (from, to) = window.wanted(part);
            let lacking = held.lacking(from, to).coarse(MOST_RUNS);
            if lacking.is_empty() {
                continue;
            }
            let (store, sla) = (store.clone(), self.sla);
            counting.spawn(async move {
                let ranges: Vec<(i64, i64)> = lacking
                    .runs()
                    .iter()
                    .map(|&(from, to)| (from * DAY, to * DAY))
                    .collect();
                let rows = store.count_part(part, sla, &ranges).await;
                (part, lacking, rows)
            });
        }
        while let Some(done) = counting.join_next().await {
            let (part, days, rows) =
                done.map_err(|e| StoreError::Corrupt(format!("counting a metric failed: {e}")))?;
            self.parts.entry(part).or_default().replace(&days, rows?);
        }
        Ok(())
    }
}

/// What depends on the clock, read afresh: approvals of the period still
/// inside their meeting SLA, and holds running out later today.
async fn live(store: &Store, window: &Window) -> Result<Vec<(Part, Vec<Row>)>> {
    let stretch = |from: i64, to: i64| {
        if from < to {
            vec![(from, to)]
        } else {
            Vec::new()
        }
    };
    let (from, to) = window.days;
    let in_sla = stretch((from * DAY).max(window.now - window.sla + 1), to * DAY);
    let today = stretch(window.now + 1, (window.today + 1) * DAY);
    let count = |part, ranges| async move {
        Ok::<_, StoreError>((part, store.count_part(part, window.sla, ranges).await?))
    };
    let [region, segment, product] = Part::HOLDS;
    let (waiting, region, segment, product) = tokio::try_join!(
        count(Part::Waiting, &in_sla),
        count(region, &today),
        count(segment, &today),
        count(product, &today),
    )?;
    Ok(vec![waiting, region, segment, product])
}
