//! Who is calling, with what, and what they may do.

use uuid::Uuid;

use crate::error::{CoreError, CoreResult};
use crate::model::{Permission, PermissionSet, User};
use crate::time::Millis;

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A portal JWT bound to a server-side session.
    Jwt { session_id: Uuid },
    /// A personal access token.
    Pat { token_id: Uuid, expires_at: Millis },
    /// A service account's short-lived access token, obtained through its OAuth client or
    /// federated credential `credential_id`.
    Access {
        credential_id: Uuid,
        expires_at: Millis,
    },
}

impl Credential {
    /// The name used in audit entries, logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Jwt { .. } => "jwt",
            Credential::Pat { .. } => "pat",
            Credential::Access { .. } => "access_token",
        }
    }

    /// The token id for PATs, the client or federated credential for access tokens (audit
    /// `credential_id`).
    pub fn token_id(&self) -> Option<Uuid> {
        match self {
            Credential::Pat { token_id, .. } => Some(*token_id),
            Credential::Access { credential_id, .. } => Some(*credential_id),
            Credential::Jwt { .. } => None,
        }
    }

    /// When the credential stops working on its own (tokens; a portal session's end is elsewhere).
    pub fn expires_at(&self) -> Option<Millis> {
        match self {
            Credential::Pat { expires_at, .. } | Credential::Access { expires_at, .. } => {
                Some(*expires_at)
            }
            Credential::Jwt { .. } => None,
        }
    }

    /// A bearer token rather than a login: it cannot mint credentials for its own user.
    pub fn is_token(&self) -> bool {
        !matches!(self, Credential::Jwt { .. })
    }
}

/// An authenticated caller with the permissions they hold *now*.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Shared, so that handing a cached principal to a request costs no copy of the user.
    pub user: std::sync::Arc<User>,
    pub credential: Credential,
    /// Effective permissions: the whole catalogue for `is_admin`, else the union of the roles
    /// assigned directly and through groups — intersected with the token's own list for a
    /// fine-grained token.
    pub permissions: PermissionSet,
    /// Authenticated by a fine-grained token: it may use its permissions and nothing else (no
    /// `is_admin` bypass, no self-service writes).
    pub restricted: bool,
}

impl Principal {
    pub fn id(&self) -> Uuid {
        self.user.id
    }

    /// `is_admin` powers: an administrator, not acting through a fine-grained token.
    pub fn is_admin(&self) -> bool {
        self.user.is_admin && !self.restricted
    }

    /// Self-service writes that no catalogue permission covers (revoking or rotating one's own
    /// tokens) are closed to fine-grained tokens.
    pub fn require_unrestricted(&self) -> CoreResult<()> {
        if self.restricted {
            return Err(CoreError::forbidden(
                "forbidden",
                "a fine-grained token may only use its permissions; use a login or an unrestricted token",
            ));
        }
        Ok(())
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(permission)
    }

    /// `Ok` when the caller holds `permission`, else `403` naming it.
    pub fn require(&self, permission: Permission) -> CoreResult<()> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(CoreError::MissingPermission(permission))
        }
    }
}

impl Principal {
    /// No privilege escalation: a caller who is not `is_admin` may only grant permissions they hold.
    pub fn require_can_grant(&self, permissions: PermissionSet) -> CoreResult<()> {
        if self.is_admin() {
            return Ok(());
        }
        match permissions.iter().find(|p| !self.has(*p)) {
            Some(missing) => Err(CoreError::CannotGrant(missing)),
            None => Ok(()),
        }
    }
}

/// Request facts recorded with every audit entry.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}
