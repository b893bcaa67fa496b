//! Settings: every one is a flag and an environment variable (`justiam serve --help` lists them).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use ipnet::IpNet;
use justiam_core::database::PoolSettings;
use justiam_core::secret::Secret;
use justiam_core::service::machine::MachineSettings;
use justiam_core::service::mfa::{MfaPolicy, MfaSettings};
use justiam_core::service::oauth::OAuthSettings;
use justiam_core::service::{Settings, ThrottleSettings};

/// Where the embedded database lives when `DATABASE_URL` is unset.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./justiam-data/justiam.db";

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// `sqlite://path/to/file.db` or `postgres://user:password@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// Maximum database connections of this node.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Seconds a request waits for a database connection before it is answered 503 (keeps
    /// requests from hanging while the database is down).
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_SECONDS", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub db_acquire_timeout_seconds: u64,
}

impl DbArgs {
    pub fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections.max(1),
            acquire_timeout: std::time::Duration::from_secs(self.db_acquire_timeout_seconds),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// `debug`, `info`, `warn` or `error`, or `target=level` directives such as
    /// `info,justiam_core=debug`.
    #[arg(long, env = "LOG_LEVEL", default_value = "info", global = true)]
    pub log_level: String,
    /// `text` for people, `json` for one JSON object per line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// HMAC key for portal JWTs (at least 32 characters). Generated and kept in the data directory
    /// for the embedded SQLite default; required with PostgreSQL.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Public base URL of this server: the `iss` of every JWT and the OpenID Connect issuer,
    /// published byte for byte in discovery (no trailing slash). Default `http://localhost:$PORT`.
    #[arg(long, env = "OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// HTTP port.
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, env = "BIND_ADDR", default_value = "0.0.0.0")]
    pub bind_addr: IpAddr,
    /// Serve `GET /metrics` on this separate address (e.g. `127.0.0.1:9090`, plain HTTP) instead of
    /// the main port, which then answers it 404. Unset: `/metrics` is on the main port, and the
    /// authentication refusals `invalid`, `expired` and `revoked` are reported as one, `refused`.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Comma-separated CIDRs of reverse proxies whose `X-Forwarded-For` is believed.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpNet>,
    /// Creates this admin on an empty database.
    #[arg(long, env = "JUSTIAM_BOOTSTRAP_ADMIN_EMAIL")]
    pub bootstrap_admin_email: Option<String>,
    /// Password of the bootstrap admin; without it a random one is printed once.
    #[arg(long, env = "JUSTIAM_BOOTSTRAP_ADMIN_PASSWORD", hide_env_values = true)]
    pub bootstrap_admin_password: Option<String>,
    /// Lifetime of a portal JWT and its session, in hours.
    #[arg(long, env = "TOKEN_DURATION_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=8760))]
    pub token_duration_hours: u32,
    /// Minimum password length, in characters (a password is at most 1024). The served OpenAPI document (`/swagger/doc.json`) states it as the `Password` schema's `minLength`.
    #[arg(long, env = "PASSWORD_MIN_LENGTH", default_value_t = 8)]
    pub password_min_length: usize,
    /// Seconds between batched writes of tokens' `last_used_at` (at most one write per token each).
    #[arg(long, env = "PAT_USAGE_FLUSH_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub pat_usage_flush_seconds: u64,
    /// Failed logins for one account from one client address before that address is refused for
    /// the account for a while (other addresses are not affected).
    #[arg(long, env = "LOGIN_MAX_FAILURES_PER_ACCOUNT", default_value_t = 5)]
    pub login_max_failures_per_account: i64,
    /// Login attempts for one account from all addresses together (in 15 minutes) after which its
    /// attempts are spaced LOGIN_ACCOUNT_SLOWDOWN_SECONDS apart; the account is never locked.
    #[arg(long, env = "LOGIN_ACCOUNT_SLOWDOWN_AFTER", default_value_t = 100)]
    pub login_account_slowdown_after: i64,
    /// Seconds between two login attempts for an account past LOGIN_ACCOUNT_SLOWDOWN_AFTER.
    #[arg(long, env = "LOGIN_ACCOUNT_SLOWDOWN_SECONDS", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub login_account_slowdown_seconds: u64,
    /// Failed logins from one client address before it is refused for a while.
    #[arg(long, env = "LOGIN_MAX_FAILURES_PER_IP", default_value_t = 20)]
    pub login_max_failures_per_ip: i64,
    /// First lockout after too many failures, in seconds; doubles with each further failure (max 1 h).
    #[arg(long, env = "LOGIN_LOCKOUT_SECONDS", default_value_t = 60)]
    pub login_lockout_seconds: u64,
    /// Days audit entries are kept; older ones are purged hourly.
    #[arg(long, env = "AUDIT_RETENTION_DAYS", default_value_t = 365, value_parser = clap::value_parser!(u64).range(1..=36500))]
    pub audit_retention_days: u64,
    /// Verified credentials kept in memory by each worker thread (0 turns the cache off).
    #[arg(long, env = "AUTH_CACHE_SIZE", default_value_t = 100_000)]
    pub auth_cache_size: usize,
    /// Longest time a cached credential is trusted without a database check, in seconds. Changes
    /// invalidate the cache at once (on every node, through PostgreSQL LISTEN/NOTIFY); this is only
    /// the safety net.
    #[arg(long, env = "AUTH_CACHE_TTL_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub auth_cache_ttl_seconds: u64,
    /// PEM certificate chain for native TLS (with TLS_KEY_FILE); responses then carry HSTS.
    #[arg(long, env = "TLS_CERT_FILE")]
    pub tls_cert_file: Option<std::path::PathBuf>,
    /// PEM private key for native TLS (with TLS_CERT_FILE).
    #[arg(long, env = "TLS_KEY_FILE")]
    pub tls_key_file: Option<std::path::PathBuf>,
    /// Connections served at once; more clients wait to be accepted.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Seconds a client has to send its request headers (and TLS handshake); slow or idle clients are dropped.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_seconds: u64,
    /// Seconds a request may take before it is answered 408.
    #[arg(long, env = "REQUEST_TIMEOUT_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_seconds: u64,
    /// Failed bearer authentications per client address per minute before 429 (0 = unlimited).
    #[arg(long, env = "TOKEN_AUTH_FAILURES_PER_MINUTE", default_value_t = 60)]
    pub token_auth_failures_per_minute: u32,
    /// Lifetime of the SSO session (`idp_sid` cookie) that signs a user in to applications
    /// without a password, in days.
    #[arg(long, env = "SESSION_DURATION_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub session_duration_days: u32,
    /// Lifetime of an OAuth refresh token, in days (each use replaces it with a new one).
    #[arg(long, env = "OAUTH_REFRESH_TTL_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub oauth_refresh_ttl_days: u32,
    /// Lifetime of an authorization code, in seconds (at most 60, RFC 6749 §4.1.2).
    #[arg(long, env = "OAUTH_CODE_TTL_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub oauth_code_ttl_seconds: u64,
    /// Multi-factor authentication: `disabled` (never offered or asked), `optional` (users choose;
    /// whoever enrolled is asked at every sign-in) or `required` (every user must enroll: a login
    /// without a second factor may only enroll one, and nobody may remove theirs).
    #[arg(long, env = "MFA_POLICY", value_enum, default_value_t = MfaPolicyArg::Optional)]
    pub mfa_policy: MfaPolicyArg,
    /// `true`: a login without a second factor answers `mfa_enrollment_required` with a token
    /// that can only enroll one (always so with MFA_POLICY=required).
    #[arg(long, env = "MFA_ENFORCE_ENROLLMENT", default_value_t = false, action = clap::ArgAction::Set)]
    pub mfa_enforce_enrollment: bool,
    /// Minutes a second-factor check counts for minting a token or an application secret; older,
    /// the request is refused `403 mfa_reauth_required` until a code is given again.
    #[arg(long, env = "MFA_REAUTH_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=1440))]
    pub mfa_reauth_minutes: u64,
    /// Key that seals TOTP secrets at rest (AES-256-GCM): 32 random bytes as base64 or 64 hex
    /// digits. Generated once into the data directory for the embedded SQLite default; required
    /// with PostgreSQL (every node must hold the same key).
    #[arg(long, env = "MFA_ENCRYPTION_KEY", hide_env_values = true)]
    pub mfa_encryption_key: Option<String>,
    /// The previous MFA_ENCRYPTION_KEY during a rotation: it only opens secrets, which are sealed
    /// again under the new key at start. Remove it once every node runs with the new key.
    #[arg(long, env = "MFA_ENCRYPTION_KEY_PREVIOUS", hide_env_values = true)]
    pub mfa_encryption_key_previous: Option<String>,
    /// The issuer authenticator apps show beside the account (in the otpauth URI).
    #[arg(long, env = "MFA_TOTP_ISSUER", default_value = "JustIAM")]
    pub mfa_totp_issuer: String,
    #[command(flatten)]
    pub mail: MailArgs,
    /// Lifetime of a password-reset link, in minutes.
    #[arg(long, env = "PASSWORD_RESET_TTL_MINUTES", default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=10080))]
    pub password_reset_ttl_minutes: u64,
    /// Days before a token expires at which its owner is mailed a warning, comma-separated (each
    /// warning goes out once per token).
    #[arg(long, env = "TOKEN_EXPIRY_WARNING_DAYS", value_delimiter = ',', default_value = "7,1", value_parser = clap::value_parser!(i64).range(1..=365))]
    pub token_expiry_warning_days: Vec<i64>,
    /// Seconds between two looks for tokens whose expiry warning is due (also done at start).
    #[arg(long, env = "NOTIFICATION_INTERVAL_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub notification_interval_seconds: u64,
    /// Let webhooks target loopback, link-local and private addresses (checked at creation and
    /// again at every delivery, against the address the name resolves to). For labs and tests.
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE_TARGETS", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private_targets: bool,
    /// Lifetime of a service account's access token (client credentials, token exchange), in
    /// seconds. Short on purpose: such a token cannot be revoked alone.
    #[arg(long, env = "SERVICE_TOKEN_TTL_SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(60..=86_400))]
    pub service_token_ttl_seconds: u64,
    /// Let workload identity federation fetch the keys of an `http://` issuer on a loopback
    /// address (127.0.0.1, ::1, localhost): for tests only; every other issuer must be https.
    #[arg(long, env = "FEDERATION_ALLOW_HTTP_LOOPBACK", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub federation_allow_http_loopback: bool,
}

/// `MFA_POLICY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MfaPolicyArg {
    Disabled,
    Optional,
    Required,
}

impl From<MfaPolicyArg> for MfaPolicy {
    fn from(arg: MfaPolicyArg) -> Self {
        match arg {
            MfaPolicyArg::Disabled => MfaPolicy::Disabled,
            MfaPolicyArg::Optional => MfaPolicy::Optional,
            MfaPolicyArg::Required => MfaPolicy::Required,
        }
    }
}

/// How `SMTP_HOST` is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (refused if the server does not offer it); port 587.
    Starttls,
    /// TLS from the first byte ("SMTPS"); port 465.
    Tls,
    /// No encryption: only for a relay on this machine (a loopback SMTP_HOST).
    None,
}

/// Outgoing mail. Without `SMTP_HOST` no mail is sent, and what needs it says so.
#[derive(Debug, Clone, Args)]
pub struct MailArgs {
    /// SMTP server that sends JustIAM's mail (password resets, token notices). Unset: mail is off.
    #[arg(long, env = "SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port. Default: 587 with starttls, 465 with tls, 25 with none.
    #[arg(long, env = "SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// SMTP user name, if the server wants one (with SMTP_PASSWORD).
    #[arg(long, env = "SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// SMTP password.
    #[arg(long, env = "SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// The From: address of JustIAM's mail, e.g. `JustIAM <iam@example.com>`.
    #[arg(long, env = "SMTP_FROM", default_value = "JustIAM <justiam@localhost>")]
    pub smtp_from: String,
    /// Transport security towards SMTP_HOST.
    #[arg(long, env = "SMTP_TLS", value_enum, default_value_t = SmtpTls::Starttls)]
    pub smtp_tls: SmtpTls,
}

impl MailArgs {
    pub fn enabled(&self) -> bool {
        self.smtp_host
            .as_deref()
            .is_some_and(|h| !h.trim().is_empty())
    }
}

impl ServeArgs {
    pub fn settings(&self) -> Settings {
        Settings {
            token_duration: Duration::from_secs(u64::from(self.token_duration_hours) * 3600),
            password_min_length: self.password_min_length.max(1),
            throttle: ThrottleSettings {
                account_max_failures: self.login_max_failures_per_account.max(1),
                ip_max_failures: self.login_max_failures_per_ip.max(1),
                account_slowdown_after: self.login_account_slowdown_after.max(1),
                account_slowdown_interval: Duration::from_secs(self.login_account_slowdown_seconds),
                lockout: Duration::from_secs(self.login_lockout_seconds.max(1)),
                ..ThrottleSettings::default()
            },
            usage_flush_interval: Duration::from_secs(self.pat_usage_flush_seconds),
            audit_retention: Duration::from_secs(self.audit_retention_days * 24 * 3600),
            auth_cache_capacity: self.auth_cache_size,
            auth_cache_ttl: Duration::from_secs(self.auth_cache_ttl_seconds),
            oauth: OAuthSettings {
                code_ttl: Duration::from_secs(self.oauth_code_ttl_seconds),
                refresh_ttl: Duration::from_secs(u64::from(self.oauth_refresh_ttl_days) * 86_400),
                sso_session: Duration::from_secs(u64::from(self.session_duration_days) * 86_400),
            },
            // The sealing key is read by `server::start` (it may live in the data directory).
            mfa: MfaSettings {
                policy: self.mfa_policy.into(),
                enforce_enrollment: self.mfa_enforce_enrollment,
                reauth: Duration::from_secs(self.mfa_reauth_minutes * 60),
                issuer: self.mfa_totp_issuer.clone(),
                ..MfaSettings::default()
            },
            mail_enabled: self.mail.enabled(),
            password_reset_ttl: Duration::from_secs(self.password_reset_ttl_minutes * 60),
            token_expiry_warning_days: self.token_expiry_warning_days.clone(),
            notification_interval: Duration::from_secs(self.notification_interval_seconds),
            webhook_allow_private_targets: self.webhook_allow_private_targets,
            machine: MachineSettings {
                service_token_ttl: Duration::from_secs(self.service_token_ttl_seconds),
                federation_allow_http_loopback: self.federation_allow_http_loopback,
            },
        }
    }

    pub fn bind(&self) -> SocketAddr {
        SocketAddr::new(self.bind_addr, self.port)
    }

    pub fn issuer(&self, bound_port: u16) -> String {
        self.oidc_issuer
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{bound_port}"))
    }

    pub fn jwt_secret(&self) -> Option<Secret> {
        self.jwt_secret.clone().map(Secret::new)
    }
}

/// The file behind a `sqlite:` URL, if it is one (not for `sqlite::memory:`).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_redaction() {
        assert_eq!(
            sqlite_path(DEFAULT_DATABASE_URL),
            Some(PathBuf::from("./justiam-data/justiam.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:/tmp/x.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
    }
}
