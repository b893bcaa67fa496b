//! The append-only `audit_log`. Nothing in the code updates or deletes an entry except the
//! retention purge.

use sqlx::{Any, Executor};
use uuid::Uuid;

use crate::time::Millis;

#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    pub at: Millis,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    /// `password`, `jwt` or `pat`.
    pub credential: Option<&'static str>,
    pub credential_id: Option<Uuid>,
    pub action: &'static str,
    pub target_type: Option<&'static str>,
    pub target_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: Option<serde_json::Value>,
}

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    e: &AuditEntry,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, actor_email, credential, credential_id, action, target_type, \
         target_id, ip, user_agent, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(super::new_id().to_string())
    .bind(e.at)
    .bind(e.actor_id.map(|id| id.to_string()))
    .bind(e.actor_email.as_deref())
    .bind(e.credential)
    .bind(e.credential_id.map(|id| id.to_string()))
    .bind(e.action)
    .bind(e.target_type)
    .bind(e.target_id.map(|id| id.to_string()))
    .bind(e.ip.as_deref())
    .bind(e.user_agent.as_deref())
    .bind(e.details.as_ref().map(|d| d.to_string()))
    .execute(db)
    .await?;
    Ok(())
}
