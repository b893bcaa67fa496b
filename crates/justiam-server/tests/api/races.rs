//! Races: the token limit, name uniqueness and revocation hold when many requests arrive at once,
//! spread over two nodes of one database (the load-balanced deployment). `tokens.rs` checks small
//! races (10 same-name creations, 5 creations at the 99th token); these check them at scale.

use std::sync::Arc;
use std::time::{Duration, Instant};

use justiam_client::{Client, ListParams};
use reqwest::Method;
use serde_json::json;
use sqlx::Row;
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::common::*;

/// Every wait in this module is bounded by this.
const WAIT: Duration = Duration::from_secs(60);

async fn active_rows(server: &TestServer, user_id: Uuid, name: Option<&str>) -> i64 {
    let now = justiam_core::time::now_millis();
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM personal_access_tokens \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         AND ($3 = '' OR name = $3)",
    )
    .bind(user_id.to_string())
    .bind(now)
    .bind(name.unwrap_or("").to_owned())
    .fetch_one(server.pool())
    .await
    .expect("count active tokens");
    row.try_get("n").expect("n")
}

/// Sends `count` creations at once (released together by a barrier), alternating between the two
/// nodes, and returns `(status, code)` per attempt.
async fn create_at_once(
    clients: [Client; 2],
    path: String,
    count: usize,
    name: impl Fn(usize) -> String,
) -> Vec<(u16, Option<String>)> {
    let barrier = Arc::new(Barrier::new(count));
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let client = clients[i % 2].clone();
            let barrier = barrier.clone();
            let path = path.clone();
            let body = json!({"name": name(i), "expires_in_days": 30});
            tokio::spawn(async move {
                barrier.wait().await;
                let response = raw(&client, Method::POST, &path, Some(body)).await;
                (response.status.as_u16(), response.code().map(str::to_owned))
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(
            tokio::time::timeout(WAIT, task)
                .await
                .expect("creation answered in time")
                .expect("task"),
        );
    }
    results
}

/// 200 simultaneous creations for one user (own tokens through both nodes) and 200 for one
/// service account: exactly 100 succeed, every other one is `409 token_limit_reached`, and the
/// list and the database agree.
async fn two_hundred_creations_never_exceed_the_limit(backend: Backend) {
    // Creations for one owner are serialised, so the last of 200 waits for the 199 before it: on
    // a loaded machine longer than the default 3 s for a database connection (a `503`, right for
    // a client but not what this test is about).
    let patient =
        |args: &mut justiam_server::config::ServeArgs| args.db.db_acquire_timeout_seconds = 60;
    let server = TestServer::start_with(backend, patient).await;
    let node_b = server.another_node(patient).await;
    let (user, client) = server.user_client("crowd@example.com").await;
    let client_b = node_b.anonymous().with_token(
        node_b
            .anonymous()
            .login("crowd@example.com", "user-password-1")
            .await
            .expect("login on node b")
            .token,
    );

    let results = create_at_once(
        [client.clone(), client_b],
        "/api/v1/me/tokens".to_owned(),
        200,
        |i| format!("crowd {i:03}"),
    )
    .await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    for (status, code) in &results {
        assert!(
            *status == 201 || (*status == 409 && code.as_deref() == Some("token_limit_reached")),
            "unexpected answer {status} {code:?}"
        );
    }
    assert_eq!(
        created, 100,
        "exactly the limit is created, no more, none lost"
    );
    let page = client
        .list_my_tokens(&ListParams {
            limit: Some(100),
            ..ListParams::default()
        })
        .await
        .expect("list");
    assert_eq!(page.total, 100, "the list counts 100");
    assert_eq!(page.data.len(), 100);
    assert_eq!(
        active_rows(&server, user.id, None).await,
        100,
        "the database holds 100"
    );
    let again = raw(
        &client,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({"name": "one more", "expires_in_days": 1})),
    )
    .await;
    assert_error(&again, 409, "token_limit_reached", "100");

    // The same through /users/{id}/tokens for a service account, by an admin on both nodes.
    let sa = server
        .create_service_account("crowd-robot@example.com")
        .await;
    let admin_b = node_b.anonymous().with_token(
        node_b
            .anonymous()
            .login(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .expect("admin login on node b")
            .token,
    );
    let results = create_at_once(
        [server.admin().await, admin_b],
        format!("/api/v1/users/{}/tokens", sa.id),
        200,
        |i| format!("robot {i:03}"),
    )
    .await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    assert!(
        results
            .iter()
            .all(|(s, c)| *s == 201 || (*s == 409 && c.as_deref() == Some("token_limit_reached"))),
        "{results:?}"
    );
    assert_eq!(created, 100);
    assert_eq!(active_rows(&server, sa.id, None).await, 100);
    let page = server
        .admin()
        .await
        .list_user_tokens(sa.id, &ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 100);
}

/// 50 simultaneous creations of one name (through two nodes): exactly one `201`, 49 `409
/// conflict`, one active row.
async fn fifty_creations_of_one_name_leave_one_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    let node_b = server.another_node(|_| {}).await;
    let (user, client) = server.user_client("samename@example.com").await;
    let client_b = node_b.anonymous().with_token(
        node_b
            .anonymous()
            .login("samename@example.com", "user-password-1")
            .await
            .expect("login on node b")
            .token,
    );
    for round in 0..2 {
        let name = format!("deploy key {round}");
        let results = create_at_once(
            [client.clone(), client_b.clone()],
            "/api/v1/me/tokens".to_owned(),
            50,
            |i| {
                // Differently padded with spaces (a control character is refused even in the
                // padding), the same name once trimmed.
                if i % 3 == 0 {
                    format!("  {name}\u{3000}")
                } else {
                    name.clone()
                }
            },
        )
        .await;
        let created = results.iter().filter(|(s, _)| *s == 201).count();
        let conflicts = results
            .iter()
            .filter(|(s, c)| *s == 409 && c.as_deref() == Some("conflict"))
            .count();
        assert_eq!((created, conflicts), (1, 49), "{results:?}");
        assert_eq!(active_rows(&server, user.id, Some(&name)).await, 1);
        let page = client
            .list_my_tokens(&ListParams::default())
            .await
            .expect("list");
        assert_eq!(page.data.iter().filter(|t| t.name == name).count(), 1);
        assert_eq!(page.total, round + 1);
    }
}

/// One request made with the token: when it started, when its answer came, its status.
#[derive(Debug, Clone, Copy)]
struct Use {
    started: Instant,
    status: u16,
}

/// Hammers `GET /api/v1/me` with `token` from several tasks on `nodes` while the owner revokes it.
/// Every request that *started* more than `delivery` after the `204` of the revocation was
/// received must fail with `401`; requests before it succeed. `delivery` is zero on the node that
/// revoked: its cache is invalidated before it answers. Other nodes learn of the revocation
/// through PostgreSQL `LISTEN/NOTIFY`, sent before the `204` but applied when their listener task
/// runs — under load, a few milliseconds later.
async fn hammer_and_revoke(
    nodes: &[&TestServer],
    owner: &Client,
    token_id: Uuid,
    token: &str,
    delivery: Duration,
) {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let client = nodes[i % nodes.len()]
                .anonymous()
                .with_token(token.to_owned());
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut uses = Vec::new();
                let path = if i % 2 == 0 {
                    "/api/v1/me"
                } else {
                    "/api/v1/me/tokens"
                };
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let started = Instant::now();
                    let response = raw(&client, Method::GET, path, None).await;
                    uses.push(Use {
                        started,
                        status: response.status.as_u16(),
                    });
                }
                uses
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Eight tasks keep the node's database pool busy: a `503` ("retry shortly", the pool's
    // 5 s wait ran out) is answered as a client should, by trying again. What is tested is what
    // follows the `204`.
    let mut unavailable = 0;
    let revoke = tokio::time::timeout(WAIT, async {
        loop {
            match owner.revoke_my_token(token_id).await {
                Err(e) if e.status() == Some(reqwest::StatusCode::SERVICE_UNAVAILABLE) => {
                    unavailable += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    })
    .await
    .expect("revocation answered in time");
    let acknowledged = Instant::now();
    revoke.expect("revoke: 204");
    if unavailable > 0 {
        eprintln!("revoke: {unavailable} answer(s) 503 before the 204");
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut uses = Vec::new();
    for task in tasks {
        uses.extend(
            tokio::time::timeout(WAIT, task)
                .await
                .expect("hammering tasks stop")
                .expect("task"),
        );
    }
    let before: Vec<&Use> = uses.iter().filter(|u| u.started < acknowledged).collect();
    let after: Vec<&Use> = uses
        .iter()
        .filter(|u| u.started > acknowledged + delivery)
        .collect();
    assert!(
        before.iter().filter(|u| u.status == 200).count() >= 8,
        "the token worked before the revocation: {before:?}"
    );
    assert!(after.len() >= 8, "requests were made after the revocation");
    // A `503` (the pool's wait ran out on a loaded machine) refuses the request too: it is the
    // documented "retry shortly", never an answer made with the revoked token.
    let leaked: Vec<&&Use> = after
        .iter()
        .filter(|u| !matches!(u.status, 401 | 503))
        .collect();
    assert!(
        leaked.is_empty(),
        "{} of {} requests started after the acknowledged revocation were not refused: {:?}",
        leaked.len(),
        after.len(),
        leaked
            .iter()
            .map(|u| (u.started.duration_since(acknowledged), u.status))
            .collect::<Vec<_>>()
    );
    // Before the acknowledgement, and while it reaches the other nodes: an answer either way (or
    // the busy pool's `503`), never a server error.
    for u in uses.iter().filter(|u| u.started <= acknowledged + delivery) {
        assert!(matches!(u.status, 200 | 401 | 503), "{u:?}");
    }
    eprintln!(
        "revoke under use: {} requests before the acknowledgement ({} ok), {} after (all refused)",
        before.len(),
        before.iter().filter(|u| u.status == 200).count(),
        after.len()
    );
}

/// Concurrent use and revocation on one node, three times (the credential cache is warm each time).
async fn a_revoked_token_never_works_after_the_acknowledgement(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.token_auth_failures_per_minute = 0;
    })
    .await;
    let (_, client) = server.user_client("revoker@example.com").await;
    for round in 0..3 {
        let token = client
            .create_my_token(&format!("hammered {round}"), 1)
            .await
            .expect("create");
        hammer_and_revoke(&[&server], &client, token.id, &token.token, Duration::ZERO).await;
    }
}

/// The same with the token used on two nodes while a third revokes it: the other nodes' caches are
/// dropped through PostgreSQL `LISTEN/NOTIFY`, within `delivery` of the acknowledgement.
async fn a_revoked_token_never_works_on_another_node(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.token_auth_failures_per_minute = 0;
    })
    .await;
    let node_b = server
        .another_node(|args| args.token_auth_failures_per_minute = 0)
        .await;
    let node_c = server
        .another_node(|args| args.token_auth_failures_per_minute = 0)
        .await;
    let (_, client) = server.user_client("multi-revoker@example.com").await;
    let owner_on_c = node_c.anonymous().with_token(
        node_c
            .anonymous()
            .login("multi-revoker@example.com", "user-password-1")
            .await
            .expect("login on c")
            .token,
    );
    for round in 0..3 {
        let token = client
            .create_my_token(&format!("multi {round}"), 1)
            .await
            .expect("create");
        // Far inside the one second the issue allows; seen so far: up to ~3 ms under a full
        // test run on two cores.
        let delivery = Duration::from_millis(100);
        hammer_and_revoke(
            &[&server, &node_b],
            &owner_on_c,
            token.id,
            &token.token,
            delivery,
        )
        .await;
    }
}

crate::on_both_databases!(
    two_hundred_creations_never_exceed_the_limit,
    fifty_creations_of_one_name_leave_one_token,
    a_revoked_token_never_works_after_the_acknowledgement,
);

/// Several nodes are a PostgreSQL deployment (SQLite nodes on one file have no cross-node cache
/// invalidation other than the TTL, and are not a supported deployment).
mod a_revoked_token_never_works_on_another_node {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if crate::common::postgres_available() {
            super::a_revoked_token_never_works_on_another_node(crate::common::Backend::Postgres)
                .await;
        }
    }
}

/// Login throttling holds under concurrency: of 30 simultaneous wrong-password attempts on one
/// account, only as many as the limit are checked (401); the rest are refused (429) before any
/// password is hashed, and then even the right password waits.
async fn concurrent_wrong_passwords_get_no_more_guesses_than_the_limit(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.login_max_failures_per_account = 3;
        args.login_max_failures_per_ip = 1000;
    })
    .await;
    server
        .create_user("target@example.com", "right-password-1")
        .await;
    let attempts = (0..30).map(|_| {
        let client = server.anonymous();
        async move {
            client
                .login("target@example.com", "wrong-password")
                .await
                .map(|_| ())
        }
    });
    let results = futures_join_all(attempts).await;
    let statuses: Vec<u16> = results
        .iter()
        .map(|r| {
            r.as_ref()
                .err()
                .and_then(|e| e.status())
                .map_or(200, |s| s.as_u16())
        })
        .collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked, 3, "exactly the limit is checked: {statuses:?}");
    assert_eq!(refused, 27, "{statuses:?}");
    let locked = server
        .anonymous()
        .login("target@example.com", "right-password-1")
        .await;
    assert_eq!(
        locked.expect_err("locked").status().map(|s| s.as_u16()),
        Some(429)
    );
}

/// Runs futures concurrently, each on its own task, and collects their outputs in order.
async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

crate::on_both_databases!(concurrent_wrong_passwords_get_no_more_guesses_than_the_limit);

/// A grant sent while another administrator deletes its user: the grant is made (and goes with
/// the user) or refused as naming no user — never a `500`, never a grant left behind.
async fn a_grant_racing_the_users_deletion_gets_a_clear_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = register(&server, "racing", |app| app.access_restricted = Some(true)).await;
    let admin = server.admin().await;
    let mut refused = 0;
    for round in 0..20 {
        let user = server
            .create_user(&format!("racer{round}@example.com"), "user-password-1")
            .await;
        let barrier = Arc::new(Barrier::new(2));
        let grant = {
            let (admin, barrier) = (admin.clone(), barrier.clone());
            let path = format!("/api/v1/applications/{}/grants", rp.app.id);
            tokio::spawn(async move {
                barrier.wait().await;
                raw(
                    &admin,
                    Method::POST,
                    &path,
                    Some(json!({"user_id": user.id})),
                )
                .await
            })
        };
        let delete = {
            let (admin, barrier) = (admin.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                admin.delete_user(user.id).await
            })
        };
        let granted = tokio::time::timeout(WAIT, grant)
            .await
            .expect("grant answered")
            .expect("grant task");
        tokio::time::timeout(WAIT, delete)
            .await
            .expect("delete answered")
            .expect("delete task")
            .expect("the deletion succeeds");
        match granted.status.as_u16() {
            201 => {}
            409 => {
                assert_error(&granted, 409, "unknown_reference", "user_id");
                refused += 1;
            }
            other => panic!("round {round}: grant answered {other}: {}", granted.json),
        }
    }
    let left = admin
        .list_application_grants(rp.app.id, &ListParams::default())
        .await
        .expect("grants");
    assert!(
        left.data.is_empty(),
        "grants outlived their users: {left:?}"
    );
    eprintln!("{refused} of 20 grants were refused as naming no user");
}

crate::on_both_databases!(a_grant_racing_the_users_deletion_gets_a_clear_answer);
