//! The Slack slash command (`POST /slack/commands`): Slack's documented
//! contract, a form-encoded body signed with the app's signing secret, is
//! verified in constant time within a five-minute window, and every answer
//! is an ephemeral Block Kit message. `/register Acme, acme.com, Jane Doe
//! <jane@acme.com>, use case` registers; `status REG-000123` reports;
//! `link CODE` ties the Slack user to a partner user; `help` explains.

use super::{configured, header, log, refuse_replay, refused, submit, Outcome};
use crate::problem::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::task::JoinHandle;
use trellis_domain::event::Actor;
use trellis_domain::ids::CaseNumber;
use trellis_domain::registration::Channel;
use trellis_domain::values::day;
use trellis_intake::slack::{
    self, context, ephemeral, escape, section, SlackRequest, SlashCommand,
};
use trellis_intake::Fields;
use trellis_store::PartnerUser;

/// Slack waits three seconds for an answer; past this, the answer is sent
/// later through the command's `response_url`.
const ANSWER_WITHIN: Duration = Duration::from_millis(2_500);

pub async fn command(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    verify(&state, &headers, &body)?;
    refuse_replay(&state, "slack", header(&headers, "x-slack-signature")).await?;
    let command = slack::parse_command(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let response_url = command.response_url.clone();
    let http = state.http.clone();
    let mut work = tokio::spawn(answer(state, command));
    match tokio::time::timeout(ANSWER_WITHIN, &mut work).await {
        Ok(joined) => joined.map_err(|e| ApiError::Internal(e.into()))?.map(Json),
        Err(_) => {
            tokio::spawn(follow_up(http, response_url, work));
            Ok(Json(reply(
                "Working on it: the answer follows in a moment.",
            )))
        }
    }
}

/// Posts a late answer to `response_url`, as Slack's contract allows for
/// thirty minutes after the command.
async fn follow_up(
    http: reqwest::Client,
    response_url: String,
    work: JoinHandle<Result<Value, ApiError>>,
) {
    let answer = match work.await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => reply(&format!("Sorry, that failed: {}", e.detail())),
        Err(e) => reply(&format!("Sorry, that failed: {e}")),
    };
    if let Err(e) = http
        .post(&response_url)
        .json(&answer)
        .send()
        .await
        .and_then(|r| r.error_for_status())
    {
        tracing::warn!(error = %e, "could not post the Slack follow-up");
    }
}

async fn answer(state: AppState, command: SlashCommand) -> Result<Value, ApiError> {
    Ok(match slack::interpret(&command.text) {
        SlackRequest::Help => help(&command),
        SlackRequest::Link(code) => link(&state, &command, &code).await?,
        request => match state
            .store
            .slack_user(&command.team_id, &command.user_id)
            .await?
        {
            None => not_linked(),
            Some(user) => match request {
                SlackRequest::Register(fields) => register(&state, &command, &user, fields).await?,
                SlackRequest::Status(case) => status(&state, &user, &case).await?,
                SlackRequest::Help | SlackRequest::Link(_) => help(&command),
            },
        },
    })
}

/// Refuses (401, logged, nothing done) a request Slack did not sign.
fn verify(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let secret = configured(
        &state.secrets.slack_signing_secret,
        "Slack",
        "TRELLIS_SLACK_SIGNING_SECRET",
    )?;
    let header = |name: &str| header(headers, name);
    let now = state.clock.now().unix_timestamp();
    let signature = header("x-slack-signature");
    slack::verify(
        secret.as_bytes(),
        header("x-slack-request-timestamp"),
        signature,
        body,
        now,
    )
    .map_err(|e| refused("Slack", e))
}

fn reply(text: &str) -> Value {
    ephemeral(text, json!([section(&escape(text))]))
}

fn help(command: &SlashCommand) -> Value {
    let name = if command.command.is_empty() {
        "/register"
    } else {
        command.command.as_str()
    };
    let text = format!(
        "*Register a prospect:* `{name} Acme Corp, acme.com, Jane Doe <jane@acme.com>, what they need, consent: yes`\n\
         *Check a registration:* `{name} status REG-000123`\n\
         *Link your Slack account:* `{name} link CODE` with the code from your registration status page"
    );
    ephemeral("How to use Trellis from Slack", json!([section(&text)]))
}

fn not_linked() -> Value {
    reply("Your Slack account is not linked to a partner user yet. Open the status page of any registration you made (the link is in its email) and follow \"Link Slack\", then try again.")
}

async fn link(state: &AppState, command: &SlashCommand, code: &str) -> Result<Value, ApiError> {
    let now = state.clock.now();
    match state
        .store
        .redeem_slack_code(code, &command.team_id, &command.user_id, now)
        .await
    {
        Ok(user) => Ok(reply(&format!(
            "Linked. You register as {} <{}> from now on.",
            user.name, user.email
        ))),
        Err(trellis_store::StoreError::Domain(refusal)) => Ok(reply(&refusal.to_string())),
        Err(other) => Err(other.into()),
    }
}

async fn register(
    state: &AppState,
    command: &SlashCommand,
    user: &PartnerUser,
    fields: Fields,
) -> Result<Value, ApiError> {
    let actor = Actor::Partner {
        partner_id: user.partner_id,
    };
    let outcome = submit(state, Channel::Slack, user.partner_id, &actor, fields).await?;
    log(
        state,
        Channel::Slack,
        &user.email,
        &outcome,
        &format!("{}/{}", command.team_id, command.user_id),
    )
    .await;
    Ok(match outcome {
        Outcome::Registered(r) => {
            let case = r.registration.case_number();
            let text = format!(
                "Registered {} as *{case}*: pending review.",
                escape(&r.registration.company_name)
            );
            let mut blocks = vec![section(&text)];
            if r.conflict.is_some() {
                blocks.push(context("Another partner has registered this account too; the program's conflict rules decide."));
            }
            ephemeral(&format!("Registered as {case}"), Value::Array(blocks))
        }
        Outcome::Incomplete(problems) => reply(&format!(
            "Not registered yet. Please fix: {}.",
            problems.join("; ")
        )),
        Outcome::Refused(reason) => reply(&format!("Not registered: {reason}.")),
        Outcome::UnknownSender => not_linked(),
    })
}

async fn status(state: &AppState, user: &PartnerUser, case: &str) -> Result<Value, ApiError> {
    let Some(case) = CaseNumber::parse(case) else {
        return Ok(reply(
            "Give the case number as it appears in your confirmation, like REG-000123.",
        ));
    };
    state
        .store
        .expire_if_due(case.0, &state.program, state.clock.now())
        .await?;
    let record = match state
        .store
        .registration(case.0, Some(user.partner_id))
        .await
    {
        Ok(record) => record,
        Err(trellis_store::StoreError::NotFound(_)) => {
            return Ok(reply(&format!(
                "{case} is not one of your partner's registrations."
            )))
        }
        Err(other) => return Err(other.into()),
    };
    let mut text = format!(
        "*{case}* {}: *{}*",
        escape(&record.company_name),
        record.life.status.as_str().replace('_', " ")
    );
    if let Some(reason) = &record.life.status_reason {
        text.push_str(&format!("\n{}", escape(reason)));
    }
    if let (Some(until), Some(due)) = (record.life.hold_until, record.life.meeting_due) {
        text.push_str(&format!(
            "\nProtected until {}; first meeting due by {}.",
            day(until),
            day(due)
        ));
    }
    Ok(ephemeral(
        &format!("{case}: {}", record.life.status.as_str()),
        json!([section(&text)]),
    ))
}
