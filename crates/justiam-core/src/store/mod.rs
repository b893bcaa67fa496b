//! Storage on SQLite or PostgreSQL through one `sqlx::AnyPool` and one SQL text.
//!
//! Rules that keep one text portable: `$n` placeholders, TEXT ids, BIGINT unix milliseconds made in
//! Rust, booleans decoded by [`flag`], case-insensitive search through `lower(..) LIKE lower(..)`.
//! Each aggregate has a module with plain async functions over an executor, so a service can run
//! several of them in one transaction.
//!
//! Private to the crate: the functions read and write the types of [`crate::model`]. The one column
//! the model leaves out, a user's password hash, comes only in [`users::UserRow`], for login and
//! password change.

pub mod app_mappings;
pub mod applications;
pub mod audit;
pub mod groups;
pub mod machine;
pub mod mfa;
pub mod oauth;
pub mod outbox;
pub mod roles;
pub mod sessions;
pub mod signing_keys;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod webhooks;

use sqlx::Row;
use sqlx::any::AnyRow;

/// A connection to run several statements on: a transaction (`&mut tx`, `&mut *tx`) or a
/// connection taken from the pool. Generic so that callers write either form.
pub trait Connection<'a> {
    fn connection(self) -> &'a mut sqlx::AnyConnection;
}

impl<'a> Connection<'a> for &'a mut sqlx::AnyConnection {
    fn connection(self) -> &'a mut sqlx::AnyConnection {
        self
    }
}

impl<'a, 'c> Connection<'a> for &'a mut sqlx::Transaction<'c, sqlx::Any> {
    fn connection(self) -> &'a mut sqlx::AnyConnection {
        self
    }
}

/// Reads a boolean column: PostgreSQL BOOLEAN or SQLite INTEGER 0/1.
pub fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    row.try_get::<bool, _>(column)
        .or_else(|_| row.try_get::<i64, _>(column).map(|v| v != 0))
}

/// Reads a TEXT uuid column.
pub fn uuid(row: &AnyRow, column: &str) -> Result<uuid::Uuid, sqlx::Error> {
    let text: String = row.try_get(column)?;
    uuid::Uuid::parse_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(e),
    })
}

pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// A row referred to by the write was deleted after it was checked (a concurrent delete).
pub fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
}

/// A `LIKE` pattern matching `needle` as a substring, case-insensitively (use with `ESCAPE '\'`
/// and `lower(column)`).
pub fn contains_pattern(needle: &str) -> String {
    substring_pattern(&needle.to_lowercase())
}

/// A `LIKE` pattern matching `needle`, as typed, as a substring: `%`, `_` and `\` match
/// themselves (use with `ESCAPE '\'`).
///
/// Compare it as `lower(column) LIKE lower($n)`: the database folds both sides with the same
/// function, so a name typed exactly as stored always matches, and letters match in either case
/// wherever that database's `lower()` knows them — ASCII on SQLite, all of Unicode on PostgreSQL
/// with a UTF-8 locale. (A pattern lowercased in Rust would miss `École` on SQLite, whose
/// `lower()` leaves `É` alone.)
pub fn substring_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
