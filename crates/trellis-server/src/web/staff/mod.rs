//! The staff workspace: partner managers and RevOps run the program here.
//! People sign in with a password (argon2, set with `trellis user create`)
//! or a mailed single-use link; every page takes [`StaffSignedIn`], which
//! sends anyone else to sign in. Pages share one frame (`frame.rs`): the
//! program, the navigation and the sign-out form. The queue of decisions
//! (`queue.rs`, `decide.rs`), a registration's page (`registration.rs`) and
//! the conflicts (`conflicts.rs`) share `views.rs`.

mod charts;
mod conflicts;
mod decide;
mod frame;
mod history;
mod metrics;
mod page;
mod partner;
mod partners;
mod people;
mod periods;
mod queue;
mod registration;
mod reports;
mod review;
mod reviews;
mod session;
mod sign_in;
mod tiers;
mod views;

use crate::AppState;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Extension, Router};

pub use frame::{Frame, Section};
pub use metrics::warm as warm_metrics;
pub use session::StaffSignedIn;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff", get(|| async { Redirect::to("/staff/queue") }))
        .route("/staff/sign-in", get(sign_in::page).post(sign_in::password))
        .route("/staff/sign-in/link", post(sign_in::request_link))
        .route("/staff/sign-in/{token}", get(sign_in::follow))
        .route("/staff/sign-out", post(sign_in::sign_out))
        .route("/staff/partners", get(partners::page))
        .route("/staff/partners/{id}", get(partner::page))
        .route("/staff/tiers", get(tiers::page))
        .route("/staff/reviews", get(reviews::page).post(reviews::start))
        .route("/staff/reviews/{id}", get(review::page))
        .route(
            "/staff/reviews/{id}/proposals/{partner}",
            post(review::adjust),
        )
        .route("/staff/reviews/{id}/publish", post(review::publish))
        .route(
            "/staff/reviews/{id}/appeals/{appeal}/decision",
            post(review::decide),
        )
        .route("/staff/people", get(people::page).post(people::add))
        .route("/staff/queue", get(queue::page))
        .route("/staff/registrations/{case}", get(registration::page))
        .route("/staff/registrations/{case}/decide", post(decide::decide))
        .route("/staff/conflicts", get(conflicts::page))
        .route("/staff/conflicts/{id}/resolve", post(conflicts::resolve))
        .route("/staff/metrics", get(metrics::page))
        .route("/staff/metrics/{file}", get(metrics::csv))
        .layer(Extension(sign_in::Limiters::new()))
}
