//! `justiam user …` and `justiam service-account …`.

use clap::{Args, Subcommand};
use justiam_types::{CreateUser, UpdateUser, User};

use super::error::Failure;
use super::output::{self, fields, time, yes_no};
use super::session::{self, Context, full_name, kind, user_id};
use super::tokens::{self, TokenCommand};
use super::{ClientArgs, PageArgs};

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List users and service accounts.
    List {
        /// Only users whose email or name contains this text.
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one user (by id or email).
    Show { user: String },
    /// Create a user or a service account.
    Create(CreateArgs),
    /// Change a user (by id or email); only the given fields change.
    Update(UpdateArgs),
    /// Delete a user (by id or email) with their tokens, sessions, memberships and roles.
    Delete { user: String },
    /// The admin roles a user holds, directly or through groups.
    Roles { user: String },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub first_name: Option<String>,
    #[arg(long)]
    pub last_name: Option<String>,
    /// Make the user an administrator (only administrators may do this).
    #[arg(long, conflicts_with = "service_account")]
    pub admin: bool,
    /// A service account: no password, never logs in, uses tokens.
    #[arg(long)]
    pub service_account: bool,
    /// Create the account deactivated.
    #[arg(long)]
    pub inactive: bool,
    /// Read the initial password from the first line of standard input.
    #[arg(long, conflicts_with_all = ["service_account", "ask_password"])]
    pub password_stdin: bool,
    /// Ask for the initial password on the terminal.
    #[arg(long, conflicts_with = "service_account")]
    pub ask_password: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The user's id or email.
    pub user: String,
    /// New email.
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub first_name: Option<String>,
    #[arg(long)]
    pub last_name: Option<String>,
    /// `false` deactivates the account (its tokens and sessions stop working), `true` reactivates it.
    #[arg(long, value_name = "BOOL")]
    pub active: Option<bool>,
    /// Grant or remove administrator status (only administrators may do this).
    #[arg(long, value_name = "BOOL")]
    pub admin: Option<bool>,
}

#[derive(Debug, Args)]
pub struct ServiceAccountArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: ServiceAccountCommand,
}

#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// Create a service account (no password; it gets tokens from an operator).
    Create {
        /// An email-shaped identifier, e.g. ci-bot@example.com.
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
    },
    /// The tokens of a service account (needs the permission service_accounts.tokens).
    #[command(subcommand)]
    Token(ServiceAccountTokenCommand),
    /// The OAuth clients of a service account: short-lived tokens by client credentials.
    #[command(subcommand)]
    Client(super::machine::ClientCommand),
    /// The federated credentials of a service account: tokens of GitHub Actions, GitLab CI,
    /// Kubernetes or any OpenID Connect issuer exchanged for short-lived tokens.
    #[command(subcommand)]
    Federated(super::machine::FederatedCommand),
}

#[derive(Debug, Subcommand)]
pub enum ServiceAccountTokenCommand {
    /// Create a token for the service account; its value is printed once.
    Create {
        /// The service account's id or email.
        account: String,
        #[command(flatten)]
        args: tokens::CreateArgs,
    },
    /// List the service account's tokens.
    List {
        /// The service account's id or email.
        account: String,
        #[command(flatten)]
        page: PageArgs,
        /// Only tokens whose name contains this text (case-insensitive).
        #[arg(long)]
        search: Option<String>,
    },
    /// Revoke one of the service account's tokens.
    Revoke {
        /// The service account's id or email.
        account: String,
        /// The token's id.
        id: uuid::Uuid,
    },
    /// Replace one of the service account's tokens; the new value is printed once.
    Rotate {
        /// The service account's id or email.
        account: String,
        #[command(flatten)]
        args: tokens::RotateArgs,
    },
}

pub fn user_fields(user: &User) -> String {
    fields(&[
        ("id", user.id.to_string()),
        ("email", user.email.clone()),
        ("username", user.username.clone()),
        ("name", full_name(&user.first_name, &user.last_name)),
        ("kind", kind(user).to_owned()),
        ("active", yes_no(user.is_active)),
        ("created", time(&user.created_at)),
        ("updated", time(&user.updated_at)),
    ])
}

fn user_row(user: &User) -> Vec<String> {
    vec![
        user.id.to_string(),
        user.email.clone(),
        full_name(&user.first_name, &user.last_name),
        kind(user).to_owned(),
        yes_no(user.is_active),
        time(&user.created_at),
    ]
}

pub const USER_HEADER: &[&str] = &["ID", "EMAIL", "NAME", "KIND", "ACTIVE", "CREATED"];

pub async fn run(ctx: &Context, command: UserCommand) -> Result<(), Failure> {
    let client = &ctx.client;
    match command {
        UserCommand::List { search, page } => {
            let answer = client.list_users(&page.params(search)).await?;
            output::list(ctx.output, &answer, USER_HEADER, user_row)
        }
        UserCommand::Show { user } => {
            let id = user_id(client, &user).await?;
            let user = client.get_user(id).await?;
            output::show(ctx.output, &user, user_fields)
        }
        UserCommand::Create(args) => {
            let password = if args.password_stdin {
                Some(session::read_stdin_line("password")?)
            } else if args.ask_password {
                let first = session::prompt_secret("Password: ")?;
                let again = session::prompt_secret("Password again: ")?;
                if first != again {
                    return Err(Failure::usage("the passwords differ"));
                }
                Some(first)
            } else {
                None
            };
            let input = CreateUser {
                email: args.email,
                first_name: args.first_name,
                last_name: args.last_name,
                password,
                is_active: args.inactive.then_some(false),
                is_admin: args.admin.then_some(true),
                is_service_account: args.service_account.then_some(true),
            };
            let user = client.create_user(&input).await?;
            output::show(ctx.output, &user, |user| {
                format!(
                    "Created {} {}.\n{}",
                    kind(user),
                    user.email,
                    user_fields(user)
                )
            })
        }
        UserCommand::Update(args) => {
            let update = UpdateUser {
                email: args.email,
                first_name: args.first_name,
                last_name: args.last_name,
                is_active: args.active,
                is_admin: args.admin,
            };
            if update == UpdateUser::default() {
                return Err(Failure::usage(
                    "nothing to change: give at least one of --email, --first-name, --last-name, --active, --admin",
                ));
            }
            let id = user_id(client, &args.user).await?;
            let user = client.update_user(id, &update).await?;
            output::show(ctx.output, &user, |user| {
                format!("Updated {}.\n{}", user.email, user_fields(user))
            })
        }
        UserCommand::Delete { user } => {
            let id = user_id(client, &user).await?;
            client.delete_user(id).await?;
            output::note(ctx.output, &format!("Deleted user {user}."))
        }
        UserCommand::Roles { user } => {
            let id = user_id(client, &user).await?;
            let answer = client.list_user_roles(id).await?;
            output::list(
                ctx.output,
                &answer,
                &["ROLE ID", "NAME", "SOURCE", "PERMISSIONS"],
                |assignment| {
                    let source = match &assignment.via_group {
                        Some(group) => format!("group {}", group.name),
                        None => assignment.source.clone(),
                    };
                    vec![
                        assignment.role.id.to_string(),
                        assignment.role.name.clone(),
                        source,
                        assignment.role.permissions.join(","),
                    ]
                },
            )
        }
    }
}

pub async fn run_service_account(
    ctx: &Context,
    command: ServiceAccountCommand,
) -> Result<(), Failure> {
    match command {
        ServiceAccountCommand::Create {
            email,
            first_name,
            last_name,
        } => {
            let input = CreateUser {
                email,
                first_name,
                last_name,
                is_service_account: Some(true),
                ..CreateUser::default()
            };
            let user = ctx.client.create_user(&input).await?;
            output::show(ctx.output, &user, |user| {
                format!(
                    "Created service account {}.\n{}Give it a token with: justiam service-account token create {} --name NAME --expires-in-days DAYS\n",
                    user.email,
                    user_fields(user),
                    user.email
                )
            })
        }
        ServiceAccountCommand::Token(command) => {
            let (account, command) = match command {
                ServiceAccountTokenCommand::Create { account, args } => {
                    (account, TokenCommand::Create(args))
                }
                ServiceAccountTokenCommand::List {
                    account,
                    page,
                    search,
                } => (account, TokenCommand::List { page, search }),
                ServiceAccountTokenCommand::Revoke { account, id } => {
                    (account, TokenCommand::Revoke { id })
                }
                ServiceAccountTokenCommand::Rotate { account, args } => {
                    (account, TokenCommand::Rotate(args))
                }
            };
            let id = user_id(&ctx.client, &account).await?;
            tokens::run_for(ctx, Some(id), command).await
        }
        ServiceAccountCommand::Client(command) => super::machine::run_client(ctx, command).await,
        ServiceAccountCommand::Federated(command) => {
            super::machine::run_federated(ctx, command).await
        }
    }
}
