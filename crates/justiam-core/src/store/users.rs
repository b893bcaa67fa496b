//! The `users` table.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use uuid::Uuid;

use super::{contains_pattern, flag, uuid};
use crate::model::PageRequest;
use crate::time::{Millis, to_datetime};

#[derive(Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: Option<String>,
    pub is_active: bool,
    pub is_admin: bool,
    pub is_service_account: bool,
    pub auth_source: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("is_active", &self.is_active)
            .field("is_admin", &self.is_admin)
            .field("is_service_account", &self.is_service_account)
            .finish_non_exhaustive()
    }
}

impl UserRow {
    pub fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: uuid(row, "id")?,
            email: row.try_get("email")?,
            username: row.try_get("username")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            password_hash: row.try_get("password_hash")?,
            is_active: flag(row, "is_active")?,
            is_admin: flag(row, "is_admin")?,
            is_service_account: flag(row, "is_service_account")?,
            auth_source: row.try_get("auth_source")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    pub fn to_wire(&self) -> justiam_types::User {
        justiam_types::User {
            id: self.id,
            email: self.email.clone(),
            username: self.username.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            is_active: self.is_active,
            is_admin: self.is_admin,
            is_service_account: self.is_service_account,
            auth_source: self.auth_source.clone(),
            created_at: to_datetime(self.created_at),
            updated_at: to_datetime(self.updated_at),
        }
    }
}

/// The columns [`UserRow::from_row`] reads, as a literal so queries stay `&'static str`.
macro_rules! user_columns {
    () => {
        "id, email, username, first_name, last_name, password_hash, is_active, is_admin, \
         is_service_account, auth_source, created_at, updated_at"
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
    user: &UserRow,
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
    .bind(user.password_hash.as_deref())
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

/// Writes every mutable column of `user` (email, names, flags, password hash, `updated_at`).
pub async fn update<'e>(
    db: impl Executor<'e, Database = Any>,
    user: &UserRow,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET email = $2, email_lower = $3, first_name = $4, last_name = $5, password_hash = $6, \
         is_active = $7, is_admin = $8, updated_at = $9, revision = revision + 1 WHERE id = $1",
    )
    .bind(user.id.to_string())
    .bind(&user.email)
    .bind(user.email.to_lowercase())
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(user.password_hash.as_deref())
    .bind(user.is_active)
    .bind(user.is_admin)
    .bind(user.updated_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<UserRow>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(UserRow::from_row).transpose()
}

pub async fn get_by_email<'e>(
    db: impl Executor<'e, Database = Any>,
    email: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE email_lower = $1"
    ))
    .bind(email.trim().to_lowercase())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(UserRow::from_row).transpose()
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
) -> Result<(Vec<UserRow>, u64), sqlx::Error> {
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
        .map(UserRow::from_row)
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
