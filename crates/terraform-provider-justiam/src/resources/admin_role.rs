//! `justiam_admin_role`: a named set of permissions from the catalogue.

use async_trait::async_trait;
use justiam_client::{Client, Result};
use justiam_types::{AdminRole, CreateAdminRole, Permission, UpdateAdminRole};
use serde::{Deserialize, Serialize};
use tf_provider::Diagnostics;
use tf_provider::schema::Schema;
use tf_provider::value::Value;
use uuid::Uuid;

use super::check_not_blank;
use super::object::{Object, ObjectResource};
use crate::diag;
use crate::schema::{
    Computed, OptionalComputed, Required, StringSet, known, known_elements, schema, set_of, string,
    string_set,
};

pub type AdminRoleResource = ObjectResource<AdminRoleObject>;

pub struct AdminRoleObject;

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct AdminRoleState {
    pub id: Value<String>,
    pub name: Value<String>,
    pub description: Value<String>,
    pub permissions: StringSet,
}

/// Checks every known permission against the catalogue.
pub(crate) fn validate_role_permissions(diags: &mut Diagnostics, permissions: &StringSet) {
    let Some(items) = known_elements(permissions) else {
        return;
    };
    let unknown: Vec<String> = items
        .into_iter()
        .filter(|p| Permission::parse(p).is_none())
        .map(|p| format!("{p:?}"))
        .collect();
    if !unknown.is_empty() {
        diag::error_at(
            diags,
            "permissions",
            "Unknown permission",
            format!(
                "{} {} not in the JustIAM permission catalogue. Known permissions: {}.",
                unknown.join(", "),
                if unknown.len() == 1 { "is" } else { "are" },
                diag::catalogue_list()
            ),
        );
    }
}

#[async_trait]
impl Object for AdminRoleObject {
    type State = AdminRoleState;
    type Model = AdminRole;

    const KIND: &'static str = "admin role";

    fn schema() -> Schema {
        schema(
            "An admin role: a named set of permissions, assigned to groups with \
             `justiam_group_admin_role`. Built-in `idp:*` roles cannot be managed; read them \
             with the `justiam_admin_role` data source.",
            vec![
                ("id", string(Computed, "The role's id (UUID).")),
                ("name", string(Required, "Unique name.")),
                ("description", string(OptionalComputed, "Default `\"\"`.")),
                (
                    "permissions",
                    string_set(
                        Required,
                        "Permissions from the catalogue (e.g. `users.view`, `groups.members`), \
                         checked at plan time.",
                    ),
                ),
            ],
        )
    }

    fn validate(diags: &mut Diagnostics, config: &AdminRoleState) {
        validate_role_permissions(diags, &config.permissions);
        check_not_blank(diags, &config.name, "The role name must not be empty.");
    }

    fn id(state: &AdminRoleState) -> &Value<String> {
        &state.id
    }

    fn refresh(state: &mut AdminRoleState, role: &AdminRole) {
        state.id = known(role.id.to_string());
        state.name = known(&role.name);
        state.description = known(&role.description);
        state.permissions = set_of(role.permissions.iter().cloned());
    }

    fn apply_defaults(state: &mut AdminRoleState, config: &AdminRoleState) {
        if config.description.is_null() {
            state.description = known("");
        }
    }

    fn unknown_at_create(state: &mut AdminRoleState) {
        state.id = Value::Unknown;
    }

    async fn get(client: &Client, id: Uuid) -> Result<AdminRole> {
        client.get_role(id).await
    }

    async fn create(
        client: &Client,
        planned: &AdminRoleState,
    ) -> Option<(String, Result<AdminRole>)> {
        let input = CreateAdminRole {
            name: planned.name.as_ref_option()?.clone(),
            description: planned.description.as_ref_option().cloned(),
            permissions: known_elements(&planned.permissions).unwrap_or_default(),
        };
        Some((
            format!("{:?}", input.name),
            client.create_role(&input).await,
        ))
    }

    async fn update(
        client: &Client,
        id: Uuid,
        _prior: &AdminRoleState,
        planned: &AdminRoleState,
    ) -> Result<AdminRole> {
        let update = UpdateAdminRole {
            name: planned.name.as_ref_option().cloned(),
            description: planned.description.as_ref_option().cloned(),
            permissions: known_elements(&planned.permissions),
        };
        client.update_role(id, &update).await
    }

    async fn delete(client: &Client, id: Uuid) -> Result<()> {
        client.delete_role(id).await
    }
}
