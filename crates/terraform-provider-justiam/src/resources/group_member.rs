//! `justiam_group_member`: one user's membership of one group. Import id `group_id/user_id`.

use async_trait::async_trait;
use justiam_client::{Client, ListParams, Result};
use justiam_types::{Page, User};
use tf_provider::schema::Schema;
use uuid::Uuid;

use super::link::{Link, LinkResource, link_state};
use crate::schema::{Computed, Required, schema, string};

pub type GroupMemberResource = LinkResource<GroupMember>;

pub struct GroupMember;

link_state!(GroupMemberState, user_id);

#[async_trait]
impl Link for GroupMember {
    type State = GroupMemberState;
    type Item = User;

    const OTHER: &'static str = "user_id";
    const CANNOT_IMPORT: &'static str = "Cannot import the group membership";

    fn schema() -> Schema {
        schema(
            "Makes a user a member of a group. Changing either id replaces the membership. \
             Import id: `<group_id>/<user_id>`.",
            vec![
                ("id", string(Computed, "`<group_id>/<user_id>`.")),
                ("group_id", string(Required, "The group's id.")),
                ("user_id", string(Required, "The user's id.")),
            ],
        )
    }

    async fn list(client: &Client, group: Uuid, params: &ListParams) -> Result<Page<User>> {
        client.list_group_members(group, params).await
    }

    fn item_id(member: &User) -> Uuid {
        member.id
    }

    async fn add(client: &Client, group: Uuid, user: Uuid) -> Result<()> {
        client.add_group_member(group, user).await
    }

    async fn remove(client: &Client, group: Uuid, user: Uuid) -> Result<()> {
        client.remove_group_member(group, user).await
    }

    fn listing(group: Uuid) -> String {
        format!("list the members of group {group}")
    }

    fn adding(group: Uuid, user: Uuid) -> String {
        format!("add user {user} to group {group}")
    }

    fn removing(group: Uuid, user: Uuid) -> String {
        format!("remove user {user} from group {group}")
    }

    fn missing(group: Uuid, user: Uuid) -> String {
        format!("User {user} is not a member of group {group} (or the group does not exist).")
    }
}
