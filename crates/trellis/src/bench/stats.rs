//! Measured runs and how they are printed: every figure in one table with
//! its reference, then each target with whether this run met it.

use std::time::Duration;

/// One measured series of operations.
pub struct Run {
    pub label: String,
    /// Wall time of the whole series (for a sequential series, the sum of
    /// its latencies).
    pub elapsed: Duration,
    /// Every operation's latency, sorted.
    latencies: Vec<Duration>,
}

impl Run {
    pub fn new(label: impl Into<String>, elapsed: Duration, mut latencies: Vec<Duration>) -> Run {
        latencies.sort_unstable();
        Run {
            label: label.into(),
            elapsed,
            latencies,
        }
    }

    /// A sequential series: its wall time is the sum of its latencies.
    pub fn sequential(label: impl Into<String>, latencies: Vec<Duration>) -> Run {
        let elapsed = latencies.iter().sum();
        Run::new(label, elapsed, latencies)
    }

    /// Operations per second over the whole series.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The latency `percent` of the operations stayed within (nearest rank).
    pub fn percentile(&self, percent: usize) -> Duration {
        let rank = (self.latencies.len() * percent).div_ceil(100).max(1);
        self.latencies.get(rank - 1).copied().unwrap_or_default()
    }
}

/// Prints runs as rows of one table, so a figure and its reference line up.
pub fn print_table(runs: &[&Run]) {
    let width = runs.iter().map(|r| r.label.len()).max().unwrap_or(0);
    println!(
        "  {:width$}  {:>8}  {:>9}  {:>9}  {:>9}  {:>9}",
        "", "count", "per sec", "p50 ms", "p95 ms", "p99 ms"
    );
    for run in runs {
        println!(
            "  {:width$}  {:>8}  {:>9}  {:>9}  {:>9}  {:>9}",
            run.label,
            thousands(run.latencies.len() as u64),
            thousands(run.rate().round() as u64),
            ms(run.percentile(50)),
            ms(run.percentile(95)),
            ms(run.percentile(99)),
        );
    }
}

/// A goal from the brief and how this run compares with it.
pub struct Target {
    pub goal: String,
    pub measured: String,
    pub met: bool,
}

pub fn print_targets(targets: &[Target]) {
    println!("targets:");
    for t in targets {
        let verdict = if t.met { "met" } else { "MISSED" };
        println!("  {:<34} {:>14}  {verdict}", t.goal, t.measured);
    }
}

/// Milliseconds with three decimals: sub-millisecond lookups stay readable.
pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let reversed: Vec<char> = n.to_string().chars().rev().collect();
    let groups: Vec<String> = reversed
        .chunks(3)
        .rev()
        .map(|group| group.iter().rev().collect())
        .collect();
    groups.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let run = Run::sequential("x", (1..=100).map(Duration::from_millis).collect());
        assert_eq!(run.percentile(50), Duration::from_millis(50));
        assert_eq!(run.percentile(99), Duration::from_millis(99));
        assert_eq!(Run::sequential("y", vec![]).percentile(99), Duration::ZERO);
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(5_000_000), "5,000,000");
    }
}
