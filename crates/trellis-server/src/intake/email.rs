//! Email to registration: a raw RFC 5322 message (from the built-in SMTP
//! receiver or `POST /api/v1/intake/email`) becomes a registration, and the
//! sender gets a reply with the case number and status, or with what is
//! missing, or a polite refusal when the address speaks for no partner.

use super::{log, submit, Outcome};
use crate::problem::ApiError;
use crate::AppState;
use serde::Serialize;
use trellis_domain::dedupe::Email;
use trellis_domain::event::Actor;
use trellis_domain::registration::Channel;
use trellis_intake::email::{extract_fields, parse_message, IncomingMail};
use trellis_notices::{Case, Incomplete, Notice, Received, Refused, UnknownSender};
use trellis_store::{NewNotification, Outgoing};
use utoipa::ToSchema;

/// The answer to one message, as `POST /api/v1/intake/email` returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailAnswer {
    /// registered | incomplete | refused
    pub outcome: &'static str,
    pub case_number: Option<String>,
    /// What the sender still has to give.
    pub missing: Vec<String>,
    pub reply: ReplyView,
}

/// The reply mailed to the sender.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyView {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// Processes one raw message end to end and mails the reply.
pub async fn process(state: &AppState, raw: &[u8]) -> Result<EmailAnswer, ApiError> {
    let mail = parse_message(raw).map_err(|e| ApiError::invalid("message", e.to_string()))?;
    let from = Email::parse(&mail.from)
        .map_err(|e| ApiError::invalid("From", format!("the sender cannot be answered: {e}")))?;
    // The partner team's answer time depends on the sender's tier.
    let mut sla_hours = state.program.registration.response_sla_hours;
    let (outcome, missing) = match state.store.sender(&from).await? {
        None => (Outcome::UnknownSender, vec![]),
        Some(sender) => {
            sla_hours = state.program.response_sla_hours_for(&sender.partner.tier);
            let fields = extract_fields(&mail.text);
            let missing: Vec<String> = fields.missing().into_iter().map(str::to_owned).collect();
            let actor = Actor::Partner {
                partner_id: sender.partner.id,
            };
            let outcome = if missing.is_empty() {
                submit(state, Channel::Email, sender.partner.id, &actor, fields).await?
            } else {
                Outcome::Incomplete(missing.clone())
            };
            (outcome, missing)
        }
    };
    let reply = reply(state, &mail, &from, &outcome, sla_hours);
    // Queued before it is sent: a relay that is down delays the reply, the
    // sweep sends it later, and the outcome stands either way.
    crate::outbox::send_now(state, &reply).await?;
    log(
        state,
        Channel::Email,
        from.as_str(),
        &outcome,
        mail.subject.as_deref().unwrap_or_default(),
    )
    .await;
    Ok(answer(outcome, missing, reply))
}

fn answer(outcome: Outcome, missing: Vec<String>, reply: NewNotification) -> EmailAnswer {
    let missing = match &outcome {
        Outcome::Incomplete(problems) if missing.is_empty() => problems.clone(),
        _ => missing,
    };
    EmailAnswer {
        outcome: outcome.name(),
        case_number: match &outcome {
            Outcome::Registered(r) => Some(r.registration.case_number().to_string()),
            _ => None,
        },
        missing,
        reply: ReplyView {
            to: reply.recipient,
            subject: reply.subject,
            text: reply.body,
        },
    }
}

/// The reply, in plain words, with the case number and the next step,
/// as a mail to the sender threaded under its message.
fn reply(
    state: &AppState,
    mail: &IncomingMail,
    from: &Email,
    outcome: &Outcome,
    sla_hours: u32,
) -> NewNotification {
    let program = &state.program.name;
    let notice = match outcome {
        Outcome::Registered(r) => Notice::Received(Received {
            case: Case {
                number: r.registration.case_number(),
                company: r.registration.company_name.clone(),
            },
            response_sla_hours: sla_hours,
            in_conflict: r.conflict.is_some(),
            portal_link: crate::web::portal_link(state, r.registration.case_number()),
        }),
        Outcome::Incomplete(problems) => Notice::Incomplete(Incomplete {
            problems: problems.clone(),
        }),
        Outcome::Refused(reason) => Notice::Refused(Refused {
            reason: reason.clone(),
        }),
        Outcome::UnknownSender => Notice::UnknownSender(UnknownSender {
            sender: from.to_string(),
            program: program.clone(),
        }),
    };
    let mut reply = Outgoing::new(&notice, program).email(from.as_str());
    // The parser gives the id bare; the header wants it in angle brackets.
    reply.in_reply_to = mail
        .message_id
        .as_ref()
        .map(|id| format!("<{}>", id.trim_matches(['<', '>'])));
    reply
}
