//! Applications (OAuth / OpenID Connect clients), their secrets and grants, and app mappings —
//! through `/api/v1` as an operator or an attacker sends the requests, with the provider-facing
//! core methods (`authenticate_client`, `may_sign_in`, `app_mapping_values`) checked on what the
//! API arranged. On SQLite and PostgreSQL.

use justiam_client::{Client, RawResponse};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Row;
use uuid::Uuid;

use crate::common::*;

const CB: &str = "https://app.example.com/callback";

async fn send(client: &Client, method: Method, path: &str, body: Option<Value>) -> RawResponse {
    raw(client, method, path, body).await
}

/// Creates an application as `client`; asserts `201` and returns the body.
async fn create_app(client: &Client, body: Value) -> Value {
    let response = send(client, Method::POST, "/api/v1/applications", Some(body)).await;
    assert_eq!(response.status.as_u16(), 201, "create: {}", response.json);
    response.json
}

async fn oidc_app(client: &Client, name: &str) -> Value {
    create_app(client, json!({ "name": name, "redirect_uris": [CB] })).await
}

fn id_of(value: &Value) -> Uuid {
    value["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("an id in {value}"))
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {value}"))
}

/// Audit entries whose action starts with `prefix`, newest first.
async fn audit_entries(admin: &Client, prefix: &str) -> Vec<Value> {
    let response = send(
        admin,
        Method::GET,
        &format!("/api/v1/audit?action={prefix}*&limit=100"),
        None,
    )
    .await;
    assert_eq!(response.status.as_u16(), 200, "{}", response.json);
    response.json["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn create_group(admin: &Client, name: &str) -> Uuid {
    let response = send(
        admin,
        Method::POST,
        "/api/v1/groups",
        Some(json!({ "name": name })),
    )
    .await;
    assert_eq!(response.status.as_u16(), 201, "{}", response.json);
    id_of(&response.json)
}

async fn add_member(admin: &Client, group: Uuid, user: Uuid) {
    let response = send(
        admin,
        Method::POST,
        &format!("/api/v1/groups/{group}/members"),
        Some(json!({ "user_id": user })),
    )
    .await;
    assert_eq!(response.status.as_u16(), 204, "{}", response.json);
}

async fn applications_crud_with_the_secret_shown_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;

    let response = send(
        &admin,
        Method::POST,
        "/api/v1/applications",
        Some(json!({
            "name": "Grafana",
            "friendly_name": "Dashboards",
            "description": "metrics",
            "redirect_uris": [CB, "http://localhost:3000/login/generic_oauth"],
            "post_logout_redirect_uris": ["https://app.example.com/"],
            "allowed_scopes": ["openid", "profile", "email", "groups"],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_expiry": 900,
            "access_restricted": true,
        })),
    )
    .await;
    assert_eq!(response.status.as_u16(), 201, "{}", response.json);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let created = response.json;
    let id = id_of(&created);
    let secret = str_of(&created, "client_secret").to_owned();
    let client_id = str_of(&created, "client_id").to_owned();
    assert!(
        justiam_core::token::check_format_with_prefix("justiam_cs_", &secret).is_ok(),
        "{secret:?} has the justiam_cs_ shape"
    );
    assert!(client_id.starts_with("justiam_app_") && client_id.len() == 12 + 24);
    assert_eq!(created["type"], "oidc");
    assert_eq!(created["token_expiry"], 900);
    assert_eq!(created["access_restricted"], true);
    assert_eq!(created["show_in_dashboard"], true);
    assert_eq!(created["require_pkce"], false);
    assert_eq!(
        created["secret_hint"].as_str(),
        Some(format!("…{}", &secret[secret.len() - 4..]).as_str())
    );

    // Never again: not in GET, not in the list, not in an update's answer.
    let read = send(
        &admin,
        Method::GET,
        &format!("/api/v1/applications/{id}"),
        None,
    )
    .await;
    assert_eq!(read.status.as_u16(), 200);
    assert!(read.json.get("client_secret").is_none(), "{}", read.json);
    assert!(!read.json.to_string().contains(&secret));
    assert_eq!(read.json["client_id"], client_id.as_str());
    assert_eq!(
        keys(&read.json),
        set(&[
            "id",
            "client_id",
            "name",
            "friendly_name",
            "description",
            "type",
            "redirect_uris",
            "post_logout_redirect_uris",
            "allowed_scopes",
            "grant_types",
            "require_pkce",
            "token_expiry",
            "access_restricted",
            "show_in_dashboard",
            "launch_url",
            "claim_mappings",
            "secret_hint",
            "created_at",
            "updated_at",
        ])
    );

    // The list: envelope, search on the name (case-insensitive), paging.
    oidc_app(&admin, "Nextcloud").await;
    oidc_app(&admin, "Wiki").await;
    let page = send(
        &admin,
        Method::GET,
        "/api/v1/applications?search=GRAF",
        None,
    )
    .await;
    assert_eq!(page.status.as_u16(), 200);
    assert_eq!(page.json["total"], 1);
    assert_eq!(page.json["data"][0]["name"], "Grafana");
    assert!(!page.json.to_string().contains(&secret));
    let page = send(
        &admin,
        Method::GET,
        "/api/v1/applications?limit=2&page=2",
        None,
    )
    .await;
    assert_eq!(page.json["total"], 3);
    assert_eq!(page.json["page"], 2);
    assert_eq!(page.json["limit"], 2);
    assert_eq!(page.json["data"].as_array().map(Vec::len), Some(1));

    // Update: present fields change, the others stay.
    let updated = send(
        &admin,
        Method::PUT,
        &format!("/api/v1/applications/{id}"),
        Some(json!({ "friendly_name": "Grafana dashboards", "token_expiry": 3600 })),
    )
    .await;
    assert_eq!(updated.status.as_u16(), 200, "{}", updated.json);
    assert_eq!(updated.json["friendly_name"], "Grafana dashboards");
    assert_eq!(updated.json["token_expiry"], 3600);
    assert_eq!(updated.json["redirect_uris"], read.json["redirect_uris"]);
    assert_eq!(updated.json["client_id"], client_id.as_str());
    assert!(updated.json.get("client_secret").is_none());

    // Only the digest is stored.
    let row = sqlx::query("SELECT * FROM applications WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(server.pool())
        .await
        .expect("the row");
    let digest: Vec<u8> = row.try_get("secret_digest").expect("digest");
    assert_eq!(digest, justiam_core::token::digest(&secret).to_vec());
    let dump: String = sqlx::query("SELECT name || redirect_uris || claim_mappings || COALESCE(secret_hint, '') AS t FROM applications")
        .fetch_all(server.pool())
        .await
        .expect("rows")
        .iter()
        .map(|r| r.try_get::<String, _>("t").expect("text"))
        .collect();
    assert!(!dump.contains(&secret[11..]));

    // Delete, then it is gone.
    let deleted = send(
        &admin,
        Method::DELETE,
        &format!("/api/v1/applications/{id}"),
        None,
    )
    .await;
    assert_eq!(deleted.status.as_u16(), 204);
    let gone = send(
        &admin,
        Method::GET,
        &format!("/api/v1/applications/{id}"),
        None,
    )
    .await;
    assert_error(&gone, 404, "not_found", "application");
    let again = send(
        &admin,
        Method::DELETE,
        &format!("/api/v1/applications/{id}"),
        None,
    )
    .await;
    assert_error(&again, 404, "not_found", "application");

    // One audit entry per change, none with the secret.
    let entries = audit_entries(&admin, "application.").await;
    let actions: Vec<&str> = entries
        .iter()
        .filter(|e| e["target_id"] == id.to_string())
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "application.deleted",
            "application.updated",
            "application.created"
        ]
    );
    let all = serde_json::to_string(&entries).expect("json");
    assert!(!all.contains(&secret) && !all.contains(&secret[11..43]));
}

async fn types_and_defaults(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;

    let oidc = oidc_app(&admin, "defaults").await;
    assert_eq!(
        oidc["allowed_scopes"],
        json!(["openid", "profile", "email"])
    );
    assert_eq!(oidc["grant_types"], json!(["authorization_code"]));
    assert_eq!(oidc["token_expiry"], 3600);
    assert_eq!(oidc["access_restricted"], false);
    assert_eq!(oidc["show_in_dashboard"], true);
    assert_eq!(oidc["post_logout_redirect_uris"], json!([]));
    assert_eq!(oidc["claim_mappings"], json!([]));

    // A spa is a public client: no secret, PKCE on.
    let spa = create_app(
        &admin,
        json!({ "name": "spa", "type": "spa", "redirect_uris": ["http://127.0.0.1:5173/cb"] }),
    )
    .await;
    assert!(spa.get("client_secret").is_none(), "{spa}");
    assert!(spa.get("secret_hint").is_none(), "{spa}");
    assert_eq!(spa["require_pkce"], true);
    let rotate = send(
        &admin,
        Method::POST,
        &format!("/api/v1/applications/{}/secret", id_of(&spa)),
        None,
    )
    .await;
    assert_error(&rotate, 400, "no_client_secret", "public client");

    // An external application is a link: a launch_url, no redirect URIs needed, no secret.
    let external = create_app(
        &admin,
        json!({ "name": "wiki", "type": "external", "launch_url": "https://wiki.example.com/" }),
    )
    .await;
    assert!(external.get("client_secret").is_none());
    assert_eq!(external["launch_url"], "https://wiki.example.com/");
    assert_eq!(external["redirect_uris"], json!([]));
    // Removing the launch URL of an external application is refused; of an oidc one, fine.
    let refused = send(
        &admin,
        Method::PUT,
        &format!("/api/v1/applications/{}", id_of(&external)),
        Some(json!({ "launch_url": "" })),
    )
    .await;
    assert_validation(&refused, "launch_url");

    expect_refusals(
        &admin,
        [
            post(
                "/api/v1/applications",
                json!({ "name": "s", "type": "saml", "redirect_uris": [CB] }),
            )
            .refused(400, "unsupported", "saml"),
            post(
                "/api/v1/applications",
                json!({ "name": "s2", "type": "spa", "redirect_uris": [CB], "require_pkce": false }),
            )
            .invalid("require_pkce"),
            post(
                "/api/v1/applications",
                json!({ "name": "e", "type": "external" }),
            )
            .invalid("launch_url"),
            post("/api/v1/applications", json!({ "name": "o" })).invalid("redirect_uris"),
            post(
                "/api/v1/applications",
                json!({ "name": "t", "type": "ldap", "redirect_uris": [CB] }),
            )
            .refused(400, "validation_error", "type"),
            put(
                format!("/api/v1/applications/{}", id_of(&spa)),
                json!({ "require_pkce": false }),
            )
            .invalid("require_pkce"),
            put(
                format!("/api/v1/applications/{}", id_of(&oidc)),
                json!({ "type": "spa" }),
            )
            .refused(400, "validation_error", "type"),
            put(
                format!("/api/v1/applications/{}", id_of(&oidc)),
                json!({ "client_id": "justiam_app_mine" }),
            )
            .refused(400, "validation_error", "client_id"),
        ],
    )
    .await;
}

async fn every_rule_is_refused_naming_the_field(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let existing = oidc_app(&admin, "Existing App").await;
    let path = format!("/api/v1/applications/{}", id_of(&existing));
    let create = |extra: Value| {
        let mut body = json!({ "name": "new app", "redirect_uris": [CB] });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                body.insert(k.clone(), v.clone());
            }
        }
        post("/api/v1/applications", body)
    };
    let uri = |u: &str| json!({ "redirect_uris": [u] });
    let many: Vec<String> = (0..21)
        .map(|i| format!("https://a.example.com/{i}"))
        .collect();
    let mapping = |claim: &str, scope: Option<&str>| json!({ "claim_mappings": [{ "claim": claim, "value": "${email}", "required_scope": scope }] });
    expect_refusals(
        &admin,
        [
            create(json!({ "name": "" })).invalid("name"),
            create(json!({ "name": "x".repeat(101) })).invalid("name"),
            create(json!({ "name": "EXISTING app" })).conflict("name"),
            create(json!({ "friendly_name": "f".repeat(101) })).invalid("friendly_name"),
            create(json!({ "description": "d".repeat(1001) })).invalid("description"),
            create(json!({ "redirect_uris": [] })).invalid("redirect_uris"),
            create(json!({ "redirect_uris": many })).invalid("redirect_uris"),
            create(json!({ "redirect_uris": [CB, CB] })).invalid("redirect_uris"),
            create(uri("http://app.example.com/cb")).invalid("redirect_uris[0]"),
            create(uri("http://127.0.0.2/cb")).invalid("redirect_uris[0]"),
            create(uri("/relative/cb")).invalid("redirect_uris[0]"),
            create(uri("https://app.example.com/cb#fragment")).invalid("redirect_uris[0]"),
            create(uri("https://user:pw@app.example.com/cb")).invalid("redirect_uris[0]"),
            create(uri("https://App.Example.com/cb")).invalid("redirect_uris[0]"),
            create(uri("javascript:alert(1)")).invalid("redirect_uris[0]"),
            create(uri("https://app.example.com/a b")).invalid("redirect_uris[0]"),
            create(uri("regex:(unclosed")).invalid("redirect_uris[0]"),
            create(uri("regex:")).invalid("redirect_uris[0]"),
            create(json!({ "post_logout_redirect_uris": ["http://evil.test/"] }))
                .invalid("post_logout_redirect_uris[0]"),
            create(json!({ "allowed_scopes": ["openid", "billing"] })).invalid("allowed_scopes"),
            create(json!({ "allowed_scopes": ["openid", "openid"] })).invalid("allowed_scopes"),
            create(json!({ "allowed_scopes": ["open id"] })).invalid("allowed_scopes"),
            create(json!({ "allowed_scopes": [] })).invalid("allowed_scopes"),
            create(json!({ "grant_types": [] })).invalid("grant_types"),
            create(json!({ "grant_types": ["implicit"] })).invalid("grant_types"),
            create(json!({ "grant_types": ["client_credentials"] })).invalid("grant_types"),
            create(json!({ "grant_types": ["refresh_token"] })).invalid("grant_types"),
            create(json!({ "token_expiry": 59 })).invalid("token_expiry"),
            create(json!({ "token_expiry": 86401 })).invalid("token_expiry"),
            create(json!({ "launch_url": "javascript:alert(1)" })).invalid("launch_url"),
            create(mapping("sub", None)).invalid("claim_mappings"),
            create(mapping("email", None)).invalid("claim_mappings"),
            create(mapping("plan", Some("billing"))).invalid("claim_mappings"),
            create(mapping("bad claim", None)).invalid("claim_mappings"),
            put(&path, json!({ "name": " " })).invalid("name"),
            put(&path, json!({ "redirect_uris": [] })).invalid("redirect_uris"),
            put(&path, json!({ "redirect_uris": ["http://evil.test/cb"] }))
                .invalid("redirect_uris[0]"),
            put(&path, json!({ "token_expiry": 0 })).invalid("token_expiry"),
            put(&path, json!({ "grant_types": ["password"] })).invalid("grant_types"),
            post(
                format!("{path}/secret"),
                json!({ "grace_period_seconds": 86401 }),
            )
            .invalid("grace_period_seconds"),
            post(
                format!("{path}/secret"),
                json!({ "grace_period_seconds": -1 }),
            )
            .invalid("grace_period_seconds"),
            put(
                format!("/api/v1/applications/{}", Uuid::now_v7()),
                json!({ "name": "x" }),
            )
            .not_found("application"),
        ],
    )
    .await;

    // What the rules allow: regex patterns, loopback http, custom scopes a mapping uses.
    let app = create_app(
        &admin,
        json!({
            "name": "rules ok",
            "redirect_uris": [
                "regex:https://pr-[0-9]+\\.preview\\.example\\.com/cb",
                "http://[::1]:8080/cb",
                "http://localhost/cb",
            ],
            "allowed_scopes": ["openid", "billing"],
            "claim_mappings": [{ "claim": "plan", "value": "${plan}", "required_scope": "billing" }],
        }),
    )
    .await;
    assert_eq!(app["allowed_scopes"], json!(["openid", "billing"]));
    assert_eq!(app["claim_mappings"][0]["required_scope"], "billing");
    // And nothing was created by the refused requests.
    let list = send(&admin, Method::GET, "/api/v1/applications", None).await;
    assert_eq!(list.json["total"], 2);
}

async fn redirect_uris_match_exactly_or_by_whole_pattern(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let created = create_app(
        &admin,
        json!({
            "name": "matcher",
            "redirect_uris": [CB, "regex:https://pr-[0-9]+\\.preview\\.example\\.com/cb"],
            "post_logout_redirect_uris": ["https://app.example.com/bye"],
        }),
    )
    .await;
    let iam = server.iam();
    let app = iam
        .application_by_client_id(str_of(&created, "client_id"))
        .await
        .expect("read")
        .expect("found by client_id");
    assert!(iam.redirect_uri_allowed(&app, CB));
    assert!(iam.redirect_uri_allowed(&app, "https://pr-17.preview.example.com/cb"));
    for attack in [
        "https://app.example.com.evil.test/callback",
        "https://app.example.com:8443/callback",
        "https://app.example.com/callback/extra",
        "https://app.example.com/callbackx",
        "https://app.example.com@evil.test/callback",
        "https://APP.example.com/callback",
        "https://app.example.com/CALLBACK",
        "https://evil.test/?https://pr-1.preview.example.com/cb",
        "https://pr-1.preview.example.com/cb.evil.test",
        "https://pr-1.preview.example.com.evil.test/cb",
        "https://pr-x.preview.example.com/cb",
        "http://pr-1.preview.example.com/cb",
    ] {
        assert!(!iam.redirect_uri_allowed(&app, attack), "{attack}");
    }
    assert!(iam.post_logout_redirect_uri_allowed(&app, "https://app.example.com/bye"));
    assert!(!iam.post_logout_redirect_uri_allowed(&app, CB));
    assert!(
        iam.application_by_client_id("justiam_app_000000000000000000000000")
            .await
            .expect("read")
            .is_none()
    );
}

async fn rotation_keeps_the_old_secret_only_for_its_grace_period(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let created = oidc_app(&admin, "rotating").await;
    let other = oidc_app(&admin, "other").await;
    let id = id_of(&created);
    let client_id = str_of(&created, "client_id").to_owned();
    let first = str_of(&created, "client_secret").to_owned();
    let iam = server.iam();
    let authenticates = |secret: String| {
        let client_id = client_id.clone();
        async move {
            iam.authenticate_client(&client_id, &secret)
                .await
                .expect("no database error")
                .map(|app| app.id)
        }
    };
    assert_eq!(authenticates(first.clone()).await, Some(id));
    // One answer for a wrong secret, another application's secret, an unknown client, junk.
    assert_eq!(
        authenticates(str_of(&other, "client_secret").to_owned()).await,
        None
    );
    assert_eq!(
        authenticates(first.replace("justiam_cs_", "justiam_pat_")).await,
        None
    );
    assert_eq!(authenticates(String::new()).await, None);
    assert!(
        iam.authenticate_client("justiam_app_unknown", &first)
            .await
            .expect("no database error")
            .is_none()
    );

    // With a grace period both work until it ends.
    let rotated = send(
        &admin,
        Method::POST,
        &format!("/api/v1/applications/{id}/secret"),
        Some(json!({ "grace_period_seconds": 600 })),
    )
    .await;
    assert_eq!(rotated.status.as_u16(), 200, "{}", rotated.json);
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    assert_eq!(rotated.json["client_id"], client_id.as_str());
    let second = str_of(&rotated.json, "client_secret").to_owned();
    assert_ne!(second, first);
    let until = time_of(&rotated.json["previous_secret_expires_at"]);
    let expected = chrono::Utc::now() + chrono::Duration::seconds(600);
    assert!((until - expected).num_seconds().abs() < 30, "{until}");
    assert_eq!(authenticates(first.clone()).await, Some(id));
    assert_eq!(authenticates(second.clone()).await, Some(id));
    let read = send(
        &admin,
        Method::GET,
        &format!("/api/v1/applications/{id}"),
        None,
    )
    .await;
    assert!(!read.json.to_string().contains(&second));
    assert_eq!(
        read.json["secret_hint"].as_str(),
        Some(format!("…{}", &second[second.len() - 4..]).as_str())
    );

    // The grace period ends (moved into the past by SQL): the old secret stops.
    sqlx::query("UPDATE applications SET previous_secret_expires_at = $1 WHERE id = $2")
        .bind(justiam_core::time::now_millis() - 1)
        .bind(id.to_string())
        .execute(server.pool())
        .await
        .expect("end the grace period");
    assert_eq!(authenticates(first.clone()).await, None);
    assert_eq!(authenticates(second.clone()).await, Some(id));

    // Without a grace period (no body at all) the replaced secret stops at once.
    let rotated = send(
        &admin,
        Method::POST,
        &format!("/api/v1/applications/{id}/secret"),
        None,
    )
    .await;
    assert_eq!(rotated.status.as_u16(), 200, "{}", rotated.json);
    assert!(rotated.json.get("previous_secret_expires_at").is_none());
    let third = str_of(&rotated.json, "client_secret").to_owned();
    assert_eq!(authenticates(second.clone()).await, None);
    assert_eq!(authenticates(third.clone()).await, Some(id));

    let entries = audit_entries(&admin, "application.secret_rotated").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["details"]["grace_period_seconds"], 600);
    let all = serde_json::to_string(&audit_entries(&admin, "").await).expect("json");
    for secret in [&first, &second, &third] {
        assert!(!all.contains(secret.as_str()) && !all.contains(&secret[11..43]));
    }
}

async fn grants_decide_who_may_sign_in(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let alice = server
        .create_user("alice@example.com", "alice-password-1")
        .await;
    let bob = server
        .create_user("bob@example.com", "bob-password-1")
        .await;
    let robot = server.create_service_account("robot@example.com").await;
    let team = create_group(&admin, "team").await;
    add_member(&admin, team, bob.id).await;

    let open = oidc_app(&admin, "open").await;
    let restricted = create_app(
        &admin,
        json!({ "name": "restricted", "redirect_uris": [CB], "access_restricted": true }),
    )
    .await;
    let link = create_app(
        &admin,
        json!({ "name": "link", "type": "external", "launch_url": "https://x.example.com/" }),
    )
    .await;
    let iam = server.iam();
    let app_of = |value: &Value| {
        let client_id = str_of(value, "client_id").to_owned();
        async move {
            iam.application_by_client_id(&client_id)
                .await
                .expect("read")
                .expect("exists")
        }
    };
    let (open_app, restricted_app, link_app) = (
        app_of(&open).await,
        app_of(&restricted).await,
        app_of(&link).await,
    );
    let may = |app: justiam_core::model::Application, user: Uuid| async move {
        iam.may_sign_in(&app, user)
            .await
            .expect("no database error")
    };
    assert!(may(open_app.clone(), alice.id).await);
    assert!(
        !may(open_app.clone(), robot.id).await,
        "service accounts never"
    );
    assert!(!may(open_app.clone(), Uuid::now_v7()).await, "unknown user");
    assert!(
        !may(link_app.clone(), alice.id).await,
        "an external app signs no one in"
    );
    assert!(!may(restricted_app.clone(), alice.id).await);
    assert!(!may(restricted_app.clone(), bob.id).await);

    let grants_path = format!("/api/v1/applications/{}/grants", id_of(&restricted));
    let direct = send(
        &admin,
        Method::POST,
        &grants_path,
        Some(json!({ "user_id": alice.id })),
    )
    .await;
    assert_eq!(direct.status.as_u16(), 201, "{}", direct.json);
    assert_eq!(direct.json["user_id"], alice.id.to_string());
    assert!(direct.json["group_id"].is_null());
    let through_group = send(
        &admin,
        Method::POST,
        &grants_path,
        Some(json!({ "group_id": team })),
    )
    .await;
    assert_eq!(through_group.status.as_u16(), 201, "{}", through_group.json);
    assert!(may(restricted_app.clone(), alice.id).await);
    assert!(
        may(restricted_app.clone(), bob.id).await,
        "through the group"
    );

    let listed = send(&admin, Method::GET, &grants_path, None).await;
    assert_eq!(listed.json["total"], 2);

    expect_refusals(
        &admin,
        [
            post(&grants_path, json!({ "user_id": alice.id })).conflict("already granted"),
            post(
                &grants_path,
                json!({ "user_id": alice.id, "group_id": team }),
            )
            .invalid("user_id"),
            post(&grants_path, json!({})).invalid("user_id"),
            post(&grants_path, json!({ "user_id": Uuid::now_v7() })).invalid("user_id"),
            post(&grants_path, json!({ "group_id": Uuid::now_v7() })).invalid("group_id"),
            delete(format!("{grants_path}/{}", Uuid::now_v7())).not_found("grant"),
            post(
                format!("/api/v1/applications/{}/grants", Uuid::now_v7()),
                json!({ "user_id": alice.id }),
            )
            .not_found("application"),
        ],
    )
    .await;

    // Deactivation ends it too.
    let deactivated = send(
        &admin,
        Method::PUT,
        &format!("/api/v1/users/{}", alice.id),
        Some(json!({ "is_active": false })),
    )
    .await;
    assert_eq!(deactivated.status.as_u16(), 200, "{}", deactivated.json);
    assert!(!may(restricted_app.clone(), alice.id).await);
    assert!(!may(open_app.clone(), alice.id).await);

    // Removing the group's grant takes bob's access at once.
    let removed = send(
        &admin,
        Method::DELETE,
        &format!("{grants_path}/{}", id_of(&through_group.json)),
        None,
    )
    .await;
    assert_eq!(removed.status.as_u16(), 204);
    assert!(!may(restricted_app.clone(), bob.id).await);

    let actions: Vec<String> = audit_entries(&admin, "application.grant")
        .await
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        actions,
        [
            "application.grant_removed",
            "application.grant_added",
            "application.grant_added"
        ]
    );
}

async fn app_mappings_reach_users_directly_and_through_groups(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let alice = server
        .create_user("alice@example.com", "alice-password-1")
        .await;
    let team = create_group(&admin, "team").await;
    add_member(&admin, team, alice.id).await;
    let app = oidc_app(&admin, "erp").await;
    let other_app = oidc_app(&admin, "crm").await;
    let app_id = id_of(&app);

    let mapping = |variable: &str, value: &str, app: Uuid| json!({ "application_id": app, "variable_name": variable, "value": value });
    let create = |body: Value| {
        let admin = admin.clone();
        async move {
            let response = send(&admin, Method::POST, "/api/v1/app-mappings", Some(body)).await;
            assert_eq!(response.status.as_u16(), 201, "{}", response.json);
            response.json
        }
    };
    let editor = create(mapping("role", "editor", app_id)).await;
    let viewer = create(mapping("role", "viewer", app_id)).await;
    let region = create(mapping("region", "eu", app_id)).await;
    let foreign = create(mapping("role", "admin", id_of(&other_app))).await;
    assert_eq!(editor["variable_name"], "role");
    assert_eq!(editor["description"], "");

    expect_refusals(
        &admin,
        [
            post("/api/v1/app-mappings", mapping("role", "editor", app_id)).conflict("already"),
            post("/api/v1/app-mappings", mapping("email", "x", app_id)).invalid("variable_name"),
            post("/api/v1/app-mappings", mapping("1x", "x", app_id)).invalid("variable_name"),
            post("/api/v1/app-mappings", mapping("a-b", "x", app_id)).invalid("variable_name"),
            post("/api/v1/app-mappings", mapping("role", " ", app_id)).invalid("value"),
            post("/api/v1/app-mappings", mapping("role", "x", Uuid::now_v7()))
                .invalid("application_id"),
            get(format!("/api/v1/app-mappings/{}", Uuid::now_v7())).not_found("app mapping"),
            post(
                format!("/api/v1/users/{}/app-mappings", alice.id),
                json!({ "mapping_id": Uuid::now_v7() }),
            )
            .invalid("mapping_id"),
            post(
                format!("/api/v1/users/{}/app-mappings", Uuid::now_v7()),
                json!({ "mapping_id": id_of(&editor) }),
            )
            .not_found("user"),
            post(
                format!("/api/v1/groups/{}/app-mappings", Uuid::now_v7()),
                json!({ "mapping_id": id_of(&editor) }),
            )
            .not_found("group"),
        ],
    )
    .await;

    // Listing: by application, with search.
    let listed = send(
        &admin,
        Method::GET,
        &format!("/api/v1/app-mappings?application_id={app_id}"),
        None,
    )
    .await;
    assert_eq!(listed.json["total"], 3);
    let searched = send(
        &admin,
        Method::GET,
        "/api/v1/app-mappings?search=EDIT",
        None,
    )
    .await;
    assert_eq!(searched.json["total"], 1);
    let bad = send(
        &admin,
        Method::GET,
        "/api/v1/app-mappings?application_id=nope",
        None,
    )
    .await;
    assert_validation(&bad, "application_id");

    // Assign: editor directly and through the group (counted once), viewer through the group,
    // the other application's mapping directly.
    let assign = |path: String, mapping: &Value| {
        let body = json!({ "mapping_id": id_of(mapping) });
        let admin = admin.clone();
        async move {
            let response = send(&admin, Method::POST, &path, Some(body)).await;
            assert_eq!(response.status.as_u16(), 204, "{}", response.json);
        }
    };
    let user_path = format!("/api/v1/users/{}/app-mappings", alice.id);
    let group_path = format!("/api/v1/groups/{team}/app-mappings");
    assign(user_path.clone(), &editor).await;
    assign(user_path.clone(), &foreign).await;
    assign(group_path.clone(), &editor).await;
    assign(group_path.clone(), &viewer).await;
    let twice = send(
        &admin,
        Method::POST,
        &user_path,
        Some(json!({ "mapping_id": id_of(&editor) })),
    )
    .await;
    assert_error(&twice, 409, "conflict", "already assigned");

    let iam = server.iam();
    let erp = iam
        .application_by_client_id(str_of(&app, "client_id"))
        .await
        .expect("read")
        .expect("exists");
    let values = iam
        .app_mapping_values(&erp, alice.id)
        .await
        .expect("values");
    assert_eq!(
        values,
        [
            ("role".to_owned(), "editor".to_owned()),
            ("role".to_owned(), "viewer".to_owned()),
        ]
    );

    let held = send(&admin, Method::GET, &user_path, None).await;
    assert_eq!(held.json["total"], 2);
    let held = send(&admin, Method::GET, &group_path, None).await;
    assert_eq!(held.json["total"], 2);

    // Update, unassign, delete (which takes its assignments).
    let updated = send(
        &admin,
        Method::PUT,
        &format!("/api/v1/app-mappings/{}", id_of(&viewer)),
        Some(json!({ "value": "reader", "description": "read only" })),
    )
    .await;
    assert_eq!(updated.status.as_u16(), 200, "{}", updated.json);
    assert_eq!(updated.json["value"], "reader");
    let clash = send(
        &admin,
        Method::PUT,
        &format!("/api/v1/app-mappings/{}", id_of(&viewer)),
        Some(json!({ "value": "editor" })),
    )
    .await;
    assert_error(&clash, 409, "conflict", "already");
    let unassigned = send(
        &admin,
        Method::DELETE,
        &format!("{user_path}/{}", id_of(&editor)),
        None,
    )
    .await;
    assert_eq!(unassigned.status.as_u16(), 204);
    let again = send(
        &admin,
        Method::DELETE,
        &format!("{user_path}/{}", id_of(&editor)),
        None,
    )
    .await;
    assert_error(&again, 404, "not_found", "assignment");
    let deleted = send(
        &admin,
        Method::DELETE,
        &format!("/api/v1/app-mappings/{}", id_of(&editor)),
        None,
    )
    .await;
    assert_eq!(deleted.status.as_u16(), 204);
    assert_eq!(
        count_rows(
            &server,
            "group_app_mappings",
            "mapping_id",
            &id_of(&editor).to_string()
        )
        .await,
        0
    );
    let values = iam
        .app_mapping_values(&erp, alice.id)
        .await
        .expect("values");
    assert_eq!(values, [("role".to_owned(), "reader".to_owned())]);
    assert_eq!(region["value"], "eu");

    let actions: Vec<String> = audit_entries(&admin, "app_mapping.")
        .await
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    for action in [
        "app_mapping.created",
        "app_mapping.updated",
        "app_mapping.deleted",
        "app_mapping.assigned",
        "app_mapping.unassigned",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "app_mapping.created")
            .count(),
        4
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "app_mapping.assigned")
            .count(),
        4
    );
}

async fn deleting_an_application_takes_everything_it_issued(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let alice = server
        .create_user("alice@example.com", "alice-password-1")
        .await;
    let app = create_app(
        &admin,
        json!({ "name": "doomed", "redirect_uris": [CB], "access_restricted": true,
                "grant_types": ["authorization_code", "refresh_token"] }),
    )
    .await;
    let id = id_of(&app);
    let secret = str_of(&app, "client_secret").to_owned();
    let grant = send(
        &admin,
        Method::POST,
        &format!("/api/v1/applications/{id}/grants"),
        Some(json!({ "user_id": alice.id })),
    )
    .await;
    assert_eq!(grant.status.as_u16(), 201);
    let mapping = send(
        &admin,
        Method::POST,
        "/api/v1/app-mappings",
        Some(json!({ "application_id": id, "variable_name": "role", "value": "x" })),
    )
    .await;
    assert_eq!(mapping.status.as_u16(), 201);
    let assigned = send(
        &admin,
        Method::POST,
        &format!("/api/v1/users/{}/app-mappings", alice.id),
        Some(json!({ "mapping_id": id_of(&mapping.json) })),
    )
    .await;
    assert_eq!(assigned.status.as_u16(), 204);
    // What the OAuth endpoints would have issued: a refresh token, a code, a sign-in record.
    let now = justiam_core::time::now_millis();
    sqlx::query(
        "INSERT INTO oauth_refresh_tokens (id, token_digest, family_id, application_id, user_id, scope, \
         auth_time, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, 'openid', $6, $6, $7)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(vec![7u8; 32])
    .bind(Uuid::now_v7().to_string())
    .bind(id.to_string())
    .bind(alice.id.to_string())
    .bind(now)
    .bind(now + 86_400_000)
    .execute(server.pool())
    .await
    .expect("a refresh token");
    sqlx::query(
        "INSERT INTO oauth_codes (code_digest, application_id, user_id, redirect_uri, scope, auth_time, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, 'openid', $5, $5, $6)",
    )
    .bind(vec![9u8; 32])
    .bind(id.to_string())
    .bind(alice.id.to_string())
    .bind(CB)
    .bind(now)
    .bind(now + 60_000)
    .execute(server.pool())
    .await
    .expect("a code");
    sqlx::query(
        "INSERT INTO oauth_authorizations (user_id, application_id, scope, first_signed_in, last_signed_in) \
         VALUES ($1, $2, 'openid', $3, $3)",
    )
    .bind(alice.id.to_string())
    .bind(id.to_string())
    .bind(now)
    .execute(server.pool())
    .await
    .expect("a sign-in record");

    let deleted = send(
        &admin,
        Method::DELETE,
        &format!("/api/v1/applications/{id}"),
        None,
    )
    .await;
    assert_eq!(deleted.status.as_u16(), 204);
    for table in [
        "oauth_refresh_tokens",
        "oauth_codes",
        "oauth_authorizations",
        "application_grants",
        "app_mappings",
    ] {
        assert_eq!(
            count_rows(&server, table, "application_id", &id.to_string()).await,
            0,
            "{table}"
        );
    }
    assert_eq!(
        count_rows(
            &server,
            "user_app_mappings",
            "user_id",
            &alice.id.to_string()
        )
        .await,
        0
    );
    let client_id = str_of(&app, "client_id");
    let iam = server.iam();
    assert!(
        iam.application_by_client_id(client_id)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        iam.authenticate_client(client_id, &secret)
            .await
            .expect("read")
            .is_none()
    );
}

/// Each permission gates its own routes: a caller missing it is refused with `403` naming it, and
/// nothing changes.
async fn permissions_gate_every_route(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let target = server
        .create_user("target@example.com", "target-password-1")
        .await;
    let team = create_group(&admin, "team").await;
    let app = oidc_app(&admin, "guarded").await;
    let id = id_of(&app);
    let mapping = send(
        &admin,
        Method::POST,
        "/api/v1/app-mappings",
        Some(json!({ "application_id": id, "variable_name": "role", "value": "x" })),
    )
    .await
    .json;
    let mapping_id = id_of(&mapping);
    let grant = send(
        &admin,
        Method::POST,
        &format!("/api/v1/applications/{id}/grants"),
        Some(json!({ "user_id": target.id })),
    )
    .await
    .json;
    let grant_id = id_of(&grant);
    let app_path = format!("/api/v1/applications/{id}");

    // apps.view only: reads, and nothing else.
    let (_, viewer, _) = user_with(&server, &admin, "viewer@example.com", &["apps.view"]).await;
    assert_eq!(
        send(&viewer, Method::GET, &app_path, None)
            .await
            .status
            .as_u16(),
        200
    );
    assert_eq!(
        send(&viewer, Method::GET, &format!("{app_path}/grants"), None)
            .await
            .status
            .as_u16(),
        200
    );
    expect_refusals(
        &viewer,
        [
            post(
                "/api/v1/applications",
                json!({ "name": "x", "redirect_uris": [CB] }),
            )
            .forbidden("apps.create"),
            put(&app_path, json!({ "name": "renamed" })).forbidden("apps.update"),
            put(
                &app_path,
                json!({ "redirect_uris": ["https://evil.test/cb"] }),
            )
            .forbidden("apps.update"),
            delete(&app_path).forbidden("apps.delete"),
            post(format!("{app_path}/secret"), json!({})).forbidden("apps.update"),
            post(
                format!("{app_path}/grants"),
                json!({ "user_id": target.id }),
            )
            .forbidden("apps.update"),
            delete(format!("{app_path}/grants/{grant_id}")).forbidden("apps.update"),
            post(
                "/api/v1/app-mappings",
                json!({ "application_id": id, "variable_name": "v", "value": "x" }),
            )
            .forbidden("roles.create"),
            get("/api/v1/app-mappings").forbidden("roles.view"),
        ],
    )
    .await;

    // No apps.view: not even the list or one application.
    let (_, nobody, _) = user_with(&server, &admin, "nobody@example.com", &["users.view"]).await;
    expect_refusals(
        &nobody,
        [
            get("/api/v1/applications").forbidden("apps.view"),
            get(&app_path).forbidden("apps.view"),
            get(format!("/api/v1/applications/{}", Uuid::now_v7())).forbidden("apps.view"),
            get(format!("{app_path}/grants")).forbidden("apps.view"),
        ],
    )
    .await;

    // An operator of roles (app mappings) holds no apps.* permission: no grants, no secrets.
    let (_, roles_operator, _) = user_with(
        &server,
        &admin,
        "roles@example.com",
        &[
            "roles.view",
            "roles.create",
            "roles.update",
            "roles.delete",
            "users.view",
        ],
    )
    .await;
    expect_refusals(
        &roles_operator,
        [
            post(
                format!("{app_path}/grants"),
                json!({ "user_id": target.id }),
            )
            .forbidden("apps.update"),
            post(format!("{app_path}/secret"), json!({})).forbidden("apps.update"),
            get(&app_path).forbidden("apps.view"),
        ],
    )
    .await;
    // … but manages mappings.
    let assigned = send(
        &roles_operator,
        Method::POST,
        &format!("/api/v1/users/{}/app-mappings", target.id),
        Some(json!({ "mapping_id": mapping_id })),
    )
    .await;
    assert_eq!(assigned.status.as_u16(), 204, "{}", assigned.json);

    // An operator of applications holds no roles.* permission: no mappings.
    let (_, apps_operator, _) = user_with(
        &server,
        &admin,
        "apps@example.com",
        &["apps.view", "apps.create", "apps.update", "apps.delete"],
    )
    .await;
    expect_refusals(
        &apps_operator,
        [
            post(
                "/api/v1/app-mappings",
                json!({ "application_id": id, "variable_name": "v", "value": "x" }),
            )
            .forbidden("roles.create"),
            put(
                format!("/api/v1/app-mappings/{mapping_id}"),
                json!({ "value": "y" }),
            )
            .forbidden("roles.update"),
            delete(format!("/api/v1/app-mappings/{mapping_id}")).forbidden("roles.delete"),
            post(
                format!("/api/v1/users/{}/app-mappings", target.id),
                json!({ "mapping_id": mapping_id }),
            )
            .forbidden("roles.update"),
            delete(format!(
                "/api/v1/users/{}/app-mappings/{mapping_id}",
                target.id
            ))
            .forbidden("roles.update"),
            post(
                format!("/api/v1/groups/{team}/app-mappings"),
                json!({ "mapping_id": mapping_id }),
            )
            .forbidden("roles.update"),
            get(format!("/api/v1/users/{}/app-mappings", target.id)).forbidden("roles.view"),
            get(format!("/api/v1/groups/{team}/app-mappings")).forbidden("roles.view"),
        ],
    )
    .await;

    // roles.view alone reads mappings but cannot assign them.
    let (_, roles_viewer, _) = user_with(&server, &admin, "rv@example.com", &["roles.view"]).await;
    assert_eq!(
        send(&roles_viewer, Method::GET, "/api/v1/app-mappings", None)
            .await
            .status
            .as_u16(),
        200
    );
    expect_refusals(
        &roles_viewer,
        [post(
            format!("/api/v1/groups/{team}/app-mappings"),
            json!({ "mapping_id": mapping_id }),
        )
        .forbidden("roles.update")],
    )
    .await;

    // Nothing the refused callers sent changed anything.
    let read = send(&admin, Method::GET, &app_path, None).await;
    assert_eq!(read.json["name"], "guarded");
    assert_eq!(read.json["secret_hint"], app["secret_hint"]);
    assert!(
        server
            .iam()
            .authenticate_client(str_of(&app, "client_id"), str_of(&app, "client_secret"))
            .await
            .expect("read")
            .is_some(),
        "the secret was not rotated"
    );
    let grants = send(&admin, Method::GET, &format!("{app_path}/grants"), None).await;
    assert_eq!(grants.json["total"], 1);
    let list = send(&admin, Method::GET, "/api/v1/applications", None).await;
    assert_eq!(list.json["total"], 1);
}

/// A fine-grained token holding `apps.view` only reads; one without it sees nothing.
async fn fine_grained_tokens_keep_to_their_permissions(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let app = oidc_app(&admin, "scoped").await;
    let app_path = format!("/api/v1/applications/{}", id_of(&app));
    let token = send(
        &admin,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({ "name": "read apps", "expires_in_days": 1, "permissions": ["apps.view"] })),
    )
    .await;
    assert_eq!(token.status.as_u16(), 201, "{}", token.json);
    let reader = server
        .anonymous()
        .with_token(str_of(&token.json, "token").to_owned());
    assert_eq!(
        send(&reader, Method::GET, &app_path, None)
            .await
            .status
            .as_u16(),
        200
    );
    expect_refusals(
        &reader,
        [
            post(format!("{app_path}/secret"), json!({})).forbidden("apps.update"),
            delete(&app_path).forbidden("apps.delete"),
            get("/api/v1/app-mappings").forbidden("roles.view"),
        ],
    )
    .await;
}

crate::on_both_databases!(
    applications_crud_with_the_secret_shown_once,
    types_and_defaults,
    every_rule_is_refused_naming_the_field,
    redirect_uris_match_exactly_or_by_whole_pattern,
    rotation_keeps_the_old_secret_only_for_its_grace_period,
    grants_decide_who_may_sign_in,
    app_mappings_reach_users_directly_and_through_groups,
    deleting_an_application_takes_everything_it_issued,
    permissions_gate_every_route,
    fine_grained_tokens_keep_to_their_permissions,
);
