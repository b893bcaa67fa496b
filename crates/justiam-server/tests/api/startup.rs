//! The compiled `justiam` binary: start-up failures are one clear line, the first run prints how to
//! create the first admin, `admin create` works, the generated key is private, and `serve --help`
//! lists every setting of the README.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use justiam_client::Client;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::common::mode;

const BIN: &str = env!("CARGO_BIN_EXE_justiam");

/// The binary with an empty environment (no `DATABASE_URL`, `JWT_SECRET`, … from the caller) and
/// the working directory `dir`, so a default data directory could only land there.
fn justiam(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("LOG_LEVEL", "info")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Runs a command that must end by itself within 30 s.
async fn run(mut command: Command, stdin: Option<&str>) -> Output {
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().expect("spawn justiam");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(text.as_bytes()).await.expect("write stdin");
        drop(pipe);
    }
    tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("justiam ends within 30 s")
        .expect("justiam output")
}

/// A failed start-up: non-zero exit and exactly one line on stderr, `justiam: …`, no panic.
fn assert_one_clear_line(output: &Output, mentions: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "must fail; stdout {} stderr {stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "exit status; stderr {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got {stderr:?}");
    let line = lines[0];
    assert!(line.starts_with("justiam: "), "{line:?}");
    assert!(
        line.contains(mentions),
        "{line:?} should mention {mentions:?}"
    );
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!stderr.contains(bad), "{bad} in {stderr:?}");
    }
    line.to_owned()
}

fn serve_env(database_url: &str) -> Vec<(&str, &str)> {
    vec![
        ("DATABASE_URL", database_url),
        ("PORT", "0"),
        ("BIND_ADDR", "127.0.0.1"),
    ]
}

#[tokio::test]
async fn a_bad_database_url_is_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    for url in ["mysql://x", "not a url", "sqlite"] {
        let output = run(justiam(dir.path(), &["serve"], &serve_env(url)), None).await;
        assert_one_clear_line(&output, "DATABASE_URL");
        let output = run(
            justiam(dir.path(), &["migrate"], &[("DATABASE_URL", url)]),
            None,
        )
        .await;
        assert_one_clear_line(&output, "DATABASE_URL");
    }
    // Credentials in a refused URL are not repeated.
    let output = run(
        justiam(
            dir.path(),
            &["serve"],
            &serve_env("mysql://root:hunter2@db/x"),
        ),
        None,
    )
    .await;
    let line = assert_one_clear_line(&output, "DATABASE_URL");
    assert!(!line.contains("hunter2"), "{line}");
    assert!(
        std::fs::read_dir(dir.path())
            .expect("read dir")
            .next()
            .is_none(),
        "nothing was created in the working directory"
    );
}

#[tokio::test]
async fn an_unwritable_data_directory_is_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(
        justiam(
            dir.path(),
            &["serve"],
            &serve_env("sqlite:///proc/nope/x.db"),
        ),
        None,
    )
    .await;
    assert_one_clear_line(&output, "/proc/nope");

    // A data "directory" that is a file.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").expect("write file");
    let url = format!("sqlite://{}/justiam.db", file.display());
    let output = run(justiam(dir.path(), &["serve"], &serve_env(&url)), None).await;
    assert_one_clear_line(&output, "plain-file");
    let output = run(
        justiam(
            dir.path(),
            &["admin", "create", "--email", "x@y.zz", "--password-stdin"],
            &[("DATABASE_URL", &url)],
        ),
        Some("a-long-password\n"),
    )
    .await;
    assert_one_clear_line(&output, "plain-file");
}

#[tokio::test]
async fn a_short_jwt_secret_is_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/justiam.db", dir.path().display());
    let mut env = serve_env(&url);
    env.push(("JWT_SECRET", "too-short"));
    let output = run(justiam(dir.path(), &["serve"], &env), None).await;
    assert_one_clear_line(&output, "JWT_SECRET");
}

#[tokio::test]
async fn postgres_without_jwt_secret_is_one_clear_line() {
    if !crate::common::postgres_available() {
        return;
    }
    let admin_url = std::env::var("JUSTIAM_TEST_POSTGRES_URL").expect("JUSTIAM_TEST_POSTGRES_URL");
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .expect("connect to JUSTIAM_TEST_POSTGRES_URL");
    let name = format!("jt_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (base, _) = admin_url.rsplit_once('/').expect("URL with a database");
    let url = format!("{base}/{name}");

    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(justiam(dir.path(), &["serve"], &serve_env(&url)), None).await;
    let line = assert_one_clear_line(&output, "JWT_SECRET");
    assert!(line.contains("PostgreSQL"), "{line}");
    assert!(
        !line.contains("justiam_test:justiam_test"),
        "no password in messages: {line}"
    );
    assert!(
        !dir.path().join("jwt_secret").exists(),
        "no key file is written for PostgreSQL"
    );
    // An unreachable server is one line too.
    let output = run(
        justiam(
            dir.path(),
            &["serve"],
            &[
                ("DATABASE_URL", "postgres://u:pw@127.0.0.1:1/x"),
                ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                ("PORT", "0"),
                ("BIND_ADDR", "127.0.0.1"),
            ],
        ),
        None,
    )
    .await;
    let line = assert_one_clear_line(&output, "postgres");
    assert!(!line.contains(":pw@"), "no password in messages: {line}");
}

/// A running `justiam serve`: its address and everything it announced before listening.
struct Served {
    child: Child,
    addr: String,
    /// What it said before it listened: stdout's lines, or with `LOG_FORMAT=json` the messages of
    /// the JSON log lines.
    stdout_before_listening: String,
    stdout: tokio::task::JoinHandle<String>,
    stderr: tokio::task::JoinHandle<String>,
}

/// Reads a stream whole, handing each line to `lines` as it comes.
fn collect(
    pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    lines: tokio::sync::mpsc::UnboundedSender<String>,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut reader = BufReader::new(pipe).lines();
        let mut text = String::new();
        while let Ok(Some(line)) = reader.next_line().await {
            text.push_str(&line);
            text.push('\n');
            let _ = lines.send(line);
        }
        text
    })
}

/// The announcement in a line: the line itself, or with `LOG_FORMAT=json` its JSON `message`.
fn announcement(line: &str, json: bool) -> Option<String> {
    if !json {
        return Some(line.to_owned());
    }
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value["message"].as_str().map(str::to_owned)
}

async fn serve(dir: &Path, env: &[(&str, &str)]) -> Served {
    let json = env.contains(&("LOG_FORMAT", "json"));
    let mut child = justiam(dir, &["serve"], env)
        .spawn()
        .expect("spawn justiam serve");
    let (out_lines, mut stdout_lines) = tokio::sync::mpsc::unbounded_channel();
    let (err_lines, mut stderr_lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = collect(child.stdout.take().expect("stdout"), out_lines);
    let stderr = collect(child.stderr.take().expect("stderr"), err_lines);
    // People read stdout; with LOG_FORMAT=json everything is in the log, on stderr.
    let announced = if json {
        &mut stderr_lines
    } else {
        &mut stdout_lines
    };
    let mut before = String::new();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = announced.recv().await {
            let Some(said) = announcement(&line, json) else {
                continue;
            };
            if let Some(addr) = said.strip_prefix("JustIAM listening on ") {
                return addr.trim().to_owned();
            }
            before.push_str(&said);
            before.push('\n');
        }
        panic!("justiam serve ended before listening; it said {before:?}");
    })
    .await
    .expect("justiam serve listens within 30 s");
    Served {
        child,
        addr,
        stdout_before_listening: before,
        stdout,
        stderr,
    }
}

impl Served {
    /// Stops the server and returns its stderr.
    async fn stop(self) -> String {
        self.stop_all().await.1
    }

    /// Stops the server and returns its stdout and stderr.
    async fn stop_all(mut self) -> (String, String) {
        self.child.kill().await.expect("kill justiam serve");
        let mut outputs = Vec::new();
        for pipe in [self.stdout, self.stderr] {
            let text = tokio::time::timeout(Duration::from_secs(10), pipe)
                .await
                .expect("the pipe closes")
                .expect("pipe task");
            outputs.push(text);
        }
        let stderr = outputs.pop().unwrap_or_default();
        (outputs.pop().unwrap_or_default(), stderr)
    }
}

#[tokio::test]
async fn first_run_prints_the_admin_hint_then_admin_create_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let url = format!("sqlite://{}/justiam.db", data.display());

    let first = serve(dir.path(), &serve_env(&url)).await;
    assert!(
        first
            .stdout_before_listening
            .contains("justiam admin create --email"),
        "the hint: {:?}",
        first.stdout_before_listening
    );
    assert!(
        first.stdout_before_listening.contains("--password-stdin"),
        "{:?}",
        first.stdout_before_listening
    );
    let client = Client::new(&first.addr);
    assert_eq!(
        client.version().await.expect("version").version,
        env!("CARGO_PKG_VERSION")
    );
    let ready = reqwest::get(format!("{}/readyz", first.addr))
        .await
        .expect("readyz");
    assert_eq!(ready.status().as_u16(), 200);
    let stderr = first.stop().await;
    assert!(!stderr.contains("panicked"), "{stderr}");

    // The data directory was created, with the database and a private generated key.
    assert!(data.join("justiam.db").exists());
    let key = data.join("jwt_secret");
    let metadata = std::fs::metadata(&key).expect("jwt_secret exists");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            metadata.permissions().mode() & 0o777,
            0o600,
            "jwt_secret mode"
        );
    }
    let secret = std::fs::read_to_string(&key).expect("read jwt_secret");
    assert!(secret.trim().len() >= 32, "a long key");

    let created = run(
        justiam(
            dir.path(),
            &["admin", "create", "--email", "x@y.z", "--password-stdin"],
            &[("DATABASE_URL", &url)],
        ),
        Some("a-long-password\n"),
    )
    .await;
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(
        created.status.success(),
        "admin create: {stdout} {}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(stdout.contains("x@y.z"), "{stdout}");
    assert!(
        !stdout.contains("a-long-password"),
        "the password is not echoed"
    );

    // Without --password-stdin a password is generated and shown once.
    let generated = run(
        justiam(
            dir.path(),
            &["admin", "create", "--email", "plain@y.z", "--no-admin"],
            &[("DATABASE_URL", &url)],
        ),
        None,
    )
    .await;
    let generated_out = String::from_utf8_lossy(&generated.stdout).into_owned();
    assert!(generated.status.success(), "{generated_out}");
    let password = generated_out
        .lines()
        .find_map(|l| {
            l.split_once("shown only this once: ")
                .map(|(_, p)| p.trim().to_owned())
        })
        .expect("a generated password is printed");
    assert!(password.len() >= 16, "{password}");

    // The same email again is one clear line.
    let again = run(
        justiam(
            dir.path(),
            &["admin", "create", "--email", "X@Y.Z", "--password-stdin"],
            &[("DATABASE_URL", &url)],
        ),
        Some("another-long-password\n"),
    )
    .await;
    assert_one_clear_line(&again, "email");

    let second = serve(dir.path(), &serve_env(&url)).await;
    assert!(
        !second
            .stdout_before_listening
            .contains("justiam admin create"),
        "no hint once users exist: {:?}",
        second.stdout_before_listening
    );
    let anonymous = Client::new(&second.addr);
    let login = anonymous
        .login("x@y.z", "a-long-password")
        .await
        .expect("the created admin logs in");
    assert!(login.user.is_admin);
    let me = anonymous
        .with_token(login.token)
        .me()
        .await
        .expect("the JWT signed with the kept key works");
    assert!(me.permissions.iter().any(|p| p == "users.create"));
    let plain = anonymous
        .login("plain@y.z", &password)
        .await
        .expect("the generated password works");
    assert!(!plain.user.is_admin);
    let stderr = second.stop().await;
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&key).expect("read jwt_secret"),
        secret,
        "the key is kept across restarts"
    );
}

#[tokio::test]
async fn bootstrap_variables_create_the_first_admin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/justiam.db", dir.path().display());
    let mut env = serve_env(&url);
    env.push(("JUSTIAM_BOOTSTRAP_ADMIN_EMAIL", "boot@example.com"));
    let served = serve(dir.path(), &env).await;
    let password = served
        .stdout_before_listening
        .lines()
        .find_map(|l| {
            l.split_once("shown only this once: ")
                .map(|(_, p)| p.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("generated password in {:?}", served.stdout_before_listening));
    let login = Client::new(&served.addr)
        .login("boot@example.com", &password)
        .await
        .expect("the bootstrap admin logs in");
    assert!(login.user.is_admin);
    served.stop().await;
}

#[tokio::test]
async fn defaults_data_directory_wal_json_logs_and_request_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No DATABASE_URL: the embedded default under the working directory.
    let served = serve(
        dir.path(),
        &[
            ("PORT", "0"),
            ("BIND_ADDR", "127.0.0.1"),
            ("LOG_FORMAT", "json"),
            ("LOG_LEVEL", "debug"),
        ],
    )
    .await;
    let data = dir.path().join("justiam-data");
    assert!(data.join("justiam.db").is_file(), "default database file");
    assert!(data.join("jwt_secret").is_file(), "default key file");
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/version", served.addr))
        .header("x-request-id", "startup-test-request-7")
        .send()
        .await
        .expect("version");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        data.join("justiam.db-wal").exists(),
        "the SQLite database runs in WAL mode"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stderr = served.stop().await;
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "logs on stderr");
    for line in &lines {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "LOG_FORMAT=json writes one JSON object per line: {line:?}"
        );
    }
    assert!(
        stderr.contains("startup-test-request-7"),
        "the request id appears in the request's log lines: {stderr}"
    );

    let migrated = run(justiam(dir.path(), &["migrate"], &[]), None).await;
    assert!(
        migrated.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&migrated.stderr)
    );
}

/// `LOG_LEVEL` directives pick what is logged: here the access lines are muted, and a value the
/// filter cannot read is said at start rather than ignored.
#[tokio::test]
async fn log_level_directives_and_a_log_level_that_cannot_be_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = |level: &'static str| {
        [
            ("PORT", "0"),
            ("BIND_ADDR", "127.0.0.1"),
            ("LOG_LEVEL", level),
        ]
    };
    for (level, access_lines, complaint) in [
        ("info", true, false),
        ("info,justiam_server::http=warn", false, false),
        ("info,[request{x=1}]=debug", true, true),
    ] {
        let served = serve(dir.path(), &env(level)).await;
        let response = reqwest::get(format!("{}/healthz", served.addr))
            .await
            .expect("healthz");
        assert_eq!(response.status().as_u16(), 200);
        // Informational lines reach stderr within 100 ms; `stop` kills the process.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let stderr = served.stop().await;
        assert_eq!(
            stderr.contains("route=/healthz status=200"),
            access_lines,
            "LOG_LEVEL={level}: {stderr}"
        );
        assert_eq!(
            stderr.contains("LOG_LEVEL is not a level or a list of target=level directives"),
            complaint,
            "LOG_LEVEL={level}: {stderr}"
        );
    }
}

/// The environment variables of the README's configuration table; `A_B_C` / `_D` stands for
/// `A_B_C` and `A_B_D` (the shorthand replaces as many trailing segments as it has).
fn readme_variables() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("read README.md");
    let table = readme
        .split("## Configuration")
        .nth(1)
        .expect("a Configuration section");
    let mut names: Vec<String> = Vec::new();
    for row in table.lines().take_while(|l| !l.starts_with("## ")) {
        let Some(first_cell) = row.strip_prefix('|').and_then(|r| r.split('|').next()) else {
            continue;
        };
        let mut previous: Option<String> = None;
        for (i, piece) in first_cell.split('`').enumerate() {
            if i % 2 == 0 || piece.is_empty() {
                continue;
            }
            let name = if let Some(suffix) = piece.strip_prefix('_') {
                let base = previous.clone().expect("a shorthand follows a full name");
                let segments: Vec<&str> = base.split('_').collect();
                let keep = segments.len() - suffix.split('_').count();
                format!("{}_{suffix}", segments[..keep].join("_"))
            } else {
                piece.to_owned()
            };
            if name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                previous = Some(name.clone());
                names.push(name);
            }
        }
    }
    names
}

#[tokio::test]
async fn serve_help_lists_every_readme_setting() {
    let names = readme_variables();
    for expected in [
        "DATABASE_URL",
        "BIND_ADDR",
        "LOG_FORMAT",
        "JUSTIAM_BOOTSTRAP_ADMIN_PASSWORD",
        "LOGIN_MAX_FAILURES_PER_IP",
        "DB_MAX_CONNECTIONS",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(names.len() >= 17, "{names:?}");

    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(justiam(dir.path(), &["serve", "--help"], &[]), None).await;
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    let missing: Vec<&String> = names
        .iter()
        .filter(|name| !help.contains(&format!("env: {name}")))
        .collect();
    assert!(
        missing.is_empty(),
        "serve --help lacks {missing:?}:\n{help}"
    );
}

/// The data directory is `0700` and every file in it `0600`; returns the files' names.
#[cfg(unix)]
fn assert_private(data: &Path, when: &str) -> Vec<String> {
    assert_eq!(mode(data), 0o700, "{when}: mode of {}", data.display());
    let mut names = Vec::new();
    for entry in std::fs::read_dir(data).expect("read the data directory") {
        let path = entry.expect("entry").path();
        assert_eq!(mode(&path), 0o600, "{when}: mode of {}", path.display());
        names.push(
            path.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        );
    }
    names.sort();
    names
}

/// Password hashes and token digests are for the server's user alone: the SQLite data directory is
/// created `0700` and the database, its `-wal` and `-shm` files and the generated key `0600`,
/// whatever the umask; files an older version left readable by others are made private at start.
#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_data_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let probe = dir.path().join("probe");
    std::fs::write(&probe, "x").expect("write probe");
    if mode(&probe) & 0o077 == 0 {
        eprintln!("WARNING: the umask already hides files from others; this test proves less");
    }
    let data = dir.path().join("data");
    let url = format!("sqlite://{}/justiam.db", data.display());
    let mut env = serve_env(&url);
    env.extend([
        ("JUSTIAM_BOOTSTRAP_ADMIN_EMAIL", "owner@example.com"),
        ("JUSTIAM_BOOTSTRAP_ADMIN_PASSWORD", "a-long-password"),
        ("PAT_USAGE_FLUSH_SECONDS", "1"),
    ]);

    let served = serve(dir.path(), &env).await;
    let names = assert_private(&data, "after start");
    for expected in [
        "justiam.db",
        "justiam.db-shm",
        "justiam.db-wal",
        "jwt_secret",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    // Writes: a login (a session), tokens, their use (usage written back).
    let anonymous = Client::new(&served.addr);
    let login = anonymous
        .login("owner@example.com", "a-long-password")
        .await
        .expect("login");
    let admin = anonymous.with_token(login.token);
    for n in 0..5 {
        let token = admin
            .create_my_token(&format!("token {n}"), 30)
            .await
            .expect("create token");
        anonymous
            .with_token(token.token)
            .me()
            .await
            .expect("use token");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_private(&data, "after writes");
    served.stop().await;

    // Files an older version created readable by everyone.
    for name in ["justiam.db", "justiam.db-wal", "justiam.db-shm"] {
        let path = data.join(name);
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                .expect("chmod 644");
        }
    }
    let served = serve(dir.path(), &env).await;
    assert_private(&data, "after a restart over world-readable files");
    let stderr = served.stop().await;
    assert!(
        stderr.contains("now only its owner may read it"),
        "the change is said: {stderr}"
    );
}

/// Asserts every line is one JSON object; returns their `message`s.
fn json_messages(text: &str, stream: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("LOG_FORMAT=json: every {stream} line is a JSON object ({e}): {line:?}")
            });
            assert!(value.is_object(), "{line}");
            value["message"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

/// With `LOG_FORMAT=json` a log shipper reading the server's stdout and stderr gets JSON objects
/// only: the hint to create the first administrator, the bootstrap administrator and its generated
/// password, where it listens, and a failed start are JSON log lines too.
#[tokio::test]
async fn json_logs_leave_no_plain_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/justiam.db", dir.path().display());
    let mut env = serve_env(&url);
    env.push(("LOG_FORMAT", "json"));

    // An empty database without bootstrap variables: the hint.
    let first = serve(dir.path(), &env).await;
    assert!(
        first
            .stdout_before_listening
            .contains("justiam admin create --email admin@example.com --password-stdin"),
        "{}",
        first.stdout_before_listening
    );
    let (stdout, stderr) = first.stop_all().await;
    assert_eq!(stdout, "", "nothing on stdout");
    let messages = json_messages(&stderr, "stderr");
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("JustIAM listening on http://127.0.0.1:")),
        "{messages:?}"
    );

    // The bootstrap administrator with a generated password, and the metrics listener: said even
    // at LOG_LEVEL=warn, as the plain lines are (the password is shown nowhere else).
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/justiam.db", dir.path().display());
    let mut env = serve_env(&url);
    env.extend([
        ("LOG_FORMAT", "json"),
        ("LOG_LEVEL", "warn"),
        ("JUSTIAM_BOOTSTRAP_ADMIN_EMAIL", "boot@example.com"),
        ("METRICS_ADDR", "127.0.0.1:0"),
    ]);
    let second = serve(dir.path(), &env).await;
    let said = second.stdout_before_listening.clone();
    assert!(
        said.contains("Created the first administrator boot@example.com."),
        "{said}"
    );
    let password = said
        .lines()
        .find_map(|l| {
            l.split_once("shown only this once: ")
                .map(|(_, p)| p.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("the generated password in {said:?}"));
    Client::new(&second.addr)
        .login("boot@example.com", &password)
        .await
        .expect("the generated password works");
    // Informational lines reach stderr within 100 ms.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (stdout, stderr) = second.stop_all().await;
    assert_eq!(stdout, "", "nothing on stdout");
    let messages = json_messages(&stderr, "stderr");
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("Metrics on http://127.0.0.1:")),
        "{messages:?}"
    );

    // A failed start: one JSON error line, exit code 1.
    let mut env = serve_env(&url);
    env.extend([("LOG_FORMAT", "json"), ("JWT_SECRET", "too-short")]);
    let failed = run(justiam(dir.path(), &["serve"], &env), None).await;
    assert_eq!(failed.status.code(), Some(1));
    assert!(failed.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    let messages = json_messages(&stderr, "stderr");
    assert_eq!(messages.len(), 1, "{stderr}");
    assert!(
        messages[0].starts_with("justiam: ") && messages[0].contains("JWT_SECRET"),
        "{stderr}"
    );
    let line: serde_json::Value = serde_json::from_str(stderr.trim()).expect("JSON");
    assert_eq!(line["level"], "ERROR", "{line}");
}

/// A graceful stop (SIGTERM, as a service manager sends) closes the database: SQLite checkpoints
/// its write-ahead log into the database and removes it, so the data directory holds one file that
/// a copy or a backup can take whole.
#[tokio::test]
async fn sigterm_closes_the_sqlite_database_and_its_wal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let url = format!("sqlite://{}/justiam.db", data.display());
    let mut env = serve_env(&url);
    env.extend([
        ("JUSTIAM_BOOTSTRAP_ADMIN_EMAIL", "owner@example.com"),
        ("JUSTIAM_BOOTSTRAP_ADMIN_PASSWORD", "a-long-password"),
    ]);
    let served = serve(dir.path(), &env).await;
    let anonymous = Client::new(&served.addr);
    let login = anonymous
        .login("owner@example.com", "a-long-password")
        .await
        .expect("login");
    let admin = anonymous.with_token(login.token);
    let mut tokens = Vec::new();
    for n in 0..20 {
        tokens.push(
            admin
                .create_my_token(&format!("token {n}"), 30)
                .await
                .expect("create token"),
        );
    }
    let wal = data.join("justiam.db-wal");
    let size = |path: &Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    assert!(size(&wal) > 0, "the writes are in the write-ahead log");

    let pid = served.child.id().expect("running");
    crate::common::send_sigterm(pid);
    let mut child = served.child;
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("the server stops within 15 s of SIGTERM")
        .expect("exit status");
    assert!(status.success(), "{status}");
    assert_eq!(size(&wal), 0, "no write-ahead log left behind");

    // Everything written is in the database itself.
    let served = serve(dir.path(), &env).await;
    for token in &tokens {
        Client::new(&served.addr)
            .with_token(token.token.clone())
            .me()
            .await
            .expect("a token created before the stop works after it");
    }
    served.stop().await;
}
