//! `GET /portal/appeals`: the partner's decisions in published reviews,
//! each with its appeal and where that stands, and
//! `GET/POST /portal/reviews/{review}/appeal`: appealing one of them with a
//! reason and links to evidence. An appeal is validated as the API
//! validates it (`input::appeal`) and filed by the same store command, so
//! the appeal window, a draft review and a second appeal are refused alike.

use super::session::SignedIn;
use super::{failure, refusal, show, Nav};
use crate::problem::ApiError;
use crate::web::csrf;
use crate::web::tier_words::tier_label;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use trellis_domain::program::Program;
use trellis_domain::tiering::Action;
use trellis_domain::values::day;
use trellis_store::{AppealRecord, ReviewDecision};

/// Decisions listed: five years of quarterly reviews.
const DECISIONS_SHOWN: i64 = 20;

/// The form's fields by their labels, for what to fix.
const LABELS: &[(&str, &str)] = &[
    ("message", "Why the decision should change"),
    ("evidence_urls", "Evidence links"),
    ("review_id", "Appeal"),
];

/// A decision as the partner reads it, with its appeal if it has one.
struct DecisionView {
    review_id: i64,
    quarter: String,
    published: String,
    /// "Moved up from Registered to Select".
    summary: String,
    reasons: Vec<String>,
    recovery_plan: Vec<String>,
    appeal: Option<AppealView>,
    /// "Appeal by 2026-02-04", or when the window closed.
    window: String,
    appealable: bool,
}

struct AppealView {
    status_label: &'static str,
    status_class: &'static str,
    message: String,
    evidence_urls: Vec<String>,
    /// Why staff upheld or rejected it.
    reason: Option<String>,
}

fn decision_view(
    program: &Program,
    decision: &ReviewDecision,
    appeal: Option<&AppealRecord>,
    now: OffsetDateTime,
) -> DecisionView {
    let proposal = &decision.proposal.proposal;
    let from = tier_label(program, &proposal.current_tier);
    let to = tier_label(program, &proposal.proposed_tier);
    let summary = match proposal.action {
        Action::Upgrade => format!("Moved up from {from} to {to}"),
        Action::Hold => format!("Stays at {from}"),
        Action::Grace => format!("Stays at {from} for a grace quarter"),
        Action::Downgrade => format!("Moved down from {from} to {to}"),
    };
    let deadline = decision.published_at + Duration::days(i64::from(program.review.appeal_days));
    let open = now <= deadline;
    let window = match open {
        true => format!("Appeal by {}", day(deadline)),
        false => format!("The appeal window closed on {}", day(deadline)),
    };
    DecisionView {
        review_id: decision.review_id,
        quarter: decision.quarter.clone(),
        published: day(decision.published_at),
        summary,
        reasons: proposal.reasons.clone(),
        recovery_plan: proposal.recovery_plan.clone(),
        appealable: open && appeal.is_none(),
        appeal: appeal.map(appeal_view),
        window,
    }
}

fn appeal_view(appeal: &AppealRecord) -> AppealView {
    let (status_label, status_class) = match appeal.status.as_str() {
        "upheld" => ("Appeal upheld", "good"),
        "rejected" => ("Appeal rejected", "closed"),
        _ => ("Appeal open", "pending"),
    };
    AppealView {
        status_label,
        status_class,
        message: appeal.message.clone(),
        evidence_urls: appeal.evidence_urls.clone(),
        reason: appeal.reason.clone(),
    }
}

#[derive(Template)]
#[template(path = "portal_appeals.html")]
struct AppealsPage<'a> {
    program: &'a str,
    nav: Nav,
    decisions: Vec<DecisionView>,
}

/// `GET /portal/appeals`: two reads, the decisions and the appeals, matched
/// here (a partner has at most one appeal per review).
pub async fn page(State(state): State<AppState>, signed_in: SignedIn, jar: CookieJar) -> Response {
    let partner = signed_in.user.partner_id;
    let read = async {
        let decisions = state
            .store
            .review_decisions(partner, DECISIONS_SHOWN)
            .await?;
        let appeals = state
            .store
            .partner_appeals(partner, DECISIONS_SHOWN)
            .await?;
        Ok::<_, trellis_store::StoreError>((decisions, appeals))
    };
    let (decisions, appeals) = match read.await {
        Ok(read) => read,
        Err(e) => return failure(&state, e.into()),
    };
    let now = state.clock.now();
    let views = decisions.iter().map(|d| {
        let appeal = appeals.iter().find(|a| a.review_id == d.review_id);
        decision_view(&state.program, d, appeal, now)
    });
    let (jar, nav) = Nav::new(&state, &signed_in, jar, "appeals");
    let page = AppealsPage {
        program: &state.program.name,
        nav,
        decisions: views.collect(),
    };
    show(jar, StatusCode::OK, &page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AppealForm {
    csrf: String,
    message: String,
    /// One URL per line.
    evidence: String,
}

impl AppealForm {
    fn evidence_urls(&self) -> Vec<String> {
        let lines = self.evidence.lines().map(str::trim);
        lines.filter(|l| !l.is_empty()).map(str::to_owned).collect()
    }
}

#[derive(Template)]
#[template(path = "portal_appeal.html")]
struct AppealPage<'a> {
    program: &'a str,
    nav: Nav,
    d: DecisionView,
    problems: Vec<String>,
    form: &'a AppealForm,
}

/// The appeal form for the partner's decision in review `review`.
async fn form_page(
    state: &AppState,
    signed_in: &SignedIn,
    jar: CookieJar,
    review: i64,
    status: StatusCode,
    problems: Vec<String>,
    form: &AppealForm,
) -> Response {
    let partner = signed_in.user.partner_id;
    let decision = match state.store.review_decision(partner, review).await {
        Ok(decision) => decision,
        Err(e) => return failure(state, e.into()),
    };
    let (jar, nav) = Nav::new(state, signed_in, jar, "appeals");
    let page = AppealPage {
        program: &state.program.name,
        nav,
        d: decision_view(&state.program, &decision, None, state.clock.now()),
        problems,
        form,
    };
    show(jar, status, &page)
}

/// `GET /portal/reviews/{review}/appeal`
pub async fn form(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(review): Path<i64>,
    jar: CookieJar,
) -> Response {
    let form = AppealForm::default();
    form_page(
        &state,
        &signed_in,
        jar,
        review,
        StatusCode::OK,
        vec![],
        &form,
    )
    .await
}

/// `POST /portal/reviews/{review}/appeal`: files the appeal; done, the
/// browser goes to the list, where it shows as open.
pub async fn post(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(review): Path<i64>,
    jar: CookieJar,
    Form(form): Form<AppealForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return crate::web::reload(&state);
    }
    let partner = signed_in.user.partner_id;
    if let Err(e) = state.store.review_decision(partner, review).await {
        return failure(&state, e.into());
    }
    let urls = form.evidence_urls();
    let filed = match crate::input::appeal(&form.message, &urls) {
        Ok(message) => {
            let (program, now) = (&state.program, state.clock.now());
            let filed = state
                .store
                .file_appeal(program, partner, review, message.as_str(), &urls, now)
                .await;
            filed.map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    let (status, problems) = match filed.map_err(|e| refusal(e, LABELS)) {
        Ok(_) => return Redirect::to("/portal/appeals").into_response(),
        Err(Ok(refused)) => refused,
        Err(Err(other)) => return failure(&state, other),
    };
    form_page(&state, &signed_in, jar, review, status, problems, &form).await
}
