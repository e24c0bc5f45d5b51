//! `/api/v1/accounts`: the vendor's prospects and customers, and the match
//! endpoint that shows how dedupe sees a name and domain.

use super::json::{Json, Query};
use super::views::CandidateView;
use crate::auth::Staff;
use crate::input::Checker;
use crate::problem::ApiResult;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use trellis_domain::dedupe::{CompanyName, WebDomain};
use trellis_domain::ids::AccountId;
use trellis_store::{AccountRecord, NewAccount};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    company_name: Option<String>,
    company_domain: Option<String>,
}

impl AccountRequest {
    fn validate(&self) -> ApiResult<(CompanyName, Option<WebDomain>)> {
        let mut c = Checker::default();
        let name = c
            .required("company_name", &self.company_name)
            .and_then(|n| c.value("company_name", CompanyName::parse(n)));
        let domain = match self
            .company_domain
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            Some(d) => c.value("company_domain", WebDomain::parse(d)).map(Some),
            None => Some(None),
        };
        c.finish(|| Some((name?, domain?)))
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccountView {
    id: i64,
    name: String,
    domain: Option<String>,
    source: String,
}

impl From<AccountRecord> for AccountView {
    fn from(a: AccountRecord) -> Self {
        AccountView {
            id: a.id.0,
            name: a.name,
            domain: a.domain,
            source: a.source,
        }
    }
}

/// Add an account (staff); refused when its domain or exact name is known.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = AccountRequest,
    responses((status = 201, body = AccountView), (status = 409, body = crate::problem::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    _staff: Staff,
    Json(r): Json<AccountRequest>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let (name, domain) = r.validate()?;
    let new = NewAccount {
        name,
        domain,
        source: "api".into(),
    };
    let account = state.store.create_account(&new, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

/// One account (staff).
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts",
    responses((status = 200, body = AccountView), (status = 404, body = crate::problem::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<i64>,
) -> ApiResult<Json<AccountView>> {
    Ok(Json(state.store.account(AccountId(id)).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct MatchView {
    /// The account the keys match exactly.
    linked: Option<AccountView>,
    /// `domain` or `name`.
    matched_on: Option<String>,
    /// The normalized name dedupe compares.
    name_key: String,
    candidates: Vec<CandidateView>,
}

/// How dedupe sees a company: the exact match and scored near names (staff).
#[utoipa::path(get, path = "/api/v1/accounts/match", tag = "accounts", params(AccountRequest),
    responses((status = 200, body = MatchView), (status = 422, body = crate::problem::Problem)))]
pub async fn matching(
    State(state): State<AppState>,
    _staff: Staff,
    Query(q): Query<AccountRequest>,
) -> ApiResult<Json<MatchView>> {
    let (name, domain) = q.validate()?;
    let found = state
        .store
        .match_account(&name, domain.as_ref(), state.program.dedupe.fuzzy_threshold)
        .await?;
    Ok(Json(MatchView {
        linked: found.linked.map(AccountView::from),
        matched_on: found.matched_on.map(str::to_owned),
        name_key: name.key(),
        candidates: found.candidates.iter().map(CandidateView::from).collect(),
    }))
}
