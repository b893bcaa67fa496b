//! Issue 19 in the browser: what the token pages show and offer — a rotated token's grace period
//! and "End grace now", Regenerate on an expired token, the New Token form offering what the owner
//! holds, the permission picker and the token list's urgency, search and sorting.

use reqwest::Method;

use super::{Session, api_status, browser_available};
use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer};
use justiam_types::RotateToken;

/// Moves token `id`'s whole lifetime back so that it expired a minute ago, as time would.
pub(super) async fn expire(server: &TestServer, id: uuid::Uuid) {
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

/// The day a token created now for `days` days expires on, as the form says it (UTC); the next
/// day too, should the test cross midnight.
fn expiry_dates(days: i64) -> [String; 2] {
    let at = chrono::Utc::now() + chrono::Duration::days(days);
    [
        at.format("%Y-%m-%d").to_string(),
        (at + chrono::Duration::minutes(5))
            .format("%Y-%m-%d")
            .to_string(),
    ]
}

async fn assert_expiry_line(s: &Session, days: i64) {
    let [today, later] = expiry_dates(days);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let line = s.text("#expiry-date").await;
        if line.contains(&today) || line.contains(&later) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{line:?} does not name {today} ({days} days)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Items 3 and 4: the New Token form of a service account offers what the ACCOUNT holds (not
/// the operator's catalogue), grouped by resource with a none / read / write choice, "Read-only"
/// only when it holds a view permission, and says so when it holds nothing; the token made from
/// the choices holds exactly those permissions. The expiry choice shows the date it gives, from the
/// server and then from the script.
async fn the_token_form_offers_what_the_owner_holds(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let ci = server.create_service_account("ci-bot@example.com").await;
    crate::common::grant(
        &server,
        ci.id,
        &["users.view", "groups.view", "groups.members"],
    )
    .await;
    let empty = server.create_service_account("empty-bot@example.com").await;
    let (dana, _) = server.user_client("dana@example.com").await;
    crate::common::grant(&server, dana.id, &["admin_roles.manage"]).await;

    // Without a script, the server already names the date of the preset chosen.
    let http = reqwest::Client::new();
    let cookie = super::admin_session_cookie(&server).await;
    let html = http
        .get(format!("{base}/ui/admin/users/{}/tokens", ci.id))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let [today, later] = expiry_dates(30);
    assert!(
        html.contains(&format!("Expires on <strong>{today}</strong>"))
            || html.contains(&format!("Expires on <strong>{later}</strong>")),
        "{html}"
    );

    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    s.goto(&format!("{base}/ui/admin/users/{}/tokens", ci.id))
        .await;
    s.find("#token-form").await;
    let resources: Vec<String> = {
        let mut ids = Vec::new();
        for e in s
            .b()
            .find_all(fantoccini::Locator::Css("fieldset.resource"))
            .await
            .expect("resources")
        {
            ids.push(e.attr("id").await.expect("id").unwrap_or_default());
        }
        ids
    };
    assert_eq!(
        resources,
        ["resource-users", "resource-groups"],
        "only what the account holds, not the operator's catalogue"
    );
    s.wait_for_text("#resource-groups", "Groups, their members")
        .await;
    assert!(s.exists("#access-users-read").await);
    assert!(
        !s.exists("#access-users-write").await,
        "the account only reads users"
    );
    s.wait_for_text(
        "label[title='groups.view, groups.members']",
        "Read and write",
    )
    .await;
    assert!(
        s.exists("#scope-readonly").await,
        "it holds view permissions"
    );
    assert!(!s.exists("#full-warning").await, "not an administrator");
    assert!(!s.exists("#nothing-held").await);

    // The expiry date follows the choice.
    assert_expiry_line(&s, 30).await;
    s.click("#expiry-90").await;
    assert_expiry_line(&s, 90).await;
    s.click("#expiry-custom").await;
    s.fill("#custom-days", "12").await;
    assert_expiry_line(&s, 12).await;
    s.screenshot("new-token-picker").await;

    // Groups read and write, users nothing.
    s.fill("#token-name", "sync").await;
    s.click("#access-groups-write").await;
    assert!(
        s.find("#scope-custom")
            .await
            .is_selected()
            .await
            .expect("selected"),
        "choosing access picks \"only the access chosen\""
    );
    s.click("#create-token").await;
    let value = s.created_token().await;
    let listed = admin
        .list_user_tokens(ci.id, &Default::default())
        .await
        .expect("list");
    let token = listed
        .data
        .iter()
        .find(|t| t.name == "sync")
        .expect("listed");
    assert_eq!(
        token.permissions.as_deref(),
        Some(&["groups.view".to_owned(), "groups.members".to_owned()][..])
    );
    assert_eq!(
        (token.expires_at - token.created_at).num_days(),
        12,
        "the custom expiry"
    );
    assert_eq!(
        api_status(&server, &value, Method::GET, "/api/v1/groups").await,
        reqwest::StatusCode::OK
    );
    assert_eq!(
        api_status(&server, &value, Method::GET, "/api/v1/users").await,
        reqwest::StatusCode::FORBIDDEN
    );

    // An account that holds nothing: said, and only "everything" (which is nothing) offered.
    s.goto(&format!("{base}/ui/admin/users/{}/tokens", empty.id))
        .await;
    s.wait_for_text("#nothing-held", "holds no administrative permissions")
        .await;
    assert!(!s.exists("#scope-readonly").await);
    assert!(!s.exists("#scope-custom").await);
    assert!(!s.exists("fieldset.resource").await);
    s.click("#logout").await;
    s.find("#sign-in").await;

    // A person holding no view permission is not offered "Read-only".
    s.login(&server, "dana@example.com", "user-password-1")
        .await;
    s.goto(&format!("{base}/ui/tokens/new")).await;
    s.find("#resource-admin_roles").await;
    assert!(!s.exists("#scope-readonly").await);
    assert!(!s.exists("#access-admin_roles-read").await);
    s.wait_for_text("label[title='admin_roles.manage']", "Write")
        .await;
    s.close().await;
}

crate::on_both_databases!(the_token_form_offers_what_the_owner_holds);

/// The names of the rows of the token table, in order.
async fn row_names(s: &Session) -> Vec<String> {
    let mut names = Vec::new();
    for row in s
        .b()
        .find_all(fantoccini::Locator::Css("#token-table tbody tr th"))
        .await
        .expect("rows")
    {
        let text = row.text().await.expect("name");
        names.push(text.split(' ').next().unwrap_or_default().to_owned());
    }
    names
}

/// Picks `value` in the list controls' `select` and shows the list.
async fn choose(s: &Session, select: &str, value: &str) {
    s.find(select)
        .await
        .select_by_value(value)
        .await
        .expect("select");
    s.click("#apply-controls").await;
    s.wait_for_path("/ui/tokens").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !s
        .b()
        .current_url()
        .await
        .expect("url")
        .query()
        .unwrap_or_default()
        .contains(value)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the list did not reload"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Item 5: the token list says urgency in colour and words, counts what stops within 7 days in a
/// banner, and searches, filters, sorts and pages as asked; times are `<time>` elements in UTC
/// that the script localises, UTC kept on hover.
async fn the_token_list_filters_sorts_and_warns(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let alpha = admin.create_my_token("alpha", 30).await.expect("token");
    let bravo = admin.create_my_token("bravo", 3).await.expect("token");
    let charlie = admin.create_my_token("charlie", 1).await.expect("token");
    let delta = admin.create_my_token("delta", 30).await.expect("token");
    expire(&server, delta.id).await;
    for n in 0..8 {
        admin
            .create_my_token(&format!("zulu-{n}"), 90)
            .await
            .expect("token");
    }

    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    s.goto(&format!("{base}/ui/tokens")).await;
    s.wait_for_text("#expiring-banner", "2 tokens stop working within 7 days")
        .await;
    // Colour and words.
    for (token, class, words) in [
        (charlie.id, "urgent", "less than a day left"),
        (bravo.id, "soon", "less than 7 days left"),
    ] {
        let row = format!("tr[data-token-id='{token}']");
        s.wait_for_text(&format!("{row} .urgency.{class}"), words)
            .await;
        s.find(&format!("{row} .expiry.{class}")).await;
    }
    let alpha_row = format!("tr[data-token-id='{}']", alpha.id);
    assert!(!s.exists(&format!("{alpha_row} .urgency")).await);
    // Times: UTC in the markup and on hover, one line.
    let time = s
        .find(&format!("{alpha_row} td[data-label='Created'] time"))
        .await;
    let iso = time
        .attr("datetime")
        .await
        .expect("attr")
        .expect("datetime");
    assert!(iso.ends_with('Z') && iso.len() == 20, "{iso}");
    let title = time.attr("title").await.expect("attr").expect("title");
    assert!(title.ends_with(" UTC"), "{title}");
    assert_eq!(time.css_value("white-space").await.expect("css"), "nowrap");
    // 12 tokens, 20 a page: one page; 10 a page: two.
    assert!(!s.exists("#next-page").await);
    choose(&s, "#per-page", "10").await;
    s.find("#next-page").await;
    assert_eq!(row_names(&s).await.len(), 10);

    // Filters.
    choose(&s, "#per-page", "20").await;
    choose(&s, "#state", "expiring").await;
    let mut names = row_names(&s).await;
    names.sort();
    assert_eq!(names, ["bravo", "charlie"]);
    choose(&s, "#state", "expired").await;
    assert_eq!(row_names(&s).await, ["delta"]);
    choose(&s, "#state", "active").await;
    assert_eq!(row_names(&s).await.len(), 11, "all but the expired one");

    // Sorting, everything shown.
    choose(&s, "#state", "").await;
    choose(&s, "#sort", "expires").await;
    assert_eq!(
        row_names(&s).await[..4],
        ["delta", "charlie", "bravo", "alpha"]
    );
    choose(&s, "#sort", "name").await;
    assert_eq!(
        row_names(&s).await[..4],
        ["alpha", "bravo", "charlie", "delta"]
    );

    // Search keeps the order and the filter.
    s.fill("#search", "RAV").await;
    s.click("#apply-controls").await;
    s.wait_for_text("#search-summary, #token-table", "bravo")
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while row_names(&s).await != ["bravo"] {
        assert!(std::time::Instant::now() < deadline, "search");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(s.value("#sort").await, "name");
    s.fill("#search", "nothing like it").await;
    s.click("#apply-controls").await;
    s.wait_for_text("#no-match", "No token matches").await;
    s.screenshot("tokens-filtered").await;

    // The banner counts what the API lists as expiring within 7 days.
    let listed = admin
        .list_my_tokens(&Default::default())
        .await
        .expect("list");
    let soon = listed
        .data
        .iter()
        .filter(|t| !t.expired && t.expires_at <= chrono::Utc::now() + chrono::Duration::days(7))
        .count();
    assert_eq!(soon, 2);
    s.close().await;
}

crate::on_both_databases!(the_token_list_filters_sorts_and_warns);

/// Sets when token `id` was last used, as its uses would have.
async fn last_used(server: &TestServer, id: uuid::Uuid, days_ago: i64) {
    sqlx::query("UPDATE personal_access_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(justiam_core::time::now_millis() - days_ago * justiam_core::time::DAY_MS)
        .bind(id.to_string())
        .execute(server.pool())
        .await
        .expect("set the last use");
    server.after_direct_sql();
}

/// The token ids of the inventory table, in order.
async fn inventory_ids(s: &Session) -> Vec<String> {
    let mut ids = Vec::new();
    for row in s
        .b()
        .find_all(fantoccini::Locator::Css("#inventory-table tbody tr"))
        .await
        .expect("rows")
    {
        ids.push(
            row.attr("data-token-id")
                .await
                .expect("attr")
                .unwrap_or_default(),
        );
    }
    ids
}

/// Item 6: the inventory answers "which full-power tokens have not been used for 90 days?" as
/// `GET /api/v1/tokens` does (`state`, `scope`, `unused_since`), revokes one from there, and a
/// token's detail page shows everything known: its owner, state, rotation chain and audit.
async fn the_inventory_finds_stale_full_power_tokens(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let (alice, alice_api) = server.user_client("alice@example.com").await;
    crate::common::grant(&server, alice.id, &["users.view"]).await;
    let stale = alice_api
        .create_my_token("old laptop", 365)
        .await
        .expect("token");
    let reader = alice_api
        .create_token(
            None,
            &justiam_types::CreateToken {
                name: "reader".to_owned(),
                expires_in_days: 365,
                permissions: Some(vec!["users.view".to_owned()]),
            },
        )
        .await
        .expect("token");
    let fresh = alice_api
        .create_my_token("fresh", 365)
        .await
        .expect("token");
    let bot = server.create_service_account("stale-bot@example.com").await;
    let never = admin
        .create_user_token(bot.id, "never used", 365)
        .await
        .expect("token");
    last_used(&server, stale.id, 100).await;
    last_used(&server, reader.id, 100).await;
    last_used(&server, fresh.id, 2).await;
    // A rotation chain of three.
    let first = admin.create_my_token("deploy", 30).await.expect("token");
    let rotate = |id| {
        let admin = &admin;
        async move {
            admin
                .rotate_token(
                    None,
                    id,
                    &RotateToken {
                        expires_in_days: None,
                        grace_period_seconds: Some(0),
                    },
                )
                .await
                .expect("rotated")
        }
    };
    let second = rotate(first.id).await;
    let third = rotate(second.id).await;

    // The API's answer to the question.
    let since = (chrono::Utc::now() - chrono::Duration::days(90)).to_rfc3339();
    let api = admin
        .token_inventory(
            &Default::default(),
            &[
                ("state", "active"),
                ("scope", "full"),
                ("unused_since", &since),
            ],
        )
        .await
        .expect("inventory");
    let mut expected: Vec<String> = api.data.iter().map(|i| i.record.id.to_string()).collect();
    expected.sort();
    // The newest of the chain is full power and never used, too.
    let mut wanted = vec![
        stale.id.to_string(),
        never.id.to_string(),
        third.id.to_string(),
    ];
    wanted.sort();
    assert_eq!(expected, wanted, "the API answers the question");
    let refused = crate::common::raw(
        &admin,
        reqwest::Method::GET,
        "/api/v1/tokens?scope=most",
        None,
    )
    .await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.json);
    assert_eq!(
        refused.json["details"]["field"], "scope",
        "{}",
        refused.json
    );

    // The UI answers the same with one click.
    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    s.goto(&format!("{base}/ui/admin/tokens")).await;
    s.click("#stale-full-power").await;
    s.wait_for_text("#inventory-table", "old laptop").await;
    let mut shown = inventory_ids(&s).await;
    shown.sort();
    assert_eq!(shown, wanted);
    assert_eq!(s.value("#scope").await, "full");
    assert_eq!(s.value("#unused").await, "90");
    assert_eq!(s.value("#state").await, "active");
    s.screenshot("inventory-stale").await;

    // Revoke from there: gone from the answer, revoked on the API.
    s.click(&format!("tr[data-token-id='{}'] .revoke", stale.id))
        .await;
    s.wait_for_text("#confirm-title", "old laptop").await;
    s.click("#confirm").await;
    s.wait_for_text(".notice", "Revoked").await;
    assert_eq!(
        api_status(&server, &stale.token, Method::GET, "/api/v1/me").await,
        reqwest::StatusCode::UNAUTHORIZED
    );
    s.click("#stale-full-power").await;
    s.wait_for_text("#inventory-table", "never used").await;
    let mut left = inventory_ids(&s).await;
    left.sort();
    wanted.retain(|id| *id != stale.id.to_string());
    assert_eq!(left, wanted);

    // The detail page of a revoked token: state, reason, its audit.
    s.goto(&format!("{base}/ui/admin/tokens/{}", stale.id))
        .await;
    s.wait_for_text("#token-state", "revoked").await;
    s.wait_for_text("#token-revoked", "revoked").await;
    s.wait_for_text("#token-facts", "alice@example.com").await;
    s.wait_for_text("#token-last-used", "100 days ago").await;
    s.wait_for_text("#token-events", "token.revoked").await;
    s.wait_for_text("#token-events", "token.created").await;
    assert!(!s.exists("#revoke-token").await, "nothing left to revoke");

    // The middle of a rotation chain: all three, oldest first, itself marked.
    s.goto(&format!("{base}/ui/admin/tokens/{}", second.id))
        .await;
    let chain = s.find("#rotation-chain").await;
    let mut links = Vec::new();
    for li in chain
        .find_all(fantoccini::Locator::Css("li"))
        .await
        .expect("links")
    {
        links.push(li.text().await.expect("text"));
    }
    assert_eq!(links.len(), 3, "{links:?}");
    assert!(
        links[0].contains(&first.token[first.token.len() - 4..]),
        "{links:?}"
    );
    assert!(links[1].contains("this token"), "{links:?}");
    assert!(links[2].contains("active"), "{links:?}");
    s.wait_for_text("#token-events", "token.rotated").await;
    // Its successor's page links back, and offers Revoke.
    s.click("#rotation-chain li:last-child a").await;
    s.wait_for_path(&format!("/ui/admin/tokens/{}", third.id))
        .await;
    s.find("#revoke-token").await;
    s.screenshot("token-detail").await;

    // Someone who oversees only service accounts' tokens: a person's token is a 404 page.
    let (carol, _) = server.user_client("carol@example.com").await;
    crate::common::grant(&server, carol.id, &["service_accounts.tokens"]).await;
    let jwt = server
        .anonymous()
        .login("carol@example.com", "user-password-1")
        .await
        .expect("login")
        .token;
    let page = reqwest::Client::new()
        .get(format!("{base}/ui/admin/tokens/{}", fresh.id))
        .header("cookie", format!("justiam_session={jwt}"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), reqwest::StatusCode::NOT_FOUND);
    s.close().await;
}

crate::on_both_databases!(the_inventory_finds_stale_full_power_tokens);

/// Item 7: the audit log names actors and targets and links them, says the details in words,
/// shows seconds, filters by a date range, and exports the filtered view as CSV and JSON holding
/// exactly what `GET /api/v1/audit` answers for the same filter.
async fn the_audit_log_reads_as_words_and_exports(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let me = admin.me().await.expect("me");
    let bot = server
        .create_service_account("nightly-bot@example.com")
        .await;
    let token = admin
        .create_user_token(bot.id, "nightly", 30)
        .await
        .expect("token");
    admin
        .revoke_user_token(bot.id, token.id)
        .await
        .expect("revoked");

    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    s.goto(&format!("{base}/ui/admin/audit?action=token.created"))
        .await;
    let row = "#audit-table tbody tr";
    s.wait_for_text(row, "Token “nightly”").await;
    let actor = s.find(&format!("{row} .actor a")).await;
    assert_eq!(actor.text().await.expect("text"), ADMIN_EMAIL);
    assert_eq!(
        actor.attr("href").await.expect("href"),
        Some(format!("/ui/admin/users/{}", me.user.id))
    );
    let target = s.find(&format!("{row} .target a")).await;
    assert_eq!(
        target.attr("href").await.expect("href"),
        Some(format!("/ui/admin/tokens/{}", token.id))
    );
    // The details in words, the owner named and linked.
    s.wait_for_text(&format!("{row} .details dl"), "Token name")
        .await;
    let owner = s
        .find(&format!(
            "{row} .details dd a[href='/ui/admin/users/{}']",
            bot.id
        ))
        .await;
    assert_eq!(owner.text().await.expect("text"), "nightly-bot@example.com");
    // Seconds, in UTC on hover.
    let title = s
        .find(&format!("{row} time"))
        .await
        .attr("title")
        .await
        .expect("attr")
        .expect("title");
    let seconds = title.trim_end_matches(" UTC");
    assert_eq!(seconds.len(), "2026-01-01 00:00:00".len(), "{title}");
    let local = s.text(&format!("{row} time")).await;
    assert_eq!(
        local.len(),
        "2026-01-01 00:00:00".len(),
        "localised to the second: {local}"
    );
    let dl = s.text(&format!("{row} .details dl")).await;
    assert!(
        dl.contains("Target user\n") || dl.contains("Target user "),
        "{dl}"
    );
    assert!(!dl.contains("Target user id"), "{dl}");
    s.screenshot("audit-words").await;

    // A date range: today has entries, tomorrow none, backwards is said.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    s.goto(&format!(
        "{base}/ui/admin/audit?action=token.*&from={today}&to={today}"
    ))
    .await;
    s.wait_for_text("#audit-table", "token.revoked").await;
    s.goto(&format!(
        "{base}/ui/admin/audit?action=token.*&from={tomorrow}"
    ))
    .await;
    s.wait_for_text(".empty", "No entry matches").await;
    s.goto(&format!("{base}/ui/admin/audit?from={tomorrow}&to={today}"))
        .await;
    s.wait_for_text("#to-error", "cannot come before").await;

    // The export of the filtered view is what the API answers for the same filter.
    let api = admin
        .list_audit(&Default::default(), &[("action", "token.*")])
        .await
        .expect("audit");
    assert_eq!(api.data.len(), 2, "created and revoked");
    let cookie = super::admin_session_cookie(&server).await;
    let http = reqwest::Client::new();
    let csv = http
        .get(format!(
            "{base}/ui/admin/audit/export?format=csv&action=token.*"
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("export");
    assert_eq!(csv.status(), reqwest::StatusCode::OK);
    assert_eq!(
        csv.headers()["content-type"].to_str().expect("ascii"),
        "text/csv; charset=utf-8"
    );
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains("attachment")
    );
    let text = csv.text().await.expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("at,actor_id,actor_email"), "{text}");
    assert_eq!(lines.len(), 3, "a header and two entries: {text}");
    assert!(
        lines[1].contains("\"token.revoked\""),
        "newest first: {text}"
    );
    assert!(lines[2].contains(&token.id.to_string()), "{text}");
    let json: Vec<justiam_types::AuditRecord> = http
        .get(format!(
            "{base}/ui/admin/audit/export?format=json&action=token.*"
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("export")
        .json()
        .await
        .expect("the API's items");
    assert_eq!(json, api.data);
    // Without audit.view, no export.
    let (_, _) = server.user_client("nosy@example.com").await;
    let jwt = server
        .anonymous()
        .login("nosy@example.com", "user-password-1")
        .await
        .expect("login")
        .token;
    let refused = http
        .get(format!("{base}/ui/admin/audit/export?format=json"))
        .header("cookie", format!("justiam_session={jwt}"))
        .send()
        .await
        .expect("export");
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    s.close().await;
}

crate::on_both_databases!(the_audit_log_reads_as_words_and_exports);

/// The box of the element matching `css`: `(x, y, width, height)`.
async fn rect(s: &Session, css: &str) -> (f64, f64, f64, f64) {
    s.find(css).await.rectangle().await.expect("rectangle")
}

/// Item 8: Sign out sits level with the email beside it, "New Token" with the title, and the
/// submit button of a form has a line of its own (Change password, Create group, Create user).
async fn layout_lines_up(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let middle = |r: (f64, f64, f64, f64)| r.1 + r.3 / 2.0;

    s.goto(&format!("{base}/ui/tokens")).await;
    let (who, out) = (rect(&s, ".who").await, rect(&s, "#logout").await);
    assert!(
        (middle(who) - middle(out)).abs() <= 2.0,
        "Sign out {out:?} level with the email {who:?}"
    );
    let (title, button) = (
        rect(&s, ".heading-row h1").await,
        rect(&s, "#new-token").await,
    );
    assert!(
        (middle(title) - middle(button)).abs() <= 2.0,
        "New Token {button:?} level with the title {title:?}"
    );

    for (page, last_field, submit) in [
        (
            "/ui/profile",
            "#confirm_password",
            "form[action='/ui/profile/password'] button",
        ),
        (
            "/ui/admin/groups",
            "#group-description",
            "form[method=post][action='/ui/admin/groups'] button",
        ),
        ("/ui/admin/users", "#new-password", "#create-user"),
    ] {
        s.goto(&format!("{base}{page}")).await;
        let field = rect(&s, last_field).await;
        let button = rect(&s, submit).await;
        assert!(
            button.1 >= field.1 + field.3,
            "{page}: the submit button {button:?} is below the last field {field:?}"
        );
    }
    s.close().await;
}

crate::on_both_databases!(layout_lines_up);

/// Item 9: after a wrong password the password field has the focus; focus the page moves itself
/// (a notice) draws no ring around a card; the 403 and 404 pages keep the navigation and Sign out
/// for someone signed in, with their status.
async fn focus_and_error_pages_keep_their_place(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let token = admin.create_my_token("to revoke", 30).await.expect("token");
    server
        .create_user("plain@example.com", "user-password-1")
        .await;

    let s = Session::start().await;
    s.goto(&format!("{base}/ui/login")).await;
    s.fill("#email", ADMIN_EMAIL).await;
    s.fill("#password", "not-the-password").await;
    s.click("#sign-in").await;
    s.wait_for_text("#login-error", "not right").await;
    let focused = s.b().active_element().await.expect("focus");
    assert_eq!(
        focused.attr("id").await.expect("id").as_deref(),
        Some("password"),
        "the password field is ready for another try"
    );
    s.fill("#password", ADMIN_PASSWORD).await;
    s.click("#sign-in").await;
    s.find("#logout").await;

    // The notice after an action has the focus, without a ring.
    s.goto(&format!("{base}/ui/tokens/{}/revoke", token.id))
        .await;
    s.click("#confirm").await;
    s.wait_for_text(".notice", "revoked").await;
    let focused = s.b().active_element().await.expect("focus");
    assert_eq!(
        focused.attr("class").await.expect("class").as_deref(),
        Some("notice")
    );
    assert_eq!(
        focused.css_value("outline-style").await.expect("css"),
        "none"
    );

    // Error pages keep the navigation.
    for path in [
        format!("/ui/admin/tokens/{}", uuid::Uuid::nil()),
        "/ui/no-such-page".to_owned(),
    ] {
        s.goto(&format!("{base}{path}")).await;
        s.wait_for_text("#error-title", "ot found").await;
        s.find("#logout").await;
        s.find("#nav-users").await;
    }
    s.click("#logout").await;
    s.find("#sign-in").await;
    s.login(&server, "plain@example.com", "user-password-1")
        .await;
    s.goto(&format!("{base}/ui/admin/users")).await;
    s.wait_for_text("#error-title", "do not have access").await;
    s.wait_for_text(".who", "plain@example.com").await;
    s.find("#logout").await;
    assert!(!s.exists("#nav-users").await, "only what she may open");
    s.close().await;

    // Still the API's status.
    let cookie = super::admin_session_cookie(&server).await;
    let page = reqwest::Client::new()
        .get(format!("{base}/ui/no-such-page"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), reqwest::StatusCode::NOT_FOUND);
    assert!(page.text().await.expect("html").contains("id=\"logout\""));
}

crate::on_both_databases!(focus_and_error_pages_keep_their_place);

/// Item 10, on a phone (390 × 844) in dark mode: tap targets of 24 px, a header that takes
/// little of the screen, no empty "Name:", no Sessions box for a service account, a user's groups
/// on their page, group members found by a search and added with one button, dark colours.
async fn the_smaller_things_on_a_phone(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let bot = server.create_service_account("phone-bot@example.com").await;
    let frank = server
        .create_user("frank@example.com", "user-password-1")
        .await;
    let group = admin
        .create_group(&justiam_types::CreateGroup {
            name: "operators".to_owned(),
            description: None,
        })
        .await
        .expect("group");

    let s = Session::start_with(&["--force-dark-mode"]).await;
    s.b().set_window_size(390, 844).await.expect("phone size");
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let width: f64 = s
        .b()
        .execute("return window.innerWidth", vec![])
        .await
        .expect("js")
        .as_f64()
        .expect("number");
    assert!(width <= 400.0, "a phone's width: {width}");

    // The header takes little of the screen; the radios are big enough to tap.
    s.goto(&format!("{base}/ui/tokens/new")).await;
    let header = rect(&s, "header.top").await;
    assert!(header.3 <= 844.0 * 0.15, "header {header:?}");
    let overflow = s
        .b()
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .await
        .expect("js");
    assert!(
        overflow.as_f64().unwrap_or(1.0) <= 0.0,
        "no horizontal scroll: {overflow}"
    );
    let radio = rect(&s, "#expiry-30").await;
    assert!(radio.2 >= 24.0 && radio.3 >= 24.0, "radio {radio:?}");
    // Dark mode follows the system.
    let dark = s
        .b()
        .execute(
            "return window.matchMedia('(prefers-color-scheme: dark)').matches",
            vec![],
        )
        .await
        .expect("js");
    assert_eq!(dark, serde_json::json!(true), "the system asks for dark");
    let background = s
        .find("html")
        .await
        .css_value("background-color")
        .await
        .expect("css");
    assert_eq!(background, "rgba(13, 17, 23, 1)", "dark background");
    s.screenshot("phone-dark-new-token").await;

    // The service account has no name: no empty "Name:" on its card.
    s.goto(&format!("{base}/ui/admin/users?search=phone-bot"))
        .await;
    let name = s.find("#user-table td[data-label='Name']").await;
    assert_eq!(name.css_value("display").await.expect("css"), "none");

    // A service account's page: no Sessions box; a user's page: their groups.
    s.goto(&format!("{base}/ui/admin/users/{}", bot.id)).await;
    s.find("#sa-tokens").await;
    assert!(!s.exists("#sessions-heading").await);
    s.goto(&format!("{base}/ui/admin/users/{}", frank.id)).await;
    s.wait_for_text("#user-groups", "Not a member").await;
    s.find("#sessions-heading").await;

    // Members are found by a search and added with one button.
    s.goto(&format!("{base}/ui/admin/groups/{}", group.id))
        .await;
    s.fill("#member-search", "FRANK").await;
    s.click("#find-members").await;
    s.wait_for_text("#member-candidates", "frank@example.com")
        .await;
    s.click("#member-candidates .add-candidate").await;
    s.wait_for_text(".notice", "Added").await;
    let members = admin
        .list_group_members(group.id, &Default::default())
        .await
        .expect("members");
    assert_eq!(
        members.data.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![frank.id]
    );
    s.goto(&format!(
        "{base}/ui/admin/groups/{}?member_search=frank",
        group.id
    ))
    .await;
    s.wait_for_text("#no-candidates", "No one outside the group")
        .await;
    s.goto(&format!("{base}/ui/admin/users/{}", frank.id)).await;
    s.wait_for_text("#user-groups a", "operators").await;
    s.close().await;
}

crate::on_both_databases!(the_smaller_things_on_a_phone);

/// The token list's filters are the API's too: `GET /me/tokens?state=&sort=` answers what the UI
/// shows, and refuses a value it does not know, naming the parameter.
async fn the_token_list_filters_are_the_apis(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    admin.create_my_token("bravo", 3).await.expect("token");
    admin.create_my_token("alpha", 30).await.expect("token");
    let gone = admin.create_my_token("charlie", 30).await.expect("token");
    expire(&server, gone.id).await;
    let names = |r: &justiam_client::RawResponse| -> Vec<String> {
        r.json["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    for (query, expected) in [
        ("state=expiring", vec!["bravo"]),
        ("state=expired", vec!["charlie"]),
        ("state=active&sort=name", vec!["alpha", "bravo"]),
        ("sort=expires", vec!["charlie", "bravo", "alpha"]),
        ("sort=name&search=a", vec!["alpha", "bravo", "charlie"]),
    ] {
        let r = crate::common::raw(
            &admin,
            Method::GET,
            &format!("/api/v1/me/tokens?{query}"),
            None,
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{query}: {}", r.json);
        assert_eq!(names(&r), expected, "{query}");
    }
    for (query, field) in [("state=revoked", "state"), ("sort=random", "sort")] {
        let r = crate::common::raw(
            &admin,
            Method::GET,
            &format!("/api/v1/me/tokens?{query}"),
            None,
        )
        .await;
        assert_eq!(r.status.as_u16(), 400, "{query}");
        assert_eq!(r.json["code"], "validation_error", "{}", r.json);
        assert_eq!(r.json["details"]["field"], field, "{}", r.json);
    }
}

crate::on_both_databases!(the_token_list_filters_are_the_apis);
