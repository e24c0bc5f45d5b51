//! CSRF protection for forms without a session: the double-submit cookie.
//! A page that shows a form sets a random token in a `SameSite=Strict`,
//! `HttpOnly` cookie and in a hidden field; a post is accepted only when the
//! two match (compared in constant time). Another site can make a browser
//! post the form, but cannot read or set the cookie to match.

use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use rand::RngCore;
use subtle::ConstantTimeEq;

const COOKIE: &str = "trellis_csrf";

/// The token for a page: the one the browser already has, or a new one.
pub fn token(jar: CookieJar, secure: bool) -> (CookieJar, String) {
    if let Some(existing) = jar
        .get(COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 64)
    {
        return (jar, existing);
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let cookie = Cookie::build((COOKIE, token.clone()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build();
    (jar.add(cookie), token)
}

/// Whether a post's hidden field matches the browser's cookie.
pub fn valid(jar: &CookieJar, submitted: &str) -> bool {
    match jar.get(COOKIE) {
        Some(cookie) => {
            !submitted.is_empty()
                && bool::from(cookie.value().as_bytes().ct_eq(submitted.as_bytes()))
        }
        None => false,
    }
}
