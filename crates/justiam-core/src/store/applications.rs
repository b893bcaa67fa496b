//! The `applications` and `application_grants` tables. A client secret is held only as its
//! SHA-256 digest; the digests never leave this module except in [`ClientSecrets`], read by client
//! authentication alone.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Executor, Row};
use uuid::Uuid;

use super::{contains_pattern, flag, uuid};
use crate::model::{Application, ApplicationGrant, ApplicationType, ClaimMapping, PageRequest};
use crate::time::Millis;
use crate::token::TokenDigest;

/// The digests a client may authenticate with: the current secret and, until its end, the one it
/// replaced.
pub struct ClientSecrets {
    pub current: Option<TokenDigest>,
    pub previous: Option<(TokenDigest, Millis)>,
}

fn decode_err(column: &str, error: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(error),
    }
}

fn json_column<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    column: &str,
) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| decode_err(column, e))
}

fn words_column(row: &AnyRow, column: &str) -> Result<Vec<String>, sqlx::Error> {
    let text: String = row.try_get(column)?;
    Ok(text.split_whitespace().map(str::to_owned).collect())
}

fn app_type(text: &str) -> Result<ApplicationType, sqlx::Error> {
    Ok(match text {
        "oidc" => ApplicationType::Oidc,
        "spa" => ApplicationType::Spa,
        "external" => ApplicationType::External,
        "saml" => ApplicationType::Saml,
        other => {
            return Err(sqlx::Error::ColumnDecode {
                index: "app_type".to_owned(),
                source: format!("unknown application type {other:?}").into(),
            });
        }
    })
}

pub(crate) fn digest_column(
    row: &AnyRow,
    column: &str,
) -> Result<Option<TokenDigest>, sqlx::Error> {
    let bytes: Option<Vec<u8>> = row.try_get(column)?;
    bytes
        .map(|b| {
            TokenDigest::try_from(b.as_slice()).map_err(|_| sqlx::Error::ColumnDecode {
                index: column.to_owned(),
                source: "a digest is 32 bytes".into(),
            })
        })
        .transpose()
}

fn app_from_row(row: &AnyRow) -> Result<Application, sqlx::Error> {
    let app_type_text: String = row.try_get("app_type")?;
    Ok(Application {
        id: uuid(row, "id")?,
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        friendly_name: row.try_get("friendly_name")?,
        description: row.try_get("description")?,
        app_type: app_type(&app_type_text)?,
        redirect_uris: json_column(row, "redirect_uris")?,
        post_logout_redirect_uris: json_column(row, "post_logout_redirect_uris")?,
        allowed_scopes: words_column(row, "allowed_scopes")?,
        grant_types: words_column(row, "grant_types")?,
        require_pkce: flag(row, "require_pkce")?,
        token_expiry: row.try_get("token_expiry")?,
        access_restricted: flag(row, "access_restricted")?,
        show_in_dashboard: flag(row, "show_in_dashboard")?,
        launch_url: row.try_get("launch_url")?,
        claim_mappings: json_column::<Vec<ClaimMapping>>(row, "claim_mappings")?,
        secret_hint: row.try_get("secret_hint")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

macro_rules! app_columns {
    () => {
        "id, client_id, name, friendly_name, description, app_type, secret_hint, redirect_uris, \
         post_logout_redirect_uris, allowed_scopes, grant_types, require_pkce, token_expiry, \
         access_restricted, show_in_dashboard, launch_url, claim_mappings, created_at, updated_at"
    };
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Vectors of strings and plain structs always serialise.
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

/// Inserts an application; `secret` is the digest and hint of its first secret (`oidc` only).
pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    app: &Application,
    secret: Option<&TokenDigest>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO applications (id, client_id, name, name_lower, friendly_name, description, app_type, \
         secret_digest, secret_hint, redirect_uris, post_logout_redirect_uris, allowed_scopes, grant_types, \
         require_pkce, token_expiry, access_restricted, show_in_dashboard, launch_url, claim_mappings, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
    )
    .bind(app.id.to_string())
    .bind(&app.client_id)
    .bind(&app.name)
    .bind(app.name.to_lowercase())
    .bind(&app.friendly_name)
    .bind(&app.description)
    .bind(app.app_type.as_str())
    .bind(secret.map(|d| d.to_vec()))
    .bind(app.secret_hint.as_deref())
    .bind(to_json(&app.redirect_uris))
    .bind(to_json(&app.post_logout_redirect_uris))
    .bind(app.allowed_scopes.join(" "))
    .bind(app.grant_types.join(" "))
    .bind(app.require_pkce)
    .bind(app.token_expiry)
    .bind(app.access_restricted)
    .bind(app.show_in_dashboard)
    .bind(app.launch_url.as_deref())
    .bind(to_json(&app.claim_mappings))
    .bind(app.created_at)
    .bind(app.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Writes the editable fields (everything but type, client_id and secrets).
pub async fn update<'e>(
    db: impl Executor<'e, Database = Any>,
    app: &Application,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE applications SET name = $2, name_lower = $3, friendly_name = $4, description = $5, \
         redirect_uris = $6, post_logout_redirect_uris = $7, allowed_scopes = $8, grant_types = $9, \
         require_pkce = $10, token_expiry = $11, access_restricted = $12, show_in_dashboard = $13, \
         launch_url = $14, claim_mappings = $15, updated_at = $16 WHERE id = $1",
    )
    .bind(app.id.to_string())
    .bind(&app.name)
    .bind(app.name.to_lowercase())
    .bind(&app.friendly_name)
    .bind(&app.description)
    .bind(to_json(&app.redirect_uris))
    .bind(to_json(&app.post_logout_redirect_uris))
    .bind(app.allowed_scopes.join(" "))
    .bind(app.grant_types.join(" "))
    .bind(app.require_pkce)
    .bind(app.token_expiry)
    .bind(app.access_restricted)
    .bind(app.show_in_dashboard)
    .bind(app.launch_url.as_deref())
    .bind(to_json(&app.claim_mappings))
    .bind(app.updated_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<Application>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        app_columns!(),
        " FROM applications WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(app_from_row).transpose()
}

pub async fn get_by_client_id<'e>(
    db: impl Executor<'e, Database = Any>,
    client_id: &str,
) -> Result<Option<Application>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        app_columns!(),
        " FROM applications WHERE client_id = $1"
    ))
    .bind(client_id)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(app_from_row).transpose()
}

/// The application with this client_id and the digests it may authenticate with.
pub async fn get_with_secrets<'e>(
    db: impl Executor<'e, Database = Any>,
    client_id: &str,
) -> Result<Option<(Application, ClientSecrets)>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        app_columns!(),
        ", secret_digest, previous_secret_digest, previous_secret_expires_at \
         FROM applications WHERE client_id = $1"
    ))
    .bind(client_id)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let previous = match (
        digest_column(&row, "previous_secret_digest")?,
        row.try_get::<Option<i64>, _>("previous_secret_expires_at")?,
    ) {
        (Some(digest), Some(until)) => Some((digest, until)),
        _ => None,
    };
    let secrets = ClientSecrets {
        current: digest_column(&row, "secret_digest")?,
        previous,
    };
    Ok(Some((app_from_row(&row)?, secrets)))
}

/// Replaces the secret. `previous` keeps the replaced digest working until its end (a grace
/// period); `None` ends it at once.
pub async fn set_secret<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
    digest: &TokenDigest,
    hint: &str,
    keep_previous_until: Option<Millis>,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE applications SET \
         previous_secret_digest = CASE WHEN $4 > 0 THEN secret_digest ELSE NULL END, \
         previous_secret_expires_at = CASE WHEN $4 > 0 THEN $4 ELSE NULL END, \
         secret_digest = $2, secret_hint = $3, updated_at = $5 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(digest.to_vec())
    .bind(hint)
    .bind(keep_previous_until.unwrap_or(0))
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM applications WHERE id = $1")
        .bind(id.to_string())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of applications whose name, friendly name or client_id contains `search`, newest
/// first.
pub async fn list(
    pool: &AnyPool,
    search: Option<&str>,
    page: PageRequest,
) -> Result<(Vec<Application>, u64), sqlx::Error> {
    let pattern = search.map(contains_pattern).unwrap_or_default();
    let total: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM applications WHERE ($1 = '' OR name_lower LIKE $1 ESCAPE '\\' \
         OR lower(friendly_name) LIKE $1 ESCAPE '\\' OR lower(client_id) LIKE $1 ESCAPE '\\')",
    )
    .bind(&pattern)
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(concat!(
        "SELECT ",
        app_columns!(),
        " FROM applications WHERE ($1 = '' OR name_lower LIKE $1 ESCAPE '\\' \
         OR lower(friendly_name) LIKE $1 ESCAPE '\\' OR lower(client_id) LIKE $1 ESCAPE '\\') \
         ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(&pattern)
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let apps = rows
        .iter()
        .map(app_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((apps, total.max(0) as u64))
}

fn grant_from_row(row: &AnyRow) -> Result<ApplicationGrant, sqlx::Error> {
    let optional_uuid = |column: &str| -> Result<Option<Uuid>, sqlx::Error> {
        let text: Option<String> = row.try_get(column)?;
        text.map(|t| Uuid::parse_str(&t).map_err(|e| decode_err(column, e)))
            .transpose()
    };
    Ok(ApplicationGrant {
        id: uuid(row, "id")?,
        application_id: uuid(row, "application_id")?,
        user_id: optional_uuid("user_id")?,
        group_id: optional_uuid("group_id")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn insert_grant<'e>(
    db: impl Executor<'e, Database = Any>,
    grant: &ApplicationGrant,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO application_grants (id, application_id, user_id, group_id, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(grant.id.to_string())
    .bind(grant.application_id.to_string())
    .bind(grant.user_id.map(|id| id.to_string()))
    .bind(grant.group_id.map(|id| id.to_string()))
    .bind(grant.created_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn list_grants<'e>(
    db: impl Executor<'e, Database = Any>,
    application_id: Uuid,
) -> Result<Vec<ApplicationGrant>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, application_id, user_id, group_id, created_at FROM application_grants \
         WHERE application_id = $1 ORDER BY created_at, id",
    )
    .bind(application_id.to_string())
    .fetch_all(db)
    .await?;
    rows.iter().map(grant_from_row).collect()
}

pub async fn get_grant<'e>(
    db: impl Executor<'e, Database = Any>,
    application_id: Uuid,
    grant_id: Uuid,
) -> Result<Option<ApplicationGrant>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, application_id, user_id, group_id, created_at FROM application_grants \
         WHERE application_id = $1 AND id = $2",
    )
    .bind(application_id.to_string())
    .bind(grant_id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(grant_from_row).transpose()
}

pub async fn delete_grant<'e>(
    db: impl Executor<'e, Database = Any>,
    application_id: Uuid,
    grant_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM application_grants WHERE application_id = $1 AND id = $2")
        .bind(application_id.to_string())
        .bind(grant_id.to_string())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the user is granted the application directly or through one of their groups.
pub async fn is_granted<'e>(
    db: impl Executor<'e, Database = Any>,
    application_id: Uuid,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT 1 AS hit FROM application_grants g WHERE g.application_id = $1 AND (g.user_id = $2 \
         OR g.group_id IN (SELECT m.group_id FROM group_members m WHERE m.user_id = $2)) LIMIT 1",
    )
    .bind(application_id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(db)
    .await?;
    Ok(row.is_some())
}
