//! Real, unmodified relying parties against the OpenID Connect provider: Python's Authlib (with
//! joserfc verifying the ID token against the JWKS), the npm `openid-client` (OpenID Certified),
//! and a Chromium clicking through two Authlib web apps (SSO, then RP-initiated logout).
//!
//! The programs live in `tests/rp/` (`authlib_flow.py`, `openid_client_flow.mjs`, `authlib_app.py`)
//! and the libraries are installed, pinned, by `./scripts/test` (`justiam_relying_parties_setup`
//! in `scripts/lib/tools.sh`) into `tests/rp/.venv` and `tests/rp/node_modules`. Without them the
//! tests skip loudly, or fail under `JUSTIAM_TEST_REQUIRE_ALL=1`.
//!
//! In the headless flows this test is the browser: the relying party prints its authorization
//! URL, the OpenID Connect tests' [`Browser`] (`common/oidc.rs`: cookies, redirects, the login form
//! with its CSRF field) follows it, and the URL the provider redirected to goes back to the relying
//! party, which does everything else with its library.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::common::{Backend, Browser, TestServer, free_port, raw};
use crate::ui::{Session, browser_available};

const USER_EMAIL: &str = "ada@example.com";
const USER_PASSWORD: &str = "ada-password-1";

/// What runs the relying-party programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runtime {
    /// `tests/rp/.venv`: Authlib, joserfc, requests.
    Python,
    /// Node.js ≥ 20 with `tests/rp/node_modules`: openid-client.
    Node,
}

/// The installed relying-party libraries.
pub(crate) struct Tools {
    dir: PathBuf,
    python: PathBuf,
}

impl Tools {
    /// The libraries `./scripts/test` installs, for the runtimes a test needs; `None` (after a
    /// loud SKIPPED) when missing, a panic under `JUSTIAM_TEST_REQUIRE_ALL=1`.
    pub(crate) fn find(needed: &[Runtime]) -> Option<Tools> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rp");
        let python = dir.join(".venv/bin/python");
        let runs = |program: &Path, args: &[&str]| {
            std::process::Command::new(program)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let mut missing = Vec::new();
        if needed.contains(&Runtime::Python)
            && !runs(&python, &["-c", "import authlib, joserfc, requests"])
        {
            missing.push("Authlib/joserfc/requests in tests/rp/.venv");
        }
        if needed.contains(&Runtime::Node) {
            let node_20 = "process.exit(Number(process.versions.node.split('.')[0]) >= 20 ? 0 : 1)";
            if !runs(Path::new("node"), &["-e", node_20]) {
                missing.push("Node.js >= 20");
            }
            if !dir.join("node_modules/openid-client/package.json").exists() {
                missing.push("openid-client in tests/rp/node_modules");
            }
        }
        if missing.is_empty() {
            return Some(Tools { dir, python });
        }
        if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
            panic!(
                "{missing:?} missing but JUSTIAM_TEST_REQUIRE_ALL=1: install them with \
                 `source scripts/lib/tools.sh && justiam_relying_parties_setup` (./scripts/test does)"
            );
        }
        eprintln!(
            "SKIPPED: relying-party test, {missing:?} missing (run `source scripts/lib/tools.sh && \
             justiam_relying_parties_setup`, or ./scripts/test)"
        );
        None
    }

    pub(crate) fn command(&self, program: &str) -> Command {
        let mut command = if program.ends_with(".py") {
            let mut c = Command::new(&self.python);
            c.env("PYTHONDONTWRITEBYTECODE", "1");
            c
        } else {
            Command::new("node")
        };
        command
            .arg(self.dir.join(program))
            .current_dir(&self.dir)
            .kill_on_drop(true);
        command
    }
}

/// The two headless relying parties.
#[derive(Debug, Clone, Copy)]
enum Library {
    /// Authlib's `OAuth2Session` (PKCE S256, `client_secret_basic`) + joserfc.
    Authlib,
    /// `openid-client` v6 (PKCE, nonce and state checks, signatures checked, `client_secret_post`).
    OpenidClient,
}

impl Library {
    fn runtime(self) -> Runtime {
        match self {
            Library::Authlib => Runtime::Python,
            Library::OpenidClient => Runtime::Node,
        }
    }

    fn program(self) -> &'static str {
        match self {
            Library::Authlib => "authlib_flow.py",
            Library::OpenidClient => "openid_client_flow.mjs",
        }
    }
}

/// An application registered through `POST /api/v1/applications`.
struct App {
    client_id: String,
    client_secret: Option<String>,
    redirect_uri: String,
}

/// Registers an application (`oidc` = confidential, `spa` = public) that may refresh.
async fn register(
    server: &TestServer,
    name: &str,
    app_type: &str,
    redirect_uri: &str,
    post_logout_redirect_uri: &str,
) -> App {
    let admin = server.admin().await;
    let created = raw(
        &admin,
        Method::POST,
        "/api/v1/applications",
        Some(json!({
            "name": name,
            "type": app_type,
            "redirect_uris": [redirect_uri],
            "post_logout_redirect_uris": [post_logout_redirect_uri],
            "allowed_scopes": ["openid", "profile", "email", "offline_access"],
            "grant_types": ["authorization_code", "refresh_token"],
        })),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let client_id = created.json["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();
    assert!(client_id.starts_with("justiam_app_"), "{client_id}");
    let client_secret = created.json["client_secret"].as_str().map(str::to_owned);
    assert_eq!(
        client_secret.is_some(),
        app_type == "oidc",
        "{}",
        created.json
    );
    App {
        client_id,
        client_secret,
        redirect_uri: redirect_uri.to_owned(),
    }
}

/// The provider's issuer, as its discovery document says.
async fn issuer(server: &TestServer) -> String {
    let answer = reqwest::get(format!("{}/.well-known/openid-configuration", server.url))
        .await
        .expect("discovery");
    assert_eq!(answer.status(), StatusCode::OK);
    let metadata: Value = answer.json().await.expect("discovery JSON");
    metadata["issuer"].as_str().expect("issuer").to_owned()
}

/// What one run of a headless relying party ended with.
struct Flow {
    status: ExitStatus,
    /// The relying party's result line (on success).
    result: Option<Value>,
    /// The relying party's refusal (on failure): `{refused, error, message}`.
    stderr: String,
    /// Whether the provider asked for the password (no SSO session yet).
    password_asked: bool,
}

impl Flow {
    fn result(&self) -> &Value {
        assert!(
            self.status.success(),
            "the relying party failed ({}): {}",
            self.status,
            self.stderr
        );
        self.result.as_ref().expect("result line")
    }

    /// The relying party's refusal, parsed.
    fn refusal(&self) -> Value {
        assert!(
            !self.status.success(),
            "the relying party should have refused, but printed {:?}",
            self.result
        );
        let line = self.stderr.lines().last().unwrap_or_default();
        serde_json::from_str(line)
            .unwrap_or_else(|_| panic!("refusal JSON on stderr: {}", self.stderr))
    }
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> Option<String> {
    tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the relying party answers within 60 s")
        .expect("read the relying party's stdout")
}

/// The user's part in `browser`: follows `authorization_url` through the login page (when it
/// shows) until the provider sends the browser back to `redirect_uri`. Returns that URL and whether
/// the password was asked.
async fn sign_in(
    browser: &mut Browser,
    authorization_url: &str,
    redirect_uri: &str,
) -> (String, bool) {
    let page = browser.get(authorization_url).await;
    let mut page = browser.follow(page).await;
    let password_asked = page.status == StatusCode::OK && page.body.contains("type=\"password\"");
    if password_asked {
        page = browser.sign_in(&page, USER_EMAIL, USER_PASSWORD).await;
    }
    let callback = page.location().unwrap_or_else(|| {
        panic!(
            "not sent back to the application: {} {}",
            page.status, page.body
        )
    });
    assert!(
        callback.starts_with(&format!("{redirect_uri}?")),
        "sent to {callback}, not to {redirect_uri}"
    );
    (callback, password_asked)
}

/// Runs `library` as `app`'s relying party, with `browser` as the user's.
async fn run_flow(
    tools: &Tools,
    library: Library,
    issuer: &str,
    app: &App,
    browser: &mut Browser,
) -> Flow {
    let mut command = tools.command(library.program());
    command
        .args(["--issuer", issuer])
        .args(["--client-id", &app.client_id])
        .args(["--redirect-uri", &app.redirect_uri])
        .args(["--scope", "openid profile email offline_access"])
        .env(
            "RP_CLIENT_SECRET",
            app.client_secret.as_deref().unwrap_or(""),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start the relying party");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stdin = child.stdin.take().expect("stdin");

    let mut password_asked = false;
    let mut result = None;
    if let Some(first) = next_line(&mut stdout).await {
        let start: Value = serde_json::from_str(&first).expect("authorization_url line");
        let url = start["authorization_url"]
            .as_str()
            .expect("authorization_url");
        let (callback, asked) = sign_in(browser, url, &app.redirect_uri).await;
        password_asked = asked;
        stdin
            .write_all(format!("{callback}\n").as_bytes())
            .await
            .expect("hand the callback to the relying party");
        stdin.flush().await.expect("flush");
        if let Some(line) = next_line(&mut stdout).await {
            result = Some(serde_json::from_str(&line).expect("result JSON"));
        }
    }
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the relying party exits")
        .expect("wait");
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr).await;
    }
    Flow {
        status,
        result,
        stderr,
        password_asked,
    }
}

/// `aud` holds `client_id` (a string, or an array containing it).
fn audience_is(claims: &Value, client_id: &str) -> bool {
    match &claims["aud"] {
        Value::String(aud) => aud == client_id,
        Value::Array(auds) => auds.iter().any(|a| a == client_id),
        _ => false,
    }
}

/// The full flow with each library: a confidential client signs the user in (password asked),
/// verifies the ID token, reads userinfo and refreshes; a public (`spa`) client then signs in
/// through the SSO session (no password); a wrong client secret makes the library refuse.
async fn full_flow(backend: Backend, library: Library) {
    let Some(tools) = Tools::find(&[library.runtime()]) else {
        return;
    };
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let user = admin
        .create_user(&justiam_types::CreateUser {
            email: USER_EMAIL.to_owned(),
            first_name: Some("Ada".to_owned()),
            last_name: Some("Lovelace".to_owned()),
            password: Some(USER_PASSWORD.to_owned()),
            ..Default::default()
        })
        .await
        .expect("create user");
    let issuer = issuer(&server).await;
    let name = format!("{library:?}").to_lowercase();
    // Nothing listens at these redirect URIs: the browser stops where the provider sends it.
    let confidential = register(
        &server,
        &format!("{name}-confidential"),
        "oidc",
        "http://127.0.0.1:9/confidential/callback",
        "http://127.0.0.1:9/confidential/signed-out",
    )
    .await;
    let public = register(
        &server,
        &format!("{name}-public"),
        "spa",
        "http://127.0.0.1:9/public/callback",
        "http://127.0.0.1:9/public/signed-out",
    )
    .await;
    let mut browser = Browser::new(&server);

    // A confidential client: password asked, everything verified by the library.
    let flow = run_flow(&tools, library, &issuer, &confidential, &mut browser).await;
    let result = flow.result();
    assert!(flow.password_asked, "a first sign-in asks for the password");
    let id_token = &result["id_token"];
    let claims = &id_token["claims"];
    let subject = user.id.to_string();
    assert_eq!(claims["sub"], subject.as_str(), "{result}");
    assert_eq!(claims["iss"], issuer.as_str());
    assert!(audience_is(claims, &confidential.client_id), "{claims}");
    assert_eq!(claims["nonce"], result["nonce_sent"], "the nonce is echoed");
    assert_eq!(
        id_token["at_hash_verified"], true,
        "at_hash present and right: {claims}"
    );
    assert_eq!(claims["email"], USER_EMAIL);
    assert!(claims["email_verified"].is_boolean(), "{claims}");
    assert_eq!(claims["given_name"], "Ada");
    assert_eq!(claims["family_name"], "Lovelace");
    for claim in ["exp", "iat", "auth_time"] {
        assert!(claims[claim].is_i64(), "{claim} in {claims}");
    }
    if let Library::Authlib = library {
        assert_eq!(id_token["header"]["alg"], "RS256", "{id_token}");
        assert!(id_token["header"]["kid"].is_string(), "{id_token}");
    }
    assert!(
        result["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer")),
        "{result}"
    );
    let userinfo = &result["userinfo"];
    assert_eq!(userinfo["sub"], subject.as_str(), "{userinfo}");
    assert_eq!(userinfo["email"], USER_EMAIL);
    assert_eq!(userinfo["given_name"], "Ada");
    let refreshed = &result["refreshed"];
    assert_eq!(refreshed["access_token_changed"], true, "{refreshed}");
    assert_eq!(refreshed["refresh_token_rotated"], true, "{refreshed}");
    assert_eq!(
        refreshed["userinfo"]["sub"],
        subject.as_str(),
        "{refreshed}"
    );
    if refreshed["id_token"].is_object() {
        assert_eq!(refreshed["id_token"]["claims"]["sub"], subject.as_str());
    }

    // A public client (PKCE, no secret) in the same browser: signed in by the SSO session.
    let flow = run_flow(&tools, library, &issuer, &public, &mut browser).await;
    let result = flow.result();
    assert!(!flow.password_asked, "the SSO session signs the user in");
    assert_eq!(result["id_token"]["claims"]["sub"], subject.as_str());
    assert!(audience_is(
        &result["id_token"]["claims"],
        &public.client_id
    ));
    assert!(claims["sid"].is_string(), "{claims}");
    assert_eq!(
        result["id_token"]["claims"]["sid"], claims["sid"],
        "one SSO session"
    );
    assert_eq!(result["refreshed"]["refresh_token_rotated"], true);

    // A wrong client secret: the provider refuses the code exchange and the library says so.
    let wrong = App {
        client_secret: Some(format!("justiam_cs_{}", "0".repeat(38))),
        ..confidential
    };
    let flow = run_flow(&tools, library, &issuer, &wrong, &mut browser).await;
    let refusal = flow.refusal();
    assert!(flow.result.is_none());
    assert!(
        refusal.to_string().contains("invalid_client"),
        "the library reports invalid_client: {refusal}"
    );
}

async fn authlib_full_flow(backend: Backend) {
    full_flow(backend, Library::Authlib).await;
}

async fn openid_client_full_flow(backend: Backend) {
    full_flow(backend, Library::OpenidClient).await;
}

crate::on_both_databases!(authlib_full_flow, openid_client_full_flow);

/// A user without first and last name, as Authlib sees them: claims the provider has no value for
/// are left out, not sent empty.
///
/// FAILS with the provider as of `oidc` 625ccf6: with scope `profile` it sends
/// `"given_name": ""` and `"family_name": ""` (ID token and userinfo alike) for a user whose names
/// are unset. OpenID Connect Core 1.0 §5.3.2: "If a Claim is not returned, that Claim Name SHOULD
/// be omitted from the JSON object representing the Claims; it SHOULD NOT be present with a null
/// or empty string value." (`crates/justiam-core/src/service/oauth/claims.rs` inserts them
/// unconditionally.) Relying parties then show or store an empty name instead of falling back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_without_a_value_are_left_out() {
    let Some(tools) = Tools::find(&[Runtime::Python]) else {
        return;
    };
    let server = TestServer::start(Backend::Sqlite).await;
    server.create_user(USER_EMAIL, USER_PASSWORD).await;
    let issuer = issuer(&server).await;
    let app = register(
        &server,
        "nameless",
        "oidc",
        "http://127.0.0.1:9/callback",
        "http://127.0.0.1:9/signed-out",
    )
    .await;
    let mut browser = Browser::new(&server);
    let flow = run_flow(&tools, Library::Authlib, &issuer, &app, &mut browser).await;
    let result = flow.result();
    for (what, claims) in [
        ("ID token", &result["id_token"]["claims"]),
        ("userinfo", &result["userinfo"]),
    ] {
        let empty: Vec<&String> = claims
            .as_object()
            .expect("claims object")
            .iter()
            .filter(|(_, v)| v.is_null() || v.as_str() == Some(""))
            .map(|(k, _)| k)
            .collect();
        assert!(empty.is_empty(), "{what} sends {empty:?} empty: {claims}");
        assert_eq!(claims["email"], USER_EMAIL, "{what}");
    }
}

/// One of the Authlib web apps (`tests/rp/authlib_app.py`) the browser test clicks through.
struct WebApp {
    base: String,
    app: App,
    _process: Child,
}

impl WebApp {
    async fn start(tools: &Tools, server: &TestServer, issuer: &str, name: &str) -> WebApp {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let app = register(
            server,
            name,
            "oidc",
            &format!("{base}/callback"),
            &format!("{base}/signed-out"),
        )
        .await;
        let mut process = tools
            .command("authlib_app.py")
            .args(["--issuer", issuer])
            .args(["--client-id", &app.client_id])
            .args(["--port", &port.to_string()])
            .args(["--name", name])
            .env(
                "RP_CLIENT_SECRET",
                app.client_secret.as_deref().unwrap_or(""),
            )
            .stdout(Stdio::piped())
            // The app's refusals (a library error) show in the test's output.
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the web app");
        let mut stdout = BufReader::new(process.stdout.take().expect("stdout")).lines();
        let ready = next_line(&mut stdout).await;
        assert!(
            ready
                .as_deref()
                .is_some_and(|l| l.starts_with("listening on")),
            "{name} did not start: {ready:?}"
        );
        WebApp {
            base,
            app,
            _process: process,
        }
    }
}

/// The story an end user lives: an app's "Log in" → JustIAM's login page → back at the app with a
/// verified ID token → a second app signs in without the password (SSO) → logout at the first app
/// (RP-initiated, through the provider) → the first app's "Log in" asks for the password again.
async fn two_apps_one_sign_in_then_logout_in_the_browser(backend: Backend) {
    let Some(tools) = Tools::find(&[Runtime::Python]) else {
        return;
    };
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let user = server.create_user(USER_EMAIL, USER_PASSWORD).await;
    let subject = user.id.to_string();
    let issuer = issuer(&server).await;
    let alpha = WebApp::start(&tools, &server, &issuer, "alpha").await;
    let beta = WebApp::start(&tools, &server, &issuer, "beta").await;
    let provider_host = Url::parse(&issuer).expect("issuer URL");
    let s = Session::start().await;

    // Alpha's "Log in" leads to JustIAM's login page.
    s.goto(&format!("{}/", alpha.base)).await;
    s.wait_for_text("#status", "Signed out").await;
    s.click("#login").await;
    s.find("#password").await;
    let at = s.b().current_url().await.expect("url");
    assert_eq!(at.host_str(), provider_host.host_str(), "{at}");
    assert_eq!(at.path(), "/ui/login", "{at}");
    s.screenshot("oidc-login").await;
    s.fill("#email", USER_EMAIL).await;
    s.fill("#password", USER_PASSWORD).await;
    s.click("#sign-in").await;

    // Back at alpha, signed in with a verified ID token about this user.
    s.wait_for_text("#status", "Signed in").await;
    assert!(s.current_url_starts_with(&alpha.base).await);
    assert!(s.text("#verified").await.contains("RS256"));
    assert_eq!(s.text("#claim-sub").await, subject);
    assert_eq!(s.text("#claim-email").await, USER_EMAIL);
    assert_eq!(s.text("#claim-aud").await, alpha.app.client_id);
    let sso_session = s.text("#claim-sid").await;
    s.screenshot("oidc-app-signed-in").await;

    // Beta signs in through the SSO session: no password (the login page would stop here).
    s.goto(&format!("{}/", beta.base)).await;
    s.wait_for_text("#status", "Signed out").await;
    s.click("#login").await;
    s.wait_for_text("#status", "Signed in").await;
    assert!(s.current_url_starts_with(&beta.base).await);
    assert_eq!(s.text("#claim-sub").await, subject);
    assert_eq!(s.text("#claim-aud").await, beta.app.client_id);
    assert_eq!(s.text("#claim-sid").await, sso_session, "one SSO session");

    // Logout at alpha goes through the provider's end_session_endpoint and back.
    s.goto(&format!("{}/", alpha.base)).await;
    s.click("#logout").await;
    s.wait_for_text("#status", "Signed out at the provider")
        .await;
    assert!(s.current_url_starts_with(&alpha.base).await);

    // The SSO session is over: alpha's "Log in" asks for the password again.
    s.click("#login").await;
    s.find("#password").await;
    assert_eq!(s.path().await, "/ui/login");
    s.close().await;
}

crate::on_both_databases!(two_apps_one_sign_in_then_logout_in_the_browser);

impl Session {
    async fn current_url_starts_with(&self, prefix: &str) -> bool {
        self.b()
            .current_url()
            .await
            .is_ok_and(|u| u.as_str().starts_with(prefix))
    }
}
