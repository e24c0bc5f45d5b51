//! One part's counts as a process keeps them: by day, the days they are
//! complete for, and their sums over the periods asked for. The sums are
//! kept as days are counted again, so that a page need not add up a year of
//! days (two hundred partners a day) on every request.

use super::days::DaySet;
use super::parts::{Counts, Key, Row};
use std::collections::{BTreeMap, HashMap};

/// Sums kept at most; past that they are dropped and made again as asked
/// (periods move on by a day at midnight).
const MOST_SUMS: usize = 8;

#[derive(Debug, Default)]
pub(crate) struct Held {
    complete: DaySet,
    by_day: BTreeMap<i64, Vec<(Key, Counts)>>,
    /// Over `[from, to)` days, each group's counts added up; always the sum
    /// of `by_day` over those days, which `replace` keeps true.
    sums: HashMap<(i64, i64), HashMap<Key, Counts>>,
}

impl Held {
    /// The days of `[from, to)` not counted since they last changed.
    pub(crate) fn lacking(&self, from: i64, to: i64) -> DaySet {
        self.complete.lacking(from, to)
    }

    /// `day` changed: it is counted again when next asked for.
    pub(crate) fn forget(&mut self, day: i64) {
        self.complete.remove(day);
    }

    /// `rows` are now the whole of `days`.
    pub(crate) fn replace(&mut self, days: &DaySet, rows: Vec<Row>) {
        for &(from, to) in days.runs() {
            let stale: Vec<i64> = self.by_day.range(from..to).map(|(day, _)| *day).collect();
            for day in stale {
                if let Some(groups) = self.by_day.remove(&day) {
                    for (key, counts) in &groups {
                        self.shift(day, key, counts, -1);
                    }
                }
            }
        }
        for row in rows {
            self.shift(row.day, &row.key, &row.counts, 1);
            let groups = self.by_day.entry(row.day).or_default();
            groups.push((row.key, row.counts));
        }
        self.complete.add(days);
    }

    /// Adds a group of `day` to every sum over it (`sign` 1), or takes it
    /// out (-1); a group counting nothing is no group.
    fn shift(&mut self, day: i64, key: &Key, counts: &Counts, sign: i64) {
        let over_day = self
            .sums
            .iter_mut()
            .filter(|((from, to), _)| (*from..*to).contains(&day));
        for (_, sums) in over_day {
            let sum = sums.entry(key.clone()).or_default();
            for (sum, count) in sum.iter_mut().zip(counts) {
                *sum += sign * count;
            }
            if *sum == [0; 3] {
                sums.remove(key);
            }
        }
    }

    /// Each day of `[from, to)` with its groups, in order.
    pub(crate) fn days(&self, from: i64, to: i64) -> impl Iterator<Item = (i64, &Key, &Counts)> {
        let days = self.by_day.range(from..to);
        days.flat_map(|(day, groups)| groups.iter().map(move |(key, counts)| (*day, key, counts)))
    }

    /// Each group's counts over `[from, to)`.
    pub(crate) fn sum(&mut self, from: i64, to: i64) -> &HashMap<Key, Counts> {
        if !self.sums.contains_key(&(from, to)) && self.sums.len() >= MOST_SUMS {
            self.sums.clear();
        }
        let by_day = &self.by_day;
        self.sums.entry((from, to)).or_insert_with(|| {
            let mut sums: HashMap<Key, Counts> = HashMap::new();
            for (key, counts) in by_day.range(from..to).flat_map(|(_, groups)| groups) {
                let sum = sums.entry(key.clone()).or_default();
                for (sum, count) in sum.iter_mut().zip(counts) {
                    *sum += count;
                }
            }
            sums
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{DaySet, Held, Key, Row};

    fn row(day: i64, partner: i64, submitted: i64) -> Row {
        Row {
            day,
            key: Key::Number(partner),
            counts: [submitted, 0, 0],
        }
    }

    #[test]
    fn sums_follow_the_days_counted_again() {
        let mut held = Held::default();
        held.replace(
            &DaySet::run(1, 4),
            vec![row(1, 7, 2), row(2, 7, 1), row(3, 8, 5)],
        );
        assert_eq!(held.sum(1, 3).get(&Key::Number(7)), Some(&[3, 0, 0]));
        assert_eq!(held.sum(1, 4).len(), 2);
        held.forget(2);
        assert_eq!(held.lacking(0, 4).runs(), [(0, 1), (2, 3)]);
        held.replace(&DaySet::run(2, 3), vec![row(2, 8, 4)]);
        assert_eq!(held.sum(1, 3).get(&Key::Number(7)), Some(&[2, 0, 0]));
        assert_eq!(held.sum(1, 3).get(&Key::Number(8)), Some(&[4, 0, 0]));
        held.replace(&DaySet::run(1, 2), Vec::new());
        assert_eq!(held.sum(1, 3).get(&Key::Number(7)), None, "nothing left");
        assert_eq!(held.sum(1, 4).get(&Key::Number(8)), Some(&[9, 0, 0]));
        let days: Vec<i64> = held.days(0, 9).map(|(day, _, _)| day).collect();
        assert_eq!(days, [2, 3]);
    }
}
