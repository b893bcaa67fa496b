//! `justiam_group_admin_role`: an admin role assigned to a group. Import id `group_id/role_id`.

use async_trait::async_trait;
use justiam_client::{Client, ListParams, Result};
use justiam_types::{AdminRole, Page};
use tf_provider::schema::Schema;
use uuid::Uuid;

use super::link::{Link, LinkResource, link_state};
use crate::schema::{Computed, Required, schema, string};

pub type GroupAdminRoleResource = LinkResource<GroupAdminRole>;

pub struct GroupAdminRole;

link_state!(GroupAdminRoleState, role_id);

#[async_trait]
impl Link for GroupAdminRole {
    type State = GroupAdminRoleState;
    type Item = AdminRole;

    const OTHER: &'static str = "role_id";
    const CANNOT_IMPORT: &'static str = "Cannot import the group's admin role assignment";

    fn schema() -> Schema {
        schema(
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
        )
    }

    async fn list(client: &Client, group: Uuid, params: &ListParams) -> Result<Page<AdminRole>> {
        client.list_group_roles_page(group, params).await
    }

    fn item_id(assigned: &AdminRole) -> Uuid {
        assigned.id
    }

    async fn add(client: &Client, group: Uuid, role: Uuid) -> Result<()> {
        client.assign_group_role(group, role).await
    }

    async fn remove(client: &Client, group: Uuid, role: Uuid) -> Result<()> {
        client.unassign_group_role(group, role).await
    }

    fn listing(group: Uuid) -> String {
        format!("list the admin roles of group {group}")
    }

    fn adding(group: Uuid, role: Uuid) -> String {
        format!("assign admin role {role} to group {group}")
    }

    fn removing(group: Uuid, role: Uuid) -> String {
        format!("unassign admin role {role} from group {group}")
    }

    fn missing(group: Uuid, role: Uuid) -> String {
        format!("Admin role {role} is not assigned to group {group} (or the group does not exist).")
    }
}
