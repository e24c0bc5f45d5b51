//! The one error type of the dedupe module.
//!
//! Every message is meant to be shown to the partner who typed the value, so
//! it names the field, quotes what was typed and says what to change.

/// How many characters of the offending input an error keeps.
///
/// Errors end up in API responses and logs; echoing a multi-megabyte value
/// back would let one bad request bloat both.
const MAX_ECHOED_CHARS: usize = 100;

/// A value typed by a user that cannot be used for deduplication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The email address field is not a usable address.
    #[error("email address {input:?} is not valid: {reason}")]
    InvalidEmail {
        /// What was typed, cut to 100 characters.
        input: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The website or domain field is not a usable company domain.
    #[error("web domain {input:?} is not valid: {reason}")]
    InvalidDomain {
        /// What was typed, cut to 100 characters.
        input: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The company name field is not a usable company name.
    #[error("company name is not valid: {reason}")]
    InvalidCompanyName {
        /// What is wrong and how to fix it.
        reason: String,
    },
}

impl ValueError {
    pub(crate) fn invalid_email(input: &str, reason: impl Into<String>) -> Self {
        Self::InvalidEmail {
            input: echo(input),
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_domain(input: &str, reason: impl Into<String>) -> Self {
        Self::InvalidDomain {
            input: echo(input),
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_company_name(reason: impl Into<String>) -> Self {
        Self::InvalidCompanyName {
            reason: reason.into(),
        }
    }
}

/// The input as kept in an error: at most [`MAX_ECHOED_CHARS`] characters,
/// with an ellipsis when it was cut.
fn echo(input: &str) -> String {
    match input.char_indices().nth(MAX_ECHOED_CHARS) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field_and_quote_the_input() {
        let cases = [
            (
                ValueError::invalid_email("bob", "it has no @"),
                "email address \"bob\" is not valid: it has no @",
            ),
            (
                ValueError::invalid_domain("co.uk", "it is a public suffix"),
                "web domain \"co.uk\" is not valid: it is a public suffix",
            ),
            (
                ValueError::invalid_company_name("it is empty"),
                "company name is not valid: it is empty",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn long_input_is_cut_on_a_char_boundary() {
        let cases = [
            ("short".to_owned(), "short".to_owned()),
            ("é".repeat(100), "é".repeat(100)),
            ("é".repeat(101), format!("{}…", "é".repeat(100))),
        ];
        for (input, echoed) in cases {
            assert_eq!(echo(&input), echoed, "input of {} bytes", input.len());
        }
    }

    #[test]
    fn control_characters_are_escaped_in_messages() {
        let message = ValueError::invalid_email("a\nb", "x").to_string();
        assert!(message.contains("a\\nb"), "{message}");
    }
}
