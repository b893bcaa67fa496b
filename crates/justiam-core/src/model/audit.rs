//! The audit log as it is read back.

use uuid::Uuid;

use crate::time::{Millis, to_datetime};

/// Filters of the audit log; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// An exact action, or a prefix when it ends with `.*` (`token.*`).
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub target_id: Option<Uuid>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
}

/// A stored entry, its columns as written: ids and details are text, so that an entry an older
/// version wrote is shown as it is.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: Uuid,
    pub at: Millis,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub credential: Option<String>,
    pub credential_id: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: Option<String>,
}

impl AuditRecord {
    pub fn to_wire(&self) -> justiam_types::AuditRecord {
        let id = |s: &Option<String>| s.as_deref().and_then(|s| Uuid::parse_str(s).ok());
        justiam_types::AuditRecord {
            id: self.id,
            at: to_datetime(self.at),
            actor_id: id(&self.actor_id),
            actor_email: self.actor_email.clone(),
            credential: self.credential.clone(),
            credential_id: id(&self.credential_id),
            action: self.action.clone(),
            target_type: self.target_type.clone(),
            target_id: id(&self.target_id),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            details: self
                .details
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
        }
    }
}
