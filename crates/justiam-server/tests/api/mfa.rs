//! Multi-factor authentication, as a user, an attacker and an administrator meet it: enrollment
//! read by an unmodified `pyotp`, the two-step login and its step window, codes used once,
//! recovery codes, the lockout of the second step, step-up before minting tokens and secrets,
//! the enrollment-only token, the administrator reset, and the secret at rest.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use justiam_client::{Client, RawResponse};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

const PASSWORD: &str = "user-password-1";

/// `tests/rp/.venv`'s Python with `pyotp` (installed with the relying parties' libraries by
/// `scripts/lib/tools.sh`); `None` after a loud SKIPPED, a panic under `JUSTIAM_TEST_REQUIRE_ALL=1`.
pub fn pyotp() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rp/.venv/bin/python");
    let found = std::process::Command::new(&python)
        .args(["-c", "import pyotp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(python);
    }
    if std::env::var("JUSTIAM_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!(
            "pyotp missing in tests/rp/.venv but JUSTIAM_TEST_REQUIRE_ALL=1: install it with \
             `source scripts/lib/tools.sh && justiam_relying_parties_setup` (./scripts/test does)"
        );
    }
    eprintln!(
        "SKIPPED: MFA test, pyotp missing (source scripts/lib/tools.sh && justiam_relying_parties_setup)"
    );
    None
}

/// pyotp, reading the `otpauth://` URI as an authenticator app would: its secret, issuer and
/// account, and its codes at the given offsets in seconds from now.
pub struct Authenticator {
    python: PathBuf,
    uri: String,
}

impl Authenticator {
    pub fn new(python: &Path, uri: &str) -> Self {
        Self {
            python: python.to_owned(),
            uri: uri.to_owned(),
        }
    }

    fn run(&self, script: &str, args: &[String]) -> Value {
        let output = std::process::Command::new(&self.python)
            .arg("-c")
            .arg(script)
            .arg(&self.uri)
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .expect("run pyotp");
        assert!(
            output.status.success(),
            "pyotp refused: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("pyotp prints JSON")
    }

    /// What pyotp read from the URI.
    pub fn parsed(&self) -> Value {
        self.run(
            "import json, sys, pyotp\n\
             t = pyotp.parse_uri(sys.argv[1])\n\
             print(json.dumps({'secret': t.secret, 'issuer': t.issuer, 'name': t.name, \
             'digits': t.digits, 'interval': t.interval, 'digest': t.digest().name}))",
            &[],
        )
    }

    /// The codes at `now + offset` for each offset (seconds).
    pub fn codes(&self, offsets: &[i64]) -> Vec<String> {
        let value = self.run(
            "import json, sys, time, pyotp\n\
             t = pyotp.parse_uri(sys.argv[1])\n\
             now = int(time.time())\n\
             print(json.dumps([t.at(now + int(o)) for o in sys.argv[2:]]))",
            &offsets.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
        );
        serde_json::from_value(value).expect("codes")
    }

    pub fn now(&self) -> String {
        self.codes(&[0]).remove(0)
    }
}

/// Waits, when needed, until the current 30-second step has at least 8 seconds left, so a code
/// computed now is judged in the same step by the server.
pub async fn away_from_a_step_boundary() {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let into_step = secs % 30.0;
    if into_step > 22.0 {
        tokio::time::sleep(std::time::Duration::from_secs_f64(30.0 - into_step + 0.5)).await;
    }
}

/// Enrolls `client`'s user with pyotp reading the URI; returns the authenticator and the
/// recovery codes. Confirms with the code of the step *before* the current one (accepted).
pub async fn enroll(client: &Client, python: &Path) -> (Authenticator, Vec<String>) {
    let enrolled = raw(client, Method::POST, "/api/v1/mfa/totp/enroll", None).await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.json);
    let uri = enrolled.json["qr_code_uri"].as_str().expect("uri");
    let app = Authenticator::new(python, uri);
    assert_eq!(app.parsed()["secret"], enrolled.json["secret"]);
    away_from_a_step_boundary().await;
    let previous = app.codes(&[-30]).remove(0);
    let confirmed = raw(
        client,
        Method::POST,
        "/api/v1/mfa/totp/confirm",
        Some(json!({ "code": previous })),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.json);
    let codes = confirmed.json["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    (app, codes)
}

async fn start_login(server: &TestServer, email: &str) -> RawResponse {
    raw(
        &server.anonymous(),
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({ "email": email, "password": PASSWORD })),
    )
    .await
}

async fn mfa_token(server: &TestServer, email: &str) -> String {
    let first = start_login(server, email).await;
    assert_eq!(first.status, 200, "{}", first.json);
    assert_eq!(first.json["mfa_required"], true, "{}", first.json);
    assert!(
        first.json.get("token").is_none(),
        "no JWT before the second step: {}",
        first.json
    );
    first.json["mfa_token"]
        .as_str()
        .expect("mfa_token")
        .to_owned()
}

async fn verify(server: &TestServer, token: &str, code: &str) -> RawResponse {
    raw(
        &server.anonymous(),
        Method::POST,
        "/api/v1/auth/mfa/verify",
        Some(json!({ "mfa_token": token, "code": code })),
    )
    .await
}

/// Signs in with password and code; returns a client with the portal JWT.
pub async fn sign_in(server: &TestServer, email: &str, code: &str) -> Client {
    let token = mfa_token(server, email).await;
    let done = verify(server, &token, code).await;
    assert_eq!(done.status, 200, "{}", done.json);
    server
        .anonymous()
        .with_token(done.json["token"].as_str().expect("jwt").to_owned())
}

async fn pyotp_enrolls_and_signs_in_within_one_step_either_side(backend: Backend) {
    let Some(python) = pyotp() else { return };
    let server = TestServer::start(backend).await;
    let (user, client) = server.user_client("otp@example.com").await;
    let (app, recovery) = enroll(&client, &python).await;
    let parsed = app.parsed();
    assert_eq!(parsed["issuer"], "JustIAM");
    assert_eq!(parsed["name"], "otp@example.com");
    assert_eq!(
        (parsed["digits"].as_i64(), parsed["interval"].as_i64()),
        (Some(6), Some(30))
    );
    assert_eq!(parsed["digest"], "sha1");
    assert_eq!(recovery.len(), 10);
    let status = raw(&client, Method::GET, "/api/v1/me/mfa", None).await;
    assert_eq!(status.json["totp"], true, "{}", status.json);
    assert_eq!(status.json["recovery_codes_left"], 10);
    assert!(
        !status
            .json
            .to_string()
            .contains(parsed["secret"].as_str().expect("s"))
    );

    away_from_a_step_boundary().await;
    let [now, next, two_ahead, two_behind]: [String; 4] =
        app.codes(&[0, 30, 60, -60]).try_into().expect("four codes");
    // A wrong code, then two steps away on either side: refused, and no JWT.
    let token = mfa_token(&server, &user.email).await;
    let wrong = format!(
        "{:06}",
        (now.parse::<u32>().expect("digits") + 1) % 1_000_000
    );
    for code in [wrong.as_str(), two_ahead.as_str(), two_behind.as_str()] {
        let refused = verify(&server, &token, code).await;
        assert_error(&refused, 401, "invalid_mfa_code", "code");
        assert!(refused.header("www-authenticate").is_none());
    }
    // The current step: accepted; the session works.
    let done = verify(&server, &token, &now).await;
    assert_eq!(done.status, 200, "{}", done.json);
    assert_eq!(done.json["user"]["email"], user.email.as_str());
    let signed_in = server
        .anonymous()
        .with_token(done.json["token"].as_str().expect("jwt").to_owned());
    assert_eq!(signed_in.me().await.expect("me").user.id, user.id);
    // The mfa_token worked once.
    assert_error(
        &verify(&server, &token, &next).await,
        401,
        "invalid_mfa_token",
        "mfa_token",
    );
    // The same code again, within its window: refused (the step is kept in the database).
    let again = mfa_token(&server, &user.email).await;
    assert_error(
        &verify(&server, &again, &now).await,
        401,
        "invalid_mfa_code",
        "code",
    );
    // The step after: accepted.
    assert_eq!(verify(&server, &again, &next).await.status, 200);
    // A made-up mfa_token.
    assert_error(
        &verify(
            &server,
            "justiam_mfa_0000000000000000000000000000000000000A",
            &next,
        )
        .await,
        401,
        "invalid_mfa_token",
        "mfa_token",
    );
}

async fn a_recovery_code_signs_in_once(backend: Backend) {
    let Some(python) = pyotp() else { return };
    let server = TestServer::start(backend).await;
    let (user, client) = server.user_client("lost-phone@example.com").await;
    let (_app, recovery) = enroll(&client, &python).await;
    let token = mfa_token(&server, &user.email).await;
    // As typed from paper: upper case, spaces instead of dashes.
    let typed = recovery[3].to_uppercase().replace('-', " ");
    assert_eq!(verify(&server, &token, &typed).await.status, 200);
    let token = mfa_token(&server, &user.email).await;
    assert_error(
        &verify(&server, &token, &recovery[3]).await,
        401,
        "invalid_mfa_code",
        "code",
    );
    assert_eq!(verify(&server, &token, &recovery[4]).await.status, 200);
    let status = raw(&client, Method::GET, "/api/v1/me/mfa", None).await;
    assert_eq!(status.json["recovery_codes_left"], 8);
    // Stored as digests only.
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT code_digest FROM mfa_recovery_codes")
        .fetch_all(server.pool())
        .await
        .expect("digests");
    assert_eq!(stored.len(), 10);
    for code in &recovery {
        for digest in &stored {
            assert!(
                !digest
                    .windows(8)
                    .any(|w| code.as_bytes().windows(8).any(|c| c == w))
            );
        }
    }
}

async fn wrong_codes_lock_the_second_step_from_any_address(backend: Backend) {
    let Some(python) = pyotp() else { return };
    let server = TestServer::start(backend).await;
    let (user, client) = server.user_client("guessed@example.com").await;
    let (app, _) = enroll(&client, &python).await;
    let token = mfa_token(&server, &user.email).await;
    for guess in ["000000", "111111", "222222", "333333", "444444"] {
        assert_error(
            &verify(&server, &token, guess).await,
            401,
            "invalid_mfa_code",
            "code",
        );
    }
    // Locked: even the right code, even with a fresh mfa_token of a new password login.
    away_from_a_step_boundary().await;
    let fresh = mfa_token(&server, &user.email).await;
    let locked = verify(&server, &fresh, &app.codes(&[30]).remove(0)).await;
    assert_error(&locked, 429, "too_many_requests", "retry");
    let retry: u64 = locked
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("secs");
    assert!((1..=3600).contains(&retry), "{retry}");
    // The step-up counts on the same key.
    let reauth = raw(
        &client,
        Method::POST,
        "/api/v1/auth/mfa/reauth",
        Some(json!({"code": "000000"})),
    )
    .await;
    assert_eq!(reauth.status, 429, "{}", reauth.json);
    // Audited and counted.
    let failed = count_rows(&server, "audit_log", "action", "mfa.failed").await;
    assert_eq!(failed, 5);
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("credential=\"mfa\"") && l.contains("outcome=\"refused\"")),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("credential=\"mfa\"") && l.contains("outcome=\"throttled\""))
    );
}

/// Ages the second-factor check of every session of `user_id` by `minutes`.
async fn age_mfa_check(server: &TestServer, user_id: uuid::Uuid, minutes: i64) {
    sqlx::query("UPDATE sessions SET mfa_at = mfa_at - $1 WHERE user_id = $2")
        .bind(minutes * 60_000)
        .bind(user_id.to_string())
        .execute(server.pool())
        .await
        .expect("age");
    server.after_direct_sql();
}

async fn minting_tokens_and_secrets_needs_a_recent_second_factor(backend: Backend) {
    let Some(python) = pyotp() else { return };
    let server = TestServer::start(backend).await;
    let (user, client) = server.user_client("stepup@example.com").await;
    // A token made before enrolling keeps working after.
    let before = client.create_my_token("before", 30).await.expect("pat");
    let (app, _) = enroll(&client, &python).await;
    let pat_client = server.anonymous().with_token(before.token.clone());
    assert_eq!(
        pat_client.me().await.expect("PAT still works").user.id,
        user.id
    );

    // Confirming checked the factor in this session: minting is allowed now.
    let fresh = raw(
        &client,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({"name": "fresh", "expires_in_days": 30})),
    )
    .await;
    assert_eq!(fresh.status, 201, "{}", fresh.json);
    // Sixteen minutes later (MFA_REAUTH_MINUTES = 15): refused, for creation and rotation.
    age_mfa_check(&server, user.id, 16).await;
    let refused = raw(
        &client,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({"name": "late", "expires_in_days": 30})),
    )
    .await;
    assert_error(
        &refused,
        403,
        "mfa_reauth_required",
        "/api/v1/auth/mfa/reauth",
    );
    let token_id = fresh.json["id"].as_str().expect("id");
    let rotate = raw(
        &client,
        Method::POST,
        &format!("/api/v1/me/tokens/{token_id}/rotate"),
        Some(json!({})),
    )
    .await;
    assert_error(&rotate, 403, "mfa_reauth_required", "reauth");
    // A wrong code does not refresh it; a right one does.
    away_from_a_step_boundary().await;
    let wrong = raw(
        &client,
        Method::POST,
        "/api/v1/auth/mfa/reauth",
        Some(json!({"code": "999999x"})),
    )
    .await;
    assert_validation(&wrong, "code");
    let ok = raw(
        &client,
        Method::POST,
        "/api/v1/auth/mfa/reauth",
        Some(json!({"code": app.codes(&[30]).remove(0)})),
    )
    .await;
    assert_eq!(ok.status, 204, "{}", ok.json);
    let late = raw(
        &client,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({"name": "late", "expires_in_days": 30})),
    )
    .await;
    assert_eq!(late.status, 201, "{}", late.json);
    // Using a PAT never needs the second factor; but a PAT cannot prove one, so it cannot mint.
    assert_eq!(pat_client.me().await.expect("me").user.id, user.id);

    // An administrator with MFA: an application secret and a service account's token need it
    // too; a PAT of that administrator cannot mint them.
    let sa = server.create_service_account("robot@example.com").await;
    let admin = server.admin().await;
    let admin_pat = admin
        .create_my_token("automation", 30)
        .await
        .expect("admin pat");
    let (admin_app, _) = enroll(&admin, &python).await;
    let by_pat = server.anonymous().with_token(admin_pat.token);
    let sa_token = raw(
        &by_pat,
        Method::POST,
        &format!("/api/v1/users/{}/tokens", sa.id),
        Some(json!({"name": "ci", "expires_in_days": 30})),
    )
    .await;
    assert_error(&sa_token, 403, "mfa_reauth_required", "token");
    let app_body = json!({"name": "wiki", "redirect_uris": ["https://wiki.example.com/cb"]});
    let by_pat_app = raw(
        &by_pat,
        Method::POST,
        "/api/v1/applications",
        Some(app_body.clone()),
    )
    .await;
    assert_error(&by_pat_app, 403, "mfa_reauth_required", "token");
    let admin_id = admin.me().await.expect("me").user.id;
    age_mfa_check(&server, admin_id, 16).await;
    let stale = raw(
        &admin,
        Method::POST,
        "/api/v1/applications",
        Some(app_body.clone()),
    )
    .await;
    assert_error(&stale, 403, "mfa_reauth_required", "reauth");
    // An application without a secret is no credential: no step-up.
    let spa = raw(
        &admin,
        Method::POST,
        "/api/v1/applications",
        Some(
            json!({"name": "spa", "type": "spa", "redirect_uris": ["https://spa.example.com/cb"]}),
        ),
    )
    .await;
    assert_eq!(spa.status, 201, "{}", spa.json);
    away_from_a_step_boundary().await;
    let ok = raw(
        &admin,
        Method::POST,
        "/api/v1/auth/mfa/reauth",
        Some(json!({"code": admin_app.now()})),
    )
    .await;
    assert_eq!(ok.status, 204, "{}", ok.json);
    let created = raw(&admin, Method::POST, "/api/v1/applications", Some(app_body)).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let sa_token = raw(
        &admin,
        Method::POST,
        &format!("/api/v1/users/{}/tokens", sa.id),
        Some(json!({"name": "ci", "expires_in_days": 30})),
    )
    .await;
    assert_eq!(sa_token.status, 201, "{}", sa_token.json);
    let app_id = created.json["id"].as_str().expect("id");
    age_mfa_check(&server, admin_id, 16).await;
    let rotate = raw(
        &admin,
        Method::POST,
        &format!("/api/v1/applications/{app_id}/secret"),
        Some(json!({})),
    )
    .await;
    assert_error(&rotate, 403, "mfa_reauth_required", "reauth");

    // A service account's OAuth client and federated credential (issue 16) are credentials too:
    // refused to the stale session and to the PAT, made after a fresh check.
    let client_path = format!("/api/v1/users/{}/clients", sa.id);
    let federated_path = format!("/api/v1/users/{}/federated-credentials", sa.id);
    let client_body = json!({"name": "deployer"});
    let federated_body = json!({
        "name": "github",
        "issuer": "https://token.actions.githubusercontent.com",
        "audience": "justiam",
        "subject": "repo:acme/app:ref:refs/heads/main",
    });
    for caller in [&admin, &by_pat] {
        for (path, body) in [
            (&client_path, &client_body),
            (&federated_path, &federated_body),
        ] {
            let refused = raw(caller, Method::POST, path, Some(body.clone())).await;
            assert_error(&refused, 403, "mfa_reauth_required", "");
        }
    }
    // The current step's code may be spent already (the check above): the next step's is
    // accepted too (±1 step) and not yet used.
    away_from_a_step_boundary().await;
    let next = admin_app.codes(&[30]).remove(0);
    let ok = raw(
        &admin,
        Method::POST,
        "/api/v1/auth/mfa/reauth",
        Some(json!({ "code": next })),
    )
    .await;
    assert_eq!(ok.status, 204, "{}", ok.json);
    for (path, body) in [
        (&client_path, client_body),
        (&federated_path, federated_body),
    ] {
        let created = raw(&admin, Method::POST, path, Some(body)).await;
        assert_eq!(created.status, 201, "{path}: {}", created.json);
    }
}

async fn the_enrollment_only_token_reaches_nothing_but_enrollment(backend: Backend) {
    let Some(python) = pyotp() else { return };
    let setup = TestServer::start(backend).await;
    let user = setup.create_user("newcomer@example.com", PASSWORD).await;
    let server = setup
        .another_node(|args| args.mfa_enforce_enrollment = true)
        .await;
    let first = start_login(&server, &user.email).await;
    assert_error(&first, 403, "mfa_enrollment_required", "enroll");
    assert!(first.json.get("token").is_none());
    let token = first.json["details"]["enrollment_token"]
        .as_str()
        .expect("enrollment token")
        .to_owned();
    let attacker = server.anonymous().with_token(token.clone());
    // The attack: the token where a session is expected.
    for (method, path, body) in [
        (Method::GET, "/api/v1/me", None),
        (Method::GET, "/api/v1/users", None),
        (
            Method::POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "x", "expires_in_days": 30})),
        ),
        (Method::GET, "/api/v1/me/mfa", None),
        (Method::POST, "/api/v1/me/mfa/recovery-codes", None),
        (
            Method::DELETE,
            "/api/v1/me/mfa/totp",
            Some(json!({"code": "123456"})),
        ),
        (
            Method::POST,
            "/api/v1/auth/mfa/reauth",
            Some(json!({"code": "123456"})),
        ),
        (
            Method::PUT,
            "/api/v1/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "another-password-2"})),
        ),
        (Method::POST, "/api/v1/auth/logout", None),
        (Method::GET, "/api/v1/sessions", None),
    ] {
        let refused = raw(&attacker, method.clone(), path, body).await;
        assert_invalid_token(&refused);
    }
    // Nor is it an mfa_token.
    assert_error(
        &verify(&server, &token, "123456").await,
        401,
        "invalid_mfa_token",
        "mfa_token",
    );
    // What it is for: enrolling. Then the login asks for the code.
    let (app, _) = enroll(&attacker, &python).await;
    away_from_a_step_boundary().await;
    let token = mfa_token(&server, &user.email).await;
    let done = verify(&server, &token, &app.now()).await;
    assert_eq!(done.status, 200, "{}", done.json);
    let jwt = done.json["token"].as_str().expect("jwt").to_owned();
    // With enrollment enforced (optional policy) the user may still remove it; under
    // MFA_POLICY=required not.
    let required = server
        .another_node(|args| args.mfa_policy = justiam_server::config::MfaPolicyArg::Required)
        .await;
    drop(jwt);
    let on_required = sign_in(&required, &user.email, &app.codes(&[30]).remove(0)).await;
    let remove = raw(
        &on_required,
        Method::DELETE,
        "/api/v1/me/mfa/totp",
        Some(json!({"code": "000000"})),
    )
    .await;
    assert_error(&remove, 409, "mfa_required_by_policy", "required");
    // A made-up enrollment token enrolls nothing.
    let forged = server
        .anonymous()
        .with_token("justiam_mfe_0000000000000000000000000000000000000A".to_owned());
    assert_invalid_token(&raw(&forged, Method::POST, "/api/v1/mfa/totp/enroll", None).await);
}

async fn removing_and_resetting_the_second_factor(backend: Backend) {
    let Some(python) = pyotp() else { return };
    let server = TestServer::start(backend).await;
    let (user, client) = server.user_client("reset@example.com").await;
    let (app, recovery) = enroll(&client, &python).await;
    // Enrolled already: a second enrollment is refused, the secret is not shown again.
    let again = raw(&client, Method::POST, "/api/v1/mfa/totp/enroll", None).await;
    assert_error(&again, 409, "mfa_already_enrolled", "remove");
    // Removal needs a right code.
    let wrong = raw(
        &client,
        Method::DELETE,
        "/api/v1/me/mfa/totp",
        Some(json!({"code": "000000"})),
    )
    .await;
    assert_validation(&wrong, "code");
    let removed = raw(
        &client,
        Method::DELETE,
        "/api/v1/me/mfa/totp",
        Some(json!({"code": recovery[0]})),
    )
    .await;
    assert_eq!(removed.status, 204, "{}", removed.json);
    assert_eq!(
        count_rows(&server, "audit_log", "action", "mfa.unenrolled").await,
        1
    );
    assert!(start_login(&server, &user.email).await.json["token"].is_string());
    drop(app);

    // Enrolled again; the administrator resets it.
    let client = server.login(&user.email, PASSWORD).await;
    let (_app, _) = enroll(&client, &python).await;
    let (_, helpdesk) = server.user_client("helpdesk@example.com").await;
    let refused = raw(
        &helpdesk,
        Method::DELETE,
        &format!("/api/v1/users/{}/mfa", user.id),
        None,
    )
    .await;
    assert_forbidden_for(&refused, "users.update");
    let admin = server.admin().await;
    let missing = raw(
        &admin,
        Method::DELETE,
        &format!("/api/v1/users/{}/mfa", uuid::Uuid::now_v7()),
        None,
    )
    .await;
    assert_error(&missing, 404, "not_found", "user");
    let status = raw(
        &admin,
        Method::GET,
        &format!("/api/v1/users/{}/mfa", user.id),
        None,
    )
    .await;
    assert_eq!(status.json["totp"], true, "{}", status.json);
    let reset = raw(
        &admin,
        Method::DELETE,
        &format!("/api/v1/users/{}/mfa", user.id),
        None,
    )
    .await;
    assert_eq!(reset.status, 204, "{}", reset.json);
    assert_eq!(
        count_rows(&server, "audit_log", "action", "mfa.reset").await,
        1
    );
    assert_eq!(
        count_rows(&server, "audit_log", "action", "mfa.enrolled").await,
        2
    );
    // Idempotent: a user without a second factor is already what a reset asks for. Nothing was
    // removed, so nothing more is audited.
    let again = raw(
        &admin,
        Method::DELETE,
        &format!("/api/v1/users/{}/mfa", user.id),
        None,
    )
    .await;
    assert_eq!(again.status, 204, "{}", again.json);
    assert_eq!(
        count_rows(&server, "audit_log", "action", "mfa.reset").await,
        1
    );
    let status = raw(
        &admin,
        Method::GET,
        &format!("/api/v1/users/{}/mfa", user.id),
        None,
    )
    .await;
    assert_eq!(status.json["totp"], false, "{}", status.json);
    // Back to the password alone.
    assert!(start_login(&server, &user.email).await.json["token"].is_string());
}

async fn the_totp_secret_is_sealed_at_rest_and_a_key_rotation_keeps_it(backend: Backend) {
    let Some(python) = pyotp() else { return };
    let server = TestServer::start(backend).await;
    let (user, client) = server.user_client("sealed@example.com").await;
    let (app, _) = enroll(&client, &python).await;
    let secret_b32 = app.parsed()["secret"].as_str().expect("secret").to_owned();
    let raw_secret = data_encoding_base32(&secret_b32);
    let (sealed, key_id): (Vec<u8>, String) = sqlx::query_as("SELECT secret, key_id FROM mfa_totp")
        .fetch_one(server.pool())
        .await
        .expect("row");
    assert!(
        !sealed
            .windows(raw_secret.len())
            .any(|w| w == raw_secret.as_slice())
    );
    assert!(!sealed.windows(8).any(|w| secret_b32.as_bytes()[..8] == *w));
    assert_eq!(sealed.len(), 12 + 20 + 16, "nonce, ciphertext, tag");

    // Rotation: a node with a new key and the old one as previous re-seals at start, and the
    // user signs in; then the old key can go.
    let new_key = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleSE=";
    let rotated = server
        .another_node(|args| {
            args.mfa_encryption_key = Some(new_key.to_owned());
            args.mfa_encryption_key_previous = Some(TEST_MFA_KEY.to_owned());
        })
        .await;
    let (_, new_key_id): (Vec<u8>, String) = sqlx::query_as("SELECT secret, key_id FROM mfa_totp")
        .fetch_one(server.pool())
        .await
        .expect("row");
    assert_ne!(new_key_id, key_id);
    let only_new = server
        .another_node(|args| args.mfa_encryption_key = Some(new_key.to_owned()))
        .await;
    away_from_a_step_boundary().await;
    let signed_in = sign_in(&only_new, &user.email, &app.now()).await;
    assert_eq!(signed_in.me().await.expect("me").user.id, user.id);
    drop(rotated);
    // A node without the key cannot open it: the second step fails closed (500), it is never skipped.
    let wrong_key = server
        .another_node(|args| args.mfa_encryption_key = Some(TEST_MFA_KEY.to_owned()))
        .await;
    let token = mfa_token(&wrong_key, &user.email).await;
    let refused = verify(&wrong_key, &token, &app.codes(&[30]).remove(0)).await;
    assert_eq!(refused.status, 500, "{}", refused.json);
}

fn data_encoding_base32(text: &str) -> Vec<u8> {
    // RFC 4648 base32 without padding, decoded here so the test does not trust the server's codec.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base32") as u64;
        bits = (bits << 5) | v;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// On SQLite without MFA_ENCRYPTION_KEY the key is generated into the data directory, `0600`,
/// and used again at the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_a_generated_key_in_the_data_directory() {
    let server =
        TestServer::start_with(Backend::Sqlite, |args| args.mfa_encryption_key = None).await;
    let file = Path::new(server.database_url.trim_start_matches("sqlite://"))
        .parent()
        .expect("dir")
        .join("mfa_encryption_key");
    assert_eq!(mode(&file) & 0o777, 0o600);
    let first = std::fs::read_to_string(&file).expect("key");
    let again = server
        .another_node(|args| args.mfa_encryption_key = None)
        .await;
    assert_eq!(std::fs::read_to_string(&file).expect("key"), first);
    drop(again);
}

/// `MFA_POLICY=disabled`: nothing is asked (an enrolled user signs in with the password, mints
/// without a step-up), nothing can be enrolled; back on `optional`, the enrollment counts again.
async fn a_disabled_policy_asks_and_offers_nothing(backend: Backend) {
    let Some(python) = pyotp() else { return };
    let server = TestServer::start(backend).await;
    let (user, client) = server.user_client("off@example.com").await;
    let (app, _) = enroll(&client, &python).await;
    let disabled = server
        .another_node(|args| args.mfa_policy = justiam_server::config::MfaPolicyArg::Disabled)
        .await;
    let first = start_login(&disabled, &user.email).await;
    assert_eq!(first.status, 200, "{}", first.json);
    let jwt = first.json["token"]
        .as_str()
        .expect("a JWT at once")
        .to_owned();
    let signed_in = disabled.anonymous().with_token(jwt);
    let minted = raw(
        &signed_in,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({"name": "x", "expires_in_days": 1})),
    )
    .await;
    assert_eq!(minted.status, 201, "{}", minted.json);
    let status = raw(&signed_in, Method::GET, "/api/v1/me/mfa", None).await;
    assert_eq!(status.json["policy"], "disabled");
    let (_, other) = disabled.user_client("other@example.com").await;
    let refused = raw(&other, Method::POST, "/api/v1/mfa/totp/enroll", None).await;
    assert_error(&refused, 409, "mfa_disabled", "MFA_POLICY");
    // The first node (optional) still asks the enrolled user.
    away_from_a_step_boundary().await;
    let token = mfa_token(&server, &user.email).await;
    assert_eq!(verify(&server, &token, &app.now()).await.status, 200);
}

/// Resetting one's own second factor with `users.update` needs a recent check, as minting does.
async fn resetting_ones_own_second_factor_needs_a_recent_check(backend: Backend) {
    let Some(python) = pyotp() else { return };
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let (admin_app, _) = enroll(&admin, &python).await;
    let admin_id = admin.me().await.expect("me").user.id;
    age_mfa_check(&server, admin_id, 16).await;
    let path = format!("/api/v1/users/{admin_id}/mfa");
    assert_error(
        &raw(&admin, Method::DELETE, &path, None).await,
        403,
        "mfa_reauth_required",
        "reauth",
    );
    away_from_a_step_boundary().await;
    let ok = raw(
        &admin,
        Method::POST,
        "/api/v1/auth/mfa/reauth",
        Some(json!({"code": admin_app.now()})),
    )
    .await;
    assert_eq!(ok.status, 204, "{}", ok.json);
    assert_eq!(raw(&admin, Method::DELETE, &path, None).await.status, 204);
}

on_both_databases!(
    a_disabled_policy_asks_and_offers_nothing,
    resetting_ones_own_second_factor_needs_a_recent_check,
    pyotp_enrolls_and_signs_in_within_one_step_either_side,
    a_recovery_code_signs_in_once,
    wrong_codes_lock_the_second_step_from_any_address,
    minting_tokens_and_secrets_needs_a_recent_second_factor,
    the_enrollment_only_token_reaches_nothing_but_enrollment,
    removing_and_resetting_the_second_factor,
    the_totp_secret_is_sealed_at_rest_and_a_key_rotation_keeps_it,
);

/// Runs the real binary at `LOG_LEVEL=debug` through enrollment, a two-step login with a code and
/// with a recovery code, and a step-up: neither stdout nor stderr shows the TOTP secret, the
/// otpauth URI, a recovery code, an mfa_token or the JWT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_never_contain_mfa_secrets() {
    let Some(python) = pyotp() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let password = "log-test-password-1";
    let server = LoggedServer::start(&[
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("j.db").display()),
        ),
        ("PORT", "0".to_owned()),
        ("BIND_ADDR", "127.0.0.1".to_owned()),
        ("LOG_LEVEL", "debug".to_owned()),
        ("JUSTIAM_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL.to_owned()),
        ("JUSTIAM_BOOTSTRAP_ADMIN_PASSWORD", password.to_owned()),
    ]);
    let anonymous = Client::new(&server.url);
    let login = anonymous.login(ADMIN_EMAIL, password).await.expect("login");
    let admin = anonymous.with_token(login.token.clone());
    let enrolled = raw(&admin, Method::POST, "/api/v1/mfa/totp/enroll", None).await;
    let secret = enrolled.json["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{} {}", enrolled.status, enrolled.json))
        .to_owned();
    let uri = enrolled.json["qr_code_uri"]
        .as_str()
        .expect("uri")
        .to_owned();
    let app = Authenticator::new(&python, &uri);
    away_from_a_step_boundary().await;
    let confirmed = raw(
        &admin,
        Method::POST,
        "/api/v1/mfa/totp/confirm",
        Some(json!({"code": app.codes(&[-30]).remove(0)})),
    )
    .await;
    let recovery: Vec<String> =
        serde_json::from_value(confirmed.json["recovery_codes"].clone()).expect("codes");
    let first = anonymous
        .start_login(ADMIN_EMAIL, password)
        .await
        .expect("login");
    let justiam_types::mfa::LoginResult::MfaRequired(challenge) = first else {
        panic!("second step expected")
    };
    let second = anonymous
        .verify_mfa(&challenge.mfa_token, &app.now())
        .await
        .expect("verify");
    let third = anonymous
        .start_login(ADMIN_EMAIL, password)
        .await
        .expect("login");
    let justiam_types::mfa::LoginResult::MfaRequired(again) = third else {
        panic!("second step expected")
    };
    let _ = anonymous.verify_mfa(&again.mfa_token, "000000").await;
    anonymous
        .verify_mfa(&again.mfa_token, &recovery[0])
        .await
        .expect("recovery code");
    let (stdout, stderr) = server.stop();
    let logs = format!("{stdout}\n{stderr}");
    assert!(
        logs.contains("DEBUG") || logs.contains("debug"),
        "debug level is on"
    );
    for (what, value) in [
        ("TOTP secret", secret.as_str()),
        ("otpauth URI", uri.as_str()),
        ("mfa_token", challenge.mfa_token.as_str()),
        ("second mfa_token", again.mfa_token.as_str()),
        ("recovery code", recovery[0].as_str()),
        ("recovery code (other)", recovery[9].as_str()),
        ("JWT", second.token.as_str()),
        ("first JWT", login.token.as_str()),
    ] {
        assert!(!logs.contains(value), "the {what} is in the logs");
    }
    assert!(!logs.contains(&challenge.mfa_token["justiam_mfa_".len()..][..16]));
}
