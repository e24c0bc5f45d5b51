//! The staff session: a cookie scoped to `/staff` (see [`SessionCookie`]),
//! apart from the portal's, so the two never open each other's pages.

use crate::web::session_cookie::SessionCookie;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use time::Duration;
use trellis_domain::event::Actor;
use trellis_store::StaffUser;

pub const COOKIE: SessionCookie = SessionCookie {
    name: "trellis_staff",
    path: "/staff",
    sign_in: "/staff/sign-in",
    lifetime: Duration::hours(12),
};

/// A signed-in person of the partner team.
pub struct StaffSignedIn {
    pub user: StaffUser,
}

impl StaffSignedIn {
    /// Who the event log says made a change from the workspace.
    pub fn actor(&self) -> Actor {
        Actor::StaffUser {
            user_id: self.user.id,
            role: self.user.role.as_str().into(),
        }
    }
}

impl FromRequestParts<AppState> for StaffSignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(secret) = COOKIE.secret(&jar) else {
            return Err(COOKIE.to_sign_in(parts));
        };
        match state.store.staff_session(secret, state.clock.now()).await {
            Ok(Some(user)) => Ok(StaffSignedIn { user }),
            Ok(None) => Err(COOKIE.to_sign_in(parts)),
            Err(e) => Err(crate::problem::ApiError::from(e).into_response()),
        }
    }
}
