//! The test harness: every test starts its own server on 127.0.0.1:0 with a fresh database —
//! a temporary SQLite file, or a fresh PostgreSQL database when `JUSTIAM_TEST_POSTGRES_URL` is set.
//!
//! Beside the harness, the helpers every area shares, one definition each: assertions on error
//! answers, table-driven refusals, JSON reading, role and user fixtures, and token helpers.
#![allow(dead_code)] // Each test module uses a different part of the harness.

mod assertions;
mod fixtures;
mod joserfc;
mod json;
mod logged;
mod machine;
mod oidc;
mod refusals;
mod smtp;
mod tokens;

pub use assertions::*;
pub use fixtures::*;
pub use joserfc::*;
pub use json::*;
pub use logged::*;
pub use machine::*;
pub use oidc::*;
pub use refusals::*;
pub use smtp::*;
pub use tokens::*;

use std::net::{IpAddr, Ipv4Addr};

use justiam_client::{Client, RawResponse};
use justiam_server::config::{DbArgs, MailArgs, ServeArgs, SmtpTls};
use justiam_server::server::{self, Running};
use justiam_types::{CreateUser, User};
use reqwest::Method;
use serde_json::Value;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
/// `MFA_ENCRYPTION_KEY` of test servers (32 bytes, base64).
pub const TEST_MFA_KEY: &str = "bWZhLXRlc3Qta2V5LW1mYS10ZXN0LWtleS0wMDAwMDA=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `$test(Backend)` once per database: `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::common::postgres_available() {
                        super::$name($crate::common::Backend::Postgres).await;
                    }
                }
            }
        )+
    };
}

/// Whether PostgreSQL tests can run; without it they skip loudly, or fail under
/// `JUSTIAM_TEST_REQUIRE_ALL=1` so CI never passes by skipping.
pub fn postgres_available() -> bool {
    if std::env::var("JUSTIAM_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty()) {
        return true;
    }
    if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!(
            "JUSTIAM_TEST_POSTGRES_URL is not set but JUSTIAM_TEST_REQUIRE_ALL=1: PostgreSQL tests cannot be skipped"
        );
    }
    eprintln!("SKIPPED: PostgreSQL test (set JUSTIAM_TEST_POSTGRES_URL, or run ./scripts/test)");
    false
}

/// A fresh database URL for one test.
pub async fn fresh_database(backend: Backend, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("justiam.db").display()),
        Backend::Postgres => {
            let admin_url =
                std::env::var("JUSTIAM_TEST_POSTGRES_URL").expect("JUSTIAM_TEST_POSTGRES_URL");
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
                .await
                .expect("connect to JUSTIAM_TEST_POSTGRES_URL");
            let name = format!("jt_{}", uuid::Uuid::now_v7().simple());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("URL with a database name");
            format!("{base}/{name}")
        }
    }
}

/// Settings for tests: quick usage flushes, everything else as shipped.
pub fn test_args(database_url: String) -> ServeArgs {
    ServeArgs {
        db: DbArgs {
            database_url,
            db_max_connections: 8,
            db_acquire_timeout_seconds: 3,
        },
        jwt_secret: Some("test-secret-test-secret-test-secret-0123".to_owned()),
        oidc_issuer: None,
        port: 0,
        bind_addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        metrics_addr: None,
        trusted_proxies: Vec::new(),
        bootstrap_admin_email: Some(ADMIN_EMAIL.to_owned()),
        bootstrap_admin_password: Some(ADMIN_PASSWORD.to_owned()),
        token_duration_hours: 24,
        password_min_length: 8,
        pat_usage_flush_seconds: 1,
        login_max_failures_per_account: 5,
        login_max_failures_per_ip: 20,
        login_account_slowdown_after: 100,
        login_account_slowdown_seconds: 1,
        login_lockout_seconds: 60,
        audit_retention_days: 365,
        auth_cache_size: 100_000,
        auth_cache_ttl_seconds: 30,
        tls_cert_file: None,
        tls_key_file: None,
        max_connections: 4096,
        header_read_timeout_seconds: 10,
        request_timeout_seconds: 30,
        token_auth_failures_per_minute: 60,
        session_duration_days: 7,
        oauth_refresh_ttl_days: 30,
        oauth_code_ttl_seconds: 60,
        mfa_policy: justiam_server::config::MfaPolicyArg::Optional,
        mfa_enforce_enrollment: false,
        mfa_reauth_minutes: 15,
        // PostgreSQL needs one; SQLite would keep one in the data directory.
        mfa_encryption_key: Some(TEST_MFA_KEY.to_owned()),
        mfa_encryption_key_previous: None,
        mfa_totp_issuer: "JustIAM".to_owned(),
        mail: MailArgs {
            smtp_host: None,
            smtp_port: None,
            smtp_username: None,
            smtp_password: None,
            smtp_from: "JustIAM <justiam@localhost>".to_owned(),
            smtp_tls: SmtpTls::Starttls,
        },
        password_reset_ttl_minutes: 60,
        token_expiry_warning_days: vec![7, 1],
        notification_interval_seconds: 300,
        webhook_allow_private_targets: false,
        service_token_ttl_seconds: 600,
        federation_allow_http_loopback: false,
    }
}

pub struct TestServer {
    pub backend: Backend,
    pub url: String,
    pub database_url: String,
    pub running: Option<Running>,
    /// Keeps the SQLite file (and anything else a test writes) until the end of the test.
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a server after `adjust` has changed the test settings.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut ServeArgs)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(backend, &dir).await;
        let mut args = test_args(database_url.clone());
        adjust(&mut args);
        let running = server::start(&args).await.expect("server starts");
        let url = format!("http://{}", running.addr);
        TestServer {
            backend,
            url,
            database_url,
            running: Some(running),
            dir,
        }
    }

    /// Another node on this server's database (same JWT secret), as a second `justiam serve`
    /// process behind a load balancer would be.
    pub async fn another_node(&self, adjust: impl FnOnce(&mut ServeArgs)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut args = test_args(self.database_url.clone());
        adjust(&mut args);
        let running = server::start(&args).await.expect("second node starts");
        let url = format!("http://{}", running.addr);
        TestServer {
            backend: self.backend,
            url,
            database_url: self.database_url.clone(),
            running: Some(running),
            dir,
        }
    }

    /// [`TestServer::another_node`] once its invalidation listener is connected (its credential
    /// cache stays off until then): what the tests of changes reaching other nodes start from.
    pub async fn listening_node(&self, adjust: impl FnOnce(&mut ServeArgs)) -> TestServer {
        let node = self.another_node(adjust).await;
        let started = std::time::Instant::now();
        while !node.iam().cache.is_enabled() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(3),
                "the second node's invalidation listener"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        node
    }

    pub fn iam(&self) -> &justiam_core::service::Iam {
        &self.running.as_ref().expect("running").iam
    }

    /// The server's own connection pool, to arrange or inspect what is stored.
    pub fn pool(&self) -> &sqlx::AnyPool {
        self.iam().pool_for_tests()
    }

    /// An unauthenticated client.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.url)
    }

    /// A client logged in as the bootstrap admin.
    pub async fn admin(&self) -> Client {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Client {
        let login = self
            .anonymous()
            .login(email, password)
            .await
            .expect("login");
        self.anonymous().with_token(login.token)
    }

    /// Creates a regular user (with `password`) through the admin API.
    pub async fn create_user(&self, email: &str, password: &str) -> User {
        let input = CreateUser {
            email: email.to_owned(),
            password: Some(password.to_owned()),
            ..CreateUser::default()
        };
        self.admin()
            .await
            .create_user(&input)
            .await
            .expect("create user")
    }

    /// Creates a user and returns a client logged in as them.
    pub async fn user_client(&self, email: &str) -> (User, Client) {
        let user = self.create_user(email, "user-password-1").await;
        (user, self.login(email, "user-password-1").await)
    }

    /// Creates a service account through the admin API.
    pub async fn create_service_account(&self, email: &str) -> User {
        let input = CreateUser {
            email: email.to_owned(),
            is_service_account: Some(true),
            ..CreateUser::default()
        };
        self.admin()
            .await
            .create_user(&input)
            .await
            .expect("create service account")
    }

    /// Tests that write to the database behind the service layer's back must call this, as the
    /// service layer does after every change: it drops the node's cache of verified credentials.
    pub fn after_direct_sql(&self) {
        self.iam().cache.invalidate_all();
    }

    /// Stops the server (flushing pending usage) and waits for it.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

/// A raw request: `(status, headers, json)` without the typed client's decoding.
pub async fn raw(client: &Client, method: Method, path: &str, body: Option<Value>) -> RawResponse {
    client
        .raw(method, path, body.as_ref())
        .await
        .expect("request reaches the server")
}

/// Asks a server process to stop the way an operator's service manager would (SIGTERM): it
/// finishes open requests and flushes its log before exiting.
pub fn send_sigterm(pid: u32) {
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}

/// SIGTERM, then SIGKILL if the process is still running after 10 s.
pub fn stop_gracefully(child: &mut std::process::Child) {
    send_sigterm(child.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().expect("try_wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A loopback port nothing listens on right now, for a process a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The permission bits of a file (`0o600`, …).
#[cfg(unix)]
pub fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}
