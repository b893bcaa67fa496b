//! Storage on SQLite or PostgreSQL through one `sqlx::AnyPool` and one SQL text.
//!
//! Rules that keep one text portable: `$n` placeholders, TEXT ids, BIGINT unix milliseconds made in
//! Rust, booleans decoded by [`flag`], case-insensitive search through `lower(..) LIKE lower(..)`.
//! Each aggregate has a module with plain async functions over an executor, so a service can run
//! several of them in one transaction.

pub mod audit;
pub mod groups;
pub mod roles;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Row};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// Kept for the PostgreSQL `LISTEN` connection; never printed (it may hold a password).
    url: std::sync::Arc<str>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl Db {
    /// Connects (creating a SQLite file when missing) and checks the server answers.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| {
            sqlx::Error::Configuration(
                "DATABASE_URL must start with sqlite:// or postgres://".into(),
            )
        })?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        Ok(Db {
            pool,
            backend,
            url: url.into(),
        })
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Ready = reachable and every embedded migration applied.
    pub async fn is_ready(&self) -> bool {
        let expected = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.iter().count(),
            Backend::Postgres => POSTGRES_MIGRATIONS.iter().count(),
        } as i64;
        let applied = sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success = $1")
            .bind(true)
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get::<i64, _>("n"));
        matches!(applied, Ok(n) if n >= expected)
    }
}

/// Reads a boolean column: PostgreSQL BOOLEAN or SQLite INTEGER 0/1.
pub fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    row.try_get::<bool, _>(column)
        .or_else(|_| row.try_get::<i64, _>(column).map(|v| v != 0))
}

/// Reads a TEXT uuid column.
pub fn uuid(row: &AnyRow, column: &str) -> Result<uuid::Uuid, sqlx::Error> {
    let text: String = row.try_get(column)?;
    uuid::Uuid::parse_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(e),
    })
}

pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// A `LIKE` pattern matching `needle` as a substring, case-insensitively (use with `ESCAPE '\'`
/// and `lower(column)`).
pub fn contains_pattern(needle: &str) -> String {
    substring_pattern(&needle.to_lowercase())
}

/// A `LIKE` pattern matching `needle`, as typed, as a substring: `%`, `_` and `\` match
/// themselves (use with `ESCAPE '\'`).
///
/// Compare it as `lower(column) LIKE lower($n)`: the database folds both sides with the same
/// function, so a name typed exactly as stored always matches, and letters match in either case
/// wherever that database's `lower()` knows them — ASCII on SQLite, all of Unicode on PostgreSQL
/// with a UTF-8 locale. (A pattern lowercased in Rust would miss `École` on SQLite, whose
/// `lower()` leaves `É` alone.)
pub fn substring_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
