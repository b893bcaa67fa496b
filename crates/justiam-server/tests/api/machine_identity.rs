//! Machine identity (issue 16): OAuth clients of service accounts, the `client_credentials` grant
//! (secret and `private_key_jwt`), and the access tokens it hands out acting on `/api/v1` —
//! every refusal sent the way an attacker would send it.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    clients_are_created_with_a_secret_shown_once_listed_and_deleted,
    only_an_operator_who_may_see_the_account_manages_its_clients,
    client_credentials_with_basic_and_post_act_as_the_service_account,
    client_credentials_refusals,
    a_scope_narrows_the_token_like_a_fine_grained_pat,
    deleting_the_client_or_deactivating_the_account_refuses_its_tokens_at_once,
    introspection_answers_and_an_application_cannot_revoke_access_tokens,
    private_key_jwt_with_ec_and_rsa_keys,
    private_key_jwt_refusals,
    a_token_cannot_mint_credentials_for_its_own_account,
    authlib_fetches_client_credentials_tokens_unmodified,
);

async fn audit_actions(server: &TestServer, prefix: &str) -> Vec<(String, Option<String>, Value)> {
    use sqlx::Row;
    server.iam().flush_grant_log().await;
    sqlx::query(
        "SELECT action, credential_id, details FROM audit_log WHERE action LIKE $1 ORDER BY at, id",
    )
    .bind(format!("{prefix}%"))
    .fetch_all(server.pool())
    .await
    .expect("audit")
    .iter()
    .map(|r| {
        let details: Option<String> = r.try_get("details").expect("details");
        (
            r.try_get("action").expect("action"),
            r.try_get("credential_id").expect("credential_id"),
            details
                .map(|d| serde_json::from_str(&d).expect("details json"))
                .unwrap_or(Value::Null),
        )
    })
    .collect()
}

async fn clients_are_created_with_a_secret_shown_once_listed_and_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let sa = server.create_service_account("deployer@example.com").await;
    let path = format!("/api/v1/users/{}/clients", sa.id);

    let created = raw(
        &admin,
        Method::POST,
        &path,
        Some(json!({"name": " deploy ", "description": "the CD pipeline"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let body = &created.json;
    let secret = body["client_secret"].as_str().expect("secret shown once");
    assert!(
        secret.starts_with("justiam_cs_") && secret.len() == 49,
        "{secret}"
    );
    let client_id = body["client_id"].as_str().expect("client_id");
    assert!(
        client_id.starts_with("justiam_sa_") && client_id.len() == 35,
        "{client_id}"
    );
    assert_eq!(body["name"], "deploy");
    assert_eq!(body["auth_method"], "client_secret");
    assert_eq!(body["user_id"], json!(sa.id.to_string()));
    assert_eq!(body["secret_hint"], json!(format!("…{}", &secret[45..])));
    assert!(body.get("jwks").is_none(), "{body}");
    let id = body["id"].as_str().expect("id").to_owned();

    // Only the digest is stored.
    use sqlx::Row;
    let stored: Vec<u8> =
        sqlx::query("SELECT secret_digest FROM service_account_clients WHERE id = $1")
            .bind(&id)
            .fetch_one(server.pool())
            .await
            .expect("row")
            .try_get("secret_digest")
            .expect("digest");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    assert_eq!(stored, digest.as_ref().to_vec());

    let list = raw(&admin, Method::GET, &path, None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.json);
    assert_eq!(list.json["total"], 1);
    assert_eq!(list.json["data"][0]["id"], json!(id));
    assert!(
        list.json["data"][0].get("client_secret").is_none(),
        "never again"
    );
    let one = raw(&admin, Method::GET, &format!("{path}/{id}"), None).await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.json.get("client_secret").is_none());
    assert_eq!(one.json["client_id"], json!(client_id));

    let deleted = raw(&admin, Method::DELETE, &format!("{path}/{id}"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.json);
    expect_refusals(
        &admin,
        [
            delete(format!("{path}/{id}")).not_found("client"),
            get(format!("{path}/{id}")).not_found("client"),
        ],
    )
    .await;

    let audit = audit_actions(&server, "client.").await;
    let actions: Vec<&str> = audit.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(actions, ["client.created", "client.deleted"]);
    assert_eq!(audit[0].2["client_id"], json!(client_id));
    assert!(
        !audit[0].2.to_string().contains(secret),
        "no secret in the audit"
    );
}

async fn only_an_operator_who_may_see_the_account_manages_its_clients(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let sa = server.create_service_account("robot@example.com").await;
    let (person, _) = server.user_client("person@example.com").await;
    let admin_sa = server
        .create_service_account("root-robot@example.com")
        .await;
    let made_admin = raw(
        &admin,
        Method::PUT,
        &format!("/api/v1/users/{}", admin_sa.id),
        Some(json!({"is_admin": true})),
    )
    .await;
    assert_eq!(made_admin.status, StatusCode::OK, "{}", made_admin.json);
    let (nobody, nobody_client) = server.user_client("nobody@example.com").await;
    let (operator, operator_client) = server.user_client("operator@example.com").await;
    grant(
        &server,
        operator.id,
        &["service_accounts.tokens", "users.view"],
    )
    .await;
    let _ = nobody;

    let clients = |id: Uuid| format!("/api/v1/users/{id}/clients");
    let fcs = |id: Uuid| format!("/api/v1/users/{id}/federated-credentials");
    expect_refusals(
        &nobody_client,
        [
            post(clients(sa.id), json!({"name": "x"})).forbidden("service_accounts.tokens"),
            get(clients(sa.id)).forbidden("service_accounts.tokens"),
            get(fcs(sa.id)).forbidden("service_accounts.tokens"),
        ],
    )
    .await;
    expect_refusals(
        &operator_client,
        [
            // The operator may not see an administrator service account: it does not exist.
            post(clients(admin_sa.id), json!({"name": "x"})).not_found("user"),
            get(clients(admin_sa.id)).not_found("user"),
            get(clients(Uuid::now_v7())).not_found("user"),
            post(fcs(admin_sa.id), json!({"name": "x", "issuer": "https://a.example", "audience": "a", "subject": "s"}))
                .not_found("user"),
        ],
    )
    .await;
    expect_refusals(
        &admin,
        [
            post(clients(person.id), json!({"name": "x"})).refused(
                409,
                "not_a_service_account",
                "service account",
            ),
            get(fcs(person.id)).refused(409, "not_a_service_account", "service account"),
            post(clients(sa.id), json!({"name": "  "})).invalid("name"),
            post(
                clients(sa.id),
                json!({"name": "x", "auth_method": "tls_client_auth"}),
            )
            .invalid("auth_method"),
            post(clients(sa.id), json!({"name": "x", "jwks": {"keys": []}})).invalid("auth_method"),
            post(
                clients(sa.id),
                json!({"name": "x", "auth_method": "private_key_jwt"}),
            )
            .invalid("jwks"),
            post(
                clients(sa.id),
                json!({"name": "x", "auth_method": "private_key_jwt", "jwks": {"keys": []}}),
            )
            .invalid("jwks"),
            post(
                clients(sa.id),
                json!({"name": "x", "auth_method": "private_key_jwt", "jwks": [1]}),
            )
            .invalid("jwks"),
            post(
                clients(sa.id),
                json!({"name": "x", "auth_method": "private_key_jwt",
                "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}),
            )
            .invalid("jwks"),
            post(
                clients(sa.id),
                json!({"name": "x", "auth_method": "private_key_jwt",
                "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}}),
            )
            .invalid("jwks"),
            post(
                clients(sa.id),
                json!({"name": "x", "auth_method": "private_key_jwt",
                "public_key_pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}),
            )
            .invalid("public_key_pem"),
            post(clients(sa.id), json!({"name": "x", "unknown": 1})).invalid("unknown"),
        ],
    )
    .await;
    // A private key is refused, and not echoed.
    let key = OutsideKey::es256("k1");
    let mut private = key.jwk();
    private["d"] = json!("c2VjcmV0LXByaXZhdGUtc2NhbGFy");
    let refused = raw(
        &admin,
        Method::POST,
        &clients(sa.id),
        Some(json!({"name": "x", "auth_method": "private_key_jwt", "jwks": {"keys": [private]}})),
    )
    .await;
    assert_validation(&refused, "jwks");
    assert!(
        refused.json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("private")
    );
    assert!(
        !refused
            .json
            .to_string()
            .contains("c2VjcmV0LXByaXZhdGUtc2NhbGFy")
    );

    // The operator manages an ordinary service account whose permissions they hold.
    create_sa_client(&operator_client, sa.id, json!({"name": "ok"})).await;
    assert_eq!(
        count_rows(
            &server,
            "service_account_clients",
            "user_id",
            &sa.id.to_string()
        )
        .await,
        1
    );
}

async fn client_credentials_with_basic_and_post_act_as_the_service_account(backend: Backend) {
    let server = TestServer::start(backend).await;
    let sa = server.create_service_account("builder@example.com").await;
    let (client_id, secret, id) = secret_client(&server, sa.id).await;

    let (status, headers, body) = grant_basic(&server, &client_id, &secret, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        headers.get("cache-control").map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert!(
        body.get("refresh_token").is_none(),
        "RFC 6749 §4.4.3: no refresh token"
    );
    let token = body["access_token"].as_str().expect("access_token");

    // RFC 9068, ES256, checked against the published JWKS.
    let (header, claims) = verify_with_jwks(&server, token).await;
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "at+jwt");
    let issuer = server.iam().issuer().to_owned();
    assert_eq!(claims["iss"], json!(issuer));
    assert_eq!(claims["aud"], json!(format!("{issuer}/api")));
    assert_eq!(claims["sub"], json!(sa.id.to_string()));
    assert_eq!(claims["client_id"], json!(client_id));
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        600
    );
    assert!(claims["jti"].is_string());

    let me = me_as(&server, token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.json);
    assert_eq!(me.json["id"], json!(sa.id.to_string()));
    assert_eq!(me.json["is_service_account"], true);

    // client_secret_post works the same.
    let (status, _, body) = form_call(
        &server,
        "/oauth2/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = body["access_token"].as_str().expect("token");
    assert_ne!(second, token);
    assert_eq!(me_as(&server, second).await.status, StatusCode::OK);

    // Each grant is audited, naming the client and how it authenticated.
    let audit = audit_actions(&server, "oauth.client_credentials").await;
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(
        audit
            .iter()
            .all(|(_, cred, d)| cred.as_deref() == Some(id.as_str())
                && d["client_id"] == json!(client_id))
    );
    // And the client shows when it was last used.
    let one = raw(
        &server.admin().await,
        Method::GET,
        &format!("/api/v1/users/{}/clients/{id}", sa.id),
        None,
    )
    .await;
    assert!(one.json["last_used_at"].is_string(), "{}", one.json);
}

async fn client_credentials_refusals(backend: Backend) {
    let server = TestServer::start(backend).await;
    let sa = server.create_service_account("builder@example.com").await;
    let (client_id, secret, _) = secret_client(&server, sa.id).await;
    let other = server.create_service_account("other@example.com").await;
    let (_, other_secret, _) = secret_client(&server, other.id).await;
    let rp = register(&server, "web app", |_| {}).await;
    let app_secret = rp.secret.clone().expect("secret");
    let mut wrong = secret.clone();
    wrong.replace_range(20..21, if &secret[20..21] == "A" { "B" } else { "A" });

    let invalid_client = |label: &str, answer: (StatusCode, reqwest::header::HeaderMap, Value)| {
        let (status, headers, body) = answer;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{label}: {body}");
        assert_eq!(body["error"], "invalid_client", "{label}: {body}");
        let challenge = headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            challenge.starts_with("Basic"),
            "{label}: RFC 6749 §5.2 challenge {challenge:?}"
        );
    };
    invalid_client(
        "wrong secret",
        grant_basic(&server, &client_id, &wrong, &[]).await,
    );
    invalid_client(
        "another client's secret",
        grant_basic(&server, &client_id, &other_secret, &[]).await,
    );
    invalid_client(
        "unknown client",
        grant_basic(&server, "justiam_sa_nobody", &secret, &[]).await,
    );
    invalid_client(
        "an application's credentials",
        grant_basic(&server, &rp.app.client_id, &app_secret, &[]).await,
    );
    invalid_client(
        "wrong secret, post",
        form_call(
            &server,
            "/oauth2/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &wrong),
            ],
        )
        .await,
    );
    invalid_client(
        "no secret at all",
        form_call(
            &server,
            "/oauth2/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
            ],
        )
        .await,
    );
    // An application's own grants stay closed to a service-account client.
    let (status, _, body) = grant_basic(&server, &client_id, &secret, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = token_call(
        &server,
        Some((&client_id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "justiam_rt_x"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{body}"
    );

    for (scope, mentions) in [
        ("users.delete", "users.delete"),
        ("users.view nonsense.permission", "nonsense.permission"),
        ("openid", "openid"),
    ] {
        let (status, _, body) =
            grant_basic(&server, &client_id, &secret, &[("scope", scope)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{scope}: {body}");
        assert_eq!(body["error"], "invalid_scope", "{scope}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap_or_default()
                .contains(mentions),
            "{scope}: {body}"
        );
    }

    // Grants are counted by how the client authenticated; the refusals as one outcome on the
    // public /metrics.
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in [
        r#"justiam_authentications_total{credential="client_secret",outcome="ok"} 1"#,
        r#"justiam_authentications_total{credential="client_secret",outcome="refused"} 9"#,
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }

    // A deactivated account's client gets nothing.
    let admin = server.admin().await;
    let off = raw(
        &admin,
        Method::PUT,
        &format!("/api/v1/users/{}", sa.id),
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.json);
    let (status, _, body) = grant_basic(&server, &client_id, &secret, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client")),
        "{body}"
    );
}

async fn a_scope_narrows_the_token_like_a_fine_grained_pat(backend: Backend) {
    let server = TestServer::start(backend).await;
    let sa = server.create_service_account("reader@example.com").await;
    grant(
        &server,
        sa.id,
        &["users.view", "groups.view", "groups.create"],
    )
    .await;
    let (client_id, secret, _) = secret_client(&server, sa.id).await;

    let (status, _, body) =
        grant_basic(&server, &client_id, &secret, &[("scope", "users.view")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "users.view");
    let token = body["access_token"].as_str().expect("token");
    let client = server.anonymous().with_token(token);
    assert_eq!(
        raw(&client, Method::GET, "/api/v1/users", None)
            .await
            .status,
        StatusCode::OK
    );
    get("/api/v1/groups")
        .forbidden("groups.view")
        .expect(&client)
        .await;

    // A wildcard takes what the account holds.
    let (status, _, body) = grant_basic(&server, &client_id, &secret, &[("scope", "*.view")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "users.view groups.view");
    let client = server
        .anonymous()
        .with_token(body["access_token"].as_str().expect("token"));
    assert_eq!(
        raw(&client, Method::GET, "/api/v1/groups", None)
            .await
            .status,
        StatusCode::OK
    );
    post("/api/v1/groups", json!({"name": "g"}))
        .forbidden("groups.create")
        .expect(&client)
        .await;

    // The account's *current* permissions: a permission it loses is lost by its live tokens.
    let unscoped = access_token(&server, &client_id, &secret).await;
    let client = server.anonymous().with_token(&unscoped);
    assert_eq!(
        raw(&client, Method::GET, "/api/v1/groups", None)
            .await
            .status,
        StatusCode::OK
    );
    sqlx::query("DELETE FROM user_admin_roles WHERE user_id = $1")
        .bind(sa.id.to_string())
        .execute(server.pool())
        .await
        .expect("unassign");
    server.after_direct_sql();
    get("/api/v1/groups")
        .forbidden("groups.view")
        .expect(&client)
        .await;

    // An administrator service account's scoped token is not an administrator.
    let root = server
        .create_service_account("root-robot@example.com")
        .await;
    let admin = server.admin().await;
    let made = raw(
        &admin,
        Method::PUT,
        &format!("/api/v1/users/{}", root.id),
        Some(json!({"is_admin": true})),
    )
    .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.json);
    let (root_id, root_secret, _) = secret_client(&server, root.id).await;
    let (status, _, body) =
        grant_basic(&server, &root_id, &root_secret, &[("scope", "users.view")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let client = server
        .anonymous()
        .with_token(body["access_token"].as_str().expect("token"));
    post(
        "/api/v1/users",
        json!({"email": "x@example.com", "password": "password-123"}),
    )
    .forbidden("users.create")
    .expect(&client)
    .await;
    let unscoped = access_token(&server, &root_id, &root_secret).await;
    let created = raw(
        &server.anonymous().with_token(&unscoped),
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "y@example.com", "password": "password-123"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
}

async fn deleting_the_client_or_deactivating_the_account_refuses_its_tokens_at_once(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let sa = server.create_service_account("deployer@example.com").await;
    let (client_id, secret, id) = secret_client(&server, sa.id).await;
    let token = access_token(&server, &client_id, &secret).await;
    let (keep_id, keep_secret, _) = secret_client(&server, sa.id).await;
    let kept = access_token(&server, &keep_id, &keep_secret).await;
    // Cached now.
    assert_eq!(me_as(&server, &token).await.status, StatusCode::OK);
    assert_eq!(me_as(&server, &token).await.status, StatusCode::OK);

    let deleted = raw(
        &admin,
        Method::DELETE,
        &format!("/api/v1/users/{}/clients/{id}", sa.id),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_invalid_token(&me_as(&server, &token).await);
    invalid_after_delete(&server, &client_id, &secret).await;
    // The other client's token is untouched.
    assert_eq!(me_as(&server, &kept).await.status, StatusCode::OK);

    let off = raw(
        &admin,
        Method::PUT,
        &format!("/api/v1/users/{}", sa.id),
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK);
    assert_invalid_token(&me_as(&server, &kept).await);
    let on = raw(
        &admin,
        Method::PUT,
        &format!("/api/v1/users/{}", sa.id),
        Some(json!({"is_active": true})),
    )
    .await;
    assert_eq!(on.status, StatusCode::OK);
    assert_eq!(
        me_as(&server, &kept).await.status,
        StatusCode::OK,
        "the token itself is still valid"
    );

    let gone = raw(
        &admin,
        Method::DELETE,
        &format!("/api/v1/users/{}", sa.id),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.json);
    assert_invalid_token(&me_as(&server, &kept).await);

    // Forged and mangled tokens.
    let mut tampered = kept.clone();
    let at = tampered.len() - 10;
    tampered.replace_range(at..at + 1, if &kept[at..at + 1] == "A" { "B" } else { "A" });
    assert_invalid_token(&me_as(&server, &tampered).await);
    assert_invalid_token(
        &me_as(&server, "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.AAAA").await,
    );
}

async fn invalid_after_delete(server: &TestServer, client_id: &str, secret: &str) {
    let (status, _, body) = grant_basic(server, client_id, secret, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{body}"
    );
}

async fn introspection_answers_and_an_application_cannot_revoke_access_tokens(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "resource server", |_| {}).await;
    let rp_secret = rp.secret.clone().expect("secret");
    let sa = server.create_service_account("deployer@example.com").await;
    grant(&server, sa.id, &["users.view"]).await;
    let (client_id, secret, id) = secret_client(&server, sa.id).await;
    let (_, _, body) = grant_basic(&server, &client_id, &secret, &[("scope", "users.view")]).await;
    let token = body["access_token"].as_str().expect("token").to_owned();

    let introspect = |value: String| {
        let server = &server;
        let (id, secret) = (rp.app.client_id.clone(), rp_secret.clone());
        async move {
            form_call(
                server,
                "/oauth2/introspect",
                Some((&id, &secret)),
                &[("token", &value)],
            )
            .await
        }
    };
    let (status, _, answer) = introspect(token.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["sub"], json!(sa.id.to_string()));
    assert_eq!(answer["client_id"], json!(client_id));
    assert_eq!(answer["scope"], "users.view");
    assert_eq!(answer["token_type"], "service_account_access_token");
    assert_eq!(answer["username"], json!(sa.username));
    let issuer = server.iam().issuer().to_owned();
    assert_eq!(answer["aud"], json!(format!("{issuer}/api")));
    assert!(answer["exp"].as_i64().expect("exp") > now_secs());

    // PATs and refresh tokens answer too (their own tests cover them in full).
    let pat = create_token(&server.admin().await, None, "t", None).await;
    let (_, _, answer) = introspect(pat.token.clone()).await;
    assert_eq!(
        (answer["active"].as_bool(), answer["token_type"].as_str()),
        (Some(true), Some("justiam_pat")),
        "{answer}"
    );

    // An application may not revoke it (it was not issued to the application): `200`, as for
    // any token not the caller's (RFC 7009 §2.2), and the token lives on. Its account's clients
    // revoke it (machine_revocation.rs).
    let (status, _, answer) = form_call(
        &server,
        "/oauth2/revoke",
        Some((&rp.app.client_id, &rp_secret)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(me_as(&server, &token).await.status, StatusCode::OK);
    assert_eq!(introspect(token.clone()).await.2["active"], true);

    let admin = server.admin().await;
    raw(
        &admin,
        Method::DELETE,
        &format!("/api/v1/users/{}/clients/{id}", sa.id),
        None,
    )
    .await;
    let (status, _, answer) = introspect(token.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, json!({"active": false}));
    // Revoking what no longer works changes nothing and answers 200 (RFC 7009 §2.2).
    let (status, _, _) = form_call(
        &server,
        "/oauth2/revoke",
        Some((&rp.app.client_id, &rp_secret)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// A client assertion (RFC 7523 §3) for `client_id`, valid for five minutes, `aud` the token
/// endpoint; `change` edits the claims first.
fn assertion_claims(
    server: &TestServer,
    client_id: &str,
    change: impl FnOnce(&mut Value),
) -> Value {
    let mut claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": format!("{}/oauth2/token", server.iam().issuer()),
        "exp": now_secs() + 300,
        "iat": now_secs(),
        "jti": Uuid::now_v7().to_string(),
    });
    change(&mut claims);
    claims
}

async fn jwt_grant(
    server: &TestServer,
    assertion: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    form_call(server, "/oauth2/token", None, &form).await
}

async fn key_client(server: &TestServer, account: Uuid, body: Value) -> String {
    let created = create_sa_client(&server.admin().await, account, body).await;
    assert!(created.get("client_secret").is_none(), "{created}");
    assert_eq!(created["auth_method"], "private_key_jwt");
    created["client_id"].as_str().expect("client_id").to_owned()
}

async fn private_key_jwt_with_ec_and_rsa_keys(backend: Backend) {
    let server = TestServer::start(backend).await;
    let sa = server.create_service_account("signer@example.com").await;
    let ec = OutsideKey::es256("ec-1");
    let ec_client = key_client(
        &server,
        sa.id,
        json!({"name": "ec", "auth_method": "private_key_jwt", "jwks": {"keys": [ec.jwk()]}}),
    )
    .await;
    let rsa = OutsideKey::rs256("rsa-1");
    let rsa_client = key_client(
        &server,
        sa.id,
        json!({"name": "rsa", "auth_method": "private_key_jwt", "public_key_pem": rsa.pem()}),
    )
    .await;

    let assertion = ec.sign(&assertion_claims(&server, &ec_client, |_| {}));
    let (status, _, body) = jwt_grant(&server, &assertion, &[("client_id", &ec_client)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let me = me_as(&server, body["access_token"].as_str().expect("token")).await;
    assert_eq!(me.json["id"], json!(sa.id.to_string()));

    // A PEM key has no kid: the header need not name one. The issuer is an accepted audience.
    let claims = assertion_claims(&server, &rsa_client, |c| {
        c["aud"] = json!([server.iam().issuer()])
    });
    let assertion = rsa.sign_with_header(json!({"kid": null}), &claims);
    let (status, _, body) = jwt_grant(&server, &assertion, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let audit = audit_actions(&server, "oauth.client_credentials").await;
    let methods: Vec<_> = audit
        .iter()
        .map(|(_, _, d)| d["client_id"].clone())
        .collect();
    assert_eq!(methods, [json!(ec_client), json!(rsa_client)]);
}

async fn private_key_jwt_refusals(backend: Backend) {
    let server = TestServer::start(backend).await;
    let sa = server.create_service_account("signer@example.com").await;
    let key = OutsideKey::es256("k1");
    let client_id = key_client(
        &server,
        sa.id,
        json!({"name": "ec", "auth_method": "private_key_jwt", "jwks": {"keys": [key.jwk()]}}),
    )
    .await;
    let other_sa = server.create_service_account("other@example.com").await;
    let other_key = OutsideKey::es256("k2");
    let other_client = key_client(&server, other_sa.id, json!({"name": "other", "auth_method": "private_key_jwt", "jwks": {"keys": [other_key.jwk()]}})).await;
    let rsa = OutsideKey::rs256("k1");

    let used = key.sign(&assertion_claims(&server, &client_id, |_| {}));
    let (status, _, body) = jwt_grant(&server, &used, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let public_x = key.jwk()["x"].as_str().expect("x").to_owned();
    // (what, the assertion, extra form parameters)
    type Case<'a> = (&'a str, String, Vec<(&'a str, String)>);
    let cases: Vec<Case> = vec![
        (
            "the same assertion again (replayed jti)",
            used.clone(),
            vec![],
        ),
        (
            "signed by another client's key",
            other_key.sign_with_header(
                json!({"kid": "k1"}),
                &assertion_claims(&server, &client_id, |_| {}),
            ),
            vec![],
        ),
        (
            "another client's assertion for this client_id",
            other_key.sign(&assertion_claims(&server, &other_client, |_| {})),
            vec![("client_id", client_id.clone())],
        ),
        (
            "unknown kid",
            key.sign_with_header(
                json!({"kid": "k9"}),
                &assertion_claims(&server, &client_id, |_| {}),
            ),
            vec![],
        ),
        (
            "alg none",
            unsigned("k1", &assertion_claims(&server, &client_id, |_| {})),
            vec![],
        ),
        (
            "HS256 with the public key as secret",
            hs256(
                "k1",
                public_x.as_bytes(),
                &assertion_claims(&server, &client_id, |_| {}),
            ),
            vec![],
        ),
        (
            "RS256 header on an EC key",
            rsa.sign(&assertion_claims(&server, &client_id, |_| {})),
            vec![],
        ),
        (
            "wrong audience",
            key.sign(&assertion_claims(&server, &client_id, |c| {
                c["aud"] = json!("https://elsewhere.example/token")
            })),
            vec![],
        ),
        (
            "sub is not the client",
            key.sign(&assertion_claims(&server, &client_id, |c| {
                c["sub"] = json!(other_client.clone())
            })),
            vec![],
        ),
        (
            "expired",
            key.sign(&assertion_claims(&server, &client_id, |c| {
                c["exp"] = json!(now_secs() - 120)
            })),
            vec![],
        ),
        (
            "no exp",
            key.sign(&assertion_claims(&server, &client_id, |c| {
                c.as_object_mut().map(|m| m.remove("exp"));
            })),
            vec![],
        ),
        (
            "valid for a day",
            key.sign(&assertion_claims(&server, &client_id, |c| {
                c["exp"] = json!(now_secs() + 86_400)
            })),
            vec![],
        ),
        (
            "no jti",
            key.sign(&assertion_claims(&server, &client_id, |c| {
                c.as_object_mut().map(|m| m.remove("jti"));
            })),
            vec![],
        ),
        (
            "not yet valid",
            key.sign(&assertion_claims(&server, &client_id, |c| {
                c["nbf"] = json!(now_secs() + 600)
            })),
            vec![],
        ),
        ("not a JWT", "a.b.c".to_owned(), vec![]),
    ];
    for (label, assertion, extra) in cases {
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, headers, body) = jwt_grant(&server, &assertion, &extra).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{label}: {body}");
        assert_eq!(body["error"], "invalid_client", "{label}: {body}");
        assert!(headers.contains_key("www-authenticate"), "{label}");
    }
    // Malformed requests are invalid_request.
    let fresh = key.sign(&assertion_claims(&server, &client_id, |_| {}));
    let (status, _, body) = form_call(
        &server,
        "/oauth2/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            ),
            ("client_assertion", &fresh),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{body}"
    );
    let (status, _, body) = form_call(
        &server,
        "/oauth2/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &fresh),
            ("client_secret", "justiam_cs_x"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{body}"
    );
    // The fresh assertion was not used up by the malformed requests.
    let (status, _, body) = jwt_grant(&server, &fresh, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn a_token_cannot_mint_credentials_for_its_own_account(backend: Backend) {
    let server = TestServer::start(backend).await;
    let sa = server.create_service_account("minter@example.com").await;
    grant(&server, sa.id, &["service_accounts.tokens", "users.view"]).await;
    let other = server.create_service_account("other@example.com").await;
    let (client_id, secret, _) = secret_client(&server, sa.id).await;
    let token = access_token(&server, &client_id, &secret).await;
    let client = server.anonymous().with_token(&token);
    let mut answers = HashMap::new();
    for (label, path, body) in [
        (
            "client",
            format!("/api/v1/users/{}/clients", sa.id),
            json!({"name": "again"}),
        ),
        (
            "federated",
            format!("/api/v1/users/{}/federated-credentials", sa.id),
            json!({"name": "f", "issuer": "https://a.example", "audience": "a", "subject": "s"}),
        ),
        (
            "pat",
            format!("/api/v1/users/{}/tokens", sa.id),
            json!({"name": "t", "expires_in_days": 1}),
        ),
    ] {
        let answer = raw(&client, Method::POST, &path, Some(body)).await;
        answers.insert(label, answer.status);
        assert_error(&answer, 403, "interactive_auth_required", "");
    }
    assert_eq!(answers.len(), 3);
    // It may manage another service account's clients, with the permission.
    create_sa_client(&client, other.id, json!({"name": "for other"})).await;
}

/// Authlib's `OAuth2Session.fetch_token(grant_type="client_credentials")`, unmodified, with
/// `client_secret_basic`, `client_secret_post` and its `PrivateKeyJWT`; the token then works on
/// `GET /api/v1/me` as the service account, and Authlib's `revoke_token` (same authentication)
/// ends it.
async fn authlib_fetches_client_credentials_tokens_unmodified(backend: Backend) {
    use crate::relying_parties::{Runtime, Tools};
    let Some(tools) = Tools::find(&[Runtime::Python]) else {
        return;
    };
    let server = TestServer::start(backend).await;
    let issuer = server.iam().issuer().to_owned();
    let sa = server.create_service_account("authlib@example.com").await;
    let (client_id, secret, _) = secret_client(&server, sa.id).await;
    let key = OutsideKey::rs256("authlib");
    let key_client = key_client(
        &server,
        sa.id,
        json!({"name": "authlib key", "auth_method": "private_key_jwt", "public_key_pem": key.pem()}),
    )
    .await;
    for (method, id, env) in [
        (
            "client_secret_basic",
            &client_id,
            ("CLIENT_SECRET", secret.clone()),
        ),
        (
            "client_secret_post",
            &client_id,
            ("CLIENT_SECRET", secret.clone()),
        ),
        (
            "private_key_jwt",
            &key_client,
            ("CLIENT_PRIVATE_KEY", key.private_pem()),
        ),
    ] {
        let output = tools
            .command("authlib_client_credentials.py")
            .args([
                "--issuer",
                &issuer,
                "--api",
                &server.url,
                "--client-id",
                id,
                "--method",
                method,
            ])
            .env(env.0, env.1)
            .output()
            .await
            .expect("run the Authlib client");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{method}: {stderr}");
        let result: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
        assert_eq!(
            result["token"]["token_type"], "Bearer",
            "{method}: {result}"
        );
        assert_eq!(result["token"]["expires_in"], 600, "{method}");
        assert_eq!(
            result["me"]["id"],
            json!(sa.id.to_string()),
            "{method}: {result}"
        );
        assert_eq!(result["me"]["is_service_account"], true, "{method}");
        // Authlib's `revoke_token`, with the same client authentication, ends the token.
        assert_eq!(result["after_revocation"], 401, "{method}: {result}");
    }
    // Each authenticated as the method says.
    let audit = audit_actions(&server, "oauth.client_credentials").await;
    let methods: Vec<&str> = audit
        .iter()
        .map(|(_, _, d)| d["client_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        methods,
        [client_id.as_str(), client_id.as_str(), key_client.as_str()]
    );
}
