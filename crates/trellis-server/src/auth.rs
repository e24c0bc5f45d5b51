//! Who is calling, as axum extractors: a handler states the permission it
//! needs in its signature (`Caller`, `Staff`, `Admin`) and never checks
//! tokens itself.

use crate::problem::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use trellis_domain::ids::PartnerId;
use trellis_store::{Principal, Role};

/// Any authenticated caller: staff or a partner.
pub struct Caller(pub Principal);

/// A staff member (admin or manager).
pub struct Staff(pub Principal);

/// An admin.
pub struct Admin;

impl Caller {
    /// Refuses a partner reaching for another partner's records with 404, so
    /// a partner cannot even learn that the record exists.
    pub fn may_see(&self, partner: PartnerId) -> Result<(), ApiError> {
        match self.0.partner_scope() {
            Some(own) if own != partner => Err(ApiError::NotFound("partner not found".into())),
            _ => Ok(()),
        }
    }
}

async fn principal(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized)?;
    let secret = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    state
        .store
        .authenticate(secret)
        .await?
        .ok_or(ApiError::Unauthorized)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        principal(parts, state).await.map(Caller)
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            p @ Principal::Staff { .. } => Ok(Staff(p)),
            Principal::Partner { .. } => Err(ApiError::Forbidden(
                "this needs a staff token (admin or manager)".into(),
            )),
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            Principal::Staff {
                role: Role::Admin, ..
            } => Ok(Admin),
            _ => Err(ApiError::Forbidden("this needs an admin token".into())),
        }
    }
}
