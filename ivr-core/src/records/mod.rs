//! Call records in a SQL database (Cloudflare D1, SQLite): the schema's statements, the filters
//! of `GET /calls`, `GET /calls.csv` and `GET /flows/<name>/stats`, and the shapes of their
//! answers. Pure: the statements are data (SQL text with `?N` placeholders and the values bound to
//! them), which the worker shell runs; the schema itself is `migrations/` at the repository's
//! root, applied by wrangler (and by the test harness).
//!
//! Every value reaches SQL as a bound parameter: the SQL text is assembled only from the
//! fragments in this module, never from input.

pub mod csv;
pub mod filter;
pub mod sql;
pub mod stats;

pub use filter::{CallFilter, Cursor};

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Text(String),
}

impl From<&str> for SqlValue {
    fn from(text: &str) -> Self {
        SqlValue::Text(text.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(text: String) -> Self {
        SqlValue::Text(text)
    }
}

impl From<u64> for SqlValue {
    /// Times in ms and counts fit in an i64 until the year 292 million; beyond, saturated.
    fn from(n: u64) -> Self {
        SqlValue::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<u32> for SqlValue {
    fn from(n: u32) -> Self {
        SqlValue::Int(i64::from(n))
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(SqlValue::Null, Into::into)
    }
}

/// One SQL statement and the values of its placeholders, in order (`?1` is `params[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<SqlValue>,
}

impl Statement {
    pub fn new(sql: impl Into<String>, params: Vec<SqlValue>) -> Self {
        Self {
            sql: sql.into(),
            params,
        }
    }
}
