//! The command-line client and `justiam backup`, driven as a user drives them: the compiled
//! binary against a real server, with HOME and XDG_CONFIG_HOME in a temporary directory.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer, mode};

/// What one run of `justiam` left behind.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "exit code; {self:?}");
        if code != 0 {
            assert!(
                self.stderr.starts_with("justiam: ") || self.stderr.contains("error:"),
                "errors are one line prefixed justiam: ; {self:?}"
            );
        }
        self
    }
}

/// A user's machine: its own home and config directory.
struct Machine {
    home: tempfile::TempDir,
    endpoint: String,
}

impl Machine {
    fn new(endpoint: &str) -> Machine {
        Machine {
            home: tempfile::tempdir().expect("temp home"),
            endpoint: endpoint.to_owned(),
        }
    }

    fn config_dir(&self) -> PathBuf {
        self.home.path().join("xdg").join("justiam")
    }

    async fn run_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_justiam"));
        command
            .args(args)
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("xdg"))
            .env("LOG_LEVEL", "warn")
            .env_remove("JUSTIAM_TOKEN")
            .env_remove("JUSTIAM_ENDPOINT")
            .env_remove("JUSTIAM_EMAIL")
            .env_remove("DATABASE_URL")
            .envs(env.iter().copied())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn justiam");
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            pipe.write_all(text.as_bytes()).await.expect("write stdin");
            drop(pipe);
        }
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("justiam finishes within a minute")
            .expect("justiam runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    async fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[], None).await
    }

    /// A run with the credential in `JUSTIAM_TOKEN`.
    async fn as_token(&self, token: &str, args: &[&str]) -> Run {
        self.run_with(args, &[("JUSTIAM_TOKEN", token)], None).await
    }
}

async fn story(backend: Backend) {
    let server = TestServer::start(backend).await;
    let me = Machine::new(&server.url);
    let url = me.endpoint.as_str();

    // Nothing saved yet: authentication failure.
    let run = me.run(&["whoami", "--endpoint", url]).await.expect(3);
    assert!(run.stderr.contains("not logged in"), "{run:?}");

    // Login with the password on stdin; the JWT is kept in a private file.
    me.run_with(
        &[
            "login",
            "--endpoint",
            url,
            "--email",
            ADMIN_EMAIL,
            "--password-stdin",
        ],
        &[],
        Some(&format!("{ADMIN_PASSWORD}\n")),
    )
    .await
    .expect(0);
    let credentials = me.config_dir().join("credentials.json");
    let saved = std::fs::read_to_string(&credentials).expect("credentials file");
    assert!(
        !saved.contains(ADMIN_PASSWORD),
        "the password is never saved"
    );
    let saved: Value = serde_json::from_str(&saved).expect("credentials are JSON");
    assert_eq!(saved["endpoint"], url);
    assert!(saved["token"].as_str().is_some_and(|t| t.len() > 20));
    #[cfg(unix)]
    {
        assert_eq!(mode(&credentials), 0o600, "credentials file mode");
        assert_eq!(mode(&me.config_dir()), 0o700, "config directory mode");
    }

    // A wrong password: 401 → 3, and the saved login is untouched.
    me.run_with(
        &[
            "login",
            "--endpoint",
            url,
            "--email",
            ADMIN_EMAIL,
            "--password-stdin",
        ],
        &[],
        Some("wrong-password\n"),
    )
    .await
    .expect(3);
    assert!(credentials.exists());

    // whoami from the saved login (endpoint included), as a table and as JSON.
    let run = me.run(&["whoami"]).await.expect(0);
    assert!(run.stdout.contains(ADMIN_EMAIL), "{run:?}");
    assert!(run.stdout.contains("administrator"), "{run:?}");
    let whoami = me.run(&["whoami", "-o", "json"]).await.expect(0).json();
    assert_eq!(whoami["email"], ADMIN_EMAIL);
    assert_eq!(whoami["is_admin"], true);

    // A service account, and a token for it; the value is captured from JSON.
    let sa = "ci-bot@example.com";
    let account = me
        .run(&[
            "service-account",
            "create",
            "--email",
            sa,
            "--output",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(account["is_service_account"], true);
    let account_id = account["id"].as_str().expect("id").to_owned();
    me.run(&["service-account", "create", "--email", sa])
        .await
        .expect(6);

    let run = me
        .run(&[
            "service-account",
            "token",
            "create",
            sa,
            "--name",
            "deploy",
            "--expires-in-days",
            "30",
            "-o",
            "json",
        ])
        .await
        .expect(0);
    assert!(run.stderr.is_empty(), "JSON mode prints only JSON: {run:?}");
    let created = run.json();
    let deploy_token = created["token"].as_str().expect("token value").to_owned();
    let deploy_id = created["id"].as_str().expect("token id").to_owned();
    assert!(deploy_token.starts_with("justiam_pat_"));

    // Table mode shows the value once, with a warning on stderr.
    let run = me
        .run(&[
            "service-account",
            "token",
            "create",
            &account_id,
            "--name",
            "second",
            "--expires-in-days",
            "7",
        ])
        .await
        .expect(0);
    assert!(run.stdout.contains("justiam_pat_"), "{run:?}");
    assert!(run.stderr.contains("only this once"), "{run:?}");
    assert!(
        !run.stderr.contains("justiam_pat_"),
        "no secret on stderr: {run:?}"
    );

    // Lists: a table for people, the API's envelope for scripts; never a token value.
    let run = me
        .run(&["service-account", "token", "list", sa])
        .await
        .expect(0);
    let header = run.stdout.lines().next().unwrap_or_default();
    for column in ["ID", "NAME", "TOKEN", "EXPIRES", "LAST USED"] {
        assert!(header.contains(column), "header {header:?}");
    }
    assert!(run.stdout.contains("deploy") && run.stdout.contains("second"));
    assert!(run.stdout.contains(&deploy_token[deploy_token.len() - 4..]));
    assert!(!run.stdout.contains(&deploy_token));
    let list = me
        .run(&["service-account", "token", "list", sa, "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(list["total"], 2, "{list}");
    assert!(!list.to_string().contains("justiam_pat_"));
    let users = me
        .run(&["user", "list", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert!(users["data"].as_array().is_some_and(|d| d.len() == 2));
    let run = me.run(&["user", "list"]).await.expect(0);
    assert!(run.stdout.contains("service account") && run.stdout.contains(sa));

    // The service account's token, from JUSTIAM_TOKEN, wins over the saved login.
    let run = me.as_token(&deploy_token, &["whoami"]).await.expect(0);
    assert!(run.stdout.contains(sa), "{run:?}");
    assert!(run.stdout.contains("deploy"), "names the token: {run:?}");
    // It holds no permission: 403 → 4.
    let run = me
        .as_token(&deploy_token, &["user", "list"])
        .await
        .expect(4);
    assert!(run.stderr.contains("403"), "{run:?}");
    // A made-up token: 401 → 3.
    me.run(&["whoami", "--token", "justiam_pat_not-a-real-token"])
        .await
        .expect(3);

    // Through a group and a built-in role it may list users.
    me.run(&[
        "group",
        "create",
        "--name",
        "robots",
        "--description",
        "bots",
    ])
    .await
    .expect(0);
    me.run(&["group", "add-member", "robots", sa])
        .await
        .expect(0);
    let members = me
        .run(&["group", "members", "robots", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(members["total"], 1);
    me.run(&[
        "role",
        "assign",
        "idp:directory-viewer",
        "--group",
        "robots",
    ])
    .await
    .expect(0);
    me.as_token(&deploy_token, &["user", "list"])
        .await
        .expect(0);
    me.run(&[
        "role",
        "unassign",
        "idp:directory-viewer",
        "--group",
        "robots",
    ])
    .await
    .expect(0);
    me.as_token(&deploy_token, &["user", "list"])
        .await
        .expect(4);
    let run = me.run(&["group", "list"]).await.expect(0);
    assert!(run.stdout.contains("robots"));
    let role = me
        .run(&[
            "role",
            "create",
            "--name",
            "auditors",
            "--permission",
            "audit.view,users.view",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(role["permissions"].as_array().map(Vec::len), Some(2));
    me.run(&["role", "assign", "auditors", "--user", sa])
        .await
        .expect(0);
    let run = me.run(&["user", "roles", sa]).await.expect(0);
    assert!(run.stdout.contains("auditors"), "{run:?}");
    me.run(&[
        "role",
        "create",
        "--name",
        "bad",
        "--permission",
        "nope.nope",
    ])
    .await
    .expect(6);

    // Rotate: the new value works, the old one stops at once.
    let rotated = me
        .run(&[
            "service-account",
            "token",
            "rotate",
            sa,
            &deploy_id,
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    let new_token = rotated["token"].as_str().expect("new value").to_owned();
    let new_id = rotated["id"].as_str().expect("new id").to_owned();
    assert_eq!(rotated["rotated_from"], deploy_id.as_str());
    me.as_token(&deploy_token, &["whoami"]).await.expect(3);
    me.as_token(&new_token, &["whoami"]).await.expect(0);

    // Revoke: the token stops working; revoking an unknown one is 404 → 5.
    let run = me
        .run(&["service-account", "token", "revoke", sa, &new_id])
        .await
        .expect(0);
    assert!(run.stdout.contains("Revoked"));
    me.as_token(&new_token, &["whoami"]).await.expect(3);
    me.run(&[
        "service-account",
        "token",
        "revoke",
        sa,
        &uuid::Uuid::now_v7().to_string(),
    ])
    .await
    .expect(5);
    me.run(&["user", "show", "nobody@example.com"])
        .await
        .expect(5);

    // Own tokens with the login JWT.
    let mine = me
        .run(&[
            "token",
            "create",
            "--name",
            "laptop",
            "--expires-in-days",
            "1",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    let mine_id = mine["id"].as_str().expect("id").to_owned();
    let run = me.run(&["token", "list"]).await.expect(0);
    assert!(run.stdout.contains("laptop"));
    me.run(&["token", "revoke", &mine_id]).await.expect(0);

    // An operator stops a colleague's token: `tokens list` finds it, `tokens revoke` stops it.
    let (_, colleague) = server.user_client("colleague@example.com").await;
    let theirs = colleague
        .create_my_token("their ci", 30)
        .await
        .expect("the colleague's token");
    let other = colleague
        .create_my_token("their laptop", 30)
        .await
        .expect("the colleague's token");
    let theirs_id = theirs.id.to_string();
    let run = me
        .run(&[
            "tokens",
            "list",
            "--search",
            "COLLEAGUE@",
            "--state",
            "active",
        ])
        .await
        .expect(0);
    assert!(run.stdout.contains(&theirs_id), "{run:?}");
    assert!(run.stdout.contains("colleague@example.com"), "{run:?}");
    let listed = me
        .run(&["tokens", "list", "--search", "their ci", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["data"][0]["owner"]["email"], "colleague@example.com");
    let run = me.run(&["tokens", "revoke", &theirs_id]).await.expect(0);
    assert!(run.stdout.contains("Revoked"), "{run:?}");
    me.as_token(&theirs.token, &["whoami"]).await.expect(3);
    me.as_token(&other.token, &["whoami"]).await.expect(0);
    me.run(&["tokens", "revoke", &theirs_id]).await.expect(5);
    // Someone without the power: 403 → 4.
    me.as_token(&other.token, &["tokens", "revoke", &theirs_id])
        .await
        .expect(4);

    // Users: create with a password from stdin, update, delete.
    me.run_with(
        &[
            "user",
            "create",
            "--email",
            "dana@example.com",
            "--first-name",
            "Dana",
            "--password-stdin",
        ],
        &[],
        Some("dana-password-1\n"),
    )
    .await
    .expect(0);
    let updated = me
        .run(&[
            "user",
            "update",
            "dana@example.com",
            "--last-name",
            "Scully",
            "--active",
            "false",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(updated["last_name"], "Scully");
    assert_eq!(updated["is_active"], false);
    me.run(&["user", "update", "dana@example.com"])
        .await
        .expect(2);
    me.run(&["user", "delete", "dana@example.com"])
        .await
        .expect(0);
    me.run(&["group", "delete", "robots"]).await.expect(0);
    me.run(&["role", "delete", "auditors"]).await.expect(0);

    // Usage errors are clap's 2; an unreachable server is 7.
    me.run(&["token", "create", "--name", "x"]).await.expect(2);
    me.run(&["token", "create", "--name", "x", "--expires-in-days", "366"])
        .await
        .expect(2);
    me.run(&["no-such-command"]).await.expect(2);
    let run = me
        .run(&["whoami", "--endpoint", "http://127.0.0.1:1", "--token", "x"])
        .await
        .expect(7);
    assert!(run.stderr.contains("cannot reach"), "{run:?}");
    // The saved JWT is never sent to another server.
    me.run(&["whoami", "--endpoint", "http://127.0.0.1:1"])
        .await
        .expect(3);

    // Logout ends the session on the server and forgets it.
    let jwt = saved["token"].as_str().expect("jwt").to_owned();
    me.run(&["logout"]).await.expect(0);
    assert!(!credentials.exists());
    me.run(&["whoami"]).await.expect(3);
    me.as_token(&jwt, &["whoami", "--endpoint", url])
        .await
        .expect(3);
}

crate::on_both_databases!(story);

/// What the API shows of a secret (`secret_hint`): `…` and its last four characters.
fn hint_of(secret: &str) -> String {
    format!("…{}", &secret[secret.len().saturating_sub(4)..])
}

/// The `client secret:` line of a table.
fn secret_line(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("client secret:"))
        .map(|value| value.trim().to_owned())
        .unwrap_or_else(|| panic!("no client secret line in {stdout:?}"))
}

/// `justiam app …` and `justiam app-mapping …` as an operator uses them: the secret printed once,
/// lists, updates, rotation, grants by user and group, mappings assigned and taken back.
async fn applications(backend: Backend) {
    let server = TestServer::start(backend).await;
    let me = Machine::new(&server.url);
    me.run_with(
        &[
            "login",
            "--endpoint",
            &server.url,
            "--email",
            ADMIN_EMAIL,
            "--password-stdin",
        ],
        &[],
        Some(&format!("{ADMIN_PASSWORD}\n")),
    )
    .await
    .expect(0);

    // Create: the secret once on stdout, a warning on stderr, never the secret on stderr.
    let run = me
        .run(&[
            "app",
            "create",
            "--name",
            "wiki",
            "--friendly-name",
            "Team wiki",
            "--redirect-uri",
            "https://wiki.example.com/cb",
            "--redirect-uri",
            "http://127.0.0.1:8000/cb",
            "--scope",
            "openid,profile,groups",
        ])
        .await
        .expect(0);
    let secret = secret_line(&run.stdout);
    assert!(secret.starts_with("justiam_cs_"), "{run:?}");
    assert!(run.stdout.contains("Created application wiki."), "{run:?}");
    assert!(run.stderr.contains("only this once"), "{run:?}");
    assert!(!run.stderr.contains("justiam_cs_"), "{run:?}");

    // Shown again: never the secret, only its last four characters.
    let wiki = me
        .run(&["app", "get", "wiki", "-o", "json"])
        .await
        .expect(0);
    assert!(!wiki.stdout.contains(&secret), "{wiki:?}");
    let wiki = wiki.json();
    assert_eq!(wiki["secret_hint"], hint_of(&secret));
    assert_eq!(wiki["type"], "oidc");
    assert_eq!(wiki["friendly_name"], "Team wiki");
    assert_eq!(
        wiki["allowed_scopes"],
        serde_json::json!(["openid", "profile", "groups"])
    );
    let wiki_id = wiki["id"].as_str().expect("id").to_owned();
    let client_id = wiki["client_id"].as_str().expect("client_id").to_owned();
    assert!(client_id.starts_with("justiam_app_"), "{wiki}");
    // Named by client id too; a table for people.
    let run = me.run(&["app", "show", &client_id]).await.expect(0);
    assert!(
        run.stdout.contains("Team wiki") && run.stdout.contains(&wiki_id),
        "{run:?}"
    );
    assert!(run.stdout.contains(&hint_of(&secret)), "{run:?}");
    me.run(&["app", "get", "nothing-here"]).await.expect(5);

    // A public client has no secret and PKCE on; JSON mode prints only JSON.
    let run = me
        .run(&[
            "app",
            "create",
            "--name",
            "board",
            "--type",
            "spa",
            "--redirect-uri",
            "http://127.0.0.1:5173/cb",
            "-o",
            "json",
        ])
        .await
        .expect(0);
    assert!(run.stderr.is_empty(), "{run:?}");
    let board = run.json();
    assert!(board.get("client_secret").is_none(), "{board}");
    assert_eq!(board["require_pkce"], true);
    let board_id = board["id"].as_str().expect("id").to_owned();

    // Refusals: a taken name, an http redirect URI off loopback (6), bad flags (2).
    me.run(&[
        "app",
        "create",
        "--name",
        "wiki",
        "--redirect-uri",
        "https://x.example.com/cb",
    ])
    .await
    .expect(6);
    let run = me
        .run(&[
            "app",
            "create",
            "--name",
            "plain",
            "--redirect-uri",
            "http://wiki.example.com/cb",
        ])
        .await
        .expect(6);
    assert!(run.stderr.contains("redirect_uris"), "{run:?}");
    me.run(&["app", "create", "--name", "x", "--type", "saml"])
        .await
        .expect(2);
    me.run(&["app", "update", "wiki"]).await.expect(2);

    // Lists: a table and the envelope, never a secret.
    let run = me.run(&["app", "list"]).await.expect(0);
    let header = run.stdout.lines().next().unwrap_or_default();
    for column in ["ID", "NAME", "TYPE", "CLIENT ID", "ACCESS"] {
        assert!(header.contains(column), "header {header:?}");
    }
    assert!(
        run.stdout.contains("wiki") && run.stdout.contains("board"),
        "{run:?}"
    );
    let list = me.run(&["app", "list", "-o", "json"]).await.expect(0);
    assert!(!list.stdout.contains("justiam_cs_"), "{list:?}");
    assert_eq!(list.json()["total"], 2);
    let found = me
        .run(&["app", "list", "--search", "wik", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["data"][0]["name"], "wiki");

    // Update: only what is given; a list flag replaces the list.
    let updated = me
        .run(&[
            "app",
            "update",
            "wiki",
            "--token-expiry",
            "600",
            "--access-restricted",
            "true",
            "--claim",
            "team@groups=${groups}",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(updated["token_expiry"], 600);
    assert_eq!(updated["access_restricted"], true);
    assert_eq!(updated["friendly_name"], "Team wiki", "untouched");
    assert_eq!(
        updated["claim_mappings"],
        serde_json::json!([{"claim": "team", "value": "${groups}", "required_scope": "groups"}])
    );
    me.run(&["app", "update", "wiki", "--token-expiry", "59"])
        .await
        .expect(2);

    // Rotation: a new secret, printed once; the hint follows it.
    let rotated = me
        .run(&[
            "app",
            "rotate-secret",
            "wiki",
            "--grace-period",
            "60",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    let second = rotated["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert!(
        second.starts_with("justiam_cs_") && second != secret,
        "{rotated}"
    );
    assert_eq!(rotated["client_id"], client_id.as_str());
    assert!(
        rotated["previous_secret_expires_at"].is_string(),
        "{rotated}"
    );
    let hint = me
        .run(&["app", "get", &wiki_id, "-o", "json"])
        .await
        .expect(0)
        .json()["secret_hint"]
        .clone();
    assert_eq!(hint, hint_of(&second));
    let run = me
        .run(&["app", "rotate-secret", &client_id])
        .await
        .expect(0);
    let third = secret_line(&run.stdout);
    assert!(
        third.starts_with("justiam_cs_") && third != second,
        "{run:?}"
    );
    assert!(run.stderr.contains("only this once"), "{run:?}");
    assert!(run.stdout.contains("stopped working"), "no grace: {run:?}");
    me.run(&["app", "rotate-secret", "board"]).await.expect(6);

    // Grants, by user and by group; the list names them.
    me.run(&["user", "create", "--email", "alice@example.com"])
        .await
        .expect(0);
    me.run(&["group", "create", "--name", "ops"])
        .await
        .expect(0);
    let grant = me
        .run(&[
            "app",
            "grant",
            "add",
            "wiki",
            "--user",
            "alice@example.com",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(grant["application_id"], wiki_id.as_str());
    let run = me
        .run(&["app", "grant", "add", "wiki", "--group", "ops"])
        .await
        .expect(0);
    assert!(run.stdout.contains("Granted ops access"), "{run:?}");
    me.run(&["app", "grant", "add", "wiki", "--user", "alice@example.com"])
        .await
        .expect(6);
    let run = me.run(&["app", "grant", "list", "wiki"]).await.expect(0);
    assert!(
        run.stdout.contains("alice@example.com") && run.stdout.contains("ops"),
        "{run:?}"
    );
    let grants = me
        .run(&["app", "grant", "list", "wiki", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(grants["total"], 2, "{grants}");
    let group_grant = grants["data"]
        .as_array()
        .and_then(|d| d.iter().find(|g| g["group_id"].is_string()))
        .and_then(|g| g["id"].as_str())
        .expect("the group's grant")
        .to_owned();
    me.run(&[
        "app",
        "grant",
        "remove",
        "wiki",
        "--user",
        "alice@example.com",
    ])
    .await
    .expect(0);
    me.run(&["app", "grant", "remove", "wiki", &group_grant])
        .await
        .expect(0);
    let grants = me
        .run(&["app", "grant", "list", "wiki", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(grants["total"], 0, "{grants}");
    let run = me
        .run(&["app", "grant", "remove", "wiki", "--group", "ops"])
        .await
        .expect(5);
    assert!(run.stderr.contains("no grant"), "{run:?}");

    // App role mappings: created per application, listed by application, assigned and taken back.
    let mapping = me
        .run(&[
            "app-mapping",
            "create",
            "--app",
            "wiki",
            "--variable",
            "wiki_role",
            "--value",
            "editor",
            "--description",
            "May edit",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(mapping["application_id"], wiki_id.as_str());
    let mapping_id = mapping["id"].as_str().expect("id").to_owned();
    me.run(&[
        "app-mapping",
        "create",
        "--app",
        &board_id,
        "--variable",
        "board_role",
        "--value",
        "viewer",
    ])
    .await
    .expect(0);
    let all = me
        .run(&["app-mapping", "list", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(all["total"], 2, "{all}");
    let wiki_only = me
        .run(&["app-mapping", "list", "--app", "wiki", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(wiki_only["total"], 1, "{wiki_only}");
    assert_eq!(wiki_only["data"][0]["value"], "editor");
    let run = me
        .run(&["app-mapping", "list", "--app", "wiki"])
        .await
        .expect(0);
    assert!(
        run.stdout.contains("wiki_role") && run.stdout.contains("editor"),
        "{run:?}"
    );
    let changed = me
        .run(&[
            "app-mapping",
            "update",
            &mapping_id,
            "--value",
            "maintainer",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(changed["value"], "maintainer");
    assert_eq!(changed["description"], "May edit");
    me.run(&["app-mapping", "update", &mapping_id])
        .await
        .expect(2);
    let run = me
        .run(&[
            "app-mapping",
            "assign",
            &mapping_id,
            "--user",
            "alice@example.com",
        ])
        .await
        .expect(0);
    assert!(run.stdout.contains("Assigned"), "{run:?}");
    me.run(&["app-mapping", "assign", &mapping_id, "--group", "ops"])
        .await
        .expect(0);
    let held = me
        .run(&[
            "app-mapping",
            "list",
            "--user",
            "alice@example.com",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(held["total"], 1, "{held}");
    assert_eq!(held["data"][0]["id"], mapping_id.as_str());
    let run = me
        .run(&["app-mapping", "list", "--group", "ops"])
        .await
        .expect(0);
    assert!(run.stdout.contains(&mapping_id), "{run:?}");
    me.run(&[
        "app-mapping",
        "unassign",
        &mapping_id,
        "--user",
        "alice@example.com",
    ])
    .await
    .expect(0);
    let held = me
        .run(&[
            "app-mapping",
            "list",
            "--user",
            "alice@example.com",
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(held["total"], 0, "{held}");
    me.run(&["app-mapping", "unassign", &mapping_id, "--group", "ops"])
        .await
        .expect(0);
    me.run(&["app-mapping", "assign", &mapping_id, "--group", "nobody"])
        .await
        .expect(5);

    // Someone without the permissions: 403 → 4.
    let (_, bob) = server.user_client("bob@example.com").await;
    let bob_token = bob
        .create_my_token("cli", 1)
        .await
        .expect("bob's token")
        .token;
    me.as_token(&bob_token, &["app", "list"]).await.expect(4);
    me.as_token(&bob_token, &["app-mapping", "list"])
        .await
        .expect(4);

    // Delete: the application and its mappings are gone.
    me.run(&["app", "delete", "wiki"]).await.expect(0);
    me.run(&["app", "get", &wiki_id]).await.expect(5);
    me.run(&["app-mapping", "get", &mapping_id]).await.expect(5);
    me.run(&["app", "delete", &board_id]).await.expect(0);
    let list = me
        .run(&["app", "list", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(list["total"], 0);
}

crate::on_both_databases!(applications);

#[tokio::test]
async fn help_completions_and_exit_codes_are_documented() {
    let me = Machine::new("http://127.0.0.1:1");
    let run = me.run(&["--help"]).await.expect(0);
    for line in [
        "Exit codes:",
        "2  usage error",
        "3  authentication",
        "7  server error",
    ] {
        assert!(run.stdout.contains(line), "{line:?} in {run:?}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let run = me.run(&["completions", shell]).await.expect(0);
        assert!(run.stdout.contains("service-account"), "{shell}");
    }
    me.run(&["completions", "tcsh"]).await.expect(2);
}

/// `justiam backup` under write load: the copy passes SQLite's integrity check, holds every user
/// acknowledged before it started, and a server starts on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_write_load_restores() {
    let server = TestServer::start(Backend::Sqlite).await;
    let admin = server.admin().await;
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let acknowledged = acknowledged.clone();
        let stop = stop.clone();
        let admin = admin.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            for i in 0..5000 {
                if stop.load(std::sync::atomic::Ordering::SeqCst)
                    || started.elapsed() > Duration::from_secs(60)
                {
                    break;
                }
                let email = format!("load-{i}@example.com");
                let input = justiam_types::CreateUser {
                    email: email.clone(),
                    ..Default::default()
                };
                admin.create_user(&input).await.expect("create user");
                acknowledged.lock().expect("lock").push(email);
            }
        })
    };
    let wait_for = |n: usize| {
        let acknowledged = acknowledged.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while acknowledged.lock().expect("lock").len() < n {
                assert!(Instant::now() < deadline, "the writer is too slow");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(30).await;

    let me = Machine::new(&server.url);
    let target = server.dir.path().join("backup.db");
    let target_text = target.to_str().expect("utf-8 path");
    let before: Vec<String> = acknowledged.lock().expect("lock").clone();
    let env = [("DATABASE_URL", server.database_url.as_str())];
    let run = me
        .run_with(&["backup", "--output", target_text], &env, None)
        .await
        .expect(0);
    assert!(run.stdout.contains("integrity ok"), "{run:?}");
    let during = acknowledged.lock().expect("lock").len();
    wait_for(during + 10).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.await.expect("writer");
    #[cfg(unix)]
    assert_eq!(mode(&target), 0o600, "the backup is private");

    // Integrity and content, read straight from the file.
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{target_text}?mode=ro"
    ))
    .await
    .expect("open the backup");
    let verdict: String = sqlx::Row::get(
        &sqlx::query("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .expect("integrity check"),
        0,
    );
    assert_eq!(verdict, "ok");
    let emails: HashSet<String> = sqlx::query("SELECT email FROM users")
        .fetch_all(&mut conn)
        .await
        .expect("users")
        .iter()
        .map(|row| sqlx::Row::get(row, 0))
        .collect();
    sqlx::Connection::close(conn).await.expect("close");
    for email in &before {
        assert!(
            emails.contains(email),
            "{email} was acknowledged before the backup"
        );
    }
    assert!(emails.contains(ADMIN_EMAIL));

    // An existing target is refused and left alone.
    let size = std::fs::metadata(&target).expect("backup").len();
    let run = me
        .run_with(&["backup", "--output", target_text], &env, None)
        .await
        .expect(1);
    assert!(run.stderr.contains("already exists"), "{run:?}");
    assert_eq!(std::fs::metadata(&target).expect("backup").len(), size);

    // Restore: a server started on a copy of the backup serves the same users.
    let restored_dir = tempfile::tempdir().expect("dir");
    let restored = restored_dir.path().join("justiam.db");
    std::fs::copy(&target, &restored).expect("copy the backup");
    let restored_url = format!("sqlite://{}", restored.display());
    let mut second = TestServer::start_with(Backend::Sqlite, |args| {
        args.db.database_url = restored_url;
    })
    .await;
    let client = second.admin().await;
    let page = client
        .list_users(&justiam_client::ListParams {
            search: Some("load-".to_owned()),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .expect("list users on the restored server");
    assert!(page.total as usize >= before.len());
    second.stop().await;
}

#[tokio::test]
async fn backup_refuses_postgres_and_points_to_pg_dump() {
    let me = Machine::new("http://127.0.0.1:1");
    let target = me.home.path().join("pg.db");
    let run = me
        .run_with(
            &["backup", "--output", target.to_str().expect("utf-8")],
            &[("DATABASE_URL", "postgres://u:secret@127.0.0.1:1/justiam")],
            None,
        )
        .await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("pg_dump"), "{run:?}");
    assert!(!run.stderr.contains("secret"), "{run:?}");
    assert!(!target.exists());
}

/// Issue 17: `justiam login` asks for the code after the password when the account has a second
/// factor; with `--password-stdin` the code is the second line. A wrong code is an authentication
/// failure (3), a missing one a usage error (2), and nothing is saved by either.
async fn login_asks_for_the_second_factor(backend: Backend) {
    let Some(python) = crate::mfa::pyotp() else {
        return;
    };
    let server = TestServer::start(backend).await;
    let email = "two-step@example.com";
    let password = "user-password-1";
    server.create_user(email, password).await;
    let client = server.login(email, password).await;
    let (phone, _) = crate::mfa::enroll(&client, &python).await;
    let me = Machine::new(&server.url);
    let url = me.endpoint.as_str();
    let login = [
        "login",
        "--endpoint",
        url,
        "--email",
        email,
        "--password-stdin",
    ];
    let credentials = me.config_dir().join("credentials.json");

    let run = me
        .run_with(&login, &[], Some(&format!("{password}\n")))
        .await
        .expect(2);
    assert!(run.stderr.contains("code"), "{run:?}");
    assert!(!credentials.exists());
    let run = me
        .run_with(&login, &[], Some(&format!("{password}\n000000\n")))
        .await
        .expect(3);
    assert!(run.stderr.contains("invalid_mfa_code"), "{run:?}");
    assert!(!credentials.exists());

    crate::mfa::away_from_a_step_boundary().await;
    let code = phone.now();
    me.run_with(&login, &[], Some(&format!("{password}\n{code}\n")))
        .await
        .expect(0);
    let whoami = me.run(&["whoami", "-o", "json"]).await.expect(0).json();
    assert_eq!(whoami["email"], email);
}

crate::on_both_databases!(login_asks_for_the_second_factor);
