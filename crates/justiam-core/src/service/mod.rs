//! Use cases. Each takes the caller's [`Principal`] (or nothing, for login) and does its own
//! authorization, so a handler cannot forget it.

mod admin;
mod app_mappings;
mod applications;
mod auth;
pub mod cache;
mod groups;
pub mod machine;
pub mod mfa;
mod notices;
pub mod oauth;
mod ops;
pub mod outbox;
mod password_reset;
mod roles;
mod tokens;
mod usage;
mod users;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

pub use applications::RotatedSecret;
pub use auth::{LoginOutcome, LoginStep, Refusal};
pub use ops::{PoolStats, TokenStats};
pub use tokens::{IssuedToken, TokenOwner, resolve_token_permissions};
pub use usage::UsageRecorder;
pub use users::NewUser;

use crate::authz::{Principal, RequestMeta};
use crate::database::{Backend, Db};
use crate::jwt::JwtSigner;
use crate::password::Hasher;
use crate::store::audit::AuditEntry;
use crate::time::now_millis;
use cache::{AuthCache, Invalidation};

/// Login throttling, counted inside `window`. After `account_max_failures` for one account from one
/// client address, or `ip_max_failures` from one address, that key is refused for `lockout`,
/// doubled for each further failure, at most one hour. An account is never locked for everyone:
/// past `account_slowdown_after` attempts from all addresses together, its attempts are only
/// spaced `account_slowdown_interval` apart — so an attacker cannot lock a known account out.
#[derive(Debug, Clone)]
pub struct ThrottleSettings {
    pub account_max_failures: i64,
    pub ip_max_failures: i64,
    pub account_slowdown_after: i64,
    pub account_slowdown_interval: Duration,
    pub window: Duration,
    pub lockout: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            account_max_failures: 5,
            ip_max_failures: 20,
            account_slowdown_after: 100,
            account_slowdown_interval: Duration::from_secs(1),
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Portal JWT (and session) lifetime.
    pub token_duration: Duration,
    pub password_min_length: usize,
    pub throttle: ThrottleSettings,
    /// How often pending `last_used_at` updates are written (at most one write per token per
    /// interval).
    pub usage_flush_interval: Duration,
    /// Audit entries older than this are purged.
    pub audit_retention: Duration,
    /// Verified credentials kept in memory (0 turns the cache off).
    pub auth_cache_capacity: usize,
    /// Longest time a cached credential is trusted without a fresh database check.
    pub auth_cache_ttl: Duration,
    /// The OpenID Connect provider's lifetimes.
    pub oauth: oauth::OAuthSettings,
    /// Multi-factor authentication: policy, step-up window, the key sealing TOTP secrets.
    pub mfa: mfa::MfaSettings,
    /// Mail goes out (`SMTP_HOST` is set); without it nothing is written to the outbox and the
    /// features that need mail say so.
    pub mail_enabled: bool,
    /// How long a password-reset link works.
    pub password_reset_ttl: Duration,
    /// Days before expiry at which a token's owner is warned (`7,1`).
    pub token_expiry_warning_days: Vec<i64>,
    /// How often the token notices are looked for.
    pub notification_interval: Duration,
    /// Webhooks may target loopback, link-local and private addresses (tests, labs).
    pub webhook_allow_private_targets: bool,
    /// Service-account access tokens and workload identity federation.
    pub machine: machine::MachineSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            token_duration: Duration::from_secs(24 * 3600),
            password_min_length: justiam_types::rules::PASSWORD_MIN_CHARS,
            throttle: ThrottleSettings::default(),
            usage_flush_interval: Duration::from_secs(60),
            audit_retention: Duration::from_secs(365 * 24 * 3600),
            auth_cache_capacity: 100_000,
            auth_cache_ttl: Duration::from_secs(30),
            oauth: oauth::OAuthSettings::default(),
            mfa: mfa::MfaSettings::default(),
            mail_enabled: false,
            password_reset_ttl: Duration::from_secs(3600),
            token_expiry_warning_days: vec![7, 1],
            notification_interval: Duration::from_secs(300),
            webhook_allow_private_targets: false,
            machine: machine::MachineSettings::default(),
        }
    }
}

/// The identity service: storage, hashing, JWT signing and settings behind one handle.
#[derive(Debug)]
pub struct Iam {
    /// Private: the server reaches the database only through service methods.
    db: Db,
    pub hasher: Hasher,
    pub jwt: JwtSigner,
    pub settings: Settings,
    pub usage: UsageRecorder,
    pub cache: AuthCache,
    /// The OpenID Connect signing keys (see [`oauth::keys`]).
    keys: oauth::keys::KeyRing,
    /// Audit entries of grants, written in batches (see [`machine::GrantLog`]).
    grant_log: machine::GrantLog,
    /// Outside issuers' keys (see [`machine::federation`]).
    issuers: machine::federation::IssuerKeys,
    /// Tells this node's invalidation notices from other nodes', and its outbox claims.
    node_id: String,
    /// Wakes the outbox worker when a message was queued on this node.
    outbox_wake: tokio::sync::Notify,
}

/// The PostgreSQL channel on which nodes tell each other to drop cached credentials.
const INVALIDATION_CHANNEL: &str = "justiam_auth_changed";

impl Iam {
    pub fn new(db: Db, hasher: Hasher, jwt: JwtSigner, settings: Settings) -> Arc<Self> {
        // SQLite is one process: the cache is always coherent. On PostgreSQL it waits for the
        // invalidation listener (see `run_invalidation_listener`).
        let cache = AuthCache::new(
            settings.auth_cache_capacity,
            settings.auth_cache_ttl.as_millis() as i64,
            db.backend == Backend::Sqlite,
        );
        let node_id = crate::store::new_id().to_string();
        Arc::new(Self {
            db,
            hasher,
            jwt,
            settings,
            usage: UsageRecorder::default(),
            cache,
            keys: oauth::keys::KeyRing::default(),
            grant_log: machine::GrantLog::default(),
            issuers: machine::federation::IssuerKeys::default(),
            node_id,
            outbox_wake: tokio::sync::Notify::new(),
        })
    }

    /// Commits a change that may alter what a credential can do, then drops the cached
    /// credentials `scope` covers here and tells the other nodes to do the same.
    pub(crate) async fn commit_and_invalidate(
        &self,
        tx: sqlx::Transaction<'_, sqlx::Any>,
        scope: Invalidation,
    ) -> Result<(), sqlx::Error> {
        tx.commit().await?;
        self.invalidate_everywhere(scope).await;
        Ok(())
    }

    /// Invalidates `scope` in this node's cache and, on PostgreSQL, tells the other nodes. Call
    /// it after the change committed.
    pub(crate) async fn invalidate_everywhere(&self, scope: Invalidation) {
        self.cache.invalidate(scope);
        if self.db.backend == Backend::Postgres {
            let notice = format!("{} {}", self.node_id, scope.to_notice());
            let notified = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(INVALIDATION_CHANNEL)
                .bind(notice)
                .execute(&self.db.pool)
                .await;
            if let Err(error) = notified {
                // Other nodes fall back on their cache TTL; nothing is lost here.
                tracing::warn!(%error, "could not notify other nodes of a credential change");
            }
        }
    }

    /// PostgreSQL only: listens for other nodes' invalidations. The cache is trusted only while
    /// this listener is connected; a reconnect drops everything (notices may have been missed).
    pub async fn run_invalidation_listener(
        self: Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        if self.db.backend != Backend::Postgres {
            return;
        }
        loop {
            match self.listen_once(&mut shutdown).await {
                Ok(()) => return,
                Err(error) => {
                    self.cache.set_enabled(false);
                    tracing::warn!(%error, "credential invalidation listener disconnected; cache off until it is back");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn listen_once(
        &self,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect(self.db.url()).await?;
        listener.listen(INVALIDATION_CHANNEL).await?;
        self.cache.set_enabled(true);
        loop {
            tokio::select! {
                // `try_recv`, not `recv`: `recv` reconnects silently and notices sent meanwhile
                // are lost, which would leave this node trusting revoked credentials.
                notice = listener.try_recv() => match notice? {
                    Some(notice) => {
                        // `<node id> <scope>`; this node's own notices were applied already.
                        let (node, scope) = notice.payload().split_once(' ').unwrap_or((notice.payload(), ""));
                        if node != self.node_id {
                            self.cache.invalidate(Invalidation::from_notice(scope));
                        }
                    }
                    None => return Err(sqlx::Error::Protocol("the notification connection was lost".into())),
                },
                _ = shutdown.changed() => return Ok(()),
            }
        }
    }

    /// Seeds the built-in roles and makes sure a signing key exists; run at every start
    /// (idempotent).
    pub async fn prepare(&self) -> crate::error::CoreResult<()> {
        crate::store::roles::seed_builtin(&self.db.pool).await?;
        self.reseal_mfa_secrets().await?;
        self.ensure_signing_key().await?;
        self.reload_keys().await
    }

    /// Background upkeep: writes batched `last_used_at` updates and, hourly, purges expired
    /// sessions and audit entries past the retention period.
    /// Returns when `shutdown` fires, after a last flush.
    pub async fn run_background(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.settings.usage_flush_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut grants = tokio::time::interval(machine::GRANT_LOG_INTERVAL);
        grants.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_purge = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = grants.tick() => {
                    self.flush_grant_log().await;
                    continue;
                }
                _ = shutdown.changed() => {
                    self.usage.flush(&self.db.pool).await;
                    self.flush_grant_log().await;
                    return;
                }
            }
            self.usage.flush(&self.db.pool).await;
            let now = now_millis();
            if now - last_purge > crate::time::HOUR_MS {
                last_purge = now;
                self.purge(now).await;
            }
        }
    }
}

impl Iam {
    /// Hourly upkeep: expired sessions, and audit entries past the retention period.
    pub async fn purge(&self, now: crate::time::Millis) {
        if let Err(error) = crate::store::sessions::purge_expired(&self.db.pool, now).await {
            tracing::warn!(%error, "could not purge expired sessions");
        }
        self.purge_retired_keys(now).await;
        if let Err(error) = crate::store::mfa::purge_expired_challenges(&self.db.pool, now).await {
            tracing::warn!(%error, "could not purge expired MFA challenges");
        }
        self.purge_oauth(now).await;
        self.purge_outbox(now).await;
        self.purge_machine(now).await;
        let before = now - self.settings.audit_retention.as_millis() as i64;
        match crate::store::audit::purge_before(&self.db.pool, before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged audit entries past retention"),
            Err(error) => tracing::warn!(%error, "could not purge old audit entries"),
        }
    }
}

/// An audit entry for an action by `principal`.
fn audit_by(principal: &Principal, meta: &RequestMeta, action: &'static str) -> AuditEntry {
    AuditEntry {
        at: now_millis(),
        actor_id: Some(principal.id()),
        actor_email: Some(principal.user.email.clone()),
        credential: Some(principal.credential.kind()),
        credential_id: principal.credential.token_id(),
        action,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        ..AuditEntry::default()
    }
}
