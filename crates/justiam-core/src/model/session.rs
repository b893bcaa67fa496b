//! Portal sessions: one per portal JWT.

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
}

/// A session with its user's email, for the sessions list.
#[derive(Debug, Clone)]
pub struct SessionWithUser {
    pub session: Session,
    pub user_email: String,
}
