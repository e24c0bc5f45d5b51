//! The portal session: a cookie scoped to `/portal` (see
//! [`SessionCookie`]) whose secret the store knows only by hash.

use crate::web::session_cookie::SessionCookie;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use time::Duration;
use trellis_store::PartnerUser;

pub const COOKIE: SessionCookie = SessionCookie {
    name: "trellis_portal",
    path: "/portal",
    sign_in: "/portal/sign-in",
    lifetime: Duration::days(14),
};

/// A signed-in partner user. A handler that takes one shows only this
/// user's partner; without a valid session the browser is sent to sign in.
pub struct SignedIn {
    pub user: PartnerUser,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let sign_in = || COOKIE.to_sign_in(parts);
        let Some(secret) = COOKIE.secret(&jar) else {
            return Err(sign_in());
        };
        match state.store.portal_session(secret, state.clock.now()).await {
            Ok(Some(user)) => Ok(SignedIn { user }),
            Ok(None) => Err(sign_in()),
            Err(e) => Err(crate::problem::ApiError::from(e).into_response()),
        }
    }
}
