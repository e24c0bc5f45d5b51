//! Server-rendered pages: the open registration form, the password-free
//! status page and the partner portal (signed in by a mailed link).
//! Templates escape everything (askama); pages carry a restrictive
//! Content-Security-Policy; every form carries a CSRF token; the stylesheet
//! is served by the binary.

mod captcha;
mod csrf;
mod portal;
mod register;
mod session_cookie;
mod sign_in_mail;
mod staff;
mod status;
mod tier_words;
mod words;

use crate::AppState;
use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use trellis_domain::ids::CaseNumber;

pub use register::{limiter as form_limiter, FormLimiter};
pub(crate) use staff::warm_metrics;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/register", get(register::page).post(register::post))
        .route("/status/{token}", get(status::page))
        .route("/status/{token}/slack-code", post(status::slack_code))
        .route("/static/trellis.css", get(stylesheet))
        .merge(portal::router())
        .merge(staff::router())
}

/// A registration's page in the partner portal, as mail links to it.
pub(crate) fn portal_link(state: &AppState, case: CaseNumber) -> String {
    format!("{}/portal/registrations/{case}", state.public_url)
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/trellis.css"),
    )
}

/// Renders a page with its status and the security headers every page
/// carries. `script_origin` is the captcha provider's, when a page needs it.
pub(crate) fn render(
    status: StatusCode,
    page: &impl Template,
    script_origin: Option<&str>,
) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            let headers = response.headers_mut();
            let scripts = script_origin.map(|o| format!(" {o}")).unwrap_or_default();
            let csp = format!(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; script-src 'self'{scripts}; frame-src{}; connect-src 'self'{scripts}",
                if scripts.is_empty() { " 'none'".to_owned() } else { scripts.clone() }
            );
            if let Ok(value) = HeaderValue::from_str(&csp) {
                headers.insert(header::CONTENT_SECURITY_POLICY, value);
            }
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            response
        }
        Err(e) => crate::problem::ApiError::Internal(e.into()).into_response(),
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct Message<'a> {
    pub program: &'a str,
    pub heading: &'a str,
    pub text: &'a str,
}

/// A plain page with a heading and one sentence.
pub(crate) fn message(state: &AppState, status: StatusCode, heading: &str, text: &str) -> Response {
    render(
        status,
        &Message {
            program: &state.program.name,
            heading,
            text,
        },
        None,
    )
}

/// Whether the site is served over https, so cookies must be `Secure`.
pub(crate) fn secure(state: &AppState) -> bool {
    state.public_url.starts_with("https://")
}

/// The answer to a form whose CSRF token does not match: nothing changed.
pub(crate) fn reload(state: &AppState) -> Response {
    message(
        state,
        StatusCode::FORBIDDEN,
        "Please reload the page",
        "This form has expired or was sent from another site. Reload the page and try again.",
    )
}
