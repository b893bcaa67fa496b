//! Rotation: a successor token with a grace period for the old value, the visible rotation chain,
//! refusals of a second rotation, and an operator rotating a service account's token — on SQLite
//! and PostgreSQL.

use chrono::{DateTime, Utc};
use justiam_client::ListParams;
use justiam_types::{CreatedToken, PatRecord, RotateToken, UpdateAdminRole};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

async fn sleep_until(at: DateTime<Utc>) {
    let wait = (at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
}

async fn rotation_honours_the_grace_period_to_the_second(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, alice) = server.user_client("alice@example.com").await;
    let old = alice.create_my_token("deploy", 30).await.expect("create");
    let old_client = pat(&server, &old);

    let answer = raw(
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
    assert_invalid_token(&raw(&old_client, Method::GET, "/api/v1/me", None).await);
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
    assert_invalid_token(&raw(&new_client, Method::GET, "/api/v1/me", None).await);
    let third_record = my_record(&alice, third.id).await.expect("listed");
    assert_eq!(
        (third.expires_at - time_of(&third_record["created_at"])).num_milliseconds(),
        7 * DAY_MS,
        "an explicit lifetime"
    );
    let answer = raw(
        &alice,
        Method::POST,
        &format!("/api/v1/me/tokens/{}/rotate", third.id),
        None,
    )
    .await;
    assert_eq!(answer.status.as_u16(), 201, "empty body: {}", answer.json);
    assert_invalid_token(&raw(&pat(&server, &third), Method::GET, "/api/v1/me", None).await);
    let fourth_id: Uuid = serde_json::from_value(answer.json["id"].clone()).expect("id");
    let fourth = my_record(&alice, fourth_id).await.expect("listed");
    assert_eq!(
        (time_of(&fourth["expires_at"]) - time_of(&fourth["created_at"])).num_milliseconds(),
        7 * DAY_MS,
        "the default lifetime is the predecessor's"
    );

    // Validation of the body.
    let rotate = format!("/api/v1/me/tokens/{fourth_id}/rotate");
    let refusals = [
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
    ]
    .map(|(body, field)| post(&rotate, body).invalid(field));
    expect_refusals(&alice, refusals).await;
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
    let rotate = |id: Uuid, body: Value| post(format!("/api/v1/me/tokens/{id}/rotate"), body);
    let already_rotated = |call: Call| call.refused(409, "already_rotated", "rotated");
    already_rotated(rotate(a.id, json!({})))
        .expect(&alice_jwt)
        .await;
    let c = alice_jwt
        .rotate_token(None, b.id, &RotateToken::default())
        .await
        .expect("rotate b");
    assert_eq!(c.rotated_from, Some(b.id));
    let refusals =
        [a.id, b.id].map(|id| already_rotated(rotate(id, json!({"grace_period_seconds": 5}))));
    expect_refusals(&alice_jwt, refusals).await;

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
    let refusals =
        [Uuid::now_v7(), bobs.id, dropped.id].map(|id| rotate(id, json!({})).not_found(""));
    expect_refusals(&alice_jwt, refusals).await;
    assert_eq!(me_status(&pat(&server, &bobs)).await, 200);
    post("/api/v1/me/tokens/nope/rotate", json!({}))
        .invalid("path")
        .expect(&alice_jwt)
        .await;

    // A token cannot rotate tokens of its own user: that needs a login.
    let full = alice_jwt.create_my_token("full", 5).await.expect("full");
    rotate(c.id, json!({}))
        .refused(403, "interactive_auth_required", "")
        .expect(&pat(&server, &full))
        .await;
    rotate(c.id, json!({}))
        .refused(403, "forbidden", "fine-grained")
        .expect(&pat(&server, &c))
        .await;
    assert_eq!(me_status(&pat(&server, &c)).await, 200);

    // Concurrent rotations of one token: exactly one wins.
    let d = alice_jwt.create_my_token("raced", 5).await.expect("token");
    let attempts = (0..5).map(|_| {
        let client = alice_jwt.clone();
        let path = format!("/api/v1/me/tokens/{}/rotate", d.id);
        tokio::spawn(async move { raw(&client, Method::POST, &path, Some(json!({}))).await })
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
    assert_invalid_token(&raw(&pat(&server, &a), Method::GET, "/api/v1/me", None).await);
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

    let answer = raw(
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
    let me = raw(&new_client, Method::GET, "/api/v1/me", None).await;
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
    assert_invalid_token(&raw(&old_client, Method::GET, "/api/v1/me", None).await);
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
    assert_invalid_token(&raw(&new_client, Method::GET, "/api/v1/me", None).await);

    // Refusals: no permission, wrong service account, not a service account, own token.
    let rotate = |owner: Uuid, token: Uuid| {
        post(
            format!("/api/v1/users/{owner}/tokens/{token}/rotate"),
            json!({}),
        )
    };
    let (plain, plain_jwt) = server.user_client("plain@example.com").await;
    rotate(deploy.id, again.id)
        .forbidden("service_accounts.tokens")
        .expect(&plain_jwt)
        .await;
    let other_sa = server.create_service_account("other@example.com").await;
    let plain_token = plain_jwt.create_my_token("mine", 5).await.expect("token");
    expect_refusals(
        &operator,
        [
            rotate(other_sa.id, again.id).not_found(""),
            rotate(plain.id, plain_token.id).refused(409, "not_a_service_account", ""),
        ],
    )
    .await;
    post(format!("/api/v1/me/tokens/{}/rotate", again.id), json!({}))
        .refused(403, "interactive_auth_required", "")
        .expect(&pat(&server, &again))
        .await;
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
    assert_invalid_token(&raw(&pat(&server, &lost), Method::GET, "/api/v1/me", None).await);
    assert_eq!(me_status(&pat(&server, &again)).await, 200, "in its grace");
    assert_eq!(me_status(&pat(&server, &recovered)).await, 200);

    // An expired token can still be rotated by the operator; the replacement lives anew. (The
    // expiry is forced in the database, so on a token no request has used yet.)
    let recovered = operator
        .rotate_token(Some(deploy.id), recovered.id, &RotateToken::default())
        .await
        .expect("rotate");
    expire_in_db(&server, recovered.id).await;
    assert_invalid_token(&raw(&pat(&server, &recovered), Method::GET, "/api/v1/me", None).await);
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
    rotate(deploy.id, renewed.id)
        .forbidden("users.view")
        .expect(&operator)
        .await;
    assert_eq!(me_status(&pat(&server, &renewed)).await, 200);
}

crate::on_both_databases!(
    rotation_honours_the_grace_period_to_the_second,
    the_rotation_chain_is_visible_and_rotating_twice_is_refused,
    rotation_is_not_limited_by_the_token_cap,
    an_operator_rotates_a_service_account_token,
);
