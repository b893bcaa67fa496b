//! `justiam_admin_role`: a named set of permissions from the catalogue.

use async_trait::async_trait;
use justiam_types::{AdminRole, CreateAdminRole, UpdateAdminRole};
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::catalogue::{catalogue_list, is_permission};
use crate::diag;
use crate::provider::Shared;
use crate::schema::{
    Computed, OptionalComputed, Required, StringSet, known, known_elements, schema, set_of, string,
    string_set,
};

pub struct AdminRoleResource(pub Shared);

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct AdminRoleState {
    pub id: Value<String>,
    pub name: Value<String>,
    pub description: Value<String>,
    pub permissions: StringSet,
}

impl AdminRoleState {
    fn refresh(&mut self, role: &AdminRole) {
        self.id = known(role.id.to_string());
        self.name = known(&role.name);
        self.description = known(&role.description);
        self.permissions = set_of(role.permissions.iter().cloned());
    }
}

/// Checks every known permission against the catalogue.
pub(crate) fn validate_role_permissions(diags: &mut Diagnostics, permissions: &StringSet) {
    let Some(items) = known_elements(permissions) else {
        return;
    };
    let unknown: Vec<String> = items
        .into_iter()
        .filter(|p| !is_permission(p))
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
                catalogue_list()
            ),
        );
    }
}

#[async_trait]
impl Resource for AdminRoleResource {
    type State<'a> = AdminRoleState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
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
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        validate_role_permissions(diags, &config.permissions);
        if let Value::Value(name) = &config.name
            && name.trim().is_empty()
        {
            diag::error_at(
                diags,
                "name",
                "Invalid name",
                "The role name must not be empty.",
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
        match client.get_role(id).await {
            Ok(role) => {
                let mut state = state;
                state.refresh(&role);
                Some((state, private_state))
            }
            Err(err) if diag::is_not_found(&err) => None,
            Err(err) => {
                diag::api_error(diags, &format!("read admin role {id}"), &err);
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
        if config_state.description.is_null() {
            state.description = known("");
        }
        state.id = Value::Unknown;
        Some((state, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: Self::State<'a>,
        proposed_state: Self::State<'a>,
        config_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let mut state = proposed_state;
        if config_state.description.is_null() {
            state.description = known("");
        }
        Some((state, prior_private_state, Vec::new()))
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
        let input = CreateAdminRole {
            name: planned_state.name.as_ref_option()?.clone(),
            description: planned_state.description.as_ref_option().cloned(),
            permissions: known_elements(&planned_state.permissions).unwrap_or_default(),
        };
        match client.create_role(&input).await {
            Ok(role) => {
                let mut state = planned_state;
                state.refresh(&role);
                Some((state, planned_private_state))
            }
            Err(err) => {
                diag::api_error(diags, &format!("create admin role {:?}", input.name), &err);
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
        let update = UpdateAdminRole {
            name: planned_state.name.as_ref_option().cloned(),
            description: planned_state.description.as_ref_option().cloned(),
            permissions: known_elements(&planned_state.permissions),
        };
        match client.update_role(id, &update).await {
            Ok(role) => {
                let mut state = planned_state;
                state.refresh(&role);
                Some((state, planned_private_state))
            }
            Err(err) => {
                diag::api_error(diags, &format!("update admin role {id}"), &err);
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
        match client.delete_role(id).await {
            Ok(()) => Some(()),
            Err(err) if diag::is_not_found(&err) => Some(()),
            Err(err) => {
                diag::api_error(diags, &format!("delete admin role {id}"), &err);
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
        match client.get_role(uuid).await {
            Ok(role) => {
                let mut state = AdminRoleState::default();
                state.refresh(&role);
                Some((state, ValueEmpty::default()))
            }
            Err(err) => {
                diag::api_error(diags, &format!("import admin role {uuid}"), &err);
                None
            }
        }
    }
}
