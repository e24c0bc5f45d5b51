//! `GET /portal`: a partner's home. Where it stands (tier, progress to the
//! next, the checklist), what its tier gives, its open registrations with
//! the days left on their hold, and the latest decisions. Everything is
//! read for the signed-in user's own partner; no URL names a partner.

use super::registrations::{line, Line};
use super::session::SignedIn;
use super::{show, Nav};
use crate::web::tier_words::{measure, percent, tier_label};
use crate::web::words::{timeline_item, TimelineItem};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use time::OffsetDateTime;
use trellis_domain::ids::PartnerId;
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

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage<'a> {
    program: &'a str,
    nav: Nav,
    partner: &'a str,
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
    registrations: Vec<Line>,
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
    let (jar, nav) = Nav::new(&state, &signed_in, jar, "home");
    let program = &state.program;
    let benefits = crate::api::benefits_of(program, &facts.card.tier);
    let page = HomePage {
        program: &program.name,
        nav,
        partner: &facts.partner,
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
        registrations: facts.registrations.iter().map(|r| line(r, now)).collect(),
        decisions: facts.decisions.iter().map(timeline_item).collect(),
    };
    show(jar, StatusCode::OK, &page)
}

fn check(score: &CriterionScore) -> Check {
    Check {
        label: score.label.clone(),
        met: score.met,
        measure: measure(score),
    }
}
