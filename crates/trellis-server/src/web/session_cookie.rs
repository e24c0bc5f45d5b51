//! The cookie that carries a session: a random secret, its hash in the
//! store. It is `HttpOnly` (no script reads it), `SameSite=Lax` (it travels
//! when a person follows a link from a mail, not on another site's posts),
//! `Secure` behind https, and scoped to the part of the site it opens.

use crate::web::{csrf, reload};
use crate::AppState;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use std::future::Future;
use time::{Duration, OffsetDateTime};
use trellis_store::StoreError;

/// One audience's session cookie.
pub struct SessionCookie {
    pub name: &'static str,
    /// The only path the browser sends it to.
    pub path: &'static str,
    /// How long a session lasts before the person signs in again.
    pub lifetime: Duration,
    /// Where a person without a session signs in.
    pub sign_in: &'static str,
}

impl SessionCookie {
    /// A new session for this audience starting `now`: a fresh secret, and
    /// when it ends.
    pub fn new_session(&self, now: OffsetDateTime) -> (String, OffsetDateTime) {
        (crate::tokens::new_secret(), now + self.lifetime)
    }

    /// Sets the cookie that carries a new session's `secret`.
    pub fn start(&self, jar: CookieJar, secret: String, secure: bool) -> CookieJar {
        let cookie = Cookie::build((self.name, secret))
            .path(self.path)
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(self.lifetime)
            .build();
        jar.add(cookie)
    }

    /// The session secret the browser presents, if any.
    pub fn secret<'j>(&self, jar: &'j CookieJar) -> Option<&'j str> {
        jar.get(self.name)
            .map(Cookie::value)
            .filter(|v| !v.is_empty())
    }

    /// Tells the browser to forget the session cookie.
    pub fn forget(&self, jar: CookieJar) -> CookieJar {
        jar.remove(Cookie::build(self.name).path(self.path))
    }

    /// The answer to following a sign-in link: with the link spent and a
    /// session opened (`redeemed` true), the cookie for its `secret` and the
    /// page `to`; else a page saying to ask for a new link.
    pub fn opened(
        &self,
        state: &AppState,
        jar: CookieJar,
        redeemed: Result<bool, StoreError>,
        (secret, to): (String, &str),
    ) -> Response {
        match redeemed {
            Ok(true) => {
                let jar = self.start(jar, secret, crate::web::secure(state));
                (jar, Redirect::to(to)).into_response()
            }
            Ok(false) => {
                let text = format!("This sign-in link was already used, has expired or is unknown. Ask for a new one at {}.", self.sign_in);
                crate::web::message(state, StatusCode::GONE, "Ask for a new link", &text)
            }
            Err(e) => crate::problem::ApiError::from(e).into_response(),
        }
    }

    /// Sends a request without a session to sign in, carrying the page it
    /// asked for (a `GET` below this audience's home) to return to after;
    /// a form posted from an expired session is not replayed.
    pub fn to_sign_in(&self, parts: &Parts) -> Response {
        let asked = parts.uri.path_and_query().map_or("", |p| p.as_str());
        let target = match self.safe_next(asked) {
            Some(next) if parts.method == Method::GET => {
                format!("{}?{}", self.sign_in, next_query(next))
            }
            _ => self.sign_in.to_owned(),
        };
        Redirect::to(&target).into_response()
    }

    /// `next` when it is safe to send a browser to after signing in: a path
    /// below this audience's home on this site, never another site
    /// (`//host`, `/\host`) and nothing that could split a header.
    pub fn safe_next<'n>(&self, next: &'n str) -> Option<&'n str> {
        let below = next
            .strip_prefix(self.path)
            .is_some_and(|rest| rest.starts_with('/'));
        let safe = below
            && next.len() <= 300
            && next.bytes().all(|b| b.is_ascii_graphic())
            && !next.contains("//")
            && !next.contains('\\')
            && !next.contains("..");
        safe.then_some(next)
    }
}

/// `next=<path>`, encoded for a query string.
pub fn next_query(next: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish()
}

/// A form that carries nothing but its CSRF token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfOnly {
    pub csrf: String,
}

/// Signs out: `end` deletes the session in the store, so a copied cookie
/// stops working too; then the browser forgets the cookie.
pub async fn signed_out<Fut>(
    state: &AppState,
    jar: CookieJar,
    csrf_token: &str,
    cookie: &SessionCookie,
    end: impl FnOnce(String) -> Fut,
) -> Response
where
    Fut: Future<Output = Result<(), StoreError>>,
{
    if !csrf::valid(&jar, csrf_token) {
        return reload(state);
    }
    if let Some(secret) = cookie.secret(&jar) {
        if let Err(e) = end(secret.to_owned()).await {
            return crate::problem::ApiError::from(e).into_response();
        }
    }
    (cookie.forget(jar), Redirect::to(cookie.sign_in)).into_response()
}

#[cfg(test)]
mod tests {
    use super::SessionCookie;

    const PORTAL: SessionCookie = SessionCookie {
        name: "trellis_portal",
        path: "/portal",
        lifetime: time::Duration::days(1),
        sign_in: "/portal/sign-in",
    };

    fn safe_next(next: &str) -> Option<&str> {
        PORTAL.safe_next(next)
    }

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
