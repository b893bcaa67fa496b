//! The append-only `audit_log`. Nothing in the code updates or deletes an entry except the
//! retention purge.

use sqlx::{Any, Executor};
use uuid::Uuid;

use crate::model::{AuditFilter, AuditRecord};
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

/// Writes an audit entry and, when its action is a webhook event, one delivery per subscribed
/// webhook: in the caller's transaction, so that an event is delivered exactly when its change
/// is committed.
pub async fn insert<'a>(
    conn: impl super::Connection<'a>,
    e: &AuditEntry,
) -> Result<(), sqlx::Error> {
    let conn = conn.connection();
    let id = super::new_id();
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, actor_email, credential, credential_id, action, target_type, \
         target_id, ip, user_agent, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id.to_string())
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
    .execute(&mut *conn)
    .await?;
    if let Some(event) = super::webhooks::event_of_audit(id, e) {
        let now = crate::time::now_millis();
        super::webhooks::fan_out(conn, &event, None, now, now + super::webhooks::RETRY_FOR).await?;
    }
    Ok(())
}

macro_rules! audit_where {
    () => {
        " WHERE ($1 = '' OR action = $1) AND ($2 = '' OR action LIKE $2 ESCAPE '\\') \
          AND ($3 = '' OR actor_id = $3) AND ($4 = '' OR target_id = $4) AND at >= $5 AND at <= $6"
    };
}

/// One page of entries, newest first.
pub async fn list(
    pool: &sqlx::AnyPool,
    filter: &AuditFilter,
    page: crate::model::PageRequest,
) -> Result<(Vec<AuditRecord>, u64), sqlx::Error> {
    use sqlx::Row;
    let (exact, prefix) = match filter.action.as_deref() {
        Some(action) => match action.strip_suffix('*') {
            Some(prefix) => (
                String::new(),
                format!(
                    "{}%",
                    prefix
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                ),
            ),
            None => (action.to_owned(), String::new()),
        },
        None => (String::new(), String::new()),
    };
    let actor = filter.actor_id.map(|id| id.to_string()).unwrap_or_default();
    let target = filter
        .target_id
        .map(|id| id.to_string())
        .unwrap_or_default();
    let since = filter.since.unwrap_or(i64::MIN);
    let until = filter.until.unwrap_or(i64::MAX);
    let total: i64 = sqlx::query(concat!(
        "SELECT COUNT(*) AS n FROM audit_log",
        audit_where!()
    ))
    .bind(&exact)
    .bind(&prefix)
    .bind(&actor)
    .bind(&target)
    .bind(since)
    .bind(until)
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(concat!(
        "SELECT id, at, actor_id, actor_email, credential, credential_id, action, target_type, target_id, ip, \
         user_agent, details FROM audit_log",
        audit_where!(),
        " ORDER BY at DESC, id DESC LIMIT $7 OFFSET $8"
    ))
    .bind(&exact)
    .bind(&prefix)
    .bind(&actor)
    .bind(&target)
    .bind(since)
    .bind(until)
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let entries = rows
        .iter()
        .map(|row| {
            Ok(AuditRecord {
                id: super::uuid(row, "id")?,
                at: row.try_get("at")?,
                actor_id: row.try_get("actor_id")?,
                actor_email: row.try_get("actor_email")?,
                credential: row.try_get("credential")?,
                credential_id: row.try_get("credential_id")?,
                action: row.try_get("action")?,
                target_type: row.try_get("target_type")?,
                target_id: row.try_get("target_id")?,
                ip: row.try_get("ip")?,
                user_agent: row.try_get("user_agent")?,
                details: row.try_get("details")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((entries, total.max(0) as u64))
}

/// Retention: deletes entries older than `before`. The only delete of audit entries anywhere.
pub async fn purge_before<'e>(
    db: impl Executor<'e, Database = Any>,
    before: Millis,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM audit_log WHERE at < $1")
        .bind(before)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
