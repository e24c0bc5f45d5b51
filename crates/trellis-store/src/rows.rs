//! Reading values out of rows: timestamps, JSON lists, and enum names.

use crate::error::{Result, StoreError};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
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

/// `$1, $2, ... $count`: the placeholders of a short `IN` list.
pub(crate) fn placeholders(count: usize) -> String {
    placeholders_from(1, count)
}

/// `$first, ... $(first + count - 1)`: a short `IN` list after other
/// parameters.
pub(crate) fn placeholders_from(first: usize, count: usize) -> String {
    Marks::Numbered.list(first, count)
}

/// The rows `sql` answers for every id, in as few statements as binding
/// allows: `sql` is given the placeholders of one statement's `IN` list.
pub(crate) async fn fetch_for_ids(
    conn: &mut AnyConnection,
    ids: &[i64],
    sql: impl Fn(&str) -> String,
) -> Result<Vec<AnyRow>> {
    let marks = Marks::of(conn);
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(marks.rows_per_statement(1)) {
        let sql = sql(&marks.list(1, chunk.len()));
        let query = chunk.iter().fold(sqlx::query(&sql), |q, id| q.bind(*id));
        rows.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// How a statement of many parameters (a multi-row insert, a long `IN`
/// list) writes them on the connection at hand.
///
/// PostgreSQL numbers its parameters (`$1`). SQLite reads those too, but
/// sqlx's SQLite driver finds each numbered parameter by name with a linear
/// scan, so binding costs the square of the statement's parameter count: a
/// bulk import spent a fifth of the writer's time there. SQLite's anonymous
/// `?` are bound in the order they appear and cost nothing to find, so on
/// SQLite such statements use them, all their parameters alike (sqlx counts
/// anonymous ones apart from numbered ones), and carry many more rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marks {
    Numbered,
    InOrder,
}

impl Marks {
    /// The marks for `conn`'s database.
    pub(crate) fn of(conn: &AnyConnection) -> Marks {
        match conn.backend_name() {
            "SQLite" => Marks::InOrder,
            _ => Marks::Numbered,
        }
    }

    /// Parameters one statement binds at most: numbered ones cost the
    /// square of their count to bind on SQLite (500 account rows of six
    /// values spent 40% of a bulk load binding), anonymous ones stay under
    /// SQLite's limit of 32,766.
    fn per_statement(self) -> usize {
        match self {
            Marks::Numbered => 600,
            Marks::InOrder => 16_000,
        }
    }

    /// How many rows of `values` parameters one statement carries.
    pub(crate) fn rows_per_statement(self, values: usize) -> usize {
        (self.per_statement() / values.max(1)).max(1)
    }

    /// The parameters `first` to `first + count - 1`, comma-separated.
    pub(crate) fn list(self, first: usize, count: usize) -> String {
        let marks: Vec<String> = (first..first + count)
            .map(|n| match self {
                Marks::Numbered => format!("${n}"),
                Marks::InOrder => "?".to_owned(),
            })
            .collect();
        marks.join(", ")
    }

    /// `($1, $2), ($3, $4)`: `rows` rows of `values` parameters, the
    /// `VALUES` list of a multi-row insert.
    pub(crate) fn rows(self, rows: usize, values: usize) -> String {
        let rows: Vec<String> = (0..rows)
            .map(|row| format!("({})", self.list(row * values + 1, values)))
            .collect();
        rows.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::Marks;

    #[test]
    fn numbered_marks_count_on_from_the_first() {
        assert_eq!(Marks::Numbered.list(3, 2), "$3, $4");
        assert_eq!(Marks::Numbered.rows(2, 2), "($1, $2), ($3, $4)");
    }

    #[test]
    fn marks_in_order_are_anonymous() {
        assert_eq!(Marks::InOrder.list(3, 2), "?, ?");
        assert_eq!(Marks::InOrder.rows(2, 2), "(?, ?), (?, ?)");
    }

    #[test]
    fn a_statement_carries_at_least_one_row() {
        assert_eq!(Marks::Numbered.rows_per_statement(21), 28);
        assert_eq!(Marks::InOrder.rows_per_statement(21), 761);
        assert_eq!(Marks::Numbered.rows_per_statement(10_000), 1);
    }
}
