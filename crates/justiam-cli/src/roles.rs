//! `justiam role …`.

use clap::{ArgGroup, Args, Subcommand};
use justiam_types::{AdminRole, CreateAdminRole, UpdateAdminRole};

use super::error::Failure;
use super::output::{self, fields, yes_no};
use super::session::{Context, group_id, role_id, user_id};
use super::{ClientArgs, PageArgs};

#[derive(Debug, Args)]
pub struct RoleArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: RoleCommand,
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// List admin roles (built-in `idp:*` roles first).
    List {
        /// Only roles whose name or description contains this text.
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Create an admin role.
    Create {
        /// A unique name.
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// A permission the role grants (repeat or separate with commas), e.g. users.view.
        #[arg(
            long = "permission",
            value_name = "PERMISSION",
            value_delimiter = ',',
            required = true
        )]
        permissions: Vec<String>,
    },
    /// Change a role (by id or name); `--permission` replaces the whole list.
    Update {
        role: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// The new permission list (repeat or separate with commas).
        #[arg(long = "permission", value_name = "PERMISSION", value_delimiter = ',')]
        permissions: Option<Vec<String>>,
    },
    /// Delete a role (by id or name).
    Delete { role: String },
    /// Assign a role to a user or a group.
    Assign(Target),
    /// Take a role back from a user or a group.
    Unassign(Target),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["user", "group"])))]
pub struct Target {
    /// The role's id or name.
    pub role: String,
    /// The user's id or email.
    #[arg(long)]
    pub user: Option<String>,
    /// The group's id or name.
    #[arg(long)]
    pub group: Option<String>,
}

fn role_fields(role: &AdminRole) -> String {
    fields(&[
        ("id", role.id.to_string()),
        ("name", role.name.clone()),
        ("description", role.description.clone()),
        ("permissions", role.permissions.join(", ")),
        ("built-in", yes_no(role.is_builtin)),
    ])
}

pub async fn run(ctx: &Context, command: RoleCommand) -> Result<(), Failure> {
    let client = &ctx.client;
    match command {
        RoleCommand::List { search, page } => {
            let answer = client.list_roles(&page.params(search)).await?;
            output::list(
                ctx.output,
                &answer,
                &["ID", "NAME", "BUILT-IN", "PERMISSIONS"],
                |r| {
                    vec![
                        r.id.to_string(),
                        r.name.clone(),
                        yes_no(r.is_builtin),
                        r.permissions.join(","),
                    ]
                },
            )
        }
        RoleCommand::Create {
            name,
            description,
            permissions,
        } => {
            let role = client
                .create_role(&CreateAdminRole {
                    name,
                    description,
                    permissions,
                })
                .await?;
            output::show(ctx.output, &role, |r| {
                format!("Created role {}.\n{}", r.name, role_fields(r))
            })
        }
        RoleCommand::Update {
            role,
            name,
            description,
            permissions,
        } => {
            let update = UpdateAdminRole {
                name,
                description,
                permissions,
            };
            if update == UpdateAdminRole::default() {
                return Err(Failure::usage(
                    "nothing to change: give --name, --description or --permission",
                ));
            }
            let id = role_id(client, &role).await?;
            let role = client.update_role(id, &update).await?;
            output::show(ctx.output, &role, |r| {
                format!("Updated role {}.\n{}", r.name, role_fields(r))
            })
        }
        RoleCommand::Delete { role } => {
            let id = role_id(client, &role).await?;
            client.delete_role(id).await?;
            output::note(ctx.output, &format!("Deleted role {role}."))
        }
        RoleCommand::Assign(target) => {
            let role = role_id(client, &target.role).await?;
            match (&target.user, &target.group) {
                (Some(user), _) => {
                    client
                        .assign_user_role(user_id(client, user).await?, role)
                        .await?;
                    output::note(
                        ctx.output,
                        &format!("Assigned role {} to user {user}.", target.role),
                    )
                }
                (None, Some(group)) => {
                    client
                        .assign_group_role(group_id(client, group).await?, role)
                        .await?;
                    output::note(
                        ctx.output,
                        &format!("Assigned role {} to group {group}.", target.role),
                    )
                }
                (None, None) => Err(Failure::usage("give --user or --group")),
            }
        }
        RoleCommand::Unassign(target) => {
            let role = role_id(client, &target.role).await?;
            match (&target.user, &target.group) {
                (Some(user), _) => {
                    client
                        .unassign_user_role(user_id(client, user).await?, role)
                        .await?;
                    output::note(
                        ctx.output,
                        &format!("Took role {} from user {user}.", target.role),
                    )
                }
                (None, Some(group)) => {
                    client
                        .unassign_group_role(group_id(client, group).await?, role)
                        .await?;
                    output::note(
                        ctx.output,
                        &format!("Took role {} from group {group}.", target.role),
                    )
                }
                (None, None) => Err(Failure::usage("give --user or --group")),
            }
        }
    }
}
