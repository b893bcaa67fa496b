//! Leak response: anyone who finds token values reports them to `POST /api/v1/tokens/revoke`
//! without credentials; valid ones are revoked, and the answer reveals nothing — on SQLite and
//! PostgreSQL.

use std::time::Duration;

use chrono::Utc;
use justiam_client::{Client, ListParams};
use justiam_types::RotateToken;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

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
    expire_in_db(&server, expired.id).await;

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
    let anonymous = server.anonymous();
    let revoke = |body: Value| post("/api/v1/tokens/revoke", body);
    revoke(json!({ "tokens": many }))
        .invalid("tokens")
        .expect(&anonymous)
        .await;
    let answer = revoke(json!({ "tokens": &many[..100] }))
        .send(&anonymous)
        .await;
    assert_eq!(answer.status.as_u16(), 202, "{}", answer.json);
    expect_refusals(
        &anonymous,
        [
            revoke(json!({})).invalid("tokens"),
            revoke(json!({"tokens": "one"})).invalid("tokens"),
        ],
    )
    .await;
    // A credential, even a broken one, is ignored.
    let answer = raw(
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

crate::on_both_databases!(
    the_leak_endpoint_revokes_valid_tokens_and_reveals_nothing,
    the_leak_endpoint_is_throttled_per_address,
);
