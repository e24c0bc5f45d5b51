//! Repeating a failed exchange inline: a few attempts with exponential
//! backoff and jitter, honouring `Retry-After` when it is short. Longer
//! outages are the sync queue's to wait out.

use super::error::Failure;
use rand::Rng;
use std::future::Future;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub(super) struct Retry {
    /// Attempts after the first.
    pub retries: u32,
    /// The first backoff; each later one doubles.
    pub base: Duration,
    /// The longest `Retry-After` waited out inline; a longer one ends the
    /// call at once, and the caller learns how long to wait.
    pub longest_wait: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            retries: 3,
            base: Duration::from_millis(100),
            longest_wait: Duration::from_secs(5),
        }
    }
}

impl Retry {
    /// Runs `attempt` until it succeeds, fails for good, or the retries are
    /// spent; only [`Failure::Transient`] is repeated.
    pub(super) async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut retries = 0;
        loop {
            match attempt().await {
                Err(Failure::Transient {
                    message,
                    retry_after,
                }) if retries < self.retries => {
                    let wait = match retry_after {
                        Some(wait) if wait > self.longest_wait => {
                            return Err(Failure::Transient {
                                message,
                                retry_after,
                            })
                        }
                        Some(wait) => wait,
                        None => self.backoff(retries),
                    };
                    retries += 1;
                    tracing::info!(%message, retry = retries, ?wait, "repeating a Salesforce call");
                    tokio::time::sleep(wait).await;
                }
                Err(Failure::Transient {
                    message,
                    retry_after,
                }) if retries > 0 => {
                    return Err(Failure::Transient {
                        message: format!("{message} (tried {} times)", retries + 1),
                        retry_after,
                    })
                }
                other => return other,
            }
        }
    }

    /// `base * 2^n`, plus up to half as much again at random so that
    /// callers failed by the same outage do not return in step.
    fn backoff(&self, retry: u32) -> Duration {
        let exponential = self.base.saturating_mul(1 << retry.min(16));
        let jitter = rand::rng().random_range(0..=exponential.as_millis() / 2);
        exponential + Duration::from_millis(u64::try_from(jitter).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::CrmError;
    use std::cell::Cell;

    fn transient(retry_after: Option<Duration>) -> Failure {
        Failure::Transient {
            message: "503".into(),
            retry_after,
        }
    }

    fn quick() -> Retry {
        Retry {
            retries: 3,
            base: Duration::from_millis(1),
            longest_wait: Duration::from_millis(50),
        }
    }

    #[tokio::test]
    async fn transient_failures_are_repeated_until_the_retries_are_spent() {
        let attempts = Cell::new(0);
        let result: Result<(), _> = quick()
            .run(|| {
                attempts.set(attempts.get() + 1);
                async { Err(transient(None)) }
            })
            .await;
        assert!(matches!(result, Err(Failure::Transient { .. })));
        assert_eq!(attempts.get(), 4);
    }

    #[tokio::test]
    async fn final_failures_and_long_waits_end_at_once() {
        let attempts = Cell::new(0);
        let result: Result<(), _> = quick()
            .run(|| {
                attempts.set(attempts.get() + 1);
                async {
                    Err(Failure::Final(CrmError::Refused {
                        message: "no".into(),
                    }))
                }
            })
            .await;
        assert!(matches!(result, Err(Failure::Final(_))));
        let result: Result<(), _> = quick()
            .run(|| {
                attempts.set(attempts.get() + 1);
                async { Err(transient(Some(Duration::from_secs(60)))) }
            })
            .await;
        assert!(matches!(
            result,
            Err(Failure::Transient { retry_after: Some(wait), .. }) if wait == Duration::from_secs(60)
        ));
        assert_eq!(attempts.get(), 2);
    }

    #[test]
    fn backoff_doubles_within_its_jitter() {
        let retry = Retry {
            base: Duration::from_millis(100),
            ..Retry::default()
        };
        for n in 0..3 {
            let wait = retry.backoff(n);
            let floor = Duration::from_millis(100 << n);
            assert!(wait >= floor && wait <= floor * 3 / 2, "{wait:?}");
        }
    }
}
