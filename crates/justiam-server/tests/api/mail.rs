//! Mail through a real SMTP server (Python's `aiosmtpd`, unmodified, on loopback — see
//! `common/smtp.rs`): password reset by the user and by an administrator, token notices (created,
//! revoked as leaked, expiring) sent once per token and threshold across runs, restarts and nodes,
//! the outbox riding out an SMTP outage, and mail switched off.

use std::time::Duration;

use justiam_client::Client;
use justiam_core::time::{DAY_MS, now_millis};
use justiam_server::config::{ServeArgs, SmtpTls};
use justiam_types::CreateToken;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{
    ADMIN_EMAIL, Backend, Browser, Received, SmtpServer, TestServer, assert_error, count_rows,
    hidden, raw, unescape, user_with,
};

/// Settings that send mail to `smtp` in clear text (it is on loopback).
pub(crate) fn mail_to(smtp: &SmtpServer) -> impl FnOnce(&mut ServeArgs) + '_ {
    move |args| {
        args.mail.smtp_host = Some("127.0.0.1".to_owned());
        args.mail.smtp_port = Some(smtp.port);
        args.mail.smtp_tls = SmtpTls::None;
        args.mail.smtp_from = "JustIAM <iam@example.com>".to_owned();
    }
}

async fn reset_request(server: &TestServer, email: &str) -> justiam_client::RawResponse {
    raw(
        &server.anonymous(),
        Method::POST,
        "/api/v1/auth/password-reset",
        Some(json!({ "email": email })),
    )
    .await
}

async fn confirm(server: &TestServer, token: &str, password: &str) -> justiam_client::RawResponse {
    raw(
        &server.anonymous(),
        Method::POST,
        "/api/v1/auth/password-reset/confirm",
        Some(json!({ "token": token, "new_password": password })),
    )
    .await
}

fn token_of(link: &str) -> String {
    link.split("token=")
        .nth(1)
        .expect("token parameter")
        .to_owned()
}

/// The outbox's gauge `justiam_outbox_messages{kind,status}`.
async fn outbox_gauge(server: &TestServer, kind: &str, status: &str) -> i64 {
    let text = reqwest::get(format!("{}/metrics", server.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let series = format!("justiam_outbox_messages{{kind=\"{kind}\",status=\"{status}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} in /metrics:\n{text}"))
}

async fn password_reset_by_mail(backend: Backend) {
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let server = TestServer::start_with(backend, mail_to(&smtp)).await;
    let (user, session) = server.user_client("ada@example.com").await;

    let answer = reset_request(&server, "Ada@Example.com").await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
    let mails = smtp.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(mail.to.contains("ada@example.com"), "{mail:?}");
    assert_eq!(mail.subject, "Reset your JustIAM password");
    assert!(
        mail.text.contains("From: JustIAM <iam@example.com>"),
        "{}",
        mail.text
    );
    let link = mail.reset_link().expect("a reset link in the mail");
    assert!(
        link.starts_with(&format!(
            "{}/ui/password-reset?token=",
            server.url.replace("127.0.0.1", "localhost")
        )),
        "{link}"
    );
    let token = token_of(&link);
    // The worker marks the row sent once the SMTP exchange has ended, a moment after the sink
    // holds the mail: wait for it rather than race it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while count_rows(&server, "outbox", "status", "sent").await != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outbox row is never marked sent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Stored as a digest only.
    let stored: i64 =
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox WHERE payload LIKE $1")
            .bind(format!("%{token}%"))
            .fetch_one(server.pool())
            .await
            .expect("count");
    assert_eq!(stored, 0, "a sent mail's payload is erased");
    assert_eq!(outbox_gauge(&server, "mail", "sent").await, 1);

    // Rules of the new password first: the link is not spent by a refusal.
    let short = confirm(&server, &token, "short").await;
    assert_error(&short, 400, "validation_error", "new_password");
    let done = confirm(&server, &token, "a-new-password-1").await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.json);
    // Every session ended; the new password works, the old one does not.
    let me = raw(&session, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "the old session ended");
    server.login("ada@example.com", "a-new-password-1").await;
    let old = server
        .anonymous()
        .login("ada@example.com", "user-password-1")
        .await;
    assert!(old.is_err(), "the old password no longer works");
    // Single use.
    let again = confirm(&server, &token, "another-password-2").await;
    assert_error(&again, 400, "invalid_reset_token", "token");
    let made_up = confirm(&server, "x", "another-password-2").await;
    assert_error(&made_up, 400, "invalid_reset_token", "token");

    // Audited: the request and the reset.
    let admin = server.admin().await;
    for action in ["auth.password_reset_requested", "user.password_reset"] {
        let page = raw(
            &admin,
            Method::GET,
            &format!("/api/v1/audit?action={action}"),
            None,
        )
        .await;
        let entries = page.json["data"].as_array().cloned().unwrap_or_default();
        assert!(
            entries.iter().any(|e| e["target_id"] == json!(user.id)),
            "{action}: {}",
            page.json
        );
    }
}

async fn unknown_and_known_addresses_answer_alike(backend: Backend) {
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let server = TestServer::start_with(backend, |args| {
        mail_to(&smtp)(args);
        // Each request comes from its own address, so only the per-account limit applies.
        args.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
    })
    .await;
    for n in 0..4 {
        server
            .create_user(&format!("known{n}@example.com"), "user-password-1")
            .await;
    }
    let client = reqwest::Client::new();
    let send = |email: String, n: usize| {
        let client = client.clone();
        let url = format!("{}/api/v1/auth/password-reset", server.url);
        async move {
            let started = std::time::Instant::now();
            let response = client
                .post(url)
                .header("x-forwarded-for", format!("10.1.{}.{}", n / 200, n % 200))
                .json(&json!({ "email": email }))
                .send()
                .await
                .expect("request");
            let status = response.status();
            let body = response.text().await.expect("body");
            (status, body, started.elapsed())
        }
    };
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for round in 0..5 {
        for n in 0..4 {
            let i = round * 8 + n * 2;
            known.push(send(format!("known{n}@example.com"), i).await);
            unknown.push(send(format!("nobody{n}@example.com"), i + 1).await);
        }
    }
    for (status, body, _) in known.iter().chain(&unknown) {
        assert_eq!(*status, StatusCode::ACCEPTED);
        assert_eq!(body, "", "the same (empty) body for every address");
    }
    let median = |answers: &[(StatusCode, String, Duration)]| {
        let mut times: Vec<Duration> = answers.iter().map(|a| a.2).collect();
        times.sort();
        times[times.len() / 2]
    };
    let (k, u) = (median(&known), median(&unknown));
    let gap = k.abs_diff(u);
    assert!(
        gap < Duration::from_millis(15) || gap < k.max(u) / 4,
        "known {k:?} vs unknown {u:?}: the answer times must not tell them apart"
    );
    // Mails went only to the known accounts: 5 rounds × 4.
    let mails = smtp.wait_for(20, Duration::from_secs(30)).await;
    assert_eq!(mails.len(), 20);
    assert!(mails.iter().all(|m| m.to.contains("known")), "{mails:?}");

    // Throttled per account: the sixth request for one address in the hour is refused, as it
    // would be for an address without an account.
    for email in ["known0@example.com", "nobody0@example.com"] {
        let sixth = client
            .post(format!("{}/api/v1/auth/password-reset", server.url))
            .header("x-forwarded-for", "10.9.9.9")
            .json(&json!({ "email": email }))
            .send()
            .await
            .expect("request");
        assert_eq!(sixth.status(), StatusCode::TOO_MANY_REQUESTS, "{email}");
    }
}

async fn administrator_sends_a_reset(backend: Backend) {
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let server = TestServer::start_with(backend, mail_to(&smtp)).await;
    let admin = server.admin().await;
    let target = server
        .create_user("grace@example.com", "user-password-1")
        .await;
    let robot = server.create_service_account("robot@example.com").await;
    let path = |id: uuid::Uuid| format!("/api/v1/users/{id}/password-reset");

    // Someone who cannot see users learns nothing: 404.
    let (_, nobody) = server.user_client("nobody@example.com").await;
    let hidden = raw(&nobody, Method::POST, &path(target.id), None).await;
    assert_error(&hidden, 404, "not_found", "user");
    // Seeing users without the permission: 403 naming it.
    let (_, viewer, _) = user_with(&server, &admin, "viewer@example.com", &["users.view"]).await;
    let refused = raw(&viewer, Method::POST, &path(target.id), None).await;
    assert_error(&refused, 403, "forbidden", "users.sendpasswordreset");
    let (_, helper, _) = user_with(
        &server,
        &admin,
        "helper@example.com",
        &["users.view", "users.sendpasswordreset"],
    )
    .await;
    let unknown = raw(&helper, Method::POST, &path(uuid::Uuid::now_v7()), None).await;
    assert_error(&unknown, 404, "not_found", "user");
    let machine = raw(&helper, Method::POST, &path(robot.id), None).await;
    assert_error(&machine, 409, "not_a_person", "service account");

    let sent = raw(&helper, Method::POST, &path(target.id), None).await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.json);
    let mails = smtp.wait_for(1, Duration::from_secs(20)).await;
    let resets: Vec<&Received> = mails
        .iter()
        .filter(|m| m.subject == "Reset your JustIAM password")
        .collect();
    assert_eq!(resets.len(), 1, "{mails:?}");
    assert!(resets[0].to.contains("grace@example.com"));
    assert!(
        resets[0].text.contains("An administrator"),
        "{}",
        resets[0].text
    );
    let token = token_of(&resets[0].reset_link().expect("link"));
    let done = confirm(&server, &token, "graces-new-password").await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.json);
    server
        .login("grace@example.com", "graces-new-password")
        .await;
}

/// Every mail must leave token values out.
fn assert_no_value(mails: &[Received], values: &[String]) {
    for mail in mails {
        for value in values {
            assert!(
                !mail.text.contains(value.as_str()),
                "a token value in a mail: {}",
                mail.text
            );
        }
        assert!(!mail.text.contains("justiam_pat_"), "{}", mail.text);
    }
}

fn with_subject<'a>(mails: &'a [Received], part: &str) -> Vec<&'a Received> {
    mails.iter().filter(|m| m.subject.contains(part)).collect()
}

async fn token_notices(backend: Backend) {
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let mut server = TestServer::start_with(backend, mail_to(&smtp)).await;
    let (_, ada) = server.user_client("ada@example.com").await;
    let admin = server.admin().await;
    let create = |client: &Client, owner: Option<uuid::Uuid>, name: &str, days: i64| {
        let client = client.clone();
        let body = CreateToken {
            name: name.to_owned(),
            expires_in_days: days,
            permissions: None,
        };
        async move {
            client
                .create_token(owner, &body)
                .await
                .expect("create token")
        }
    };
    let deploy = create(&ada, None, "deploy", 30).await;
    let robot = server.create_service_account("robot@example.com").await;
    let robots = create(&admin, Some(robot.id), "robot-ci", 30).await;
    let leaked = create(&ada, None, "leaky", 30).await;
    let mut values = vec![
        deploy.token.clone(),
        robots.token.clone(),
        leaked.token.clone(),
    ];

    // Created: the owner hears of their token; a service account's creator of its token.
    let mails = smtp.wait_for(3, Duration::from_secs(20)).await;
    let created = with_subject(&mails, "New JustIAM token");
    assert_eq!(created.len(), 3, "{mails:?}");
    let deploy_mail = created
        .iter()
        .find(|m| m.subject.contains("deploy"))
        .expect("deploy's mail");
    assert!(deploy_mail.to.contains("ada@example.com"));
    let hint: String = deploy
        .token
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(
        deploy_mail.text.contains(&hint),
        "the hint: {}",
        deploy_mail.text
    );
    assert!(deploy_mail.text.contains("/ui/tokens"), "the token page");
    let robot_mail = created
        .iter()
        .find(|m| m.subject.contains("robot-ci"))
        .expect("robot's mail");
    assert!(robot_mail.to.contains(ADMIN_EMAIL), "{robot_mail:?}");
    assert!(
        robot_mail
            .text
            .contains(&format!("/ui/admin/users/{}/tokens", robot.id))
    );

    // Revoked as leaked: the owner is told why.
    server
        .anonymous()
        .report_leaked_tokens(vec![leaked.token.clone()])
        .await
        .expect("leak report");
    let mails = smtp.wait_for(4, Duration::from_secs(20)).await;
    let revoked = with_subject(&mails, "was revoked: it leaked");
    assert_eq!(revoked.len(), 1, "{mails:?}");
    assert!(revoked[0].subject.contains("leaky") && revoked[0].to.contains("ada@example.com"));

    // Expiring: 24 days on, `deploy` and `robot-ci` are inside the 7-day threshold. The scan runs
    // twice, then on a restarted server, and each notice goes out once.
    let later = now_millis() + 24 * DAY_MS;
    assert_eq!(
        server.iam().scan_token_notices(later).await.expect("scan"),
        2
    );
    assert_eq!(
        server.iam().scan_token_notices(later).await.expect("scan"),
        0
    );
    server.stop().await;
    let restarted = server.another_node(mail_to(&smtp)).await;
    assert_eq!(
        restarted
            .iam()
            .scan_token_notices(later)
            .await
            .expect("scan"),
        0
    );
    let mails = smtp.wait_for(6, Duration::from_secs(20)).await;
    let expiring = with_subject(&mails, "expires in 6 days");
    assert_eq!(expiring.len(), 2, "{mails:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.messages().len(), 6, "nothing more");

    // A day before the end, the 1-day notice, once.
    let last_day = now_millis() + 29 * DAY_MS + 12 * 3_600_000;
    assert_eq!(
        restarted
            .iam()
            .scan_token_notices(last_day)
            .await
            .expect("scan"),
        2
    );
    assert_eq!(
        restarted
            .iam()
            .scan_token_notices(last_day)
            .await
            .expect("scan"),
        0
    );
    let mails = smtp.wait_for(8, Duration::from_secs(20)).await;
    assert_eq!(
        with_subject(&mails, "expires in 1 day").len(),
        2,
        "{mails:?}"
    );

    // A token created inside a threshold gets that notice (the nearest one only) at the scan
    // at start and then every NOTIFICATION_INTERVAL_SECONDS.
    let ada = restarted.login("ada@example.com", "user-password-1").await;
    let short = create(&ada, None, "short-lived", 3).await;
    values.push(short.token.clone());
    assert_eq!(
        restarted
            .iam()
            .scan_token_notices(now_millis())
            .await
            .expect("scan"),
        1
    );
    let mails = smtp.wait_for(10, Duration::from_secs(20)).await;
    let short_mails = with_subject(&mails, "\"short-lived\" expires in 3 days");
    assert_eq!(short_mails.len(), 1, "{mails:?}");
    assert_eq!(
        count_rows(
            &restarted,
            "token_notices",
            "token_id",
            &short.id.to_string()
        )
        .await,
        1
    );
    assert_no_value(&mails, &values);
}

/// Two nodes scanning at the same moment send each notice once.
async fn two_nodes_send_each_notice_once(backend: Backend) {
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let first = TestServer::start_with(backend, mail_to(&smtp)).await;
    let second = first.another_node(mail_to(&smtp)).await;
    let (_, ada) = first.user_client("ada@example.com").await;
    for n in 0..5 {
        ada.create_token(
            None,
            &CreateToken {
                name: format!("t{n}"),
                expires_in_days: 30,
                permissions: None,
            },
        )
        .await
        .expect("token");
    }
    smtp.wait_for(5, Duration::from_secs(20)).await;
    let later = now_millis() + 24 * DAY_MS;
    let (a, b) = tokio::join!(
        first.iam().scan_token_notices(later),
        second.iam().scan_token_notices(later)
    );
    assert_eq!(
        a.expect("scan") + b.expect("scan"),
        5,
        "five notices between the two nodes"
    );
    let mails = smtp.wait_for(10, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mails = if mails.len() > 10 {
        mails
    } else {
        smtp.messages()
    };
    assert_eq!(with_subject(&mails, "expires in").len(), 5, "{mails:?}");
    assert_eq!(mails.len(), 10, "each row sent by one node only: {mails:?}");
}

async fn smtp_outage_is_ridden_out(backend: Backend) {
    let Some(mut smtp) = SmtpServer::down().await else {
        return;
    };
    let server = TestServer::start_with(backend, mail_to(&smtp)).await;
    server
        .create_user("ada@example.com", "user-password-1")
        .await;
    let started = std::time::Instant::now();
    let answer = reset_request(&server, "ada@example.com").await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the request does not wait for SMTP"
    );
    // The first attempt fails and the mail waits for a retry.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let row = sqlx::query_as::<_, (String, i64, Option<String>)>(
            "SELECT status, attempts, last_error FROM outbox",
        )
        .fetch_one(server.pool())
        .await
        .expect("the outbox row");
        if row.1 >= 1 && row.0 == "pending" {
            assert!(
                row.2.is_some_and(|e| !e.is_empty()),
                "the failure is recorded"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failed attempt: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(outbox_gauge(&server, "mail", "pending").await, 1);
    // SMTP comes back: the mail arrives, once.
    smtp.resume().await;
    let mails = smtp.wait_for(1, Duration::from_secs(40)).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.messages().len(), 1, "nothing sent twice");
    assert_eq!(outbox_gauge(&server, "mail", "sent").await, 1);
    assert_eq!(outbox_gauge(&server, "mail", "pending").await, 0);
}

async fn without_smtp_mail_features_say_so(backend: Backend) {
    let server = TestServer::start(backend).await;
    let user = server
        .create_user("ada@example.com", "user-password-1")
        .await;
    let answer = reset_request(&server, "ada@example.com").await;
    assert_error(&answer, 503, "mail_disabled", "SMTP_HOST");
    let admin = server.admin().await;
    let by_admin = raw(
        &admin,
        Method::POST,
        &format!("/api/v1/users/{}/password-reset", user.id),
        None,
    )
    .await;
    assert_error(&by_admin, 503, "mail_disabled", "SMTP_HOST");
    // Tokens are created as before, and nothing waits in the outbox.
    admin
        .create_token(
            None,
            &CreateToken {
                name: "quiet".into(),
                expires_in_days: 3,
                permissions: None,
            },
        )
        .await
        .expect("token");
    let rows: i64 = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox")
        .fetch_one(server.pool())
        .await
        .expect("count");
    assert_eq!(rows, 0);
    assert_eq!(outbox_gauge(&server, "mail", "pending").await, 0);
}

/// The pages a person without a session uses: "Forgot password?" on the login page, the form that
/// asks for the link, and "Choose a new password" that the link opens.
async fn forgot_password_pages(backend: Backend) {
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let server = TestServer::start_with(backend, mail_to(&smtp)).await;
    server
        .create_user("ada@example.com", "user-password-1")
        .await;
    let mut browser = Browser::new(&server);
    let login = browser.get("/ui/login").await;
    assert!(
        login.body.contains("href=\"/ui/forgot-password\""),
        "{}",
        login.body
    );

    let mut ask = async |email: &str| {
        let form = browser.get("/ui/forgot-password").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = hidden(&form.body, "csrf_token");
        browser
            .post_form(
                "/ui/forgot-password",
                &[("csrf_token", &csrf), ("email", email)],
            )
            .await
    };
    let known = ask("ada@example.com").await;
    let unknown = ask("nobody@example.com").await;
    assert_eq!(known.status, StatusCode::OK, "{}", known.body);
    assert_eq!(unknown.status, StatusCode::OK, "{}", unknown.body);
    let said =
        |page: &crate::common::Page, email: &str| unescape(&page.body).replace(email, "ADDRESS");
    assert!(
        said(&known, "ada@example.com").contains("If ADDRESS is the address of an account, a link")
    );
    let strip_csrf = |text: String| {
        let csrf = hidden(&text, "csrf_token");
        text.replace(&csrf, "")
    };
    assert_eq!(
        strip_csrf(said(&known, "ada@example.com")),
        strip_csrf(said(&unknown, "nobody@example.com")),
        "the same page for an account and for none"
    );
    // A form without its double-submit token is refused.
    let forged = browser
        .post_form(
            "/ui/forgot-password",
            &[("csrf_token", "x"), ("email", "ada@example.com")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let mails = smtp.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let link = mails[0].reset_link().expect("link");
    let path = &link[link.find("/ui/").expect("path")..];
    let page = browser.get(path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Choose a new password"));
    let csrf = hidden(&page.body, "csrf_token");
    let token = hidden(&page.body, "token");
    let differ = browser
        .post_form(
            "/ui/password-reset",
            &[
                ("csrf_token", &csrf),
                ("token", &token),
                ("new_password", "new-password-1"),
                ("confirm_password", "new-password-2"),
            ],
        )
        .await;
    assert_eq!(differ.status, StatusCode::BAD_REQUEST);
    assert!(differ.body.contains("The two passwords differ"));
    let csrf = hidden(&differ.body, "csrf_token");
    let set = browser
        .post_form(
            "/ui/password-reset",
            &[
                ("csrf_token", &csrf),
                ("token", &token),
                ("new_password", "new-password-1"),
                ("confirm_password", "new-password-1"),
            ],
        )
        .await;
    assert_eq!(
        set.location().as_deref(),
        Some("/ui/login?done=reset"),
        "{}",
        set.body
    );
    let signed_out = browser.follow(set).await;
    assert!(
        signed_out.body.contains("Your new password is set"),
        "{}",
        signed_out.body
    );
    server.login("ada@example.com", "new-password-1").await;
    // The link worked once.
    let again = browser.get(path).await;
    let csrf = hidden(&again.body, "csrf_token");
    let spent = browser
        .post_form(
            "/ui/password-reset",
            &[
                ("csrf_token", &csrf),
                ("token", &token),
                ("new_password", "new-password-3"),
                ("confirm_password", "new-password-3"),
            ],
        )
        .await;
    assert_eq!(spent.status, StatusCode::BAD_REQUEST);
    assert!(
        spent.body.contains("already used or expired"),
        "{}",
        spent.body
    );

    // Without mail, no link on the login page, and the page says why.
    let quiet = TestServer::start(backend).await;
    let mut browser = Browser::new(&quiet);
    assert!(
        !browser
            .get("/ui/login")
            .await
            .body
            .contains("forgot-password")
    );
    let off = browser.get("/ui/forgot-password").await;
    assert!(
        off.body.contains("This server sends no mail"),
        "{}",
        off.body
    );
}

crate::on_both_databases!(
    forgot_password_pages,
    password_reset_by_mail,
    unknown_and_known_addresses_answer_alike,
    administrator_sends_a_reset,
    token_notices,
    two_nodes_send_each_notice_once,
    smtp_outage_is_ridden_out,
    without_smtp_mail_features_say_so,
);

#[tokio::test]
async fn clear_text_smtp_to_a_remote_host_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let mut args = crate::common::test_args(format!(
        "sqlite://{}",
        dir.path().join("justiam.db").display()
    ));
    args.mail.smtp_host = Some("mail.example.com".into());
    args.mail.smtp_tls = SmtpTls::None;
    let error = match justiam_server::server::start(&args).await {
        Ok(_) => panic!("the server must refuse SMTP_TLS=none to a remote host"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("SMTP_TLS=none") && error.contains("loopback"),
        "{error}"
    );
    assert_eq!(error.lines().count(), 1, "one clear line: {error}");
}

#[tokio::test]
async fn mail_test_command_sends_through_smtp() {
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_justiam"))
        .args([
            "mail",
            "test",
            "--to",
            "ops@example.com",
            "--smtp-host",
            "127.0.0.1",
        ])
        .args(["--smtp-port", &smtp.port.to_string(), "--smtp-tls", "none"])
        .env_remove("SMTP_HOST")
        .output()
        .await
        .expect("run justiam mail test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Sent a test mail to ops@example.com"),
        "{stdout}"
    );
    let mails = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "JustIAM test mail");
    assert!(mails[0].to.contains("ops@example.com"));

    // Without SMTP_HOST it says what to set.
    let off = tokio::process::Command::new(env!("CARGO_BIN_EXE_justiam"))
        .args(["mail", "test", "--to", "ops@example.com"])
        .env_remove("SMTP_HOST")
        .output()
        .await
        .expect("run justiam mail test");
    assert!(!off.status.success());
    assert!(String::from_utf8_lossy(&off.stderr).contains("SMTP_HOST"));
}
