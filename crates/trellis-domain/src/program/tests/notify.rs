//! `[notify]`: the relay and the sender, and the errors they report.

use super::*;
use crate::channels::RelayTls;

#[test]
fn the_relay_and_the_sender_are_read() {
    let text = r#"
[notify]
smtp_url = "smtps://mailer:s3cret@mail.acme.com"
from = "Acme Partners <partners@acme.com>"
"#;
    let notify = accepted(text).program.notify;
    let relay = notify.smtp_url.expect("a relay");
    assert_eq!(
        (relay.tls, relay.host.as_str(), relay.port),
        (RelayTls::Implicit, "mail.acme.com", 465)
    );
    assert_eq!(
        notify.from.as_deref(),
        Some("Acme Partners <partners@acme.com>")
    );
}

#[test]
fn without_them_mail_goes_to_the_outbox_from_the_intake_address() {
    let notify = accepted("[notify]\n").program.notify;
    assert_eq!((notify.smtp_url, notify.from), (None, None));
}

#[test]
fn a_bad_relay_or_sender_is_reported_at_its_line() {
    let text = "[notify]\nescalation_email = \"partners@acme.com\"\nsmtp_url = \"https://mailer:s3cret@mail.acme.com\"\n\nfrom = \"partners\"\n";
    let errors = rejected(text);
    let found: Vec<(usize, &str)> = errors
        .iter()
        .map(|issue| (issue.line, issue.key.as_str()))
        .collect();
    assert_eq!(found, [(3, "notify.smtp_url"), (5, "notify.from")]);
    assert!(
        errors[0].message.contains("smtp://user:password@host:587"),
        "{}",
        errors[0].message
    );
    assert!(
        !errors[0].message.contains("s3cret"),
        "never the password: {}",
        errors[0].message
    );
    assert!(
        errors[1].message.contains("deals@example.com"),
        "{}",
        errors[1].message
    );
}

#[test]
fn the_relay_prints_without_its_password() {
    let program =
        accepted("[notify]\nsmtp_url = \"smtp://mailer:s3cret@mail.acme.com:2525\"\n").program;
    let json = serde_json::to_string(&program).expect("json");
    assert!(
        json.contains("smtp://mailer:***@mail.acme.com:2525"),
        "{json}"
    );
    assert!(!json.contains("s3cret") && !format!("{program:?}").contains("s3cret"));
}
