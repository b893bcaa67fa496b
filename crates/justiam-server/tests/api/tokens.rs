//! Personal access tokens: every rule of the seed and of the "Personal access tokens" section of
//! the API contract, on SQLite and PostgreSQL, plus the promises that the database and the logs
//! never hold a token value.

use std::time::{Duration, Instant};

use justiam_client::{Client, ListParams, RawResponse};
use justiam_types::{CreatedToken, PatRecord, UpdateUser};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::{Column, Row};
use uuid::Uuid;

use crate::common::*;

const PREFIX: &str = "justiam_pat_";

// --- helpers --------------------------------------------------------------------------------------

fn now_ms() -> i64 {
    justiam_core::time::now_millis()
}

/// `^justiam_pat_[0-9A-Za-z]{38}$`, without a regex dependency.
fn has_scanner_shape(value: &str) -> bool {
    value.len() == PREFIX.len() + 38
        && value.starts_with(PREFIX)
        && value[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
}

/// The 32 random characters between the prefix and the checksum.
fn random_part(value: &str) -> &str {
    &value[PREFIX.len()..PREFIX.len() + 32]
}

/// `value` with the character at `index` replaced by another base62 character.
fn flip(value: &str, index: usize) -> String {
    let mut bytes = value.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii")
}

async fn post_token(client: &Client, path: &str, body: Value) -> RawResponse {
    raw(client, Method::POST, path, Some(body)).await
}

/// Creates a token through `/me/tokens` and returns the answer.
async fn create_own(client: &Client, name: &str, days: i64) -> CreatedToken {
    client
        .create_my_token(name, days)
        .await
        .expect("create own token")
}

async fn token_rows_of(server: &TestServer, user_id: Uuid) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM personal_access_tokens WHERE user_id = $1")
        .bind(user_id.to_string())
        .fetch_one(server.pool())
        .await
        .expect("count tokens")
        .try_get("n")
        .expect("n")
}

/// Gives `user_id` the permissions through a new custom role held by a new group (SQL, until the
/// group and role API lands). Returns the group id.
async fn grant_through_group(server: &TestServer, user_id: Uuid, permissions: &str) -> Uuid {
    let pool = server.pool();
    let now = now_ms();
    let role_id = Uuid::now_v7();
    let group_id = Uuid::now_v7();
    let role_name = format!("tokens-role-{}", role_id.simple());
    let group_name = format!("tokens-group-{}", group_id.simple());
    sqlx::query(
        "INSERT INTO admin_roles (id, name, name_lower, description, permissions, is_builtin, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(role_id.to_string())
    .bind(role_name.clone())
    .bind(role_name.to_lowercase())
    .bind("custom role for token tests")
    .bind(permissions)
    .bind(false)
    .bind(now)
    .execute(pool)
    .await
    .expect("insert role");
    server.after_direct_sql();
    sqlx::query(
        "INSERT INTO user_groups (id, name, name_lower, description, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(group_id.to_string())
    .bind(group_name.clone())
    .bind(group_name.to_lowercase())
    .bind("group for token tests")
    .bind(now)
    .execute(pool)
    .await
    .expect("insert group");
    server.after_direct_sql();
    sqlx::query(
        "INSERT INTO group_admin_roles (group_id, role_id, created_at) VALUES ($1, $2, $3)",
    )
    .bind(group_id.to_string())
    .bind(role_id.to_string())
    .bind(now)
    .execute(pool)
    .await
    .expect("assign role to group");
    server.after_direct_sql();
    sqlx::query("INSERT INTO group_members (group_id, user_id, created_at) VALUES ($1, $2, $3)")
        .bind(group_id.to_string())
        .bind(user_id.to_string())
        .bind(now)
        .execute(pool)
        .await
        .expect("add member");
    server.after_direct_sql();
    group_id
}

/// Every value of every row of `table`, decoded whatever its type: `(column, text)` per cell;
/// bytes are rendered lossily *and* as lowercase hex so both forms can be searched.
async fn dump_table(server: &TestServer, table: &str) -> Vec<Vec<(String, String)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
        .fetch_all(server.pool())
        .await
        .expect("select *");
    rows.iter()
        .map(|row| {
            row.columns()
                .iter()
                .map(|column| {
                    let i = column.ordinal();
                    let text = if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                        v.unwrap_or_default()
                    } else if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                        v.map(|n| n.to_string()).unwrap_or_default()
                    } else if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
                        let bytes = v.unwrap_or_default();
                        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                        format!("{} {hex}", String::from_utf8_lossy(&bytes))
                    } else if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                        v.map(|b| b.to_string()).unwrap_or_default()
                    } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                        v.map(|f| f.to_string()).unwrap_or_default()
                    } else {
                        panic!("cannot decode {table}.{} to scan it", column.name());
                    };
                    (column.name().to_owned(), text)
                })
                .collect()
        })
        .collect()
}

/// The user tables of the database (SQLite or PostgreSQL).
async fn all_tables(server: &TestServer) -> Vec<String> {
    let sql = match server.backend {
        Backend::Sqlite => {
            "SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS t FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        }
    };
    sqlx::query(sql)
        .fetch_all(server.pool())
        .await
        .expect("list tables")
        .iter()
        .map(|r| r.try_get::<String, _>("t").expect("table name"))
        // sqlx's own bookkeeping: migration versions, checksums and times.
        .filter(|t| t != "_sqlx_migrations")
        .collect()
}

/// Lists a client's own tokens (all of them, up to 100) as raw JSON.
async fn list_own_raw(client: &Client, query: &str) -> RawResponse {
    raw(
        client,
        Method::GET,
        &format!("/api/v1/me/tokens{query}"),
        None,
    )
    .await
}

async fn own_record(client: &Client, id: Uuid) -> Option<PatRecord> {
    let page = client
        .list_my_tokens(&ListParams {
            limit: Some(100),
            ..ListParams::default()
        })
        .await
        .expect("list own tokens");
    page.data.into_iter().find(|t| t.id == id)
}

// --- creation ------------------------------------------------------------------------------------

async fn creation_answers_the_value_once_with_the_exact_shape(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (user, client) = server.user_client("creator@example.com").await;

    let before = now_ms();
    let response = post_token(
        &client,
        "/api/v1/me/tokens",
        json!({"name": "CI pipeline", "expires_in_days": 90}),
    )
    .await;
    let after = now_ms();
    assert_eq!(response.status.as_u16(), 201, "body {}", response.json);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(
        keys(&response.json),
        set(&["id", "name", "token", "expires_at"])
    );
    assert_eq!(response.json["name"], "CI pipeline");
    let value = response.json["token"].as_str().expect("token string");
    assert!(has_scanner_shape(value), "shape of the token");
    assert!(
        response.json["expires_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z')),
        "RFC 3339 UTC: {}",
        response.json["expires_at"]
    );
    let created: CreatedToken = serde_json::from_value(response.json.clone()).expect("decode");
    let expires = created.expires_at.timestamp_millis();
    assert!(
        expires >= before + 90 * DAY_MS && expires <= after + 90 * DAY_MS,
        "expires_at is now + 90 days"
    );

    // The value works as a Bearer credential for its owner.
    assert_works_as(&server, value, user.id).await;

    // Two tokens never share a value.
    let other = create_own(&client, "second", 1).await;
    assert_ne!(other.token, created.token);
    assert_ne!(other.id, created.id);
    assert!(has_scanner_shape(&other.token));

    // The service-account endpoint answers the same shape and header.
    let sa = server.create_service_account("robot@example.com").await;
    let admin = server.admin().await;
    let response = post_token(
        &admin,
        &format!("/api/v1/users/{}/tokens", sa.id),
        json!({"name": "Terraform runner", "expires_in_days": 365}),
    )
    .await;
    assert_eq!(response.status.as_u16(), 201, "body {}", response.json);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(
        keys(&response.json),
        set(&["id", "name", "token", "expires_at"])
    );
    let sa_value = response.json["token"].as_str().expect("token");
    assert!(has_scanner_shape(sa_value));
    assert_works_as(&server, sa_value, sa.id).await;
}

async fn expires_in_days_accepts_1_to_365_and_nothing_else(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, client) = server.user_client("expiry@example.com").await;

    for days in [1_i64, 365] {
        let before = now_ms();
        let response = post_token(
            &client,
            "/api/v1/me/tokens",
            json!({"name": format!("days {days}"), "expires_in_days": days}),
        )
        .await;
        let after = now_ms();
        assert_eq!(
            response.status.as_u16(),
            201,
            "{days}: body {}",
            response.json
        );
        let created: CreatedToken = serde_json::from_value(response.json).expect("decode");
        let expires = created.expires_at.timestamp_millis();
        assert!(
            expires >= before + days * DAY_MS && expires <= after + days * DAY_MS,
            "expires_at is now + {days} days"
        );
    }

    let bad_bodies = [
        r#"{"name":"t","expires_in_days":0}"#,
        r#"{"name":"t","expires_in_days":366}"#,
        r#"{"name":"t","expires_in_days":-1}"#,
        r#"{"name":"t","expires_in_days":1.5}"#,
        r#"{"name":"t","expires_in_days":"30"}"#,
        r#"{"name":"t","expires_in_days":null}"#,
        r#"{"name":"t"}"#,
        r#"{"name":"t","expires_in_days":99999999999999999999}"#,
        r#"{"name":"t","expires_in_days":true}"#,
    ];
    let sa = server
        .create_service_account("expiry-robot@example.com")
        .await;
    let admin = server.admin().await;
    for path in [
        "/api/v1/me/tokens".to_owned(),
        format!("/api/v1/users/{}/tokens", sa.id),
    ] {
        let caller = if path.starts_with("/api/v1/me") {
            &client
        } else {
            &admin
        };
        // (serde_json reads the 20-digit number as a float: still not an integer.)
        let refusals = bad_bodies.map(|body| {
            let body = serde_json::from_str(body).expect("test JSON");
            post(&path, body).invalid("expires_in_days")
        });
        expect_refusals(caller, refusals).await;
    }
    // Nothing was created by the refused requests.
    let page = client
        .list_my_tokens(&ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 2);
}

async fn names_are_trimmed_required_and_bounded(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, client) = server.user_client("names@example.com").await;

    let created = create_own(&client, "  CI pipeline \t", 30).await;
    assert_eq!(created.name, "CI pipeline");
    let listed = own_record(&client, created.id).await.expect("listed");
    assert_eq!(listed.name, "CI pipeline");

    let hundred = "n".repeat(100);
    let created = create_own(&client, &format!("  {hundred}  "), 30).await;
    assert_eq!(created.name, hundred);
    let multibyte = "é".repeat(100);
    assert_eq!(create_own(&client, &multibyte, 30).await.name, multibyte);

    let refusals = [
        json!({"name": "", "expires_in_days": 30}),
        json!({"name": "   ", "expires_in_days": 30}),
        json!({"name": "n".repeat(101), "expires_in_days": 30}),
        json!({"name": "é".repeat(101), "expires_in_days": 30}),
        json!({"name": null, "expires_in_days": 30}),
        json!({"name": 42, "expires_in_days": 30}),
        json!({"expires_in_days": 30}),
    ]
    .map(|bad| post("/api/v1/me/tokens", bad).invalid("name"));
    expect_refusals(&client, refusals).await;

    // Unknown fields are refused, not dropped.
    let response = post_token(
        &client,
        "/api/v1/me/tokens",
        json!({"name": "x", "expires_in_days": 30, "scopes": ["all"]}),
    )
    .await;
    assert_eq!(response.status.as_u16(), 400, "body {}", response.json);
    assert!(
        response.json["message"]
            .as_str()
            .is_some_and(|m| m.contains("scopes")),
        "names the unknown field: {}",
        response.json
    );
    // Malformed JSON.
    let response = raw(&client, Method::POST, "/api/v1/me/tokens", Some(json!("x"))).await;
    assert_eq!(response.status.as_u16(), 400, "body {}", response.json);

    let page = client
        .list_my_tokens(&ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 3);
}

async fn active_names_are_unique_per_owner(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, client) = server.user_client("dupes@example.com").await;
    let (_, other) = server.user_client("other@example.com").await;

    let first = create_own(&client, "deploy", 30).await;
    let refusals = ["deploy", "  deploy  "].map(|name| {
        post(
            "/api/v1/me/tokens",
            json!({"name": name, "expires_in_days": 30}),
        )
        .conflict("deploy")
    });
    expect_refusals(&client, refusals).await;
    // Another user may use the same name.
    create_own(&other, "deploy", 30).await;

    // Once revoked, the name is free again; the old token stays dead.
    client.revoke_my_token(first.id).await.expect("revoke");
    let second = create_own(&client, "deploy", 30).await;
    assert_ne!(second.id, first.id);
    assert_rejected(&server, &first.token).await;
    assert!(me_with(&server, &second.token).await.status.is_success());

    // Once expired, too.
    expire_in_db(&server, second.id).await;
    let third = create_own(&client, "deploy", 30).await;
    assert_ne!(third.id, second.id);
    let page = client
        .list_my_tokens(&ListParams::default())
        .await
        .expect("list");
    let deploys: Vec<&PatRecord> = page.data.iter().filter(|t| t.name == "deploy").collect();
    assert_eq!(deploys.len(), 2, "the expired one and the new one");
    assert_eq!(deploys[0].id, third.id);
    assert!(!deploys[0].expired);
    assert_eq!(deploys[1].id, second.id);
    assert!(deploys[1].expired);
}

async fn a_user_holds_at_most_100_active_tokens(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, client) = server.user_client("hoarder@example.com").await;

    let mut ids = Vec::new();
    for i in 0..100 {
        ids.push(create_own(&client, &format!("token {i:03}"), 30).await.id);
    }
    let one_too_many = |name: &str| {
        post(
            "/api/v1/me/tokens",
            json!({"name": name, "expires_in_days": 30}),
        )
        .refused(409, "token_limit_reached", "100")
    };
    one_too_many("one too many").expect(&client).await;

    // Revoking one frees a slot, once.
    client.revoke_my_token(ids[0]).await.expect("revoke");
    create_own(&client, "replacement", 30).await;
    one_too_many("again too many").expect(&client).await;

    // Expired tokens do not count either.
    expire_in_db(&server, ids[1]).await;
    create_own(&client, "after expiry", 30).await;

    // The limit is per user: a service account of the same admin has its own 100.
    let sa = server
        .create_service_account("limit-robot@example.com")
        .await;
    server
        .admin()
        .await
        .create_user_token(sa.id, "sa token", 30)
        .await
        .expect("service-account token");
}

async fn name_uniqueness_and_the_limit_hold_under_concurrency(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, client) = server.user_client("racer@example.com").await;

    // Ten simultaneous creations of one name: exactly one wins.
    let attempts = (0..10).map(|_| {
        let client = client.clone();
        tokio::spawn(async move {
            post_token(
                &client,
                "/api/v1/me/tokens",
                json!({"name": "same name", "expires_in_days": 30}),
            )
            .await
        })
    });
    let mut created = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        let response = attempt.await.expect("task");
        match response.status.as_u16() {
            201 => created += 1,
            409 => assert_eq!(response.code(), Some("conflict"), "{}", response.json),
            other => panic!("unexpected {other}: {}", response.json),
        }
    }
    assert_eq!(created, 1, "one active token per name");

    // 99 tokens, then five simultaneous creations: exactly one reaches the 100th slot.
    for i in 1..99 {
        create_own(&client, &format!("filler {i}"), 30).await;
    }
    let attempts = (0..5).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            post_token(
                &client,
                "/api/v1/me/tokens",
                json!({"name": format!("race {i}"), "expires_in_days": 30}),
            )
            .await
        })
    });
    let mut created = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        let response = attempt.await.expect("task");
        match response.status.as_u16() {
            201 => created += 1,
            409 => assert_eq!(
                response.code(),
                Some("token_limit_reached"),
                "{}",
                response.json
            ),
            other => panic!("unexpected {other}: {}", response.json),
        }
    }
    assert_eq!(created, 1, "never more than 100 active tokens");
    let page = client
        .list_my_tokens(&ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 100);
}

// --- listing -------------------------------------------------------------------------------------

async fn list_is_a_paginated_envelope_of_records_newest_first(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, client) = server.user_client("lister@example.com").await;

    let mut created = Vec::new();
    for i in 0..25 {
        created.push(create_own(&client, &format!("token {i:02}"), 30).await);
    }
    let newest_first: Vec<Uuid> = created.iter().rev().map(|c| c.id).collect();

    let response = list_own_raw(&client, "").await;
    assert_eq!(response.status.as_u16(), 200, "body {}", response.json);
    assert_eq!(
        keys(&response.json),
        set(&["data", "total", "page", "limit"])
    );
    assert_eq!(response.json["total"], 25);
    assert_eq!(response.json["page"], 1);
    assert_eq!(response.json["limit"], 20);
    let data = response.json["data"].as_array().expect("data array");
    assert_eq!(data.len(), 20);
    for record in data {
        assert_eq!(
            keys(record),
            set(&[
                "id",
                "name",
                "created_at",
                "expires_at",
                "last_used_at",
                "token_hint",
                "expired"
            ]),
            "PATRecord fields"
        );
        assert_eq!(record["last_used_at"], Value::Null);
        assert_eq!(record["expired"], false);
        for field in ["created_at", "expires_at"] {
            assert!(
                record[field].as_str().is_some_and(|s| s.ends_with('Z')),
                "{field} is RFC 3339 UTC: {record}"
            );
        }
    }
    let ids: Vec<Uuid> = data
        .iter()
        .map(|r| r["id"].as_str().expect("id").parse().expect("uuid"))
        .collect();
    assert_eq!(ids, newest_first[..20], "newest first");

    // Each record matches what creation returned; the hint is "…" + the last four characters.
    for record in data {
        let id: Uuid = record["id"].as_str().expect("id").parse().expect("uuid");
        let original = created.iter().find(|c| c.id == id).expect("created");
        assert_eq!(record["name"], json!(original.name));
        assert_eq!(
            record["token_hint"],
            json!(format!("…{}", &original.token[46..]))
        );
        let listed: PatRecord = serde_json::from_value(record.clone()).expect("decode");
        assert_eq!(listed.expires_at, original.expires_at);
        assert!(listed.created_at <= listed.expires_at);
    }

    // The list never carries a value, or its secret part, anywhere.
    for query in ["", "?limit=100", "?page=2", "?limit=25"] {
        let text = list_own_raw(&client, query).await.json.to_string();
        for c in &created {
            assert!(!text.contains(&c.token), "value in the list");
            assert!(!text.contains(random_part(&c.token)), "random part in list");
        }
    }

    let response = list_own_raw(&client, "?page=1&limit=25").await;
    assert_eq!(response.json["limit"], 25);
    assert_eq!(response.json["data"].as_array().expect("data").len(), 25);

    let response = list_own_raw(&client, "?limit=500").await;
    assert_eq!(response.status.as_u16(), 200, "body {}", response.json);
    assert_eq!(response.json["limit"], 100, "clamped to 100");
    assert_eq!(response.json["data"].as_array().expect("data").len(), 25);

    let response = list_own_raw(&client, "?page=2&limit=20").await;
    assert_eq!(response.json["page"], 2);
    assert_eq!(response.json["total"], 25);
    let page2: Vec<Uuid> = response.json["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["id"].as_str().expect("id").parse().expect("uuid"))
        .collect();
    assert_eq!(page2, newest_first[20..]);

    let response = list_own_raw(&client, "?page=9").await;
    assert_eq!(response.status.as_u16(), 200);
    assert_eq!(response.json["data"], json!([]));
    assert_eq!(response.json["total"], 25);

    let refusals = [
        ("?page=0", "page"),
        ("?page=-1", "page"),
        ("?page=x", "page"),
        ("?limit=0", "limit"),
        ("?limit=abc", "limit"),
        ("?limit=1.5", "limit"),
    ]
    .map(|(query, field)| get(format!("/api/v1/me/tokens{query}")).invalid(field));
    expect_refusals(&client, refusals).await;

    // Revoked tokens are not listed and not counted.
    client
        .revoke_my_token(created[24].id)
        .await
        .expect("revoke");
    let response = list_own_raw(&client, "?limit=100").await;
    assert_eq!(response.json["total"], 24);
    assert!(
        !response
            .json
            .to_string()
            .contains(&created[24].id.to_string()),
        "revoked token listed"
    );

    // Another user's list is their own.
    let (_, other) = server.user_client("other-lister@example.com").await;
    let response = list_own_raw(&other, "").await;
    assert_eq!(response.json["total"], 0);
    assert_eq!(response.json["data"], json!([]));

    // A PAT may list its owner's tokens.
    let pat_client = server.anonymous().with_token(created[0].token.clone());
    let response = list_own_raw(&pat_client, "").await;
    assert_eq!(response.status.as_u16(), 200, "body {}", response.json);
    assert_eq!(response.json["total"], 24);

    // Without a credential there is nothing to list (and, RFC 6750 §3.1, no error code in the
    // challenge).
    let response = list_own_raw(&server.anonymous(), "").await;
    assert_eq!(response.status.as_u16(), 401);
    assert_eq!(
        response.header("www-authenticate"),
        Some(r#"Bearer realm="justiam""#)
    );
}

// --- revocation ----------------------------------------------------------------------------------

async fn revoked_tokens_stop_working_and_foreign_ids_are_not_found(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (owner, client) = server.user_client("revoker@example.com").await;
    let (_, stranger) = server.user_client("stranger@example.com").await;

    let token = create_own(&client, "to revoke", 30).await;
    let kept = create_own(&client, "to keep", 30).await;
    assert_works_as(&server, &token.token, owner.id).await;

    // Someone else's token id, an unknown id: 404, and nothing happens.
    let revoke = delete(format!("/api/v1/me/tokens/{}", token.id)).not_found("token");
    revoke.expect(&stranger).await;
    expect_refusals(
        &client,
        [
            delete(format!("/api/v1/me/tokens/{}", Uuid::now_v7())).not_found("token"),
            delete("/api/v1/me/tokens/not-a-uuid").invalid("path"),
        ],
    )
    .await;
    assert_works_as(&server, &token.token, owner.id).await;

    // Revocation: 204 with no body, then 401 invalid_token with the challenge.
    let response = raw(
        &client,
        Method::DELETE,
        &format!("/api/v1/me/tokens/{}", token.id),
        None,
    )
    .await;
    assert_eq!(response.status.as_u16(), 204);
    assert_eq!(response.json, Value::Null);
    assert_rejected(&server, &token.token).await;
    let response = raw(
        &server.anonymous().with_token(token.token.clone()),
        Method::GET,
        "/api/v1/me/tokens",
        None,
    )
    .await;
    assert_invalid_token(&response);

    // Revoking twice is 404; the other token is untouched.
    revoke.expect(&client).await;
    assert_works_as(&server, &kept.token, owner.id).await;
    assert!(own_record(&client, token.id).await.is_none());
    assert!(own_record(&client, kept.id).await.is_some());

    // A PAT may revoke a token of its owner, including itself.
    let pat = server.anonymous().with_token(kept.token.clone());
    let other = create_own(&client, "revoked by a pat", 30).await;
    pat.revoke_my_token(other.id)
        .await
        .expect("revoke with PAT");
    assert_rejected(&server, &other.token).await;
    pat.revoke_my_token(kept.id).await.expect("self-revoke");
    assert_rejected(&server, &kept.token).await;
}

// --- authentication by PAT -----------------------------------------------------------------------

async fn a_pat_carries_its_owners_privileges(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let admin_token = create_own(&admin, "admin automation", 30).await;
    let admin_pat = server.anonymous().with_token(admin_token.token.clone());

    // The admin's PAT lists users, like the admin.
    let users = admin_pat
        .list_users(&ListParams::default())
        .await
        .expect("admin PAT lists users");
    assert!(users.data.iter().any(|u| u.email == ADMIN_EMAIL));
    let me = admin_pat.me().await.expect("me");
    assert!(me.user.is_admin);
    assert!(
        me.permissions
            .iter()
            .any(|p| p == "service_accounts.tokens")
    );

    // A plain user's PAT is refused what the user is refused.
    let (user, client) = server.user_client("plain@example.com").await;
    let token = create_own(&client, "plain", 30).await;
    let user_pat = server.anonymous().with_token(token.token.clone());
    let me = user_pat.me().await.expect("me with PAT");
    assert_eq!(me.user.id, user.id);
    assert!(me.permissions.is_empty());
    let list_users = get("/api/v1/users").forbidden("users.view");
    list_users.expect(&user_pat).await;

    // The owner's *current* permissions: granting through a group takes effect at once.
    grant_through_group(&server, user.id, "users.view").await;
    let users = user_pat
        .list_users(&ListParams::default())
        .await
        .expect("PAT lists users after the grant");
    assert!(users.total >= 2);

    // And demoting the admin removes the admin's power from the admin's PAT at once.
    let second_admin = server
        .create_user("second-admin@example.com", "user-password-1")
        .await;
    admin
        .update_user(
            second_admin.id,
            &UpdateUser {
                is_admin: Some(true),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("promote");
    let second = server
        .login("second-admin@example.com", "user-password-1")
        .await;
    let second_token = create_own(&second, "second admin", 30).await;
    let second_pat = server.anonymous().with_token(second_token.token.clone());
    second_pat
        .list_users(&ListParams::default())
        .await
        .expect("admin PAT");
    admin
        .update_user(
            second_admin.id,
            &UpdateUser {
                is_admin: Some(false),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("demote");
    list_users.expect(&second_pat).await;
}

async fn a_pat_cannot_mint_tokens_for_its_own_user(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, client) = server.user_client("minter@example.com").await;
    let token = create_own(&client, "ci", 30).await;
    let pat = server.anonymous().with_token(token.token.clone());

    let renewal = |days: i64| {
        post(
            "/api/v1/me/tokens",
            json!({"name": "renewal", "expires_in_days": days}),
        )
        .refused(403, "interactive_auth_required", "")
    };
    renewal(365).expect(&pat).await;
    assert_eq!(
        client
            .list_my_tokens(&ListParams::default())
            .await
            .expect("list")
            .total,
        1
    );

    // Same for an administrator's PAT on /me/tokens...
    let admin = server.admin().await;
    let admin_token = create_own(&admin, "terraform", 30).await;
    let admin_pat = server.anonymous().with_token(admin_token.token.clone());
    renewal(30).expect(&admin_pat).await;

    // ...but it manages service-account tokens (what the Terraform provider does).
    let sa = server.create_service_account("tf-robot@example.com").await;
    let created = admin_pat
        .create_user_token(sa.id, "runner", 30)
        .await
        .expect("admin PAT creates a service-account token");
    assert!(has_scanner_shape(&created.token));
    assert_works_as(&server, &created.token, sa.id).await;
    let page = admin_pat
        .list_user_tokens(sa.id, &ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 1);
    assert_eq!(page.data[0].id, created.id);
    admin_pat
        .revoke_user_token(sa.id, created.id)
        .await
        .expect("revoke");
    assert_rejected(&server, &created.token).await;

    // A service account's own PAT cannot mint for the service account either.
    let sa_token = admin
        .create_user_token(sa.id, "self", 30)
        .await
        .expect("create");
    let sa_pat = server.anonymous().with_token(sa_token.token.clone());
    renewal(30).expect(&sa_pat).await;
}

async fn malformed_and_bad_checksum_values_are_rejected_without_the_database(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (user, client) = server.user_client("checksum@example.com").await;
    let token = create_own(&client, "real", 30).await;
    let value = token.token.clone();
    assert_works_as(&server, &value, user.id).await;

    let unknown = justiam_core::token::generate()
        .expect("randomness")
        .into_exposed();
    let mut bad = vec![
        flip(&value, 12),       // first random character
        flip(&value, 30),       // middle of the random part
        flip(&value, 43),       // last random character
        flip(&value, 44),       // first checksum character
        flip(&value, 49),       // last checksum character
        value[..49].to_owned(), // one short
        format!("{value}A"),    // one long
        value.replace(PREFIX, "justiam_pak_"),
        value.replace(PREFIX, "JUSTIAM_PAT_"),
        format!("{}-{}", &value[..30], &value[31..]),
        "justiam_pat_".to_owned(),
        format!("{PREFIX}{}", "A".repeat(38)),
        "not-a-token".to_owned(),
    ];
    // Case change of one letter in the random part (base62 is case-sensitive).
    let swapped: String = value
        .char_indices()
        .map(|(i, c)| {
            if i == 20 && c.is_ascii_alphabetic() {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect();
    if swapped != value {
        bad.push(swapped);
    }
    for credential in &bad {
        assert_ne!(credential, &value);
        assert_rejected(&server, credential).await;
    }
    // A well-formed value with a valid checksum that was never issued.
    assert_rejected(&server, &unknown).await;
    // No credential at all: the bare challenge of RFC 6750 §3.1.
    let response = raw(&server.anonymous(), Method::GET, "/api/v1/me", None).await;
    assert_eq!(response.status.as_u16(), 401);
    assert_eq!(
        response.header("www-authenticate"),
        Some(r#"Bearer realm="justiam""#)
    );
    // The real token still works after all that.
    assert_works_as(&server, &value, user.id).await;

    // Proof that shape and checksum are checked before any query: with the database gone, a
    // bad-checksum value is still a clean 401, while a well-formed one needs the database.
    server.pool().close().await;
    for credential in &bad {
        assert_rejected(&server, credential).await;
    }
    let response = me_with(&server, &unknown).await;
    assert_ne!(
        response.status.as_u16(),
        401,
        "a well-formed value reaches the database: {}",
        response.json
    );
    assert!(response.status.is_server_error(), "{}", response.json);
}

async fn expired_tokens_are_rejected_and_listed_as_expired(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (user, client) = server.user_client("expired@example.com").await;
    let token = create_own(&client, "short-lived", 1).await;
    let fresh = create_own(&client, "fresh", 1).await;
    assert_works_as(&server, &token.token, user.id).await;

    expire_in_db(&server, token.id).await;
    assert_rejected(&server, &token.token).await;
    let response = raw(
        &server.anonymous().with_token(token.token.clone()),
        Method::GET,
        "/api/v1/me/tokens",
        None,
    )
    .await;
    assert_invalid_token(&response);

    let page = client
        .list_my_tokens(&ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 2, "expired tokens stay listed until revoked");
    let listed = page.data.iter().find(|t| t.id == token.id).expect("listed");
    assert!(listed.expired);
    assert!(listed.expires_at.timestamp_millis() <= now_ms());
    let other = page.data.iter().find(|t| t.id == fresh.id).expect("listed");
    assert!(!other.expired);
    assert_works_as(&server, &fresh.token, user.id).await;

    // An expired token can still be revoked (removed from the list).
    client.revoke_my_token(token.id).await.expect("revoke");
    assert!(own_record(&client, token.id).await.is_none());
    assert_rejected(&server, &token.token).await;
}

// --- owner lifecycle -----------------------------------------------------------------------------

async fn deactivating_the_owner_stops_tokens_and_reactivating_restores_them(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (user, client) = server.user_client("inactive@example.com").await;
    let token = create_own(&client, "ci", 30).await;
    let sa = server
        .create_service_account("inactive-robot@example.com")
        .await;
    let sa_token = admin
        .create_user_token(sa.id, "runner", 30)
        .await
        .expect("sa token");
    assert_works_as(&server, &token.token, user.id).await;
    assert_works_as(&server, &sa_token.token, sa.id).await;

    for id in [user.id, sa.id] {
        let response = raw(
            &admin,
            Method::PUT,
            &format!("/api/v1/users/{id}"),
            Some(json!({"is_active": false})),
        )
        .await;
        assert_eq!(response.status.as_u16(), 200, "body {}", response.json);
        assert_eq!(response.json["is_active"], false);
    }
    assert_rejected(&server, &token.token).await;
    assert_rejected(&server, &sa_token.token).await;
    // The deactivated user's JWT ends too.
    assert_invalid_token(&raw(&client, Method::GET, "/api/v1/me", None).await);

    for id in [user.id, sa.id] {
        let response = raw(
            &admin,
            Method::PUT,
            &format!("/api/v1/users/{id}"),
            Some(json!({"is_active": true})),
        )
        .await;
        assert_eq!(response.status.as_u16(), 200, "body {}", response.json);
        assert_eq!(response.json["is_active"], true);
    }
    assert_works_as(&server, &token.token, user.id).await;
    assert_works_as(&server, &sa_token.token, sa.id).await;

    // Reactivation does not resurrect a token that expired meanwhile.
    expire_in_db(&server, token.id).await;
    assert_rejected(&server, &token.token).await;
}

async fn deleting_the_owner_deletes_the_tokens(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (user, client) = server.user_client("doomed@example.com").await;
    let first = create_own(&client, "one", 30).await;
    let second = create_own(&client, "two", 30).await;
    client.revoke_my_token(second.id).await.expect("revoke");
    let sa = server
        .create_service_account("doomed-robot@example.com")
        .await;
    let sa_token = admin
        .create_user_token(sa.id, "runner", 30)
        .await
        .expect("sa token");
    let (survivor, survivor_client) = server.user_client("survivor@example.com").await;
    let kept = create_own(&survivor_client, "kept", 30).await;
    assert_eq!(token_rows_of(&server, user.id).await, 2);
    assert_eq!(token_rows_of(&server, sa.id).await, 1);

    for id in [user.id, sa.id] {
        let response = raw(&admin, Method::DELETE, &format!("/api/v1/users/{id}"), None).await;
        assert_eq!(response.status.as_u16(), 204, "body {}", response.json);
    }
    assert_rejected(&server, &first.token).await;
    assert_rejected(&server, &sa_token.token).await;
    assert_eq!(token_rows_of(&server, user.id).await, 0, "rows gone");
    assert_eq!(token_rows_of(&server, sa.id).await, 0, "rows gone");
    for id in [first.id, second.id, sa_token.id] {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM personal_access_tokens WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(server.pool())
            .await
            .expect("count")
            .try_get("n")
            .expect("n");
        assert_eq!(n, 0);
    }
    // Other users keep theirs; the deleted service account's token list is 404.
    assert_works_as(&server, &kept.token, survivor.id).await;
    assert_eq!(token_rows_of(&server, survivor.id).await, 1);
    get(format!("/api/v1/users/{}/tokens", sa.id))
        .not_found("user")
        .expect(&admin)
        .await;
}

// --- last use ------------------------------------------------------------------------------------

async fn poll_last_used(client: &Client, id: Uuid, newer_than: Option<i64>) -> PatRecord {
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let record = own_record(client, id).await.expect("listed");
        if record
            .last_used_at
            .is_some_and(|at| newer_than.is_none_or(|t| at.timestamp_millis() > t))
        {
            return record;
        }
        assert!(
            Instant::now() < deadline,
            "last_used_at was not written within the flush interval: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn last_used_is_recorded_after_the_flush(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (user, client) = server.user_client("usage@example.com").await;
    let token = create_own(&client, "used", 30).await;
    let idle = create_own(&client, "idle", 30).await;

    // Listing with the JWT is not a use of any token.
    let record = own_record(&client, token.id).await.expect("listed");
    assert_eq!(record.last_used_at, None, "null until first use");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        own_record(&client, token.id)
            .await
            .expect("listed")
            .last_used_at,
        None,
        "creation and listing are not uses"
    );

    let before = now_ms();
    assert_works_as(&server, &token.token, user.id).await;
    let after = now_ms();
    let record = poll_last_used(&client, token.id, None).await;
    let first = record.last_used_at.expect("set").timestamp_millis();
    assert!(
        first >= before - 5 && first <= after + 5,
        "last_used_at is the time of the use"
    );
    let raw_list = list_own_raw(&client, "").await;
    let listed = raw_list.json["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|r| r["id"] == json!(token.id.to_string()))
        .expect("listed")
        .clone();
    assert!(
        listed["last_used_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z')),
        "{listed}"
    );
    let ip: Option<String> =
        sqlx::query("SELECT last_used_ip FROM personal_access_tokens WHERE id = $1")
            .bind(token.id.to_string())
            .fetch_one(server.pool())
            .await
            .expect("select")
            .try_get("last_used_ip")
            .expect("ip");
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        own_record(&client, idle.id)
            .await
            .expect("listed")
            .last_used_at,
        None,
        "an unused token stays null"
    );

    // Several uses within one interval are one write, and a later use moves it forward (uses are
    // noted once per token and second, so the later ones come in the next second).
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for _ in 0..5 {
        assert_works_as(&server, &token.token, user.id).await;
    }
    let record = poll_last_used(&client, token.id, Some(first)).await;
    assert!(record.last_used_at.expect("set").timestamp_millis() > first);

    // A failed authentication (revoked token) is not a use.
    let revoked = create_own(&client, "revoked", 30).await;
    client.revoke_my_token(revoked.id).await.expect("revoke");
    assert_rejected(&server, &revoked.token).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let last: Option<i64> =
        sqlx::query("SELECT last_used_at FROM personal_access_tokens WHERE id = $1")
            .bind(revoked.id.to_string())
            .fetch_one(server.pool())
            .await
            .expect("select")
            .try_get("last_used_at")
            .expect("last_used_at");
    assert_eq!(last, None);
}

// --- service accounts ----------------------------------------------------------------------------

async fn a_service_account_calls_the_api_with_its_token_but_cannot_log_in(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let sa = server.create_service_account("ci-robot@example.com").await;
    assert!(sa.is_service_account);

    let created = admin
        .create_user_token(sa.id, "CI", 90)
        .await
        .expect("create");
    let pat = server.anonymous().with_token(created.token.clone());
    let me = pat.me().await.expect("the service account calls the API");
    assert_eq!(me.user.id, sa.id);
    assert!(me.user.is_service_account);
    // The service account lists its own tokens with its token.
    let own = pat
        .list_my_tokens(&ListParams::default())
        .await
        .expect("list");
    assert_eq!(own.total, 1);
    assert_eq!(own.data[0].id, created.id);

    // No password works for it: the same answer as a wrong password.
    let logins = ["", "user-password-1", "anything-at-all"].map(|password| {
        post(
            "/api/v1/auth/login",
            json!({"email": "ci-robot@example.com", "password": password}),
        )
        .refused(401, "invalid_credentials", "")
    });
    for response in expect_refusals(&server.anonymous(), logins).await {
        assert!(response.json.get("token").is_none());
    }

    // With a permission granted through a group, its token carries it.
    get("/api/v1/users")
        .forbidden("users.view")
        .expect(&pat)
        .await;
    grant_through_group(&server, sa.id, "users.view").await;
    pat.list_users(&ListParams::default())
        .await
        .expect("granted permission");
}

async fn service_account_token_endpoints_check_their_target(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (human, _) = server.user_client("human@example.com").await;
    let sa = server
        .create_service_account("target-robot@example.com")
        .await;
    let other_sa = server
        .create_service_account("other-robot@example.com")
        .await;
    let unknown = Uuid::now_v7();
    let body = json!({"name": "runner", "expires_in_days": 30});

    let tokens_of = |id: Uuid| format!("/api/v1/users/{id}/tokens");
    let not_a_service_account =
        |call: Call| call.refused(400, "not_a_service_account", "service account");
    let me = admin.me().await.expect("me");
    expect_refusals(
        &admin,
        [
            // A human user: 400 not_a_service_account, for create, list and revoke.
            not_a_service_account(post(tokens_of(human.id), body.clone())),
            not_a_service_account(get(tokens_of(human.id))),
            // The admin (a human) too, through the service-account path.
            not_a_service_account(post(tokens_of(me.user.id), body.clone())),
            // An unknown user: 404.
            post(tokens_of(unknown), body.clone()).not_found("user"),
            get(tokens_of(unknown)).not_found("user"),
            delete(format!("{}/{}", tokens_of(unknown), Uuid::now_v7())).not_found("user"),
            post("/api/v1/users/not-a-uuid/tokens", body.clone()).invalid("path"),
            // Validation is the same as /me/tokens.
            post(
                tokens_of(sa.id),
                json!({"name": "  ", "expires_in_days": 30}),
            )
            .invalid("name"),
        ],
    )
    .await;

    let token = admin
        .create_user_token(sa.id, "runner", 30)
        .await
        .expect("create");
    post(tokens_of(sa.id), body.clone())
        .conflict("runner")
        .expect(&admin)
        .await;
    let other_token = admin
        .create_user_token(other_sa.id, "runner", 30)
        .await
        .expect("create");

    // List: envelope and records of that service account only.
    let response = raw(
        &admin,
        Method::GET,
        &format!("/api/v1/users/{}/tokens?limit=500", sa.id),
        None,
    )
    .await;
    assert_eq!(response.status.as_u16(), 200, "body {}", response.json);
    assert_eq!(
        keys(&response.json),
        set(&["data", "total", "page", "limit"])
    );
    assert_eq!(response.json["total"], 1);
    assert_eq!(response.json["page"], 1);
    assert_eq!(response.json["limit"], 100);
    assert_eq!(response.json["data"][0]["id"], json!(token.id.to_string()));
    assert_eq!(
        keys(&response.json["data"][0]),
        set(&[
            "id",
            "name",
            "created_at",
            "expires_at",
            "last_used_at",
            "token_hint",
            "expired"
        ])
    );
    assert!(!response.json.to_string().contains(&token.token));
    get(format!("{}?page=0", tokens_of(sa.id)))
        .invalid("page")
        .expect(&admin)
        .await;

    let (_, human_client) = server.user_client("human2@example.com").await;
    let human_token = create_own(&human_client, "mine", 30).await;
    expect_refusals(
        &admin,
        [
            // Revoking a token through the wrong user: 404, and the token keeps working.
            delete(format!("{}/{}", tokens_of(sa.id), other_token.id)).not_found("token"),
            delete(format!("{}/{}", tokens_of(other_sa.id), token.id)).not_found("token"),
            delete(format!("{}/{}", tokens_of(sa.id), Uuid::now_v7())).not_found("token"),
            // A service account's token through the admin's own /me/tokens: 404.
            delete(format!("/api/v1/me/tokens/{}", token.id)).not_found("token"),
            // A human's own token through a service account's path: 404 as well.
            delete(format!("{}/{}", tokens_of(sa.id), human_token.id)).not_found("token"),
        ],
    )
    .await;
    assert!(
        me_with(&server, &human_token.token)
            .await
            .status
            .is_success()
    );
    assert_works_as(&server, &token.token, sa.id).await;
    assert_works_as(&server, &other_token.token, other_sa.id).await;

    let response = raw(
        &admin,
        Method::DELETE,
        &format!("/api/v1/users/{}/tokens/{}", sa.id, token.id),
        None,
    )
    .await;
    assert_eq!(response.status.as_u16(), 204, "body {}", response.json);
    assert_rejected(&server, &token.token).await;
    assert_works_as(&server, &other_token.token, other_sa.id).await;
    let page = admin
        .list_user_tokens(sa.id, &ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 0);
}

async fn service_account_tokens_need_the_permission_held_now(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let sa = server
        .create_service_account("gated-robot@example.com")
        .await;
    let existing = admin
        .create_user_token(sa.id, "existing", 30)
        .await
        .expect("create");
    let (operator, jwt) = server.user_client("operator@example.com").await;
    // The operator's own PAT, made while they lacked the permission.
    let pat = server
        .anonymous()
        .with_token(create_own(&jwt, "operator automation", 30).await.token);

    let body = json!({"name": "runner", "expires_in_days": 30});
    let sa_tokens = format!("/api/v1/users/{}/tokens", sa.id);
    let refusals = [
        post(&sa_tokens, body.clone()),
        get(&sa_tokens),
        delete(format!("{sa_tokens}/{}", existing.id)),
        // Even for unknown users: the permission is checked first, nothing leaks.
        post(
            format!("/api/v1/users/{}/tokens", Uuid::now_v7()),
            body.clone(),
        ),
    ]
    .map(|call| call.forbidden("service_accounts.tokens"));
    for caller in [&jwt, &pat] {
        expect_refusals(caller, refusals.clone()).await;
    }
    assert_works_as(&server, &existing.token, sa.id).await;

    // Gain it through a group; the same JWT and the same PAT work without a new login.
    let group = grant_through_group(&server, operator.id, "service_accounts.tokens").await;
    let by_jwt = jwt
        .create_user_token(sa.id, "by jwt", 30)
        .await
        .expect("JWT creates");
    let by_pat = pat
        .create_user_token(sa.id, "by pat", 30)
        .await
        .expect("PAT creates");
    assert_works_as(&server, &by_jwt.token, sa.id).await;
    assert_works_as(&server, &by_pat.token, sa.id).await;
    let page = pat
        .list_user_tokens(sa.id, &ListParams::default())
        .await
        .expect("PAT lists");
    assert_eq!(page.total, 3);
    assert_eq!(
        page.data
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["by pat", "by jwt", "existing"]
    );
    jwt.list_user_tokens(sa.id, &ListParams::default())
        .await
        .expect("JWT lists");
    pat.revoke_user_token(sa.id, existing.id)
        .await
        .expect("PAT revokes");
    assert_rejected(&server, &existing.token).await;
    // Still not for a human target.
    expect_refusals(
        &pat,
        [
            post(
                format!("/api/v1/users/{}/tokens", operator.id),
                body.clone(),
            )
            .refused(400, "not_a_service_account", "service account"),
            // The permission does not let a PAT mint tokens for its own user.
            post("/api/v1/me/tokens", body.clone()).refused(403, "interactive_auth_required", ""),
        ],
    )
    .await;

    // Leaving the group removes it at once, from the JWT and from the PAT.
    sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group.to_string())
        .bind(operator.id.to_string())
        .execute(server.pool())
        .await
        .expect("leave group");
    server.after_direct_sql();
    for caller in [&jwt, &pat] {
        get(&sa_tokens)
            .forbidden("service_accounts.tokens")
            .expect(caller)
            .await;
    }
    // Tokens it created keep working: they belong to the service account.
    assert_works_as(&server, &by_pat.token, sa.id).await;
}

// --- audit and storage ---------------------------------------------------------------------------

async fn creation_and_revocation_are_audited_without_the_value(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let admin_id = admin.me().await.expect("me").user.id;
    let (user, client) = server.user_client("audited@example.com").await;
    let sa = server
        .create_service_account("audited-robot@example.com")
        .await;

    let own = create_own(&client, "audited own", 30).await;
    client
        .revoke_my_token(own.id)
        .await
        .expect("revoke with JWT");
    let admin_token = create_own(&admin, "admin pat", 30).await;
    let admin_pat = server.anonymous().with_token(admin_token.token.clone());
    let sa_token = admin_pat
        .create_user_token(sa.id, "audited sa", 30)
        .await
        .expect("create");
    admin_pat
        .revoke_user_token(sa.id, sa_token.id)
        .await
        .expect("revoke with PAT");
    // A refused creation is not an event.
    post(
        "/api/v1/me/tokens",
        json!({"name": "x", "expires_in_days": 3}),
    )
    .refused(403, "interactive_auth_required", "")
    .expect(&admin_pat)
    .await;

    let rows = token_audit(&server).await;
    let expected = [
        (
            "token.created",
            user.id,
            "jwt",
            None,
            own.id,
            "audited own",
            user.id,
        ),
        (
            "token.revoked",
            user.id,
            "jwt",
            None,
            own.id,
            "audited own",
            user.id,
        ),
        (
            "token.created",
            admin_id,
            "jwt",
            None,
            admin_token.id,
            "admin pat",
            admin_id,
        ),
        (
            "token.created",
            admin_id,
            "pat",
            Some(admin_token.id),
            sa_token.id,
            "audited sa",
            sa.id,
        ),
        (
            "token.revoked",
            admin_id,
            "pat",
            Some(admin_token.id),
            sa_token.id,
            "audited sa",
            sa.id,
        ),
    ];
    assert_eq!(
        rows.len(),
        expected.len(),
        "one entry per creation and revocation"
    );
    for (row, (action, actor, credential, credential_id, target, name, owner)) in
        rows.iter().zip(expected)
    {
        assert_eq!(row.action, action);
        assert_eq!(
            row.actor_id.as_deref(),
            Some(actor.to_string().as_str()),
            "{action}"
        );
        assert_eq!(row.credential.as_deref(), Some(credential), "{action}");
        assert_eq!(
            row.credential_id.as_deref(),
            credential_id.map(|id| id.to_string()).as_deref(),
            "{action}"
        );
        assert_eq!(row.target_type.as_deref(), Some("token"));
        assert_eq!(row.target_id.as_deref(), Some(target.to_string().as_str()));
        let details: Value =
            serde_json::from_str(row.details.as_deref().expect("details")).expect("json");
        assert_eq!(details["token_name"], name);
        assert_eq!(details["target_user_id"], json!(owner.to_string()));
    }

    // No column of the audit log holds a value.
    for row in dump_table(&server, "audit_log").await {
        for (column, text) in row {
            for value in [&own.token, &admin_token.token, &sa_token.token] {
                assert!(
                    !text.contains(value.as_str()),
                    "audit_log.{column} holds a token"
                );
                assert!(
                    !text.contains(random_part(value)),
                    "audit_log.{column} holds a token's random part"
                );
            }
        }
    }
}

async fn the_database_never_holds_a_token_value(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (user, client) = server.user_client("stored@example.com").await;
    let sa = server
        .create_service_account("stored-robot@example.com")
        .await;

    let mut values = Vec::new();
    for i in 0..5 {
        values.push(create_own(&client, &format!("stored {i}"), 30).await);
    }
    values.push(
        admin
            .create_user_token(sa.id, "stored sa", 30)
            .await
            .expect("sa token"),
    );
    // Use them (so last_used_* is written), revoke one, expire one, refuse a bad one.
    for v in &values[..5] {
        assert_works_as(&server, &v.token, user.id).await;
    }
    assert_works_as(&server, &values[5].token, sa.id).await;
    assert_rejected(&server, &flip(&values[0].token, 20)).await;
    client.revoke_my_token(values[1].id).await.expect("revoke");
    expire_in_db(&server, values[2].id).await;
    poll_last_used(&client, values[0].id, None).await;

    // The row holds the SHA-256 digest of the whole value and the hint "…" + last four.
    for v in &values {
        let row = sqlx::query(
            "SELECT token_digest, token_hint FROM personal_access_tokens WHERE id = $1",
        )
        .bind(v.id.to_string())
        .fetch_one(server.pool())
        .await
        .expect("row");
        let digest: Vec<u8> = row.try_get("token_digest").expect("digest");
        assert_eq!(digest, justiam_core::token::digest(&v.token).to_vec());
        assert_eq!(digest.len(), 32);
        let hint: String = row.try_get("token_hint").expect("hint");
        assert_eq!(hint, format!("…{}", &v.token[46..]));
    }

    // Scan every cell of every table for the value and its random part.
    let tables = all_tables(&server).await;
    for table in ["personal_access_tokens", "audit_log", "users", "sessions"] {
        assert!(tables.iter().any(|t| t == table), "{table} in {tables:?}");
    }
    let mut cells = 0;
    for table in &tables {
        for row in dump_table(&server, table).await {
            for (column, text) in row {
                cells += 1;
                for v in &values {
                    assert!(
                        !text.contains(&v.token),
                        "{table}.{column} holds a token value"
                    );
                    assert!(
                        !text.contains(random_part(&v.token)),
                        "{table}.{column} holds a token's random part"
                    );
                    // Nor, for that matter, hex of the value.
                    let hex: String = v.token.bytes().map(|b| format!("{b:02x}")).collect();
                    assert!(
                        !text.contains(&hex),
                        "{table}.{column} holds a hex-encoded token"
                    );
                }
            }
        }
    }
    let token_rows = dump_table(&server, "personal_access_tokens").await;
    assert_eq!(token_rows.len(), 6);
    assert!(cells > 6 * 10, "the scan read the token table");
}

/// The names of a token list answer, in order.
fn names_of(page: &justiam_types::Page<PatRecord>) -> Vec<String> {
    page.data.iter().map(|t| t.name.clone()).collect()
}

/// `?search=` on `/me/tokens` and `/users/{id}/tokens`: a case-insensitive substring of the name,
/// where `%`, `_` and `\` are only themselves, the same on SQLite and PostgreSQL.
async fn token_lists_search_names(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, client) = server.user_client("searcher@example.com").await;
    for name in [
        "CI Pipeline",
        "ci-nightly",
        "Deploy 100%",
        "deploy_bot",
        "deployXbot",
        "back\\slash",
        "École build",
        "Laptop",
    ] {
        create_own(&client, name, 30).await;
    }
    let gone = create_own(&client, "ci revoked", 30).await;
    client.revoke_my_token(gone.id).await.expect("revoke");

    let search = |text: &str, limit: Option<u32>| ListParams {
        search: Some(text.to_owned()),
        limit,
        ..ListParams::default()
    };
    for (text, expected) in [
        ("ci", vec!["ci-nightly", "CI Pipeline"]),
        ("CI PIPE", vec!["CI Pipeline"]),
        ("  laptop ", vec!["Laptop"]),
        ("%", vec!["Deploy 100%"]),
        ("_", vec!["deploy_bot"]),
        ("deploy_", vec!["deploy_bot"]),
        ("\\", vec!["back\\slash"]),
        ("École", vec!["École build"]),
        ("BUILD", vec!["École build"]),
        ("nothing like it", vec![]),
    ] {
        let page = client
            .list_my_tokens(&search(text, None))
            .await
            .unwrap_or_else(|e| panic!("search {text:?}: {e}"));
        assert_eq!(names_of(&page), expected, "search {text:?}");
        assert_eq!(page.total, expected.len() as u64, "total of {text:?}");
    }
    // The search and the pages agree.
    let first = client
        .list_my_tokens(&search("ci", Some(1)))
        .await
        .expect("page 1");
    assert_eq!(
        (first.total, names_of(&first)),
        (2, vec!["ci-nightly".to_owned()])
    );
    // No search, or a blank one: everything that is not revoked.
    for blank in [None, Some("   ".to_owned())] {
        let all = client
            .list_my_tokens(&ListParams {
                search: blank,
                ..ListParams::default()
            })
            .await
            .expect("list");
        assert_eq!(all.total, 8);
    }
    get(format!("/api/v1/me/tokens?search={}", "a".repeat(201)))
        .invalid("search")
        .expect(&client)
        .await;

    // A service account's list, by an operator.
    let admin = server.admin().await;
    let bot = server
        .create_service_account("search-bot@example.com")
        .await;
    for name in ["Terraform apply", "terraform-plan", "Ansible"] {
        admin
            .create_user_token(bot.id, name, 30)
            .await
            .expect("service account token");
    }
    let page = admin
        .list_user_tokens(bot.id, &search("TERRAFORM", None))
        .await
        .expect("search");
    assert_eq!(names_of(&page), vec!["terraform-plan", "Terraform apply"]);
    let page = admin
        .list_user_tokens(bot.id, &search("ansible", None))
        .await
        .expect("search");
    assert_eq!(names_of(&page), vec!["Ansible"]);
}

crate::on_both_databases!(
    token_lists_search_names,
    creation_answers_the_value_once_with_the_exact_shape,
    expires_in_days_accepts_1_to_365_and_nothing_else,
    names_are_trimmed_required_and_bounded,
    active_names_are_unique_per_owner,
    a_user_holds_at_most_100_active_tokens,
    name_uniqueness_and_the_limit_hold_under_concurrency,
    list_is_a_paginated_envelope_of_records_newest_first,
    revoked_tokens_stop_working_and_foreign_ids_are_not_found,
    a_pat_carries_its_owners_privileges,
    a_pat_cannot_mint_tokens_for_its_own_user,
    malformed_and_bad_checksum_values_are_rejected_without_the_database,
    expired_tokens_are_rejected_and_listed_as_expired,
    deactivating_the_owner_stops_tokens_and_reactivating_restores_them,
    deleting_the_owner_deletes_the_tokens,
    last_used_is_recorded_after_the_flush,
    a_service_account_calls_the_api_with_its_token_but_cannot_log_in,
    service_account_token_endpoints_check_their_target,
    service_account_tokens_need_the_permission_held_now,
    creation_and_revocation_are_audited_without_the_value,
    the_database_never_holds_a_token_value,
);

// --- logs ----------------------------------------------------------------------------------------

/// Runs the real binary at `LOG_LEVEL=debug`, exercises every token path, and checks that neither
/// stdout nor stderr ever shows a token value, its random part, or the JWT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_never_contain_a_token_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    let password = "log-test-password-1";
    let server = LoggedServer::start(&[
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("j.db").display()),
        ),
        ("PORT", "0".to_owned()),
        ("BIND_ADDR", "127.0.0.1".to_owned()),
        ("LOG_LEVEL", "debug".to_owned()),
        ("JUSTIAM_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL.to_owned()),
        ("JUSTIAM_BOOTSTRAP_ADMIN_PASSWORD", password.to_owned()),
        ("PAT_USAGE_FLUSH_SECONDS", "1".to_owned()),
    ]);
    let anonymous = Client::new(&server.url);

    let login = anonymous.login(ADMIN_EMAIL, password).await.expect("login");
    let jwt = login.token.clone();
    let admin = anonymous.with_token(jwt.clone());
    let created = admin.create_my_token("logged", 30).await.expect("create");
    let value = created.token.clone();
    let pat = anonymous.with_token(value.clone());
    pat.me().await.expect("use the PAT");
    pat.list_users(&ListParams::default())
        .await
        .expect("PAT lists users");
    let refused = raw(
        &pat,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({"name": "x", "expires_in_days": 3})),
    )
    .await;
    assert_eq!(refused.status.as_u16(), 403);
    let bad = flip(&value, 20);
    let response = raw(
        &anonymous.with_token(bad.clone()),
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await;
    assert_invalid_token(&response);
    let unknown = justiam_core::token::generate()
        .expect("randomness")
        .into_exposed();
    let response = raw(
        &anonymous.with_token(unknown.clone()),
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await;
    assert_invalid_token(&response);
    // A service account's token, created and used.
    let sa = admin
        .create_user(&justiam_types::CreateUser {
            email: "log-robot@example.com".to_owned(),
            is_service_account: Some(true),
            ..justiam_types::CreateUser::default()
        })
        .await
        .expect("service account");
    let sa_token = admin
        .create_user_token(sa.id, "sa", 30)
        .await
        .expect("sa token");
    anonymous
        .with_token(sa_token.token.clone())
        .me()
        .await
        .expect("sa uses token");
    // Wait for a usage flush, then revoke and use the revoked value.
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let page = admin
            .list_my_tokens(&ListParams::default())
            .await
            .expect("list");
        if page
            .data
            .iter()
            .any(|t| t.id == created.id && t.last_used_at.is_some())
        {
            break;
        }
        assert!(Instant::now() < deadline, "no usage flush within 6 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    admin.revoke_my_token(created.id).await.expect("revoke");
    let response = raw(&pat, Method::GET, "/api/v1/me", None).await;
    assert_invalid_token(&response);
    admin
        .revoke_user_token(sa.id, sa_token.id)
        .await
        .expect("revoke sa");
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let (stdout, stderr) = server.stop();
    // The logs are really at debug level and really cover the requests.
    assert!(stderr.contains("DEBUG"), "debug lines expected:\n{stderr}");
    assert!(
        stderr.contains("/me/tokens"),
        "request spans expected:\n{stderr}"
    );
    for (what, secret) in [
        ("the token value", value.as_str()),
        ("the token's random part", random_part(&value)),
        ("the bad-checksum value", bad.as_str()),
        ("the bad value's random part", random_part(&bad)),
        ("the unknown value", unknown.as_str()),
        ("the service account's token", sa_token.token.as_str()),
        (
            "the service account's random part",
            random_part(&sa_token.token),
        ),
        ("the JWT", jwt.as_str()),
        ("the admin password", password),
    ] {
        assert!(!stdout.contains(secret), "stdout contains {what}");
        assert!(!stderr.contains(secret), "stderr contains {what}");
    }
    // The JWT's signature alone must not appear either.
    let signature = jwt.rsplit('.').next().expect("signature");
    assert!(
        !stderr.contains(signature) && !stdout.contains(signature),
        "JWT signature logged"
    );
}
