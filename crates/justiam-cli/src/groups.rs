//! `justiam group …`.

use clap::{Args, Subcommand};
use justiam_types::{CreateGroup, Group, UpdateGroup};

use super::error::Failure;
use super::output::{self, fields, time};
use super::session::{Context, group_id, user_id};
use super::users::USER_HEADER;
use super::{ClientArgs, PageArgs};

#[derive(Debug, Args)]
pub struct GroupArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: GroupCommand,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// List groups.
    List {
        /// Only groups whose name or description contains this text.
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Create a group.
    Create {
        /// A unique name.
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Rename a group (by id or name) or change its description.
    Update {
        group: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a group (by id or name); its members lose the roles it gave them.
    Delete { group: String },
    /// List the members of a group.
    Members {
        group: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Add a user (by id or email) to a group.
    AddMember { group: String, user: String },
    /// Remove a user (by id or email) from a group.
    RemoveMember { group: String, user: String },
}

fn group_fields(group: &Group) -> String {
    fields(&[
        ("id", group.id.to_string()),
        ("name", group.name.clone()),
        ("description", group.description.clone()),
        ("members", group.member_count.to_string()),
        ("created", time(&group.created_at)),
    ])
}

pub async fn run(ctx: &Context, command: GroupCommand) -> Result<(), Failure> {
    let client = &ctx.client;
    match command {
        GroupCommand::List { search, page } => {
            let answer = client.list_groups(&page.params(search)).await?;
            output::list(
                ctx.output,
                &answer,
                &["ID", "NAME", "MEMBERS", "DESCRIPTION"],
                |g| {
                    vec![
                        g.id.to_string(),
                        g.name.clone(),
                        g.member_count.to_string(),
                        g.description.clone(),
                    ]
                },
            )
        }
        GroupCommand::Create { name, description } => {
            let group = client
                .create_group(&CreateGroup { name, description })
                .await?;
            output::show(ctx.output, &group, |g| {
                format!("Created group {}.\n{}", g.name, group_fields(g))
            })
        }
        GroupCommand::Update {
            group,
            name,
            description,
        } => {
            if name.is_none() && description.is_none() {
                return Err(Failure::usage(
                    "nothing to change: give --name and/or --description",
                ));
            }
            let id = group_id(client, &group).await?;
            let group = client
                .update_group(id, &UpdateGroup { name, description })
                .await?;
            output::show(ctx.output, &group, |g| {
                format!("Updated group {}.\n{}", g.name, group_fields(g))
            })
        }
        GroupCommand::Delete { group } => {
            let id = group_id(client, &group).await?;
            client.delete_group(id).await?;
            output::note(ctx.output, &format!("Deleted group {group}."))
        }
        GroupCommand::Members { group, page } => {
            let id = group_id(client, &group).await?;
            let answer = client.list_group_members(id, &page.params(None)).await?;
            output::list(ctx.output, &answer, USER_HEADER, |u| {
                vec![
                    u.id.to_string(),
                    u.email.clone(),
                    super::session::full_name(&u.first_name, &u.last_name),
                    super::session::kind(u).to_owned(),
                    output::yes_no(u.is_active),
                    time(&u.created_at),
                ]
            })
        }
        GroupCommand::AddMember { group, user } => {
            let id = group_id(client, &group).await?;
            let member = user_id(client, &user).await?;
            client.add_group_member(id, member).await?;
            output::note(ctx.output, &format!("Added {user} to group {group}."))
        }
        GroupCommand::RemoveMember { group, user } => {
            let id = group_id(client, &group).await?;
            let member = user_id(client, &user).await?;
            client.remove_group_member(id, member).await?;
            output::note(ctx.output, &format!("Removed {user} from group {group}."))
        }
    }
}
