//! `GET /staff/partners/{id}`: one partner as the partner team sees it:
//! its scorecard (the same one the partner sees in the portal), the
//! measurements and evidence behind it, its registrations, grace and
//! exceptions, appeals, and its history in plain words.

use super::page::{answer, failed};
use super::{Frame, Section, StaffSignedIn};
use crate::web::tier_words::{measure, percent, tier_label};
use crate::web::words::{label, timeline_item, TimelineItem};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::{CriterionScore, Quarter, Scorecard};
use trellis_domain::values::day;
use trellis_store::{
    AppealRecord, EventRecord, MetricRecord, PartnerStanding, RegistrationRecord, StoreError,
};

/// Rows listed per section; the API has the rest.
const METRICS_SHOWN: i64 = 50;
const REGISTRATIONS_SHOWN: i64 = 25;
const APPEALS_SHOWN: i64 = 20;
const HISTORY_SHOWN: i64 = 50;

struct Criterion {
    label: String,
    bucket: &'static str,
    met: bool,
    measure: String,
    progress: u8,
    evidence: Vec<String>,
}

struct Metric {
    day: String,
    metric: String,
    value: String,
    item: String,
    evidence: String,
    expires_on: String,
}

struct Registration {
    case_number: String,
    company: String,
    status_label: &'static str,
    status_class: &'static str,
    submitted: String,
}

struct Appeal {
    review_id: i64,
    filed: String,
    message: String,
    status: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "staff_partner.html")]
struct PartnerPage {
    frame: Frame,
    name: String,
    kind: &'static str,
    regions: String,
    tier: String,
    next_tier: Option<String>,
    progress: u8,
    window: String,
    criteria: Vec<Criterion>,
    has_evidence: bool,
    missing: Vec<String>,
    grace: Option<String>,
    exception: Option<String>,
    metrics: Vec<Metric>,
    registrations: Vec<Registration>,
    appeals: Vec<Appeal>,
    history: Vec<TimelineItem>,
}

/// What the page reads from the store.
struct Facts {
    standing: PartnerStanding,
    card: Scorecard,
    metrics: Vec<MetricRecord>,
    registrations: Vec<RegistrationRecord>,
    appeals: Vec<AppealRecord>,
    history: Vec<EventRecord>,
}

async fn facts(state: &AppState, partner: PartnerId) -> Result<Facts, StoreError> {
    let store = &state.store;
    let ((standing, card), metrics, registrations, appeals, history) = tokio::try_join!(
        store.scorecard(&state.program, partner, state.clock.now()),
        store.metrics_of(partner, METRICS_SHOWN),
        store.recent_registrations(partner, REGISTRATIONS_SHOWN),
        store.partner_appeals(partner, APPEALS_SHOWN),
        store.partner_events(partner, HISTORY_SHOWN),
    )?;
    Ok(Facts {
        standing,
        card,
        metrics,
        registrations,
        appeals,
        history,
    })
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Path(id): Path<i64>,
) -> Response {
    let facts = match facts(&state, PartnerId(id)).await {
        Ok(facts) => facts,
        Err(e) => return failed(&state, e),
    };
    let program = &state.program;
    let (jar, frame) = Frame::new(&state, jar, &signed_in, Section::Partners);
    let Facts { standing, card, .. } = &facts;
    let partner = &standing.partner;
    let page = PartnerPage {
        frame,
        name: partner.name.clone(),
        kind: partner.kind.as_str(),
        regions: partner.regions.join(", "),
        tier: tier_label(program, &partner.tier).to_owned(),
        next_tier: (card.next_tier.as_deref()).map(|t| tier_label(program, t).to_owned()),
        progress: percent(card.progress_to_next),
        window: card.window_label.clone(),
        criteria: card.criteria.iter().map(criterion).collect(),
        has_evidence: card.criteria.iter().any(|c| !c.evidence.is_empty()),
        missing: card.missing.clone(),
        grace: grace(standing),
        exception: exception(program, standing),
        metrics: facts.metrics.iter().map(metric).collect(),
        registrations: facts.registrations.iter().map(registration).collect(),
        appeals: facts.appeals.iter().map(appeal).collect(),
        history: facts.history.iter().map(timeline_item).collect(),
    };
    answer(jar, StatusCode::OK, &page)
}

fn criterion(score: &CriterionScore) -> Criterion {
    Criterion {
        label: score.label.clone(),
        bucket: score.bucket.as_str(),
        met: score.met,
        measure: measure(score),
        progress: percent(score.progress),
        evidence: score.evidence.clone(),
    }
}

/// "In grace since the review of 2025-Q4, until the next review on 2026-04-01."
fn grace(standing: &PartnerStanding) -> Option<String> {
    let quarter = standing.grace_quarter.as_deref()?;
    let until = Quarter::parse(quarter)
        .map(|q| format!(", until the next review on {}", q.next().end()))
        .unwrap_or_default();
    Some(format!(
        "In grace since the review of {quarter}{until}: its tier is kept though it missed a criterion."
    ))
}

fn exception(program: &Program, standing: &PartnerStanding) -> Option<String> {
    let e = standing.exception.as_ref()?;
    Some(format!(
        "Held at {} by hand until {} (it was {}): {}",
        tier_label(program, &e.tier),
        e.ends_on,
        tier_label(program, &e.previous_tier),
        e.reason
    ))
}

fn metric(m: &MetricRecord) -> Metric {
    Metric {
        day: day(m.occurred_at),
        metric: m.metric.clone(),
        value: m.value.to_string(),
        item: m.item.clone().unwrap_or_default(),
        evidence: m.evidence.clone().unwrap_or_default(),
        expires_on: m.expires_on.map(|d| d.to_string()).unwrap_or_default(),
    }
}

fn registration(r: &RegistrationRecord) -> Registration {
    let (status_label, status_class) = label(r.life.status);
    Registration {
        case_number: r.case_number().to_string(),
        company: r.company_name.clone(),
        status_label,
        status_class,
        submitted: day(r.life.submitted_at),
    }
}

fn appeal(a: &AppealRecord) -> Appeal {
    Appeal {
        review_id: a.review_id,
        filed: day(a.created_at),
        message: a.message.clone(),
        status: a.status.clone(),
        reason: a.reason.clone().unwrap_or_default(),
    }
}
