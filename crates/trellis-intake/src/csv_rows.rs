//! Bulk registration uploads: a CSV file turned into the [`Fields`] of one
//! registration per row, or into errors that tell the sender what to fix.
//!
//! Partners and staff export these files from Excel, Google Sheets, Numbers,
//! LibreOffice or a CRM, so the parser accepts what those programs really
//! write and refuses, whole and with a precise message, what it cannot read
//! without guessing. It is pure: it reads a byte slice or any
//! [`std::io::Read`] and nothing else, so it is unit-tested, property-tested
//! and fuzzed. The CSV grammar itself (quotes, doubled quotes, delimiters and
//! newlines inside quoted fields) is the `csv` crate's; this module only sniffs
//! the encoding and layout, maps the header and turns records into rows.
//!
//! # Rules
//!
//! **Encoding.** UTF-8, with or without a byte order mark, is read as is.
//! UTF-16 (little or big endian, found by its BOM or, without one, by the NUL
//! byte in every other position that ASCII text gets in UTF-16) is decoded
//! with `encoding_rs` *without replacement*: a malformed sequence (an unpaired
//! surrogate, an odd number of bytes) rejects the file with
//! [`FileError::Utf16`] rather than putting U+FFFD into a name. Bytes that are
//! not UTF-8 but read plausibly as Windows-1252/Latin-1 (no control bytes)
//! reject the file with [`FileError::Latin1`], naming the row and showing the
//! text as it would read in Latin-1, because the code page cannot be known
//! (Windows-1252, Mac Roman and Windows-1250 differ in exactly these bytes)
//! and a wrong guess would put "MŸller" into the CRM for good. Anything
//! else binary (NUL bytes, control bytes, the magic bytes of ZIP/XLSX/ODS/
//! Numbers, old .xls, PDF or image files) is [`FileError::NotText`], which
//! says what the file looks like and how to export it.
//!
//! **Layout.** The delimiter is found on the header line: the most frequent of
//! comma, semicolon (Excel in much of Europe) and tab (Excel's "Unicode Text",
//! which is also UTF-16) outside quotes, comma on a tie. Excel's `sep=;` first
//! line is honoured and skipped. Lines may end in CRLF, LF or, as Excel for
//! Mac's "CSV (Macintosh)" writes, a bare CR. HTML, XML, JSON and RTF are
//! recognised and refused with [`FileError::NotCsv`].
//!
//! **Header.** The first non-blank row names the columns. Names match ignoring
//! case, spaces, punctuation and bracketed remarks ("Consent (yes/no)"), with
//! synonyms (see [`FileError::MissingColumns`]'s message or `Column::synonyms`).
//! Company, contact (or first name and last name), email and consent are
//! required; unknown columns are ignored and listed in [`Header::ignored`] so
//! the uploader can be told; two columns that mean the same field are refused
//! ([`FileError::DuplicateHeaders`]) because picking one silently could import
//! the wrong one. A first row that names no known column at all means the file
//! has no header (or is not a CSV): [`FileError::NotCsv`].
//!
//! **Rows.** Each non-blank record becomes a [`Row`] or a [`RowError`]; one bad
//! row never stops the good ones. A row with more or fewer fields than the
//! header is a [`RowError`] (a shifted column would put an email into the
//! company name). Rows whose cells are all blank (Excel writes `,,,,` for
//! formatted empty rows) and empty lines are skipped. Values are trimmed and
//! blank ones become `None`. The contact is the contact column or, if that
//! is blank or absent, first and last name joined by a space. A consent cell
//! is read with [`consent_answer`]; text that is neither yes nor no is a
//! [`RowError`] rather than a silent "no consent". Whether the values are
//! valid (an email, a domain) is decided later by the same validation every
//! channel uses, and so is deduplication: rows carry their number so the
//! caller can report "row 12 repeats row 4". A double quote that is never
//! closed would make the csv reader (which does not report it) read the rest
//! of the file as one value; that refuses the file ([`FileError::NotCsv`])
//! instead of losing the rows after it without a word.
//!
//! **Row numbers** are the ones the sender sees when the file is opened in a
//! spreadsheet: the header is row 1, a quoted value spanning several lines is
//! still one row, and empty lines count (spreadsheets show them as empty
//! rows). They strictly increase.
//!
//! # Streaming and the row limit
//!
//! [`read`] sniffs the first 64 KiB, reads the header and returns a
//! [`CsvRows`] iterator that parses one record at a time, so memory stays at
//! one record plus the sniff buffer, whatever the file size (a single record
//! is as large as its text: an unclosed quote makes the rest of the file one
//! field, so the caller should cap the upload size as it already does for any
//! request body). The file is not buffered and not read twice.
//!
//! Some reasons to refuse a file can only be seen at its end: more than
//! `max_rows` rows ([`FileError::TooManyRows`]), a Latin-1 byte or a NUL in
//! row 90,000, a malformed UTF-16 sequence, a quote left open, a read error.
//! The design is
//! therefore *check as you go*: the iterator stops at the first such problem,
//! and [`CsvRows::finish`] (which reads to the end if the caller stopped
//! early) returns it. The caller makes one complete pass, collecting rows and
//! row errors (it needs all rows anyway to find duplicates within the file),
//! and imports nothing unless `finish` returns `Ok`. Counting in a first pass
//! over a `&[u8]` was the alternative; it would tie the API to in-memory
//! uploads and still not catch a bad byte past the count. What the first
//! 64 KiB show (the kind of file, an encoding problem there, the header) is
//! returned by [`read`] itself, so a workbook, a Latin-1 export or a wrong
//! header is refused before a single row is produced.
//!
//! ```
//! # use trellis_intake::csv_rows::{self, MAX_ROWS};
//! let file = "Company,Contact,Email,Consent\r\nAcme,Ann Lee,ann@acme.com,yes\r\n";
//! let (header, mut rows) = csv_rows::read(file.as_bytes(), MAX_ROWS)?;
//! assert!(header.ignored.is_empty());
//! let (mut good, mut bad) = (Vec::new(), Vec::new());
//! for row in rows.by_ref() {
//!     match row {
//!         Ok(row) => good.push(row),
//!         Err(error) => bad.push(error),
//!     }
//! }
//! rows.finish()?; // only now is the file known to be whole and within the limit
//! assert_eq!(good[0].number, 2);
//! assert_eq!(good[0].fields.contact_email.as_deref(), Some("ann@acme.com"));
//! # Ok::<(), csv_rows::FileError>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Chain, Cursor, Read};
use std::iter::FusedIterator;

use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};
use serde::Serialize;

use crate::fields::{consent_answer, Fields};

/// The default row limit: a file with more data rows is refused whole, so an
/// upload is one reviewable batch and one import stays within a few minutes.
pub const MAX_ROWS: usize = 100_000;

/// How much of the file is read up front to recognise its kind, encoding and
/// delimiter, and to refuse an obviously wrong file before any row is read.
const SNIFF_BYTES: usize = 64 * 1024;

/// The fix for every encoding problem, in the words of the program most
/// senders use.
const SAVE_AS_UTF8: &str = "save the file as UTF-8 CSV (in Excel: File > Save As > CSV UTF-8)";

/// Longest piece of a sender's text quoted back in an error message.
const QUOTE_CHARS: usize = 40;

/// Why a whole file is refused. Each message says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Not a text file: a workbook, an archive, a document or an image.
    #[error("this looks like {looks_like}; {fix}")]
    NotText {
        looks_like: String,
        fix: &'static str,
    },
    /// Not UTF-8, but plausibly Windows-1252/Latin-1 (what Excel's plain
    /// "CSV (Comma delimited)" writes). `row` is where it was found and
    /// `sample` the cell as it would read in Windows-1252.
    #[error(
        "row {row} is not UTF-8 text: it looks like Windows-1252/Latin-1 (\"{sample}\"); \
         {save} and upload it again",
        save = SAVE_AS_UTF8
    )]
    Latin1 { row: u64, sample: String },
    /// UTF-16 that cannot be decoded without replacing characters.
    #[error(
        "the file is UTF-16 text that cannot be read safely ({reason}); {save}",
        save = SAVE_AS_UTF8
    )]
    Utf16 { reason: String },
    /// Empty, or only blank lines.
    #[error(
        "the file is empty: the first row must name the columns (for example \
         Company,Contact,Email,Consent) and each row after it is one registration"
    )]
    NoHeader,
    /// Required fields without a column, in form order.
    #[error("{}", missing_columns_message(.0))]
    MissingColumns(Vec<&'static str>),
    /// Header cells (as written) that name the same field.
    #[error(
        "these columns mean the same thing: {}; keep one of each and delete or rename the others",
        quoted_list(.0)
    )]
    DuplicateHeaders(Vec<String>),
    /// More data rows than the limit; nothing should be imported.
    #[error(
        "the file has more than {limit} rows; split it into files of at most {limit} rows \
         and upload them one at a time"
    )]
    TooManyRows { limit: usize },
    /// Text, but not a CSV file with a header row; `reason` ends with the fix.
    #[error("this is not a CSV file Trellis can read: {reason}")]
    NotCsv { reason: String },
    /// The reader failed (a network or disk error, not the sender's fault).
    #[error("the file could not be read: {reason}")]
    Read { reason: String },
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("\"{item}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn missing_columns_message(missing: &[&'static str]) -> String {
    let names: Vec<String> = missing
        .iter()
        .map(|field| {
            let accepted = Column::ALL
                .iter()
                .find(|c| c.name() == *field)
                .map_or("", |c| c.accepted());
            format!("{field} (a column named {accepted})")
        })
        .collect();
    format!(
        "the header row has no column for {}; add the missing columns to the first row, \
         with a cell in every row",
        names.join("; ")
    )
}

/// One registration: its spreadsheet row number and its unvalidated fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The row number a spreadsheet shows for it: the header is row 1.
    pub number: u64,
    pub fields: Fields,
}

/// A row that could not be read; the other rows are unaffected.
/// Displayed as "row 7 has 3 fields but the header has 5; …".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("row {number} {reason}")]
pub struct RowError {
    pub number: u64,
    /// Reads on from "row N ", e.g. "has 3 fields but the header has 5".
    pub reason: String,
}

/// The fields a column can hold. First and last name are columns but not
/// fields: they are joined into the contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Company,
    Website,
    Contact,
    FirstName,
    LastName,
    Email,
    UseCase,
    Consent,
    Segment,
    Region,
    Product,
}

impl Column {
    const ALL: [Column; 11] = [
        Column::Company,
        Column::Website,
        Column::Contact,
        Column::FirstName,
        Column::LastName,
        Column::Email,
        Column::UseCase,
        Column::Consent,
        Column::Segment,
        Column::Region,
        Column::Product,
    ];

    fn name(self) -> &'static str {
        match self {
            Column::Company => "company",
            Column::Website => "website",
            Column::Contact => "contact",
            Column::FirstName => "first name",
            Column::LastName => "last name",
            Column::Email => "email",
            Column::UseCase => "use case",
            Column::Consent => "consent",
            Column::Segment => "segment",
            Column::Region => "region",
            Column::Product => "product",
        }
    }

    /// Accepted headings, already normalized (see [`heading_key`]): what
    /// CRMs and spreadsheet templates call these columns.
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Column::Company => &[
                "company",
                "companyname",
                "account",
                "accountname",
                "organisation",
                "organization",
                "organisationname",
                "organizationname",
                "customer",
                "customername",
                "prospect",
                "prospectname",
            ],
            Column::Website => &[
                "website",
                "domain",
                "companydomain",
                "url",
                "companywebsite",
                "companyurl",
                "websiteurl",
            ],
            Column::Contact => &[
                "contact",
                "contactname",
                "name",
                "fullname",
                "contactperson",
            ],
            Column::FirstName => &["firstname", "givenname", "forename", "contactfirstname"],
            Column::LastName => &["lastname", "surname", "familyname", "contactlastname"],
            Column::Email => &[
                "email",
                "contactemail",
                "emailaddress",
                "contactemailaddress",
            ],
            Column::UseCase => &["usecase", "notes", "description", "need", "project"],
            Column::Consent => &["consent", "optin", "consentgiven", "permission"],
            Column::Segment => &["segment"],
            Column::Region => &["region"],
            Column::Product => &["product"],
        }
    }

    /// The accepted names as a person would write them, for error messages.
    fn accepted(self) -> &'static str {
        match self {
            Column::Company => {
                "Company, Company Name, Account, Account Name, Organisation, Customer or Prospect"
            }
            Column::Website => "Website, Domain, Company Domain or URL",
            Column::Contact => {
                "Contact, Contact Name, Name or Full Name, or two columns First Name and Last Name"
            }
            Column::FirstName => "First Name or Given Name",
            Column::LastName => "Last Name, Surname or Family Name",
            Column::Email => "Email, E-mail, Contact Email or Email Address",
            Column::UseCase => "Use Case, Notes, Description, Need or Project",
            Column::Consent => "Consent, Opt-in, Consent Given or Permission",
            Column::Segment => "Segment",
            Column::Region => "Region",
            Column::Product => "Product",
        }
    }

    fn from_heading(heading: &str) -> Option<Column> {
        let key = heading_key(heading);
        Column::ALL
            .into_iter()
            .find(|column| column.synonyms().contains(&key.as_str()))
    }
}

/// A heading reduced to lowercase letters and digits, without bracketed
/// remarks: "E-mail", "e_mail" and "EMAIL (work)" are all "email". Remarks
/// are kept if nothing else is left ("(Consent)").
fn heading_key(heading: &str) -> String {
    let letters = |text: &str| -> String {
        text.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let mut depth = 0usize;
    let bare: String = heading
        .chars()
        .filter(|&c| match c {
            '(' | '[' | '{' => {
                depth += 1;
                false
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect();
    let key = letters(&bare);
    if key.is_empty() {
        letters(heading)
    } else {
        key
    }
}

/// Which column holds which field, read from the header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Headings (as written, trimmed) of the columns that are not imported, so
    /// the uploader can be told that "Lead Source" was left out.
    pub ignored: Vec<String>,
    columns: [Option<usize>; Column::ALL.len()],
    headings: Vec<String>,
    row: u64,
    delimiter: u8,
    encoding: &'static str,
}

impl Header {
    /// For each field that has a column: the field's name ("company",
    /// "first name", …) and the heading as written ("Account Name").
    pub fn mapping(&self) -> Vec<(&'static str, &str)> {
        Column::ALL
            .iter()
            .filter_map(|&c| {
                self.columns[c as usize].map(|i| (c.name(), self.headings[i].as_str()))
            })
            .collect()
    }

    /// The number of columns every row must have.
    pub fn width(&self) -> usize {
        self.headings.len()
    }

    /// The header's own row number: 1 unless blank rows precede it.
    pub fn row(&self) -> u64 {
        self.row
    }

    /// The detected delimiter: ',', ';' or '\t'.
    pub fn delimiter(&self) -> char {
        char::from(self.delimiter)
    }

    /// The detected encoding: "UTF-8", "UTF-16LE" or "UTF-16BE".
    pub fn encoding(&self) -> &'static str {
        self.encoding
    }

    fn new(
        cells: &[&str],
        row: u64,
        layout: &Layout,
        encoding: &'static str,
    ) -> Result<Self, FileError> {
        let headings: Vec<String> = cells
            .iter()
            .map(|cell| cell.trim_start_matches('\u{feff}').trim().to_owned())
            .collect();
        let mut found: Vec<Vec<usize>> = vec![Vec::new(); Column::ALL.len()];
        let mut ignored = Vec::new();
        for (index, heading) in headings.iter().enumerate() {
            match Column::from_heading(heading) {
                Some(column) => found[column as usize].push(index),
                None if heading.is_empty() => {}
                None => ignored.push(heading.clone()),
            }
        }
        if found.iter().all(Vec::is_empty) {
            return Err(FileError::NotCsv {
                reason: no_header_reason(&headings, layout),
            });
        }
        let duplicates: Vec<String> = found
            .iter()
            .filter(|indexes| indexes.len() > 1)
            .flat_map(|indexes| indexes.iter().map(|&i| headings[i].clone()))
            .collect();
        if !duplicates.is_empty() {
            return Err(FileError::DuplicateHeaders(duplicates));
        }
        let columns: [Option<usize>; Column::ALL.len()] =
            std::array::from_fn(|i| found[i].first().copied());
        let has = |c: Column| columns[c as usize].is_some();
        let mut missing = Vec::new();
        if !has(Column::Company) {
            missing.push(Column::Company.name());
        }
        let has_contact = has(Column::Contact) || (has(Column::FirstName) && has(Column::LastName));
        if !has_contact {
            missing.push(Column::Contact.name());
        }
        if !has(Column::Email) {
            missing.push(Column::Email.name());
        }
        if !has(Column::Consent) {
            missing.push(Column::Consent.name());
        }
        if !missing.is_empty() {
            return Err(FileError::MissingColumns(missing));
        }
        Ok(Header {
            ignored,
            columns,
            headings,
            row,
            delimiter: layout.delimiter,
            encoding,
        })
    }

    /// Turns one record into a row, or says why it cannot be one.
    fn row_from(&self, number: u64, cells: &[&str]) -> Result<Row, RowError> {
        let error = |reason: String| RowError { number, reason };
        if cells.len() != self.width() {
            let hint = if cells.len() > self.width() {
                let delimiter = match self.delimiter {
                    b',' => "comma",
                    b';' => "semicolon",
                    b'\t' => "tab",
                    _ => "'|'",
                };
                format!("; a value that contains a {delimiter} must be in double quotes")
            } else {
                "; every row needs a cell for every column, even an empty one".to_owned()
            };
            return Err(error(format!(
                "has {} field{} but the header has {}{hint}",
                cells.len(),
                if cells.len() == 1 { "" } else { "s" },
                self.width()
            )));
        }
        let get = |column: Column| -> Option<String> {
            self.columns[column as usize]
                .and_then(|i| cells.get(i))
                .map(|cell| cell.trim())
                .filter(|cell| !cell.is_empty())
                .map(str::to_owned)
        };
        let contact = get(Column::Contact).or_else(|| {
            match (get(Column::FirstName), get(Column::LastName)) {
                (Some(first), Some(last)) => Some(format!("{first} {last}")),
                (first, last) => first.or(last),
            }
        });
        let consent = match get(Column::Consent) {
            None => None,
            Some(text) => match consent_answer(&text) {
                Some(answer) => Some(answer),
                None => {
                    return Err(error(format!(
                        "has consent \"{}\", which is neither yes nor no; write yes or no",
                        shorten(&text)
                    )))
                }
            },
        };
        Ok(Row {
            number,
            fields: Fields {
                company_name: get(Column::Company),
                company_domain: get(Column::Website),
                contact_name: contact,
                contact_email: get(Column::Email),
                use_case: get(Column::UseCase),
                consent,
                segment: get(Column::Segment),
                region: get(Column::Region),
                product: get(Column::Product),
            },
        })
    }
}

/// Why a first row that names no known column means "no header".
fn no_header_reason(headings: &[String], layout: &Layout) -> String {
    const EXAMPLE: &str =
        "the first row must name the columns, for example Company,Contact,Email,Consent";
    if headings.len() == 1 {
        format!(
            "the first row has a single column, \"{}\", which is not a column Trellis knows \
             (looked for columns separated by '{}'); {EXAMPLE}",
            shorten(&headings[0]),
            char::from(layout.delimiter).escape_default()
        )
    } else {
        let shown: Vec<String> = headings.iter().take(5).map(|h| shorten(h)).collect();
        format!(
            "none of the columns in the first row ({}) is one Trellis knows; {EXAMPLE}",
            quoted_list(&shown)
        )
    }
}

/// At most [`QUOTE_CHARS`] characters of a sender's text, to quote back.
fn shorten(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= QUOTE_CHARS {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(QUOTE_CHARS - 1).collect();
        short.push('…');
        short
    }
}

/// Reads the header of a CSV file and returns it with an iterator over the
/// rows. `max_rows` is the most data rows accepted ([`MAX_ROWS`] unless the
/// caller has a reason); see the module doc for why the limit and some
/// encoding errors are reported by [`CsvRows::finish`].
pub fn read<R: Read>(mut bytes: R, max_rows: usize) -> Result<(Header, CsvRows<R>), FileError> {
    let mut sniff = Vec::new();
    let whole = fill(&mut bytes, &mut sniff)?;
    if sniff.is_empty() {
        return Err(FileError::NoHeader);
    }
    if let Some(error) = binary_kind(&sniff) {
        return Err(error);
    }
    let encoding = TextEncoding::detect(&sniff)?;
    let (text, invalid_utf8) = encoding.sniff_text(&sniff, whole)?;
    reject_other_formats(&text)?;
    let layout = Layout::sniff(&text);

    let mut head = Cursor::new(sniff);
    head.set_position(encoding.bom_len() as u64);
    let end = End::new(layout.bare_cr);
    let source = match encoding {
        TextEncoding::Utf8 { .. } => Source::Utf8(head.chain(bytes).chain(end.sentinel)),
        TextEncoding::Utf16 { big_endian, .. } => {
            let encoding = if big_endian { UTF_16BE } else { UTF_16LE };
            Source::Utf16(Utf16Decode::new(head.chain(bytes), encoding).chain(end.sentinel))
        }
    };
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(layout.delimiter)
        .terminator(csv::Terminator::Any(end.terminator))
        .from_reader(source);
    let mut records = Records {
        reader,
        record: csv::ByteRecord::new(),
        numbering: Numbering::new(!layout.bare_cr),
        end,
    };
    if layout.sep_line {
        records.next()?;
        records.numbering.restart_after_sep_line();
    }
    let header = loop {
        match records.next()? {
            None => return Err(FileError::NoHeader),
            Some((_, cells)) if is_blank(&cells) => continue,
            Some((number, cells)) => break Header::new(&cells, number, &layout, encoding.name())?,
        }
    };
    let mut rows = CsvRows {
        records,
        header: header.clone(),
        max_rows,
        rows: 0,
        error: None,
        done: false,
    };
    if invalid_utf8 {
        // The bad bytes are within the first 64 KiB: find their row now, so
        // the file is refused before the caller sees any row.
        rows.drain();
        return Err(rows.error.take().unwrap_or_else(|| FileError::NotText {
            looks_like: "a file that is not UTF-8 text".into(),
            fix: SAVE_AS_UTF8,
        }));
    }
    Ok((header, rows))
}

/// The rows of a file, in order: each a [`Row`] or a [`RowError`].
///
/// The iterator ends early if the file turns out to be unacceptable as a
/// whole (too many rows, an encoding error, a quote left open, a read
/// error); call
/// [`CsvRows::finish`] after the loop (iterate with `by_ref()`) and import
/// nothing unless it returns `Ok`.
pub struct CsvRows<R> {
    records: Records<R>,
    header: Header,
    max_rows: usize,
    rows: usize,
    error: Option<FileError>,
    done: bool,
}

impl<R: Read> CsvRows<R> {
    /// Reads whatever the caller has not, then says whether the file as a
    /// whole is acceptable: `Ok` means every record was read, the file is
    /// within the row limit and in one readable encoding.
    pub fn finish(mut self) -> Result<(), FileError> {
        self.drain();
        match self.error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn drain(&mut self) {
        while self.next().is_some() {}
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<Row, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let (number, cells) = match self.records.next() {
                Ok(Some(record)) => record,
                Ok(None) => break,
                Err(error) => {
                    self.error = Some(error);
                    break;
                }
            };
            if is_blank(&cells) {
                continue;
            }
            self.rows += 1;
            if self.rows > self.max_rows {
                self.error = Some(FileError::TooManyRows {
                    limit: self.max_rows,
                });
                break;
            }
            return Some(self.header.row_from(number, &cells));
        }
        self.done = true;
        None
    }
}

impl<R: Read> FusedIterator for CsvRows<R> {}

impl<R> fmt::Debug for CsvRows<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvRows")
            .field("header", &self.header)
            .field("rows", &self.rows)
            .field("max_rows", &self.max_rows)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

fn is_blank(cells: &[&str]) -> bool {
    cells.iter().all(|cell| cell.trim().is_empty())
}

/// The csv reader and the row numbering of what it reads.
struct Records<R> {
    reader: csv::Reader<Source<R>>,
    record: csv::ByteRecord,
    numbering: Numbering,
    end: End,
}

impl<R: Read> Records<R> {
    /// The next record's row number and cells, checked to be text.
    fn next(&mut self) -> Result<Option<(u64, Vec<&str>)>, FileError> {
        if !self.read()? {
            // The sentinel record normally comes last (see [`End`]); this is
            // only reached when asked again after it.
            return Ok(None);
        }
        let number = self
            .numbering
            .number(&self.record, self.reader.position().line());
        let sentinel = self.record.len() == 1 && &self.record[0] == b"\0";
        let unclosed = self
            .record
            .iter()
            .next_back()
            .is_some_and(|last| last.ends_with(self.end.swallowed));
        if sentinel || unclosed {
            // Only the sentinel comes last; a NUL followed by more records
            // was the file's own.
            return match (self.read()?, sentinel) {
                (false, true) => Ok(None),
                (false, false) => Err(FileError::NotCsv {
                    reason: format!(
                        "row {number} has a double quote (\") that is never closed, so the rest \
                         of the file would be read as one value; close the quote or remove it"
                    ),
                }),
                (true, _) => Err(nul_in_row(number)),
            };
        }
        let cells = text_cells(&self.record, number)?;
        Ok(Some((number, cells)))
    }

    fn read(&mut self) -> Result<bool, FileError> {
        self.reader
            .read_byte_record(&mut self.record)
            .map_err(|error| csv_error(&error))
    }
}

/// How records end, and the sentinel appended to the input.
///
/// The sentinel is a line end (so the file's last record always ends like
/// the others, which the row numbering relies on), then a record holding
/// only a quoted NUL, then another line end. If the file's quotes are
/// balanced, the csv reader returns that record last and it is dropped. If a
/// quote is left open, the csv reader (which does not report this) swallows
/// the rest of the file and the sentinel into one value that ends in
/// `swallowed`; that is refused, since the rows it swallowed would otherwise
/// vanish without a word. A NUL is never valid text, so the sentinel cannot
/// be confused with a real row.
#[derive(Debug, Clone, Copy)]
struct End {
    terminator: u8,
    sentinel: &'static [u8],
    swallowed: &'static [u8],
}

impl End {
    fn new(bare_cr: bool) -> Self {
        if bare_cr {
            End {
                terminator: b'\r',
                sentinel: b"\r\"\0\"\r",
                swallowed: b"\r\0\"",
            }
        } else {
            End {
                terminator: b'\n',
                sentinel: b"\n\"\0\"\n",
                swallowed: b"\n\0\"",
            }
        }
    }
}

/// Spreadsheet row numbers from the csv reader's line count.
///
/// Records end only at '\n' (a '\r' before it is trimmed with the value) and
/// the sentinel ends the last one (see [`End`]), so after each record the
/// line count is one past the record's last line, and its first line is that
/// minus its own embedded newlines. Subtracting the
/// embedded newlines of all earlier records (each of which is one row however
/// many lines it spans) gives the row a spreadsheet shows; empty lines, which
/// csv skips, are still counted in the line count, as spreadsheets count them.
/// Files with bare-CR line ends have no line count; their rows are numbered
/// in sequence. Numbers always strictly increase.
struct Numbering {
    by_lines: bool,
    embedded_newlines: u64,
    last: u64,
    offset: u64,
}

impl Numbering {
    fn new(by_lines: bool) -> Self {
        Numbering {
            by_lines,
            embedded_newlines: 0,
            last: 0,
            offset: 0,
        }
    }

    fn number(&mut self, record: &csv::ByteRecord, line_after: u64) -> u64 {
        let embedded = record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
        let from_lines = if self.by_lines {
            line_after
                .saturating_sub(1 + embedded + self.embedded_newlines)
                .saturating_sub(self.offset)
        } else {
            0
        };
        self.embedded_newlines += embedded;
        self.last = from_lines.max(self.last + 1);
        self.last
    }

    /// Excel hides a `sep=;` line, so the row after it is row 1.
    fn restart_after_sep_line(&mut self) {
        self.offset = self.last;
        self.last = 0;
    }
}

/// The record's fields as text, or the file-level reason they are not.
fn text_cells(record: &csv::ByteRecord, number: u64) -> Result<Vec<&str>, FileError> {
    let mut cells = Vec::with_capacity(record.len());
    for field in record {
        if field.contains(&0) {
            return Err(nul_in_row(number));
        }
        match std::str::from_utf8(field) {
            Ok(text) => cells.push(text),
            Err(_) if record.as_slice().iter().any(|&b| is_control(b)) => {
                return Err(FileError::NotText {
                    looks_like: format!("binary data, not text (control bytes in row {number})"),
                    fix: SAVE_AS_UTF8,
                })
            }
            Err(_) => {
                return Err(FileError::Latin1 {
                    row: number,
                    sample: latin1_sample(field),
                })
            }
        }
    }
    Ok(cells)
}

fn nul_in_row(number: u64) -> FileError {
    FileError::NotText {
        looks_like: format!("binary data, not text (a NUL byte in row {number})"),
        fix: SAVE_AS_UTF8,
    }
}

/// Control bytes that no spreadsheet writes into text (tab, newlines and
/// form feed are allowed).
fn is_control(byte: u8) -> bool {
    byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r' | 0x0c)
}

/// The cell as it reads in Windows-1252, around its first non-ASCII byte, so
/// the sender can find it ("Müller").
fn latin1_sample(field: &[u8]) -> String {
    let (text, _) = WINDOWS_1252.decode_without_bom_handling(field);
    let chars: Vec<char> = text.trim().chars().collect();
    let first = chars.iter().position(|c| !c.is_ascii()).unwrap_or(0);
    let start = first.saturating_sub(QUOTE_CHARS / 2);
    chars[start..].iter().take(QUOTE_CHARS).collect()
}

fn csv_error(error: &csv::Error) -> FileError {
    if let csv::ErrorKind::Io(io_error) = error.kind() {
        if let Some(malformed) = io_error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Utf16Malformed>())
        {
            return FileError::Utf16 {
                reason: malformed.to_string(),
            };
        }
        return FileError::Read {
            reason: io_error.to_string(),
        };
    }
    // With `flexible` and byte records nothing else is expected; say what
    // happened rather than panic.
    FileError::NotCsv {
        reason: error.to_string(),
    }
}

/// Reads up to [`SNIFF_BYTES`]; true if that was the whole input.
fn fill<R: Read>(reader: &mut R, buffer: &mut Vec<u8>) -> Result<bool, FileError> {
    buffer.resize(SNIFF_BYTES, 0);
    let mut len = 0;
    while len < SNIFF_BYTES {
        match reader.read(&mut buffer[len..]) {
            Ok(0) => {
                buffer.truncate(len);
                return Ok(true);
            }
            Ok(n) => len += n.min(SNIFF_BYTES - len),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                return Err(FileError::Read {
                    reason: error.to_string(),
                })
            }
        }
    }
    Ok(false)
}

const EXPORT_CSV: &str = "export it as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8)";
const UPLOAD_CSV: &str =
    "upload the spreadsheet saved as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8) instead";

/// Recognises files that are not text by their magic bytes.
fn binary_kind(head: &[u8]) -> Option<FileError> {
    let not_text = |looks_like: &str, fix: &'static str| {
        Some(FileError::NotText {
            looks_like: looks_like.to_owned(),
            fix,
        })
    };
    let contains = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return if contains(b"xl/") {
            not_text("an Excel workbook (.xlsx)", EXPORT_CSV)
        } else if contains(b"application/vnd.oasis.opendocument.spreadsheet") {
            not_text(
                "an OpenDocument spreadsheet (.ods)",
                "export it as CSV (in LibreOffice: File > Save As > Text CSV, character set Unicode (UTF-8))",
            )
        } else if contains(b"Index/Document.iwa") {
            not_text(
                "an Apple Numbers spreadsheet",
                "export it as CSV (in Numbers: File > Export To > CSV, text encoding Unicode (UTF-8))",
            )
        } else if contains(b"word/") {
            not_text("a Word document (.docx)", UPLOAD_CSV)
        } else {
            not_text("a ZIP archive", "unzip it and upload the CSV file inside")
        };
    }
    if head.starts_with(&[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]) {
        return not_text("an Excel 97-2003 workbook (.xls)", EXPORT_CSV);
    }
    let image_fix = UPLOAD_CSV;
    if head.starts_with(b"%PDF-") {
        return not_text("a PDF document", image_fix);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return not_text("a PNG image", image_fix);
    }
    if head.starts_with(&[0xff, 0xd8, 0xff]) {
        return not_text("a JPEG image", image_fix);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return not_text("a GIF image", image_fix);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return not_text(
            "a gzip-compressed file",
            "decompress it and upload the CSV file",
        );
    }
    if head.starts_with(&[0xff, 0xfe, 0, 0]) || head.starts_with(&[0, 0, 0xfe, 0xff]) {
        return not_text("UTF-32 text", SAVE_AS_UTF8);
    }
    None
}

/// Refuses text that is plainly another format, before the header check
/// would call it "no known column".
fn reject_other_formats(text: &str) -> Result<(), FileError> {
    let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let lower: String = start
        .chars()
        .take(200)
        .flat_map(char::to_lowercase)
        .collect();
    let reason = if lower.starts_with("<?xml") {
        "it looks like an XML document (Excel's \"XML Spreadsheet\" is not CSV)"
    } else if lower.starts_with('<') {
        "it looks like a web page (HTML), perhaps a download or sign-in page saved instead of the file"
    } else if lower.starts_with("{\\rtf") {
        "it looks like an RTF document"
    } else if lower.starts_with('{')
        || (lower.starts_with('[') && lower[1..].trim_start().starts_with(['{', '[', '"', ']']))
    {
        "it looks like JSON"
    } else {
        return Ok(());
    };
    Err(FileError::NotCsv {
        reason: format!("{reason}; {UPLOAD_CSV}"),
    })
}

/// The text encoding found from the BOM or NUL pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextEncoding {
    Utf8 { bom: bool },
    Utf16 { big_endian: bool, bom: bool },
}

impl TextEncoding {
    fn detect(head: &[u8]) -> Result<Self, FileError> {
        if head.starts_with(b"\xef\xbb\xbf") {
            return Ok(TextEncoding::Utf8 { bom: true });
        }
        if head.starts_with(b"\xff\xfe") || head.starts_with(b"\xfe\xff") {
            return Ok(TextEncoding::Utf16 {
                big_endian: head[0] == 0xfe,
                bom: true,
            });
        }
        if !head.contains(&0) {
            return Ok(TextEncoding::Utf8 { bom: false });
        }
        // ASCII in UTF-16 has a NUL in every other byte: odd positions in
        // little endian, even ones in big endian. Otherwise NULs mean binary.
        let pairs = head.len() / 2;
        let nul_at = |parity: usize| {
            head.iter()
                .skip(parity)
                .step_by(2)
                .filter(|&&b| b == 0)
                .count()
        };
        let (even, odd) = (nul_at(0), nul_at(1));
        let many = |n: usize| pairs > 0 && n * 10 >= pairs * 3;
        let few = |n: usize| n * 20 <= pairs;
        if many(odd) && few(even) {
            Ok(TextEncoding::Utf16 {
                big_endian: false,
                bom: false,
            })
        } else if many(even) && few(odd) {
            Ok(TextEncoding::Utf16 {
                big_endian: true,
                bom: false,
            })
        } else {
            Err(FileError::NotText {
                looks_like: "binary data, not text (it contains NUL bytes)".into(),
                fix: SAVE_AS_UTF8,
            })
        }
    }

    fn bom_len(self) -> usize {
        match self {
            TextEncoding::Utf8 { bom: true } => 3,
            TextEncoding::Utf16 { bom: true, .. } => 2,
            _ => 0,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 { .. } => "UTF-8",
            TextEncoding::Utf16 {
                big_endian: false, ..
            } => "UTF-16LE",
            TextEncoding::Utf16 {
                big_endian: true, ..
            } => "UTF-16BE",
        }
    }

    /// The sniffed bytes as text for recognising the layout, and whether they
    /// hold invalid UTF-8 (found again, with its row, by the csv pass).
    fn sniff_text(self, head: &[u8], whole: bool) -> Result<(Cow<'_, str>, bool), FileError> {
        let body = &head[self.bom_len()..];
        match self {
            TextEncoding::Utf8 { .. } => match std::str::from_utf8(body) {
                Ok(text) => Ok((Cow::Borrowed(text), false)),
                Err(error) => {
                    let valid = &body[..error.valid_up_to()];
                    let text = std::str::from_utf8(valid).unwrap_or_default();
                    // An incomplete character at the end of a partial sniff
                    // is just where the sniff stopped.
                    let invalid = error.error_len().is_some() || whole;
                    Ok((Cow::Borrowed(text), invalid))
                }
            },
            TextEncoding::Utf16 { big_endian, .. } => {
                let encoding = if big_endian { UTF_16BE } else { UTF_16LE };
                let mut decoder = encoding.new_decoder_without_bom_handling();
                let capacity = decoder
                    .max_utf8_buffer_length_without_replacement(body.len())
                    .unwrap_or(body.len() * 3 + 16);
                let mut text = String::with_capacity(capacity);
                let (result, read) =
                    decoder.decode_to_string_without_replacement(body, &mut text, whole);
                match result {
                    DecoderResult::InputEmpty | DecoderResult::OutputFull => {
                        Ok((Cow::Owned(text), false))
                    }
                    DecoderResult::Malformed(..) => Err(FileError::Utf16 {
                        reason: Utf16Malformed {
                            near_byte: (read + self.bom_len()) as u64,
                            at_end: whole && read >= body.len(),
                        }
                        .to_string(),
                    }),
                }
            }
        }
    }
}

/// Delimiter and line ends, found from the first lines of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    delimiter: u8,
    /// Lines end in a bare '\r' (Excel for Mac's "CSV (Macintosh)").
    bare_cr: bool,
    /// The first line is Excel's `sep=;` hint.
    sep_line: bool,
}

impl Layout {
    fn sniff(text: &str) -> Self {
        let text = text.trim_start_matches('\u{feff}');
        let bytes = text.as_bytes();
        // The first line break outside quotes tells the line ends.
        let mut in_quotes = false;
        let mut bare_cr = false;
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'"' => in_quotes = !in_quotes,
                b'\n' if !in_quotes => break,
                b'\r' if !in_quotes => {
                    bare_cr = bytes.get(i + 1).is_some_and(|&next| next != b'\n');
                    break;
                }
                _ => {}
            }
        }
        let mut lines = text.split(if bare_cr { '\r' } else { '\n' });
        let first = lines.next().unwrap_or_default().trim();
        if let Some(sep) = first
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("sep="))
            .and_then(|_| first.as_bytes().get(4))
            .filter(|_| first.len() == 5)
            .filter(|b| matches!(b, b',' | b';' | b'\t' | b'|'))
        {
            return Layout {
                delimiter: *sep,
                bare_cr,
                sep_line: true,
            };
        }
        // Count candidates outside quotes on the first non-blank line (a
        // quoted heading may span lines, so scan from there to a line break
        // outside quotes).
        let start = text
            .find(|c: char| !c.is_whitespace())
            .map_or(text.len(), |i| {
                text[..i].rfind(['\n', '\r']).map_or(0, |j| j + 1)
            });
        let mut counts = [0usize; 3];
        let candidates = [b',', b';', b'\t'];
        let mut in_quotes = false;
        for &b in &bytes[start..] {
            match b {
                b'"' => in_quotes = !in_quotes,
                b'\n' | b'\r' if !in_quotes => break,
                _ if !in_quotes => {
                    if let Some(i) = candidates.iter().position(|&c| c == b) {
                        counts[i] += 1;
                    }
                }
                _ => {}
            }
        }
        // The first maximum wins, so ties go to comma, then semicolon.
        let best = (0..3).fold(0, |best, i| if counts[i] > counts[best] { i } else { best });
        Layout {
            delimiter: candidates[best],
            bare_cr,
            sep_line: false,
        }
    }
}

/// The bytes the csv reader reads: the sniffed head, then the rest, then the
/// sentinel (see [`End`]).
enum Source<R> {
    Utf8(Chain<Head<R>, &'static [u8]>),
    Utf16(Chain<Utf16Decode<Head<R>>, &'static [u8]>),
}

/// The sniffed bytes (read again from memory), then the rest of the input.
type Head<R> = Chain<Cursor<Vec<u8>>, R>;

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Utf8(inner) => inner.read(buf),
            Source::Utf16(inner) => inner.read(buf),
        }
    }
}

/// A UTF-16 sequence that cannot be decoded without replacing it.
#[derive(Debug)]
struct Utf16Malformed {
    near_byte: u64,
    at_end: bool,
}

impl fmt::Display for Utf16Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at_end {
            write!(
                f,
                "it ends in the middle of a character, so it may be cut short"
            )
        } else {
            write!(f, "an invalid character near byte {}", self.near_byte)
        }
    }
}

impl std::error::Error for Utf16Malformed {}

/// Streams UTF-16 as UTF-8 with `encoding_rs`, failing (never replacing) on
/// malformed input.
struct Utf16Decode<R> {
    inner: R,
    decoder: Decoder,
    input: Box<[u8]>,
    start: usize,
    end: usize,
    input_done: bool,
    output: Vec<u8>,
    output_pos: usize,
    finished: bool,
    consumed: u64,
}

impl<R: Read> Utf16Decode<R> {
    fn new(inner: R, encoding: &'static Encoding) -> Self {
        Utf16Decode {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; 8 * 1024].into_boxed_slice(),
            start: 0,
            end: 0,
            input_done: false,
            output: Vec::new(),
            output_pos: 0,
            finished: false,
            consumed: 0,
        }
    }
}

impl<R: Read> Read for Utf16Decode<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.output_pos < self.output.len() {
                let n = buf.len().min(self.output.len() - self.output_pos);
                buf[..n].copy_from_slice(&self.output[self.output_pos..self.output_pos + n]);
                self.output_pos += n;
                return Ok(n);
            }
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            if self.start == self.end && !self.input_done {
                let n = loop {
                    match self.inner.read(&mut self.input) {
                        Ok(n) => break n.min(self.input.len()),
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                        Err(error) => return Err(error),
                    }
                };
                self.start = 0;
                self.end = n;
                self.input_done = n == 0;
            }
            let source = &self.input[self.start..self.end];
            let last = self.input_done;
            let room = self
                .decoder
                .max_utf8_buffer_length_without_replacement(source.len())
                .unwrap_or(source.len() * 3 + 16)
                .max(16);
            self.output.clear();
            self.output.resize(room, 0);
            self.output_pos = 0;
            let (result, read, written) =
                self.decoder
                    .decode_to_utf8_without_replacement(source, &mut self.output, last);
            self.output.truncate(written);
            self.start += read;
            self.consumed += read as u64;
            match result {
                DecoderResult::InputEmpty if last => self.finished = true,
                DecoderResult::InputEmpty | DecoderResult::OutputFull => {}
                DecoderResult::Malformed(..) => {
                    self.finished = true;
                    self.output.clear();
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        Utf16Malformed {
                            near_byte: self.consumed,
                            at_end: last && self.start == self.end,
                        },
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &[u8]) -> (Header, Vec<Result<Row, RowError>>, Result<(), FileError>) {
        let (header, mut rows) = read(text, MAX_ROWS).expect("file accepted");
        let all: Vec<_> = rows.by_ref().collect();
        (header, all, rows.finish())
    }

    fn numbers(text: &[u8]) -> Vec<u64> {
        rows(text)
            .1
            .iter()
            .map(|r| match r {
                Ok(row) => row.number,
                Err(e) => e.number,
            })
            .collect()
    }

    const HEAD: &str = "company,contact,email,consent";

    #[test]
    fn heading_keys_ignore_case_punctuation_and_remarks() {
        for (heading, key) in [
            ("E-mail", "email"),
            ("  Company_Name ", "companyname"),
            ("Consent (yes/no)", "consent"),
            ("EMAIL [work]*", "email"),
            ("(Consent)", "consent"),
            ("Opt-In", "optin"),
        ] {
            assert_eq!(heading_key(heading), key, "{heading}");
        }
        assert_eq!(Column::from_heading("Web site"), Some(Column::Website));
        assert_eq!(Column::from_heading("Lead source"), None);
    }

    #[test]
    fn every_synonym_is_normalized_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for column in Column::ALL {
            for synonym in column.synonyms() {
                assert_eq!(&heading_key(synonym), synonym);
                assert!(seen.insert(*synonym), "{synonym} twice");
            }
        }
    }

    #[test]
    fn row_numbers_count_blank_lines_but_not_lines_inside_quotes() {
        let text = format!(
            "{HEAD}\n\nA,\"Ann\nLee\",a@a.com,yes\r\nB,Bo,b@b.com,yes\n\n\nC,Cy,c@c.com,yes"
        );
        assert_eq!(numbers(text.as_bytes()), [3, 4, 7]);
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(numbers(crlf.as_bytes()), [3, 4, 7]);
    }

    #[test]
    fn bare_cr_files_are_read_and_numbered_in_sequence() {
        let text = format!("{HEAD}\rA,Ann,a@a.com,yes\rB,\"Bo\rBa\",b@b.com,no\r");
        let (_, all, end) = rows(text.as_bytes());
        assert_eq!(end, Ok(()));
        let all: Vec<Row> = all.into_iter().map(Result::unwrap).collect();
        assert_eq!(all[1].number, 3);
        assert_eq!(all[1].fields.contact_name.as_deref(), Some("Bo\rBa"));
    }

    #[test]
    fn excel_sep_line_sets_the_delimiter_and_is_not_a_row() {
        let text = "sep=;\r\ncompany;contact;email;consent\r\nA, Inc.;Ann;a@a.com;yes\r\n";
        let (header, all, _) = rows(text.as_bytes());
        assert_eq!(header.delimiter(), ';');
        assert_eq!(header.row(), 1);
        let row = all[0].clone().unwrap();
        assert_eq!(row.number, 2);
        assert_eq!(row.fields.company_name.as_deref(), Some("A, Inc."));
    }

    #[test]
    fn layout_prefers_the_most_frequent_delimiter_outside_quotes() {
        assert_eq!(Layout::sniff("a;b;c,d\n").delimiter, b';');
        assert_eq!(Layout::sniff("\"a;b;c\",d\n").delimiter, b',');
        assert_eq!(Layout::sniff("a\tb\tc\n").delimiter, b'\t');
        assert_eq!(Layout::sniff("company\n").delimiter, b',');
        assert_eq!(Layout::sniff("\n\n a;b\n").delimiter, b';');
        assert!(Layout::sniff("a,b\rc,d").bare_cr);
        assert!(!Layout::sniff("a,b\r\nc,d").bare_cr);
    }

    #[test]
    fn the_limit_is_checked_as_rows_are_read() {
        let text = format!("{HEAD}\nA,Ann,a@a.com,yes\nB,Bo,b@b.com,yes\n\n,,,\n");
        let (_, rows) = read(text.as_bytes(), 2).unwrap();
        assert_eq!(rows.finish(), Ok(()), "blank rows do not count");
        let (_, mut rows) = read(text.as_bytes(), 1).unwrap();
        assert_eq!(rows.by_ref().count(), 1);
        assert_eq!(rows.finish(), Err(FileError::TooManyRows { limit: 1 }));
    }

    #[test]
    fn a_quote_left_open_is_found_with_either_line_end() {
        for end in ["\n", "\r"] {
            let text = format!(
                "{HEAD}{end}A,Ann,a@a.com,yes{end}B,\"Bo,b@b.com,yes{end}C,Cy,c@c.com,yes{end}"
            );
            let (_, all, finish) = rows(text.as_bytes());
            assert_eq!(all.len(), 1, "{end:?}");
            assert!(
                matches!(&finish, Err(FileError::NotCsv { reason }) if reason.starts_with("row 3 has a double quote")),
                "{finish:?}"
            );
        }
        // A closed quote at the very end of the file is fine.
        let text = format!("{HEAD}\nA,Ann,a@a.com,\"yes\"");
        assert_eq!(rows(text.as_bytes()).2, Ok(()));
    }

    #[test]
    fn a_nul_record_past_the_head_is_binary_not_the_end() {
        let mut text = format!("{HEAD}\n");
        while text.len() <= SNIFF_BYTES {
            text.push_str("Acme,Ann Lee,ann@acme.com,yes\n");
        }
        for tail in [
            "\"\0\"\nB,Bo,b@b.com,yes\n",
            "\"\0\"\n",
            "B,\"x\n\0\"\"\"\nC,Cy,c@c.com,yes\n",
        ] {
            let file = format!("{text}{tail}");
            let (_, _, end) = rows(file.as_bytes());
            assert!(
                matches!(&end, Err(FileError::NotText { looks_like, .. }) if looks_like.contains("NUL")),
                "{tail:?}: {end:?}"
            );
        }
    }

    #[test]
    fn first_and_last_name_fill_a_blank_contact() {
        let text = "company,contact,first name,last name,email,consent\nA,,Ann,Lee,a@a.com,yes\nB,Bo Ba,X,Y,b@b.com,no\nC,,,Cy,c@c.com,\n";
        let contacts: Vec<_> = rows(text.as_bytes())
            .1
            .into_iter()
            .map(|r| r.unwrap().fields.contact_name)
            .collect();
        assert_eq!(
            contacts,
            [
                Some("Ann Lee".into()),
                Some("Bo Ba".into()),
                Some("Cy".into())
            ]
        );
    }

    #[test]
    fn consent_that_is_neither_yes_nor_no_is_a_row_error() {
        let text = format!("{HEAD}\nA,Ann,a@a.com,maybe\nB,Bo,b@b.com,No\n");
        let (_, all, _) = rows(text.as_bytes());
        assert_eq!(
            all[0].clone().unwrap_err().to_string(),
            "row 2 has consent \"maybe\", which is neither yes nor no; write yes or no"
        );
        assert_eq!(all[1].clone().unwrap().fields.consent, Some(false));
    }

    #[test]
    fn utf16_decoder_streams_through_tiny_reads_and_refuses_broken_surrogates() {
        let text = "company,contact,email,consent\nZoë,李雷 😀,z@z.com,yes\n";
        let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut decoded = String::new();
        let mut decoder = Utf16Decode::new(&bytes[..], UTF_16LE);
        let mut byte = [0u8; 1];
        let mut out = Vec::new();
        while decoder.read(&mut byte).unwrap() == 1 {
            out.push(byte[0]);
        }
        decoded.push_str(std::str::from_utf8(&out).unwrap());
        assert_eq!(decoded, text);

        let mut broken = bytes.clone();
        broken.extend_from_slice(&0xd800u16.to_le_bytes()); // unpaired surrogate
        broken.extend_from_slice(&b'x'.to_le_bytes());
        broken.push(0);
        let mut sink = Vec::new();
        let error = Utf16Decode::new(&broken[..], UTF_16LE)
            .read_to_end(&mut sink)
            .unwrap_err();
        assert!(error.get_ref().unwrap().is::<Utf16Malformed>());
    }

    #[test]
    fn nul_pattern_tells_utf16_byte_order() {
        let le: Vec<u8> = "company,email"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = "company,email"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(
            TextEncoding::detect(&le),
            Ok(TextEncoding::Utf16 {
                big_endian: false,
                bom: false
            })
        );
        assert_eq!(
            TextEncoding::detect(&be),
            Ok(TextEncoding::Utf16 {
                big_endian: true,
                bom: false
            })
        );
        assert!(matches!(
            TextEncoding::detect(b"\0\0\0\0abcd\0\0"),
            Err(FileError::NotText { .. })
        ));
    }
}
