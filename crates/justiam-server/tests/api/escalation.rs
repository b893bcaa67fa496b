//! Escalation paths found by a red-team pass (issue 20), each written as the insider's request
//! sequence: a holder of every permission who is not `is_admin`, an administrator acting through a
//! fine-grained `["*"]` token, and a lesser administrator trying to disarm a stronger one.

use justiam_client::Client;
use justiam_types::CreateUser;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::common::*;

/// Every permission of the catalogue, as the server lists it to an administrator.
async fn catalogue(admin: &Client) -> Vec<String> {
    admin.me().await.expect("me").permissions
}

/// The actions of the audit log newer than `seen` entries, oldest first.
async fn actions_since(admin: &Client, seen: u64) -> Vec<String> {
    let response = raw(admin, Method::GET, "/api/v1/audit?limit=100", None).await;
    assert_eq!(response.status.as_u16(), 200, "{}", response.json);
    let total = response.json["total"].as_u64().expect("total");
    let data = response.json["data"].as_array().expect("data");
    let mut actions: Vec<String> = data
        .iter()
        .take((total - seen) as usize)
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    actions.reverse();
    actions
}

async fn audit_total(admin: &Client) -> u64 {
    raw(admin, Method::GET, "/api/v1/audit?limit=1", None)
        .await
        .json["total"]
        .as_u64()
        .expect("total")
}

/// Every way to manage an `is_admin` service account's tokens, tried by `attacker`: each must be
/// refused with `403 forbidden` naming the administrator rule.
async fn assert_cannot_manage_admin_account_tokens(
    attacker: &Client,
    account: Uuid,
    token: Uuid,
    who: &str,
) {
    let tokens = format!("/api/v1/users/{account}/tokens");
    let attempts = [
        post(&tokens, json!({ "name": "escalate", "expires_in_days": 1 })),
        get(&tokens),
        post(format!("{tokens}/{token}/rotate"), json!({})),
        delete(format!("{tokens}/{token}")),
    ]
    .map(|call| call.refused(403, "forbidden", "administrator service account"));
    for attempt in attempts {
        let response = attempt.expect(attacker).await;
        assert!(
            response.json.get("token").is_none(),
            "{who}: {} must not mint a token: {}",
            attempt.call,
            response.json
        );
    }
}

async fn every_permission_is_not_is_admin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let everything = catalogue(&admin).await;
    let root_bot = admin
        .create_user(&CreateUser {
            email: "root-bot@example.com".to_owned(),
            is_service_account: Some(true),
            is_admin: Some(true),
            ..CreateUser::default()
        })
        .await
        .expect("administrator service account");
    let existing = admin
        .create_user_token(root_bot.id, "deploy", 30)
        .await
        .expect("the administrator manages its tokens");
    let (mallory, mallory_client, _) =
        user_with(&server, &admin, "mallory@example.com", &everything).await;
    let seen = audit_total(&admin).await;

    // The reported sequence: a token for the administrator account, then is_admin for oneself.
    assert_cannot_manage_admin_account_tokens(&mallory_client, root_bot.id, existing.id, "mallory")
        .await;
    let promote = raw(
        &mallory_client,
        Method::PUT,
        &format!("/api/v1/users/{}", mallory.id),
        Some(json!({ "is_admin": true })),
    )
    .await;
    assert_error(&promote, 403, "forbidden", "is_admin");

    // An administrator's fine-grained token with every permission has no is_admin bypass either.
    let star = raw(
        &admin,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({ "name": "star", "expires_in_days": 1, "permissions": ["*"] })),
    )
    .await;
    assert_eq!(star.status.as_u16(), 201, "{}", star.json);
    let star_client = server
        .anonymous()
        .with_token(star.json["token"].as_str().expect("token value"));
    assert_cannot_manage_admin_account_tokens(&star_client, root_bot.id, existing.id, "star token")
        .await;

    // Nothing was written by the refusals (the star token's creation is the one new entry), and
    // the account's token still works.
    assert_eq!(actions_since(&admin, seen).await, vec!["token.created"]);
    let bot = server.anonymous().with_token(existing.token.clone());
    assert_eq!(
        raw(&bot, Method::GET, "/api/v1/me", None)
            .await
            .status
            .as_u16(),
        200
    );

    // The administrator, logged in, still manages them.
    let minted = raw(
        &admin,
        Method::POST,
        &format!("/api/v1/users/{}/tokens", root_bot.id),
        Some(json!({ "name": "by the admin", "expires_in_days": 1 })),
    )
    .await;
    assert_eq!(minted.status.as_u16(), 201, "{}", minted.json);
}

/// A lesser administrator (users.update, users.delete, groups.members and nothing that grants
/// roles) against a user holding `idp:admin` through a group.
async fn a_lesser_administrator_cannot_disarm_a_stronger_one(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let strong = server
        .create_user("strong@example.com", "user-password-1")
        .await;
    let roles = raw(
        &admin,
        Method::GET,
        "/api/v1/admin-roles?search=idp:admin",
        None,
    )
    .await;
    let idp_admin = roles.json["data"]
        .as_array()
        .and_then(|roles| roles.iter().find(|r| r["name"] == "idp:admin"))
        .and_then(|r| r["id"].as_str())
        .and_then(|id| Uuid::parse_str(id).ok())
        .expect("idp:admin role");
    let admins = raw(
        &admin,
        Method::POST,
        "/api/v1/groups",
        Some(json!({ "name": "Administrators" })),
    )
    .await;
    let group = admins.json["id"].as_str().expect("group id").to_owned();
    let assigned = raw(
        &admin,
        Method::POST,
        &format!("/api/v1/groups/{group}/admin-roles"),
        Some(json!({ "role_id": idp_admin })),
    )
    .await;
    assert_eq!(assigned.status.as_u16(), 204, "{}", assigned.json);
    let added = raw(
        &admin,
        Method::POST,
        &format!("/api/v1/groups/{group}/members"),
        Some(json!({ "user_id": strong.id })),
    )
    .await;
    assert_eq!(added.status.as_u16(), 204, "{}", added.json);
    let lesser_permissions: Vec<String> = [
        "users.view",
        "users.update",
        "users.delete",
        "groups.view",
        "groups.members",
        "groups.delete",
        "sessions.view",
        "sessions.revoke",
    ]
    .map(str::to_owned)
    .to_vec();
    let (_, lesser, _) =
        user_with(&server, &admin, "lesser@example.com", &lesser_permissions).await;
    let seen = audit_total(&admin).await;
    let user_path = format!("/api/v1/users/{}", strong.id);

    let outranked = |call: Call| call.refused(403, "forbidden", "every permission they hold");
    let cannot_grant = |call: Call| call.refused(403, "forbidden", "do not hold it yourself");
    let answers = expect_refusals(
        &lesser,
        [
            outranked(put(&user_path, json!({ "is_active": false }))),
            outranked(put(
                &user_path,
                json!({ "email": "lesser+takeover@example.com" }),
            )),
            outranked(delete(&user_path)),
            cannot_grant(delete(format!(
                "/api/v1/groups/{group}/members/{}",
                strong.id
            ))),
            cannot_grant(delete(format!("/api/v1/groups/{group}"))),
            outranked(delete(format!("/api/v1/users/{}/sessions", strong.id))),
        ],
    )
    .await;
    assert!(answers[0].json["details"]["permission"].is_string());

    // Nothing changed: the strong user still logs in with their email and holds idp:admin.
    assert!(actions_since(&admin, seen).await.is_empty());
    let strong_client = server.login("strong@example.com", "user-password-1").await;
    let me = strong_client.me().await.expect("me");
    assert!(me.permissions.iter().any(|p| p == "admin_roles.manage"));

    // The same actions on a user who holds nothing beyond the lesser administrator's permissions
    // are theirs to take.
    let (weak, _) = server.user_client("weak@example.com").await;
    let weak_path = format!("/api/v1/users/{}", weak.id);
    let renamed = raw(
        &lesser,
        Method::PUT,
        &weak_path,
        Some(json!({ "email": "weak2@example.com", "is_active": false })),
    )
    .await;
    assert_eq!(renamed.status.as_u16(), 200, "{}", renamed.json);
    let deleted = raw(&lesser, Method::DELETE, &weak_path, None).await;
    assert_eq!(deleted.status.as_u16(), 204, "{}", deleted.json);

    // An administrator (is_admin) may do all of it.
    let removed = raw(
        &admin,
        Method::DELETE,
        &format!("/api/v1/groups/{group}/members/{}", strong.id),
        None,
    )
    .await;
    assert_eq!(removed.status.as_u16(), 204, "{}", removed.json);
}

crate::on_both_databases!(
    every_permission_is_not_is_admin,
    a_lesser_administrator_cannot_disarm_a_stronger_one,
);
