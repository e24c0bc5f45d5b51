//! `GET /staff/tiers`, tier mobility: who is about to move up, who the next
//! review would hold in grace or move down, and who is in grace now, each
//! with the reasons the tier engine gives. The next review is evaluated as
//! `POST /api/v1/reviews` would run it, without storing anything.

use super::page::{answer, failed};
use super::{Frame, Section, StaffSignedIn};
use crate::web::tier_words::{percent, tier_label};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use std::collections::HashMap;
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::{Action, Proposal, Quarter};
use trellis_store::{GraceRecord, PartnerOverview, StoreError};

/// Progress to the next tier from which a partner counts as near it.
const NEAR: f64 = 0.75;
/// Rows per list; the partners list has everyone.
const SHOWN: usize = 100;

/// One partner in one of the lists, with why it is there.
struct Mover {
    id: i64,
    name: String,
    /// "Select → Elite, 80%", "Select → Registered (downgrade)".
    what: String,
    reasons: Vec<String>,
    plan: Vec<String>,
}

#[derive(Template)]
#[template(path = "staff_tiers.html")]
struct TiersPage {
    frame: Frame,
    quarter: String,
    near: Vec<Mover>,
    at_risk: Vec<Mover>,
    in_grace: Vec<Mover>,
}

/// What the page reads: scorecards now, the next review's proposals and
/// the partners in grace.
struct Facts {
    overviews: Vec<PartnerOverview>,
    quarter: Quarter,
    proposals: Vec<(PartnerId, Proposal)>,
    graces: Vec<GraceRecord>,
}

async fn facts(state: &AppState) -> Result<Facts, StoreError> {
    let (store, program, now) = (&state.store, &state.program, state.clock.now());
    let quarter = store.next_review_quarter(now).await?;
    let (overviews, proposals, graces) = tokio::try_join!(
        store.partner_overviews(program, now),
        store.evaluate(program, quarter),
        store.partners_in_grace(),
    )?;
    Ok(Facts {
        overviews,
        quarter,
        proposals,
        graces,
    })
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
) -> Response {
    let facts = match facts(&state).await {
        Ok(facts) => facts,
        Err(e) => return failed(&state, e),
    };
    let program = &state.program;
    let names: HashMap<PartnerId, &str> = (facts.overviews.iter())
        .map(|o| (o.standing.partner.id, o.standing.partner.name.as_str()))
        .collect();
    let name = |id: &PartnerId| names.get(id).copied().unwrap_or_default().to_owned();
    let mut near: Vec<&PartnerOverview> = facts.overviews.iter().filter(|o| is_near(o)).collect();
    near.sort_by(|a, b| b.card.progress_to_next.total_cmp(&a.card.progress_to_next));
    let at_risk = (facts.proposals.iter())
        .filter(|(_, p)| matches!(p.action, Action::Downgrade | Action::Grace))
        .map(|(id, p)| risk(program, name(id), *id, p));
    let in_grace = (facts.graces.iter()).map(|g| grace(name(&g.partner_id), g));
    let (jar, frame) = Frame::new(&state, jar, &signed_in, Section::Tiers);
    let page = TiersPage {
        frame,
        quarter: facts.quarter.to_string(),
        near: near
            .into_iter()
            .take(SHOWN)
            .map(|o| upward(program, o))
            .collect(),
        at_risk: at_risk.take(SHOWN).collect(),
        in_grace: in_grace.take(SHOWN).collect(),
    };
    answer(jar, StatusCode::OK, &page)
}

/// Close to the next tier: most of the way there on average, or one
/// criterion short. A tier awarded by hand is never near.
fn is_near(o: &PartnerOverview) -> bool {
    let card = &o.card;
    let missing = card.criteria.iter().filter(|c| !c.met).count();
    card.next_tier.is_some()
        && card.progress_to_next > 0.0
        && (card.progress_to_next >= NEAR || missing == 1)
}

fn upward(program: &Program, o: &PartnerOverview) -> Mover {
    let partner = &o.standing.partner;
    let next = o.card.next_tier.as_deref().unwrap_or_default();
    let reasons = match o.card.missing.is_empty() {
        true => vec![format!(
            "Meets every criterion for {}: it moves up at the next review.",
            tier_label(program, next)
        )],
        false => o.card.missing.clone(),
    };
    Mover {
        id: partner.id.0,
        name: partner.name.clone(),
        what: format!(
            "{} → {}, {}% of the way",
            tier_label(program, &partner.tier),
            tier_label(program, next),
            percent(o.card.progress_to_next)
        ),
        reasons,
        plan: Vec::new(),
    }
}

fn risk(program: &Program, name: String, id: PartnerId, p: &Proposal) -> Mover {
    Mover {
        id: id.0,
        name,
        what: format!(
            "{} → {} ({})",
            tier_label(program, &p.current_tier),
            tier_label(program, &p.proposed_tier),
            p.action.as_str()
        ),
        reasons: p.reasons.clone(),
        plan: p.recovery_plan.clone(),
    }
}

fn grace(name: String, g: &GraceRecord) -> Mover {
    Mover {
        id: g.partner_id.0,
        name,
        what: format!(
            "granted by the review of {}, ends on {}",
            g.quarter,
            g.ends_on()
        ),
        reasons: g.reasons.clone(),
        plan: g.recovery_plan.clone(),
    }
}
