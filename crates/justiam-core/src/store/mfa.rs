//! The MFA tables: `mfa_totp` (one sealed TOTP secret per user), `mfa_recovery_codes` (digests),
//! `mfa_challenges` (pending second steps and enrollment-only tokens), and `sessions.mfa_at`.

use sqlx::{Any, Executor, Row};
use uuid::Uuid;

use crate::time::Millis;
use crate::token::TokenDigest;

/// A user's authenticator, sealed.
pub struct TotpRow {
    pub secret: Vec<u8>,
    pub key_id: String,
    pub confirmed_at: Option<Millis>,
    pub last_step: i64,
}

/// Starts (or restarts) an enrollment: a new unconfirmed secret. Refused (`false`) when the user
/// already has a confirmed one.
pub async fn put_pending_totp<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    key_id: &str,
    sealed: &[u8],
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO mfa_totp (user_id, secret, key_id, confirmed_at, last_step, created_at) \
         VALUES ($1, $2, $3, NULL, 0, $4) \
         ON CONFLICT (user_id) DO UPDATE SET secret = $2, key_id = $3, last_step = 0, created_at = $4 \
         WHERE mfa_totp.confirmed_at IS NULL",
    )
    .bind(user_id.to_string())
    .bind(sealed)
    .bind(key_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get_totp<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
) -> Result<Option<TotpRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT secret, key_id, confirmed_at, last_step FROM mfa_totp WHERE user_id = $1",
    )
    .bind(user_id.to_string())
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok(TotpRow {
            secret: row.try_get("secret")?,
            key_id: row.try_get("key_id")?,
            confirmed_at: row.try_get("confirmed_at")?,
            last_step: row.try_get("last_step")?,
        })
    })
    .transpose()
}

/// Records that the code of `step` was accepted — and confirms a pending enrollment — unless a
/// code of this step or a later one was accepted already: of two nodes racing with one code, one
/// wins.
pub async fn accept_step<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    step: i64,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE mfa_totp SET last_step = $2, confirmed_at = COALESCE(confirmed_at, $3) \
         WHERE user_id = $1 AND last_step < $2",
    )
    .bind(user_id.to_string())
    .bind(step)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a secret sealed under `old_key_id` by the same secret sealed under the current key.
pub async fn reseal_totp<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    old_key_id: &str,
    key_id: &str,
    sealed: &[u8],
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE mfa_totp SET secret = $4, key_id = $3 WHERE user_id = $1 AND key_id = $2",
    )
    .bind(user_id.to_string())
    .bind(old_key_id)
    .bind(key_id)
    .bind(sealed)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The users whose secret is sealed under any key but `key_id`, with the sealed secret.
pub async fn sealed_under_other_keys<'e>(
    db: impl Executor<'e, Database = Any>,
    key_id: &str,
) -> Result<Vec<(Uuid, String, Vec<u8>)>, sqlx::Error> {
    let rows = sqlx::query("SELECT user_id, key_id, secret FROM mfa_totp WHERE key_id <> $1")
        .bind(key_id)
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                super::uuid(row, "user_id")?,
                row.try_get("key_id")?,
                row.try_get("secret")?,
            ))
        })
        .collect()
}

/// Whether the user has a confirmed authenticator.
pub async fn has_confirmed_totp<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL",
    )
    .bind(user_id.to_string())
    .fetch_one(db)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Removes the authenticator and the recovery codes; `true` when there was an authenticator.
pub async fn delete_all(db: &mut sqlx::AnyConnection, user_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(&mut *db)
        .await?;
    let done = sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(&mut *db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the user's recovery codes by these digests.
pub async fn replace_recovery_codes(
    db: &mut sqlx::AnyConnection,
    user_id: Uuid,
    digests: &[TokenDigest],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(&mut *db)
        .await?;
    for digest in digests {
        sqlx::query(
            "INSERT INTO mfa_recovery_codes (user_id, code_digest, used_at) VALUES ($1, $2, NULL)",
        )
        .bind(user_id.to_string())
        .bind(digest.as_slice())
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}

/// Uses a recovery code: `true` once per code.
pub async fn use_recovery_code<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    digest: &TokenDigest,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE mfa_recovery_codes SET used_at = $3 \
         WHERE user_id = $1 AND code_digest = $2 AND used_at IS NULL",
    )
    .bind(user_id.to_string())
    .bind(digest.as_slice())
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn recovery_codes_left<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id.to_string())
    .fetch_one(db)
    .await?;
    row.try_get("n")
}

pub async fn insert_challenge<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
    user_id: Uuid,
    kind: &str,
    now: Millis,
    expires_at: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mfa_challenges (token_digest, user_id, kind, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(digest.as_slice())
    .bind(user_id.to_string())
    .bind(kind)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The user of a live challenge of `kind`.
pub async fn challenge_user<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
    kind: &str,
    now: Millis,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT user_id FROM mfa_challenges WHERE token_digest = $1 AND kind = $2 AND expires_at > $3",
    )
    .bind(digest.as_slice())
    .bind(kind)
    .bind(now)
    .fetch_optional(db)
    .await?;
    row.map(|row| super::uuid(&row, "user_id")).transpose()
}

/// Consumes a challenge: `true` for the one caller that removed it.
pub async fn take_challenge<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM mfa_challenges WHERE token_digest = $1")
        .bind(digest.as_slice())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn purge_expired_challenges<'e>(
    db: impl Executor<'e, Database = Any>,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM mfa_challenges WHERE expires_at <= $1")
        .bind(now)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Records that the second factor was checked for session `id` at `at`.
pub async fn set_session_mfa_at<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
    at: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET mfa_at = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(at)
        .execute(db)
        .await?;
    Ok(())
}

/// When the second factor was last checked for session `id` (`None`: never, or no such session).
pub async fn session_mfa_at<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<Millis>, sqlx::Error> {
    Ok(session_mfa(db, id).await?.flatten())
}

/// Session `id`'s second-factor check: `None` when there is no such session, `Some(None)` when
/// it was opened with the password alone.
pub async fn session_mfa<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<Option<Millis>>, sqlx::Error> {
    let row = sqlx::query("SELECT mfa_at FROM sessions WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(db)
        .await?;
    row.map(|row| row.try_get::<Option<Millis>, _>("mfa_at"))
        .transpose()
}
