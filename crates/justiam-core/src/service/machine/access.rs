//! Service-account access tokens on `/api/v1`: a JWT (RFC 9068, ES256) whose `aud` is
//! `OIDC_ISSUER` + `/api` acts as its service account with the account's *current* permissions,
//! narrowed to the token's `scope` when it has one (then `restricted`, like a fine-grained PAT).
//!
//! The check (signature, issuer, audience, expiry, then the account active, the client or
//! federated credential still there and the token not revoked) is cached like a PAT's, under the
//! digest of the whole token, so a repeated token costs a hash and a lookup. Deleting the
//! credential, deactivating or deleting the account, or revoking a token ([`super::revocation`])
//! invalidates the account's cached credentials on every node.

use serde::Deserialize;
use uuid::Uuid;

use super::super::Iam;
use super::super::auth::Refusal;
use crate::authz::{Credential, Principal};
use crate::model::PermissionSet;
use crate::oidc::jws::TYP_ACCESS;
use crate::store::{machine, users};
use crate::time::Millis;

/// Appended to the issuer to name the management API as an audience.
pub const API_AUDIENCE_SUFFIX: &str = "/api";
/// `token_type` of these tokens in introspection answers.
pub const ACCESS_TOKEN_KIND: &str = "service_account_access_token";

/// Through what an access token was obtained (claim `cred`; the id is claim `cid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    Client,
    Federated,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Client => "client",
            CredentialKind::Federated => "federated",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "client" => Some(CredentialKind::Client),
            "federated" => Some(CredentialKind::Federated),
            _ => None,
        }
    }

    fn stored(self) -> machine::Credential {
        match self {
            CredentialKind::Client => machine::Credential::Client,
            CredentialKind::Federated => machine::Credential::Federated,
        }
    }
}

/// The claims of a service-account access token.
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub client_id: String,
    /// Every token has one (a UUID v7): what a revocation records.
    pub jti: String,
    pub cred: String,
    pub cid: String,
    #[serde(default)]
    pub scope: Option<String>,
}

impl Iam {
    /// The database side of an access-token check (after the cache missed): the principal and
    /// until when the answer holds (the token's expiry).
    pub(crate) async fn authenticate_access_token(
        &self,
        value: &str,
        now: Millis,
    ) -> Result<(Principal, Millis, ServiceTokenClaims), Refusal> {
        let claims = self
            .verify_jws::<ServiceTokenClaims>(value, TYP_ACCESS)
            .await?
            .ok_or(Refusal::Invalid)?;
        if claims.iss != self.issuer()
            || claims.aud.strip_prefix(self.issuer()) != Some(API_AUDIENCE_SUFFIX)
        {
            return Err(Refusal::Invalid);
        }
        let expires_at = claims.exp.saturating_mul(1000);
        if expires_at <= now {
            return Err(Refusal::Expired);
        }
        let (Ok(user_id), Ok(credential_id), Some(kind)) = (
            Uuid::parse_str(&claims.sub),
            Uuid::parse_str(&claims.cid),
            CredentialKind::parse(&claims.cred),
        ) else {
            return Err(Refusal::Invalid);
        };
        let user = users::get(&self.db.pool, user_id)
            .await?
            .filter(|u| u.is_active && u.is_service_account)
            .ok_or(Refusal::Revoked)?;
        // The credential still there and the token not revoked (RFC 7009) — read only here, on
        // a cache miss: revoking drops the account's cached credentials on every node.
        if !machine::access_token_stands(
            &self.db.pool,
            kind.stored(),
            credential_id,
            user_id,
            &claims.jti,
        )
        .await?
        {
            return Err(Refusal::Revoked);
        }
        let credential = Credential::Access {
            credential_id,
            expires_at,
        };
        let mut principal = self.principal(user, credential).await?;
        if let Some(scope) = &claims.scope {
            let limit: PermissionSet = scope
                .split(' ')
                .filter_map(crate::model::Permission::parse)
                .collect();
            principal.permissions = principal.permissions.intersection(limit);
            principal.restricted = true;
        }
        Ok((principal, expires_at, claims))
    }
}
