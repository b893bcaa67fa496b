//! `justiam_group_admin_role`: an admin role assigned to a group. Import id `group_id/role_id`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};
use uuid::Uuid;

use super::{changed, find_in_pages};
use crate::diag;
use crate::provider::Shared;
use crate::schema::{Computed, Required, known, schema, string};

pub struct GroupAdminRoleResource(pub Shared);

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct GroupAdminRoleState {
    pub id: Value<String>,
    pub group_id: Value<String>,
    pub role_id: Value<String>,
}

impl GroupAdminRoleState {
    fn ids(&self, diags: &mut Diagnostics) -> Option<(Uuid, Uuid)> {
        let group = diag::parse_uuid(diags, "group_id", self.group_id.as_ref_option()?)?;
        let role = diag::parse_uuid(diags, "role_id", self.role_id.as_ref_option()?)?;
        Some((group, role))
    }

    fn of(group: Uuid, role: Uuid) -> Self {
        GroupAdminRoleState {
            id: known(format!("{group}/{role}")),
            group_id: known(group.to_string()),
            role_id: known(role.to_string()),
        }
    }
}

impl GroupAdminRoleResource {
    /// Whether the assignment exists; `None` after a diagnostic.
    async fn exists(&self, diags: &mut Diagnostics, group: Uuid, role: Uuid) -> Option<bool> {
        let client = self.0.client(diags)?;
        let found = find_in_pages(
            None,
            |params| {
                let client = client.clone();
                async move { client.list_group_roles_page(group, &params).await }
            },
            |assigned| assigned.id == role,
        )
        .await;
        match found {
            Ok(found) => Some(found.is_some()),
            Err(err) if diag::is_not_found(&err) => Some(false),
            Err(err) => {
                diag::api_error(
                    diags,
                    &format!("list the admin roles of group {group}"),
                    &err,
                );
                None
            }
        }
    }
}

#[async_trait]
impl Resource for GroupAdminRoleResource {
    type State<'a> = GroupAdminRoleState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "Assigns an admin role to a group: every member holds the role's permissions. \
             Changing either id replaces the assignment. Import id: `<group_id>/<role_id>`.",
            vec![
                ("id", string(Computed, "`<group_id>/<role_id>`.")),
                ("group_id", string(Required, "The group's id.")),
                (
                    "role_id",
                    string(
                        Required,
                        "The admin role's id (a built-in `idp:*` role's id works too: see the `justiam_admin_role` data source).",
                    ),
                ),
            ],
        ))
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (group, role) = state.ids(diags)?;
        if self.exists(diags, group, role).await? {
            Some((GroupAdminRoleState::of(group, role), private_state))
        } else {
            None
        }
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut state = proposed_state;
        state.id = Value::Unknown;
        Some((state, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        proposed_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let mut replace = Vec::new();
        for (name, prior, planned) in [
            ("group_id", &prior_state.group_id, &proposed_state.group_id),
            ("role_id", &prior_state.role_id, &proposed_state.role_id),
        ] {
            if changed(prior, planned) {
                replace.push(AttributePath::new(name));
            }
        }
        Some((proposed_state, prior_private_state, replace))
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
        let (group, role) = planned_state.ids(diags)?;
        match client.assign_group_role(group, role).await {
            Ok(()) => Some((GroupAdminRoleState::of(group, role), planned_private_state)),
            Err(err) => {
                diag::api_error(
                    diags,
                    &format!("assign admin role {role} to group {group}"),
                    &err,
                );
                None
            }
        }
    }

    async fn update<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: Self::State<'a>,
        planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        planned_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        // Every attribute forces replacement: nothing to change in place.
        Some((planned_state, planned_private_state))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        _planned_private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let client = self.0.client(diags)?;
        let (group, role) = prior_state.ids(diags)?;
        match client.unassign_group_role(group, role).await {
            Ok(()) => Some(()),
            Err(err) if diag::is_not_found(&err) => Some(()),
            Err(err) => {
                diag::api_error(
                    diags,
                    &format!("unassign admin role {role} from group {group}"),
                    &err,
                );
                None
            }
        }
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (group, role) = diag::parse_pair(diags, &id, "group_id", "role_id")?;
        if self.exists(diags, group, role).await? {
            Some((GroupAdminRoleState::of(group, role), ValueEmpty::default()))
        } else {
            diag::error(
                diags,
                "Cannot import the group's admin role assignment",
                format!(
                    "Admin role {role} is not assigned to group {group} (or the group does not exist)."
                ),
            );
            None
        }
    }
}
