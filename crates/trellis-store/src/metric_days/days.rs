//! Sets of UTC days (days since the Unix epoch), kept as sorted, disjoint,
//! half-open runs: the days a figure's kept parts are complete for, and
//! the days a period still lacks.

/// Days as runs `[from, to)`; never an empty run, never two that touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DaySet(Vec<(i64, i64)>);

impl DaySet {
    /// The days `from` up to (not including) `to`.
    pub(crate) fn run(from: i64, to: i64) -> DaySet {
        DaySet(if from < to {
            vec![(from, to)]
        } else {
            Vec::new()
        })
    }

    pub(crate) fn runs(&self) -> &[(i64, i64)] {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The days of `[from, to)` this set lacks.
    pub(crate) fn lacking(&self, from: i64, to: i64) -> DaySet {
        let mut gaps = Vec::new();
        let mut at = from;
        for &(lo, hi) in self.0.iter().filter(|&&(lo, hi)| hi > from && lo < to) {
            if lo > at {
                gaps.push((at, lo));
            }
            at = at.max(hi);
        }
        if at < to {
            gaps.push((at, to));
        }
        DaySet(gaps)
    }

    /// Adds every day of `other`.
    pub(crate) fn add(&mut self, other: &DaySet) {
        let mut all = std::mem::take(&mut self.0);
        all.extend_from_slice(&other.0);
        all.sort_unstable();
        for (lo, hi) in all {
            match self.0.last_mut() {
                Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                _ => self.0.push((lo, hi)),
            }
        }
    }

    /// Takes one day out.
    pub(crate) fn remove(&mut self, day: i64) {
        if let Some(at) = self.0.iter().position(|&(lo, hi)| lo <= day && day < hi) {
            let (lo, hi) = self.0[at];
            let rest = [(lo, day), (day + 1, hi)];
            self.0
                .splice(at..=at, rest.into_iter().filter(|(lo, hi)| lo < hi));
        }
    }

    /// The same days in at most `most` runs: past that, the one run from
    /// the first day to the last. A statement over the runs stays short,
    /// and counting a day again that was complete changes nothing.
    pub(crate) fn coarse(self, most: usize) -> DaySet {
        match (self.0.first(), self.0.last()) {
            (Some(&(from, _)), Some(&(_, to))) if self.0.len() > most => DaySet::run(from, to),
            _ => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DaySet;

    fn set(runs: &[(i64, i64)]) -> DaySet {
        let mut days = DaySet::default();
        for &(from, to) in runs {
            days.add(&DaySet::run(from, to));
        }
        days
    }

    #[test]
    fn runs_that_touch_or_overlap_merge() {
        assert_eq!(
            set(&[(5, 8), (1, 3), (3, 4), (7, 10)]).runs(),
            [(1, 4), (5, 10)]
        );
        assert!(DaySet::run(4, 4).is_empty());
    }

    #[test]
    fn what_a_period_lacks_is_what_no_run_covers() {
        let held = set(&[(10, 20), (30, 40)]);
        assert_eq!(held.lacking(0, 50).runs(), [(0, 10), (20, 30), (40, 50)]);
        assert_eq!(held.lacking(12, 35).runs(), [(20, 30)]);
        assert!(held.lacking(31, 39).is_empty());
        assert_eq!(DaySet::default().lacking(3, 5).runs(), [(3, 5)]);
    }

    #[test]
    fn a_day_taken_out_splits_its_run() {
        let mut held = set(&[(10, 20)]);
        held.remove(10);
        held.remove(15);
        held.remove(19);
        held.remove(40);
        assert_eq!(held.runs(), [(11, 15), (16, 19)]);
        assert_eq!(held.lacking(10, 20).runs(), [(10, 11), (15, 16), (19, 20)]);
    }

    #[test]
    fn too_many_runs_become_one() {
        let scattered = set(&[(1, 2), (5, 6), (9, 10)]);
        assert_eq!(scattered.clone().coarse(3), scattered);
        assert_eq!(scattered.coarse(2).runs(), [(1, 10)]);
    }
}
