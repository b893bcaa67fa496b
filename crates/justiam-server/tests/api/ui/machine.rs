//! A service account's Clients and Federated credentials in the browser: a client whose secret is
//! shown once (and works at `/oauth2/token`), a key client refused with the field named, a
//! federated credential with claim conditions, and deletions after a confirmation — each checked
//! against what the API then answers.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{Session, browser_available};
use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer, grant_basic, raw};

async fn machine_identity_in_the_browser(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let sa = server.create_service_account("deployer@example.com").await;
    let admin = server.admin().await;
    let base = server.url.clone();
    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // From the service account's page.
    s.goto(&format!("{base}/ui/admin/users/{}", sa.id)).await;
    s.click("#sa-clients").await;
    s.wait_for_path("/clients").await;
    s.find("#no-clients").await;

    // A key client without a key: the field is named, what was typed is kept.
    s.fill("#client-name", "signer").await;
    s.click("#method-key").await;
    s.click("#create-client").await;
    s.wait_for_text("#key-error", "public_key").await;
    assert_eq!(s.value("#client-name").await, "signer");

    // A secret client: the secret once, with Copy; it works at the token endpoint.
    s.fill("#client-name", "deploy").await;
    s.click("#method-secret").await;
    s.click("#create-client").await;
    s.wait_for_path("/secret").await;
    let secret = s.value("#secret-value").await;
    assert!(secret.starts_with("justiam_cs_"), "{secret}");
    s.find("#copy-secret").await;
    let client_id = s.text("#client-id").await;
    let (status, _, body) = grant_basic(&server, &client_id, &secret, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s.screenshot("service-account-client-secret").await;
    let secret_page = s.path().await;
    s.click("#done").await;
    s.wait_for_text("#clients", "deploy").await;
    assert!(!s.body().await.contains(&secret), "never shown again");
    s.goto(&format!("{base}{secret_page}")).await;
    s.find("#gone").await;

    // Delete it, after a confirmation: its secret stops working.
    s.goto(&format!("{base}/ui/admin/users/{}/clients", sa.id))
        .await;
    s.click("#clients .danger-link").await;
    s.wait_for_text("#confirm-title", "deploy").await;
    s.click("#confirm").await;
    s.wait_for_text(".notice", "Deleted").await;
    let (status, _, body) = grant_basic(&server, &client_id, &secret, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    // Federated credentials: a claim line without = is refused in words, then one is added.
    s.goto(&format!("{base}/ui/admin/users/{}", sa.id)).await;
    s.click("#sa-federated").await;
    s.wait_for_path("/federated-credentials").await;
    s.fill("#fc-name", "acme/app").await;
    s.fill("#fc-issuer", "https://token.actions.githubusercontent.com")
        .await;
    s.fill("#fc-audience", "https://justiam.example.com").await;
    s.fill("#fc-claims", "repository=acme/app\nref refs/heads/main")
        .await;
    s.click("#create-federated").await;
    s.wait_for_text("#claims-error", "claim=value").await;
    s.fill("#fc-claims", "repository=acme/app\nref=refs/heads/*")
        .await;
    s.click("#create-federated").await;
    s.wait_for_text(".notice", "Created").await;
    s.wait_for_text("#federated-credentials", "ref = refs/heads/*")
        .await;
    s.screenshot("service-account-federated").await;
    let list = raw(
        &admin,
        Method::GET,
        &format!("/api/v1/users/{}/federated-credentials", sa.id),
        None,
    )
    .await;
    assert_eq!(
        list.json["data"][0]["claims"],
        json!({"repository": "acme/app", "ref": "refs/heads/*"})
    );
    s.click("#federated-credentials .danger-link").await;
    s.wait_for_text("#confirm-title", "acme/app").await;
    s.click("#confirm").await;
    s.wait_for_text(".notice", "Deleted").await;
    let list = raw(
        &admin,
        Method::GET,
        &format!("/api/v1/users/{}/federated-credentials", sa.id),
        None,
    )
    .await;
    assert_eq!(list.json["total"], 0);
    s.close().await;
}

crate::on_both_databases!(machine_identity_in_the_browser);
