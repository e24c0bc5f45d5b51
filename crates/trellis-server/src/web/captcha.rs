//! Server-side captcha verification. Turnstile, reCAPTCHA and hCaptcha share
//! one documented contract: POST `secret`, `response` and `remoteip` as a
//! form to the provider's siteverify URL, and read `success` from the JSON.

use crate::AppState;
use serde::Deserialize;
use std::net::IpAddr;
use trellis_domain::program::CaptchaProvider;

#[derive(Deserialize)]
struct Verdict {
    success: bool,
    #[serde(rename = "error-codes", default)]
    error_codes: Vec<String>,
}

/// The widget script and the CSS class its container needs.
pub fn widget(provider: CaptchaProvider) -> Option<(&'static str, &'static str)> {
    match provider {
        CaptchaProvider::None => None,
        CaptchaProvider::Turnstile => Some((
            "https://challenges.cloudflare.com/turnstile/v0/api.js",
            "cf-turnstile",
        )),
        CaptchaProvider::Recaptcha => {
            Some(("https://www.google.com/recaptcha/api.js", "g-recaptcha"))
        }
        CaptchaProvider::Hcaptcha => Some(("https://js.hcaptcha.com/1/api.js", "h-captcha")),
    }
}

/// Asks the provider whether `response` is a solved challenge. Any failure
/// (no token, a provider error, no answer) counts as not solved.
pub async fn verify(state: &AppState, response: Option<&str>, ip: IpAddr) -> bool {
    let captcha = &state.program.intake.captcha;
    let (Some(secret), Some(response)) = (
        state.secrets.captcha_secret.as_deref(),
        response.filter(|r| !r.is_empty()),
    ) else {
        return false;
    };
    let form = [
        ("secret", secret),
        ("response", response),
        ("remoteip", &ip.to_string()),
    ];
    let verdict = async {
        let answer = state
            .http
            .post(&captcha.verify_url)
            .form(&form)
            .send()
            .await?
            .error_for_status()?;
        answer.json::<Verdict>().await
    };
    match verdict.await {
        Ok(v) if v.success => true,
        Ok(v) => {
            tracing::info!(codes = ?v.error_codes, "captcha not solved");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, provider = captcha.provider.as_str(), "captcha verification failed");
            false
        }
    }
}
