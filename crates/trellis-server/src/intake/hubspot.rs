//! HubSpot forms (`POST /webhooks/hubspot`): a form submission that a
//! workflow's "Send a webhook" action (or an app) posts, verified with
//! HubSpot's request signature v3 over the URI this server is reached at
//! (`--public-url`). Hidden fields name the partner and the program; the
//! other fields map through `[intake.hubspot]` in the program file.

use super::{configured, header, log, refuse_replay, refused, submit, Outcome};
use crate::problem::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Serialize;
use trellis_domain::event::Actor;
use trellis_domain::ids::PartnerId;
use trellis_domain::registration::Channel;
use trellis_intake::hubspot::{self, Submission};

/// What became of each submission in the payload. HubSpot retries only on
/// errors, so a submission Trellis refuses is answered 200 and logged.
#[derive(Debug, Serialize)]
pub struct Answer {
    pub results: Vec<SubmissionResult>,
}

#[derive(Debug, Serialize)]
pub struct SubmissionResult {
    pub outcome: &'static str,
    pub case_number: Option<String>,
    pub reason: Option<String>,
}

pub async fn webhook(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Answer>, ApiError> {
    verify(&state, &uri, &headers, &body)?;
    refuse_replay(
        &state,
        "hubspot",
        header(&headers, "x-hubspot-signature-v3"),
    )
    .await?;
    let submissions = hubspot::parse_submission(&body, &state.program.intake.hubspot)
        .map_err(|e| ApiError::invalid("body", e.to_string()))?;
    let mut results = Vec::with_capacity(submissions.len());
    for submission in submissions {
        results.push(register(&state, submission).await?);
    }
    Ok(Json(Answer { results }))
}

/// Refuses (401, logged, nothing done) a request HubSpot did not sign.
pub(crate) fn verify(
    state: &AppState,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ApiError> {
    let secret = configured(
        &state.secrets.hubspot_client_secret,
        "HubSpot",
        "TRELLIS_HUBSPOT_CLIENT_SECRET",
    )?;
    let header = |name: &str| header(headers, name);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let signed_uri = format!("{}{path}", state.public_url);
    let now_millis =
        i64::try_from(state.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let (timestamp, signature) = (
        header("x-hubspot-request-timestamp"),
        header("x-hubspot-signature-v3"),
    );
    hubspot::verify_v3(
        secret.as_bytes(),
        "POST",
        &signed_uri,
        body,
        timestamp,
        signature,
        now_millis,
    )
    .map_err(|e| refused("HubSpot", e))
}

async fn register(state: &AppState, submission: Submission) -> Result<SubmissionResult, ApiError> {
    let sender = submission.fields.contact_email.clone().unwrap_or_default();
    let outcome = match partner_of(state, &submission).await? {
        Err(reason) => Outcome::Refused(reason),
        Ok(partner) => {
            let actor = Actor::Partner {
                partner_id: partner,
            };
            submit(state, Channel::Hubspot, partner, &actor, submission.fields).await?
        }
    };
    let id = submission
        .submission_id
        .as_deref()
        .unwrap_or("no submission id");
    log(state, Channel::Hubspot, &sender, &outcome, id).await;
    Ok(match outcome {
        Outcome::Registered(r) => SubmissionResult {
            outcome: "registered",
            case_number: Some(r.registration.case_number().to_string()),
            reason: None,
        },
        Outcome::Incomplete(problems) => SubmissionResult {
            outcome: "incomplete",
            case_number: None,
            reason: Some(problems.join("; ")),
        },
        Outcome::Refused(reason) => SubmissionResult {
            outcome: "refused",
            case_number: None,
            reason: Some(reason),
        },
        Outcome::UnknownSender => SubmissionResult {
            outcome: "refused",
            case_number: None,
            reason: None,
        },
    })
}

/// The partner named by the hidden field, which must exist, on a form of
/// this program.
async fn partner_of(
    state: &AppState,
    submission: &Submission,
) -> Result<Result<PartnerId, String>, ApiError> {
    if let Some(program) = submission
        .program
        .as_deref()
        .filter(|p| !p.eq_ignore_ascii_case(&state.program.name))
    {
        return Ok(Err(format!(
            "the form belongs to the program \"{program}\", not \"{}\"",
            state.program.name
        )));
    }
    let Some(raw) = submission.partner_id.as_deref() else {
        return Ok(Err("the form has no hidden partner id field".into()));
    };
    let Ok(id) = raw.trim().parse::<i64>() else {
        return Ok(Err(format!(
            "the hidden partner id \"{raw}\" is not a number"
        )));
    };
    match state.store.partner(PartnerId(id)).await {
        Ok(partner) => Ok(Ok(partner.id)),
        Err(trellis_store::StoreError::NotFound(_)) => {
            Ok(Err(format!("no partner has the id {id}")))
        }
        Err(other) => Err(other.into()),
    }
}
