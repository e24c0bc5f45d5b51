//! Request bodies and their validation into domain values. Every field is
//! checked and every problem reported at once, so one answer tells the
//! caller everything to fix; the core then trusts what it receives.

use crate::problem::{ApiError, FieldError};
use serde::Deserialize;
use time::Date;
use trellis_domain::dedupe::{
    company_domain_from_email, CompanyName, Email, ValueError, WebDomain,
};
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::registration::{Channel, DealDetails, Draft, Market, RegistrationKind};
use trellis_domain::values::{Currency, Money, Text};
use trellis_domain::DomainError;
use utoipa::ToSchema;

/// Collects field errors while a request is validated.
#[derive(Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Keeps the value of `result`, or records its error under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, DomainError>) -> Option<T> {
        result
            .map_err(|e| match e {
                DomainError::Field { message, .. } => self.fail(field, message),
                other => self.fail(field, other.to_string()),
            })
            .ok()
    }

    /// A required text field.
    pub fn required<'a>(
        &mut self,
        field: &'static str,
        value: &'a Option<String>,
    ) -> Option<&'a str> {
        match value.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Some(v),
            _ => {
                self.fail(field, "is required");
                None
            }
        }
    }

    /// A tier id of the program, or a failure listing the program's tiers.
    pub fn tier(&mut self, field: &str, program: &Program, tier: &str) -> Option<String> {
        if program.tier(tier).is_some() {
            return Some(tier.to_owned());
        }
        let ids: Vec<_> = program.tiers.iter().map(|t| t.id.as_str()).collect();
        let message = format!(
            "'{tier}' is not a tier of this program: use one of {}",
            ids.join(", ")
        );
        self.fail(field, message);
        None
    }

    pub fn value<T>(&mut self, field: &str, result: Result<T, ValueError>) -> Option<T> {
        self.check(field, result.map_err(DomainError::from))
    }

    /// Keeps the value of `result`, or records its error's message under
    /// `field` (errors that say what to fix, such as a channel's).
    pub fn parsed<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_err(|e| self.fail(field, e.to_string())).ok()
    }

    /// Ends validation: the built value, or every error found.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        match (self.errors.is_empty(), build()) {
            (true, Some(value)) => Ok(value),
            _ => Err(ApiError::Invalid(self.errors)),
        }
    }
}

/// An appeal's message and evidence, checked alike from the API and the
/// portal: the message is required, and every piece of evidence must be an
/// http or https URL a reviewer can open.
pub fn appeal(message: &str, evidence_urls: &[String]) -> Result<Text, ApiError> {
    let mut c = Checker::default();
    let message = c.check("message", Text::parse("message", message));
    for url in evidence_urls {
        if !reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            c.fail(
                "evidence_urls",
                format!("'{url}' is not an http or https URL"),
            );
        }
    }
    c.finish(|| message)
}

/// `POST /api/v1/registrations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    /// The registering partner; staff only (a partner token implies it).
    pub partner_id: Option<i64>,
    /// `lead` or `deal`.
    pub kind: Option<String>,
    pub company_name: Option<String>,
    /// The company's web site or domain; the registrable domain is kept.
    pub company_domain: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub use_case: Option<String>,
    /// The contact agreed to be registered; must be true.
    pub consent: Option<bool>,
    pub segment: Option<String>,
    pub region: Option<String>,
    pub product: Option<String>,
    /// Deal stage (deals only).
    pub stage: Option<String>,
    /// Deal amount as a decimal string (`"12500.00"`) or whole number.
    #[schema(value_type = Option<String>)]
    pub amount: Option<serde_json::Value>,
    /// ISO 4217 currency of the amount.
    pub currency: Option<String>,
    /// Expected close date, `YYYY-MM-DD` (deals only).
    pub expected_close_date: Option<String>,
    pub next_step: Option<String>,
}

impl RegistrationRequest {
    /// Validates the request into a draft for `partner`.
    pub fn into_draft(self, partner: PartnerId, channel: Channel) -> Result<Draft, ApiError> {
        let mut c = Checker::default();
        let kind = match self.kind.as_deref() {
            None => Some(RegistrationKind::Lead),
            Some(k) => RegistrationKind::parse(k).or_else(|| {
                c.fail(
                    "kind",
                    format!("'{k}' is not a registration kind: use lead or deal"),
                );
                None
            }),
        };
        if self.consent != Some(true) {
            c.fail(
                "consent",
                "must be true: register a contact only with their consent",
            );
        }
        let company = c
            .required("company_name", &self.company_name)
            .and_then(|n| c.value("company_name", CompanyName::parse(n)));
        let email = c
            .required("contact_email", &self.contact_email)
            .and_then(|e| c.value("contact_email", Email::parse(e)));
        let contact_name = c
            .required("contact_name", &self.contact_name)
            .and_then(|n| c.check("contact_name", Text::parse("contact_name", n)));
        let domain = company_domain(&mut c, self.company_domain.as_deref(), email.as_ref());
        let use_case = c.check(
            "use_case",
            Text::optional("use_case", self.use_case.as_deref()),
        );
        let deal = match kind {
            Some(RegistrationKind::Deal) => deal_details(&mut c, &self).map(Some),
            _ => Some(None),
        };
        let market = Market {
            segment: label(&mut c, "segment", self.segment.as_deref()),
            region: label(&mut c, "region", self.region.as_deref()),
            product: label(&mut c, "product", self.product.as_deref()),
        };
        c.finish(|| {
            Some(Draft {
                partner_id: partner,
                kind: kind?,
                channel,
                company_name: company?,
                domain: domain?,
                contact_name: contact_name?,
                contact_email: email?,
                use_case: use_case?,
                market,
                deal: deal?,
            })
        })
    }
}

/// The registrable domain from `company_domain`, else from the contact's
/// email unless it is a free-mail address.
fn company_domain(
    c: &mut Checker,
    given: Option<&str>,
    email: Option<&Email>,
) -> Option<Option<WebDomain>> {
    match given.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => c.value("company_domain", WebDomain::parse(d)).map(Some),
        None => Some(email.and_then(company_domain_from_email)),
    }
}

/// A short label such as a segment: trimmed, at most 100 characters.
fn label(c: &mut Checker, field: &'static str, value: Option<&str>) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    if value.chars().count() > 100 {
        c.fail(field, "must be at most 100 characters");
        return None;
    }
    Some(value.to_owned())
}

fn deal_details(c: &mut Checker, r: &RegistrationRequest) -> Option<DealDetails> {
    let stage = c
        .required("stage", &r.stage)
        .and_then(|s| c.check("stage", Text::parse("stage", s)));
    let currency = c
        .required("currency", &r.currency)
        .and_then(|s| c.check("currency", Currency::parse(s)));
    let amount = match (&r.amount, currency) {
        (None, _) => {
            c.fail("amount", "is required for a deal");
            None
        }
        (Some(raw), Some(cur)) => money(c, "amount", raw, cur),
        (Some(_), None) => None,
    };
    let close = c
        .required("expected_close_date", &r.expected_close_date)
        .and_then(|d| date(c, "expected_close_date", d));
    let next_step = c.check(
        "next_step",
        Text::optional("next_step", r.next_step.as_deref()),
    );
    Some(DealDetails {
        stage: stage?,
        amount: amount?,
        expected_close: close?,
        next_step: next_step?,
    })
}

/// Money from a JSON string or whole number; floats are refused because
/// they cannot carry cents exactly.
pub fn money(
    c: &mut Checker,
    field: &str,
    raw: &serde_json::Value,
    currency: Currency,
) -> Option<Money> {
    let text = match raw {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if n.is_u64() => n.to_string(),
        _ => {
            c.fail(
                field,
                "write the amount as a decimal string such as \"12500.00\" (or a whole number)",
            );
            return None;
        }
    };
    c.check(field, Money::parse(&text, currency))
}

pub fn date(c: &mut Checker, field: &str, text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format)
        .map_err(|_| c.fail(field, format!("'{text}' is not a date: write YYYY-MM-DD")))
        .ok()
}

/// A channel's extracted fields read as an API body: a lead for the
/// partner the channel authenticated, so every channel validates alike.
impl From<trellis_intake::Fields> for RegistrationRequest {
    fn from(f: trellis_intake::Fields) -> Self {
        RegistrationRequest {
            partner_id: None,
            kind: None,
            company_name: f.company_name,
            company_domain: f.company_domain,
            contact_name: f.contact_name,
            contact_email: f.contact_email,
            use_case: f.use_case,
            consent: f.consent,
            segment: f.segment,
            region: f.region,
            product: f.product,
            stage: None,
            amount: None,
            currency: None,
            expected_close_date: None,
            next_step: None,
        }
    }
}
