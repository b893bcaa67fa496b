//! Machine identity without long-lived secrets (issue 16): a service account's OAuth clients
//! (`client_credentials`, [`grant`]), federated credentials (RFC 8693 token exchange,
//! [`federation`]) and the short-lived access tokens both hand out, which act on `/api/v1` as the
//! service account ([`access`]).

mod access;
pub mod federation;
mod grant;
mod records;
mod revocation;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use justiam_types::machine::{
    ClientAuthMethod, CreateFederatedCredential, CreateServiceAccountClient,
};
use justiam_types::rules;
use uuid::Uuid;

use super::cache::Invalidation;
use super::tokens::refuse_self_minting;
use super::users::admin_only;
use super::{Iam, audit_by};
use crate::authz::{Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::model::machine::{
    FederatedCredential, SA_CLIENT_ID_PREFIX, ServiceAccountClient, claim_key_root,
};
use crate::model::{Description, Permission, TokenName, User};
use crate::oidc::keys::Jwk;
use crate::secret::Secret;
use crate::store::audit::{self, AuditEntry};
use crate::store::{machine, new_id, users};
use crate::time::{Millis, now_millis};
use crate::token::{self, CLIENT_SECRET_PREFIX};

pub use access::ACCESS_TOKEN_KIND;
pub use federation::{ExchangeRequest, JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT};
pub use grant::{ClientAuthentication, JWT_BEARER_ASSERTION, ServiceTokenResponse, TOKEN_ENDPOINT};
pub use revocation::Revoker;

/// How often the batched audit entries of grants are written.
pub const GRANT_LOG_INTERVAL: Duration = Duration::from_secs(1);
/// Grants waiting for the batch beyond which a grant writes the batch itself (back-pressure
/// rather than unbounded memory, and rather than dropping an audit entry).
const GRANT_LOG_MAX_PENDING: usize = 20_000;
/// Keys a client may register.
const MAX_CLIENT_KEYS: usize = rules::CLIENT_KEYS_MAX;
/// Claim conditions a federated credential may hold.
const MAX_CLAIM_CONDITIONS: usize = rules::CLAIM_CONDITIONS_MAX;
/// Longest issuer, audience, subject, claim name or value.
const MAX_CONDITION_CHARS: usize = 1000;

#[derive(Debug, Clone)]
pub struct MachineSettings {
    /// Lifetime of service-account access tokens (`SERVICE_TOKEN_TTL_SECONDS`).
    pub service_token_ttl: Duration,
    /// Plain-http issuers on loopback for federation (`FEDERATION_ALLOW_HTTP_LOOPBACK`): tests.
    pub federation_allow_http_loopback: bool,
}

impl Default for MachineSettings {
    fn default() -> Self {
        Self {
            service_token_ttl: Duration::from_secs(600),
            federation_allow_http_loopback: false,
        }
    }
}

/// Audit entries of grants (`oauth.client_credentials`, `token.exchanged`), written in batches.
///
/// A grant is a few dozen microseconds of work; one audit row written in its own transaction
/// would cost more than the grant (and an fsync on SQLite), capping grants far below thousands a
/// second. So each grant's entry is queued here and all queued entries are written in one
/// transaction every [`GRANT_LOG_INTERVAL`]: every grant is still audited, one by one, at the
/// price of up to a second of entries lost if the process dies (docs/decisions.md).
#[derive(Debug, Default)]
pub struct GrantLog {
    pending: Mutex<Vec<AuditEntry>>,
    /// One batch written at a time: a flush returns once everything queued before it is written.
    writing: tokio::sync::Mutex<()>,
}

impl GrantLog {
    /// Queues `entry`; `true` when the queue is full and the caller should write it now.
    fn push(&self, entry: AuditEntry) -> bool {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        pending.push(entry);
        pending.len() >= GRANT_LOG_MAX_PENDING
    }

    fn take(&self) -> Vec<AuditEntry> {
        std::mem::take(
            &mut *self
                .pending
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

impl Iam {
    /// Writes the queued grant audit entries in one transaction, and notes when each client or
    /// federated credential was last used (one write per credential per batch at most).
    pub async fn flush_grant_log(&self) {
        let _one_at_a_time = self.grant_log.writing.lock().await;
        let batch = self.grant_log.take();
        if batch.is_empty() {
            return;
        }
        let written = async {
            let mut tx = self.db.pool.begin().await?;
            let mut touched: Vec<(machine::Credential, Uuid, Millis)> = Vec::new();
            for entry in &batch {
                audit::insert(&mut *tx, entry).await?;
                let kind = match entry.action {
                    grant::CLIENT_CREDENTIALS_ACTION => machine::Credential::Client,
                    _ => machine::Credential::Federated,
                };
                if let Some(id) = entry.credential_id
                    && !touched.iter().any(|(_, seen, _)| *seen == id)
                {
                    touched.push((kind, id, entry.at));
                }
            }
            for (kind, id, at) in touched {
                machine::touch(&mut *tx, kind, id, at).await?;
            }
            tx.commit().await
        }
        .await;
        if let Err(error) = written {
            tracing::error!(%error, entries = batch.len(), "could not write the audit entries of grants");
        }
    }

    /// Queues a grant's audit entry (see [`GrantLog`]).
    async fn audit_grant(&self, entry: AuditEntry) {
        if self.grant_log.push(entry) {
            self.flush_grant_log().await;
        }
    }

    /// Hourly upkeep: used `jti` values and revocations of tokens that have expired.
    pub(crate) async fn purge_machine(&self, now: Millis) {
        if let Err(error) = machine::purge_token_ids(&self.db.pool, now).await {
            tracing::warn!(%error, "could not purge used token identifiers and revocations");
        }
    }

    /// The service account `id` whose clients and federated credentials `principal` manages:
    /// `service_accounts.tokens`; a user the caller may not see (unknown, or an `is_admin` service
    /// account for a caller who is not an unrestricted administrator) is `404`; a person is
    /// `409 not_a_service_account`; and, as for its tokens, the caller must hold every permission
    /// the account holds (its credentials act with them).
    async fn managed_service_account(&self, principal: &Principal, id: Uuid) -> CoreResult<User> {
        principal.require(Permission::ServiceAccountsTokens)?;
        let user = users::get(&self.db.pool, id)
            .await?
            .filter(|u| !u.is_admin || principal.is_admin())
            .ok_or_else(|| CoreError::not_found("user"))?;
        if !user.is_service_account {
            return Err(CoreError::conflict(
                "not_a_service_account",
                "this user is not a service account; only service accounts have OAuth clients and federated credentials",
            ));
        }
        if user.is_admin && !principal.is_admin() {
            return Err(admin_only(
                "only an administrator may manage the credentials of an administrator service account",
            ));
        }
        principal.require_can_grant(self.user_permissions(&user).await?)?;
        Ok(user)
    }

    /// `POST /api/v1/users/{id}/clients`: a new OAuth client; with `client_secret`, the secret is
    /// in the answer and nowhere else.
    pub async fn create_service_account_client(
        &self,
        principal: &Principal,
        user_id: Uuid,
        input: CreateServiceAccountClient,
        meta: &RequestMeta,
    ) -> CoreResult<(ServiceAccountClient, Option<Secret>)> {
        let owner = self.managed_service_account(principal, user_id).await?;
        refuse_self_minting(principal, owner.id)?;
        // A new credential of the service account: a stolen session must not mint it (issue 17).
        self.require_recent_mfa(principal, now_millis()).await?;
        let name = TokenName::parse(&input.name)?.as_str().to_owned();
        let description = Description::parse(&input.description)?.as_str().to_owned();
        let jwks = match input.auth_method {
            ClientAuthMethod::ClientSecret => {
                if input.jwks.is_some() || input.public_key_pem.is_some() {
                    return Err(CoreError::validation(
                        "auth_method",
                        "jwks and public_key_pem are for auth_method private_key_jwt; a client_secret client gets a generated secret",
                    ));
                }
                Vec::new()
            }
            ClientAuthMethod::PrivateKeyJwt => {
                registered_keys(input.jwks.as_ref(), input.public_key_pem.as_deref())?
            }
        };
        let secret = match input.auth_method {
            ClientAuthMethod::ClientSecret => {
                Some(token::generate_with_prefix(CLIENT_SECRET_PREFIX).map_err(randomness_failed)?)
            }
            ClientAuthMethod::PrivateKeyJwt => None,
        };
        let random = token::random_base62(24).map_err(randomness_failed)?;
        let client = ServiceAccountClient {
            id: new_id(),
            user_id: owner.id,
            client_id: format!("{SA_CLIENT_ID_PREFIX}{random}"),
            name,
            description,
            auth_method: input.auth_method,
            secret_hint: secret.as_ref().map(|s| token::hint(s.expose())),
            jwks,
            created_by: Some(principal.id().to_string()),
            created_at: now_millis(),
            last_used_at: None,
        };
        let digest = secret.as_ref().map(|s| token::digest(s.expose()));
        let mut tx = self.db.pool.begin().await?;
        machine::insert_client(&mut *tx, &client, digest.as_ref()).await?;
        let entry = AuditEntry {
            target_type: Some("service_account_client"),
            target_id: Some(client.id),
            details: Some(serde_json::json!({
                "service_account_id": owner.id,
                "client_id": client.client_id,
                "name": client.name,
                "auth_method": client.auth_method.as_str(),
            })),
            ..audit_by(principal, meta, "client.created")
        };
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok((client, secret))
    }

    pub async fn list_service_account_clients(
        &self,
        principal: &Principal,
        user_id: Uuid,
    ) -> CoreResult<Vec<ServiceAccountClient>> {
        let owner = self.managed_service_account(principal, user_id).await?;
        Ok(machine::list_clients(&self.db.pool, owner.id).await?)
    }

    pub async fn get_service_account_client(
        &self,
        principal: &Principal,
        user_id: Uuid,
        id: Uuid,
    ) -> CoreResult<ServiceAccountClient> {
        let owner = self.managed_service_account(principal, user_id).await?;
        machine::get_client(&self.db.pool, owner.id, id)
            .await?
            .ok_or_else(|| CoreError::not_found("client"))
    }

    /// Deletes a client; its access tokens are refused at once on every node.
    pub async fn delete_service_account_client(
        &self,
        principal: &Principal,
        user_id: Uuid,
        id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let owner = self.managed_service_account(principal, user_id).await?;
        let mut tx = self.db.pool.begin().await?;
        let (client_id, name) = machine::delete_client(&mut *tx, owner.id, id)
            .await?
            .ok_or_else(|| CoreError::not_found("client"))?;
        let entry = AuditEntry {
            target_type: Some("service_account_client"),
            target_id: Some(id),
            details: Some(serde_json::json!({
                "service_account_id": owner.id,
                "client_id": client_id,
                "name": name,
            })),
            ..audit_by(principal, meta, "client.deleted")
        };
        audit::insert(&mut *tx, &entry).await?;
        self.commit_and_invalidate(tx, Invalidation::User(owner.id))
            .await?;
        Ok(())
    }

    /// `POST /api/v1/users/{id}/federated-credentials`.
    pub async fn create_federated_credential(
        &self,
        principal: &Principal,
        user_id: Uuid,
        input: CreateFederatedCredential,
        meta: &RequestMeta,
    ) -> CoreResult<FederatedCredential> {
        let owner = self.managed_service_account(principal, user_id).await?;
        refuse_self_minting(principal, owner.id)?;
        // A trusted outside issuer mints the account's tokens from now on: as strong as a client.
        self.require_recent_mfa(principal, now_millis()).await?;
        let fc = FederatedCredential {
            id: new_id(),
            user_id: owner.id,
            name: TokenName::parse(&input.name)?.as_str().to_owned(),
            description: Description::parse(&input.description)?.as_str().to_owned(),
            issuer: federation::parse_issuer(&input.issuer)?,
            audience: condition("audience", &input.audience)?,
            subject: input
                .subject
                .as_deref()
                .map(|s| condition("subject", s))
                .transpose()?,
            claims: claim_conditions(input.claims)?,
            created_by: Some(principal.id().to_string()),
            created_at: now_millis(),
            last_used_at: None,
        };
        if fc.subject.is_none() && fc.claims.is_empty() {
            return Err(CoreError::validation(
                "subject",
                "subject or claims is required: a credential that trusts every token of an issuer would let any of its workloads in",
            ));
        }
        let mut tx = self.db.pool.begin().await?;
        machine::insert_federated(&mut *tx, &fc).await?;
        let entry = AuditEntry {
            target_type: Some("federated_credential"),
            target_id: Some(fc.id),
            details: Some(serde_json::json!({
                "service_account_id": owner.id,
                "name": fc.name,
                "issuer": fc.issuer,
                "audience": fc.audience,
                "subject": fc.subject,
                "claims": fc.claims,
            })),
            ..audit_by(principal, meta, "federated_credential.created")
        };
        audit::insert(&mut *tx, &entry).await?;
        // Every node's cached trust list of this issuer must now include it.
        self.commit_and_invalidate(tx, Invalidation::trusts())
            .await?;
        Ok(fc)
    }

    pub async fn list_federated_credentials(
        &self,
        principal: &Principal,
        user_id: Uuid,
    ) -> CoreResult<Vec<FederatedCredential>> {
        let owner = self.managed_service_account(principal, user_id).await?;
        Ok(machine::list_federated(&self.db.pool, owner.id).await?)
    }

    pub async fn get_federated_credential(
        &self,
        principal: &Principal,
        user_id: Uuid,
        id: Uuid,
    ) -> CoreResult<FederatedCredential> {
        let owner = self.managed_service_account(principal, user_id).await?;
        machine::get_federated(&self.db.pool, owner.id, id)
            .await?
            .ok_or_else(|| CoreError::not_found("federated credential"))
    }

    /// Deletes a federated credential; the access tokens it gave are refused at once everywhere.
    pub async fn delete_federated_credential(
        &self,
        principal: &Principal,
        user_id: Uuid,
        id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let owner = self.managed_service_account(principal, user_id).await?;
        let mut tx = self.db.pool.begin().await?;
        let (name, issuer) = machine::delete_federated(&mut *tx, owner.id, id)
            .await?
            .ok_or_else(|| CoreError::not_found("federated credential"))?;
        let entry = AuditEntry {
            target_type: Some("federated_credential"),
            target_id: Some(id),
            details: Some(serde_json::json!({
                "service_account_id": owner.id,
                "name": name,
                "issuer": issuer,
            })),
            ..audit_by(principal, meta, "federated_credential.deleted")
        };
        audit::insert(&mut *tx, &entry).await?;
        // Its access tokens (cached as the account's credentials) and the trust lists.
        self.commit_and_invalidate(tx, Invalidation::User(owner.id))
            .await?;
        self.invalidate_everywhere(Invalidation::trusts()).await;
        Ok(())
    }
}

fn randomness_failed(e: getrandom::Error) -> CoreError {
    CoreError::Internal(anyhow::anyhow!("OS randomness: {e}"))
}

/// The keys of a `private_key_jwt` client: a JWKS or one PEM key, each RSA or EC P-256, public
/// only. Stored as JWKs with a `kid` (the RFC 7638 thumbprint when the key had none).
fn registered_keys(jwks: Option<&serde_json::Value>, pem: Option<&str>) -> CoreResult<Vec<Jwk>> {
    let keys = match (jwks, pem) {
        (Some(_), Some(_)) => {
            return Err(CoreError::validation(
                "jwks",
                "give jwks or public_key_pem, not both",
            ));
        }
        (None, None) => {
            return Err(CoreError::validation(
                "jwks",
                "auth_method private_key_jwt needs the client's public key: jwks or public_key_pem",
            ));
        }
        (None, Some(pem)) => vec![Jwk::from_pem(pem).ok_or_else(|| {
            CoreError::validation(
                "public_key_pem",
                "public_key_pem must be one PEM public key (-----BEGIN PUBLIC KEY-----): EC P-256, or RSA of 2048, 3072 or 4096 bits with the exponent 65537 (register any other RSA key as jwks)",
            )
        })?],
        (Some(jwks), None) => {
            let invalid = |rule: &str| CoreError::validation("jwks", format!("jwks: {rule}"));
            let list = jwks
                .get("keys")
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| invalid("must be a JWKS object: {\"keys\": [...]}"))?;
            if list.is_empty() || list.len() > MAX_CLIENT_KEYS {
                return Err(invalid(&format!(
                    "must hold between 1 and {MAX_CLIENT_KEYS} keys"
                )));
            }
            let mut keys = Vec::with_capacity(list.len());
            for value in list {
                if rules::JWK_PRIVATE_MEMBERS
                    .iter()
                    .any(|private| value.get(private).is_some())
                {
                    return Err(invalid(
                        "a key holds private members; register the public key only",
                    ));
                }
                let mut jwk: Jwk = serde_json::from_value(value.clone())
                    .map_err(|_| invalid("each key must be a JWK with string members"))?;
                // An RSA key needs its exponent too (`is_usable` reads an empty one as none).
                let no_exponent = jwk.kty == "RSA" && jwk.e.is_empty();
                if !jwk.is_usable() || no_exponent || jwk.components().is_some_and(|c| c.n.len() < 256) {
                    return Err(invalid(
                        "each key must be RSA (2048 bits or more, alg RS256) or EC P-256 (alg ES256)",
                    ));
                }
                if jwk.kid.is_empty() {
                    jwk.kid = jwk.thumbprint();
                }
                keys.push(jwk);
            }
            keys
        }
    };
    Ok(keys)
}

/// A condition value: not blank, no control characters, at most [`MAX_CONDITION_CHARS`].
fn condition(field: &str, raw: &str) -> CoreResult<String> {
    crate::model::bounded_text(field, raw, 1, MAX_CONDITION_CHARS)
}

fn claim_conditions(raw: BTreeMap<String, String>) -> CoreResult<BTreeMap<String, String>> {
    if raw.len() > MAX_CLAIM_CONDITIONS {
        return Err(CoreError::validation(
            "claims",
            format!("claims must hold at most {MAX_CLAIM_CONDITIONS} conditions"),
        ));
    }
    let mut claims = BTreeMap::new();
    for (key, value) in raw {
        // A claim name, or a JSON Pointer (`/kubernetes.io/namespace`) into nested claims.
        let key = condition("claims", &key)?;
        let root = claim_key_root(&key)
            .map_err(|rule| CoreError::validation("claims", format!("claims: {rule}")))?;
        if rules::EXCHANGE_CHECKED_CLAIMS.contains(&root.as_ref()) {
            return Err(CoreError::validation(
                "claims",
                format!(
                    "claims: `{key}` is checked by the exchange itself; use issuer and audience"
                ),
            ));
        }
        let value = condition("claims", &value)?;
        claims.insert(key, value);
    }
    Ok(claims)
}
