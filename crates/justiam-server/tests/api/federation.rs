//! Workload identity federation (issue 16): outside OpenID Connect issuers served on loopback by
//! the test (discovery + JWKS), their keys made and their tokens signed by joserfc in Python
//! (`tests/rp/outside_signer.py`, see `common/joserfc.rs`), shaped like GitHub Actions' and
//! Kubernetes', exchanged at `/oauth2/token` (RFC 8693) for a service account's access token — and
//! every refusal the issue lists, sent as the attacker would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::get as route;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    github_actions_and_kubernetes_tokens_are_exchanged_for_access_tokens,
    every_refusal_is_invalid_grant,
    kubernetes_tokens_match_nested_claims_by_json_pointer,
    slow_and_huge_issuers_are_cut_off,
    an_http_issuer_is_refused_unless_loopback_is_allowed,
    federated_credentials_are_validated_listed_and_deleted,
);

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// An OpenID Connect issuer on loopback: discovery and a JWKS whose keys the test changes.
struct Issuer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    hits: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct IssuerState {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    hits: Arc<AtomicUsize>,
}

impl Issuer {
    async fn start(keys: Vec<Value>) -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = IssuerState {
            url: url.clone(),
            keys: Arc::new(Mutex::new(keys)),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                route(|State(s): State<IssuerState>| async move {
                    s.hits.fetch_add(1, Ordering::SeqCst);
                    axum::Json(json!({"issuer": s.url, "jwks_uri": format!("{}/keys", s.url)}))
                }),
            )
            .route(
                "/keys",
                route(|State(s): State<IssuerState>| async move {
                    s.hits.fetch_add(1, Ordering::SeqCst);
                    let keys = s.keys.lock().expect("keys").clone();
                    axum::Json(json!({ "keys": keys }))
                }),
            )
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Issuer {
            url,
            keys: state.keys,
            hits: state.hits,
        }
    }

    fn set_keys(&self, keys: Vec<Value>) {
        *self.keys.lock().expect("keys") = keys;
    }
}

/// A loopback server that answers every request with `answer` (raw HTTP), then, for a firehose,
/// keeps sending chunks until the client hangs up.
async fn raw_server(answer: &'static str, firehose: bool, delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                tokio::time::sleep(delay).await;
                if socket.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
                if firehose {
                    let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
                    while socket.write_all(chunk.as_bytes()).await.is_ok() {}
                }
            });
        }
    });
    url
}

fn federating(args: &mut justiam_server::config::ServeArgs) {
    args.federation_allow_http_loopback = true;
}

/// Claims shaped like a GitHub Actions OIDC token.
fn github_claims(issuer: &str, repository: &str, git_ref: &str) -> Value {
    let now = now_secs();
    json!({
        "jti": Uuid::now_v7().to_string(),
        "sub": format!("repo:{repository}:ref:{git_ref}"),
        "aud": "https://github.com/acme",
        "ref": git_ref,
        "sha": "2a6e0c2b7fe0d3b5b9f3f0e8c1f4d7a6b5c4d3e2",
        "repository": repository,
        "repository_owner": "acme",
        "repository_visibility": "private",
        "workflow": "deploy",
        "event_name": "push",
        "ref_type": "branch",
        "runner_environment": "github-hosted",
        "iss": issuer,
        "nbf": now - 5,
        "exp": now + 300,
        "iat": now - 5,
    })
}

/// Claims shaped like a projected Kubernetes service-account token.
fn kubernetes_claims(issuer: &str, namespace: &str, account: &str) -> Value {
    let now = now_secs();
    json!({
        "aud": ["justiam"],
        "exp": now + 3600,
        "iat": now,
        "nbf": now,
        "iss": issuer,
        "jti": Uuid::now_v7().to_string(),
        "kubernetes.io": {
            "namespace": namespace,
            "pod": {"name": "deployer-7d9f", "uid": Uuid::now_v7().to_string()},
            "serviceaccount": {"name": account, "uid": Uuid::now_v7().to_string()},
        },
        "sub": format!("system:serviceaccount:{namespace}:{account}"),
    })
}

async fn exchange(server: &TestServer, token: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", token),
        ("subject_token_type", JWT_TYPE),
    ];
    form.extend_from_slice(extra);
    let (status, _, body) = form_call(server, "/oauth2/token", None, &form).await;
    (status, body)
}

async fn create_fc(server: &TestServer, account: Uuid, body: Value) -> Value {
    create_federated(&server.admin().await, account, body).await
}

#[track_caller]
fn assert_invalid_grant(label: &str, answer: (StatusCode, Value)) {
    let (status, body) = answer;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{label}: {body}");
    assert_eq!(body["error"], "invalid_grant", "{label}: {body}");
}

async fn github_actions_and_kubernetes_tokens_are_exchanged_for_access_tokens(backend: Backend) {
    let Some(jose) = Joserfc::start() else { return };
    let server = TestServer::start_with(backend, federating).await;
    let github_key = jose.rs256("gh-1").await;
    let github = Issuer::start(vec![github_key.jwk()]).await;
    let k8s_key = jose.es256("k8s-1").await;
    let k8s = Issuer::start(vec![k8s_key.jwk()]).await;
    let deployer = server.create_service_account("deployer@example.com").await;
    let runner = server.create_service_account("runner@example.com").await;

    // GitHub: this repository, any branch under release/, by claim conditions.
    let fc = create_fc(
        &server,
        deployer.id,
        json!({
            "name": "acme/app releases",
            "issuer": github.url,
            "audience": "https://github.com/acme",
            "claims": {"repository": "acme/app", "ref": "refs/heads/release/*"},
        }),
    )
    .await;
    let token = github_key
        .sign(&github_claims(
            &github.url,
            "acme/app",
            "refs/heads/release/1.2",
        ))
        .await;
    let (status, body) = exchange(&server, &token, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    let access = body["access_token"].as_str().expect("access token");
    let me = me_as(&server, access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.json);
    assert_eq!(me.json["id"], json!(deployer.id.to_string()));
    let (_, claims) = verify_with_jwks(&server, access).await;
    assert_eq!(claims["client_id"], fc["id"]);

    // Kubernetes: the exact subject; the RFC 7523 jwt-bearer grant works as well.
    create_fc(
        &server,
        runner.id,
        json!({
            "name": "ci/deployer pods",
            "issuer": k8s.url,
            "audience": "justiam",
            "subject": "system:serviceaccount:ci:deployer",
        }),
    )
    .await;
    let token = k8s_key
        .sign_with_header(
            json!({"typ": null}),
            &kubernetes_claims(&k8s.url, "ci", "deployer"),
        )
        .await;
    let (status, _, body) = form_call(
        &server,
        "/oauth2/token",
        None,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &token),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pod_token = body["access_token"].as_str().expect("token");
    let me = me_as(&server, pod_token).await;
    assert_eq!(me.json["id"], json!(runner.id.to_string()));
    // The job is done: it revokes its token itself, with no client to authenticate as (RFC 7009).
    let (status, _, _) = form_call(&server, "/oauth2/revoke", None, &[("token", pod_token)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_invalid_token(&me_as(&server, pod_token).await);

    // The keys were fetched once per issuer and then served from memory.
    let before = github.hits.load(Ordering::SeqCst);
    let token = github_key
        .sign(&github_claims(
            &github.url,
            "acme/app",
            "refs/heads/release/2",
        ))
        .await;
    assert_eq!(exchange(&server, &token, &[]).await.0, StatusCode::OK);
    assert_eq!(github.hits.load(Ordering::SeqCst), before, "cached keys");

    // A rotated key (unknown kid) is fetched again.
    let rotated = jose.rs256("gh-2").await;
    github.set_keys(vec![github_key.jwk(), rotated.jwk()]);
    tokio::time::sleep(Duration::from_millis(10_100)).await; // the refetch limit
    let token = rotated
        .sign(&github_claims(
            &github.url,
            "acme/app",
            "refs/heads/release/3",
        ))
        .await;
    let (status, body) = exchange(&server, &token, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Audit: the issuer, the subject and the credential, per exchange.
    server.iam().flush_grant_log().await;
    use sqlx::Row;
    let rows = sqlx::query("SELECT credential_id, details FROM audit_log WHERE action = 'token.exchanged' ORDER BY at, id")
        .fetch_all(server.pool())
        .await
        .expect("audit");
    assert_eq!(rows.len(), 4);
    let details: Value =
        serde_json::from_str(&rows[0].try_get::<String, _>("details").expect("details"))
            .expect("json");
    assert_eq!(details["issuer"], json!(github.url));
    assert_eq!(
        details["subject"],
        "repo:acme/app:ref:refs/heads/release/1.2"
    );
    assert_eq!(details["credential_id"], fc["id"]);
    assert_eq!(
        rows[0]
            .try_get::<Option<String>, _>("credential_id")
            .expect("id"),
        fc["id"].as_str().map(str::to_owned)
    );

    // Deleting the credential refuses the access tokens it gave, at once.
    let deleted = raw(
        &server.admin().await,
        Method::DELETE,
        &format!(
            "/api/v1/users/{}/federated-credentials/{}",
            deployer.id,
            fc["id"].as_str().expect("id")
        ),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_invalid_token(&me_as(&server, access).await);
    let token = github_key
        .sign(&github_claims(
            &github.url,
            "acme/app",
            "refs/heads/release/4",
        ))
        .await;
    assert_invalid_grant("after deletion", exchange(&server, &token, &[]).await);
}

async fn every_refusal_is_invalid_grant(backend: Backend) {
    let Some(jose) = Joserfc::start() else { return };
    let server = TestServer::start_with(backend, federating).await;
    let key = jose.rs256("gh-1").await;
    let github = Issuer::start(vec![key.jwk()]).await;
    let other_key = jose.rs256("gh-1").await;
    let impostor = Issuer::start(vec![other_key.jwk()]).await;
    let deployer = server.create_service_account("deployer@example.com").await;
    let bystander = server.create_service_account("bystander@example.com").await;
    create_fc(
        &server,
        deployer.id,
        json!({
            "name": "main of acme/app",
            "issuer": github.url,
            "audience": "https://github.com/acme",
            "subject": "repo:acme/app:ref:refs/heads/main",
        }),
    )
    .await;
    // The impostor is trusted too, for another account, so its keys are really fetched.
    create_fc(
        &server,
        bystander.id,
        json!({
            "name": "impostor",
            "issuer": impostor.url,
            "audience": "https://github.com/acme",
            "subject": "repo:other/thing:ref:refs/heads/main",
        }),
    )
    .await;
    let good = || github_claims(&github.url, "acme/app", "refs/heads/main");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = good();
        change(&mut claims);
        claims
    };
    let replayed = key.sign(&good()).await;
    assert_eq!(exchange(&server, &replayed, &[]).await.0, StatusCode::OK);

    let cases: Vec<(&str, String)> = vec![
        (
            "another repository",
            key.sign(&github_claims(&github.url, "acme/other", "refs/heads/main"))
                .await,
        ),
        (
            "another branch",
            key.sign(&github_claims(
                &github.url,
                "acme/app",
                "refs/heads/feature",
            ))
            .await,
        ),
        (
            "a wrong audience",
            key.sign(&with(&|c| c["aud"] = json!("https://github.com/evil")))
                .await,
        ),
        (
            "an expired token",
            key.sign(&with(&|c| {
                c["exp"] = json!(now_secs() - 61);
                c["iat"] = json!(now_secs() - 400);
            }))
            .await,
        ),
        (
            "a token not yet valid",
            key.sign(&with(&|c| c["nbf"] = json!(now_secs() + 120)))
                .await,
        ),
        (
            "no exp",
            key.sign(&with(&|c| {
                c.as_object_mut().map(|m| m.remove("exp"));
            }))
            .await,
        ),
        (
            "another issuer with the same sub",
            other_key
                .sign(&github_claims(&impostor.url, "acme/app", "refs/heads/main"))
                .await,
        ),
        (
            "the same sub claiming the trusted issuer, signed by another key",
            other_key.sign(&good()).await,
        ),
        (
            "an unknown kid",
            key.sign_with_header(json!({"kid": "gh-9"}), &good()).await,
        ),
        ("alg none", jose.unsigned("gh-1", &good()).await),
        (
            "HS256 signed with the issuer's public key",
            key.hs256_with_public_key(&good()).await,
        ),
        ("a replayed jti", replayed.clone()),
        (
            "an issuer no credential trusts",
            key.sign(&github_claims(
                "https://token.actions.githubusercontent.com",
                "acme/app",
                "refs/heads/main",
            ))
            .await,
        ),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    for (label, token) in cases {
        assert_invalid_grant(label, exchange(&server, &token, &[]).await);
    }
    // Malformed requests are invalid_request.
    let token = key.sign(&good()).await;
    for (label, form) in [
        (
            "no subject_token_type",
            vec![
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", token.as_str()),
            ],
        ),
        (
            "an opaque subject token type",
            vec![
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", token.as_str()),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:access_token",
                ),
            ],
        ),
        (
            "no subject_token",
            vec![
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token_type", JWT_TYPE),
            ],
        ),
    ] {
        let (status, _, body) = form_call(&server, "/oauth2/token", None, &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{label}: {body}"
        );
    }
    // A scope the account does not hold.
    let (status, body) = exchange(&server, &token, &[("scope", "users.delete")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope")),
        "{body}"
    );
    // A deactivated account.
    let off = raw(
        &server.admin().await,
        Method::PUT,
        &format!("/api/v1/users/{}", deployer.id),
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK);
    assert_invalid_grant(
        "a deactivated account",
        exchange(&server, &key.sign(&good()).await, &[]).await,
    );
}

/// Kubernetes puts the namespace and the service account in a nested `kubernetes.io` object: a
/// condition reaches them with a JSON Pointer; a key without `/` stays a top-level claim name.
async fn kubernetes_tokens_match_nested_claims_by_json_pointer(backend: Backend) {
    let Some(jose) = Joserfc::start() else { return };
    let server = TestServer::start_with(backend, federating).await;
    let key = jose.es256("k8s-1").await;
    let cluster = Issuer::start(vec![key.jwk()]).await;
    let account = server.create_service_account("deployer@example.com").await;
    let fc = create_fc(
        &server,
        account.id,
        json!({
            "name": "ci deployers",
            "issuer": cluster.url,
            "audience": "justiam",
            "claims": {
                "/kubernetes.io/namespace": "ci",
                "/kubernetes.io/serviceaccount/name": "deploy*",
            },
        }),
    )
    .await;
    assert_eq!(
        fc["claims"],
        json!({"/kubernetes.io/namespace": "ci", "/kubernetes.io/serviceaccount/name": "deploy*"})
    );
    let token = |namespace: &'static str, account: &'static str| {
        let key = &key;
        let url = cluster.url.clone();
        async move {
            key.sign_with_header(
                json!({"typ": null}),
                &kubernetes_claims(&url, namespace, account),
            )
            .await
        }
    };

    let (status, body) = exchange(&server, &token("ci", "deployer").await, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let me = me_as(&server, body["access_token"].as_str().expect("token")).await;
    assert_eq!(me.json["id"], json!(account.id.to_string()));
    let (status, body) = exchange(&server, &token("ci", "deploy-web").await, &[]).await;
    assert_eq!(status, StatusCode::OK, "the glob: {body}");

    assert_invalid_grant(
        "another namespace",
        exchange(&server, &token("prod", "deployer").await, &[]).await,
    );
    assert_invalid_grant(
        "another service account",
        exchange(&server, &token("ci", "builder").await, &[]).await,
    );
    // The same names at the top level (where a pointer does not look) do not match either.
    let mut flat = kubernetes_claims(&cluster.url, "prod", "deployer");
    flat["namespace"] = json!("ci");
    flat["kubernetes.io/namespace"] = json!("ci");
    assert_invalid_grant(
        "the namespace at the top level",
        exchange(&server, &key.sign(&flat).await, &[]).await,
    );

    // Only strings (and numbers and booleans) match, even `*`: a pointed value that is an object,
    // or missing, matches nothing. Each condition under its own audience, so only it can match.
    for (label, claim, matches) in [
        ("a nested string", "/kubernetes.io/namespace", true),
        ("a nested object", "/kubernetes.io/serviceaccount", false),
        ("a missing nested claim", "/kubernetes.io/node/name", false),
        ("a top-level string by its name", "sub", true),
        ("a top-level object by its name", "kubernetes.io", false),
    ] {
        let audience = format!("justiam-{}", Uuid::now_v7());
        create_fc(
            &server,
            account.id,
            json!({
                "name": label, "issuer": cluster.url, "audience": audience,
                "claims": {claim: "*"},
            }),
        )
        .await;
        let mut claims = kubernetes_claims(&cluster.url, "staging", "deployer");
        claims["aud"] = json!([audience]);
        let answer = exchange(&server, &key.sign(&claims).await, &[]).await;
        if matches {
            assert_eq!(answer.0, StatusCode::OK, "{label}: {}", answer.1);
        } else {
            assert_invalid_grant(label, answer);
        }
    }
}

async fn slow_and_huge_issuers_are_cut_off(backend: Backend) {
    let Some(jose) = Joserfc::start() else { return };
    let server = TestServer::start_with(backend, federating).await;
    let key = jose.rs256("k").await;
    let account = server.create_service_account("deployer@example.com").await;
    // Answers nothing for a minute.
    let slow = raw_server(
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
        false,
        Duration::from_secs(60),
    )
    .await;
    // Discovery fine; the JWKS a chunked firehose without end.
    let firehose = raw_server(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        true,
        Duration::ZERO,
    )
    .await;
    let huge_issuer = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (issuer, jwks) = (url.clone(), format!("{firehose}/keys"));
        let app = Router::new().route(
            "/.well-known/openid-configuration",
            route(move || async move { axum::Json(json!({"issuer": issuer, "jwks_uri": jwks})) }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    };
    for issuer in [&slow, &huge_issuer] {
        create_fc(&server, account.id, json!({
            "name": format!("issuer {issuer}"), "issuer": issuer, "audience": "justiam", "subject": "workload",
        })).await;
    }
    for (label, issuer) in [("slow", &slow), ("huge", &huge_issuer)] {
        let claims = json!({"iss": issuer, "sub": "workload", "aud": "justiam", "exp": now_secs() + 300, "jti": Uuid::now_v7().to_string()});
        let token = key.sign(&claims).await;
        let started = Instant::now();
        assert_invalid_grant(label, exchange(&server, &token, &[]).await);
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(8),
            "{label}: answered after {took:?}"
        );
    }
    // The server is still well: a health check answers.
    let health = reqwest::get(format!("{}/healthz", server.url))
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
}

async fn an_http_issuer_is_refused_unless_loopback_is_allowed(backend: Backend) {
    let Some(jose) = Joserfc::start() else { return };
    // FEDERATION_ALLOW_HTTP_LOOPBACK is off, as shipped.
    let server = TestServer::start(backend).await;
    let key = jose.rs256("k").await;
    let issuer = Issuer::start(vec![key.jwk()]).await;
    let account = server.create_service_account("deployer@example.com").await;
    create_fc(
        &server,
        account.id,
        json!({
            "name": "local", "issuer": issuer.url, "audience": "justiam", "subject": "workload",
        }),
    )
    .await;
    let claims =
        json!({"iss": issuer.url, "sub": "workload", "aud": "justiam", "exp": now_secs() + 300});
    assert_invalid_grant(
        "http issuer",
        exchange(&server, &key.sign(&claims).await, &[]).await,
    );
    assert_eq!(
        issuer.hits.load(Ordering::SeqCst),
        0,
        "nothing was fetched over http"
    );
}

async fn federated_credentials_are_validated_listed_and_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let account = server.create_service_account("deployer@example.com").await;
    let path = format!("/api/v1/users/{}/federated-credentials", account.id);
    let body = |change: &dyn Fn(&mut Value)| {
        let mut body = json!({
            "name": "gitlab main",
            "issuer": "https://gitlab.example.com",
            "audience": "https://justiam.example.com",
            "claims": {"project_path": "acme/app", "ref": "main"},
        });
        change(&mut body);
        body
    };
    expect_refusals(
        &admin,
        [
            post(
                &path,
                body(&|b| b["issuer"] = json!("http://gitlab.example.com")),
            )
            .invalid("issuer"),
            post(
                &path,
                body(&|b| b["issuer"] = json!("https://gitlab.example.com/?x=1")),
            )
            .invalid("issuer"),
            post(&path, body(&|b| b["issuer"] = json!("gitlab"))).invalid("issuer"),
            post(&path, body(&|b| b["audience"] = json!(" "))).invalid("audience"),
            post(&path, body(&|b| b["claims"] = json!({}))).invalid("subject"),
            post(&path, body(&|b| b["claims"] = json!({"aud": "x"}))).invalid("claims"),
            post(&path, body(&|b| b["claims"] = json!({"ref": 1}))).invalid("claims.ref"),
            post(
                &path,
                body(&|b| b["claims"] = json!({"/kubernetes.io//name": "x"})),
            )
            .invalid("claims"),
            post(
                &path,
                body(&|b| b["claims"] = json!({"/kubernetes.io/": "x"})),
            )
            .invalid("claims"),
            post(&path, body(&|b| b["claims"] = json!({"/a~2b": "x"}))).invalid("claims"),
            post(&path, body(&|b| b["claims"] = json!({"/": "x"}))).invalid("claims"),
            post(&path, body(&|b| b["claims"] = json!({"/exp/0": "1"}))).invalid("claims"),
            post(&path, body(&|b| b["subject"] = json!("a\u{0}b"))).invalid("subject"),
        ],
    )
    .await;
    let created = raw(&admin, Method::POST, &path, Some(body(&|_| {}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    assert_eq!(
        created.json["claims"],
        json!({"project_path": "acme/app", "ref": "main"})
    );
    assert!(created.json.get("subject").is_none());
    let id = created.json["id"].as_str().expect("id").to_owned();
    let list = raw(&admin, Method::GET, &path, None).await;
    assert_eq!(
        (list.json["total"].as_u64(), &list.json["data"][0]["id"]),
        (Some(1), &json!(id))
    );
    let one = raw(&admin, Method::GET, &format!("{path}/{id}"), None).await;
    assert_eq!(one.json["issuer"], "https://gitlab.example.com");
    let deleted = raw(&admin, Method::DELETE, &format!("{path}/{id}"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    get(format!("{path}/{id}"))
        .not_found("federated credential")
        .expect(&admin)
        .await;
    use sqlx::Row;
    let actions: Vec<String> = sqlx::query(
        "SELECT action FROM audit_log WHERE action LIKE 'federated_credential.%' ORDER BY at, id",
    )
    .fetch_all(server.pool())
    .await
    .expect("audit")
    .iter()
    .map(|r| r.try_get("action").expect("action"))
    .collect();
    assert_eq!(
        actions,
        [
            "federated_credential.created",
            "federated_credential.deleted"
        ]
    );
}

/// Two federating nodes on one PostgreSQL, B listening for A's invalidations (`None` without
/// PostgreSQL, which fails the run under `JUSTIAM_TEST_REQUIRE_ALL`).
async fn two_federating_nodes() -> Option<(TestServer, TestServer)> {
    if !postgres_available() {
        return None;
    }
    let shared = |args: &mut justiam_server::config::ServeArgs| {
        args.oidc_issuer = Some("https://iam.example.test".to_owned());
        args.federation_allow_http_loopback = true;
    };
    let a = TestServer::start_with(Backend::Postgres, shared).await;
    let b = a.listening_node(shared).await;
    Some((a, b))
}

/// Two nodes on one PostgreSQL: deleting the federated credential, or deactivating the account,
/// through node A makes a live access token fail on node B within a second, although B had it
/// cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_reaches_the_other_node_within_a_second() {
    let Some((a, b)) = two_federating_nodes().await else {
        return;
    };
    let Some(jose) = Joserfc::start() else { return };
    let key = jose.es256("k8s").await;
    let issuer = Issuer::start(vec![key.jwk()]).await;
    let account = a.create_service_account("deployer@example.com").await;
    let fc = create_fc(
        &a,
        account.id,
        json!({
            "name": "pods", "issuer": issuer.url, "audience": "justiam",
            "subject": "system:serviceaccount:ci:deployer",
        }),
    )
    .await;
    let exchange_on_a = || async {
        let token = key
            .sign(&kubernetes_claims(&issuer.url, "ci", "deployer"))
            .await;
        let (status, body) = exchange(&a, &token, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("token").to_owned()
    };
    let within_a_second = |what: &'static str, token: String| {
        let b = &b;
        async move {
            let started = Instant::now();
            loop {
                if me_as(b, &token).await.status == StatusCode::UNAUTHORIZED {
                    return;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(1),
                    "{what}: node B still accepts the token"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };

    // 1. Deleting the federated credential.
    let token = exchange_on_a().await;
    assert_eq!(me_as(&b, &token).await.status, StatusCode::OK);
    assert_eq!(
        me_as(&b, &token).await.status,
        StatusCode::OK,
        "cached on B"
    );
    let deleted = raw(
        &a.admin().await,
        Method::DELETE,
        &format!(
            "/api/v1/users/{}/federated-credentials/{}",
            account.id,
            fc["id"].as_str().expect("id")
        ),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    within_a_second("federated credential deleted", token).await;

    // 2. Deactivating the account (a client's token this time).
    create_fc(
        &a,
        account.id,
        json!({
            "name": "pods again", "issuer": issuer.url, "audience": "justiam",
            "subject": "system:serviceaccount:ci:deployer",
        }),
    )
    .await;
    let token = exchange_on_a().await;
    let (client_id, secret, _) = secret_client(&a, account.id).await;
    let client_token = access_token(&a, &client_id, &secret).await;
    for t in [&token, &client_token] {
        assert_eq!(me_as(&b, t).await.status, StatusCode::OK);
    }
    let off = raw(
        &a.admin().await,
        Method::PUT,
        &format!("/api/v1/users/{}", account.id),
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK);
    within_a_second("account deactivated", token).await;
    within_a_second("account deactivated (client token)", client_token).await;
}

/// Two nodes on one PostgreSQL: grants and exchanges read the client, the issuer's trust list and
/// the account from memory (issue 16's speed), yet every change made through node A shows on
/// node B within a second: a federated credential created after B cached "nobody trusts this
/// issuer", a client deleted, an account deactivated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_read_from_memory_but_never_after_a_change() {
    let Some((a, b)) = two_federating_nodes().await else {
        return;
    };
    let Some(jose) = Joserfc::start() else { return };
    let key = jose.es256("k8s").await;
    let issuer = Issuer::start(vec![key.jwk()]).await;
    let account = a.create_service_account("cached@example.com").await;
    let token = || async {
        key.sign(&kubernetes_claims(&issuer.url, "ci", "deployer"))
            .await
    };

    /// Polls `attempt` on node B until it gives `want`, for at most a second.
    async fn within_a_second<F, Fut>(what: &str, want: StatusCode, attempt: F) -> Value
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = (StatusCode, Value)>,
    {
        let started = Instant::now();
        loop {
            let (status, body) = attempt().await;
            if status == want {
                return body;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{what}: node B still answers {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // 1. B learns that nobody trusts the issuer (and keeps that), then A creates the trust.
    for _ in 0..2 {
        assert_invalid_grant(
            "nobody trusts it yet",
            exchange(&b, &token().await, &[]).await,
        );
    }
    create_fc(
        &a,
        account.id,
        json!({
            "name": "pods", "issuer": issuer.url, "audience": "justiam",
            "subject": "system:serviceaccount:ci:deployer",
        }),
    )
    .await;
    let exchanged = within_a_second("federated credential created", StatusCode::OK, || async {
        exchange(&b, &token().await, &[]).await
    })
    .await;
    assert_eq!(exchanged["token_type"], "Bearer", "{exchanged}");

    // 2. A client B has granted with (twice: the second from memory), deleted through A.
    let (client_id, secret, id) = secret_client(&a, account.id).await;
    let grant_on_b = || async {
        let (status, _, body) = grant_basic(&b, &client_id, &secret, &[]).await;
        (status, body)
    };
    for _ in 0..2 {
        assert_eq!(grant_on_b().await.0, StatusCode::OK);
    }
    let deleted = raw(
        &a.admin().await,
        Method::DELETE,
        &format!("/api/v1/users/{}/clients/{id}", account.id),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.json);
    let refused = within_a_second("client deleted", StatusCode::UNAUTHORIZED, grant_on_b).await;
    assert_eq!(refused["error"], "invalid_client", "{refused}");

    // 3. The account deactivated through A: B's cached client and account both stop.
    let (client_id, secret, _) = secret_client(&a, account.id).await;
    let grant_on_b = || async {
        let (status, _, body) = grant_basic(&b, &client_id, &secret, &[]).await;
        (status, body)
    };
    assert_eq!(grant_on_b().await.0, StatusCode::OK);
    assert_eq!(exchange(&b, &token().await, &[]).await.0, StatusCode::OK);
    let off = raw(
        &a.admin().await,
        Method::PUT,
        &format!("/api/v1/users/{}", account.id),
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.json);
    let refused = within_a_second("account deactivated", StatusCode::BAD_REQUEST, grant_on_b).await;
    assert_eq!(refused["error"], "unauthorized_client", "{refused}");
    let refused = within_a_second("account deactivated", StatusCode::BAD_REQUEST, || async {
        exchange(&b, &token().await, &[]).await
    })
    .await;
    assert_eq!(refused["error"], "invalid_grant", "{refused}");

    // 4. A second account trusts the same workload: ambiguous. Deleting the first account through
    //    A (its federated credential goes with it) leaves B one account to hand a token for.
    let second = a.create_service_account("second@example.com").await;
    create_fc(
        &a,
        second.id,
        json!({
            "name": "pods", "issuer": issuer.url, "audience": "justiam",
            "subject": "system:serviceaccount:ci:deployer",
        }),
    )
    .await;
    let ambiguous = within_a_second("second trust created", StatusCode::BAD_REQUEST, || async {
        let (status, body) = exchange(&b, &token().await, &[]).await;
        (
            if body["error"] == "invalid_request" {
                status
            } else {
                StatusCode::IM_A_TEAPOT
            },
            body,
        )
    })
    .await;
    assert!(
        ambiguous["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("several service accounts")),
        "{ambiguous}"
    );
    let gone = raw(
        &a.admin().await,
        Method::DELETE,
        &format!("/api/v1/users/{}", account.id),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.json);
    let exchanged = within_a_second("first account deleted", StatusCode::OK, || async {
        exchange(&b, &token().await, &[]).await
    })
    .await;
    let as_whom = me_as(&b, exchanged["access_token"].as_str().unwrap_or_default()).await;
    assert_eq!(as_whom.json["id"], json!(second.id), "{}", as_whom.json);
}
