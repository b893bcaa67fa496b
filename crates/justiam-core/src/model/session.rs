//! Sessions: one per portal JWT (`portal`), or per signed-in browser of the applications (`sso`).

use uuid::Uuid;

use crate::time::Millis;

#[derive(Debug, Clone)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `portal` (a portal JWT) or `sso` (the `idp_sid` cookie that signs in to applications).
    pub kind: &'static str,
}

/// A session with its user's email, for the sessions list.
#[derive(Debug, Clone)]
pub struct SessionWithUser {
    pub session: Session,
    pub user_email: String,
}
