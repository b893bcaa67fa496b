//! `justiam_user`: a user or a service account.

use async_trait::async_trait;
use justiam_types::{CreateUser, UpdateUser, User};
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use super::changed;
use crate::diag;
use crate::provider::Shared;
use crate::schema::{
    Computed, Optional, OptionalComputed, Required, boolean, known, schema, sensitive, string,
};

pub struct UserResource(pub Shared);

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct UserState {
    pub id: Value<String>,
    pub email: Value<String>,
    pub username: Value<String>,
    pub first_name: Value<String>,
    pub last_name: Value<String>,
    pub password: Value<String>,
    pub is_active: Value<bool>,
    pub is_admin: Value<bool>,
    pub is_service_account: Value<bool>,
}

impl UserState {
    /// Copies what the API says into the state; the password is kept as it was.
    fn refresh(&mut self, user: &User) {
        self.id = known(user.id.to_string());
        self.email = known(&user.email);
        self.username = known(&user.username);
        self.first_name = known(&user.first_name);
        self.last_name = known(&user.last_name);
        self.is_active = Value::Value(user.is_active);
        self.is_admin = Value::Value(user.is_admin);
        self.is_service_account = Value::Value(user.is_service_account);
    }

    /// Fills defaults of optional attributes the configuration leaves out.
    fn apply_defaults(&mut self, config: &UserState) {
        if config.first_name.is_null() {
            self.first_name = known("");
        }
        if config.last_name.is_null() {
            self.last_name = known("");
        }
        if config.is_active.is_null() {
            self.is_active = Value::Value(true);
        }
        if config.is_admin.is_null() {
            self.is_admin = Value::Value(false);
        }
        if config.is_service_account.is_null() {
            self.is_service_account = Value::Value(false);
        }
    }
}

pub(crate) fn user_schema() -> Schema {
    schema(
        "A JustIAM user, or a service account (`is_service_account = true`), which cannot log in \
         and gets its tokens from `justiam_service_account_token`.",
        vec![
            ("id", string(Computed, "The user's id (UUID).")),
            (
                "email",
                string(Required, "Email address, unique (case-insensitive)."),
            ),
            (
                "username",
                string(
                    Computed,
                    "Derived by the server from the email's local part at creation; read-only.",
                ),
            ),
            ("first_name", string(OptionalComputed, "Default `\"\"`.")),
            ("last_name", string(OptionalComputed, "Default `\"\"`.")),
            (
                "password",
                sensitive(string(
                    Optional,
                    "Initial password, used only at creation (the API cannot set another user's \
                     password later; a change here is kept in state but not sent). Not allowed \
                     for service accounts. Stored in the Terraform state.",
                )),
            ),
            (
                "is_active",
                boolean(
                    OptionalComputed,
                    "Default `true`. A deactivated user cannot log in and their tokens stop \
                     working.",
                ),
            ),
            (
                "is_admin",
                boolean(
                    OptionalComputed,
                    "Default `false`. Only an administrator's token may set or clear it.",
                ),
            ),
            (
                "is_service_account",
                boolean(
                    OptionalComputed,
                    "Default `false`. Changing it replaces the user.",
                ),
            ),
        ],
    )
}

#[async_trait]
impl Resource for UserResource {
    type State<'a> = UserState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(user_schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        if let Value::Value(email) = &config.email
            && !email.contains('@')
        {
            diag::error_at(
                diags,
                "email",
                "Invalid email",
                format!("{email:?} is not an email address."),
            );
        }
        if config.is_service_account == Value::Value(true) && config.password.is_value() {
            diag::error_at(
                diags,
                "password",
                "A service account cannot have a password",
                "Service accounts never log in interactively; remove `password`, and give the \
                 account tokens with `justiam_service_account_token`.",
            );
        }
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let client = self.0.client(diags)?;
        let id = diag::parse_uuid(diags, "id", state.id.as_ref_option()?)?;
        match client.get_user(id).await {
            Ok(user) => {
                let mut state = state;
                state.refresh(&user);
                Some((state, private_state))
            }
            // Deleted outside Terraform: forget it, so the next plan re-creates it.
            Err(err) if diag::is_not_found(&err) => None,
            Err(err) => {
                diag::api_error(diags, &format!("read user {id}"), &err);
                None
            }
        }
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed_state: Self::State<'a>,
        config_state: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut state = proposed_state;
        state.apply_defaults(&config_state);
        state.id = Value::Unknown;
        state.username = Value::Unknown;
        Some((state, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        proposed_state: Self::State<'a>,
        config_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let mut state = proposed_state;
        state.apply_defaults(&config_state);
        let mut replace = Vec::new();
        if changed(&prior_state.is_service_account, &state.is_service_account) {
            replace.push(AttributePath::new("is_service_account"));
        }
        if changed(&prior_state.password, &state.password) && replace.is_empty() {
            diag::warning_at(
                diags,
                "password",
                "The password is used only at creation",
                "JustIAM has no API to set another user's password: the new value is kept in \
                 the state but not sent. The user changes it at login, or recreate the user \
                 (terraform apply -replace=…).",
            );
        }
        Some((state, prior_private_state, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(prior_private_state)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        planned_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let client = self.0.client(diags)?;
        let input = CreateUser {
            email: planned_state.email.as_ref_option()?.clone(),
            first_name: planned_state.first_name.as_ref_option().cloned(),
            last_name: planned_state.last_name.as_ref_option().cloned(),
            password: planned_state.password.as_ref_option().cloned(),
            is_active: planned_state.is_active.as_ref_option().copied(),
            is_admin: planned_state.is_admin.as_ref_option().copied(),
            is_service_account: planned_state.is_service_account.as_ref_option().copied(),
        };
        match client.create_user(&input).await {
            Ok(user) => {
                let mut state = planned_state;
                state.refresh(&user);
                Some((state, planned_private_state))
            }
            Err(err) => {
                diag::api_error(diags, &format!("create user {}", input.email), &err);
                None
            }
        }
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        planned_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let client = self.0.client(diags)?;
        let id = diag::parse_uuid(diags, "id", prior_state.id.as_ref_option()?)?;
        // Only what changed: setting `is_admin`, even to its current value, needs an admin.
        fn delta<T: Clone + PartialEq>(prior: &Value<T>, planned: &Value<T>) -> Option<T> {
            (prior != planned).then(|| planned.as_ref_option().cloned())?
        }
        let update = UpdateUser {
            email: delta(&prior_state.email, &planned_state.email),
            first_name: delta(&prior_state.first_name, &planned_state.first_name),
            last_name: delta(&prior_state.last_name, &planned_state.last_name),
            is_active: delta(&prior_state.is_active, &planned_state.is_active),
            is_admin: delta(&prior_state.is_admin, &planned_state.is_admin),
        };
        let result = if update == UpdateUser::default() {
            client.get_user(id).await
        } else {
            client.update_user(id, &update).await
        };
        match result {
            Ok(user) => {
                let mut state = planned_state;
                state.refresh(&user);
                Some((state, planned_private_state))
            }
            Err(err) => {
                diag::api_error(diags, &format!("update user {id}"), &err);
                None
            }
        }
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        _planned_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let client = self.0.client(diags)?;
        let id = diag::parse_uuid(diags, "id", prior_state.id.as_ref_option()?)?;
        match client.delete_user(id).await {
            Ok(()) => Some(()),
            Err(err) if diag::is_not_found(&err) => Some(()),
            Err(err) => {
                diag::api_error(diags, &format!("delete user {id}"), &err);
                None
            }
        }
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let client = self.0.client(diags)?;
        let uuid = diag::parse_uuid(diags, "id", id.trim())?;
        match client.get_user(uuid).await {
            Ok(user) => {
                let mut state = UserState::default();
                state.refresh(&user);
                Some((state, ValueEmpty::default()))
            }
            Err(err) => {
                diag::api_error(diags, &format!("import user {uuid}"), &err);
                None
            }
        }
    }
}
