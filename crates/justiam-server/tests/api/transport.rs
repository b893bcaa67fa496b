//! Abuse and transport limits: failed-token throttling per client address, slow and idle clients,
//! the connection bound, native TLS with HSTS.

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

const DEAD_TOKEN: &str = "justiam_pat_0000000000000000000000000000000000000000";

async fn failed_token_authentications_are_throttled_per_address(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.token_auth_failures_per_minute = 5;
        args.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
    })
    .await;
    let admin = server.admin().await;
    let good = admin.create_my_token("good", 1).await.expect("token").token;
    let http = reqwest::Client::new();
    let call = |token: &str, forwarded_for: &str| {
        http.get(format!("{}/api/v1/me", server.url))
            .bearer_auth(token)
            .header("x-forwarded-for", forwarded_for)
            .send()
    };
    // A CI job retrying a dead token: five refusals, then it is slowed down.
    for _ in 0..5 {
        let response = call(DEAD_TOKEN, "203.0.113.7").await.expect("request");
        assert_eq!(response.status(), 401);
    }
    let throttled = call(DEAD_TOKEN, "203.0.113.7").await.expect("request");
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        (1..=60).contains(&retry_after),
        "retried within the minute, not banned: {retry_after}"
    );
    let body: serde_json::Value = throttled.json().await.expect("json");
    assert_eq!(body["code"], "too_many_requests");
    // The address is throttled, whatever it sends; other addresses are not.
    assert_eq!(
        call(&good, "203.0.113.7").await.expect("request").status(),
        429
    );
    assert_eq!(
        call(&good, "198.51.100.9").await.expect("request").status(),
        200
    );
    assert_eq!(
        call(DEAD_TOKEN, "198.51.100.9")
            .await
            .expect("request")
            .status(),
        401
    );
    // Successes do not count against an address.
    for _ in 0..10 {
        assert_eq!(
            call(&good, "192.0.2.1").await.expect("request").status(),
            200
        );
    }
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics
            .contains(r#"justiam_authentications_total{credential="pat",outcome="throttled"} 2"#),
        "{metrics}"
    );
}

crate::on_both_databases!(failed_token_authentications_are_throttled_per_address);

#[tokio::test]
async fn slow_clients_are_dropped_after_the_header_deadline() {
    let server =
        TestServer::start_with(Backend::Sqlite, |args| args.header_read_timeout_seconds = 1).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("partial headers");
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the server must close a connection that never finishes its headers"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "closed after {:?}",
        started.elapsed()
    );
    // The server still serves others.
    let ok = reqwest::get(format!("{}/healthz", server.url))
        .await
        .expect("healthz");
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn open_connections_are_bounded() {
    let server = TestServer::start_with(Backend::Sqlite, |args| args.max_connections = 2).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let first = TcpStream::connect(&addr).await.expect("connect");
    let second = TcpStream::connect(&addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(800))
        .build()
        .expect("client");
    let waiting = http.get(format!("{}/healthz", server.url)).send().await;
    assert!(
        waiting.is_err(),
        "a third connection must wait while two are open"
    );
    drop(first);
    drop(second);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let served = http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .expect("served once a slot frees");
    assert_eq!(served.status(), 200);
}

/// A self-signed certificate for 127.0.0.1 made with the openssl command line.
fn self_signed(dir: &std::path::Path) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        // An end-entity certificate (webpki refuses a CA certificate as a server certificate).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .ok()?;
    made.status.success().then_some((cert, key))
}

#[tokio::test]
async fn native_tls_serves_https_with_hsts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((cert, key)) = self_signed(dir.path()) else {
        assert!(
            std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() != Ok("1"),
            "openssl is required for the TLS test"
        );
        eprintln!("SKIPPED: native TLS test (no openssl command to make a certificate)");
        return;
    };
    let (cert_for_server, key_for_server) = (cert.clone(), key.clone());
    let server = TestServer::start_with(Backend::Sqlite, move |args| {
        args.tls_cert_file = Some(cert_for_server);
        args.tls_key_file = Some(key_for_server);
    })
    .await;
    let https = server.url.replace("http://", "https://");
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&cert).expect("cert")).expect("pem");
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .expect("client");
    let response = http
        .get(format!("{https}/api/v1/version"))
        .send()
        .await
        .expect("https request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    // The typed client works over TLS too: log in and use the token.
    let login = http
        .post(format!("{https}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login over TLS");
    assert_eq!(login.status(), 200);
    // Plain HTTP on the TLS port gets nothing useful.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("client");
    let refused = plain.get(format!("{}/healthz", server.url)).send().await;
    assert!(
        refused.map(|r| !r.status().is_success()).unwrap_or(true),
        "plain HTTP must not be served on the TLS port"
    );
    // Without TLS there is no HSTS header.
    let clear = TestServer::start(Backend::Sqlite).await;
    let response = raw(&clear.anonymous(), Method::GET, "/api/v1/version", None).await;
    assert!(response.header("strict-transport-security").is_none());
}

#[tokio::test]
async fn tls_settings_are_checked_at_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.pem");
    let mut args = test_args(format!("sqlite://{}", dir.path().join("j.db").display()));
    args.tls_cert_file = Some(missing.clone());
    let error = justiam_server::server::start(&args)
        .await
        .err()
        .expect("one file is not enough");
    assert!(
        error.to_string().contains("TLS_CERT_FILE and TLS_KEY_FILE"),
        "{error}"
    );
    args.tls_key_file = Some(missing);
    let error = justiam_server::server::start(&args)
        .await
        .err()
        .expect("missing files");
    assert!(
        error
            .to_string()
            .contains("cannot read the TLS certificate"),
        "{error}"
    );
}

/// A handler that waits longer than `REQUEST_TIMEOUT_SECONDS` (here on a database another
/// process has locked) is abandoned with `408`; answers ready at once are not held up meanwhile.
#[tokio::test]
async fn a_request_stuck_on_the_database_is_answered_408() {
    use sqlx::Connection;

    let server =
        TestServer::start_with(Backend::Sqlite, |args| args.request_timeout_seconds = 1).await;
    let admin = server.admin().await;
    let create_token = |name: &'static str| {
        raw(
            &admin,
            Method::POST,
            "/api/v1/me/tokens",
            Some(serde_json::json!({"name": name, "expires_in_days": 1})),
        )
    };
    // A PAT checked once, so that the next checks come from the cache, without the database.
    let created = create_token("before the lock").await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.json);
    let pat = admin
        .clone()
        .with_token(created.json["token"].as_str().expect("token").to_owned());
    assert_eq!(raw(&pat, Method::GET, "/api/v1/me", None).await.status, 200);

    let mut lock = sqlx::SqliteConnection::connect(&server.database_url)
        .await
        .expect("second connection");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut lock)
        .await
        .expect("lock the database");

    let started = Instant::now();
    let stuck = create_token("during the lock").await;
    let waited = started.elapsed();
    assert_error(&stuck, 408, "request_timeout", "too long");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "answered after {waited:?}"
    );
    let me = raw(&pat, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status, 200, "a cached token check needs no database");

    sqlx::query("ROLLBACK")
        .execute(&mut lock)
        .await
        .expect("unlock");
    let after = create_token("after the lock").await;
    assert_eq!(after.status.as_u16(), 201, "{}", after.json);
}
