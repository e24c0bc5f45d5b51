//! `GET/POST /register`: the open registration form. The partner identifies
//! by work email, which must be a partner user's or on a partner's domain.
//! Bots meet a honeypot field, a per-address rate limit (harder when no
//! captcha is configured) and, when configured, server-side captcha checks.

use super::{captcha, csrf, message, render};
use crate::intake::{log, submit, Outcome};
use crate::mail::OutgoingMail;
use crate::AppState;
use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use time::Duration;
use trellis_domain::dedupe::Email;
use trellis_domain::event::Actor;
use trellis_domain::program::CaptchaProvider;
use trellis_domain::registration::Channel;
use trellis_intake::Fields;
use trellis_store::{Registered, Sender};

/// Submissions allowed per address and minute.
pub type FormLimiter = DefaultKeyedRateLimiter<IpAddr>;

/// How long a status link opens its page.
const STATUS_LINK_DAYS: i64 = 30;

/// A captcha stops most bots, so the limit is generous with one and strict
/// without: a person rarely registers more than a few prospects a minute.
pub fn limiter(provider: CaptchaProvider) -> Arc<FormLimiter> {
    let per_minute = if provider == CaptchaProvider::None {
        3
    } else {
        10
    };
    let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
    Arc::new(RateLimiter::keyed(quota))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegisterForm {
    csrf: String,
    work_email: String,
    company_name: String,
    company_domain: String,
    contact_name: String,
    contact_email: String,
    use_case: String,
    consent: Option<String>,
    /// The honeypot: hidden from people, filled in by bots.
    fax: String,
    /// The captcha widget's token, under the provider's own field name.
    #[serde(flatten)]
    other: HashMap<String, String>,
}

impl RegisterForm {
    pub fn consent_given(&self) -> bool {
        self.consent.as_deref() == Some("yes")
    }

    fn fields(&self) -> Fields {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Fields {
            company_name: text(&self.company_name),
            company_domain: text(&self.company_domain),
            contact_name: text(&self.contact_name),
            contact_email: text(&self.contact_email),
            use_case: text(&self.use_case),
            consent: Some(self.consent_given()),
            ..Fields::default()
        }
    }
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage<'a> {
    program: &'a str,
    response_sla_hours: u32,
    errors: Vec<String>,
    csrf: String,
    form: &'a RegisterForm,
    captcha_script: Option<&'static str>,
    captcha_site_key: Option<&'a str>,
    captcha_class: &'static str,
}

#[derive(Template)]
#[template(path = "registered.html")]
struct RegisteredPage<'a> {
    program: &'a str,
    case_number: String,
    company: &'a str,
    partner: &'a str,
    email: &'a str,
    response_sla_hours: u32,
    in_conflict: bool,
}

fn form_page(
    state: &AppState,
    status: StatusCode,
    csrf: String,
    form: &RegisterForm,
    errors: Vec<String>,
) -> Response {
    let widget = captcha::widget(state.program.intake.captcha.provider);
    let page = RegisterPage {
        program: &state.program.name,
        response_sla_hours: state.program.registration.response_sla_hours,
        errors,
        csrf,
        form,
        captcha_script: widget.map(|(script, _)| script),
        captcha_site_key: widget.and(state.program.intake.captcha.site_key.as_deref()),
        captcha_class: widget.map(|(_, class)| class).unwrap_or_default(),
    };
    render(status, &page, widget.map(|(script, _)| origin(script)))
}

/// `https://host/path` -> `https://host`, for the Content-Security-Policy.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    url[after_scheme..]
        .find('/')
        .map_or(url, |i| &url[..after_scheme + i])
}

pub async fn page(State(state): State<AppState>, jar: CookieJar) -> Response {
    let (jar, token) = csrf::token(jar, crate::web::secure(&state));
    (
        jar,
        form_page(
            &state,
            StatusCode::OK,
            token,
            &RegisterForm::default(),
            vec![],
        ),
    )
        .into_response()
}

pub async fn post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Form(form): Form<RegisterForm>,
) -> Response {
    let (jar, token) = csrf::token(jar, crate::web::secure(&state));
    let refusal = screen(&state, &jar, &form, peer.ip()).await;
    let response = match refusal {
        Some(response) => response,
        None => match identify(&state, &form).await {
            Err(problem) => form_page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                token,
                &form,
                vec![problem],
            ),
            Ok(sender) => register(&state, &form, sender, token).await,
        },
    };
    (jar, response).into_response()
}

/// The bot defences, cheapest first; `Some` is the answer to a refused post.
async fn screen(
    state: &AppState,
    jar: &CookieJar,
    form: &RegisterForm,
    ip: IpAddr,
) -> Option<Response> {
    if state.form_limiter.check_key(&ip).is_err() {
        return Some(message(state, StatusCode::TOO_MANY_REQUESTS, "Please wait a minute", "Too many registrations came from your address just now. Wait a minute, then send the form again."));
    }
    if !csrf::valid(jar, &form.csrf) {
        return Some(message(state, StatusCode::FORBIDDEN, "Please reload the form", "This form has expired or was sent from another site. Reload the registration page and send it again."));
    }
    if !form.fax.is_empty() {
        tracing::info!(%ip, "form honeypot filled; ignored");
        return Some(message(
            state,
            StatusCode::BAD_REQUEST,
            "Not accepted",
            "This submission could not be accepted.",
        ));
    }
    let provider = state.program.intake.captcha.provider;
    if provider != CaptchaProvider::None {
        let response = form
            .other
            .get(provider.response_field())
            .map(String::as_str);
        if !captcha::verify(state, response, ip).await {
            return Some(message(
                state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please try the check again",
                "The anti-robot check did not pass. Go back, complete it, and send the form again.",
            ));
        }
    }
    None
}

/// The partner the work email speaks for.
async fn identify(state: &AppState, form: &RegisterForm) -> Result<Sender, String> {
    let email = Email::parse(&form.work_email).map_err(|e| format!("Your work email: {e}"))?;
    match state.store.sender(&email).await {
        Ok(Some(sender)) => Ok(sender),
        Ok(None) => Err(format!("{email} is not on any partner's list. Use your work email, or ask your partner manager to add you.")),
        Err(e) => {
            tracing::error!(error = %e, "partner lookup failed");
            Err("We could not check your email just now; please try again.".into())
        }
    }
}

async fn register(
    state: &AppState,
    form: &RegisterForm,
    sender: Sender,
    token: String,
) -> Response {
    let actor = Actor::Partner {
        partner_id: sender.partner.id,
    };
    let outcome = match submit(
        state,
        Channel::Form,
        sender.partner.id,
        &actor,
        form.fields(),
    )
    .await
    {
        Ok(outcome) => outcome,
        Err(e) => return e.into_response(),
    };
    log(
        state,
        Channel::Form,
        &form.work_email,
        &outcome,
        "open form",
    )
    .await;
    match outcome {
        Outcome::Registered(done) => registered(state, form, &sender, &done).await,
        Outcome::Incomplete(problems) => form_page(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            token,
            form,
            problems,
        ),
        Outcome::Refused(reason) => {
            form_page(state, StatusCode::CONFLICT, token, form, vec![reason])
        }
        Outcome::UnknownSender => form_page(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            token,
            form,
            vec!["Use your work email.".into()],
        ),
    }
}

/// The thank-you page, and the status link by mail.
async fn registered(
    state: &AppState,
    form: &RegisterForm,
    sender: &Sender,
    done: &Registered,
) -> Response {
    let case = done.registration.case_number();
    let email = form.work_email.trim().to_lowercase();
    if let Err(e) = send_status_link(state, done, &email).await {
        tracing::error!(error = %e, %case, "could not send the status link; the registration stands");
    }
    let page = RegisteredPage {
        program: &state.program.name,
        case_number: case.to_string(),
        company: &done.registration.company_name,
        partner: &sender.partner.name,
        email: &email,
        response_sla_hours: state.program.response_sla_hours_for(&sender.partner.tier),
        in_conflict: done.conflict.is_some(),
    };
    render(StatusCode::CREATED, &page, None)
}

async fn send_status_link(state: &AppState, done: &Registered, email: &str) -> anyhow::Result<()> {
    let secret = crate::tokens::new_secret();
    let now = state.clock.now();
    let expires = now + Duration::days(STATUS_LINK_DAYS);
    state
        .store
        .create_status_link(&secret, done.registration.id, email, now, expires)
        .await?;
    let case = done.registration.case_number();
    let link = format!("{}/status/{secret}", state.public_url);
    let text = format!(
        "Your registration {case} of {} is pending review.\n\n\
         Follow it here, no password needed (the link works for {STATUS_LINK_DAYS} days; keep it to yourself):\n{link}\n\n\
         Or in the partner portal, signed in by a mailed link:\n{}\n\n-- \n{}\n",
        done.registration.company_name,
        super::portal_link(state, case),
        state.program.name
    );
    let mail = OutgoingMail {
        to: email.to_owned(),
        subject: format!("{case} received: {}", done.registration.company_name),
        text,
        html: None,
        in_reply_to: None,
    };
    state.mailer.send(&mail).await
}
