//! The `personal_access_tokens` table. It holds the SHA-256 digest of each token, never the value.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Executor, Row};
use uuid::Uuid;

use super::users::UserRow;
use super::uuid;
use crate::model::PageRequest;
use crate::time::{Millis, to_datetime};
use crate::token::TokenDigest;

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub token_hint: String,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    pub created_by: Option<Uuid>,
}

/// The columns [`TokenRow::from_row`] reads, as a literal so queries stay `&'static str`.
macro_rules! token_columns {
    () => {
        "t.id, t.user_id, t.name, t.token_hint, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, t.created_by"
    };
}

impl TokenRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let created_by: Option<String> = row.try_get("created_by")?;
        Ok(Self {
            id: uuid(row, "id")?,
            user_id: uuid(row, "user_id")?,
            name: row.try_get("name")?,
            token_hint: row.try_get("token_hint")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            last_used_at: row.try_get("last_used_at")?,
            revoked_at: row.try_get("revoked_at")?,
            created_by: created_by.and_then(|s| Uuid::parse_str(&s).ok()),
        })
    }

    pub fn to_wire(&self, now: Millis) -> justiam_types::PatRecord {
        justiam_types::PatRecord {
            id: self.id,
            name: self.name.clone(),
            created_at: to_datetime(self.created_at),
            expires_at: to_datetime(self.expires_at),
            last_used_at: self.last_used_at.map(to_datetime),
            token_hint: self.token_hint.clone(),
            expired: self.expires_at <= now,
        }
    }
}

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    token: &TokenRow,
    digest: &TokenDigest,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO personal_access_tokens (id, user_id, name, active_name, token_digest, token_hint, created_at, \
         expires_at, created_by) VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)",
    )
    .bind(token.id.to_string())
    .bind(token.user_id.to_string())
    .bind(&token.name)
    .bind(digest.to_vec())
    .bind(&token.token_hint)
    .bind(token.created_at)
    .bind(token.expires_at)
    .bind(token.created_by.map(|id| id.to_string()))
    .execute(db)
    .await?;
    Ok(())
}

/// Frees the names of the user's expired tokens, so a new token may take them.
pub async fn release_expired_names<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE personal_access_tokens SET active_name = NULL \
         WHERE user_id = $1 AND active_name IS NOT NULL AND expires_at <= $2",
    )
    .bind(user_id.to_string())
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Tokens that are neither revoked nor expired.
pub async fn count_active<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    now: Millis,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT COUNT(*) AS n FROM personal_access_tokens WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(user_id.to_string())
    .bind(now)
    .fetch_one(db)
    .await?
    .try_get("n")
}

/// One page of the user's tokens that are not revoked (active and expired), newest first.
pub async fn list(
    pool: &AnyPool,
    user_id: Uuid,
    page: PageRequest,
) -> Result<(Vec<TokenRow>, u64), sqlx::Error> {
    let total: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM personal_access_tokens WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id.to_string())
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(concat!(
        "SELECT ",
        token_columns!(),
        " FROM personal_access_tokens t WHERE t.user_id = $1 AND t.revoked_at IS NULL \
         ORDER BY t.created_at DESC, t.id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(user_id.to_string())
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let tokens = rows
        .iter()
        .map(TokenRow::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((tokens, total.max(0) as u64))
}

/// Revokes token `id` of `user_id` if it is not revoked yet; returns its name when it was.
pub async fn revoke<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    id: Uuid,
    now: Millis,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE personal_access_tokens SET revoked_at = $3, active_name = NULL \
         WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING name",
    )
    .bind(id.to_string())
    .bind(user_id.to_string())
    .bind(now)
    .fetch_optional(db)
    .await?;
    row.map(|r| r.try_get::<String, _>("name")).transpose()
}

/// What authentication needs of a token: the token and its owner, in one indexed lookup.
#[derive(Debug, Clone)]
pub struct TokenWithOwner {
    pub token: TokenRow,
    pub owner: UserRow,
}

pub async fn find_by_digest<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
) -> Result<Option<TokenWithOwner>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        token_columns!(),
        ", u.id AS u_id, u.email, u.username, u.first_name, u.last_name, u.password_hash, \
         u.is_active, u.is_admin, u.is_service_account, u.auth_source, u.created_at AS u_created_at, \
         u.updated_at AS u_updated_at \
         FROM personal_access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_digest = $1"
    ))
    .bind(digest.to_vec())
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let owner = UserRow {
        id: uuid(&row, "u_id")?,
        email: row.try_get("email")?,
        username: row.try_get("username")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        password_hash: row.try_get("password_hash")?,
        is_active: super::flag(&row, "is_active")?,
        is_admin: super::flag(&row, "is_admin")?,
        is_service_account: super::flag(&row, "is_service_account")?,
        auth_source: row.try_get("auth_source")?,
        created_at: row.try_get("u_created_at")?,
        updated_at: row.try_get("u_updated_at")?,
    };
    Ok(Some(TokenWithOwner {
        token: TokenRow::from_row(&row)?,
        owner,
    }))
}

/// One pending `last_used` update.
#[derive(Debug, Clone)]
pub struct Usage {
    pub token_id: Uuid,
    pub at: Millis,
    pub ip: Option<String>,
}

/// Writes a batch of `last_used` updates in one transaction. Never moves `last_used_at` backwards.
pub async fn record_usage(pool: &AnyPool, batch: &[Usage]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for usage in batch {
        sqlx::query(
            "UPDATE personal_access_tokens SET last_used_at = $2, last_used_ip = $3 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
        )
        .bind(usage.token_id.to_string())
        .bind(usage.at)
        .bind(usage.ip.as_deref())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
