//! Issue 17 in Chromium: set up an authenticator app by reading the secret the page shows, sign
//! out, sign in with the code, create a token (the step-up asked in place once the check is older
//! than MFA_REAUTH_MINUTES), the recovery codes, and signing in to an application through
//! `/oauth2/authorize` with the second step. pyotp plays the phone.

use super::{Session, browser_available};
use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer};
use crate::mfa::{Authenticator, away_from_a_step_boundary, pyotp};

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "ada-password-1";

async fn two_factor_sign_in_step_up_and_an_application_in_the_browser(backend: Backend) {
    let Some(python) = pyotp() else { return };
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    server.create_user(EMAIL, PASSWORD).await;
    // An application whose redirect URI is a page of the server itself, so the browser lands on
    // something that answers.
    let admin = server.admin().await;
    let redirect = format!("{base}/healthz");
    let app = crate::common::raw(
        &admin,
        reqwest::Method::POST,
        "/api/v1/applications",
        Some(serde_json::json!({ "name": "wiki", "redirect_uris": [redirect] })),
    )
    .await;
    assert_eq!(app.status, 201, "{}", app.json);
    let client_id = app.json["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();

    let s = Session::start().await;
    s.login(&server, EMAIL, PASSWORD).await;

    // Profile → Two-factor authentication → Set up Authenticator App: a QR code and the secret.
    s.goto(&format!("{base}/ui/profile")).await;
    s.click("#mfa-link").await;
    s.click("#setup-totp").await;
    s.find("#totp-setup figure.qr svg").await;
    let shown = s.text("#totp-secret").await.replace(' ', "");
    assert_eq!(shown.len(), 32, "{shown}");
    s.screenshot("mfa-setup").await;
    let phone = Authenticator::new(
        &python,
        &format!("otpauth://totp/JustIAM:{EMAIL}?secret={shown}&issuer=JustIAM"),
    );
    away_from_a_step_boundary().await;
    s.fill("#setup-code", &phone.codes(&[-30]).remove(0)).await;
    s.click("#confirm-totp").await;
    s.wait_for_text("#recovery-codes", "Save these codes now")
        .await;
    let mut recovery = Vec::new();
    for code in s
        .b()
        .find_all(fantoccini::Locator::Css(".recovery-code"))
        .await
        .expect("codes")
    {
        recovery.push(code.text().await.expect("text"));
    }
    assert_eq!(recovery.len(), 10);
    let download = s
        .find("#download-recovery-codes")
        .await
        .attr("href")
        .await
        .expect("href")
        .expect("a data: link");
    assert!(download.starts_with("data:text/plain"), "{download}");
    assert!(
        download.contains(&recovery[0]),
        "the download holds the codes"
    );
    assert_eq!(
        s.find("#download-recovery-codes")
            .await
            .attr("download")
            .await
            .expect("attr")
            .as_deref(),
        Some("justiam-recovery-codes.txt")
    );
    s.screenshot("mfa-recovery-codes").await;
    s.wait_for_text("#mfa-state", "Set up on").await;

    // Sign out; signing in now asks for the code after the password.
    s.click("#logout").await;
    s.find("#email").await;
    s.fill("#email", EMAIL).await;
    s.fill("#password", PASSWORD).await;
    s.click("#sign-in").await;
    s.find("#code").await;
    assert!(
        s.b()
            .source()
            .await
            .expect("source")
            .contains("name=\"mfa_token\"")
    );
    s.fill("#code", "000000").await;
    s.click("#verify-code").await;
    s.wait_for_text("#mfa-error", "not right").await;
    away_from_a_step_boundary().await;
    s.fill("#code", &phone.now()).await;
    s.click("#verify-code").await;
    s.find("#logout").await;

    // A token: allowed at first (the sign-in checked the factor) …
    s.goto(&format!("{base}/ui/tokens/new")).await;
    s.fill("#token-name", "first").await;
    s.click("#create-token").await;
    s.find("#token-value").await;
    // … but once the check is older than MFA_REAUTH_MINUTES, the form asks for the code and goes on.
    sqlx::query("UPDATE sessions SET mfa_at = mfa_at - 16 * 60000")
        .execute(server.pool())
        .await
        .expect("age the check");
    server.after_direct_sql();
    s.goto(&format!("{base}/ui/tokens/new")).await;
    s.fill("#token-name", "second").await;
    s.click("#create-token").await;
    s.wait_for_text("#mfa-code-error", "Confirm it is you")
        .await;
    s.screenshot("mfa-step-up").await;
    away_from_a_step_boundary().await;
    s.fill("#step-up-code", &phone.codes(&[30]).remove(0)).await;
    s.click("#create-token").await;
    let token = s.created_token().await;
    assert!(token.starts_with("justiam_pat_"), "{token}");
    // "Confirm it is you" on the MFA page (a check ahead of time) refuses a wrong code in the
    // page's words.
    s.goto(&format!("{base}/ui/profile/mfa")).await;
    s.fill("#reauth-code", "000000").await;
    s.click("#reauth").await;
    s.wait_for_text("#mfa-error", "not right").await;

    // Sign out, then sign in to the application: the login page asks for both steps (a recovery
    // code here: the authenticator's next codes were used above) and the application gets its code.
    s.click("#logout").await;
    s.find("#email").await;
    let authorize = format!(
        "{base}/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=st4te&nonce=n0nce",
        url_encode(&redirect)
    );
    s.goto(&authorize).await;
    s.fill("#email", EMAIL).await;
    s.fill("#password", PASSWORD).await;
    s.click("#sign-in").await;
    s.find("#code").await;
    s.fill("#code", &recovery[0]).await;
    s.click("#verify-code").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let landed = loop {
        let url = s.b().current_url().await.expect("url");
        if url.path() == "/healthz" {
            break url;
        }
        assert!(std::time::Instant::now() < deadline, "still at {url}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let query: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
    assert_eq!(
        query.get("state").map(String::as_str),
        Some("st4te"),
        "{landed}"
    );
    let code = query.get("code").expect("an authorization code");
    // The application learns how the user signed in: `amr` (RFC 8176) in the ID token.
    let secret = app.json["client_secret"].as_str().expect("client secret");
    let tokens: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("client_id", client_id.as_str()),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token JSON");
    let id_token = tokens["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{tokens}"));
    let payload = id_token.split('.').nth(1).expect("payload");
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url"),
    )
    .expect("claims");
    assert_eq!(
        claims["amr"],
        serde_json::json!(["pwd", "otp", "mfa"]),
        "{claims}"
    );
    // The SSO session records the second factor: a second authorization needs no sign-in.
    s.goto(&authorize.replace("st4te", "again")).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let url = s.b().current_url().await.expect("url");
        if url.path() == "/healthz" && url.as_str().contains("state=again") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "asked again: {url}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    s.close().await;
}

/// `MFA_ENFORCE_ENROLLMENT`: a user without a second factor sets one up on the login page itself
/// (QR code, key, confirm, recovery codes), then signs in with password and code.
async fn an_enforced_enrollment_on_the_login_page(backend: Backend) {
    let Some(python) = pyotp() else { return };
    if !browser_available() {
        return;
    }
    let setup = TestServer::start(backend).await;
    setup.create_user(EMAIL, PASSWORD).await;
    let server = setup
        .another_node(|args| args.mfa_enforce_enrollment = true)
        .await;
    let base = server.url.clone();
    let s = Session::start().await;
    s.goto(&format!("{base}/ui/login")).await;
    s.fill("#email", EMAIL).await;
    s.fill("#password", PASSWORD).await;
    s.click("#sign-in").await;
    s.find("#totp-setup figure.qr svg").await;
    let shown = s.text("#totp-secret").await.replace(' ', "");
    let phone = Authenticator::new(&python, &format!("otpauth://totp/x?secret={shown}"));
    s.fill("#code", "000000").await;
    s.click("#confirm-totp").await;
    s.wait_for_text("#mfa-error", "not right").await;
    away_from_a_step_boundary().await;
    s.fill("#code", &phone.codes(&[-30]).remove(0)).await;
    s.click("#confirm-totp").await;
    s.wait_for_text("#recovery-codes", "Save these codes now")
        .await;
    s.click("#continue-sign-in").await;
    s.fill("#email", EMAIL).await;
    s.fill("#password", PASSWORD).await;
    s.click("#sign-in").await;
    s.fill("#code", &phone.now()).await;
    s.click("#verify-code").await;
    s.find("#logout").await;
    s.close().await;
}

/// Makes the session's last check of the second factor older than `MFA_REAUTH_MINUTES` (15 in
/// the tests), as time would.
async fn age_the_check(server: &TestServer) {
    sqlx::query("UPDATE sessions SET mfa_at = mfa_at - 16 * 60000")
        .execute(server.pool())
        .await
        .expect("age the check");
    server.after_direct_sql();
}

async fn own_tokens(client: &justiam_client::Client) -> Vec<justiam_types::PatRecord> {
    client
        .list_my_tokens(&justiam_client::ListParams {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .expect("list own tokens")
        .data
}

/// The code field asked in place: its message, and the focus on it.
async fn asks_in_place(s: &Session, message: &str) {
    s.wait_for_text("#mfa-code-error", message).await;
    let field = s.find("#step-up-code").await;
    for (attr, value) in [
        ("autocomplete", "one-time-code"),
        ("inputmode", "numeric"),
        ("name", "mfa_code"),
    ] {
        assert_eq!(
            field.attr(attr).await.expect("attr").as_deref(),
            Some(value),
            "{attr}"
        );
    }
    let focused = s.b().active_element().await.expect("focus");
    assert_eq!(
        focused.attr("id").await.expect("id").as_deref(),
        Some("step-up-code"),
        "the focus is on the code field"
    );
}

/// Rotating a token, making a new application secret, regenerating an expired token and creating
/// an `oidc` application with a stale check: the forms ask for the code in place, keep what was
/// chosen, refuse a wrong code beside the field (nothing rotated), go on with a right one (the new
/// value shown once), and say when there were too many wrong codes.
async fn rotations_ask_for_the_code_in_place(backend: Backend) {
    let Some(python) = pyotp() else { return };
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let admin = server.admin().await;
    // A token and a confidential application, made before the second factor is set up.
    let token = admin.create_my_token("deploy", 30).await.expect("token");
    let expired = admin.create_my_token("nightly", 30).await.expect("token");
    super::tokens::expire(&server, expired.id).await;
    let app = crate::common::raw(
        &admin,
        reqwest::Method::POST,
        "/api/v1/applications",
        Some(
            serde_json::json!({ "name": "wiki", "redirect_uris": ["https://wiki.example.com/cb"] }),
        ),
    )
    .await;
    assert_eq!(app.status, 201, "{}", app.json);
    let app_id = app.json["id"].as_str().expect("id").to_owned();
    let client_id = app.json["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();
    let first_secret = app.json["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let (phone, recovery) = crate::mfa::enroll(&admin, &python).await;
    // Sign in with password and code, then let the check grow old.
    let s = Session::start().await;
    s.goto(&format!("{base}/ui/login")).await;
    s.fill("#email", ADMIN_EMAIL).await;
    s.fill("#password", ADMIN_PASSWORD).await;
    s.click("#sign-in").await;
    s.find("#code").await;
    away_from_a_step_boundary().await;
    s.fill("#code", &phone.now()).await;
    s.click("#verify-code").await;
    s.find("#logout").await;
    age_the_check(&server).await;

    // Rotate the token: the form asks for the code and keeps the grace period typed.
    s.goto(&format!("{base}/ui/tokens/{}/rotate", token.id))
        .await;
    s.fill("#grace", "5").await;
    s.click("#rotate").await;
    asks_in_place(&s, "Confirm it is you").await;
    assert_eq!(s.value("#grace").await, "5", "the grace period is kept");
    s.screenshot("mfa-step-up-rotate").await;
    // A wrong code: said beside the field, and nothing rotated.
    s.fill("#step-up-code", "000000").await;
    s.click("#rotate").await;
    asks_in_place(&s, "That code is not right").await;
    assert_eq!(s.value("#grace").await, "5");
    let tokens = own_tokens(&admin).await;
    assert_eq!(tokens.len(), 2, "nothing rotated: {tokens:?}");
    assert!(tokens.iter().all(|t| t.replaced_by.is_none()), "{tokens:?}");
    // A right code: the rotation goes on and the new value is shown once.
    away_from_a_step_boundary().await;
    s.fill("#step-up-code", &phone.codes(&[30]).remove(0)).await;
    s.click("#rotate").await;
    let rotated = s.created_token().await;
    assert!(rotated.starts_with("justiam_pat_"), "{rotated}");
    let tokens = own_tokens(&admin).await;
    assert_eq!(tokens.len(), 3, "{tokens:?}");
    let old = tokens
        .iter()
        .find(|t| t.id == token.id)
        .expect("the old token");
    assert!(
        old.replaced_by.is_some(),
        "the old one is replaced: {old:?}"
    );

    // A new application secret, with a stale check again: the same field, the grace kept.
    age_the_check(&server).await;
    s.goto(&format!("{base}/ui/admin/applications/{app_id}"))
        .await;
    let hint = s.text("#secret-hint").await;
    s.find("#grace")
        .await
        .select_by_value("3600")
        .await
        .expect("choose a grace period");
    s.click("#rotate-secret").await;
    asks_in_place(&s, "Confirm it is you").await;
    assert_eq!(s.value("#grace").await, "3600", "the grace period is kept");
    s.fill("#step-up-code", "000000").await;
    s.click("#rotate-secret").await;
    asks_in_place(&s, "That code is not right").await;
    assert_eq!(s.text("#secret-hint").await, hint, "nothing rotated");
    let iam = server.iam();
    let authenticates = |secret: String| {
        let client_id = client_id.clone();
        async move {
            iam.authenticate_client(&client_id, &secret)
                .await
                .expect("read")
                .is_some()
        }
    };
    assert!(authenticates(first_secret.clone()).await);
    // A right code (a recovery code: the app's next codes were used above) and the secret is made.
    s.fill("#step-up-code", &recovery[0]).await;
    s.click("#rotate-secret").await;
    s.wait_for_path("/secret").await;
    let second = s.value("#secret-value").await;
    assert!(second.starts_with("justiam_cs_"), "{second}");
    assert!(authenticates(second).await, "the new secret works");
    assert!(
        authenticates(first_secret).await,
        "the old one keeps working for the grace period chosen"
    );

    // Regenerate an expired token: the confirmation asks too, and goes on.
    age_the_check(&server).await;
    s.goto(&format!("{base}/ui/tokens/{}/regenerate", expired.id))
        .await;
    s.click("#confirm").await;
    asks_in_place(&s, "Confirm it is you").await;
    s.fill("#step-up-code", &recovery[1]).await;
    s.click("#confirm").await;
    let regenerated = s.created_token().await;
    assert!(regenerated.starts_with("justiam_pat_"), "{regenerated}");
    let tokens = own_tokens(&admin).await;
    assert!(
        tokens
            .iter()
            .any(|t| t.name == "nightly" && t.id != expired.id),
        "a new token replaces the expired one: {tokens:?}"
    );

    // A new `oidc` application (it gets a secret): the form asks, keeping what was typed.
    age_the_check(&server).await;
    s.goto(&format!("{base}/ui/admin/applications/new")).await;
    s.fill("#app-name", "Grafana").await;
    s.fill("#app-redirect-uris", "https://grafana.example.com/cb")
        .await;
    s.click("#create-application").await;
    asks_in_place(&s, "Confirm it is you").await;
    assert_eq!(
        s.value("#app-name").await,
        "Grafana",
        "what was typed is kept"
    );
    assert_eq!(
        s.value("#app-redirect-uris").await,
        "https://grafana.example.com/cb"
    );
    s.fill("#step-up-code", &recovery[2]).await;
    s.click("#create-application").await;
    s.wait_for_path("/secret").await;
    let made = s.value("#secret-value").await;
    assert!(made.starts_with("justiam_cs_"), "{made}");

    // Too many wrong codes: the field says to wait.
    age_the_check(&server).await;
    s.goto(&format!("{base}/ui/admin/applications/{app_id}"))
        .await;
    let hint = s.text("#secret-hint").await;
    s.click("#rotate-secret").await;
    asks_in_place(&s, "Confirm it is you").await;
    let mut tries = 0;
    loop {
        // Each answer says the same until the throttle: mark the page to tell the next one.
        s.b()
            .execute("document.documentElement.dataset.answered = '1'", vec![])
            .await
            .expect("mark the page");
        s.fill("#step-up-code", "000000").await;
        s.click("#rotate-secret").await;
        let said = s.text("html:not([data-answered]) #mfa-code-error").await;
        if said.contains("Too many wrong codes") {
            break;
        }
        assert!(said.contains("not right"), "{said}");
        tries += 1;
        assert!(tries < 10, "never throttled: {said}");
    }
    asks_in_place(&s, "Wait").await;
    assert_eq!(s.text("#secret-hint").await, hint, "nothing rotated");
    s.close().await;
}

fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

crate::on_both_databases!(
    two_factor_sign_in_step_up_and_an_application_in_the_browser,
    an_enforced_enrollment_on_the_login_page,
    rotations_ask_for_the_code_in_place,
);
