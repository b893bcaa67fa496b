//! The durable outbox (`outbox`), password-reset links (`password_resets`) and the token notices
//! already sent (`token_notices`).
//!
//! Rows are written inside the caller's transaction (the change that causes the message), and
//! claimed by the worker with one `UPDATE … RETURNING` guarded by `status`: on PostgreSQL the rows
//! are picked `FOR UPDATE SKIP LOCKED`, so two nodes never claim the same row; SQLite has one
//! writer at a time, so the statement alone is enough.

use sqlx::{Any, Executor, Row};
use uuid::Uuid;

use crate::database::Backend;
use crate::time::Millis;
use crate::token::TokenDigest;

/// A message to send, as the service writes it.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: Uuid,
    pub kind: &'static str,
    pub topic: String,
    pub recipient: String,
    pub payload: String,
    pub created_at: Millis,
    pub give_up_at: Millis,
}

/// A row the worker claimed.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub kind: String,
    pub topic: String,
    pub recipient: String,
    pub payload: String,
    /// Attempts started, this one included.
    pub attempts: i64,
    pub created_at: Millis,
    pub give_up_at: Millis,
}

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    message: &NewMessage,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (id, kind, topic, recipient, payload, status, attempts, next_attempt_at, \
         created_at, give_up_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $7)",
    )
    .bind(message.id.to_string())
    .bind(message.kind)
    .bind(&message.topic)
    .bind(&message.recipient)
    .bind(&message.payload)
    .bind(message.created_at)
    .bind(message.give_up_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Claims up to `limit` rows that are due, or whose claim by another node ran out (that node
/// died mid-send), for `node` until `lease_until`.
pub async fn claim<'e>(
    db: impl Executor<'e, Database = Any>,
    backend: Backend,
    node: &str,
    now: Millis,
    lease_until: Millis,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE outbox SET status = 'sending', claimed_by = $1, lease_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox \
             WHERE (status = 'pending' AND next_attempt_at <= $3) OR (status = 'sending' AND lease_until <= $3) \
             ORDER BY next_attempt_at LIMIT $4{lock}) \
         AND (status = 'pending' OR (status = 'sending' AND lease_until <= $3)) \
         RETURNING id, kind, topic, recipient, payload, attempts, created_at, give_up_at"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(node)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Claimed {
                id: super::uuid(row, "id")?,
                kind: row.try_get("kind")?,
                topic: row.try_get("topic")?,
                recipient: row.try_get("recipient")?,
                payload: row.try_get("payload")?,
                attempts: row.try_get("attempts")?,
                created_at: row.try_get("created_at")?,
                give_up_at: row.try_get("give_up_at")?,
            })
        })
        .collect()
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent {
        status: Option<i64>,
    },
    /// Try again at `at`.
    Retry {
        at: Millis,
        error: String,
        status: Option<i64>,
    },
    /// Given up.
    Failed {
        error: String,
        status: Option<i64>,
    },
}

/// Records the end of an attempt by `node`; `false` when the row is no longer this node's claim
/// (its lease ran out and another node took it over).
pub async fn finish<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
    node: &str,
    now: Millis,
    outcome: &Outcome,
) -> Result<bool, sqlx::Error> {
    // A mail's payload may hold a password-reset link: it is erased once the mail is done with.
    let (status, next_at, done_at, error, http_status) = match outcome {
        Outcome::Sent { status } => ("sent", now, Some(now), None, *status),
        Outcome::Retry { at, error, status } => ("pending", *at, None, Some(error), *status),
        Outcome::Failed { error, status } => ("failed", now, Some(now), Some(error), *status),
    };
    let done = sqlx::query(
        "UPDATE outbox SET status = $1, next_attempt_at = $2, done_at = $3, last_error = $4, \
         last_status = $5, claimed_by = NULL, lease_until = NULL, \
         payload = CASE WHEN kind = 'mail' AND $1 <> 'pending' THEN '{}' ELSE payload END \
         WHERE id = $6 AND claimed_by = $7 AND status = 'sending'",
    )
    .bind(status)
    .bind(next_at)
    .bind(done_at)
    .bind(error.map(String::as_str))
    .bind(http_status)
    .bind(id.to_string())
    .bind(node)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Rows by kind and status: `(kind, status, count)`.
pub async fn stats<'e>(
    db: impl Executor<'e, Database = Any>,
) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT kind, status, COUNT(*) AS n FROM outbox GROUP BY kind, status")
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("kind")?,
                row.try_get("status")?,
                row.try_get("n")?,
            ))
        })
        .collect()
}

/// Deletes messages done with before `before`, and password-reset links expired before it.
pub async fn purge<'e, E>(db: E, before: Millis) -> Result<u64, sqlx::Error>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let messages =
        sqlx::query("DELETE FROM outbox WHERE status IN ('sent', 'failed') AND done_at < $1")
            .bind(before)
            .execute(db)
            .await?;
    sqlx::query("DELETE FROM password_resets WHERE expires_at < $1")
        .bind(before)
        .execute(db)
        .await?;
    Ok(messages.rows_affected())
}

/// Stores a password-reset link's digest.
pub async fn insert_reset<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
    user_id: Uuid,
    now: Millis,
    expires_at: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO password_resets (token_digest, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(digest.as_slice())
    .bind(user_id.to_string())
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Uses a reset link: the user it was for, if it was unused and unexpired. One statement, so two
/// uses racing cannot both succeed.
pub async fn use_reset<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
    now: Millis,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE password_resets SET used_at = $2 \
         WHERE token_digest = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
    )
    .bind(digest.as_slice())
    .bind(now)
    .fetch_optional(db)
    .await?;
    row.map(|row| super::uuid(&row, "user_id")).transpose()
}

/// Voids every unused reset link of a user (the password was just set).
pub async fn void_resets<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id.to_string())
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Records that `notice` went out for a token; `false` when it had already (on this node or
/// another), in which case the caller must not send it again.
pub async fn record_notice<'e>(
    db: impl Executor<'e, Database = Any>,
    token_id: Uuid,
    notice: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO token_notices (token_id, notice, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (token_id, notice) DO NOTHING",
    )
    .bind(token_id.to_string())
    .bind(notice)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Active tokens expiring within `horizon` of `now`, with the notices already sent for them:
/// `(token id, notices)`.
pub async fn tokens_expiring<'e>(
    db: impl Executor<'e, Database = Any>,
    now: Millis,
    horizon: Millis,
) -> Result<Vec<(Uuid, Vec<String>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT t.id, n.notice FROM personal_access_tokens t \
         LEFT JOIN token_notices n ON n.token_id = t.id \
         WHERE t.revoked_at IS NULL AND t.expires_at > $1 AND t.expires_at <= $2 \
         ORDER BY t.expires_at, t.id",
    )
    .bind(now)
    .bind(now + horizon)
    .fetch_all(db)
    .await?;
    let mut tokens: Vec<(Uuid, Vec<String>)> = Vec::new();
    for row in &rows {
        let id = super::uuid(row, "id")?;
        let notice: Option<String> = row.try_get("notice")?;
        match tokens.last_mut() {
            Some((last, notices)) if *last == id => notices.extend(notice),
            _ => tokens.push((id, notice.into_iter().collect())),
        }
    }
    Ok(tokens)
}
