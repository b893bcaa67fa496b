//! `justiam backup --output FILE`: a consistent copy of the SQLite database, taken while the
//! server runs (`VACUUM INTO` reads one snapshot; in WAL mode writers are not blocked).
//! PostgreSQL has `pg_dump` for this.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::Args;
use justiam_core::database::Backend;
use sqlx::any::AnyConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};

use justiam_cli::Failure;
use justiam_server::config::{DbArgs, redact_url, sqlite_path};

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The file to write; it must not exist yet. It is created with mode 0600.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
}

pub async fn run(args: &BackupArgs) -> Result<(), Failure> {
    let url = &args.db.database_url;
    match Backend::from_url(url) {
        Some(Backend::Sqlite) => {}
        Some(Backend::Postgres) => {
            return Err(Failure::other(
                "justiam backup copies the embedded SQLite database only; back up PostgreSQL with pg_dump, \
                 e.g. `pg_dump --format=custom --file=justiam.dump \"$DATABASE_URL\"` (restore with pg_restore)",
            ));
        }
        None => {
            return Err(Failure::usage(format!(
                "DATABASE_URL must start with sqlite:// or postgres://, not {:?}",
                redact_url(url)
            )));
        }
    }
    let source = sqlite_path(url).ok_or_else(|| {
        Failure::usage(
            "an in-memory SQLite database cannot be backed up; DATABASE_URL must name a file",
        )
    })?;
    if !source.is_file() {
        return Err(Failure::other(format!(
            "there is no database at {} (check DATABASE_URL)",
            source.display()
        )));
    }
    let target = args.output.as_path();
    let target_text = target.to_str().ok_or_else(|| {
        Failure::usage(format!("the path {} is not valid UTF-8", target.display()))
    })?;
    create_empty_private(target)?;
    let copied = copy(url, target_text).await;
    let checked = match copied {
        Ok(()) => check(target_text).await,
        Err(e) => Err(e),
    };
    match checked {
        Ok(users) => {
            let size = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
            println!(
                "Backed up {} to {} ({size} bytes, {users} users, integrity ok).",
                source.display(),
                target.display()
            );
            Ok(())
        }
        Err(failure) => {
            // Only a file this command created is removed.
            let _ = std::fs::remove_file(target);
            Err(failure)
        }
    }
}

/// Creates the target (refusing an existing one) so that the copy is private from the start.
fn create_empty_private(target: &Path) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(target) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Failure::other(format!(
            "{} already exists; refusing to overwrite it (choose another --output)",
            target.display()
        ))),
        Err(e) => Err(Failure::other(format!(
            "cannot create {}: {e}",
            target.display()
        ))),
    }
}

fn with_mode(url: &str, mode: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}mode={mode}")
    }
}

async fn connect(url: &str) -> Result<sqlx::AnyConnection, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
    let mut conn = options.connect().await?;
    sqlx::query("PRAGMA busy_timeout = 10000")
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

async fn copy(url: &str, target: &str) -> Result<(), Failure> {
    let fail = |e: sqlx::Error| Failure::other(format!("cannot back up the database: {e}"));
    // `mode=rw`: never create an empty database where the real one was expected.
    let mut conn = connect(&with_mode(url, "rw")).await.map_err(fail)?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&mut conn)
        .await
        .map_err(fail)?;
    conn.close().await.map_err(fail)?;
    Ok(())
}

/// Opens the copy read-only and runs SQLite's integrity check; answers the number of users.
async fn check(target: &str) -> Result<i64, Failure> {
    let fail = |e: sqlx::Error| Failure::other(format!("cannot check the backup {target}: {e}"));
    let mut conn = connect(&format!("sqlite://{target}?mode=ro"))
        .await
        .map_err(fail)?;
    let verdict: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(fail)?;
    if verdict != "ok" {
        return Err(Failure::other(format!(
            "the backup {target} fails SQLite's integrity check: {verdict}"
        )));
    }
    let users: i64 = sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(&mut conn)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(fail)?;
    conn.close().await.map_err(fail)?;
    Ok(users)
}
