//! Machine identity: OAuth clients of service accounts (`/api/v1/users/{id}/clients`) and
//! federated credentials (`/api/v1/users/{id}/federated-credentials`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{rules, timestamp};

/// How a service-account client proves itself at `/oauth2/token`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// A generated secret (`justiam_cs_…`, shown once), sent with HTTP Basic
    /// (`client_secret_basic`) or in the body (`client_secret_post`).
    #[default]
    ClientSecret,
    /// A JWT signed with a registered private key (RFC 7523, RS256 or ES256).
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecret => "client_secret",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client_secret" => Some(Self::ClientSecret),
            "private_key_jwt" => Some(Self::PrivateKeyJwt),
            _ => None,
        }
    }
}

/// `POST /api/v1/users/{id}/clients`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceAccountClient {
    #[schema(value_type = rules::Name)]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = rules::Description)]
    pub description: String,
    /// `client_secret` (default) or `private_key_jwt`.
    #[serde(default)]
    pub auth_method: ClientAuthMethod,
    /// For `private_key_jwt`: the public keys as a JWKS (`{"keys": [...]}`, RSA ≥ 2048 bits or
    /// EC P-256). Give this or `public_key_pem`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// For `private_key_jwt`: one public key as PEM (`-----BEGIN PUBLIC KEY-----`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_pem: Option<String>,
}

/// A service-account client as the API returns it. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceAccountClient {
    pub id: Uuid,
    /// The service account.
    pub user_id: Uuid,
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub auth_method: ClientAuthMethod,
    /// `…` and the secret's last four characters (`client_secret` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hint: Option<String>,
    /// The registered public keys (`private_key_jwt` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(
        default,
        serialize_with = "timestamp::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// `201` of `POST /api/v1/users/{id}/clients`: the client and, for `client_secret`, its secret,
/// shown this once.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedServiceAccountClient {
    #[serde(flatten)]
    pub client: ServiceAccountClient,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for CreatedServiceAccountClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedServiceAccountClient")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// `POST /api/v1/users/{id}/federated-credentials`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFederatedCredential {
    #[schema(value_type = rules::Name)]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = rules::Description)]
    pub description: String,
    /// The outside issuer exactly as its tokens' `iss` (`https://token.actions.githubusercontent.com`).
    #[schema(value_type = rules::Issuer)]
    pub issuer: String,
    /// The `aud` its tokens must carry.
    #[schema(value_type = rules::ConditionValue)]
    pub audience: String,
    /// The `sub` its tokens must carry, exactly. At least one of `subject` and `claims` is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::ConditionValue>)]
    pub subject: Option<String>,
    /// Claim conditions: each claim must equal the value, where `*` matches any run of
    /// characters (`"ref": "refs/heads/*"`). A key is a top-level claim name (`repository`), or,
    /// starting with `/`, an RFC 6901 JSON Pointer to a claim nested in objects
    /// (`"/kubernetes.io/namespace": "ci"`; `~1` stands for `/` and `~0` for `~` in a name). The
    /// claim must be a string, number or boolean; a missing one matches nothing. At most 20
    /// conditions; `iss`, `aud`, `exp`, `nbf`, `iat` and `jti` cannot be conditions.
    #[serde(default)]
    pub claims: BTreeMap<String, String>,
}

/// A federated credential as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FederatedCredential {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub description: String,
    pub issuer: String,
    pub audience: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub claims: BTreeMap<String, String>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(
        default,
        serialize_with = "timestamp::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_used_at: Option<DateTime<Utc>>,
}
