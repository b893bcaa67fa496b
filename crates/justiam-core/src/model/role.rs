//! Admin roles and who holds them.

use uuid::Uuid;

use super::PermissionSet;
use crate::time::{Millis, to_datetime};

#[derive(Debug, Clone)]
pub struct AdminRole {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub permissions: PermissionSet,
    pub is_builtin: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl AdminRole {
    pub fn to_wire(&self) -> justiam_types::AdminRole {
        justiam_types::AdminRole {
            id: self.id,
            name: self.name.clone(),
            description: self.description.clone(),
            permissions: self.permissions.names(),
            is_builtin: self.is_builtin,
            created_at: to_datetime(self.created_at),
            updated_at: to_datetime(self.updated_at),
        }
    }
}

/// Where a role assignment lives: on a user or on a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleHolder {
    User(Uuid),
    Group(Uuid),
}

/// A role held by a user, directly (`via_group` = None) or through a group (its id and name).
#[derive(Debug, Clone)]
pub struct HeldRole {
    pub role: AdminRole,
    pub via_group: Option<(Uuid, String)>,
}
