//! Self-inspection: `GET /api/v1/me/tokens/self` tells a token what it is, whose it is and what it
//! may do, and every PAT-authenticated answer carries the token's expiry in a header — on SQLite
//! and PostgreSQL.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::common::*;

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

    let answer = raw(&client, Method::GET, "/api/v1/me/tokens/self", None).await;
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
    for (call, status) in [
        (get("/api/v1/me"), 200),
        (get("/api/v1/users"), 200),
        (get("/api/v1/groups"), 403),
        (delete(format!("/api/v1/me/tokens/{}", Uuid::now_v7())), 404),
        (get(format!("/api/v1/users/{}", Uuid::now_v7())), 404),
        (get("/api/v1/users/not-a-uuid"), 400),
        (
            post(
                "/api/v1/me/tokens",
                json!({"name": "again", "expires_in_days": 1}),
            ),
            403,
        ),
    ] {
        let answer = call.send(&client).await;
        assert_eq!(answer.status.as_u16(), status, "{call}: {}", answer.json);
        assert_eq!(
            answer.header(EXPIRES_HEADER),
            Some(expected.as_str()),
            "{call}"
        );
    }

    // A JWT is not a token: 400 not_a_token, and no header anywhere.
    let answer = get("/api/v1/me/tokens/self")
        .refused(400, "not_a_token", "personal access token")
        .expect(&alice_jwt)
        .await;
    assert_eq!(answer.header(EXPIRES_HEADER), None);
    for path in ["/api/v1/me", "/api/v1/me/tokens", "/api/v1/groups"] {
        let answer = raw(&alice_jwt, Method::GET, path, None).await;
        assert_eq!(answer.header(EXPIRES_HEADER), None, "JWT {path}");
    }
    // Nor on unauthenticated answers or refused tokens.
    let answer = get("/api/v1/me/tokens/self")
        .refused(401, "unauthorized", "")
        .expect(&server.anonymous())
        .await;
    assert_eq!(answer.header(EXPIRES_HEADER), None);
    alice_jwt.revoke_my_token(created.id).await.expect("revoke");
    let answer = raw(&client, Method::GET, "/api/v1/me/tokens/self", None).await;
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

crate::on_both_databases!(self_inspection_and_the_expiry_header,);
