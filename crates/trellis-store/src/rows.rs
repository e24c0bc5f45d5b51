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
    let params: Vec<String> = (1..=count).map(|n| format!("${n}")).collect();
    params.join(", ")
}
