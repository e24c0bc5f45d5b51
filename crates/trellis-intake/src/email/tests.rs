//! Table tests for `extract_fields` and unit tests for `parse_message`; the
//! fixture messages are in `tests/email.rs`.

use super::*;

fn fields(pairs: &[(&str, &str)]) -> Fields {
    let mut f = Fields::default();
    for &(name, value) in pairs {
        let v = Some(value.to_owned());
        match name {
            "company" => f.company_name = v,
            "domain" => f.company_domain = v,
            "contact" => f.contact_name = v,
            "email" => f.contact_email = v,
            "use_case" => f.use_case = v,
            "consent" => f.consent = Some(value == "true"),
            "segment" => f.segment = v,
            "region" => f.region = v,
            "product" => f.product = v,
            other => panic!("no field {other}"),
        }
    }
    f
}

/// A case: its name, the body, and the fields expected as (name, value).
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

#[test]
fn extract_fields_table() {
    let cases: &[Case] = &[
        (
            "all fields, any order",
            "Hi team,\n\nConsent: yes\nUse case: CRM rollout\nEmail: jane@acme.com\nContact: Jane Doe\nWebsite: acme.com\nCompany: Acme Inc\nSegment: Mid-market\nRegion: EMEA\nProduct: Trellis Pro\n\nThanks, Bob",
            &[
                ("company", "Acme Inc"),
                ("domain", "acme.com"),
                ("contact", "Jane Doe"),
                ("email", "jane@acme.com"),
                ("use_case", "CRM rollout"),
                ("consent", "true"),
                ("segment", "Mid-market"),
                ("region", "EMEA"),
                ("product", "Trellis Pro"),
            ],
        ),
        (
            "synonyms",
            "Organisation: Acme\nDomain: acme.com\nMain contact: Jane\nE-mail: jane@acme.com\nOpportunity: CRM\nOpt-in: Yes",
            &[
                ("company", "Acme"),
                ("domain", "acme.com"),
                ("contact", "Jane"),
                ("email", "jane@acme.com"),
                ("use_case", "CRM"),
                ("consent", "true"),
            ],
        ),
        (
            "more synonyms",
            "Customer = Acme\nURL = https://acme.com\nPerson = Jane\nContact email = jane@acme.com\nNotes = none\nPermission = no",
            &[
                ("company", "Acme"),
                ("domain", "https://acme.com"),
                ("contact", "Jane"),
                ("email", "jane@acme.com"),
                ("use_case", "none"),
                ("consent", "false"),
            ],
        ),
        (
            "labels any case, with extra spaces and dashes",
            "  COMPANY   NAME  :   Acme Inc  \ncompany domain - acme.com\nconsent given -  YES",
            &[("company", "Acme Inc"), ("domain", "acme.com"), ("consent", "true")],
        ),
        (
            "bullets and bold",
            "- **Company:** Acme\n* **Website**: acme.com\n• *Contact:* Jane\n1. Email: jane@acme.com",
            &[
                ("company", "Acme"),
                ("domain", "acme.com"),
                ("contact", "Jane"),
                ("email", "jane@acme.com"),
            ],
        ),
        (
            "value on the next line",
            "Company:\nAcme Inc\nWebsite:\n\nContact:\nJane Doe",
            &[("company", "Acme Inc"), ("contact", "Jane Doe")],
        ),
        (
            "a URL or an address on the next line is a value, not a label",
            "Website:\nhttps://acme.com\nContact:\nJane Doe <jane@acme.com>",
            &[
                ("domain", "https://acme.com"),
                ("contact", "Jane Doe"),
                ("email", "jane@acme.com"),
            ],
        ),
        (
            "use case over several lines",
            "Use case: replace the\nspreadsheets of 40 reps\nand the old CRM\n\nNot part of it\nCompany: Acme",
            &[
                ("use_case", "replace the spreadsheets of 40 reps and the old CRM"),
                ("company", "Acme"),
            ],
        ),
        (
            "use case ends at the next label, known or not",
            "Use case:\nCRM for\nfield sales\nBudget: 50k\nCompany: Acme",
            &[("use_case", "CRM for field sales"), ("company", "Acme")],
        ),
        (
            "contact with address",
            "Contact: Jane Doe <jane@acme.com>",
            &[("contact", "Jane Doe"), ("email", "jane@acme.com")],
        ),
        (
            "an Email line beats the contact's address, wherever it is",
            "Contact: Jane Doe <jane@home.example>\nEmail: jane@acme.com",
            &[("contact", "Jane Doe"), ("email", "jane@acme.com")],
        ),
        (
            "first occurrence wins",
            "Company: Acme\nCompany: Other\nConsent: no\nConsent: yes",
            &[("company", "Acme"), ("consent", "false")],
        ),
        (
            "blank and unreadable values do not count",
            "Company:\n\nCompany: Acme\nConsent: maybe\nConsent: yes",
            &[("company", "Acme"), ("consent", "true")],
        ),
        (
            "unknown labels are ignored",
            "Budget: 50k\nCompany: Acme\nTimeline: Q3",
            &[("company", "Acme")],
        ),
        (
            "Outlook link annotations",
            "Website: acme.com<http://acme.com/>\nEmail: jane@acme.com<mailto:jane@acme.com>",
            &[("domain", "acme.com"), ("email", "jane@acme.com")],
        ),
        (
            "signature",
            "Company: Acme\n-- \nBob Smith\nContact: Bob\nWebsite: partner.example",
            &[("company", "Acme")],
        ),
        (
            "mobile signature",
            "Company: Acme\n\nSent from my iPhone\nWebsite: x.example",
            &[("company", "Acme")],
        ),
        (
            "quoted history does not win",
            "Consent: yes\n\nOn Mon, 2 Mar 2026 at 10:00, Trellis <intake@trellis.example> wrote:\n> Missing: consent\n> Company: Old Co\n",
            &[("consent", "true")],
        ),
        (
            "quoted lines without an attribution",
            "Company: Acme\n> Website: old.example\nWebsite: after-the-quote.example",
            &[("company", "Acme")],
        ),
        (
            "Outlook history",
            "Company: Acme\n\nFrom: Jane Doe <jane@acme.com>\nSent: Monday, March 2, 2026 10:00 AM\nTo: Bob\nSubject: RE: hi\n\nWebsite: old.example",
            &[("company", "Acme")],
        ),
        (
            "Original Message",
            "Company: Acme\n-----Original Message-----\nWebsite: old.example",
            &[("company", "Acme")],
        ),
        (
            "inline forward, read when the top has no fields",
            "Please register, thanks!\n\n---------- Forwarded message ---------\nFrom: Jane Doe <jane@acme.com>\nDate: Mon, 2 Mar 2026 at 10:00\nSubject: Trial\nTo: Bob <bob@partner.example>\n\nCompany: Acme\nWebsite: acme.com\n-- \nJane\nCompany: Sig Co",
            &[("company", "Acme"), ("domain", "acme.com")],
        ),
        (
            "the top's fields beat the forward's",
            "Company: Acme Corp\nConsent: yes\n\n---------- Forwarded message ---------\nFrom: Jane <jane@acme.com>\n\nCompany: Acme\nWebsite: acme.com",
            &[("company", "Acme Corp"), ("consent", "true")],
        ),
        (
            "Apple Mail quoted forward",
            "\n\nSent from my iPhone\n\nBegin forwarded message:\n\n> From: Jane Doe <jane@acme.com>\n> Date: 2 March 2026 at 10:00:00 CET\n> To: bob@partner.example\n> Subject: Trial\n> \n> Company: Acme\n> Contact: Jane Doe <jane@acme.com>\n> \n> > Company: Older\n",
            &[("company", "Acme"), ("contact", "Jane Doe"), ("email", "jane@acme.com")],
        ),
        (
            "HTML table cells",
            "Company\tAcme\nWebsite \tacme.com",
            &[("company", "Acme"), ("domain", "acme.com")],
        ),
        (
            "CRLF and non-breaking spaces",
            "Company:\u{a0}Acme\r\nWebsite:\u{200b} acme.com\r\n",
            &[("company", "Acme"), ("domain", "acme.com")],
        ),
        ("nothing", "Hi, please call me back.\nBob", &[]),
        ("empty", "", &[]),
    ];
    for (name, text, expected) in cases {
        assert_eq!(extract_fields(text), fields(expected), "{name}");
    }
}

#[test]
fn parse_message_reads_headers() {
    let raw = b"From: \"Bob Smith\" <Bob@Partner.example>\r\nTo: intake@trellis.example, other@x.example\r\nSubject: New lead\r\nMessage-ID: <abc@partner.example>\r\n\r\nCompany: Acme\r\n";
    let mail = parse_message(raw).expect("parses");
    assert_eq!(
        mail,
        IncomingMail {
            from: "Bob@Partner.example".into(),
            from_name: Some("Bob Smith".into()),
            to: vec!["intake@trellis.example".into(), "other@x.example".into()],
            subject: Some("New lead".into()),
            message_id: Some("abc@partner.example".into()),
            text: "Company: Acme\n".into(),
        }
    );
}

#[test]
fn parse_message_errors() {
    let big = vec![b'a'; MAX_MESSAGE_BYTES + 1];
    for (raw, expected) in [
        (&b""[..], MailError::NotMail),
        (b"just some text", MailError::NotMail),
        (b"name,email\nAcme,jane@acme.com\n", MailError::NotMail),
        (b"X-Custom: 1\n\nbody", MailError::NotMail),
        (b"Subject: hi\n\nbody", MailError::NoFromAddress),
        (b"From: Bob\nSubject: hi\n\nbody", MailError::NoFromAddress),
        (b"From: bob@partner.example\nSubject: hi\n\n", MailError::NoReadableBody),
        (
            b"From: bob@partner.example\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n",
            MailError::NoReadableBody,
        ),
        (&big, MailError::TooLarge { size: MAX_MESSAGE_BYTES + 1 }),
    ] {
        assert_eq!(parse_message(raw), Err(expected.clone()), "{expected}");
    }
}

#[test]
fn errors_say_what_is_wrong() {
    assert_eq!(
        MailError::TooLarge { size: 11 }.to_string(),
        format!("the message is too large: 11 bytes, the limit is {MAX_MESSAGE_BYTES} bytes")
    );
    assert_eq!(
        MailError::NoFromAddress.to_string(),
        "the message has no From address"
    );
}

#[test]
fn malformed_mime_that_trips_mail_parser_debug_asserts_is_an_error_or_a_mail() {
    // A message/rfc822 part's headers duplicated into the boundary above it:
    // mail-parser 0.11 hits a debug_assert on it (debug builds only).
    let raw = b"From: bob@partner.example\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHi\r\n--\r\nBob\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n--\r\nBob\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: jane@acme.example\r\n\r\nCompany: Acme\r\n--b--\r\n";
    if let Ok(mail) = parse_message(raw) {
        let _ = extract_fields(&mail.text);
    }
}

#[test]
fn hostile_inputs_take_linear_time() {
    const N: usize = 200_000;
    let texts = [
        format!("Use case: {}](", "[".repeat(N * 5)),
        format!("Use case: {}>", "<".repeat(N * 5)),
        format!("Contact: {}@)", "(".repeat(N * 5)),
        format!("Contact: {}", "a@b ".repeat(N)),
        format!("Company: {}x", " ".repeat(N * 5)),
        format!("Use case: x\n{}", "word word\n".repeat(N)),
        "Begin forwarded message:\n".repeat(N),
        "Begin forwarded message:\n\n> a\n".repeat(N / 4),
        "---------- Forwarded message ---------\nFrom: a\nDate: b\n".repeat(N / 4),
        "From: x\n".repeat(N),
        "On x\n".repeat(N),
        "Company:\n".repeat(N),
        "- * 1. **".repeat(N),
    ];
    let started = std::time::Instant::now();
    for text in &texts {
        let _ = extract_fields(text);
    }
    let html = format!(
        "From: a@b.example\r\nContent-Type: text/html\r\n\r\n{}",
        "<div><td>a<br><p x='<'>&amp".repeat(N / 2)
    );
    assert!(parse_message(html.as_bytes()).is_ok());
    // Linear work on these ~1 MB inputs takes well under a second even in a
    // debug build; quadratic work would take hours.
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
}
