//! The OpenAPI document covers every route the router serves, and is served with its viewer.

use reqwest::Method;

use crate::common::*;

/// Document ⊆ router: every documented operation reaches a handler (never the router's fallback).
async fn every_documented_operation_is_served(backend: Backend) {
    let server = TestServer::start(backend).await;
    let client = server.anonymous();
    let doc = raw(&client, Method::GET, "/swagger/doc.json", None).await;
    assert_eq!(doc.status, 200);
    assert!(
        doc.json["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc.json["openapi"]
    );
    let paths = doc.json["paths"].as_object().expect("paths");
    assert!(paths.len() >= 30, "only {} paths documented", paths.len());
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    "0195f0a0-0000-7000-8000-000000000000"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let response = raw(&client, m, &concrete, None).await;
            let fallback = response.status == 405
                || (response.status == 404 && response.json["message"] == "no such endpoint");
            assert!(
                !fallback,
                "{method} {path} is documented but not served: {}",
                response.json
            );
        }
    }
    assert!(operations >= 45, "only {operations} operations documented");
}

/// Router ⊆ document: API routes are only registered through `utoipa_axum::routes!`, which takes
/// method and path from the handler's `#[utoipa::path]`. Plain `.route(` calls are allowed only for
/// the document itself and the metrics.
#[test]
fn api_routes_are_registered_only_through_the_documented_router() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    for entry in std::fs::read_dir(&dir).expect("src/http") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        for (at, _) in text.match_indices(".route(") {
            let call: String = text[at..].chars().take(60).collect();
            assert!(
                call.contains("\"/swagger/doc.yaml\"") || call.contains("\"/metrics\""),
                "{} registers an undocumented route: {call}",
                path.display()
            );
        }
    }
}

async fn swagger_viewer_and_yaml_are_served(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = reqwest::Client::new();
    let index = http
        .get(format!("{}/swagger/index.html", server.url))
        .send()
        .await
        .expect("index");
    assert_eq!(index.status(), 200);
    assert!(index.text().await.expect("body").contains("swagger"));
    let yaml = http
        .get(format!("{}/swagger/doc.yaml", server.url))
        .send()
        .await
        .expect("yaml");
    assert_eq!(yaml.status(), 200);
    assert_eq!(yaml.headers()["content-type"], "application/yaml");
    assert!(yaml.text().await.expect("body").starts_with("openapi: 3."));
}

/// The served document states the rules this server enforces: a password minimum configured
/// above the default shows in the `Password` schema, and the server holds to it.
async fn the_served_document_states_the_configured_password_rule(backend: Backend) {
    let server = TestServer::start_with(backend, |args| args.password_min_length = 12).await;
    let doc = raw(&server.anonymous(), Method::GET, "/swagger/doc.json", None).await;
    let password = &doc.json["components"]["schemas"]["Password"];
    assert_eq!(password["minLength"], 12, "{password}");
    assert_eq!(password["maxLength"], 1024, "{password}");
    let yaml = reqwest::get(format!("{}/swagger/doc.yaml", server.url))
        .await
        .expect("yaml")
        .text()
        .await
        .expect("body");
    assert!(yaml.contains("minLength: 12"), "the YAML states it too");
    let admin = server.admin().await;
    for (password, status) in [("eleven-char", 400), ("twelve-chars", 201)] {
        let body =
            serde_json::json!({ "email": format!("{status}@example.org"), "password": password });
        let answer = raw(&admin, Method::POST, "/api/v1/users", Some(body)).await;
        assert_eq!(
            answer.status.as_u16(),
            status,
            "{password}: {}",
            answer.json
        );
    }
}

crate::on_both_databases!(
    every_documented_operation_is_served,
    swagger_viewer_and_yaml_are_served,
    the_served_document_states_the_configured_password_rule,
);
