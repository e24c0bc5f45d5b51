//! HTTP to HubSpot: the bearer token, retries, and HubSpot's rate limits.
//!
//! Every call the connector makes is safe to repeat, so a 429, a 5xx, a
//! timeout or a dropped connection is retried here a few times with
//! exponential backoff and jitter, honouring `Retry-After` (or HubSpot's
//! rate-limit interval) up to [`MAX_WAIT`]. Past that, the call fails as
//! [`CrmError::Unavailable`] and the sync queue tries again later. Auth
//! failures are [`CrmError::Refused`]; every other answer goes back to the
//! caller, who knows what its endpoint's answers mean.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use super::error::HubSpotError;
use crate::crm::CrmError;

/// Retries after the first attempt.
const MAX_RETRIES: u32 = 3;
/// The first backoff; it doubles with each retry, up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The longest wait spent inside one call. HubSpot's rolling window is ten
/// seconds; a longer `Retry-After` is handed back to the sync queue.
const MAX_WAIT: Duration = Duration::from_secs(10);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

const REMAINING: &str = "x-hubspot-ratelimit-remaining";
const INTERVAL: &str = "x-hubspot-ratelimit-interval-milliseconds";

/// One request: method, path under the base URL, query and JSON body.
pub(super) struct Call {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl Call {
    pub fn get(path: String) -> Call {
        Call {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
        }
    }

    pub fn post(path: String, body: Value) -> Call {
        Call {
            method: Method::POST,
            path,
            query: Vec::new(),
            body: Some(body),
        }
    }

    pub fn query(mut self, name: &'static str, value: impl Into<String>) -> Call {
        self.query.push((name, value.into()));
        self
    }

    /// `POST /crm/v3/...`, for messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// An answer the caller interprets: any status but 401, 403, 429 and 5xx.
pub(super) struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

pub(super) struct Client {
    http: reqwest::Client,
    base_url: String,
    /// Sent only as the bearer token; never logged or put in messages.
    token: String,
    timeout: Duration,
    calls: AtomicU64,
    /// No request leaves before this instant: HubSpot said the rate-limit
    /// window was used up.
    not_before: Mutex<Option<Instant>>,
}

/// What one attempt came to.
enum Attempt {
    Answered(Reply),
    Failed(CrmError),
    /// Worth another try; `wait` is how long HubSpot asked us to wait.
    Retry {
        trouble: String,
        wait: Option<Duration>,
    },
}

impl Client {
    pub fn new(base_url: &str, token: String) -> Client {
        Client {
            http: build_http(DEFAULT_TIMEOUT),
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            timeout: DEFAULT_TIMEOUT,
            calls: AtomicU64::new(0),
            not_before: Mutex::new(None),
        }
    }

    pub fn set_timeout(&mut self, timeout: Duration) {
        self.http = build_http(timeout);
        self.timeout = timeout;
    }

    /// HTTP requests sent so far, retries included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Sends `call`, retrying what is worth retrying.
    pub async fn send(&self, call: &Call) -> Result<Reply, CrmError> {
        let mut retries = 0;
        loop {
            self.keep_pace().await;
            let (trouble, wait) = match self.attempt(call).await {
                Attempt::Answered(reply) => return Ok(reply),
                Attempt::Failed(error) => return Err(error),
                Attempt::Retry { trouble, wait } => (trouble, wait),
            };
            let delay = wait.unwrap_or_else(|| backoff(retries));
            if retries == MAX_RETRIES || delay > MAX_WAIT {
                return Err(self.give_up(call, retries + 1, &trouble, wait));
            }
            tracing::debug!(call = %call.describe(), %trouble, ?delay, "retrying a HubSpot call");
            tokio::time::sleep(delay).await;
            retries += 1;
        }
    }

    async fn attempt(&self, call: &Call) -> Attempt {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .http
            .request(
                call.method.clone(),
                format!("{}{}", self.base_url, call.path),
            )
            .bearer_auth(&self.token)
            .query(&call.query);
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return self.transport_trouble(&error),
        };
        self.note_rate_limit(response.headers());
        let status = response.status();
        let headers = response.headers().clone();
        match response.bytes().await {
            Ok(body) => classify(call, status, &headers, &body),
            Err(error) => self.transport_trouble(&error),
        }
    }

    fn transport_trouble(&self, error: &reqwest::Error) -> Attempt {
        let trouble = if error.is_timeout() {
            format!("HubSpot did not answer within {:?}", self.timeout)
        } else if error.is_connect() {
            format!("could not connect to {} ({error})", self.base_url)
        } else {
            format!("the connection dropped before HubSpot answered ({error})")
        };
        Attempt::Retry {
            trouble,
            wait: None,
        }
    }

    /// Waits out a rate-limit window HubSpot said was used up.
    async fn keep_pace(&self) {
        let not_before = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(instant) = not_before {
            tokio::time::sleep_until(instant).await;
        }
    }

    /// When HubSpot says no request is left in its window, the next one waits
    /// for the window to pass rather than earn a 429.
    fn note_rate_limit(&self, headers: &HeaderMap) {
        if header_number(headers, REMAINING) != Some(0) {
            return;
        }
        let window = interval(headers).unwrap_or(MAX_WAIT).min(MAX_WAIT);
        *self.not_before.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + window);
    }

    fn give_up(
        &self,
        call: &Call,
        attempts: u32,
        trouble: &str,
        retry_after: Option<Duration>,
    ) -> CrmError {
        CrmError::Unavailable {
            message: format!(
                "{} failed after {attempts} attempt(s): {trouble}. Nothing needs fixing in \
                 Trellis: the sync tries again later. If it persists, check HubSpot's status \
                 page and that {} is reachable from this server.",
                call.describe(),
                self.base_url
            ),
            retry_after,
        }
    }
}

fn build_http(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .expect("the HTTP client builds with the default TLS configuration")
}

/// Sorts an answer into done, failed for good, or worth another try.
fn classify(call: &Call, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Attempt {
    let code = status.as_u16();
    match status {
        StatusCode::TOO_MANY_REQUESTS => rate_limited(headers, &HubSpotError::parse(body)),
        StatusCode::UNAUTHORIZED => Attempt::Failed(CrmError::Refused {
            message: format!(
                "HubSpot did not accept the access token. {}. Check that the token Trellis is \
                 given is the current one of the private app (HubSpot shows it on the app's \
                 Auth tab), or sign in again for an OAuth token.",
                HubSpotError::parse(body).said()
            ),
        }),
        StatusCode::FORBIDDEN => Attempt::Failed(forbidden(call, &HubSpotError::parse(body))),
        _ if status.is_server_error() => Attempt::Retry {
            trouble: format!("HTTP {code}. {}", HubSpotError::parse(body).said()),
            wait: retry_after(headers),
        },
        _ => match read_json(body) {
            Some(body) => Attempt::Answered(Reply { status: code, body }),
            None => Attempt::Retry {
                trouble: format!("HTTP {code} with a body that is not JSON"),
                wait: None,
            },
        },
    }
}

/// An empty body reads as `null`; anything else must be JSON.
fn read_json(body: &[u8]) -> Option<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(Value::Null);
    }
    serde_json::from_slice(body).ok()
}

fn rate_limited(headers: &HeaderMap, error: &HubSpotError) -> Attempt {
    if error.policy_name.as_deref() == Some("DAILY") {
        return Attempt::Failed(CrmError::Unavailable {
            message: format!(
                "HubSpot's daily API limit for this account is used up. {}. Syncing resumes \
                 after midnight in the HubSpot account's time zone; to sync more a day, raise \
                 the account's API limit.",
                error.said()
            ),
            retry_after: None,
        });
    }
    Attempt::Retry {
        trouble: format!(
            "HubSpot's rate limit was reached (HTTP 429). {}. Other integrations may share this \
             account's limit.",
            error.said()
        ),
        wait: retry_after(headers).or_else(|| interval(headers)),
    }
}

fn forbidden(call: &Call, error: &HubSpotError) -> CrmError {
    let scopes = error.missing_scopes();
    let fix = if scopes.is_empty() {
        "Give the private app the read and write scopes of the [crm] objects (for deals: \
         crm.objects.deals.read and crm.objects.deals.write) and use its new token."
            .to_owned()
    } else {
        format!(
            "Add the scope(s) {} to the private app in HubSpot and use its new token.",
            scopes.join(", ")
        )
    };
    CrmError::Refused {
        message: format!(
            "HubSpot refused {} for lack of permission. {}. {fix}",
            call.describe(),
            error.said()
        ),
    }
}

/// `Retry-After` in seconds (HubSpot does not send the HTTP-date form).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_number(headers, RETRY_AFTER.as_str()).map(Duration::from_secs)
}

fn interval(headers: &HeaderMap) -> Option<Duration> {
    header_number(headers, INTERVAL).map(Duration::from_millis)
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Exponential backoff with "equal jitter": half the step is fixed, half
/// random, so retries from many callers spread out without collapsing to 0.
fn backoff(retry: u32) -> Duration {
    let step = BASE_BACKOFF
        .saturating_mul(2u32.saturating_pow(retry))
        .min(MAX_BACKOFF);
    let half = step / 2;
    let jitter_ms = rand::rng().random_range(0..=half.as_millis());
    half + Duration::from_millis(u64::try_from(jitter_ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for retry in 0..10 {
            let step = (BASE_BACKOFF * 2u32.pow(retry.min(5))).min(MAX_BACKOFF);
            let delay = backoff(retry);
            assert!(
                delay >= step / 2 && delay <= step,
                "retry {retry}: {delay:?}"
            );
        }
    }

    #[test]
    fn retry_after_wins_over_the_interval() {
        let mut headers = HeaderMap::new();
        headers.insert(INTERVAL, HeaderValue::from_static("10000"));
        let error = HubSpotError::default();
        let Attempt::Retry { wait, .. } = rate_limited(&headers, &error) else {
            panic!("a ten-second limit is retried");
        };
        assert_eq!(wait, Some(Duration::from_secs(10)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        let Attempt::Retry { wait, .. } = rate_limited(&headers, &error) else {
            panic!("a ten-second limit is retried");
        };
        assert_eq!(wait, Some(Duration::from_secs(2)));
    }

    #[test]
    fn the_daily_limit_is_not_retried_inline() {
        let error = HubSpotError {
            policy_name: Some("DAILY".into()),
            ..HubSpotError::default()
        };
        assert!(matches!(
            rate_limited(&HeaderMap::new(), &error),
            Attempt::Failed(CrmError::Unavailable { .. })
        ));
    }
}
