//! Revocation (RFC 7009) and introspection (RFC 7662) of service accounts' access tokens by the
//! account's own OAuth clients — secret (basic, post) or `private_key_jwt` — and by the token
//! itself; and, as the attacker tries it, by another account's client, an application, or nobody.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    the_accounts_clients_and_the_token_itself_revoke_one_token,
    another_accounts_client_an_application_or_nobody_changes_nothing,
);

const REVOKE: &str = "/oauth2/revoke";
const INTROSPECT: &str = "/oauth2/introspect";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `POST` `form` to `path` with HTTP Basic `(client_id, secret)` when given.
async fn call(
    server: &TestServer,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let (status, _, body) = form_call(server, path, basic, form).await;
    (status, body)
}

async fn revoked_rows(server: &TestServer) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM revoked_access_tokens")
        .fetch_one(server.pool())
        .await
        .expect("count")
        .try_get("n")
        .expect("n")
}

fn jti_of(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    let claims: Value = serde_json::from_slice(&bytes).expect("claims");
    claims["jti"].as_str().expect("jti").to_owned()
}

async fn the_accounts_clients_and_the_token_itself_revoke_one_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    let sa = server.create_service_account("deployer@example.com").await;
    let (client_id, secret, client_row) = secret_client(&server, sa.id).await;
    let key = OutsideKey::es256("k1");
    let signer = create_sa_client(
        &server.admin().await,
        sa.id,
        json!({"name": "signer", "auth_method": "private_key_jwt", "jwks": {"keys": [key.jwk()]}}),
    )
    .await;
    let signer_id = signer["client_id"].as_str().expect("client_id").to_owned();
    let bystander = access_token(&server, &client_id, &secret).await;

    // The client introspects its account's token.
    let token = access_token(&server, &client_id, &secret).await;
    let (status, answer) = call(
        &server,
        INTROSPECT,
        Some((&client_id, &secret)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (
            answer["active"].as_bool(),
            answer["sub"].as_str(),
            answer["client_id"].as_str(),
            answer["token_type"].as_str(),
        ),
        (
            Some(true),
            Some(sa.id.to_string().as_str()),
            Some(client_id.as_str()),
            Some("service_account_access_token"),
        ),
        "{answer}"
    );

    // 1. Revoked by the client that got it (client_secret_basic): refused at once, inactive.
    let (status, answer) = call(
        &server,
        REVOKE,
        Some((&client_id, &secret)),
        &[("token", &token), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(
        (status, &answer),
        (StatusCode::OK, &Value::Null),
        "{answer}"
    );
    assert_invalid_token(&me_as(&server, &token).await);
    let (_, answer) = call(
        &server,
        INTROSPECT,
        Some((&client_id, &secret)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(answer, json!({"active": false}));
    // Once more: nothing to do, the same 200, no second record.
    let (status, _) = call(
        &server,
        REVOKE,
        Some((&client_id, &secret)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // One token, not the account: another token of the same client still works.
    assert_eq!(me_as(&server, &bystander).await.status, StatusCode::OK);

    // 2. By another client of the same account (client_secret_post).
    let (other_id, other_secret, _) = secret_client(&server, sa.id).await;
    let token = access_token(&server, &client_id, &secret).await;
    let (status, _) = call(
        &server,
        REVOKE,
        None,
        &[
            ("token", &token),
            ("client_id", &other_id),
            ("client_secret", &other_secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_invalid_token(&me_as(&server, &token).await);

    // 3. By the key client (private_key_jwt, `aud` the revocation endpoint as Authlib sends it).
    let token = access_token(&server, &client_id, &secret).await;
    let assertion = key.sign(&json!({
        "iss": signer_id, "sub": signer_id,
        "aud": format!("{}{REVOKE}", server.iam().issuer()),
        "exp": now_secs() + 120, "jti": Uuid::now_v7().to_string(),
    }));
    let (status, answer) = call(
        &server,
        REVOKE,
        None,
        &[
            ("token", &token),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_invalid_token(&me_as(&server, &token).await);
    // The assertion is spent: replayed, it is `invalid_client`, whatever the endpoint.
    let (status, answer) = call(
        &server,
        INTROSPECT,
        None,
        &[
            ("token", &bystander),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
        ],
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{answer}"
    );

    // 4. By the token itself, with no client at all (what a federated job can do).
    let token = access_token(&server, &client_id, &secret).await;
    let (status, answer) = call(&server, REVOKE, None, &[("token", &token)]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_invalid_token(&me_as(&server, &token).await);

    assert_eq!(me_as(&server, &bystander).await.status, StatusCode::OK);

    // Audited, once per token, with the jti and who revoked it.
    let audit = audit_entries(&server, "access_token.revoked").await;
    assert_eq!(audit.len(), 4, "{audit:?}");
    let (credential, credential_id, details) = &audit[0];
    assert_eq!(credential.as_deref(), Some("client_secret"));
    assert_eq!(credential_id.as_deref(), Some(client_row.as_str()));
    assert_eq!(details["revoked_by"]["client_id"], json!(client_id));
    assert_eq!(details["client_id"], json!(client_id));
    assert!(details["jti"].is_string(), "{details}");
    assert_eq!(audit[2].0.as_deref(), Some("private_key_jwt"));
    assert_eq!(audit[3].0.as_deref(), Some("access_token"));
    assert_eq!(audit[3].2["revoked_by"], "the token itself");
    assert_eq!(audit[3].2["jti"], json!(jti_of(&token)));

    // Kept until the tokens expire, then purged with the other expired rows.
    assert_eq!(revoked_rows(&server).await, 4);
    server
        .iam()
        .purge(justiam_core::time::now_millis() + 601_000)
        .await;
    assert_eq!(revoked_rows(&server).await, 0);
}

/// `(credential, credential_id, details)` of the audit entries named `action`, oldest first.
async fn audit_entries(
    server: &TestServer,
    action: &str,
) -> Vec<(Option<String>, Option<String>, Value)> {
    use sqlx::Row;
    sqlx::query(
        "SELECT credential, credential_id, details FROM audit_log WHERE action = $1 ORDER BY at, id",
    )
    .bind(action)
    .fetch_all(server.pool())
    .await
    .expect("audit")
    .iter()
    .map(|r| {
        let details: String = r.try_get("details").expect("details");
        (
            r.try_get("credential").expect("credential"),
            r.try_get("credential_id").expect("credential_id"),
            serde_json::from_str(&details).expect("details json"),
        )
    })
    .collect()
}

async fn another_accounts_client_an_application_or_nobody_changes_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let victim = server.create_service_account("deployer@example.com").await;
    let (victim_client, victim_secret, _) = secret_client(&server, victim.id).await;
    let attacker = server.create_service_account("intruder@example.com").await;
    let (attacker_client, attacker_secret, _) = secret_client(&server, attacker.id).await;
    let app = register(&server, "resource server", |_| {}).await;
    let app_secret = app.secret.clone().expect("secret");
    let token = access_token(&server, &victim_client, &victim_secret).await;
    let pat = create_token(&server.admin().await, None, "admin's", None).await;
    let still_alive = |what: &'static str| {
        let (server, token) = (&server, token.clone());
        let (victim_client, victim_secret) = (victim_client.clone(), victim_secret.clone());
        async move {
            assert_eq!(
                me_as(server, &token).await.status,
                StatusCode::OK,
                "{what}: the token must still work"
            );
            let (_, answer) = call(
                server,
                INTROSPECT,
                Some((&victim_client, &victim_secret)),
                &[("token", &token)],
            )
            .await;
            assert_eq!(answer["active"], true, "{what}: {answer}");
        }
    };

    // Another account's client: introspection says nothing, revocation answers 200 and does
    // nothing (RFC 7009 §2.2: not a token of the caller).
    let (status, answer) = call(
        &server,
        INTROSPECT,
        Some((&attacker_client, &attacker_secret)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(
        (status, &answer),
        (StatusCode::OK, &json!({"active": false}))
    );
    let (status, _) = call(
        &server,
        REVOKE,
        Some((&attacker_client, &attacker_secret)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    still_alive("another account's client revoked it").await;

    // A service account's client learns nothing of other kinds of tokens either.
    let (_, answer) = call(
        &server,
        INTROSPECT,
        Some((&attacker_client, &attacker_secret)),
        &[("token", &pat.token)],
    )
    .await;
    assert_eq!(answer, json!({"active": false}), "a PAT");

    // An application: 200, nothing revoked (the token was not issued to it).
    let (status, _) = call(
        &server,
        REVOKE,
        Some((&app.app.client_id, &app_secret)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    still_alive("an application revoked it").await;

    // Wrong or half credentials are `401 invalid_client`, for revocation and introspection alike.
    for path in [REVOKE, INTROSPECT] {
        for (label, basic, form) in [
            (
                "a wrong secret",
                Some((attacker_client.as_str(), "justiam_cs_wrong")),
                vec![("token", token.as_str())],
            ),
            (
                "the client_id alone",
                None,
                vec![("token", token.as_str()), ("client_id", &attacker_client)],
            ),
            (
                "another client's secret",
                Some((attacker_client.as_str(), victim_secret.as_str())),
                vec![("token", token.as_str())],
            ),
        ] {
            let (status, answer) = call(&server, path, basic, &form).await;
            assert_eq!(
                (status, answer["error"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("invalid_client")),
                "{path}, {label}: {answer}"
            );
        }
    }
    still_alive("refused callers").await;

    // Nobody: introspection needs a caller; revocation without a client is only for a service
    // account's access token presenting itself — never for a PAT.
    let (status, answer) = call(&server, INTROSPECT, None, &[("token", &token)]).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{answer}"
    );
    let (status, answer) = call(&server, REVOKE, None, &[("token", &pat.token)]).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{answer}"
    );
    let admin_me = raw(
        &server.anonymous().with_token(&pat.token),
        reqwest::Method::GET,
        "/api/v1/me",
        None,
    )
    .await;
    assert_eq!(admin_me.status, StatusCode::OK, "the PAT still works");
    // A forged token of the right shape is no oracle: the same 200 as a real one.
    let forged = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.AAAA";
    let (status, _) = call(&server, REVOKE, None, &[("token", forged)]).await;
    assert_eq!(status, StatusCode::OK);
    still_alive("forgeries").await;
    assert_eq!(revoked_rows(&server).await, 0);
    assert!(
        audit_entries(&server, "access_token.revoked")
            .await
            .is_empty()
    );
}

/// Two nodes on one PostgreSQL: a token revoked through node A is refused on node B within a
/// second, although B had it cached; a token next to it stays good on B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_on_one_node_is_refused_on_the_other_within_a_second() {
    if !postgres_available() {
        return;
    }
    // One issuer for both nodes, as behind a load balancer.
    let shared = |args: &mut justiam_server::config::ServeArgs| {
        args.oidc_issuer = Some("https://iam.example.test".to_owned());
    };
    let a = TestServer::start_with(Backend::Postgres, shared).await;
    let b = a.listening_node(shared).await;
    let sa = a.create_service_account("deployer@example.com").await;
    let (client_id, secret, _) = secret_client(&a, sa.id).await;
    let token = access_token(&a, &client_id, &secret).await;
    let neighbour = access_token(&a, &client_id, &secret).await;
    for t in [&token, &token, &neighbour] {
        assert_eq!(me_as(&b, t).await.status, StatusCode::OK, "cached on B");
    }

    let (status, _) = call(
        &a,
        REVOKE,
        Some((&client_id, &secret)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let revoked_at = Instant::now();
    loop {
        if me_as(&b, &token).await.status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "node B still accepts the revoked token"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_invalid_token(&me_as(&b, &token).await);
    assert_eq!(me_as(&b, &neighbour).await.status, StatusCode::OK);
    // And B's introspection agrees.
    let (_, answer) = call(
        &b,
        INTROSPECT,
        Some((&client_id, &secret)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(answer, json!({"active": false}));
}
