//! The OpenAPI 3 description, generated from the handlers' annotations.
//!
//! Every API route is registered through `utoipa_axum::routes!`, which takes the method and path
//! from the handler's `#[utoipa::path]`: the router cannot serve an API route the document lacks.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, ResponseBuilder};
use utoipa::{IntoParams, Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "JustIAM",
        description = "Identity and access management for people and machines: users, service accounts, \
                       groups, admin roles, audit, and personal access tokens (`justiam_pat_…`). \
                       Authenticate with `Authorization: Bearer <portal JWT or personal access token>`.",
        license(name = "Apache-2.0"),
    ),
    components(schemas(justiam_types::ErrorBody)),
    security(("bearer" = [])),
    tags(
        (name = "auth", description = "Login, logout, the caller"),
        (name = "tokens", description = "Personal access tokens"),
        (name = "users", description = "Users and service accounts"),
        (name = "groups", description = "Groups and members"),
        (name = "admin roles", description = "Admin roles and their assignment"),
        (name = "applications", description = "Applications (OAuth / OpenID Connect clients), their secrets and grants"),
        (name = "app mappings", description = "App role mappings and their assignment to users and groups"),
        (name = "audit", description = "The audit log"),
        (name = "sessions", description = "Portal sessions"),
        (name = "operations", description = "Probes and version"),
    ),
)]
pub struct ApiDoc;

/// `?page&limit&search` of every list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Only its documentation is used.
pub struct ListParamsDoc {
    /// 1-based page number (default 1).
    #[param(minimum = 1)]
    page: Option<u32>,
    /// Items per page (default 20; larger values are clamped to 100).
    #[param(minimum = 1)]
    limit: Option<u32>,
    /// Case-insensitive substring.
    search: Option<String>,
}

/// Filters of `GET /audit`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuditParamsDoc {
    /// An exact action, or a prefix ending in `*` (`token.*`).
    action: Option<String>,
    actor_id: Option<uuid::Uuid>,
    target_id: Option<uuid::Uuid>,
    /// RFC 3339 time.
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// RFC 3339 time.
    until: Option<chrono::DateTime<chrono::Utc>>,
}

/// Filters of `GET /sessions`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SessionParamsDoc {
    user_id: Option<uuid::Uuid>,
}

/// Filters of `GET /tokens`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct InventoryParamsDoc {
    owner_id: Option<uuid::Uuid>,
    /// `active`, `expired` or `revoked`.
    state: Option<String>,
    /// RFC 3339 time: tokens expiring before it.
    expires_before: Option<chrono::DateTime<chrono::Utc>>,
    /// RFC 3339 time: tokens never used, or last used before it.
    unused_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// The bearer scheme, and the error answers every operation may give.
pub struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("portal JWT or personal access token (justiam_pat_…)")
                    .build(),
            ),
        );
        let errors: &[(&str, &str)] = &[
            (
                "400",
                "Invalid input: `validation_error` (names the field), `invalid_json`, …",
            ),
            (
                "401",
                "Missing, invalid, expired or revoked credential (`WWW-Authenticate: Bearer`)",
            ),
            (
                "403",
                "The caller lacks a permission (named in `details.permission`)",
            ),
            ("404", "Not found, or not visible to the caller"),
            ("405", "Method not allowed"),
            ("409", "Conflict with the current state"),
            ("413", "Request body too large"),
            ("415", "The body must be application/json"),
            ("429", "Too many attempts (`Retry-After`)"),
            (
                "500",
                "Internal error (see the x-request-id in the server log)",
            ),
            ("503", "The database is unavailable"),
        ];
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, description) in errors {
                    if operation.responses.responses.contains_key(*status) {
                        continue;
                    }
                    let response = ResponseBuilder::new()
                        .description(*description)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build();
                    operation
                        .responses
                        .responses
                        .insert((*status).to_owned(), response.into());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// The committed document is the reviewed API. Any change to a route, parameter or body shows
    /// up here; accept it with `JUSTIAM_UPDATE_SNAPSHOTS=1 cargo test -p justiam-server openapi`.
    #[test]
    fn openapi_document_matches_the_reviewed_snapshot() {
        let current = crate::http::openapi_document()
            .to_pretty_json()
            .expect("serialises")
            + "\n";
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        if std::env::var("JUSTIAM_UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
            std::fs::write(&path, &current).expect("write snapshot");
            return;
        }
        let reviewed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            reviewed == current,
            "the API changed: review the difference with docs/openapi.json, then accept it with \
             JUSTIAM_UPDATE_SNAPSHOTS=1 cargo test -p justiam-server openapi"
        );
    }

    #[test]
    fn document_is_openapi_3_with_bearer_security_and_error_bodies() {
        let doc: serde_json::Value =
            serde_json::from_str(&crate::http::openapi_document().to_json().expect("json"))
                .expect("parses");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let create = &doc["paths"]["/api/v1/me/tokens"]["post"];
        assert_eq!(
            create["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        assert!(create["responses"]["201"].is_object());
        let login = &doc["paths"]["/api/v1/auth/login"]["post"];
        assert_eq!(
            login["security"],
            serde_json::json!([{}]),
            "login needs no credential"
        );
    }
}
