//! `service_account_clients`, `federated_credentials`, `used_token_ids` and
//! `revoked_access_tokens`.

use std::collections::BTreeMap;

use justiam_types::machine::ClientAuthMethod;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use uuid::Uuid;

use super::applications::digest_column;
use super::{flag, is_unique_violation, uuid};
use crate::model::User;
use crate::model::machine::{FederatedCredential, ServiceAccountClient};
use crate::time::Millis;
use crate::token::TokenDigest;

macro_rules! client_columns {
    () => {
        "id, user_id, client_id, name, description, auth_method, secret_hint, jwks, created_by, \
         created_at, last_used_at"
    };
}
macro_rules! fc_columns {
    () => {
        "id, user_id, name, description, issuer, audience, subject, claims, created_by, \
         created_at, last_used_at"
    };
}

fn decode_error(column: &str, message: &'static str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: message.into(),
    }
}

fn client_from_row(row: &AnyRow) -> Result<ServiceAccountClient, sqlx::Error> {
    let method: String = row.try_get("auth_method")?;
    let jwks: Option<String> = row.try_get("jwks")?;
    let jwks = match jwks {
        Some(text) => serde_json::from_str(&text)
            .map_err(|_| decode_error("jwks", "the stored keys are not a JSON list of JWKs"))?,
        None => Vec::new(),
    };
    Ok(ServiceAccountClient {
        id: uuid(row, "id")?,
        user_id: uuid(row, "user_id")?,
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        auth_method: ClientAuthMethod::parse(&method)
            .ok_or_else(|| decode_error("auth_method", "unknown client authentication method"))?,
        secret_hint: row.try_get("secret_hint")?,
        jwks,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

fn fc_from_row(row: &AnyRow) -> Result<FederatedCredential, sqlx::Error> {
    let claims: String = row.try_get("claims")?;
    let claims: BTreeMap<String, String> = serde_json::from_str(&claims)
        .map_err(|_| decode_error("claims", "the stored conditions are not a JSON object"))?;
    Ok(FederatedCredential {
        id: uuid(row, "id")?,
        user_id: uuid(row, "user_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        issuer: row.try_get("issuer")?,
        audience: row.try_get("audience")?,
        subject: row.try_get("subject")?,
        claims,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

pub async fn insert_client<'e>(
    db: impl Executor<'e, Database = Any>,
    client: &ServiceAccountClient,
    secret_digest: Option<&TokenDigest>,
) -> Result<(), sqlx::Error> {
    let jwks = (!client.jwks.is_empty())
        .then(|| serde_json::to_string(&client.jwks))
        .transpose()
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO service_account_clients (id, user_id, client_id, name, description, auth_method, \
         secret_digest, secret_hint, jwks, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(client.id.to_string())
    .bind(client.user_id.to_string())
    .bind(&client.client_id)
    .bind(&client.name)
    .bind(&client.description)
    .bind(client.auth_method.as_str())
    .bind(secret_digest.map(|d| d.to_vec()))
    .bind(client.secret_hint.as_deref())
    .bind(jwks)
    .bind(client.created_by.as_deref())
    .bind(client.created_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn list_clients<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
) -> Result<Vec<ServiceAccountClient>, sqlx::Error> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        client_columns!(),
        " FROM service_account_clients WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id.to_string())
    .fetch_all(db)
    .await?;
    rows.iter().map(client_from_row).collect()
}

pub async fn get_client<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<ServiceAccountClient>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        client_columns!(),
        " FROM service_account_clients WHERE user_id = $1 AND id = $2"
    ))
    .bind(user_id.to_string())
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(client_from_row).transpose()
}

/// The client of a token request, with its secret digest and its service account: one query,
/// since a grant is on the hot path.
pub async fn client_for_grant<'e>(
    db: impl Executor<'e, Database = Any>,
    client_id: &str,
) -> Result<Option<(ServiceAccountClient, Option<TokenDigest>, User)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT c.id, c.user_id, c.client_id, c.name, c.description, c.auth_method, c.secret_hint, \
         c.jwks, c.created_by, c.created_at, c.last_used_at, c.secret_digest, \
         u.email AS u_email, u.username AS u_username, u.first_name AS u_first_name, \
         u.last_name AS u_last_name, u.is_active AS u_is_active, u.is_admin AS u_is_admin, \
         u.is_service_account AS u_is_service_account, u.auth_source AS u_auth_source, \
         u.created_at AS u_created_at, u.updated_at AS u_updated_at \
         FROM service_account_clients c JOIN users u ON u.id = c.user_id WHERE c.client_id = $1",
    )
    .bind(client_id)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let client = client_from_row(&row)?;
    let account = User {
        id: client.user_id,
        email: row.try_get("u_email")?,
        username: row.try_get("u_username")?,
        first_name: row.try_get("u_first_name")?,
        last_name: row.try_get("u_last_name")?,
        is_active: flag(&row, "u_is_active")?,
        is_admin: flag(&row, "u_is_admin")?,
        is_service_account: flag(&row, "u_is_service_account")?,
        auth_source: row.try_get("u_auth_source")?,
        created_at: row.try_get("u_created_at")?,
        updated_at: row.try_get("u_updated_at")?,
    };
    Ok(Some((
        client,
        digest_column(&row, "secret_digest")?,
        account,
    )))
}

/// Deletes a client; its `(client_id, name)` when there was one. The write comes first: on
/// SQLite a transaction that reads before it writes can fail when another writer got in between.
pub async fn delete_client<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM service_account_clients WHERE user_id = $1 AND id = $2 RETURNING client_id, name",
    )
    .bind(user_id.to_string())
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.map(|r| Ok((r.try_get("client_id")?, r.try_get("name")?)))
        .transpose()
}

/// Notes a use, at most one write a minute per row (a busy client does not write per grant).
pub async fn touch<'e>(
    db: impl Executor<'e, Database = Any>,
    table: Credential,
    id: Uuid,
    now: Millis,
) -> Result<(), sqlx::Error> {
    let sql = match table {
        Credential::Client => {
            "UPDATE service_account_clients SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)"
        }
        Credential::Federated => {
            "UPDATE federated_credentials SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)"
        }
    };
    sqlx::query(sql)
        .bind(now)
        .bind(id.to_string())
        .bind(now - 60_000)
        .execute(db)
        .await?;
    Ok(())
}

/// Which kind of credential an access token was issued through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Client,
    Federated,
}

/// Whether an access token still stands: the credential `id` of kind `kind` that gave it still
/// exists for `user_id`, and the token (`jti`) was not revoked — one round trip.
pub async fn access_token_stands<'e>(
    db: impl Executor<'e, Database = Any>,
    kind: Credential,
    id: Uuid,
    user_id: Uuid,
    jti: &str,
) -> Result<bool, sqlx::Error> {
    let sql = match kind {
        Credential::Client => {
            "SELECT COUNT(*) AS n FROM service_account_clients WHERE id = $1 AND user_id = $2 \
             AND NOT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $3)"
        }
        Credential::Federated => {
            "SELECT COUNT(*) AS n FROM federated_credentials WHERE id = $1 AND user_id = $2 \
             AND NOT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $3)"
        }
    };
    let n: i64 = sqlx::query(sql)
        .bind(id.to_string())
        .bind(user_id.to_string())
        .bind(jti)
        .fetch_one(db)
        .await?
        .try_get("n")?;
    Ok(n > 0)
}

/// Records access token `jti` of `user_id` as revoked until it expires; `false` when it already
/// was (a second revocation changes nothing).
pub async fn revoke_access_token<'e>(
    db: impl Executor<'e, Database = Any>,
    jti: &str,
    user_id: Uuid,
    revoked_at: Millis,
    expires_at: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO revoked_access_tokens (jti, user_id, revoked_at, expires_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING",
    )
    .bind(jti)
    .bind(user_id.to_string())
    .bind(revoked_at)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_federated<'e>(
    db: impl Executor<'e, Database = Any>,
    fc: &FederatedCredential,
) -> Result<(), sqlx::Error> {
    let claims = serde_json::to_string(&fc.claims).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO federated_credentials (id, user_id, name, description, issuer, audience, subject, \
         claims, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(fc.id.to_string())
    .bind(fc.user_id.to_string())
    .bind(&fc.name)
    .bind(&fc.description)
    .bind(&fc.issuer)
    .bind(&fc.audience)
    .bind(fc.subject.as_deref())
    .bind(claims)
    .bind(fc.created_by.as_deref())
    .bind(fc.created_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn list_federated<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
) -> Result<Vec<FederatedCredential>, sqlx::Error> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        fc_columns!(),
        " FROM federated_credentials WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id.to_string())
    .fetch_all(db)
    .await?;
    rows.iter().map(fc_from_row).collect()
}

pub async fn get_federated<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<FederatedCredential>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        fc_columns!(),
        " FROM federated_credentials WHERE user_id = $1 AND id = $2"
    ))
    .bind(user_id.to_string())
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(fc_from_row).transpose()
}

/// Every federated credential trusting `issuer`, oldest first.
pub async fn federated_for_issuer<'e>(
    db: impl Executor<'e, Database = Any>,
    issuer: &str,
) -> Result<Vec<FederatedCredential>, sqlx::Error> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        fc_columns!(),
        " FROM federated_credentials WHERE issuer = $1 ORDER BY created_at, id"
    ))
    .bind(issuer)
    .fetch_all(db)
    .await?;
    rows.iter().map(fc_from_row).collect()
}

/// Deletes a federated credential; its `(name, issuer)` when there was one (write first, as
/// [`delete_client`]).
pub async fn delete_federated<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM federated_credentials WHERE user_id = $1 AND id = $2 RETURNING name, issuer",
    )
    .bind(user_id.to_string())
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.map(|r| Ok((r.try_get("name")?, r.try_get("issuer")?)))
        .transpose()
}

/// Records `jti` of `issuer` as used until `expires_at`; `false` when it was already (a replay),
/// on this node or any other: the primary key decides.
pub async fn use_token_id<'e>(
    db: impl Executor<'e, Database = Any>,
    issuer: &str,
    jti: &str,
    expires_at: Millis,
) -> Result<bool, sqlx::Error> {
    let inserted =
        sqlx::query("INSERT INTO used_token_ids (issuer, jti, expires_at) VALUES ($1, $2, $3)")
            .bind(issuer)
            .bind(jti)
            .bind(expires_at)
            .execute(db)
            .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(error) if is_unique_violation(&error) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Drops used identifiers and revocations of tokens that have expired: they can no longer be
/// presented anyway.
pub async fn purge_token_ids(db: &sqlx::Pool<Any>, now: Millis) -> Result<u64, sqlx::Error> {
    let mut purged = 0;
    for sql in [
        "DELETE FROM used_token_ids WHERE expires_at <= $1",
        "DELETE FROM revoked_access_tokens WHERE expires_at <= $1",
    ] {
        purged += sqlx::query(sql)
            .bind(now)
            .execute(db)
            .await?
            .rows_affected();
    }
    Ok(purged)
}
