//! Webhooks: who may manage them, which targets are refused (at creation and again at delivery),
//! and deliveries to a real HTTP receiver started by the test — signed (verified here with the
//! docs' recipe and an HMAC of our own), retried after a failure and delivered once, bounded when
//! the target hangs, and never following a redirect.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{Backend, TestServer, assert_error, assert_validation, raw, user_with};

/// How the receiver answers.
#[derive(Clone, Copy)]
enum Behaviour {
    Ok,
    /// 500 for the first `n` requests, then 200.
    FailFirst(usize),
    /// Never answers.
    Hang,
    /// 302 to `/followed` (which counts what reaches it).
    Redirect,
}

#[derive(Clone, Debug)]
struct Hit {
    headers: HeaderMap,
    body: String,
}

#[derive(Clone)]
struct Receiver {
    behaviour: Behaviour,
    hits: Arc<Mutex<Vec<Hit>>>,
    followed: Arc<Mutex<usize>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    let count = {
        let mut hits = r.hits.lock().expect("lock");
        hits.push(Hit {
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        hits.len()
    };
    match r.behaviour {
        Behaviour::Ok => AxumStatus::NO_CONTENT.into_response(),
        Behaviour::FailFirst(n) if count <= n => AxumStatus::INTERNAL_SERVER_ERROR.into_response(),
        Behaviour::FailFirst(_) => AxumStatus::OK.into_response(),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            AxumStatus::OK.into_response()
        }
        Behaviour::Redirect => (AxumStatus::FOUND, [("location", "/followed")]).into_response(),
    }
}

async fn followed(State(r): State<Receiver>) -> AxumStatus {
    *r.followed.lock().expect("lock") += 1;
    AxumStatus::OK
}

/// A webhook receiver on loopback; its URL is `http://127.0.0.1:PORT/hook`.
async fn receiver(behaviour: Behaviour) -> (String, Receiver) {
    let state = Receiver {
        behaviour,
        hits: Arc::default(),
        followed: Arc::default(),
    };
    let app = Router::new()
        .route("/hook", post(receive))
        .route("/followed", post(followed).get(followed))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), state)
}

impl Receiver {
    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("lock").clone()
    }

    async fn wait_for(&self, count: usize, within: Duration) -> Vec<Hit> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let hits = self.hits();
            if hits.len() >= count || tokio::time::Instant::now() > deadline {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The receiving side of the docs' recipe (docs/mail-and-webhooks.md, "Verifying a delivery"):
/// HMAC-SHA256 with the secret over `id + "." + timestamp + "." + raw body`, hex, compared in
/// constant time against the `v1=` value; the timestamp within five minutes.
fn verify(secret: &str, hit: &Hit) -> Result<(), String> {
    let header = |name: &str| {
        hit.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| format!("{name} missing"))
    };
    let id = header("JustIAM-Webhook-Id")?;
    let timestamp = header("JustIAM-Webhook-Timestamp")?;
    let signature = header("JustIAM-Webhook-Signature")?;
    let sent: i64 = timestamp
        .parse()
        .map_err(|_| "timestamp is not a number".to_owned())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64;
    if (now - sent).abs() > 300 {
        return Err("timestamp too far from now".into());
    }
    let expected_hex = signature
        .strip_prefix("v1=")
        .ok_or_else(|| "signature without v1=".to_owned())?;
    let expected: Vec<u8> = (0..expected_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(expected_hex.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| "signature is not hex".to_owned())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{timestamp}.{}", hit.body).as_bytes());
    mac.verify_slice(&expected)
        .map_err(|_| "the signature does not match".to_owned())
}

fn allow_private(args: &mut justiam_server::config::ServeArgs) {
    args.webhook_allow_private_targets = true;
}

async fn create(admin: &justiam_client::Client, body: Value) -> justiam_client::RawResponse {
    raw(admin, Method::POST, "/api/v1/webhooks", Some(body)).await
}

async fn deliveries(admin: &justiam_client::Client, id: &str) -> Vec<Value> {
    let r = raw(
        admin,
        Method::GET,
        &format!("/api/v1/webhooks/{id}/deliveries"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["page"], 1, "{}", r.json);
    r.json["data"].as_array().cloned().unwrap_or_default()
}

/// Waits until the newest delivery satisfies `done`.
async fn wait_delivery(
    admin: &justiam_client::Client,
    id: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let list = deliveries(admin, id).await;
        if let Some(first) = list.first().filter(|d| done(d)) {
            return first.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn managing_webhooks(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    // Only is_admin: a user holding every catalogue permission is refused.
    let all: Vec<String> = justiam_types::Permission::ALL
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    let (_, strong, _) = user_with(&server, &admin, "strong@example.com", &all).await;
    let body = json!({ "url": "https://hooks.example.com/x", "events": ["token.created"] });
    let refused = create(&strong, body.clone()).await;
    assert_error(&refused, 403, "forbidden", "administrator");
    let listed = raw(&strong, Method::GET, "/api/v1/webhooks", None).await;
    assert_error(&listed, 403, "forbidden", "administrator");

    // The form of a target: an http(s) URL on a lower-case host name or an IPv4 address, without
    // user info or fragment (the document's pattern): anything else is a 400 naming `url`.
    for url in [
        "ftp://hooks.example.com/x",
        "https://user:pw@hooks.example.com/x",
        "https://hooks.example.com/x#f",
        "HTTPS://Hooks.Example.com/x",
        "http://[::1]/hook",
        " https://hooks.example.com/x",
        "https://hooks.example.com",
    ] {
        let r = create(&admin, json!({ "url": url, "events": ["token.created"] })).await;
        assert_validation(&r, "url");
    }
    // Where it points: never loopback, link-local or private addresses by default, and a host
    // that does not resolve is refused too. The request is well formed; what the name leads to
    // refuses it: 409, which names the field in its message.
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.7/hook",
        "https://203.0.113.10/justiam",
    ] {
        let r = create(&admin, json!({ "url": url, "events": ["token.created"] })).await;
        assert_error(
            &r,
            409,
            "webhook_target_refused",
            "WEBHOOK_ALLOW_PRIVATE_TARGETS",
        );
    }
    // `.invalid` never resolves (RFC 6761).
    let unresolved = create(
        &admin,
        json!({ "url": "https://hooks.invalid/x", "events": ["user.*"] }),
    )
    .await;
    assert_error(
        &unresolved,
        409,
        "webhook_target_refused",
        "does not resolve",
    );
    for events in [
        json!([]),
        json!(["token.made"]),
        json!(["*"]),
        json!([" user.*"]),
    ] {
        let r = create(
            &admin,
            json!({ "url": "http://127.0.0.1/x", "events": events }),
        )
        .await;
        assert_validation(&r, "events");
    }

    // Allowed private targets (this server's setting): create, read, replace, delete.
    let mut server = server;
    server.stop().await;
    let server = server.another_node(allow_private).await;
    let admin = server.admin().await;
    let created = create(
        &admin,
        json!({ "url": "http://127.0.0.1:9/hook", "events": ["user.*", "token.created"] }),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let secret = created.json["secret"]
        .as_str()
        .expect("generated secret")
        .to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 38,
        "{secret}"
    );
    let id = created.json["id"].as_str().expect("id").to_owned();
    assert_eq!(created.json["events"], json!(["token.created", "user.*"]));
    let read = raw(&admin, Method::GET, &format!("/api/v1/webhooks/{id}"), None).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(
        read.json.get("secret").is_none(),
        "the secret is shown once: {}",
        read.json
    );
    assert_eq!(
        read.json["secret_hint"],
        json!(format!("…{}", &secret[secret.len() - 4..]))
    );
    for secret in [
        "short",
        "with spaces in the secret",
        "ünïcödé-secret-0123456789",
    ] {
        let r = create(
            &admin,
            json!({ "url": "http://127.0.0.1:9/x", "events": ["user.*"], "secret": secret }),
        )
        .await;
        assert_validation(&r, "secret");
    }
    let given = create(&admin, json!({ "url": "http://127.0.0.1:9/other", "events": ["login.failed"], "secret": "my-own-secret-0123456789" })).await;
    assert_eq!(given.status, StatusCode::CREATED);
    assert!(
        given.json.get("secret").is_none(),
        "a given secret is not echoed"
    );
    let replaced = raw(
        &admin,
        Method::PUT,
        &format!("/api/v1/webhooks/{id}"),
        Some(json!({ "url": "http://127.0.0.1:9/hook2", "events": ["application.*"] })),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.json);
    assert_eq!(replaced.json["events"], json!(["application.*"]));
    assert_eq!(
        replaced.json["secret_hint"], read.json["secret_hint"],
        "kept"
    );
    let list = raw(&admin, Method::GET, "/api/v1/webhooks", None).await;
    assert_eq!(list.json["total"], json!(2));
    let gone = raw(
        &admin,
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let missing = raw(&admin, Method::GET, &format!("/api/v1/webhooks/{id}"), None).await;
    assert_error(&missing, 404, "not_found", "webhook");
    let again = raw(
        &admin,
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        None,
    )
    .await;
    assert_error(&again, 404, "not_found", "webhook");
}

async fn events_are_delivered_signed(backend: Backend) {
    let (url, receiver) = receiver(Behaviour::Ok).await;
    let server = TestServer::start_with(backend, allow_private).await;
    let admin = server.admin().await;
    let created = create(
        &admin,
        json!({ "url": url, "events": ["user.*", "login.failed", "token.created"] }),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let secret = created.json["secret"].as_str().expect("secret").to_owned();
    let id = created.json["id"].as_str().expect("id").to_owned();

    let user = server
        .create_user("ada@example.com", "user-password-1")
        .await;
    let _ = server
        .anonymous()
        .login("ada@example.com", "wrong-password")
        .await;
    // Not subscribed: a group.
    admin
        .create_group(&justiam_types::CreateGroup {
            name: "ops".into(),
            description: None,
        })
        .await
        .expect("group");
    let hits = receiver.wait_for(2, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hits = if hits.len() > 2 {
        hits
    } else {
        receiver.hits()
    };
    assert_eq!(
        hits.len(),
        2,
        "user.created and login.failed only: {hits:?}"
    );
    let mut types = Vec::new();
    for hit in &hits {
        verify(&secret, hit).expect("the signature verifies");
        assert!(
            verify("another-secret-entirely", hit).is_err(),
            "a wrong secret fails"
        );
        let mut tampered = hit.clone();
        tampered.body.push(' ');
        assert!(verify(&secret, &tampered).is_err(), "a changed body fails");
        let body: Value = serde_json::from_str(&hit.body).expect("JSON");
        assert_eq!(hit.headers["content-type"], "application/json");
        assert_eq!(
            body["id"].as_str(),
            hit.headers["JustIAM-Webhook-Id"].to_str().ok()
        );
        assert!(
            body["occurred_at"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{body}"
        );
        types.push(body["type"].as_str().unwrap_or_default().to_owned());
        if body["type"] == "user.created" {
            assert_eq!(body["data"]["target"]["id"], json!(user.id));
        }
        assert!(!hit.body.contains("password-1"), "no secret in an event");
    }
    types.sort();
    assert_eq!(types, ["login.failed", "user.created"]);

    // The log, and the "send test event" action.
    let log = deliveries(&admin, &id).await;
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|d| d["status"] == "sent" && d["last_status"] == 204),
        "{log:?}"
    );
    let test = raw(
        &admin,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/test"),
        None,
    )
    .await;
    assert_eq!(test.status, StatusCode::ACCEPTED, "{}", test.json);
    let hits = receiver.wait_for(3, Duration::from_secs(15)).await;
    let last: Value = serde_json::from_str(&hits[2].body).expect("JSON");
    assert_eq!(last["type"], "webhook.test");
    verify(&secret, &hits[2]).expect("signed");
    let sent = wait_delivery(&admin, &id, Duration::from_secs(10), |d| {
        d["status"] == "sent"
    })
    .await;
    assert_eq!(sent["id"], test.json["delivery_id"]);
    assert_eq!(sent["event_type"], "webhook.test");

    // The log pages like every list: newest first, `search` on the event type.
    let page = |query: &str| {
        let path = format!("/api/v1/webhooks/{id}/deliveries?{query}");
        let admin = &admin;
        async move { raw(admin, Method::GET, &path, None).await }
    };
    let first = page("limit=2").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.json);
    assert_eq!(
        (first.json["total"].clone(), first.json["limit"].clone()),
        (json!(3), json!(2))
    );
    assert_eq!(first.json["data"][0]["event_type"], "webhook.test");
    let second = page("limit=2&page=2").await;
    assert_eq!(
        second.json["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        second.json
    );
    assert_eq!(second.json["page"], 2);
    let seen: Vec<&Value> = first.json["data"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(second.json["data"].as_array().into_iter().flatten())
        .collect();
    let mut ids: Vec<&str> = seen.iter().filter_map(|d| d["id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each delivery on exactly one page: {seen:?}");
    let searched = page("search=USER.").await;
    assert_eq!(searched.json["total"], 1, "{}", searched.json);
    assert_eq!(searched.json["data"][0]["event_type"], "user.created");
    assert_validation(&page("limit=0").await, "limit");

    // So does the list of webhooks, with `search` on the URL.
    let second_hook = create(
        &admin,
        json!({ "url": "http://127.0.0.2:9/other", "events": ["user.*"] }),
    )
    .await;
    assert_eq!(
        second_hook.status,
        StatusCode::CREATED,
        "{}",
        second_hook.json
    );
    let listed = raw(&admin, Method::GET, "/api/v1/webhooks?limit=1", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
    assert_eq!(
        (listed.json["total"].clone(), listed.json["limit"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(listed.json["data"][0]["id"], json!(id), "oldest first");
    let found = raw(
        &admin,
        Method::GET,
        "/api/v1/webhooks?search=127.0.0.2",
        None,
    )
    .await;
    assert_eq!(found.json["total"], 1, "{}", found.json);
    assert_eq!(found.json["data"][0]["id"], second_hook.json["id"]);
}

async fn a_failing_target_gets_the_event_once_it_recovers(backend: Backend) {
    let (url, receiver) = receiver(Behaviour::FailFirst(1)).await;
    let server = TestServer::start_with(backend, allow_private).await;
    let admin = server.admin().await;
    let created = create(&admin, json!({ "url": url, "events": ["user.created"] })).await;
    let id = created.json["id"].as_str().expect("id").to_owned();
    server
        .create_user("ada@example.com", "user-password-1")
        .await;
    let failed = wait_delivery(&admin, &id, Duration::from_secs(10), |d| {
        d["attempts"] == 1 && d["status"] == "pending"
    })
    .await;
    assert_eq!(failed["last_status"], 500, "{failed}");
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("500")),
        "{failed}"
    );
    let sent = wait_delivery(&admin, &id, Duration::from_secs(20), |d| {
        d["status"] == "sent"
    })
    .await;
    assert_eq!(sent["attempts"], 2);
    assert_eq!(sent["last_status"], 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let hits = receiver.hits();
    assert_eq!(hits.len(), 2, "one failure, one delivery, nothing after");
    assert_eq!(
        hits[0].headers["JustIAM-Webhook-Id"], hits[1].headers["JustIAM-Webhook-Id"],
        "the retry carries the same event id"
    );
}

async fn a_hanging_target_is_cut_off(backend: Backend) {
    let (url, receiver) = receiver(Behaviour::Hang).await;
    let server = TestServer::start_with(backend, allow_private).await;
    let admin = server.admin().await;
    let created = create(&admin, json!({ "url": url, "events": ["user.created"] })).await;
    let id = created.json["id"].as_str().expect("id").to_owned();
    let started = std::time::Instant::now();
    raw(
        &admin,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/test"),
        None,
    )
    .await;
    let cut = wait_delivery(&admin, &id, Duration::from_secs(20), |d| {
        d["attempts"] == 1 && d["status"] == "pending"
    })
    .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(16),
        "bounded by the 10 s timeout: {took:?}"
    );
    assert!(
        cut["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("no answer within 10 seconds")),
        "{cut}"
    );
    assert_eq!(receiver.hits().len(), 1);
    // Meanwhile the server answered other requests at once.
    let quick = std::time::Instant::now();
    raw(&admin, Method::GET, "/api/v1/webhooks", None).await;
    assert!(quick.elapsed() < Duration::from_secs(1));
}

async fn a_redirect_is_not_followed(backend: Backend) {
    let (url, receiver) = receiver(Behaviour::Redirect).await;
    let server = TestServer::start_with(backend, allow_private).await;
    let admin = server.admin().await;
    let created = create(&admin, json!({ "url": url, "events": ["user.created"] })).await;
    let id = created.json["id"].as_str().expect("id").to_owned();
    raw(
        &admin,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/test"),
        None,
    )
    .await;
    let refused = wait_delivery(&admin, &id, Duration::from_secs(10), |d| {
        d["attempts"] == 1 && d["status"] == "pending"
    })
    .await;
    assert_eq!(refused["last_status"], 302);
    assert!(
        refused["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("redirects are not followed")),
        "{refused}"
    );
    assert_eq!(receiver.hits().len(), 1);
    assert_eq!(
        *receiver.followed.lock().expect("lock"),
        0,
        "the redirect was not followed"
    );
}

/// The target is checked again at delivery time: a webhook stored while private targets were
/// allowed is not delivered by a server that refuses them.
async fn the_target_is_checked_again_at_delivery(backend: Backend) {
    let (url, receiver) = receiver(Behaviour::Ok).await;
    let mut server = TestServer::start_with(backend, allow_private).await;
    let admin = server.admin().await;
    let created = create(&admin, json!({ "url": url, "events": ["user.created"] })).await;
    let id = created.json["id"].as_str().expect("id").to_owned();
    server.stop().await;
    let strict = server.another_node(|_| {}).await;
    let admin = strict.admin().await;
    raw(
        &admin,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/test"),
        None,
    )
    .await;
    let failed = wait_delivery(&admin, &id, Duration::from_secs(10), |d| {
        d["status"] == "failed"
    })
    .await;
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("private address")),
        "{failed}"
    );
    assert!(
        receiver.hits().is_empty(),
        "nothing reached the private address"
    );
}

/// `justiam webhook …` against a live server, with the receiver checking what arrives.
async fn the_cli_manages_webhooks(backend: Backend) {
    let (url, receiver) = receiver(Behaviour::Ok).await;
    let server = TestServer::start_with(backend, allow_private).await;
    let admin = server.admin().await;
    let token = admin
        .create_token(
            None,
            &justiam_types::CreateToken {
                name: "cli".into(),
                expires_in_days: 1,
                permissions: None,
            },
        )
        .await
        .expect("admin token")
        .token;
    let home = tempfile::tempdir().expect("home");
    let cli = |args: Vec<String>, stdin: Option<&'static str>| {
        let endpoint = server.url.clone();
        let token = token.clone();
        let home = home.path().to_owned();
        async move {
            let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_justiam"));
            command
                .args(&args)
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join("xdg"))
                .env("JUSTIAM_ENDPOINT", endpoint)
                .env("JUSTIAM_TOKEN", token)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let mut child = command.spawn().expect("spawn justiam");
            if let Some(mut pipe) = child.stdin.take() {
                use tokio::io::AsyncWriteExt;
                if let Some(text) = stdin {
                    pipe.write_all(text.as_bytes()).await.expect("stdin");
                }
            }
            let out = child.wait_with_output().await.expect("justiam runs");
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    let args = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();

    let (code, out, err) = cli(
        args(&[
            "webhook",
            "create",
            "--url",
            &url,
            "--event",
            "user.created,login.failed",
            "--secret-stdin",
            "-o",
            "json",
        ]),
        Some("cli-secret-0123456789abcdef\n"),
    )
    .await;
    assert_eq!(code, 0, "{out} {err}");
    let created: Value = serde_json::from_str(&out).expect("JSON");
    assert!(
        created.get("secret").is_none(),
        "a given secret is not printed"
    );
    let id = created["id"].as_str().expect("id").to_owned();
    let (code, out, _) = cli(args(&["webhook", "list"]), None).await;
    assert_eq!(code, 0);
    assert!(
        out.contains(&id) && out.contains("login.failed user.created"),
        "{out}"
    );
    let (code, out, err) = cli(args(&["webhook", "test", &id]), None).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Queued a test event"), "{out}");
    let hits = receiver.wait_for(1, Duration::from_secs(10)).await;
    verify("cli-secret-0123456789abcdef", &hits[0]).expect("signed with the secret given on stdin");
    wait_delivery(&admin, &id, Duration::from_secs(10), |d| {
        d["status"] == "sent"
    })
    .await;
    let (code, out, _) = cli(args(&["webhook", "deliveries", &id]), None).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("webhook.test") && out.contains("sent") && out.contains("204"),
        "{out}"
    );
    // A generated secret is printed once, with a warning.
    let (code, out, err) = cli(
        args(&["webhook", "create", "--url", &url, "--event", "token.*"]),
        None,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("secret:") && out.contains("whsec_"), "{out}");
    assert!(err.contains("shown only this once"), "{err}");
    // Refusals are the server's, on one line.
    let (code, _, err) = cli(
        args(&[
            "webhook",
            "create",
            "--url",
            "ftp://hooks.example.com/x",
            "--event",
            "token.*",
        ]),
        None,
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("url must use http or https"), "{err}");
    let (code, _, _) = cli(args(&["webhook", "delete", &id]), None).await;
    assert_eq!(code, 0);
    let (code, _, err) = cli(args(&["webhook", "get", &id]), None).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("not found") || err.contains("webhook"),
        "{err}"
    );
}

/// Administration → Webhooks in the web UI: create (the secret shown once), the delivery log, the
/// "Send test event" button, deletion; closed to anyone but an administrator.
async fn the_webhooks_page(backend: Backend) {
    use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, Browser, hidden};
    let (url, receiver) = receiver(Behaviour::Ok).await;
    let server = TestServer::start_with(backend, allow_private).await;
    let mut browser = Browser::new(&server);
    let login = browser.get("/ui/login").await;
    let home = browser.sign_in(&login, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(
        home.body.contains("id=\"nav-webhooks\""),
        "the Webhooks link in the navigation"
    );
    let page = browser.get("/ui/admin/webhooks").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = hidden(&page.body, "csrf_token");
    let refused = browser
        .post_form(
            "/ui/admin/webhooks",
            &[
                ("csrf_token", &csrf),
                ("url", "http://10.0.0.1/"),
                ("events", "token.*"),
                ("secret", ""),
            ],
        )
        .await;
    let created = browser
        .post_form(
            "/ui/admin/webhooks",
            &[
                ("csrf_token", &csrf),
                ("url", &url),
                ("events", "user.created token.*"),
                ("secret", ""),
            ],
        )
        .await;
    // 10.0.0.1 is refused only where private targets are; this server allows them, so both exist.
    assert_eq!(refused.status, StatusCode::OK);
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert!(
        created.body.contains("Copy the signing secret now"),
        "{}",
        created.body
    );
    let secret = created.body[created.body.find("whsec_").expect("the secret, once")..]
        .chars()
        .take(38)
        .collect::<String>();
    let again = browser.get("/ui/admin/webhooks").await;
    assert!(!again.body.contains(&secret), "shown only once");
    let bad = browser
        .post_form(
            "/ui/admin/webhooks",
            &[
                ("csrf_token", &csrf),
                ("url", &url),
                ("events", "token.made"),
                ("secret", ""),
            ],
        )
        .await;
    assert!(
        bad.body.contains("events-error"),
        "the refusal is said next to the field: {}",
        bad.body
    );

    let admin = server.admin().await;
    let list = raw(&admin, Method::GET, "/api/v1/webhooks", None).await;
    let id = list.json["data"]
        .as_array()
        .and_then(|all| all.iter().find(|w| w["url"] == json!(url)))
        .and_then(|w| w["id"].as_str())
        .expect("the webhook made in the UI")
        .to_owned();
    let detail = browser.get(&format!("/ui/admin/webhooks/{id}")).await;
    let csrf = hidden(&detail.body, "csrf_token");
    let tested = browser
        .post_form(
            &format!("/ui/admin/webhooks/{id}/test"),
            &[("csrf_token", &csrf)],
        )
        .await;
    let shown = browser.follow(tested).await;
    assert!(
        shown.body.contains("A test event is queued"),
        "{}",
        shown.body
    );
    let hits = receiver.wait_for(1, Duration::from_secs(10)).await;
    verify(&secret, &hits[0]).expect("signed with the secret shown once");
    wait_delivery(&admin, &id, Duration::from_secs(10), |d| {
        d["status"] == "sent"
    })
    .await;
    let log = browser.get(&format!("/ui/admin/webhooks/{id}")).await;
    assert!(
        log.body.contains("webhook.test") && log.body.contains(">sent<"),
        "{}",
        log.body
    );
    let confirm = browser
        .get(&format!("/ui/admin/webhooks/{id}/delete"))
        .await;
    assert!(confirm.body.contains("Delete this webhook?"));
    let csrf = hidden(&confirm.body, "csrf_token");
    let deleted = browser
        .post_form(
            &format!("/ui/admin/webhooks/{id}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(
        deleted.location().as_deref(),
        Some("/ui/admin/webhooks?done=deleted")
    );

    // Anyone else: no link, and the page refuses.
    let all: Vec<String> = justiam_types::Permission::ALL
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    user_with(&server, &admin, "strong@example.com", &all).await;
    let mut other = Browser::new(&server);
    let login = other.get("/ui/login").await;
    let home = other
        .sign_in(&login, "strong@example.com", "user-password-1")
        .await;
    assert!(!home.body.contains("nav-webhooks"));
    assert_eq!(
        other.get("/ui/admin/webhooks").await.status,
        StatusCode::FORBIDDEN
    );
}

crate::on_both_databases!(
    the_webhooks_page,
    the_cli_manages_webhooks,
    managing_webhooks,
    events_are_delivered_signed,
    a_failing_target_gets_the_event_once_it_recovers,
    a_hanging_target_is_cut_off,
    a_redirect_is_not_followed,
    the_target_is_checked_again_at_delivery,
);
