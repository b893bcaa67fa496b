//! The provider's signing keys in memory, and their lifecycle in the database.
//!
//! Every node loads the published keys at start and re-reads them when they are older than
//! [`KEYS_TTL_MS`], or when a token names a `kid` it does not know (at most once a second). So a
//! rotation by `justiam keys rotate` reaches every node within [`KEYS_TTL_MS`]; meanwhile other
//! nodes still sign with the previous key, which stays published long after (see
//! [`RETIRE_MARGIN_MS`]).

use std::sync::{Arc, RwLock};

use serde::de::DeserializeOwned;

use super::super::Iam;
use crate::database::Backend;
use crate::error::{CoreError, CoreResult};
use crate::oidc::jws::{self, JwsError};
use crate::oidc::keys::{ALG, ALG_ES256, Jwk, NewKey, SigningKey};
use crate::store::audit::{self, AuditEntry};
use crate::store::signing_keys;
use crate::time::{Millis, now_millis};

/// How long a node trusts its copy of the key set.
pub const KEYS_TTL_MS: Millis = 30_000;
/// The longest lifetime of a token a key signs (the maximum `token_expiry`, one day).
pub const LONGEST_TOKEN_MS: Millis = 86_400_000;
/// Added to [`LONGEST_TOKEN_MS`] before a rotated key leaves the JWKS: other nodes may sign with it
/// until they re-read the keys, and clocks differ.
pub const RETIRE_MARGIN_MS: Millis = 10 * 60_000;
/// An arbitrary constant naming the PostgreSQL advisory lock that serialises key creation.
const KEY_LOCK: i64 = 0x6a75_7374_6b65_7973;

#[derive(Default)]
struct KeySet {
    /// RS256: ID tokens and applications' access tokens.
    active: Option<Arc<SigningKey>>,
    /// ES256: service-account access tokens.
    active_es256: Option<Arc<SigningKey>>,
    published: Vec<Jwk>,
    loaded_at: Millis,
}

/// This node's copy of the signing keys.
#[derive(Default)]
pub struct KeyRing {
    set: RwLock<Arc<KeySet>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

impl KeyRing {
    fn current(&self) -> Arc<KeySet> {
        match self.set.read() {
            Ok(set) => set.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, set: KeySet) {
        let set = Arc::new(set);
        match self.set.write() {
            Ok(mut slot) => *slot = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }
}

fn key_error(error: crate::oidc::keys::KeyError) -> CoreError {
    CoreError::Internal(anyhow::anyhow!(error))
}

impl Iam {
    /// Creates the first signing keys (RS256 and ES256) when there is no active one of an
    /// algorithm. Safe when several nodes start at once: on PostgreSQL an advisory lock
    /// serialises them and the check is repeated inside.
    pub(crate) async fn ensure_signing_key(&self) -> CoreResult<()> {
        for (alg, generate) in [
            (ALG, SigningKey::generate as fn() -> Result<NewKey, _>),
            (ALG_ES256, SigningKey::generate_es256),
        ] {
            if signing_keys::count_active(&self.db.pool, alg).await? > 0 {
                continue;
            }
            // Generated outside the transaction: it takes a moment, and may be thrown away.
            let new = generate().map_err(key_error)?;
            let mut tx = self.db.pool.begin().await?;
            if self.db.backend == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(KEY_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            if signing_keys::count_active(&mut *tx, alg).await? == 0 {
                let jwk = serde_json::to_string(&new.jwk).map_err(anyhow::Error::from)?;
                signing_keys::insert(
                    &mut *tx,
                    &new.jwk.kid,
                    alg,
                    &new.private_der,
                    &jwk,
                    now_millis(),
                )
                .await?;
                tracing::info!(kid = %new.jwk.kid, alg, "created the first signing key of its algorithm");
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// Reads the published keys into memory (at start, on the TTL, on an unknown `kid`).
    /// Public so that a test can stand for the 30 s refresh after `justiam keys rotate`.
    pub async fn reload_keys(&self) -> CoreResult<()> {
        let now = now_millis();
        let stored = signing_keys::published(&self.db.pool, now).await?;
        let mut set = KeySet {
            loaded_at: now,
            ..KeySet::default()
        };
        for key in stored {
            let jwk: Jwk = serde_json::from_str(&key.public_jwk).map_err(anyhow::Error::from)?;
            let slot = if key.alg == ALG_ES256 {
                &mut set.active_es256
            } else {
                &mut set.active
            };
            if key.rotated_at.is_none() && slot.is_none() {
                let signing = SigningKey::from_pkcs8(&key.kid, &key.alg, &key.private_der)
                    .map_err(key_error)?;
                *slot = Some(Arc::new(signing));
            }
            set.published.push(jwk);
        }
        self.keys.replace(set);
        Ok(())
    }

    async fn fresh_keys(&self) -> CoreResult<Arc<KeySet>> {
        let set = self.keys.current();
        if set.active.is_some()
            && set.active_es256.is_some()
            && now_millis() - set.loaded_at < KEYS_TTL_MS
        {
            return Ok(set);
        }
        self.reload_keys().await?;
        Ok(self.keys.current())
    }

    /// The key new tokens of algorithm `alg` are signed with.
    pub(crate) async fn active_signing_key(&self, alg: &str) -> CoreResult<Arc<SigningKey>> {
        let pick = |set: &KeySet| {
            if alg == ALG_ES256 {
                set.active_es256.clone()
            } else {
                set.active.clone()
            }
        };
        match pick(&*self.fresh_keys().await?) {
            Some(key) => Ok(key),
            None => {
                // Every key was rotated away by hand in the database: make one rather than stop.
                self.ensure_signing_key().await?;
                self.reload_keys().await?;
                pick(&self.keys.current())
                    .ok_or_else(|| CoreError::Internal(anyhow::anyhow!("no signing key")))
            }
        }
    }

    /// The public keys of `GET /.well-known/jwks.json`.
    pub async fn jwks(&self) -> CoreResult<Vec<Jwk>> {
        Ok(self.fresh_keys().await?.published.clone())
    }

    /// Signs `claims` with the active RS256 key.
    pub(crate) async fn sign_jws(
        &self,
        typ: &str,
        claims: &serde_json::Value,
    ) -> CoreResult<String> {
        let key = self.active_signing_key(ALG).await?;
        jws::sign(&key, typ, claims).map_err(key_error)
    }

    /// Signs `claims` with the active ES256 key (service-account access tokens).
    pub(crate) async fn sign_jws_es256(
        &self,
        typ: &str,
        claims: &serde_json::Value,
    ) -> CoreResult<String> {
        let key = self.active_signing_key(ALG_ES256).await?;
        jws::sign(&key, typ, claims).map_err(key_error)
    }

    /// Verifies a token this provider signed (any published key); `None` when it is not one.
    pub(crate) async fn verify_jws<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
    ) -> CoreResult<Option<T>> {
        let set = self.fresh_keys().await?;
        let find = |set: &KeySet, kid: &str| set.published.iter().find(|k| k.kid == kid).cloned();
        match jws::verify_with(token, typ, |kid| find(&set, kid)) {
            Ok(claims) => Ok(Some(claims)),
            Err(JwsError::Invalid) => Ok(None),
            Err(JwsError::UnknownKey) => {
                // Perhaps another node rotated: look again, at most once a second.
                if now_millis() - set.loaded_at < 1000 {
                    return Ok(None);
                }
                self.reload_keys().await?;
                let set = self.keys.current();
                Ok(jws::verify_with(token, typ, |kid| find(&set, kid)).ok())
            }
        }
    }

    /// `justiam keys rotate`: new active keys (RS256 and ES256); the previous ones stay published
    /// until every token they could have signed has expired, then are deleted. Returns
    /// `(new RS256 kid, retired kids)`; the new ES256 kid is in the audit entry.
    pub async fn rotate_signing_key(&self) -> CoreResult<(String, Vec<String>)> {
        let new = SigningKey::generate().map_err(key_error)?;
        let jwk = serde_json::to_string(&new.jwk).map_err(anyhow::Error::from)?;
        let new_es = SigningKey::generate_es256().map_err(key_error)?;
        let jwk_es = serde_json::to_string(&new_es.jwk).map_err(anyhow::Error::from)?;
        let now = now_millis();
        let mut tx = self.db.pool.begin().await?;
        if self.db.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(KEY_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        signing_keys::delete_retired(&mut *tx, now).await?;
        let retired =
            signing_keys::retire_active(&mut *tx, now, now + LONGEST_TOKEN_MS + RETIRE_MARGIN_MS)
                .await?;
        signing_keys::insert(&mut *tx, &new.jwk.kid, ALG, &new.private_der, &jwk, now).await?;
        signing_keys::insert(
            &mut *tx,
            &new_es.jwk.kid,
            ALG_ES256,
            &new_es.private_der,
            &jwk_es,
            now,
        )
        .await?;
        let entry = AuditEntry {
            at: now,
            action: "signing_key.rotated",
            target_type: Some("signing_key"),
            details: Some(serde_json::json!({
                "kid": new.jwk.kid,
                "es256_kid": new_es.jwk.kid,
                "retired": retired,
            })),
            ..AuditEntry::default()
        };
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;
        self.reload_keys().await?;
        Ok((new.jwk.kid, retired))
    }

    /// Hourly upkeep: drops keys past their `retire_after`.
    pub(crate) async fn purge_retired_keys(&self, now: Millis) {
        match signing_keys::delete_retired(&self.db.pool, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "deleted retired signing keys"),
            Err(error) => tracing::warn!(%error, "could not delete retired signing keys"),
        }
    }
}
