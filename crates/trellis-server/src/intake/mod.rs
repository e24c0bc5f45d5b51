//! The no-login channels. Each adapter authenticates its sender, extracts
//! [`Fields`](trellis_intake::Fields), and calls [`submit`], which validates
//! them exactly as the REST API validates its body and hands the draft to
//! the same core: no channel has rules of its own. Each channel then
//! answers in its own medium.

pub mod csv;
pub mod email;
pub mod hubspot;
pub mod slack;
pub mod smtp;

use crate::input::RegistrationRequest;
use crate::problem::ApiError;
use crate::AppState;
use trellis_domain::event::Actor;
use trellis_domain::ids::PartnerId;
use trellis_domain::registration::Channel;
use trellis_store::{IntakeEntry, Registered, StoreError};

/// What came of one registration attempt through a channel.
#[derive(Debug)]
pub enum Outcome {
    Registered(Box<Registered>),
    /// Fields are missing or invalid: each entry says what to fix.
    Incomplete(Vec<String>),
    /// The core refused it (a second claim on an account, say): why.
    Refused(String),
    /// The sender speaks for no partner; nothing was looked at.
    UnknownSender,
}

impl Outcome {
    /// The stable name channels answer with and the intake log keeps.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Registered(_) => "registered",
            Outcome::Incomplete(_) => "incomplete",
            Outcome::Refused(_) | Outcome::UnknownSender => "refused",
        }
    }
}

/// Validates `fields` for `partner` and registers them through the core:
/// a channel's extracted [`Fields`](trellis_intake::Fields), or a whole
/// request where a channel takes deals too (the portal's form).
pub async fn submit(
    state: &AppState,
    channel: Channel,
    partner: PartnerId,
    actor: &Actor,
    fields: impl Into<RegistrationRequest>,
) -> Result<Outcome, ApiError> {
    let draft = match fields.into().into_draft(partner, channel) {
        Ok(draft) => draft,
        Err(ApiError::Invalid(errors)) => {
            return Ok(Outcome::Incomplete(
                errors
                    .into_iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect(),
            ))
        }
        Err(other) => return Err(other),
    };
    let now = state.clock.now();
    match state
        .store
        .register(&draft, &state.program, actor, now, None)
        .await
    {
        Ok(registered) => Ok(Outcome::Registered(Box::new(registered))),
        Err(StoreError::Domain(refusal)) => Ok(Outcome::Refused(refusal.to_string())),
        Err(other) => Err(other.into()),
    }
}

/// Records the attempt in the intake log; a failure to log is reported but
/// never undoes what the sender was told.
pub async fn log(
    state: &AppState,
    channel: Channel,
    sender: &str,
    outcome: &Outcome,
    detail: &str,
) {
    let registration = match outcome {
        Outcome::Registered(r) => Some(r.registration.id),
        _ => None,
    };
    let entry = IntakeEntry {
        channel,
        sender,
        outcome: outcome.name(),
        registration,
        detail,
    };
    if let Err(e) = state.store.log_intake(&entry, state.clock.now()).await {
        tracing::warn!(error = %e, channel = channel.as_str(), "could not write the intake log");
    }
}

/// The channel routes that live outside the REST API.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/slack/commands", axum::routing::post(slack::command))
        .route("/webhooks/hubspot", axum::routing::post(hubspot::webhook))
        .route(
            "/webhooks/hubspot/crm",
            axum::routing::post(crate::crm::webhook::hubspot),
        )
}

/// A channel's secret, or "not found" when the channel is not set up here.
fn configured<'a>(
    secret: &'a Option<String>,
    channel: &str,
    variable: &str,
) -> Result<&'a str, ApiError> {
    secret.as_deref().ok_or_else(|| {
        ApiError::NotFound(format!(
            "{channel} is not set up on this server ({variable})"
        ))
    })
}

/// A header's value as text, empty when absent or not text.
pub(crate) fn header<'h>(headers: &'h axum::http::HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A request whose signature did not verify: logged (without secrets) and
/// answered 401, with nothing done.
fn refused(channel: &str, reason: trellis_intake::signature::SignatureError) -> ApiError {
    tracing::warn!(%reason, channel, "refused an unsigned or stale request");
    ApiError::Unauthorized
}

/// Refuses (401, nothing done) a signed request that arrived before: a
/// signature proves who sent it and when, not that this is its first
/// arrival, and inside the freshness window a captured request would
/// otherwise pass again.
pub(crate) async fn refuse_replay(
    state: &AppState,
    channel: &str,
    signature: &str,
) -> Result<(), ApiError> {
    let key = format!("{channel}:{signature}");
    if state.store.first_delivery(&key, state.clock.now()).await? {
        return Ok(());
    }
    tracing::warn!(
        channel,
        "refused a signed request that arrived before (a replay)"
    );
    Err(ApiError::Unauthorized)
}
