//! Fine-grained tokens: a token's own list of permissions (with wildcards) is a ceiling on its
//! owner's current permissions, validated and expanded at creation, and never an administrator's
//! bypass — on SQLite and PostgreSQL.

use justiam_client::ListParams;
use justiam_types::{CreateGroup, UpdateAdminRole};
use reqwest::Method;
use serde_json::json;

use crate::common::*;

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
        let listed = raw(client, Method::GET, "/api/v1/users", None).await;
        assert_eq!(listed.status.as_u16(), 200, "{}", listed.json);
    }
    let made = raw(
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
        post("/api/v1/users", new_user(n))
            .forbidden("users.create")
            .expect(client)
            .await;
        let listed = raw(client, Method::GET, "/api/v1/users", None).await;
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
    let made = raw(
        &limited_client,
        Method::POST,
        "/api/v1/users",
        Some(new_user(4)),
    )
    .await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.json);
    get("/api/v1/groups")
        .forbidden("groups.view")
        .expect(&limited_client)
        .await;
    let groups = raw(&full_client, Method::GET, "/api/v1/groups", None).await;
    assert_eq!(groups.status.as_u16(), 200, "{}", groups.json);

    // Through a group too: removing the direct role and granting it via a group.
    admin
        .unassign_user_role(alice.id, role.id)
        .await
        .expect("unassign");
    get("/api/v1/users")
        .forbidden("users.view")
        .expect(&limited_client)
        .await;
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
    let listed = raw(&limited_client, Method::GET, "/api/v1/users", None).await;
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

    // What the document's enum refuses — unknown names, padded names, empty lists, wildcards
    // that match nothing in the catalogue, wrong types — is 400; names and wildcards of the
    // catalogue the owner does not hold are 403 naming the permission (a token never exceeds
    // its owner), even after an invalid entry's position.
    let token_with = |n: usize, permissions: serde_json::Value| {
        post(
            "/api/v1/me/tokens",
            json!({ "name": format!("bad {n}"), "expires_in_days": 30, "permissions": permissions }),
        )
    };
    let owner_lacks = |call: Call, permission: &str| {
        call.refused(
            403,
            "forbidden",
            format!("owner does not hold `{permission}`"),
        )
        .permission(permission)
        .field("permissions")
    };
    let refusals = [
        owner_lacks(token_with(0, json!(["audit.view"])), "audit.view"),
        owner_lacks(
            token_with(1, json!(["users.view", "users.delete"])),
            "users.delete",
        ),
        owner_lacks(token_with(2, json!(["audit.*"])), "audit.view"),
    ]
    .into_iter()
    .chain(
        [
            (json!(["audit.view", "users.fly"]), "permissions"),
            (json!(["users.fly"]), "permissions"),
            (json!([" users.view"]), "permissions"),
            (json!([" *.* "]), "permissions"),
            (json!([]), "permissions"),
            (json!(["nothing.*"]), "permissions"),
            (json!(["users"]), "permissions"),
            (json!("users.view"), "permissions"),
            (json!([42]), "permissions[0]"),
        ]
        .into_iter()
        .enumerate()
        .map(|(n, (permissions, field))| token_with(n + 3, permissions).invalid(field)),
    );
    expect_refusals(&alice, refusals).await;
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
            vec!["*.*"],
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
    post(
        format!("/api/v1/users/{}/tokens", sa.id),
        json!({"name": "x", "expires_in_days": 1, "permissions": ["users.view"]}),
    )
    .refused(403, "forbidden", "users.view")
    .permission("users.view")
    .expect(&admin)
    .await;
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
    let groups = raw(&sa_client, Method::GET, "/api/v1/groups", None).await;
    assert_eq!(groups.status.as_u16(), 200, "{}", groups.json);
    post("/api/v1/groups", json!({"name": "nope"}))
        .forbidden("groups.create")
        .expect(&sa_client)
        .await;
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
        let answer = raw(&ro, Method::GET, &path, None).await;
        assert_eq!(answer.status.as_u16(), 200, "GET {path}: {}", answer.json);
        assert!(answer.header(EXPIRES_HEADER).is_some(), "GET {path}");
    }

    // It changes nothing.
    let u = carol.id;
    let g = group.id;
    let r = role.id;
    let sa_tokens = format!("/api/v1/users/{}/tokens", sa.id);
    let attempts = [
        post("/api/v1/users", json!({"email": "x@example.com"})),
        put(format!("/api/v1/users/{u}"), json!({"first_name": "X"})),
        put(format!("/api/v1/users/{u}"), json!({"is_active": false})),
        delete(format!("/api/v1/users/{u}")),
        post("/api/v1/groups", json!({"name": "new"})),
        put(format!("/api/v1/groups/{g}"), json!({"name": "renamed"})),
        delete(format!("/api/v1/groups/{g}")),
        post(format!("/api/v1/groups/{g}/members"), json!({"user_id": u})),
        post(
            format!("/api/v1/groups/{g}/admin-roles"),
            json!({"role_id": r}),
        ),
        post(
            "/api/v1/admin-roles",
            json!({"name": "n", "permissions": ["users.view"]}),
        ),
        put(
            format!("/api/v1/admin-roles/{r}"),
            json!({"description": "changed"}),
        ),
        delete(format!("/api/v1/admin-roles/{r}")),
        post(
            format!("/api/v1/users/{u}/admin-roles"),
            json!({"role_id": r}),
        ),
        delete(format!("/api/v1/users/{u}/sessions")),
        delete(format!("/api/v1/sessions/{session_id}")),
        post(&sa_tokens, json!({"name": "n", "expires_in_days": 1})),
        delete(format!("{sa_tokens}/{}", sa_token.id)),
        post(format!("{sa_tokens}/{}/rotate", sa_token.id), json!({})),
        post(
            "/api/v1/me/tokens",
            json!({"name": "n", "expires_in_days": 1}),
        ),
        delete(format!("/api/v1/me/tokens/{}", other.id)),
        delete(format!("/api/v1/me/tokens/{}", read_only.id)),
        post(format!("/api/v1/me/tokens/{}/rotate", other.id), json!({})),
        Call::new(
            Method::POST,
            format!("/api/v1/me/tokens/{}/rotate", read_only.id),
            None,
        ),
        put(
            "/api/v1/me/password",
            json!({"current_password": "user-password-1", "new_password": "another-password-2"}),
        ),
        Call::new(Method::POST, "/api/v1/auth/logout", None),
    ];
    for call in attempts {
        let answer = call.send(&ro).await;
        assert_eq!(answer.status.as_u16(), 403, "{call}: {}", answer.json);
        assert!(
            answer.header(EXPIRES_HEADER).is_some(),
            "{call}: expiry header on a refusal"
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
    let made = raw(
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
    let me = raw(&ro, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.json["is_admin"], json!(true));
    assert_eq!(json_set(&me.json["permissions"]), set(&ALL_VIEWS));
    let listed = raw(&ro, Method::GET, "/api/v1/users", None).await;
    assert_eq!(listed.status.as_u16(), 200, "{}", listed.json);
    post("/api/v1/users", json!({"email": "x@example.com"}))
        .forbidden("users.create")
        .expect(&ro)
        .await;
    let promote = raw(
        &ro,
        Method::PUT,
        &format!("/api/v1/users/{}", carol.id),
        Some(json!({"is_admin": true})),
    )
    .await;
    assert_eq!(promote.status.as_u16(), 403, "{}", promote.json);
    get("/api/v1/tokens")
        .forbidden("service_accounts.tokens")
        .expect(&ro)
        .await;

    // users.*: may manage ordinary users, but none of the is_admin powers.
    let users_token = create_token(&admin, None, "users", Some(&["users.*"])).await;
    let ut = pat(&server, &users_token);
    assert_eq!(
        set(&ut.token_self().await.expect("self").effective_permissions),
        set(&USERS_ALL)
    );
    let made = raw(
        &ut,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "plain@example.com"})),
    )
    .await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.json);
    let renamed = raw(
        &ut,
        Method::PUT,
        &format!("/api/v1/users/{}", carol.id),
        Some(json!({"first_name": "Carol"})),
    )
    .await;
    assert_eq!(renamed.status.as_u16(), 200, "{}", renamed.json);
    let not_for_a_token = |call: Call| call.refused(403, "forbidden", "fine-grained");
    let administrator = |call: Call| call.refused(403, "forbidden", "administrator");
    expect_refusals(
        &ut,
        [
            administrator(post(
                "/api/v1/users",
                json!({"email": "boss@example.com", "is_admin": true}),
            )),
            administrator(put(
                format!("/api/v1/users/{}", carol.id),
                json!({"is_admin": true}),
            )),
            administrator(put(
                format!("/api/v1/users/{}", other_admin.id),
                json!({"first_name": "Changed"}),
            )),
            administrator(put(
                format!("/api/v1/users/{}", other_admin.id),
                json!({"is_active": false}),
            )),
            administrator(delete(format!("/api/v1/users/{}", other_admin.id))),
            get("/api/v1/groups").forbidden("groups.view"),
            post(
                "/api/v1/admin-roles",
                json!({"name": "r", "permissions": ["users.view"]}),
            )
            .forbidden("admin_roles.manage"),
            not_for_a_token(delete(format!("/api/v1/me/tokens/{}", ro_token.id))),
            not_for_a_token(post(
                format!("/api/v1/me/tokens/{}/rotate", ro_token.id),
                json!({}),
            )),
        ],
    )
    .await;
    assert_eq!(
        me_status(&ro).await,
        200,
        "the refused revocation did nothing"
    );

    // admin_roles.manage alone: no granting beyond the token's own permissions.
    let roles_token = create_token(&admin, None, "roles", Some(&["admin_roles.manage"])).await;
    let rt = pat(&server, &roles_token);
    post(
        "/api/v1/admin-roles",
        json!({"name": "escalate", "permissions": ["users.delete"]}),
    )
    .forbidden("users.delete")
    .expect(&rt)
    .await;
    let fine = raw(
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
    let promote = raw(
        &pat(&server, &full),
        Method::PUT,
        &format!("/api/v1/users/{}", carol.id),
        Some(json!({"is_admin": true})),
    )
    .await;
    assert_eq!(promote.status.as_u16(), 200, "{}", promote.json);
    assert_eq!(promote.json["is_admin"], json!(true));
}

crate::on_both_databases!(
    fine_grained_tokens_follow_the_owners_current_roles,
    token_permissions_are_validated_and_wildcards_expanded,
    a_read_only_token_cannot_change_anything,
    an_admins_fine_grained_token_has_no_admin_bypass,
);
