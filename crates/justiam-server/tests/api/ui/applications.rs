//! Administration → Applications in the browser: create an application, its client secret shown
//! once, rotate it with a grace period, grant access, edit its claim mappings, add and assign an
//! app mapping, edit, and delete after a confirmation — each step checked against what the core
//! or the API then answers.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{Session, browser_available};
use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer, raw};

async fn applications_in_the_browser(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    let bob = server
        .create_user("bob@example.com", "bob-password-1")
        .await;
    let base = server.url.clone();
    let iam = server.iam();
    let s = Session::start().await;
    s.login(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // Create Application, first with a redirect URI the rules refuse.
    s.click("#nav-applications").await;
    s.wait_for_path("/ui/admin/applications").await;
    s.click("#new-application").await;
    s.wait_for_path("/applications/new").await;
    s.fill("#app-name", "Grafana").await;
    s.fill("#app-redirect-uris", "http://grafana.example.com/cb")
        .await;
    s.click("#grant-refresh").await;
    s.fill("#app-claim-mappings", "tenant = acme").await;
    s.click("#create-application").await;
    s.wait_for_text("#redirect-error", "loopback").await;
    assert_eq!(
        s.value("#app-name").await,
        "Grafana",
        "what was typed is kept"
    );
    assert_eq!(s.value("#app-claim-mappings").await, "tenant = acme");
    s.fill("#app-redirect-uris", "https://grafana.example.com/cb")
        .await;
    s.click("#create-application").await;

    // The secret, once.
    s.wait_for_path("/secret").await;
    let first = s.value("#secret-value").await;
    assert!(first.starts_with("justiam_cs_"), "{first}");
    s.find("#copy-secret").await;
    let client_id = s.text("#client-id").await;
    let app = iam
        .application_by_client_id(&client_id)
        .await
        .expect("read")
        .expect("created");
    assert_eq!(app.redirect_uris, ["https://grafana.example.com/cb"]);
    assert_eq!(app.grant_types, ["authorization_code", "refresh_token"]);
    assert_eq!(
        serde_json::to_value(&app.claim_mappings).expect("json"),
        json!([{"claim": "tenant", "value": "acme"}])
    );
    let authenticates = |secret: String| {
        let client_id = client_id.clone();
        async move {
            iam.authenticate_client(&client_id, &secret)
                .await
                .expect("read")
                .is_some()
        }
    };
    assert!(authenticates(first.clone()).await);
    s.screenshot("application-secret").await;
    // Shown once: the same page again has no secret.
    s.goto(&format!("{base}/ui/admin/applications/{}/secret", app.id))
        .await;
    s.find("#gone").await;
    assert!(!s.body().await.contains(&first));

    // The application's page: the hint, never the secret.
    s.goto(&format!("{base}/ui/admin/applications/{}", app.id))
        .await;
    let hint = s.text("#secret-hint").await;
    assert!(first.ends_with(hint.trim_start_matches('…')), "{hint}");
    assert!(!s.body().await.contains(&first));

    // Rotate with a grace period of an hour: both secrets work.
    s.click("#grace option[value='3600']").await;
    s.click("#rotate-secret").await;
    s.wait_for_path("/secret").await;
    let second = s.value("#secret-value").await;
    assert!(second.starts_with("justiam_cs_") && second != first);
    assert!(authenticates(first.clone()).await, "in its grace period");
    assert!(authenticates(second.clone()).await);
    s.click("#done").await;
    s.wait_for_path(&format!("/applications/{}", app.id)).await;

    // Grant bob, restrict access: bob may sign in, nobody else.
    s.fill("#grant-email", "bob@example.com").await;
    s.click("#add-grant").await;
    s.wait_for_text("#grants", "bob@example.com").await;
    s.click("#app-restricted").await;
    s.fill("#app-friendly-name", "Dashboards").await;
    s.click("#save-application").await;
    s.wait_for_text("#app-access", "only granted").await;
    let app = iam
        .application_by_client_id(&client_id)
        .await
        .expect("read")
        .expect("exists");
    assert!(app.access_restricted);
    assert_eq!(app.friendly_name, "Dashboards");
    assert!(iam.may_sign_in(&app, bob.id).await.expect("read"));
    let admin_id = server.admin().await.me().await.expect("me").user.id;
    assert!(!iam.may_sign_in(&app, admin_id).await.expect("read"));

    // Claim mappings: two lines, one only with a custom scope that its line makes allowed.
    let admin = server.admin().await;
    let app_path = format!("/api/v1/applications/{}", app.id);
    s.fill("#app-scopes", "openid profile email hr.read").await;
    s.fill(
        "#app-claim-mappings",
        "team = grafana\n\nlevel @ hr.read = ${email}",
    )
    .await;
    s.click("#save-application").await;
    s.wait_for_text("#app-claim-mappings-list", "level @ hr.read = ${email}")
        .await;
    assert!(
        s.text("#app-claim-mappings-list")
            .await
            .contains("team = grafana")
    );
    let stored_mappings = json!([
        {"claim": "team", "value": "grafana"},
        {"claim": "level", "value": "${email}", "required_scope": "hr.read"},
    ]);
    let stored = raw(&admin, Method::GET, &app_path, None).await;
    assert_eq!(stored.status, StatusCode::OK);
    assert_eq!(stored.json["claim_mappings"], stored_mappings);
    assert_eq!(
        stored.json["allowed_scopes"],
        json!(["openid", "profile", "email", "hr.read"])
    );
    assert_eq!(
        s.value("#app-claim-mappings").await,
        "team = grafana\nlevel @ hr.read = ${email}",
        "the box shows what is stored, one line each"
    );

    // A claim JustIAM sets itself is refused beside the box, by its line, with the text kept.
    let typed = "team = grafana\n\nsub = x";
    s.fill("#app-claim-mappings", typed).await;
    s.click("#save-application").await;
    s.wait_for_text("#claims-error", "Line 3").await;
    let said = s.text("#claims-error").await;
    assert!(
        said.contains("\"sub\" is set by JustIAM itself and cannot be mapped"),
        "{said}"
    );
    assert_eq!(s.value("#app-claim-mappings").await, typed);
    // A line that is no mapping at all is named in plain words.
    s.fill("#app-claim-mappings", "team = grafana\nlevel: high")
        .await;
    s.click("#save-application").await;
    s.wait_for_text("#claims-error", "Line 2 is not a mapping")
        .await;
    let stored = raw(&admin, Method::GET, &app_path, None).await;
    assert_eq!(
        stored.json["claim_mappings"], stored_mappings,
        "a refused form changes nothing"
    );
    s.goto(&format!("{base}/ui/admin/applications/{}", app.id))
        .await;

    // An app mapping, assigned to bob.
    s.fill("#mapping-value", "Editor").await;
    s.click("#create-mapping").await;
    s.wait_for_text("#mappings", "role = Editor").await;
    s.fill("#mappings input[type=email]", "bob@example.com")
        .await;
    s.click("#mappings button[value=assign]").await;
    s.wait_for_text(".notice", "Added").await;
    assert_eq!(
        iam.app_mapping_values(&app, bob.id).await.expect("read"),
        [("role".to_owned(), "Editor".to_owned())]
    );
    s.screenshot("application").await;

    // Delete, after a confirmation.
    s.click("#delete-application").await;
    s.wait_for_text("#confirm-title", "Grafana").await;
    s.click("#confirm").await;
    s.wait_for_path("/ui/admin/applications").await;
    assert!(!s.text("main").await.contains("Grafana"));
    assert!(!authenticates(second).await);
    s.close().await;

    // The API agrees nothing is left.
    let list = raw(&admin, Method::GET, "/api/v1/applications", None).await;
    assert_eq!(list.json["total"], json!(0));
}

crate::on_both_databases!(applications_in_the_browser);
