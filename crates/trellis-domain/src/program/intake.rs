//! `[intake]`: where registrations come in from outside the API, the email
//! intake address and the open form's bot defence.

use super::reader::{Origin, Setting, TableReader};

/// How registrations arrive through the no-login channels.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IntakeRules {
    /// The address partners write to; mail to any other recipient is refused.
    pub email_address: String,
    pub captcha: Captcha,
}

/// Server-side captcha verification for the open web form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Captcha {
    pub provider: CaptchaProvider,
    /// The provider's public site key, put in the form.
    pub site_key: Option<String>,
    /// The provider's secret; `TRELLIS_CAPTCHA_SECRET` overrides it so the
    /// program file can stay in version control without it.
    #[serde(skip_serializing)]
    pub secret: Option<String>,
    /// Where tokens are verified: the provider's own endpoint by default.
    pub verify_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptchaProvider {
    None,
    Turnstile,
    Recaptcha,
    Hcaptcha,
}

impl CaptchaProvider {
    pub const ALL: [CaptchaProvider; 4] = [
        CaptchaProvider::None,
        CaptchaProvider::Turnstile,
        CaptchaProvider::Recaptcha,
        CaptchaProvider::Hcaptcha,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            CaptchaProvider::None => "none",
            CaptchaProvider::Turnstile => "turnstile",
            CaptchaProvider::Recaptcha => "recaptcha",
            CaptchaProvider::Hcaptcha => "hcaptcha",
        }
    }

    /// The provider's documented siteverify endpoint.
    pub const fn default_verify_url(self) -> &'static str {
        match self {
            CaptchaProvider::None => "",
            CaptchaProvider::Turnstile => {
                "https://challenges.cloudflare.com/turnstile/v0/siteverify"
            }
            CaptchaProvider::Recaptcha => "https://www.google.com/recaptcha/api/siteverify",
            CaptchaProvider::Hcaptcha => "https://api.hcaptcha.com/siteverify",
        }
    }

    /// The form field the provider's widget fills with its token.
    pub const fn response_field(self) -> &'static str {
        match self {
            CaptchaProvider::None => "",
            CaptchaProvider::Turnstile => "cf-turnstile-response",
            CaptchaProvider::Recaptcha => "g-recaptcha-response",
            CaptchaProvider::Hcaptcha => "h-captcha-response",
        }
    }
}

impl Default for IntakeRules {
    fn default() -> Self {
        IntakeRules {
            email_address: "register@localhost".into(),
            captcha: Captcha {
                provider: CaptchaProvider::None,
                site_key: None,
                secret: None,
                verify_url: String::new(),
            },
        }
    }
}

pub(crate) fn read(mut section: TableReader<'_, '_>) -> IntakeRules {
    let defaults = IntakeRules::default();
    let address = section.string("email_address", &defaults.email_address);
    check_address(&mut section, &address);
    let captcha = read_captcha(section.section("captcha"));
    section.finish();
    IntakeRules {
        email_address: address.value,
        captcha,
    }
}

/// The intake address may be on a private mail domain (`register@localhost`,
/// `deals@mail.internal`), so only its shape is checked, not its domain.
fn check_address(section: &mut TableReader<'_, '_>, address: &Setting<String>) {
    let Origin::File(span) = &address.origin else {
        return;
    };
    let shaped = match address.value.split_once('@') {
        Some((local, host)) => {
            !local.is_empty()
                && !host.is_empty()
                && !host.contains('@')
                && !address.value.contains(char::is_whitespace)
        }
        None => false,
    };
    if !shaped {
        let message = format!(
            "`{}` is not an email address such as register@partners.example.com",
            address.value
        );
        section.error(span, "email_address", message);
    }
}

fn read_captcha(mut section: TableReader<'_, '_>) -> Captcha {
    let provider = section
        .choice(
            "provider",
            CaptchaProvider::None,
            &CaptchaProvider::ALL,
            CaptchaProvider::as_str,
        )
        .value;
    let optional = |s: Setting<String>| Some(s.value).filter(|v| !v.is_empty());
    let site_key = optional(section.string("site_key", ""));
    let secret = optional(section.string("secret", ""));
    let verify_url = section
        .string("verify_url", provider.default_verify_url())
        .value;
    section.finish();
    Captcha {
        provider,
        site_key,
        secret,
        verify_url,
    }
}
