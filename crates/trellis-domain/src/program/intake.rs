//! `[intake]`: where registrations come in from outside the API, the email
//! intake address and the open form's bot defence.

use super::reader::{Origin, Setting, TableReader};

/// How registrations arrive through the no-login channels.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IntakeRules {
    /// The address partners write to; mail to any other recipient is refused.
    pub email_address: String,
    pub captcha: Captcha,
    pub hubspot: HubspotFields,
}

/// Which HubSpot form fields (contact properties) fill which registration
/// field. Each list holds alternatives tried in order; `a+b` joins two
/// fields with a space; names match case-insensitively, with or without
/// HubSpot's object prefix (`email` matches `0-1/email`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HubspotFields {
    pub company_name: Vec<String>,
    pub company_domain: Vec<String>,
    pub contact_name: Vec<String>,
    pub contact_email: Vec<String>,
    pub use_case: Vec<String>,
    /// Answers such as `true`, `yes`; HubSpot's checkbox sends `true`/`false`.
    pub consent: Vec<String>,
    /// The hidden field naming the registering partner.
    pub partner_id: Vec<String>,
    /// The hidden field naming the program.
    pub program: Vec<String>,
}

/// HubSpot's default contact properties, the company object's `name` and
/// `domain` as fallbacks, the processing-consent checkbox, and the hidden
/// fields a vendor adds to a partner form.
const HUBSPOT_DEFAULTS: [(&str, &[&str]); 8] = [
    ("company_name", &["company", "0-2/name"]),
    ("company_domain", &["website", "0-2/domain"]),
    ("contact_name", &["firstname+lastname"]),
    ("contact_email", &["email"]),
    ("use_case", &["message"]),
    ("consent", &["LEGAL_CONSENT.processing"]),
    ("partner_id", &["trellis_partner_id"]),
    ("program", &["trellis_program"]),
];

impl Default for HubspotFields {
    fn default() -> Self {
        HubspotFields::from_lists(
            HUBSPOT_DEFAULTS.map(|(_, names)| names.iter().map(|n| n.to_string()).collect()),
        )
    }
}

impl HubspotFields {
    /// Builds the map from lists in the order of [`HUBSPOT_DEFAULTS`].
    fn from_lists([a, b, c, d, e, f, g, h]: [Vec<String>; 8]) -> Self {
        HubspotFields {
            company_name: a,
            company_domain: b,
            contact_name: c,
            contact_email: d,
            use_case: e,
            consent: f,
            partner_id: g,
            program: h,
        }
    }
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
            hubspot: HubspotFields::default(),
        }
    }
}

pub(crate) fn read(mut section: TableReader<'_, '_>) -> IntakeRules {
    let defaults = IntakeRules::default();
    let address = section.string("email_address", &defaults.email_address);
    check_address(&mut section, &address);
    let captcha = read_captcha(section.section("captcha"));
    let hubspot = read_hubspot(section.section("hubspot"));
    section.finish();
    IntakeRules {
        email_address: address.value,
        captcha,
        hubspot,
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

fn read_hubspot(mut section: TableReader<'_, '_>) -> HubspotFields {
    let lists = HUBSPOT_DEFAULTS.map(|(key, names)| section.strings(key, names).value);
    section.finish();
    HubspotFields::from_lists(lists)
}
