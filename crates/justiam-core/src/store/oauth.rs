//! Authorization codes, refresh tokens and "applications you signed in to"
//! (`oauth_codes`, `oauth_refresh_tokens`, `oauth_authorizations`), and the SSO sessions' rows.

use sqlx::{Any, Executor, Row};
use uuid::Uuid;

use crate::time::Millis;
use crate::token::TokenDigest;

/// An authorization code as stored (its value only as a digest).
#[derive(Debug, Clone)]
pub struct Code {
    pub application_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: Millis,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
    pub family_id: Uuid,
}

pub async fn insert_code<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
    code: &Code,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oauth_codes (code_digest, application_id, user_id, session_id, redirect_uri, scope, nonce, \
         code_challenge, auth_time, created_at, expires_at, family_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(digest.as_slice())
    .bind(code.application_id.to_string())
    .bind(code.user_id.to_string())
    .bind(code.session_id.map(|id| id.to_string()))
    .bind(&code.redirect_uri)
    .bind(&code.scope)
    .bind(code.nonce.as_deref())
    .bind(code.code_challenge.as_deref())
    .bind(code.auth_time)
    .bind(now)
    .bind(code.expires_at)
    .bind(code.family_id.to_string())
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get_code<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
) -> Result<Option<Code>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT application_id, user_id, session_id, redirect_uri, scope, nonce, code_challenge, auth_time, \
         expires_at, used_at, family_id FROM oauth_codes WHERE code_digest = $1",
    )
    .bind(digest.as_slice())
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        let session: Option<String> = row.try_get("session_id")?;
        Ok(Code {
            application_id: super::uuid(&row, "application_id")?,
            user_id: super::uuid(&row, "user_id")?,
            session_id: session.and_then(|s| Uuid::parse_str(&s).ok()),
            redirect_uri: row.try_get("redirect_uri")?,
            scope: row.try_get("scope")?,
            nonce: row.try_get("nonce")?,
            code_challenge: row.try_get("code_challenge")?,
            auth_time: row.try_get("auth_time")?,
            expires_at: row.try_get("expires_at")?,
            used_at: row.try_get("used_at")?,
            family_id: super::uuid(&row, "family_id")?,
        })
    })
    .transpose()
}

/// Marks a code used; `false` when it already was (a replay), so only one redemption wins.
pub async fn use_code<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE oauth_codes SET used_at = $1 WHERE code_digest = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(digest.as_slice())
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A refresh token as stored.
#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub id: Uuid,
    pub family_id: Uuid,
    pub application_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    pub scope: String,
    pub auth_time: Millis,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

pub async fn insert_refresh<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
    t: &RefreshToken,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oauth_refresh_tokens (id, token_digest, family_id, application_id, user_id, session_id, scope, \
         auth_time, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(t.id.to_string())
    .bind(digest.as_slice())
    .bind(t.family_id.to_string())
    .bind(t.application_id.to_string())
    .bind(t.user_id.to_string())
    .bind(t.session_id.map(|id| id.to_string()))
    .bind(&t.scope)
    .bind(t.auth_time)
    .bind(t.created_at)
    .bind(t.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get_refresh<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
) -> Result<Option<RefreshToken>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, family_id, application_id, user_id, session_id, scope, auth_time, created_at, expires_at, \
         used_at, revoked_at FROM oauth_refresh_tokens WHERE token_digest = $1",
    )
    .bind(digest.as_slice())
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        let session: Option<String> = row.try_get("session_id")?;
        Ok(RefreshToken {
            id: super::uuid(&row, "id")?,
            family_id: super::uuid(&row, "family_id")?,
            application_id: super::uuid(&row, "application_id")?,
            user_id: super::uuid(&row, "user_id")?,
            session_id: session.and_then(|s| Uuid::parse_str(&s).ok()),
            scope: row.try_get("scope")?,
            auth_time: row.try_get("auth_time")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            used_at: row.try_get("used_at")?,
            revoked_at: row.try_get("revoked_at")?,
        })
    })
    .transpose()
}

/// Marks a refresh token used; `false` when it already was used or revoked (reuse).
pub async fn use_refresh<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE oauth_refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id.to_string())
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every live token of a family; returns how many.
pub async fn revoke_family<'e>(
    db: impl Executor<'e, Database = Any>,
    family_id: Uuid,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family_id.to_string())
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes the live refresh tokens of one user at one application; returns how many.
pub async fn revoke_for_user_app<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    application_id: Uuid,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND application_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id.to_string())
    .bind(application_id.to_string())
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes the live refresh tokens of a user, but those issued under session `keep`.
pub async fn revoke_for_user<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    keep: Option<Uuid>,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let keep = keep.map(|id| id.to_string()).unwrap_or_default();
    let done = sqlx::query(
        "UPDATE oauth_refresh_tokens SET revoked_at = $1 \
         WHERE user_id = $2 AND revoked_at IS NULL AND (session_id IS NULL OR session_id <> $3)",
    )
    .bind(now)
    .bind(user_id.to_string())
    .bind(keep)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes the live refresh tokens issued under one SSO session (RP-initiated logout).
pub async fn revoke_for_session<'e>(
    db: impl Executor<'e, Database = Any>,
    session_id: Uuid,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE session_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(session_id.to_string())
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Keeps "applications you signed in to" current.
pub async fn upsert_authorization<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    application_id: Uuid,
    scope: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oauth_authorizations (user_id, application_id, scope, first_signed_in, last_signed_in) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id, application_id) \
         DO UPDATE SET scope = excluded.scope, last_signed_in = excluded.last_signed_in",
    )
    .bind(user_id.to_string())
    .bind(application_id.to_string())
    .bind(scope)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete_authorization<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    application_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM oauth_authorizations WHERE user_id = $1 AND application_id = $2")
            .bind(user_id.to_string())
            .bind(application_id.to_string())
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// One row of "applications you signed in to".
#[derive(Debug, Clone)]
pub struct Authorization {
    pub application_id: Uuid,
    pub name: String,
    pub friendly_name: String,
    pub scope: String,
    pub first_signed_in: Millis,
    pub last_signed_in: Millis,
    pub active_refresh_tokens: i64,
}

pub async fn list_authorizations<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    now: Millis,
) -> Result<Vec<Authorization>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.application_id, p.name, p.friendly_name, a.scope, a.first_signed_in, a.last_signed_in, \
         (SELECT COUNT(*) FROM oauth_refresh_tokens r WHERE r.user_id = a.user_id \
            AND r.application_id = a.application_id AND r.revoked_at IS NULL AND r.used_at IS NULL \
            AND r.expires_at > $2) AS active \
         FROM oauth_authorizations a JOIN applications p ON p.id = a.application_id \
         WHERE a.user_id = $1 ORDER BY a.last_signed_in DESC, a.application_id",
    )
    .bind(user_id.to_string())
    .bind(now)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Authorization {
                application_id: super::uuid(row, "application_id")?,
                name: row.try_get("name")?,
                friendly_name: row.try_get("friendly_name")?,
                scope: row.try_get("scope")?,
                first_signed_in: row.try_get("first_signed_in")?,
                last_signed_in: row.try_get("last_signed_in")?,
                active_refresh_tokens: row.try_get("active")?,
            })
        })
        .collect()
}

/// The names of the groups `user_id` is a member of, sorted.
pub async fn group_names<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT g.name FROM user_groups g JOIN group_members m ON m.group_id = g.id \
         WHERE m.user_id = $1 ORDER BY g.name",
    )
    .bind(user_id.to_string())
    .fetch_all(db)
    .await?;
    rows.iter().map(|row| row.try_get("name")).collect()
}

/// Purges codes and refresh tokens that can no longer be used.
pub async fn purge<'e>(
    db: impl Executor<'e, Database = Any> + Copy,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let codes = sqlx::query("DELETE FROM oauth_codes WHERE expires_at <= $1")
        .bind(now)
        .execute(db)
        .await?;
    let tokens = sqlx::query("DELETE FROM oauth_refresh_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(db)
        .await?;
    Ok(codes.rows_affected() + tokens.rows_affected())
}

/// An SSO session found by its cookie secret.
#[derive(Debug, Clone)]
pub struct SsoRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub auth_time: Millis,
    pub mfa_at: Option<Millis>,
}

pub async fn insert_sso_session<'e>(
    db: impl Executor<'e, Database = Any>,
    s: &crate::model::Session,
    digest: &TokenDigest,
    auth_time: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, expires_at, ip, user_agent, kind, secret_digest, auth_time) \
         VALUES ($1, $2, $3, $4, $5, $6, 'sso', $7, $8)",
    )
    .bind(s.id.to_string())
    .bind(s.user_id.to_string())
    .bind(s.created_at)
    .bind(s.expires_at)
    .bind(s.ip.as_deref())
    .bind(s.user_agent.as_deref())
    .bind(digest.as_slice())
    .bind(auth_time)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn find_sso_session<'e>(
    db: impl Executor<'e, Database = Any>,
    digest: &TokenDigest,
    now: Millis,
) -> Result<Option<SsoRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, user_id, auth_time, created_at, mfa_at FROM sessions \
         WHERE secret_digest = $1 AND kind = 'sso' AND expires_at > $2",
    )
    .bind(digest.as_slice())
    .bind(now)
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        let auth_time: Option<Millis> = row.try_get("auth_time")?;
        let created_at: Millis = row.try_get("created_at")?;
        Ok(SsoRow {
            id: super::uuid(&row, "id")?,
            user_id: super::uuid(&row, "user_id")?,
            auth_time: auth_time.unwrap_or(created_at),
            mfa_at: row.try_get("mfa_at")?,
        })
    })
    .transpose()
}
