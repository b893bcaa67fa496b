//! Issue 19, item 10: a refusal of the service reaches a person in plain words — the form's own
//! label, the rule as a sentence — while the API keeps its machine-facing message.

use reqwest::Method;
use serde_json::json;

use super::{Session, browser_available};
use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer};

/// The text of the field error `css` once it reads `expected`, and no API name (`snake_case`) in it.
async fn said_in_words(s: &Session, css: &str, expected: &str) {
    s.wait_for_text(css, expected).await;
    let text = s.text(css).await;
    assert_eq!(text, expected, "{css}");
    assert!(
        !text.split_whitespace().any(|word| word.contains('_')),
        "an API field name reached the page: {text}"
    );
}

/// Three forms, three refusals the service words for the API (`expires_in_days …`,
/// `new_password …`, `token_expiry …`): each page says them with the label the form shows.
async fn refusals_are_said_with_the_forms_labels(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let base = server.url.clone();
    let admin = server.admin().await;

    // The API's own message is its contract and stays as it is.
    let r = crate::common::raw(
        &admin,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({ "name": "ci", "expires_in_days": 400 })),
    )
    .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.json);
    assert_eq!(r.json["code"], "validation_error", "{}", r.json);
    assert_eq!(
        r.json["message"], "expires_in_days must be an integer between 1 and 365",
        "{}",
        r.json
    );

    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // New Token: an expiry the service refuses.
    s.goto(&format!("{base}/ui/tokens/new")).await;
    s.fill("#token-name", "CI pipeline").await;
    s.click("#scope-full").await;
    s.click("#expiry-custom").await;
    s.fill("#custom-days", "400").await;
    s.click("#create-token").await;
    said_in_words(
        &s,
        "#expiry-error",
        "Expiry must be between 1 and 365 days.",
    )
    .await;

    // Profile → Change password: a new password shorter than the rule.
    s.goto(&format!("{base}/ui/profile")).await;
    s.fill("#current_password", ADMIN_PASSWORD).await;
    s.fill("#new_password", "short").await;
    s.fill("#confirm_password", "short").await;
    s.click("form[action='/ui/profile/password'] button[type=submit]")
        .await;
    s.wait_for_text("#new_password-error", "New password must be at least ")
        .await;
    let text = s.text("#new_password-error").await;
    assert!(
        text.starts_with("New password must be at least ") && text.ends_with(" characters."),
        "{text}"
    );
    assert!(!text.contains('_'), "{text}");

    // New Application: a token lifetime out of range.
    s.goto(&format!("{base}/ui/admin/applications/new")).await;
    s.fill("#app-name", "Grafana").await;
    s.fill("#app-redirect-uris", "https://grafana.example.com/cb")
        .await;
    s.fill("#app-expiry", "10").await;
    s.click("#create-application").await;
    said_in_words(
        &s,
        "#expiry-error",
        "Token lifetime must be between 60 and 86400 seconds.",
    )
    .await;
    s.screenshot("refusal-in-words").await;
    s.close().await;
}

crate::on_both_databases!(refusals_are_said_with_the_forms_labels);
