//! The `users` table.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use uuid::Uuid;

use super::{contains_pattern, flag, uuid};
use crate::model::{PageRequest, User};
use crate::time::Millis;

/// A stored user with the one column the domain's [`User`] leaves out: login and password change
/// read it, nothing else does.
pub(crate) struct UserRow {
    pub user: User,
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

pub fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: uuid(row, "id")?,
        email: row.try_get("email")?,
        username: row.try_get("username")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        is_active: flag(row, "is_active")?,
        is_admin: flag(row, "is_admin")?,
        is_service_account: flag(row, "is_service_account")?,
        auth_source: row.try_get("auth_source")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn user_row_from_row(row: &AnyRow) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        user: user_from_row(row)?,
        password_hash: row.try_get("password_hash")?,
    })
}

/// The columns [`user_from_row`] reads, as a literal so queries stay `&'static str`.
macro_rules! user_columns {
    () => {
        "id, email, username, first_name, last_name, is_active, is_admin, is_service_account, \
         auth_source, created_at, updated_at"
    };
}

/// Substring search over email, username and names (`$1` = [`contains_pattern`] or empty).
macro_rules! user_search {
    () => {
        "($1 = '' OR lower(email) LIKE $1 ESCAPE '\\' OR lower(username) LIKE $1 ESCAPE '\\' \
         OR lower(first_name) LIKE $1 ESCAPE '\\' OR lower(last_name) LIKE $1 ESCAPE '\\')"
    };
}

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    user: &User,
    password_hash: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, email, email_lower, username, first_name, last_name, password_hash, \
         is_active, is_admin, is_service_account, auth_source, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(user.id.to_string())
    .bind(&user.email)
    .bind(user.email.to_lowercase())
    .bind(&user.username)
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(password_hash)
    .bind(user.is_active)
    .bind(user.is_admin)
    .bind(user.is_service_account)
    .bind(&user.auth_source)
    .bind(user.created_at)
    .bind(user.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Writes the profile and flags of `user` (email, names, `is_active`, `is_admin`, `updated_at`); the
/// password hash is [`set_password_hash`]'s alone, so an edit never writes back a stale one.
pub async fn update<'e>(
    db: impl Executor<'e, Database = Any>,
    user: &User,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET email = $2, email_lower = $3, first_name = $4, last_name = $5, \
         is_active = $6, is_admin = $7, updated_at = $8, revision = revision + 1 WHERE id = $1",
    )
    .bind(user.id.to_string())
    .bind(&user.email)
    .bind(user.email.to_lowercase())
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(user.is_active)
    .bind(user.is_admin)
    .bind(user.updated_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_password_hash<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
    password_hash: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET password_hash = $2, updated_at = $3, revision = revision + 1 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(password_hash)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn get_by_email<'e>(
    db: impl Executor<'e, Database = Any>,
    email: &str,
) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE email_lower = $1"
    ))
    .bind(email.trim().to_lowercase())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// A user with their password hash, by id (password change).
pub(crate) async fn get_row<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<UserRow>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        ", password_hash FROM users WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(user_row_from_row).transpose()
}

/// A user with their password hash, by email (login).
pub(crate) async fn get_row_by_email<'e>(
    db: impl Executor<'e, Database = Any>,
    email: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        ", password_hash FROM users WHERE email_lower = $1"
    ))
    .bind(email.trim().to_lowercase())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(user_row_from_row).transpose()
}

pub async fn username_exists<'e>(
    db: impl Executor<'e, Database = Any>,
    username: &str,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(db)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

pub async fn count_all<'e>(db: impl Executor<'e, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(db)
        .await?
        .try_get("n")
}

/// Active admins other than `except`.
pub async fn count_other_active_admins<'e>(
    db: impl Executor<'e, Database = Any>,
    except: Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT COUNT(*) AS n FROM users WHERE is_admin = $1 AND is_active = $2 AND id <> $3",
    )
    .bind(true)
    .bind(true)
    .bind(except.to_string())
    .fetch_one(db)
    .await?
    .try_get("n")
}

pub async fn delete<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id.to_string())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of users, newest first, and the total matching `search`.
pub async fn list(
    pool: &sqlx::AnyPool,
    search: Option<&str>,
    page: PageRequest,
) -> Result<(Vec<User>, u64), sqlx::Error> {
    let pattern = search
        .filter(|s| !s.trim().is_empty())
        .map(|s| contains_pattern(s.trim()))
        .unwrap_or_default();
    let total: i64 = sqlx::query(concat!(
        "SELECT COUNT(*) AS n FROM users WHERE ",
        user_search!()
    ))
    .bind(&pattern)
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE ",
        user_search!(),
        " ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(&pattern)
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let users = rows
        .iter()
        .map(user_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((users, total.max(0) as u64))
}

/// Takes the per-user write lock for the rest of the transaction (a row lock on PostgreSQL, the
/// database write lock on SQLite), so that count-then-insert sequences cannot interleave.
pub async fn lock<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET revision = revision + 1 WHERE id = $1")
        .bind(id.to_string())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}
