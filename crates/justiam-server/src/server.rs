//! Start-up: open and migrate the database, load the keys, create the first admin, listen.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use justiam_core::database::{Backend, Db, PoolSettings};
use justiam_core::jwt::JwtSigner;
use justiam_core::password::Hasher;
use justiam_core::sealing::{KeyRing, generate_key_text, parse_key};
use justiam_core::secret::Secret;
use justiam_core::service::{Iam, NewUser};
use justiam_types::CreateUser;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::{self, AppContext, AppState};
use crate::config::{ServeArgs, redact_url, sqlite_path};
use crate::http::throttle::FailureThrottle;
use crate::listener::{self, ListenSettings};
use crate::mail::Mailer;
use crate::outbox;
use crate::telemetry::logging;
use crate::telemetry::metrics::{Audience, Metrics};

/// Opens the database (creating the SQLite directory and file when needed) and applies every
/// embedded migration. Errors are one sentence an operator can act on.
pub async fn open_database(url: &str, pool: &PoolSettings) -> anyhow::Result<Db> {
    let backend = Backend::from_url(url).ok_or_else(|| {
        anyhow!(
            "DATABASE_URL must start with sqlite:// or postgres://, not {:?}",
            redact_url(url)
        )
    })?;
    if let Some(file) = sqlite_path(url) {
        // `mode=ro` or `mode=rw` in the URL: the database must exist already; nothing is created.
        let creates = !url.contains("mode=") || url.contains("mode=rwc");
        prepare_private_sqlite(&file, creates)?;
    }
    let db = Db::connect(url, pool).await.map_err(|e| {
        anyhow!(
            "cannot open the {} database at {}: {e}",
            backend.name(),
            redact_url(url)
        )
    })?;
    db.migrate().await.map_err(|e| {
        anyhow!(
            "cannot apply the database migrations to {}: {e}",
            redact_url(url)
        )
    })?;
    Ok(db)
}

/// The SQLite database holds password hashes and token digests, so no other local user may read
/// it: a missing data directory is created `0700`, and the database file `0600` before SQLite opens
/// it (SQLite gives the `-wal`, `-shm` and journal files it creates the database file's mode).
/// Files an older version left readable by others are made private.
fn prepare_private_sqlite(file: &Path, creates: bool) -> anyhow::Result<()> {
    if creates {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
                .create(dir)
                .map_err(|e| anyhow!("cannot create the data directory {}: {e}", dir.display()))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(file) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => bail!("cannot create the database file {}: {e}", file.display()),
        }
    }
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm", "-journal"] {
        use std::os::unix::fs::PermissionsExt;
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let path = PathBuf::from(name);
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        let mode = metadata.permissions().mode();
        if metadata.is_file() && mode & 0o077 != 0 {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o700))
                .map_err(|e| anyhow!("cannot make {} private: {e}", path.display()))?;
            tracing::warn!(
                file = %path.display(),
                was = format!("{:o}", mode & 0o777),
                now = format!("{:o}", mode & 0o700),
                "the database file was open to other users; now only its owner may read it"
            );
        }
    }
    Ok(())
}

/// The JWT key: `JWT_SECRET`, or for SQLite a key generated once and kept beside the database.
fn jwt_secret(args: &ServeArgs, backend: Backend) -> anyhow::Result<Secret> {
    if let Some(secret) = args.jwt_secret() {
        if secret.expose().len() < 32 {
            bail!("JWT_SECRET must be at least 32 characters long");
        }
        return Ok(secret);
    }
    let data_dir = match (backend, sqlite_path(&args.db.database_url)) {
        (Backend::Sqlite, Some(path)) => path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
        (Backend::Sqlite, None) => return Ok(Secret::new(random_text(48)?)),
        (Backend::Postgres, _) => bail!(
            "JWT_SECRET is required with PostgreSQL: every node must sign portal JWTs with the same key \
             (set it to 32 or more random characters)"
        ),
    };
    let file = data_dir.join("jwt_secret");
    match std::fs::read_to_string(&file) {
        Ok(text) if text.trim().len() >= 32 => return Ok(Secret::new(text.trim().to_owned())),
        Ok(_) => bail!(
            "{} is shorter than 32 characters; delete it to generate a new key",
            file.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!("cannot read {}: {e}", file.display()),
    }
    let secret = random_text(48)?;
    write_private(&file, &secret).map_err(|e| anyhow!("cannot write {}: {e}", file.display()))?;
    Ok(Secret::new(secret))
}

/// The key ring sealing TOTP secrets: `MFA_ENCRYPTION_KEY` (and `MFA_ENCRYPTION_KEY_PREVIOUS`
/// during a rotation), or for SQLite a key generated once into the data directory (`0600`), as the
/// JWT key. Required with PostgreSQL: every node must open what another sealed.
fn mfa_keys(args: &ServeArgs, backend: Backend) -> anyhow::Result<KeyRing> {
    let previous = args
        .mfa_encryption_key_previous
        .as_deref()
        .map(|text| parse_key("MFA_ENCRYPTION_KEY_PREVIOUS", text))
        .transpose()
        .map_err(|e| anyhow!(e))?;
    if let Some(text) = &args.mfa_encryption_key {
        let key = parse_key("MFA_ENCRYPTION_KEY", text).map_err(|e| anyhow!(e))?;
        return Ok(KeyRing::new(&key, previous.as_ref()));
    }
    let data_dir = match (backend, sqlite_path(&args.db.database_url)) {
        (Backend::Sqlite, Some(path)) => path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
        (Backend::Sqlite, None) => {
            let text =
                generate_key_text().map_err(|e| anyhow!("OS randomness unavailable: {e}"))?;
            let key = parse_key("MFA_ENCRYPTION_KEY", &text).map_err(|e| anyhow!(e))?;
            return Ok(KeyRing::new(&key, previous.as_ref()));
        }
        (Backend::Postgres, _) => bail!(
            "MFA_ENCRYPTION_KEY is required with PostgreSQL: every node must open the TOTP secrets another \
             sealed (set it to 32 random bytes, e.g. `openssl rand -base64 32`)"
        ),
    };
    let file = data_dir.join("mfa_encryption_key");
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text =
                generate_key_text().map_err(|e| anyhow!("OS randomness unavailable: {e}"))?;
            write_private(&file, &text)
                .map_err(|e| anyhow!("cannot write {}: {e}", file.display()))?;
            text
        }
        Err(e) => bail!("cannot read {}: {e}", file.display()),
    };
    let key = parse_key(&file.display().to_string(), &text).map_err(|e| anyhow!(e))?;
    Ok(KeyRing::new(&key, previous.as_ref()))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// Random base62 text from the OS CSPRNG (passwords, keys).
pub fn random_text(len: usize) -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).map_err(|e| anyhow!("OS randomness unavailable: {e}"))?;
        out.extend(
            buf.iter()
                .filter(|b| **b < 248)
                .map(|b| ALPHABET[usize::from(*b % 62)] as char)
                .take(len - out.len()),
        );
    }
    Ok(out)
}

/// Creates a user from the command line or the bootstrap variables; returns the generated password
/// when none was given.
pub async fn create_user_from_cli(
    iam: &Iam,
    email: &str,
    password: Option<Secret>,
    is_admin: bool,
    first_name: Option<String>,
    last_name: Option<String>,
) -> anyhow::Result<(justiam_types::User, Option<Secret>)> {
    let generated = match password {
        Some(_) => None,
        None => Some(Secret::new(random_text(20)?)),
    };
    let password = password.or_else(|| generated.clone());
    let input = CreateUser {
        email: email.to_owned(),
        first_name,
        last_name,
        password: password.map(Secret::into_exposed),
        is_active: Some(true),
        is_admin: Some(is_admin),
        is_service_account: Some(false),
    };
    let new_user = NewUser::parse(input).map_err(|e| anyhow!("{e}"))?;
    let user = iam
        .create_user_from_command_line(new_user)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    Ok((user.to_wire(), generated))
}

/// A server listening on its port, stopped by [`Running::shutdown`].
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when `METRICS_ADDR` is set.
    pub metrics_addr: Option<SocketAddr>,
    pub iam: Arc<Iam>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests, writes pending token usage, closes the
    /// database.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.wait().await;
    }

    /// Waits until the server has stopped (see [`Running::stopper`]), then closes the database:
    /// every connection is closed properly, so SQLite checkpoints its `-wal` file into the
    /// database and removes it, and PostgreSQL sees its sessions end rather than break.
    pub async fn wait(&mut self) {
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        self.iam.close().await;
    }

    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

/// Everything `justiam serve` does before it answers requests.
pub async fn start(args: &ServeArgs) -> anyhow::Result<Running> {
    let started = std::time::Instant::now();
    let db = open_database(&args.db.database_url, &args.db.pool_settings()).await?;
    let secret = jwt_secret(args, db.backend())?;
    let mut settings = args.settings();
    settings.mfa.keys = mfa_keys(args, db.backend())?;
    let listener = TcpListener::bind(args.bind())
        .await
        .with_context(|| format!("cannot listen on {}", args.bind()))?;
    let addr = listener.local_addr()?;
    // A mail setting that cannot work is refused before anything listens.
    let mailer = Mailer::from_args(&args.mail)?;
    let hasher = Hasher::new(
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2),
    )?;
    let iam = Iam::new(
        db,
        hasher,
        JwtSigner::new(secret.expose().as_bytes(), args.issuer(addr.port())),
        settings,
    );
    iam.prepare()
        .await
        .context("cannot seed the built-in admin roles")?;
    bootstrap_admin(&iam, args).await?;

    let tls = match (&args.tls_cert_file, &args.tls_key_file) {
        (Some(cert), Some(key)) => Some(listener::load_tls(cert, key)?),
        (None, None) => None,
        _ => bail!("TLS needs both TLS_CERT_FILE and TLS_KEY_FILE"),
    };
    let state = AppState::new(AppContext {
        iam: iam.clone(),
        // Without `METRICS_ADDR`, `/metrics` is on the public listener.
        metrics: Metrics::new(if args.metrics_addr.is_some() {
            Audience::Operators
        } else {
            Audience::Public
        }),
        token_failures: FailureThrottle::new(args.token_auth_failures_per_minute),
        hsts: tls.is_some(),
        request_timeout: Duration::from_secs(args.request_timeout_seconds),
        trusted_proxies: args.trusted_proxies.clone(),
    });
    let settings = ListenSettings {
        max_connections: args.max_connections,
        header_read_timeout: Duration::from_secs(args.header_read_timeout_seconds),
        tls,
    };
    let metrics_listener = match args.metrics_addr {
        Some(metrics_addr) => Some(
            TcpListener::bind(metrics_addr)
                .await
                .with_context(|| format!("cannot listen on METRICS_ADDR {metrics_addr}"))?,
        ),
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(listener) => Some(listener.local_addr()?),
        None => None,
    };
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(metrics_listener) = metrics_listener {
        // Plain HTTP: scrapers reach it on an internal network.
        let metrics_settings = ListenSettings {
            tls: None,
            ..settings.clone()
        };
        tasks.push(tokio::spawn(listener::serve(
            metrics_listener,
            app::metrics_only(state.clone()),
            metrics_settings,
            stopped.clone(),
        )));
    }
    let http_task = tokio::spawn(listener::serve(
        listener,
        app::build(state, metrics_addr.is_none()),
        settings,
        stopped.clone(),
    ));
    let listener_task = tokio::spawn(iam.clone().run_invalidation_listener(stopped.clone()));
    let outbox_task = tokio::spawn(outbox::run(iam.clone(), mailer, stopped.clone()));
    let notices_task = tokio::spawn(iam.clone().run_notices(stopped.clone()));
    let background = tokio::spawn(iam.clone().run_background(stopped));
    tracing::info!(
        %addr,
        metrics_addr = metrics_addr.map(tracing::field::display),
        database = iam.backend_name(),
        mail = if iam.mail_enabled() { "on" } else { "off (no SMTP_HOST)" },
        ready_ms = started.elapsed().as_millis() as u64,
        "JustIAM is ready"
    );
    tasks.extend([
        http_task,
        background,
        listener_task,
        outbox_task,
        notices_task,
    ]);
    Ok(Running {
        addr,
        metrics_addr,
        iam,
        stop,
        tasks,
    })
}

async fn bootstrap_admin(iam: &Iam, args: &ServeArgs) -> anyhow::Result<()> {
    if iam.count_users().await? > 0 {
        return Ok(());
    }
    let Some(email) = &args.bootstrap_admin_email else {
        logging::announce(
            "The database has no users yet. Create the first administrator with:\n\n    \
             justiam admin create --email admin@example.com --password-stdin\n\n\
             (or start with JUSTIAM_BOOTSTRAP_ADMIN_EMAIL set).",
        );
        return Ok(());
    };
    let password = args.bootstrap_admin_password.clone().map(Secret::new);
    let (user, generated) = create_user_from_cli(iam, email, password, true, None, None)
        .await
        .context("cannot create the bootstrap admin")?;
    logging::announce(&format!("Created the first administrator {}.", user.email));
    if let Some(password) = generated {
        logging::announce(&format!(
            "Its generated password, shown only this once: {}",
            password.expose()
        ));
    }
    Ok(())
}
