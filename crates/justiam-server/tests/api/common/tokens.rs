//! Personal access tokens as several modules use them: making them, using them, and reading how
//! the owner or an operator sees them.

use justiam_client::{Client, RawResponse};
use justiam_types::{CreateToken, CreatedToken};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Row;
use uuid::Uuid;

use super::{TestServer, assert_invalid_token, raw};

pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The header on every PAT-authenticated answer: the token's expiry.
pub const EXPIRES_HEADER: &str = "justiam-token-expires-at";

pub fn token_body(name: &str, days: i64, permissions: Option<&[&str]>) -> CreateToken {
    CreateToken {
        name: name.to_owned(),
        expires_in_days: days,
        permissions: permissions.map(|list| list.iter().map(|p| (*p).to_owned()).collect()),
    }
}

/// Creates a 30-day token for `owner` (a service account) or, without one, for the caller.
pub async fn create_token(
    client: &Client,
    owner: Option<Uuid>,
    name: &str,
    permissions: Option<&[&str]>,
) -> CreatedToken {
    client
        .create_token(owner, &token_body(name, 30, permissions))
        .await
        .unwrap_or_else(|e| panic!("create token {name}: {e}"))
}

/// A client that authenticates with `token`.
pub fn pat(server: &TestServer, token: &CreatedToken) -> Client {
    server.anonymous().with_token(token.token.clone())
}

/// `GET /api/v1/me` as `client`: 200 or 401.
pub async fn me_status(client: &Client) -> u16 {
    raw(client, Method::GET, "/api/v1/me", None)
        .await
        .status
        .as_u16()
}

/// The record of `id` in the caller's `/me/tokens` list, if listed.
pub async fn my_record(client: &Client, id: Uuid) -> Option<Value> {
    let list = raw(client, Method::GET, "/api/v1/me/tokens?limit=100", None).await;
    assert_eq!(list.status.as_u16(), 200, "{}", list.json);
    list.json["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|r| r["id"] == json!(id.to_string()))
        .cloned()
}

/// `GET /api/v1/tokens{query}`: the operator's inventory as `client` sees it.
pub async fn inventory(client: &Client, query: &str) -> RawResponse {
    raw(client, Method::GET, &format!("/api/v1/tokens{query}"), None).await
}

/// Moves a token's expiry into the past, straight in the database.
pub async fn expire_in_db(server: &TestServer, token_id: Uuid) {
    let done = sqlx::query("UPDATE personal_access_tokens SET expires_at = $1 WHERE id = $2")
        .bind(justiam_core::time::now_millis() - 1000)
        .bind(token_id.to_string())
        .execute(server.pool())
        .await
        .expect("expire token");
    server.after_direct_sql();
    assert_eq!(done.rows_affected(), 1);
}

/// `GET /api/v1/me` with `credential`.
pub async fn me_with(server: &TestServer, credential: &str) -> RawResponse {
    raw(
        &server.anonymous().with_token(credential),
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await
}

/// Asserts `credential` authenticates as `user_id`.
pub async fn assert_works_as(server: &TestServer, credential: &str, user_id: Uuid) {
    let response = me_with(server, credential).await;
    assert_eq!(response.status.as_u16(), 200, "body {}", response.json);
    assert_eq!(response.json["id"], json!(user_id.to_string()));
}

/// Asserts `credential` is refused with `401 invalid_token`.
pub async fn assert_rejected(server: &TestServer, credential: &str) {
    assert_invalid_token(&me_with(server, credential).await);
}

/// One audit entry as stored.
#[derive(Debug)]
pub struct AuditRow {
    pub actor_id: Option<String>,
    pub credential: Option<String>,
    pub credential_id: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub details: Option<String>,
}

/// The `token.*` entries of the audit log, oldest first, as stored.
pub async fn token_audit(server: &TestServer) -> Vec<AuditRow> {
    sqlx::query(
        "SELECT actor_id, credential, credential_id, action, target_type, target_id, details \
         FROM audit_log WHERE action LIKE 'token.%' ORDER BY at, id",
    )
    .fetch_all(server.pool())
    .await
    .expect("audit")
    .iter()
    .map(|r| AuditRow {
        actor_id: r.try_get("actor_id").expect("actor_id"),
        credential: r.try_get("credential").expect("credential"),
        credential_id: r.try_get("credential_id").expect("credential_id"),
        action: r.try_get("action").expect("action"),
        target_type: r.try_get("target_type").expect("target_type"),
        target_id: r.try_get("target_id").expect("target_id"),
        details: r.try_get("details").expect("details"),
    })
    .collect()
}
