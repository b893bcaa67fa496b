//! `justiam_group_member`: one user's membership of one group. Import id `group_id/user_id`.

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

pub struct GroupMemberResource(pub Shared);

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct GroupMemberState {
    pub id: Value<String>,
    pub group_id: Value<String>,
    pub user_id: Value<String>,
}

impl GroupMemberState {
    fn ids(&self, diags: &mut Diagnostics) -> Option<(Uuid, Uuid)> {
        let group = diag::parse_uuid(diags, "group_id", self.group_id.as_ref_option()?)?;
        let user = diag::parse_uuid(diags, "user_id", self.user_id.as_ref_option()?)?;
        Some((group, user))
    }

    fn of(group: Uuid, user: Uuid) -> Self {
        GroupMemberState {
            id: known(format!("{group}/{user}")),
            group_id: known(group.to_string()),
            user_id: known(user.to_string()),
        }
    }
}

impl GroupMemberResource {
    /// Whether the membership exists; `None` after a diagnostic.
    async fn exists(&self, diags: &mut Diagnostics, group: Uuid, user: Uuid) -> Option<bool> {
        let client = self.0.client(diags)?;
        let found = find_in_pages(
            None,
            |params| {
                let client = client.clone();
                async move { client.list_group_members(group, &params).await }
            },
            |member| member.id == user,
        )
        .await;
        match found {
            Ok(found) => Some(found.is_some()),
            Err(err) if diag::is_not_found(&err) => Some(false),
            Err(err) => {
                diag::api_error(diags, &format!("list the members of group {group}"), &err);
                None
            }
        }
    }
}

#[async_trait]
impl Resource for GroupMemberResource {
    type State<'a> = GroupMemberState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "Makes a user a member of a group. Changing either id replaces the membership. \
             Import id: `<group_id>/<user_id>`.",
            vec![
                ("id", string(Computed, "`<group_id>/<user_id>`.")),
                ("group_id", string(Required, "The group's id.")),
                ("user_id", string(Required, "The user's id.")),
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
        let (group, user) = state.ids(diags)?;
        if self.exists(diags, group, user).await? {
            Some((GroupMemberState::of(group, user), private_state))
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
            ("user_id", &prior_state.user_id, &proposed_state.user_id),
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
        let (group, user) = planned_state.ids(diags)?;
        match client.add_group_member(group, user).await {
            Ok(()) => Some((GroupMemberState::of(group, user), planned_private_state)),
            Err(err) => {
                diag::api_error(diags, &format!("add user {user} to group {group}"), &err);
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
        let (group, user) = prior_state.ids(diags)?;
        match client.remove_group_member(group, user).await {
            Ok(()) => Some(()),
            Err(err) if diag::is_not_found(&err) => Some(()),
            Err(err) => {
                diag::api_error(
                    diags,
                    &format!("remove user {user} from group {group}"),
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
        let (group, user) = diag::parse_pair(diags, &id, "group_id", "user_id")?;
        if self.exists(diags, group, user).await? {
            Some((GroupMemberState::of(group, user), ValueEmpty::default()))
        } else {
            diag::error(
                diags,
                "Cannot import the group membership",
                format!(
                    "User {user} is not a member of group {group} (or the group does not exist)."
                ),
            );
            None
        }
    }
}
