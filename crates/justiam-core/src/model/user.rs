//! Users and service accounts.

use uuid::Uuid;

use crate::time::{Millis, to_datetime};

/// A user or service account. The password hash is not part of it: only login and password change
/// read it, straight from the store, so it never rides along in a [`crate::authz::Principal`] or a
/// cache entry.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl User {
    pub fn to_wire(&self) -> justiam_types::User {
        justiam_types::User {
            id: self.id,
            email: self.email.clone(),
            username: self.username.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            is_active: self.is_active,
            is_admin: self.is_admin,
            is_service_account: self.is_service_account,
            auth_source: self.auth_source.clone(),
            created_at: to_datetime(self.created_at),
            updated_at: to_datetime(self.updated_at),
        }
    }
}
