//! `justiam service-account client|federated …`, driven as an operator drives it: the compiled
//! binary against a real server, then the created client used the way a pipeline would.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn justiam(server: &TestServer, token: &str, args: &[&str]) -> Run {
    let home = tempfile::tempdir().expect("home");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_justiam"))
        .args(args)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("xdg"))
        .env("JUSTIAM_ENDPOINT", &server.url)
        .env("JUSTIAM_TOKEN", token)
        .env("LOG_LEVEL", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn justiam");
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("finishes")
        .expect("runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn json_of(run: &Run) -> Value {
    assert_eq!(run.code, 0, "stdout {} stderr {}", run.stdout, run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

async fn service_account_clients_and_federated_credentials_from_the_cli(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let pat = create_token(&admin, None, "cli", None).await.token;
    let sa = server.create_service_account("pipeline@example.com").await;
    let account = "pipeline@example.com";

    // A secret client: the table shows the secret once and warns on stderr.
    let run = justiam(
        &server,
        &pat,
        &[
            "service-account",
            "client",
            "create",
            account,
            "--name",
            "deploy",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("client secret") && run.stdout.contains("justiam_cs_"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("shown only this once"),
        "{}",
        run.stderr
    );
    // JSON: the API's answer, usable by a script.
    let created = json_of(
        &justiam(
            &server,
            &pat,
            &[
                "service-account",
                "client",
                "create",
                account,
                "--name",
                "ci",
                "-o",
                "json",
            ],
        )
        .await,
    );
    let (client_id, secret) = (
        created["client_id"].as_str().expect("client_id").to_owned(),
        created["client_secret"]
            .as_str()
            .expect("secret")
            .to_owned(),
    );
    let token = access_token(&server, &client_id, &secret).await;
    assert_eq!(
        me_as(&server, &token).await.json["id"],
        json!(sa.id.to_string())
    );

    // A key client from a PEM file.
    let key = OutsideKey::es256("cli");
    let dir = tempfile::tempdir().expect("dir");
    let pem = dir.path().join("client.pub");
    std::fs::write(&pem, key.pem()).expect("write key");
    let keyed = json_of(
        &justiam(
            &server,
            &pat,
            &[
                "service-account",
                "client",
                "create",
                account,
                "--name",
                "signer",
                "--public-key",
                pem.to_str().expect("path"),
                "-o",
                "json",
            ],
        )
        .await,
    );
    assert_eq!(keyed["auth_method"], "private_key_jwt");
    assert!(keyed.get("client_secret").is_none());

    let list = json_of(
        &justiam(
            &server,
            &pat,
            &["service-account", "client", "list", account, "-o", "json"],
        )
        .await,
    );
    assert_eq!(list["total"], 3);
    let table = justiam(
        &server,
        &pat,
        &["service-account", "client", "list", account],
    )
    .await;
    assert!(
        table.stdout.contains("CLIENT ID") && table.stdout.contains(&client_id),
        "{}",
        table.stdout
    );
    assert!(!table.stdout.contains(&secret), "never shown again");

    let run = justiam(
        &server,
        &pat,
        &[
            "service-account",
            "client",
            "delete",
            account,
            created["id"].as_str().expect("id"),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_invalid_token(&me_as(&server, &token).await);

    // Federated credentials.
    let fc = json_of(
        &justiam(
            &server,
            &pat,
            &[
                "service-account",
                "federated",
                "create",
                account,
                "--name",
                "gha",
                "--issuer",
                "https://token.actions.githubusercontent.com",
                "--audience",
                "https://justiam.example.com",
                "--claim",
                "repository=acme/app",
                "--claim",
                "ref=refs/heads/*",
                "-o",
                "json",
            ],
        )
        .await,
    );
    assert_eq!(
        fc["claims"],
        json!({"repository": "acme/app", "ref": "refs/heads/*"})
    );
    // A refusal is the API's, with its exit code: no conditions at all.
    let run = justiam(
        &server,
        &pat,
        &[
            "service-account",
            "federated",
            "create",
            account,
            "--name",
            "all of github",
            "--issuer",
            "https://token.actions.githubusercontent.com",
            "--audience",
            "x",
        ],
    )
    .await;
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.starts_with("justiam: ") && run.stderr.contains("subject"),
        "{}",
        run.stderr
    );
    let run = justiam(
        &server,
        &pat,
        &[
            "service-account",
            "federated",
            "create",
            account,
            "--name",
            "x",
            "--issuer",
            "https://a.example",
            "--audience",
            "a",
            "--claim",
            "novalue",
        ],
    )
    .await;
    assert_eq!(run.code, 2, "a usage error: {}", run.stderr);
    let list = json_of(
        &justiam(
            &server,
            &pat,
            &[
                "service-account",
                "federated",
                "list",
                account,
                "-o",
                "json",
            ],
        )
        .await,
    );
    assert_eq!(list["total"], 1);
    let run = justiam(
        &server,
        &pat,
        &[
            "service-account",
            "federated",
            "delete",
            account,
            fc["id"].as_str().expect("id"),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let list = json_of(
        &justiam(
            &server,
            &pat,
            &[
                "service-account",
                "federated",
                "list",
                account,
                "-o",
                "json",
            ],
        )
        .await,
    );
    assert_eq!(list["total"], 0);

    // A person has no clients: the API's 409, the CLI's conflict exit code.
    let (person, _) = server.user_client("person@example.com").await;
    let run = justiam(
        &server,
        &pat,
        &["service-account", "client", "list", &person.email],
    )
    .await;
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("not a service account"),
        "{}",
        run.stderr
    );
    let _ = StatusCode::OK;
}

crate::on_both_databases!(service_account_clients_and_federated_credentials_from_the_cli);
