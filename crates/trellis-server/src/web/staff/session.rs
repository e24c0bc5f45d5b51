//! The staff session: a cookie scoped to `/staff` (see [`SessionCookie`]),
//! apart from the portal's, so the two never open each other's pages.

use crate::web::session_cookie::SessionCookie;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
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
    #[allow(dead_code, reason = "for the workspace pages that change things")]
    pub fn actor(&self) -> Actor {
        Actor::StaffUser {
            user_id: self.user.id,
            role: self.user.role.as_str().into(),
        }
    }
}

/// Where a page that needs a session sends the browser: the sign-in page,
/// which returns to the page asked for (a `GET` only; a form posted from an
/// expired session is not replayed).
fn to_sign_in(parts: &Parts) -> Response {
    let target = match (&parts.method, parts.uri.path_and_query()) {
        (&Method::GET, Some(asked)) => {
            let next: String =
                url::form_urlencoded::byte_serialize(asked.as_str().as_bytes()).collect();
            format!("/staff/sign-in?next={next}")
        }
        _ => "/staff/sign-in".to_owned(),
    };
    Redirect::to(&target).into_response()
}

impl FromRequestParts<AppState> for StaffSignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(secret) = COOKIE.secret(&jar) else {
            return Err(to_sign_in(parts));
        };
        match state.store.staff_session(secret, state.clock.now()).await {
            Ok(Some(user)) => Ok(StaffSignedIn { user }),
            Ok(None) => Err(to_sign_in(parts)),
            Err(e) => Err(crate::problem::ApiError::from(e).into_response()),
        }
    }
}
