//! Posting a message to a Slack incoming webhook, and reading the answer
//! the way Slack documents it: 200 `ok` is delivered; 429 (with
//! `Retry-After`), a timeout or a 5xx is worth another try; any other
//! refusal (400 `invalid_payload`/`invalid_blocks`, 403
//! `action_prohibited`, 404 `no_service`/`channel_not_found`, 410
//! `channel_is_archived`) fails the same way every time, so it is a dead
//! letter at once, kept with Slack's own words.
//!
//! The webhook URL is a secret: it appears in no error and no log line
//! (reqwest's errors name their URL, so it is stripped).

use crate::outbox::Undelivered;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use std::time::Duration;
use trellis_domain::channels::SlackWebhook;

/// The most of Slack's answer kept with a failure.
const ANSWER_CHARS: usize = 200;

/// Posts `message` (Block Kit JSON) to `hook`.
pub async fn post(
    http: &reqwest::Client,
    hook: &SlackWebhook,
    message: &str,
) -> Result<(), Undelivered> {
    let response = http
        .post(hook.expose())
        .header(CONTENT_TYPE, "application/json")
        .body(message.to_owned())
        .send()
        .await
        .map_err(|e| Undelivered::Retry {
            error: format!("Slack could not be reached: {}", e.without_url()),
            after: None,
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = retry_after(&response);
    let answer: String = response
        .text()
        .await
        .unwrap_or_default()
        .trim()
        .chars()
        .take(ANSWER_CHARS)
        .collect();
    Err(refusal(status, &answer, retry_after))
}

/// What a refusal means for the message.
fn refusal(status: StatusCode, answer: &str, retry_after: Option<Duration>) -> Undelivered {
    let error = match meaning(answer) {
        Some(meaning) => format!("Slack answered {} {answer}: {meaning}", status.as_u16()),
        None => format!("Slack answered {} {answer}", status.as_u16()),
    };
    let transient = status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error();
    if transient {
        Undelivered::Retry {
            error,
            after: retry_after,
        }
    } else {
        Undelivered::Dead { error }
    }
}

/// What staff should do about Slack's documented error strings.
fn meaning(answer: &str) -> Option<&'static str> {
    Some(match answer {
        "no_service" => "the webhook was revoked or its app removed; set a new webhook URL",
        "channel_not_found" => "the webhook's channel no longer exists; set a new webhook URL",
        "channel_is_archived" => {
            "the webhook's channel is archived; unarchive it or set a new webhook URL"
        }
        "action_prohibited" => "the workspace does not let this webhook post there",
        "invalid_payload" | "invalid_blocks" | "no_text" => "Slack could not read the message",
        "rate_limited" => "too many messages; tried again when Slack allows",
        _ => return None,
    })
}

/// `Retry-After` in seconds, as Slack sends it with a 429.
fn retry_after(response: &Response) -> Option<Duration> {
    let seconds = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    seconds.trim().parse().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_documented_answer_is_retried_or_dead() {
        let cases = [
            (400, "invalid_payload", false),
            (400, "invalid_blocks", false),
            (403, "action_prohibited", false),
            (404, "no_service", false),
            (404, "channel_not_found", false),
            (410, "channel_is_archived", false),
            (429, "rate_limited", true),
            (500, "rollup_error", true),
            (503, "", true),
        ];
        for (status, answer, retried) in cases {
            let status = StatusCode::from_u16(status).expect("status");
            match refusal(status, answer, None) {
                Undelivered::Retry { error, .. } => {
                    assert!(retried, "{status} {answer} should be dead: {error}");
                    assert!(error.contains(answer), "{error}");
                }
                Undelivered::Dead { error } => {
                    assert!(!retried, "{status} {answer} should be retried: {error}");
                    assert!(
                        error.contains(&format!("{} {answer}", status.as_u16())),
                        "{error}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_429_keeps_slacks_wait() {
        let wait = Some(Duration::from_secs(30));
        let refused = refusal(StatusCode::TOO_MANY_REQUESTS, "rate_limited", wait);
        assert!(matches!(refused, Undelivered::Retry { after, .. } if after == wait));
    }
}
