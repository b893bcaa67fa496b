//! Wire types of the JustIAM HTTP API (`/api/v1`).
//!
//! Only serde shapes live here, and the permission catalogue they name: no HTTP, no storage. The
//! server, the typed client, the CLI and the Terraform provider all speak through these types, so a
//! change here is an API change.

pub mod application;
pub mod machine;
pub mod mfa;
pub mod permission;
pub mod rules;
pub mod timestamp;
pub mod webhook;
pub mod whole_number;

pub use permission::{Permission, PermissionSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The error body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Machine tag, e.g. `validation_error`, `not_found`, `invalid_token`.
    pub code: String,
    /// A human sentence naming the field and the rule.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// The envelope of every list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_admin: bool,
    pub is_service_account: bool,
    pub auth_source: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// `GET /api/v1/me`: the user plus their effective permissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    pub permissions: Vec<String>,
}

/// `POST /api/v1/users`. A service account (`is_service_account: true`) has no password.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(value_type = rules::Email)]
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::PersonName>)]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::PersonName>)]
    pub last_name: Option<String>,
    /// Absent: the user cannot log in with a password. Must be absent for a service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Password>)]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_admin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_service_account: Option<bool>,
}

impl std::fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUser")
            .field("email", &self.email)
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("is_active", &self.is_active)
            .field("is_admin", &self.is_admin)
            .field("is_service_account", &self.is_service_account)
            .finish()
    }
}

/// `PUT /api/v1/users/{id}`: every field optional; absent fields are left unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Email>)]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::PersonName>)]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::PersonName>)]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_admin: Option<bool>,
}

/// `POST /api/v1/auth/login`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(value_type = rules::LoginEmail)]
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// The portal JWT.
    pub token: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .finish()
    }
}

/// `PUT /api/v1/me/password`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(format = Password)]
    pub current_password: String,
    #[schema(value_type = rules::Password)]
    pub new_password: String,
}

impl std::fmt::Debug for ChangePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePassword { .. }")
    }
}

/// `POST /api/v1/auth/password-reset`: mail a reset link to this address, if it is an account's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(value_type = rules::LoginEmail)]
    pub email: String,
}

/// `POST /api/v1/auth/password-reset/confirm`: the token of the mailed link and the new password.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The `token` parameter of the link in the mail.
    #[schema(min_length = 1, max_length = 64)]
    pub token: String,
    #[schema(value_type = rules::Password)]
    pub new_password: String,
}

impl std::fmt::Debug for PasswordResetConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordResetConfirm { .. }")
    }
}

/// `POST /api/v1/me/tokens` and `POST /api/v1/users/{id}/tokens`.
///
/// `expires_in_days` is a JSON integer (a number with no fractional part): `1.5`, `"30"` and
/// `null` are type errors that the server answers with `400 validation_error` naming the field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    #[schema(value_type = rules::Name)]
    pub name: String,
    #[serde(deserialize_with = "whole_number::deserialize")]
    #[schema(value_type = rules::ExpiresInDays)]
    pub expires_in_days: i64,
    /// Fine-grained token: the permissions it may use (the owner's current permissions intersected
    /// with this list). Entries may be wildcards such as `*.view` or `users.*`; each must name or
    /// match a permission the owner holds (`403 forbidden` otherwise). Absent or null: the owner's
    /// full power, as the seed documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<rules::TokenPermission>>, min_items = 1)]
    pub permissions: Option<Vec<String>>,
}

/// The answer to a token creation: the only time the value is ever shown.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    pub id: Uuid,
    pub name: String,
    pub token: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub expires_at: DateTime<Utc>,
    /// For a rotation: the token this one replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_from: Option<Uuid>,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("rotated_from", &self.rotated_from)
            .finish()
    }
}

/// Token metadata, as lists return it. Never carries the value.
///
/// The optional fields appear only when they apply, so a seed-style token has exactly the seed's
/// fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PatRecord {
    pub id: Uuid,
    pub name: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub expires_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize_option")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// The last four characters, e.g. `…a1B2`.
    pub token_hint: String,
    pub expired: bool,
    /// Fine-grained tokens only: the permissions the token was limited to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Set on a token issued by rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_from: Option<Uuid>,
    /// Set on a token that was rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<Uuid>,
    /// When the token was (or, during a rotation grace period, will be) revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "timestamp::serialize_option")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked: `revoked` (by its owner or an operator), `rotated` or `leaked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_reason: Option<String>,
}

/// The owner of a token, as the inventory and self-inspection show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenOwnerRef {
    pub id: Uuid,
    pub email: String,
    pub is_service_account: bool,
}

/// `GET /api/v1/me/tokens/self`: what the calling token holds and when it dies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenSelf {
    #[serde(flatten)]
    pub record: PatRecord,
    /// What the token may do right now: the owner's current permissions, intersected with the
    /// token's own list for fine-grained tokens.
    pub effective_permissions: Vec<String>,
    pub owner: TokenOwnerRef,
}

/// `POST /api/v1/me/tokens/{id}/rotate` and `POST /api/v1/users/{id}/tokens/{tokenId}/rotate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateToken {
    /// Lifetime of the replacement; default the original token's lifetime.
    #[serde(
        default,
        deserialize_with = "whole_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<rules::ExpiresInDays>)]
    pub expires_in_days: Option<i64>,
    /// Seconds (0–86400) during which the old token keeps working; default 0 (revoked at once).
    #[serde(
        default,
        deserialize_with = "whole_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<rules::GracePeriodSeconds>)]
    pub grace_period_seconds: Option<i64>,
}

/// `POST /api/v1/tokens/revoke`: token values found in the wild.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeLeakedTokens {
    /// At most 100 values; those that are not valid tokens are ignored.
    #[schema(max_items = 100)]
    pub tokens: Vec<String>,
}

impl std::fmt::Debug for RevokeLeakedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RevokeLeakedTokens({} values)", self.tokens.len())
    }
}

/// One row of the token inventory (`GET /api/v1/tokens`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenInventoryItem {
    #[serde(flatten)]
    pub record: PatRecord,
    pub owner: TokenOwnerRef,
    /// `active`, `expired` or `revoked`.
    pub state: String,
    pub last_used_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Version {
    pub version: String,
}

/// A group of users; roles assigned to it apply to every member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub member_count: u64,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    #[schema(value_type = rules::Name)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Description>)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Name>)]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Description>)]
    pub description: Option<String>,
}

/// `POST /api/v1/groups/{id}/members`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddGroupMember {
    #[serde(deserialize_with = "rules::hyphenated_uuid")]
    pub user_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AdminRole {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
    /// Built-in `idp:*` roles cannot be changed or deleted.
    pub is_builtin: bool,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAdminRole {
    #[schema(value_type = rules::AdminRoleName)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Description>)]
    pub description: Option<String>,
    /// The caller must hold each one (`403 forbidden` otherwise).
    #[schema(value_type = Vec<rules::PermissionName>)]
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAdminRole {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::AdminRoleName>)]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<rules::Description>)]
    pub description: Option<String>,
    /// The caller must hold each one (`403 forbidden` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<rules::PermissionName>>)]
    pub permissions: Option<Vec<String>>,
}

/// `POST /api/v1/users/{id}/admin-roles` and `POST /api/v1/groups/{id}/admin-roles`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignAdminRole {
    #[serde(deserialize_with = "rules::hyphenated_uuid")]
    pub role_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupRef {
    pub id: Uuid,
    pub name: String,
}

/// One role a user holds: assigned directly (`via_group` null) or through a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoleAssignment {
    pub role: AdminRole,
    /// `direct` or `group`.
    pub source: String,
    pub via_group: Option<GroupRef>,
}

/// An audit log entry. Entries are append-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    pub id: Uuid,
    #[serde(serialize_with = "timestamp::serialize")]
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    /// `password`, `jwt` or `pat`.
    pub credential: Option<String>,
    /// The token id when the actor used a PAT.
    pub credential_id: Option<Uuid>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// A login session: a portal JWT's (`kind: portal`) or a browser's SSO session for applications
/// (`kind: sso`, the `idp_sid` cookie).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Session {
    pub id: Uuid,
    /// `portal` or `sso`.
    #[serde(default = "portal_kind")]
    pub kind: String,
    pub user_id: Uuid,
    pub user_email: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

fn portal_kind() -> String {
    "portal".to_owned()
}
