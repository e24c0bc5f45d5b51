//! Signing in to the staff workspace: with a password (checked against its
//! argon2 hash in constant time, the same work done for an unknown
//! address), or with a single-use link mailed to a staff address. Either
//! way the answer never says whether an address is a staff user's, and
//! attempts are limited per address.

use super::session::COOKIE;
use crate::web::session_cookie::{next_query, signed_out, CsrfOnly};
use crate::web::sign_in_mail::{self, LinkMail, SignInLimiter};
use crate::web::{csrf, message, reload, render, secure};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use axum_extra::extract::CookieJar;
use governor::{Quota, RateLimiter};
use serde::Deserialize;
use std::num::NonZeroU32;
use std::sync::Arc;
use time::Duration;
use trellis_domain::dedupe::Email;
use trellis_store::NewSession;

/// Attempts per address: passwords and mailed links counted apart.
#[derive(Clone)]
pub struct Limiters {
    passwords: Arc<SignInLimiter>,
    links: Arc<SignInLimiter>,
}

impl Limiters {
    /// Ten password attempts per address in a quarter hour; five links an hour.
    pub fn new() -> Limiters {
        let burst = NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(std::time::Duration::from_secs(90))
            .map(|q| q.allow_burst(burst))
            .unwrap_or_else(|| Quota::per_minute(burst));
        Limiters {
            passwords: Arc::new(RateLimiter::keyed(quota)),
            links: sign_in_mail::limiter(),
        }
    }
}

#[derive(Template)]
#[template(path = "staff_sign_in.html")]
struct SignInPage<'a> {
    program: &'a str,
    csrf: String,
    problem: Option<&'a str>,
    email: &'a str,
    next: &'a str,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInForm {
    csrf: String,
    email: String,
    password: String,
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Next {
    next: String,
}

/// Where to go after signing in: a page of the workspace, never elsewhere.
fn safe_next(next: &str) -> &str {
    COOKIE.safe_next(next).unwrap_or("/staff")
}

fn form_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    (email, next): (&str, &str),
    problem: Option<&str>,
) -> Response {
    let (jar, csrf) = csrf::token(jar, secure(state));
    let page = SignInPage {
        program: &state.program.name,
        csrf,
        problem,
        email,
        next: safe_next(next),
    };
    (jar, render(status, &page, None)).into_response()
}

/// `GET /staff/sign-in`
pub async fn page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<Next>,
) -> Response {
    form_page(&state, jar, StatusCode::OK, ("", &q.next), None)
}

/// `POST /staff/sign-in`: checks the password and opens a session.
pub async fn password(
    State(state): State<AppState>,
    Extension(limits): Extension<Limiters>,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return reload(&state);
    }
    let again = |jar, status, problem| {
        form_page(
            &state,
            jar,
            status,
            (&form.email, &form.next),
            Some(problem),
        )
    };
    let Ok(email) = Email::parse(&form.email) else {
        return again(
            jar,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your work email address, like name@example.com.",
        );
    };
    if limits
        .passwords
        .check_key(&email.as_str().to_owned())
        .is_err()
    {
        return again(
            jar,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts for this address. Wait a few minutes, or ask for a sign-in link.",
        );
    }
    let found = match state.store.staff_user_by_email(&email).await {
        Ok(found) => found,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let (user, hash) = found.map_or((None, None), |(user, hash)| (Some(user), hash));
    let user = user.filter(|_| crate::passwords::verify(&form.password, hash.as_deref()));
    let Some(user) = user else {
        return again(
            jar,
            StatusCode::UNAUTHORIZED,
            "That email and password do not match. Check both, or ask for a sign-in link instead.",
        );
    };
    let now = state.clock.now();
    let (secret, expires_at) = COOKIE.new_session(now);
    let session = NewSession {
        secret: &secret,
        expires_at,
    };
    if let Err(e) = state.store.open_staff_session(user.id, &session, now).await {
        return crate::problem::ApiError::from(e).into_response();
    }
    let jar = COOKIE.start(jar, secret, secure(&state));
    (jar, Redirect::to(safe_next(&form.next))).into_response()
}

/// `POST /staff/sign-in/link`: mails a link when the address is a staff
/// user's, and answers the same either way.
pub async fn request_link(
    State(state): State<AppState>,
    Extension(limits): Extension<Limiters>,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return reload(&state);
    }
    let Ok(email) = Email::parse(&form.email) else {
        let problem = "Enter your work email address, like name@example.com.";
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return form_page(
            &state,
            jar,
            status,
            (&form.email, &form.next),
            Some(problem),
        );
    };
    if limits.links.check_key(&email.as_str().to_owned()).is_err() {
        return message(&state, StatusCode::TOO_MANY_REQUESTS, "Please wait a while", "Several sign-in links went to this address in the last hour. Use the latest one, or ask again later.");
    }
    let (lookup, address) = (state.clone(), email.clone());
    let next = safe_next(&form.next).to_owned();
    sign_in_mail::in_background(async move { send_link(&lookup, &address, &next).await });
    let text = sign_in_mail::check_your_mail(&email, "the partner team");
    message(&state, StatusCode::OK, "Check your mail", &text)
}

/// Stores a fresh link for the staff user at `email`, if there is one, and
/// mails it; the link returns to `next` once followed.
async fn send_link(state: &AppState, email: &Email, next: &str) -> anyhow::Result<()> {
    let Some((user, _)) = state.store.staff_user_by_email(email).await? else {
        return Ok(());
    };
    let secret = crate::tokens::new_secret();
    let now = state.clock.now();
    let expires = now + Duration::minutes(sign_in_mail::LINK_MINUTES);
    state
        .store
        .create_staff_sign_in_link(&secret, user.id, now, expires)
        .await?;
    let link = LinkMail {
        to: &user.email,
        name: &user.name,
        place: "staff workspace",
        url: format!(
            "{}/staff/sign-in/{secret}?{}",
            state.public_url,
            next_query(next)
        ),
    };
    sign_in_mail::send(state, link).await
}

/// `GET /staff/sign-in/{token}`: spends the link and opens a session.
pub async fn follow(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<Next>,
    jar: CookieJar,
) -> Response {
    let now = state.clock.now();
    let (secret, expires_at) = COOKIE.new_session(now);
    let session = NewSession {
        secret: &secret,
        expires_at,
    };
    let redeemed = state
        .store
        .redeem_staff_sign_in_link(&token, &session, now)
        .await;
    let to = safe_next(&q.next);
    COOKIE.opened(&state, jar, redeemed.map(|u| u.is_some()), (secret, to))
}

/// `POST /staff/sign-out`: ends the session in the store.
pub async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let store = state.store.clone();
    let end = |secret: String| async move { store.end_staff_session(&secret).await };
    signed_out(&state, jar, &form.csrf, &COOKIE, end).await
}
