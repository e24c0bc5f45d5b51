//! The one source of "now". Production reads the system clock; under
//! `--test-clock` staff can set the time, so hold windows and SLAs can be
//! tested end to end without waiting weeks.

use std::sync::{Arc, RwLock};
use time::OffsetDateTime;

#[derive(Clone)]
pub struct Clock {
    /// `None`: the system clock. `Some`: a settable test time.
    fixed: Option<Arc<RwLock<OffsetDateTime>>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock { fixed: None }
    }

    pub fn test(start: OffsetDateTime) -> Clock {
        Clock {
            fixed: Some(Arc::new(RwLock::new(start))),
        }
    }

    pub fn is_test(&self) -> bool {
        self.fixed.is_some()
    }

    /// The current time, to the microsecond: the precision the database
    /// keeps, so what a command answers is exactly what a later read shows.
    pub fn now(&self) -> OffsetDateTime {
        let now = match &self.fixed {
            Some(at) => *at.read().unwrap_or_else(|poisoned| poisoned.into_inner()),
            None => OffsetDateTime::now_utc(),
        };
        let micros = now.nanosecond() / 1_000 * 1_000;
        now.replace_nanosecond(micros).unwrap_or(now)
    }

    /// Sets the test time; returns false on a system clock.
    pub fn set(&self, now: OffsetDateTime) -> bool {
        match &self.fixed {
            Some(at) => {
                *at.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = now;
                true
            }
            None => false,
        }
    }
}
