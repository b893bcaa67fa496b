//! The README's commands, run exactly as written: the lines of its fenced `sh` blocks start the
//! server with `cargo run --release -- serve` from the repository root, create the first
//! administrator with `cargo run --release -- admin create …`, then log in and create a token with
//! its `curl … | jq` lines. Only the environment differs from a fresh clone: `DATABASE_URL` points
//! into a temporary directory (so the checkout gets no `justiam-data/`), `PORT` is a free port
//! (and the curl lines' `localhost:8080` says it), `BIND_ADDR` is the loopback address.
//!
//! The first run builds the release binary (in `CARGO_TARGET_DIR` when set, like every other
//! build); later runs reuse it. Without `curl` or `jq` the test skips loudly, or fails under
//! `JUSTIAM_TEST_REQUIRE_ALL=1` (`./scripts/test` installs them).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use justiam_client::Client;
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::common::free_port;

/// Building the release binary from nothing takes minutes on a small machine.
const BUILD_AND_START: Duration = Duration::from_secs(60 * 60);

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The contents of each fenced ```` ```sh ```` block, in order.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim() == "```sh" => current = Some(String::new()),
            None => {}
            Some(block) if line.trim() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unterminated ```sh block");
    blocks
}

/// The block's commands: lines joined where they end in `\`.
fn commands(block: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        match line.strip_suffix('\\') {
            Some(continued) => {
                current.push_str(continued);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                if !current.trim().is_empty() {
                    commands.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    commands
}

/// The one block whose text contains `needle`.
fn block_with<'a>(blocks: &'a [String], needle: &str) -> &'a str {
    let found: Vec<&String> = blocks.iter().filter(|b| b.contains(needle)).collect();
    assert_eq!(
        found.len(),
        1,
        "one ```sh block of README.md with {needle:?}: {blocks:#?}"
    );
    found[0]
}

/// Whether `curl` and `jq` are installed; without them the test skips loudly, or fails under
/// `JUSTIAM_TEST_REQUIRE_ALL=1`.
fn tools_available() -> bool {
    let missing: Vec<&str> = ["curl", "jq"]
        .into_iter()
        .filter(|tool| {
            !std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {tool}"))
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!("{missing:?} missing but JUSTIAM_TEST_REQUIRE_ALL=1 (./scripts/test installs them)");
    }
    eprintln!("SKIPPED: README test: {missing:?} missing (apt-get install curl jq)");
    false
}

/// A README line run by `sh` from the repository root, in the test's environment.
fn shell(line: &str, database_url: &str, port: u16) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(line)
        .current_dir(repository_root())
        .env("DATABASE_URL", database_url)
        .env("PORT", port.to_string())
        .env("BIND_ADDR", "127.0.0.1")
        // A fresh clone's environment: nothing that would change what the commands do.
        .env_remove("JUSTIAM_BOOTSTRAP_ADMIN_EMAIL")
        .env_remove("JUSTIAM_BOOTSTRAP_ADMIN_PASSWORD")
        .env_remove("JWT_SECRET")
        .env_remove("LOG_FORMAT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs a README line that must end by itself.
async fn run(line: &str, database_url: &str, port: u16) -> (String, String) {
    let output = tokio::time::timeout(BUILD_AND_START, shell(line, database_url, port).output())
        .await
        .unwrap_or_else(|_| panic!("{line:?} did not finish"))
        .expect("run sh");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{line:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    (stdout, stderr)
}

/// The `cargo run … serve` process group (sh, cargo and the server), stopped with SIGTERM when
/// the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(pid) = self.0.id() {
            // The negative id names the whole group (`--`, or procps' kill reads it as an option).
            let _ = std::process::Command::new("kill")
                .args(["-TERM", "--", &format!("-{pid}")])
                .status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_commands_work_as_written() {
    if !tools_available() {
        return;
    }
    let readme =
        std::fs::read_to_string(repository_root().join("README.md")).expect("read README.md");
    let blocks = sh_blocks(&readme);

    // "The two commands": the server, and the test suite (which runs this very test, so it is
    // only checked to be there).
    let two = commands(block_with(&blocks, "-- serve"));
    let serve = two
        .iter()
        .find(|c| c.starts_with("cargo run"))
        .expect("a cargo run … serve line");
    let test_script = two
        .iter()
        .find(|c| c.starts_with("./scripts/test"))
        .expect("a ./scripts/test line");
    let script = test_script.split_whitespace().next().unwrap_or_default();
    assert!(repository_root().join(script).is_file(), "{script} exists");
    let admin_create = commands(block_with(&blocks, "admin create"));
    assert_eq!(admin_create.len(), 1, "{admin_create:?}");
    let token_script = block_with(&blocks, "/api/v1/me/tokens");

    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = format!("sqlite://{}/justiam.db", dir.path().display());
    let port = free_port();

    let mut command = shell(serve, &database_url, port);
    command.process_group(0);
    let mut server = Server(command.spawn().expect("spawn the serve line"));
    let mut stdout = server.0.stdout.take().expect("stdout");
    let mut stderr = server.0.stderr.take().expect("stderr");
    let printed = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text).await;
        text
    });
    let logged = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });

    // Wait for the build and the start: the server answers /readyz.
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + BUILD_AND_START;
    loop {
        if let Some(status) = server.0.try_wait().expect("try_wait") {
            let stderr = logged.await.unwrap_or_default();
            panic!("{serve:?} ended ({status}) before serving:\n{stderr}");
        }
        let ready = http.get(format!("{base}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(Instant::now() < deadline, "{serve:?} never served");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let (created, _) = run(&admin_create[0], &database_url, port).await;
    assert!(
        created.contains("Created administrator admin@example.com"),
        "{created}"
    );

    // The curl lines name the README's port; the test's server is on another one.
    let token_script = token_script.replace("localhost:8080", &format!("localhost:{port}"));
    let (answer, _) = run(&token_script, &database_url, port).await;
    let token: Value = serde_json::from_str(answer.trim()).unwrap_or_else(|e| {
        panic!("the last curl prints the created token as JSON ({e}): {answer:?}")
    });
    assert_eq!(token["name"], "CI pipeline", "{token}");
    let value = token["token"].as_str().unwrap_or_default();
    assert!(value.starts_with("justiam_pat_"), "{token}");
    let me = Client::new(&base)
        .with_token(value)
        .me()
        .await
        .expect("the README's token works");
    assert_eq!(me.user.email, "admin@example.com");
    assert!(me.user.is_admin);

    drop(server);
    let printed = tokio::time::timeout(Duration::from_secs(30), printed)
        .await
        .expect("the server stops on SIGTERM")
        .unwrap_or_default();
    // "On first start the server prints how to create the first administrator".
    assert!(
        printed.contains("justiam admin create --email admin@example.com --password-stdin"),
        "{printed}"
    );
}
