//! Conventions every endpoint shares: the error body, strict JSON, body limits, routing errors,
//! request ids, probes, version, audit entries and timestamp format.

use justiam_client::RawResponse;
use justiam_types::CreateUser;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Row;

use crate::common::*;

/// `2024-05-01T12:34:56Z` or `2024-05-01T12:34:56.123Z`: RFC 3339 in UTC with `Z`.
pub fn is_rfc3339_z(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let fixed = bytes.len() >= 20
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19);
    if !fixed || !text.ends_with('Z') {
        return false;
    }
    let fraction = &text[19..text.len() - 1];
    fraction.is_empty()
        || (fraction.len() >= 2
            && fraction.starts_with('.')
            && fraction[1..].bytes().all(|b| b.is_ascii_digit()))
}

/// Every non-2xx answer: JSON with a `code` tag and a non-empty `message`.
fn assert_error_shape(response: &RawResponse, what: &str) {
    assert!(
        !response.status.is_success(),
        "{what}: expected an error, got {}",
        response.status
    );
    assert!(
        response
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{what}: content-type {:?}",
        response.header("content-type")
    );
    let code = response.json.get("code").and_then(Value::as_str);
    assert!(
        code.is_some_and(|c| !c.is_empty() && c.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
        "{what}: code in {}",
        response.json
    );
    let message = response.json.get("message").and_then(Value::as_str);
    assert!(
        message.is_some_and(|m| m.len() > 5),
        "{what}: message in {}",
        response.json
    );
    if let Some(details) = response.json.get("details") {
        assert!(details.is_object(), "{what}: details {details}");
    }
}

/// A request with an exact body and content type, which the typed client never sends.
async fn send_bytes(
    server: &TestServer,
    token: Option<&str>,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> RawResponse {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", server.url))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request reaches the server");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    RawResponse {
        status,
        headers,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn admin_token(server: &TestServer) -> String {
    server
        .anonymous()
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("admin login")
        .token
}

async fn every_error_has_code_and_message(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let anonymous = server.anonymous();
    let (_, user) = server.user_client("plain@example.com").await;
    let nobody = uuid::Uuid::now_v7();
    let cases: Vec<(&str, RawResponse)> = vec![
        (
            "400 validation",
            raw(
                &admin,
                Method::POST,
                "/api/v1/users",
                Some(json!({"email": "x"})),
            )
            .await,
        ),
        (
            "400 pagination",
            raw(&admin, Method::GET, "/api/v1/users?page=0", None).await,
        ),
        (
            "400 path",
            raw(&admin, Method::GET, "/api/v1/users/xyz", None).await,
        ),
        (
            "401 missing",
            raw(&anonymous, Method::GET, "/api/v1/me", None).await,
        ),
        (
            "401 invalid token",
            raw(
                &anonymous.with_token("nope"),
                Method::GET,
                "/api/v1/me",
                None,
            )
            .await,
        ),
        (
            "401 credentials",
            raw(
                &anonymous,
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"email": "a@b.cd", "password": "xxxxxxxx"})),
            )
            .await,
        ),
        (
            "403 permission",
            raw(&user, Method::GET, "/api/v1/users", None).await,
        ),
        (
            "404 user",
            raw(
                &admin,
                Method::GET,
                &format!("/api/v1/users/{nobody}"),
                None,
            )
            .await,
        ),
        (
            "404 route",
            raw(&admin, Method::GET, "/api/v1/nothing-here", None).await,
        ),
        (
            "405",
            raw(&admin, Method::PATCH, "/api/v1/users", None).await,
        ),
        (
            "409",
            raw(
                &admin,
                Method::POST,
                "/api/v1/users",
                Some(json!({"email": ADMIN_EMAIL})),
            )
            .await,
        ),
    ];
    let expected = [400, 400, 400, 401, 401, 401, 403, 404, 404, 405, 409];
    for ((what, response), status) in cases.iter().zip(expected) {
        assert_eq!(
            response.status.as_u16(),
            status,
            "{what}: {}",
            response.json
        );
        assert_error_shape(response, what);
    }
    let token = admin_token(&server).await;
    let media = send_bytes(
        &server,
        Some(&token),
        Method::POST,
        "/api/v1/users",
        Some("text/plain"),
        b"{}".to_vec(),
    )
    .await;
    assert_error_shape(&media, "415");
    let invalid = send_bytes(
        &server,
        Some(&token),
        Method::POST,
        "/api/v1/users",
        Some("application/json"),
        b"{".to_vec(),
    )
    .await;
    assert_error_shape(&invalid, "invalid json");
}

async fn unknown_json_fields_are_rejected(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let create = raw(
        &admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "new@example.com", "nickname": "newbie"})),
    )
    .await;
    assert_error(&create, 400, "validation_error", "nickname");
    let login = raw(
        &server.anonymous(),
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "remember_me": true})),
    )
    .await;
    assert_error(&login, 400, "validation_error", "remember_me");
    let me = admin.me().await.expect("me").user;
    let update = raw(
        &admin,
        Method::PUT,
        &format!("/api/v1/users/{}", me.id),
        Some(json!({"first_name": "A", "password": "sneaky-password"})),
    )
    .await;
    assert_error(&update, 400, "validation_error", "password");
    let change = raw(
        &admin,
        Method::PUT,
        "/api/v1/me/password",
        Some(json!({"current_password": ADMIN_PASSWORD, "new_password": "another-pw-1", "confirm": "x"})),
    )
    .await;
    assert_error(&change, 400, "validation_error", "confirm");
    let not_object = raw(&admin, Method::POST, "/api/v1/users", Some(json!(["a"]))).await;
    assert_eq!(not_object.status.as_u16(), 400, "body {}", not_object.json);

    // Nothing was applied.
    let page = admin
        .list_users(&justiam_client::ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 1);
    assert_eq!(page.data[0].first_name, "");
    server.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

async fn malformed_json_wrong_media_type_and_oversized_bodies(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = admin_token(&server).await;
    for body in [
        &b"{\"email\": "[..],
        b"not json",
        b"{\"email\":\"a@b.cd\"} trailing",
        b"",
    ] {
        let response = send_bytes(
            &server,
            Some(&token),
            Method::POST,
            "/api/v1/users",
            Some("application/json"),
            body.to_vec(),
        )
        .await;
        assert_error(&response, 400, "invalid_json", "");
    }
    let login = send_bytes(
        &server,
        None,
        Method::POST,
        "/api/v1/auth/login",
        Some("application/json; charset=utf-8"),
        b"{'email': 'x'}".to_vec(),
    )
    .await;
    assert_error(&login, 400, "invalid_json", "");

    let valid = serde_json::to_vec(&json!({"email": "typed@example.com"})).expect("json");
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let response = send_bytes(
            &server,
            Some(&token),
            Method::POST,
            "/api/v1/users",
            content_type,
            valid.clone(),
        )
        .await;
        assert_error(&response, 415, "unsupported_media_type", "application/json");
    }
    let charset = send_bytes(
        &server,
        Some(&token),
        Method::POST,
        "/api/v1/users",
        Some("application/json; charset=utf-8"),
        valid,
    )
    .await;
    assert_eq!(charset.status.as_u16(), 201, "body {}", charset.json);

    // 64 KiB is the limit: a larger body is refused before it is parsed.
    let big_name = "x".repeat(70 * 1024);
    let big = serde_json::to_vec(&json!({"email": "big@example.com", "first_name": big_name}))
        .expect("json");
    let response = send_bytes(
        &server,
        Some(&token),
        Method::POST,
        "/api/v1/users",
        Some("application/json"),
        big,
    )
    .await;
    assert_error(&response, 413, "payload_too_large", "");
    let login = send_bytes(
        &server,
        None,
        Method::POST,
        "/api/v1/auth/login",
        Some("application/json"),
        serde_json::to_vec(&json!({"email": ADMIN_EMAIL, "password": "p".repeat(65 * 1024)}))
            .expect("json"),
    )
    .await;
    assert_error(&login, 413, "payload_too_large", "");
    // A body just under the limit is read (and then judged on its content).
    let under = serde_json::to_vec(
        &json!({"email": "under@example.com", "first_name": "y".repeat(60 * 1024)}),
    )
    .expect("json");
    let response = send_bytes(
        &server,
        Some(&token),
        Method::POST,
        "/api/v1/users",
        Some("application/json"),
        under,
    )
    .await;
    assert_error(&response, 400, "validation_error", "first_name");
}

async fn unknown_routes_and_methods_answer_json(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    for path in [
        "/api/v1/nope",
        "/nope",
        "/api/v2/users",
        "/api/v1/users/a/b/c",
    ] {
        let response = raw(&admin, Method::GET, path, None).await;
        assert_error(&response, 404, "not_found", "");
        assert_error_shape(&response, path);
    }
    let anonymous = raw(&server.anonymous(), Method::GET, "/api/v1/nope", None).await;
    assert_error(&anonymous, 404, "not_found", "");
    for (method, path) in [
        (Method::DELETE, "/api/v1/auth/login"),
        (Method::GET, "/api/v1/auth/logout"),
        (Method::PATCH, "/api/v1/users"),
        (Method::POST, "/api/v1/me"),
        (Method::POST, "/healthz"),
    ] {
        let response = raw(&admin, method.clone(), path, None).await;
        assert_error(&response, 405, "method_not_allowed", "");
        assert_error_shape(&response, path);
    }
}

async fn responses_carry_a_request_id(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let mut seen = Vec::new();
    for (method, path) in [
        (Method::GET, "/healthz"),
        (Method::GET, "/api/v1/me"),
        (Method::GET, "/api/v1/nope"),
        (Method::GET, "/api/v1/users/bad"),
    ] {
        let response = raw(&admin, method, path, None).await;
        let id = response
            .header("x-request-id")
            .unwrap_or_else(|| panic!("x-request-id on {path}"))
            .to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{path}: {id}");
        seen.push(id);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "every request gets its own id");

    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/version", server.url))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .expect("request");
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("trace-me-123"),
        "a caller's request id is kept"
    );
}

async fn probes_and_version(backend: Backend) {
    let server = TestServer::start(backend).await;
    let anonymous = server.anonymous();
    let health = raw(&anonymous, Method::GET, "/healthz", None).await;
    assert_eq!(health.status.as_u16(), 200, "body {}", health.json);
    assert_eq!(health.json["status"], "ok");
    let ready = raw(&anonymous, Method::GET, "/readyz", None).await;
    assert_eq!(ready.status.as_u16(), 200, "body {}", ready.json);
    assert_eq!(ready.json["status"], "ready");
    let version = raw(&anonymous, Method::GET, "/api/v1/version", None).await;
    assert_eq!(version.status.as_u16(), 200, "body {}", version.json);
    assert_eq!(version.json, json!({"version": env!("CARGO_PKG_VERSION")}));
    let typed = anonymous.version().await.expect("version");
    assert_eq!(typed.version, env!("CARGO_PKG_VERSION"));
}

async fn readyz_and_requests_report_an_unreachable_database(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let admin = server.admin().await;
    server.pool().close().await;
    let health = raw(&server.anonymous(), Method::GET, "/healthz", None).await;
    assert_eq!(health.status.as_u16(), 200, "the process is up");
    let ready = raw(&server.anonymous(), Method::GET, "/readyz", None).await;
    assert_eq!(ready.status.as_u16(), 503, "body {}", ready.json);
    let list = raw(&admin, Method::GET, "/api/v1/users", None).await;
    assert_eq!(list.status.as_u16(), 503, "body {}", list.json);
    assert_error_shape(&list, "database down");
    let text = list.json.to_string().to_lowercase();
    for internal in ["sqlx", "pool", "sqlite", "postgres"] {
        assert!(!text.contains(internal), "no internals leak: {text}");
    }
    server.stop().await;
}

struct AuditRow {
    action: String,
    actor_id: Option<String>,
    credential: Option<String>,
    target_id: Option<String>,
    details: Option<String>,
}

async fn audit_rows(server: &TestServer) -> Vec<AuditRow> {
    sqlx::query(
        "SELECT action, actor_id, credential, target_id, details FROM audit_log ORDER BY at, id",
    )
    .fetch_all(server.pool())
    .await
    .expect("read audit_log")
    .iter()
    .map(|r| AuditRow {
        action: r.try_get("action").expect("action"),
        actor_id: r.try_get("actor_id").expect("actor_id"),
        credential: r.try_get("credential").expect("credential"),
        target_id: r.try_get("target_id").expect("target_id"),
        details: r.try_get("details").expect("details"),
    })
    .collect()
}

async fn audit_entries_for_logins_logouts_and_user_changes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let admin_id = admin.me().await.expect("me").user.id.to_string();
    let start = audit_rows(&server).await.len();

    let failed = raw(
        &server.anonymous(),
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({"email": ADMIN_EMAIL, "password": "wrong-password"})),
    )
    .await;
    assert_eq!(failed.status.as_u16(), 401);
    let unknown = raw(
        &server.anonymous(),
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({"email": "ghost@example.com", "password": "wrong-password"})),
    )
    .await;
    assert_eq!(unknown.status.as_u16(), 401);
    let user = admin
        .create_user(&CreateUser {
            email: "audited@example.com".to_owned(),
            password: Some("audited-password".to_owned()),
            ..CreateUser::default()
        })
        .await
        .expect("create");
    let user_id = user.id.to_string();
    let session = server
        .login("audited@example.com", "audited-password")
        .await;
    raw(
        &admin,
        Method::PUT,
        &format!("/api/v1/users/{user_id}"),
        Some(json!({"first_name": "Audrey"})),
    )
    .await;
    let out = raw(&session, Method::POST, "/api/v1/auth/logout", None).await;
    assert_eq!(out.status.as_u16(), 204);
    let pat = admin.create_my_token("audit test", 1).await.expect("pat");
    let by_pat = server.anonymous().with_token(pat.token);
    let deleted = raw(
        &by_pat,
        Method::DELETE,
        &format!("/api/v1/users/{user_id}"),
        None,
    )
    .await;
    assert_eq!(deleted.status.as_u16(), 204, "body {}", deleted.json);

    let rows = audit_rows(&server).await;
    let rows = &rows[start..];
    let find =
        |action: &str| -> Vec<&AuditRow> { rows.iter().filter(|r| r.action == action).collect() };

    let failures = find("auth.login_failed");
    assert_eq!(failures.len(), 2, "two failed logins");
    assert_eq!(failures[0].actor_id.as_deref(), Some(admin_id.as_str()));
    assert_eq!(failures[0].credential.as_deref(), Some("password"));
    assert_eq!(
        failures[1].actor_id, None,
        "an unknown email has no actor id"
    );

    let successes = find("auth.login_succeeded");
    assert!(
        successes
            .iter()
            .any(|r| r.actor_id.as_deref() == Some(user_id.as_str())
                && r.credential.as_deref() == Some("password")),
        "the user's login"
    );

    let created = find("user.created");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].actor_id.as_deref(), Some(admin_id.as_str()));
    assert_eq!(created[0].credential.as_deref(), Some("jwt"));
    assert_eq!(created[0].target_id.as_deref(), Some(user_id.as_str()));

    let updated = find("user.updated");
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].target_id.as_deref(), Some(user_id.as_str()));
    assert!(
        updated[0]
            .details
            .as_deref()
            .is_some_and(|d| d.contains("first_name")),
        "details name the changed fields"
    );

    let logout = find("auth.logout");
    assert_eq!(logout.len(), 1);
    assert_eq!(logout[0].actor_id.as_deref(), Some(user_id.as_str()));
    assert_eq!(logout[0].credential.as_deref(), Some("jwt"));

    let removed = find("user.deleted");
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].actor_id.as_deref(), Some(admin_id.as_str()));
    assert_eq!(removed[0].credential.as_deref(), Some("pat"));
    assert_eq!(removed[0].target_id.as_deref(), Some(user_id.as_str()));

    // No password ever lands in the audit log.
    let all = audit_rows(&server).await;
    for row in &all {
        let text = row.details.as_deref().unwrap_or_default();
        for secret in ["audited-password", "wrong-password", ADMIN_PASSWORD] {
            assert!(!text.contains(secret), "{} details: {text}", row.action);
        }
    }
}

async fn timestamps_are_rfc3339_utc_with_z(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let created = raw(
        &admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "time@example.com"})),
    )
    .await;
    assert_eq!(created.status.as_u16(), 201);
    let login = raw(
        &server.anonymous(),
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
    )
    .await;
    let list = raw(&admin, Method::GET, "/api/v1/users", None).await;
    let me = raw(&admin, Method::GET, "/api/v1/me", None).await;
    let mut stamps = vec![
        created.json["created_at"].clone(),
        created.json["updated_at"].clone(),
        login.json["expires_at"].clone(),
        login.json["user"]["created_at"].clone(),
        me.json["created_at"].clone(),
        me.json["updated_at"].clone(),
    ];
    for user in list.json["data"].as_array().expect("data") {
        stamps.push(user["created_at"].clone());
        stamps.push(user["updated_at"].clone());
    }
    assert_eq!(stamps.len(), 10);
    for stamp in &stamps {
        let text = stamp.as_str().unwrap_or_default();
        assert!(is_rfc3339_z(text), "{stamp} is not RFC 3339 with Z");
    }
    assert!(!is_rfc3339_z("2024-05-01T12:34:56+00:00"));
    assert!(!is_rfc3339_z("2024-05-01 12:34:56Z"));
    assert!(is_rfc3339_z("2024-05-01T12:34:56.123Z"));
}

crate::on_both_databases!(
    every_error_has_code_and_message,
    unknown_json_fields_are_rejected,
    malformed_json_wrong_media_type_and_oversized_bodies,
    unknown_routes_and_methods_answer_json,
    responses_carry_a_request_id,
    probes_and_version,
    readyz_and_requests_report_an_unreachable_database,
    audit_entries_for_logins_logouts_and_user_changes,
    timestamps_are_rfc3339_utc_with_z,
);
