//! The `sessions` table: one row per portal JWT, or per SSO session (`kind`). Deleting the row
//! ends the JWT, or the SSO session, at once.

use sqlx::{Any, Executor, Row};
use uuid::Uuid;

use crate::model::{Session, SessionWithUser};
use crate::time::Millis;

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    s: &Session,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(s.id.to_string())
    .bind(s.user_id.to_string())
    .bind(s.created_at)
    .bind(s.expires_at)
    .bind(s.ip.as_deref())
    .bind(s.user_agent.as_deref())
    .execute(db)
    .await?;
    Ok(())
}

/// Whether session `id` of `user_id` exists and has not expired at `now`.
pub async fn is_live<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
    user_id: Uuid,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM sessions WHERE id = $1 AND user_id = $2 AND expires_at > $3",
    )
    .bind(id.to_string())
    .bind(user_id.to_string())
    .bind(now)
    .fetch_one(db)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

pub async fn delete<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(id.to_string())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of `user_id` except `keep` (when given); returns how many ended.
pub async fn delete_for_user<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<u64, sqlx::Error> {
    let keep = keep.map(|id| id.to_string()).unwrap_or_default();
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id.to_string())
        .bind(keep)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

pub async fn purge_expired<'e>(
    db: impl Executor<'e, Database = Any>,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// One page of live sessions, newest first; `search` matches the user's email, `user_id` narrows to
/// one user.
pub async fn list(
    pool: &sqlx::AnyPool,
    search: Option<&str>,
    user_id: Option<Uuid>,
    now: Millis,
    page: crate::model::PageRequest,
) -> Result<(Vec<SessionWithUser>, u64), sqlx::Error> {
    let pattern = search.map(super::contains_pattern).unwrap_or_default();
    let user = user_id.map(|id| id.to_string()).unwrap_or_default();
    let total: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.expires_at > $3 \
         AND ($1 = '' OR lower(u.email) LIKE $1 ESCAPE '\\') AND ($2 = '' OR s.user_id = $2)",
    )
    .bind(&pattern)
    .bind(&user)
    .bind(now)
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(
        "SELECT s.id, s.user_id, s.created_at, s.expires_at, s.ip, s.user_agent, s.kind, u.email FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.expires_at > $3 \
         AND ($1 = '' OR lower(u.email) LIKE $1 ESCAPE '\\') AND ($2 = '' OR s.user_id = $2) \
         ORDER BY s.created_at DESC, s.id DESC LIMIT $4 OFFSET $5",
    )
    .bind(&pattern)
    .bind(&user)
    .bind(now)
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let sessions = rows
        .iter()
        .map(|row| {
            Ok(SessionWithUser {
                session: Session {
                    id: super::uuid(row, "id")?,
                    user_id: super::uuid(row, "user_id")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    ip: row.try_get("ip")?,
                    user_agent: row.try_get("user_agent")?,
                    kind: kind(row.try_get("kind")?),
                },
                user_email: row.try_get("email")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((sessions, total.max(0) as u64))
}

pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<Session>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, user_id, created_at, expires_at, ip, user_agent, kind FROM sessions WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok(Session {
            id: super::uuid(&row, "id")?,
            user_id: super::uuid(&row, "user_id")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            ip: row.try_get("ip")?,
            user_agent: row.try_get("user_agent")?,
            kind: kind(row.try_get("kind")?),
        })
    })
    .transpose()
}

/// The stored kind as one of the two names.
fn kind(stored: String) -> &'static str {
    if stored == "sso" { "sso" } else { "portal" }
}
