//! Signing in without a password: a partner user asks for a link by work
//! email, the link (single use, 30 minutes) opens a session, and signing out
//! ends it. The answer to a request never says whether the address is
//! known, so the form cannot be used to learn who the partners' people are.
//! A page asked for before signing in travels as `next` through the form
//! and the mailed link, and the link opens it (when it is inside the portal).

use super::session;
use crate::web::session_cookie::{next_query, signed_out, CsrfOnly};
use crate::web::sign_in_mail::{self, LinkMail, SignInLimiter};
use crate::web::{csrf, message, reload, render, secure};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use std::sync::Arc;
use time::Duration;
use trellis_domain::dedupe::Email;
use trellis_store::{NewSession, Sender};

#[derive(Template)]
#[template(path = "portal_sign_in.html")]
struct SignInPage<'a> {
    program: &'a str,
    csrf: String,
    problem: Option<String>,
    next: Option<&'a str>,
}

/// The page to open once signed in, as a query or form field.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Next {
    next: String,
}

impl Next {
    fn safe(&self) -> Option<&str> {
        session::COOKIE.safe_next(&self.next)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInForm {
    csrf: String,
    work_email: String,
    next: String,
}

fn form_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    problem: Option<String>,
    next: Option<&str>,
) -> Response {
    let (jar, csrf) = csrf::token(jar, secure(state));
    let page = SignInPage {
        program: &state.program.name,
        csrf,
        problem,
        next,
    };
    (jar, render(status, &page, None)).into_response()
}

/// `GET /portal/sign-in`
pub async fn page(
    State(state): State<AppState>,
    Query(next): Query<Next>,
    jar: CookieJar,
) -> Response {
    form_page(&state, jar, StatusCode::OK, None, next.safe())
}

/// `POST /portal/sign-in`: mails a link when the address is a partner
/// user's, and answers the same either way.
pub async fn request(
    State(state): State<AppState>,
    Extension(limiter): Extension<Arc<SignInLimiter>>,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return reload(&state);
    }
    let next = session::COOKIE.safe_next(&form.next).map(str::to_owned);
    let email = match Email::parse(&form.work_email) {
        Ok(email) => email,
        Err(e) => {
            let problem = Some(format!("Your work email: {e}"));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return form_page(&state, jar, status, problem, next.as_deref());
        }
    };
    if limiter.check_key(&email.as_str().to_owned()).is_err() {
        return message(&state, StatusCode::TOO_MANY_REQUESTS, "Please wait a while", "Several sign-in links went to this address in the last hour. Use the latest one, or ask again later.");
    }
    let lookup = state.clone();
    let address = email.clone();
    sign_in_mail::in_background(async move { send_link(&lookup, &address, next.as_deref()).await });
    let text = sign_in_mail::check_your_mail(&email, "one of our partners' people");
    message(&state, StatusCode::OK, "Check your mail", &text)
}

/// Stores a fresh link for the partner user at `email`, if there is one,
/// and mails it. The link carries `next`, the page to open once signed in.
async fn send_link(state: &AppState, email: &Email, next: Option<&str>) -> anyhow::Result<()> {
    let Some(Sender {
        user: Some(user), ..
    }) = state.store.sender(email).await?
    else {
        return Ok(());
    };
    let secret = crate::tokens::new_secret();
    let now = state.clock.now();
    let expires = now + Duration::minutes(sign_in_mail::LINK_MINUTES);
    state
        .store
        .create_sign_in_link(&secret, user.id, now, expires)
        .await?;
    let query = next
        .map(|n| format!("?{}", next_query(n)))
        .unwrap_or_default();
    let link = LinkMail {
        to: &user.email,
        name: &user.name,
        place: "partner portal",
        url: format!("{}/portal/sign-in/{secret}{query}", state.public_url),
    };
    sign_in_mail::send(state, link).await
}

/// `GET /portal/sign-in/{token}`: spends the link, opens a session, and
/// goes to the page asked for before signing in, else the home page.
pub async fn follow(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(next): Query<Next>,
    jar: CookieJar,
) -> Response {
    let now = state.clock.now();
    let (secret, expires_at) = session::COOKIE.new_session(now);
    let session = NewSession {
        secret: &secret,
        expires_at,
    };
    let redeemed = state.store.redeem_sign_in_link(&token, &session, now).await;
    let to = next.safe().unwrap_or("/portal");
    let cookie = &session::COOKIE;
    cookie.opened(&state, jar, redeemed.map(|u| u.is_some()), (secret, to))
}

/// `POST /portal/sign-out`: ends the session in the store, so a copied
/// cookie stops working too.
pub async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let store = state.store.clone();
    let end = |secret: String| async move { store.end_portal_session(&secret).await };
    signed_out(&state, jar, &form.csrf, &session::COOKIE, end).await
}
