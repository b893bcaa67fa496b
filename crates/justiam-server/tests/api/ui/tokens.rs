//! Issue 19 in the browser: what the token pages show and offer — a rotated token's grace period
//! and "End grace now", Regenerate on an expired token, the New Token form offering what the owner
//! holds, the permission picker and the token list's urgency, search and sorting.

use reqwest::Method;

use super::{Session, api_status, browser_available};
use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer};
use justiam_types::RotateToken;

/// Moves token `id`'s whole lifetime back so that it expired a minute ago, as time would.
async fn expire(server: &TestServer, id: uuid::Uuid) {
    sqlx::query(
        "UPDATE personal_access_tokens SET created_at = created_at - (expires_at - $1), \
         expires_at = $1 WHERE id = $2",
    )
    .bind(justiam_core::time::now_millis() - 60_000)
    .bind(id.to_string())
    .execute(server.pool())
    .await
    .expect("expire the token");
    server.after_direct_sql();
}

/// Item 1: after a rotation with a one-hour grace period the old row says when the grace ends (not
/// its original expiry), links to its replacement and offers "End grace now", which revokes it at
/// once (audited `token.revoked`) while the replacement keeps working.
async fn a_rotated_token_shows_its_grace_period_and_ends_it(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let old = admin.create_my_token("deploy", 90).await.expect("a token");
    let new = admin
        .rotate_token(
            None,
            old.id,
            &RotateToken {
                expires_in_days: None,
                grace_period_seconds: Some(3600),
            },
        )
        .await
        .expect("rotated");

    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    s.goto(&format!("{base}/ui/tokens")).await;
    let row = format!("tr[data-token-id='{}']", old.id);
    s.wait_for_text(&row, "grace ends in").await;
    let text = s.text(&row).await;
    assert!(text.contains("rotated (grace period)"), "{text}");
    assert!(
        !text.contains("89 days") && !text.contains("90 days"),
        "not the original expiry: {text}"
    );
    let note = s.find(&format!("{row} .expiry")).await;
    assert_eq!(
        note.attr("class").await.expect("class").as_deref(),
        Some("expiry urgent"),
        "an hour left is red"
    );
    let link = s.find(&format!("{row} a.replacement")).await;
    assert_eq!(
        link.attr("href").await.expect("href"),
        Some(format!("#token-{}", new.id))
    );
    assert!(s.exists(&format!("#token-{}", new.id)).await);
    assert!(!s.exists(&format!("{row} .rotate")).await, "no Rotate");
    s.wait_for_text(&format!("{row} .end-grace"), "End grace now")
        .await;
    assert_eq!(
        api_status(&server, &old.token, Method::GET, "/api/v1/me").await,
        reqwest::StatusCode::OK,
        "the grace period is running"
    );
    s.screenshot("tokens-grace").await;

    s.click(&format!("{row} .end-grace")).await;
    s.wait_for_text("#confirm-title", "End the grace period of “deploy”")
        .await;
    s.wait_for_text(".confirm p", "Its replacement keeps working")
        .await;
    s.wait_for_text("#confirm", "End grace now").await;
    s.click("#confirm").await;
    s.wait_for_text(".notice", "revoked").await;
    assert!(!s.exists(&row).await, "the old token left the list");
    assert_eq!(
        api_status(&server, &old.token, Method::GET, "/api/v1/me").await,
        reqwest::StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api_status(&server, &new.token, Method::GET, "/api/v1/me").await,
        reqwest::StatusCode::OK
    );
    let audit = admin
        .list_audit(&Default::default(), &[("action", "token.revoked")])
        .await
        .expect("audit");
    assert!(
        audit.data.iter().any(|e| e.target_id == Some(old.id)),
        "ending the grace period is audited as a revocation"
    );
    s.close().await;
}

crate::on_both_databases!(a_rotated_token_shows_its_grace_period_and_ends_it);

/// Item 2: an expired token offers Revoke and Regenerate; Regenerate (after a confirmation naming
/// the lifetime) shows a new value once — same name, same permissions, same lifetime — and the
/// expired one is gone; for one's own tokens and a service account's.
async fn an_expired_token_is_regenerated(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let mine = admin
        .create_token(
            None,
            &justiam_types::CreateToken {
                name: "reports".to_owned(),
                expires_in_days: 60,
                permissions: Some(vec!["users.view".to_owned()]),
            },
        )
        .await
        .expect("a token");
    let bot = server
        .create_service_account("report-bot@example.com")
        .await;
    let bots = admin
        .create_user_token(bot.id, "nightly", 7)
        .await
        .expect("a service account's token");
    expire(&server, mine.id).await;
    expire(&server, bots.id).await;

    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for (page, owner, id, name, days) in [
        (format!("{base}/ui/tokens"), None, mine.id, "reports", 60),
        (
            format!("{base}/ui/admin/users/{}/tokens", bot.id),
            Some(bot.id),
            bots.id,
            "nightly",
            7,
        ),
    ] {
        s.goto(&page).await;
        let row = format!("tr[data-token-id='{id}']");
        s.wait_for_text(&row, "expired").await;
        s.find(&format!("{row} .revoke")).await;
        assert!(!s.exists(&format!("{row} .rotate")).await);
        s.click(&format!("{row} .regenerate")).await;
        s.wait_for_text("#confirm-title", &format!("Regenerate the token “{name}”"))
            .await;
        s.wait_for_text(".confirm p", &format!("({days} days, until"))
            .await;
        s.click("#confirm").await;
        let value = s.created_token().await;
        assert!(s.body().await.contains("only time"));
        assert_eq!(
            api_status(&server, &value, Method::GET, "/api/v1/me").await,
            reqwest::StatusCode::OK,
            "the regenerated token works"
        );
        let listed = match owner {
            None => admin.list_my_tokens(&Default::default()).await,
            Some(id) => admin.list_user_tokens(id, &Default::default()).await,
        }
        .expect("list");
        assert_eq!(listed.data.len(), 1, "only the new one is listed");
        let fresh = &listed.data[0];
        assert_ne!(fresh.id, id);
        assert_eq!(fresh.name, name);
        assert_eq!(fresh.rotated_from, Some(id));
        assert!(!fresh.expired);
        let lifetime = fresh.expires_at - fresh.created_at;
        assert_eq!(lifetime.num_days(), days, "the same lifetime");
        if owner.is_none() {
            assert_eq!(
                fresh.permissions.as_deref(),
                Some(&["users.view".to_owned()][..]),
                "the same permissions"
            );
        }
        s.goto(&page).await;
        s.find(&format!("tr[data-token-id='{}']", fresh.id)).await;
        assert!(!s.exists(&row).await, "the expired one is gone");
    }
    s.close().await;
}

crate::on_both_databases!(an_expired_token_is_regenerated);
