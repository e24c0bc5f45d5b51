//! `GET /portal`: a partner's home. Where it stands (tier, progress to the
//! next, the checklist), what its tier gives, its open registrations with
//! the days left on their hold, and the latest decisions. Everything is
//! read for the signed-in user's own partner; no URL names a partner.

use super::session::SignedIn;
use crate::web::status::{label, timeline_item, TimelineItem};
use crate::web::{csrf, days_left, render};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use time::OffsetDateTime;
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::{CriterionScore, Scorecard};
use trellis_store::{EventRecord, RegistrationRecord, StoreError};

/// Open registrations listed; the rest are in the API.
const REGISTRATIONS_SHOWN: i64 = 50;
/// Decisions listed.
const DECISIONS_SHOWN: i64 = 10;

/// One line of the checklist toward the next tier.
struct Check {
    label: String,
    met: bool,
    /// "3 of 5", or the value alone when the tier asks nothing of it.
    measure: String,
}

struct OpenRegistration {
    case_number: String,
    company: String,
    status_label: &'static str,
    status_class: &'static str,
    /// "12 days left", or what the registration waits for.
    hold: String,
}

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage<'a> {
    program: &'a str,
    csrf: String,
    partner: &'a str,
    user: &'a str,
    tier: &'a str,
    next_tier: Option<&'a str>,
    /// Whole percent toward the next tier.
    progress: u8,
    window: &'a str,
    checks: Vec<Check>,
    missing: &'a [String],
    benefits: Vec<String>,
    next_benefits: Vec<String>,
    response_sla_hours: u32,
    registrations: Vec<OpenRegistration>,
    decisions: Vec<TimelineItem>,
}

/// What the page reads from the store.
struct Facts {
    partner: String,
    card: Scorecard,
    registrations: Vec<RegistrationRecord>,
    decisions: Vec<EventRecord>,
}

async fn facts(
    state: &AppState,
    partner: PartnerId,
    now: OffsetDateTime,
) -> Result<Facts, StoreError> {
    let (standing, card) = state.store.scorecard(&state.program, partner, now).await?;
    Ok(Facts {
        partner: standing.partner.name,
        card,
        registrations: state
            .store
            .open_registrations(partner, REGISTRATIONS_SHOWN)
            .await?,
        decisions: state
            .store
            .partner_decisions(partner, DECISIONS_SHOWN)
            .await?,
    })
}

pub async fn page(State(state): State<AppState>, signed_in: SignedIn, jar: CookieJar) -> Response {
    let now = state.clock.now();
    let facts = match facts(&state, signed_in.user.partner_id, now).await {
        Ok(facts) => facts,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let (jar, csrf) = csrf::token(jar, state.public_url.starts_with("https://"));
    let program = &state.program;
    let benefits = crate::api::benefits_of(program, &facts.card.tier);
    let page = HomePage {
        program: &program.name,
        csrf,
        partner: &facts.partner,
        user: &signed_in.user.name,
        tier: tier_label(program, &facts.card.tier),
        next_tier: facts
            .card
            .next_tier
            .as_deref()
            .map(|t| tier_label(program, t)),
        progress: percent(facts.card.progress_to_next),
        window: &facts.card.window_label,
        checks: facts.card.criteria.iter().map(check).collect(),
        missing: &facts.card.missing,
        benefits: benefits.benefits,
        next_benefits: benefits.next_tier_adds,
        response_sla_hours: benefits.response_sla_hours,
        registrations: facts.registrations.iter().map(|r| open(r, now)).collect(),
        decisions: facts.decisions.iter().map(timeline_item).collect(),
    };
    (jar, render(StatusCode::OK, &page, None)).into_response()
}

/// A tier's label as partners read it; its id if the program dropped it.
fn tier_label<'p>(program: &'p Program, id: &'p str) -> &'p str {
    program.tier(id).map_or(id, |tier| tier.label.as_str())
}

/// Progress 0..1 as whole percent.
fn percent(progress: f64) -> u8 {
    (progress.clamp(0.0, 1.0) * 100.0).round() as u8
}

fn check(score: &CriterionScore) -> Check {
    let measure = match score.target {
        Some(target) => format!("{} of {target}", score.value),
        None => score.value.to_string(),
    };
    Check {
        label: score.label.clone(),
        met: score.met,
        measure,
    }
}

fn open(record: &RegistrationRecord, now: OffsetDateTime) -> OpenRegistration {
    let (status_label, status_class) = label(record.life.status);
    OpenRegistration {
        case_number: record.case_number().to_string(),
        company: record.company_name.clone(),
        status_label,
        status_class,
        hold: hold(record, now),
    }
}

/// Days left on the hold; a registration not yet approved holds nothing yet.
fn hold(record: &RegistrationRecord, now: OffsetDateTime) -> String {
    match record.life.hold_until {
        Some(until) => days_left(until, now),
        None => "held once approved".to_owned(),
    }
}
