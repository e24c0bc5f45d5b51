//! What the fake counts and how it misbehaves: calls per endpoint, the
//! rolling rate-limit window HubSpot enforces, and a script of faults.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

/// Where a request went.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /crm/v3/objects/{object}/batch/upsert`
    Upsert(String),
    /// `GET /crm/v3/objects/{object}`
    List(String),
    /// `POST /crm/v3/objects/{object}/search`
    Search(String),
    /// `GET /crm/v3/properties/{object}`
    Properties(String),
    /// `POST /crm/v4/associations/{from}/{to}/batch/associate/default`
    Associate(String, String),
}

impl Endpoint {
    pub fn upsert(object: &str) -> Endpoint {
        Endpoint::Upsert(object.to_owned())
    }

    pub fn associate(from: &str, to: &str) -> Endpoint {
        Endpoint::Associate(from.to_owned(), to.to_owned())
    }

    /// The scope a private app needs for it, named in a 403.
    pub(crate) fn scope(&self) -> String {
        match self {
            Endpoint::Upsert(object) | Endpoint::Associate(object, _) => {
                format!("crm.objects.{object}.write")
            }
            Endpoint::List(object) | Endpoint::Search(object) => {
                format!("crm.objects.{object}.read")
            }
            Endpoint::Properties(object) => format!("crm.schemas.{object}.read"),
        }
    }
}

/// One misbehaviour, for the next request it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A 429 of the ten-second limit, with `Retry-After` (seconds) if given.
    RateLimited { retry_after_secs: Option<u64> },
    /// A 500 with HubSpot's error body; nothing is applied.
    ServerError,
    /// The request is applied, and answered only after this long.
    Slow(Duration),
    /// The request is applied, then the connection closes without an answer.
    DropConnection,
    /// A 403: the private app lacks the endpoint's scope.
    MissingScopes,
}

/// HubSpot's burst limit: `max` requests in any rolling `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub interval: Duration,
}

/// The rate-limit headers of one answer, and whether the request may pass.
pub(crate) struct Rate {
    pub allowed: bool,
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Default)]
pub(crate) struct Traffic {
    calls: HashMap<Endpoint, u64>,
    faults: VecDeque<(Option<Endpoint>, Fault)>,
    limit: Option<RateLimit>,
    window: VecDeque<Instant>,
    pub rate_limited: u64,
}

impl Traffic {
    pub fn new(limit: Option<RateLimit>) -> Traffic {
        Traffic {
            limit,
            ..Traffic::default()
        }
    }

    pub fn count(&mut self, endpoint: &Endpoint) {
        *self.calls.entry(endpoint.clone()).or_default() += 1;
    }

    pub fn calls(&self, endpoint: &Endpoint) -> u64 {
        self.calls.get(endpoint).copied().unwrap_or(0)
    }

    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Queues `fault` for the next request to `endpoint` (any when `None`).
    pub fn inject(&mut self, endpoint: Option<Endpoint>, fault: Fault) {
        self.faults.push_back((endpoint, fault));
    }

    /// The first queued fault meant for `endpoint`, taken off the queue.
    pub fn take_fault(&mut self, endpoint: &Endpoint) -> Option<Fault> {
        let position = self
            .faults
            .iter()
            .position(|(target, _)| target.as_ref().is_none_or(|t| t == endpoint))?;
        self.faults.remove(position).map(|(_, fault)| fault)
    }

    /// Takes a place in the rolling window, as HubSpot counts requests.
    pub fn rate(&mut self, now: Instant) -> Rate {
        let Some(limit) = self.limit else {
            return Rate {
                allowed: true,
                headers: Vec::new(),
            };
        };
        while self
            .window
            .front()
            .is_some_and(|sent| now.duration_since(*sent) >= limit.interval)
        {
            self.window.pop_front();
        }
        let max = usize::try_from(limit.max).unwrap_or(usize::MAX);
        let allowed = self.window.len() < max;
        if allowed {
            self.window.push_back(now);
        }
        Rate {
            allowed,
            headers: vec![
                ("x-hubspot-ratelimit-max", limit.max.to_string()),
                (
                    "x-hubspot-ratelimit-remaining",
                    (max - self.window.len()).to_string(),
                ),
                (
                    "x-hubspot-ratelimit-interval-milliseconds",
                    limit.interval.as_millis().to_string(),
                ),
            ],
        }
    }
}
