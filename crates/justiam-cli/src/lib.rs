//! The command-line client: `justiam login|logout|whoami|token|tokens|user|service-account|group|
//! role|app|app-mapping|completions`. The `justiam` binary (in `justiam-server`) flattens [`ClientCommand`] into
//! its own subcommands, beside the operator commands that need the server's internals.
//!
//! Everything that talks to a server goes through `justiam-client`, like the tests and the
//! Terraform provider. Errors end up as one line on stderr (`justiam: …`) and an exit code from
//! [`exit_code`]; see [`EXIT_CODES_HELP`].

mod app_mappings;
mod apps;
mod config;
mod error;
mod groups;
mod machine;
mod output;
mod roles;
mod session;
mod tokens;
mod users;
mod webhooks;

use clap::{Args, Subcommand, ValueEnum};
use clap_complete::Shell;

pub use error::{Failure, exit_code};

use session::Context;

/// Shown at the end of `justiam --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  other error (local file, database, unexpected answer)
  2  usage error (bad flags or arguments)
  3  authentication failed: no credential, or the server answered 401
  4  permission denied (403)
  5  not found (404)
  6  conflict or validation error (400, 409, 422)
  7  server error (5xx), too many requests (429) or the server is unreachable

Client commands take the endpoint from --endpoint, JUSTIAM_ENDPOINT or the saved login (in that
order), and the credential from --token, JUSTIAM_TOKEN or the saved login.";

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people.
    #[default]
    Table,
    /// The API's JSON, for scripts.
    Json,
}

/// Where the server is and who we are: flags every client command accepts.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Base URL of the JustIAM server [default: the saved login's, else http://localhost:8080].
    #[arg(long, env = "JUSTIAM_ENDPOINT", global = true, value_name = "URL")]
    pub endpoint: Option<String>,
    /// A personal access token or portal JWT [default: the saved login's].
    #[arg(
        long,
        env = "JUSTIAM_TOKEN",
        global = true,
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// `table` for people, `json` for scripts.
    #[arg(
        long,
        short = 'o',
        value_enum,
        default_value_t = OutputFormat::Table,
        global = true
    )]
    pub output: OutputFormat,
}

/// `--page` and `--limit` of list commands.
#[derive(Debug, Clone, Args)]
pub struct PageArgs {
    /// Page to show (1-based).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub page: u32,
    /// Entries per page (at most 100).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: u32,
}

impl PageArgs {
    fn params(&self, search: Option<String>) -> justiam_client::ListParams {
        justiam_client::ListParams {
            page: Some(self.page),
            limit: Some(self.limit),
            search,
        }
    }
}

/// The client commands, flattened into `justiam`'s own subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Log in with email and password; keeps the session in the user's config directory.
    Login(session::LoginArgs),
    /// End the saved session and forget it.
    Logout(ClientOnly),
    /// Show who the current credential belongs to and what it may do.
    Whoami(ClientOnly),
    /// Your own personal access tokens.
    Token(tokens::TokenArgs),
    /// Every token you oversee, whoever owns it (administrators; service accounts' tokens for
    /// holders of service_accounts.tokens): list and revoke.
    Tokens(tokens::InventoryArgs),
    /// Users (people and service accounts).
    User(users::UserArgs),
    /// Service accounts and their tokens.
    #[command(name = "service-account", alias = "sa")]
    ServiceAccount(users::ServiceAccountArgs),
    /// Groups and their members.
    Group(groups::GroupArgs),
    /// Admin roles and their assignment to users and groups.
    Role(roles::RoleArgs),
    /// Applications (OAuth / OpenID Connect clients), their secrets and who may sign in.
    App(apps::AppArgs),
    /// App role mappings and their assignment to users and groups.
    #[command(name = "app-mapping")]
    AppMapping(app_mappings::AppMappingArgs),
    /// Webhooks (administrators): signed event deliveries and their log.
    Webhook(webhooks::WebhookArgs),
    /// Print a shell completion script, e.g. `justiam completions bash > /etc/bash_completion.d/justiam`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// A client command without arguments of its own.
#[derive(Debug, Clone, Args)]
pub struct ClientOnly {
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Runs a client command. `root` builds the whole `justiam` command line (for completions).
pub async fn run(command: ClientCommand, root: fn() -> clap::Command) -> Result<(), Failure> {
    match command {
        ClientCommand::Login(args) => session::login(args).await,
        ClientCommand::Logout(args) => session::logout(&args.client).await,
        ClientCommand::Whoami(args) => session::whoami(&Context::new(&args.client)?).await,
        ClientCommand::Token(args) => tokens::run(&Context::new(&args.client)?, args.command).await,
        ClientCommand::Tokens(args) => {
            tokens::run_inventory(&Context::new(&args.client)?, args.command).await
        }
        ClientCommand::User(args) => users::run(&Context::new(&args.client)?, args.command).await,
        ClientCommand::ServiceAccount(args) => {
            users::run_service_account(&Context::new(&args.client)?, args.command).await
        }
        ClientCommand::Group(args) => groups::run(&Context::new(&args.client)?, args.command).await,
        ClientCommand::Role(args) => roles::run(&Context::new(&args.client)?, args.command).await,
        ClientCommand::App(args) => apps::run(&Context::new(&args.client)?, args.command).await,
        ClientCommand::AppMapping(args) => {
            app_mappings::run(&Context::new(&args.client)?, args.command).await
        }
        ClientCommand::Webhook(args) => {
            webhooks::run(&Context::new(&args.client)?, args.command).await
        }
        ClientCommand::Completions { shell } => {
            let mut command = root();
            let name = command.get_name().to_owned();
            clap_complete::generate(shell, &mut command, name, &mut std::io::stdout());
            Ok(())
        }
    }
}
