//! Signing in without a password: a partner user asks for a link by work
//! email, the link (single use, 30 minutes) opens a session, and signing out
//! ends it. The answer to a request never says whether the address is
//! known, so the form cannot be used to learn who the partners' people are.
//! A page asked for before signing in travels as `next` through the form
//! and the mailed link, and the link opens it (when it is inside the portal).

use super::{refused_form, secure, session};
use crate::mail::OutgoingMail;
use crate::web::{csrf, message, render};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use axum_extra::extract::CookieJar;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use std::num::NonZeroU32;
use std::sync::Arc;
use time::Duration;
use trellis_domain::dedupe::Email;
use trellis_store::{NewSession, PartnerUser, Sender};

/// How long a sign-in link works.
const LINK_MINUTES: i64 = 30;

/// Sign-in requests per address: each may send a mail, so a stranger must
/// not be able to flood someone's mailbox through the form.
pub type SignInLimiter = DefaultKeyedRateLimiter<String>;

/// Five requests per address and hour.
pub fn limiter() -> Arc<SignInLimiter> {
    let quota = Quota::per_hour(NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN));
    Arc::new(RateLimiter::keyed(quota))
}

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
        session::safe_next(&self.next)
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
        return refused_form(&state);
    }
    let next = session::safe_next(&form.next).map(str::to_owned);
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
    match state.store.sender(&email).await {
        Ok(Some(Sender {
            user: Some(user), ..
        })) => {
            // In the background, so a known address is answered as fast as
            // an unknown one and the timing gives nothing away either.
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(e) = send_link(&state, &user, next.as_deref()).await {
                    tracing::error!(error = %e, user = user.id.0, "could not send a portal sign-in link");
                }
            });
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "partner lookup for a portal sign-in failed"),
    }
    let text = format!("If {email} belongs to one of our partners' people, a sign-in link is on its way. It works once, within {LINK_MINUTES} minutes.");
    message(&state, StatusCode::OK, "Check your mail", &text)
}

/// Stores a fresh link for `user` and mails it at once: the mail carries a
/// secret, so it never waits in the notification queue. The link carries
/// `next`, the page to open once signed in.
async fn send_link(state: &AppState, user: &PartnerUser, next: Option<&str>) -> anyhow::Result<()> {
    let secret = crate::tokens::new_secret();
    let now = state.clock.now();
    let expires = now + Duration::minutes(LINK_MINUTES);
    state
        .store
        .create_sign_in_link(&secret, user.id, now, expires)
        .await?;
    let program = &state.program.name;
    let query = next
        .map(|n| format!("?{}", session::next_query(n)))
        .unwrap_or_default();
    let text = format!(
        "Hello {},\n\nSign in to the {program} partner portal with this link. It works once, \
         within {LINK_MINUTES} minutes; keep it to yourself:\n{}/portal/sign-in/{secret}{query}\n\n\
         If you did not ask to sign in, ignore this mail.\n\n-- \n{program}\n",
        user.name, state.public_url
    );
    let mail = OutgoingMail {
        to: user.email.clone(),
        subject: format!("Your sign-in link for {program}"),
        text,
        html: None,
        in_reply_to: None,
    };
    state.mailer.send(&mail).await
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
    let secret = crate::tokens::new_secret();
    let session = NewSession {
        secret: &secret,
        expires_at: now + session::LIFETIME,
    };
    match state.store.redeem_sign_in_link(&token, &session, now).await {
        Ok(Some(_)) => {
            let jar = session::start(jar, secret, secure(&state));
            (jar, Redirect::to(next.safe().unwrap_or("/portal"))).into_response()
        }
        Ok(None) => message(&state, StatusCode::GONE, "Ask for a new link", "This sign-in link was already used, has expired or is unknown. Ask for a new one at /portal/sign-in."),
        Err(e) => crate::problem::ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /portal/sign-out`: ends the session in the store, so a copied
/// cookie stops working too.
pub async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<SignOutForm>,
) -> Response {
    if !csrf::valid(&jar, &form.csrf) {
        return refused_form(&state);
    }
    if let Some(secret) = session::secret(&jar) {
        if let Err(e) = state.store.end_portal_session(secret).await {
            return crate::problem::ApiError::from(e).into_response();
        }
    }
    (session::forget(jar), Redirect::to("/portal/sign-in")).into_response()
}
