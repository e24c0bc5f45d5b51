//! A local Slack incoming webhook. It takes `POST /services/...` with a
//! JSON message, checks it as Slack does (a body that is not JSON is
//! `invalid_payload`, a message with neither `text` nor `blocks` is
//! `no_text`, malformed Block Kit is `invalid_blocks`), keeps what it
//! accepted, and can be told to give any of Slack's documented answers
//! instead: once, for the next posts, or always (a revoked hook).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// One of Slack's documented answers to a webhook post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 200 `ok`.
    Ok,
    /// 400: the body is not a message.
    InvalidPayload,
    /// 400: the Block Kit is not valid.
    InvalidBlocks,
    /// 403: the workspace does not let the hook post there.
    ActionProhibited,
    /// 404: the hook was revoked or its app removed.
    NoService,
    /// 404: the hook's channel was deleted.
    ChannelNotFound,
    /// 410: the hook's channel is archived.
    ChannelIsArchived,
    /// 429 with `Retry-After: seconds`.
    RateLimited { retry_after: u64 },
    /// 500 `rollup_error`: Slack's own failure.
    ServerError,
}

impl Answer {
    fn status_and_text(self) -> (StatusCode, &'static str) {
        match self {
            Answer::Ok => (StatusCode::OK, "ok"),
            Answer::InvalidPayload => (StatusCode::BAD_REQUEST, "invalid_payload"),
            Answer::InvalidBlocks => (StatusCode::BAD_REQUEST, "invalid_blocks"),
            Answer::ActionProhibited => (StatusCode::FORBIDDEN, "action_prohibited"),
            Answer::NoService => (StatusCode::NOT_FOUND, "no_service"),
            Answer::ChannelNotFound => (StatusCode::NOT_FOUND, "channel_not_found"),
            Answer::ChannelIsArchived => (StatusCode::GONE, "channel_is_archived"),
            Answer::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Answer::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "rollup_error"),
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let (status, text) = self.status_and_text();
        match self {
            Answer::RateLimited { retry_after } => (
                status,
                [(header::RETRY_AFTER, retry_after.to_string())],
                text,
            )
                .into_response(),
            _ => (status, text).into_response(),
        }
    }
}

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    /// The hook's path after `/services/`, `T000/B000/XXXX`.
    pub hook: String,
    pub message: Value,
}

#[derive(Default)]
struct Inner {
    accepted: Vec<Posted>,
    posts: usize,
    next: VecDeque<Answer>,
    always: Option<Answer>,
}

/// The running fake; it serves until the runtime ends.
#[derive(Clone)]
pub struct FakeSlack {
    base: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeSlack {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> anyhow::Result<FakeSlack> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/services/{*hook}", post(receive))
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(FakeSlack { base, inner })
    }

    /// An incoming-webhook URL on this fake, shaped like Slack's.
    pub fn webhook_url(&self, team: &str, hook: &str, secret: &str) -> String {
        format!("{}/services/{team}/{hook}/{secret}", self.base)
    }

    /// Answers the next posts with `answers`, in order, then as before.
    pub fn answer_next(&self, answers: impl IntoIterator<Item = Answer>) {
        self.lock().next.extend(answers);
    }

    /// Answers every later post with `answer` (`NoService`: a revoked hook).
    pub fn answer_always(&self, answer: Answer) {
        self.lock().always = Some(answer);
    }

    /// The messages accepted so far, oldest first.
    pub fn messages(&self) -> Vec<Posted> {
        self.lock().accepted.clone()
    }

    /// Every post received, accepted or not.
    pub fn posts(&self) -> usize {
        self.lock().posts
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }
}

/// A test that panicked while holding the lock leaves the data usable.
fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(hook): Path<String>,
    body: Bytes,
) -> Answer {
    let mut inner = lock(&inner);
    inner.posts += 1;
    let told = inner.next.pop_front().or(inner.always);
    if let Some(answer) = told.filter(|a| *a != Answer::Ok) {
        return answer;
    }
    let message: Value = match serde_json::from_slice(&body) {
        Ok(message @ Value::Object(_)) => message,
        _ => return Answer::InvalidPayload,
    };
    if let Err(answer) = check(&message) {
        return answer;
    }
    inner.accepted.push(Posted { hook, message });
    Answer::Ok
}

/// Slack's checks of a message: some `text` or some `blocks`, and blocks
/// of a known type within their limits.
fn check(message: &Value) -> Result<(), Answer> {
    let text = message["text"].as_str().is_some_and(|t| !t.is_empty());
    match &message["blocks"] {
        Value::Null if text => Ok(()),
        Value::Null => Err(Answer::InvalidPayload),
        Value::Array(blocks) if blocks.len() <= 50 && blocks.iter().all(valid_block) => Ok(()),
        _ => Err(Answer::InvalidBlocks),
    }
}

fn valid_block(block: &Value) -> bool {
    let text = |value: &Value, kinds: &[&str], limit: usize| {
        kinds.contains(&value["type"].as_str().unwrap_or_default())
            && value["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty() && t.chars().count() <= limit)
    };
    match block["type"].as_str() {
        Some("header") => text(&block["text"], &["plain_text"], 150),
        Some("section") => text(&block["text"], &["plain_text", "mrkdwn"], 3000),
        Some("context") => block["elements"].as_array().is_some_and(|elements| {
            (1..=10).contains(&elements.len())
                && elements
                    .iter()
                    .all(|e| text(e, &["plain_text", "mrkdwn"], 3000))
        }),
        Some("divider") => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_are_checked_as_slack_checks_them() {
        let header =
            |text: &str| json!({"type": "header", "text": {"type": "plain_text", "text": text}});
        assert_eq!(check(&json!({"text": "hello"})), Ok(()));
        assert_eq!(check(&json!({"blocks": [header("Hi")]})), Ok(()));
        assert_eq!(check(&json!({})), Err(Answer::InvalidPayload));
        let long = "x".repeat(151);
        assert_eq!(
            check(&json!({"blocks": [header(&long)]})),
            Err(Answer::InvalidBlocks)
        );
        let mrkdwn_header = json!({"type": "header", "text": {"type": "mrkdwn", "text": "Hi"}});
        assert_eq!(
            check(&json!({"blocks": [mrkdwn_header]})),
            Err(Answer::InvalidBlocks)
        );
        assert_eq!(
            check(&json!({"blocks": [{"type": "video"}]})),
            Err(Answer::InvalidBlocks)
        );
    }

    #[tokio::test]
    async fn it_answers_as_told_and_keeps_what_it_accepted() {
        let slack = FakeSlack::start().await.expect("fake");
        let url = slack.webhook_url("T000", "B000", "secret");
        let http = reqwest::Client::new();
        let send = |body: &'static str| http.post(&url).body(body).send();
        slack.answer_next([Answer::RateLimited { retry_after: 3 }]);
        let limited = send(r#"{"text": "hi"}"#).await.expect("post");
        assert_eq!(limited.status(), 429);
        assert_eq!(limited.headers()["retry-after"], "3");
        assert_eq!(send(r#"{"text": "hi"}"#).await.expect("post").status(), 200);
        assert_eq!(send("not json").await.expect("post").status(), 400);
        slack.answer_always(Answer::NoService);
        let revoked = send(r#"{"text": "hi"}"#).await.expect("post");
        assert_eq!(revoked.status(), 404);
        assert_eq!(revoked.text().await.expect("text"), "no_service");
        assert_eq!(slack.posts(), 4);
        let accepted = slack.messages();
        assert_eq!(accepted.len(), 1);
        assert_eq!(accepted[0].hook, "T000/B000/secret");
    }
}
