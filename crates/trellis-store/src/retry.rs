//! When to try again: exponential backoff with jitter, shared by every
//! queue that sends things out (notifications, the CRM sync).

use time::Duration;

/// The delay before attempt `attempts + 1`: `first` doubled for each
/// attempt already made, capped at `cap`, plus up to a quarter of jitter so
/// a service that comes back is not met by every item at once. The jitter
/// is a stable function of `seed` and the attempt, so tests need no random
/// source.
pub(crate) fn retry_delay(first: Duration, attempts: i64, seed: i64, cap: Duration) -> Duration {
    let doublings = (attempts - 1).clamp(0, 16) as u32;
    let delay = (first * 2_i32.pow(doublings)).min(cap);
    delay + delay * (fraction(seed, attempts) / 4.0)
}

/// A stable fraction in 0..1 from the item and attempt.
fn fraction(seed: i64, attempt: i64) -> f64 {
    let mixed =
        (seed as u64 ^ (attempt as u64).rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_at_most_a_quarter_of_jitter() {
        let first = Duration::seconds(10);
        let cap = Duration::minutes(5);
        for (attempts, base) in [(1, 10), (2, 20), (3, 40), (6, 300), (40, 300)] {
            let delay = retry_delay(first, attempts, 7, cap);
            let base = Duration::seconds(base);
            assert!(delay >= base && delay <= base * 1.25, "{attempts}: {delay}");
        }
        assert_ne!(
            retry_delay(first, 3, 1, cap),
            retry_delay(first, 3, 2, cap),
            "items retried together spread out"
        );
    }
}
