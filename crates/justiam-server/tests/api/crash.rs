//! Crashes and outages.
//!
//! - The `justiam` process is killed with SIGKILL in the middle of a stream of token creations and
//!   revocations from several clients, and restarted on the same database: every acknowledged
//!   creation authenticates, every acknowledged revocation holds.
//! - PostgreSQL (a private, throwaway instance: the shared cluster serves other tests) is stopped
//!   under load and started again: requests fail fast with `503`, `/readyz` is `503`, nothing
//!   hangs, and the server recovers by itself with every acknowledged write still there.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use justiam_client::{Client, ListParams};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::common::*;

const JWT_SECRET: &str = "crash-test-secret-crash-test-secret-0001";

// --- the binary -------------------------------------------------------------------------------------

/// A `justiam serve` process.
struct Process {
    child: Child,
    url: String,
    output: Arc<Mutex<String>>,
}

impl Process {
    fn start(database_url: &str) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_justiam"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("PORT", "0")
            .env("BIND_ADDR", "127.0.0.1")
            .env("JWT_SECRET", JWT_SECRET)
            .env("MFA_ENCRYPTION_KEY", crate::common::TEST_MFA_KEY)
            .env("LOG_LEVEL", "warn")
            .env("JUSTIAM_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("JUSTIAM_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("TOKEN_AUTH_FAILURES_PER_MINUTE", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn justiam serve");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        for pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")) as Box<dyn std::io::Read + Send>,
        ] {
            let output = output.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if let Some(addr) = line.strip_prefix("JustIAM listening on http://") {
                        let _ = tx.send(addr.trim().to_owned());
                    }
                    let mut o = output.lock().expect("lock");
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => Process {
                child,
                url: format!("http://{addr}"),
                output,
            },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "justiam serve did not start:\n{}",
                    output.lock().expect("lock")
                );
            }
        }
    }

    /// SIGKILL: no graceful anything.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh database for a process: a SQLite file in `dir`, or a new PostgreSQL database.
async fn fresh_database_url(backend: Backend, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("crash.db").display()),
        Backend::Postgres => {
            let admin_url =
                std::env::var("JUSTIAM_TEST_POSTGRES_URL").expect("JUSTIAM_TEST_POSTGRES_URL");
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
                .await
                .expect("connect to JUSTIAM_TEST_POSTGRES_URL");
            let name = format!("jt_{}", Uuid::now_v7().simple());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let (base, _) = admin_url.rsplit_once('/').expect("URL with a database");
            format!("{base}/{name}")
        }
    }
}

async fn login(url: &str, email: &str, password: &str) -> Client {
    let anonymous = Client::new(url);
    let login = tokio::time::timeout(Duration::from_secs(30), anonymous.login(email, password))
        .await
        .expect("login in time")
        .expect("login");
    anonymous.with_token(login.token)
}

/// What one client saw acknowledged before the crash.
#[derive(Default, Debug)]
struct Acknowledged {
    /// `(id, value)` of creations answered `201`.
    created: Vec<(Uuid, String)>,
    /// Ids whose revocation was answered `204`.
    revoked: Vec<Uuid>,
    /// Requests whose answer never came (cut by the kill): their outcome is unknown.
    in_flight: usize,
    /// The token of a revocation cut in flight: it may or may not be revoked.
    unsure: Option<Uuid>,
}

/// Creates tokens and revokes some of them as fast as it can until a request fails to get an
/// answer (the server died).
async fn stream(client: Client, label: usize) -> Acknowledged {
    let mut ack = Acknowledged::default();
    let mut live: Vec<Uuid> = Vec::new();
    for i in 0.. {
        let revoke = live.len() > 40 || (i % 3 == 2 && !live.is_empty());
        if revoke {
            let id = live.remove(i % live.len());
            match client.revoke_my_token(id).await {
                Ok(()) => ack.revoked.push(id),
                Err(justiam_client::Error::Api { status, body }) => {
                    panic!("revocation refused: {status} {body:?}")
                }
                Err(_) => {
                    ack.in_flight += 1;
                    ack.unsure = Some(id);
                    break;
                }
            }
        } else {
            match client
                .create_my_token(&format!("stream {label} {i}"), 30)
                .await
            {
                Ok(created) => {
                    live.push(created.id);
                    ack.created.push((created.id, created.token));
                }
                Err(justiam_client::Error::Api { status, body }) => {
                    panic!("creation refused: {status} {body:?}")
                }
                Err(_) => {
                    ack.in_flight += 1;
                    break;
                }
            }
        }
    }
    ack
}

async fn a_killed_server_loses_no_acknowledged_write(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database_url(backend, &dir).await;
    let mut first = Process::start(&database_url);
    let admin = login(&first.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut users = Vec::new();
    for i in 0..4 {
        let email = format!("streamer{i}@example.com");
        let user = admin
            .create_user(&justiam_types::CreateUser {
                email: email.clone(),
                password: Some("user-password-1".to_owned()),
                ..Default::default()
            })
            .await
            .expect("create user");
        users.push((user.id, login(&first.url, &email, "user-password-1").await));
    }

    let tasks: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, (_, client))| tokio::spawn(stream(client.clone(), i)))
        .collect();
    // Let the stream run, then kill the process in the middle of it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    first.kill();
    let mut acks = Vec::new();
    for task in tasks {
        acks.push(
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("clients notice the dead server")
                .expect("task"),
        );
    }

    let second = Process::start(&database_url);
    let anonymous = Client::new(&second.url);
    let (mut created, mut revoked, mut in_flight) = (0, 0, 0);
    for ((user_id, _), ack) in users.iter().zip(&acks) {
        in_flight += ack.in_flight;
        assert!(ack.in_flight <= 1, "one request in flight per client");
        for (id, value) in &ack.created {
            created += 1;
            if ack.unsure == Some(*id) {
                continue;
            }
            let response = raw(
                &anonymous.with_token(value.clone()),
                Method::GET,
                "/api/v1/me",
                None,
            )
            .await;
            if ack.revoked.contains(id) {
                assert_eq!(
                    response.status.as_u16(),
                    401,
                    "acknowledged revocation of {id} lost: {}",
                    response.json
                );
                assert_eq!(response.code(), Some("invalid_token"));
                revoked += 1;
            } else {
                assert_eq!(
                    response.status.as_u16(),
                    200,
                    "acknowledged creation of {id} lost: {}",
                    response.json
                );
                assert_eq!(response.json["id"], json!(user_id.to_string()));
            }
        }
        // The owner's list agrees: no revoked token, every unrevoked one.
        let owner = login(
            &second.url,
            &format!(
                "streamer{}@example.com",
                users.iter().position(|(u, _)| u == user_id).expect("user")
            ),
            "user-password-1",
        )
        .await;
        let page = owner
            .list_my_tokens(&ListParams {
                limit: Some(100),
                ..Default::default()
            })
            .await
            .expect("list after restart");
        let listed: std::collections::BTreeSet<Uuid> = page.data.iter().map(|t| t.id).collect();
        for (id, _) in ack.created.iter().filter(|(id, _)| ack.unsure != Some(*id)) {
            assert_eq!(
                listed.contains(id),
                !ack.revoked.contains(id),
                "token {id} in the list after the restart"
            );
        }
        // At most the one request in flight may have landed unacknowledged.
        let expected = ack.created.len() - ack.revoked.len();
        assert!(
            page.total as usize + ack.in_flight >= expected
                && page.total as usize <= expected + ack.in_flight,
            "listed {} for {} acknowledged live tokens",
            page.total,
            expected
        );
    }
    eprintln!(
        "crash ({backend:?}): {created} creations and {revoked} revocations acknowledged before SIGKILL, \
         {in_flight} requests cut in flight; lost after restart: 0"
    );
    assert!(created >= 20, "the stream really ran: {created} creations");
    assert!(
        revoked >= 5,
        "the stream really revoked: {revoked} revocations"
    );
    let output = second.output.lock().expect("lock").clone();
    assert!(
        !output.contains("panicked") && !output.contains("ERROR"),
        "the restarted server logged errors:\n{output}"
    );
    drop(second);
}

crate::on_both_databases!(a_killed_server_loses_no_acknowledged_write);

// --- a private PostgreSQL ------------------------------------------------------------------------

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A throwaway PostgreSQL cluster in a temporary directory, on a free port, trusting 127.0.0.1.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    port: u16,
}

fn as_postgres_user(program: &str) -> Command {
    let path = format!("{PG_BIN}/{program}");
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", &path]);
        command
    } else {
        Command::new(path)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run(mut command: Command, what: &str) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl PrivatePostgres {
    /// `None` when the PostgreSQL binaries are missing (the gate decides whether that fails).
    fn init() -> Option<PrivatePostgres> {
        if !std::path::Path::new(&format!("{PG_BIN}/initdb")).exists() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("justiam-pg-")
            .tempdir()
            .expect("temp dir");
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["-R", "postgres:postgres"]).arg(dir.path());
                    c
                },
                "chown the cluster directory",
            );
        }
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            listener.local_addr().expect("addr").port()
        };
        let mut initdb = as_postgres_user("initdb");
        initdb.arg("-D").arg(dir.path().join("data")).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        run(initdb, "initdb");
        let pg = PrivatePostgres { dir, port };
        pg.start();
        Some(pg)
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut command = as_postgres_user("pg_ctl");
        command
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(args);
        command
    }

    fn start(&self) {
        self.handle().start();
    }

    fn handle(&self) -> PrivatePostgresRef {
        PrivatePostgresRef {
            data: self.dir.path().to_owned(),
            port: self.port,
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .pg_ctl(&["-m", "immediate", "-w", "-t", "30", "stop"])
            .stdin(Stdio::null())
            .output();
    }
}

/// One request of the load: when it started, how long it took, what it got.
#[derive(Debug, Clone)]
struct Sample {
    started: Instant,
    took: Duration,
    status: Option<u16>,
    code: Option<String>,
    path: &'static str,
}

async fn timed(
    client: &Client,
    method: Method,
    path: &'static str,
    body: Option<serde_json::Value>,
) -> (Sample, serde_json::Value) {
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        client.raw(method, path, body.as_ref()),
    )
    .await;
    let took = started.elapsed();
    match result {
        Ok(Ok(response)) => (
            Sample {
                started,
                took,
                status: Some(response.status.as_u16()),
                code: response.code().map(str::to_owned),
                path,
            },
            response.json,
        ),
        // A transport error or a request that hung for 30 s: both fail the test below.
        _ => (
            Sample {
                started,
                took,
                status: None,
                code: None,
                path,
            },
            serde_json::Value::Null,
        ),
    }
}

/// Ids of tokens whose creation was answered 201.
type Acked = Arc<Mutex<Vec<(Uuid, String)>>>;

async fn load(
    client: Client,
    anonymous: Client,
    acked: Acked,
    stop: Arc<std::sync::atomic::AtomicBool>,
    worker: usize,
) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut i = 0usize;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        i += 1;
        let (sample, json) = match (worker + i) % 4 {
            0 => {
                let body = json!({"name": format!("load {worker} {i}"), "expires_in_days": 5});
                let (sample, json) =
                    timed(&client, Method::POST, "/api/v1/me/tokens", Some(body)).await;
                if sample.status == Some(201) {
                    let id = json["id"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .expect("id");
                    let value = json["token"].as_str().expect("token").to_owned();
                    acked.lock().expect("lock").push((id, value));
                }
                (sample, json)
            }
            1 => timed(&client, Method::GET, "/api/v1/users", None).await,
            2 => timed(&client, Method::GET, "/api/v1/me/tokens", None).await,
            _ => timed(&anonymous, Method::GET, "/readyz", None).await,
        };
        let _ = json;
        samples.push(sample);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    samples
}

/// The server must answer a database outage with `503 unavailable`, quickly, and come back alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_fails_fast_and_recovers_alone() {
    if !postgres_available() {
        return;
    }
    let Some(pg) = PrivatePostgres::init() else {
        if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
            panic!("{PG_BIN}/initdb is missing but JUSTIAM_TEST_REQUIRE_ALL=1");
        }
        eprintln!("SKIPPED: no {PG_BIN}/initdb for a private PostgreSQL");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = test_args(pg.url());
    args.token_auth_failures_per_minute = 0;
    let running = justiam_server::server::start(&args)
        .await
        .expect("server starts");
    let mut server = TestServer {
        backend: Backend::Postgres,
        url: format!("http://{}", running.addr),
        database_url: pg.url(),
        running: Some(running),
        dir,
    };
    let node_b = server
        .another_node(|a| a.token_auth_failures_per_minute = 0)
        .await;
    let admin = server.admin().await;

    // Writes acknowledged before the outage.
    let mut before = Vec::new();
    for i in 0..10 {
        before.push(
            admin
                .create_my_token(&format!("before {i}"), 5)
                .await
                .expect("create"),
        );
    }
    let user = server
        .create_user("survivor@example.com", "user-password-1")
        .await;
    // A token node B has verified (and cached) before the outage.
    let watched = admin.create_my_token("watched", 5).await.expect("create");
    let watched_on_b = node_b.anonymous().with_token(watched.token.clone());
    assert_eq!(
        raw(&watched_on_b, Method::GET, "/api/v1/me", None)
            .await
            .status
            .as_u16(),
        200
    );

    let acked: Acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            tokio::spawn(load(
                admin.clone(),
                server.anonymous(),
                acked.clone(),
                stop.clone(),
                w,
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(800)).await;
    let stop_pg = tokio::task::spawn_blocking({
        let pg = pg.handle();
        move || pg.stop()
    });
    tokio::time::timeout(Duration::from_secs(90), stop_pg)
        .await
        .expect("pg_ctl stop in time")
        .expect("stop");
    let down = Instant::now();

    // While it is down: readiness says so, within a bounded time.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (sample, json) = timed(&server.anonymous(), Method::GET, "/readyz", None).await;
        assert!(
            sample.took < Duration::from_secs(10),
            "/readyz took {:?}",
            sample.took
        );
        if sample.status == Some(503) {
            assert_eq!(json["status"], "not ready");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still {:?} 20 s into the outage",
            sample.status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A write during the outage is a 503 with the error body, not a hang and not a 500.
    let (sample, json) = timed(
        &admin,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({"name": "during", "expires_in_days": 5})),
    )
    .await;
    assert_eq!(sample.status, Some(503), "write during the outage: {json}");
    assert_eq!(json["code"], "unavailable");
    assert!(
        sample.took < Duration::from_secs(8),
        "took {:?}",
        sample.took
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    // PostgreSQL may accept connections before `pg_ctl start` returns: writes acknowledged from
    // here on are legitimate.
    let restarting = Instant::now();
    let restart = tokio::task::spawn_blocking({
        let pg = pg.handle();
        move || pg.start()
    });
    tokio::time::timeout(Duration::from_secs(90), restart)
        .await
        .expect("pg_ctl start in time")
        .expect("start");
    let up = Instant::now();

    // It recovers by itself: ready again, writes accepted again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (sample, _) = timed(&server.anonymous(), Method::GET, "/readyz", None).await;
        if sample.status == Some(200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready 30 s after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recovered_after = up.elapsed();
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        match admin.create_my_token("after", 5).await {
            Ok(created) => break created,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "writes still fail 30 s after recovery: {e:?}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut samples = Vec::new();
    for worker in workers {
        samples.extend(
            tokio::time::timeout(Duration::from_secs(60), worker)
                .await
                .expect("load stops")
                .expect("worker"),
        );
    }

    // Every answer was a documented one, none took long, none was a 500.
    let in_outage: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.started > down && s.started < up)
        .collect();
    let mut failures = 0;
    for s in &samples {
        assert!(s.status.is_some(), "no answer (or > 30 s): {s:?}");
        assert_ne!(s.status, Some(500), "a 500: {s:?}");
        assert!(
            s.took < Duration::from_secs(10),
            "a request took {:?}: {s:?}",
            s.took
        );
        if s.status == Some(503) {
            failures += 1;
            if s.path != "/readyz" {
                assert_eq!(s.code.as_deref(), Some("unavailable"), "{s:?}");
            }
        } else {
            assert!(matches!(s.status, Some(200 | 201)), "{s:?}");
        }
    }
    assert!(
        in_outage.len() >= 8,
        "the load ran during the outage: {}",
        in_outage.len()
    );
    assert!(
        in_outage
            .iter()
            .filter(|s| s.path == "/api/v1/me/tokens"
                && s.status == Some(201)
                && s.started + s.took < restarting)
            .count()
            == 0,
        "no creation is acknowledged while the database is down"
    );
    let slowest = samples.iter().map(|s| s.took).max().unwrap_or_default();
    eprintln!(
        "outage: {} requests, {} during the outage ({} answered 503), slowest {:?}; ready {:?} after PostgreSQL came back",
        samples.len(),
        in_outage.len(),
        failures,
        slowest,
        recovered_after
    );

    // No acknowledged write is lost: the tokens made before and during the load work and are listed.
    let acked = acked.lock().expect("lock").clone();
    assert!(!acked.is_empty(), "the load created tokens");
    let page = admin
        .list_my_tokens(&ListParams {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .expect("list");
    let listed: std::collections::BTreeSet<Uuid> = page.data.iter().map(|t| t.id).collect();
    let mut checked = 0;
    for (id, value) in before
        .iter()
        .map(|c| (c.id, c.token.clone()))
        .chain(acked.iter().cloned())
        .chain(std::iter::once((after.id, after.token.clone())))
    {
        if page.total <= 100 {
            assert!(listed.contains(&id), "token {id} is listed");
        }
        let r = raw(
            &server.anonymous().with_token(value),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "token {id} works: {}", r.json);
        checked += 1;
    }
    admin
        .get_user(user.id)
        .await
        .expect("the user made before the outage");
    eprintln!("outage: {checked} acknowledged token creations checked after recovery, lost: 0");

    // Cross-node cache invalidation works again after the outage: a revocation on node A is seen
    // by node B (which had the token cached) without waiting for the cache TTL.
    admin
        .revoke_my_token(watched.id)
        .await
        .expect("revoke after recovery");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = raw(&watched_on_b, Method::GET, "/api/v1/me", None)
            .await
            .status
            .as_u16();
        if status == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node B still accepts a token revoked on node A 5 s after the revocation (after the outage): {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut node_b = node_b;
    node_b.stop().await;
    server.stop().await;
    drop(pg);
}

/// `pg_ctl` for a cluster owned by a [`PrivatePostgres`], usable from a blocking task.
struct PrivatePostgresRef {
    data: std::path::PathBuf,
    port: u16,
}

impl PrivatePostgresRef {
    fn stop(&self) {
        let mut c = as_postgres_user("pg_ctl");
        c.arg("-D")
            .arg(self.data.join("data"))
            .args(["-m", "fast", "-w", "-t", "60", "stop"]);
        run(c, "pg_ctl stop");
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.data.display()
        );
        let mut c = as_postgres_user("pg_ctl");
        c.arg("-D")
            .arg(self.data.join("data"))
            .arg("-l")
            .arg(self.data.join("log"))
            .args(["-o", &options, "-w", "-t", "60", "start"]);
        run(c, "pg_ctl start");
    }
}
