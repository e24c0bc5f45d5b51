//! One request's parts summed over its period: by day for the time series,
//! by key for the rest.

use super::parts::{Counts, Key, Part};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default)]
pub(crate) struct Tally {
    per_day: HashMap<Part, BTreeMap<i64, Counts>>,
    per_key: HashMap<Part, HashMap<Key, Counts>>,
}

impl Tally {
    /// One group of one day: a time series sums it into its day, a total
    /// into its key.
    pub(crate) fn add(&mut self, part: Part, day: i64, key: &Key, counts: &Counts) {
        let sum = if part.is_series() {
            self.per_day
                .entry(part)
                .or_default()
                .entry(day)
                .or_default()
        } else {
            let sums = self.per_key.entry(part).or_default();
            sums.entry(key.clone()).or_default()
        };
        for (sum, count) in sum.iter_mut().zip(counts) {
            *sum += count;
        }
    }

    /// A total's groups already summed over the period.
    pub(crate) fn add_sums(&mut self, part: Part, sums: &HashMap<Key, Counts>) {
        for (key, counts) in sums {
            self.add(part, 0, key, counts);
        }
    }

    /// A time series: each day's counts, in order.
    pub(crate) fn days(&self, part: Part) -> impl Iterator<Item = (i64, Counts)> + '_ {
        self.per_day
            .get(&part)
            .into_iter()
            .flatten()
            .map(|(day, counts)| (*day, *counts))
    }

    /// A total's groups in the order of their keys.
    pub(crate) fn sorted(&self, part: Part) -> Vec<(Key, Counts)> {
        let mut groups: Vec<(Key, Counts)> = self
            .per_key
            .get(&part)
            .into_iter()
            .flatten()
            .map(|(key, counts)| (key.clone(), *counts))
            .collect();
        groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        groups
    }

    /// A total's `top` largest groups by their first count, ties in the
    /// order of their keys.
    pub(crate) fn ranked(&self, part: Part, top: usize) -> Vec<(Key, Counts)> {
        let mut groups = self.sorted(part);
        groups.sort_by(|a, b| b.1[0].cmp(&a.1[0]));
        groups.truncate(top);
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::{Key, Part, Tally};

    #[test]
    fn days_and_groups_sum_and_rank() {
        let mut tally = Tally::default();
        tally.add(Part::Outcomes, 3, &Key::Whole, &[1, 2, 0]);
        tally.add(Part::Outcomes, 1, &Key::Whole, &[4, 0, 0]);
        tally.add(Part::Outcomes, 3, &Key::Whole, &[1, 1, 0]);
        let days: Vec<_> = tally.days(Part::Outcomes).collect();
        assert_eq!(days, [(1, [4, 0, 0]), (3, [2, 3, 0])]);
        let label = |l: &str| Key::Label(Some(l.into()));
        tally.add(Part::BySegment, 1, &label("smb"), &[2, 1, 0]);
        tally.add(Part::BySegment, 2, &label("smb"), &[1, 0, 0]);
        tally.add(Part::BySegment, 1, &label("enterprise"), &[3, 0, 0]);
        tally.add(Part::BySegment, 1, &Key::Label(None), &[1, 0, 0]);
        let ranked = tally.ranked(Part::BySegment, 2);
        assert_eq!(
            ranked,
            [(label("enterprise"), [3, 0, 0]), (label("smb"), [3, 1, 0])]
        );
        assert_eq!(tally.sorted(Part::BySegment)[0].0, Key::Label(None));
        assert!(tally.days(Part::Meetings).next().is_none());
    }
}
