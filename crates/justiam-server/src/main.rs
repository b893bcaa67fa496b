//! `justiam`: the server, its operator commands and the command-line client (from `justiam-cli`).

mod operator;

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::{CommandFactory, Parser, Subcommand};
use justiam_core::secret::Secret;
use justiam_server::config::{DbArgs, LogArgs, ServeArgs};
use justiam_server::server;
use justiam_server::telemetry::logging;

#[derive(Debug, Parser)]
#[command(
    name = "justiam",
    version,
    about = "JustIAM: identity and access management for people and machines",
    after_help = justiam_cli::EXIT_CODES_HELP
)]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve(Box<ServeArgs>),
    /// Apply the database migrations and exit.
    Migrate(DbArgs),
    /// Operator commands.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The OpenID Connect signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the OpenAPI 3 description of the HTTP API (JSON, or YAML with --yaml).
    Openapi {
        #[arg(long)]
        yaml: bool,
    },
    /// Copy the SQLite database consistently while the server runs (PostgreSQL: use pg_dump).
    Backup(operator::backup::BackupArgs),
    /// Outgoing mail.
    #[command(subcommand)]
    Mail(MailCommand),
    #[command(flatten)]
    Client(justiam_cli::ClientCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a user from the command line: the first administrator, or anyone.
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
        /// Read the password from standard input (first line); otherwise one is generated and printed.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
        /// Create a regular user instead of an administrator.
        #[arg(long)]
        no_admin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Make a new signing key the active one. The previous key stays published in the JWKS until
    /// every token it signed has expired (one day and ten minutes), then is deleted; running
    /// servers pick the new key up within 30 seconds.
    Rotate {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum MailCommand {
    /// Send a test mail now with the SMTP_* settings, and say what the SMTP server answered.
    Test {
        #[command(flatten)]
        mail: justiam_server::config::MailArgs,
        /// Where the test mail goes.
        #[arg(long)]
        to: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = logging::init(&cli.log);
    let serving = matches!(cli.command, Command::Serve(_));
    let result = run(cli.command).await;
    // With LOG_FORMAT=json the server's last word is a line of its JSON log too.
    let said = match &result {
        Err(error) if serving => logging::announce_failure(&format!("justiam: {error:#}")),
        _ => false,
    };
    // Every log line is out before the final error, so they read in order.
    drop(logs);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if !said {
                eprintln!("justiam: {error:#}");
            }
            ExitCode::from(justiam_cli::exit_code(&error))
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(&args).await,
        Command::Backup(args) => Ok(operator::backup::run(&args).await?),
        Command::Mail(MailCommand::Test { mail, to }) => operator::mail::test(&mail, &to).await,
        Command::Client(command) => Ok(justiam_cli::run(command, Cli::command).await?),
        Command::Openapi { yaml } => {
            let doc = justiam_server::http::openapi_document();
            let text = if yaml {
                doc.to_yaml()?
            } else {
                doc.to_pretty_json()?
            };
            println!("{text}");
            Ok(())
        }
        Command::Migrate(db) => {
            let database = server::open_database(&db.database_url, &db.pool_settings()).await?;
            // Closed properly: SQLite folds its write-ahead log back into the database.
            database.close().await;
            println!("The database is migrated.");
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate { db }) => {
            let database = server::open_database(&db.database_url, &db.pool_settings()).await?;
            let hasher = justiam_core::password::Hasher::new(1)?;
            // Portal JWTs are not signed here; any key will do.
            let signer = justiam_core::jwt::JwtSigner::new(b"unused", "cli");
            let iam = justiam_core::service::Iam::new(database, hasher, signer, Default::default());
            let rotated = iam.rotate_signing_key().await;
            iam.close().await;
            let (kid, retired) = rotated?;
            println!("The active signing key is now {kid}.");
            for old in retired {
                println!("Key {old} stays in the JWKS until the tokens it signed have expired.");
            }
            Ok(())
        }
        Command::Admin(AdminCommand::Create {
            db,
            email,
            password_stdin,
            first_name,
            last_name,
            no_admin,
        }) => {
            let password = if password_stdin {
                Some(read_password_stdin()?)
            } else {
                None
            };
            let database = server::open_database(&db.database_url, &db.pool_settings()).await?;
            let hasher = justiam_core::password::Hasher::new(1)?;
            // Signing is not used here; any key will do.
            let signer = justiam_core::jwt::JwtSigner::new(b"unused", "cli");
            let iam = justiam_core::service::Iam::new(database, hasher, signer, Default::default());
            iam.prepare().await?;
            let created = server::create_user_from_cli(
                &iam, &email, password, !no_admin, first_name, last_name,
            )
            .await;
            iam.close().await;
            let (user, generated) = created?;
            let kind = if user.is_admin {
                "administrator"
            } else {
                "user"
            };
            println!("Created {kind} {} (id {}).", user.email, user.id);
            if let Some(password) = generated {
                println!(
                    "Generated password, shown only this once: {}",
                    password.expose()
                );
            }
            Ok(())
        }
    }
}

fn read_password_stdin() -> anyhow::Result<Secret> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from standard input")?;
    let password = input.lines().next().unwrap_or_default().to_owned();
    if password.is_empty() {
        return Err(anyhow!(
            "--password-stdin was given but standard input is empty"
        ));
    }
    Ok(Secret::new(password))
}

async fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let mut running = server::start(args).await?;
    let announce = logging::announce;
    announce(&format!("JustIAM listening on http://{}", running.addr));
    if let Some(metrics_addr) = running.metrics_addr {
        announce(&format!("Metrics on http://{metrics_addr}/metrics"));
    }
    let stop = running.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    });
    running.wait().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
