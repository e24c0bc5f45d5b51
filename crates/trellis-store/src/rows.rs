//! Reading values out of rows: timestamps, JSON lists, and enum names.

use crate::error::{Result, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

/// Timestamps are stored as UTC microseconds since the Unix epoch.
pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn opt_micros(at: Option<OffsetDateTime>) -> Option<i64> {
    at.map(micros)
}

pub(crate) fn from_micros(us: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {us}: {e}")))
}

/// Typed access to a row's columns with errors that name the column.
pub(crate) trait RowExt {
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn at(&self, col: &str) -> Result<OffsetDateTime>;
    fn opt_at(&self, col: &str) -> Result<Option<OffsetDateTime>>;
    fn list(&self, col: &str) -> Result<Vec<String>>;
    /// Parses a text column with `parse`, failing on unknown values.
    fn parsed<T>(&self, col: &str, parse: fn(&str) -> Option<T>) -> Result<T>;
}

impl RowExt for AnyRow {
    fn int(&self, col: &str) -> Result<i64> {
        Ok(self.try_get(col)?)
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        Ok(self.try_get(col)?)
    }

    fn text(&self, col: &str) -> Result<String> {
        Ok(self.try_get(col)?)
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        Ok(self.try_get(col)?)
    }

    fn at(&self, col: &str) -> Result<OffsetDateTime> {
        from_micros(self.int(col)?)
    }

    fn opt_at(&self, col: &str) -> Result<Option<OffsetDateTime>> {
        self.opt_int(col)?.map(from_micros).transpose()
    }

    fn list(&self, col: &str) -> Result<Vec<String>> {
        serde_json::from_str(&self.text(col)?)
            .map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
    }

    fn parsed<T>(&self, col: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
        let raw = self.text(col)?;
        parse(&raw)
            .ok_or_else(|| StoreError::Corrupt(format!("column {col}: unknown value {raw:?}")))
    }
}

/// Encodes a list column.
pub(crate) fn list_json(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// A stored `YYYY-MM-DD` date.
pub(crate) fn parse_day(text: &str) -> Result<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format).map_err(|e| StoreError::Corrupt(format!("date {text}: {e}")))
}

/// `$1, $2, ... $count`: the placeholders of an `IN` list.
pub(crate) fn placeholders(count: usize) -> String {
    placeholders_from(1, count)
}

/// `$first, ... $(first + count - 1)`: an `IN` list after other parameters.
pub(crate) fn placeholders_from(first: usize, count: usize) -> String {
    let params: Vec<String> = (first..first + count).map(|n| format!("${n}")).collect();
    params.join(", ")
}

/// Parameters one multi-row statement binds at most. sqlx's SQLite driver
/// finds each `$n` parameter by name with a linear scan, so binding costs
/// the square of a statement's parameter count: past a few hundred, binding
/// costs more than the round trips a larger statement saves (500 account
/// rows of six values spent 40% of a bulk load binding).
const STATEMENT_PARAMS: usize = 600;

/// How many rows of `values` parameters one multi-row statement carries.
pub(crate) fn rows_per_statement(values: usize) -> usize {
    (STATEMENT_PARAMS / values.max(1)).max(1)
}

/// `($1, $2), ($3, $4)`: `rows` rows of `values` numbered placeholders, the
/// `VALUES` list of a multi-row insert.
pub(crate) fn value_rows(rows: usize, values: usize) -> String {
    let rows: Vec<String> = (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=values)
                .map(|col| format!("${}", row * values + col))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    rows.join(", ")
}
