//! What every channel extracts: the fields of a lead registration, still
//! unvalidated text. The server validates them exactly as it validates the
//! REST API's body, so no channel has rules of its own.

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Fields {
    pub company_name: Option<String>,
    pub company_domain: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub use_case: Option<String>,
    /// `Some(true)` only when the sender said yes in so many words.
    pub consent: Option<bool>,
    pub segment: Option<String>,
    pub region: Option<String>,
    pub product: Option<String>,
}

impl Fields {
    /// The names of required fields that are absent or blank, in the order a
    /// person would fill them in (used to tell a sender what is missing).
    pub fn missing(&self) -> Vec<&'static str> {
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        let mut missing = Vec::new();
        if blank(&self.company_name) {
            missing.push("company");
        }
        if blank(&self.contact_name) {
            missing.push("contact");
        }
        if blank(&self.contact_email) {
            missing.push("email");
        }
        if self.consent != Some(true) {
            missing.push("consent");
        }
        missing
    }
}

/// Interprets a consent answer: yes/y/true/agreed/ok in a few languages.
pub fn consent_answer(text: &str) -> Option<bool> {
    let word = text.trim().trim_end_matches(['.', '!']).to_lowercase();
    const YES: &[&str] = &[
        "yes", "y", "true", "agreed", "i agree", "ok", "granted", "oui", "ja", "si", "sí", "sim",
    ];
    const NO: &[&str] = &["no", "n", "false", "not given", "non", "nein", "nee", "não"];
    if YES.contains(&word.as_str()) {
        Some(true)
    } else if NO.contains(&word.as_str()) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_lists_required_fields_in_form_order() {
        let fields = Fields {
            company_name: Some("Acme".into()),
            contact_email: Some("  ".into()),
            ..Fields::default()
        };
        assert_eq!(fields.missing(), ["contact", "email", "consent"]);
    }

    #[test]
    fn consent_answers() {
        for (text, expected) in [
            ("Yes", Some(true)),
            ("yes.", Some(true)),
            ("OUI", Some(true)),
            ("no", Some(false)),
            ("maybe", None),
            ("", None),
        ] {
            assert_eq!(consent_answer(text), expected, "{text}");
        }
    }
}
