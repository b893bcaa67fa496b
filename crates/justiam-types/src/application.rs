//! Applications (OAuth / OpenID Connect clients), their grants and app role mappings
//! (`/api/v1/applications`, `/api/v1/app-mappings`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{rules, timestamp, whole_number};

/// What kind of client an application is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationType {
    /// A confidential client: a server that keeps a client secret.
    Oidc,
    /// A public client (single-page or native app): no secret, PKCE forced.
    Spa,
    /// A link in the dashboard only; it cannot sign anyone in.
    External,
    /// Refused with `400 unsupported` until SAML exists.
    Saml,
}

impl ApplicationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oidc => "oidc",
            Self::Spa => "spa",
            Self::External => "external",
            Self::Saml => "saml",
        }
    }
}

/// One extra claim in the ID token and userinfo. `value` is a template: `${email}`, `${username}`,
/// `${first_name}`, `${last_name}`, `${name}`, `${id}`, `${groups}`, `${appRoles}`,
/// `${<app mapping variable>}`; anything else is a literal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimMapping {
    #[schema(value_type = rules::ClaimName)]
    pub claim: String,
    #[schema(value_type = rules::ClaimValue)]
    pub value: String,
    /// The claim is only added when this scope was granted; it must be one of the application's
    /// `allowed_scopes` (else `409 inconsistent_application`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Scope>)]
    pub required_scope: Option<String>,
}

/// An application as the API returns it. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Application {
    pub id: Uuid,
    pub client_id: String,
    pub name: String,
    pub friendly_name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub app_type: ApplicationType,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_scopes: Vec<String>,
    pub grant_types: Vec<String>,
    pub require_pkce: bool,
    /// Lifetime of ID and access tokens, in seconds.
    pub token_expiry: i64,
    pub access_restricted: bool,
    pub show_in_dashboard: bool,
    pub launch_url: Option<String>,
    pub claim_mappings: Vec<ClaimMapping>,
    /// The last four characters of the current client secret (`oidc` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hint: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// `201` of `POST /api/v1/applications`: the application and, for `oidc`, its secret, shown once.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedApplication {
    #[serde(flatten)]
    pub application: Application,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for CreatedApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApplication")
            .field("application", &self.application)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// `POST /api/v1/applications`. Absent fields take the documented defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApplication {
    #[schema(value_type = rules::Name)]
    pub name: String,
    /// Default `oidc`.
    #[serde(default, rename = "type")]
    #[schema(value_type = Option<rules::ApplicationTypeName>)]
    pub app_type: Option<ApplicationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::FriendlyName>)]
    pub friendly_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Description>)]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::RedirectUris>)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::RedirectUris>)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Scopes>)]
    pub allowed_scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::GrantTypes>)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pkce: Option<bool>,
    #[serde(
        default,
        deserialize_with = "whole_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<rules::TokenExpirySeconds>)]
    pub token_expiry: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_restricted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_in_dashboard: Option<bool>,
    /// Required for an `external` application (else `409 inconsistent_application`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::LaunchUrl>)]
    pub launch_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 50)]
    pub claim_mappings: Option<Vec<ClaimMapping>>,
}

/// `PUT /api/v1/applications/{id}`: the fields present are replaced, the others kept. `type` and
/// `client_id` never change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateApplication {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Name>)]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::FriendlyName>)]
    pub friendly_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Description>)]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::RedirectUris>)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::RedirectUris>)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Scopes>)]
    pub allowed_scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::GrantTypes>)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pkce: Option<bool>,
    #[serde(
        default,
        deserialize_with = "whole_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<rules::TokenExpirySeconds>)]
    pub token_expiry: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_restricted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_in_dashboard: Option<bool>,
    /// `""` removes the launch URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::LaunchUrlOrEmpty>)]
    pub launch_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 50)]
    pub claim_mappings: Option<Vec<ClaimMapping>>,
}

/// `POST /api/v1/applications/{id}/secret`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateApplicationSecret {
    /// Seconds (0–86400) during which the previous secret keeps working; default 0.
    #[serde(
        default,
        deserialize_with = "whole_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<rules::GracePeriodSeconds>)]
    pub grace_period_seconds: Option<i64>,
}

/// The answer to a secret rotation: the new secret, shown once.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationSecret {
    pub client_id: String,
    pub client_secret: String,
    /// When the previous secret stops working (absent: it already has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "timestamp::serialize_option")]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for ApplicationSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplicationSecret")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field(
                "previous_secret_expires_at",
                &self.previous_secret_expires_at,
            )
            .finish()
    }
}

/// Who may sign in to an `access_restricted` application: exactly one of `user_id`, `group_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationGrant {
    pub id: Uuid,
    pub application_id: Uuid,
    pub user_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/applications/{id}/grants`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApplicationGrant {
    #[serde(
        default,
        deserialize_with = "rules::hyphenated_uuid_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<Uuid>,
    #[serde(
        default,
        deserialize_with = "rules::hyphenated_uuid_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_id: Option<Uuid>,
}

/// An app role mapping: a value a user or group holds for one application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppMapping {
    pub id: Uuid,
    pub application_id: Uuid,
    pub variable_name: String,
    pub value: String,
    pub description: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/app-mappings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAppMapping {
    /// An application that does not exist is `409 unknown_reference`.
    #[serde(deserialize_with = "rules::hyphenated_uuid")]
    pub application_id: Uuid,
    #[schema(value_type = rules::VariableName)]
    pub variable_name: String,
    #[schema(value_type = rules::MappingValue)]
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Description>)]
    pub description: Option<String>,
}

/// `PUT /api/v1/app-mappings/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAppMapping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::VariableName>)]
    pub variable_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::MappingValue>)]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Description>)]
    pub description: Option<String>,
}

/// `POST /api/v1/users/{id}/app-mappings` and `POST /api/v1/groups/{id}/app-mappings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignAppMapping {
    /// A mapping that does not exist is `409 unknown_reference`.
    #[serde(deserialize_with = "rules::hyphenated_uuid")]
    pub mapping_id: Uuid,
}

/// `GET /api/v1/me/applications`: an application the caller signed in to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SignedInApplication {
    pub application_id: Uuid,
    pub name: String,
    pub friendly_name: String,
    pub scopes: Vec<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub first_signed_in_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub last_signed_in_at: DateTime<Utc>,
    /// Refresh tokens of this application still usable.
    pub active_refresh_tokens: u64,
}
