//! The email parser on real messages: each fixture under
//! `tests/fixtures/email/` is a complete RFC 5322 message as a mail server
//! would hand it over, and each test states every field it must yield.

use trellis_intake::email::{extract_fields, parse_message, IncomingMail, MailError};
use trellis_intake::Fields;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/email/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn mail(name: &str) -> IncomingMail {
    parse_message(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn fields(name: &str) -> Fields {
    extract_fields(&mail(name).text)
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn plain_text() {
    let mail = mail("plain.eml");
    assert_eq!(mail.from, "bob@partner.example");
    assert_eq!(mail.from_name.as_deref(), Some("Bob Smith"));
    assert_eq!(mail.to, ["intake@trellis.example"]);
    assert_eq!(mail.subject.as_deref(), Some("New registration: Acme Inc"));
    assert_eq!(
        mail.message_id.as_deref(),
        Some("20260303091358.4412@partner.example")
    );
    assert!(!mail.text.contains('\r'));
    assert_eq!(
        extract_fields(&mail.text),
        Fields {
            company_name: some("Acme Inc"),
            company_domain: some("acme.com"),
            contact_name: some("Jane Doe"),
            contact_email: some("jane.doe@acme.com"),
            use_case: some(
                "Replace the spreadsheets their 40 field reps use to track visits, \
                 with a shared pipeline view for the regional managers."
            ),
            consent: Some(true),
            segment: some("Mid-market"),
            region: some("EMEA"),
            product: some("Trellis Pro"),
        }
    );
}

#[test]
fn html_only() {
    let mail = mail("html_only.eml");
    assert!(!mail.text.contains('<'), "{}", mail.text);
    assert!(
        mail.text.contains("Company\tSmith & Sons Ltd\n"),
        "{}",
        mail.text
    );
    assert_eq!(
        extract_fields(&mail.text),
        Fields {
            company_name: some("Smith & Sons Ltd"),
            company_domain: some("www.smithandsons.example"),
            contact_name: some("Ana María López"),
            contact_email: some("ana@smithandsons.example"),
            use_case: some("3 warehouses > 1 dashboard"),
            consent: Some(true),
            ..Fields::default()
        }
    );
}

#[test]
fn quoted_printable() {
    let mail = mail("quoted_printable.eml");
    assert_eq!(
        mail.subject.as_deref(),
        Some("Registrierung: Müller Maschinenbau")
    );
    assert_eq!(
        extract_fields(&mail.text),
        Fields {
            company_name: some("Müller Maschinenbau GmbH"),
            company_domain: some("mueller-maschinenbau.example"),
            contact_name: some("Jürgen Müller"),
            contact_email: some("j.mueller@mueller-maschinenbau.example"),
            use_case: some(
                "They want to replace a very long chain of e-mailed Excel sheets that the sales \
                 team passes around every Monday morning – pipeline reviews take two hours."
            ),
            consent: Some(true),
            ..Fields::default()
        }
    );
}

#[test]
fn base64() {
    assert_eq!(
        fields("base64.eml"),
        Fields {
            company_name: some("Globex Corporation"),
            company_domain: some("https://www.globex.example/"),
            contact_name: some("Hank Scorpio"),
            contact_email: some("hank@globex.example"),
            use_case: some("Partner portal for 12 resellers in LATAM"),
            consent: Some(true),
            region: some("LATAM"),
            ..Fields::default()
        }
    );
}

#[test]
fn multipart_alternative_prefers_the_plain_text() {
    let mail = mail("multipart_alternative.eml");
    assert!(
        mail.text.starts_with("Hi,\n\nCompany: Initech\n"),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains("<div"));
    assert_eq!(
        extract_fields(&mail.text),
        Fields {
            company_name: some("Initech"),
            company_domain: some("initech.example"),
            contact_name: some("Bill Lumbergh"),
            contact_email: some("bill@initech.example"),
            use_case: some(
                "TPS report routing for the whole sales floor, about 80 seats, starting in Q3."
            ),
            consent: Some(true),
            ..Fields::default()
        }
    );
}

#[test]
fn forwarded_as_attachment() {
    let mail = mail("forwarded_attachment.eml");
    assert!(mail
        .text
        .contains("---------- Forwarded message ---------\n"));
    assert!(mail.text.contains("From: Jane Doe <jane@acme.example>\n"));
    // The partner's own text has no fields (its signature's `Website:` is
    // below `--`), so the attached message's fields count.
    assert_eq!(
        extract_fields(&mail.text),
        Fields {
            company_name: some("Acme Widgets"),
            company_domain: some("acme.example"),
            contact_name: some("Jane Doe"),
            contact_email: some("jane@acme.example"),
            use_case: some("Replace our homegrown lead tracker"),
            consent: Some(true),
            ..Fields::default()
        }
    );
}

#[test]
fn forwarded_inline() {
    assert_eq!(
        fields("forwarded_inline.eml"),
        Fields {
            company_name: some("Umbrella Logistics"),
            company_domain: some("umbrella.example"),
            contact_name: some("Priya Patel"),
            contact_email: some("priya@umbrella.example"),
            use_case: some("Route planning data shared with two partners"),
            consent: Some(true),
            ..Fields::default()
        }
    );
}

#[test]
fn a_reply_does_not_take_values_from_its_quoted_history() {
    // The quote holds another company, a website, another contact and
    // `Consent: no`: none of them may win, not even for the website the
    // reply leaves out.
    assert_eq!(
        fields("reply_with_history.eml"),
        Fields {
            company_name: some("Acme Holdings"),
            contact_name: some("Jane Doe"),
            contact_email: some("jane@acme-holdings.example"),
            consent: Some(true),
            ..Fields::default()
        }
    );
}

#[test]
fn signature_below_the_fields_is_not_read() {
    assert_eq!(
        fields("signature.eml"),
        Fields {
            company_name: some("Stark Industries"),
            company_domain: some("stark.example"),
            contact_name: some("Pepper Potts"),
            contact_email: some("pepper@stark.example"),
            consent: Some(true),
            ..Fields::default()
        }
    );
}

fn wayne() -> Fields {
    Fields {
        company_name: some("Wayne Enterprises"),
        company_domain: some("wayneenterprises.example"),
        contact_name: some("Lucius Fox"),
        contact_email: some("lucius.fox@wayneenterprises.example"),
        use_case: some("Partner’s reps need one view of deal registrations"),
        consent: Some(true),
        ..Fields::default()
    }
}

#[test]
fn outlook_link_annotations_and_history() {
    let mail = mail("outlook.eml");
    assert_eq!(mail.to, ["intake@trellis.example"]);
    assert_eq!(extract_fields(&mail.text), wayne());
}

#[test]
fn outlook_html_only() {
    let mail = mail("outlook_html_only.eml");
    assert!(mail
        .text
        .contains("\nFrom: Lucius Fox <lucius.fox@wayneenterprises.example>\nSent:"));
    assert_eq!(extract_fields(&mail.text), wayne());
}

#[test]
fn bold_labels_and_bullets() {
    assert_eq!(
        fields("bold_bullets.eml"),
        Fields {
            company_name: some("Cyberdyne Systems"),
            company_domain: some("cyberdyne.example"),
            contact_name: some("Miles Dyson"),
            contact_email: some("miles.dyson@cyberdyne.example"),
            use_case: some("Forecasting for the defence division"),
            consent: Some(true),
            segment: some("Enterprise"),
            ..Fields::default()
        }
    );
}

#[test]
fn missing_fields_are_reported() {
    let fields = fields("missing_fields.eml");
    assert_eq!(
        fields,
        Fields {
            company_name: some("Soylent Corp"),
            contact_name: some("Sol Roth"),
            ..Fields::default()
        }
    );
    assert_eq!(fields.missing(), ["email", "consent"]);
}

#[test]
fn iso_8859_1() {
    let mail = mail("latin1.eml");
    assert_eq!(mail.from_name.as_deref(), Some("Benoît Durand"));
    assert_eq!(
        mail.subject.as_deref(),
        Some("Nouveau prospect : Café Lumière")
    );
    assert_eq!(
        extract_fields(&mail.text),
        Fields {
            company_name: some("Café Lumière SARL"),
            company_domain: some("cafe-lumiere.example"),
            contact_name: some("Renée Lefèvre"),
            contact_email: some("renee@cafe-lumiere.example"),
            use_case: some("Suivi des partenaires pour 3 régions"),
            consent: Some(true),
            ..Fields::default()
        }
    );
}

#[test]
fn iso_2022_jp() {
    let mail = mail("iso_2022_jp.eml");
    assert_eq!(mail.from_name.as_deref(), Some("佐藤 花子"));
    assert_eq!(mail.subject.as_deref(), Some("新規登録: 株式会社アクメ"));
    assert_eq!(
        extract_fields(&mail.text),
        Fields {
            company_name: some("株式会社アクメ"),
            company_domain: some("acme.example.jp"),
            contact_name: some("山田 太郎"),
            contact_email: some("yamada@acme.example.jp"),
            use_case: some("営業チームの案件管理"),
            consent: Some(true),
            region: some("APAC"),
            ..Fields::default()
        }
    );
}

#[test]
fn not_mail() {
    assert_eq!(
        parse_message(&fixture("not_mail.eml")),
        Err(MailError::NotMail)
    );
}

#[test]
fn every_fixture_parses_or_fails_cleanly() {
    let dir = format!("{}/tests/fixtures/email", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fixture dir") {
        let path = entry.expect("entry").path();
        let raw = std::fs::read(&path).expect("read");
        if let Ok(mail) = parse_message(&raw) {
            let _ = extract_fields(&mail.text);
        }
        count += 1;
    }
    assert!(count >= 16, "only {count} fixtures");
}

#[test]
fn deeply_nested_attached_messages_do_not_overflow_the_stack() {
    let mut raw = String::new();
    for _ in 0..20_000 {
        raw.push_str("From: a@b.example\r\nContent-Type: message/rfc822\r\n\r\n");
    }
    raw.push_str("From: a@b.example\r\n\r\nCompany: Deep\r\n");
    // Parsing on a small stack, as a server's worker thread might have.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || parse_message(raw.as_bytes()).map(|m| extract_fields(&m.text)))
        .expect("spawn");
    let _ = handle.join().expect("no stack overflow");
}

mod never_panic {
    //! Whatever arrives, parsing returns a value or an error: arbitrary bytes,
    //! arbitrary text, text made of the pieces the parser looks for, and the
    //! fixtures mutated at random (a cheap stand-in for coverage-guided
    //! fuzzing; see `fuzz/`). `PROPTEST_CASES` raises the number of cases.

    use super::*;
    use proptest::prelude::*;

    /// Pieces that steer the parsers into their less travelled paths.
    const PIECES: &[&str] = &[
        "Company:",
        "Website -",
        "Contact:",
        "Email=",
        "Use case:",
        "Consent:",
        "Segment:",
        "**Company:**",
        "* ",
        "• ",
        "1. ",
        "Consent (yes/no):",
        "\t",
        " ",
        "\n",
        "\r\n",
        "\r",
        "-- \n",
        "--\n",
        "> ",
        ">",
        "On Mon, 2 Mar 2026, Jane wrote:\n",
        "wrote:",
        "From: x\n",
        "Sent: y\n",
        "-----Original Message-----\n",
        "---------- Forwarded message ---------\n",
        "Begin forwarded message:\n",
        "Sent from my iPhone\n",
        "____________\n",
        "<",
        ">",
        "(",
        ")",
        "[",
        "](",
        "<mailto:",
        "<http://",
        "@",
        "jane@acme.com",
        "Jane Doe <j@a.b>",
        "yes",
        "no",
        "\u{a0}",
        "\u{200b}",
        "\u{E000}",
        "\u{E001}",
        "İ",
        "é",
        "ß",
        "😀",
        ":",
        "=",
        "-",
        "–",
        "\u{feff}",
    ];

    /// Pieces of MIME.
    const MIME: &[&str] = &[
        "From: a@b.example\r\n",
        "To: c@d.example\r\n",
        "Subject: =?utf-8?B?w6k=?=\r\n",
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n",
        "Content-Type: multipart/alternative; boundary=b\r\n",
        "Content-Type: message/rfc822\r\n",
        "Content-Type: text/html; charset=iso-8859-1\r\n",
        "Content-Type: text/plain; charset=utf-16\r\n",
        "Content-Transfer-Encoding: base64\r\n",
        "Content-Transfer-Encoding: quoted-printable\r\n",
        "Content-Disposition: attachment\r\n",
        "\r\n",
        "\n",
        "--b\r\n",
        "--b--\r\n",
        "=\r\n",
        "=C3=A9",
        "=E",
        "w6k=",
        "====",
        "<div>",
        "</div>",
        "<br>",
        "<p>",
        "<td>",
        "<tr>",
        "<!--",
        "-->",
        "<style>",
        "&amp;",
        "&#",
        "&#x1F600;",
        "&nbsp;",
        "Company: Acme\r\n",
        "\u{E002}",
    ];

    fn text_from(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                3 => prop::sample::select(pieces).prop_map(str::to_owned),
                1 => "[a-zA-Z0-9 .@]{0,12}",
                1 => any::<String>().prop_map(|s| s.chars().take(8).collect()),
            ],
            0..64,
        )
        .prop_map(|parts| parts.concat())
    }

    fn fixtures() -> Vec<Vec<u8>> {
        let dir = format!("{}/tests/fixtures/email", env!("CARGO_MANIFEST_DIR"));
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .expect("fixture dir")
            .map(|e| e.expect("entry").path())
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| std::fs::read(p).expect("read"))
            .collect()
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        Flip(usize, u8),
        Insert(usize, &'static str),
        Delete(usize, usize),
        Truncate(usize),
        Duplicate(usize, usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
            (any::<usize>(), prop::sample::select(MIME))
                .prop_map(|(at, s)| Mutation::Insert(at, s)),
            (any::<usize>(), prop::sample::select(PIECES))
                .prop_map(|(at, s)| Mutation::Insert(at, s)),
            (any::<usize>(), 0usize..64).prop_map(|(at, n)| Mutation::Delete(at, n)),
            any::<usize>().prop_map(Mutation::Truncate),
            (any::<usize>(), 0usize..256).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
        ]
    }

    fn mutate(mut raw: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
        for m in mutations {
            let len = raw.len().max(1);
            match *m {
                Mutation::Flip(at, b) => {
                    if !raw.is_empty() {
                        raw[at % len] ^= b;
                    }
                }
                Mutation::Insert(at, s) => {
                    let at = at % (raw.len() + 1);
                    raw.splice(at..at, s.bytes());
                }
                Mutation::Delete(at, n) => {
                    let at = at % (raw.len() + 1);
                    let end = (at + n).min(raw.len());
                    raw.drain(at..end);
                }
                Mutation::Truncate(at) => raw.truncate(at % (raw.len() + 1)),
                Mutation::Duplicate(at, n) => {
                    let at = at % (raw.len() + 1);
                    let end = (at + n).min(raw.len());
                    let copy = raw[at..end].to_vec();
                    raw.splice(at..at, copy);
                }
            }
        }
        raw
    }

    /// Parses and extracts, and checks what every result must satisfy.
    fn check_bytes(raw: &[u8]) {
        if let Ok(mail) = parse_message(raw) {
            assert!(!mail.from.is_empty());
            assert!(!mail.text.contains('\r'));
            assert!(!mail.text.trim().is_empty());
            check_text(&mail.text);
        }
    }

    fn check_text(text: &str) {
        let f = extract_fields(text);
        for value in [
            &f.company_name,
            &f.company_domain,
            &f.contact_name,
            &f.contact_email,
            &f.use_case,
            &f.segment,
            &f.region,
            &f.product,
        ]
        .into_iter()
        .flatten()
        {
            assert!(!value.is_empty());
            assert_eq!(value, value.trim());
            assert!(!value.contains('\n'), "{value:?}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes(raw in prop::collection::vec(any::<u8>(), 0..4096)) {
            check_bytes(&raw);
        }

        #[test]
        fn arbitrary_text(text in any::<String>()) {
            check_text(&text);
        }

        #[test]
        fn text_of_field_pieces(text in text_from(PIECES)) {
            check_text(&text);
        }

        #[test]
        fn messages_of_mime_pieces(head in text_from(MIME), body in text_from(PIECES)) {
            check_bytes(format!("From: a@b.example\r\n{head}\r\n{body}").as_bytes());
        }

        #[test]
        fn mutated_fixtures(
            which in any::<prop::sample::Index>(),
            mutations in prop::collection::vec(mutation(), 1..16),
        ) {
            let corpus = fixtures();
            let raw = mutate(which.get(&corpus).clone(), &mutations);
            check_bytes(&raw);
        }
    }
}
