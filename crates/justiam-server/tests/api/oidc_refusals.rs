//! Every refusal of the OpenID Connect provider, sent as an attacker or a broken client would:
//! redirect URIs that only look registered are never redirected to; PKCE, codes and refresh
//! tokens are refused in every wrong use; restricted applications, service accounts and
//! application tokens at `/api/v1` are refused.

use justiam_core::authz::RequestMeta;
use justiam_types::UpdateUser;
use justiam_types::application::{ApplicationType, CreateApplicationGrant};
use reqwest::StatusCode;

use crate::common::*;
use crate::oidc::{ALICE, PASSWORD, sign_in_and_redeem, sign_in_with};
use crate::on_both_databases;

on_both_databases!(
    unknown_clients_and_look_alike_redirect_uris_get_a_page_never_a_redirect,
    request_errors_go_back_to_the_registered_uri_with_state,
    codes_are_single_use_bound_to_their_client_and_verifier,
    an_expired_code_is_refused,
    a_deactivated_users_refresh_token_fails_at_once,
    access_restricted_without_a_grant_is_access_denied_with_state,
    a_service_account_cannot_sign_in_on_the_login_page,
    application_tokens_are_refused_by_the_management_api,
    public_clients_use_pkce_without_a_secret,
);

async fn unknown_clients_and_look_alike_redirect_uris_get_a_page_never_a_redirect(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "victim", |_| {}).await;
    let (_, challenge) = pkce();
    let mut browser = Browser::new(&server);
    let mut attempts: Vec<(String, &str)> = vec![
        (
            authorize_query(
                &rp,
                &challenge,
                &[("client_id", "justiam_app_doesnotexist0000000000")],
            ),
            "No application",
        ),
        (
            authorize_query(&rp, &challenge, &[("client_id", "")]),
            "client_id",
        ),
        (
            authorize_query(&rp, &challenge, &[("redirect_uri", "")]),
            "redirect_uri",
        ),
    ];
    for look_alike in [
        "https://app.example.com.evil.test/cb",
        "https://app.example.com:8443/cb",
        "https://app.example.com/cb/more",
        "https://app.example.com/cbx",
        "https://attacker@app.example.com/cb",
        "https://app.example.com@evil.test/cb",
        "https://APP.example.com/cb",
        "https://app.example.com/CB",
        "http://app.example.com/cb",
        "https://app.example.com/cb?x=1",
        "https://app.example.com/cb#frag",
        "https://app.example.com/cb/",
        "https://app.example.com/%63b",
    ] {
        attempts.push((
            authorize_query(&rp, &challenge, &[("redirect_uri", look_alike)]),
            "not registered",
        ));
    }
    for (query, says) in attempts {
        // The same with or without someone signed in.
        let page = browser.get(&format!("/oauth2/authorize?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(page.location().is_none(), "never redirected: {query}");
        assert!(
            page.headers["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/html")
        );
        assert!(page.body.contains(says), "{query}: {}", page.body);
    }
    // A repeated parameter is ambiguous: a page too.
    let doubled = format!(
        "{}&redirect_uri=https%3A%2F%2Fevil.test%2F",
        authorize_query(&rp, &challenge, &[])
    );
    let page = browser.get(&format!("/oauth2/authorize?{doubled}")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.location().is_none());
}

fn error_of(page: &Page) -> (String, String, Option<String>, String) {
    let params = callback_params(page);
    (
        params.get("error").cloned().unwrap_or_default(),
        params.get("error_description").cloned().unwrap_or_default(),
        params.get("state").cloned(),
        params.get("iss").cloned().unwrap_or_default(),
    )
}

async fn request_errors_go_back_to_the_registered_uri_with_state(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "strict", |app| app.require_pkce = Some(true)).await;
    let (_, challenge) = pkce();
    let mut browser = Browser::new(&server);
    let cases: Vec<(Vec<(&str, &str)>, &str, &str)> = vec![
        (
            vec![("code_challenge_method", "plain")],
            "invalid_request",
            "plain is not accepted",
        ),
        (
            vec![("code_challenge_method", "")],
            "invalid_request",
            "S256",
        ),
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
            "requires PKCE",
        ),
        (
            vec![("code_challenge", "short")],
            "invalid_request",
            "43 to 128",
        ),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
            "response_type=code",
        ),
        (
            vec![("response_type", "")],
            "invalid_request",
            "response_type",
        ),
        (vec![("scope", "openid admin")], "invalid_scope", "admin"),
        (vec![("prompt", "none")], "login_required", "prompt=none"),
        (
            vec![("prompt", "none login")],
            "invalid_request",
            "prompt=none",
        ),
        (vec![("max_age", "soon")], "invalid_request", "max_age"),
        (
            vec![("request", "eyJ.x.y")],
            "request_not_supported",
            "request",
        ),
    ];
    for (extra, error, says) in cases {
        let page = browser
            .get(&format!(
                "/oauth2/authorize?{}",
                authorize_query(&rp, &challenge, &extra)
            ))
            .await;
        assert_eq!(page.status, StatusCode::FOUND, "{extra:?}");
        let (got, description, state, iss) = error_of(&page);
        assert_eq!(got, error, "{extra:?}");
        assert!(description.contains(says), "{extra:?}: {description}");
        assert_eq!(state.as_deref(), Some("state-123"), "{extra:?}");
        assert_eq!(iss, server.iam().issuer(), "{extra:?}");
    }
}

async fn codes_are_single_use_bound_to_their_client_and_verifier(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "first", |_| {}).await;
    let other = register(&server, "second", |_| {}).await;
    server.create_user(ALICE, PASSWORD).await;
    let mut browser = Browser::new(&server);
    let code_for = async |browser: &mut Browser| {
        let (verifier, challenge) = pkce();
        let back = browser
            .authorize(&authorize_query(&rp, &challenge, &[]), ALICE, PASSWORD)
            .await;
        (back["code"].clone(), verifier)
    };
    let secret = rp.secret.as_deref().expect("secret");
    let expect_grant_error =
        |(status, headers, body): (StatusCode, reqwest::header::HeaderMap, serde_json::Value),
         says: &str| {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["error"], "invalid_grant", "{body}");
            assert!(
                body["error_description"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(says),
                "{body}"
            );
            assert_eq!(headers["cache-control"], "no-store");
        };

    // A missing verifier, a wrong verifier: refused (and the code is spent).
    let (code, _) = code_for(&mut browser).await;
    expect_grant_error(
        token_call(
            &server,
            Some((&rp.app.client_id, secret)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await,
        "code_verifier is required",
    );
    let (code, verifier) = code_for(&mut browser).await;
    let (_, wrong) = pkce();
    let wrong = wrong + "AAAA";
    expect_grant_error(redeem(&server, &rp, &code, &wrong).await, "does not match");
    expect_grant_error(redeem(&server, &rp, &code, &verifier).await, "already used");

    // Another client's code.
    let (code, verifier) = code_for(&mut browser).await;
    expect_grant_error(
        redeem(&server, &other, &code, &verifier).await,
        "another client",
    );
    // A different redirect URI than the authorization request's.
    let (status, _, body) = token_call(
        &server,
        Some((&rp.app.client_id, secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example.com/other"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // A code used twice: the second use revokes what the first one issued.
    let (code, verifier) = code_for(&mut browser).await;
    let (status, _, tokens) = redeem(&server, &rp, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    expect_grant_error(redeem(&server, &rp, &code, &verifier).await, "already used");
    let (status, _, body) = refresh(
        &server,
        &rp,
        tokens["refresh_token"].as_str().expect("refresh"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );

    // A wrong secret, no secret for a confidential client, two methods at once.
    let (code, verifier) = code_for(&mut browser).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, headers, body) = token_call(
        &server,
        Some((&rp.app.client_id, "justiam_cs_wrong")),
        &form,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap_or_default()
            .starts_with("Basic")
    );
    let mut public = form.to_vec();
    public.push(("client_id", &rp.app.client_id));
    let (status, _, body) = token_call(&server, None, &public).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "a confidential client must authenticate"
    );
    let mut both = form.to_vec();
    both.push(("client_secret", secret));
    let (status, _, body) = token_call(&server, Some((&rp.app.client_id, secret)), &both).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    // client_secret_post works.
    let mut post = form.to_vec();
    post.push(("client_id", &rp.app.client_id));
    post.push(("client_secret", secret));
    let (status, _, body) = token_call(&server, None, &post).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Unsupported grant types and JSON bodies.
    let (status, _, body) = token_call(
        &server,
        Some((&rp.app.client_id, secret)),
        &[
            ("grant_type", "password"),
            ("username", ALICE),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/token", server.url))
        .basic_auth(&rp.app.client_id, Some(secret))
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .expect("json");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn an_expired_code_is_refused(backend: Backend) {
    let server = TestServer::start_with(backend, |args| args.oauth_code_ttl_seconds = 1).await;
    let rp = register(&server, "slow", |_| {}).await;
    server.create_user(ALICE, PASSWORD).await;
    let mut browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let back = browser
        .authorize(&authorize_query(&rp, &challenge, &[]), ALICE, PASSWORD)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _, body) = redeem(&server, &rp, &back["code"], &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("expired")
    );
}

async fn a_deactivated_users_refresh_token_fails_at_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "app", |_| {}).await;
    let alice = server.create_user(ALICE, PASSWORD).await;
    let tokens = sign_in_and_redeem(&server, &rp, ALICE).await;
    let access = tokens["access_token"].as_str().expect("access");
    server
        .admin()
        .await
        .update_user(
            alice.id,
            &UpdateUser {
                is_active: Some(false),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("deactivate");
    let (status, _, body) = refresh(
        &server,
        &rp,
        tokens["refresh_token"].as_str().expect("refresh"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    let (status, _, _) = userinfo(&server, access).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "nor does userinfo answer for them"
    );
}

async fn access_restricted_without_a_grant_is_access_denied_with_state(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "payroll", |app| {
        app.access_restricted = Some(true);
        app.friendly_name = Some("Payroll".to_owned());
    })
    .await;
    let alice = server.create_user(ALICE, PASSWORD).await;
    let mut browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let query = authorize_query(&rp, &challenge, &[]);
    let page = browser.get(&format!("/oauth2/authorize?{query}")).await;
    let login = browser.follow(page).await;
    let page = browser.sign_in(&login, ALICE, PASSWORD).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(
        page.body.contains("You cannot sign in to Payroll"),
        "{}",
        page.body
    );
    let link = hidden_link(&page.body);
    let (base, query_back) = link.split_once('?').expect("query");
    assert_eq!(base, CALLBACK);
    let back: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(query_back).expect("query");
    assert_eq!(back["error"], "access_denied");
    assert_eq!(back["state"], "state-123");
    // With prompt=none there is no page: straight back with access_denied.
    let page = browser
        .get(&format!(
            "/oauth2/authorize?{}",
            authorize_query(&rp, &challenge, &[("prompt", "none")])
        ))
        .await;
    assert_eq!(error_of(&page).0, "access_denied");

    // Granted: the same browser gets a code.
    let principal = admin_principal(&server).await;
    server
        .iam()
        .add_application_grant(
            &principal,
            rp.app.id,
            CreateApplicationGrant {
                user_id: Some(alice.id),
                group_id: None,
            },
            &RequestMeta::default(),
        )
        .await
        .expect("grant");
    let page = browser.get(&format!("/oauth2/authorize?{query}")).await;
    let code = callback_params(&page)["code"].clone();
    let (status, _, tokens) = redeem(&server, &rp, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

/// The `href` of the "Return to …" link of the access-denied page.
fn hidden_link(html: &str) -> String {
    let marker = "id=\"return-to-application\" href=\"";
    let start = html.find(marker).expect("link") + marker.len();
    let end = html[start..].find('"').expect("quote") + start;
    unescape(&html[start..end])
}

async fn a_service_account_cannot_sign_in_on_the_login_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "app", |_| {}).await;
    let robot = server.create_service_account("robot@example.com").await;
    // Even with a password hash planted behind the API's back.
    let hash = bcrypt::hash(PASSWORD, 4).expect("hash");
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(robot.id.to_string())
        .execute(server.pool())
        .await
        .expect("plant");
    server.after_direct_sql();
    let mut browser = Browser::new(&server);
    let (_, challenge) = pkce();
    let page = browser
        .get(&format!(
            "/oauth2/authorize?{}",
            authorize_query(&rp, &challenge, &[])
        ))
        .await;
    let login = browser.follow(page).await;
    let page = browser.sign_in(&login, "robot@example.com", PASSWORD).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    assert!(page.body.contains("not right"));
    assert!(!browser.cookies.contains_key("idp_sid"), "no SSO session");
}

async fn application_tokens_are_refused_by_the_management_api(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "app", |_| {}).await;
    // The admin signs in to the application: the token still is no admin token.
    let tokens = sign_in_with(&server, &rp, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for token in [tokens["access_token"].as_str(), tokens["id_token"].as_str()] {
        let token = token.expect("token");
        let client = server.anonymous().with_token(token.to_owned());
        let me = client
            .raw(reqwest::Method::GET, "/api/v1/me", None)
            .await
            .expect("me");
        assert_invalid_token(&me);
        let users = client
            .raw(reqwest::Method::GET, "/api/v1/users", None)
            .await
            .expect("users");
        assert_eq!(users.status, 401);
    }
    // Tokens are never alg=none nor HS256, and a forged alg=none one is refused at userinfo.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let access = tokens["access_token"].as_str().expect("access");
    let payload = access.split('.').nth(1).expect("payload");
    for alg in ["none", "HS256"] {
        let header = b64.encode(format!(r#"{{"alg":"{alg}","typ":"at+jwt"}}"#));
        let forged = format!("{header}.{payload}.");
        let (status, _, _) = userinfo(&server, &forged).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{alg}");
    }
    for token in [access, tokens["id_token"].as_str().expect("id")] {
        let header: serde_json::Value = serde_json::from_slice(
            &b64.decode(token.split('.').next().expect("header"))
                .expect("b64"),
        )
        .expect("json");
        assert_eq!(header["alg"], "RS256");
    }
}

async fn public_clients_use_pkce_without_a_secret(backend: Backend) {
    let server = TestServer::start(backend).await;
    let spa = register(&server, "spa", |app| {
        app.app_type = Some(ApplicationType::Spa);
        app.grant_types = Some(vec![
            "authorization_code".to_owned(),
            "refresh_token".to_owned(),
        ]);
    })
    .await;
    assert!(spa.secret.is_none());
    server.create_user(ALICE, PASSWORD).await;
    let mut browser = Browser::new(&server);
    // PKCE is forced for an SPA.
    let page = browser
        .get(&format!(
            "/oauth2/authorize?{}",
            authorize_query(
                &spa,
                "",
                &[("code_challenge", ""), ("code_challenge_method", "")]
            )
        ))
        .await;
    assert_eq!(error_of(&page).0, "invalid_request");
    let (verifier, challenge) = pkce();
    let back = browser
        .authorize(&authorize_query(&spa, &challenge, &[]), ALICE, PASSWORD)
        .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", back["code"].as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", verifier.as_str()),
        ("client_id", spa.app.client_id.as_str()),
    ];
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/token", server.url))
        .header("origin", "https://app.example.com")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).expect("form"))
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let tokens: serde_json::Value = response.json().await.expect("json");
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh");
    let (status, _, body) = token_call(
        &server,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", &spa.app.client_id),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A preflight for userinfo from the SPA's origin.
    let preflight = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/oauth2/userinfo", server.url),
        )
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap_or_default()
            .contains("Authorization")
    );
}
