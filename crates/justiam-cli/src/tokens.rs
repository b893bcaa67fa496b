//! `justiam token …` (your own tokens), the token half of `justiam service-account token …`, and
//! `justiam tokens …` (every token the caller oversees: the inventory).

use clap::{Args, Subcommand};
use justiam_types::{CreateToken, PatRecord, RotateToken, TokenInventoryItem};
use uuid::Uuid;

use super::error::Failure;
use super::output::{self, time, time_opt};
use super::session::Context;
use super::{ClientArgs, PageArgs};

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// What every token command can do, for the caller or for a service account.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; its value is printed once.
    Create(CreateArgs),
    /// List tokens (active and expired; revoked ones are gone).
    List {
        #[command(flatten)]
        page: PageArgs,
        /// Only tokens whose name contains this text (case-insensitive).
        #[arg(long)]
        search: Option<String>,
    },
    /// Revoke a token at once.
    Revoke {
        /// The token's id (see `list`).
        id: Uuid,
    },
    /// Replace a token by a new one; the value of the new one is printed once.
    Rotate(RotateArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A name that says where the token is used, e.g. "CI pipeline".
    #[arg(long)]
    pub name: String,
    /// Lifetime in days, 1 to 365.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(1..=365))]
    pub expires_in_days: i64,
    /// Limit the token to these permissions (repeat or separate with commas; wildcards such as
    /// `*.view` work). Without it the token has all of its owner's permissions.
    #[arg(long = "permission", value_name = "PERMISSION", value_delimiter = ',')]
    pub permissions: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The token's id.
    pub id: Uuid,
    /// Lifetime of the replacement in days [default: the old token's lifetime].
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(1..=365))]
    pub expires_in_days: Option<i64>,
    /// Seconds during which the old token keeps working (0 to 86400) [default: 0].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(i64).range(0..=86400))]
    pub grace_period: Option<i64>,
}

pub async fn run(ctx: &Context, command: TokenCommand) -> Result<(), Failure> {
    run_for(ctx, None, command).await
}

/// Runs a token command for the caller (`owner` None) or for a service account.
pub async fn run_for(
    ctx: &Context,
    owner: Option<Uuid>,
    command: TokenCommand,
) -> Result<(), Failure> {
    let client = &ctx.client;
    match command {
        TokenCommand::Create(args) => {
            let body = CreateToken {
                name: args.name,
                expires_in_days: args.expires_in_days,
                permissions: (!args.permissions.is_empty()).then_some(args.permissions),
            };
            let created = client.create_token(owner, &body).await?;
            output::created_token(ctx.output, &created)
        }
        TokenCommand::List { page, search } => {
            let params = page.params(search);
            let answer = match owner {
                Some(user) => client.list_user_tokens(user, &params).await?,
                None => client.list_my_tokens(&params).await?,
            };
            output::list(
                ctx.output,
                &answer,
                &[
                    "ID",
                    "NAME",
                    "TOKEN",
                    "CREATED",
                    "EXPIRES",
                    "LAST USED",
                    "STATE",
                ],
                row,
            )
        }
        TokenCommand::Revoke { id } => {
            match owner {
                Some(user) => client.revoke_user_token(user, id).await?,
                None => client.revoke_my_token(id).await?,
            }
            output::note(ctx.output, &format!("Revoked token {id}."))
        }
        TokenCommand::Rotate(args) => {
            let body = RotateToken {
                expires_in_days: args.expires_in_days,
                grace_period_seconds: args.grace_period,
            };
            let created = client.rotate_token(owner, args.id, &body).await?;
            output::created_token(ctx.output, &created)
        }
    }
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: InventoryCommand,
}

/// The operator's commands over every token they oversee: all of them for an administrator, those
/// of service accounts for a holder of `service_accounts.tokens`.
#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// List tokens with their owners, newest first.
    List {
        #[command(flatten)]
        page: PageArgs,
        /// Only tokens whose name or owner's email contains this text (case-insensitive).
        #[arg(long)]
        search: Option<String>,
        /// Only tokens in this state.
        #[arg(long, value_parser = ["active", "expired", "revoked"])]
        state: Option<String>,
    },
    /// Revoke a token at once, whoever owns it (its id is in `list`).
    Revoke {
        /// The token's id.
        id: Uuid,
    },
}

pub async fn run_inventory(ctx: &Context, command: InventoryCommand) -> Result<(), Failure> {
    let client = &ctx.client;
    match command {
        InventoryCommand::List {
            page,
            search,
            state,
        } => {
            let filters: Vec<(&str, &str)> = state.iter().map(|s| ("state", s.as_str())).collect();
            let answer = client
                .token_inventory(&page.params(search), &filters)
                .await?;
            output::list(
                ctx.output,
                &answer,
                &[
                    "ID",
                    "OWNER",
                    "NAME",
                    "TOKEN",
                    "EXPIRES",
                    "LAST USED",
                    "STATE",
                ],
                inventory_row,
            )
        }
        InventoryCommand::Revoke { id } => {
            client.revoke_any_token(id).await?;
            output::note(ctx.output, &format!("Revoked token {id}."))
        }
    }
}

fn inventory_row(item: &TokenInventoryItem) -> Vec<String> {
    let token = &item.record;
    vec![
        token.id.to_string(),
        item.owner.email.clone(),
        token.name.clone(),
        token.token_hint.clone(),
        time(&token.expires_at),
        time_opt(token.last_used_at.as_ref()),
        item.state.clone(),
    ]
}

fn row(token: &PatRecord) -> Vec<String> {
    let state = if token.expired {
        "expired".to_owned()
    } else if let Some(at) = &token.revoked_at {
        if *at > chrono::Utc::now() {
            format!("rotated, works until {}", time(at))
        } else {
            format!("revoked {}", time(at))
        }
    } else if token.permissions.is_some() {
        "active (fine-grained)".to_owned()
    } else {
        "active".to_owned()
    };
    vec![
        token.id.to_string(),
        token.name.clone(),
        token.token_hint.clone(),
        time(&token.created_at),
        time(&token.expires_at),
        time_opt(token.last_used_at.as_ref()),
        state,
    ]
}
