//! The web UI in a real headless Chromium over WebDriver (Debian `chromium` + `chromium-driver`).
//! Each test starts its own server, chromedriver and browser session. Screenshots of the main pages
//! go to `target/ui-screenshots/`. Without the browser the tests skip loudly, or fail under
//! `JUSTIAM_TEST_REQUIRE_ALL=1`.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer, create_role};

/// Issue 19's token pages, with the helpers of this module.
mod tokens;
/// Every main page: the accessibility audit and the screenshots of docs/ui.md.
mod walk;
// Pages of one resource each, sharing this module's browser session.
mod applications;
/// A service account's clients and federated credentials (issue 16).
mod machine;
/// "Forgot password?" with a real SMTP server.
mod mail;
/// Issue 17: two-factor sign-in, step-up and the authorization flow.
mod mfa;
/// Administration → Webhooks: the edit form (issue 18).
mod webhooks;
/// Refusals of the service said in the forms' words.
mod wording;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromedriver_path() -> Option<&'static str> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

/// Whether the browser tests can run; without Chromium they skip loudly, or fail under
/// `JUSTIAM_TEST_REQUIRE_ALL=1`.
pub(crate) fn browser_available() -> bool {
    if std::path::Path::new(CHROMIUM).exists() && chromedriver_path().is_some() {
        return true;
    }
    if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!(
            "chromium or chromedriver is missing but JUSTIAM_TEST_REQUIRE_ALL=1: install them with `apt-get install -y chromium chromium-driver` (./scripts/test does)"
        );
    }
    eprintln!(
        "SKIPPED: browser test (install chromium and chromium-driver, or run ./scripts/test)"
    );
    false
}

/// One chromedriver and one browser session; both end when this is dropped or closed.
pub(crate) struct Session {
    browser: Option<Browser>,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Session {
    pub(crate) async fn start() -> Session {
        Session::start_with(&[]).await
    }

    /// A session whose Chromium also gets `extra` arguments (`--force-dark-mode`, a window size).
    pub(crate) async fn start_with(extra: &[&str]) -> Session {
        let port = crate::common::free_port();
        let driver = tokio::process::Command::new(chromedriver_path().expect("chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let webdriver = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let args: Vec<String> = args
            .into_iter()
            .chain(extra.iter().map(|a| (*a).to_owned()))
            .collect();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let browser = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&webdriver)
            .await
            .expect("WebDriver session");
        Session {
            browser: Some(browser),
            _driver: driver,
            _profile: profile,
        }
    }

    pub(crate) fn b(&self) -> &Browser {
        self.browser.as_ref().expect("open session")
    }

    pub(crate) async fn close(mut self) {
        if let Some(browser) = self.browser.take() {
            let _ = browser.close().await;
        }
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.b().goto(url).await.expect("navigate");
    }

    pub(crate) async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .b()
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                let url = self.b().current_url().await.map(|u| u.to_string());
                let page = self.b().source().await.unwrap_or_default();
                let page: String = page.chars().take(3000).collect();
                panic!("no element {css} at {url:?}: {e}\n{page}")
            }
        }
    }

    async fn exists(&self, css: &str) -> bool {
        !self
            .b()
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
            .is_empty()
    }

    pub(crate) async fn fill(&self, css: &str, value: &str) {
        let input = self.find(css).await;
        input.clear().await.expect("clear");
        input.send_keys(value).await.expect("type");
    }

    pub(crate) async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    /// Waits up to 10 s for an element matching `css` whose text contains `needle`: after a click
    /// the old page may still be showing, and its elements must not answer for the new one.
    pub(crate) async fn wait_for_text(&self, css: &str, needle: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mut seen = Vec::new();
            if let Ok(elements) = self.b().find_all(Locator::Css(css)).await {
                for element in elements {
                    // A stale element (the page changed under us) is simply looked up again.
                    if let Ok(text) = element.text().await {
                        if text.contains(needle) {
                            return;
                        }
                        seen.push(text);
                    }
                }
            }
            if std::time::Instant::now() >= deadline {
                let url = self.b().current_url().await.map(|u| u.to_string());
                panic!("no {css} containing {needle:?} at {url:?}; seen: {seen:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn body(&self) -> String {
        self.text("body").await
    }

    pub(crate) async fn path(&self) -> String {
        self.b().current_url().await.expect("url").path().to_owned()
    }

    /// Waits up to 10 s for the navigation a click started to land on a path ending in `suffix`
    /// (WebDriver's click returns before the next page has loaded).
    async fn wait_for_path(&self, suffix: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let path = self.path().await;
            if path.ends_with(suffix) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still at {path}, expected a path ending in {suffix}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn screenshot(&self, name: &str) {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = self.b().screenshot().await {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
    }

    async fn login(&self, server: &TestServer, email: &str, password: &str) {
        self.goto(&format!("{}/ui/login", server.url)).await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("#sign-in").await;
        self.find("#logout").await;
    }

    /// The current `value` of an input.
    async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    /// The `value` of the New Token page's input, after creating a token.
    async fn created_token(&self) -> String {
        let input = self.find("#token-value").await;
        input
            .prop("value")
            .await
            .expect("value")
            .expect("token value")
    }
}

/// A `Cookie` header value holding a fresh portal session of the administrator.
async fn admin_session_cookie(server: &TestServer) -> String {
    let jwt = server
        .anonymous()
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login")
        .token;
    format!("justiam_session={jwt}")
}

/// The CSRF token a page's form carries.
fn csrf_token(html: &str) -> String {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf token in the form")
        .to_owned()
}

async fn api_status(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
) -> StatusCode {
    let mut request = reqwest::Client::new()
        .request(method.clone(), format!("{}{path}", server.url))
        .bearer_auth(token);
    if method == reqwest::Method::POST {
        request = request.json(&json!({ "email": "fine-grained@example.com" }));
    }
    request.send().await.expect("API call").status()
}

/// The seed's story: Profile → Personal Access Tokens → New Token, shown once, used, listed,
/// revoked; validation messages; rotation with a grace period; a read-only token; logout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_access_tokens_in_the_browser() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(Backend::Sqlite).await;
    let s = Session::start().await;
    let base = server.url.clone();

    // Not logged in: to the login page; a wrong password is said in plain words.
    s.goto(&format!("{base}/ui/tokens")).await;
    assert_eq!(s.path().await, "/ui/login");
    s.fill("#email", ADMIN_EMAIL).await;
    s.fill("#password", "not-the-password").await;
    s.click("#sign-in").await;
    s.wait_for_text("#login-error", "not right").await;
    s.screenshot("login").await;
    s.fill("#password", ADMIN_PASSWORD).await;
    s.click("#sign-in").await;
    // Back to where the user was going.
    s.find("#new-token").await;
    s.wait_for_path("/ui/tokens").await;

    // Profile → Personal Access Tokens → New Token.
    s.goto(&format!("{base}/ui/profile")).await;
    s.wait_for_text("#profile-email", ADMIN_EMAIL).await;
    s.wait_for_text("#permissions", "users.view").await;
    s.screenshot("profile").await;
    s.click("#pat-link").await;
    s.click("#new-token").await;
    s.wait_for_path("/ui/tokens/new").await;

    // Validation: no name, and a custom expiry out of range.
    s.click("#expiry-custom").await;
    s.fill("#custom-days", "400").await;
    s.click("#create-token").await;
    s.wait_for_text("#name-error", "Give the token a name")
        .await;
    // An administrator's token of everything is a deliberate choice, with a warning.
    s.wait_for_text("#permissions-error", "Choose what the token may do")
        .await;
    s.wait_for_text("#full-warning", "is an administrator")
        .await;
    s.click("#scope-full").await;
    s.fill("#token-name", "CI pipeline").await;
    s.click("#expiry-custom").await;
    s.fill("#custom-days", "400").await;
    s.click("#create-token").await;
    s.wait_for_text("#expiry-error", "365").await;
    s.screenshot("new-token-errors").await;

    // A preset.
    s.click("#expiry-30").await;
    s.click("#scope-full").await;
    s.click("#create-token").await;
    let value = s.created_token().await;
    assert!(value.starts_with("justiam_pat_"), "{value}");
    assert!(s.body().await.contains("only time"));
    let copy = s.find("#copy-token").await;
    assert!(
        copy.is_displayed().await.expect("displayed"),
        "copy button shown by the script"
    );
    s.screenshot("token-created").await;

    // Shown once: reloading shows it no more.
    s.b().refresh().await.expect("reload");
    s.find("#gone").await;
    assert!(!s.body().await.contains(&value));

    // It works against the API.
    assert_eq!(
        api_status(&server, &value, reqwest::Method::GET, "/api/v1/me").await,
        StatusCode::OK
    );
    // Listed, never with its value, with its last use.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    s.goto(&format!("{base}/ui/tokens")).await;
    let table = s.text("#token-table").await;
    assert!(table.contains("CI pipeline"), "{table}");
    assert!(
        table.contains("expires in 29 days") || table.contains("expires in 30 days"),
        "{table}"
    );
    assert!(!s.b().source().await.expect("source").contains(&value));
    let last_used = s.text("tr[data-token-id] .last-used").await;
    assert_ne!(last_used, "never", "last used is shown");
    s.screenshot("tokens").await;

    // Custom expiry: 3 days shows "expires in 2 days" or "in 3 days".
    s.goto(&format!("{base}/ui/tokens/new")).await;
    s.fill("#token-name", "Short lived").await;
    s.click("#expiry-custom").await;
    s.fill("#custom-days", "3").await;
    s.click("#scope-full").await;
    s.click("#create-token").await;
    let short = s.created_token().await;
    s.click("#done").await;
    s.wait_for_text("#token-table", "expires in").await;

    // Revoke with a confirmation; then the API refuses it.
    let row = "//tr[th[contains(., 'CI pipeline')]]//a[contains(@class,'revoke')]".to_owned();
    s.b()
        .find(Locator::XPath(&row))
        .await
        .expect("revoke link")
        .click()
        .await
        .expect("click");
    s.wait_for_text("#confirm-title", "CI pipeline").await;
    s.screenshot("revoke-confirm").await;
    s.click("#confirm").await;
    s.wait_for_text(".notice", "revoked").await;
    assert_eq!(
        api_status(&server, &value, reqwest::Method::GET, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );

    // Rotation with a grace period: both work during the grace period.
    let rotate = "//tr[th[contains(., 'Short lived')]]//a[contains(@class,'rotate')]";
    s.b()
        .find(Locator::XPath(rotate))
        .await
        .expect("rotate link")
        .click()
        .await
        .expect("click");
    s.fill("#grace", "5000").await;
    s.click("#rotate").await;
    s.wait_for_text("#grace-error", "1440").await;
    s.fill("#grace", "10").await;
    s.click("#rotate").await;
    let rotated = s.created_token().await;
    assert_ne!(rotated, short);
    for token in [&short, &rotated] {
        assert_eq!(
            api_status(&server, token, reqwest::Method::GET, "/api/v1/me").await,
            StatusCode::OK
        );
    }

    // A fine-grained read-only token: may view, may not create.
    s.goto(&format!("{base}/ui/tokens/new")).await;
    s.fill("#token-name", "Read only").await;
    s.click("#scope-readonly").await;
    s.click("#create-token").await;
    let read_only = s.created_token().await;
    assert_eq!(
        api_status(&server, &read_only, reqwest::Method::GET, "/api/v1/users").await,
        StatusCode::OK
    );
    assert_eq!(
        api_status(&server, &read_only, reqwest::Method::POST, "/api/v1/users").await,
        StatusCode::FORBIDDEN
    );
    // A custom permission set must not be empty.
    s.goto(&format!("{base}/ui/tokens/new")).await;
    s.fill("#token-name", "Nothing").await;
    s.click("#scope-custom").await;
    s.click("#create-token").await;
    s.wait_for_text("#permissions-error", "at least one").await;

    // Logout ends the session.
    s.click("#logout").await;
    s.find("#sign-in").await;
    assert!(s.body().await.contains("signed out"));
    s.goto(&format!("{base}/ui/profile")).await;
    assert_eq!(s.path().await, "/ui/login");
    s.close().await;
}

/// An administrator creates a service account and its token; a user without permissions sees no
/// admin links and gets the 403 page; administration pages render.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administration_in_the_browser() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(Backend::Sqlite).await;
    server
        .create_user("plain@example.com", "user-password-1")
        .await;
    let base = server.url.clone();
    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // Create a service account.
    s.click("#nav-users").await;
    s.click("#kind-sa").await;
    s.fill("#new-email", "deploy-bot@example.com").await;
    s.click("#create-user").await;
    s.wait_for_path("/tokens").await;
    s.fill("#token-name", "deploy").await;
    s.click("#expiry-90").await;
    s.click("#create-token").await;
    let value = s.created_token().await;
    let me = reqwest::Client::new()
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&value)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);
    assert!(
        me.text()
            .await
            .expect("body")
            .contains("deploy-bot@example.com")
    );
    s.click("#done").await;
    s.wait_for_text("#token-table", "deploy").await;
    s.screenshot("service-account-tokens").await;

    // Search the users list; the other pages render.
    s.goto(&format!("{base}/ui/admin/users?search=plain")).await;
    let users = s.text("#user-table").await;
    assert!(
        users.contains("plain@example.com") && !users.contains("deploy-bot"),
        "{users}"
    );
    s.screenshot("users").await;
    for (path, marker) in [
        ("/ui/admin/groups", "#group-table"),
        ("/ui/admin/roles", "#role-table"),
        ("/ui/admin/audit?action=token.*", "#audit-table"),
        ("/ui/admin/sessions", "#session-table"),
    ] {
        s.goto(&format!("{base}{path}")).await;
        s.find(marker).await;
    }
    s.goto(&format!("{base}/ui/admin/audit?action=token.*"))
        .await;
    s.wait_for_text("#audit-table", "token.created").await;
    s.screenshot("audit").await;
    s.close().await;

    // A user without permissions: no admin links, a 403 page on admin URLs.
    let s = Session::start().await;
    s.login(&server, "plain@example.com", "user-password-1")
        .await;
    for link in [
        "#nav-users",
        "#nav-groups",
        "#nav-roles",
        "#nav-audit",
        "#nav-sessions",
    ] {
        assert!(!s.exists(link).await, "{link} is hidden");
    }
    s.goto(&format!("{base}/ui/admin/users")).await;
    s.wait_for_text("#error-title", "do not have access").await;
    assert!(s.body().await.contains("users.view"));
    s.screenshot("forbidden").await;
    let status = reqwest::get(format!("{base}/ui/admin/users"))
        .await
        .expect("get")
        .status();
    assert_eq!(
        status,
        StatusCode::OK,
        "anonymous: the login page after a redirect"
    );
    s.close().await;
}

/// Admin roles, groups, sessions and service-account rotation: editing a role's permissions changes
/// what its holder may do on the API at once; a role is deleted after a confirmation; a built-in
/// role has no form and a forged post is refused with the API's error; a group is renamed, given a
/// role and deleted after a confirmation; all of a user's sessions end (from the user's page and
/// from Sessions) and their JWTs get 401; a service-account token is rotated with a 2 s grace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_groups_sessions_and_rotation_in_the_browser() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(Backend::Sqlite).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let (ops, ops_api) = server.user_client("ops@example.com").await;
    let role = create_role(&admin, "Directory readers", &["users.view"]).await;
    admin
        .assign_user_role(ops.id, role.id)
        .await
        .expect("assign role");
    let ops_jwt = server
        .anonymous()
        .login("ops@example.com", "user-password-1")
        .await
        .expect("login")
        .token;
    let get = reqwest::Method::GET;
    assert_eq!(
        api_status(&server, &ops_jwt, get.clone(), "/api/v1/users").await,
        StatusCode::OK
    );
    assert_eq!(
        api_status(&server, &ops_jwt, get.clone(), "/api/v1/groups").await,
        StatusCode::FORBIDDEN
    );

    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // Edit the role's permissions: users.view out, groups.view in; the holder's API access follows.
    s.goto(&format!("{base}/ui/admin/roles/{}", role.id)).await;
    s.fill("#role-description", "Reads the directory").await;
    s.click("#role-permission-grid input[value='users.view']")
        .await;
    s.click("#role-permission-grid input[value='groups.view']")
        .await;
    s.screenshot("role-edit").await;
    s.click("#save-role").await;
    s.wait_for_text(".notice", "Saved").await;
    assert_eq!(
        api_status(&server, &ops_jwt, get.clone(), "/api/v1/users").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api_status(&server, &ops_jwt, get.clone(), "/api/v1/groups").await,
        StatusCode::OK
    );
    // A name the service refuses is said next to the field.
    s.fill("#role-name", "idp:mine").await;
    s.click("#save-role").await;
    s.wait_for_text("#name-error", "idp:").await;

    // A built-in role: read-only, and a forged post is refused with the API's error.
    let builtin = admin
        .list_roles(&Default::default())
        .await
        .expect("roles")
        .data
        .into_iter()
        .find(|r| r.is_builtin)
        .expect("a built-in role");
    s.goto(&format!("{base}/ui/admin/roles/{}", builtin.id))
        .await;
    s.wait_for_text("#builtin-note", "cannot be changed").await;
    assert!(!s.exists("#role-form").await, "no edit form");
    assert!(!s.exists("#delete-role").await, "no delete link");
    s.b()
        .execute(
            r#"const csrf = document.querySelector("input[name=csrf_token]").value;
               const f = document.createElement("form");
               f.method = "post"; f.action = location.pathname;
               for (const [k, v] of [["csrf_token", csrf], ["name", "hijacked"], ["permission", "users.delete"]]) {
                 const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
               }
               document.body.appendChild(f); f.submit();"#,
            vec![],
        )
        .await
        .expect("forged post");
    s.wait_for_text("#form-error", "Built-in idp:* roles cannot be changed")
        .await;
    let unchanged = admin.get_role(builtin.id).await.expect("built-in role");
    assert_eq!(unchanged.name, builtin.name);
    assert_eq!(unchanged.permissions, builtin.permissions);

    // A group: renamed, given the role, deleted after a confirmation.
    let group = admin
        .create_group(&justiam_types::CreateGroup {
            name: "Team A".to_owned(),
            description: None,
        })
        .await
        .expect("group");
    s.goto(&format!("{base}/ui/admin/groups/{}", group.id))
        .await;
    s.fill("#edit-name", "Team B").await;
    s.fill("#edit-description", "The B team").await;
    s.click("#save-group").await;
    s.wait_for_text(".notice", "Saved").await;
    assert_eq!(s.text("#group-name").await, "Team B");
    assert_eq!(
        admin.get_group(group.id).await.expect("group").name,
        "Team B"
    );
    s.click(&format!("#group-role option[value='{}']", role.id))
        .await;
    s.click("#assign-group-role").await;
    s.wait_for_text("#group-roles", "Directory readers").await;
    s.screenshot("group").await;
    s.click("#delete-group").await;
    s.wait_for_text("#confirm-title", "Team B").await;
    s.click("#confirm").await;
    s.wait_for_text(".notice", "Deleted").await;
    assert!(admin.get_group(group.id).await.is_err(), "group deleted");

    // Delete the role after a confirmation: its holder loses its permissions at once.
    s.goto(&format!("{base}/ui/admin/roles/{}", role.id)).await;
    s.click("#delete-role").await;
    s.wait_for_text("#confirm-title", "Directory readers").await;
    s.click("#confirm").await;
    s.wait_for_text(".notice", "Deleted").await;
    assert!(!s.text("#role-table").await.contains("Directory readers"));
    assert_eq!(
        api_status(&server, &ops_jwt, get.clone(), "/api/v1/groups").await,
        StatusCode::FORBIDDEN
    );

    // End all of a user's sessions from their page: their JWTs get 401.
    s.goto(&format!("{base}/ui/admin/users/{}", ops.id)).await;
    s.wait_for_text("#session-count", "2 active sessions").await;
    s.click("#end-sessions").await;
    s.wait_for_text("#confirm-title", "ops@example.com").await;
    s.click("#confirm").await;
    s.wait_for_text(".notice", "2 sessions ended").await;
    assert_eq!(
        api_status(&server, &ops_jwt, get.clone(), "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );
    assert!(ops_api.me().await.is_err(), "the other session ended too");
    // And from the Sessions page.
    let again = server
        .anonymous()
        .login("ops@example.com", "user-password-1")
        .await
        .expect("login")
        .token;
    s.goto(&format!(
        "{base}/ui/admin/sessions?search=ops%40example.com"
    ))
    .await;
    s.click("#session-table .end-all").await;
    s.click("#confirm").await;
    s.wait_for_path("/ui/admin/sessions").await;
    s.wait_for_text(".notice", "1 session ended").await;
    assert_eq!(
        api_status(&server, &again, get.clone(), "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );

    // Rotate a service account's token with a 2 s grace period: both work, then only the new one.
    let bot = server.create_service_account("bot@example.com").await;
    let old = admin
        .create_user_token(bot.id, "release", 30)
        .await
        .expect("token");
    s.goto(&format!("{base}/ui/admin/users/{}/tokens", bot.id))
        .await;
    let table = s.text("#token-table").await;
    assert!(
        table.contains("expires in 29 days") || table.contains("expires in 30 days"),
        "{table}"
    );
    s.click(&format!("tr[data-token-id='{}'] .rotate", old.id))
        .await;
    s.fill("#grace", "2").await;
    s.click("#grace-unit option[value='seconds']").await;
    s.screenshot("sa-rotate").await;
    s.click("#rotate").await;
    let new = s.created_token().await;
    assert_ne!(new, old.token);
    for token in [&old.token, &new] {
        assert_eq!(
            api_status(&server, token, get.clone(), "/api/v1/me").await,
            StatusCode::OK
        );
    }
    s.click("#done").await;
    s.wait_for_text(&format!("tr[data-token-id='{}']", old.id), "rotated")
        .await;
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(
        api_status(&server, &old.token, get.clone(), "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api_status(&server, &new, get, "/api/v1/me").await,
        StatusCode::OK
    );
    s.close().await;
}

/// The session id (`sid` claim) of a portal JWT issued by `server`.
fn session_of(server: &TestServer, jwt: &str) -> uuid::Uuid {
    let now = justiam_core::time::now_millis() / 1000;
    let claims = server
        .iam()
        .jwt
        .verify(jwt, now)
        .expect("a JWT of this server");
    uuid::Uuid::parse_str(&claims.sid).expect("sid is a UUID")
}

/// Ending one session through a confirmation page (its JWT gets 401, the user's other session keeps
/// working); the create-role form keeping what was typed after an error; assigning an admin role
/// from the user's page, and a delegate refused with the API's anti-escalation error there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_user_roles_and_role_form_in_the_browser() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(Backend::Sqlite).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let get = reqwest::Method::GET;
    let ops = server
        .create_user("ops@example.com", "user-password-1")
        .await;
    let mut jwts = Vec::new();
    for _ in 0..2 {
        let login = server
            .anonymous()
            .login("ops@example.com", "user-password-1")
            .await
            .expect("login");
        jwts.push(login.token);
    }
    let (ending, staying) = (&jwts[0], &jwts[1]);
    let (ending_id, staying_id) = (session_of(&server, ending), session_of(&server, staying));

    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // End one session: a confirmation page naming the user and when they signed in, then the
    // Sessions list with a notice; that JWT gets 401, the other one still works.
    s.goto(&format!(
        "{base}/ui/admin/sessions?search=ops%40example.com"
    ))
    .await;
    s.click(&format!("tr[data-session-id='{ending_id}'] .end-one"))
        .await;
    s.wait_for_text("#confirm-title", "End this session of ops@example.com")
        .await;
    let body = s.body().await;
    assert!(
        body.contains("ops@example.com signed in on ") && body.contains(" UTC"),
        "{body}"
    );
    s.screenshot("session-end-confirm").await;
    s.click("#confirm").await;
    s.wait_for_path("/ui/admin/sessions").await;
    s.wait_for_text(".notice", "1 session ended").await;
    assert_eq!(
        api_status(&server, ending, get.clone(), "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api_status(&server, staying, get.clone(), "/api/v1/me").await,
        StatusCode::OK
    );
    assert!(
        !s.exists(&format!("tr[data-session-id='{ending_id}']"))
            .await,
        "the ended session is no longer listed"
    );
    assert!(
        s.exists(&format!("tr[data-session-id='{staying_id}']"))
            .await
    );

    // The create-role form keeps the name, the description and the checked permissions after an
    // error.
    s.goto(&format!("{base}/ui/admin/roles")).await;
    s.fill("#role-name", "idp:mine").await;
    s.fill("#role-description", "Reads groups and users").await;
    for p in ["users.view", "groups.view"] {
        s.click(&format!("#new-role-permissions input[value='{p}']"))
            .await;
    }
    s.click("#create-role").await;
    s.wait_for_text("#name-error", "idp:").await;
    assert_eq!(s.value("#role-name").await, "idp:mine");
    assert_eq!(s.value("#role-description").await, "Reads groups and users");
    for (p, checked) in [
        ("users.view", true),
        ("groups.view", true),
        ("users.delete", false),
    ] {
        let selected = s
            .find(&format!("#new-role-permissions input[value='{p}']"))
            .await
            .is_selected()
            .await
            .expect("checked");
        assert_eq!(selected, checked, "{p}");
    }
    // Corrected, it is created with what was kept.
    s.fill("#role-name", "Readers").await;
    s.click("#create-role").await;
    s.wait_for_text(".notice", "Created").await;
    let readers = admin
        .list_roles(&Default::default())
        .await
        .expect("roles")
        .data
        .into_iter()
        .find(|r| r.name == "Readers")
        .expect("the role was created");
    assert_eq!(readers.description, "Reads groups and users");
    let mut granted = readers.permissions.clone();
    granted.sort();
    assert_eq!(granted, ["groups.view", "users.view"]);

    // Assign it from the user's page: the API lists it at once.
    s.goto(&format!("{base}/ui/admin/users/{}", ops.id)).await;
    s.click(&format!("#user-role option[value='{}']", readers.id))
        .await;
    s.click("#assign-user-role").await;
    s.wait_for_text(".notice", "The role was assigned").await;
    s.wait_for_text("#user-roles", "Readers").await;
    assert!(
        !s.exists(&format!("#user-role option[value='{}']", readers.id))
            .await,
        "a role held already is not offered again"
    );
    let held = admin.list_user_roles(ops.id).await.expect("user's roles");
    assert!(
        held.data
            .iter()
            .any(|a| a.role.id == readers.id && a.source == "direct"),
        "{held:?}"
    );
    s.screenshot("user-roles").await;
    s.close().await;

    // A delegate with admin_roles.manage but without users.delete: a role granting it is not
    // offered, and when a role gains it between showing the page and assigning, the service's
    // refusal is said on the page and nothing is assigned.
    let delegates = create_role(
        &admin,
        "Delegates",
        &["admin_roles.manage", "users.view", "groups.view"],
    )
    .await;
    let deleters = create_role(&admin, "Deleters", &["users.delete"]).await;
    let group_readers = create_role(&admin, "Group readers", &["groups.view"]).await;
    let delegate = server
        .create_user("delegate@example.com", "user-password-1")
        .await;
    admin
        .assign_user_role(delegate.id, delegates.id)
        .await
        .expect("assign role");
    let s = Session::start().await;
    s.login(&server, "delegate@example.com", "user-password-1")
        .await;
    s.goto(&format!("{base}/ui/admin/users/{}", ops.id)).await;
    s.find("#assign-user-role").await;
    assert!(
        !s.exists(&format!("#user-role option[value='{}']", deleters.id))
            .await,
        "a role granting what the delegate lacks is not offered"
    );
    s.wait_for_text("#ungrantable-roles", "permissions you do not hold")
        .await;
    s.click(&format!("#user-role option[value='{}']", group_readers.id))
        .await;
    admin
        .update_role(
            group_readers.id,
            &justiam_types::UpdateAdminRole {
                permissions: Some(vec!["groups.view".to_owned(), "users.delete".to_owned()]),
                ..Default::default()
            },
        )
        .await
        .expect("update role");
    s.click("#assign-user-role").await;
    s.wait_for_text(
        "#role-error",
        "You cannot grant the permission “users.delete” because you do not hold it yourself.",
    )
    .await;
    s.screenshot("user-role-refused").await;
    let held = admin.list_user_roles(ops.id).await.expect("user's roles");
    assert!(
        held.data.iter().all(|a| a.role.id != group_readers.id),
        "{held:?}"
    );
    // Removing a role the delegate could not grant is refused as well, and said on the same page.
    admin
        .assign_user_role(ops.id, deleters.id)
        .await
        .expect("assign role");
    s.goto(&format!("{base}/ui/admin/users/{}", ops.id)).await;
    s.click(&format!("li[data-role-id='{}'] .remove-role", deleters.id))
        .await;
    s.wait_for_text("#role-error", "users.delete").await;
    s.wait_for_text("#user-roles", "Deleters").await;
    let held = admin.list_user_roles(ops.id).await.expect("user's roles");
    assert!(
        held.data.iter().any(|a| a.role.id == deleters.id),
        "still assigned: {held:?}"
    );
    // A user without admin_roles.manage gets no form.
    admin
        .unassign_user_role(delegate.id, delegates.id)
        .await
        .expect("unassign");
    let viewer = create_role(&admin, "Viewers", &["users.view", "users.viewaccess"]).await;
    admin
        .assign_user_role(delegate.id, viewer.id)
        .await
        .expect("assign role");
    s.goto(&format!("{base}/ui/admin/users/{}", ops.id)).await;
    s.wait_for_text("#user-roles", "Readers").await;
    assert!(!s.exists("#assign-user-role").await, "no assign form");
    s.close().await;
}

/// CSRF: form posts without or with a wrong token are refused; security headers on UI pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_and_security_headers() {
    let server = TestServer::start(Backend::Sqlite).await;
    let base = server.url.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // Headers on every page, a token page included.
    let login = http
        .get(format!("{base}/ui/login"))
        .send()
        .await
        .expect("login page");
    assert_eq!(login.status(), StatusCode::OK);
    let h = login.headers();
    let csp = h["content-security-policy"].to_str().expect("csp");
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    let cookie = h["set-cookie"].to_str().expect("cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let html = login.text().await.expect("html");
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );

    // The login form itself needs its token.
    let refused = http
        .post(format!("{base}/ui/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email={ADMIN_EMAIL}&password={ADMIN_PASSWORD}"))
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // A session cookie from a portal login, then form posts without and with a wrong token.
    let session = admin_session_cookie(&server).await;
    let page = http
        .get(format!("{base}/ui/tokens/new"))
        .header("cookie", &session)
        .send()
        .await
        .expect("new token page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    let csrf = csrf_token(&html);
    for body in [
        "name=evil&expiry=30&scope=full".to_owned(),
        "name=evil&expiry=30&scope=full&csrf_token=AAAA".to_owned(),
    ] {
        let response = http
            .post(format!("{base}/ui/tokens"))
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(
            response
                .text()
                .await
                .expect("html")
                .contains("Request refused")
        );
    }
    // A JSON body is refused too (no form, no token).
    let response = http
        .post(format!("{base}/ui/tokens"))
        .header("cookie", &session)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let tokens = server
        .admin()
        .await
        .list_my_tokens(&Default::default())
        .await
        .expect("list");
    assert_eq!(tokens.total, 0, "no token was created");

    // With the right token it works, and the value page is not cached.
    let created = http
        .post(format!("{base}/ui/tokens"))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("name=good&expiry=7&scope=full&csrf_token={csrf}"))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let once = created.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    let value_cookie = once.split(';').next().expect("pair").to_owned();
    let shown = http
        .get(format!("{base}/ui/token-created?owner=me&name=good"))
        .header("cookie", format!("{session}; {value_cookie}"))
        .send()
        .await
        .expect("created page");
    assert_eq!(shown.headers()["cache-control"], "no-store");
    assert!(shown.text().await.expect("html").contains("justiam_pat_"));

    // A PAT is never a UI session.
    let pat = value_cookie.split_once('=').expect("pair").1;
    let as_cookie = http
        .get(format!("{base}/ui/profile"))
        .header("cookie", format!("justiam_session={pat}"))
        .send()
        .await
        .expect("profile");
    assert_eq!(as_cookie.status(), StatusCode::SEE_OTHER);

    // The API is unchanged: unknown API paths still answer JSON.
    let api = http
        .get(format!("{base}/api/v1/nope"))
        .send()
        .await
        .expect("api 404");
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(api.headers().get("content-security-policy").is_none());
}

/// The session-ending and role-assigning forms refuse a missing or wrong CSRF token (nothing
/// changes), and work with the right one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_and_user_role_forms_need_the_csrf_token() {
    let server = TestServer::start(Backend::Sqlite).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let ops = server
        .create_user("ops@example.com", "user-password-1")
        .await;
    let ops_jwt = server
        .anonymous()
        .login("ops@example.com", "user-password-1")
        .await
        .expect("login")
        .token;
    let ops_session = session_of(&server, &ops_jwt);
    let role = create_role(&admin, "Readers", &["users.view"]).await;
    let session = admin_session_cookie(&server).await;

    // The confirmation page names the user; its form carries the token.
    let confirm = http
        .get(format!("{base}/ui/admin/sessions/{ops_session}/revoke"))
        .header("cookie", &session)
        .send()
        .await
        .expect("confirm page");
    assert_eq!(confirm.status(), StatusCode::OK);
    let html = confirm.text().await.expect("html");
    assert!(
        html.contains("End this session of ops@example.com"),
        "{html}"
    );
    let csrf = csrf_token(&html);

    let post = |path: String, body: String| {
        http.post(format!("{base}{path}"))
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let revoke = format!("/ui/admin/sessions/{ops_session}/revoke");
    let assign = format!("/ui/admin/users/{}/roles", ops.id);
    for (path, fields) in [
        (&revoke, String::new()),
        (&assign, format!("role_id={}", role.id)),
    ] {
        for body in [fields.clone(), format!("{fields}&csrf_token=AAAA")] {
            let response = post(path.clone(), body).await.expect("post");
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
            assert!(
                response
                    .text()
                    .await
                    .expect("html")
                    .contains("Request refused")
            );
        }
    }
    assert_eq!(
        api_status(&server, &ops_jwt, reqwest::Method::GET, "/api/v1/me").await,
        StatusCode::OK,
        "the session was not ended"
    );
    let held = admin.list_user_roles(ops.id).await.expect("roles");
    assert_eq!(held.total, 0, "no role was assigned");

    // With the right token both work.
    let ended = post(revoke.clone(), format!("csrf_token={csrf}"))
        .await
        .expect("post");
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        ended.headers()["location"],
        "/ui/admin/sessions?done=ended&count=1"
    );
    assert_eq!(
        api_status(&server, &ops_jwt, reqwest::Method::GET, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );
    let assigned = post(assign, format!("role_id={}&csrf_token={csrf}", role.id))
        .await
        .expect("post");
    assert_eq!(assigned.status(), StatusCode::SEE_OTHER);
    let held = admin.list_user_roles(ops.id).await.expect("roles");
    assert!(held.data.iter().any(|a| a.role.id == role.id), "{held:?}");
}

/// The token inventory ("All tokens"): an administrator finds a colleague's token and revokes it
/// after a confirmation page; a holder of `service_accounts.tokens` neither sees it nor can revoke
/// it with a forged post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_colleagues_token_from_the_inventory() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(Backend::Sqlite).await;
    let base = server.url.clone();
    let (alice, alice_api) = server.user_client("alice@example.com").await;
    let leaked = alice_api
        .create_my_token("leaked laptop", 30)
        .await
        .expect("alice's token");
    let kept = alice_api
        .create_my_token("desktop", 30)
        .await
        .expect("alice's other token");
    let me_with = |token: &str| {
        let token = token.to_owned();
        let server = &server;
        async move { api_status(server, &token, reqwest::Method::GET, "/api/v1/me").await }
    };

    // A holder of service_accounts.tokens: no person's token in the list, and a forged
    // confirmation or post is a 404 page.
    let (carol, _) = server.user_client("carol@example.com").await;
    crate::common::grant(&server, carol.id, &["service_accounts.tokens"]).await;
    let carol_jwt = server
        .anonymous()
        .login("carol@example.com", "user-password-1")
        .await
        .expect("login")
        .token;
    let cookie = format!("justiam_session={carol_jwt}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    let page = http
        .get(format!("{base}/ui/admin/tokens"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("inventory page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("id=\"inventory-table\""), "{html}");
    assert!(
        !html.contains(&leaked.id.to_string()),
        "carol sees no person's token"
    );
    let csrf = csrf_token(&html);
    let confirm = http
        .get(format!("{base}/ui/admin/tokens/{}/revoke", leaked.id))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("confirmation page");
    assert_eq!(confirm.status(), StatusCode::NOT_FOUND);
    let forged = http
        .post(format!("{base}/ui/admin/tokens/{}/revoke", leaked.id))
        .header("cookie", &cookie)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .expect("forged post");
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);
    assert_eq!(me_with(&leaked.token).await, StatusCode::OK);

    // The administrator: All tokens → search → Revoke → the confirmation names the owner.
    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    s.goto(&format!("{base}/ui/profile")).await;
    s.click("#nav-inventory").await;
    s.wait_for_path("/ui/admin/tokens").await;
    s.fill("#search", "ALICE@").await;
    s.click("form.search button[type=submit]").await;
    s.wait_for_text("#inventory-table", "desktop").await;
    let body = s.body().await;
    assert!(body.contains("leaked laptop"), "{body}");
    assert!(body.contains("alice@example.com"), "{body}");
    s.screenshot("inventory").await;
    s.click(&format!("tr[data-token-id='{}'] .revoke", leaked.id))
        .await;
    s.wait_for_text("#confirm-title", "alice@example.com").await;
    s.wait_for_text("#confirm-title", "leaked laptop").await;
    s.click("#confirm").await;
    s.wait_for_text(".notice", "Revoked").await;
    assert_eq!(me_with(&leaked.token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me_with(&kept.token).await,
        StatusCode::OK,
        "her other token works"
    );
    // Listed as revoked, with no Revoke link any more.
    assert!(
        !s.exists(&format!("tr[data-token-id='{}'] .revoke", leaked.id))
            .await
    );
    let audit = server
        .admin()
        .await
        .list_audit(&Default::default(), &[("action", "token.revoked")])
        .await
        .expect("audit");
    let entry = audit
        .data
        .iter()
        .find(|e| e.target_id == Some(leaked.id))
        .expect("the revocation is audited");
    assert_eq!(entry.actor_email.as_deref(), Some(ADMIN_EMAIL));
    assert_eq!(
        entry.details.as_ref().map(|d| d["target_user_id"].clone()),
        Some(json!(alice.id))
    );
    s.close().await;
}

/// Red-team finding 3: a sign-in link whose `next` carries an encoded CR/LF (or any byte that
/// cannot stand in a `Location` header) made the successful sign-in answer 500. Now the login
/// page drops such a `next`, a forged form posting it anyway is not followed either, and the
/// sign-in lands on the profile.
async fn a_next_that_cannot_be_a_location_signs_in_to_the_profile(backend: Backend) {
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for next in [
        "/ui/x%0d%0aSet-Cookie:%20evil=1",
        "/ui/x%0ay",
        "/ui/x%20y",
        "/ui/x%09y",
        "/ui/x%7f",
        "/ui/caf%C3%A9",
    ] {
        // The link the attacker hands out, as the browser opens it.
        let page = http
            .get(format!("{base}/ui/login?next={next}"))
            .send()
            .await
            .expect("login page");
        assert_eq!(page.status(), StatusCode::OK, "{next}");
        let login_cookie = page.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .split(';')
            .next()
            .expect("pair")
            .to_owned();
        let html = page.text().await.expect("html");
        assert!(
            html.contains(r#"<input type="hidden" name="next" value="/ui/profile">"#),
            "{next}: the page keeps a next it could not redirect to"
        );
        let csrf = csrf_token(&html);

        // The sign-in, posted as the page's form would be and as a forged form with the raw
        // `next`: both succeed and go to the profile.
        for posted_next in ["/ui/profile", next] {
            let signed_in = http
                .post(format!("{base}/ui/login"))
                .header("cookie", &login_cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "email={ADMIN_EMAIL}&password={ADMIN_PASSWORD}&csrf_token={csrf}&next={posted_next}"
                ))
                .send()
                .await
                .expect("sign-in");
            assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "{posted_next}");
            assert_eq!(
                signed_in.headers()["location"],
                "/ui/profile",
                "{posted_next}"
            );
            assert!(
                signed_in.headers()["set-cookie"]
                    .to_str()
                    .expect("cookie")
                    .starts_with("justiam_session="),
                "{posted_next}: signed in"
            );
        }
    }

    // An acceptable `next` is still followed, query and all.
    let page = http
        .get(format!("{base}/ui/login?next=/ui/tokens%3Fpage%3D2"))
        .send()
        .await
        .expect("login page");
    let login_cookie = page.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let csrf = csrf_token(&page.text().await.expect("html"));
    let signed_in = http
        .post(format!("{base}/ui/login"))
        .header("cookie", &login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "email={ADMIN_EMAIL}&password={ADMIN_PASSWORD}&csrf_token={csrf}&next=/ui/tokens%3Fpage%3D2"
        ))
        .send()
        .await
        .expect("sign-in");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()["location"], "/ui/tokens?page=2");
}

crate::on_both_databases!(a_next_that_cannot_be_a_location_signs_in_to_the_profile);

/// The sign-in form sets its CSRF cookie again with the value the browser sent. A value the server
/// could not have made (a cookie set by hand or by a sibling domain) is refused instead of being
/// written back into a `Set-Cookie` header.
async fn a_login_cookie_the_server_did_not_make_is_not_sent_back(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let forged = "forged,Domain=example.com";
    let refused = http
        .post(format!("{}/ui/login", server.url))
        .header("cookie", format!("justiam_login_csrf={forged}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "email={ADMIN_EMAIL}&password=wrong-password&csrf_token={forged}"
        ))
        .send()
        .await
        .expect("sign-in");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let cookies: Vec<&str> = refused
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(cookies.iter().all(|c| !c.contains("forged")), "{cookies:?}");
    assert!(
        refused
            .text()
            .await
            .expect("html")
            .contains("Request refused")
    );
}

crate::on_both_databases!(a_login_cookie_the_server_did_not_make_is_not_sent_back);

/// An expired token stays listed until it is revoked (docs/tokens.md): its row offers Revoke (not
/// Rotate), the confirmation says it expired, and revoking it takes it off the list — for one's own
/// tokens and for a service account's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_can_be_revoked_in_the_browser() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(Backend::Sqlite).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let expired = admin.create_my_token("old CI", 30).await.expect("a token");
    let live = admin.create_my_token("new CI", 30).await.expect("a token");
    let bot = server
        .create_service_account("nightly-bot@example.com")
        .await;
    let bot_expired = admin
        .create_user_token(bot.id, "nightly", 30)
        .await
        .expect("a service account's token");
    for id in [expired.id, bot_expired.id] {
        sqlx::query("UPDATE personal_access_tokens SET expires_at = $1 WHERE id = $2")
            .bind(justiam_core::time::now_millis() - 60_000)
            .bind(id.to_string())
            .execute(server.pool())
            .await
            .expect("expire the token");
    }
    server.after_direct_sql();

    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for (page, id, name) in [
        (format!("{base}/ui/tokens"), expired.id, "old CI"),
        (
            format!("{base}/ui/admin/users/{}/tokens", bot.id),
            bot_expired.id,
            "nightly",
        ),
    ] {
        s.goto(&page).await;
        let row = format!("tr[data-token-id='{id}']");
        s.wait_for_text(&row, "expired").await;
        assert!(
            !s.exists(&format!("{row} .rotate")).await,
            "no Rotate on {page}"
        );
        s.click(&format!("{row} .revoke")).await;
        s.wait_for_text("#confirm-title", name).await;
        s.wait_for_text(".confirm p", "expired on").await;
        s.click("#confirm").await;
        s.wait_for_text(".notice", "evoked").await;
        assert!(!s.exists(&row).await, "the revoked token left {page}");
    }
    // The live token was not touched and still offers both actions.
    s.goto(&format!("{base}/ui/tokens")).await;
    let row = format!("tr[data-token-id='{}']", live.id);
    s.find(&format!("{row} .rotate")).await;
    s.find(&format!("{row} .revoke")).await;
    let listed = admin
        .list_my_tokens(&Default::default())
        .await
        .expect("list");
    assert_eq!(
        listed.data.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![live.id]
    );
    s.close().await;
}

/// The UI answers by the API's error table: too many failed sign-ins are `429` with `Retry-After`
/// on the sign-in page as on `POST /auth/login`, and a page whose data the database cannot serve is
/// `503`, as the same call on the API — not `400` and `500`.
async fn ui_errors_answer_as_the_api_does(backend: crate::common::Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.login_max_failures_per_account = 2;
    })
    .await;
    let base = server.url.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // Wrong passwords on the sign-in form until the account is locked.
    let (_, _) = server.user_client("locked@example.com").await;
    let mut last = None;
    for _ in 0..4 {
        let page = http
            .get(format!("{base}/ui/login"))
            .send()
            .await
            .expect("login page");
        let cookie = page.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .split(';')
            .next()
            .unwrap_or_default()
            .to_owned();
        let csrf = csrf_token(&page.text().await.expect("html"));
        let refused = http
            .post(format!("{base}/ui/login"))
            .header("cookie", cookie)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("next", "/ui/profile"),
                ("email", "locked@example.com"),
                ("password", "not-the-password"),
            ])
            .send()
            .await
            .expect("sign-in");
        last = Some(refused);
    }
    let locked = last.expect("a sign-in");
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = locked.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=3600).contains(&wait), "{wait}");
    let api = server
        .anonymous()
        .raw(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            Some(&json!({"email": "locked@example.com", "password": "not-the-password"})),
        )
        .await
        .expect("API login");
    assert_eq!(api.status.as_u16(), 429);
    assert!(api.header("retry-after").is_some());

    // The database goes away under a signed-in session.
    let jwt = server
        .anonymous()
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login")
        .token;
    let tokens_page = || {
        http.get(format!("{base}/ui/tokens"))
            .header("cookie", format!("justiam_session={jwt}"))
            .send()
    };
    assert_eq!(tokens_page().await.expect("page").status(), StatusCode::OK);
    server.iam().close().await;
    let page = tokens_page().await.expect("page");
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = page.text().await.expect("html");
    assert!(html.contains("Try again in a moment"), "{html}");
    let api = server
        .anonymous()
        .with_token(jwt.clone())
        .raw(reqwest::Method::GET, "/api/v1/me/tokens", None)
        .await
        .expect("API list");
    assert_eq!(api.status.as_u16(), 503, "{}", api.json);
    assert_eq!(api.code(), Some("unavailable"));
}

crate::on_both_databases!(ui_errors_answer_as_the_api_does);

/// The red-team scenario of issue 20 in the UI: a lesser administrator (`users.delete`,
/// `sessions.revoke`, `groups.delete`, … but nothing that grants roles) opening the confirmation
/// pages against a user who holds `idp:admin` through a group. Each page asks the service whether
/// the action is allowed, so it answers the very refusal page the action's post answers instead of
/// offering a button that then fails; against a user they outrank the pages are confirmations. A
/// built-in role's delete confirmation is refused the same way, for an administrator too.
async fn confirmation_pages_refuse_what_the_action_would_refuse(backend: Backend) {
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    let strong = server
        .create_user("strong@example.com", "user-password-1")
        .await;
    let strong_jwt = server
        .anonymous()
        .login("strong@example.com", "user-password-1")
        .await
        .expect("login")
        .token;
    let strong_session = session_of(&server, &strong_jwt);
    let roles = admin
        .list_roles(&justiam_client::ListParams {
            search: Some("idp:admin".to_owned()),
            ..Default::default()
        })
        .await
        .expect("roles");
    let idp_admin = roles
        .data
        .iter()
        .find(|r| r.name == "idp:admin")
        .expect("idp:admin")
        .id;
    let group = admin
        .create_group(&justiam_types::CreateGroup {
            name: "Administrators".to_owned(),
            description: None,
        })
        .await
        .expect("group");
    admin
        .assign_group_role(group.id, idp_admin)
        .await
        .expect("idp:admin to the group");
    admin
        .add_group_member(group.id, strong.id)
        .await
        .expect("strong joins");
    let (weak, _) = server.user_client("weak@example.com").await;
    let (lesser, _) = server.user_client("lesser@example.com").await;
    crate::common::grant(
        &server,
        lesser.id,
        &[
            "users.view",
            "users.update",
            "users.delete",
            "groups.view",
            "groups.members",
            "groups.delete",
            "sessions.view",
            "sessions.revoke",
        ],
    )
    .await;
    let lesser_jwt = server
        .anonymous()
        .login("lesser@example.com", "user-password-1")
        .await
        .expect("login")
        .token;
    let lesser_cookie = format!("justiam_session={lesser_jwt}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let get = |path: String, cookie: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let response = http
                .get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await
                .expect("get");
            let status = response.status();
            (status, response.text().await.expect("html"))
        }
    };
    let post = |path: String, cookie: String, csrf: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let response = http
                .post(format!("{base}{path}"))
                .header("cookie", cookie)
                .form(&[("csrf_token", csrf)])
                .send()
                .await
                .expect("post");
            let status = response.status();
            (status, response.text().await.expect("html"))
        }
    };
    let (status, users_page) = get("/ui/admin/users".to_owned(), lesser_cookie.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let lesser_csrf = csrf_token(&users_page);

    let refused = [
        (
            format!("/ui/admin/users/{}/delete", strong.id),
            "may act on this user only if you hold every permission they hold",
        ),
        (
            format!("/ui/admin/users/{}/sessions/end", strong.id),
            "may act on this user only if you hold every permission they hold",
        ),
        (
            format!("/ui/admin/sessions/{strong_session}/revoke"),
            "may act on this user only if you hold every permission they hold",
        ),
        (
            format!("/ui/admin/groups/{}/delete", group.id),
            "because you do not hold it yourself",
        ),
    ];
    for (path, reason) in &refused {
        let (status, page) = get(path.clone(), lesser_cookie.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {page}");
        assert!(page.contains("Not allowed"), "{path}: {page}");
        assert!(page.contains(reason), "{path}: {page}");
        assert!(
            !page.contains("id=\"confirm\""),
            "{path}: no button to confirm: {page}"
        );
        // The post is answered the same page, word for word.
        let (post_status, post_page) =
            post(path.clone(), lesser_cookie.clone(), lesser_csrf.clone()).await;
        assert_eq!(post_status, status, "{path}");
        assert_eq!(post_page, page, "{path}");
    }
    // Nothing happened: the strong user is there, signed in, in the group.
    assert_eq!(
        api_status(&server, &strong_jwt, reqwest::Method::GET, "/api/v1/me").await,
        StatusCode::OK
    );
    let members = admin
        .list_group_members(group.id, &Default::default())
        .await
        .expect("members");
    assert_eq!(members.total, 1);

    // Against a user they outrank, the same pages are confirmations.
    for path in [
        format!("/ui/admin/users/{}/delete", weak.id),
        format!("/ui/admin/users/{}/sessions/end", weak.id),
    ] {
        let (status, page) = get(path.clone(), lesser_cookie.clone()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        assert!(page.contains("weak@example.com"), "{path}: {page}");
        assert!(page.contains("id=\"confirm\""), "{path}: {page}");
        assert!(
            page.contains(&format!("action=\"{path}\"")),
            "{path}: {page}"
        );
    }

    // A built-in role: its delete confirmation is the refusal of the delete itself.
    let admin_cookie = admin_session_cookie(&server).await;
    let (_, roles_page) = get("/ui/admin/roles".to_owned(), admin_cookie.clone()).await;
    let admin_csrf = csrf_token(&roles_page);
    let path = format!("/ui/admin/roles/{idp_admin}/delete");
    let (status, page) = get(path.clone(), admin_cookie.clone()).await;
    assert!(status.is_client_error(), "{status}: {page}");
    assert!(
        page.contains("Built-in idp:* roles cannot be changed or deleted"),
        "{page}"
    );
    assert!(!page.contains("id=\"confirm\""), "{page}");
    let (post_status, post_page) = post(path, admin_cookie, admin_csrf).await;
    assert_eq!(post_status, status);
    assert_eq!(post_page, page);
    admin.get_role(idp_admin).await.expect("still there");
}

crate::on_both_databases!(confirmation_pages_refuse_what_the_action_would_refuse);
