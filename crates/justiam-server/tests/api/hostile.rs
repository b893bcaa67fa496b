//! Hostile input through HTTP: randomly generated JSON bodies (wrong types, huge numbers, unicode,
//! null bytes, deep nesting, broken syntax), hostile query strings, path ids and credentials. The
//! server must answer every one with a documented client error and the error body — never a `5xx`.
//! Then the secrets scenario: at `LOG_LEVEL=debug` with JSON logs, no password, JWT or token value
//! reaches the logs, the audit API, any error body, or the database file.
//!
//! The generators are a seeded xorshift (no extra dependency): a failure prints the seed and the
//! body, and `HOSTILE_SEED=<n>` replays a run.

use std::time::{Duration, Instant};

use justiam_client::{Client, RawResponse};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

// --- a tiny reproducible generator ------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn from_env(salt: u64) -> (Rng, u64) {
        let seed = std::env::var("HOSTILE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        (
            Rng((seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1),
            seed,
        )
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Pieces of strings that break naive code: controls, null bytes, escapes, astral characters,
/// right-to-left marks, lone surrogates (invalid JSON), SQL and path metacharacters.
const STRING_PIECES: &[&str] = &[
    "a",
    "Zz9",
    " ",
    "\\t",
    "\\n",
    "\\u0000",
    "\\u001f",
    "\\u007f",
    "\\u00e9",
    "é",
    "\u{1F600}",
    "\u{202E}",
    "\u{FEFF}",
    "\u{3000}",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\\"",
    "\\\\",
    "'; DROP TABLE users; --",
    "%00",
    "../../etc/passwd",
    "${jndi:x}",
    "<script>",
    "justiam_pat_",
    "*.view",
    "users.*",
    "@",
    "example.org",
];

fn random_string(rng: &mut Rng) -> String {
    let mut s = String::from("\"");
    let pieces = match rng.below(10) {
        0 => 0,
        1 => 120 + rng.below(200), // long
        _ => rng.below(12),
    };
    for _ in 0..pieces {
        let piece: &str = STRING_PIECES[rng.below(STRING_PIECES.len())];
        s.push_str(piece);
    }
    s.push('"');
    s
}

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "30",
    "365",
    "366",
    "1.5",
    "30.0",
    "-0",
    "1e2",
    "1E400",
    "-1e400",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "123456789012345678901234567890123456789",
    "0.0000000000000000000000000001",
    "4294967296",
];

/// Some JSON text (valid or, now and then, deliberately broken).
fn random_value(rng: &mut Rng, depth: usize) -> String {
    let choice = if depth > 3 {
        rng.below(5)
    } else {
        rng.below(8)
    };
    match choice {
        0 => "null".to_owned(),
        1 => rng.pick(&["true", "false"]).to_string(),
        2 => rng.pick(NUMBERS).to_string(),
        3 | 4 => random_string(rng),
        5 => {
            let n = rng.below(4);
            let items: Vec<String> = (0..n).map(|_| random_value(rng, depth + 1)).collect();
            format!("[{}]", items.join(","))
        }
        6 => {
            let n = rng.below(4);
            let items: Vec<String> = (0..n)
                .map(|_| format!("{}:{}", random_string(rng), random_value(rng, depth + 1)))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        _ => rng
            .pick(&[
                "",
                "{",
                "[1,",
                "nul",
                "\"unterminated",
                "{\"a\" 1}",
                "{'a': 1}",
                "NaN",
                "Infinity",
                "\u{0}",
                "{}garbage",
            ])
            .to_string(),
    }
}

/// A body for an endpoint with `fields`: usually an object using the real field names with
/// well-formed or hostile values, sometimes any JSON at all.
/// A field name and a generator of well-formed values for it.
type Field = (&'static str, fn(&mut Rng) -> String);

fn random_body(rng: &mut Rng, fields: &[Field]) -> String {
    match rng.below(10) {
        0 => random_value(rng, 0),
        1 => {
            // Very deep nesting: refused by the parser's recursion limit, not by a stack overflow.
            let depth = 200 + rng.below(5000);
            format!("{}{}", "[".repeat(depth), "]".repeat(depth))
        }
        _ => {
            let mut members = Vec::new();
            for (name, good) in fields {
                if rng.chance(85) {
                    let value = if rng.chance(60) {
                        good(rng)
                    } else {
                        random_value(rng, 1)
                    };
                    members.push(format!("\"{name}\":{value}"));
                }
            }
            if rng.chance(10) {
                members.push(format!("{}:{}", random_string(rng), random_value(rng, 1)));
            }
            if rng.chance(5) && !members.is_empty() {
                // A duplicate key.
                let first = members[0].clone();
                members.push(first);
            }
            format!("{{{}}}", members.join(","))
        }
    }
}

fn good_name(rng: &mut Rng) -> String {
    format!(
        "\"tok {} {}\"",
        rng.next() % 1_000_000,
        rng.pick(&["", "é", "\u{1F600}"])
    )
}

fn good_days(rng: &mut Rng) -> String {
    (1 + rng.below(365)).to_string()
}

fn good_permissions(rng: &mut Rng) -> String {
    rng.pick(&[
        "[\"users.view\"]",
        "[\"*.view\"]",
        "[\"users.*\",\"groups.view\"]",
        "[]",
        "[\"nope.nope\"]",
        "[\"*\"]",
    ])
    .to_string()
}

fn good_email(rng: &mut Rng) -> String {
    format!("\"fuzz{}@example.org\"", rng.next() % 1_000_000_000)
}

fn good_person(rng: &mut Rng) -> String {
    rng.pick(&["\"Ada\"", "\"Zoë\"", "\"\"", "\"  Grace  \""])
        .to_string()
}

fn good_bool(rng: &mut Rng) -> String {
    rng.pick(&["true", "false"]).to_string()
}

fn good_password(rng: &mut Rng) -> String {
    rng.pick(&["\"a-long-password-1\"", "\"short\""])
        .to_string()
}

/// Posts `body` as raw bytes with a JSON content type.
async fn post_raw(
    http: &reqwest::Client,
    url: &str,
    credential: &str,
    body: Vec<u8>,
    content_type: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        http.post(url)
            .bearer_auth(credential)
            .header("content-type", content_type)
            .body(body)
            .send(),
    )
    .await
    .expect("answered within 30 s")
    .expect("request reaches the server");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body").to_vec();
    (status, headers, bytes)
}

/// Asserts a non-2xx answer is the documented error body: JSON `{code, message, details?}` with a
/// non-empty message and nothing else.
fn assert_error_body(status: u16, bytes: &[u8], context: &str) -> Value {
    let json: Value = serde_json::from_slice(bytes).unwrap_or_else(|_| {
        panic!(
            "{status} without a JSON error body ({context}): {}",
            String::from_utf8_lossy(bytes)
        )
    });
    let object = json
        .as_object()
        .unwrap_or_else(|| panic!("{json} ({context})"));
    assert!(
        object["code"].as_str().is_some_and(|c| !c.is_empty()),
        "code in {json} ({context})"
    );
    assert!(
        object["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message in {json} ({context})"
    );
    for key in object.keys() {
        assert!(
            matches!(key.as_str(), "code" | "message" | "details"),
            "unexpected key {key} in {json} ({context})"
        );
    }
    json
}

// --- JSON bodies ----------------------------------------------------------------------------------

const ROUNDS: usize = 250;

async fn random_token_bodies_get_a_documented_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let login = server
        .anonymous()
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login");
    let admin = server.anonymous().with_token(login.token.clone());
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/me/tokens", server.url);
    let (mut rng, seed) = Rng::from_env(1);
    let fields: &[Field] = &[
        ("name", good_name),
        ("expires_in_days", good_days),
        ("permissions", good_permissions),
    ];
    let mut tally = std::collections::BTreeMap::<u16, usize>::new();
    for round in 0..ROUNDS {
        let body = random_body(&mut rng, fields);
        let context = format!("seed {seed}, round {round}, body {body:?}");
        let (status, headers, bytes) = post_raw(
            &http,
            &url,
            &login.token,
            body.clone().into_bytes(),
            "application/json",
        )
        .await;
        *tally.entry(status).or_default() += 1;
        match status {
            201 => {
                let created: Value = serde_json::from_slice(&bytes).expect("created JSON");
                assert_eq!(
                    headers.get("cache-control").and_then(|v| v.to_str().ok()),
                    Some("no-store"),
                    "{context}"
                );
                let token = created["token"].as_str().expect("token");
                assert!(token.starts_with("justiam_pat_") && token.len() == 50);
                // What was created must be exactly what was asked for.
                let sent: Value = serde_json::from_str(&body).expect("accepted bodies are JSON");
                assert_eq!(
                    created["name"].as_str(),
                    sent["name"].as_str().map(str::trim),
                    "{context}"
                );
                // Any number without a fraction is an integer (`30.0`), as JSON Schema says.
                let days = sent["expires_in_days"].as_f64().expect("numeric days");
                assert!(
                    days.fract() == 0.0 && (1.0..=365.0).contains(&days),
                    "{context}"
                );
                let id: uuid::Uuid = created["id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .expect("id");
                // Keep room under the 100-token limit so creations stay possible.
                if rng.chance(80) {
                    admin.revoke_my_token(id).await.expect("revoke");
                }
            }
            400 | 409 => {
                let error = assert_error_body(status, &bytes, &context);
                let code = error["code"].as_str().unwrap_or_default();
                let allowed: &[&str] = if status == 400 {
                    &["validation_error", "invalid_json"]
                } else {
                    &["conflict", "token_limit_reached"]
                };
                assert!(allowed.contains(&code), "code {code} ({context})");
            }
            other => panic!(
                "status {other} ({context}): {}",
                String::from_utf8_lossy(&bytes)
            ),
        }
    }
    eprintln!("POST /me/tokens, seed {seed}: {tally:?}");
    assert!(
        tally.get(&400).copied().unwrap_or(0) > ROUNDS / 4,
        "{tally:?}"
    );
    assert!(tally.get(&201).copied().unwrap_or(0) > 0, "{tally:?}");
    // The server is still healthy and the admin's session still works.
    admin.me().await.expect("still answering");
}

async fn random_user_bodies_get_a_documented_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let login = server
        .anonymous()
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login");
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/users", server.url);
    let (mut rng, seed) = Rng::from_env(2);
    let fields: &[Field] = &[
        ("email", good_email),
        ("first_name", good_person),
        ("last_name", good_person),
        ("password", good_password),
        ("is_active", good_bool),
        ("is_admin", good_bool),
        ("is_service_account", good_bool),
    ];
    let mut tally = std::collections::BTreeMap::<u16, usize>::new();
    let mut emails: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let mut body = random_body(&mut rng, fields);
        // Now and then reuse an email that exists, in another case: a 409, not a second user.
        if rng.chance(10)
            && let Some(existing) = emails.last()
        {
            body = json!({"email": existing.to_uppercase()}).to_string();
        }
        let context = format!("seed {seed}, round {round}, body {body:?}");
        let (status, _, bytes) = post_raw(
            &http,
            &url,
            &login.token,
            body.clone().into_bytes(),
            "application/json",
        )
        .await;
        *tally.entry(status).or_default() += 1;
        match status {
            201 => {
                let user: Value = serde_json::from_slice(&bytes).expect("user JSON");
                let sent: Value = serde_json::from_str(&body).expect("accepted bodies are JSON");
                assert_eq!(
                    user["email"].as_str(),
                    sent["email"].as_str().map(str::trim),
                    "{context}"
                );
                assert!(user.get("password").is_none() && user.get("password_hash").is_none());
                if sent["is_service_account"] == json!(true) {
                    assert!(sent.get("password").is_none_or(Value::is_null), "{context}");
                }
                emails.push(user["email"].as_str().expect("email").to_owned());
            }
            400 | 409 => {
                let error = assert_error_body(status, &bytes, &context);
                let code = error["code"].as_str().unwrap_or_default();
                if status == 400 {
                    assert!(
                        ["validation_error", "invalid_json"].contains(&code),
                        "code {code} ({context})"
                    );
                    // A validation error names its field.
                    if code == "validation_error" {
                        assert!(error["details"]["field"].is_string(), "{error} ({context})");
                    }
                } else {
                    assert_eq!(code, "conflict", "{context}");
                }
            }
            other => panic!(
                "status {other} ({context}): {}",
                String::from_utf8_lossy(&bytes)
            ),
        }
    }
    eprintln!("POST /users, seed {seed}: {tally:?}");
    assert!(tally.get(&201).copied().unwrap_or(0) > 0, "{tally:?}");
    assert!(
        tally.get(&400).copied().unwrap_or(0) > ROUNDS / 4,
        "{tally:?}"
    );
    // Every created email is listed exactly once.
    let admin = server.anonymous().with_token(login.token);
    for email in emails.iter().take(10) {
        let page = admin
            .list_users(&justiam_client::ListParams {
                search: Some(email.clone()),
                ..Default::default()
            })
            .await
            .expect("search");
        assert_eq!(
            page.data
                .iter()
                .filter(|u| u.email.eq_ignore_ascii_case(email))
                .count(),
            1,
            "{email}"
        );
    }
}

/// Bodies no JSON parser should see: invalid UTF-8, raw null bytes, a BOM, huge bodies, other
/// content types.
async fn malformed_bytes_sizes_and_content_types(backend: Backend) {
    let server = TestServer::start(backend).await;
    let login = server
        .anonymous()
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login");
    let http = reqwest::Client::new();
    for path in ["/api/v1/me/tokens", "/api/v1/users", "/api/v1/auth/login"] {
        let url = format!("{}{path}", server.url);
        let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
            (
                b"{\"name\":\"\xff\xfe\"}".to_vec(),
                "application/json",
                400,
                "invalid_json",
            ),
            (
                b"{\"name\":\"a\0b\"}".to_vec(),
                "application/json",
                400,
                "invalid_json",
            ),
            (
                b"\0\0\0\0".to_vec(),
                "application/json",
                400,
                "invalid_json",
            ),
            (
                b"\xef\xbb\xbf{\"name\":\"bom\",\"expires_in_days\":3}".to_vec(),
                "application/json",
                400,
                "invalid_json",
            ),
            (Vec::new(), "application/json", 400, "invalid_json"),
            (
                br#"{"name":"x","expires_in_days":3}"#.to_vec(),
                "text/plain",
                415,
                "unsupported_media_type",
            ),
            (
                br#"{"name":"x","expires_in_days":3}"#.to_vec(),
                "application/x-www-form-urlencoded",
                415,
                "unsupported_media_type",
            ),
            // 64 KiB is the limit: one byte more is a 413, whatever the content.
            (
                format!("{{\"name\":\"{}\"}}", "a".repeat(64 * 1024)).into_bytes(),
                "application/json",
                413,
                "payload_too_large",
            ),
            (
                vec![b' '; 256 * 1024],
                "application/json",
                413,
                "payload_too_large",
            ),
        ];
        for (body, content_type, status, code) in cases {
            let context = format!(
                "{path} {content_type} {:?}",
                String::from_utf8_lossy(&body[..body.len().min(60)])
            );
            let sent = tokio::time::timeout(
                Duration::from_secs(30),
                http.post(&url)
                    .bearer_auth(&login.token)
                    .header("content-type", content_type)
                    .body(body)
                    .send(),
            )
            .await
            .expect("answered within 30 s");
            let response = match sent {
                Ok(response) => response,
                // A server that refuses an oversized body may close the connection while the
                // client is still sending it: the client then sees no answer. Acceptable for 413.
                Err(e) if status == 413 => {
                    eprintln!("{context}: connection closed on an oversized body ({e})");
                    continue;
                }
                Err(e) => panic!("{context}: {e}"),
            };
            let got = response.status().as_u16();
            if matches!(got, 413 | 415) {
                // The body was left unread: the client is told not to reuse the connection.
                assert_eq!(
                    response.headers().get("connection").map(|v| v.as_bytes()),
                    Some(&b"close"[..]),
                    "{context}"
                );
            }
            let bytes = response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            assert_eq!(
                got,
                status,
                "{context}: {}",
                String::from_utf8_lossy(&bytes)
            );
            let error = assert_error_body(got, &bytes, &context);
            if code == "invalid_json" {
                // An unknown field may be refused before its broken value is read.
                assert!(
                    ["invalid_json", "validation_error"]
                        .contains(&error["code"].as_str().unwrap_or("")),
                    "{context}: {error}"
                );
            } else {
                assert_eq!(error["code"], code, "{context}");
            }
        }
    }
    // A body just under the limit is parsed (and refused for its content, not its size).
    let url = format!("{}/api/v1/me/tokens", server.url);
    let body = format!(
        "{{\"name\":\"{}\",\"expires_in_days\":3}}",
        "a".repeat(64 * 1024 - 40)
    );
    assert!(body.len() < 64 * 1024);
    let (status, _, bytes) = post_raw(
        &http,
        &url,
        &login.token,
        body.into_bytes(),
        "application/json",
    )
    .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(
        assert_error_body(status, &bytes, "near limit")["code"],
        "validation_error"
    );
}

/// Hostile `page`/`limit`/`search` values and path ids: `200` or a `400`/`404` error body.
async fn hostile_queries_and_path_ids(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (mut rng, seed) = Rng::from_env(3);
    let values = [
        "0",
        "-1",
        "1",
        "100",
        "101",
        "1.5",
        "1e3",
        "+5",
        " 7 ",
        "99999999999999999999999999",
        "4294967296",
        "abc",
        "%00",
        "%FF",
        "%C3%A9",
        "%F0%9F%98%80",
        "' OR 1=1 --",
        "%25",
        "_",
        "",
        "%5B%5D",
    ];
    let lists = [
        "/api/v1/users",
        "/api/v1/me/tokens",
        "/api/v1/groups",
        "/api/v1/admin-roles",
        "/api/v1/audit",
        "/api/v1/sessions",
        "/api/v1/tokens",
    ];
    for round in 0..150 {
        let path = rng.pick(&lists);
        let mut query = Vec::new();
        for key in ["page", "limit", "search"] {
            if rng.chance(70) {
                query.push(format!("{key}={}", rng.pick(&values)));
            }
        }
        if rng.chance(10) {
            query.push("page=1&page=2".to_owned());
        }
        let target = format!("{path}?{}", query.join("&"));
        let response = raw(&admin, Method::GET, &target, None).await;
        let status = response.status.as_u16();
        let context = format!(
            "seed {seed} round {round}: GET {target} → {}",
            response.json
        );
        match status {
            200 => {
                let limit = response.json["limit"].as_u64().expect("limit");
                assert!((1..=100).contains(&limit), "{context}");
                assert!(
                    response.json["data"].as_array().expect("data").len() as u64 <= limit,
                    "{context}"
                );
            }
            400 => {
                assert_eq!(response.code(), Some("validation_error"), "{context}");
                let field = response.json["details"]["field"].as_str().unwrap_or("");
                assert!(
                    ["page", "limit", "search", "query"].contains(&field) || !field.is_empty(),
                    "{context}"
                );
            }
            _ => panic!("{context}"),
        }
    }
    // A NUL (or any control character) in a free-text filter: a 400 on both databases
    // (PostgreSQL text cannot hold a NUL; this was a 500 there).
    for target in [
        "/api/v1/users?search=%00",
        "/api/v1/sessions?search=a%00b",
        "/api/v1/groups?search=%1F",
        "/api/v1/audit?action=auth.%00",
    ] {
        let response = raw(&admin, Method::GET, target, None).await;
        assert_error(&response, 400, "validation_error", "control characters");
    }
    // A NUL in a login email is an ordinary failed login, not a 500.
    let response = raw(
        &server.anonymous(),
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({"email": "ad\u{0}min@example.com", "password": "x"})),
    )
    .await;
    assert!(
        [400, 401].contains(&response.status.as_u16()),
        "login with a NUL: {} {}",
        response.status,
        response.json
    );
    // A repeated filter of the lists with extra filters: a JSON 400 too (schemathesis found
    // axum's plain-text rejection here).
    for target in [
        "/api/v1/audit?until=x&until=y",
        "/api/v1/sessions?user_id=a&user_id=b",
        "/api/v1/tokens?unused_since=a&unused_since=b",
    ] {
        let response = raw(&admin, Method::GET, target, None).await;
        assert_error(&response, 400, "validation_error", "duplicate field");
        assert_eq!(response.json["details"]["field"], "query", "{target}");
    }
    let ids = [
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "%00",
        "..%2F..%2Fetc%2Fpasswd",
        "1",
        "%F0%9F%98%80",
        "0190e3a1-0000-7000-8000-00000000000%27",
        &"a".repeat(5000),
    ];
    for id in ids {
        for (method, path) in [
            (Method::GET, format!("/api/v1/users/{id}")),
            (Method::DELETE, format!("/api/v1/me/tokens/{id}")),
            (Method::GET, format!("/api/v1/groups/{id}")),
            (Method::GET, format!("/api/v1/users/{id}/tokens")),
            (Method::DELETE, format!("/api/v1/sessions/{id}")),
        ] {
            let response = raw(&admin, method.clone(), &path, None).await;
            let status = response.status.as_u16();
            assert!(
                [400, 404].contains(&status),
                "{method} {}: {status} {}",
                &path[..path.len().min(80)],
                response.json
            );
            assert!(response.code().is_some(), "{}", response.json);
        }
    }
}

/// Hostile `Authorization` headers: always `401` with the RFC 6750 challenge (or `429` once the
/// per-address limit of failed authentications is reached), never a `5xx`.
async fn hostile_credentials_are_refused(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.token_auth_failures_per_minute = 0;
    })
    .await;
    let good = server
        .admin()
        .await
        .create_my_token("good", 3)
        .await
        .expect("token");
    let jwt = server
        .anonymous()
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login")
        .token;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/me", server.url);
    let mut values: Vec<Vec<u8>> = vec![
        b"Bearer".to_vec(),
        b"Bearer ".to_vec(),
        b"Bearer  ".to_vec(),
        b"Basic YWRtaW46cGFzcw==".to_vec(),
        format!("Basic {}", good.token).into_bytes(),
        format!("Bearer {}x", good.token).into_bytes(),
        format!("Bearer {}", &good.token[..49]).into_bytes(),
        format!("Bearer {}", good.token.to_uppercase()).into_bytes(),
        format!("Bearer {} {}", good.token, good.token).into_bytes(),
        format!(
            "Bearer {}",
            good.token.replace("justiam_pat_", "justiam_pat_\u{0}")
        )
        .into_bytes(),
        format!("Bearer {jwt}x").into_bytes(),
        format!("Bearer {}", jwt.replace('.', "")).into_bytes(),
        format!("Bearer {}.", jwt).into_bytes(),
        b"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.".to_vec(),
        b"Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA".to_vec(),
        format!("Bearer {}", "A".repeat(7000)).into_bytes(),
        b"Bearer \xc3\xa9\xff".to_vec(),
        b"Bearer justiam_pat_\xf0\x9f\x98\x80".to_vec(),
    ];
    let (mut rng, seed) = Rng::from_env(4);
    for _ in 0..60 {
        let mut v = b"Bearer ".to_vec();
        for _ in 0..rng.below(80) {
            v.push(*rng.pick(b"justiam_pat_0123456789ABCxyz.-=~+/ \t\x80\xff\"'"));
        }
        values.push(v);
    }
    for value in values {
        let shown = String::from_utf8_lossy(&value[..value.len().min(80)]).into_owned();
        let Ok(header) = reqwest::header::HeaderValue::from_bytes(&value) else {
            continue; // Not sendable over HTTP/1.1 at all.
        };
        let response = tokio::time::timeout(
            Duration::from_secs(30),
            http.get(&url).header("authorization", header).send(),
        )
        .await
        .expect("answer within 30 s")
        .expect("reaches the server");
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await.expect("body");
        assert_eq!(
            status,
            401,
            "seed {seed} {shown:?}: {}",
            String::from_utf8_lossy(&bytes)
        );
        let error = assert_error_body(status, &bytes, &shown);
        // A refused bearer credential names the error; a header carrying none (another scheme, an
        // empty value) gets the bare challenge of RFC 6750 §3.1.
        let expected = match error["code"].as_str().unwrap_or("") {
            "invalid_token" => r#"Bearer error="invalid_token""#,
            "unauthorized" => r#"Bearer realm="justiam""#,
            other => panic!("code {other:?}: {error}"),
        };
        assert_eq!(challenge.as_deref(), Some(expected), "{shown:?}");
        // The refused value is never echoed back.
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&good.token[12..44]), "echoed: {text}");
    }
    // The good credentials still work.
    let me = raw(
        &server.anonymous().with_token(good.token),
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await;
    assert_eq!(me.status.as_u16(), 200);
}

// --- the document's rules, both ways --------------------------------------------------------------

/// Sends `body` and asserts the status; on a `400`, that the error names `field`.
async fn expect(
    client: &Client,
    method: Method,
    path: &str,
    body: Value,
    status: u16,
    field: &str,
) {
    let shown: String = body.to_string().chars().take(120).collect();
    let context = format!("{method} {path} {shown}");
    let response = raw(client, method, path, Some(body)).await;
    assert_eq!(
        response.status.as_u16(),
        status,
        "{context}: {}",
        response.json
    );
    if status == 400 {
        assert_eq!(response.code(), Some("validation_error"), "{context}");
        assert_eq!(
            response.json["details"]["field"], field,
            "{context}: {}",
            response.json
        );
    }
}

async fn get(client: &Client, target: &str) -> RawResponse {
    raw(client, Method::GET, target, None).await
}

/// Each class of mismatch schemathesis's input checks found between the OpenAPI document and the
/// server, at its edges: what the document calls valid is accepted, what it calls invalid is a
/// `400` naming the field. (schemathesis itself runs every check in `scripts/fuzz-api`.)
async fn the_documented_rules_hold_both_ways(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let post = Method::POST;

    // Names: 1–100 characters *as sent*, not blank, no control character even in the padding.
    let group = "/api/v1/groups";
    for (name, status) in [
        (format!("  {}", "g".repeat(98)), 201),
        (format!("  {}", "h".repeat(99)), 400),
        ("\u{3000}Ops\u{a0}".to_owned(), 201),
        ("\u{3000}\u{2029}".to_owned(), 400),
        ("\u{feff}".to_owned(), 201),
        ("Ops\n".to_owned(), 400),
        ("\tOps".to_owned(), 400),
        ("Op\u{85}s".to_owned(), 400),
    ] {
        expect(
            &admin,
            post.clone(),
            group,
            json!({ "name": name }),
            status,
            "name",
        )
        .await;
    }
    // Descriptions: 0–1000 characters as sent; tab and line feed are the only controls allowed.
    for (n, (description, status)) in [
        (format!("{}\n\t", "d".repeat(998)), 201),
        (format!(" {}", "d".repeat(1000)), 400),
        ("line\r\nline".to_owned(), 400),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({ "name": format!("described {n}"), "description": description });
        expect(&admin, post.clone(), group, body, status, "description").await;
    }
    // Admin role names: not `idp:` in any case, after any spaces.
    for (name, status) in [
        (" IdP:ops", 400),
        ("\u{2003}idp:x", 400),
        ("ops idp:x", 201),
    ] {
        let body = json!({ "name": name, "permissions": [] });
        expect(
            &admin,
            post.clone(),
            "/api/v1/admin-roles",
            body,
            status,
            "name",
        )
        .await;
    }

    // Emails: at most 254 characters as sent, spaces around them trimmed, none inside.
    let at_max = format!("{}@example.org", "a".repeat(242));
    for (email, status) in [
        (at_max.clone(), 201),
        (format!(" {at_max}"), 400),
        ("  spaced@example.org\u{3000}".to_owned(), 201),
        ("in side@example.org".to_owned(), 400),
        ("tab@example.org\t".to_owned(), 400),
        ("a@b".to_owned(), 400),
        ("a@b..c".to_owned(), 400),
    ] {
        expect(
            &admin,
            post.clone(),
            "/api/v1/users",
            json!({ "email": email }),
            status,
            "email",
        )
        .await;
    }
    // First and last names: no control character; passwords: 8–1024 characters (not bytes).
    let person = |n: u32| format!("person{n}@example.org");
    expect(
        &admin,
        post.clone(),
        "/api/v1/users",
        json!({"email": person(1), "first_name": "Ada\t"}),
        400,
        "first_name",
    )
    .await;
    expect(
        &admin,
        post.clone(),
        "/api/v1/users",
        json!({"email": person(2), "password": "é".repeat(1024)}),
        201,
        "",
    )
    .await;
    expect(
        &admin,
        post.clone(),
        "/api/v1/users",
        json!({"email": person(3), "password": "é".repeat(1025)}),
        400,
        "password",
    )
    .await;
    // The rule across fields: a service account has no password (`null` is no password).
    expect(
        &admin,
        post.clone(),
        "/api/v1/users",
        json!({"email": person(4), "is_service_account": true, "password": "long-enough"}),
        400,
        "password",
    )
    .await;
    expect(
        &admin,
        post.clone(),
        "/api/v1/users",
        json!({"email": person(5), "is_service_account": true, "password": null}),
        201,
        "",
    )
    .await;

    // Integers are JSON Schema integers: any number without a fraction.
    let tokens = "/api/v1/me/tokens";
    for (n, (days, status)) in [
        (json!(30.0), 201),
        (json!(3e1), 201),
        (json!(30.5), 400),
        (json!(366), 400),
        (json!(0.0), 400),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({ "name": format!("days {n}"), "expires_in_days": days });
        expect(
            &admin,
            post.clone(),
            tokens,
            body,
            status,
            "expires_in_days",
        )
        .await;
    }
    // A body is an object: serde would read a struct from an array of its fields.
    let created = raw(&admin, post.clone(), group, Some(json!({"name": "target"}))).await;
    let group_id = created.json["id"].as_str().expect("group id").to_owned();
    expect(
        &admin,
        Method::PUT,
        &format!("{group}/{group_id}"),
        json!(["renamed", null]),
        400,
        "body",
    )
    .await;
    expect(
        &admin,
        post.clone(),
        tokens,
        json!(["listed", 30]),
        400,
        "body",
    )
    .await;
    // …or `null` where the body is optional: a rotation with the defaults.
    let token = raw(
        &admin,
        post.clone(),
        tokens,
        Some(json!({"name": "to rotate", "expires_in_days": 3})),
    )
    .await;
    let token_id = token.json["id"].as_str().expect("token id");
    let rotated = raw(
        &admin,
        post.clone(),
        &format!("{tokens}/{token_id}/rotate"),
        Some(Value::Null),
    )
    .await;
    assert_eq!(rotated.status.as_u16(), 201, "{}", rotated.json);
    // Leak reports: at most 100 values.
    let values = |n: usize| json!({ "tokens": vec!["justiam_pat_x"; n] });
    expect(
        &server.anonymous(),
        post.clone(),
        "/api/v1/tokens/revoke",
        values(101),
        400,
        "tokens",
    )
    .await;
    expect(
        &server.anonymous(),
        post.clone(),
        "/api/v1/tokens/revoke",
        values(100),
        202,
        "",
    )
    .await;

    // UUIDs are the hyphenated form `format: uuid` names, in paths, queries and bodies.
    let me = admin.me().await.expect("me").user.id;
    let hyphenated = me.to_string();
    let simple = me.simple().to_string();
    for form in [
        simple.clone(),
        format!("{{{hyphenated}}}"),
        format!("urn:uuid:{hyphenated}"),
    ] {
        let response = get(&admin, &format!("/api/v1/users/{form}")).await;
        assert_error(&response, 400, "validation_error", "UUID");
        let response = get(
            &admin,
            &format!(
                "/api/v1/sessions?user_id={}",
                form.replace('{', "%7B").replace('}', "%7D")
            ),
        )
        .await;
        assert_error(&response, 400, "validation_error", "user_id");
        expect(
            &admin,
            post.clone(),
            &format!("{group}/{group_id}/members"),
            json!({ "user_id": form }),
            400,
            "user_id",
        )
        .await;
    }
    assert_eq!(
        get(
            &admin,
            &format!("/api/v1/users/{}", hyphenated.to_uppercase())
        )
        .await
        .status
        .as_u16(),
        200
    );

    // Query filters: one that is sent must be valid, empty included; times as JSON Schema reads
    // RFC 3339 (no space for the `T`, a leap second only at 23:59:60 UTC).
    for (target, field) in [
        ("/api/v1/sessions?user_id=", "user_id"),
        ("/api/v1/audit?actor_id=", "actor_id"),
        ("/api/v1/audit?until=", "until"),
        ("/api/v1/audit?since=2026-01-01%2000:00:00Z", "since"),
        ("/api/v1/audit?since=2026-01-01T12:00:60Z", "since"),
        ("/api/v1/tokens?state=", "state"),
        ("/api/v1/tokens?expires_before=", "expires_before"),
        ("/api/v1/tokens?owner_id=", "owner_id"),
    ] {
        let response = get(&admin, target).await;
        assert_error(&response, 400, "validation_error", field);
        assert_eq!(response.json["details"]["field"], field, "{target}");
    }
    for target in [
        "/api/v1/audit?since=2016-12-31T23:59:60Z&action=",
        "/api/v1/audit?until=2026-01-01t00:00:00z",
        "/api/v1/tokens?state=active&unused_since=2026-01-01T00:00:00%2B01:00",
    ] {
        assert_eq!(get(&admin, target).await.status.as_u16(), 200, "{target}");
    }
    // `search`: at most 200 characters as sent, blank ones too; `page` at most 4294967295.
    let blanks = |n: usize| format!("/api/v1/users?search={}", "%20".repeat(n));
    assert_eq!(get(&admin, &blanks(200)).await.status.as_u16(), 200);
    assert_error(
        &get(&admin, &blanks(201)).await,
        400,
        "validation_error",
        "search",
    );
    assert_eq!(
        get(&admin, "/api/v1/users?page=4294967295")
            .await
            .status
            .as_u16(),
        200
    );
    assert_error(
        &get(&admin, "/api/v1/users?page=4294967296").await,
        400,
        "validation_error",
        "page",
    );
}

crate::on_both_databases!(
    random_token_bodies_get_a_documented_answer,
    random_user_bodies_get_a_documented_answer,
    malformed_bytes_sizes_and_content_types,
    hostile_queries_and_path_ids,
    hostile_credentials_are_refused,
    the_documented_rules_hold_both_ways,
);

// --- secrets --------------------------------------------------------------------------------------

/// Extends `tokens::debug_logs_never_contain_a_token_value` (text logs, token paths) to the whole
/// scenario with JSON logs: logins that succeed and fail, user creation with a password, password
/// changes (right and wrong), token create/use/revoke, leak reports, bad JWTs and tokens, logout —
/// then scans the logs, every error body, the audit log as the API returns it, and the raw bytes of
/// the SQLite database (and its WAL) for each secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_logs_audit_error_bodies_and_the_database() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().expect("temp dir");
    let db_path = dir.path().join("secrets.db");
    let admin_password = "Admin-Secret-Password-7f3a";
    let user_password = "User-Secret-Password-19bc";
    let new_password = "New-User-Secret-Password-88de";
    let wrong_password = "Wrong-Guess-Password-4411";
    let unknown_password = "Unknown-User-Password-5522";
    let jwt_secret = "jwt-secret-jwt-secret-jwt-secret-00000001";
    let mut child = Command::new(env!("CARGO_BIN_EXE_justiam"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", format!("sqlite://{}", db_path.display()))
        .env("PORT", "0")
        .env("BIND_ADDR", "127.0.0.1")
        .env("LOG_LEVEL", "debug")
        .env("LOG_FORMAT", "json")
        .env("JWT_SECRET", jwt_secret)
        .env("JUSTIAM_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("JUSTIAM_BOOTSTRAP_ADMIN_PASSWORD", admin_password)
        .env("PAT_USAGE_FLUSH_SECONDS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn justiam serve");
    let logs = Arc::new(Mutex::new(String::new()));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<String>();
    let mut readers = Vec::new();
    for pipe in [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr")) as Box<dyn std::io::Read + Send>,
    ] {
        let buffer = logs.clone();
        let addr_tx = addr_tx.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                // With LOG_FORMAT=json the address is said in a line of the JSON log.
                let said = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v["message"].as_str().map(str::to_owned));
                if let Some(addr) = said
                    .as_deref()
                    .and_then(|m| m.strip_prefix("JustIAM listening on http://"))
                {
                    let _ = addr_tx.send(addr.trim().to_owned());
                }
                let mut b = buffer.lock().expect("lock");
                b.push_str(&line);
                b.push('\n');
            }
        }));
    }
    drop(addr_tx);
    let Ok(addr) = addr_rx.recv_timeout(Duration::from_secs(60)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("no address printed:\n{}", logs.lock().expect("lock"));
    };
    let url = format!("http://{addr}");
    let anonymous = Client::new(&url);
    let mut error_bodies: Vec<String> = Vec::new();
    let mut note = |response: &justiam_client::RawResponse, what: &str| {
        if !response.status.is_success() {
            assert!(
                response.code().is_some(),
                "{what}: error body {}",
                response.json
            );
            error_bodies.push(format!("{what}: {}", response.json));
        }
    };

    // Logins: right, wrong password, unknown account.
    let admin_jwt = anonymous
        .login(ADMIN_EMAIL, admin_password)
        .await
        .expect("login")
        .token;
    let admin = anonymous.with_token(admin_jwt.clone());
    for (email, password) in [
        (ADMIN_EMAIL, wrong_password),
        ("nobody@example.com", unknown_password),
    ] {
        let r = raw(
            &anonymous,
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": email, "password": password})),
        )
        .await;
        assert_error(&r, 401, "invalid_credentials", "");
        note(&r, "failed login");
    }
    // A login body with an unknown field next to the password.
    let r = raw(
        &anonymous,
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({"email": ADMIN_EMAIL, "password": wrong_password, "otp": 1})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 400);
    note(&r, "login with unknown field");

    // A user with a password; a too-short password refused.
    let r = raw(
        &admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "secret-user@example.com", "password": user_password})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.json);
    let r = raw(
        &admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "short@example.com", "password": "Sh0rt!"})),
    )
    .await;
    assert_error(&r, 400, "validation_error", "password");
    note(&r, "short password");
    let user_jwt = anonymous
        .login("secret-user@example.com", user_password)
        .await
        .expect("user login")
        .token;
    let user = anonymous.with_token(user_jwt.clone());
    // Password change: a wrong current password, then the right one.
    let r = raw(
        &user,
        Method::PUT,
        "/api/v1/me/password",
        Some(json!({"current_password": wrong_password, "new_password": new_password})),
    )
    .await;
    assert!(r.status.is_client_error(), "{}", r.json);
    note(&r, "wrong current password");
    let user_jwt2 = anonymous
        .login("secret-user@example.com", user_password)
        .await
        .expect("second login")
        .token;
    anonymous
        .with_token(user_jwt2.clone())
        .change_password(user_password, new_password)
        .await
        .expect("change password");
    let user_jwt3 = anonymous
        .login("secret-user@example.com", new_password)
        .await
        .expect("login with the new password")
        .token;
    let user = anonymous.with_token(user_jwt3.clone());

    // Tokens: create, use, refuse a self-mint by PAT, revoke, use revoked, bad values.
    let created = user
        .create_my_token("secret scan", 7)
        .await
        .expect("create");
    let pat = anonymous.with_token(created.token.clone());
    pat.me().await.expect("PAT works");
    let r = raw(
        &pat,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({"name": "self-mint", "expires_in_days": 1})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 403);
    note(&r, "PAT self-mint");
    let leaked = user
        .create_my_token("to be leaked", 7)
        .await
        .expect("create");
    let r = raw(
        &anonymous,
        Method::POST,
        "/api/v1/tokens/revoke",
        Some(json!({"tokens": [leaked.token]})),
    )
    .await;
    assert!(r.status.is_success(), "leak report: {}", r.json);
    // A leak report is acted on in the background: wait (bounded) until the value is refused.
    let deadline = Instant::now() + Duration::from_secs(10);
    let leaked_client = anonymous.with_token(leaked.token.clone());
    while raw(&leaked_client, Method::GET, "/api/v1/me", None)
        .await
        .status
        .is_success()
    {
        assert!(
            Instant::now() < deadline,
            "a reported token still works after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    user.revoke_my_token(created.id).await.expect("revoke");
    let mut bad_tokens = vec![created.token.clone(), leaked.token.clone()];
    let mut flipped = created.token.clone().into_bytes();
    flipped[30] = if flipped[30] == b'A' { b'B' } else { b'A' };
    bad_tokens.push(String::from_utf8(flipped).expect("ascii"));
    bad_tokens.push(format!("{}.tampered", &user_jwt3[..user_jwt3.len() - 4]));
    for bad in &bad_tokens {
        let r = raw(
            &anonymous.with_token(bad.clone()),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await;
        assert_eq!(r.status.as_u16(), 401, "{}", r.json);
        note(&r, "bad credential");
    }
    // Logout ends the first JWT; using it after is a 401.
    user.logout().await.expect("logout");
    let r = raw(&user, Method::GET, "/api/v1/me", None).await;
    assert_eq!(r.status.as_u16(), 401);
    note(&r, "JWT after logout");
    // The JWT of the session ended by the password change.
    let r = raw(
        &anonymous.with_token(user_jwt.clone()),
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 401);
    note(&r, "JWT after password change");

    // The audit log, as the API returns it (every page).
    let mut audit = String::new();
    let mut actions = std::collections::BTreeSet::new();
    for page in 1..=20 {
        let r = raw(
            &admin,
            Method::GET,
            &format!("/api/v1/audit?limit=100&page={page}"),
            None,
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.json);
        let data = r.json["data"].as_array().expect("data").clone();
        for entry in &data {
            if let Some(a) = entry["action"].as_str() {
                actions.insert(a.to_owned());
            }
        }
        audit.push_str(&r.json.to_string());
        if data.len() < 100 {
            break;
        }
    }
    for action in [
        "auth.login_succeeded",
        "auth.login_failed",
        "token.created",
        "token.revoked",
        "token.revoked_as_leaked",
        "user.created",
    ] {
        assert!(actions.contains(action), "audit has {action}: {actions:?}");
    }

    // Let a usage flush happen, then stop gracefully (SIGTERM), SIGKILL if it lingers.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop_gracefully(&mut child);
    for reader in readers {
        reader.join().expect("reader");
    }
    let logs = logs.lock().expect("lock").clone();
    assert!(
        logs.contains("\"level\":\"DEBUG\""),
        "JSON debug lines expected:\n{logs}"
    );
    assert!(
        logs.contains("/api/v1/auth/login"),
        "request lines expected"
    );

    let mut database = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db_path.display());
        if let Ok(bytes) = std::fs::read(&path) {
            database.extend(bytes);
        }
    }
    assert!(database.len() > 4096, "the database file was read");
    let contains =
        |hay: &[u8], needle: &str| hay.windows(needle.len()).any(|w| w == needle.as_bytes());

    let mut secrets: Vec<(String, String)> = vec![
        ("admin password".into(), admin_password.into()),
        ("user password".into(), user_password.into()),
        ("new password".into(), new_password.into()),
        ("wrong password".into(), wrong_password.into()),
        ("unknown user's password".into(), unknown_password.into()),
        ("JWT secret".into(), jwt_secret.into()),
    ];
    for (name, jwt) in [
        ("admin JWT", &admin_jwt),
        ("user JWT", &user_jwt),
        ("user JWT 2", &user_jwt2),
        ("user JWT 3", &user_jwt3),
    ] {
        secrets.push((name.into(), jwt.clone()));
        secrets.push((
            format!("{name} signature"),
            jwt.rsplit('.').next().expect("sig").to_owned(),
        ));
    }
    for (i, t) in bad_tokens.iter().enumerate().take(3) {
        secrets.push((format!("token {i}"), t.clone()));
        secrets.push((format!("token {i} random part"), t[12..44].to_owned()));
    }
    let error_text = error_bodies.join("\n");
    assert!(error_bodies.len() >= 10, "{error_text}");
    for (name, secret) in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "the logs contain the {name}"
        );
        assert!(
            !audit.contains(secret.as_str()),
            "the audit log contains the {name}"
        );
        assert!(
            !error_text.contains(secret.as_str()),
            "an error body contains the {name}"
        );
        // The database holds digests and PHC hashes only (the JWT secret is configured, not stored).
        assert!(
            !contains(&database, secret),
            "the database holds the {name}"
        );
    }
}
