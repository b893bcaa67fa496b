//! Login, logout, `/me`, password change, throttling, bcrypt upgrade and credential refusals.

use justiam_client::Client;
use justiam_core::jwt::{Claims, JwtSigner};
use justiam_core::model::Permission;
use justiam_core::time::now_millis;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Row;
use uuid::Uuid;

use crate::common::*;

async fn login_raw(
    server: &TestServer,
    email: &str,
    password: &str,
) -> justiam_client::RawResponse {
    raw(
        &server.anonymous(),
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({ "email": email, "password": password })),
    )
    .await
}

async fn stored_hash(server: &TestServer, email: &str) -> Option<String> {
    sqlx::query("SELECT password_hash FROM users WHERE email_lower = $1")
        .bind(email.to_lowercase())
        .fetch_one(server.pool())
        .await
        .expect("read the user row")
        .try_get("password_hash")
        .expect("password_hash")
}

/// Inserts a user row by hand, as JustIAM's documentation tells operators to.
async fn insert_user_row(
    server: &TestServer,
    email: &str,
    password_hash: Option<&str>,
    is_service_account: bool,
) -> Uuid {
    let id = Uuid::now_v7();
    let now = now_millis();
    let username = email.split('@').next().expect("local part").to_owned();
    sqlx::query(
        "INSERT INTO users (id, email, email_lower, username, first_name, last_name, password_hash, \
         is_active, is_admin, is_service_account, auth_source, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, '', '', $5, $6, $7, $8, 'internal', $9, $9)",
    )
    .bind(id.to_string())
    .bind(email)
    .bind(email.to_lowercase())
    .bind(username)
    .bind(password_hash)
    .bind(true)
    .bind(false)
    .bind(is_service_account)
    .bind(now)
    .execute(server.pool())
    .await
    .expect("insert a user row");
    server.after_direct_sql();
    id
}

fn is_rfc3339_utc(value: &Value) -> bool {
    crate::conventions::is_rfc3339_z(value.as_str().unwrap_or_default())
}

// --- login --------------------------------------------------------------------------------------

async fn login_answers_token_expiry_and_user(backend: Backend) {
    let server = TestServer::start(backend).await;
    let before = now_millis() / 1000;
    let response = login_raw(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(response.status.as_u16(), 200, "body {}", response.json);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = &response.json;
    let token = body["token"].as_str().expect("token is a string");
    assert_eq!(token.split('.').count(), 3, "a JWT");
    assert!(is_rfc3339_utc(&body["expires_at"]), "expires_at {body}");
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    assert_eq!(body["user"]["is_admin"], true);
    assert_eq!(body["user"]["username"], "admin");
    assert!(body["user"].get("password_hash").is_none());
    let object = body.as_object().expect("object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["expires_at", "token", "user"]);

    // The claims: sub, sid, iat, exp (24 h by default), iss.
    let signer = JwtSigner::new(
        b"test-secret-test-secret-test-secret-0123",
        server.iam().jwt.issuer(),
    );
    let claims = signer
        .verify(token, before)
        .expect("signed with JWT_SECRET");
    assert_eq!(claims.sub, body["user"]["id"].as_str().expect("id"));
    assert!(Uuid::parse_str(&claims.sid).is_ok());
    assert!(
        (claims.exp - claims.iat - 24 * 3600).abs() <= 1,
        "{claims:?}"
    );
    assert!(claims.iat >= before);

    let me = server
        .anonymous()
        .with_token(token)
        .me()
        .await
        .expect("the JWT works");
    assert_eq!(me.user.email, ADMIN_EMAIL);
    // Emails are matched case-insensitively at login.
    let upper = login_raw(&server, "  ADMIN@Example.COM ", ADMIN_PASSWORD).await;
    assert_eq!(upper.status.as_u16(), 200, "body {}", upper.json);
}

async fn token_duration_and_password_length_follow_the_settings(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.token_duration_hours = 2;
        args.password_min_length = 12;
    })
    .await;
    let before = now_millis();
    let login = server
        .anonymous()
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login");
    let expires = login.expires_at.timestamp_millis();
    let two_hours = 2 * 3600 * 1000;
    assert!(
        expires >= before + two_hours - 2000 && expires <= now_millis() + two_hours + 2000,
        "expires_at {} is two hours away",
        login.expires_at
    );
    let admin = server.anonymous().with_token(login.token);
    let short = raw(
        &admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "short@example.com", "password": "elevenchars"})),
    )
    .await;
    assert_error(&short, 400, "validation_error", "12");
    let ok = raw(
        &admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "long@example.com", "password": "twelve-chars"})),
    )
    .await;
    assert_eq!(ok.status.as_u16(), 201, "body {}", ok.json);
}

async fn wrong_password_and_unknown_email_get_the_same_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let wrong = login_raw(&server, ADMIN_EMAIL, "not-the-password").await;
    let unknown = login_raw(&server, "nobody@example.com", "not-the-password").await;
    for response in [&wrong, &unknown] {
        assert_error(response, 401, "invalid_credentials", "");
    }
    assert_eq!(wrong.json, unknown.json, "identical bodies");
    assert!(
        wrong.json["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let empty = login_raw(&server, ADMIN_EMAIL, "").await;
    assert_error(&empty, 401, "invalid_credentials", "");
    assert_eq!(empty.json, wrong.json);
}

async fn service_accounts_can_never_log_in(backend: Backend) {
    let server = TestServer::start(backend).await;
    let service = server.create_service_account("robot@example.com").await;
    let no_password = login_raw(&server, "robot@example.com", "").await;
    assert_error(&no_password, 401, "invalid_credentials", "");
    let any = login_raw(&server, "robot@example.com", "some-password").await;
    assert_error(&any, 401, "invalid_credentials", "");

    // Even a password hash put into the row by hand does not let it in.
    let hash = bcrypt::hash("robot-password", 4).expect("bcrypt");
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(&hash)
        .bind(service.id.to_string())
        .execute(server.pool())
        .await
        .expect("set a hash");
    server.after_direct_sql();
    let with_hash = login_raw(&server, "robot@example.com", "robot-password").await;
    assert_error(&with_hash, 401, "invalid_credentials", "");
    assert_eq!(with_hash.json, any.json);
    let hand_made = insert_user_row(&server, "droid@example.com", Some(&hash), true).await;
    assert_ne!(hand_made, service.id);
    let droid = login_raw(&server, "droid@example.com", "robot-password").await;
    assert_error(&droid, 401, "invalid_credentials", "");
}

// --- logout and /me -------------------------------------------------------------------------------

async fn logout_ends_that_session_at_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let first = server.admin().await;
    let second = server.admin().await;

    let out = raw(&first, Method::POST, "/api/v1/auth/logout", None).await;
    assert_eq!(out.status.as_u16(), 204, "body {}", out.json);
    assert_invalid_token(&raw(&first, Method::GET, "/api/v1/me", None).await);
    assert_invalid_token(&raw(&first, Method::POST, "/api/v1/auth/logout", None).await);
    assert_invalid_token(&raw(&first, Method::GET, "/api/v1/users", None).await);
    second.me().await.expect("another session is untouched");
}

async fn me_carries_effective_permissions(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin_me = raw(&server.admin().await, Method::GET, "/api/v1/me", None).await;
    assert_eq!(admin_me.status.as_u16(), 200);
    assert_eq!(admin_me.json["email"], ADMIN_EMAIL);
    let mut all: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
    all.sort_unstable();
    let mut admin_perms: Vec<&str> = admin_me.json["permissions"]
        .as_array()
        .expect("permissions array")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    admin_perms.sort_unstable();
    assert_eq!(admin_perms, all, "is_admin holds the whole catalogue");
    assert_eq!(all.len(), 31);

    let (user, client) = server.user_client("perm@example.com").await;
    let sorted = |mut v: Vec<String>| {
        v.sort_unstable();
        v
    };
    assert!(client.me().await.expect("me").permissions.is_empty());

    assign_builtin(&server, user.id, "idp:group-manager").await;
    assert_eq!(
        sorted(client.me().await.expect("me").permissions),
        [
            "groups.members",
            "groups.update",
            "groups.view",
            "users.view"
        ]
    );
    grant(&server, user.id, &["audit.view", "users.view"]).await;
    assert_eq!(
        sorted(client.me().await.expect("me").permissions),
        [
            "audit.view",
            "groups.members",
            "groups.update",
            "groups.view",
            "users.view"
        ]
    );

    // Roles given to a group reach its members.
    let pool = server.pool();
    let group_id = Uuid::now_v7().to_string();
    let now = now_millis();
    sqlx::query(
        "INSERT INTO user_groups (id, name, name_lower, description, created_at, updated_at) \
         VALUES ($1, 'ops', 'ops', '', $2, $2)",
    )
    .bind(&group_id)
    .bind(now)
    .execute(pool)
    .await
    .expect("insert group");
    server.after_direct_sql();
    sqlx::query("INSERT INTO group_members (group_id, user_id, created_at) VALUES ($1, $2, $3)")
        .bind(&group_id)
        .bind(user.id.to_string())
        .bind(now)
        .execute(pool)
        .await
        .expect("insert membership");
    server.after_direct_sql();
    let role: String = sqlx::query("SELECT id FROM admin_roles WHERE name_lower = 'idp:viewer'")
        .fetch_one(pool)
        .await
        .expect("idp:viewer")
        .try_get("id")
        .expect("id");
    sqlx::query(
        "INSERT INTO group_admin_roles (group_id, role_id, created_at) VALUES ($1, $2, $3)",
    )
    .bind(&group_id)
    .bind(&role)
    .bind(now)
    .execute(pool)
    .await
    .expect("assign role to group");
    server.after_direct_sql();
    let perms = client.me().await.expect("me").permissions;
    for inherited in ["apps.view", "resource_sets.view", "users.viewaccess"] {
        assert!(
            perms.iter().any(|p| p == inherited),
            "{inherited} in {perms:?}"
        );
    }
    assert!(!perms.iter().any(|p| p == "users.create"));
}

// --- password change ------------------------------------------------------------------------------

async fn change_password_rules_and_session_end(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_user("pw@example.com", "old-password-1").await;
    let older = server.login("pw@example.com", "old-password-1").await;
    let current = server.login("pw@example.com", "old-password-1").await;

    let wrong = raw(
        &current,
        Method::PUT,
        "/api/v1/me/password",
        Some(json!({"current_password": "not-it-at-all", "new_password": "new-password-1"})),
    )
    .await;
    assert_error(&wrong, 400, "validation_error", "current_password");
    assert_eq!(wrong.json["details"]["field"], "current_password");

    let short = raw(
        &current,
        Method::PUT,
        "/api/v1/me/password",
        Some(json!({"current_password": "old-password-1", "new_password": "short"})),
    )
    .await;
    assert_error(&short, 400, "validation_error", "new_password");
    assert_eq!(short.json["details"]["field"], "new_password");

    let missing = raw(
        &current,
        Method::PUT,
        "/api/v1/me/password",
        Some(json!({"current_password": "old-password-1"})),
    )
    .await;
    assert_error(&missing, 400, "validation_error", "new_password");

    // Nothing so far changed anything.
    older.me().await.expect("refused changes end no session");
    server.login("pw@example.com", "old-password-1").await;

    let changed = raw(
        &current,
        Method::PUT,
        "/api/v1/me/password",
        Some(json!({"current_password": "old-password-1", "new_password": "new-password-1"})),
    )
    .await;
    assert_eq!(changed.status.as_u16(), 204, "body {}", changed.json);
    assert_invalid_token(&raw(&older, Method::GET, "/api/v1/me", None).await);
    current
        .me()
        .await
        .expect("the session that changed it lives on");

    let old = login_raw(&server, "pw@example.com", "old-password-1").await;
    assert_error(&old, 401, "invalid_credentials", "");
    let new = login_raw(&server, "pw@example.com", "new-password-1").await;
    assert_eq!(new.status.as_u16(), 200, "body {}", new.json);
    assert!(
        stored_hash(&server, "pw@example.com")
            .await
            .is_some_and(|h| h.starts_with("$argon2id$"))
    );
}

async fn a_pat_cannot_log_out_or_change_the_password(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, jwt_client) = server.user_client("patuser@example.com").await;
    let pat = jwt_client.create_my_token("cli", 7).await.expect("pat");
    let pat_client = server.anonymous().with_token(pat.token);

    let logout = raw(&pat_client, Method::POST, "/api/v1/auth/logout", None).await;
    assert_error(&logout, 403, "interactive_auth_required", "");
    let change = raw(
        &pat_client,
        Method::PUT,
        "/api/v1/me/password",
        Some(json!({"current_password": "user-password-1", "new_password": "stolen-password"})),
    )
    .await;
    assert_error(&change, 403, "interactive_auth_required", "");

    // Nothing happened: both credentials and the old password still work.
    pat_client.me().await.expect("the PAT still works");
    jwt_client.me().await.expect("the JWT still works");
    let login = login_raw(&server, "patuser@example.com", "user-password-1").await;
    assert_eq!(login.status.as_u16(), 200, "body {}", login.json);
}

// --- throttling -----------------------------------------------------------------------------------

fn retry_after(response: &justiam_client::RawResponse) -> u64 {
    response
        .header("retry-after")
        .expect("Retry-After header")
        .parse()
        .expect("Retry-After in seconds")
}

async fn failed_logins_lock_the_account(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.login_max_failures_per_account = 3;
        args.login_max_failures_per_ip = 100;
    })
    .await;
    server
        .create_user("target@example.com", "right-password")
        .await;
    for attempt in 1..=3 {
        let response = login_raw(&server, "target@example.com", "wrong-password").await;
        assert_error(&response, 401, "invalid_credentials", "");
        assert!(
            response.header("retry-after").is_none(),
            "attempt {attempt}"
        );
    }
    let locked = login_raw(&server, "target@example.com", "right-password").await;
    assert_error(&locked, 429, "too_many_requests", "");
    let seconds = retry_after(&locked);
    assert!((1..=60).contains(&seconds), "Retry-After {seconds}");
    // The lock is per account, whatever the case of the email.
    let upper = login_raw(&server, "TARGET@example.com", "right-password").await;
    assert_error(&upper, 429, "too_many_requests", "");
    // Other accounts are unaffected.
    let admin = login_raw(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(admin.status.as_u16(), 200, "body {}", admin.json);
}

async fn lockouts_expire_and_double_with_further_failures(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.login_max_failures_per_account = 2;
        args.login_max_failures_per_ip = 100;
        args.login_lockout_seconds = 1;
    })
    .await;
    server
        .create_user("slow@example.com", "right-password")
        .await;
    let pause = std::time::Duration::from_millis(1100);
    for _ in 0..2 {
        assert_error(
            &login_raw(&server, "slow@example.com", "wrong-password").await,
            401,
            "invalid_credentials",
            "",
        );
    }
    let locked = login_raw(&server, "slow@example.com", "right-password").await;
    assert_error(&locked, 429, "too_many_requests", "");
    assert_eq!(retry_after(&locked), 1);

    // The first lockout ends by itself, and the success resets the counter.
    tokio::time::sleep(pause).await;
    let ok = login_raw(&server, "slow@example.com", "right-password").await;
    assert_eq!(ok.status.as_u16(), 200, "body {}", ok.json);

    for _ in 0..2 {
        assert_error(
            &login_raw(&server, "slow@example.com", "wrong-password").await,
            401,
            "invalid_credentials",
            "",
        );
    }
    assert_eq!(
        retry_after(&login_raw(&server, "slow@example.com", "right-password").await),
        1,
        "after a reset the lockout starts small again"
    );
    tokio::time::sleep(pause).await;
    // One more failure after the lockout: the next lockout is twice as long.
    assert_error(
        &login_raw(&server, "slow@example.com", "wrong-password").await,
        401,
        "invalid_credentials",
        "",
    );
    let doubled = login_raw(&server, "slow@example.com", "right-password").await;
    assert_error(&doubled, 429, "too_many_requests", "");
    assert_eq!(retry_after(&doubled), 2, "the lockout doubles");
}

async fn a_success_resets_the_account_counter(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.login_max_failures_per_account = 3;
        args.login_max_failures_per_ip = 100;
    })
    .await;
    server
        .create_user("forgetful@example.com", "right-password")
        .await;
    for _ in 0..3 {
        for _ in 0..2 {
            let response = login_raw(&server, "forgetful@example.com", "wrong-password").await;
            assert_error(&response, 401, "invalid_credentials", "");
        }
        let ok = login_raw(&server, "forgetful@example.com", "right-password").await;
        assert_eq!(
            ok.status.as_u16(),
            200,
            "two failures then a success, again and again: {}",
            ok.json
        );
    }
}

async fn failed_logins_lock_the_client_address(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.login_max_failures_per_account = 100;
        args.login_max_failures_per_ip = 3;
    })
    .await;
    for i in 0..3 {
        let response = login_raw(&server, &format!("guess{i}@example.com"), "password").await;
        assert_error(&response, 401, "invalid_credentials", "");
    }
    // The address is now refused, even for a correct login of another account.
    let locked = login_raw(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_error(&locked, 429, "too_many_requests", "");
    let seconds = retry_after(&locked);
    assert!((1..=60).contains(&seconds), "Retry-After {seconds}");
}

/// A login as if relayed by a proxy that says the client is `forwarded_for`.
async fn login_forwarded(
    server: &TestServer,
    forwarded_for: &str,
    email: &str,
    password: &str,
) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", server.url))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login request")
        .status()
        .as_u16()
}

async fn forwarded_addresses_count_only_behind_a_trusted_proxy(backend: Backend) {
    // Behind a trusted proxy, each forwarded client address has its own counter.
    let server = TestServer::start_with(backend, |args| {
        args.login_max_failures_per_account = 100;
        args.login_max_failures_per_ip = 2;
        args.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
    })
    .await;
    for i in 0..2 {
        let status =
            login_forwarded(&server, "203.0.113.7", &format!("g{i}@example.com"), "pw").await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        login_forwarded(&server, "203.0.113.7", ADMIN_EMAIL, ADMIN_PASSWORD).await,
        429,
        "the forwarded address is locked"
    );
    assert_eq!(
        login_forwarded(&server, "203.0.113.8", ADMIN_EMAIL, ADMIN_PASSWORD).await,
        200,
        "another client behind the same proxy is not"
    );
    // A client cannot escape by prepending its own entry: the right-most untrusted hop counts.
    assert_eq!(
        login_forwarded(
            &server,
            "198.51.100.1, 203.0.113.7",
            ADMIN_EMAIL,
            ADMIN_PASSWORD
        )
        .await,
        429
    );

    // Without trusted proxies the header is ignored: spoofing it does not reset the lock.
    let direct = TestServer::start_with(backend, |args| {
        args.login_max_failures_per_account = 100;
        args.login_max_failures_per_ip = 2;
    })
    .await;
    for i in 0..2 {
        let status =
            login_forwarded(&direct, &format!("192.0.2.{i}"), "nobody@example.com", "pw").await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        login_forwarded(&direct, "192.0.2.99", ADMIN_EMAIL, ADMIN_PASSWORD).await,
        429,
        "X-Forwarded-For from an untrusted peer is not believed"
    );
}

/// Issue 20, finding 7: five failures from anywhere used to lock the owner out, right password
/// and all. Now the lockout is per account *and* address, and the account as a whole is only
/// slowed down.
async fn strangers_cannot_lock_an_account_out(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.login_max_failures_per_account = 5;
        args.login_max_failures_per_ip = 20;
        args.login_account_slowdown_after = 12;
        args.login_account_slowdown_seconds = 3;
        args.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
    })
    .await;
    server
        .create_user("victim@example.com", "right-password")
        .await;
    let attacker = "203.0.113.66";
    let owner = "198.51.100.7";
    for _ in 0..5 {
        assert_eq!(
            login_forwarded(&server, attacker, "victim@example.com", "wrong-password").await,
            401
        );
    }
    assert_eq!(
        login_forwarded(&server, attacker, "victim@example.com", "right-password").await,
        429,
        "brute force from the attacker's address stops"
    );
    assert_eq!(
        login_forwarded(&server, owner, "victim@example.com", "right-password").await,
        200,
        "the owner, elsewhere, is not locked out"
    );

    // A distributed guess: a new address per attempt. Attempts 7 to 12 of the window are checked;
    // past the ceiling of 12 the account is slowed down, not locked.
    for i in 0..6 {
        assert_eq!(
            login_forwarded(
                &server,
                &format!("192.0.2.{i}"),
                "victim@example.com",
                "guess"
            )
            .await,
            401,
            "distributed attempt {i}"
        );
    }
    let slowed = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", server.url))
        .header("x-forwarded-for", "192.0.2.100")
        .json(&json!({ "email": "victim@example.com", "password": "guess" }))
        .send()
        .await
        .expect("login request");
    assert_eq!(slowed.status().as_u16(), 429);
    let wait: u64 = slowed
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=3).contains(&wait), "Retry-After {wait}");
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(
        login_forwarded(&server, owner, "victim@example.com", "right-password").await,
        200,
        "after the pause the owner signs in, still past the ceiling"
    );
    assert_eq!(
        login_forwarded(&server, "192.0.2.101", "victim@example.com", "guess").await,
        429,
        "and the next guess waits its turn again"
    );
}

async fn password_hashing_does_not_starve_other_requests(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.login_max_failures_per_account = 1000;
        args.login_max_failures_per_ip = 1000;
    })
    .await;
    let mut logins = Vec::new();
    for i in 0..16 {
        let url = format!("{}/api/v1/auth/login", server.url);
        logins.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({"email": format!("flood{i}@example.com"), "password": "wrong-password"}))
                .send()
                .await
                .expect("login")
                .status()
                .as_u16()
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let started = std::time::Instant::now();
    let health = raw(&server.anonymous(), Method::GET, "/healthz", None).await;
    let took = started.elapsed();
    assert_eq!(health.status.as_u16(), 200);
    assert!(
        took < std::time::Duration::from_secs(1),
        "/healthz took {took:?} during a login flood"
    );
    for login in logins {
        assert_eq!(login.await.expect("task"), 401);
    }
}

async fn unknown_emails_take_about_as_long_as_wrong_passwords(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut wrong = std::time::Duration::ZERO;
    let mut unknown = std::time::Duration::ZERO;
    for i in 0..4 {
        let started = std::time::Instant::now();
        assert_error(
            &login_raw(&server, ADMIN_EMAIL, "wrong-password").await,
            401,
            "invalid_credentials",
            "",
        );
        wrong += started.elapsed();
        let started = std::time::Instant::now();
        assert_error(
            &login_raw(&server, &format!("ghost{i}@example.com"), "wrong-password").await,
            401,
            "invalid_credentials",
            "",
        );
        unknown += started.elapsed();
    }
    // A dummy hash is checked for unknown emails; without it they answer many times faster.
    assert!(
        unknown * 3 > wrong,
        "unknown emails {unknown:?} vs wrong passwords {wrong:?}"
    );
}

// --- bcrypt ---------------------------------------------------------------------------------------

async fn bcrypt_hashes_are_accepted_and_upgraded(backend: Backend) {
    let server = TestServer::start(backend).await;
    let b_hash = bcrypt::hash("legacy-password-b", 4).expect("bcrypt");
    assert!(b_hash.starts_with("$2b$"));
    let y_hash = bcrypt::hash("legacy-password-y", 4)
        .expect("bcrypt")
        .replacen("$2b$", "$2y$", 1);
    let a_hash = bcrypt::hash("legacy-password-a", 4)
        .expect("bcrypt")
        .replacen("$2b$", "$2a$", 1);
    insert_user_row(&server, "legacy-b@example.com", Some(&b_hash), false).await;
    insert_user_row(&server, "legacy-y@example.com", Some(&y_hash), false).await;
    insert_user_row(&server, "legacy-a@example.com", Some(&a_hash), false).await;

    for (email, password, hash) in [
        ("legacy-b@example.com", "legacy-password-b", &b_hash),
        ("legacy-y@example.com", "legacy-password-y", &y_hash),
        ("legacy-a@example.com", "legacy-password-a", &a_hash),
    ] {
        let wrong = login_raw(&server, email, "not-the-password").await;
        assert_error(&wrong, 401, "invalid_credentials", "");
        assert_eq!(
            stored_hash(&server, email).await.as_ref(),
            Some(hash),
            "a failure changes nothing"
        );
        let ok = login_raw(&server, email, password).await;
        assert_eq!(ok.status.as_u16(), 200, "{email}: {}", ok.json);
        let upgraded = stored_hash(&server, email).await.expect("a hash");
        assert!(upgraded.starts_with("$argon2id$"), "{email}: {upgraded}");
        // The new hash works too.
        let again = login_raw(&server, email, password).await;
        assert_eq!(again.status.as_u16(), 200, "{email}: {}", again.json);
        assert_eq!(stored_hash(&server, email).await, Some(upgraded));
    }
}

// --- credentials ----------------------------------------------------------------------------------

async fn missing_and_garbage_credentials_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let missing = raw(&server.anonymous(), Method::GET, "/api/v1/me", None).await;
    assert_error(&missing, 401, "unauthorized", "Authorization");
    // RFC 6750 §3.1: no credential, no error code in the challenge.
    assert_eq!(
        missing.header("www-authenticate"),
        Some(r#"Bearer realm="justiam""#)
    );

    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/me", server.url);
    for header in ["Basic YWRtaW46cGFzcw==", "Bearer", "Bearer    ", "token"] {
        let response = http
            .get(&url)
            .header("authorization", header)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 401, "{header:?}");
        // Another scheme, or no bearer value: no bearer credential was sent.
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some(r#"Bearer realm="justiam""#),
            "{header:?}"
        );
        let body: Value = response.json().await.expect("JSON error body");
        assert_eq!(body["code"], "unauthorized", "{header:?}: {body}");
    }

    for garbage in [
        "garbage",
        "a.b.c",
        "justiam_pat_short",
        "justiam_pat_00000000000000000000000000000000000000",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.AAAA",
    ] {
        let response = raw(
            &server.anonymous().with_token(garbage),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await;
        assert_invalid_token(&response);
    }
}

async fn forged_and_expired_jwts_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let login = server
        .anonymous()
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login");
    let iam = server.iam();
    let now = now_millis() / 1000;
    let live = iam
        .jwt
        .verify(&login.token, now)
        .expect("the server's own JWT verifies");
    let client_with = |token: String| -> Client { server.anonymous().with_token(token) };

    // The same claims (a live session) signed with another key.
    let other = JwtSigner::new(b"another-secret-another-secret-0123456", iam.jwt.issuer());
    assert_invalid_token(
        &raw(
            &client_with(other.sign(&live)),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await,
    );

    // Signed with the right key but expired.
    let expired = Claims {
        iat: now - 7200,
        exp: now - 60,
        ..live.clone()
    };
    assert_invalid_token(
        &raw(
            &client_with(iam.jwt.sign(&expired)),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await,
    );

    // Signed with the right key for another issuer.
    let elsewhere = Claims {
        iss: "https://evil.example".to_owned(),
        ..live.clone()
    };
    assert_invalid_token(
        &raw(
            &client_with(iam.jwt.sign(&elsewhere)),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await,
    );

    // Signed with the right key for a session that does not exist.
    let no_session = Claims {
        sid: Uuid::now_v7().to_string(),
        ..live.clone()
    };
    assert_invalid_token(
        &raw(
            &client_with(iam.jwt.sign(&no_session)),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await,
    );

    // A session of one user cannot be borrowed for another.
    let (user, _) = server.user_client("other@example.com").await;
    let borrowed = Claims {
        sub: user.id.to_string(),
        ..live.clone()
    };
    assert_invalid_token(
        &raw(
            &client_with(iam.jwt.sign(&borrowed)),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await,
    );

    // Control: the genuine token still works.
    client_with(login.token)
        .me()
        .await
        .expect("the genuine JWT works");
}

crate::on_both_databases!(
    login_answers_token_expiry_and_user,
    token_duration_and_password_length_follow_the_settings,
    wrong_password_and_unknown_email_get_the_same_answer,
    service_accounts_can_never_log_in,
    logout_ends_that_session_at_once,
    me_carries_effective_permissions,
    change_password_rules_and_session_end,
    a_pat_cannot_log_out_or_change_the_password,
    failed_logins_lock_the_account,
    a_success_resets_the_account_counter,
    lockouts_expire_and_double_with_further_failures,
    failed_logins_lock_the_client_address,
    forwarded_addresses_count_only_behind_a_trusted_proxy,
    strangers_cannot_lock_an_account_out,
    password_hashing_does_not_starve_other_requests,
    unknown_emails_take_about_as_long_as_wrong_passwords,
    bcrypt_hashes_are_accepted_and_upgraded,
    missing_and_garbage_credentials_are_refused,
    forged_and_expired_jwts_are_refused,
);

/// Red-team finding 6, at sign-in: the typed address is normalised as stored ones are, so a
/// full-width look-alike signs in to the account it looks like and its failures count against
/// that account's lockout (not a fresh counter per spelling); one with an invisible character
/// cannot match any account and is refused like one with a control character.
async fn look_alike_emails_reach_one_account_and_its_lockout(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.login_max_failures_per_account = 3;
        args.login_max_failures_per_ip = 100;
    })
    .await;
    let alice = server
        .create_user("alice@example.com", "right-password")
        .await;

    let signed_in = login_raw(&server, "ａｌｉｃｅ@example.com", "right-password").await;
    assert_eq!(signed_in.status.as_u16(), 200, "{}", signed_in.json);
    assert_eq!(signed_in.json["user"]["id"], alice.id.to_string());

    let hidden = login_raw(&server, "alice\u{200b}@example.com", "right-password").await;
    assert_error(
        &hidden,
        400,
        "validation_error",
        "email must not contain invisible or bidirectional control characters",
    );

    for spelling in [
        "\u{ff41}lice@example.com",
        "alice\u{ff20}example.com",
        "ALICE@ｅｘａｍｐｌｅ.com",
    ] {
        let failed = login_raw(&server, spelling, "wrong-password").await;
        assert_error(&failed, 401, "invalid_credentials", "");
    }
    let locked = login_raw(&server, "alice@example.com", "right-password").await;
    assert_error(&locked, 429, "too_many_requests", "");
}

crate::on_both_databases!(look_alike_emails_reach_one_account_and_its_lockout);
