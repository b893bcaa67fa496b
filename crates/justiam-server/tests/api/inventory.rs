//! The operator's token inventory: `GET /api/v1/tokens` lists, filters and pages every token an
//! operator oversees, and `DELETE /api/v1/tokens/{id}` revokes one — on SQLite and PostgreSQL.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use justiam_client::ListParams;
use justiam_types::CreatedToken;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

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
    expire_in_db(&server, s_expired.id).await;
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
    let refusals = [
        ("state=dormant", "state"),
        ("owner_id=alice", "owner_id"),
        ("expires_before=tomorrow", "expires_before"),
        ("unused_since=2026-13-01", "unused_since"),
        ("page=0", "page"),
        ("limit=abc", "limit"),
    ]
    .map(|(query, field)| get(format!("/api/v1/tokens?{query}")).invalid(field));
    expect_refusals(&admin, refusals).await;

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
    let forbidden =
        |query: &str| get(format!("/api/v1/tokens{query}")).forbidden("service_accounts.tokens");
    forbidden("").expect(&pat(&server, &admin_ro)).await;
    // The admin's full-power token sees everything (now including the new tokens).
    let admin_full = create_token(&admin, None, "full", None).await;
    let page = inventory(&pat(&server, &admin_full), "?limit=100").await;
    assert_eq!(page.json["total"], json!(10));

    // Without the permission: 403 naming it, before any filter is read.
    forbidden("").expect(&alice_jwt).await;
    forbidden("?limit=5").expect(&pat(&server, &a_active)).await;
    get("/api/v1/tokens")
        .refused(401, "unauthorized", "")
        .expect(&server.anonymous())
        .await;
}

// --- revocation by an operator: DELETE /api/v1/tokens/{id} ---------------------------------------

/// `DELETE /api/v1/tokens/{id}`.
fn revoke_any(id: Uuid) -> Call {
    delete(format!("/api/v1/tokens/{id}"))
}

/// The `token.revoked` audit entries of one token.
async fn revocations_of(server: &TestServer, token_id: Uuid) -> Vec<AuditRow> {
    token_audit(server)
        .await
        .into_iter()
        .filter(|row| row.action == "token.revoked" && row.target_id == Some(token_id.to_string()))
        .collect()
}

/// An operator stops one leaked token of a colleague without deactivating them, and nobody else
/// can: a holder of `service_accounts.tokens` only reaches the tokens of service accounts whose
/// permissions they hold all and that are not `is_admin`; everything else is `404`, as if it did
/// not exist. An administrator's fine-grained token (`*`) is no administrator.
async fn operators_revoke_any_token_they_oversee(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let admin_id = admin.me().await.expect("me").user.id;

    let (alice, alice_client) = server.user_client("alice@example.com").await;
    let alice_token = create_token(&alice_client, None, "laptop", None).await;
    let alice_expired = create_token(&alice_client, None, "old laptop", None).await;
    expire_in_db(&server, alice_expired.id).await;

    let bot = server
        .create_service_account("deploy-bot@example.com")
        .await;
    grant(&server, bot.id, &["users.view"]).await;
    let bot_token = admin
        .create_user_token(bot.id, "deploy", 30)
        .await
        .expect("bot token");
    let bot_second = admin
        .create_user_token(bot.id, "deploy 2", 30)
        .await
        .expect("bot token");
    let root_bot = admin
        .create_user(&justiam_types::CreateUser {
            email: "root-bot@example.com".to_owned(),
            is_service_account: Some(true),
            is_admin: Some(true),
            ..justiam_types::CreateUser::default()
        })
        .await
        .expect("an is_admin service account");
    let root_token = admin
        .create_user_token(root_bot.id, "root", 30)
        .await
        .expect("root-bot token");

    // carol holds service_accounts.tokens and every permission of deploy-bot; dave lacks
    // users.view; eve holds nothing.
    let (carol, carol_client) = server.user_client("carol@example.com").await;
    grant(
        &server,
        carol.id,
        &["service_accounts.tokens", "users.view"],
    )
    .await;
    let (dave, dave_client) = server.user_client("dave@example.com").await;
    grant(&server, dave.id, &["service_accounts.tokens"]).await;
    let (_, eve_client) = server.user_client("eve@example.com").await;

    // The attacks of a service_accounts.tokens holder: a person's token and an is_admin service
    // account's token do not exist for her (nor in her inventory).
    let refusals = [alice_token.id, alice_expired.id, root_token.id]
        .map(|target| revoke_any(target).not_found("token"));
    expect_refusals(&carol_client, refusals).await;
    let seen = carol_client
        .token_inventory(&ListParams::default(), &[])
        .await
        .expect("carol's inventory");
    let seen: BTreeSet<Uuid> = seen.data.iter().map(|item| item.record.id).collect();
    assert_eq!(
        seen,
        [bot_token.id, bot_second.id].into_iter().collect(),
        "carol's inventory holds deploy-bot's tokens only"
    );

    // An administrator's fine-grained token with every permission is refused the same way.
    let star = raw(
        &admin,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({"name": "star", "expires_in_days": 1, "permissions": ["*"]})),
    )
    .await;
    assert_eq!(star.status.as_u16(), 201, "{}", star.json);
    let star = server
        .anonymous()
        .with_token(star.json["token"].as_str().unwrap_or_default());
    let refusals =
        [alice_token.id, root_token.id].map(|target| revoke_any(target).not_found("token"));
    expect_refusals(&star, refusals).await;

    // Without every permission of the account: refused, naming what is missing.
    revoke_any(bot_token.id)
        .forbidden("users.view")
        .expect(&dave_client)
        .await;
    // Without the permission at all.
    revoke_any(bot_token.id)
        .forbidden("service_accounts.tokens")
        .expect(&eve_client)
        .await;
    // Nothing was revoked by any of these.
    assert_works_as(&server, &alice_token.token, alice.id).await;
    assert_works_as(&server, &root_token.token, root_bot.id).await;
    assert_works_as(&server, &bot_token.token, bot.id).await;
    for token in [
        alice_token.id,
        alice_expired.id,
        root_token.id,
        bot_token.id,
    ] {
        assert!(revocations_of(&server, token).await.is_empty());
    }

    // carol revokes deploy-bot's token: 204, it stops at once, and a second time it is gone.
    let done = revoke_any(bot_token.id).send(&carol_client).await;
    assert_eq!(done.status.as_u16(), 204, "{}", done.json);
    assert_rejected(&server, &bot_token.token).await;
    assert_works_as(&server, &bot_second.token, bot.id).await;
    revoke_any(bot_token.id)
        .not_found("token")
        .expect(&carol_client)
        .await;
    // The fine-grained `*` token may revoke a plain service account's token, as on
    // /users/{id}/tokens.
    let done = revoke_any(bot_second.id).send(&star).await;
    assert_eq!(done.status.as_u16(), 204, "{}", done.json);

    // The administrator revokes a colleague's token (through the typed client), an expired one,
    // and the is_admin service account's.
    admin
        .revoke_any_token(alice_token.id)
        .await
        .expect("the admin revokes alice's token");
    assert_rejected(&server, &alice_token.token).await;
    let list = alice_client
        .list_my_tokens(&ListParams::default())
        .await
        .expect("alice's list");
    assert_eq!(
        list.data.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![alice_expired.id],
        "the revoked token left alice's list"
    );
    for target in [alice_expired.id, root_token.id] {
        let done = revoke_any(target).send(&admin).await;
        assert_eq!(done.status.as_u16(), 204, "{}", done.json);
    }
    assert_rejected(&server, &root_token.token).await;
    // Unknown and malformed ids.
    expect_refusals(
        &admin,
        [
            revoke_any(Uuid::now_v7()).not_found("token"),
            delete("/api/v1/tokens/not-a-uuid").invalid("path"),
        ],
    )
    .await;

    // Each revocation is audited once, naming who did it and whose token it was.
    for (token, actor, owner, owner_email) in [
        (bot_token.id, carol.id, bot.id, "deploy-bot@example.com"),
        (alice_token.id, admin_id, alice.id, "alice@example.com"),
        (root_token.id, admin_id, root_bot.id, "root-bot@example.com"),
    ] {
        let entries = revocations_of(&server, token).await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        let entry = &entries[0];
        assert_eq!(entry.actor_id, Some(actor.to_string()));
        assert_eq!(entry.credential.as_deref(), Some("jwt"));
        let details: Value =
            serde_json::from_str(entry.details.as_deref().unwrap_or("{}")).expect("details");
        assert_eq!(details["target_user_id"], json!(owner.to_string()));
        assert_eq!(details["target_email"], owner_email);
        assert!(details["token_name"].is_string(), "{details}");
    }
    let star_entry = &revocations_of(&server, bot_second.id).await[0];
    assert_eq!(star_entry.actor_id, Some(admin_id.to_string()));
    assert_eq!(star_entry.credential.as_deref(), Some("pat"));
}

/// One token, two paths: revoked from the inventory (`DELETE /tokens/{id}`), it is gone under its
/// owner's path too — a rotation or a revocation there is `404`, as for any revoked token — while
/// a token ended by its own rotation stays `409 already_rotated`. (The sequence the fuzz's
/// stateful phase ran; docs/decisions.md, "Fuzzing: every operation conforms".)
async fn a_token_revoked_from_the_inventory_is_gone_under_its_owner_too(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let bot = server.create_service_account("bot@example.com").await;
    let tokens = format!("/api/v1/users/{}/tokens", bot.id);
    let create = |name: &'static str| {
        raw(
            &admin,
            Method::POST,
            &tokens,
            Some(json!({"name": name, "expires_in_days": 30})),
        )
    };
    let created = create("deploy").await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.json);
    let id = created.json["id"].as_str().expect("id").to_owned();
    let revoked = raw(
        &admin,
        Method::DELETE,
        &format!("/api/v1/tokens/{id}"),
        None,
    )
    .await;
    assert_eq!(revoked.status.as_u16(), 204, "{}", revoked.json);
    let rotate = raw(&admin, Method::POST, &format!("{tokens}/{id}/rotate"), None).await;
    assert_error(&rotate, 404, "not_found", "token");
    let again = raw(&admin, Method::DELETE, &format!("{tokens}/{id}"), None).await;
    assert_error(&again, 404, "not_found", "token");

    let rotated_away = create("ci").await;
    let id = rotated_away.json["id"].as_str().expect("id").to_owned();
    let first = raw(
        &admin,
        Method::POST,
        &format!("{tokens}/{id}/rotate"),
        Some(json!({"grace_period_seconds": 0})),
    )
    .await;
    assert_eq!(first.status.as_u16(), 201, "{}", first.json);
    let second = raw(&admin, Method::POST, &format!("{tokens}/{id}/rotate"), None).await;
    assert_error(&second, 409, "already_rotated", "replacement");
}

crate::on_both_databases!(
    inventory_filters_permissions_and_pagination,
    operators_revoke_any_token_they_oversee,
    a_token_revoked_from_the_inventory_is_gone_under_its_owner_too,
);
