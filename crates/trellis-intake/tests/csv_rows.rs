//! The CSV upload parser against fixture files (tests/fixtures/csv/, kept
//! byte for byte by a `.gitattributes` there), streaming at the row limit,
//! and properties over arbitrary and mutated bytes. The mutation properties
//! stand in for the cargo-fuzz target (fuzz/fuzz_targets/csv_rows.rs), which
//! needs a nightly toolchain.

use std::io::{self, Read};

use proptest::prelude::*;
use proptest::sample::Index;
use trellis_intake::csv_rows::{self, FileError, Header, Row, RowError, MAX_ROWS};
use trellis_intake::Fields;

/// Every fixture, for the tests that run over all of them.
const FIXTURES: &[&str] = &[
    "utf8_bom_crlf.csv",
    "quoted.csv",
    "semicolon.csv",
    "first_last.csv",
    "synonyms.csv",
    "missing_column.csv",
    "duplicate_headers.csv",
    "ragged.csv",
    "latin1.csv",
    "utf16le_bom.csv",
    "utf16be_no_bom.csv",
    "workbook.xlsx",
    "page.html",
    "data.json",
    "empty.csv",
    "header_only.csv",
    "single_column.csv",
    "no_header.csv",
    "excel_sep_line.csv",
    "mac_cr.csv",
    "image.png",
    "unclosed_quote.csv",
];

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/csv/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Everything a read produces: the header, every item, and the final verdict.
type Items = Vec<Result<Row, RowError>>;
type Outcome = Result<(Header, Items, Result<(), FileError>), FileError>;

fn outcome(input: impl Read, max_rows: usize) -> Outcome {
    let (header, mut rows) = csv_rows::read(input, max_rows)?;
    let items: Items = rows.by_ref().collect();
    Ok((header, items, rows.finish()))
}

/// A file that must be accepted whole: its header and rows.
fn accepted(name: &str) -> (Header, Vec<Row>) {
    let (header, items, end) = outcome(&fixture(name)[..], MAX_ROWS).expect(name);
    assert_eq!(end, Ok(()), "{name}");
    let rows = items
        .into_iter()
        .map(|item| item.unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();
    (header, rows)
}

fn refused(name: &str) -> FileError {
    match outcome(&fixture(name)[..], MAX_ROWS) {
        Err(error) => error,
        Ok((_, items, end)) => panic!("{name} accepted: {items:?} {end:?}"),
    }
}

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

#[test]
fn utf8_with_bom_and_crlf() {
    let (header, rows) = accepted("utf8_bom_crlf.csv");
    assert_eq!(header.encoding(), "UTF-8");
    assert_eq!(header.row(), 1);
    assert!(header.ignored.is_empty());
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0],
        Row {
            number: 2,
            fields: Fields {
                company_name: some("Müller GmbH"),
                company_domain: some("mueller.de"),
                contact_name: some("Jürgen Müller"),
                contact_email: some("j.mueller@mueller.de"),
                use_case: some("Warehouse robots"),
                consent: Some(true),
                segment: some("Enterprise"),
                region: some("EMEA"),
                product: some("Fleet"),
            },
        }
    );
    assert_eq!(rows[1].fields.company_name, some("東京商事"));
    assert_eq!(rows[1].fields.contact_name, some("佐藤 花子"));
    assert_eq!(rows[1].fields.consent, Some(true), "Oui");
    // Empty cells are None, and "no" is a clear answer.
    assert_eq!(rows[2].number, 4);
    assert_eq!(rows[2].fields.use_case, None);
    assert_eq!(rows[2].fields.product, None);
    assert_eq!(rows[2].fields.consent, Some(false));
    assert_eq!(rows[2].fields.company_name, some("Zoë's Café"));
}

#[test]
fn quoted_commas_quotes_and_newlines_stay_in_one_row() {
    let (_, rows) = accepted("quoted.csv");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].number, 2);
    assert_eq!(rows[0].fields.company_name, some("Acme, Inc."));
    assert_eq!(rows[0].fields.contact_name, some("Lee, Ann"));
    assert_eq!(
        rows[0].fields.use_case,
        some("Needs three things:\n- a, b\n- \"quoted\" c")
    );
    // The multi-line value is one spreadsheet row, so the next row is 3.
    assert_eq!(rows[1].number, 3);
    assert_eq!(rows[1].fields.use_case, some("One line, with a comma"));
}

#[test]
fn semicolon_separated_european_export() {
    let (header, rows) = accepted("semicolon.csv");
    assert_eq!(header.delimiter(), ';');
    assert_eq!(rows[0].fields.company_name, some("Dupont, Fils & Cie"));
    assert_eq!(rows[0].fields.consent, Some(true), "oui");
    assert_eq!(rows[1].fields.company_name, some("Schmidt; Partner GmbH"));
    assert_eq!(rows[1].fields.consent, Some(true), "ja");
    assert_eq!(rows[1].fields.region, some("EMEA"));
}

#[test]
fn excel_sep_line_is_honoured_and_not_counted() {
    let (header, rows) = accepted("excel_sep_line.csv");
    assert_eq!(header.delimiter(), ';');
    assert_eq!(header.row(), 1);
    assert_eq!(rows[0].number, 2);
    assert_eq!(rows[0].fields.company_name, some("Dupont, Fils & Cie"));
}

#[test]
fn first_and_last_name_columns_are_joined() {
    let (header, rows) = accepted("first_last.csv");
    assert_eq!(
        header.mapping(),
        [
            ("company", "Account Name"),
            ("first name", "First Name"),
            ("last name", "Last Name"),
            ("email", "E-mail"),
            ("consent", "Opt-in"),
        ]
    );
    assert_eq!(rows[0].fields.company_name, some("Initech"));
    assert_eq!(rows[0].fields.contact_name, some("Bill Lumbergh"));
    assert_eq!(rows[0].fields.contact_email, some("bill@initech.com"));
    assert_eq!(rows[1].fields.contact_name, some("Smykowski"));
}

#[test]
fn synonyms_in_any_case_and_punctuation() {
    let (header, rows) = accepted("synonyms.csv");
    assert_eq!(header.ignored, ["Lead Source"]);
    assert_eq!(header.width(), 11, "the empty trailing heading is a column");
    assert_eq!(
        rows[0].fields,
        Fields {
            company_name: some("Umbrella Corp"),
            company_domain: some("umbrella.com"),
            contact_name: some("Alice Abernathy"),
            contact_email: some("alice@umbrella.com"),
            use_case: some("Vaccines"),
            consent: Some(true),
            segment: some("Enterprise"),
            region: some("NA"),
            product: some("Antidote"),
        }
    );
}

#[test]
fn missing_required_column_is_named() {
    let error = refused("missing_column.csv");
    assert_eq!(error, FileError::MissingColumns(vec!["email"]));
    let message = error.to_string();
    assert!(message.contains("no column for email"), "{message}");
    assert!(message.contains("E-mail"), "{message}");
}

#[test]
fn duplicate_headers_are_refused() {
    let error = refused("duplicate_headers.csv");
    assert_eq!(
        error,
        FileError::DuplicateHeaders(vec![
            "Company".into(),
            "Account Name".into(),
            "Email".into(),
            "E-mail".into(),
        ])
    );
    assert!(error.to_string().contains("\"Company\", \"Account Name\""));
}

#[test]
fn ragged_rows_are_row_errors_and_good_rows_go_on() {
    let (_, items, end) = outcome(&fixture("ragged.csv")[..], MAX_ROWS).unwrap();
    assert_eq!(end, Ok(()));
    let summary: Vec<(u64, bool)> = items
        .iter()
        .map(|item| match item {
            Ok(row) => (row.number, true),
            Err(error) => (error.number, false),
        })
        .collect();
    // Row 4 is an empty line and row 6 is ",,,,": skipped, but counted.
    assert_eq!(
        summary,
        [(2, true), (3, false), (5, true), (7, false), (8, true)]
    );
    let too_many = items[1].clone().unwrap_err().to_string();
    assert!(
        too_many.starts_with("row 3 has 6 fields but the header has 5"),
        "{too_many}"
    );
    assert!(too_many.contains("double quotes"), "{too_many}");
    let too_few = items[3].clone().unwrap_err().to_string();
    assert!(
        too_few.starts_with("row 7 has 3 fields but the header has 5"),
        "{too_few}"
    );
    assert_eq!(
        items[4].clone().unwrap().fields.contact_name,
        some("Gavin Belson")
    );
}

#[test]
fn latin1_is_refused_with_the_row_and_the_fix() {
    let error = refused("latin1.csv");
    assert_eq!(
        error,
        FileError::Latin1 {
            row: 2,
            sample: "Müller GmbH".into()
        }
    );
    let message = error.to_string();
    assert!(message.contains("Müller GmbH"), "{message}");
    assert!(
        message.contains("save the file as UTF-8 CSV (in Excel: File > Save As > CSV UTF-8)"),
        "{message}"
    );
}

#[test]
fn latin1_past_the_sniffed_head_is_reported_by_finish() {
    let mut file = b"Company,Contact,Email,Consent\n".to_vec();
    for i in 0..3_000 {
        file.extend_from_slice(format!("Acme {i},Ann Lee,ann{i}@acme.com,yes\n").as_bytes());
    }
    assert!(file.len() > 64 * 1024);
    file.extend_from_slice(b"M\xfcller GmbH,J\xfcrgen,j@mueller.de,ja\n");
    file.extend_from_slice(b"Last,Row,last@row.com,yes\n");
    let (_, items, end) = outcome(&file[..], MAX_ROWS).expect("the head is fine");
    assert_eq!(items.len(), 3_000, "the iterator stops at the bad row");
    assert_eq!(
        end,
        Err(FileError::Latin1 {
            row: 3_002,
            sample: "Müller GmbH".into()
        })
    );
}

#[test]
fn utf16_le_with_bom_is_decoded_exactly() {
    let (header, rows) = accepted("utf16le_bom.csv");
    assert_eq!(header.encoding(), "UTF-16LE");
    assert_eq!(header.delimiter(), '\t');
    assert_eq!(header.mapping()[0], ("company", "Company"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].fields.contact_name, some("Jürgen Müller"));
    assert_eq!(
        rows[0].fields.use_case,
        some("Roboter für das Lager, bitte")
    );
    assert_eq!(rows[1].fields.company_name, some("北京科技"));
    assert_eq!(rows[1].fields.contact_name, some("李雷 😀"));
    assert_eq!(rows[1].number, 3);
}

#[test]
fn utf16_be_without_bom_is_found_by_its_nul_bytes() {
    let (header, rows) = accepted("utf16be_no_bom.csv");
    assert_eq!(header.encoding(), "UTF-16BE");
    assert_eq!(
        rows[0].fields.use_case,
        some("Roboter für das Lager, bitte")
    );
    assert_eq!(rows[1].fields.contact_name, some("李雷 😀"));
}

#[test]
fn malformed_utf16_is_refused_not_replaced() {
    let mut file = fixture("utf16le_bom.csv");
    file.push(b'x'); // an odd number of bytes
    assert!(matches!(refused_bytes(&file), FileError::Utf16 { .. }));
    let mut file = fixture("utf16le_bom.csv");
    let at = file.len() - 4;
    file.splice(at..at, 0xdc00u16.to_le_bytes()); // a lone low surrogate
    let error = refused_bytes(&file);
    assert!(matches!(error, FileError::Utf16 { .. }), "{error:?}");
    assert!(error.to_string().contains("CSV UTF-8"));
}

fn refused_bytes(bytes: &[u8]) -> FileError {
    match outcome(bytes, MAX_ROWS) {
        Err(error) => error,
        Ok((_, _, Err(error))) => error,
        Ok(accepted) => panic!("accepted: {accepted:?}"),
    }
}

#[test]
fn an_unclosed_quote_refuses_the_file_instead_of_swallowing_rows() {
    let (_, items, end) = outcome(&fixture("unclosed_quote.csv")[..], MAX_ROWS).unwrap();
    assert!(items.is_empty(), "{items:?}");
    match end {
        Err(FileError::NotCsv { reason }) => assert!(
            reason.starts_with("row 2 has a double quote (\") that is never closed"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_xlsx_workbook_gets_export_advice() {
    let error = refused("workbook.xlsx");
    assert_eq!(
        error.to_string(),
        "this looks like an Excel workbook (.xlsx); export it as CSV UTF-8 \
         (in Excel: File > Save As > CSV UTF-8)"
    );
}

#[test]
fn images_are_not_text() {
    assert!(matches!(
        refused("image.png"),
        FileError::NotText { looks_like, .. } if looks_like == "a PNG image"
    ));
}

#[test]
fn html_and_json_are_not_csv() {
    for (name, says) in [("page.html", "web page (HTML)"), ("data.json", "JSON")] {
        match refused(name) {
            FileError::NotCsv { reason } => assert!(reason.contains(says), "{name}: {reason}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn a_single_unknown_column_or_a_missing_header_is_not_csv() {
    match refused("single_column.csv") {
        FileError::NotCsv { reason } => {
            assert!(
                reason.contains("single column, \"Partner leads Q3\""),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    match refused("no_header.csv") {
        FileError::NotCsv { reason } => {
            assert!(reason.contains("\"ann@acme.com\""), "{reason}");
            assert!(reason.contains("must name the columns"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_empty_file_has_no_header() {
    assert_eq!(refused("empty.csv"), FileError::NoHeader);
    assert_eq!(
        refused_bytes(b"\xef\xbb\xbf\r\n\r\n  \n"),
        FileError::NoHeader
    );
    assert_eq!(refused_bytes(b",,,\n,,,\n"), FileError::NoHeader);
}

#[test]
fn a_header_only_file_has_no_rows() {
    let (header, rows) = accepted("header_only.csv");
    assert_eq!(header.width(), 4);
    assert!(rows.is_empty());
}

#[test]
fn bare_cr_line_ends_from_excel_for_mac() {
    let (_, rows) = accepted("mac_cr.csv");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].fields.contact_name, some("Hank Scorpio"));
    assert_eq!(rows[1].fields.consent, Some(false));
}

/// Generates "Company,Contact,Email,Consent" and `rows` rows on the fly, so
/// the test itself never holds the file.
struct Generated {
    rows: usize,
    next: usize,
    line: Vec<u8>,
    at: usize,
}

impl Generated {
    fn new(rows: usize) -> Self {
        Generated {
            rows,
            next: 0,
            line: b"Company,Contact,Email,Consent\r\n".to_vec(),
            at: 0,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.line.len() {
            if self.next == self.rows {
                return Ok(0);
            }
            self.next += 1;
            let i = self.next;
            self.line = format!("Acme {i},Ann Lee {i},ann.{i}@acme.com,yes\r\n").into_bytes();
            self.at = 0;
        }
        let n = buf.len().min(self.line.len() - self.at);
        buf[..n].copy_from_slice(&self.line[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_file_at_the_limit_streams_and_one_over_is_refused() {
    let (_, mut rows) = csv_rows::read(Generated::new(MAX_ROWS), MAX_ROWS).unwrap();
    let mut count = 0u64;
    for row in rows.by_ref() {
        let row = row.unwrap();
        count += 1;
        assert_eq!(row.number, count + 1);
    }
    assert_eq!(count, MAX_ROWS as u64);
    assert_eq!(rows.finish(), Ok(()));

    let (_, mut rows) = csv_rows::read(Generated::new(MAX_ROWS + 1), MAX_ROWS).unwrap();
    assert_eq!(rows.by_ref().count(), MAX_ROWS);
    let error = rows.finish().unwrap_err();
    assert_eq!(error, FileError::TooManyRows { limit: MAX_ROWS });
    assert!(error.to_string().contains("at most 100000 rows"));
}

#[test]
fn finish_reads_what_the_caller_skipped() {
    let (_, mut rows) = csv_rows::read(Generated::new(10), 5).unwrap();
    assert!(rows.next().unwrap().is_ok());
    assert_eq!(rows.finish(), Err(FileError::TooManyRows { limit: 5 }));
}

/// Reads one byte per call, to cross every buffer boundary.
struct OneByte<'a>(&'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&byte, rest)), Some(slot)) => {
                *slot = byte;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn fixtures_read_the_same_one_byte_at_a_time() {
    for name in FIXTURES {
        let bytes = fixture(name);
        assert_eq!(
            outcome(OneByte(&bytes), MAX_ROWS),
            outcome(&bytes[..], MAX_ROWS),
            "{name}"
        );
    }
}

/// What must hold for any input: no panic (checked by getting here), row
/// numbers above the header's and strictly increasing, at most `max_rows`
/// items, and values trimmed with blanks as None.
fn check_invariants(outcome: &Outcome, max_rows: usize) -> Result<(), TestCaseError> {
    let Ok((header, items, _)) = outcome else {
        return Ok(());
    };
    prop_assert!(header.row() >= 1);
    prop_assert!(items.len() <= max_rows);
    let mut last = header.row();
    for item in items {
        let number = match item {
            Ok(row) => {
                let f = &row.fields;
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
                    prop_assert!(!value.is_empty() && value.trim() == value, "{value:?}");
                }
                prop_assert!(row.number > 1);
                row.number
            }
            Err(error) => error.number,
        };
        prop_assert!(number > last, "{number} after {last}");
        last = number;
    }
    Ok(())
}

/// One edit to a fixture's bytes. Positions are fractions of the current
/// length, so every edit applies to any file.
#[derive(Debug, Clone)]
enum Mutation {
    Set(Index, u8),
    Insert(Index, u8),
    Delete(Index, Index),
    Repeat(Index, Index, Index),
    Truncate(Index),
}

fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(vec![
            b',', b';', b'\t', b'"', b'\n', b'\r', b' ', 0x00, 0xff, 0xfe, 0xef, 0xbb, 0xbf,
            0xc3, 0xa9, 0xfc, 0xd8, 0xdc, 0x80, b'<', b'{', b'P', b'K',
        ]),
        1 => any::<u8>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), interesting_byte()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<Index>(), interesting_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(i, n, at)| Mutation::Repeat(i, n, at)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len();
        let at = |i: &Index| if len == 0 { 0 } else { i.index(len + 1) };
        match mutation {
            Mutation::Set(i, b) if len > 0 => {
                let i = i.index(len);
                bytes[i] = *b;
            }
            Mutation::Set(..) => {}
            Mutation::Insert(i, b) => bytes.insert(at(i), *b),
            Mutation::Delete(i, n) => {
                let start = at(i);
                let end = (start + n.index(8) + 1).min(len);
                bytes.drain(start..end);
            }
            Mutation::Repeat(i, n, to) => {
                let start = at(i);
                let end = (start + n.index(64) + 1).min(len);
                let piece: Vec<u8> = bytes[start..end].to_vec();
                let to = at(to);
                bytes.splice(to..to, piece);
            }
            Mutation::Truncate(i) => bytes.truncate(at(i)),
        }
    }
    bytes
}

fn max_rows() -> impl Strategy<Value = usize> {
    prop_oneof![3 => Just(MAX_ROWS), 1 => 0..4usize]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), max_rows in max_rows()) {
        check_invariants(&outcome(&bytes[..], max_rows), max_rows)?;
    }

    #[test]
    fn text_like_bytes_never_panic(
        bytes in prop::collection::vec(
            prop_oneof![interesting_byte(), prop::sample::select(b"abc@.Company,Contact,Email,Consent".to_vec())],
            0..512,
        ),
        max_rows in max_rows(),
    ) {
        let mut file = b"company,contact,email,consent\n".to_vec();
        file.extend_from_slice(&bytes);
        check_invariants(&outcome(&file[..], max_rows), max_rows)?;
    }
}

proptest! {
    // The fuzz target's job, done with proptest on stable Rust: thousands of
    // edits of real files, checked for panics, invariants, and the same
    // result however the input is chunked.
    #![proptest_config(ProptestConfig::with_cases(6_000))]

    #[test]
    fn mutated_fixtures_keep_the_invariants(
        which in 0..FIXTURES.len(),
        mutations in prop::collection::vec(mutation(), 1..6),
        max_rows in max_rows(),
    ) {
        let bytes = mutate(fixture(FIXTURES[which]), &mutations);
        let whole = outcome(&bytes[..], max_rows);
        check_invariants(&whole, max_rows)?;
        prop_assert_eq!(outcome(OneByte(&bytes), max_rows), whole);
    }
}

/// Cells a spreadsheet could hold: any printable text, with separators and
/// quotes more likely than chance would make them.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "\\PC{0,12}",
        1 => "[ ,;\"a-zé]{0,8}",
        1 => "[a-z]{1,5}(\r\n|\n)[a-z]{1,5}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Whatever the cells hold, written by a real CSV writer and saved in any
    /// of the accepted encodings, the rows come back exactly (trimmed).
    #[test]
    fn written_rows_round_trip_in_every_encoding(
        cells in prop::collection::vec((cell(), cell(), cell(), any::<bool>()), 0..6),
        delimiter in prop::sample::select(vec![b',', b';', b'\t']),
        crlf in any::<bool>(),
    ) {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(Vec::new());
        writer.write_record(["Company", "Contact", "Email", "Consent"]).unwrap();
        for (company, contact, email, consent) in &cells {
            let consent = if *consent { "yes" } else { "no" };
            writer.write_record([company.as_str(), contact, email, consent]).unwrap();
        }
        let utf8 = writer.into_inner().unwrap();
        let text = String::from_utf8(utf8.clone()).unwrap();
        let value = |s: &String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let expected: Vec<Fields> = cells
            .iter()
            .map(|(company, contact, email, consent)| Fields {
                company_name: value(company),
                contact_name: value(contact),
                contact_email: value(email),
                consent: Some(*consent),
                ..Fields::default()
            })
            .collect();

        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend_from_slice(&utf8);
        let mut le = vec![0xff, 0xfe];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let mut be = vec![0xfe, 0xff];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        for (encoding, bytes) in [("UTF-8", &utf8), ("UTF-8 BOM", &bom), ("UTF-16LE", &le), ("UTF-16BE", &be)] {
            let result = outcome(&bytes[..], MAX_ROWS);
            let Ok((header, items, end)) = result else {
                return Err(TestCaseError::fail(format!("{encoding}: {result:?}")));
            };
            prop_assert_eq!(header.delimiter(), char::from(delimiter));
            prop_assert_eq!(end, Ok(()));
            let fields: Vec<Fields> = items
                .into_iter()
                .map(|item| item.map(|row| row.fields))
                .collect::<Result<_, _>>()
                .map_err(|e| TestCaseError::fail(format!("{encoding}: {e}")))?;
            prop_assert_eq!(&fields, &expected, "{}", encoding);
        }
    }
}
