//! `GET/POST /portal/registrations/new`: a signed-in partner registers a
//! lead or a deal. The form is read as a REST body and goes through
//! `intake::submit` like every channel, so it is validated exactly as the
//! API validates and refused by the same rules (a second claim names the
//! existing case). It arrives as the web form channel: the partner typed it
//! into a page. Done, the browser goes to the new registration's page.

use super::case::path;
use super::session::SignedIn;
use super::{failure, relabel, show, Nav};
use crate::input::RegistrationRequest;
use crate::intake::{log, submit, Outcome};
use crate::web::csrf;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use trellis_domain::event::Actor;
use trellis_domain::program::ConflictPolicy;
use trellis_domain::registration::Channel;

/// The form's fields by their labels, for what to fix.
const LABELS: &[(&str, &str)] = &[
    ("kind", "Kind"),
    ("company_name", "Company"),
    ("company_domain", "Website"),
    ("contact_name", "Contact name"),
    ("contact_email", "Contact email"),
    ("use_case", "What do they need?"),
    ("consent", "Consent"),
    ("segment", "Segment"),
    ("product", "Product"),
    ("stage", "Deal stage"),
    ("amount", "Amount"),
    ("currency", "Currency"),
    ("expected_close_date", "Expected close date"),
    ("next_step", "Next step"),
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewForm {
    csrf: String,
    kind: String,
    company_name: String,
    company_domain: String,
    contact_name: String,
    contact_email: String,
    use_case: String,
    consent: Option<String>,
    segment: String,
    product: String,
    stage: String,
    amount: String,
    currency: String,
    expected_close_date: String,
    next_step: String,
}

impl NewForm {
    pub fn consent_given(&self) -> bool {
        self.consent.as_deref() == Some("yes")
    }

    pub fn is_deal(&self) -> bool {
        self.kind == "deal"
    }

    /// The form as the REST body it stands for: blank fields left out, and
    /// a deal's terms only when it is a deal.
    fn request(&self) -> RegistrationRequest {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let deal = |s: &str| text(s).filter(|_| self.is_deal());
        RegistrationRequest {
            partner_id: None,
            kind: text(&self.kind),
            company_name: text(&self.company_name),
            company_domain: text(&self.company_domain),
            contact_name: text(&self.contact_name),
            contact_email: text(&self.contact_email),
            use_case: text(&self.use_case),
            consent: Some(self.consent_given()),
            segment: text(&self.segment),
            region: None,
            product: text(&self.product),
            stage: deal(&self.stage),
            amount: deal(&self.amount).map(serde_json::Value::String),
            currency: deal(&self.currency),
            expected_close_date: deal(&self.expected_close_date),
            next_step: deal(&self.next_step),
        }
    }
}

#[derive(Template)]
#[template(path = "portal_new.html")]
struct NewPage<'a> {
    program: &'a str,
    nav: Nav,
    response_sla_hours: u32,
    /// Segment and product decide conflicts only under `split_by_segment`.
    asks_market: bool,
    problems: Vec<String>,
    form: &'a NewForm,
}

fn form_page(
    state: &AppState,
    signed_in: &SignedIn,
    jar: CookieJar,
    status: StatusCode,
    problems: Vec<String>,
    form: &NewForm,
) -> Response {
    let (jar, nav) = Nav::new(state, signed_in, jar, "new");
    let rules = &state.program.registration;
    let page = NewPage {
        program: &state.program.name,
        nav,
        response_sla_hours: rules.response_sla_hours,
        asks_market: rules.conflict_policy == ConflictPolicy::SplitBySegment,
        problems,
        form,
    };
    show(jar, status, &page)
}

pub async fn page(State(state): State<AppState>, signed_in: SignedIn, jar: CookieJar) -> Response {
    let form = NewForm::default();
    form_page(&state, &signed_in, jar, StatusCode::OK, vec![], &form)
}

pub async fn post(
    State(state): State<AppState>,
    signed_in: SignedIn,
    jar: CookieJar,
    Form(form): Form<NewForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return crate::web::reload(&state);
    }
    let partner = signed_in.user.partner_id;
    let actor = Actor::Partner {
        partner_id: partner,
    };
    let outcome = match submit(&state, Channel::Form, partner, &actor, form.request()).await {
        Ok(outcome) => outcome,
        Err(e) => return failure(&state, e),
    };
    log(
        &state,
        Channel::Form,
        &signed_in.user.email,
        &outcome,
        "partner portal",
    )
    .await;
    let (status, problems) = match outcome {
        Outcome::Registered(done) => {
            return Redirect::to(&path(done.registration.case_number())).into_response()
        }
        Outcome::Incomplete(problems) => {
            (StatusCode::UNPROCESSABLE_ENTITY, relabel(problems, LABELS))
        }
        Outcome::Refused(reason) => (StatusCode::CONFLICT, vec![reason]),
        Outcome::UnknownSender => (
            StatusCode::FORBIDDEN,
            vec!["Sign in again: this session speaks for no partner.".into()],
        ),
    };
    form_page(&state, &signed_in, jar, status, problems, &form)
}
