//! The OpenAPI 3 description, generated from the handlers' annotations.
//!
//! Every API route is registered through `utoipa_axum::routes!`, which takes the method and path
//! from the handler's `#[utoipa::path]`: the router cannot serve an API route the document lacks.

use justiam_types::rules;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, Object, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoParams, Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "JustIAM",
        description = "Identity and access management for people and machines: users, service accounts, \
                       groups, admin roles, audit, and personal access tokens (`justiam_pat_…`). \
                       Authenticate with `Authorization: Bearer <portal JWT, personal access token or service-account access token>`.",
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
        (name = "mfa", description = "Multi-factor authentication: the second step of a login, step-up, authenticator apps, recovery codes"),
        (name = "webhooks", description = "Webhooks (is_admin): signed event deliveries and their log"),
        (name = "machine identity", description = "OAuth clients and federated credentials of service accounts"),
    ),
)]
pub struct ApiDoc;

/// `?page&limit&search` of every list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Only its documentation is used.
pub struct ListParamsDoc {
    #[param(schema_with = page_schema)]
    page: Option<u32>,
    #[param(schema_with = limit_schema)]
    limit: Option<u32>,
    #[param(schema_with = search_schema)]
    search: Option<String>,
}

fn page_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .description(Some("1-based page number (default 1)."))
        .minimum(Some(1))
        .maximum(Some(rules::PAGE_MAX))
        .build()
}

fn limit_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .description(Some(format!(
            "Items per page (default {}); any larger value, however large, is clamped to {}.",
            rules::LIMIT_DEFAULT,
            rules::LIMIT_MAX
        )))
        .minimum(Some(1))
        .build()
}

fn search_schema() -> Object {
    no_controls()
        .description(Some(
            "Case-insensitive substring; blank is no filter. At most 200 characters, without \
             control characters.",
        ))
        .max_length(Some(rules::SEARCH_MAX_CHARS))
        .build()
}

fn no_controls() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(rules::NO_CONTROLS_PATTERN))
}

/// Filters of `GET /audit`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuditParamsDoc {
    #[param(schema_with = action_schema)]
    action: Option<String>,
    actor_id: Option<uuid::Uuid>,
    target_id: Option<uuid::Uuid>,
    /// RFC 3339 time.
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// RFC 3339 time.
    until: Option<chrono::DateTime<chrono::Utc>>,
}

fn action_schema() -> Object {
    no_controls()
        .description(Some(
            "An exact action, or a prefix ending in `*` (`token.*`); empty is no filter.",
        ))
        .build()
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
    #[param(schema_with = token_state_schema)]
    state: Option<String>,
    /// RFC 3339 time: tokens expiring before it.
    expires_before: Option<chrono::DateTime<chrono::Utc>>,
    /// RFC 3339 time: tokens never used, or last used before it.
    unused_since: Option<chrono::DateTime<chrono::Utc>>,
    /// `full` (tokens of everything their owner may do) or `fine_grained` (with a permission list).
    #[param(schema_with = token_scope_schema)]
    scope: Option<String>,
}

/// The filters of a token list (`/me/tokens`, `/users/{id}/tokens`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct TokenListParamsDoc {
    /// `active` (still working), `expiring` (still working, stopping within 7 days: its expiry or
    /// the end of a rotation grace period) or `expired`.
    #[param(schema_with = token_list_state_schema)]
    state: Option<String>,
    /// `newest` (the default), `oldest`, `expires` (soonest to stop first), `expires_desc`,
    /// `name` or `last_used` (most recent first, never used last).
    #[param(schema_with = token_list_sort_schema)]
    sort: Option<String>,
}

/// The states a token inventory filters on.
pub const TOKEN_STATES: [&str; 3] = ["active", "expired", "revoked"];

/// The scopes a token inventory filters on.
pub const TOKEN_SCOPES: [&str; 2] = ["full", "fine_grained"];

fn one_of(description: &str, values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values.iter().copied()))
        .build()
}

fn token_state_schema() -> Object {
    one_of("Only tokens in this state.", &TOKEN_STATES)
}

fn token_scope_schema() -> Object {
    one_of(
        "`full` (tokens of everything their owner may do) or `fine_grained` (with a permission list).",
        &TOKEN_SCOPES,
    )
}

fn token_list_state_schema() -> Object {
    one_of(
        "`active` (still working), `expiring` (still working, stopping within 7 days) or `expired`.",
        &["active", "expiring", "expired"],
    )
}

fn token_list_sort_schema() -> Object {
    one_of(
        "Order of the list; `newest` when absent.",
        &[
            "newest",
            "oldest",
            "expires",
            "expires_desc",
            "name",
            "last_used",
        ],
    )
}

/// The runtime expression for the id a creation answers with.
const CREATED_ID: &str = "$response.body#/id";

/// Where an operation takes a created id.
#[derive(Clone, Copy)]
enum Takes {
    /// As this path parameter.
    Path(&'static str),
    /// As this field of the body.
    Body(&'static str),
    /// Something created under a parent (a service account's token, an application's grant): the
    /// parent from the creating request's path as `{id}`, the created id as this path parameter.
    Nested(&'static str),
}

use Takes::{Body, Nested, Path};

const fn by_id(operation: &'static str) -> (&'static str, Takes) {
    (operation, Path("id"))
}

// A token is also revocable from the inventory (`revoke_token`, `DELETE /tokens/{id}`), but that
// is not linked: schemathesis relates a removal to the paths under the removing request's own
// path only, so a token revoked through the inventory and then rotated under its owner's path
// (`404`, as for any revoked token) reads to it as a created resource gone missing.
const OWN_TOKEN: &[(&str, Takes)] = &[by_id("revoke_own_token"), by_id("rotate_own_token")];

const ACCOUNT_TOKEN: &[(&str, Takes)] = &[
    ("revoke_service_account_token", Nested("token_id")),
    ("rotate_service_account_token", Nested("token_id")),
];

/// Which operations use what each creation (`201`) answers with: written into the document as
/// OpenAPI links, so that a client — and schemathesis's stateful phase — can chain a creation to
/// the reads, changes and deletions of what it created.
const LINKS: &[(&str, &[(&str, Takes)])] = &[
    (
        "create_user",
        &[
            by_id("get_user"),
            by_id("update_user"),
            by_id("delete_user"),
            by_id("list_user_admin_roles"),
            by_id("assign_user_admin_role"),
            by_id("unassign_user_admin_role"),
            by_id("revoke_user_sessions"),
            by_id("list_service_account_tokens"),
            by_id("create_service_account_token"),
            by_id("revoke_service_account_token"),
            by_id("rotate_service_account_token"),
            ("add_group_member", Body("user_id")),
            ("remove_group_member", Path("user_id")),
            by_id("list_user_app_mappings"),
            by_id("assign_user_app_mapping"),
            by_id("unassign_user_app_mapping"),
            ("add_application_grant", Body("user_id")),
            by_id("get_user_mfa"),
            by_id("reset_user_mfa"),
            by_id("send_password_reset"),
            by_id("list_service_account_clients"),
            by_id("create_service_account_client"),
            by_id("get_service_account_client"),
            by_id("delete_service_account_client"),
            by_id("list_federated_credentials"),
            by_id("create_federated_credential"),
            by_id("get_federated_credential"),
            by_id("delete_federated_credential"),
        ],
    ),
    (
        "create_group",
        &[
            by_id("get_group"),
            by_id("update_group"),
            by_id("delete_group"),
            by_id("list_group_members"),
            by_id("add_group_member"),
            by_id("remove_group_member"),
            by_id("list_group_admin_roles"),
            by_id("assign_group_admin_role"),
            by_id("unassign_group_admin_role"),
            by_id("list_group_app_mappings"),
            by_id("assign_group_app_mapping"),
            by_id("unassign_group_app_mapping"),
            ("add_application_grant", Body("group_id")),
        ],
    ),
    (
        "create_admin_role",
        &[
            by_id("get_admin_role"),
            by_id("update_admin_role"),
            by_id("delete_admin_role"),
            ("assign_user_admin_role", Body("role_id")),
            ("assign_group_admin_role", Body("role_id")),
            ("unassign_user_admin_role", Path("role_id")),
            ("unassign_group_admin_role", Path("role_id")),
        ],
    ),
    (
        "create_application",
        &[
            by_id("get_application"),
            by_id("update_application"),
            by_id("delete_application"),
            by_id("rotate_application_secret"),
            by_id("list_application_grants"),
            by_id("add_application_grant"),
            by_id("remove_application_grant"),
            ("create_app_mapping", Body("application_id")),
        ],
    ),
    (
        "add_application_grant",
        &[("remove_application_grant", Nested("grant_id"))],
    ),
    (
        "create_app_mapping",
        &[
            by_id("get_app_mapping"),
            by_id("update_app_mapping"),
            by_id("delete_app_mapping"),
            ("assign_user_app_mapping", Body("mapping_id")),
            ("assign_group_app_mapping", Body("mapping_id")),
            ("unassign_user_app_mapping", Path("mapping_id")),
            ("unassign_group_app_mapping", Path("mapping_id")),
        ],
    ),
    (
        "create_webhook",
        &[
            by_id("get_webhook"),
            by_id("update_webhook"),
            by_id("delete_webhook"),
            by_id("list_webhook_deliveries"),
            by_id("send_webhook_test"),
        ],
    ),
    ("create_own_token", OWN_TOKEN),
    ("rotate_own_token", OWN_TOKEN),
    ("create_service_account_token", ACCOUNT_TOKEN),
    ("rotate_service_account_token", ACCOUNT_TOKEN),
    (
        "create_service_account_client",
        &[
            ("get_service_account_client", Nested("client_id")),
            ("delete_service_account_client", Nested("client_id")),
        ],
    ),
    (
        "create_federated_credential",
        &[
            ("get_federated_credential", Nested("fc_id")),
            ("delete_federated_credential", Nested("fc_id")),
        ],
    ),
];

/// Adds [`LINKS`] to the `201` answers of the creating operations.
fn add_links(doc: &mut OpenApiDoc) {
    let mut operations: Vec<&mut Operation> = doc
        .paths
        .paths
        .values_mut()
        .flat_map(|item| {
            [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
        })
        .filter_map(Option::as_mut)
        .collect();
    for (creation, follows) in LINKS {
        let Some(operation) = operations
            .iter_mut()
            .find(|op| op.operation_id.as_deref() == Some(creation))
        else {
            continue;
        };
        let Some(RefOr::T(created)) = operation.responses.responses.get_mut("201") else {
            continue;
        };
        for (target, takes) in *follows {
            let link = LinkBuilder::new().operation_id(*target);
            let link = match takes {
                Path(name) => link.parameter(*name, CREATED_ID),
                Body(field) => link.request_body(Some(serde_json::json!({ *field: CREATED_ID }))),
                Nested(name) => link
                    .parameter("id", "$request.path.id")
                    .parameter(*name, CREATED_ID),
            };
            created
                .links
                .insert((*target).to_owned(), link.build().into());
        }
    }
}

/// The rule across fields of `CreateUser`: a service account has no password. Stated as "not a
/// service account, or no password" (`anyOf`), which needs neither `not` nor `if`.
fn service_accounts_have_no_password(doc: &mut OpenApiDoc) {
    let Some(schemas) = doc.components.as_mut().map(|c| &mut c.schemas) else {
        return;
    };
    let Some(create_user) = schemas.remove("CreateUser") else {
        return;
    };
    let property = |name: &str, schema: ObjectBuilder| {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(name, schema)
    };
    let not_a_service_account = property(
        "is_service_account",
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Boolean, Type::Null]))
            .enum_values(Some([
                serde_json::Value::Bool(false),
                serde_json::Value::Null,
            ])),
    );
    let no_password = property("password", ObjectBuilder::new().schema_type(Type::Null));
    let rule = AllOfBuilder::new().item(create_user).item(
        AnyOfBuilder::new()
            .item(not_a_service_account)
            .item(no_password),
    );
    schemas.insert("CreateUser".to_owned(), rule.into());
}

/// `CreateApplicationGrant` names exactly one of a user and a group: "a user and no group, or a
/// group and no user" (`anyOf` of two cases that exclude each other).
fn grants_name_one_holder(doc: &mut OpenApiDoc) {
    let Some(schemas) = doc.components.as_mut().map(|c| &mut c.schemas) else {
        return;
    };
    let Some(grant) = schemas.remove("CreateApplicationGrant") else {
        return;
    };
    let only = |named: &str, absent: &str| {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(named, ObjectBuilder::new().schema_type(Type::String))
            .property(absent, ObjectBuilder::new().schema_type(Type::Null))
            .required(named)
    };
    let rule = AllOfBuilder::new().item(grant).item(
        AnyOfBuilder::new()
            .item(only("user_id", "group_id"))
            .item(only("group_id", "user_id")),
    );
    schemas.insert("CreateApplicationGrant".to_owned(), rule.into());
}

/// `CreateServiceAccountClient`, one case per `auth_method`: a `client_secret` client (the
/// default) takes no key; a `private_key_jwt` client takes exactly one of `jwks` and
/// `public_key_pem`, each stated as the server reads it.
fn clients_by_auth_method(doc: &mut OpenApiDoc) {
    let Some(schemas) = doc.components.as_mut().map(|c| &mut c.schemas) else {
        return;
    };
    let Some(client) = schemas.remove("CreateServiceAccountClient") else {
        return;
    };
    let method = |name: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([name]))
    };
    let null = || ObjectBuilder::new().schema_type(Type::Null);
    let secret = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "`client_secret` (the default): no key; the secret is generated.",
        ))
        .property("auth_method", method("client_secret"))
        .property("jwks", null())
        .property("public_key_pem", null());
    let keyed = |key: &str, schema: Schema, other: &str| {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("auth_method", method("private_key_jwt"))
            .property(key, schema)
            .property(other, null())
            .required("auth_method")
            .required(key)
    };
    let rule = AllOfBuilder::new().item(client).item(
        AnyOfBuilder::new()
            .item(secret)
            .item(keyed("jwks", jwks_schema(), "public_key_pem"))
            .item(keyed("public_key_pem", pem_schema().into(), "jwks")),
    );
    schemas.insert("CreateServiceAccountClient".to_owned(), rule.into());
}

/// The JWKS of a `private_key_jwt` client: 1 to 10 public keys, each RSA (a modulus of 2048 bits
/// or more) or EC P-256, members in base64url, no private member.
fn jwks_schema() -> Schema {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let pattern = |p: &str| string().pattern(Some(p));
    let key = |kty: &str, alg: &str, members: Vec<(&str, ObjectBuilder)>, others: &[&str]| {
        let mut key = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("kty", string().enum_values(Some([kty])))
            .property(
                "alg",
                string()
                    .description(Some(
                        "When present, the algorithm of the key's type (or empty).",
                    ))
                    .enum_values(Some([alg, ""])),
            )
            .property("kid", string())
            .property("use", string())
            .required("kty");
        for (name, schema) in members {
            key = key.property(name, schema).required(name);
        }
        for name in others {
            key = key.property(*name, string());
        }
        for name in rules::JWK_PRIVATE_MEMBERS {
            // A schema no value meets: the member must be absent.
            key = key.property(
                name,
                string()
                    .description(Some(
                        "A private member: never (register the public key only).",
                    ))
                    .min_length(Some(1))
                    .max_length(Some(0)),
            );
        }
        key
    };
    let rsa = key(
        "RSA",
        "RS256",
        vec![
            ("n", pattern(rules::JWK_RSA_MODULUS_PATTERN)),
            ("e", pattern(rules::JWK_BASE64URL_PATTERN)),
        ],
        &["crv", "x", "y"],
    );
    let ec = key(
        "EC",
        "ES256",
        vec![
            ("crv", string().enum_values(Some(["P-256"]))),
            ("x", pattern(rules::JWK_P256_COORDINATE_PATTERN)),
            ("y", pattern(rules::JWK_P256_COORDINATE_PATTERN)),
        ],
        &["n", "e"],
    );
    let keys = utoipa::openapi::schema::ArrayBuilder::new()
        .items(AnyOfBuilder::new().item(rsa).item(ec))
        .min_items(Some(1))
        .max_items(Some(rules::CLIENT_KEYS_MAX));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "The client's public keys as a JWKS: 1 to 10 keys, each RSA (`n` of 2048 bits or \
             more, `e`; `alg` RS256 if any) or EC P-256 (`x`, `y`; `alg` ES256 if any), without \
             private members.",
        ))
        .property("keys", keys)
        .required("keys")
        .into()
}

/// One PEM public key, in the forms the server reads (`rules::PEM_KEY_TEMPLATES`).
fn pem_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "One public key in PEM (`-----BEGIN PUBLIC KEY-----`): EC P-256, or RSA of 2048, 3072 \
             or 4096 bits with the exponent 65537 (what `openssl pkey -pubout` writes for the \
             usual keys). Any other RSA key registers as `jwks`.",
        ))
        .pattern(Some(rules::public_key_pem_pattern()))
        .build()
}

/// `CreateFederatedCredential` names what its tokens must carry: a `subject`, or at least one
/// claim condition, or both (a credential trusting every token of an issuer is refused).
fn federated_credentials_name_a_subject_or_claims(doc: &mut OpenApiDoc) {
    let Some(schemas) = doc.components.as_mut().map(|c| &mut c.schemas) else {
        return;
    };
    let Some(mut credential) = schemas.remove("CreateFederatedCredential") else {
        return;
    };
    // The conditions: at most 20, names and values as `ConditionValue`, no name the exchange
    // checks itself.
    if let RefOr::T(Schema::Object(body)) = &mut credential
        && let Some(RefOr::T(Schema::Object(claims))) = body.properties.get_mut("claims")
    {
        claims.max_properties = Some(rules::CLAIM_CONDITIONS_MAX);
        claims.additional_properties = Some(Box::new(
            RefOr::Ref(Ref::from_schema_name("ConditionValue")).into(),
        ));
        claims.property_names = Some(Box::new(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(rules::MAPPING_VALUE_MAX_CHARS))
                .pattern(Some(rules::claim_condition_name_pattern()))
                .into(),
        ));
    }
    let subject = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("subject", ObjectBuilder::new().schema_type(Type::String))
        .required("subject");
    let claims = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "claims",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .min_properties(Some(1)),
        )
        .required("claims");
    let rule = AllOfBuilder::new()
        .item(credential)
        .item(AnyOfBuilder::new().item(subject).item(claims));
    schemas.insert("CreateFederatedCredential".to_owned(), rule.into());
}

/// States what this server is configured to enforce where the document's defaults may differ:
/// the minimum password length.
pub fn configure(doc: &mut OpenApiDoc, password_min_length: usize) {
    let password = doc
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("Password"));
    if let Some(RefOr::T(Schema::Object(password))) = password {
        password.min_length = Some(password_min_length);
    }
}

/// The bearer scheme, the error answers every operation may give, rules across fields, and the
/// links between operations.
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
        add_links(doc);
        service_accounts_have_no_password(doc);
        grants_name_one_holder(doc);
        clients_by_auth_method(doc);
        federated_credentials_name_a_subject_or_claims(doc);
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

    use super::*;

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

    fn document() -> serde_json::Value {
        serde_json::from_str(&crate::http::openapi_document().to_json().expect("json"))
            .expect("parses")
    }

    /// `(method, path, operation)` of every operation.
    fn operations(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
        let mut all = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                all.push((method.clone(), path.clone(), operation.clone()));
            }
        }
        all
    }

    #[test]
    fn every_operation_has_its_own_id() {
        let doc = document();
        let mut ids: Vec<String> = operations(&doc)
            .iter()
            .map(|(method, path, op)| {
                op["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path} has no operationId"))
                    .to_owned()
            })
            .collect();
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "operation ids repeat");
    }

    /// Each link names an operation of the document and only its parameters and body fields; and
    /// every creation links to every operation under its own path that takes the created `{id}`.
    #[test]
    fn links_lead_from_each_creation_to_the_operations_that_take_its_id() {
        let doc = document();
        let all = operations(&doc);
        let by_id = |id: &str| {
            all.iter()
                .find(|(_, _, op)| op["operationId"] == id)
                .unwrap_or_else(|| panic!("no operation {id}"))
        };
        let mut linked = 0;
        for (method, path, op) in &all {
            let Some(links) = op["responses"]["201"]["links"].as_object() else {
                continue;
            };
            for (name, link) in links {
                linked += 1;
                let target = link["operationId"].as_str().expect("operationId");
                assert_eq!(name, target);
                let (_, target_path, target_op) = by_id(target);
                let parameters: Vec<&str> = target_op["parameters"]
                    .as_array()
                    .map(|list| list.iter().filter_map(|p| p["name"].as_str()).collect())
                    .unwrap_or_default();
                for (parameter, value) in link["parameters"].as_object().into_iter().flatten() {
                    assert!(
                        parameters.contains(&parameter.as_str()),
                        "{method} {path} → {target}: no parameter {parameter}"
                    );
                    assert!(value.as_str().is_some_and(|v| v.starts_with('$')));
                }
                if let Some(body) = link["requestBody"].as_object() {
                    let schema =
                        &target_op["requestBody"]["content"]["application/json"]["schema"]["$ref"];
                    let name = schema.as_str().and_then(|r| r.rsplit('/').next());
                    // The body's own properties, or those of the first part of a rule across
                    // fields (`allOf: [the body, the rule]`).
                    let schema = &doc["components"]["schemas"][name.expect("a body")];
                    let properties = match &schema["allOf"][0] {
                        serde_json::Value::Null => &schema["properties"],
                        body => &body["properties"],
                    };
                    for field in body.keys() {
                        assert!(properties[field].is_object(), "{target}: no field {field}");
                    }
                }
                let takes_id = target_path.contains("{id}") || link["requestBody"].is_object();
                assert!(takes_id, "{target} takes no id");
            }
            if method == "post" && op["responses"]["201"]["content"].is_object() {
                let own = format!("{path}/{{id}}");
                for (_, target_path, target_op) in &all {
                    let target = target_op["operationId"].as_str().expect("id");
                    if target_path.starts_with(&own) {
                        assert!(
                            links.contains_key(target),
                            "{method} {path} does not link to {target} ({target_path})"
                        );
                    }
                }
            }
        }
        assert!(linked >= 40, "only {linked} links");
        // The ones the rule above does not see: ids under another path or in a body.
        let create_user = &by_id("create_user").2["responses"]["201"]["links"];
        assert_eq!(
            create_user["remove_group_member"]["parameters"]["user_id"],
            CREATED_ID
        );
        assert_eq!(
            create_user["add_group_member"]["requestBody"]["user_id"],
            CREATED_ID
        );
        let token = &by_id("create_service_account_token").2["responses"]["201"]["links"];
        assert_eq!(
            token["revoke_service_account_token"]["parameters"]["id"],
            "$request.path.id"
        );
        assert!(token.get("revoke_token").is_none(), "see OWN_TOKEN");
    }

    /// The rules the derive macros cannot take from `justiam_types::rules` are the same text.
    #[test]
    fn the_document_states_the_rules_of_justiam_types() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["LoginEmail"]["pattern"], rules::LOGIN_EMAIL_PATTERN);
        assert_eq!(schemas["Name"]["pattern"], rules::NAME_PATTERN);
        assert_eq!(
            schemas["AdminRoleName"]["pattern"],
            rules::ADMIN_ROLE_NAME_PATTERN
        );
        assert_eq!(schemas["Email"]["pattern"], rules::EMAIL_PATTERN);
        assert_eq!(
            schemas["TokenPermission"]["enum"],
            serde_json::json!(rules::token_permission_entries())
        );
        let uri = &schemas["RedirectUris"]["items"]["anyOf"];
        assert_eq!(uri[0]["pattern"], rules::REDIRECT_URI_PATTERN);
        assert_eq!(uri[1]["pattern"], rules::REDIRECT_URI_REGEX_PATTERN);
        assert_eq!(schemas["LaunchUrl"]["pattern"], rules::LAUNCH_URL_PATTERN);
        assert_eq!(schemas["ClaimName"]["pattern"], rules::claim_name_pattern());
        assert_eq!(
            schemas["VariableName"]["pattern"],
            rules::variable_name_pattern()
        );
        assert_eq!(
            schemas["ApplicationTypeName"]["enum"],
            serde_json::json!(["oidc", "spa", "external"])
        );
        let holder = &schemas["CreateApplicationGrant"]["allOf"][1]["anyOf"];
        assert_eq!(holder[0]["required"], serde_json::json!(["user_id"]));
        assert_eq!(holder[0]["properties"]["group_id"]["type"], "null");
        assert_eq!(holder[1]["required"], serde_json::json!(["group_id"]));
        let any_of = &schemas["CreateUser"]["allOf"][1]["anyOf"];
        assert_eq!(
            any_of[0]["properties"]["is_service_account"]["enum"],
            serde_json::json!([false, null])
        );
        assert_eq!(any_of[1]["properties"]["password"]["type"], "null");
        let list = &doc["paths"]["/api/v1/users"]["get"]["parameters"];
        assert_eq!(list[0]["schema"]["maximum"], u64::from(rules::PAGE_MAX));
        assert_eq!(list[2]["schema"]["maxLength"], rules::SEARCH_MAX_CHARS);
        let states = &doc["paths"]["/api/v1/tokens"]["get"]["parameters"];
        let state = states
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == "state"))
            .expect("state");
        assert_eq!(state["schema"]["enum"], serde_json::json!(TOKEN_STATES));
    }

    #[test]
    fn the_served_document_states_the_configured_password_length() {
        let mut doc = crate::http::openapi_document();
        configure(&mut doc, 12);
        let json: serde_json::Value =
            serde_json::from_str(&doc.to_json().expect("json")).expect("parses");
        assert_eq!(json["components"]["schemas"]["Password"]["minLength"], 12);
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
