//! Failed-login counters in the database, so that every node enforces the same limits.

use sqlx::{Any, Executor, Row};

use crate::time::Millis;

/// Until when `key` is refused, if it is.
pub async fn blocked_until<'e>(
    db: impl Executor<'e, Database = Any>,
    key: &str,
    now: Millis,
) -> Result<Option<Millis>, sqlx::Error> {
    let row = sqlx::query("SELECT blocked_until FROM auth_throttle WHERE key = $1")
        .bind(key)
        .fetch_optional(db)
        .await?;
    let until = row
        .map(|r| r.try_get::<i64, _>("blocked_until"))
        .transpose()?;
    Ok(until.filter(|until| *until > now))
}

/// Counts one attempt (a login about to be checked, a leak report) for `key` inside a window of
/// `window` ms and returns the new count. A window that has passed starts again at one.
pub async fn count_attempt<'e>(
    db: impl Executor<'e, Database = Any>,
    key: &str,
    now: Millis,
    window: Millis,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO auth_throttle (key, failures, window_start, blocked_until) VALUES ($1, 1, $2, 0) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN auth_throttle.window_start <= $3 THEN 1 ELSE auth_throttle.failures + 1 END, \
           window_start = CASE WHEN auth_throttle.window_start <= $3 THEN $2 ELSE auth_throttle.window_start END \
         RETURNING failures",
    )
    .bind(key)
    .bind(now)
    .bind(now - window)
    .fetch_one(db)
    .await?;
    row.try_get("failures")
}

pub async fn block<'e>(
    db: impl Executor<'e, Database = Any>,
    key: &str,
    until: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE auth_throttle SET blocked_until = $2 WHERE key = $1")
        .bind(key)
        .bind(until)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn reset<'e>(
    db: impl Executor<'e, Database = Any>,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM auth_throttle WHERE key = $1")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// Counts one login attempt for `key` within a window of `window` ms. The attempt that reaches
/// `limit` also blocks the key until `block_until`, in the same statement, so that attempts racing
/// with it see the block. Returns the new count.
pub async fn count_login_attempt<'e>(
    db: impl Executor<'e, Database = Any>,
    key: &str,
    now: Millis,
    window: Millis,
    limit: i64,
    block_until: Millis,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO auth_throttle (key, failures, window_start, blocked_until) \
         VALUES ($1, 1, $2, CASE WHEN 1 >= $4 THEN $5 ELSE 0 END) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN auth_throttle.window_start <= $3 THEN 1 ELSE auth_throttle.failures + 1 END, \
           window_start = CASE WHEN auth_throttle.window_start <= $3 THEN $2 ELSE auth_throttle.window_start END, \
           blocked_until = CASE WHEN (CASE WHEN auth_throttle.window_start <= $3 THEN 1 \
                                      ELSE auth_throttle.failures + 1 END) = $4 \
                                THEN $5 ELSE auth_throttle.blocked_until END \
         RETURNING failures",
    )
    .bind(key)
    .bind(now)
    .bind(now - window)
    .bind(limit)
    .bind(block_until)
    .fetch_one(db)
    .await?;
    row.try_get("failures")
}

/// Lets one attempt through a lockout that has ended, blocking `key` again until `block_until`
/// meanwhile; `false` when the key is still blocked (or another attempt took the turn).
pub async fn claim_probe<'e>(
    db: impl Executor<'e, Database = Any>,
    key: &str,
    now: Millis,
    block_until: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE auth_throttle SET blocked_until = $3 WHERE key = $1 AND blocked_until <= $2",
    )
    .bind(key)
    .bind(now)
    .bind(block_until)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
