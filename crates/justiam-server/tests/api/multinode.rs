//! Several `justiam serve` nodes on one PostgreSQL behave as one server: a change made through
//! node A is enforced by node B within a second, although B caches verified credentials.

use std::time::{Duration, Instant};

use justiam_types::{CreateAdminRole, CreateUser};
use reqwest::Method;

use crate::common::*;
use crate::oidc::sign_in_with;

/// Polls `check` on node B until it holds, and returns how long that took (at most 3 s).
async fn within<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        if check().await {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not enforced by the other node within 3 s");
}

async fn status(client: &justiam_client::Client, path: &str) -> u16 {
    raw(client, Method::GET, path, None).await.status.as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_behave_as_one_server() {
    if !postgres_available() {
        return;
    }
    // Nodes behind one load balancer share the public URL, hence the JWT issuer.
    let shared = |args: &mut justiam_server::config::ServeArgs| {
        args.login_max_failures_per_account = 3;
        args.oidc_issuer = Some("https://iam.example.test".to_owned());
    };
    let a = TestServer::start_with(Backend::Postgres, shared).await;
    let b = a.listening_node(shared).await;
    let admin_a = a.admin().await;
    let admin_b = b.anonymous().with_token(
        a.anonymous()
            .login(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .expect("login")
            .token,
    );

    assert_eq!(
        status(&admin_b, "/api/v1/me").await,
        200,
        "a JWT from node A works on node B"
    );

    // 1. A token revoked through A is refused by B within a second.
    let robot = a.create_service_account("robot@example.com").await;
    let token = admin_a
        .create_user_token(robot.id, "deploy", 30)
        .await
        .expect("token");
    let robot_b = b.anonymous().with_token(token.token.clone());
    assert_eq!(status(&robot_b, "/api/v1/me").await, 200);
    assert_eq!(status(&robot_b, "/api/v1/me").await, 200, "now cached on B");
    assert!(!b.iam().cache.is_empty(), "B caches verified credentials");
    // Another owner's token, cached on B too: a revocation of the robot's must leave it cached.
    let bystander = a.create_service_account("bystander@example.com").await;
    let other = admin_a
        .create_user_token(bystander.id, "other", 30)
        .await
        .expect("token");
    let bystander_b = b.anonymous().with_token(other.token.clone());
    assert_eq!(status(&bystander_b, "/api/v1/me").await, 200);
    let cached_on_b = |value: &str| {
        let key = justiam_core::service::cache::CacheKey::Pat(justiam_core::token::digest(value));
        b.iam().cache.holds(&key, justiam_core::time::now_millis())
    };
    assert!(cached_on_b(&other.token));
    admin_a
        .revoke_user_token(robot.id, token.id)
        .await
        .expect("revoke on A");
    let took = within("revocation", || async {
        status(&robot_b, "/api/v1/me").await == 401
    })
    .await;
    assert!(
        took < Duration::from_secs(1),
        "revocation reached B after {took:?}"
    );
    assert!(
        cached_on_b(&other.token),
        "the notice named the robot: another owner's cached token stays cached on B"
    );
    assert!(!cached_on_b(&token.token));

    // 2. An owner deactivated through A: B refuses their token within a second.
    let (user, user_client) = a.user_client("owner@example.com").await;
    let pat = user_client
        .create_my_token("laptop", 30)
        .await
        .expect("pat");
    let pat_b = b.anonymous().with_token(pat.token.clone());
    assert_eq!(status(&pat_b, "/api/v1/me").await, 200);
    let update = justiam_types::UpdateUser {
        is_active: Some(false),
        ..Default::default()
    };
    admin_a
        .update_user(user.id, &update)
        .await
        .expect("deactivate on A");
    let took = within("deactivation", || async {
        status(&pat_b, "/api/v1/me").await == 401
    })
    .await;
    assert!(
        took < Duration::from_secs(1),
        "deactivation reached B after {took:?}"
    );
    let update = justiam_types::UpdateUser {
        is_active: Some(true),
        ..Default::default()
    };
    admin_b
        .update_user(user.id, &update)
        .await
        .expect("reactivate on B");
    within("reactivation on A", || async {
        status(&a.anonymous().with_token(pat.token.clone()), "/api/v1/me").await == 200
    })
    .await;

    // 3. A role removed through A: B stops granting it within a second.
    let role = admin_a
        .create_role(&CreateAdminRole {
            name: "readers".into(),
            description: None,
            permissions: vec!["users.view".into()],
        })
        .await
        .expect("role");
    admin_a
        .assign_user_role(user.id, role.id)
        .await
        .expect("assign");
    within("grant on B", || async {
        status(&pat_b, "/api/v1/users").await == 200
    })
    .await;
    assert_eq!(status(&pat_b, "/api/v1/users").await, 200, "cached on B");
    admin_a
        .unassign_user_role(user.id, role.id)
        .await
        .expect("unassign on A");
    let took = within("role removal", || async {
        status(&pat_b, "/api/v1/users").await == 403
    })
    .await;
    assert!(
        took < Duration::from_secs(1),
        "role removal reached B after {took:?}"
    );

    // 4. A session ended through A: its JWT is refused by B.
    let jwt = a
        .anonymous()
        .login("owner@example.com", "user-password-1")
        .await
        .expect("login")
        .token;
    let jwt_b = b.anonymous().with_token(jwt.clone());
    assert_eq!(status(&jwt_b, "/api/v1/me").await, 200);
    a.anonymous()
        .with_token(jwt)
        .logout()
        .await
        .expect("logout on A");
    let took = within("logout", || async {
        status(&jwt_b, "/api/v1/me").await == 401
    })
    .await;
    assert!(
        took < Duration::from_secs(1),
        "logout reached B after {took:?}"
    );

    // 5. Login throttling counts across nodes: 2 failures on A + 1 on B lock the account on both.
    let victim = CreateUser {
        email: "victim@example.com".into(),
        password: Some("victim-password-1".into()),
        ..CreateUser::default()
    };
    admin_a.create_user(&victim).await.expect("victim");
    for node in [&a, &a, &b] {
        let refused = node
            .anonymous()
            .login("victim@example.com", "wrong-password")
            .await;
        assert_eq!(
            refused
                .expect_err("wrong password")
                .status()
                .map(|s| s.as_u16()),
            Some(401)
        );
    }
    for node in [&a, &b] {
        let locked = raw(
            &node.anonymous(),
            Method::POST,
            "/api/v1/auth/login",
            Some(
                serde_json::json!({"email": "victim@example.com", "password": "victim-password-1"}),
            ),
        )
        .await;
        assert_error(&locked, 429, "too_many_requests", "");
        assert!(locked.header("retry-after").is_some());
    }

    // 6. An application's access restricted through A: B's remembered userinfo answer for one
    //    of its access tokens stops within a second.
    let rp = register(&a, "wiki", |_| {}).await;
    let tokens = sign_in_with(&a, &rp, "owner@example.com", "user-password-1").await;
    let access = tokens["access_token"].as_str().expect("access token");
    assert_eq!(userinfo(&b, access).await.0, 200);
    let key = justiam_core::service::cache::CacheKey::Userinfo(justiam_core::token::digest(access));
    assert!(b.iam().cache.holds(&key, justiam_core::time::now_millis()));
    let restrict = justiam_types::application::UpdateApplication {
        access_restricted: Some(true),
        ..Default::default()
    };
    admin_a
        .update_application(rp.app.id, &restrict)
        .await
        .expect("restrict on A");
    let took = within("restricted application", || async {
        userinfo(&b, access).await.0 == 401
    })
    .await;
    assert!(
        took < Duration::from_secs(1),
        "the restriction reached B after {took:?}"
    );
}
