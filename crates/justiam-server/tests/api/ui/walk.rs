//! A walk through every main page of the UI: an accessibility audit of each (axe-core, from the
//! npm registry, injected by the test: no serious or critical violation, in light and dark mode),
//! and the screenshots of `docs/ui.md` (`scripts/ui-screenshots`), so that they never go stale.

use std::path::PathBuf;

use justiam_types::{CreateGroup, CreateToken, RotateToken};

use super::{Session, browser_available};
use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer};

/// axe-core's script: `JUSTIAM_AXE_JS`, or where `scripts/test` installs it
/// (`target/axe-core`, `npm install axe-core`). Without it the audit skips loudly, or fails under
/// `JUSTIAM_TEST_REQUIRE_ALL=1`.
fn axe_source() -> Option<String> {
    let path = std::env::var("JUSTIAM_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/axe-core/node_modules/axe-core/axe.min.js")
        });
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(_) if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") => panic!(
            "axe-core is missing at {} but JUSTIAM_TEST_REQUIRE_ALL=1: ./scripts/test installs it",
            path.display()
        ),
        Err(_) => {
            eprintln!(
                "SKIPPED: accessibility audit (axe-core not at {}; ./scripts/test installs it)",
                path.display()
            );
            None
        }
    }
}

/// The data the walk shows: tokens in every state, a service account with tokens, OAuth clients
/// (a secret and a key one) and a federated credential, a group with a member, and the audit
/// entries all of that wrote. Answers the ids the walk's paths need.
struct Seeded {
    bot: uuid::Uuid,
    group: uuid::Uuid,
    token: uuid::Uuid,
    client: String,
    federated: String,
}

async fn seed(server: &TestServer) -> Seeded {
    let admin = server.admin().await;
    admin
        .create_my_token("CI pipeline", 90)
        .await
        .expect("token");
    admin.create_my_token("laptop", 3).await.expect("token");
    let old = admin.create_my_token("deploy", 30).await.expect("token");
    let rotated = admin
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
    admin
        .create_token(
            None,
            &CreateToken {
                name: "read the directory".to_owned(),
                expires_in_days: 30,
                permissions: Some(vec!["users.view".to_owned(), "groups.view".to_owned()]),
            },
        )
        .await
        .expect("token");
    let bot = server
        .create_service_account("nightly-bot@example.com")
        .await;
    crate::common::grant(server, bot.id, &["users.view", "groups.view"]).await;
    admin
        .create_user_token(bot.id, "nightly sync", 60)
        .await
        .expect("token");
    let client = crate::common::create_sa_client(
        &admin,
        bot.id,
        serde_json::json!({"name": "deploy pipeline", "description": "Builds and ships main"}),
    )
    .await;
    crate::common::create_sa_client(
        &admin,
        bot.id,
        serde_json::json!({
            "name": "signer", "auth_method": "private_key_jwt",
            "public_key_pem": crate::common::OutsideKey::es256("walk").pem(),
        }),
    )
    .await;
    let federated = crate::common::create_federated(
        &admin,
        bot.id,
        serde_json::json!({
            "name": "ci deployers",
            "issuer": "https://oidc.cluster.example.com",
            "audience": "justiam",
            "claims": {"/kubernetes.io/namespace": "ci", "/kubernetes.io/serviceaccount/name": "deploy*"},
        }),
    )
    .await;
    let alice = server
        .create_user("alice@example.com", "user-password-1")
        .await;
    let group = admin
        .create_group(&CreateGroup {
            name: "operators".to_owned(),
            description: Some("Run the deployments".to_owned()),
        })
        .await
        .expect("group");
    admin
        .add_group_member(group.id, alice.id)
        .await
        .expect("member");
    Seeded {
        bot: bot.id,
        group: group.id,
        token: rotated.id,
        client: client["id"].as_str().expect("client id").to_owned(),
        federated: federated["id"].as_str().expect("credential id").to_owned(),
    }
}

/// The pages of the walk: a name (for the screenshot) and a path.
fn pages(seeded: &Seeded) -> Vec<(&'static str, String)> {
    vec![
        ("profile", "/ui/profile".to_owned()),
        ("tokens", "/ui/tokens".to_owned()),
        ("new-token", "/ui/tokens/new".to_owned()),
        (
            "service-account-tokens",
            format!("/ui/admin/users/{}/tokens", seeded.bot),
        ),
        // A service account's clients and federated credentials: the lists with their create
        // forms, and the deletions' confirmations (the secret shown once: `new_client_secret`).
        (
            "service-account-clients",
            format!("/ui/admin/users/{}/clients", seeded.bot),
        ),
        (
            "delete-client-confirm",
            format!(
                "/ui/admin/users/{}/clients/{}/delete",
                seeded.bot, seeded.client
            ),
        ),
        (
            "service-account-federated",
            format!("/ui/admin/users/{}/federated-credentials", seeded.bot),
        ),
        (
            "delete-federated-confirm",
            format!(
                "/ui/admin/users/{}/federated-credentials/{}/delete",
                seeded.bot, seeded.federated
            ),
        ),
        ("users", "/ui/admin/users".to_owned()),
        ("user", format!("/ui/admin/users/{}", seeded.bot)),
        ("groups", "/ui/admin/groups".to_owned()),
        ("group", format!("/ui/admin/groups/{}", seeded.group)),
        ("roles", "/ui/admin/roles".to_owned()),
        ("applications", "/ui/admin/applications".to_owned()),
        ("new-application", "/ui/admin/applications/new".to_owned()),
        ("audit", "/ui/admin/audit".to_owned()),
        ("inventory", "/ui/admin/tokens".to_owned()),
        ("token", format!("/ui/admin/tokens/{}", seeded.token)),
        ("sessions", "/ui/admin/sessions".to_owned()),
        (
            "revoke-confirm",
            format!("/ui/tokens/{}/revoke", seeded.token),
        ),
        ("not-found", "/ui/no-such-page".to_owned()),
    ]
}

/// The serious and critical violations axe-core finds on the current page, one line each.
async fn violations(s: &Session, axe: &str) -> Vec<String> {
    s.b()
        .execute(&format!("{axe}\nreturn true;"), vec![])
        .await
        .expect("inject axe-core");
    let found = s
        .b()
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] }).then(
               (r) => done(r.violations
                 .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                 .map((v) => v.impact + ' ' + v.id + ': ' + v.help + ' — ' +
                   v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join(', '))),
               (e) => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("axe.run");
    serde_json::from_value(found).expect("a list of violations")
}

/// Every page of the walk, signed in as the administrator (and the sign-in page before that),
/// passes axe-core with no serious or critical violation, in light and in dark mode, on a
/// desktop and on a phone.
async fn every_page_passes_the_accessibility_audit(backend: Backend) {
    if !browser_available() {
        return;
    }
    let Some(axe) = axe_source() else {
        return;
    };
    let server = TestServer::start(backend).await;
    let seeded = seed(&server).await;
    let mut failures = Vec::new();
    for (scheme, args) in [("light", &[][..]), ("dark", &["--force-dark-mode"][..])] {
        let s = Session::start_with(args).await;
        s.goto(&format!("{}/ui/login", server.url)).await;
        s.find("#sign-in").await;
        for v in violations(&s, &axe).await {
            failures.push(format!("{scheme} login: {v}"));
        }
        s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        for (size, width, height) in [("desktop", 1280, 900), ("phone", 390, 844)] {
            s.b()
                .set_window_size(width, height)
                .await
                .expect("window size");
            for (name, path) in pages(&seeded) {
                s.goto(&format!("{}{path}", server.url)).await;
                s.find("main").await;
                // A mistyped path would audit the error page instead of the page meant.
                assert_eq!(
                    s.exists("#error-title").await,
                    name == "not-found",
                    "{name}: {path}"
                );
                for v in violations(&s, &axe).await {
                    failures.push(format!("{scheme} {size} {name}: {v}"));
                }
            }
            // Pages only a form reaches: a refused client form, and the secret shown once.
            s.goto(&format!(
                "{}/ui/admin/users/{}/clients",
                server.url, seeded.bot
            ))
            .await;
            s.fill("#client-name", "signer").await;
            s.click("#method-key").await;
            s.click("#create-client").await;
            s.find("#key-error").await;
            for v in violations(&s, &axe).await {
                failures.push(format!("{scheme} {size} client-form-refused: {v}"));
            }
            new_client_secret(&s, &server, seeded.bot).await;
            for v in violations(&s, &axe).await {
                failures.push(format!("{scheme} {size} client-secret: {v}"));
            }
        }
        s.close().await;
    }
    assert!(
        failures.is_empty(),
        "axe-core found serious or critical violations:\n{}",
        failures.join("\n")
    );
}

/// Creates a secret client of service account `account` through its form and stays on the page
/// that shows the secret once.
async fn new_client_secret(s: &Session, server: &TestServer, account: uuid::Uuid) {
    s.goto(&format!("{}/ui/admin/users/{account}/clients", server.url))
        .await;
    s.fill("#client-name", "release pipeline").await;
    s.click("#method-secret").await;
    s.click("#create-client").await;
    s.wait_for_path("/secret").await;
    s.find("#secret-value").await;
}

/// The pages of the second factor pass the same audit, in light and dark mode, on a desktop and
/// on a phone: Profile → Two-factor authentication (before and after the set-up), its set-up (the
/// QR code), the recovery codes, the login page's second step, and a form asking for the step-up
/// in place. A new user for each
/// pass, so that each sets up its own authenticator app.
async fn the_two_factor_pages_pass_the_accessibility_audit(backend: Backend) {
    let Some(python) = crate::mfa::pyotp() else {
        return;
    };
    if !browser_available() {
        return;
    }
    let Some(axe) = axe_source() else {
        return;
    };
    let server = TestServer::start(backend).await;
    let mut failures = Vec::new();
    for (scheme, args) in [("light", &[][..]), ("dark", &["--force-dark-mode"][..])] {
        let s = Session::start_with(args).await;
        for (size, width, height) in [("desktop", 1280, 900), ("phone", 390, 844)] {
            s.b()
                .set_window_size(width, height)
                .await
                .expect("window size");
            let email = format!("{scheme}-{size}@example.com");
            server.create_user(&email, "user-password-1").await;
            let mut audit = async |name: &str| {
                s.find("main").await;
                for v in violations(&s, &axe).await {
                    failures.push(format!("{scheme} {size} {name}: {v}"));
                }
            };
            s.login(&server, &email, "user-password-1").await;
            s.goto(&format!("{}/ui/profile/mfa", server.url)).await;
            audit("mfa").await;
            s.click("#setup-totp").await;
            s.find("#totp-setup figure.qr svg").await;
            audit("mfa-setup").await;
            let shown = s.text("#totp-secret").await.replace(' ', "");
            let phone = crate::mfa::Authenticator::new(
                &python,
                &format!("otpauth://totp/x?secret={shown}"),
            );
            crate::mfa::away_from_a_step_boundary().await;
            s.fill("#setup-code", &phone.codes(&[-30]).remove(0)).await;
            s.click("#confirm-totp").await;
            s.wait_for_text("#recovery-codes", "Save these codes now")
                .await;
            audit("mfa-recovery-codes").await;
            s.click("#logout").await;
            s.find("#email").await;
            s.fill("#email", &email).await;
            s.fill("#password", "user-password-1").await;
            s.click("#sign-in").await;
            s.find("#code").await;
            audit("login-second-step").await;
            crate::mfa::away_from_a_step_boundary().await;
            s.fill("#code", &phone.now()).await;
            s.click("#verify-code").await;
            s.find("#logout").await;
            s.goto(&format!("{}/ui/profile/mfa", server.url)).await;
            s.find("#recovery-left").await;
            audit("mfa-enrolled").await;
            // A step-up asked in place: the check grown older than MFA_REAUTH_MINUTES.
            sqlx::query("UPDATE sessions SET mfa_at = mfa_at - 16 * 60000")
                .execute(server.pool())
                .await
                .expect("age the check");
            server.after_direct_sql();
            s.goto(&format!("{}/ui/tokens/new", server.url)).await;
            s.fill("#token-name", "deploy").await;
            s.click("#create-token").await;
            s.wait_for_text("#mfa-code-error", "Confirm it is you")
                .await;
            audit("step-up").await;
            s.click("#logout").await;
            s.find("#email").await;
        }
        s.close().await;
    }
    assert!(
        failures.is_empty(),
        "axe-core found serious or critical violations:\n{}",
        failures.join("\n")
    );
}

crate::on_both_databases!(
    every_page_passes_the_accessibility_audit,
    the_two_factor_pages_pass_the_accessibility_audit,
);

/// The screenshots of `docs/ui.md`: the main pages at 1280 × 900 and 390 × 844, light and dark,
/// written to `JUSTIAM_SCREENSHOTS` (`scripts/ui-screenshots` sets it to `docs/images`). Ignored
/// in the ordinary runs: it writes into the repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/images: run through scripts/ui-screenshots"]
async fn screenshots_of_the_main_pages() {
    let dir = PathBuf::from(
        std::env::var("JUSTIAM_SCREENSHOTS")
            .expect("JUSTIAM_SCREENSHOTS names the folder (scripts/ui-screenshots sets it)"),
    );
    std::fs::create_dir_all(&dir).expect("the screenshots' folder");
    assert!(browser_available(), "the screenshots need Chromium");
    let server = TestServer::start(Backend::Sqlite).await;
    let seeded = seed(&server).await;
    // The secret pages' clients go to another account, so that the lists show only the seeded.
    let releaser = server
        .create_service_account("release-bot@example.com")
        .await;
    let shown = [
        "tokens",
        "new-token",
        "users",
        "audit",
        "inventory",
        "token",
        "service-account-clients",
        "service-account-federated",
    ];
    for (scheme, args) in [("", &[][..]), ("-dark", &["--force-dark-mode"][..])] {
        let s = Session::start_with(args).await;
        s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        for (size, width, height) in [("", 1280, 900), ("-phone", 390, 844)] {
            s.b()
                .set_window_size(width, height)
                .await
                .expect("window size");
            for (name, path) in pages(&seeded) {
                if !shown.contains(&name) {
                    continue;
                }
                s.goto(&format!("{}{path}", server.url)).await;
                s.find("main").await;
                let png = s.b().screenshot().await.expect("screenshot");
                std::fs::write(dir.join(format!("ui-{name}{size}{scheme}.png")), png)
                    .expect("write the screenshot");
            }
            new_client_secret(&s, &server, releaser.id).await;
            let png = s.b().screenshot().await.expect("screenshot");
            std::fs::write(dir.join(format!("ui-client-secret{size}{scheme}.png")), png)
                .expect("write the screenshot");
        }
        s.close().await;
    }
}

// Issue 18's pages: Administration → Webhooks and the password reset. A block of its own (its
// own server: mail to a real SMTP server, webhooks allowed to a loopback port that refuses).

/// Each page in `pages`, at desktop and phone size, into `failures` under `scheme`.
async fn audit_at_both_sizes(
    s: &Session,
    axe: &str,
    base: &str,
    pages: &[(&str, String)],
    scheme: &str,
    failures: &mut Vec<String>,
) {
    for (size, width, height) in [("desktop", 1280, 900), ("phone", 390, 844)] {
        s.b()
            .set_window_size(width, height)
            .await
            .expect("window size");
        for (name, path) in pages {
            s.goto(&format!("{base}{path}")).await;
            s.find("main").await;
            for v in violations(s, axe).await {
                failures.push(format!("{scheme} {size} {name}: {v}"));
            }
        }
    }
}

/// The webhooks' list, a webhook's page with failed deliveries in its log, its edit form, and,
/// signed out, "Forgot password?" and "Choose a new password" (from a real mailed link when
/// `aiosmtpd` is there, else its state for an invalid link) pass axe-core, light and dark.
async fn webhook_and_password_reset_pages_pass_the_accessibility_audit(backend: Backend) {
    if !browser_available() {
        return;
    }
    let Some(axe) = axe_source() else {
        return;
    };
    let smtp = crate::common::SmtpServer::start().await;
    let server = TestServer::start_with(backend, |args| {
        args.webhook_allow_private_targets = true;
        if let Some(smtp) = &smtp {
            crate::mail::mail_to(smtp)(args);
        }
    })
    .await;
    server
        .create_user("ada@example.com", "user-password-1")
        .await;
    let admin = server.admin().await;
    let webhook = admin
        .create_webhook(&justiam_types::webhook::WebhookInput {
            url: "http://127.0.0.1:9/hook".to_owned(),
            events: vec!["user.*".to_owned()],
            secret: None,
        })
        .await
        .expect("webhook");
    let id = webhook.webhook.id;
    admin.send_webhook_test(id).await.expect("test event");
    let signed_in = [
        ("webhooks", "/ui/admin/webhooks".to_owned()),
        ("webhook", format!("/ui/admin/webhooks/{id}")),
        ("edit-webhook", format!("/ui/admin/webhooks/{id}/edit")),
    ];
    let mut reset_link = None;
    let mut failures = Vec::new();
    for (scheme, args) in [("light", &[][..]), ("dark", &["--force-dark-mode"][..])] {
        let s = Session::start_with(args).await;
        if reset_link.is_none()
            && let Some(smtp) = &smtp
        {
            s.goto(&format!("{}/ui/forgot-password", server.url)).await;
            s.fill("#email", "ada@example.com").await;
            s.click("#send-link").await;
            s.wait_for_text("#reset-notice", "on its way").await;
            let mails = smtp.wait_for(1, std::time::Duration::from_secs(20)).await;
            reset_link = mails.first().and_then(|m| m.reset_link());
            assert!(
                reset_link.is_some(),
                "no reset link in {} mails",
                mails.len()
            );
        }
        let reset = reset_link
            .as_deref()
            .and_then(|link| link.find("/ui/").map(|at| link[at..].to_owned()))
            .unwrap_or_else(|| "/ui/password-reset?token=not-a-token".to_owned());
        let signed_out = [
            ("forgot-password", "/ui/forgot-password".to_owned()),
            ("choose-password", reset),
        ];
        audit_at_both_sizes(&s, &axe, &server.url, &signed_out, scheme, &mut failures).await;
        s.b().set_window_size(1280, 900).await.expect("window size");
        s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        audit_at_both_sizes(&s, &axe, &server.url, &signed_in, scheme, &mut failures).await;
        s.close().await;
    }
    assert!(
        failures.is_empty(),
        "axe-core found serious or critical violations:\n{}",
        failures.join("\n")
    );
}

crate::on_both_databases!(webhook_and_password_reset_pages_pass_the_accessibility_audit);
