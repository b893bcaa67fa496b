//! `justiam_user`: a user or a service account.

use async_trait::async_trait;
use justiam_client::{Client, Result};
use justiam_types::{CreateUser, UpdateUser, User};
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};
use uuid::Uuid;

use super::object::{Object, ObjectResource};
use super::{changed, delta, replacements};
use crate::diag;
use crate::schema::{
    Computed, Optional, OptionalComputed, Required, boolean, known, schema, sensitive, string,
};

pub type UserResource = ObjectResource<UserObject>;

pub struct UserObject;

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

#[async_trait]
impl Object for UserObject {
    type State = UserState;
    type Model = User;

    const KIND: &'static str = "user";

    fn schema() -> Schema {
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

    fn validate(diags: &mut Diagnostics, config: &UserState) {
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
    }

    fn id(state: &UserState) -> &Value<String> {
        &state.id
    }

    /// Copies what the API says into the state; the password is kept as it was.
    fn refresh(state: &mut UserState, user: &User) {
        state.id = known(user.id.to_string());
        state.email = known(&user.email);
        state.username = known(&user.username);
        state.first_name = known(&user.first_name);
        state.last_name = known(&user.last_name);
        state.is_active = Value::Value(user.is_active);
        state.is_admin = Value::Value(user.is_admin);
        state.is_service_account = Value::Value(user.is_service_account);
    }

    fn apply_defaults(state: &mut UserState, config: &UserState) {
        if config.first_name.is_null() {
            state.first_name = known("");
        }
        if config.last_name.is_null() {
            state.last_name = known("");
        }
        if config.is_active.is_null() {
            state.is_active = Value::Value(true);
        }
        if config.is_admin.is_null() {
            state.is_admin = Value::Value(false);
        }
        if config.is_service_account.is_null() {
            state.is_service_account = Value::Value(false);
        }
    }

    fn unknown_at_create(state: &mut UserState) {
        state.id = Value::Unknown;
        state.username = Value::Unknown;
    }

    fn replacements(
        diags: &mut Diagnostics,
        prior: &UserState,
        planned: &UserState,
    ) -> Vec<AttributePath> {
        let replace = replacements([(
            "is_service_account",
            changed(&prior.is_service_account, &planned.is_service_account),
        )]);
        if changed(&prior.password, &planned.password) && replace.is_empty() {
            diag::warning_at(
                diags,
                "password",
                "The password is used only at creation",
                "JustIAM has no API to set another user's password: the new value is kept in \
                 the state but not sent. The user changes it at login, or recreate the user \
                 (terraform apply -replace=…).",
            );
        }
        replace
    }

    async fn get(client: &Client, id: Uuid) -> Result<User> {
        client.get_user(id).await
    }

    async fn create(client: &Client, planned: &UserState) -> Option<(String, Result<User>)> {
        let input = CreateUser {
            email: planned.email.as_ref_option()?.clone(),
            first_name: planned.first_name.as_ref_option().cloned(),
            last_name: planned.last_name.as_ref_option().cloned(),
            password: planned.password.as_ref_option().cloned(),
            is_active: planned.is_active.as_ref_option().copied(),
            is_admin: planned.is_admin.as_ref_option().copied(),
            is_service_account: planned.is_service_account.as_ref_option().copied(),
        };
        Some((input.email.clone(), client.create_user(&input).await))
    }

    async fn update(
        client: &Client,
        id: Uuid,
        prior: &UserState,
        planned: &UserState,
    ) -> Result<User> {
        // Only what changed: setting `is_admin`, even to its current value, needs an admin.
        let update = UpdateUser {
            email: delta(&prior.email, &planned.email),
            first_name: delta(&prior.first_name, &planned.first_name),
            last_name: delta(&prior.last_name, &planned.last_name),
            is_active: delta(&prior.is_active, &planned.is_active),
            is_admin: delta(&prior.is_admin, &planned.is_admin),
        };
        if update == UpdateUser::default() {
            client.get_user(id).await
        } else {
            client.update_user(id, &update).await
        }
    }

    async fn delete(client: &Client, id: Uuid) -> Result<()> {
        client.delete_user(id).await
    }
}
