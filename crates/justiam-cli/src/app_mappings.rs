//! `justiam app-mapping …`: app role mappings (a variable and its value for one application) and
//! their assignment to users and groups.

use clap::{ArgGroup, Args, Subcommand};
use justiam_client::Holder;
use justiam_types::application::{AppMapping, CreateAppMapping, UpdateAppMapping};
use uuid::Uuid;

use super::error::Failure;
use super::output::{self, fields, time};
use super::session::{Context, app_id, holder};
use super::{ClientArgs, PageArgs};

#[derive(Debug, Args)]
pub struct AppMappingArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: AppMappingCommand,
}

#[derive(Debug, Subcommand)]
pub enum AppMappingCommand {
    /// List app role mappings: all, one application's, or those assigned to a user or group.
    List {
        /// Only the mappings of this application (id, client id or name).
        #[arg(long, conflicts_with_all = ["user", "group"])]
        app: Option<String>,
        /// Only the mappings assigned to this user directly (id or email).
        #[arg(long, conflicts_with = "group")]
        user: Option<String>,
        /// Only the mappings assigned to this group (id or name).
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one mapping.
    #[command(alias = "show")]
    Get { id: Uuid },
    /// Create a mapping for an application.
    Create {
        /// The application's id, client id or name.
        #[arg(long)]
        app: String,
        /// The variable the value is published under (`${<variable>}` in claim mappings).
        #[arg(long)]
        variable: String,
        #[arg(long)]
        value: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Change a mapping; only the given fields change.
    Update {
        id: Uuid,
        /// New variable name.
        #[arg(long)]
        variable: Option<String>,
        #[arg(long)]
        value: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a mapping; the users and groups holding it lose it.
    Delete { id: Uuid },
    /// Give a mapping to a user or a group.
    Assign(Target),
    /// Take a mapping back from a user or a group.
    Unassign(Target),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("holder").required(true).args(["user", "group"])))]
pub struct Target {
    /// The mapping's id.
    pub id: Uuid,
    /// The user's id or email.
    #[arg(long)]
    pub user: Option<String>,
    /// The group's id or name.
    #[arg(long)]
    pub group: Option<String>,
}

impl Target {
    /// The holder, resolved, and how messages name it.
    async fn holder(&self, ctx: &Context) -> Result<(Holder, String), Failure> {
        let (user, group) = (self.user.as_deref(), self.group.as_deref());
        let name = match (user, group) {
            (Some(user), _) => format!("user {user}"),
            (None, group) => format!("group {}", group.unwrap_or_default()),
        };
        Ok((holder(&ctx.client, user, group).await?, name))
    }
}

fn mapping_fields(mapping: &AppMapping) -> String {
    fields(&[
        ("id", mapping.id.to_string()),
        ("application", mapping.application_id.to_string()),
        ("variable", mapping.variable_name.clone()),
        ("value", mapping.value.clone()),
        ("description", mapping.description.clone()),
        ("created", time(&mapping.created_at)),
        ("updated", time(&mapping.updated_at)),
    ])
}

pub async fn run(ctx: &Context, command: AppMappingCommand) -> Result<(), Failure> {
    let client = &ctx.client;
    match command {
        AppMappingCommand::List {
            app,
            user,
            group,
            page,
        } => {
            let params = page.params(None);
            let answer = match (app, user, group) {
                (_, user @ Some(_), group) | (_, user, group @ Some(_)) => {
                    let holder = holder(client, user.as_deref(), group.as_deref()).await?;
                    client.list_assigned_app_mappings(holder, &params).await?
                }
                (Some(app), None, None) => {
                    let id = app_id(client, &app).await?.to_string();
                    client
                        .list_app_mappings(&params, &[("application_id", id.as_str())])
                        .await?
                }
                (None, None, None) => client.list_app_mappings(&params, &[]).await?,
            };
            output::list(
                ctx.output,
                &answer,
                &["ID", "APPLICATION", "VARIABLE", "VALUE", "DESCRIPTION"],
                |m| {
                    vec![
                        m.id.to_string(),
                        m.application_id.to_string(),
                        m.variable_name.clone(),
                        m.value.clone(),
                        m.description.clone(),
                    ]
                },
            )
        }
        AppMappingCommand::Get { id } => {
            let mapping = client.get_app_mapping(id).await?;
            output::show(ctx.output, &mapping, mapping_fields)
        }
        AppMappingCommand::Create {
            app,
            variable,
            value,
            description,
        } => {
            let input = CreateAppMapping {
                application_id: app_id(client, &app).await?,
                variable_name: variable,
                value,
                description,
            };
            let mapping = client.create_app_mapping(&input).await?;
            output::show(ctx.output, &mapping, |m| {
                format!(
                    "Created app mapping {}.\n{}",
                    m.variable_name,
                    mapping_fields(m)
                )
            })
        }
        AppMappingCommand::Update {
            id,
            variable,
            value,
            description,
        } => {
            let update = UpdateAppMapping {
                variable_name: variable,
                value,
                description,
            };
            if update == UpdateAppMapping::default() {
                return Err(Failure::usage(
                    "nothing to change: give --variable, --value or --description",
                ));
            }
            let mapping = client.update_app_mapping(id, &update).await?;
            output::show(ctx.output, &mapping, |m| {
                format!(
                    "Updated app mapping {}.\n{}",
                    m.variable_name,
                    mapping_fields(m)
                )
            })
        }
        AppMappingCommand::Delete { id } => {
            client.delete_app_mapping(id).await?;
            output::note(ctx.output, &format!("Deleted app mapping {id}."))
        }
        AppMappingCommand::Assign(target) => {
            let (holder, name) = target.holder(ctx).await?;
            client.assign_app_mapping(holder, target.id).await?;
            output::note(
                ctx.output,
                &format!("Assigned app mapping {} to {name}.", target.id),
            )
        }
        AppMappingCommand::Unassign(target) => {
            let (holder, name) = target.holder(ctx).await?;
            client.unassign_app_mapping(holder, target.id).await?;
            output::note(
                ctx.output,
                &format!("Took app mapping {} from {name}.", target.id),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: AppMappingCommand,
    }

    fn parse(args: &[&str]) -> Result<AppMappingCommand, clap::Error> {
        Cli::try_parse_from(std::iter::once("app-mapping").chain(args.iter().copied()))
            .map(|c| c.command)
    }

    #[test]
    fn assignment_needs_exactly_one_holder_and_a_mapping_id() {
        let id = "0190d2b4-0000-7000-8000-000000000000";
        assert!(parse(&["assign", id, "--user", "a@example.com"]).is_ok());
        assert!(parse(&["unassign", id, "--group", "ops"]).is_ok());
        assert!(parse(&["assign", id]).is_err(), "no holder");
        assert!(
            parse(&["assign", id, "--user", "a@example.com", "--group", "ops"]).is_err(),
            "two holders"
        );
        assert!(
            parse(&["assign", "not-a-uuid", "--user", "a@example.com"]).is_err(),
            "mappings are named by id"
        );
        assert!(
            parse(&["create", "--app", "wiki", "--variable", "tier"]).is_err(),
            "--value is required"
        );
        assert!(parse(&["list", "--group", "ops"]).is_ok());
        assert!(
            parse(&["list", "--app", "wiki", "--user", "a@example.com"]).is_err(),
            "one filter"
        );
    }
}
