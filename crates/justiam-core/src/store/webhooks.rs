//! Webhooks (`webhooks`) and the fan-out of an event to their outbox rows.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row};
use uuid::Uuid;

use super::outbox::{self, NewMessage};
use crate::model::PageRequest;
use crate::time::Millis;

/// A stored webhook; the sealed secret stays in the store's hands until delivery.
#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub secret_sealed: String,
    pub secret_hint: String,
    pub created_by: Option<Uuid>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// The stored form of a list of event types: ` a b c ` (see the migration).
fn events_column(events: &[String]) -> String {
    format!(" {} ", events.join(" "))
}

fn from_row(row: &AnyRow) -> Result<WebhookRow, sqlx::Error> {
    let events: String = row.try_get("events")?;
    let created_by: Option<String> = row.try_get("created_by")?;
    Ok(WebhookRow {
        id: super::uuid(row, "id")?,
        url: row.try_get("url")?,
        events: events.split_whitespace().map(str::to_owned).collect(),
        secret_sealed: row.try_get("secret_sealed")?,
        secret_hint: row.try_get("secret_hint")?,
        created_by: created_by.and_then(|id| Uuid::parse_str(&id).ok()),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const COLUMNS: &str =
    "id, url, events, secret_sealed, secret_hint, created_by, created_at, updated_at";

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    w: &WebhookRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhooks (id, url, events, secret_sealed, secret_hint, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(w.id.to_string())
    .bind(&w.url)
    .bind(events_column(&w.events))
    .bind(&w.secret_sealed)
    .bind(&w.secret_hint)
    .bind(w.created_by.map(|id| id.to_string()))
    .bind(w.created_at)
    .bind(w.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn update<'e>(
    db: impl Executor<'e, Database = Any>,
    w: &WebhookRow,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhooks SET url = $2, events = $3, secret_sealed = $4, secret_hint = $5, updated_at = $6 \
         WHERE id = $1",
    )
    .bind(w.id.to_string())
    .bind(&w.url)
    .bind(events_column(&w.events))
    .bind(&w.secret_sealed)
    .bind(&w.secret_hint)
    .bind(w.updated_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<WebhookRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(db)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// One page of the webhooks whose URL contains `search`, oldest first, and how many match.
pub async fn list(
    pool: &AnyPool,
    search: Option<&str>,
    page: PageRequest,
) -> Result<(Vec<WebhookRow>, u64), sqlx::Error> {
    let pattern = search.map(super::contains_pattern).unwrap_or_default();
    let filter = "($1 = '' OR lower(url) LIKE $1 ESCAPE '\\')";
    let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM webhooks WHERE {filter}"
    )))
    .bind(&pattern)
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let sql = format!(
        "SELECT {COLUMNS} FROM webhooks WHERE {filter} ORDER BY created_at, id LIMIT $2 OFFSET $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&pattern)
        .bind(i64::from(page.limit))
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let webhooks = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    Ok((webhooks, total.max(0) as u64))
}

/// Deletes a webhook and the deliveries still waiting for it.
pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM outbox WHERE kind = 'webhook' AND recipient = $1 AND status IN ('pending', 'sending')")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How long a delivery is retried (the contract's 24 hours).
pub const RETRY_FOR: Millis = crate::time::DAY_MS;

/// The webhook event an audited action is, if any: `auth.login_failed` is `login.failed`, a
/// rotation creates a token, the actions named like the contract's events are those events, and
/// every `mfa.*` action is its own event.
pub fn event_type_of_action(action: &'static str) -> Option<&'static str> {
    Some(match action {
        "token.created" | "token.rotated" => "token.created",
        "token.revoked" => "token.revoked",
        "token.revoked_as_leaked" => "token.revoked_as_leaked",
        "user.created" => "user.created",
        "user.updated" => "user.updated",
        "user.deleted" => "user.deleted",
        "auth.login_failed" => "login.failed",
        "application.created" => "application.created",
        "application.updated" => "application.updated",
        "application.deleted" => "application.deleted",
        "application.secret_rotated" => "application.secret_rotated",
        "application.grant_added" => "application.grant_added",
        "application.grant_removed" => "application.grant_removed",
        mfa if mfa.starts_with("mfa.") => mfa,
        _ => return None,
    })
}

/// The body of a webhook delivery: `{id, type, occurred_at, data}`.
pub fn event_body(id: Uuid, event_type: &str, at: Millis, data: serde_json::Value) -> String {
    serde_json::json!({
        "id": id,
        "type": event_type,
        "occurred_at": crate::time::to_datetime(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}

/// The event of an audit entry (its id is the event's), when the action is one.
pub fn event_of_audit(id: Uuid, e: &super::audit::AuditEntry) -> Option<Event> {
    let event_type = event_type_of_action(e.action)?;
    let data = serde_json::json!({
        "actor": e.actor_id.map(|id| serde_json::json!({ "id": id, "email": e.actor_email })),
        "target": e.target_type.map(|t| serde_json::json!({ "type": t, "id": e.target_id })),
        "details": e.details,
    });
    Some(Event {
        event_type,
        body: event_body(id, event_type, e.at, data),
    })
}

/// One event, ready to deliver: its type and the body every subscriber receives.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: &'static str,
    pub body: String,
}

/// Writes one delivery per webhook subscribed to the event's type or its family (`token.*`),
/// or only to `only` (a test event). Returns the deliveries' ids.
pub async fn fan_out(
    conn: &mut AnyConnection,
    event: &Event,
    only: Option<Uuid>,
    now: Millis,
    give_up_at: Millis,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let targets: Vec<String> = match only {
        Some(id) => vec![id.to_string()],
        None => {
            let family = event
                .event_type
                .split_once('.')
                .map_or(event.event_type, |(family, _)| family);
            let rows =
                sqlx::query("SELECT id FROM webhooks WHERE events LIKE $1 OR events LIKE $2")
                    .bind(format!("% {} %", event.event_type))
                    .bind(format!("% {family}.* %"))
                    .fetch_all(&mut *conn)
                    .await?;
            rows.iter()
                .map(|row| row.try_get::<String, _>("id"))
                .collect::<Result<_, _>>()?
        }
    };
    let mut ids = Vec::with_capacity(targets.len());
    for webhook in targets {
        let message = NewMessage {
            id: super::new_id(),
            kind: "webhook",
            topic: event.event_type.to_owned(),
            recipient: webhook,
            payload: event.body.clone(),
            created_at: now,
            give_up_at,
        };
        outbox::insert(&mut *conn, &message).await?;
        ids.push(message.id);
    }
    Ok(ids)
}

/// One delivery of a webhook's log.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: Uuid,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: Millis,
    pub next_attempt_at: Millis,
    pub done_at: Option<Millis>,
    pub last_error: Option<String>,
    pub last_status: Option<i64>,
    pub body: String,
}

/// One page of a webhook's deliveries whose event type contains `search`, newest first, and
/// how many match (the outbox keeps finished rows for its retention period).
pub async fn deliveries(
    pool: &AnyPool,
    webhook: Uuid,
    search: Option<&str>,
    page: PageRequest,
) -> Result<(Vec<Delivery>, u64), sqlx::Error> {
    let pattern = search.map(super::contains_pattern).unwrap_or_default();
    let filter =
        "kind = 'webhook' AND recipient = $1 AND ($2 = '' OR lower(topic) LIKE $2 ESCAPE '\\')";
    let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM outbox WHERE {filter}"
    )))
    .bind(webhook.to_string())
    .bind(&pattern)
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, topic, status, attempts, created_at, next_attempt_at, done_at, last_error, \
         last_status, payload FROM outbox WHERE {filter} \
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    )))
    .bind(webhook.to_string())
    .bind(&pattern)
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let deliveries = rows
        .iter()
        .map(|row| {
            Ok(Delivery {
                id: super::uuid(row, "id")?,
                event_type: row.try_get("topic")?,
                status: row.try_get("status")?,
                attempts: row.try_get("attempts")?,
                created_at: row.try_get("created_at")?,
                next_attempt_at: row.try_get("next_attempt_at")?,
                done_at: row.try_get("done_at")?,
                last_error: row.try_get("last_error")?,
                last_status: row.try_get("last_status")?,
                body: row.try_get("payload")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok((deliveries, total.max(0) as u64))
}
