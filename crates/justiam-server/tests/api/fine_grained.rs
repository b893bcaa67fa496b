//! Beyond the seed: fine-grained tokens (with wildcards), self-inspection and the expiry header,
//! rotation with a grace period, the leak-report endpoint, and the operator's token inventory — on
//! SQLite and PostgreSQL.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use justiam_client::{Client, ListParams, RawResponse};
use justiam_types::{
    AdminRole, CreateGroup, CreateToken, CreatedToken, PatRecord, RotateToken, UpdateAdminRole,
    User,
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const EXPIRES_HEADER: &str = "justiam-token-expires-at";

/// What `*.view` expands to for an owner who holds the whole catalogue.
const ALL_VIEWS: [&str; 7] = [
    "users.view",
    "groups.view",
    "apps.view",
    "roles.view",
    "audit.view",
    "sessions.view",
    "resource_sets.view",
];

const USERS_ALL: [&str; 7] = [
    "users.view",
    "users.viewaccess",
    "users.create",
    "users.update",
    "users.delete",
    "users.sendpasswordreset",
    "users.managetags",
];

// --- helpers --------------------------------------------------------------------------------------

fn set<S: AsRef<str>>(names: &[S]) -> BTreeSet<String> {
    names.iter().map(|s| s.as_ref().to_owned()).collect()
}

fn json_set(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("a JSON array, got {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("a JSON object, got {value}"))
        .keys()
        .cloned()
        .collect()
}

fn time_of(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a time string, got {value}"))
        .parse()
        .expect("RFC 3339")
}

fn pat(server: &TestServer, token: &CreatedToken) -> Client {
    server.anonymous().with_token(token.token.clone())
}

/// A regular user holding `permissions` through a custom role assigned directly.
async fn user_with(
    server: &TestServer,
    admin: &Client,
    email: &str,
    permissions: &[&str],
) -> (User, Client, AdminRole) {
    let (user, client) = server.user_client(email).await;
    let role = create_role(admin, &format!("role of {email}"), permissions).await;
    admin
        .assign_user_role(user.id, role.id)
        .await
        .expect("assign role");
    (user, client, role)
}

/// The id of a built-in role.
async fn builtin_role(admin: &Client, name: &str) -> Uuid {
    let roles = admin
        .list_roles(&ListParams {
            limit: Some(100),
            ..ListParams::default()
        })
        .await
        .expect("list roles");
    roles
        .data
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("built-in role {name}"))
        .id
}

fn token_body(name: &str, days: i64, permissions: Option<&[&str]>) -> CreateToken {
    CreateToken {
        name: name.to_owned(),
        expires_in_days: days,
        permissions: permissions.map(|list| list.iter().map(|p| (*p).to_owned()).collect()),
    }
}

async fn create_token(
    client: &Client,
    owner: Option<Uuid>,
    name: &str,
    permissions: Option<&[&str]>,
) -> CreatedToken {
    client
        .create_token(owner, &token_body(name, 30, permissions))
        .await
        .unwrap_or_else(|e| panic!("create token {name}: {e}"))
}

async fn call(client: &Client, method: Method, path: &str, body: Option<Value>) -> RawResponse {
    raw(client, method, path, body).await
}

/// `GET /api/v1/me` as `client`: 200 or 401.
async fn me_status(client: &Client) -> u16 {
    call(client, Method::GET, "/api/v1/me", None)
        .await
        .status
        .as_u16()
}

fn assert_invalid_token(response: &RawResponse) {
    assert_eq!(response.status.as_u16(), 401, "body {}", response.json);
    assert_eq!(response.code(), Some("invalid_token"), "{}", response.json);
}

fn assert_forbidden_for(response: &RawResponse, permission: &str) {
    assert_eq!(response.status.as_u16(), 403, "body {}", response.json);
    assert_eq!(response.code(), Some("forbidden"), "{}", response.json);
    assert_eq!(
        response.json["details"]["permission"],
        json!(permission),
        "{}",
        response.json
    );
}

fn assert_validation(response: &RawResponse, field: &str) {
    assert_error(response, 400, "validation_error", field);
    assert_eq!(
        response.json["details"]["field"],
        json!(field),
        "{}",
        response.json
    );
}

/// The record of `id` in the caller's `/me/tokens` list, if listed.
async fn my_record(client: &Client, id: Uuid) -> Option<Value> {
    let list = call(client, Method::GET, "/api/v1/me/tokens?limit=100", None).await;
    assert_eq!(list.status.as_u16(), 200, "{}", list.json);
    list.json["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|r| r["id"] == json!(id.to_string()))
        .cloned()
}

/// Every inventory item visible to `client` with the query `query`, as `(status, json)`.
async fn inventory(client: &Client, query: &str) -> RawResponse {
    call(client, Method::GET, &format!("/api/v1/tokens{query}"), None).await
}

fn ids_of(page: &Value) -> BTreeSet<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a page, got {page}"))
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect()
}

fn ids(tokens: &[&CreatedToken]) -> BTreeSet<String> {
    tokens.iter().map(|t| t.id.to_string()).collect()
}

async fn sleep_until(at: DateTime<Utc>) {
    let wait = (at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
}

/// Polls until `client` is refused with `401`, for at most `seconds`.
async fn wait_until_refused(client: &Client, seconds: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let status = me_status(client).await;
        if status == 401 {
            return;
        }
        assert_eq!(status, 200);
        assert!(
            std::time::Instant::now() < deadline,
            "still accepted after {seconds} s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A well-formed value with a valid checksum that was never issued.
fn unknown_but_well_formed() -> String {
    justiam_core::token::generate()
        .expect("randomness")
        .expose()
        .to_owned()
}

/// `POST /api/v1/tokens/revoke` without credentials, answered as raw bytes.
async fn report_leak(
    server: &TestServer,
    tokens: &[&str],
    forwarded_for: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/api/v1/tokens/revoke", server.url))
        .json(&json!({ "tokens": tokens }));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    let response = request.send().await.expect("request reaches the server");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body").to_vec();
    (status, headers, body)
}

// --- fine-grained tokens ------------------------------------------------------------------------

async fn fine_grained_tokens_follow_the_owners_current_roles(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (alice, alice_jwt, role) = user_with(
        &server,
        &admin,
        "alice@example.com",
        &["users.view", "users.create"],
    )
    .await;

    let limited = create_token(
        &alice_jwt,
        None,
        "limited",
        Some(&["users.create", "users.view"]),
    )
    .await;
    let full = create_token(&alice_jwt, None, "full", None).await;
    let limited_client = pat(&server, &limited);
    let full_client = pat(&server, &full);

    // Listed: the fine-grained token with its set, the seed-style one without the field at all.
    let record = my_record(&alice_jwt, limited.id).await.expect("listed");
    assert_eq!(
        json_set(&record["permissions"]),
        set(&["users.view", "users.create"])
    );
    let record = my_record(&alice_jwt, full.id).await.expect("listed");
    assert_eq!(
        keys(&record),
        set(&[
            "id",
            "name",
            "created_at",
            "expires_at",
            "last_used_at",
            "token_hint",
            "expired"
        ]),
        "a seed-style token has exactly the seed's fields"
    );

    let new_user = |n: u32| json!({ "email": format!("made{n}@example.com") });
    for client in [&limited_client, &full_client] {
        let listed = call(client, Method::GET, "/api/v1/users", None).await;
        assert_eq!(listed.status.as_u16(), 200, "{}", listed.json);
    }
    let made = call(
        &limited_client,
        Method::POST,
        "/api/v1/users",
        Some(new_user(1)),
    )
    .await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.json);
    let me = limited_client.token_self().await.expect("self");
    assert_eq!(
        set(&me.effective_permissions),
        set(&["users.view", "users.create"])
    );

    // Take users.create out of the role: both tokens lose it on the very next request.
    admin
        .update_role(
            role.id,
            &UpdateAdminRole {
                permissions: Some(vec!["users.view".to_owned()]),
                ..UpdateAdminRole::default()
            },
        )
        .await
        .expect("update role");
    for (n, client) in [(2, &limited_client), (3, &full_client)] {
        let refused = call(client, Method::POST, "/api/v1/users", Some(new_user(n))).await;
        assert_forbidden_for(&refused, "users.create");
        let listed = call(client, Method::GET, "/api/v1/users", None).await;
        assert_eq!(listed.status.as_u16(), 200, "{}", listed.json);
    }
    let me = limited_client.token_self().await.expect("self");
    assert_eq!(set(&me.effective_permissions), set(&["users.view"]));
    // The token's own list is unchanged: it is a ceiling, not a grant.
    assert_eq!(
        set(me.record.permissions.as_deref().expect("permissions")),
        set(&["users.view", "users.create"])
    );

    // Granting more than the token's list widens the full token only.
    admin
        .update_role(
            role.id,
            &UpdateAdminRole {
                permissions: Some(vec![
                    "users.view".to_owned(),
                    "users.create".to_owned(),
                    "groups.view".to_owned(),
                ]),
                ..UpdateAdminRole::default()
            },
        )
        .await
        .expect("update role");
    let made = call(
        &limited_client,
        Method::POST,
        "/api/v1/users",
        Some(new_user(4)),
    )
    .await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.json);
    let groups = call(&limited_client, Method::GET, "/api/v1/groups", None).await;
    assert_forbidden_for(&groups, "groups.view");
    let groups = call(&full_client, Method::GET, "/api/v1/groups", None).await;
    assert_eq!(groups.status.as_u16(), 200, "{}", groups.json);

    // Through a group too: removing the direct role and granting it via a group.
    admin
        .unassign_user_role(alice.id, role.id)
        .await
        .expect("unassign");
    let listed = call(&limited_client, Method::GET, "/api/v1/users", None).await;
    assert_forbidden_for(&listed, "users.view");
    assert!(
        limited_client
            .token_self()
            .await
            .expect("self")
            .effective_permissions
            .is_empty()
    );
    let group = admin
        .create_group(&CreateGroup {
            name: "deployers".to_owned(),
            description: None,
        })
        .await
        .expect("group");
    admin
        .assign_group_role(group.id, role.id)
        .await
        .expect("group role");
    admin
        .add_group_member(group.id, alice.id)
        .await
        .expect("member");
    let listed = call(&limited_client, Method::GET, "/api/v1/users", None).await;
    assert_eq!(listed.status.as_u16(), 200, "{}", listed.json);
}

async fn token_permissions_are_validated_and_wildcards_expanded(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (_, alice, _) = user_with(
        &server,
        &admin,
        "alice@example.com",
        &["users.view", "users.create", "groups.view"],
    )
    .await;

    // Names the owner does not hold, unknown names, empty lists and wildcards that take nothing.
    for (n, permissions) in [
        json!(["audit.view"]),
        json!(["users.view", "users.delete"]),
        json!(["users.fly"]),
        json!([]),
        json!(["audit.*"]),
        json!(["nothing.*"]),
        json!(["users"]),
        json!("users.view"),
        json!([42]),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({ "name": format!("bad {n}"), "expires_in_days": 30, "permissions": permissions });
        let answer = call(&alice, Method::POST, "/api/v1/me/tokens", Some(body)).await;
        assert_eq!(
            answer.status.as_u16(),
            400,
            "{permissions}: {}",
            answer.json
        );
        assert_eq!(answer.code(), Some("validation_error"), "{}", answer.json);
        let field = answer.json["details"]["field"].as_str().unwrap_or_default();
        assert!(
            field.starts_with("permissions"),
            "{permissions}: field {field:?}"
        );
    }
    let listed = alice
        .list_my_tokens(&ListParams::default())
        .await
        .expect("list");
    assert_eq!(listed.total, 0, "no refused token was created");

    // Wildcards take exactly the matching permissions held, one dot-separated part each.
    for (name, requested, expected) in [
        ("views", vec!["*.view"], vec!["users.view", "groups.view"]),
        ("users", vec!["users.*"], vec!["users.view", "users.create"]),
        (
            "star dot star",
            vec![" *.* "],
            vec!["users.view", "users.create", "groups.view"],
        ),
        (
            "everything",
            vec!["*"],
            vec!["users.view", "users.create", "groups.view"],
        ),
        (
            "mixed",
            vec!["groups.*", "users.create", "users.create"],
            vec!["groups.view", "users.create"],
        ),
    ] {
        let created = create_token(&alice, None, name, Some(&requested)).await;
        let record = my_record(&alice, created.id).await.expect("listed");
        assert_eq!(
            json_set(&record["permissions"]),
            set(&expected),
            "{requested:?}"
        );
        let inspected = pat(&server, &created).token_self().await.expect("self");
        assert_eq!(set(&inspected.effective_permissions), set(&expected));
    }

    // Stored expanded: a permission the owner gains later does not widen a wildcard token.
    let views = alice
        .list_my_tokens(&ListParams::default())
        .await
        .expect("list")
        .data
        .into_iter()
        .find(|r| r.name == "views")
        .expect("views token");
    let role = create_role(&admin, "auditors", &["audit.view"]).await;
    let me = alice.me().await.expect("me");
    admin
        .assign_user_role(me.user.id, role.id)
        .await
        .expect("assign");
    let after = my_record(&alice, views.id).await.expect("listed");
    assert_eq!(
        json_set(&after["permissions"]),
        set(&["users.view", "groups.view"])
    );

    // Service-account tokens take the service account's own permissions.
    let sa = server.create_service_account("ci@example.com").await;
    let sa_role = create_role(&admin, "ci", &["groups.view", "groups.create"]).await;
    admin
        .assign_user_role(sa.id, sa_role.id)
        .await
        .expect("assign");
    let refused = call(
        &admin,
        Method::POST,
        &format!("/api/v1/users/{}/tokens", sa.id),
        Some(json!({"name": "x", "expires_in_days": 1, "permissions": ["users.view"]})),
    )
    .await;
    assert_validation(&refused, "permissions");
    let sa_token = create_token(&admin, Some(sa.id), "ci read", Some(&["*.view"])).await;
    let listed = admin
        .list_user_tokens(sa.id, &ListParams::default())
        .await
        .expect("list");
    assert_eq!(
        listed.data[0].permissions.as_deref().map(set),
        Some(set(&["groups.view"]))
    );
    let sa_client = pat(&server, &sa_token);
    let groups = call(&sa_client, Method::GET, "/api/v1/groups", None).await;
    assert_eq!(groups.status.as_u16(), 200, "{}", groups.json);
    let create = call(
        &sa_client,
        Method::POST,
        "/api/v1/groups",
        Some(json!({"name": "nope"})),
    )
    .await;
    assert_forbidden_for(&create, "groups.create");
}

async fn a_read_only_token_cannot_change_anything(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    // Bob holds the whole catalogue through the built-in idp:admin role (not is_admin).
    let (bob, bob_jwt) = server.user_client("bob@example.com").await;
    let idp_admin = builtin_role(&admin, "idp:admin").await;
    admin
        .assign_user_role(bob.id, idp_admin)
        .await
        .expect("assign");
    let (carol, carol_jwt) = server.user_client("carol@example.com").await;
    let group = admin
        .create_group(&CreateGroup {
            name: "ops".to_owned(),
            description: None,
        })
        .await
        .expect("group");
    let role = create_role(&admin, "helpers", &["users.view"]).await;
    let sa = server.create_service_account("ci@example.com").await;
    let sa_token = create_token(&admin, Some(sa.id), "ci", None).await;
    let other = create_token(&bob_jwt, None, "other", None).await;
    let read_only = create_token(&bob_jwt, None, "read only", Some(&["*.view"])).await;
    let ro = pat(&server, &read_only);
    assert_eq!(
        set(&ro.token_self().await.expect("self").effective_permissions),
        set(&ALL_VIEWS)
    );
    let session_id = admin
        .list_sessions(&ListParams::default())
        .await
        .expect("sessions")
        .data[0]
        .id;

    // It reads.
    for path in [
        "/api/v1/me".to_owned(),
        "/api/v1/me/tokens".to_owned(),
        "/api/v1/me/tokens/self".to_owned(),
        "/api/v1/users".to_owned(),
        format!("/api/v1/users/{}", carol.id),
        "/api/v1/groups".to_owned(),
        format!("/api/v1/groups/{}/members", group.id),
        "/api/v1/audit".to_owned(),
        "/api/v1/sessions".to_owned(),
    ] {
        let answer = call(&ro, Method::GET, &path, None).await;
        assert_eq!(answer.status.as_u16(), 200, "GET {path}: {}", answer.json);
        assert!(answer.header(EXPIRES_HEADER).is_some(), "GET {path}");
    }

    // It changes nothing.
    let u = carol.id;
    let g = group.id;
    let r = role.id;
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"email": "x@example.com"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{u}"),
            Some(json!({"first_name": "X"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{u}"),
            Some(json!({"is_active": false})),
        ),
        (Method::DELETE, format!("/api/v1/users/{u}"), None),
        (
            Method::POST,
            "/api/v1/groups".into(),
            Some(json!({"name": "new"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/groups/{g}"),
            Some(json!({"name": "renamed"})),
        ),
        (Method::DELETE, format!("/api/v1/groups/{g}"), None),
        (
            Method::POST,
            format!("/api/v1/groups/{g}/members"),
            Some(json!({"user_id": u})),
        ),
        (
            Method::POST,
            format!("/api/v1/groups/{g}/admin-roles"),
            Some(json!({"role_id": r})),
        ),
        (
            Method::POST,
            "/api/v1/admin-roles".into(),
            Some(json!({"name": "n", "permissions": ["users.view"]})),
        ),
        (
            Method::PUT,
            format!("/api/v1/admin-roles/{r}"),
            Some(json!({"description": "changed"})),
        ),
        (Method::DELETE, format!("/api/v1/admin-roles/{r}"), None),
        (
            Method::POST,
            format!("/api/v1/users/{u}/admin-roles"),
            Some(json!({"role_id": r})),
        ),
        (Method::DELETE, format!("/api/v1/users/{u}/sessions"), None),
        (
            Method::DELETE,
            format!("/api/v1/sessions/{session_id}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/users/{}/tokens", sa.id),
            Some(json!({"name": "n", "expires_in_days": 1})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{}/tokens/{}", sa.id, sa_token.id),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/users/{}/tokens/{}/rotate", sa.id, sa_token.id),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/api/v1/me/tokens".into(),
            Some(json!({"name": "n", "expires_in_days": 1})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/me/tokens/{}", other.id),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/me/tokens/{}", read_only.id),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/me/tokens/{}/rotate", other.id),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/me/tokens/{}/rotate", read_only.id),
            None,
        ),
        (
            Method::PUT,
            "/api/v1/me/password".into(),
            Some(
                json!({"current_password": "user-password-1", "new_password": "another-password-2"}),
            ),
        ),
        (Method::POST, "/api/v1/auth/logout".into(), None),
    ];
    for (method, path, body) in attempts {
        let answer = call(&ro, method.clone(), &path, body).await;
        assert_eq!(
            answer.status.as_u16(),
            403,
            "{method} {path}: {}",
            answer.json
        );
        assert!(
            answer.header(EXPIRES_HEADER).is_some(),
            "{method} {path}: expiry header on a refusal"
        );
    }

    // Nothing moved.
    let carol_now = admin.get_user(carol.id).await.expect("carol");
    assert_eq!(carol_now, carol);
    assert_eq!(me_status(&carol_jwt).await, 200);
    let group_now = admin.get_group(group.id).await.expect("group");
    assert_eq!(group_now.name, "ops");
    assert_eq!(group_now.member_count, 0);
    let role_now = admin.get_role(role.id).await.expect("role");
    assert_eq!(role_now.description, role.description);
    assert_eq!(
        admin.list_user_roles(carol.id).await.expect("roles").total,
        0
    );
    assert_eq!(
        admin
            .list_user_tokens(sa.id, &ListParams::default())
            .await
            .expect("sa tokens")
            .total,
        1
    );
    assert_eq!(me_status(&pat(&server, &sa_token)).await, 200);
    assert_eq!(me_status(&pat(&server, &other)).await, 200);
    assert_eq!(me_status(&ro).await, 200);
    assert_eq!(
        bob_jwt
            .list_my_tokens(&ListParams::default())
            .await
            .expect("list")
            .total,
        2
    );
    assert!(
        admin
            .list_users(&ListParams {
                search: Some("x@example.com".to_owned()),
                ..ListParams::default()
            })
            .await
            .expect("users")
            .data
            .is_empty()
    );
    // The same user's full-power token can do these things (the refusals came from the list).
    let full = create_token(&bob_jwt, None, "full", None).await;
    let made = call(
        &pat(&server, &full),
        Method::POST,
        "/api/v1/groups",
        Some(json!({"name": "made by full"})),
    )
    .await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.json);
}

async fn an_admins_fine_grained_token_has_no_admin_bypass(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (carol, _) = server.user_client("carol@example.com").await;
    let other_admin = admin
        .create_user(&justiam_types::CreateUser {
            email: "root2@example.com".to_owned(),
            password: Some("admin-password-2".to_owned()),
            is_admin: Some(true),
            ..justiam_types::CreateUser::default()
        })
        .await
        .expect("second admin");

    // Read-only: the view permissions of the catalogue, and nothing else.
    let ro_token = create_token(&admin, None, "read only", Some(&["*.view"])).await;
    let ro = pat(&server, &ro_token);
    let me = call(&ro, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.json["is_admin"], json!(true));
    assert_eq!(json_set(&me.json["permissions"]), set(&ALL_VIEWS));
    let listed = call(&ro, Method::GET, "/api/v1/users", None).await;
    assert_eq!(listed.status.as_u16(), 200, "{}", listed.json);
    let made = call(
        &ro,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "x@example.com"})),
    )
    .await;
    assert_forbidden_for(&made, "users.create");
    let promote = call(
        &ro,
        Method::PUT,
        &format!("/api/v1/users/{}", carol.id),
        Some(json!({"is_admin": true})),
    )
    .await;
    assert_eq!(promote.status.as_u16(), 403, "{}", promote.json);
    assert_forbidden_for(&inventory(&ro, "").await, "service_accounts.tokens");

    // users.*: may manage ordinary users, but none of the is_admin powers.
    let users_token = create_token(&admin, None, "users", Some(&["users.*"])).await;
    let ut = pat(&server, &users_token);
    assert_eq!(
        set(&ut.token_self().await.expect("self").effective_permissions),
        set(&USERS_ALL)
    );
    let made = call(
        &ut,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "plain@example.com"})),
    )
    .await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.json);
    let renamed = call(
        &ut,
        Method::PUT,
        &format!("/api/v1/users/{}", carol.id),
        Some(json!({"first_name": "Carol"})),
    )
    .await;
    assert_eq!(renamed.status.as_u16(), 200, "{}", renamed.json);
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/users".to_owned(),
            Some(json!({"email": "boss@example.com", "is_admin": true})),
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{}", carol.id),
            Some(json!({"is_admin": true})),
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{}", other_admin.id),
            Some(json!({"first_name": "Changed"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{}", other_admin.id),
            Some(json!({"is_active": false})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{}", other_admin.id),
            None,
        ),
    ] {
        let answer = call(&ut, method.clone(), &path, body).await;
        assert_error(&answer, 403, "forbidden", "administrator");
    }
    assert_forbidden_for(
        &call(&ut, Method::GET, "/api/v1/groups", None).await,
        "groups.view",
    );
    assert_forbidden_for(
        &call(
            &ut,
            Method::POST,
            "/api/v1/admin-roles",
            Some(json!({"name": "r", "permissions": ["users.view"]})),
        )
        .await,
        "admin_roles.manage",
    );
    let revoke = call(
        &ut,
        Method::DELETE,
        &format!("/api/v1/me/tokens/{}", ro_token.id),
        None,
    )
    .await;
    assert_error(&revoke, 403, "forbidden", "fine-grained");
    let rotate = call(
        &ut,
        Method::POST,
        &format!("/api/v1/me/tokens/{}/rotate", ro_token.id),
        Some(json!({})),
    )
    .await;
    assert_error(&rotate, 403, "forbidden", "fine-grained");
    assert_eq!(
        me_status(&ro).await,
        200,
        "the refused revocation did nothing"
    );

    // admin_roles.manage alone: no granting beyond the token's own permissions.
    let roles_token = create_token(&admin, None, "roles", Some(&["admin_roles.manage"])).await;
    let rt = pat(&server, &roles_token);
    let escalate = call(
        &rt,
        Method::POST,
        "/api/v1/admin-roles",
        Some(json!({"name": "escalate", "permissions": ["users.delete"]})),
    )
    .await;
    assert_forbidden_for(&escalate, "users.delete");
    let fine = call(
        &rt,
        Method::POST,
        "/api/v1/admin-roles",
        Some(json!({"name": "managers", "permissions": ["admin_roles.manage"]})),
    )
    .await;
    assert_eq!(fine.status.as_u16(), 201, "{}", fine.json);

    // Nothing above changed an administrator; the admin's full-power token still can.
    assert!(
        admin
            .get_user(other_admin.id)
            .await
            .expect("other admin")
            .is_active
    );
    assert!(!admin.get_user(carol.id).await.expect("carol").is_admin);
    let full = create_token(&admin, None, "full", None).await;
    let promote = call(
        &pat(&server, &full),
        Method::PUT,
        &format!("/api/v1/users/{}", carol.id),
        Some(json!({"is_admin": true})),
    )
    .await;
    assert_eq!(promote.status.as_u16(), 200, "{}", promote.json);
    assert_eq!(promote.json["is_admin"], json!(true));
}

// --- self-inspection and the expiry header ---------------------------------------------------------

async fn self_inspection_and_the_expiry_header(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (alice, alice_jwt, _) =
        user_with(&server, &admin, "alice@example.com", &["users.view"]).await;
    let created = alice_jwt
        .create_my_token("automation", 30)
        .await
        .expect("create");
    let client = pat(&server, &created);

    let answer = call(&client, Method::GET, "/api/v1/me/tokens/self", None).await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.json);
    assert_eq!(
        keys(&answer.json),
        set(&[
            "id",
            "name",
            "created_at",
            "expires_at",
            "last_used_at",
            "token_hint",
            "expired",
            "effective_permissions",
            "owner"
        ])
    );
    let body = &answer.json;
    assert_eq!(body["id"], json!(created.id.to_string()));
    assert_eq!(body["name"], json!("automation"));
    assert_eq!(time_of(&body["expires_at"]), created.expires_at);
    assert_eq!(body["expired"], json!(false));
    assert_eq!(
        body["token_hint"],
        json!(format!("…{}", &created.token[created.token.len() - 4..]))
    );
    assert_eq!(
        json_set(&body["effective_permissions"]),
        set(&["users.view"])
    );
    assert_eq!(
        body["owner"],
        json!({"id": alice.id, "email": "alice@example.com", "is_service_account": false})
    );
    assert!(!answer.json.to_string().contains(&created.token));

    // The header: the token's expiry, RFC 3339 to the second, on every PAT-authenticated answer.
    let expected = created
        .expires_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(answer.header(EXPIRES_HEADER), Some(expected.as_str()));
    let parsed: DateTime<Utc> = expected.parse().expect("RFC 3339");
    assert!((created.expires_at - parsed).num_milliseconds().abs() < 1000);
    for (method, path, body, status) in [
        (Method::GET, "/api/v1/me".to_owned(), None, 200),
        (Method::GET, "/api/v1/users".to_owned(), None, 200),
        (Method::GET, "/api/v1/groups".to_owned(), None, 403),
        (
            Method::DELETE,
            format!("/api/v1/me/tokens/{}", Uuid::now_v7()),
            None,
            404,
        ),
        (
            Method::GET,
            format!("/api/v1/users/{}", Uuid::now_v7()),
            None,
            404,
        ),
        (
            Method::GET,
            "/api/v1/users/not-a-uuid".to_owned(),
            None,
            400,
        ),
        (
            Method::POST,
            "/api/v1/me/tokens".to_owned(),
            Some(json!({"name": "again", "expires_in_days": 1})),
            403,
        ),
    ] {
        let answer = call(&client, method.clone(), &path, body).await;
        assert_eq!(
            answer.status.as_u16(),
            status,
            "{method} {path}: {}",
            answer.json
        );
        assert_eq!(
            answer.header(EXPIRES_HEADER),
            Some(expected.as_str()),
            "{method} {path}"
        );
    }

    // A JWT is not a token: 400 not_a_token, and no header anywhere.
    let answer = call(&alice_jwt, Method::GET, "/api/v1/me/tokens/self", None).await;
    assert_error(&answer, 400, "not_a_token", "personal access token");
    assert_eq!(answer.header(EXPIRES_HEADER), None);
    for path in ["/api/v1/me", "/api/v1/me/tokens", "/api/v1/groups"] {
        let answer = call(&alice_jwt, Method::GET, path, None).await;
        assert_eq!(answer.header(EXPIRES_HEADER), None, "JWT {path}");
    }
    // Nor on unauthenticated answers or refused tokens.
    let answer = call(
        &server.anonymous(),
        Method::GET,
        "/api/v1/me/tokens/self",
        None,
    )
    .await;
    assert_error(&answer, 401, "unauthorized", "");
    assert_eq!(answer.header(EXPIRES_HEADER), None);
    alice_jwt.revoke_my_token(created.id).await.expect("revoke");
    let answer = call(&client, Method::GET, "/api/v1/me/tokens/self", None).await;
    assert_invalid_token(&answer);
    assert_eq!(answer.header(EXPIRES_HEADER), None);

    // A fine-grained service-account token sees its list, its effective set and its owner.
    let sa = server.create_service_account("deploy@example.com").await;
    let role = create_role(&admin, "deploy", &["groups.view", "users.view"]).await;
    admin
        .assign_user_role(sa.id, role.id)
        .await
        .expect("assign");
    let sa_token = admin
        .create_token(
            Some(sa.id),
            &token_body("deploy", 7, Some(&["groups.view"])),
        )
        .await
        .expect("create");
    let inspected = pat(&server, &sa_token).token_self().await.expect("self");
    assert_eq!(inspected.record.id, sa_token.id);
    assert_eq!(inspected.record.expires_at, sa_token.expires_at);
    assert_eq!(
        inspected.record.permissions.as_deref().map(set),
        Some(set(&["groups.view"]))
    );
    assert_eq!(set(&inspected.effective_permissions), set(&["groups.view"]));
    assert_eq!(inspected.owner.id, sa.id);
    assert_eq!(inspected.owner.email, "deploy@example.com");
    assert!(inspected.owner.is_service_account);
    // An administrator's full-power token sees the whole catalogue.
    let admin_token = create_token(&admin, None, "admin", None).await;
    let inspected = pat(&server, &admin_token).token_self().await.expect("self");
    assert_eq!(inspected.effective_permissions.len(), 31);
    assert_eq!(inspected.record.permissions, None);
}

// --- rotation -------------------------------------------------------------------------------------

async fn rotation_honours_the_grace_period_to_the_second(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, alice) = server.user_client("alice@example.com").await;
    let old = alice.create_my_token("deploy", 30).await.expect("create");
    let old_client = pat(&server, &old);

    let answer = call(
        &alice,
        Method::POST,
        &format!("/api/v1/me/tokens/{}/rotate", old.id),
        Some(json!({"grace_period_seconds": 2})),
    )
    .await;
    assert_eq!(answer.status.as_u16(), 201, "{}", answer.json);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(
        keys(&answer.json),
        set(&["id", "name", "token", "expires_at", "rotated_from"])
    );
    assert_eq!(answer.json["name"], json!("deploy"));
    assert_eq!(answer.json["rotated_from"], json!(old.id.to_string()));
    let new: CreatedToken = serde_json::from_value(answer.json.clone()).expect("CreatedToken");
    assert_ne!(new.id, old.id);
    assert_ne!(new.token, old.token);
    let new_client = pat(&server, &new);

    // The successor keeps the original lifetime; the predecessor's revocation is 2 s after.
    let new_record = my_record(&alice, new.id).await.expect("listed");
    let created_at = time_of(&new_record["created_at"]);
    assert_eq!(
        (new.expires_at - created_at).num_milliseconds(),
        30 * DAY_MS
    );
    let old_record = my_record(&alice, old.id)
        .await
        .expect("still listed during the grace period");
    let revoke_at = time_of(&old_record["revoked_at"]);
    let grace = (revoke_at - created_at).num_milliseconds();
    assert!((1_900..=2_000).contains(&grace), "grace {grace} ms");
    assert_eq!(old_record["revoke_reason"], json!("rotated"));
    assert_eq!(old_record["replaced_by"], json!(new.id.to_string()));

    // Both work during the grace period — until its last moments — then the old one is refused.
    assert_eq!(me_status(&old_client).await, 200);
    assert_eq!(me_status(&new_client).await, 200);
    sleep_until(revoke_at - chrono::Duration::milliseconds(900)).await;
    assert_eq!(
        me_status(&old_client).await,
        200,
        "about 1 s into the grace"
    );
    sleep_until(revoke_at + chrono::Duration::milliseconds(300)).await;
    assert_invalid_token(&call(&old_client, Method::GET, "/api/v1/me", None).await);
    assert_eq!(me_status(&new_client).await, 200);
    assert!(
        my_record(&alice, old.id).await.is_none(),
        "a revoked token leaves the list"
    );

    // Grace 0 (and the default, with an empty body) refuses the old token at once.
    let third = alice
        .rotate_token(
            None,
            new.id,
            &RotateToken {
                expires_in_days: Some(7),
                grace_period_seconds: Some(0),
            },
        )
        .await
        .expect("rotate with grace 0");
    assert_invalid_token(&call(&new_client, Method::GET, "/api/v1/me", None).await);
    let third_record = my_record(&alice, third.id).await.expect("listed");
    assert_eq!(
        (third.expires_at - time_of(&third_record["created_at"])).num_milliseconds(),
        7 * DAY_MS,
        "an explicit lifetime"
    );
    let answer = call(
        &alice,
        Method::POST,
        &format!("/api/v1/me/tokens/{}/rotate", third.id),
        None,
    )
    .await;
    assert_eq!(answer.status.as_u16(), 201, "empty body: {}", answer.json);
    assert_invalid_token(&call(&pat(&server, &third), Method::GET, "/api/v1/me", None).await);
    let fourth_id: Uuid = serde_json::from_value(answer.json["id"].clone()).expect("id");
    let fourth = my_record(&alice, fourth_id).await.expect("listed");
    assert_eq!(
        (time_of(&fourth["expires_at"]) - time_of(&fourth["created_at"])).num_milliseconds(),
        7 * DAY_MS,
        "the default lifetime is the predecessor's"
    );

    // Validation of the body.
    for (body, field) in [
        (json!({"grace_period_seconds": -1}), "grace_period_seconds"),
        (
            json!({"grace_period_seconds": 86_401}),
            "grace_period_seconds",
        ),
        (json!({"grace_period_seconds": 1.5}), "grace_period_seconds"),
        (json!({"grace_period_seconds": "5"}), "grace_period_seconds"),
        (json!({"expires_in_days": 0}), "expires_in_days"),
        (json!({"expires_in_days": 366}), "expires_in_days"),
        (json!({"name": "renamed"}), "name"),
    ] {
        let answer = call(
            &alice,
            Method::POST,
            &format!("/api/v1/me/tokens/{fourth_id}/rotate"),
            Some(body.clone()),
        )
        .await;
        assert_validation(&answer, field);
    }
    // The refusals left the token alone; the largest grace is accepted.
    let last = alice
        .rotate_token(
            None,
            fourth_id,
            &RotateToken {
                expires_in_days: Some(365),
                grace_period_seconds: Some(86_400),
            },
        )
        .await
        .expect("largest grace");
    let old_record = my_record(&alice, fourth_id).await.expect("in grace");
    let delay = time_of(&old_record["revoked_at"])
        - time_of(&my_record(&alice, last.id).await.expect("new")["created_at"]);
    assert!((delay.num_seconds() - 86_400).abs() <= 1, "{delay}");
}

async fn the_rotation_chain_is_visible_and_rotating_twice_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (alice, alice_jwt, _) = user_with(
        &server,
        &admin,
        "alice@example.com",
        &["users.view", "groups.view"],
    )
    .await;
    let a = create_token(&alice_jwt, None, "chain", Some(&["users.view"])).await;
    let b = alice_jwt
        .rotate_token(
            None,
            a.id,
            &RotateToken {
                expires_in_days: None,
                grace_period_seconds: Some(600),
            },
        )
        .await
        .expect("rotate a");
    assert_eq!(b.rotated_from, Some(a.id));
    assert_eq!(b.name, "chain");

    // The successor keeps the permission list.
    let b_self = pat(&server, &b).token_self().await.expect("self");
    assert_eq!(b_self.record.rotated_from, Some(a.id));
    assert_eq!(
        b_self.record.permissions.as_deref().map(set),
        Some(set(&["users.view"]))
    );
    assert_eq!(set(&b_self.effective_permissions), set(&["users.view"]));

    // The old token, in its grace period, sees that it is on its way out.
    let a_self = pat(&server, &a).token_self().await.expect("self in grace");
    assert_eq!(a_self.record.replaced_by, Some(b.id));
    assert_eq!(a_self.record.revoke_reason.as_deref(), Some("rotated"));
    assert!(a_self.record.revoked_at.expect("revoked_at") > Utc::now());

    // Rotating the same token again is refused, during the grace period and after.
    let again = call(
        &alice_jwt,
        Method::POST,
        &format!("/api/v1/me/tokens/{}/rotate", a.id),
        Some(json!({})),
    )
    .await;
    assert_error(&again, 409, "already_rotated", "rotated");
    let c = alice_jwt
        .rotate_token(None, b.id, &RotateToken::default())
        .await
        .expect("rotate b");
    assert_eq!(c.rotated_from, Some(b.id));
    for id in [a.id, b.id] {
        let again = call(
            &alice_jwt,
            Method::POST,
            &format!("/api/v1/me/tokens/{id}/rotate"),
            Some(json!({"grace_period_seconds": 5})),
        )
        .await;
        assert_error(&again, 409, "already_rotated", "rotated");
    }

    // The chain in the owner's list: a (in its grace period) and c; b is gone.
    let list: Vec<PatRecord> = alice_jwt
        .list_my_tokens(&ListParams::default())
        .await
        .expect("list")
        .data;
    assert_eq!(
        list.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![c.id, a.id]
    );
    let a_record = &list[1];
    assert_eq!(a_record.replaced_by, Some(b.id));
    assert_eq!(a_record.revoke_reason.as_deref(), Some("rotated"));
    assert!(a_record.revoked_at.expect("revoked_at") > Utc::now());
    assert_eq!(list[0].rotated_from, Some(b.id));
    assert_eq!(list[0].replaced_by, None);
    assert_eq!(list[0].revoked_at, None);

    // The whole chain in the inventory, with states.
    let page = admin
        .token_inventory(
            &ListParams::default(),
            &[("owner_id", &alice.id.to_string())],
        )
        .await
        .expect("inventory");
    assert_eq!(page.total, 3);
    let item = |id: Uuid| {
        page.data
            .iter()
            .find(|i| i.record.id == id)
            .unwrap_or_else(|| panic!("{id} in the inventory"))
    };
    assert_eq!(item(a.id).state, "active", "in its grace period");
    assert_eq!(item(a.id).record.replaced_by, Some(b.id));
    assert_eq!(item(b.id).state, "revoked");
    assert_eq!(item(b.id).record.rotated_from, Some(a.id));
    assert_eq!(item(b.id).record.replaced_by, Some(c.id));
    assert_eq!(item(b.id).record.revoke_reason.as_deref(), Some("rotated"));
    assert_eq!(item(c.id).state, "active");
    assert_eq!(item(c.id).record.rotated_from, Some(b.id));
    for i in &page.data {
        assert_eq!(i.record.name, "chain");
        assert_eq!(
            i.record.permissions.as_deref().map(set),
            Some(set(&["users.view"]))
        );
    }

    // One audit entry per rotation, naming both ends.
    let audit = admin
        .list_audit(&ListParams::default(), &[("action", "token.rotated")])
        .await
        .expect("audit");
    assert_eq!(audit.total, 2);
    for (new, old) in [(b.id, a.id), (c.id, b.id)] {
        let entry = audit
            .data
            .iter()
            .find(|e| e.target_id == Some(new))
            .expect("rotation entry");
        assert_eq!(entry.actor_id, Some(alice.id));
        assert_eq!(entry.credential.as_deref(), Some("jwt"));
        assert_eq!(entry.target_type.as_deref(), Some("token"));
        let details = entry.details.as_ref().expect("details");
        assert_eq!(details["rotated_from"], json!(old.to_string()));
        assert_eq!(details["target_user_id"], json!(alice.id.to_string()));
        assert!(
            !serde_json::to_string(entry)
                .expect("json")
                .contains("justiam_pat_")
        );
    }
    let created = admin
        .list_audit(&ListParams::default(), &[("action", "token.created")])
        .await
        .expect("audit");
    assert_eq!(created.total, 1, "a rotation is not also a creation");
    let revoked = admin
        .list_audit(&ListParams::default(), &[("action", "token.revoked")])
        .await
        .expect("audit");
    assert_eq!(revoked.total, 0, "nor a revocation");

    // Unknown, foreign, revoked and malformed ids.
    let (_, bob) = server.user_client("bob@example.com").await;
    let bobs = bob.create_my_token("bob's", 5).await.expect("bob token");
    let dropped = alice_jwt
        .create_my_token("dropped", 5)
        .await
        .expect("token");
    alice_jwt.revoke_my_token(dropped.id).await.expect("revoke");
    for id in [Uuid::now_v7(), bobs.id, dropped.id] {
        let answer = call(
            &alice_jwt,
            Method::POST,
            &format!("/api/v1/me/tokens/{id}/rotate"),
            Some(json!({})),
        )
        .await;
        assert_error(&answer, 404, "not_found", "");
    }
    assert_eq!(me_status(&pat(&server, &bobs)).await, 200);
    let answer = call(
        &alice_jwt,
        Method::POST,
        "/api/v1/me/tokens/nope/rotate",
        Some(json!({})),
    )
    .await;
    assert_validation(&answer, "path");

    // A token cannot rotate tokens of its own user: that needs a login.
    let full = alice_jwt.create_my_token("full", 5).await.expect("full");
    let answer = call(
        &pat(&server, &full),
        Method::POST,
        &format!("/api/v1/me/tokens/{}/rotate", c.id),
        Some(json!({})),
    )
    .await;
    assert_error(&answer, 403, "interactive_auth_required", "");
    let answer = call(
        &pat(&server, &c),
        Method::POST,
        &format!("/api/v1/me/tokens/{}/rotate", c.id),
        Some(json!({})),
    )
    .await;
    assert_error(&answer, 403, "forbidden", "fine-grained");
    assert_eq!(me_status(&pat(&server, &c)).await, 200);

    // Concurrent rotations of one token: exactly one wins.
    let d = alice_jwt.create_my_token("raced", 5).await.expect("token");
    let attempts = (0..5).map(|_| {
        let client = alice_jwt.clone();
        let path = format!("/api/v1/me/tokens/{}/rotate", d.id);
        tokio::spawn(async move { call(&client, Method::POST, &path, Some(json!({}))).await })
    });
    let mut statuses = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        let answer = attempt.await.expect("task");
        if answer.status.as_u16() == 409 {
            assert_eq!(answer.code(), Some("already_rotated"), "{}", answer.json);
        }
        statuses.push(answer.status.as_u16());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409]);
    let raced: Vec<PatRecord> = alice_jwt
        .list_my_tokens(&ListParams::default())
        .await
        .expect("list")
        .data
        .into_iter()
        .filter(|r| r.name == "raced")
        .collect();
    assert_eq!(raced.len(), 1, "one successor: {raced:?}");
    assert_eq!(raced[0].rotated_from, Some(d.id));
    alice_jwt
        .revoke_my_token(raced[0].id)
        .await
        .expect("revoke");

    // A token in its grace period can still be revoked outright, and stops at once.
    assert_eq!(me_status(&pat(&server, &a)).await, 200);
    alice_jwt
        .revoke_my_token(a.id)
        .await
        .expect("revoke in grace");
    assert_invalid_token(&call(&pat(&server, &a), Method::GET, "/api/v1/me", None).await);
    assert!(my_record(&alice_jwt, a.id).await.is_none());
    assert_api_error(alice_jwt.revoke_my_token(a.id).await, 404, "not_found");
    assert_eq!(me_status(&pat(&server, &c)).await, 200);
}

async fn rotation_is_not_limited_by_the_token_cap(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, alice) = server.user_client("alice@example.com").await;
    let mut first = None;
    for n in 0..100 {
        let created = alice
            .create_my_token(&format!("t{n}"), 30)
            .await
            .expect("create");
        first.get_or_insert(created);
    }
    let refused = alice.create_my_token("one too many", 30).await;
    assert_api_error(refused, 409, "token_limit_reached");
    let first = first.expect("first");
    let rotated = alice
        .rotate_token(
            None,
            first.id,
            &RotateToken {
                expires_in_days: None,
                grace_period_seconds: Some(60),
            },
        )
        .await
        .expect("rotation at the cap");
    assert_eq!(rotated.name, "t0");
    assert_eq!(me_status(&pat(&server, &rotated)).await, 200);
    assert_eq!(me_status(&pat(&server, &first)).await, 200, "in its grace");
    let refused = alice.create_my_token("still too many", 30).await;
    assert_api_error(refused, 409, "token_limit_reached");
}

/// The worked example of the docs: a CI pipeline rotates its deployment service account's token
/// with an operator token, then switches to the new value before the old one stops.
async fn an_operator_rotates_a_service_account_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let deploy = server.create_service_account("deploy@example.com").await;
    let role = create_role(&admin, "deployer", &["groups.view"]).await;
    admin
        .assign_user_role(deploy.id, role.id)
        .await
        .expect("assign");
    let deploy_token = create_token(&admin, Some(deploy.id), "deploy", None).await;
    // The operator is a service account too, with a token limited to the job — including the
    // deployment account's permissions, which a non-admin manager must hold to hand them out.
    let rotator = server
        .create_service_account("token-rotator@example.com")
        .await;
    let rotation_role = create_role(
        &admin,
        "token-rotation",
        &["service_accounts.tokens", "groups.view"],
    )
    .await;
    admin
        .assign_user_role(rotator.id, rotation_role.id)
        .await
        .expect("assign");
    let operator_token = create_token(
        &admin,
        Some(rotator.id),
        "rotation job",
        Some(&["service_accounts.tokens", "groups.view"]),
    )
    .await;
    let operator = pat(&server, &operator_token);

    // Step 1 of the job: the deployment token tells which token it is and whose.
    let inspected = pat(&server, &deploy_token)
        .token_self()
        .await
        .expect("self");
    assert_eq!(inspected.record.id, deploy_token.id);
    assert_eq!(inspected.owner.id, deploy.id);

    let answer = call(
        &operator,
        Method::POST,
        &format!(
            "/api/v1/users/{}/tokens/{}/rotate",
            inspected.owner.id, inspected.record.id
        ),
        Some(json!({"grace_period_seconds": 2, "expires_in_days": 90})),
    )
    .await;
    assert_eq!(answer.status.as_u16(), 201, "{}", answer.json);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(
        answer.json["rotated_from"],
        json!(deploy_token.id.to_string())
    );
    let new: CreatedToken = serde_json::from_value(answer.json).expect("CreatedToken");
    let old_client = pat(&server, &deploy_token);
    let new_client = pat(&server, &new);
    assert_eq!(me_status(&old_client).await, 200);
    let me = call(&new_client, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.json["id"], json!(deploy.id.to_string()));
    let records = admin
        .list_user_tokens(deploy.id, &ListParams::default())
        .await
        .expect("list")
        .data;
    let old_record = records
        .iter()
        .find(|r| r.id == deploy_token.id)
        .expect("old");
    assert_eq!(old_record.replaced_by, Some(new.id));
    let revoke_at = old_record.revoked_at.expect("revoked_at");
    let new_record = records.iter().find(|r| r.id == new.id).expect("new");
    assert_eq!(
        (new_record.expires_at - new_record.created_at).num_milliseconds(),
        90 * DAY_MS
    );
    sleep_until(revoke_at - chrono::Duration::milliseconds(800)).await;
    assert_eq!(me_status(&old_client).await, 200);
    sleep_until(revoke_at + chrono::Duration::milliseconds(300)).await;
    assert_invalid_token(&call(&old_client, Method::GET, "/api/v1/me", None).await);
    assert_eq!(me_status(&new_client).await, 200);

    // The audit entry names the operator's token as the credential.
    let audit = admin
        .list_audit(&ListParams::default(), &[("action", "token.rotated")])
        .await
        .expect("audit");
    assert_eq!(audit.total, 1);
    assert_eq!(audit.data[0].credential.as_deref(), Some("pat"));
    assert_eq!(audit.data[0].credential_id, Some(operator_token.id));
    assert_eq!(audit.data[0].target_id, Some(new.id));
    let details = audit.data[0].details.as_ref().expect("details");
    assert_eq!(details["target_user_id"], json!(deploy.id.to_string()));

    // An administrator's full-power token may rotate it too.
    let admin_token = create_token(&admin, None, "admin", None).await;
    let again = pat(&server, &admin_token)
        .rotate_token(Some(deploy.id), new.id, &RotateToken::default())
        .await
        .expect("admin PAT rotates");
    assert_eq!(again.rotated_from, Some(new.id));
    assert_invalid_token(&call(&new_client, Method::GET, "/api/v1/me", None).await);

    // Refusals: no permission, wrong service account, not a service account, own token.
    let (plain, plain_jwt) = server.user_client("plain@example.com").await;
    let answer = call(
        &plain_jwt,
        Method::POST,
        &format!("/api/v1/users/{}/tokens/{}/rotate", deploy.id, again.id),
        Some(json!({})),
    )
    .await;
    assert_forbidden_for(&answer, "service_accounts.tokens");
    let other_sa = server.create_service_account("other@example.com").await;
    let answer = call(
        &operator,
        Method::POST,
        &format!("/api/v1/users/{}/tokens/{}/rotate", other_sa.id, again.id),
        Some(json!({})),
    )
    .await;
    assert_error(&answer, 404, "not_found", "");
    let plain_token = plain_jwt.create_my_token("mine", 5).await.expect("token");
    let answer = call(
        &operator,
        Method::POST,
        &format!(
            "/api/v1/users/{}/tokens/{}/rotate",
            plain.id, plain_token.id
        ),
        Some(json!({})),
    )
    .await;
    assert_error(&answer, 400, "not_a_service_account", "");
    let answer = call(
        &pat(&server, &again),
        Method::POST,
        &format!("/api/v1/me/tokens/{}/rotate", again.id),
        Some(json!({})),
    )
    .await;
    assert_error(&answer, 403, "interactive_auth_required", "");
    assert_eq!(me_status(&pat(&server, &again)).await, 200);

    // Recovery when the new value was lost: retrying answers 409, the successor is found through
    // `replaced_by` and rotated in turn, while the old value still works in its grace period.
    let lost = operator
        .rotate_token(
            Some(deploy.id),
            again.id,
            &RotateToken {
                expires_in_days: None,
                grace_period_seconds: Some(600),
            },
        )
        .await
        .expect("rotate");
    assert_api_error(
        operator
            .rotate_token(Some(deploy.id), again.id, &RotateToken::default())
            .await,
        409,
        "already_rotated",
    );
    let successor = operator
        .list_user_tokens(deploy.id, &ListParams::default())
        .await
        .expect("list")
        .data
        .into_iter()
        .find(|r| r.id == again.id)
        .and_then(|r| r.replaced_by)
        .expect("replaced_by");
    assert_eq!(successor, lost.id);
    let recovered = operator
        .rotate_token(Some(deploy.id), successor, &RotateToken::default())
        .await
        .expect("rotate the successor");
    assert_invalid_token(&call(&pat(&server, &lost), Method::GET, "/api/v1/me", None).await);
    assert_eq!(me_status(&pat(&server, &again)).await, 200, "in its grace");
    assert_eq!(me_status(&pat(&server, &recovered)).await, 200);

    // An expired token can still be rotated by the operator; the replacement lives anew. (The
    // expiry is forced in the database, so on a token no request has used yet.)
    let recovered = operator
        .rotate_token(Some(deploy.id), recovered.id, &RotateToken::default())
        .await
        .expect("rotate");
    let done = sqlx::query("UPDATE personal_access_tokens SET expires_at = $1 WHERE id = $2")
        .bind(justiam_core::time::now_millis() - 1000)
        .bind(recovered.id.to_string())
        .execute(server.pool())
        .await
        .expect("expire");
    server.after_direct_sql();
    assert_eq!(done.rows_affected(), 1);
    assert_invalid_token(&call(&pat(&server, &recovered), Method::GET, "/api/v1/me", None).await);
    let renewed = operator
        .rotate_token(
            Some(deploy.id),
            recovered.id,
            &RotateToken {
                expires_in_days: Some(30),
                grace_period_seconds: None,
            },
        )
        .await
        .expect("rotate an expired token");
    let lifetime = renewed.expires_at - Utc::now();
    assert!(
        (lifetime - chrono::Duration::days(30)).num_seconds().abs() < 60,
        "{lifetime}"
    );
    assert_eq!(me_status(&pat(&server, &renewed)).await, 200);

    // Once the deployment account holds more than the operator's token, the operator is refused.
    admin
        .update_role(
            role.id,
            &UpdateAdminRole {
                permissions: Some(vec!["groups.view".to_owned(), "users.view".to_owned()]),
                ..UpdateAdminRole::default()
            },
        )
        .await
        .expect("widen deployer");
    let answer = call(
        &operator,
        Method::POST,
        &format!("/api/v1/users/{}/tokens/{}/rotate", deploy.id, renewed.id),
        Some(json!({})),
    )
    .await;
    assert_forbidden_for(&answer, "users.view");
    assert_eq!(me_status(&pat(&server, &renewed)).await, 200);
}

// --- leak response --------------------------------------------------------------------------------

async fn the_leak_endpoint_revokes_valid_tokens_and_reveals_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (alice, alice_jwt) = server.user_client("alice@example.com").await;
    let sa = server.create_service_account("ci@example.com").await;
    let leaked = alice_jwt.create_my_token("leaked", 30).await.expect("t");
    let kept = alice_jwt.create_my_token("kept", 30).await.expect("t");
    let sa_leaked = create_token(&admin, Some(sa.id), "ci", None).await;
    let already = alice_jwt.create_my_token("already", 30).await.expect("t");
    alice_jwt.revoke_my_token(already.id).await.expect("revoke");
    let in_grace = alice_jwt.create_my_token("in grace", 30).await.expect("t");
    let successor = alice_jwt
        .rotate_token(
            None,
            in_grace.id,
            &RotateToken {
                expires_in_days: None,
                grace_period_seconds: Some(600),
            },
        )
        .await
        .expect("rotate");
    assert_eq!(me_status(&pat(&server, &in_grace)).await, 200);

    let expired = alice_jwt.create_my_token("expired", 1).await.expect("t");
    let done = sqlx::query("UPDATE personal_access_tokens SET expires_at = $1 WHERE id = $2")
        .bind(justiam_core::time::now_millis() - 1000)
        .bind(expired.id.to_string())
        .execute(server.pool())
        .await
        .expect("expire");
    server.after_direct_sql();
    assert_eq!(done.rows_affected(), 1);

    let unknown = unknown_but_well_formed();
    let mut bad_checksum = leaked.token.clone();
    let last = bad_checksum.pop().expect("char");
    bad_checksum.push(if last == 'A' { 'B' } else { 'A' });
    let garbage = [
        "not a token",
        "",
        unknown.as_str(),
        bad_checksum.as_str(),
        "justiam_pat_",
        already.token.as_str(),
        expired.token.as_str(),
    ];

    // Nothing valid, an empty list, and valid values mixed with garbage: the same answer.
    let (status, headers, nothing) = report_leak(&server, &garbage, None).await;
    assert_eq!(status, 202);
    let (empty_status, _, empty) = report_leak(&server, &[], None).await;
    assert_eq!(empty_status, 202);
    let mut mixed = garbage.to_vec();
    mixed.extend([
        leaked.token.as_str(),
        sa_leaked.token.as_str(),
        in_grace.token.as_str(),
        leaked.token.as_str(),
    ]);
    let (mixed_status, mixed_headers, valid) = report_leak(&server, &mixed, None).await;
    assert_eq!(mixed_status, 202);
    assert_eq!(valid, nothing, "byte-identical bodies");
    assert_eq!(empty, nothing, "byte-identical bodies");
    for name in ["content-type", "content-length", "cache-control"] {
        assert_eq!(headers.get(name), mixed_headers.get(name), "{name}");
    }
    assert_eq!(headers.get(EXPIRES_HEADER), None);
    let body: Value = serde_json::from_slice(&valid).expect("JSON body");
    assert_eq!(body["status"], json!("accepted"));
    let text = String::from_utf8(valid).expect("utf-8");
    assert!(!text.contains("justiam_pat_"), "{text}");

    // The valid ones stop working (in the background), the others are left alone.
    for token in [&leaked, &sa_leaked, &in_grace] {
        wait_until_refused(&pat(&server, token), 3).await;
    }
    assert_eq!(me_status(&pat(&server, &kept)).await, 200);
    assert_eq!(me_status(&pat(&server, &successor)).await, 200);

    // The owners see why.
    let page = admin
        .token_inventory(
            &ListParams {
                limit: Some(100),
                ..ListParams::default()
            },
            &[],
        )
        .await
        .expect("inventory");
    let item = |id: Uuid| {
        page.data
            .iter()
            .find(|i| i.record.id == id)
            .unwrap_or_else(|| panic!("{id} listed"))
    };
    for id in [leaked.id, sa_leaked.id, in_grace.id] {
        assert_eq!(item(id).state, "revoked");
        assert_eq!(item(id).record.revoke_reason.as_deref(), Some("leaked"));
        assert!(item(id).record.revoked_at.expect("revoked_at") <= Utc::now());
    }
    assert_eq!(
        item(already.id).record.revoke_reason.as_deref(),
        Some("revoked")
    );
    assert_eq!(
        item(expired.id).state,
        "expired",
        "an expired token is left alone"
    );
    assert_eq!(item(expired.id).record.revoke_reason, None);
    assert_eq!(item(kept.id).state, "active");
    assert!(my_record(&alice_jwt, leaked.id).await.is_none());

    let audit = admin
        .list_audit(
            &ListParams::default(),
            &[("action", "token.revoked_as_leaked")],
        )
        .await
        .expect("audit");
    assert_eq!(audit.total, 3, "one entry per revoked token: {audit:?}");
    for (token, owner) in [
        (&leaked, alice.id),
        (&sa_leaked, sa.id),
        (&in_grace, alice.id),
    ] {
        let entry = audit
            .data
            .iter()
            .find(|e| e.target_id == Some(token.id))
            .expect("entry");
        assert_eq!(entry.actor_id, None);
        assert_eq!(entry.credential, None);
        assert_eq!(entry.target_type.as_deref(), Some("token"));
        assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));
        let details = entry.details.as_ref().expect("details");
        assert_eq!(details["target_user_id"], json!(owner.to_string()));
        let text = serde_json::to_string(entry).expect("json");
        assert!(!text.contains("justiam_pat_"), "{text}");
    }

    // Reporting again changes nothing and writes nothing.
    let (status, _, again) = report_leak(&server, &mixed, None).await;
    assert_eq!(status, 202);
    assert_eq!(again, nothing);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let audit = admin
        .list_audit(
            &ListParams::default(),
            &[("action", "token.revoked_as_leaked")],
        )
        .await
        .expect("audit");
    assert_eq!(audit.total, 3);

    // At most 100 values; a malformed body is refused before anything else.
    let many: Vec<String> = (0..101).map(|n| format!("value {n}")).collect();
    let answer = call(
        &server.anonymous(),
        Method::POST,
        "/api/v1/tokens/revoke",
        Some(json!({ "tokens": many })),
    )
    .await;
    assert_validation(&answer, "tokens");
    let answer = call(
        &server.anonymous(),
        Method::POST,
        "/api/v1/tokens/revoke",
        Some(json!({ "tokens": &many[..100] })),
    )
    .await;
    assert_eq!(answer.status.as_u16(), 202, "{}", answer.json);
    let answer = call(
        &server.anonymous(),
        Method::POST,
        "/api/v1/tokens/revoke",
        Some(json!({})),
    )
    .await;
    assert_validation(&answer, "tokens");
    let answer = call(
        &server.anonymous(),
        Method::POST,
        "/api/v1/tokens/revoke",
        Some(json!({"tokens": "one"})),
    )
    .await;
    assert_validation(&answer, "tokens");
    // A credential, even a broken one, is ignored.
    let answer = call(
        &server.anonymous().with_token("justiam_pat_garbage"),
        Method::POST,
        "/api/v1/tokens/revoke",
        Some(json!({ "tokens": [] })),
    )
    .await;
    assert_eq!(answer.status.as_u16(), 202, "{}", answer.json);
    assert_eq!(serde_json::to_vec(&answer.json).expect("json"), nothing);
    // Through the typed client too.
    server
        .anonymous()
        .report_leaked_tokens(vec![kept.token.clone()])
        .await
        .expect("report");
    wait_until_refused(&pat(&server, &kept), 3).await;
}

async fn the_leak_endpoint_is_throttled_per_address(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
    })
    .await;
    let (_, alice) = server.user_client("alice@example.com").await;
    let token = alice.create_my_token("spared", 30).await.expect("t");
    let other = alice.create_my_token("reported", 30).await.expect("t");

    for n in 0..10 {
        let (status, _, _) = report_leak(&server, &["garbage"], Some("203.0.113.7")).await;
        assert_eq!(status, 202, "report {n}");
    }
    let (status, headers, body) =
        report_leak(&server, &[token.token.as_str()], Some("203.0.113.7")).await;
    assert_eq!(status, 429);
    let body: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(body["code"], json!("too_many_requests"));
    let retry_after: u64 = headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert_eq!(retry_after, 60);
    // A throttled report revokes nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(me_status(&pat(&server, &token)).await, 200);

    // Another address has its own budget, and its address is what the audit records.
    let (status, _, _) = report_leak(&server, &[other.token.as_str()], Some("198.51.100.9")).await;
    assert_eq!(status, 202);
    wait_until_refused(&pat(&server, &other), 3).await;
    let audit = server
        .admin()
        .await
        .list_audit(
            &ListParams::default(),
            &[("action", "token.revoked_as_leaked")],
        )
        .await
        .expect("audit");
    assert_eq!(audit.total, 1);
    assert_eq!(audit.data[0].ip.as_deref(), Some("198.51.100.9"));
    assert_eq!(audit.data[0].target_id, Some(other.id));
    // The throttled address stays throttled.
    let (status, _, _) = report_leak(&server, &["garbage"], Some("203.0.113.7")).await;
    assert_eq!(status, 429);
}

// --- inventory ------------------------------------------------------------------------------------

async fn inventory_filters_permissions_and_pagination(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (alice, alice_jwt) = server.user_client("alice@example.com").await;
    let sa = server.create_service_account("ci-robot@example.com").await;

    let a_active = alice_jwt.create_my_token("laptop", 30).await.expect("t");
    let a_revoked = alice_jwt
        .create_my_token("old laptop", 30)
        .await
        .expect("t");
    alice_jwt
        .revoke_my_token(a_revoked.id)
        .await
        .expect("revoke");
    let s_short = admin
        .create_token(Some(sa.id), &token_body("Deploy short", 10, None))
        .await
        .expect("t");
    let s_long = admin
        .create_token(Some(sa.id), &token_body("deploy long", 200, None))
        .await
        .expect("t");
    let s_expired = admin
        .create_token(Some(sa.id), &token_body("expired one", 1, None))
        .await
        .expect("t");
    let done = sqlx::query("UPDATE personal_access_tokens SET expires_at = $1 WHERE id = $2")
        .bind(justiam_core::time::now_millis() - 1000)
        .bind(s_expired.id.to_string())
        .execute(server.pool())
        .await
        .expect("expire");
    server.after_direct_sql();
    assert_eq!(done.rows_affected(), 1);
    let s_revoked = admin
        .create_token(Some(sa.id), &token_body("revoked one", 30, None))
        .await
        .expect("t");
    admin
        .revoke_user_token(sa.id, s_revoked.id)
        .await
        .expect("revoke");
    let all = ids(&[
        &a_active, &a_revoked, &s_short, &s_long, &s_expired, &s_revoked,
    ]);

    // Use one token, wait for the usage flush.
    let before_use = Utc::now();
    assert_eq!(me_status(&pat(&server, &s_long)).await, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let page = inventory(&admin, &format!("?owner_id={}&search=long", sa.id)).await;
        if !page.json["data"][0]["last_used_at"].is_null() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "usage never flushed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // An administrator sees everything, with owner, state and last_used_ip.
    let page = inventory(&admin, "?limit=100").await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.json);
    assert_eq!(page.json["total"], json!(6));
    assert_eq!(ids_of(&page.json), all);
    assert!(!page.json.to_string().contains("justiam_pat_"));
    let items = page.json["data"].as_array().expect("data").clone();
    let find = |id: Uuid| {
        items
            .iter()
            .find(|i| i["id"] == json!(id.to_string()))
            .cloned()
            .expect("listed")
    };
    let long = find(s_long.id);
    assert_eq!(
        keys(&long),
        set(&[
            "id",
            "name",
            "created_at",
            "expires_at",
            "last_used_at",
            "token_hint",
            "expired",
            "owner",
            "state",
            "last_used_ip"
        ])
    );
    assert_eq!(
        long["owner"],
        json!({"id": sa.id, "email": "ci-robot@example.com", "is_service_account": true})
    );
    assert_eq!(long["state"], json!("active"));
    assert_eq!(long["last_used_ip"], json!("127.0.0.1"));
    assert!(time_of(&long["last_used_at"]) >= before_use - chrono::Duration::seconds(1));
    assert_eq!(
        find(a_active.id)["owner"]["email"],
        json!("alice@example.com")
    );
    assert_eq!(
        find(a_active.id)["owner"]["is_service_account"],
        json!(false)
    );
    assert_eq!(find(a_active.id)["last_used_ip"], Value::Null);
    assert_eq!(find(s_expired.id)["state"], json!("expired"));
    assert_eq!(find(s_expired.id)["expired"], json!(true));
    assert_eq!(find(s_revoked.id)["state"], json!("revoked"));
    assert_eq!(find(s_revoked.id)["revoke_reason"], json!("revoked"));
    // Newest first.
    let order: Vec<String> = items
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(order[0], s_revoked.id.to_string());
    assert_eq!(order[5], a_active.id.to_string());

    // Filters.
    let in_a_month = (Utc::now() + chrono::Duration::days(31))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let after_use = (Utc::now() + chrono::Duration::seconds(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let before_use_text = (before_use - chrono::Duration::seconds(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let cases: Vec<(String, BTreeSet<String>)> = vec![
        ("state=active".into(), ids(&[&a_active, &s_short, &s_long])),
        ("state=expired".into(), ids(&[&s_expired])),
        ("state=revoked".into(), ids(&[&a_revoked, &s_revoked])),
        (
            format!("owner_id={}", alice.id),
            ids(&[&a_active, &a_revoked]),
        ),
        (
            format!("owner_id={}&state=active", sa.id),
            ids(&[&s_short, &s_long]),
        ),
        (
            format!("expires_before={in_a_month}"),
            ids(&[&a_active, &a_revoked, &s_short, &s_expired, &s_revoked]),
        ),
        (
            format!("expires_before={in_a_month}&state=active"),
            ids(&[&a_active, &s_short]),
        ),
        (format!("unused_since={after_use}"), all.clone()),
        (
            format!("unused_since={before_use_text}"),
            ids(&[&a_active, &a_revoked, &s_short, &s_expired, &s_revoked]),
        ),
        ("search=DEPLOY".into(), ids(&[&s_short, &s_long])),
        (
            "search=ci-robot".into(),
            ids(&[&s_short, &s_long, &s_expired, &s_revoked]),
        ),
        ("search=laptop&state=active".into(), ids(&[&a_active])),
        ("search=nothing-matches".into(), BTreeSet::new()),
        ("search=%25".into(), BTreeSet::new()),
        ("search=_".into(), BTreeSet::new()),
        (format!("owner_id={}", Uuid::now_v7()), BTreeSet::new()),
    ];
    for (query, expected) in &cases {
        let page = inventory(&admin, &format!("?limit=100&{query}")).await;
        assert_eq!(page.status.as_u16(), 200, "{query}: {}", page.json);
        assert_eq!(&ids_of(&page.json), expected, "{query}");
        assert_eq!(page.json["total"], json!(expected.len()), "{query}");
    }

    // Pagination.
    let mut seen = BTreeSet::new();
    for n in 1..=3 {
        let page = admin
            .token_inventory(
                &ListParams {
                    page: Some(n),
                    limit: Some(2),
                    search: None,
                },
                &[],
            )
            .await
            .expect("page");
        assert_eq!(page.total, 6);
        assert_eq!(page.page, n);
        assert_eq!(page.limit, 2);
        assert_eq!(page.data.len(), 2);
        for item in page.data {
            assert!(seen.insert(item.record.id.to_string()), "no repeats");
        }
    }
    assert_eq!(seen, all);
    let past = inventory(&admin, "?page=4&limit=2").await;
    assert_eq!(past.json["data"], json!([]));
    assert_eq!(past.json["total"], json!(6));

    // Bad values.
    for (query, field) in [
        ("state=dormant", "state"),
        ("owner_id=alice", "owner_id"),
        ("expires_before=tomorrow", "expires_before"),
        ("unused_since=2026-13-01", "unused_since"),
        ("page=0", "page"),
        ("limit=abc", "limit"),
    ] {
        assert_validation(&inventory(&admin, &format!("?{query}")).await, field);
    }

    // Who may look: service_accounts.tokens sees service-account tokens only.
    let (_, operator, _) = user_with(
        &server,
        &admin,
        "operator@example.com",
        &["service_accounts.tokens"],
    )
    .await;
    let sa_only = ids(&[&s_short, &s_long, &s_expired, &s_revoked]);
    let page = inventory(&operator, "?limit=100").await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.json);
    assert_eq!(ids_of(&page.json), sa_only);
    assert_eq!(page.json["total"], json!(4));
    let page = inventory(&operator, &format!("?owner_id={}", alice.id)).await;
    assert_eq!(ids_of(&page.json), BTreeSet::new());
    assert_eq!(page.json["total"], json!(0));
    let page = inventory(&operator, "?search=laptop").await;
    assert_eq!(page.json["total"], json!(0));
    // The operator's own token (a regular user's) is not in their view either.
    let op_token = create_token(&operator, None, "op", Some(&["service_accounts.tokens"])).await;
    let page = inventory(&pat(&server, &op_token), "?limit=100").await;
    assert_eq!(ids_of(&page.json), sa_only);
    assert!(page.header(EXPIRES_HEADER).is_some());

    // An admin's fine-grained token has no bypass: service-account tokens only, or nothing.
    let admin_sa = create_token(&admin, None, "sa view", Some(&["service_accounts.tokens"])).await;
    let page = inventory(&pat(&server, &admin_sa), "?limit=100").await;
    assert_eq!(ids_of(&page.json), sa_only);
    let admin_ro = create_token(&admin, None, "ro", Some(&["*.view"])).await;
    assert_forbidden_for(
        &inventory(&pat(&server, &admin_ro), "").await,
        "service_accounts.tokens",
    );
    // The admin's full-power token sees everything (now including the new tokens).
    let admin_full = create_token(&admin, None, "full", None).await;
    let page = inventory(&pat(&server, &admin_full), "?limit=100").await;
    assert_eq!(page.json["total"], json!(10));

    // Without the permission: 403 naming it, before any filter is read.
    assert_forbidden_for(&inventory(&alice_jwt, "").await, "service_accounts.tokens");
    assert_forbidden_for(
        &inventory(&pat(&server, &a_active), "?limit=5").await,
        "service_accounts.tokens",
    );
    let anonymous = inventory(&server.anonymous(), "").await;
    assert_error(&anonymous, 401, "unauthorized", "");
}

crate::on_both_databases!(
    fine_grained_tokens_follow_the_owners_current_roles,
    token_permissions_are_validated_and_wildcards_expanded,
    a_read_only_token_cannot_change_anything,
    an_admins_fine_grained_token_has_no_admin_bypass,
    self_inspection_and_the_expiry_header,
    rotation_honours_the_grace_period_to_the_second,
    the_rotation_chain_is_visible_and_rotating_twice_is_refused,
    rotation_is_not_limited_by_the_token_cap,
    an_operator_rotates_a_service_account_token,
    the_leak_endpoint_revokes_valid_tokens_and_reveals_nothing,
    the_leak_endpoint_is_throttled_per_address,
    inventory_filters_permissions_and_pagination,
);
