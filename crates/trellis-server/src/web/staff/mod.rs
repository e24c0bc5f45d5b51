//! The staff workspace: partner managers and RevOps run the program here.
//! People sign in with a password (argon2, set with `trellis user create`)
//! or a mailed single-use link; every page takes [`StaffSignedIn`], which
//! sends anyone else to sign in. Pages share one frame (`frame.rs`): the
//! program, the navigation and the sign-out form.

mod charts;
mod frame;
mod metrics;
mod periods;
mod reports;
mod session;
mod sign_in;

use crate::AppState;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Extension, Router};

pub use frame::{Frame, Section};
pub use session::StaffSignedIn;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff", get(|| async { Redirect::to("/staff/queue") }))
        .route("/staff/sign-in", get(sign_in::page).post(sign_in::password))
        .route("/staff/sign-in/link", post(sign_in::request_link))
        .route("/staff/sign-in/{token}", get(sign_in::follow))
        .route("/staff/sign-out", post(sign_in::sign_out))
        .route("/staff/metrics", get(metrics::page))
        .route("/staff/metrics/{file}", get(metrics::csv))
        .layer(Extension(sign_in::Limiters::new()))
}
