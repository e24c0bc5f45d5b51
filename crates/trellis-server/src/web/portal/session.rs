//! The portal session: a random secret in a cookie, its hash in the store.
//! The cookie is `HttpOnly` (no script reads it), `SameSite=Lax` (it
//! travels when a person follows a link to the portal, not on another
//! site's posts), `Secure` behind https, and scoped to `/portal`.

use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use time::Duration;
use trellis_store::PartnerUser;

const COOKIE: &str = "trellis_portal";
const PATH: &str = "/portal";

/// How long a session lasts before the person signs in again.
pub const LIFETIME: Duration = Duration::days(14);

/// A signed-in partner user. A handler that takes one shows only this
/// user's partner; without a valid session the browser is sent to sign in.
pub struct SignedIn {
    pub user: PartnerUser,
}

/// Sets the cookie that carries a new session's `secret`.
pub fn start(jar: CookieJar, secret: String, secure: bool) -> CookieJar {
    let cookie = Cookie::build((COOKIE, secret))
        .path(PATH)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(LIFETIME)
        .build();
    jar.add(cookie)
}

/// The session secret the browser presents, if any.
pub fn secret(jar: &CookieJar) -> Option<&str> {
    jar.get(COOKIE).map(Cookie::value).filter(|v| !v.is_empty())
}

/// Tells the browser to forget the session cookie.
pub fn forget(jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(COOKIE).path(PATH))
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let sign_in = || Redirect::to(&sign_in_path(parts)).into_response();
        let Some(secret) = secret(&jar) else {
            return Err(sign_in());
        };
        match state.store.portal_session(secret, state.clock.now()).await {
            Ok(Some(user)) => Ok(SignedIn { user }),
            Ok(None) => Err(sign_in()),
            Err(e) => Err(crate::problem::ApiError::from(e).into_response()),
        }
    }
}

/// Where an unsigned request is sent: the sign-in page, carrying the page
/// asked for (a `GET` deeper than the home page) to return to afterwards.
fn sign_in_path(parts: &Parts) -> String {
    let asked = parts.uri.path_and_query().map_or("", |p| p.as_str());
    match safe_next(asked) {
        Some(next) if parts.method == Method::GET => {
            format!("/portal/sign-in?{}", next_query(next))
        }
        _ => "/portal/sign-in".to_owned(),
    }
}

/// `next=<path>`, encoded for a query string.
pub fn next_query(next: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish()
}

/// `next` when it is safe to send a browser to after signing in: a path
/// inside the portal on this site, never another site (`//host`, `/\host`)
/// and nothing that could split a header.
pub fn safe_next(next: &str) -> Option<&str> {
    let safe = next.starts_with("/portal/")
        && next.len() <= 300
        && next.bytes().all(|b| b.is_ascii_graphic())
        && !next.contains("//")
        && !next.contains('\\')
        && !next.contains("..");
    safe.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_inside_the_portal_are_followed() {
        for good in [
            "/portal/registrations/REG-000001",
            "/portal/registrations?before=12",
        ] {
            assert_eq!(safe_next(good), Some(good));
        }
        for bad in [
            "https://evil.example/portal/",
            "//evil.example/portal/",
            "/portal//evil.example",
            "/portal/\\evil.example",
            "/portal/../status/x",
            "/portal/a b",
            "/portal/a\r\nSet-Cookie:x",
            "/portal",
            "/status/x",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
