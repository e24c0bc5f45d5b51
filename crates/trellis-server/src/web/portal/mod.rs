//! The partner portal: partner users sign in with a link mailed to their
//! work address (no password) and see their own partner's standing and
//! registrations. A session belongs to one partner user, and every page
//! reads only that user's partner.

mod home;
mod session;
mod sign_in;

use crate::AppState;
use axum::routing::{get, post};
use axum::{Extension, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(home::page))
        .route("/portal/sign-in", get(sign_in::page).post(sign_in::request))
        .route("/portal/sign-in/{token}", get(sign_in::follow))
        .route("/portal/sign-out", post(sign_in::sign_out))
        .layer(Extension(crate::web::sign_in_mail::limiter()))
}
