//! `justiam_application`: an OAuth / OpenID Connect client. The client secret of an `oidc`
//! application is returned only at creation and at a rotation (`secret_rotation`), and is kept in
//! the state.

use async_trait::async_trait;
use justiam_client::{Client, Result};
use justiam_types::application::{
    Application, ApplicationType, ClaimMapping, CreateApplication, CreatedApplication,
    RotateApplicationSecret, UpdateApplication,
};
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};
use uuid::Uuid;

use super::object::{Object, ObjectResource};
use super::{changed, check_not_blank, delta, replacements};
use crate::diag;
use crate::schema::{
    Computed, Optional, OptionalComputed, Required, StringSet, boolean, known, known_elements,
    list_block, number, schema, sensitive, set_of, string, string_set, with_blocks,
};

pub type ApplicationResource = ObjectResource<ApplicationObject>;

pub struct ApplicationObject;

/// The server's defaults (docs/api.md, "Applications"), so that a setting left out of the
/// configuration still shows a change made outside Terraform.
const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email"];
const DEFAULT_GRANT_TYPES: &[&str] = &["authorization_code"];
const DEFAULT_TOKEN_EXPIRY: i64 = 3600;
const TYPES: &[&str] = &["oidc", "spa", "external"];

/// One `claim_mapping` block; also the elements of the data source's `claim_mappings`.
#[derive(Serialize, Deserialize, Default, Clone, PartialEq, Debug)]
#[serde(default)]
pub struct ClaimMappingState {
    pub claim: Value<String>,
    pub value: Value<String>,
    pub required_scope: Value<String>,
}

impl ClaimMappingState {
    pub fn from_api(mapping: &ClaimMapping) -> Self {
        ClaimMappingState {
            claim: known(&mapping.claim),
            value: known(&mapping.value),
            required_scope: mapping.required_scope.as_ref().map_or(Value::Null, known),
        }
    }

    /// The API's mapping; `None` while a part is unknown.
    fn to_api(&self) -> Option<ClaimMapping> {
        Some(ClaimMapping {
            claim: self.claim.as_ref_option()?.clone(),
            value: self.value.as_ref_option()?.clone(),
            required_scope: match &self.required_scope {
                Value::Value(scope) => Some(scope.clone()),
                Value::Null => None,
                Value::Unknown => return None,
            },
        })
    }
}

pub type ClaimMappings = Value<Vec<ClaimMappingState>>;

/// The claim mappings as the API takes them; `None` while something is unknown.
fn claim_mappings(blocks: &ClaimMappings) -> Option<Vec<ClaimMapping>> {
    match blocks {
        Value::Value(items) => items.iter().map(ClaimMappingState::to_api).collect(),
        Value::Null => Some(Vec::new()),
        Value::Unknown => None,
    }
}

pub fn claim_mappings_of(app: &Application) -> ClaimMappings {
    Value::Value(
        app.claim_mappings
            .iter()
            .map(ClaimMappingState::from_api)
            .collect(),
    )
}

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct ApplicationState {
    pub id: Value<String>,
    pub client_id: Value<String>,
    pub name: Value<String>,
    #[serde(rename = "type")]
    pub app_type: Value<String>,
    pub friendly_name: Value<String>,
    pub description: Value<String>,
    pub redirect_uris: StringSet,
    pub post_logout_redirect_uris: StringSet,
    pub allowed_scopes: StringSet,
    pub grant_types: StringSet,
    pub require_pkce: Value<bool>,
    pub token_expiry: Value<i64>,
    pub access_restricted: Value<bool>,
    pub show_in_dashboard: Value<bool>,
    pub launch_url: Value<String>,
    pub claim_mapping: ClaimMappings,
    pub client_secret: Value<String>,
    pub secret_hint: Value<String>,
    pub secret_rotation: Value<String>,
    pub secret_grace_period_seconds: Value<i64>,
}

/// Whether the plan asks for a new secret: `secret_rotation` had a value and now has another
/// (or one not known yet). Setting it for the first time, after an import for instance, only
/// records it.
fn rotation_planned(prior: &ApplicationState, planned: &ApplicationState) -> bool {
    prior.secret_rotation.is_value()
        && !planned.secret_rotation.is_null()
        && prior.secret_rotation != planned.secret_rotation
}

fn set_delta(prior: &StringSet, planned: &StringSet) -> Option<Vec<String>> {
    (prior != planned).then(|| known_elements(planned))?
}

/// What differs between the prior and the planned state, as a partial update.
fn update_of(prior: &ApplicationState, planned: &ApplicationState) -> UpdateApplication {
    let claims = (claim_mappings(&prior.claim_mapping) != claim_mappings(&planned.claim_mapping))
        .then(|| claim_mappings(&planned.claim_mapping))
        .flatten();
    UpdateApplication {
        name: delta(&prior.name, &planned.name),
        friendly_name: delta(&prior.friendly_name, &planned.friendly_name),
        description: delta(&prior.description, &planned.description),
        redirect_uris: set_delta(&prior.redirect_uris, &planned.redirect_uris),
        post_logout_redirect_uris: set_delta(
            &prior.post_logout_redirect_uris,
            &planned.post_logout_redirect_uris,
        ),
        allowed_scopes: set_delta(&prior.allowed_scopes, &planned.allowed_scopes),
        grant_types: set_delta(&prior.grant_types, &planned.grant_types),
        require_pkce: delta(&prior.require_pkce, &planned.require_pkce),
        token_expiry: delta(&prior.token_expiry, &planned.token_expiry),
        access_restricted: delta(&prior.access_restricted, &planned.access_restricted),
        show_in_dashboard: delta(&prior.show_in_dashboard, &planned.show_in_dashboard),
        // The API removes the launch URL when given "".
        launch_url: (prior.launch_url != planned.launch_url).then(|| {
            planned
                .launch_url
                .as_ref_option()
                .cloned()
                .unwrap_or_default()
        }),
        claim_mappings: claims,
    }
}

fn create_of(planned: &ApplicationState) -> Option<CreateApplication> {
    let app_type = match planned.app_type.as_ref_option().map(String::as_str) {
        Some("spa") => ApplicationType::Spa,
        Some("external") => ApplicationType::External,
        _ => ApplicationType::Oidc,
    };
    Some(CreateApplication {
        name: planned.name.as_ref_option()?.clone(),
        app_type: Some(app_type),
        friendly_name: planned.friendly_name.as_ref_option().cloned(),
        description: planned.description.as_ref_option().cloned(),
        redirect_uris: known_elements(&planned.redirect_uris),
        post_logout_redirect_uris: known_elements(&planned.post_logout_redirect_uris),
        allowed_scopes: known_elements(&planned.allowed_scopes),
        grant_types: known_elements(&planned.grant_types),
        require_pkce: planned.require_pkce.as_ref_option().copied(),
        token_expiry: planned.token_expiry.as_ref_option().copied(),
        access_restricted: planned.access_restricted.as_ref_option().copied(),
        show_in_dashboard: planned.show_in_dashboard.as_ref_option().copied(),
        launch_url: planned.launch_url.as_ref_option().cloned(),
        claim_mappings: claim_mappings(&planned.claim_mapping),
    })
}

/// Whether a kept secret is still the current one: the server's hint (`…` and the last four
/// characters) ends it.
fn is_current(secret: &str, hint: Option<&str>) -> bool {
    hint.map(|hint| hint.trim_start_matches('…'))
        .is_some_and(|tail| !tail.is_empty() && secret.ends_with(tail))
}

fn strings(items: &[&str]) -> StringSet {
    set_of(items.iter().map(|s| (*s).to_owned()))
}

/// A whole number attribute within `range`, else an error naming it.
fn check_range(
    diags: &mut Diagnostics,
    attribute: &str,
    value: &Value<i64>,
    range: std::ops::RangeInclusive<i64>,
) {
    if let Value::Value(number) = value
        && !range.contains(number)
    {
        diag::error_at(
            diags,
            attribute,
            format!("Invalid {attribute}"),
            format!(
                "{attribute} must be from {} to {} seconds, not {number}.",
                range.start(),
                range.end()
            ),
        );
    }
}

#[async_trait]
impl Object for ApplicationObject {
    type State = ApplicationState;
    type Model = CreatedApplication;

    const KIND: &'static str = "application";

    fn schema() -> Schema {
        let attributes = vec![
            ("id", string(Computed, "The application's id (UUID).")),
            (
                "client_id",
                string(
                    Computed,
                    "The OAuth `client_id` (`justiam_app_…`), public; never changes.",
                ),
            ),
            ("name", string(Required, "Unique name, 1–100 characters.")),
            (
                "type",
                string(
                    OptionalComputed,
                    "`oidc` (default: a confidential client with a secret), `spa` (a public \
                     client, PKCE forced) or `external` (a dashboard link only). Changing it \
                     replaces the application.",
                ),
            ),
            (
                "friendly_name",
                string(
                    OptionalComputed,
                    "The name shown to people. Default `\"\"`.",
                ),
            ),
            ("description", string(OptionalComputed, "Default `\"\"`.")),
            (
                "redirect_uris",
                string_set(
                    OptionalComputed,
                    "1–20 absolute URLs, compared as exact strings: `https`, or `http` for \
                     loopback hosts; a `regex:` prefix makes a pattern matched against the whole \
                     URI. Required for `oidc` and `spa`. Default: none.",
                ),
            ),
            (
                "post_logout_redirect_uris",
                string_set(
                    OptionalComputed,
                    "Where RP-initiated logout may send the browser. Default: none.",
                ),
            ),
            (
                "allowed_scopes",
                string_set(
                    OptionalComputed,
                    "Default `[\"openid\", \"profile\", \"email\"]`; known: `openid profile email \
                     groups roles offline_access`, plus custom names used by claim mappings.",
                ),
            ),
            (
                "grant_types",
                string_set(
                    OptionalComputed,
                    "`authorization_code` and optionally `refresh_token`. Default \
                     `[\"authorization_code\"]`.",
                ),
            ),
            (
                "require_pkce",
                boolean(
                    OptionalComputed,
                    "Require PKCE (S256). Default `false`, `true` for `spa` (which cannot turn it \
                     off).",
                ),
            ),
            (
                "token_expiry",
                number(
                    OptionalComputed,
                    "Lifetime of ID and access tokens in seconds, 60–86400. Default `3600`.",
                ),
            ),
            (
                "access_restricted",
                boolean(
                    OptionalComputed,
                    "Only users granted access (`justiam_application_grant`), directly or \
                     through a group, may sign in. Default `false`.",
                ),
            ),
            (
                "show_in_dashboard",
                boolean(
                    OptionalComputed,
                    "Whether the application appears in users' dashboards. Default `true`.",
                ),
            ),
            (
                "launch_url",
                string(
                    Optional,
                    "Where the dashboard sends people. Required for `external`.",
                ),
            ),
            (
                "client_secret",
                sensitive(string(
                    Computed,
                    "The client secret (`justiam_cs_…`, `oidc` only), known when Terraform created \
                     the application or rotated its secret; **stored in the Terraform state**. \
                     Null after an import, and after a rotation made outside Terraform (the stored \
                     value stopped matching `secret_hint`).",
                )),
            ),
            (
                "secret_hint",
                string(
                    Computed,
                    "`…` and the last four characters of the current client secret (`oidc` \
                     only).",
                ),
            ),
            (
                "secret_rotation",
                string(
                    Optional,
                    "Any value (`oidc` only). Changing it to another value issues a new client \
                     secret in place; setting it for the first time (e.g. after an import) only \
                     records it.",
                ),
            ),
            (
                "secret_grace_period_seconds",
                number(
                    Optional,
                    "At a rotation, how long (0–86400 seconds) the previous secret keeps working. \
                     Default `0`: it stops at once.",
                ),
            ),
        ];
        let claim_mapping = list_block(
            "An extra claim in the ID token and userinfo (repeat the block for several).",
            vec![
                (
                    "claim",
                    string(Required, "The claim's name, e.g. `department`."),
                ),
                (
                    "value",
                    string(
                        Required,
                        "A template: `${email}`, `${username}`, `${first_name}`, `${last_name}`, \
                         `${name}`, `${id}`, `${groups}`, `${appRoles}`, `${<app mapping \
                         variable>}`; anything else is a literal.",
                    ),
                ),
                (
                    "required_scope",
                    string(Optional, "Only added when this scope was granted."),
                ),
            ],
        );
        with_blocks(
            schema(
                "An application (OAuth 2.0 / OpenID Connect client) that users sign in to with \
                 JustIAM. Import id: the application's id (the client secret stays null).",
                attributes,
            ),
            vec![("claim_mapping", claim_mapping)],
        )
    }

    fn validate(diags: &mut Diagnostics, config: &ApplicationState) {
        check_not_blank(
            diags,
            &config.name,
            "The application name must not be empty.",
        );
        if let Value::Value(kind) = &config.app_type
            && !TYPES.contains(&kind.as_str())
        {
            let why = if kind == "saml" {
                "SAML applications are not supported yet."
            } else {
                "It must be one of oidc, spa, external."
            };
            diag::error_at(
                diags,
                "type",
                "Invalid application type",
                format!("{kind:?} is not an application type JustIAM accepts. {why}"),
            );
        }
        check_range(diags, "token_expiry", &config.token_expiry, 60..=86_400);
        check_range(
            diags,
            "secret_grace_period_seconds",
            &config.secret_grace_period_seconds,
            0..=86_400,
        );
        if matches!(&config.app_type, Value::Value(t) if t != "oidc")
            && config.secret_rotation.is_value()
        {
            diag::error_at(
                diags,
                "secret_rotation",
                "Only oidc applications have a client secret",
                "Remove `secret_rotation`: `spa` and `external` applications have no secret.",
            );
        }
        if matches!(&config.app_type, Value::Value(t) if t == "spa")
            && config.require_pkce == Value::Value(false)
        {
            diag::error_at(
                diags,
                "require_pkce",
                "A spa application always requires PKCE",
                "A public client has no secret: PKCE is its only proof. Remove `require_pkce` or \
                 set it to true.",
            );
        }
    }

    fn id(state: &ApplicationState) -> &Value<String> {
        &state.id
    }

    /// Copies what the API says into the state. The secret is kept while it is still the
    /// current one.
    fn refresh(state: &mut ApplicationState, created: &CreatedApplication) {
        let app = &created.application;
        state.id = known(app.id.to_string());
        state.client_id = known(&app.client_id);
        state.name = known(&app.name);
        state.app_type = known(app.app_type.as_str());
        state.friendly_name = known(&app.friendly_name);
        state.description = known(&app.description);
        state.redirect_uris = set_of(app.redirect_uris.iter().cloned());
        state.post_logout_redirect_uris = set_of(app.post_logout_redirect_uris.iter().cloned());
        state.allowed_scopes = set_of(app.allowed_scopes.iter().cloned());
        state.grant_types = set_of(app.grant_types.iter().cloned());
        state.require_pkce = Value::Value(app.require_pkce);
        state.token_expiry = Value::Value(app.token_expiry);
        state.access_restricted = Value::Value(app.access_restricted);
        state.show_in_dashboard = Value::Value(app.show_in_dashboard);
        state.launch_url = app.launch_url.as_ref().map_or(Value::Null, known);
        state.claim_mapping = claim_mappings_of(app);
        state.secret_hint = app.secret_hint.as_ref().map_or(Value::Null, known);
        state.client_secret = match (&created.client_secret, &state.client_secret) {
            (Some(secret), _) => known(secret),
            (None, Value::Value(kept)) if is_current(kept, app.secret_hint.as_deref()) => {
                known(kept)
            }
            // Rotated outside Terraform, or never known (import, no secret).
            _ => Value::Null,
        };
    }

    fn apply_defaults(state: &mut ApplicationState, config: &ApplicationState) {
        if config.app_type.is_null() {
            state.app_type = known("oidc");
        }
        if config.friendly_name.is_null() {
            state.friendly_name = known("");
        }
        if config.description.is_null() {
            state.description = known("");
        }
        if config.redirect_uris.is_null() {
            state.redirect_uris = set_of([]);
        }
        if config.post_logout_redirect_uris.is_null() {
            state.post_logout_redirect_uris = set_of([]);
        }
        if config.allowed_scopes.is_null() {
            state.allowed_scopes = strings(DEFAULT_SCOPES);
        }
        if config.grant_types.is_null() {
            state.grant_types = strings(DEFAULT_GRANT_TYPES);
        }
        if config.require_pkce.is_null() {
            state.require_pkce = match &state.app_type {
                Value::Value(kind) => Value::Value(kind == "spa"),
                _ => Value::Unknown,
            };
        }
        if config.token_expiry.is_null() {
            state.token_expiry = Value::Value(DEFAULT_TOKEN_EXPIRY);
        }
        if config.access_restricted.is_null() {
            state.access_restricted = Value::Value(false);
        }
        if config.show_in_dashboard.is_null() {
            state.show_in_dashboard = Value::Value(true);
        }
        if state.claim_mapping.is_null() {
            state.claim_mapping = Value::Value(Vec::new());
        }
    }

    fn unknown_at_create(state: &mut ApplicationState) {
        state.id = Value::Unknown;
        state.client_id = Value::Unknown;
        state.client_secret = Value::Unknown;
        state.secret_hint = Value::Unknown;
    }

    fn unknown_at_update(prior: &ApplicationState, planned: &mut ApplicationState) {
        if rotation_planned(prior, planned) {
            planned.client_secret = Value::Unknown;
            planned.secret_hint = Value::Unknown;
        }
    }

    fn replacements(
        _diags: &mut Diagnostics,
        prior: &ApplicationState,
        planned: &ApplicationState,
    ) -> Vec<AttributePath> {
        replacements([("type", changed(&prior.app_type, &planned.app_type))])
    }

    async fn get(client: &Client, id: Uuid) -> Result<CreatedApplication> {
        Ok(CreatedApplication {
            application: client.get_application(id).await?,
            client_secret: None,
        })
    }

    async fn create(
        client: &Client,
        planned: &ApplicationState,
    ) -> Option<(String, Result<CreatedApplication>)> {
        let input = create_of(planned)?;
        Some((
            format!("{:?}", input.name),
            client.create_application(&input).await,
        ))
    }

    async fn update(
        client: &Client,
        id: Uuid,
        prior: &ApplicationState,
        planned: &ApplicationState,
    ) -> Result<CreatedApplication> {
        let update = update_of(prior, planned);
        let mut application = if update == UpdateApplication::default() {
            client.get_application(id).await?
        } else {
            client.update_application(id, &update).await?
        };
        // Known values now: rotate only when the trigger really changed.
        let rotate = prior.secret_rotation.is_value()
            && planned.secret_rotation.is_value()
            && prior.secret_rotation != planned.secret_rotation;
        let client_secret = if rotate {
            let body = RotateApplicationSecret {
                grace_period_seconds: planned.secret_grace_period_seconds.as_ref_option().copied(),
            };
            let rotated = client.rotate_application_secret(id, &body).await?;
            // The answer names the secret, not the new hint: read the application again.
            application = client.get_application(id).await?;
            Some(rotated.client_secret)
        } else {
            prior.client_secret.as_ref_option().cloned()
        };
        Ok(CreatedApplication {
            application,
            client_secret,
        })
    }

    async fn delete(client: &Client, id: Uuid) -> Result<()> {
        client.delete_application(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_app() -> Application {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        Application {
            id: Uuid::nil(),
            client_id: "justiam_app_x".into(),
            name: "wiki".into(),
            friendly_name: String::new(),
            description: String::new(),
            app_type: ApplicationType::Oidc,
            redirect_uris: vec!["https://wiki.example.com/cb".into()],
            post_logout_redirect_uris: vec![],
            allowed_scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            grant_types: vec!["authorization_code".into()],
            require_pkce: false,
            token_expiry: 3600,
            access_restricted: false,
            show_in_dashboard: true,
            launch_url: None,
            claim_mappings: vec![],
            secret_hint: Some("…abcd".into()),
            created_at: at,
            updated_at: at,
        }
    }

    fn configured() -> ApplicationState {
        ApplicationState {
            name: known("wiki"),
            redirect_uris: strings(&["https://wiki.example.com/cb"]),
            ..ApplicationState::default()
        }
    }

    /// The defaults planned for a bare configuration are what the server answers: no diff after
    /// the first apply.
    #[test]
    fn defaults_match_the_server() {
        let config = configured();
        let mut planned = config.clone();
        ApplicationObject::apply_defaults(&mut planned, &config);
        let mut read = planned.clone();
        ApplicationObject::refresh(
            &mut read,
            &CreatedApplication {
                application: api_app(),
                client_secret: Some("justiam_cs_secretabcd".into()),
            },
        );
        let mut replanned = read.clone();
        ApplicationObject::apply_defaults(&mut replanned, &config);
        assert_eq!(update_of(&read, &replanned), UpdateApplication::default());
        assert_eq!(read.client_secret, known("justiam_cs_secretabcd"));
        assert_eq!(read.claim_mapping, Value::Value(vec![]));
    }

    #[test]
    fn a_change_outside_terraform_is_sent_back() {
        let config = configured();
        let mut state = config.clone();
        let mut changed = api_app();
        changed.token_expiry = 60;
        changed.launch_url = Some("https://wiki.example.com".into());
        ApplicationObject::refresh(
            &mut state,
            &CreatedApplication {
                application: changed,
                client_secret: None,
            },
        );
        let mut planned = state.clone();
        planned.launch_url = Value::Null;
        ApplicationObject::apply_defaults(&mut planned, &config);
        let update = update_of(&state, &planned);
        assert_eq!(update.token_expiry, Some(3600));
        assert_eq!(update.launch_url.as_deref(), Some(""), "\"\" removes it");
        assert_eq!(update.name, None, "unchanged fields are not sent");
    }

    #[test]
    fn a_stale_secret_is_dropped() {
        let mut state = configured();
        state.client_secret = known("justiam_cs_oldoneWXYZ");
        ApplicationObject::refresh(
            &mut state,
            &CreatedApplication {
                application: api_app(),
                client_secret: None,
            },
        );
        assert_eq!(
            state.client_secret,
            Value::Null,
            "rotated outside Terraform"
        );
        let mut state = configured();
        state.client_secret = known("justiam_cs_currentabcd");
        ApplicationObject::refresh(
            &mut state,
            &CreatedApplication {
                application: api_app(),
                client_secret: None,
            },
        );
        assert_eq!(state.client_secret, known("justiam_cs_currentabcd"));
    }

    #[test]
    fn only_a_changed_trigger_rotates() {
        let with = |v: Value<String>| ApplicationState {
            secret_rotation: v,
            ..configured()
        };
        assert!(rotation_planned(&with(known("1")), &with(known("2"))));
        assert!(rotation_planned(&with(known("1")), &with(Value::Unknown)));
        assert!(!rotation_planned(&with(known("1")), &with(known("1"))));
        assert!(
            !rotation_planned(&with(Value::Null), &with(known("1"))),
            "first set"
        );
        assert!(
            !rotation_planned(&with(known("1")), &with(Value::Null)),
            "removed"
        );
        let mut planned = with(known("2"));
        ApplicationObject::unknown_at_update(&with(known("1")), &mut planned);
        assert!(planned.client_secret.is_unknown() && planned.secret_hint.is_unknown());
    }

    #[test]
    fn claim_mappings_round_trip() {
        let blocks = Value::Value(vec![ClaimMappingState {
            claim: known("team"),
            value: known("${groups}"),
            required_scope: known("groups"),
        }]);
        let api = claim_mappings(&blocks).unwrap_or_default();
        assert_eq!(api[0].required_scope.as_deref(), Some("groups"));
        assert_eq!(
            ClaimMappingState::from_api(&api[0]),
            ClaimMappingState {
                claim: known("team"),
                value: known("${groups}"),
                required_scope: known("groups"),
            }
        );
        let unknown = Value::Value(vec![ClaimMappingState {
            claim: known("team"),
            value: Value::Unknown,
            required_scope: Value::Null,
        }]);
        assert_eq!(claim_mappings(&unknown), None);
    }

    #[test]
    fn type_change_replaces() {
        let prior = ApplicationState {
            app_type: known("oidc"),
            ..configured()
        };
        let planned = ApplicationState {
            app_type: known("spa"),
            ..configured()
        };
        let mut diags = Diagnostics::default();
        let paths = ApplicationObject::replacements(&mut diags, &prior, &planned);
        assert_eq!(paths.len(), 1);
    }
}
