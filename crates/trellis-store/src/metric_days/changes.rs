//! What changed since the kept parts were counted, learnt from the event
//! log: every change to a registration or a conflict appends an event
//! naming it, so several processes on one database each keep their own
//! parts right without telling each other anything.
//!
//! PostgreSQL hands out an event's id when its transaction inserts it, not
//! when it commits, so an id can become visible after a higher one. Ids
//! passed over are kept as holes and asked for again until they appear, or
//! until they are old enough to have been rolled back. SQLite commits one
//! writer at a time and its ids never leave a hole.

use super::parts::{Column, DAY};
use crate::db::Store;
use crate::error::Result;
use crate::rows::RowExt as _;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Events read past which the kept parts are counted afresh rather than
/// day by day.
const FLOOD: usize = 5_000;
/// How far below the latest id a fresh start looks for holes.
const RECENT: i64 = 1_000;
/// How long a hole is asked for: longer than any transaction writing events.
const PATIENCE: Duration = Duration::from_secs(3600);
/// Holes kept at most, the latest.
const MOST_HOLES: usize = 1_000;

/// How far the event log has been read.
#[derive(Debug)]
pub(crate) struct Cursor {
    /// The highest event id read.
    seen: i64,
    /// Ids below `seen` not read yet, lowest first, with when they were
    /// passed over.
    holes: Vec<(i64, Instant)>,
}

/// What the events since tell.
pub(crate) enum Since {
    /// The days each named registration or conflict counts on.
    Touched(HashSet<(Column, i64)>),
    /// So many events that counting everything again is simpler.
    Flood,
}

impl Cursor {
    /// Where the log stands: read before anything is counted, so that what
    /// commits meanwhile is read again next time rather than missed.
    pub(crate) async fn start(store: &Store) -> Result<Cursor> {
        let rows = sqlx::query(
            "SELECT id FROM events \
             WHERE id > (SELECT COALESCE(MAX(id), 0) FROM events) - $1 ORDER BY id",
        )
        .bind(RECENT)
        .fetch_all(&store.reader)
        .await?;
        let ids: Vec<i64> = rows
            .iter()
            .map(|row| row.int("id"))
            .collect::<Result<_>>()?;
        let mut cursor = Cursor {
            seen: ids.last().map_or(0, |last| (last - RECENT).max(0)),
            holes: Vec::new(),
        };
        cursor.pass(&ids);
        Ok(cursor)
    }

    /// Reads the events since (and any hole that appeared) in one
    /// statement, with the days of the registrations and conflicts they
    /// name as those rows stand now.
    pub(crate) async fn advance(&mut self, store: &Store) -> Result<Since> {
        self.holes.retain(|(_, missed)| missed.elapsed() < PATIENCE);
        let days: Vec<String> = Column::ALL
            .iter()
            .map(|column| {
                let (table, at) = column.sql();
                format!("{table}.{at} / {DAY} AS {at}")
            })
            .collect();
        // The holes are ids of our own, numbers only.
        let holes: Vec<String> = self.holes.iter().map(|(id, _)| id.to_string()).collect();
        let or_holes = if holes.is_empty() {
            String::new()
        } else {
            format!(" OR e.id IN ({})", holes.join(", "))
        };
        let sql = format!(
            "SELECT e.id, {} FROM events e \
             LEFT JOIN registrations ON registrations.id = e.registration_id \
             LEFT JOIN conflicts ON conflicts.id = e.conflict_id \
             WHERE e.id > $1{or_holes} ORDER BY e.id LIMIT $2",
            days.join(", ")
        );
        let rows = sqlx::query(&sql)
            .bind(self.seen)
            .bind(FLOOD as i64 + 1)
            .fetch_all(&store.reader)
            .await?;
        if rows.len() > FLOOD {
            return Ok(Since::Flood);
        }
        let mut touched = HashSet::new();
        let mut ids = Vec::with_capacity(rows.len());
        for row in &rows {
            ids.push(row.int("id")?);
            for column in Column::ALL {
                if let Some(day) = row.opt_int(column.sql().1)? {
                    touched.insert((column, day));
                }
            }
        }
        self.pass(&ids);
        Ok(Since::Touched(touched))
    }

    /// Notes `ids` (ascending) as read: a hole filled, or the ids passed
    /// over below a new highest one.
    fn pass(&mut self, ids: &[i64]) {
        let now = Instant::now();
        for &id in ids {
            if id > self.seen {
                let skipped = (self.seen + 1).max(id - MOST_HOLES as i64)..id;
                self.holes.extend(skipped.map(|hole| (hole, now)));
                self.seen = id;
            } else {
                self.holes.retain(|&(hole, _)| hole != id);
            }
        }
        let excess = self.holes.len().saturating_sub(MOST_HOLES);
        self.holes.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    fn holes(cursor: &Cursor) -> Vec<i64> {
        cursor.holes.iter().map(|(id, _)| *id).collect()
    }

    #[test]
    fn ids_passed_over_are_holes_until_they_appear() {
        let mut cursor = Cursor {
            seen: 10,
            holes: Vec::new(),
        };
        cursor.pass(&[11, 14, 15]);
        assert_eq!((cursor.seen, holes(&cursor)), (15, vec![12, 13]));
        cursor.pass(&[13, 17]);
        assert_eq!((cursor.seen, holes(&cursor)), (17, vec![12, 16]));
    }

    #[test]
    fn only_the_latest_holes_are_kept() {
        let mut cursor = Cursor {
            seen: 0,
            holes: Vec::new(),
        };
        cursor.pass(&[5_000]);
        let kept = holes(&cursor);
        assert_eq!(kept.len(), super::MOST_HOLES);
        assert_eq!(kept.first(), Some(&4_000));
    }
}
