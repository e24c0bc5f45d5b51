//! A span-keeping walker over a parsed TOML document that collects every
//! problem instead of stopping at the first.
//!
//! Nothing here knows about partner programs: sections in `parse.rs`,
//! `tiers.rs`, `criteria.rs` and their neighbours describe their keys by
//! calling the typed readers below.

use std::collections::hash_map::{Entry, HashMap};
use std::fmt::Display;
use std::ops::{Range, RangeInclusive};

use toml::de::{DeInteger, DeTable, DeValue};

use super::ConfigIssue;
use crate::tiering::Quantity;

/// Byte range into the program file.
pub(crate) type Span = Range<usize>;

/// Errors and warnings found while reading one file.
pub(crate) struct Diagnostics<'i> {
    lines: LineIndex<'i>,
    errors: Vec<ConfigIssue>,
    warnings: Vec<ConfigIssue>,
}

impl<'i> Diagnostics<'i> {
    pub(crate) fn new(text: &'i str) -> Self {
        Diagnostics {
            lines: LineIndex::new(text),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Records an error at `span`; `key` is the full dotted path.
    pub(crate) fn error(&mut self, span: &Span, key: &str, message: impl Into<String>) {
        let issue = self.issue(span, key, message.into());
        self.errors.push(issue);
    }

    /// Records a warning at `span`; `key` is the full dotted path.
    pub(crate) fn warn(&mut self, span: &Span, key: &str, message: impl Into<String>) {
        let issue = self.issue(span, key, message.into());
        self.warnings.push(issue);
    }

    /// The 1-based line `span` starts on, for messages that refer to another
    /// place in the file.
    pub(crate) fn line_of(&self, span: &Span) -> usize {
        self.lines.position(span.start).0
    }

    /// Returns `(errors, warnings)`, each in file order: sections are read in
    /// code order and table keys come back sorted, but a vendor fixing the
    /// file reads it top to bottom.
    pub(crate) fn finish(mut self) -> (Vec<ConfigIssue>, Vec<ConfigIssue>) {
        for issues in [&mut self.errors, &mut self.warnings] {
            issues.sort_by_key(|issue| (issue.line, issue.column));
        }
        (self.errors, self.warnings)
    }

    fn issue(&self, span: &Span, key: &str, message: String) -> ConfigIssue {
        let (line, column) = self.lines.position(span.start);
        ConfigIssue {
            line,
            column,
            key: key.to_owned(),
            message,
        }
    }
}

/// Converts byte offsets into the line and column an editor shows.
struct LineIndex<'i> {
    text: &'i str,
    /// Byte offset where each line starts; the first is always 0.
    line_starts: Vec<usize>,
}

impl<'i> LineIndex<'i> {
    fn new(text: &'i str) -> Self {
        let after_newlines = text.match_indices('\n').map(|(at, _)| at + 1);
        LineIndex {
            text,
            line_starts: std::iter::once(0).chain(after_newlines).collect(),
        }
    }

    /// 1-based `(line, column)`. Columns count characters, not bytes, so an
    /// accented label does not shift the position. Offsets past the end or
    /// inside a character are clamped, so a surprising span cannot panic.
    fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let column = self.text[line_start..offset].chars().count() + 1;
        (line, column)
    }
}

/// A value read for one key, remembering where it came from so that rules
/// spanning several keys can point at the line the vendor actually wrote.
pub(crate) struct Setting<T> {
    pub(crate) value: T,
    pub(crate) origin: Origin,
}

pub(crate) enum Origin {
    /// The key was absent; the value is the default.
    Default,
    /// The key was present and valid; the span is the key's.
    File(Span),
    /// The key was present but invalid and has been reported; the value is a
    /// placeholder that must not trigger further errors.
    Rejected,
}

/// One element of an array, with the path and span its problems are
/// reported at (`tiers[2]`).
pub(crate) struct Element<'r, 'i> {
    pub(crate) key: String,
    pub(crate) span: Span,
    pub(crate) value: &'r DeValue<'i>,
}

/// An entry of a table whose keys are data rather than settings, such as
/// the tier ids of `thresholds = { select = 100000 }`.
pub(crate) struct Named<T> {
    pub(crate) name: String,
    /// The key's span.
    pub(crate) span: Span,
    pub(crate) value: T,
}

/// Reads the keys of one table, recording each as accepted so that
/// [`TableReader::finish`] can report the ones nobody asked for.
#[must_use = "call `finish` so that unknown keys are reported"]
pub(crate) struct TableReader<'r, 'i> {
    diagnostics: &'r mut Diagnostics<'i>,
    /// Dotted path of this table; empty for the document itself.
    path: String,
    /// `None` when the table is absent (or was not a table), so every key
    /// takes its default.
    table: Option<&'r DeTable<'i>>,
    accepted: Vec<&'static str>,
}

impl<'r, 'i> TableReader<'r, 'i> {
    pub(crate) fn new(
        diagnostics: &'r mut Diagnostics<'i>,
        path: String,
        table: Option<&'r DeTable<'i>>,
    ) -> Self {
        TableReader {
            diagnostics,
            path,
            table,
            accepted: Vec::new(),
        }
    }

    /// Whether the table is in the file (optional sections such as `[crm]`
    /// mean something by their absence).
    pub(crate) fn is_present(&self) -> bool {
        self.table.is_some()
    }

    /// For checks that report at other paths or refer to other lines.
    pub(crate) fn diagnostics(&mut self) -> &mut Diagnostics<'i> {
        self.diagnostics
    }

    /// Records an error at `key` of this table.
    pub(crate) fn error(&mut self, span: &Span, key: &str, message: impl Into<String>) {
        let path = self.path_of(key);
        self.diagnostics.error(span, &path, message);
    }

    pub(crate) fn string(&mut self, key: &'static str, default: &str) -> Setting<String> {
        self.read(key, default.to_owned(), |value| {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| type_mismatch("a string", value))
        })
    }

    pub(crate) fn boolean(&mut self, key: &'static str, default: bool) -> Setting<bool> {
        self.read(key, default, |value| {
            value
                .as_bool()
                .ok_or_else(|| type_mismatch("a boolean (true or false)", value))
        })
    }

    pub(crate) fn integer(
        &mut self,
        key: &'static str,
        default: u32,
        range: RangeInclusive<u32>,
    ) -> Setting<u32> {
        self.read(key, default, |value| integer_value(value, &range))
    }

    /// An exact decimal; see [`quantity_value`].
    pub(crate) fn quantity(
        &mut self,
        key: &'static str,
        default: Quantity,
        range: RangeInclusive<Quantity>,
    ) -> Setting<Quantity> {
        self.read(key, default, |value| {
            quantity_value(value).and_then(|quantity| {
                if range.contains(&quantity) {
                    Ok(quantity)
                } else {
                    Err(out_of_range(&range, quantity))
                }
            })
        })
    }

    /// Accepts integers too: `fuzzy_threshold = 1` means 1.0 to anyone
    /// writing it.
    pub(crate) fn number(
        &mut self,
        key: &'static str,
        default: f64,
        range: RangeInclusive<f64>,
    ) -> Setting<f64> {
        self.read(key, default, |value| {
            let (number, written) = match value {
                DeValue::Float(float) => (float.as_str().parse().ok(), float.to_string()),
                DeValue::Integer(int) => (to_f64(int), int.to_string()),
                other => return Err(type_mismatch("a number", other)),
            };
            number
                .filter(|n| range.contains(n))
                .ok_or_else(|| out_of_range(&range, written))
        })
    }

    /// A string that must be one of `choices`, spelled as `name` spells them.
    pub(crate) fn choice<T: Copy>(
        &mut self,
        key: &'static str,
        default: T,
        choices: &[T],
        name: fn(T) -> &'static str,
    ) -> Setting<T> {
        let accepted = choices.iter().map(|c| name(*c)).collect::<Vec<_>>();
        self.read(key, default, |value| {
            let Some(text) = value.as_str() else {
                let expected = format!("one of {}", accepted.join(", "));
                return Err(type_mismatch(&expected, value));
            };
            choices
                .iter()
                .copied()
                .find(|choice| name(*choice) == text)
                .ok_or_else(|| {
                    format!(
                        "unknown value `{text}`; accepted values: {}",
                        accepted.join(", ")
                    )
                })
        })
    }

    /// A nested table such as `[registration]`. When it is absent, or is not
    /// a table (reported here), the returned reader gives every key its
    /// default.
    pub(crate) fn section(&mut self, key: &'static str) -> TableReader<'_, 'i> {
        let table = self.entry(key).and_then(|(span, value)| match value {
            DeValue::Table(table) => Some(table),
            other => {
                self.error(&span, key, type_mismatch("a table", other));
                None
            }
        });
        let path = self.path_of(key);
        TableReader::new(self.diagnostics, path, table)
    }

    /// An array (including an array of tables such as `[[tiers]]`), each
    /// element converted by `element`, which reports its own problems and
    /// returns `None` for an element it rejects. The origin is `Rejected`
    /// when anything was, so whole-array checks do not pile on.
    pub(crate) fn array<T>(
        &mut self,
        key: &'static str,
        expected: &str,
        mut element: impl FnMut(&mut Diagnostics<'i>, Element<'_, 'i>) -> Option<T>,
    ) -> Setting<Vec<T>> {
        let (span, items) = match self.shaped(key, expected, DeValue::as_array) {
            Ok(found) => found,
            Err(origin) => return nothing(origin),
        };
        let path = self.path_of(key);
        let read = items.iter().enumerate().map(|(index, item)| {
            let item = Element {
                key: format!("{path}[{index}]"),
                span: item.span(),
                value: item.get_ref(),
            };
            element(self.diagnostics, item)
        });
        gathered(span, read.collect())
    }

    /// A table whose keys are data, such as tier ids, each entry converted
    /// by `entry` (given the key and the entry) as [`TableReader::array`]
    /// converts elements. Problems with an entry are reported at its key.
    pub(crate) fn map<T>(
        &mut self,
        key: &'static str,
        expected: &str,
        mut entry: impl FnMut(&mut Diagnostics<'i>, &str, Element<'_, 'i>) -> Option<T>,
    ) -> Setting<Vec<Named<T>>> {
        let (span, table) = match self.shaped(key, expected, DeValue::as_table) {
            Ok(found) => found,
            Err(origin) => return nothing(origin),
        };
        let path = self.path_of(key);
        let read = table.iter().map(|(name, value)| {
            let (name, span): (&str, Span) = (name.get_ref(), name.span());
            let element = Element {
                key: format!("{path}.{name}"),
                span: span.clone(),
                value: value.get_ref(),
            };
            let value = entry(self.diagnostics, name, element)?;
            Some(Named {
                name: name.to_owned(),
                span,
                value,
            })
        });
        gathered(span, read.collect())
    }

    /// A list of strings; a single string is read as a list of one.
    pub(crate) fn strings(&mut self, key: &'static str, default: &[&str]) -> Setting<Vec<String>> {
        let default = || default.iter().map(|s| s.to_string()).collect();
        let Some((span, value)) = self.entry(key) else {
            return Setting {
                value: default(),
                origin: Origin::Default,
            };
        };
        match strings_value(&span, value) {
            Ok(value) => Setting {
                value,
                origin: Origin::File(span),
            },
            Err((at, message)) => {
                self.error(&at, key, message);
                Setting {
                    value: default(),
                    origin: Origin::Rejected,
                }
            }
        }
    }

    /// Reports every key of this table that no read asked for.
    pub(crate) fn finish(self) {
        let Some(table) = self.table else { return };
        for (key, _) in table.iter() {
            let name: &str = key.get_ref();
            if !self.accepted.contains(&name) {
                let message = format!(
                    "unknown key `{name}`; accepted keys: {}",
                    self.accepted.join(", ")
                );
                let path = self.path_of(name);
                self.diagnostics.error(&key.span(), &path, message);
            }
        }
    }

    /// Reads one key with `convert`, substituting the default (and recording
    /// the error) when the value is unusable.
    fn read<T>(
        &mut self,
        key: &'static str,
        default: T,
        convert: impl FnOnce(&DeValue<'i>) -> Result<T, String>,
    ) -> Setting<T> {
        let Some((span, value)) = self.entry(key) else {
            return Setting {
                value: default,
                origin: Origin::Default,
            };
        };
        match convert(value) {
            Ok(value) => Setting {
                value,
                origin: Origin::File(span),
            },
            Err(message) => {
                self.error(&span, key, message);
                Setting {
                    value: default,
                    origin: Origin::Rejected,
                }
            }
        }
    }

    /// Marks `key` as accepted and returns its key span and value, if present.
    fn entry(&mut self, key: &'static str) -> Option<(Span, &'r DeValue<'i>)> {
        self.accepted.push(key);
        let (key, value) = self.table?.get_key_value(key)?;
        Some((key.span(), value.get_ref()))
    }

    /// The value of `key` when `shape` accepts it. Otherwise the origin of
    /// the empty collection to return: `Default` when the key is absent,
    /// `Rejected` (reported here) when it has another shape.
    fn shaped<C>(
        &mut self,
        key: &'static str,
        expected: &str,
        shape: impl FnOnce(&'r DeValue<'i>) -> Option<C>,
    ) -> Result<(Span, C), Origin> {
        let (span, value) = self.entry(key).ok_or(Origin::Default)?;
        match shape(value) {
            Some(found) => Ok((span, found)),
            None => {
                self.error(&span, key, type_mismatch(expected, value));
                Err(Origin::Rejected)
            }
        }
    }

    fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

fn nothing<T>(origin: Origin) -> Setting<Vec<T>> {
    Setting {
        value: Vec::new(),
        origin,
    }
}

/// The accepted items of a collection found at `span`; `Rejected` when any
/// item was.
fn gathered<T>(span: Span, read: Vec<Option<T>>) -> Setting<Vec<T>> {
    let origin = if read.iter().all(Option::is_some) {
        Origin::File(span)
    } else {
        Origin::Rejected
    };
    Setting {
        value: read.into_iter().flatten().collect(),
        origin,
    }
}

pub(crate) fn integer_value(
    value: &DeValue<'_>,
    range: &RangeInclusive<u32>,
) -> Result<u32, String> {
    match value {
        DeValue::Integer(int) => to_u32(int)
            .filter(|n| range.contains(n))
            .ok_or_else(|| out_of_range(range, int)),
        other => Err(type_mismatch("an integer", other)),
    }
}

/// An exact decimal from an integer or a float. A float is read through
/// its shortest decimal text (`5e-1` is 0.5), and refused rather than
/// rounded when that text has more than four decimals.
pub(crate) fn quantity_value(value: &DeValue<'_>) -> Result<Quantity, String> {
    match value {
        DeValue::Integer(int) => i64::from_str_radix(int.as_str(), int.radix())
            .map_err(|_| format!("`{int}` is too large"))
            .and_then(|n| Quantity::parse_text(&n.to_string())),
        DeValue::Float(float) => match float.as_str().parse::<f64>() {
            Ok(number) => Quantity::from_float(number),
            Err(_) => Err(format!("`{float}` is not a number")),
        },
        other => Err(type_mismatch("a number", other)),
    }
}

/// A string or a list of strings; on a problem, the span of the offending
/// element and the message.
pub(crate) fn strings_value(
    span: &Span,
    value: &DeValue<'_>,
) -> Result<Vec<String>, (Span, String)> {
    match value {
        DeValue::String(one) => Ok(vec![one.to_string()]),
        DeValue::Array(items) => items
            .iter()
            .map(|item| item.get_ref().as_str().map(str::to_owned).ok_or(item))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|bad| (bad.span(), type_mismatch("a string", bad.get_ref()))),
        other => Err((
            span.clone(),
            type_mismatch("a string or a list of strings", other),
        )),
    }
}

/// Reports every id used twice among `items` (id, key, span), at the
/// second use, naming the first: two tiers or criteria sharing an id would
/// merge them.
pub(crate) fn check_unique<'a>(
    diagnostics: &mut Diagnostics<'_>,
    what: &str,
    items: impl IntoIterator<Item = (&'a str, &'a str, &'a Span)>,
) {
    let mut first_use: HashMap<&str, (&str, &Span)> = HashMap::new();
    for (id, key, span) in items {
        match first_use.entry(id) {
            Entry::Vacant(slot) => {
                slot.insert((key, span));
            }
            Entry::Occupied(first) => {
                let (first_key, first_span) = *first.get();
                let message = format!(
                    "duplicate {what} `{id}`: {first_key} on line {} already uses it",
                    diagnostics.line_of(first_span)
                );
                diagnostics.error(span, key, message);
            }
        }
    }
}

/// Whether `text` is non-empty and made of lowercase ASCII letters, digits
/// and the bytes of `extra`: the shape of ids stored in the database.
pub(crate) fn is_lowercase_word(text: &str, extra: &[u8]) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
}

/// "expected an integer, found a string".
pub(crate) fn type_mismatch(expected: &str, found: &DeValue<'_>) -> String {
    let found = match found {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    };
    format!("expected {expected}, found {found}")
}

fn out_of_range<T: Display>(range: &RangeInclusive<T>, found: impl Display) -> String {
    format!(
        "must be between {} and {} (found {found})",
        range.start(),
        range.end()
    )
}

/// `None` when the integer does not fit, which callers report as out of range.
fn to_u32(int: &DeInteger<'_>) -> Option<u32> {
    u32::from_str_radix(int.as_str(), int.radix()).ok()
}

fn to_f64(int: &DeInteger<'_>) -> Option<f64> {
    i64::from_str_radix(int.as_str(), int.radix())
        .ok()
        .map(|n| n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\nlabel = \"Élite\" x\n\nlast";
        let index = LineIndex::new(text);
        let cases = [
            (0, (1, 1)),
            (4, (1, 5)),
            (5, (1, 6)),                         // the newline itself
            (6, (2, 1)),                         // first byte of line 2
            (text.find(" x").unwrap(), (2, 16)), // after a two-byte É
            (text.find("last").unwrap(), (4, 1)),
            (text.len(), (4, 5)),
            (text.len() + 100, (4, 5)),             // clamped
            (text.find('É').unwrap() + 1, (2, 10)), // inside É: clamped back
        ];
        for (offset, expected) in cases {
            assert_eq!(index.position(offset), expected, "offset {offset}");
        }
    }

    #[test]
    fn empty_text_has_one_line() {
        assert_eq!(LineIndex::new("").position(0), (1, 1));
    }
}
