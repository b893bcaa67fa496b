//! Data sources: `justiam_user` (by id or email), `justiam_group` (by id or name),
//! `justiam_admin_role` (by name, the built-in `idp:*` roles included) and `justiam_application`
//! (by id or name).

use async_trait::async_trait;
use justiam_client::Client;
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{DataSource, Diagnostics};
use uuid::Uuid;

use crate::diag;
use crate::provider::Shared;
use crate::resources::{ClaimMappingState, claim_mappings_of, find_in_pages};
use crate::schema::{
    Computed, OptionalComputed, Required, StringSet, boolean, known, number, schema, set_of,
    string, string_object_list, string_set,
};

/// Exactly one of two lookup keys must be set.
fn one_of(
    diags: &mut Diagnostics,
    kind: &str,
    (first, a): (&str, &Value<String>),
    (second, b): (&str, &Value<String>),
) {
    if a.is_null() && b.is_null() {
        diag::error(
            diags,
            format!("Missing {kind} lookup"),
            format!("Set `{first}` or `{second}` to find the {kind}."),
        );
    } else if a.is_value() && b.is_value() {
        diag::error(
            diags,
            format!("Ambiguous {kind} lookup"),
            format!("Set only one of `{first}` and `{second}`."),
        );
    }
}

/// What a data source is asked to look up: an id, or the value of its other key.
enum Lookup<'c> {
    Id(Uuid),
    Key(&'c str),
}

/// The lookup the configuration asks for, by `id` or by `key`; `None` after a diagnostic.
fn lookup<'c>(
    diags: &mut Diagnostics,
    kind: &str,
    id: &'c Value<String>,
    (key_name, key): (&str, &'c Value<String>),
) -> Option<Lookup<'c>> {
    match (id, key) {
        (Value::Value(id), _) => Some(Lookup::Id(diag::parse_uuid(diags, "id", id)?)),
        (_, Value::Value(key)) => Some(Lookup::Key(key)),
        _ => {
            one_of(diags, kind, ("id", id), (key_name, key));
            None
        }
    }
}

/// What a lookup found; `None` after a diagnostic when it found nothing or failed.
fn found<T>(
    diags: &mut Diagnostics,
    what: String,
    result: justiam_client::Result<Option<T>>,
) -> Option<T> {
    match result {
        Ok(Some(found)) => Some(found),
        Err(err) if !diag::is_not_found(&err) => {
            diag::api_error(diags, &format!("find {what}"), &err);
            None
        }
        _ => {
            diag::error(
                diags,
                format!("Not found: {what}"),
                format!("The JustIAM server has no {what}."),
            );
            None
        }
    }
}

// --- justiam_user ---------------------------------------------------------------------------------

pub struct UserData(pub Shared);

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
pub struct UserDataState {
    id: Value<String>,
    email: Value<String>,
    username: Value<String>,
    first_name: Value<String>,
    last_name: Value<String>,
    is_active: Value<bool>,
    is_admin: Value<bool>,
    is_service_account: Value<bool>,
}

async fn find_user_by_email(
    client: &Client,
    email: &str,
) -> justiam_client::Result<Option<justiam_types::User>> {
    let wanted = email.trim().to_lowercase();
    find_in_pages(
        Some(email.trim()),
        |params| {
            let client = client.clone();
            async move { client.list_users(&params).await }
        },
        |user| user.email.to_lowercase() == wanted,
    )
    .await
}

#[async_trait]
impl DataSource for UserData {
    type State<'a> = UserDataState;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "Looks up a user or service account by `id` or by `email` (exactly one).",
            vec![
                ("id", string(OptionalComputed, "The user's id.")),
                (
                    "email",
                    string(OptionalComputed, "The user's email (case-insensitive)."),
                ),
                ("username", string(Computed, "Username.")),
                ("first_name", string(Computed, "First name.")),
                ("last_name", string(Computed, "Last name.")),
                (
                    "is_active",
                    boolean(Computed, "Whether the user is active."),
                ),
                (
                    "is_admin",
                    boolean(Computed, "Whether the user is an administrator."),
                ),
                (
                    "is_service_account",
                    boolean(Computed, "Whether the user is a service account."),
                ),
            ],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        one_of(diags, "user", ("id", &config.id), ("email", &config.email));
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::State<'a>> {
        let client = self.0.client(diags)?;
        let (what, result) = match lookup(diags, "user", &config.id, ("email", &config.email))? {
            Lookup::Id(id) => (
                format!("user with id {id}"),
                client.get_user(id).await.map(Some),
            ),
            Lookup::Key(email) => (
                format!("user with email {email:?}"),
                find_user_by_email(&client, email).await,
            ),
        };
        let user = found(diags, what, result)?;
        Some(UserDataState {
            id: known(user.id.to_string()),
            email: known(user.email),
            username: known(user.username),
            first_name: known(user.first_name),
            last_name: known(user.last_name),
            is_active: Value::Value(user.is_active),
            is_admin: Value::Value(user.is_admin),
            is_service_account: Value::Value(user.is_service_account),
        })
    }
}

// --- justiam_group --------------------------------------------------------------------------------

pub struct GroupData(pub Shared);

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
pub struct GroupDataState {
    id: Value<String>,
    name: Value<String>,
    description: Value<String>,
    member_count: Value<i64>,
}

#[async_trait]
impl DataSource for GroupData {
    type State<'a> = GroupDataState;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "Looks up a group by `id` or by `name` (exactly one).",
            vec![
                ("id", string(OptionalComputed, "The group's id.")),
                (
                    "name",
                    string(OptionalComputed, "The group's name (exact)."),
                ),
                ("description", string(Computed, "Description.")),
                ("member_count", number(Computed, "Number of members.")),
            ],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        one_of(diags, "group", ("id", &config.id), ("name", &config.name));
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::State<'a>> {
        let client = self.0.client(diags)?;
        let (what, result) = match lookup(diags, "group", &config.id, ("name", &config.name))? {
            Lookup::Id(id) => (
                format!("group with id {id}"),
                client.get_group(id).await.map(Some),
            ),
            Lookup::Key(name) => (
                format!("group named {name:?}"),
                find_in_pages(
                    Some(name),
                    |params| {
                        let client = client.clone();
                        async move { client.list_groups(&params).await }
                    },
                    |group| group.name == name,
                )
                .await,
            ),
        };
        let group = found(diags, what, result)?;
        Some(GroupDataState {
            id: known(group.id.to_string()),
            name: known(group.name),
            description: known(group.description),
            member_count: Value::Value(i64::try_from(group.member_count).unwrap_or(i64::MAX)),
        })
    }
}

// --- justiam_admin_role ---------------------------------------------------------------------------

pub struct AdminRoleData(pub Shared);

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AdminRoleDataState {
    id: Value<String>,
    name: Value<String>,
    description: Value<String>,
    permissions: StringSet,
    is_builtin: Value<bool>,
}

#[async_trait]
impl DataSource for AdminRoleData {
    type State<'a> = AdminRoleDataState;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "Looks up an admin role by name, the built-in roles (`idp:admin`, \
             `idp:group-manager`, `idp:viewer`, `idp:directory-viewer`) included.",
            vec![
                ("name", string(Required, "The role's name (exact).")),
                ("id", string(Computed, "The role's id.")),
                ("description", string(Computed, "Description.")),
                (
                    "permissions",
                    string_set(Computed, "The role's permissions."),
                ),
                (
                    "is_builtin",
                    boolean(Computed, "Whether it is a built-in, immutable role."),
                ),
            ],
        ))
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::State<'a>> {
        let client = self.0.client(diags)?;
        let name = config.name.as_ref_option()?.clone();
        let what = format!("admin role named {name:?}");
        let result = find_in_pages(
            None,
            |params| {
                let client = client.clone();
                async move { client.list_roles(&params).await }
            },
            |role| role.name == name,
        )
        .await;
        let role = found(diags, what, result)?;
        Some(AdminRoleDataState {
            id: known(role.id.to_string()),
            name: known(role.name),
            description: known(role.description),
            permissions: set_of(role.permissions),
            is_builtin: Value::Value(role.is_builtin),
        })
    }
}

// --- justiam_application --------------------------------------------------------------------------

pub struct ApplicationData(pub Shared);

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ApplicationDataState {
    id: Value<String>,
    name: Value<String>,
    client_id: Value<String>,
    #[serde(rename = "type")]
    app_type: Value<String>,
    friendly_name: Value<String>,
    description: Value<String>,
    redirect_uris: StringSet,
    post_logout_redirect_uris: StringSet,
    allowed_scopes: StringSet,
    grant_types: StringSet,
    require_pkce: Value<bool>,
    token_expiry: Value<i64>,
    access_restricted: Value<bool>,
    show_in_dashboard: Value<bool>,
    launch_url: Value<String>,
    claim_mappings: Value<Vec<ClaimMappingState>>,
    secret_hint: Value<String>,
}

#[async_trait]
impl DataSource for ApplicationData {
    type State<'a> = ApplicationDataState;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "Looks up an application by `id` or by `name` (exactly one). It never holds the \
             client secret.",
            vec![
                ("id", string(OptionalComputed, "The application's id.")),
                (
                    "name",
                    string(
                        OptionalComputed,
                        "The application's name (case-insensitive).",
                    ),
                ),
                (
                    "client_id",
                    string(Computed, "The OAuth `client_id` (`justiam_app_…`)."),
                ),
                ("type", string(Computed, "`oidc`, `spa` or `external`.")),
                (
                    "friendly_name",
                    string(Computed, "The name shown to people."),
                ),
                ("description", string(Computed, "Description.")),
                (
                    "redirect_uris",
                    string_set(Computed, "Registered redirect URIs."),
                ),
                (
                    "post_logout_redirect_uris",
                    string_set(Computed, "Registered post-logout redirect URIs."),
                ),
                ("allowed_scopes", string_set(Computed, "Allowed scopes.")),
                ("grant_types", string_set(Computed, "Allowed grant types.")),
                (
                    "require_pkce",
                    boolean(Computed, "Whether PKCE is required."),
                ),
                (
                    "token_expiry",
                    number(Computed, "Lifetime of ID and access tokens in seconds."),
                ),
                (
                    "access_restricted",
                    boolean(Computed, "Whether only granted users may sign in."),
                ),
                (
                    "show_in_dashboard",
                    boolean(Computed, "Whether it appears in users' dashboards."),
                ),
                (
                    "launch_url",
                    string(Computed, "The dashboard link, or null."),
                ),
                (
                    "claim_mappings",
                    string_object_list(
                        Computed,
                        "Extra claims: objects with `claim`, `value` and `required_scope` (or \
                         null).",
                        &["claim", "value", "required_scope"],
                    ),
                ),
                (
                    "secret_hint",
                    string(
                        Computed,
                        "`…` and the last four characters of the client secret (`oidc` only).",
                    ),
                ),
            ],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        one_of(
            diags,
            "application",
            ("id", &config.id),
            ("name", &config.name),
        );
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::State<'a>> {
        let client = self.0.client(diags)?;
        let (what, result) = match lookup(diags, "application", &config.id, ("name", &config.name))?
        {
            Lookup::Id(id) => (
                format!("application with id {id}"),
                client.get_application(id).await.map(Some),
            ),
            Lookup::Key(name) => (
                format!("application named {name:?}"),
                find_in_pages(
                    Some(name),
                    |params| {
                        let client = client.clone();
                        async move { client.list_applications(&params).await }
                    },
                    |app| app.name.eq_ignore_ascii_case(name),
                )
                .await,
            ),
        };
        let app = found(diags, what, result)?;
        Some(ApplicationDataState {
            id: known(app.id.to_string()),
            claim_mappings: claim_mappings_of(&app),
            name: known(app.name),
            client_id: known(app.client_id),
            app_type: known(app.app_type.as_str()),
            friendly_name: known(app.friendly_name),
            description: known(app.description),
            redirect_uris: set_of(app.redirect_uris),
            post_logout_redirect_uris: set_of(app.post_logout_redirect_uris),
            allowed_scopes: set_of(app.allowed_scopes),
            grant_types: set_of(app.grant_types),
            require_pkce: Value::Value(app.require_pkce),
            token_expiry: Value::Value(app.token_expiry),
            access_restricted: Value::Value(app.access_restricted),
            show_in_dashboard: Value::Value(app.show_in_dashboard),
            launch_url: app.launch_url.map_or(Value::Null, known),
            secret_hint: app.secret_hint.map_or(Value::Null, known),
        })
    }
}
