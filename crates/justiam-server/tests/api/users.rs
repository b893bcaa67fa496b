//! Users and service accounts: creation, uniqueness, validation, lists, reads, updates, deletion,
//! the protected-user rules, `is_admin` handling, and the permission each endpoint needs.

use justiam_client::{Client, ListParams};
use justiam_types::{CreateUser, UpdateUser, User};
use reqwest::Method;
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use crate::common::*;

// --- helpers ------------------------------------------------------------------------------------

/// A user with no password (fast to create), through the admin API.
async fn quick_user(admin: &Client, email: &str) -> User {
    admin
        .create_user(&CreateUser {
            email: email.to_owned(),
            ..CreateUser::default()
        })
        .await
        .expect("create user")
}

fn user_path(id: impl std::fmt::Display) -> String {
    format!("/api/v1/users/{id}")
}

// --- creation -----------------------------------------------------------------------------------

async fn create_answers_201_with_a_derived_unique_username(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;

    let first = raw(
        &admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "bob@a.com", "first_name": "Bob", "last_name": "Builder"})),
    )
    .await;
    assert_eq!(first.status.as_u16(), 201, "body {}", first.json);
    let body = &first.json;
    assert_eq!(body["email"], "bob@a.com");
    assert_eq!(body["username"], "bob");
    assert_eq!(body["first_name"], "Bob");
    assert_eq!(body["last_name"], "Builder");
    assert_eq!(body["is_active"], true);
    assert_eq!(body["is_admin"], false);
    assert_eq!(body["is_service_account"], false);
    assert_eq!(body["auth_source"], "internal");
    for key in ["id", "created_at", "updated_at"] {
        assert!(body[key].is_string(), "{key} in {body}");
    }
    assert!(
        body.get("password").is_none() && body.get("password_hash").is_none(),
        "a user never carries its password: {body}"
    );

    let second = quick_user(&admin, "bob@b.com").await;
    assert_eq!(second.username, "bob2");
    let third = quick_user(&admin, "Bob@c.com").await;
    assert_eq!(third.username, "bob3");
    let dotted = quick_user(&admin, "Bob.Smith+ci@example.com").await;
    assert_eq!(dotted.username, "bob.smithci");

    // The read returns what the creation returned.
    let id = body["id"].as_str().expect("id");
    let read = raw(&admin, Method::GET, &user_path(id), None).await;
    assert_eq!(read.status.as_u16(), 200);
    assert_eq!(&read.json, body);

    // A username is read-only: the update type has no such field.
    let renamed = raw(
        &admin,
        Method::PUT,
        &user_path(id),
        Some(json!({"username": "robert"})),
    )
    .await;
    assert_eq!(renamed.status.as_u16(), 400, "body {}", renamed.json);
}

async fn email_is_unique_case_insensitively(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let alice = quick_user(&admin, "alice@example.com").await;
    let other = quick_user(&admin, "other@example.com").await;

    expect_refusals(
        &admin,
        [
            post("/api/v1/users", json!({"email": "ALICE@Example.COM"})).conflict("email"),
            // Surrounding spaces are trimmed, so they do not make a new address either.
            post("/api/v1/users", json!({"email": "  alice@example.com "})).conflict("email"),
            put(user_path(other.id), json!({"email": "Alice@EXAMPLE.com"})).conflict("email"),
        ],
    )
    .await;

    // Changing only the case of one's own address is not a conflict.
    let recased = admin
        .update_user(
            alice.id,
            &UpdateUser {
                email: Some("Alice@Example.com".to_owned()),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("re-case own email");
    assert_eq!(recased.email, "Alice@Example.com");
    let page = admin
        .list_users(&ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 3, "no user was added by the refused requests");
}

async fn invalid_email_is_a_validation_error_naming_the_field(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let user = quick_user(&admin, "valid@example.com").await;
    let bad = [
        "",
        "   ",
        "not-an-email",
        "a@b",
        "a b@c.de",
        "@example.com",
        "a@@b.c",
    ];
    let refusals = bad
        .map(|email| post("/api/v1/users", json!({ "email": email })).invalid("email"))
        .into_iter()
        .chain([
            post("/api/v1/users", json!({"first_name": "x"})).invalid("email"),
            post("/api/v1/users", json!({"email": 42})).invalid("email"),
            put(user_path(user.id), json!({"email": "nope"})).invalid("email"),
        ]);
    expect_refusals(&admin, refusals).await;
}

async fn service_accounts_have_no_password(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    post(
        "/api/v1/users",
        json!({"email": "ci@example.com", "is_service_account": true, "password": "long-enough-pw"}),
    )
    .invalid("password")
    .expect(&admin)
    .await;

    let created = raw(
        &admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "ci@example.com", "is_service_account": true})),
    )
    .await;
    assert_eq!(created.status.as_u16(), 201, "body {}", created.json);
    assert_eq!(created.json["is_service_account"], true);
    assert_eq!(created.json["username"], "ci");
    let id = created.json["id"].as_str().expect("id");
    assert_eq!(
        count_rows(&server, "users", "id", id).await,
        1,
        "the service account is stored"
    );
    let hash: Option<String> = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(server.pool())
        .await
        .expect("read user")
        .try_get("password_hash")
        .expect("password_hash");
    assert_eq!(hash, None, "a service account has no password hash");

    // A regular user's password follows the minimum length.
    post(
        "/api/v1/users",
        json!({"email": "short@example.com", "password": "1234567"}),
    )
    .invalid("password")
    .expect(&admin)
    .await;
}

// --- lists --------------------------------------------------------------------------------------

async fn list_searches_case_insensitive_substrings(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let by_email = quick_user(&admin, "carol.zed@example.com").await;
    let by_domain = quick_user(&admin, "dave@zedcorp.io").await;
    let by_name = admin
        .create_user(&CreateUser {
            email: "erin@example.com".to_owned(),
            last_name: Some("McZeddy".to_owned()),
            ..CreateUser::default()
        })
        .await
        .expect("create erin");
    quick_user(&admin, "frank@example.com").await;

    let found = admin
        .list_users(&ListParams {
            search: Some("ZeD".to_owned()),
            ..ListParams::default()
        })
        .await
        .expect("search");
    assert_eq!(found.total, 3);
    let ids: Vec<Uuid> = found.data.iter().map(|u| u.id).collect();
    assert_eq!(
        ids,
        vec![by_name.id, by_domain.id, by_email.id],
        "matches, newest first"
    );

    let username = admin
        .list_users(&ListParams {
            search: Some("FRANK".to_owned()),
            ..ListParams::default()
        })
        .await
        .expect("search");
    assert_eq!(username.total, 1);
    assert_eq!(username.data[0].email, "frank@example.com");

    for nothing in ["no-such-user", "%", "_"] {
        let none = admin
            .list_users(&ListParams {
                search: Some(nothing.to_owned()),
                ..ListParams::default()
            })
            .await
            .expect("search");
        assert_eq!(none.total, 0, "search {nothing:?} is a literal substring");
        assert!(none.data.is_empty());
    }

    // A blank search is no filter.
    let all = raw(&admin, Method::GET, "/api/v1/users?search=%20", None).await;
    assert_eq!(all.status.as_u16(), 200);
    assert_eq!(all.json["total"], 5);
}

async fn list_paginates_with_defaults_clamping_and_a_stable_order(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let admin_id = admin.me().await.expect("me").user.id;
    let mut created = vec![admin_id];
    for i in 0..24 {
        created.push(
            quick_user(&admin, &format!("user{i:02}@example.com"))
                .await
                .id,
        );
    }
    let newest_first: Vec<Uuid> = created.iter().rev().copied().collect();

    let default = raw(&admin, Method::GET, "/api/v1/users", None).await;
    assert_eq!(default.status.as_u16(), 200);
    assert_eq!(default.json["total"], 25);
    assert_eq!(default.json["page"], 1);
    assert_eq!(default.json["limit"], 20);
    assert_eq!(
        default.json["data"].as_array().map(Vec::len),
        Some(20),
        "default limit"
    );

    let second = admin
        .list_users(&ListParams {
            page: Some(2),
            ..ListParams::default()
        })
        .await
        .expect("page 2");
    assert_eq!((second.page, second.limit, second.total), (2, 20, 25));
    assert_eq!(second.data.len(), 5);

    let clamped = raw(&admin, Method::GET, "/api/v1/users?limit=500", None).await;
    assert_eq!(clamped.status.as_u16(), 200, "body {}", clamped.json);
    assert_eq!(clamped.json["limit"], 100, "a larger limit is clamped");
    assert_eq!(clamped.json["data"].as_array().map(Vec::len), Some(25));

    // Walking pages of 7 visits everyone once, newest first (ties broken by id).
    let mut walked = Vec::new();
    for page in 1..=4 {
        let p = admin
            .list_users(&ListParams {
                page: Some(page),
                limit: Some(7),
                search: None,
            })
            .await
            .expect("page");
        assert_eq!(p.total, 25);
        walked.extend(p.data.iter().map(|u| u.id));
    }
    assert_eq!(walked, newest_first);

    let beyond = admin
        .list_users(&ListParams {
            page: Some(10),
            ..ListParams::default()
        })
        .await
        .expect("page beyond the end");
    assert!(beyond.data.is_empty());
    assert_eq!(beyond.total, 25);

    let huge = raw(
        &admin,
        Method::GET,
        "/api/v1/users?limit=99999999999999999999999",
        None,
    )
    .await;
    assert_eq!(huge.status.as_u16(), 200, "body {}", huge.json);
    assert_eq!(huge.json["limit"], 100);

    let long_search = format!("search={}", "a".repeat(201));
    let refusals = [
        (long_search.as_str(), "search"),
        ("page=99999999999999999999999", "page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("limit=-5", "limit"),
    ]
    .map(|(query, field)| get(format!("/api/v1/users?{query}")).invalid(field));
    expect_refusals(&admin, refusals).await;
}

// --- read, update, delete -------------------------------------------------------------------------

async fn read_update_delete_and_unknown_ids(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let user = quick_user(&admin, "gina@example.com").await;

    let updated = raw(
        &admin,
        Method::PUT,
        &user_path(user.id),
        Some(json!({"first_name": "  Gina ", "last_name": "Lollo"})),
    )
    .await;
    assert_eq!(updated.status.as_u16(), 200, "body {}", updated.json);
    assert_eq!(updated.json["first_name"], "Gina", "names are trimmed");
    assert_eq!(updated.json["last_name"], "Lollo");
    assert_eq!(
        updated.json["email"], "gina@example.com",
        "absent fields stay"
    );
    assert_eq!(updated.json["username"], "gina");
    let read = admin.get_user(user.id).await.expect("read");
    assert_eq!(read.first_name, "Gina");
    assert!(read.updated_at >= read.created_at);
    assert_eq!(read.created_at, user.created_at);

    let unknown = user_path(Uuid::now_v7());
    let x = json!({"first_name": "x"});
    expect_refusals(
        &admin,
        [
            put(user_path(user.id), json!({"first_name": "x".repeat(101)})).invalid("first_name"),
            get(&unknown).not_found("user"),
            delete(&unknown).not_found("user"),
            put(&unknown, x.clone()).not_found("user"),
            get("/api/v1/users/not-a-uuid").invalid("path"),
            delete("/api/v1/users/not-a-uuid").invalid("path"),
            put("/api/v1/users/12345", x).invalid("path"),
        ],
    )
    .await;

    let deleted = raw(&admin, Method::DELETE, &user_path(user.id), None).await;
    assert_eq!(deleted.status.as_u16(), 204, "body {}", deleted.json);
    expect_refusals(
        &admin,
        [
            get(user_path(user.id)).not_found("user"),
            delete(user_path(user.id)).not_found("user"),
        ],
    )
    .await;
}

// --- protected users ------------------------------------------------------------------------------

async fn protected_user_rules(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let me = admin.me().await.expect("me").user;

    let me_path = user_path(me.id);
    let demote_last = put(&me_path, json!({"is_admin": false})).refused(
        409,
        "protected_user",
        "last active administrator",
    );
    expect_refusals(
        &admin,
        [
            delete(&me_path).refused(409, "protected_user", ""),
            put(&me_path, json!({"is_active": false})).refused(409, "protected_user", ""),
            demote_last.clone(),
        ],
    )
    .await;

    // A second admin who is deactivated does not count: the first is still the last active one.
    let second = admin
        .create_user(&CreateUser {
            email: "second@example.com".to_owned(),
            password: Some("second-password".to_owned()),
            is_admin: Some(true),
            ..CreateUser::default()
        })
        .await
        .expect("second admin");
    assert!(second.is_admin);
    let off = admin
        .update_user(
            second.id,
            &UpdateUser {
                is_active: Some(false),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("deactivate the second admin");
    assert!(!off.is_active);
    demote_last.expect(&admin).await;

    // The rules hold whatever the credential: a PAT of the admin is refused alike.
    let pat = admin
        .create_my_token("protected-user test", 1)
        .await
        .expect("pat");
    let by_pat = admin.with_token(pat.token);
    delete(&me_path)
        .refused(409, "protected_user", "")
        .expect(&by_pat)
        .await;

    // With another active admin, demoting oneself is allowed; the other may not then be demoted.
    admin
        .update_user(
            second.id,
            &UpdateUser {
                is_active: Some(true),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("reactivate the second admin");
    let second_client = server.login("second@example.com", "second-password").await;
    let demoted = admin
        .update_user(
            me.id,
            &UpdateUser {
                is_admin: Some(false),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("demote oneself while another admin is active");
    assert!(!demoted.is_admin);
    expect_refusals(
        &second_client,
        [
            put(user_path(second.id), json!({"is_admin": false})).refused(
                409,
                "protected_user",
                "",
            ),
            put(user_path(second.id), json!({"is_active": false})).refused(
                409,
                "protected_user",
                "",
            ),
        ],
    )
    .await;
    assert_eq!(
        count_rows(&server, "users", "id", &second.id.to_string()).await,
        1
    );
    let still = second_client.get_user(second.id).await.expect("read");
    assert!(still.is_admin && still.is_active);
}

async fn only_an_admin_may_set_is_admin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (manager, manager_client) = server.user_client("manager@example.com").await;
    grant(
        &server,
        manager.id,
        &["users.view", "users.create", "users.update", "users.delete"],
    )
    .await;

    post(
        "/api/v1/users",
        json!({"email": "boss@example.com", "is_admin": true}),
    )
    .refused(403, "forbidden", "is_admin")
    .expect(&manager_client)
    .await;

    let plain = manager_client
        .create_user(&CreateUser {
            email: "plain@example.com".to_owned(),
            ..CreateUser::default()
        })
        .await
        .expect("a manager creates a regular user");
    assert!(!plain.is_admin);

    let admin_id = admin.me().await.expect("me").user.id;
    expect_refusals(
        &manager_client,
        [
            put(user_path(plain.id), json!({"is_admin": true})).refused(
                403,
                "forbidden",
                "is_admin",
            ),
            put(user_path(plain.id), json!({"is_admin": false})).refused(
                403,
                "forbidden",
                "is_admin",
            ),
            put(user_path(manager.id), json!({"is_admin": true})).refused(
                403,
                "forbidden",
                "is_admin",
            ),
            // Nor may they edit or delete an administrator.
            put(user_path(admin_id), json!({"is_active": false})).refused(403, "forbidden", ""),
            delete(user_path(admin_id)).refused(403, "forbidden", ""),
        ],
    )
    .await;

    let renamed = manager_client
        .update_user(
            plain.id,
            &UpdateUser {
                first_name: Some("Plain".to_owned()),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("other fields are fine");
    assert_eq!(renamed.first_name, "Plain");
    assert!(
        !manager_client
            .get_user(plain.id)
            .await
            .expect("read")
            .is_admin
    );

    // An administrator may, and the promotion takes effect on the next request.
    let promoted = admin
        .update_user(
            manager.id,
            &UpdateUser {
                is_admin: Some(true),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("admin promotes");
    assert!(promoted.is_admin);
    let me = manager_client.me().await.expect("me");
    assert!(me.user.is_admin);
    assert!(me.permissions.iter().any(|p| p == "admin_roles.manage"));
}

// --- deletion and deactivation end every credential -------------------------------------------------

async fn delete_cascades_to_sessions_tokens_and_roles(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (user, user_client) = server.user_client("leaver@example.com").await;
    assign_builtin(&server, user.id, "idp:viewer").await;
    let pat = user_client
        .create_my_token("laptop", 30)
        .await
        .expect("pat");
    let pat_client = server.anonymous().with_token(pat.token);
    assert_eq!(
        raw(&pat_client, Method::GET, "/api/v1/users", None)
            .await
            .status
            .as_u16(),
        200,
        "the PAT works before the deletion"
    );

    let deleted = raw(&admin, Method::DELETE, &user_path(user.id), None).await;
    assert_eq!(deleted.status.as_u16(), 204, "body {}", deleted.json);

    assert_invalid_token(&raw(&user_client, Method::GET, "/api/v1/me", None).await);
    assert_invalid_token(&raw(&pat_client, Method::GET, "/api/v1/me", None).await);
    assert_api_error(
        server
            .anonymous()
            .login("leaver@example.com", "user-password-1")
            .await,
        401,
        "invalid_credentials",
    );
    let id = user.id.to_string();
    for table in ["sessions", "personal_access_tokens", "user_admin_roles"] {
        assert_eq!(
            count_rows(&server, table, "user_id", &id).await,
            0,
            "{table} rows of the deleted user"
        );
    }
    // The email is free again.
    let again = quick_user(&admin, "leaver@example.com").await;
    assert_ne!(again.id, user.id);
}

async fn deactivation_ends_sessions_and_tokens_at_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (user, user_client) = server.user_client("paused@example.com").await;
    let pat = user_client
        .create_my_token("script", 30)
        .await
        .expect("pat");
    let pat_client = server.anonymous().with_token(pat.token);
    user_client.me().await.expect("works before");

    let off = raw(
        &admin,
        Method::PUT,
        &user_path(user.id),
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(off.status.as_u16(), 200, "body {}", off.json);
    assert_eq!(off.json["is_active"], false);

    assert_invalid_token(&raw(&user_client, Method::GET, "/api/v1/me", None).await);
    assert_invalid_token(&raw(&pat_client, Method::GET, "/api/v1/me", None).await);
    assert_eq!(
        count_rows(&server, "sessions", "user_id", &user.id.to_string()).await,
        0,
        "deactivation deletes the sessions"
    );

    let login = |password: &str| {
        post(
            "/api/v1/auth/login",
            json!({"email": "paused@example.com", "password": password}),
        )
    };
    expect_refusals(
        &server.anonymous(),
        [
            login("user-password-1").refused(403, "account_disabled", ""),
            // The wrong password still gets the ordinary answer: nothing about the account leaks.
            login("wrong-password").refused(401, "invalid_credentials", ""),
        ],
    )
    .await;

    // Reactivation: unexpired tokens work again, ended sessions stay ended, login works.
    admin
        .update_user(
            user.id,
            &UpdateUser {
                is_active: Some(true),
                ..UpdateUser::default()
            },
        )
        .await
        .expect("reactivate");
    let me = pat_client.me().await.expect("the PAT works again");
    assert_eq!(me.user.id, user.id);
    assert_invalid_token(&raw(&user_client, Method::GET, "/api/v1/me", None).await);
    server.login("paused@example.com", "user-password-1").await;
}

// --- permissions ----------------------------------------------------------------------------------

async fn each_endpoint_requires_its_permission(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let target = quick_user(&admin, "target@example.com").await;
    let (nobody, nobody_client) = server.user_client("nobody@example.com").await;
    assert!(nobody_client.me().await.expect("me").permissions.is_empty());

    let refusals = [
        get("/api/v1/users").forbidden("users.view"),
        get(user_path(target.id)).forbidden("users.view"),
        post("/api/v1/users", json!({"email": "new@example.com"})).forbidden("users.create"),
        put(user_path(target.id), json!({"first_name": "x"})).forbidden("users.update"),
        delete(user_path(target.id)).forbidden("users.delete"),
    ];
    expect_refusals(&nobody_client, refusals.clone()).await;

    // A reader may read and nothing more.
    assign_builtin(&server, nobody.id, "idp:directory-viewer").await;
    let list = raw(&nobody_client, Method::GET, "/api/v1/users", None).await;
    assert_eq!(list.status.as_u16(), 200, "body {}", list.json);
    assert_eq!(list.json["total"], 3);
    let read = raw(&nobody_client, Method::GET, &user_path(target.id), None).await;
    assert_eq!(read.status.as_u16(), 200);
    expect_refusals(&nobody_client, refusals.into_iter().skip(2)).await;
    // Nothing changed.
    assert_eq!(
        admin.get_user(target.id).await.expect("read").first_name,
        ""
    );
    assert_eq!(
        admin
            .list_users(&ListParams::default())
            .await
            .expect("list")
            .total,
        3
    );

    // Each permission alone is enough for its endpoint.
    let (creator, creator_client) = server.user_client("creator@example.com").await;
    grant(&server, creator.id, &["users.create"]).await;
    let created = raw(
        &creator_client,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "made@example.com"})),
    )
    .await;
    assert_eq!(created.status.as_u16(), 201, "body {}", created.json);
    let (deleter, deleter_client) = server.user_client("deleter@example.com").await;
    grant(&server, deleter.id, &["users.delete"]).await;
    let deleted = raw(&deleter_client, Method::DELETE, &user_path(target.id), None).await;
    assert_eq!(deleted.status.as_u16(), 204, "body {}", deleted.json);
    let (updater, updater_client) = server.user_client("updater@example.com").await;
    grant(&server, updater.id, &["users.update"]).await;
    let updated = raw(
        &updater_client,
        Method::PUT,
        &user_path(nobody.id),
        Some(json!({"last_name": "Somebody"})),
    )
    .await;
    assert_eq!(updated.status.as_u16(), 200, "body {}", updated.json);
    assert_eq!(updated.json["last_name"], "Somebody");
}

crate::on_both_databases!(
    create_answers_201_with_a_derived_unique_username,
    email_is_unique_case_insensitively,
    invalid_email_is_a_validation_error_naming_the_field,
    service_accounts_have_no_password,
    list_searches_case_insensitive_substrings,
    list_paginates_with_defaults_clamping_and_a_stable_order,
    read_update_delete_and_unknown_ids,
    protected_user_rules,
    only_an_admin_may_set_is_admin,
    delete_cascades_to_sessions_tokens_and_roles,
    deactivation_ends_sessions_and_tokens_at_once,
    each_endpoint_requires_its_permission,
);

/// Red-team finding 6: look-alikes of an existing address were accepted as new users beside it.
/// Now an address is normalised (NFKC) — a full-width or ligature form is the address itself and
/// collides with it (`409`) — and one holding an invisible or bidirectional control character is
/// refused (`400 validation_error` naming the field and the rule), on creation and on update.
async fn look_alike_emails_are_refused_beside_the_address(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let alice = quick_user(&admin, "alice@example.com").await;
    let other = quick_user(&admin, "other@example.com").await;

    let collide = [
        "\u{ff41}lice@example.com",
        "ａｌｉｃｅ@ｅｘａｍｐｌｅ.ｃｏｍ",
        "alice\u{ff20}example.com",
        "\u{ff21}LICE@example.com",
    ];
    let invisible = [
        "alice\u{200b}@example.com",
        "\u{200b}alice@example.com",
        "alice@example.com\u{200d}",
        "al\u{00ad}ice@example.com",
        "\u{feff}alice@example.com",
        "alice@exa\u{2060}mple.com",
        "\u{202e}moc.elpmaxe@ecila",
        "alice\u{202e}@example.com\u{202c}",
        "\u{2067}alice\u{2069}@example.com",
        "alice\u{200f}@example.com",
        "alice\u{061c}@example.com",
        "alice\u{034f}@example.com",
        "alice\u{fe0f}@example.com",
        "alice\u{3164}@example.com",
        "alice\u{115f}@example.com",
        "alice\u{ffa0}@example.com",
        "alice\u{e0041}@example.com",
    ];
    for (method, path) in [
        (Method::POST, "/api/v1/users".to_owned()),
        (Method::PUT, user_path(other.id)),
    ] {
        let with = |email: &str| Call::new(method.clone(), &path, Some(json!({ "email": email })));
        let collisions = collide.map(|email| with(email).conflict("email"));
        let refused = invisible.map(|email| {
            with(email)
                .refused(
                    400,
                    "validation_error",
                    "email must not contain invisible or bidirectional control characters",
                )
                .field("email")
        });
        expect_refusals(&admin, collisions.into_iter().chain(refused)).await;
    }

    // Nothing new was made, and nothing changed.
    let listed = admin
        .list_users(&ListParams {
            search: Some("lice".to_owned()),
            ..ListParams::default()
        })
        .await
        .expect("list");
    assert_eq!(
        listed.data.iter().map(|u| u.id).collect::<Vec<_>>(),
        [alice.id]
    );
    let unchanged = admin.get_user(other.id).await.expect("other");
    assert_eq!(unchanged.email, "other@example.com");

    // A new address typed in a compatibility form is kept in its normal form, username and all.
    let bob = raw(
        &admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({ "email": "ｂｏｂ@example.com" })),
    )
    .await;
    assert_eq!(bob.status.as_u16(), 201, "{}", bob.json);
    assert_eq!(bob.json["email"], "bob@example.com");
    assert_eq!(bob.json["username"], "bob");
}

crate::on_both_databases!(look_alike_emails_are_refused_beside_the_address);
