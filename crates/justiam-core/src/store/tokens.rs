//! The `personal_access_tokens` table. It holds the SHA-256 digest of each token, never the value.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Executor, Row};
use uuid::Uuid;

use super::uuid;
use crate::model::{
    PageRequest, PermissionSet, Token, TokenInventoryFilter, TokenListFilter, TokenWithOwner, User,
};
use crate::time::Millis;
use crate::token::TokenDigest;

/// The columns [`token_from_row`] reads, as a literal so queries stay `&'static str`.
macro_rules! token_columns {
    () => {
        "t.id, t.user_id, t.name, t.token_hint, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, \
         t.revoke_reason, t.created_by, t.permissions, t.rotated_from, t.replaced_by, t.last_used_ip"
    };
}

/// The owner's columns beside a token, for [`with_owner_from_row`].
macro_rules! owner_columns {
    () => {
        "u.id AS u_id, u.email, u.username, u.first_name, u.last_name, u.is_active, u.is_admin, \
         u.is_service_account, u.auth_source, u.created_at AS u_created_at, u.updated_at AS u_updated_at"
    };
}

fn token_from_row(row: &AnyRow) -> Result<Token, sqlx::Error> {
    let optional_id = |column: &str| -> Result<Option<Uuid>, sqlx::Error> {
        let text: Option<String> = row.try_get(column)?;
        Ok(text.and_then(|s| Uuid::parse_str(&s).ok()))
    };
    let permissions: Option<String> = row.try_get("permissions")?;
    Ok(Token {
        id: uuid(row, "id")?,
        user_id: uuid(row, "user_id")?,
        name: row.try_get("name")?,
        token_hint: row.try_get("token_hint")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
        revoke_reason: row.try_get("revoke_reason")?,
        created_by: optional_id("created_by")?,
        permissions: permissions.as_deref().map(PermissionSet::from_stored),
        rotated_from: optional_id("rotated_from")?,
        replaced_by: optional_id("replaced_by")?,
        last_used_ip: row.try_get("last_used_ip")?,
    })
}

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    token: &Token,
    digest: &TokenDigest,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO personal_access_tokens (id, user_id, name, active_name, token_digest, token_hint, created_at, \
         expires_at, created_by, permissions, rotated_from) VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(token.id.to_string())
    .bind(token.user_id.to_string())
    .bind(&token.name)
    .bind(digest.to_vec())
    .bind(&token.token_hint)
    .bind(token.created_at)
    .bind(token.expires_at)
    .bind(token.created_by.map(|id| id.to_string()))
    .bind(token.permissions.map(PermissionSet::to_stored))
    .bind(token.rotated_from.map(|id| id.to_string()))
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

/// The case-insensitive substring match of a token name (`$n` a [`super::substring_pattern`], or
/// `''` for every name).
macro_rules! name_matches {
    ($n:literal) => {
        concat!(
            "(",
            $n,
            " = '' OR lower(t.name) LIKE lower(",
            $n,
            ") ESCAPE '\\')"
        )
    };
}

/// When a token stops working: its expiry, or the end of its rotation grace period if sooner.
macro_rules! stops_at {
    () => {
        "(CASE WHEN t.revoked_at IS NOT NULL AND t.revoked_at < t.expires_at THEN t.revoked_at ELSE t.expires_at END)"
    };
}

/// The rows of [`list`]: `$1` owner, `$2` now, `$3` name pattern, `$4` state (`""`, `active`,
/// `expiring`, `expired`), `$5` the end of the expiring window.
macro_rules! list_where {
    () => {
        concat!(
            " FROM personal_access_tokens t WHERE t.user_id = $1 \
             AND (t.revoked_at IS NULL OR t.revoked_at > $2) AND ",
            name_matches!("$3"),
            " AND ($4 = '' OR ($4 = 'active' AND ",
            stops_at!(),
            " > $2) OR ($4 = 'expiring' AND ",
            stops_at!(),
            " > $2 AND ",
            stops_at!(),
            " <= $5) OR ($4 = 'expired' AND t.expires_at <= $2))"
        )
    };
}

/// One page of the user's tokens that are not revoked (active and expired) that `filter` picks
/// (a name search, a state), in its order.
pub async fn list(
    pool: &AnyPool,
    user_id: Uuid,
    now: Millis,
    filter: &TokenListFilter,
    page: PageRequest,
) -> Result<(Vec<Token>, u64), sqlx::Error> {
    let pattern = filter
        .search
        .as_deref()
        .map(|s| super::substring_pattern(s.trim()))
        .unwrap_or_default();
    let state = filter.state.as_str();
    let sort = filter.sort.as_str();
    let window = now + 7 * crate::time::DAY_MS;
    let total: i64 = sqlx::query(concat!("SELECT COUNT(*) AS n", list_where!()))
        .bind(user_id.to_string())
        .bind(now)
        .bind(&pattern)
        .bind(state)
        .bind(window)
        .fetch_one(pool)
        .await?
        .try_get("n")?;
    // One ORDER BY serves every order: the keys of the orders not chosen are NULL on every row.
    let rows = sqlx::query(concat!(
        "SELECT ",
        token_columns!(),
        list_where!(),
        " ORDER BY CASE WHEN $6 = 'name' THEN lower(t.name) END ASC, \
         CASE WHEN $6 = 'expires' THEN ",
        stops_at!(),
        " END ASC, CASE WHEN $6 = 'expires_desc' THEN ",
        stops_at!(),
        " END DESC, CASE WHEN $6 = 'oldest' THEN t.created_at END ASC, \
         CASE WHEN $6 = 'oldest' THEN t.id END ASC, \
         CASE WHEN $6 = 'last_used' THEN (CASE WHEN t.last_used_at IS NULL THEN 1 ELSE 0 END) END ASC, \
         CASE WHEN $6 = 'last_used' THEN t.last_used_at END DESC, \
         t.created_at DESC, t.id DESC LIMIT $7 OFFSET $8"
    ))
    .bind(user_id.to_string())
    .bind(now)
    .bind(&pattern)
    .bind(state)
    .bind(window)
    .bind(sort)
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let tokens = rows
        .iter()
        .map(token_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((tokens, total.max(0) as u64))
}

/// Revokes token `id` of `user_id` if it is not revoked yet (a token in a rotation grace period is
/// revoked at once); returns its name when it was.
pub async fn revoke<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    id: Uuid,
    now: Millis,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE personal_access_tokens SET revoked_at = $3, active_name = NULL, \
         revoke_reason = COALESCE(revoke_reason, 'revoked') \
         WHERE id = $1 AND user_id = $2 AND (revoked_at IS NULL OR revoked_at > $3) RETURNING name",
    )
    .bind(id.to_string())
    .bind(user_id.to_string())
    .bind(now)
    .fetch_optional(db)
    .await?;
    row.map(|r| r.try_get::<String, _>("name")).transpose()
}

/// A token of `user_id` by id, whatever its state.
pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<Token>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        token_columns!(),
        " FROM personal_access_tokens t WHERE t.id = $1 AND t.user_id = $2"
    ))
    .bind(id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(token_from_row).transpose()
}

/// Marks `id` as replaced by `successor`, frees its name and schedules its revocation at
/// `revoke_at`. `false` when it was already rotated (or is revoked).
pub async fn mark_rotated<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
    successor: Uuid,
    now: Millis,
    revoke_at: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE personal_access_tokens SET replaced_by = $2, revoked_at = $4, revoke_reason = 'rotated', \
         active_name = NULL WHERE id = $1 AND replaced_by IS NULL AND (revoked_at IS NULL OR revoked_at > $3)",
    )
    .bind(id.to_string())
    .bind(successor.to_string())
    .bind(now)
    .bind(revoke_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes the token with this digest if it is still valid (leak response); returns its id, owner
/// and name when it was.
pub async fn revoke_by_digest<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
    now: Millis,
) -> Result<Option<(Uuid, Uuid, String)>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE personal_access_tokens SET revoked_at = $2, revoke_reason = 'leaked', active_name = NULL \
         WHERE token_digest = $1 AND (revoked_at IS NULL OR revoked_at > $2) AND expires_at > $2 \
         RETURNING id, user_id, name",
    )
    .bind(digest.to_vec())
    .bind(now)
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok((
            uuid(&r, "id")?,
            uuid(&r, "user_id")?,
            r.try_get::<String, _>("name")?,
        ))
    })
    .transpose()
}

macro_rules! inventory_where {
    () => {
        " FROM personal_access_tokens t JOIN users u ON u.id = t.user_id \
          WHERE ($1 = '' OR t.user_id = $1) \
          AND ($2 = '' \
               OR ($2 = 'revoked' AND t.revoked_at IS NOT NULL AND t.revoked_at <= $3) \
               OR ($2 = 'expired' AND (t.revoked_at IS NULL OR t.revoked_at > $3) AND t.expires_at <= $3) \
               OR ($2 = 'active' AND (t.revoked_at IS NULL OR t.revoked_at > $3) AND t.expires_at > $3)) \
          AND t.expires_at < $4 \
          AND ($5 = 0 OR t.last_used_at IS NULL OR t.last_used_at < $5) \
          AND ($6 = FALSE OR u.is_service_account = TRUE) \
          AND ($7 = '' OR lower(t.name) LIKE lower($7) ESCAPE '\\' OR lower(u.email) LIKE lower($7) ESCAPE '\\') \
          AND ($8 = FALSE OR u.is_admin = FALSE) \
          AND ($9 = '' OR ($9 = 'full' AND t.permissions IS NULL) \
               OR ($9 = 'fine_grained' AND t.permissions IS NOT NULL))"
    };
}

/// One page of the inventory, newest first, with each token's owner.
pub async fn inventory(
    pool: &AnyPool,
    filter: &TokenInventoryFilter,
    now: Millis,
    page: PageRequest,
) -> Result<(Vec<TokenWithOwner>, u64), sqlx::Error> {
    let owner = filter.owner_id.map(|id| id.to_string()).unwrap_or_default();
    let state = filter.state.clone().unwrap_or_default();
    let scope = filter.scope.clone().unwrap_or_default();
    let expires_before = filter.expires_before.unwrap_or(i64::MAX);
    let unused_since = filter.unused_since.unwrap_or(0);
    let pattern = filter
        .search
        .as_deref()
        .map(super::substring_pattern)
        .unwrap_or_default();
    let total: i64 = sqlx::query(concat!("SELECT COUNT(*) AS n", inventory_where!()))
        .bind(&owner)
        .bind(&state)
        .bind(now)
        .bind(expires_before)
        .bind(unused_since)
        .bind(filter.service_accounts_only)
        .bind(&pattern)
        .bind(filter.hide_admin_owners)
        .bind(&scope)
        .fetch_one(pool)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(concat!(
        "SELECT ",
        token_columns!(),
        ", ",
        owner_columns!(),
        inventory_where!(),
        " ORDER BY t.created_at DESC, t.id DESC LIMIT $10 OFFSET $11"
    ))
    .bind(&owner)
    .bind(&state)
    .bind(now)
    .bind(expires_before)
    .bind(unused_since)
    .bind(filter.service_accounts_only)
    .bind(&pattern)
    .bind(filter.hide_admin_owners)
    .bind(&scope)
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let items = rows
        .iter()
        .map(with_owner_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, total.max(0) as u64))
}

/// A token and its owner, in one indexed lookup.
fn with_owner_from_row(row: &AnyRow) -> Result<TokenWithOwner, sqlx::Error> {
    let owner = User {
        id: uuid(row, "u_id")?,
        email: row.try_get("email")?,
        username: row.try_get("username")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        is_active: super::flag(row, "is_active")?,
        is_admin: super::flag(row, "is_admin")?,
        is_service_account: super::flag(row, "is_service_account")?,
        auth_source: row.try_get("auth_source")?,
        created_at: row.try_get("u_created_at")?,
        updated_at: row.try_get("u_updated_at")?,
    };
    Ok(TokenWithOwner {
        token: token_from_row(row)?,
        owner,
    })
}

/// A token by id alone, with its owner, whatever its state.
pub async fn get_with_owner<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<TokenWithOwner>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        token_columns!(),
        ", ",
        owner_columns!(),
        " FROM personal_access_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(with_owner_from_row).transpose()
}

pub async fn find_by_digest<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
) -> Result<Option<TokenWithOwner>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        token_columns!(),
        ", ",
        owner_columns!(),
        " FROM personal_access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_digest = $1"
    ))
    .bind(digest.to_vec())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(with_owner_from_row).transpose()
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

/// Active tokens, and those of them expiring within `horizon` ms (for metrics).
pub async fn stats(
    pool: &AnyPool,
    now: Millis,
    horizon: Millis,
) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS active, COALESCE(SUM(CASE WHEN expires_at <= $2 THEN 1 ELSE 0 END), 0) AS expiring \
         FROM personal_access_tokens WHERE (revoked_at IS NULL OR revoked_at > $1) AND expires_at > $1",
    )
    .bind(now)
    .bind(now + horizon)
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("active")?, row.try_get("expiring")?))
}
