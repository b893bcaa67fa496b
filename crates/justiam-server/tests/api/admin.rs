//! Delegated administration: groups and members, admin roles and their assignment, the rules
//! against privilege escalation, the audit log and session administration — the "Groups, admin
//! roles, permissions" and "Audit and sessions" sections of the API contract, on SQLite and
//! PostgreSQL.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use justiam_client::{Client, ListParams};
use justiam_types::{
    AuditRecord, CreateAdminRole, CreateGroup, CreateUser, Group, UpdateAdminRole, UpdateGroup,
    UpdateUser, User,
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

/// The permission catalogue of the contract.
const CATALOGUE: [&str; 31] = [
    "users.view",
    "users.viewaccess",
    "users.create",
    "users.update",
    "users.delete",
    "users.sendpasswordreset",
    "users.managetags",
    "groups.view",
    "groups.create",
    "groups.update",
    "groups.delete",
    "groups.members",
    "groups.viewaccess",
    "groups.managetags",
    "apps.view",
    "apps.create",
    "apps.update",
    "apps.delete",
    "apps.managetags",
    "roles.view",
    "roles.create",
    "roles.update",
    "roles.delete",
    "admin_roles.manage",
    "service_accounts.tokens",
    "audit.view",
    "sessions.view",
    "sessions.revoke",
    "federated.manage",
    "resource_sets.view",
    "resource_sets.manage",
];

// --- helpers --------------------------------------------------------------------------------------

fn all() -> ListParams {
    ListParams {
        limit: Some(100),
        ..ListParams::default()
    }
}

fn searching(text: &str) -> ListParams {
    ListParams {
        search: Some(text.to_owned()),
        ..all()
    }
}

fn sorted<S: AsRef<str>>(items: &[S]) -> Vec<String> {
    let mut out: Vec<String> = items.iter().map(|s| s.as_ref().to_owned()).collect();
    out.sort();
    out
}

async fn create_group(client: &Client, name: &str) -> Group {
    client
        .create_group(&CreateGroup {
            name: name.to_owned(),
            description: Some(format!("the {name} group")),
        })
        .await
        .expect("create group")
}

fn all_but(permission: &str) -> Vec<&'static str> {
    CATALOGUE
        .iter()
        .copied()
        .filter(|p| *p != permission)
        .collect()
}

async fn permissions_of(client: &Client) -> Vec<String> {
    sorted(&client.me().await.expect("me").permissions)
}

/// The audit entries written since the log held `seen` entries, oldest first; moves `seen`.
async fn new_audit_entries(admin: &Client, seen: &mut u64) -> Vec<AuditRecord> {
    let page = admin.list_audit(&all(), &[]).await.expect("audit");
    let fresh = usize::try_from(page.total - *seen).expect("fits");
    assert!(fresh <= page.data.len(), "too many new entries to check");
    *seen = page.total;
    let mut entries: Vec<AuditRecord> = page.data.into_iter().take(fresh).collect();
    entries.reverse();
    entries
}

/// Every audit entry, oldest first.
async fn whole_audit_log(admin: &Client) -> Vec<AuditRecord> {
    let page = admin.list_audit(&all(), &[]).await.expect("audit");
    assert!(page.total <= 100, "the test log fits one page");
    let mut entries = page.data;
    entries.reverse();
    entries
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Ids of `email`'s live sessions, newest first, as the admin sees them.
async fn session_ids(admin: &Client, email: &str) -> Vec<Uuid> {
    admin
        .list_sessions(&searching(email))
        .await
        .expect("sessions")
        .data
        .into_iter()
        .map(|s| s.id)
        .collect()
}

/// One audit entry of a story: action, actor, credential kind, target.
type Step<A> = (A, Option<Uuid>, Option<String>, Option<Uuid>);

/// For each request and the status it gets when allowed: a user holding every permission but
/// `permission` is refused with `403` naming it (and nothing changes), then a user holding only
/// `permission` gets that status.
async fn check_permission(
    server: &TestServer,
    admin: &Client,
    permission: &str,
    requests: Vec<(Call, u16)>,
) {
    let slug = permission.replace(['.', '_'], "-");
    let (_, holder, _) = user_with(
        server,
        admin,
        &format!("only-{slug}@example.com"),
        &[permission],
    )
    .await;
    let (_, lacker, _) = user_with(
        server,
        admin,
        &format!("all-but-{slug}@example.com"),
        &all_but(permission),
    )
    .await;
    for (call, status) in requests {
        call.clone().forbidden(permission).expect(&lacker).await;
        let done = call.send(&holder).await;
        assert_eq!(
            done.status.as_u16(),
            status,
            "{call} with only {permission}: body {}",
            done.json
        );
    }
}

// --- each endpoint's permission -------------------------------------------------------------------

async fn group_endpoints_need_their_permission(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let member = server
        .create_user("member@example.com", "user-password-1")
        .await;
    let group = create_group(&admin, "Platform").await;
    let doomed = create_group(&admin, "Doomed").await;
    let g = format!("/api/v1/groups/{}", group.id);
    let members = format!("{g}/members");

    let checks = [
        (
            "groups.view",
            vec![
                (get("/api/v1/groups"), 200),
                (get(&g), 200),
                (get(&members), 200),
            ],
        ),
        (
            "groups.create",
            vec![(
                post("/api/v1/groups", json!({"name": "Created by a delegate"})),
                201,
            )],
        ),
        (
            "groups.update",
            vec![(
                put(&g, json!({"description": "changed by a delegate"})),
                200,
            )],
        ),
        (
            "groups.members",
            vec![
                (post(&members, json!({"user_id": member.id})), 204),
                (delete(format!("{members}/{}", member.id)), 204),
            ],
        ),
        (
            "groups.delete",
            vec![(delete(format!("/api/v1/groups/{}", doomed.id)), 204)],
        ),
    ];
    for (permission, requests) in checks {
        check_permission(&server, &admin, permission, requests).await;
    }

    // What the holders did happened, and only that.
    let after = admin.get_group(group.id).await.expect("group");
    assert_eq!(after.description, "changed by a delegate");
    assert_eq!(after.member_count, 0);
    assert_api_error(admin.get_group(doomed.id).await, 404, "not_found");
    let created = admin
        .list_groups(&searching("created by a"))
        .await
        .expect("groups");
    assert_eq!(created.total, 1);
}

async fn role_endpoints_need_admin_roles_manage(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let member = server
        .create_user("member@example.com", "user-password-1")
        .await;
    let group = create_group(&admin, "Platform").await;
    // A role the holder of only admin_roles.manage may grant: it grants nothing beyond that.
    let role = create_role(&admin, "Role managers", &["admin_roles.manage"]).await;
    let r = format!("/api/v1/admin-roles/{}", role.id);
    let u = format!("/api/v1/users/{}/admin-roles", member.id);
    let g = format!("/api/v1/groups/{}/admin-roles", group.id);
    let role_id = json!({"role_id": role.id});

    check_permission(
        &server,
        &admin,
        "admin_roles.manage",
        vec![
            (get("/api/v1/admin-roles"), 200),
            (
                post(
                    "/api/v1/admin-roles",
                    json!({"name": "Made by a delegate", "permissions": ["admin_roles.manage"]}),
                ),
                201,
            ),
            (get(&r), 200),
            (put(&r, json!({"description": "edited by a delegate"})), 200),
            (post(&u, role_id.clone()), 204),
            (delete(format!("{u}/{}", role.id)), 204),
            (post(&g, role_id.clone()), 204),
            (delete(format!("{g}/{}", role.id)), 204),
            (delete(&r), 204),
        ],
    )
    .await;
    assert_api_error(admin.get_role(role.id).await, 404, "not_found");
    assert_eq!(
        admin
            .list_roles(&searching("Made by a delegate"))
            .await
            .expect("roles")
            .total,
        1
    );

    // Reading who holds what: admin_roles.manage, or users.viewaccess / groups.viewaccess.
    let (_, nobody) = server.user_client("nobody@example.com").await;
    let (_, user_viewer, _) =
        user_with(&server, &admin, "uva@example.com", &["users.viewaccess"]).await;
    let (_, group_viewer, _) =
        user_with(&server, &admin, "gva@example.com", &["groups.viewaccess"]).await;
    let (_, manager, _) =
        user_with(&server, &admin, "arm@example.com", &["admin_roles.manage"]).await;
    for client in [&nobody, &group_viewer] {
        assert_forbidden(
            client.list_user_roles(member.id).await,
            "admin_roles.manage",
        );
    }
    for client in [&nobody, &user_viewer] {
        assert_forbidden(
            client.list_group_roles(group.id).await,
            "admin_roles.manage",
        );
    }
    for client in [&user_viewer, &manager] {
        client.list_user_roles(member.id).await.expect("user roles");
    }
    for client in [&group_viewer, &manager] {
        client
            .list_group_roles(group.id)
            .await
            .expect("group roles");
    }
}

async fn audit_and_session_endpoints_need_their_permission(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (victim, victim_client) = server.user_client("victim@example.com").await;
    let _second = server.login("victim@example.com", "user-password-1").await;
    let sessions = session_ids(&admin, "victim@example.com").await;
    assert_eq!(sessions.len(), 2);

    let checks = [
        ("audit.view", vec![(get("/api/v1/audit"), 200)]),
        (
            "sessions.view",
            vec![(get("/api/v1/sessions?search=victim"), 200)],
        ),
        (
            "sessions.revoke",
            vec![
                (delete(format!("/api/v1/sessions/{}", sessions[1])), 204),
                (delete(format!("/api/v1/users/{}/sessions", victim.id)), 204),
            ],
        ),
    ];
    for (permission, requests) in checks {
        check_permission(&server, &admin, permission, requests).await;
    }
    assert!(session_ids(&admin, "victim@example.com").await.is_empty());
    assert_api_error(victim_client.me().await, 401, "invalid_token");
}

// --- built-in roles, validation, conflicts, 404s --------------------------------------------------

async fn built_in_roles_are_listed_and_immutable(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let page = admin.list_roles(&all()).await.expect("roles");
    assert_eq!(page.total, 4, "a fresh server has the four built-in roles");
    let expected: [(&str, Vec<&str>); 4] = [
        ("idp:admin", CATALOGUE.to_vec()),
        (
            "idp:group-manager",
            vec![
                "users.view",
                "groups.view",
                "groups.update",
                "groups.members",
            ],
        ),
        (
            "idp:viewer",
            vec![
                "users.view",
                "users.viewaccess",
                "groups.view",
                "groups.viewaccess",
                "apps.view",
                "roles.view",
                "resource_sets.view",
            ],
        ),
        ("idp:directory-viewer", vec!["users.view", "groups.view"]),
    ];
    let names: BTreeSet<&str> = page.data.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        expected.iter().map(|(n, _)| *n).collect::<BTreeSet<_>>()
    );
    for (name, permissions) in &expected {
        let role = page
            .data
            .iter()
            .find(|r| r.name == *name)
            .expect("built-in role");
        assert!(role.is_builtin, "{name}");
        assert_eq!(sorted(&role.permissions), sorted(permissions), "{name}");
    }

    // Neither an admin nor a delegate can change or delete them.
    let (_, delegate, _) = user_with(&server, &admin, "delegate@example.com", &CATALOGUE).await;
    for role in &page.data {
        let path = format!("/api/v1/admin-roles/{}", role.id);
        let refusals = [
            put(&path, json!({"name": "renamed"})),
            put(&path, json!({"description": "changed"})),
            put(&path, json!({"permissions": ["users.view"]})),
            delete(&path),
        ]
        .map(|call| call.refused(409, "builtin_role", "built-in"));
        for client in [&admin, &delegate] {
            expect_refusals(client, refusals.clone()).await;
        }
        assert_eq!(&admin.get_role(role.id).await.expect("role"), role);
    }

    // The idp: prefix is reserved, in any case, on creation and on renaming.
    let custom = create_role(&admin, "Custom", &["users.view"]).await;
    let reserved = |call: Call| call.refused(400, "validation_error", "idp:").field("name");
    let new_role = |name: &str| {
        post(
            "/api/v1/admin-roles",
            json!({"name": name, "permissions": []}),
        )
    };
    expect_refusals(
        &admin,
        [
            reserved(new_role("idp:ops")),
            reserved(new_role("IDP:Ops")),
            reserved(new_role("  idp:x")),
            reserved(put(
                format!("/api/v1/admin-roles/{}", custom.id),
                json!({"name": "idp:custom"}),
            )),
        ],
    )
    .await;

    // Built-in roles are assigned like any other and grant exactly their permissions.
    let (user, client) = server.user_client("reader@example.com").await;
    let viewer = page
        .data
        .iter()
        .find(|r| r.name == "idp:directory-viewer")
        .expect("directory viewer");
    admin
        .assign_user_role(user.id, viewer.id)
        .await
        .expect("assign built-in");
    assert_eq!(
        permissions_of(&client).await,
        sorted(&["groups.view", "users.view"])
    );
    client.list_users(&all()).await.expect("users.view");
    client.list_groups(&all()).await.expect("groups.view");
    assert_forbidden(
        client
            .create_group(&CreateGroup {
                name: "x".into(),
                description: None,
            })
            .await,
        "groups.create",
    );
    // The admin holds the whole catalogue.
    assert_eq!(permissions_of(&admin).await, sorted(&CATALOGUE));
}

async fn names_permissions_and_ids_are_validated(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let ops = create_group(&admin, "Ops").await;
    let other = create_group(&admin, "Other").await;
    let role = create_role(&admin, "Operators", &["users.view"]).await;
    let spare = create_role(&admin, "Spare", &[]).await;
    assert!(spare.permissions.is_empty());

    // Names are unique, case-insensitively, on creation and on renaming.
    let new_group = |name: &str| post("/api/v1/groups", json!({"name": name}));
    let new_role = |name: &str| {
        post(
            "/api/v1/admin-roles",
            json!({"name": name, "permissions": []}),
        )
    };
    expect_refusals(
        &admin,
        [
            new_group("Ops").conflict("group"),
            new_group("ops").conflict("group"),
            new_group(" OPS ").conflict("group"),
            put(
                format!("/api/v1/groups/{}", other.id),
                json!({"name": "OPS"}),
            )
            .conflict("group"),
            new_role("Operators").conflict("role"),
            new_role("operators").conflict("role"),
            put(
                format!("/api/v1/admin-roles/{}", spare.id),
                json!({"name": "OPERATORS"}),
            )
            .conflict("role"),
            // The reserved prefix is checked before uniqueness.
            new_role("idp:admin")
                .refused(400, "validation_error", "idp:")
                .field("name"),
        ],
    )
    .await;

    // Unknown permission strings are refused, naming the field and the string.
    let role_path = format!("/api/v1/admin-roles/{}", role.id);
    for permissions in [
        json!(["users.view", "users.fly"]),
        json!(["USERS.VIEW"]),
        json!(["*"]),
        json!([""]),
    ] {
        expect_refusals(
            &admin,
            [
                post(
                    "/api/v1/admin-roles",
                    json!({"name": "Bad", "permissions": permissions}),
                )
                .invalid("permissions"),
                put(&role_path, json!({"permissions": permissions})).invalid("permissions"),
            ],
        )
        .await;
    }
    post(
        "/api/v1/admin-roles",
        json!({"name": "Bad", "permissions": ["users.fly"]}),
    )
    .refused(400, "validation_error", "users.fly")
    .field("permissions")
    .expect(&admin)
    .await;
    assert_eq!(
        admin.get_role(role.id).await.expect("role").permissions,
        vec!["users.view"]
    );
    // Unknown fields and missing permissions are refused too.
    let answer = raw(
        &admin,
        Method::POST,
        "/api/v1/admin-roles",
        Some(json!({"name": "Bad", "permissions": [], "is_builtin": true})),
    )
    .await;
    assert_eq!(answer.status.as_u16(), 400, "{}", answer.json);
    expect_refusals(
        &admin,
        [
            post("/api/v1/admin-roles", json!({"name": "Bad"})).invalid("permissions"),
            new_group("  ").invalid("name"),
        ],
    )
    .await;

    // Unknown ids in the path are 404; an id in the body that names nothing (a member, a role to
    // assign) is a well-formed request the current state refuses: 409 unknown_reference.
    let (user, _) = server.user_client("someone@example.com").await;
    let missing = Uuid::now_v7();
    let not_found = [
        get(format!("/api/v1/groups/{missing}")),
        put(
            format!("/api/v1/groups/{missing}"),
            json!({"description": "x"}),
        ),
        delete(format!("/api/v1/groups/{missing}")),
        get(format!("/api/v1/groups/{missing}/members")),
        post(
            format!("/api/v1/groups/{missing}/members"),
            json!({"user_id": user.id}),
        ),
        delete(format!("/api/v1/groups/{}/members/{}", ops.id, user.id)),
        get(format!("/api/v1/groups/{missing}/admin-roles")),
        post(
            format!("/api/v1/groups/{missing}/admin-roles"),
            json!({"role_id": role.id}),
        ),
        delete(format!("/api/v1/groups/{}/admin-roles/{}", ops.id, role.id)),
        get(format!("/api/v1/admin-roles/{missing}")),
        put(
            format!("/api/v1/admin-roles/{missing}"),
            json!({"description": "x"}),
        ),
        delete(format!("/api/v1/admin-roles/{missing}")),
        get(format!("/api/v1/users/{missing}/admin-roles")),
        post(
            format!("/api/v1/users/{missing}/admin-roles"),
            json!({"role_id": role.id}),
        ),
        delete(format!("/api/v1/users/{}/admin-roles/{}", user.id, role.id)),
        delete(format!("/api/v1/users/{}/admin-roles/{missing}", user.id)),
        delete(format!("/api/v1/sessions/{missing}")),
        delete(format!("/api/v1/users/{missing}/sessions")),
    ]
    .map(|call| call.not_found(""));
    let unknown_role = json!({"role_id": missing});
    let bad = [
        post(
            format!("/api/v1/users/{}/admin-roles", user.id),
            unknown_role.clone(),
        )
        .unknown_reference("role_id"),
        post(
            format!("/api/v1/groups/{}/admin-roles", ops.id),
            unknown_role,
        )
        .unknown_reference("role_id"),
        post(
            format!("/api/v1/groups/{}/members", ops.id),
            json!({"user_id": missing}),
        )
        .unknown_reference("user_id"),
        // Malformed ids in paths are 400, naming the path.
        get("/api/v1/groups/not-a-uuid").invalid("path"),
        get("/api/v1/admin-roles/42").invalid("path"),
        get("/api/v1/users/nope/admin-roles").invalid("path"),
    ];
    expect_refusals(&admin, not_found.into_iter().chain(bad)).await;

    // Doing something twice is a conflict, not a second row.
    admin
        .add_group_member(ops.id, user.id)
        .await
        .expect("add member");
    assert_api_error(
        admin.add_group_member(ops.id, user.id).await,
        409,
        "conflict",
    );
    admin
        .assign_user_role(user.id, role.id)
        .await
        .expect("assign");
    assert_api_error(
        admin.assign_user_role(user.id, role.id).await,
        409,
        "conflict",
    );
    admin
        .assign_group_role(ops.id, role.id)
        .await
        .expect("assign to group");
    assert_api_error(
        admin.assign_group_role(ops.id, role.id).await,
        409,
        "conflict",
    );
    assert_eq!(
        admin
            .list_user_roles(user.id)
            .await
            .expect("user roles")
            .total,
        2
    );
}

async fn groups_and_members_are_listed_paginated_and_searchable(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let created = create_group(&admin, "Release Managers").await;
    assert_eq!(created.name, "Release Managers");
    assert_eq!(created.description, "the Release Managers group");
    assert_eq!(created.member_count, 0);
    create_group(&admin, "Auditors").await;
    create_group(&admin, "Developers").await;

    let page = admin
        .list_groups(&searching("MANAGER"))
        .await
        .expect("search");
    assert_eq!(page.total, 1);
    assert_eq!(page.data[0].id, created.id);
    let first = admin
        .list_groups(&ListParams {
            page: Some(1),
            limit: Some(2),
            search: None,
        })
        .await
        .expect("page 1");
    let second = admin
        .list_groups(&ListParams {
            page: Some(2),
            limit: Some(2),
            search: None,
        })
        .await
        .expect("page 2");
    assert_eq!((first.total, first.data.len(), first.limit), (3, 2, 2));
    assert_eq!((second.total, second.data.len(), second.page), (3, 1, 2));
    // Newest first.
    assert_eq!(first.data[0].name, "Developers");
    assert_eq!(second.data[0].name, "Release Managers");

    let updated = admin
        .update_group(
            created.id,
            &UpdateGroup {
                name: Some("Release Captains".into()),
                description: None,
            },
        )
        .await
        .expect("rename");
    assert_eq!(updated.name, "Release Captains");
    assert_eq!(updated.description, "the Release Managers group");

    let mut members = Vec::new();
    for email in ["ann@example.com", "bob@example.com", "cyd@example.org"] {
        let user = server.create_user(email, "user-password-1").await;
        admin
            .add_group_member(created.id, user.id)
            .await
            .expect("add");
        members.push(user);
    }
    assert_eq!(
        admin
            .get_group(created.id)
            .await
            .expect("group")
            .member_count,
        3
    );
    let page = admin
        .list_group_members(
            created.id,
            &ListParams {
                limit: Some(2),
                ..ListParams::default()
            },
        )
        .await
        .expect("members");
    assert_eq!((page.total, page.data.len()), (3, 2));
    let page = admin
        .list_group_members(created.id, &searching("EXAMPLE.ORG"))
        .await
        .expect("search members");
    assert_eq!(page.total, 1);
    assert_eq!(page.data[0].email, "cyd@example.org");
    admin
        .remove_group_member(created.id, members[0].id)
        .await
        .expect("remove");
    let page = admin
        .list_group_members(created.id, &all())
        .await
        .expect("members");
    assert_eq!(page.total, 2);
    assert!(page.data.iter().all(|u| u.id != members[0].id));
}

// --- effective permissions change at once -------------------------------------------------------

async fn permission_changes_apply_at_once_to_jwts_and_pats(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (user, jwt) = server.user_client("dev@example.com").await;
    let created = jwt.create_my_token("laptop", 30).await.expect("PAT");
    let pat = server.anonymous().with_token(created.token.clone());
    let both = [("JWT", &jwt), ("PAT", &pat)];

    async fn expect_audit(both: &[(&str, &Client)], allowed: bool, step: &str) {
        for (kind, client) in both {
            let result = client.list_audit(&ListParams::default(), &[]).await;
            if allowed {
                assert!(result.is_ok(), "{step}: {kind} should read the audit log");
            } else {
                assert_forbidden(result, "audit.view");
            }
        }
    }

    // Nothing at first.
    expect_audit(&both, false, "start").await;

    // Gained through a group: role on the group, user into the group.
    let role = create_role(&admin, "Auditors", &["audit.view"]).await;
    let group = create_group(&admin, "Audit team").await;
    admin
        .assign_group_role(group.id, role.id)
        .await
        .expect("assign to group");
    expect_audit(&both, false, "role on a group the user is not in").await;
    admin
        .add_group_member(group.id, user.id)
        .await
        .expect("join");
    expect_audit(&both, true, "joined the group").await;
    assert_eq!(permissions_of(&pat).await, vec!["audit.view"]);

    // A role edit swaps the permission for another one, for both credentials at once.
    admin
        .update_role(
            role.id,
            &UpdateAdminRole {
                permissions: Some(vec!["users.view".into()]),
                ..UpdateAdminRole::default()
            },
        )
        .await
        .expect("edit role");
    expect_audit(&both, false, "role lost audit.view").await;
    for (_, client) in both {
        client.list_users(&all()).await.expect("users.view gained");
    }
    admin
        .update_role(
            role.id,
            &UpdateAdminRole {
                permissions: Some(vec!["audit.view".into()]),
                ..UpdateAdminRole::default()
            },
        )
        .await
        .expect("edit role back");
    expect_audit(&both, true, "role regained audit.view").await;
    for (_, client) in both {
        assert_forbidden(client.list_users(&all()).await, "users.view");
    }

    // Lost when the group loses the role, and back when it gets it again.
    admin
        .unassign_group_role(group.id, role.id)
        .await
        .expect("unassign from group");
    expect_audit(&both, false, "group lost the role").await;
    admin
        .assign_group_role(group.id, role.id)
        .await
        .expect("assign again");
    expect_audit(&both, true, "group has the role again").await;

    // Lost when the user leaves the group.
    admin
        .remove_group_member(group.id, user.id)
        .await
        .expect("leave");
    expect_audit(&both, false, "left the group").await;

    // Direct assignment, then unassignment.
    admin
        .assign_user_role(user.id, role.id)
        .await
        .expect("assign directly");
    expect_audit(&both, true, "assigned directly").await;
    admin
        .unassign_user_role(user.id, role.id)
        .await
        .expect("unassign directly");
    expect_audit(&both, false, "unassigned directly").await;

    // Deleting a role removes it from everyone who held it.
    admin
        .assign_user_role(user.id, role.id)
        .await
        .expect("assign directly");
    admin
        .add_group_member(group.id, user.id)
        .await
        .expect("join");
    expect_audit(&both, true, "held twice").await;
    admin.delete_role(role.id).await.expect("delete role");
    expect_audit(&both, false, "role deleted").await;
    assert_eq!(
        admin
            .list_user_roles(user.id)
            .await
            .expect("user roles")
            .total,
        0
    );
    assert!(permissions_of(&jwt).await.is_empty());
}

async fn user_roles_show_direct_and_group_sources(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (user, _) = server.user_client("dev@example.com").await;
    let direct = create_role(&admin, "Direct", &["users.view"]).await;
    let shared = create_role(&admin, "Shared", &["groups.view"]).await;
    let alpha = create_group(&admin, "Alpha").await;
    let beta = create_group(&admin, "Beta").await;
    admin
        .assign_user_role(user.id, direct.id)
        .await
        .expect("direct");
    for group in [&alpha, &beta] {
        admin
            .assign_group_role(group.id, shared.id)
            .await
            .expect("group role");
        admin
            .add_group_member(group.id, user.id)
            .await
            .expect("member");
    }
    // The role of a group the user is not in does not show.
    let outside = create_group(&admin, "Outside").await;
    let other = create_role(&admin, "Other", &["audit.view"]).await;
    admin
        .assign_group_role(outside.id, other.id)
        .await
        .expect("other group role");

    let answer = raw(
        &admin,
        Method::GET,
        &format!("/api/v1/users/{}/admin-roles", user.id),
        None,
    )
    .await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.json);
    assert_eq!(answer.json["total"], 3);
    let items = answer.json["data"].as_array().expect("data");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["role"]["id"], json!(direct.id));
    assert_eq!(items[0]["role"]["permissions"], json!(["users.view"]));
    assert_eq!(items[0]["source"], "direct");
    assert!(
        items[0].get("via_group").is_some_and(Value::is_null),
        "via_group is present and null for a direct role: {}",
        items[0]
    );
    for (item, group) in items[1..].iter().zip([&alpha, &beta]) {
        assert_eq!(item["role"]["id"], json!(shared.id));
        assert_eq!(item["source"], "group");
        assert_eq!(
            item["via_group"],
            json!({"id": group.id, "name": group.name})
        );
    }

    let roles = admin.list_group_roles(alpha.id).await.expect("group roles");
    assert_eq!(roles.total, 1);
    assert_eq!(roles.data[0].id, shared.id);
    assert_eq!(
        sorted(
            &server
                .login("dev@example.com", "user-password-1")
                .await
                .me()
                .await
                .expect("me")
                .permissions
        ),
        sorted(&["users.view", "groups.view"])
    );
}

async fn deleting_a_group_removes_memberships_and_assignments(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (user, client) = server.user_client("member@example.com").await;
    let role = create_role(&admin, "Session viewers", &["sessions.view"]).await;
    let group = create_group(&admin, "Support").await;
    admin
        .assign_group_role(group.id, role.id)
        .await
        .expect("assign");
    admin
        .add_group_member(group.id, user.id)
        .await
        .expect("add");
    client
        .list_sessions(&all())
        .await
        .expect("permission through the group");

    admin.delete_group(group.id).await.expect("delete group");
    assert_forbidden(client.list_sessions(&all()).await, "sessions.view");
    assert_api_error(admin.get_group(group.id).await, 404, "not_found");
    assert_eq!(
        admin
            .list_user_roles(user.id)
            .await
            .expect("user roles")
            .total,
        0
    );
    // The role itself survives, and no row points at the deleted group.
    admin.get_role(role.id).await.expect("role survives");
    let pool = server.pool();
    for table in ["group_members", "group_admin_roles"] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE group_id = $1");
        let n: i64 = sqlx::Row::get(
            &sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(group.id.to_string())
                .fetch_one(pool)
                .await
                .expect("count"),
            "n",
        );
        assert_eq!(n, 0, "{table} rows of the deleted group");
    }
    // A new group of the same name starts empty.
    let again = create_group(&admin, "Support").await;
    assert_eq!(again.member_count, 0);
    assert_eq!(
        admin.list_group_roles(again.id).await.expect("roles").total,
        0
    );
    assert_forbidden(client.list_sessions(&all()).await, "sessions.view");
}

// --- no privilege escalation ----------------------------------------------------------------------

async fn escalation_attempts_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let held = [
        "admin_roles.manage",
        "groups.view",
        "groups.members",
        "users.view",
        "users.create",
        "users.update",
    ];
    let (me, jwt, _) = user_with(&server, &admin, "delegate@example.com", &held).await;
    let created = jwt.create_my_token("automation", 30).await.expect("PAT");
    let pat = server.anonymous().with_token(created.token);
    let (peer, _) = server.user_client("peer@example.com").await;
    let strong = create_role(&admin, "Auditors", &["audit.view", "users.view"]).await;
    let strong_group = create_group(&admin, "Audit team").await;
    admin
        .assign_group_role(strong_group.id, strong.id)
        .await
        .expect("assign");
    admin
        .assign_user_role(peer.id, strong.id)
        .await
        .expect("peer holds the strong role");
    let other_admin = admin
        .create_user(&CreateUser {
            email: "root2@example.com".into(),
            password: Some("admin-password-2".into()),
            is_admin: Some(true),
            ..CreateUser::default()
        })
        .await
        .expect("second admin");
    let idp_admin = admin
        .list_roles(&searching("idp:admin"))
        .await
        .expect("roles")
        .data
        .into_iter()
        .find(|r| r.name == "idp:admin")
        .expect("idp:admin");

    // What the delegate may do: create and edit roles within their own permissions.
    let small = create_role(&jwt, "Small", &["users.view"]).await;
    let mut seen = admin.list_audit(&all(), &[]).await.expect("audit").total;

    for (kind, client) in [("JWT", &jwt), ("PAT", &pat)] {
        // Creating a role with a permission they lack.
        assert_forbidden(
            client
                .create_role(&CreateAdminRole {
                    name: format!("Escalate {kind}"),
                    description: None,
                    permissions: vec!["users.view".into(), "audit.view".into()],
                })
                .await,
            "audit.view",
        );
        // Widening a role they may edit.
        assert_forbidden(
            client
                .update_role(
                    small.id,
                    &UpdateAdminRole {
                        permissions: Some(vec!["users.view".into(), "users.delete".into()]),
                        ..UpdateAdminRole::default()
                    },
                )
                .await,
            "users.delete",
        );
        // Editing, even just renaming, or deleting a role stronger than they are.
        assert_forbidden(
            client
                .update_role(
                    strong.id,
                    &UpdateAdminRole {
                        name: Some("Renamed".into()),
                        ..UpdateAdminRole::default()
                    },
                )
                .await,
            "audit.view",
        );
        assert_forbidden(
            client
                .update_role(
                    strong.id,
                    &UpdateAdminRole {
                        permissions: Some(vec!["users.view".into()]),
                        ..UpdateAdminRole::default()
                    },
                )
                .await,
            "audit.view",
        );
        assert_forbidden(client.delete_role(strong.id).await, "audit.view");
        // Assigning a role they cannot grant: to themselves, to another user, to a group.
        assert_forbidden(
            client.assign_user_role(me.id, strong.id).await,
            "audit.view",
        );
        assert_forbidden(
            client.assign_user_role(peer.id, idp_admin.id).await,
            "users.viewaccess",
        );
        let helpers = create_group(&admin, &format!("Helpers {kind}")).await;
        seen += 1;
        assert_forbidden(
            client.assign_group_role(helpers.id, strong.id).await,
            "audit.view",
        );
        // Taking a stronger role away from someone else.
        assert_forbidden(
            client.unassign_user_role(peer.id, strong.id).await,
            "audit.view",
        );
        assert_forbidden(
            client.unassign_group_role(strong_group.id, strong.id).await,
            "audit.view",
        );
        // Joining (or adding someone to) a group that holds a stronger role.
        assert_forbidden(
            client.add_group_member(strong_group.id, me.id).await,
            "audit.view",
        );
        assert_forbidden(
            client.add_group_member(strong_group.id, peer.id).await,
            "audit.view",
        );
        // Becoming an administrator, making someone one, or touching an administrator.
        let user = |id: Uuid| format!("/api/v1/users/{id}");
        let sneaky = format!("sneaky-{}@example.com", kind.to_lowercase());
        let refusals = [
            put(user(me.id), json!({"is_admin": true})),
            put(user(peer.id), json!({"is_admin": true})),
            put(user(other_admin.id), json!({"is_admin": false})),
            put(user(other_admin.id), json!({"first_name": "Mallory"})),
            put(user(other_admin.id), json!({"email": "mine@example.com"})),
            post("/api/v1/users", json!({"email": sneaky, "is_admin": true})),
        ]
        .map(|call| call.refused(403, "forbidden", "is_admin"));
        expect_refusals(client, refusals).await;

        // None of it changed anything or left an audit entry behind.
        assert!(
            new_audit_entries(&admin, &mut seen).await.is_empty(),
            "refused attempts by {kind} are not audited as changes"
        );
    }

    let me_now = jwt.me().await.expect("me");
    assert!(!me_now.user.is_admin);
    assert_eq!(sorted(&me_now.permissions), sorted(&held));
    assert_eq!(
        admin.get_role(small.id).await.expect("small").permissions,
        vec!["users.view"]
    );
    let strong_now = admin.get_role(strong.id).await.expect("strong");
    assert_eq!(strong_now.name, "Auditors");
    assert_eq!(
        sorted(&strong_now.permissions),
        sorted(&["audit.view", "users.view"])
    );
    let mine = admin.list_user_roles(me.id).await.expect("roles");
    assert_eq!(mine.total, 1, "only the role the admin gave");
    assert_eq!(admin.list_user_roles(peer.id).await.expect("peer").total, 1);
    assert!(!admin.get_user(peer.id).await.expect("peer").is_admin);
    let other_now = admin.get_user(other_admin.id).await.expect("other admin");
    assert!(other_now.is_admin);
    assert_eq!(other_now.email, "root2@example.com");
    assert_eq!(
        admin
            .list_group_members(strong_group.id, &all())
            .await
            .expect("members")
            .total,
        0
    );
    assert!(
        admin
            .list_users(&searching("sneaky"))
            .await
            .expect("users")
            .data
            .is_empty()
    );

    // Within their own permissions the delegate is not blocked (assigning and unassigning a role
    // they could grant), and an admin may still do everything.
    jwt.assign_user_role(peer.id, small.id)
        .await
        .expect("assign a role within one's permissions");
    pat.unassign_user_role(peer.id, small.id)
        .await
        .expect("unassign it again");
    admin
        .update_user(
            peer.id,
            &UpdateUser {
                is_admin: Some(true),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("an admin may grant is_admin");
}

/// An administrator's fine-grained token carries only its listed permissions: no `is_admin`
/// bypass, so the same escalation rules apply to it.
async fn fine_grained_admin_tokens_cannot_escalate(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let admin_id = admin.me().await.expect("me").user.id;
    let created = raw(
        &admin,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({"name": "roles only", "expires_in_days": 7, "permissions": ["admin_roles.manage", "groups.*"]})),
    )
    .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.json);
    let narrow = server
        .anonymous()
        .with_token(created.json["token"].as_str().expect("token"));
    let strong = create_role(&admin, "Auditors", &["audit.view"]).await;
    let group = create_group(&admin, "Audit team").await;
    admin
        .assign_group_role(group.id, strong.id)
        .await
        .expect("assign");
    let (user, _) = server.user_client("someone@example.com").await;

    create_role(&narrow, "Group admins", &["groups.view", "groups.members"]).await;
    assert_forbidden(
        narrow
            .create_role(&CreateAdminRole {
                name: "Escalate".into(),
                description: None,
                permissions: vec!["audit.view".into()],
            })
            .await,
        "audit.view",
    );
    assert_forbidden(
        narrow.assign_user_role(user.id, strong.id).await,
        "audit.view",
    );
    assert_forbidden(
        narrow.add_group_member(group.id, user.id).await,
        "audit.view",
    );
    assert_forbidden(
        narrow.add_group_member(group.id, admin_id).await,
        "audit.view",
    );
    assert_forbidden(narrow.list_audit(&all(), &[]).await, "audit.view");
    put(
        format!("/api/v1/users/{}", user.id),
        json!({"is_admin": true}),
    )
    .forbidden("users.update")
    .expect(&narrow)
    .await;
    assert!(!admin.get_user(user.id).await.expect("user").is_admin);
}

/// A token acts with its service account's permissions, so issuing (or managing) one for a service
/// account that holds more than the caller would hand the caller those permissions.
async fn service_account_tokens_do_not_lend_stronger_permissions(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let service_account = |email: &str, is_admin: bool| CreateUser {
        email: email.to_owned(),
        is_service_account: Some(true),
        is_admin: Some(is_admin),
        ..CreateUser::default()
    };
    let plain = admin
        .create_user(&service_account("plain-bot@example.com", false))
        .await
        .expect("plain bot");
    let auditor = admin
        .create_user(&service_account("audit-bot@example.com", false))
        .await
        .expect("audit bot");
    let root = admin
        .create_user(&service_account("root-bot@example.com", true))
        .await
        .expect("admin bot");
    let audit_role = create_role(&admin, "Audit readers", &["audit.view"]).await;
    admin
        .assign_user_role(auditor.id, audit_role.id)
        .await
        .expect("assign");
    let (operator, client, _) = user_with(
        &server,
        &admin,
        "operator@example.com",
        &["service_accounts.tokens", "users.view"],
    )
    .await;
    let mut seen = admin.list_audit(&all(), &[]).await.expect("audit").total;

    // A service account holding nothing beyond the operator's permissions: fine.
    client
        .create_user_token(plain.id, "ci", 30)
        .await
        .expect("token for a plain service account");
    one_entry(&admin, &mut seen, "token.created").await;

    // One holding audit.view, or an administrator service account: refused, nothing written.
    assert_forbidden(
        client.create_user_token(auditor.id, "ci", 30).await,
        "audit.view",
    );
    let refused = client.create_user_token(root.id, "ci", 30).await;
    assert!(
        matches!(&refused, Err(e) if e.status().map(|s| s.as_u16()) == Some(403)),
        "{refused:?}"
    );
    let existing = admin
        .create_user_token(auditor.id, "made by the admin", 30)
        .await
        .expect("the admin may");
    seen += 1;
    assert_forbidden(
        client.list_user_tokens(auditor.id, &all()).await,
        "audit.view",
    );
    assert_forbidden(
        client.revoke_user_token(auditor.id, existing.id).await,
        "audit.view",
    );
    assert!(new_audit_entries(&admin, &mut seen).await.is_empty());
    let bot = server.anonymous().with_token(existing.token.clone());
    bot.list_audit(&all(), &[])
        .await
        .expect("the bot's token still works");

    // Once the operator holds audit.view too, that service account is theirs to serve.
    admin
        .assign_user_role(operator.id, audit_role.id)
        .await
        .expect("assign to operator");
    client
        .create_user_token(auditor.id, "ci", 30)
        .await
        .expect("now allowed");
    client
        .revoke_user_token(auditor.id, existing.id)
        .await
        .expect("revoke allowed");
}

// --- the audit log --------------------------------------------------------------------------------

#[track_caller]
fn check_entry(
    entry: &AuditRecord,
    action: &str,
    actor: &User,
    credential: &str,
    credential_id: Option<Uuid>,
    target_type: &str,
    target_id: Uuid,
) {
    assert_eq!(entry.action, action, "{entry:?}");
    assert_eq!(entry.actor_id, Some(actor.id), "{action}: actor");
    assert_eq!(
        entry.actor_email.as_deref(),
        Some(actor.email.as_str()),
        "{action}"
    );
    assert_eq!(
        entry.credential.as_deref(),
        Some(credential),
        "{action}: credential"
    );
    assert_eq!(
        entry.credential_id, credential_id,
        "{action}: credential_id"
    );
    assert_eq!(
        entry.target_type.as_deref(),
        Some(target_type),
        "{action}: target_type"
    );
    assert_eq!(entry.target_id, Some(target_id), "{action}: target_id");
    assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"), "{action}: ip");
}

async fn one_entry(admin: &Client, seen: &mut u64, step: &str) -> AuditRecord {
    let mut entries = new_audit_entries(admin, seen).await;
    assert_eq!(
        entries.len(),
        1,
        "{step} writes exactly one audit entry: {entries:?}"
    );
    entries.remove(0)
}

async fn every_change_writes_exactly_one_audit_entry(backend: Backend) {
    let server = TestServer::start(backend).await;
    let jwt = server.admin().await;
    let admin = jwt.me().await.expect("me").user;
    let created = jwt.create_my_token("terraform", 30).await.expect("PAT");
    let pat = server.anonymous().with_token(created.token.clone());
    let pat_id = Some(created.id);
    let mut seen = 0;
    let entry = new_audit_entries(&jwt, &mut seen)
        .await
        .pop()
        .expect("entry");
    check_entry(
        &entry,
        "token.created",
        &admin,
        "jwt",
        None,
        "token",
        created.id,
    );

    let group = create_group(&jwt, "Auditable").await;
    let entry = one_entry(&jwt, &mut seen, "group.created").await;
    check_entry(
        &entry,
        "group.created",
        &admin,
        "jwt",
        None,
        "group",
        group.id,
    );
    assert_eq!(
        entry.details.as_ref().expect("details")["name"],
        "Auditable"
    );

    pat.update_group(
        group.id,
        &UpdateGroup {
            description: Some("changed".into()),
            ..UpdateGroup::default()
        },
    )
    .await
    .expect("update group");
    let entry = one_entry(&jwt, &mut seen, "group.updated").await;
    check_entry(
        &entry,
        "group.updated",
        &admin,
        "pat",
        pat_id,
        "group",
        group.id,
    );

    let role = create_role(&jwt, "Auditable role", &["users.view"]).await;
    let entry = one_entry(&jwt, &mut seen, "admin_role.created").await;
    check_entry(
        &entry,
        "admin_role.created",
        &admin,
        "jwt",
        None,
        "admin_role",
        role.id,
    );
    assert_eq!(
        entry.details.as_ref().expect("details")["permissions"],
        json!(["users.view"])
    );

    pat.update_role(
        role.id,
        &UpdateAdminRole {
            permissions: Some(vec!["users.view".into(), "groups.view".into()]),
            ..UpdateAdminRole::default()
        },
    )
    .await
    .expect("update role");
    let entry = one_entry(&jwt, &mut seen, "admin_role.updated").await;
    check_entry(
        &entry,
        "admin_role.updated",
        &admin,
        "pat",
        pat_id,
        "admin_role",
        role.id,
    );

    let user = jwt
        .create_user(&CreateUser {
            email: "subject@example.com".into(),
            password: Some("user-password-1".into()),
            ..CreateUser::default()
        })
        .await
        .expect("create user");
    let entry = one_entry(&jwt, &mut seen, "user.created").await;
    check_entry(&entry, "user.created", &admin, "jwt", None, "user", user.id);

    pat.update_user(
        user.id,
        &UpdateUser {
            first_name: Some("Sam".into()),
            ..UpdateUser::default()
        },
    )
    .await
    .expect("update user");
    let entry = one_entry(&jwt, &mut seen, "user.updated").await;
    check_entry(
        &entry,
        "user.updated",
        &admin,
        "pat",
        pat_id,
        "user",
        user.id,
    );

    jwt.add_group_member(group.id, user.id)
        .await
        .expect("add member");
    let entry = one_entry(&jwt, &mut seen, "group.member_added").await;
    check_entry(
        &entry,
        "group.member_added",
        &admin,
        "jwt",
        None,
        "group",
        group.id,
    );
    assert_eq!(
        entry.details.as_ref().expect("details")["user_id"],
        json!(user.id)
    );

    pat.assign_group_role(group.id, role.id)
        .await
        .expect("assign to group");
    let entry = one_entry(&jwt, &mut seen, "admin_role.assigned to a group").await;
    check_entry(
        &entry,
        "admin_role.assigned",
        &admin,
        "pat",
        pat_id,
        "group",
        group.id,
    );
    assert_eq!(
        entry.details.as_ref().expect("details")["role_id"],
        json!(role.id)
    );

    jwt.assign_user_role(user.id, role.id)
        .await
        .expect("assign to user");
    let entry = one_entry(&jwt, &mut seen, "admin_role.assigned to a user").await;
    check_entry(
        &entry,
        "admin_role.assigned",
        &admin,
        "jwt",
        None,
        "user",
        user.id,
    );
    assert_eq!(
        entry.details.as_ref().expect("details")["role_id"],
        json!(role.id)
    );

    pat.unassign_user_role(user.id, role.id)
        .await
        .expect("unassign from user");
    let entry = one_entry(&jwt, &mut seen, "admin_role.unassigned from a user").await;
    check_entry(
        &entry,
        "admin_role.unassigned",
        &admin,
        "pat",
        pat_id,
        "user",
        user.id,
    );

    jwt.unassign_group_role(group.id, role.id)
        .await
        .expect("unassign from group");
    let entry = one_entry(&jwt, &mut seen, "admin_role.unassigned from a group").await;
    check_entry(
        &entry,
        "admin_role.unassigned",
        &admin,
        "jwt",
        None,
        "group",
        group.id,
    );

    pat.remove_group_member(group.id, user.id)
        .await
        .expect("remove member");
    let entry = one_entry(&jwt, &mut seen, "group.member_removed").await;
    check_entry(
        &entry,
        "group.member_removed",
        &admin,
        "pat",
        pat_id,
        "group",
        group.id,
    );

    // Sessions: a login is audited as such, then both kinds of revocation.
    let subject = server.login("subject@example.com", "user-password-1").await;
    let login = one_entry(&jwt, &mut seen, "login").await;
    assert_eq!(login.action, "auth.login_succeeded");
    assert_eq!(login.credential.as_deref(), Some("password"));
    assert_eq!(login.actor_id, Some(user.id));
    let session = session_ids(&jwt, "subject@example.com").await[0];
    assert_eq!(
        login.target_id,
        Some(session),
        "the login names its session"
    );
    pat.revoke_session(session).await.expect("revoke session");
    let entry = one_entry(&jwt, &mut seen, "session.revoked").await;
    check_entry(
        &entry,
        "session.revoked",
        &admin,
        "pat",
        pat_id,
        "session",
        session,
    );
    assert_api_error(subject.me().await, 401, "invalid_token");
    jwt.revoke_user_sessions(user.id)
        .await
        .expect("revoke all sessions");
    let entry = one_entry(&jwt, &mut seen, "session.revoked (all)").await;
    check_entry(
        &entry,
        "session.revoked",
        &admin,
        "jwt",
        None,
        "user",
        user.id,
    );

    // Service-account tokens, managed with the admin's PAT and JWT.
    let bot = jwt
        .create_user(&CreateUser {
            email: "bot@example.com".into(),
            is_service_account: Some(true),
            ..CreateUser::default()
        })
        .await
        .expect("service account");
    one_entry(&jwt, &mut seen, "user.created").await;
    let bot_token = pat
        .create_user_token(bot.id, "deploy", 7)
        .await
        .expect("SA token");
    let entry = one_entry(&jwt, &mut seen, "token.created").await;
    check_entry(
        &entry,
        "token.created",
        &admin,
        "pat",
        pat_id,
        "token",
        bot_token.id,
    );
    let details = entry.details.expect("details");
    assert_eq!(details["target_user_id"], json!(bot.id));
    assert_eq!(details["token_name"], "deploy");
    assert!(
        !details.to_string().contains(&bot_token.token),
        "no token value in the audit log"
    );
    jwt.revoke_user_token(bot.id, bot_token.id)
        .await
        .expect("revoke SA token");
    let entry = one_entry(&jwt, &mut seen, "token.revoked").await;
    check_entry(
        &entry,
        "token.revoked",
        &admin,
        "jwt",
        None,
        "token",
        bot_token.id,
    );

    // Failed changes write nothing.
    assert_api_error(
        jwt.create_group(&CreateGroup {
            name: "auditable".into(),
            description: None,
        })
        .await,
        409,
        "conflict",
    );
    assert_api_error(pat.delete_group(Uuid::now_v7()).await, 404, "not_found");
    assert_api_error(
        pat.remove_group_member(group.id, user.id).await,
        404,
        "not_found",
    );
    assert!(new_audit_entries(&jwt, &mut seen).await.is_empty());

    // Deletions.
    pat.delete_role(role.id).await.expect("delete role");
    let entry = one_entry(&jwt, &mut seen, "admin_role.deleted").await;
    check_entry(
        &entry,
        "admin_role.deleted",
        &admin,
        "pat",
        pat_id,
        "admin_role",
        role.id,
    );
    jwt.delete_group(group.id).await.expect("delete group");
    let entry = one_entry(&jwt, &mut seen, "group.deleted").await;
    check_entry(
        &entry,
        "group.deleted",
        &admin,
        "jwt",
        None,
        "group",
        group.id,
    );
    pat.delete_user(user.id).await.expect("delete user");
    let entry = one_entry(&jwt, &mut seen, "user.deleted").await;
    check_entry(
        &entry,
        "user.deleted",
        &admin,
        "pat",
        pat_id,
        "user",
        user.id,
    );
    jwt.revoke_my_token(created.id)
        .await
        .expect("revoke own PAT");
    let entry = one_entry(&jwt, &mut seen, "token.revoked (own)").await;
    check_entry(
        &entry,
        "token.revoked",
        &admin,
        "jwt",
        None,
        "token",
        created.id,
    );

    // Reading writes nothing.
    jwt.list_groups(&all()).await.expect("read");
    jwt.list_audit(&all(), &[]).await.expect("read");
    assert!(new_audit_entries(&jwt, &mut seen).await.is_empty());
}

async fn audit_filters_and_pagination(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (delegate, client, _) = user_with(
        &server,
        &admin,
        "delegate@example.com",
        &["groups.create", "groups.update", "audit.view"],
    )
    .await;
    let red = create_group(&admin, "Red").await;
    let blue = create_group(&client, "Blue").await;
    client
        .update_group(
            blue.id,
            &UpdateGroup {
                description: Some("navy".into()),
                ..UpdateGroup::default()
            },
        )
        .await
        .expect("update");
    admin
        .update_group(
            red.id,
            &UpdateGroup {
                description: Some("crimson".into()),
                ..UpdateGroup::default()
            },
        )
        .await
        .expect("update");
    let log = whole_audit_log(&admin).await;
    let count = |f: &dyn Fn(&AuditRecord) -> bool| log.iter().filter(|e| f(e)).count() as u64;

    // The holder of audit.view reads the same log with the same filters as the admin.
    for reader in [&admin, &client] {
        let query = |filters: Vec<(&'static str, String)>| async move {
            let pairs: Vec<(&str, &str)> = filters.iter().map(|(k, v)| (*k, v.as_str())).collect();
            reader
                .list_audit(&all(), &pairs)
                .await
                .expect("filtered audit")
        };

        let page = query(vec![("action", "group.created".into())]).await;
        assert_eq!(page.total, 2);
        assert!(page.data.iter().all(|e| e.action == "group.created"));

        let page = query(vec![("action", "group.*".into())]).await;
        assert_eq!(page.total, 4);
        assert_eq!(
            page.total,
            count(&|e: &AuditRecord| e.action.starts_with("group."))
        );
        assert!(page.data.iter().all(|e| e.action.starts_with("group.")));

        let page = query(vec![("action", "admin_role.*".into())]).await;
        assert_eq!(
            page.total,
            count(&|e: &AuditRecord| e.action.starts_with("admin_role."))
        );
        assert!(page.total >= 2, "two roles were assigned");
        // The `_` of a prefix is not a wildcard, and without `*` the match is exact.
        let page = query(vec![("action", "admin-role.*".into())]).await;
        assert_eq!(page.total, 0);
        let page = query(vec![("action", "group".into())]).await;
        assert_eq!(page.total, 0);
        let page = query(vec![("action", "group.%".into())]).await;
        assert_eq!(page.total, 0);
        let page = query(vec![("action", "*".into())]).await;
        assert_eq!(page.total, log.len() as u64);

        let page = query(vec![("actor_id", delegate.id.to_string())]).await;
        assert_eq!(
            page.total,
            count(&|e: &AuditRecord| e.actor_id == Some(delegate.id))
        );
        assert_eq!(page.total, 3, "login, group.created, group.updated");
        assert!(page.data.iter().all(|e| e.actor_id == Some(delegate.id)));

        let page = query(vec![("target_id", red.id.to_string())]).await;
        assert_eq!(
            page.data
                .iter()
                .map(|e| e.action.as_str())
                .collect::<Vec<_>>(),
            vec!["group.updated", "group.created"]
        );

        let page = query(vec![
            ("actor_id", delegate.id.to_string()),
            ("action", "group.*".into()),
            ("target_id", blue.id.to_string()),
        ])
        .await;
        assert_eq!(page.total, 2);

        // since and until bound `at`, inclusively, in any RFC 3339 offset.
        let middle = log[log.len() / 2].at;
        let page = query(vec![("since", rfc3339(middle))]).await;
        assert_eq!(page.total, count(&|e: &AuditRecord| e.at >= middle));
        assert!(page.data.iter().all(|e| e.at >= middle));
        let page = query(vec![("until", rfc3339(middle))]).await;
        assert_eq!(page.total, count(&|e: &AuditRecord| e.at <= middle));
        assert!(page.data.iter().all(|e| e.at <= middle));
        let shifted = middle
            .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).expect("offset"))
            .to_rfc3339_opts(SecondsFormat::Millis, false);
        assert!(shifted.ends_with("+02:00"));
        let page = query(vec![("since", shifted.clone()), ("until", shifted)]).await;
        assert_eq!(page.total, count(&|e: &AuditRecord| e.at == middle));
        assert!(page.total >= 1);
        let page = query(vec![(
            "since",
            rfc3339(Utc::now() + chrono::Duration::hours(1)),
        )])
        .await;
        assert_eq!(page.total, 0);
        let page = query(vec![("until", "2000-01-01T00:00:00Z".into())]).await;
        assert_eq!(page.total, 0);
    }

    // Malformed filters are 400s naming the filter.
    let refusals = [
        ("actor_id", "not-a-uuid"),
        ("target_id", "12345"),
        ("since", "yesterday"),
        ("since", "2026-01-31"),
        ("until", "2026-13-01T00:00:00Z"),
    ]
    .map(|(key, value)| get(format!("/api/v1/audit?{key}={value}")).invalid(key));
    expect_refusals(&admin, refusals).await;

    // Pagination: pages of 2 walk the whole log, newest first, without gaps or repeats.
    let newest_first: Vec<Uuid> = log.iter().rev().map(|e| e.id).collect();
    let mut walked = Vec::new();
    for page_number in 1.. {
        let page = admin
            .list_audit(
                &ListParams {
                    page: Some(page_number),
                    limit: Some(2),
                    search: None,
                },
                &[],
            )
            .await
            .expect("page");
        assert_eq!(page.total, log.len() as u64);
        assert_eq!((page.page, page.limit), (page_number, 2));
        if page.data.is_empty() {
            break;
        }
        assert!(page.data.len() <= 2);
        walked.extend(page.data.iter().map(|e| e.id));
    }
    assert_eq!(walked, newest_first);
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
    let page = admin
        .list_audit(
            &ListParams {
                page: Some(2),
                limit: Some(1),
                search: None,
            },
            &[("action", "group.*")],
        )
        .await
        .expect("filtered page");
    assert_eq!((page.total, page.data.len()), (4, 1));
    let clamped = raw(&admin, Method::GET, "/api/v1/audit?limit=1000", None).await;
    assert_eq!(clamped.status.as_u16(), 200);
    assert_eq!(clamped.json["limit"], 100);
    let refusals = [("page=0", "page"), ("limit=0", "limit"), ("page=x", "page")]
        .map(|(query, field)| get(format!("/api/v1/audit?{query}")).invalid(field));
    expect_refusals(&admin, refusals).await;

    // Append-only: no method changes or deletes an entry.
    let entry = &log[0];
    let refusals = [Method::POST, Method::PUT, Method::DELETE, Method::PATCH].map(|method| {
        Call::new(method, "/api/v1/audit", Some(json!({"action": "forged"}))).refused(
            405,
            "method_not_allowed",
            "",
        )
    });
    expect_refusals(&admin, refusals).await;
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let answer = raw(
            &admin,
            method.clone(),
            &format!("/api/v1/audit/{}", entry.id),
            Some(json!({"action": "forged"})),
        )
        .await;
        assert!(
            matches!(answer.status.as_u16(), 404 | 405),
            "{method} /audit/{{id}}: {}",
            answer.status
        );
    }
    let after = whole_audit_log(&admin).await;
    assert_eq!(after, log, "the log is unchanged");
}

async fn audit_entries_past_retention_are_purged(backend: Backend) {
    let mut first = TestServer::start(backend).await;
    let admin = first.admin().await;
    let group = create_group(&admin, "Recent").await;
    // Two entries written long ago, as if by an older deployment: one past a one-day retention,
    // one within it.
    let now = justiam_core::time::now_millis();
    for (action, age) in [
        ("test.two_days_old", 2 * 24 * 3600 * 1000),
        ("test.half_a_day_old", 12 * 3600 * 1000),
    ] {
        sqlx::query("INSERT INTO audit_log (id, at, action) VALUES ($1, $2, $3)")
            .bind(Uuid::now_v7().to_string())
            .bind(now - age)
            .bind(action)
            .execute(first.pool())
            .await
            .expect("insert aged entry");
    }
    assert_eq!(
        admin
            .list_audit(&all(), &[("action", "test.*")])
            .await
            .expect("audit")
            .total,
        2
    );
    first.stop().await;

    // The next start, with AUDIT_RETENTION_DAYS=1, purges in the background right away.
    let database_url = first.database_url.clone();
    let second = TestServer::start_with(backend, |args| {
        args.db.database_url = database_url;
        args.audit_retention_days = 1;
    })
    .await;
    let admin = second.admin().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let remaining = loop {
        let page = admin
            .list_audit(&all(), &[("action", "test.*")])
            .await
            .expect("audit");
        if page.total < 2 || Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        remaining
            .data
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        vec!["test.half_a_day_old"],
        "only the entry past retention is purged"
    );
    let group_id = group.id.to_string();
    let recent = admin
        .list_audit(&all(), &[("target_id", group_id.as_str())])
        .await
        .expect("audit");
    assert_eq!(recent.total, 1, "recent entries are kept");
}

// --- sessions -------------------------------------------------------------------------------------

async fn sessions_are_listed_searched_and_revoked(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (user, first) = server.user_client("Grace.Hopper@example.com").await;
    let older = session_ids(&admin, "grace").await;
    assert_eq!(older.len(), 1);
    let second = server
        .login("grace.hopper@example.com", "user-password-1")
        .await;
    let pat_value = first.create_my_token("cli", 30).await.expect("PAT").token;
    let pat = server.anonymous().with_token(pat_value);
    let (_, bystander) = server.user_client("bystander@example.com").await;

    // Search is a case-insensitive substring of the email; newest first.
    let page = admin
        .list_sessions(&searching("HOPPER@"))
        .await
        .expect("sessions");
    assert_eq!(page.total, 2);
    assert_eq!(page.data[1].id, older[0]);
    let newer = page.data[0].id;
    for session in &page.data {
        assert_eq!(session.user_id, user.id);
        assert_eq!(session.user_email, "Grace.Hopper@example.com");
        assert_eq!(session.ip.as_deref(), Some("127.0.0.1"));
        assert!(session.expires_at > session.created_at);
    }
    let everyone = admin.list_sessions(&all()).await.expect("all sessions");
    assert!(everyone.total >= 4, "admin, grace twice, bystander");
    let by_user = raw(
        &admin,
        Method::GET,
        &format!("/api/v1/sessions?user_id={}", user.id),
        None,
    )
    .await;
    assert_eq!(by_user.json["total"], 2, "{}", by_user.json);
    get("/api/v1/sessions?user_id=nope")
        .invalid("user_id")
        .expect(&admin)
        .await;
    let paged = admin
        .list_sessions(&ListParams {
            page: Some(2),
            limit: Some(1),
            search: Some("hopper".into()),
        })
        .await
        .expect("page 2");
    assert_eq!((paged.total, paged.data.len()), (2, 1));
    assert_eq!(paged.data[0].id, older[0]);

    // Revoking one session ends that JWT on its next request; the other one keeps working.
    first.me().await.expect("first works");
    admin.revoke_session(older[0]).await.expect("revoke");
    assert_invalid_token(&raw(&first, Method::GET, "/api/v1/me", None).await);
    second.me().await.expect("the other session keeps working");
    assert_api_error(admin.revoke_session(older[0]).await, 404, "not_found");
    assert_eq!(session_ids(&admin, "hopper").await, vec![newer]);

    // Revoking all of a user's sessions ends every JWT of that user, and only of that user.
    admin
        .revoke_user_sessions(user.id)
        .await
        .expect("revoke all");
    assert_api_error(second.me().await, 401, "invalid_token");
    assert!(session_ids(&admin, "hopper").await.is_empty());
    bystander
        .me()
        .await
        .expect("other users keep their sessions");
    admin.me().await.expect("the admin keeps theirs");
    // Sessions are portal logins: personal access tokens are revoked separately.
    pat.me().await.expect("the user's PAT is not a session");
    // A fresh login works again.
    server
        .login("grace.hopper@example.com", "user-password-1")
        .await
        .me()
        .await
        .expect("new login");
    // Revoking all sessions of a user who has none is fine.
    let nobody = server
        .create_user("idle@example.com", "user-password-1")
        .await;
    admin
        .revoke_user_sessions(nobody.id)
        .await
        .expect("revoke all");
    admin
        .revoke_user_sessions(nobody.id)
        .await
        .expect("revoke all again");
}

// --- the user story -------------------------------------------------------------------------------

/// The story of the issue, told as it happens.
async fn ci_operators_story(backend: Backend) {
    let server = TestServer::start(backend).await;

    // Ada administers JustIAM for her company. She logs in.
    let ada = server.admin().await;
    let ada_user = ada.me().await.expect("me").user;

    // The deployment pipeline runs as a service account, which can never log in.
    let bot = ada
        .create_user(&CreateUser {
            email: "deploy-bot@example.com".into(),
            is_service_account: Some(true),
            ..CreateUser::default()
        })
        .await
        .expect("service account");

    // Olivia runs CI. She gets an ordinary account: Ada will not make her an administrator.
    let olivia = ada
        .create_user(&CreateUser {
            email: "olivia@example.com".into(),
            password: Some("olivia-password-1".into()),
            first_name: Some("Olivia".into()),
            ..CreateUser::default()
        })
        .await
        .expect("olivia");

    // Instead Ada creates a "CI operators" group...
    let operators = ada
        .create_group(&CreateGroup {
            name: "CI operators".into(),
            description: Some("People who issue tokens for pipelines".into()),
        })
        .await
        .expect("group");

    // ...and a custom role with exactly what CI operators need: tokens for service accounts, and
    // seeing users so they can find the service account.
    let role = ada
        .create_role(&CreateAdminRole {
            name: "CI token issuer".into(),
            description: Some("Issues tokens for service accounts".into()),
            permissions: vec!["service_accounts.tokens".into(), "users.view".into()],
        })
        .await
        .expect("role");

    // She gives the role to the group, and puts Olivia in the group.
    ada.assign_group_role(operators.id, role.id)
        .await
        .expect("assign role to group");
    ada.add_group_member(operators.id, olivia.id)
        .await
        .expect("add Olivia");
    let held = ada.list_user_roles(olivia.id).await.expect("roles");
    assert_eq!(held.total, 1);
    assert_eq!(held.data[0].source, "group");
    assert_eq!(
        held.data[0].via_group.as_ref().map(|g| g.name.as_str()),
        Some("CI operators")
    );

    // Olivia logs in. She holds exactly the two permissions of the role.
    let olivia_client = server
        .login("olivia@example.com", "olivia-password-1")
        .await;
    let me = olivia_client.me().await.expect("me");
    assert!(!me.user.is_admin);
    assert_eq!(
        sorted(&me.permissions),
        sorted(&["service_accounts.tokens", "users.view"])
    );

    // She finds the pipeline's service account and creates a token for it.
    let found = olivia_client
        .list_users(&searching("deploy-bot"))
        .await
        .expect("find the bot");
    assert_eq!(found.total, 1);
    assert_eq!(found.data[0].id, bot.id);
    let token = olivia_client
        .create_user_token(bot.id, "GitHub Actions", 90)
        .await
        .expect("token for the bot");
    assert!(token.token.starts_with("justiam_pat_"));

    // The pipeline authenticates with it, as the service account.
    let pipeline = server.anonymous().with_token(token.token.clone());
    let as_bot = pipeline.me().await.expect("the token works");
    assert_eq!(as_bot.user.id, bot.id);
    assert!(as_bot.user.is_service_account);

    // And that is all Olivia can do.
    assert_forbidden(
        olivia_client
            .create_group(&CreateGroup {
                name: "Olivia's group".into(),
                description: None,
            })
            .await,
        "groups.create",
    );
    assert_forbidden(olivia_client.list_audit(&all(), &[]).await, "audit.view");
    assert_forbidden(
        olivia_client
            .create_user(&CreateUser {
                email: "friend@example.com".into(),
                ..CreateUser::default()
            })
            .await,
        "users.create",
    );
    assert_forbidden(
        olivia_client
            .create_role(&CreateAdminRole {
                name: "More".into(),
                description: None,
                permissions: vec!["audit.view".into()],
            })
            .await,
        "admin_roles.manage",
    );
    assert_forbidden(
        olivia_client.assign_user_role(olivia.id, role.id).await,
        "admin_roles.manage",
    );
    assert_forbidden(
        olivia_client
            .add_group_member(operators.id, olivia.id)
            .await,
        "groups.members",
    );
    assert_forbidden(
        olivia_client
            .update_user(
                olivia.id,
                &UpdateUser {
                    is_admin: Some(true),
                    ..UpdateUser::default()
                },
            )
            .await,
        "users.update",
    );
    assert_forbidden(olivia_client.delete_user(bot.id).await, "users.delete");
    assert_forbidden(olivia_client.list_sessions(&all()).await, "sessions.view");
    assert_forbidden(olivia_client.list_groups(&all()).await, "groups.view");

    // The project changes hands: Ada takes Olivia out of the group.
    ada.remove_group_member(operators.id, olivia.id)
        .await
        .expect("remove Olivia");

    // Olivia's very next request, with the same login, can no longer issue or even list tokens.
    assert_forbidden(
        olivia_client
            .create_user_token(bot.id, "One more", 90)
            .await,
        "service_accounts.tokens",
    );
    assert_forbidden(
        olivia_client.list_user_tokens(bot.id, &all()).await,
        "service_accounts.tokens",
    );
    assert_forbidden(olivia_client.list_users(&all()).await, "users.view");
    assert!(
        olivia_client
            .me()
            .await
            .expect("she can still log in")
            .permissions
            .is_empty()
    );

    // The token she issued belongs to the service account, so the pipeline keeps running.
    pipeline
        .me()
        .await
        .expect("the pipeline's token still works");

    // Later, Ada reads the audit log. It tells the whole story, in order, and nothing else:
    // Olivia's refused attempts changed nothing and left no entry.
    let story: Vec<Step<String>> = whole_audit_log(&ada)
        .await
        .into_iter()
        .map(|e| (e.action, e.actor_id, e.credential, e.target_id))
        .collect();
    let ada_id = Some(ada_user.id);
    let jwt = Some("jwt".to_owned());
    let password = Some("password".to_owned());
    let expected: Vec<Step<&str>> = vec![
        // The server created Ada's account on first start.
        ("user.created", None, None, ada_id),
        ("auth.login_succeeded", ada_id, password.clone(), None),
        ("user.created", ada_id, jwt.clone(), Some(bot.id)),
        ("user.created", ada_id, jwt.clone(), Some(olivia.id)),
        ("group.created", ada_id, jwt.clone(), Some(operators.id)),
        ("admin_role.created", ada_id, jwt.clone(), Some(role.id)),
        (
            "admin_role.assigned",
            ada_id,
            jwt.clone(),
            Some(operators.id),
        ),
        (
            "group.member_added",
            ada_id,
            jwt.clone(),
            Some(operators.id),
        ),
        ("auth.login_succeeded", Some(olivia.id), password, None),
        (
            "token.created",
            Some(olivia.id),
            jwt.clone(),
            Some(token.id),
        ),
        ("group.member_removed", ada_id, jwt, Some(operators.id)),
    ];
    assert_eq!(story.len(), expected.len(), "the story: {story:#?}");
    for (told, (action, actor, credential, target)) in story.iter().zip(&expected) {
        assert_eq!(told.0, *action, "the story: {story:#?}");
        assert_eq!(told.1, *actor, "{action}: actor");
        assert_eq!(told.2, *credential, "{action}: credential");
        if target.is_some() {
            assert_eq!(told.3, *target, "{action}: target");
        }
    }

    // Filtered, the log answers the questions an auditor asks. Who issued tokens?
    let issued = ada
        .list_audit(&all(), &[("action", "token.*")])
        .await
        .expect("token events");
    assert_eq!(issued.total, 1);
    let event = &issued.data[0];
    assert_eq!(event.actor_email.as_deref(), Some("olivia@example.com"));
    let details = event.details.as_ref().expect("details");
    assert_eq!(details["target_user_id"], json!(bot.id));
    assert_eq!(details["token_name"], "GitHub Actions");
    // What happened to the CI operators group, newest first?
    let operators_id = operators.id.to_string();
    let group_history: Vec<String> = ada
        .list_audit(&all(), &[("target_id", operators_id.as_str())])
        .await
        .expect("group history")
        .data
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        group_history,
        vec![
            "group.member_removed",
            "group.member_added",
            "admin_role.assigned",
            "group.created"
        ]
    );
    // What did Olivia do?
    let olivia_id = olivia.id.to_string();
    let olivia_did: Vec<String> = ada
        .list_audit(&all(), &[("actor_id", olivia_id.as_str())])
        .await
        .expect("Olivia's actions")
        .data
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(olivia_did, vec!["token.created", "auth.login_succeeded"]);
}

crate::on_both_databases!(
    group_endpoints_need_their_permission,
    role_endpoints_need_admin_roles_manage,
    audit_and_session_endpoints_need_their_permission,
    built_in_roles_are_listed_and_immutable,
    names_permissions_and_ids_are_validated,
    groups_and_members_are_listed_paginated_and_searchable,
    permission_changes_apply_at_once_to_jwts_and_pats,
    user_roles_show_direct_and_group_sources,
    deleting_a_group_removes_memberships_and_assignments,
    escalation_attempts_are_refused,
    service_account_tokens_do_not_lend_stronger_permissions,
    fine_grained_admin_tokens_cannot_escalate,
    every_change_writes_exactly_one_audit_entry,
    audit_filters_and_pagination,
    audit_entries_past_retention_are_purged,
    sessions_are_listed_searched_and_revoked,
    ci_operators_story,
);
