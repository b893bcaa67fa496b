//! The `client_credentials` grant (RFC 6749 §4.4) of service-account clients, their client
//! authentication (`client_secret_basic`, `client_secret_post`, and `private_key_jwt` per RFC 7523
//! §2.2 and §3), and the access token every machine grant answers with.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::super::Iam;
use super::super::oauth::{OAuthError, OAuthResult};
use super::access::{API_AUDIENCE_SUFFIX, CredentialKind};
use crate::authz::RequestMeta;
use crate::error::CoreError;
use crate::model::User;
use crate::model::machine::ServiceAccountClient;
use crate::oidc::jws::{self, JwsError, TYP_ACCESS};
use crate::service::resolve_token_permissions;
use crate::store::audit::AuditEntry;
use crate::store::{machine, new_id};
use crate::time::now_millis;
use crate::token::{self, CLIENT_SECRET_PREFIX};

/// Where the client credentials grant is asked (an accepted `aud` of client assertions).
pub const TOKEN_ENDPOINT: &str = "/oauth2/token";
/// RFC 7523 §2.2: the `client_assertion_type` of `private_key_jwt`.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The audit action of a client-credentials grant.
pub(super) const CLIENT_CREDENTIALS_ACTION: &str = "oauth.client_credentials";
/// Clock skew allowed on `exp`, `nbf` and `iat` of tokens made elsewhere.
pub(super) const LEEWAY_SECS: i64 = 60;
/// The longest an assertion may still be valid for: its `jti` is kept that long.
const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;

/// How a service-account client authenticates, as read from the token request.
pub enum ClientAuthentication {
    /// `client_secret_basic` or `client_secret_post`.
    Secret { client_id: String, secret: String },
    /// `private_key_jwt`: the assertion, and the `client_id` parameter when one was sent.
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
}

impl ClientAuthentication {
    /// `client_secret` or `private_key_jwt`, as audit entries and metrics name it.
    pub fn method(&self) -> &'static str {
        match self {
            ClientAuthentication::Secret { .. } => "client_secret",
            ClientAuthentication::Assertion { .. } => "private_key_jwt",
        }
    }
}

/// The answer of a machine grant (RFC 6749 §5.1; RFC 8693 §2.2.1 adds `issued_token_type`).
#[derive(Debug, Serialize)]
pub struct ServiceTokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

/// The claims of a client assertion (RFC 7523 §3) that are checked.
#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Value>,
    exp: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
}

/// Whether `aud` (a string or an array of strings) contains one of `accepted`.
pub(super) fn audience_contains(aud: Option<&Value>, accepted: &[&str]) -> bool {
    match aud {
        Some(Value::String(one)) => accepted.contains(&one.as_str()),
        Some(Value::Array(many)) => many
            .iter()
            .filter_map(Value::as_str)
            .any(|a| accepted.contains(&a)),
        _ => false,
    }
}

impl Iam {
    /// The service-account client of a request to `endpoint` (`/oauth2/token`,
    /// `/oauth2/introspect` or `/oauth2/revoke`), authenticated; every failure is `invalid_client`
    /// (answered `401` with `WWW-Authenticate: Basic`).
    pub async fn authenticate_service_client(
        &self,
        auth: &ClientAuthentication,
        endpoint: &str,
    ) -> OAuthResult<(ServiceAccountClient, User)> {
        match auth {
            ClientAuthentication::Secret { client_id, secret } => {
                let well_formed =
                    token::check_format_with_prefix(CLIENT_SECRET_PREFIX, secret).is_ok();
                let presented = token::digest(secret);
                let Some(record) = self.service_client(client_id).await? else {
                    return Err(OAuthError::invalid_client());
                };
                let (client, digest, account) = &*record;
                let matches = digest.is_some_and(|d| bool::from(d.ct_eq(&presented)));
                // `&`, not `&&`: the digest is always compared.
                if well_formed & matches {
                    Ok((client.clone(), account.clone()))
                } else {
                    Err(OAuthError::invalid_client())
                }
            }
            ClientAuthentication::Assertion {
                client_id,
                assertion,
            } => {
                self.authenticate_assertion(client_id.as_deref(), assertion, endpoint)
                    .await
            }
        }
    }

    /// `private_key_jwt` (RFC 7523 §3): signed by a registered key with RS256 or ES256,
    /// `iss` = `sub` = the client_id, `aud` the issuer, the token endpoint or the endpoint called
    /// (what libraries put there when they authenticate elsewhere than at the token endpoint),
    /// `exp` in the future (and at most an hour away), `jti` never seen before on any node.
    async fn authenticate_assertion(
        &self,
        client_id: Option<&str>,
        assertion: &str,
        endpoint: &str,
    ) -> OAuthResult<(ServiceAccountClient, User)> {
        let refused = |why: &str| {
            tracing::debug!(reason = why, "client assertion refused");
            OAuthError::invalid_client()
        };
        // Which client: read from the (still unverified) claims, then checked by its own keys.
        let unverified: AssertionClaims =
            unverified_claims(assertion).ok_or_else(|| refused("not a JWT"))?;
        let claimed = unverified.iss.as_deref().ok_or_else(|| refused("no iss"))?;
        if client_id.is_some_and(|id| id != claimed) {
            return Err(refused("client_id differs from the assertion's iss"));
        }
        let record = self
            .service_client(claimed)
            .await?
            .ok_or_else(|| refused("unknown client"))?;
        let (client, _, account) = &*record;
        if client.jwks.is_empty() {
            return Err(refused("the client has no registered key"));
        }
        let claims: AssertionClaims =
            jws::verify_outside(assertion, &client.jwks).map_err(|e: JwsError| {
                refused(if e == JwsError::UnknownKey {
                    "unknown kid"
                } else {
                    "bad signature or algorithm"
                })
            })?;
        if claims.iss.as_deref() != Some(client.client_id.as_str())
            || claims.sub.as_deref() != Some(client.client_id.as_str())
        {
            return Err(refused("iss and sub must both be the client_id"));
        }
        let token_endpoint = format!("{}{TOKEN_ENDPOINT}", self.issuer());
        let called = format!("{}{endpoint}", self.issuer());
        if !audience_contains(
            claims.aud.as_ref(),
            &[&token_endpoint, &called, self.issuer()],
        ) {
            return Err(refused(
                "aud is neither the issuer, the token endpoint nor the endpoint called",
            ));
        }
        let now = now_millis() / 1000;
        let exp = claims.exp.ok_or_else(|| refused("no exp"))?;
        if exp + LEEWAY_SECS <= now || exp > now + MAX_ASSERTION_LIFETIME_SECS {
            return Err(refused("expired, or valid for too long"));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + LEEWAY_SECS) {
            return Err(refused("not yet valid"));
        }
        let jti = claims
            .jti
            .as_deref()
            .filter(|j| !j.is_empty() && j.len() <= 256)
            .ok_or_else(|| refused("no jti"))?;
        let space = format!("client:{}", client.client_id);
        let kept_until = (exp + LEEWAY_SECS) * 1000;
        if !machine::use_token_id(&self.db.pool, &space, jti, kept_until).await? {
            return Err(refused("jti replayed"));
        }
        Ok((client.clone(), account.clone()))
    }

    /// `grant_type=client_credentials` for a service-account client.
    pub async fn client_credentials_grant(
        &self,
        auth: &ClientAuthentication,
        scope: Option<&str>,
        meta: &RequestMeta,
    ) -> OAuthResult<ServiceTokenResponse> {
        let (client, account) = self
            .authenticate_service_client(auth, TOKEN_ENDPOINT)
            .await?;
        let account = Some(account)
            .filter(|u| u.is_active && u.is_service_account)
            .ok_or_else(|| {
                OAuthError::refused(
                    "unauthorized_client",
                    "the client's service account is deactivated",
                )
            })?;
        let issued = self
            .issue_service_token(
                &account,
                CredentialKind::Client,
                client.id,
                &client.client_id,
                scope,
            )
            .await?;
        self.audit_grant(AuditEntry {
            at: now_millis(),
            actor_id: Some(account.id),
            actor_email: Some(account.email.clone()),
            credential: Some(auth.method()),
            credential_id: Some(client.id),
            action: CLIENT_CREDENTIALS_ACTION,
            target_type: Some("user"),
            target_id: Some(account.id),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            details: Some(json!({ "client_id": client.client_id, "scope": issued.scope })),
        })
        .await;
        Ok(issued)
    }

    /// A service-account access token (RFC 9068, ES256): `aud` = the API, `sub` = the account,
    /// narrowed to `scope` (permission names and wildcards, as a fine-grained PAT's list) when
    /// one is asked; a permission the account does not hold is `invalid_scope`.
    pub(super) async fn issue_service_token(
        &self,
        account: &User,
        kind: CredentialKind,
        credential_id: Uuid,
        client_id: &str,
        scope: Option<&str>,
    ) -> OAuthResult<ServiceTokenResponse> {
        let scope = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(asked) => {
                let words: Vec<String> = asked
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect();
                let held = self.user_permissions(account).await?;
                match resolve_token_permissions(Some(&words), held) {
                    Ok(Some(set)) => Some(set.names().join(" ")),
                    Ok(None) => None,
                    Err(CoreError::OwnerLacks(p)) => {
                        return Err(OAuthError::refused(
                            "invalid_scope",
                            format!(
                                "the service account does not hold `{p}`, and a token cannot exceed its account"
                            ),
                        ));
                    }
                    Err(CoreError::Validation { message, .. }) => {
                        return Err(OAuthError::refused(
                            "invalid_scope",
                            message.replacen("permissions: ", "scope: ", 1),
                        ));
                    }
                    Err(other) => return Err(other.into()),
                }
            }
        };
        let now = now_millis() / 1000;
        let ttl = self.settings.machine.service_token_ttl.as_secs() as i64;
        let mut claims = json!({
            "iss": self.issuer(),
            "sub": account.id.to_string(),
            "aud": format!("{}{API_AUDIENCE_SUFFIX}", self.issuer()),
            "client_id": client_id,
            "exp": now + ttl,
            "iat": now,
            "jti": new_id().to_string(),
            "cred": kind.as_str(),
            "cid": credential_id.to_string(),
        });
        if let (Some(scope), Some(map)) = (&scope, claims.as_object_mut()) {
            map.insert("scope".into(), json!(scope));
        }
        let access_token = self.sign_jws_es256(TYP_ACCESS, &claims).await?;
        Ok(ServiceTokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
            scope,
            issued_token_type: None,
        })
    }
}

/// The claims of a compact JWS, unverified: only to find whose keys verify it.
pub(super) fn unverified_claims<T: serde::de::DeserializeOwned>(token: &str) -> Option<T> {
    use base64::Engine;
    let mut parts = token.split('.');
    let (_, payload) = (parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}
