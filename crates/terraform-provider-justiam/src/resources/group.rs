//! `justiam_group`.

use async_trait::async_trait;
use justiam_types::{CreateGroup, Group, UpdateGroup};
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::diag;
use crate::provider::Shared;
use crate::schema::{Computed, OptionalComputed, Required, known, schema, string};

pub struct GroupResource(pub Shared);

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct GroupState {
    pub id: Value<String>,
    pub name: Value<String>,
    pub description: Value<String>,
}

impl GroupState {
    fn refresh(&mut self, group: &Group) {
        self.id = known(group.id.to_string());
        self.name = known(&group.name);
        self.description = known(&group.description);
    }
}

#[async_trait]
impl Resource for GroupResource {
    type State<'a> = GroupState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "A group of users. Admin roles assigned to a group (`justiam_group_admin_role`) apply \
             to every member (`justiam_group_member`).",
            vec![
                ("id", string(Computed, "The group's id (UUID).")),
                ("name", string(Required, "Unique name.")),
                ("description", string(OptionalComputed, "Default `\"\"`.")),
            ],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        if let Value::Value(name) = &config.name
            && name.trim().is_empty()
        {
            diag::error_at(
                diags,
                "name",
                "Invalid name",
                "The group name must not be empty.",
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
        match client.get_group(id).await {
            Ok(group) => {
                let mut state = state;
                state.refresh(&group);
                Some((state, private_state))
            }
            Err(err) if diag::is_not_found(&err) => None,
            Err(err) => {
                diag::api_error(diags, &format!("read group {id}"), &err);
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
        let input = CreateGroup {
            name: planned_state.name.as_ref_option()?.clone(),
            description: planned_state.description.as_ref_option().cloned(),
        };
        match client.create_group(&input).await {
            Ok(group) => {
                let mut state = planned_state;
                state.refresh(&group);
                Some((state, planned_private_state))
            }
            Err(err) => {
                diag::api_error(diags, &format!("create group {:?}", input.name), &err);
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
        let update = UpdateGroup {
            name: planned_state.name.as_ref_option().cloned(),
            description: planned_state.description.as_ref_option().cloned(),
        };
        match client.update_group(id, &update).await {
            Ok(group) => {
                let mut state = planned_state;
                state.refresh(&group);
                Some((state, planned_private_state))
            }
            Err(err) => {
                diag::api_error(diags, &format!("update group {id}"), &err);
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
        match client.delete_group(id).await {
            Ok(()) => Some(()),
            Err(err) if diag::is_not_found(&err) => Some(()),
            Err(err) => {
                diag::api_error(diags, &format!("delete group {id}"), &err);
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
        match client.get_group(uuid).await {
            Ok(group) => {
                let mut state = GroupState::default();
                state.refresh(&group);
                Some((state, ValueEmpty::default()))
            }
            Err(err) => {
                diag::api_error(diags, &format!("import group {uuid}"), &err);
                None
            }
        }
    }
}
