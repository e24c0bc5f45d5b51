//! The HTTP side of the connector: signs in and keeps the session, sends
//! each REST call to the instance with its bearer token, counts every
//! request, reads the API usage, repeats transient failures and signs in
//! again, once, when Salesforce says the session is gone.

use super::auth::{Credentials, Session};
use super::error::{self, Answer, Failure};
use super::limits::Usage;
use super::retry::Retry;
use crate::crm::CrmError;
use reqwest::{header, Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use trellis_domain::program::SalesforceSettings;

pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) struct Client {
    http: reqwest::Client,
    credentials: Credentials,
    login_url: String,
    username: Option<String>,
    api_version: String,
    /// The current session; the lock is held while signing in, so callers
    /// that find none wait for one sign-in rather than each making theirs.
    session: Mutex<Option<Arc<Session>>>,
    calls: AtomicU64,
    usage: Usage,
    retry: Retry,
}

/// One REST call, relative to the instance.
pub(super) struct Call<'a> {
    method: Method,
    path: &'a str,
    soql: Option<&'a str>,
    body: Option<&'a Value>,
}

impl<'a> Call<'a> {
    pub(super) fn get(path: &'a str) -> Call<'a> {
        Call {
            method: Method::GET,
            path,
            soql: None,
            body: None,
        }
    }

    /// `GET {path}?q={soql}`.
    pub(super) fn query(path: &'a str, soql: &'a str) -> Call<'a> {
        Call {
            soql: Some(soql),
            ..Call::get(path)
        }
    }

    pub(super) fn patch(path: &'a str, body: &'a Value) -> Call<'a> {
        Call {
            method: Method::PATCH,
            path,
            soql: None,
            body: Some(body),
        }
    }
}

impl Client {
    pub(super) fn new(settings: &SalesforceSettings, credentials: Credentials) -> Client {
        Client {
            http: http_client(DEFAULT_TIMEOUT),
            credentials,
            login_url: settings.login_url.trim_end_matches('/').to_owned(),
            username: settings.username.clone(),
            api_version: settings.api_version.clone(),
            session: Mutex::new(None),
            calls: AtomicU64::new(0),
            usage: Usage::default(),
            retry: Retry::default(),
        }
    }

    /// How long one request may take, from connecting to the last byte.
    pub(super) fn set_timeout(&mut self, timeout: Duration) {
        self.http = http_client(timeout);
    }

    pub(super) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub(super) fn api_usage(&self) -> Option<(u64, u64)> {
        self.usage.last()
    }

    /// `/services/data/{version}/{rest}`.
    pub(super) fn data_path(&self, rest: &str) -> String {
        format!("/services/data/{}/{rest}", self.api_version)
    }

    /// Sends `call` and reads its JSON answer. When Salesforce says the
    /// session is gone, it signs in again and repeats the call once; should
    /// another call have signed in meanwhile, forgetting that session costs
    /// one extra sign-in, no more.
    pub(super) async fn send<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, CrmError> {
        let attempts = || self.retry.run(|| self.attempt(&call));
        let answer = match attempts().await {
            Err(Failure::SessionExpired) => {
                *self.session.lock().await = None;
                attempts().await
            }
            answer => answer,
        };
        let answer = answer.map_err(Failure::into_error)?;
        serde_json::from_value(answer).map_err(|error| CrmError::Unavailable {
            message: format!("Salesforce's answer has an unexpected shape: {error}"),
            retry_after: None,
        })
    }

    async fn attempt(&self, call: &Call<'_>) -> Result<Value, Failure> {
        let session = self.session().await?;
        let url = format!("{}{}", session.instance_url, call.path);
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .bearer_auth(&session.access_token);
        if let Some(soql) = call.soql {
            request = request.query(&[("q", soql)]);
        }
        if let Some(body) = call.body {
            request = request.json(body);
        }
        let answer = self.exchange(request).await?;
        if !answer.status.is_success() {
            return Err(error::classify(&answer));
        }
        serde_json::from_str(&answer.body).map_err(|error| Failure::Transient {
            message: format!("Salesforce's answer is not JSON: {error}"),
            retry_after: None,
        })
    }

    /// The current session, signing in when there is none. A failed
    /// sign-in is repeated with the call that needed it.
    async fn session(&self) -> Result<Arc<Session>, Failure> {
        let mut current = self.session.lock().await;
        if let Some(session) = current.as_ref() {
            return Ok(Arc::clone(session));
        }
        let session = Arc::new(self.sign_in().await?);
        tracing::debug!(instance_url = %session.instance_url, "signed in to Salesforce");
        *current = Some(Arc::clone(&session));
        Ok(session)
    }

    async fn sign_in(&self) -> Result<Session, Failure> {
        let form = self
            .credentials
            .grant(&self.login_url, self.username.as_deref())
            .map_err(Failure::Final)?;
        let url = format!("{}/services/oauth2/token", self.login_url);
        let answer = self.exchange(self.http.post(url).form(&form)).await?;
        if !answer.status.is_success() {
            return Err(error::classify_sign_in(&answer));
        }
        let mut session: Session =
            serde_json::from_str(&answer.body).map_err(|error| Failure::Transient {
                message: format!("Salesforce's sign-in answer is unreadable: {error}"),
                retry_after: None,
            })?;
        session.instance_url = session.instance_url.trim_end_matches('/').to_owned();
        Ok(session)
    }

    /// Sends one request and reads its whole answer, counting it.
    async fn exchange(&self, request: RequestBuilder) -> Result<Answer, Failure> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let response = request
            .send()
            .await
            .map_err(|error| error::transport(&error))?;
        self.usage.read(response.headers());
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok())
            .map(Duration::from_secs);
        let body = response
            .text()
            .await
            .map_err(|error| error::transport(&error))?;
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }
}

/// A client whose every request ends after `timeout`. Building one only
/// fails when the TLS backend cannot start, which with rustls and built-in
/// roots needs nothing from the system; falling back to a client without
/// the timeout would hide that.
fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .expect("the HTTP client builds with rustls")
}
