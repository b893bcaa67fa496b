//! The OpenID Connect provider driven as a browser and a relying party would: discovery, the
//! code flow through the login page, tokens verified against the JWKS, userinfo, refresh
//! rotation, SSO, logout, introspection, revocation, "applications you signed in to", and key
//! rotation. The refusals are in `oidc_refusals`.

use justiam_core::authz::RequestMeta;
use justiam_core::model::MappingHolder;
use justiam_types::application::{ClaimMapping, CreateAppMapping};
use justiam_types::{CreateGroup, UpdateUser};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::*;
use crate::on_both_databases;

pub const ALICE: &str = "alice@example.com";
pub const PASSWORD: &str = "user-password-1";

on_both_databases!(
    discovery_and_jwks_describe_the_provider,
    code_flow_signs_in_through_the_login_page_and_tokens_verify,
    refresh_tokens_rotate_and_a_reused_one_revokes_the_family,
    a_second_application_signs_in_without_the_password_then_logout_ends_it,
    introspection_and_revocation_answer_the_client_about_its_own_tokens,
    signed_in_applications_are_listed_and_revoked,
    a_token_signed_before_keys_rotate_still_verifies_and_new_ones_carry_the_new_kid,
    logout_without_a_hint_asks_the_user_first,
    userinfo_answers_from_memory_but_never_after_a_change,
);

/// Signs `email` (with [`PASSWORD`]) in to `rp` and redeems the code: the token answer.
pub async fn sign_in_and_redeem(server: &TestServer, rp: &Rp, email: &str) -> Value {
    sign_in_with(server, rp, email, PASSWORD).await
}

pub async fn sign_in_with(server: &TestServer, rp: &Rp, email: &str, password: &str) -> Value {
    let mut browser = Browser::new(server);
    let (verifier, challenge) = pkce();
    let back = browser
        .authorize(&authorize_query(rp, &challenge, &[]), email, password)
        .await;
    let code = back.get("code").expect("code");
    let (status, _, tokens) = redeem(server, rp, code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

async fn discovery_and_jwks_describe_the_provider(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.oidc_issuer = Some("https://id.example.com".to_owned());
    })
    .await;
    let response = reqwest::get(format!("{}/.well-known/openid-configuration", server.url))
        .await
        .expect("discovery");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "*",
        "an SPA reads discovery"
    );
    let doc: Value = response.json().await.expect("json");
    assert_eq!(doc["issuer"], "https://id.example.com");
    assert_eq!(
        doc["authorization_endpoint"],
        "https://id.example.com/oauth2/authorize"
    );
    assert_eq!(doc["token_endpoint"], "https://id.example.com/oauth2/token");
    assert_eq!(
        doc["jwks_uri"],
        "https://id.example.com/.well-known/jwks.json"
    );
    assert_eq!(
        doc["end_session_endpoint"],
        "https://id.example.com/oauth2/logout"
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );

    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", server.url))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let keys = jwks["keys"].as_array().expect("keys");
    // One RSA key (ID tokens, applications' access tokens) and one P-256 key (service accounts'
    // access tokens, issue 16).
    assert_eq!(keys.len(), 2, "{jwks}");
    let ec = keys.iter().find(|k| k["kty"] == "EC").expect("an EC key");
    assert_eq!(
        keys_of(ec),
        set(&["kty", "use", "alg", "kid", "crv", "x", "y"]),
        "no private member is published: {ec}"
    );
    assert_eq!(
        (&ec["crv"], &ec["alg"]),
        (&Value::from("P-256"), &Value::from("ES256"))
    );
    let key = keys.iter().find(|k| k["kty"] == "RSA").expect("an RSA key");
    assert_eq!(
        keys_of(key),
        set(&["kty", "use", "alg", "kid", "n", "e"]),
        "no private member is published: {key}"
    );
    assert_eq!(
        (&key["kty"], &key["use"], &key["alg"]),
        (
            &Value::from("RSA"),
            &Value::from("sig"),
            &Value::from("RS256")
        )
    );
    // 2048-bit modulus: 256 bytes, 342 base64url characters.
    assert_eq!(key["n"].as_str().map(str::len), Some(342));

    // The key survives a restart: a second node on the same database publishes the same one.
    let other = server.another_node(|_| {}).await;
    let again: Value = reqwest::get(format!("{}/.well-known/jwks.json", other.url))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert_eq!(again, jwks);
}

fn keys_of(value: &Value) -> std::collections::BTreeSet<String> {
    keys(value)
}

/// Alice, in group `engineers`, which holds the app mapping `tier=gold` of `rp`: Alice, the
/// group's id and the mapping's id.
async fn alice_with_group_and_mapping(
    server: &TestServer,
    rp: &Rp,
) -> (justiam_types::User, uuid::Uuid, uuid::Uuid) {
    let alice = server.create_user(ALICE, PASSWORD).await;
    let admin = server.admin().await;
    admin
        .update_user(
            alice.id,
            &UpdateUser {
                first_name: Some("Alice".to_owned()),
                last_name: Some("Liddell".to_owned()),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("names");
    let group = admin
        .create_group(&CreateGroup {
            name: "engineers".to_owned(),
            description: None,
        })
        .await
        .expect("group");
    admin
        .add_group_member(group.id, alice.id)
        .await
        .expect("member");
    let principal = admin_principal(server).await;
    let meta = RequestMeta::default();
    let mapping = server
        .iam()
        .create_app_mapping(
            &principal,
            CreateAppMapping {
                application_id: rp.app.id,
                variable_name: "tier".to_owned(),
                value: "gold".to_owned(),
                description: None,
            },
            &meta,
        )
        .await
        .expect("mapping");
    server
        .iam()
        .set_app_mapping_assignment(
            &principal,
            MappingHolder::Group(group.id),
            mapping.id,
            true,
            &meta,
        )
        .await
        .expect("assign");
    (alice, group.id, mapping.id)
}

async fn code_flow_signs_in_through_the_login_page_and_tokens_verify(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "grafana", |app| {
        app.claim_mappings = Some(vec![
            ClaimMapping {
                claim: "tier".to_owned(),
                value: "${tier}".to_owned(),
                required_scope: None,
            },
            ClaimMapping {
                claim: "org".to_owned(),
                value: "acme".to_owned(),
                required_scope: Some("profile".to_owned()),
            },
        ]);
    })
    .await;
    let (alice, _, _) = alice_with_group_and_mapping(&server, &rp).await;

    // The browser: authorize → login page → sign in → back at authorize → the callback.
    let mut browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let first = browser
        .get(&format!(
            "/oauth2/authorize?{}",
            authorize_query(&rp, &challenge, &[("login_hint", ALICE)])
        ))
        .await;
    assert_eq!(first.status, StatusCode::FOUND);
    let to_login = first.location().expect("to the login page");
    assert!(
        to_login.starts_with("/ui/login?next=%2Foauth2%2Fauthorize%3F"),
        "{to_login}"
    );
    let login = browser.get(&to_login).await;
    assert!(
        login.body.contains(&format!("value=\"{ALICE}\""))
            || login.body.contains("alice@example.com"),
        "login_hint fills in the email"
    );
    let csp = login.headers["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(
        csp.contains("form-action 'self' https://app.example.com;"),
        "{csp}"
    );
    let back = browser.sign_in(&login, ALICE, PASSWORD).await;
    let sso = browser
        .cookies
        .get("idp_sid")
        .cloned()
        .expect("the SSO cookie is set");
    assert!(sso.starts_with("justiam_sso_"));
    let set_cookies: Vec<String> = back
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect();
    let params = callback_params(&back);
    assert_eq!(params.get("state").map(String::as_str), Some("state-123"));
    assert_eq!(
        params.get("iss").map(String::as_str),
        Some(server.iam().issuer())
    );
    let code = params.get("code").expect("code").clone();
    drop(set_cookies);

    // The relying party redeems the code.
    let (status, headers, tokens) = redeem(&server, &rp, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "openid profile email groups roles");
    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    assert!(refresh.starts_with("justiam_rt_"));

    // The ID token: RS256 with a kid of the JWKS, never none or HS256.
    let id_token = tokens["id_token"].as_str().expect("id token");
    let (header, claims) = verify_with_jwks(&server, id_token).await;
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert!(header["kid"].is_string());
    assert_eq!(claims["iss"], server.iam().issuer());
    assert_eq!(claims["sub"], alice.id.to_string());
    assert_eq!(claims["aud"], rp.app.client_id.as_str());
    assert_eq!(claims["azp"], rp.app.client_id.as_str());
    assert_eq!(claims["nonce"], "nonce-456");
    assert!(claims["sid"].is_string());
    let now = chrono::Utc::now().timestamp();
    let exp = claims["exp"].as_i64().expect("exp");
    let iat = claims["iat"].as_i64().expect("iat");
    assert!((iat - now).abs() < 30 && exp - iat == 3600, "{claims}");
    assert!(claims["auth_time"].as_i64().is_some_and(|t| t <= now + 1));
    // RFC 8176: signed in with the password alone (tests/api/ui/mfa.rs has the second factor).
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["email"], ALICE);
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Alice Liddell");
    assert_eq!(claims["given_name"], "Alice");
    assert_eq!(claims["family_name"], "Liddell");
    assert_eq!(claims["preferred_username"], alice.username.as_str());
    assert_eq!(claims["groups"], serde_json::json!(["engineers"]));
    assert_eq!(claims["roles"], serde_json::json!(["gold"]));
    assert_eq!(claims["tier"], "gold");
    assert_eq!(claims["org"], "acme");
    // at_hash: the left half of SHA-256 of the access token.
    let access = tokens["access_token"].as_str().expect("access token");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access.as_bytes());
    use base64::Engine;
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16]);
    assert_eq!(claims["at_hash"], expected.as_str());
    let (access_header, access_claims) = verify_with_jwks(&server, access).await;
    assert_eq!(access_header["alg"], "RS256");
    assert_eq!(access_header["typ"], "at+jwt");
    assert_eq!(access_claims["aud"], rp.app.client_id.as_str());

    // Userinfo: the same claims.
    let (status, headers, info) = userinfo(&server, access).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(headers["cache-control"], "no-store");
    for claim in [
        "sub",
        "email",
        "email_verified",
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "groups",
        "roles",
        "tier",
        "org",
    ] {
        assert_eq!(info[claim], claims[claim], "{claim}");
    }
    // An ID token is not an access token.
    let (status, headers, _) = userinfo(&server, id_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap_or_default()
            .contains("error=\"invalid_token\"")
    );

    // The audit says who signed in where.
    let audit = server
        .admin()
        .await
        .raw(
            reqwest::Method::GET,
            "/api/v1/audit?action=oauth.login",
            None,
        )
        .await
        .expect("audit");
    assert_eq!(audit.status, 200);
    let entry = &audit.json["data"][0];
    assert_eq!(entry["action"], "oauth.login", "{}", audit.json);
    assert_eq!(entry["target_id"], rp.app.id.to_string());
    assert_eq!(entry["actor_id"], alice.id.to_string());
}

async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "rotating", |_| {}).await;
    server.create_user(ALICE, PASSWORD).await;
    let tokens = sign_in_and_redeem(&server, &rp, ALICE).await;
    let first = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();

    let (status, headers, renewed) = refresh(&server, &rp, &first).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_eq!(headers["cache-control"], "no-store");
    let second = renewed["refresh_token"]
        .as_str()
        .expect("a new refresh token")
        .to_owned();
    assert_ne!(second, first, "rotated at every use");
    let (_, id_claims) =
        verify_with_jwks(&server, renewed["id_token"].as_str().expect("id token")).await;
    assert!(id_claims.get("nonce").is_none(), "no nonce on refresh");

    // The first one again: refused, and the whole family with it.
    let (status, _, body) = refresh(&server, &rp, &first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let (status, _, body) = refresh(&server, &rp, &second).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"], "invalid_grant",
        "the family is revoked: {body}"
    );
}

async fn a_second_application_signs_in_without_the_password_then_logout_ends_it(backend: Backend) {
    let server = TestServer::start(backend).await;
    let first = register(&server, "first", |_| {}).await;
    let second = register(&server, "second", |_| {}).await;
    let alice = server.create_user(ALICE, PASSWORD).await;
    let mut browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let back = browser
        .authorize(&authorize_query(&first, &challenge, &[]), ALICE, PASSWORD)
        .await;
    let (_, _, tokens) = redeem(&server, &first, &back["code"], &verifier).await;
    let id_token = tokens["id_token"].as_str().expect("id token").to_owned();

    // The second application: straight back with a code, no login page.
    let (verifier2, challenge2) = pkce();
    let page = browser
        .get(&format!(
            "/oauth2/authorize?{}",
            authorize_query(&second, &challenge2, &[("prompt", "none")])
        ))
        .await;
    let back = callback_params(&page);
    let (status, _, tokens2) = redeem(&server, &second, &back["code"], &verifier2).await;
    assert_eq!(status, StatusCode::OK, "{tokens2}");

    // prompt=login asks again even with a session.
    let (_, challenge3) = pkce();
    let page = browser
        .get(&format!(
            "/oauth2/authorize?{}",
            authorize_query(&second, &challenge3, &[("prompt", "login")])
        ))
        .await;
    assert!(
        page.location().is_some_and(|l| l.starts_with("/ui/login?")),
        "{:?}",
        page.location()
    );

    // The SSO session is listed with its kind.
    let sessions = server
        .admin()
        .await
        .raw(
            reqwest::Method::GET,
            &format!("/api/v1/sessions?user_id={}", alice.id),
            None,
        )
        .await
        .expect("sessions");
    let kinds: Vec<&str> = sessions.json["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|s| s["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"sso") && kinds.contains(&"portal"),
        "{}",
        sessions.json
    );

    // RP-initiated logout: to the registered URI with state; the session is over.
    let query = serde_urlencoded::to_string([
        ("id_token_hint", id_token.as_str()),
        ("post_logout_redirect_uri", "https://app.example.com/bye"),
        ("state", "bye-state"),
    ])
    .expect("query");
    let page = browser.get(&format!("/oauth2/logout?{query}")).await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(
        page.location().as_deref(),
        Some("https://app.example.com/bye?state=bye-state")
    );
    assert!(
        !browser.cookies.contains_key("idp_sid"),
        "the cookie is cleared"
    );
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh");
    let (status, _, body) = refresh(&server, &first, refresh_token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "logout ends the sign-in's refresh tokens"
    );

    // An unregistered post-logout URI gets a page, never a redirect.
    let query = serde_urlencoded::to_string([
        ("id_token_hint", id_token.as_str()),
        ("post_logout_redirect_uri", "https://evil.example.net/"),
    ])
    .expect("query");
    let page = browser.get(&format!("/oauth2/logout?{query}")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.location().is_none());
    assert!(page.body.contains("not registered"), "{}", page.body);
}

async fn introspection_and_revocation_answer_the_client_about_its_own_tokens(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "api-gateway", |_| {}).await;
    let other = register(&server, "other", |_| {}).await;
    server.create_user(ALICE, PASSWORD).await;
    let tokens = sign_in_and_redeem(&server, &rp, ALICE).await;
    let access = tokens["access_token"].as_str().expect("access");
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh");
    let own = (
        rp.app.client_id.as_str(),
        rp.secret.as_deref().expect("secret"),
    );
    let others = (
        other.app.client_id.as_str(),
        other.secret.as_deref().expect("secret"),
    );

    let (status, headers, body) = form_call(
        &server,
        "/oauth2/introspect",
        Some(own),
        &[("token", access)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], rp.app.client_id.as_str());
    assert_eq!(body["scope"], "openid profile email groups roles");
    let (_, _, body) = form_call(
        &server,
        "/oauth2/introspect",
        Some(own),
        &[
            ("token", refresh_token),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["token_type"], "refresh_token");
    // Another client learns nothing about them.
    for token in [access, refresh_token, "garbage"] {
        let (status, _, body) = form_call(
            &server,
            "/oauth2/introspect",
            Some(others),
            &[("token", token)],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, serde_json::json!({ "active": false }));
    }
    // A wrong secret is invalid_client with a Basic challenge.
    let (status, headers, body) = form_call(
        &server,
        "/oauth2/introspect",
        Some((own.0, "justiam_cs_wrong")),
        &[("token", access)],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap_or_default()
            .starts_with("Basic")
    );
    // A PAT is answered too (a resource server may accept them).
    let admin = server.admin().await;
    let pat = create_token(&admin, None, "introspected", None).await;
    let (_, _, body) = form_call(
        &server,
        "/oauth2/introspect",
        Some(own),
        &[("token", &pat.token)],
    )
    .await;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["token_type"], "justiam_pat");

    // Revocation: another client's attempt changes nothing; the owner's ends the family.
    let (status, _, _) = form_call(
        &server,
        "/oauth2/revoke",
        Some(others),
        &[("token", refresh_token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, body) = form_call(
        &server,
        "/oauth2/introspect",
        Some(own),
        &[("token", refresh_token)],
    )
    .await;
    assert_eq!(body["active"], true);
    let (status, _, _) = form_call(
        &server,
        "/oauth2/revoke",
        Some(own),
        &[("token", refresh_token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, body) = form_call(
        &server,
        "/oauth2/introspect",
        Some(own),
        &[("token", refresh_token)],
    )
    .await;
    assert_eq!(body, serde_json::json!({ "active": false }));
    let (status, _, body) = refresh(&server, &rp, refresh_token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // An unknown token is not an error (RFC 7009 §2.2).
    let (status, _, _) = form_call(
        &server,
        "/oauth2/revoke",
        Some(own),
        &[("token", "justiam_rt_nothing")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn signed_in_applications_are_listed_and_revoked(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "wiki", |app| {
        app.friendly_name = Some("The Wiki".to_owned())
    })
    .await;
    server.create_user(ALICE, PASSWORD).await;
    let tokens = sign_in_and_redeem(&server, &rp, ALICE).await;
    let alice = server.login(ALICE, PASSWORD).await;
    let listed = alice
        .raw(reqwest::Method::GET, "/api/v1/me/applications", None)
        .await
        .expect("list");
    assert_eq!(listed.status, 200, "{}", listed.json);
    assert_eq!(listed.json["total"], 1);
    let entry = &listed.json["data"][0];
    assert_eq!(entry["application_id"], rp.app.id.to_string());
    assert_eq!(entry["friendly_name"], "The Wiki");
    assert_eq!(entry["active_refresh_tokens"], 1);
    assert_eq!(
        entry["scopes"],
        serde_json::json!(["openid", "profile", "email", "groups", "roles"])
    );

    let revoked = alice
        .raw(
            reqwest::Method::DELETE,
            &format!("/api/v1/me/applications/{}", rp.app.id),
            None,
        )
        .await
        .expect("revoke");
    assert_eq!(revoked.status, 204);
    let (status, _, body) = refresh(
        &server,
        &rp,
        tokens["refresh_token"].as_str().expect("refresh"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let listed = alice
        .raw(reqwest::Method::GET, "/api/v1/me/applications", None)
        .await
        .expect("list");
    assert_eq!(listed.json["total"], 0);
    let again = alice
        .raw(
            reqwest::Method::DELETE,
            &format!("/api/v1/me/applications/{}", rp.app.id),
            None,
        )
        .await
        .expect("revoke");
    assert_error(&again, 404, "not_found", "signed-in application");
    let audit = server
        .admin()
        .await
        .raw(
            reqwest::Method::GET,
            "/api/v1/audit?action=oauth.authorization_revoked",
            None,
        )
        .await
        .expect("audit");
    assert_eq!(audit.json["total"], 1, "{}", audit.json);
}

async fn a_token_signed_before_keys_rotate_still_verifies_and_new_ones_carry_the_new_kid(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "rotation", |_| {}).await;
    server.create_user(ALICE, PASSWORD).await;
    let before = sign_in_and_redeem(&server, &rp, ALICE).await;
    let old_id_token = before["id_token"].as_str().expect("id token").to_owned();
    let (old_header, _) = verify_with_jwks(&server, &old_id_token).await;

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_justiam"))
        .args(["keys", "rotate"])
        .env("DATABASE_URL", &server.database_url)
        .output()
        .await
        .expect("justiam keys rotate");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("The active signing key is now"), "{said}");
    // The running server re-reads its keys within 30 s; the test does not wait for it.
    server.iam().reload_keys().await.expect("reload");

    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", server.url))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    // The new RSA and P-256 keys, and the previous two until their tokens have expired.
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(4), "{jwks}");
    verify_against(&jwks, &old_id_token).expect("the old token still verifies");
    let (status, _, _) = userinfo(&server, before["access_token"].as_str().expect("access")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an access token of the old key still works"
    );

    let after = sign_in_and_redeem(&server, &rp, ALICE).await;
    let (new_header, _) =
        verify_with_jwks(&server, after["id_token"].as_str().expect("id token")).await;
    assert_ne!(
        new_header["kid"], old_header["kid"],
        "new tokens carry the new kid"
    );
    let audit = server
        .admin()
        .await
        .raw(
            reqwest::Method::GET,
            "/api/v1/audit?action=signing_key.rotated",
            None,
        )
        .await
        .expect("audit");
    assert_eq!(audit.json["total"], 1, "{}", audit.json);
}

async fn logout_without_a_hint_asks_the_user_first(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "app", |_| {}).await;
    server.create_user(ALICE, PASSWORD).await;
    let mut browser = Browser::new(&server);
    let (_, challenge) = pkce();
    browser
        .authorize(&authorize_query(&rp, &challenge, &[]), ALICE, PASSWORD)
        .await;
    let query = serde_urlencoded::to_string([
        ("client_id", rp.app.client_id.as_str()),
        ("post_logout_redirect_uri", "https://app.example.com/bye"),
        ("state", "s1"),
    ])
    .expect("query");
    let page = browser.get(&format!("/oauth2/logout?{query}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Sign out of JustIAM?"));
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(
        csp.contains("form-action 'self' https://app.example.com;"),
        "{csp}"
    );
    // Nothing ended yet: the application still signs in silently.
    let still = browser
        .get(&format!(
            "/oauth2/authorize?{}",
            authorize_query(&rp, &challenge, &[("prompt", "none")])
        ))
        .await;
    assert!(callback_params(&still).contains_key("code"));

    // A forged confirmation (a cross-site form cannot know the token) ends nothing.
    let forged = browser
        .post_form(
            "/oauth2/logout",
            &[("client_id", &rp.app.client_id), ("confirm", "0000")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::OK, "asked again");
    let confirm = hidden(&page.body, "confirm");
    let done = browser
        .post_form(
            "/oauth2/logout",
            &[
                ("client_id", &rp.app.client_id),
                ("post_logout_redirect_uri", "https://app.example.com/bye"),
                ("state", "s1"),
                ("confirm", &confirm),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::FOUND);
    assert_eq!(
        done.location().as_deref(),
        Some("https://app.example.com/bye?state=s1")
    );
    let after = browser
        .get(&format!(
            "/oauth2/authorize?{}",
            authorize_query(&rp, &challenge, &[("prompt", "none")])
        ))
        .await;
    assert_eq!(
        callback_params(&after).get("error").map(String::as_str),
        Some("login_required")
    );
}

/// Userinfo answers are kept in memory until the token expires; every change to what they say
/// (the user, a group's name, a mapping, the application's access) shows at the next call.
async fn userinfo_answers_from_memory_but_never_after_a_change(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "cached", |app| {
        app.claim_mappings = Some(vec![ClaimMapping {
            claim: "tier".to_owned(),
            value: "${tier}".to_owned(),
            required_scope: None,
        }]);
    })
    .await;
    let (alice, group_id, mapping_id) = alice_with_group_and_mapping(&server, &rp).await;
    let tokens = sign_in_and_redeem(&server, &rp, ALICE).await;
    let access = tokens["access_token"].as_str().expect("access token");
    let admin = server.admin().await;
    let info = || async {
        let (status, _, info) = userinfo(&server, access).await;
        assert_eq!(status, StatusCode::OK, "{info}");
        info
    };
    let first = info().await;
    assert_eq!(first["groups"], serde_json::json!(["engineers"]));
    let key = justiam_core::service::cache::CacheKey::Userinfo(justiam_core::token::digest(access));
    let now = justiam_core::time::now_millis();
    assert!(server.iam().cache.holds(&key, now), "the answer is cached");
    assert_eq!(info().await, first, "answered again from memory");

    admin
        .update_group(
            group_id,
            &justiam_types::UpdateGroup {
                name: Some("platform".to_owned()),
                description: None,
            },
        )
        .await
        .expect("rename group");
    assert_eq!(info().await["groups"], serde_json::json!(["platform"]));

    admin
        .update_user(
            alice.id,
            &UpdateUser {
                first_name: Some("Alicia".to_owned()),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("rename user");
    assert_eq!(info().await["name"], "Alicia Liddell");

    admin
        .update_app_mapping(
            mapping_id,
            &justiam_types::application::UpdateAppMapping {
                value: Some("platinum".to_owned()),
                ..Default::default()
            },
        )
        .await
        .expect("mapping value");
    let now_info = info().await;
    assert_eq!(now_info["roles"], serde_json::json!(["platinum"]));
    assert_eq!(now_info["tier"], "platinum");

    // Access restricted, and Alice holds no grant: the token answers nothing any more.
    admin
        .update_application(
            rp.app.id,
            &justiam_types::application::UpdateApplication {
                access_restricted: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("restrict");
    let (status, headers, _) = userinfo(&server, access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .expect("header")
            .contains("invalid_token")
    );
}
