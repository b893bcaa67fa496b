//! `justiam_group`.

use async_trait::async_trait;
use justiam_client::{Client, Result};
use justiam_types::{CreateGroup, Group, UpdateGroup};
use serde::{Deserialize, Serialize};
use tf_provider::Diagnostics;
use tf_provider::schema::Schema;
use tf_provider::value::Value;
use uuid::Uuid;

use super::check_not_blank;
use super::object::{Object, ObjectResource};
use crate::schema::{Computed, OptionalComputed, Required, known, schema, string};

pub type GroupResource = ObjectResource<GroupObject>;

pub struct GroupObject;

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct GroupState {
    pub id: Value<String>,
    pub name: Value<String>,
    pub description: Value<String>,
}

#[async_trait]
impl Object for GroupObject {
    type State = GroupState;
    type Model = Group;

    const KIND: &'static str = "group";

    fn schema() -> Schema {
        schema(
            "A group of users. Admin roles assigned to a group (`justiam_group_admin_role`) apply \
             to every member (`justiam_group_member`).",
            vec![
                ("id", string(Computed, "The group's id (UUID).")),
                ("name", string(Required, "Unique name.")),
                ("description", string(OptionalComputed, "Default `\"\"`.")),
            ],
        )
    }

    fn validate(diags: &mut Diagnostics, config: &GroupState) {
        check_not_blank(diags, &config.name, "The group name must not be empty.");
    }

    fn id(state: &GroupState) -> &Value<String> {
        &state.id
    }

    fn refresh(state: &mut GroupState, group: &Group) {
        state.id = known(group.id.to_string());
        state.name = known(&group.name);
        state.description = known(&group.description);
    }

    fn apply_defaults(state: &mut GroupState, config: &GroupState) {
        if config.description.is_null() {
            state.description = known("");
        }
    }

    fn unknown_at_create(state: &mut GroupState) {
        state.id = Value::Unknown;
    }

    async fn get(client: &Client, id: Uuid) -> Result<Group> {
        client.get_group(id).await
    }

    async fn create(client: &Client, planned: &GroupState) -> Option<(String, Result<Group>)> {
        let input = CreateGroup {
            name: planned.name.as_ref_option()?.clone(),
            description: planned.description.as_ref_option().cloned(),
        };
        Some((
            format!("{:?}", input.name),
            client.create_group(&input).await,
        ))
    }

    async fn update(
        client: &Client,
        id: Uuid,
        _prior: &GroupState,
        planned: &GroupState,
    ) -> Result<Group> {
        let update = UpdateGroup {
            name: planned.name.as_ref_option().cloned(),
            description: planned.description.as_ref_option().cloned(),
        };
        client.update_group(id, &update).await
    }

    async fn delete(client: &Client, id: Uuid) -> Result<()> {
        client.delete_group(id).await
    }
}
