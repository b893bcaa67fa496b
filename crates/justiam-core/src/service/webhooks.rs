//! Webhooks (`is_admin` only): create, read, replace, delete, the delivery log, a test event,
//! and what the delivery worker needs (the target and the unsealed secret).
//!
//! Events reach webhooks through the audit log: every audited change whose action is an event
//! (`store::webhooks::event_type_of_action`) writes its deliveries in its own transaction.
//!
//! The signing secret must be readable to sign, so it cannot be a digest: it is sealed with
//! AES-256-GCM under a key derived from `JWT_SECRET` (`JwtSigner::derive_key`), which every node
//! shares and the database does not hold.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use uuid::Uuid;

use super::users::admin_only;
use super::{Iam, audit_by};
use crate::authz::{Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::model::{PageRequest, Webhook, WebhookDelivery, parse_events, parse_webhook_url};
use crate::secret::Secret;
use crate::store::audit::{self, AuditEntry};
use crate::store::new_id;
use crate::store::webhooks::{self, Event, RETRY_FOR, WebhookRow};
use crate::time::{Millis, now_millis};
use crate::token;

/// Generated secrets: this prefix and 32 random base62 characters.
pub const SECRET_PREFIX: &str = "whsec_";
const SECRET_MIN_CHARS: usize = 16;
const SECRET_MAX_CHARS: usize = 256;
const SEALING_LABEL: &str = "justiam webhook secret sealing v1";

/// What creating or replacing a webhook takes (the URL's address was checked by the caller).
#[derive(Debug, Clone)]
pub struct WebhookInput {
    pub url: String,
    pub events: Vec<String>,
    /// Absent: generated (on create) or kept (on replace).
    pub secret: Option<Secret>,
}

/// A created webhook and its secret, shown this once when it was generated.
#[derive(Debug)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    pub secret: Option<Secret>,
}

/// What the worker needs to deliver to a webhook.
pub struct DeliveryTarget {
    pub url: String,
    pub secret: Secret,
}

fn to_model(row: WebhookRow) -> Webhook {
    Webhook {
        id: row.id,
        url: row.url,
        events: row.events,
        secret_hint: row.secret_hint,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// A given signing secret: 16 to 256 printable ASCII characters without spaces
/// (`rules::WEBHOOK_SECRET_PATTERN`).
pub fn check_secret(secret: &Secret) -> CoreResult<()> {
    let value = secret.expose();
    let len = value.chars().count();
    if !(SECRET_MIN_CHARS..=SECRET_MAX_CHARS).contains(&len)
        || !value.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(CoreError::validation(
            "secret",
            "secret must be 16 to 256 printable ASCII characters without spaces",
        ));
    }
    Ok(())
}

fn hint_of(secret: &Secret) -> String {
    let value = secret.expose();
    let tail: String = value
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

fn sealing_failed() -> CoreError {
    CoreError::Internal(anyhow::anyhow!("webhook secret sealing failed"))
}

impl Iam {
    /// Webhooks are for administrators (`is_admin`, not through a fine-grained token).
    pub fn require_webhook_admin(&self, principal: &Principal) -> CoreResult<()> {
        if principal.is_admin() {
            Ok(())
        } else {
            Err(admin_only(
                "only an administrator (is_admin, not through a fine-grained token) may manage webhooks",
            ))
        }
    }

    fn sealing_key(&self) -> CoreResult<LessSafeKey> {
        let key = self.jwt.derive_key(SEALING_LABEL);
        let unbound = UnboundKey::new(&AES_256_GCM, &key).map_err(|_| sealing_failed())?;
        Ok(LessSafeKey::new(unbound))
    }

    fn seal(&self, secret: &Secret) -> CoreResult<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| sealing_failed())?;
        let mut data = secret.expose().as_bytes().to_vec();
        self.sealing_key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(SEALING_LABEL),
                &mut data,
            )
            .map_err(|_| sealing_failed())?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&data);
        Ok(STANDARD.encode(sealed))
    }

    fn unseal(&self, sealed: &str) -> CoreResult<Secret> {
        let unreadable = || {
            CoreError::Internal(anyhow::anyhow!(
                "a webhook secret cannot be unsealed: JWT_SECRET changed since it was stored; set the webhook's secret again"
            ))
        };
        let bytes = STANDARD.decode(sealed).map_err(|_| unreadable())?;
        if bytes.len() < NONCE_LEN {
            return Err(unreadable());
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| unreadable())?;
        let mut data = data.to_vec();
        let plain = self
            .sealing_key()?
            .open_in_place(nonce, Aad::from(SEALING_LABEL), &mut data)
            .map_err(|_| unreadable())?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| unreadable())?;
        Ok(Secret::new(text))
    }

    pub async fn create_webhook(
        &self,
        principal: &Principal,
        input: WebhookInput,
        meta: &RequestMeta,
    ) -> CoreResult<CreatedWebhook> {
        self.require_webhook_admin(principal)?;
        let url = parse_webhook_url(&input.url)?;
        let events = parse_events(&input.events)?;
        let (secret, generated) = match input.secret {
            Some(secret) => {
                check_secret(&secret)?;
                (secret, false)
            }
            None => {
                let random = token::random_base62(32)
                    .map_err(|e| CoreError::Internal(anyhow::anyhow!("OS randomness: {e}")))?;
                (Secret::new(format!("{SECRET_PREFIX}{random}")), true)
            }
        };
        let now = now_millis();
        let row = WebhookRow {
            id: new_id(),
            url: url.to_string(),
            events,
            secret_sealed: self.seal(&secret)?,
            secret_hint: hint_of(&secret),
            created_by: Some(principal.id()),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.pool.begin().await?;
        webhooks::insert(&mut *tx, &row).await?;
        let entry = AuditEntry {
            target_type: Some("webhook"),
            target_id: Some(row.id),
            details: Some(serde_json::json!({ "url": row.url, "events": row.events })),
            ..audit_by(principal, meta, "webhook.created")
        };
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(CreatedWebhook {
            webhook: to_model(row),
            secret: generated.then_some(secret),
        })
    }

    /// One page of the webhooks whose URL contains `search`, oldest first, and how many match.
    pub async fn list_webhooks(
        &self,
        principal: &Principal,
        search: Option<&str>,
        page: PageRequest,
    ) -> CoreResult<(Vec<Webhook>, u64)> {
        self.require_webhook_admin(principal)?;
        let (rows, total) = webhooks::list(&self.db.pool, search, page).await?;
        Ok((rows.into_iter().map(to_model).collect(), total))
    }

    pub async fn get_webhook(&self, principal: &Principal, id: Uuid) -> CoreResult<Webhook> {
        self.require_webhook_admin(principal)?;
        webhooks::get(&self.db.pool, id)
            .await?
            .map(to_model)
            .ok_or_else(|| CoreError::not_found("webhook"))
    }

    /// Replaces the URL and the events; the secret only when one is given.
    pub async fn update_webhook(
        &self,
        principal: &Principal,
        id: Uuid,
        input: WebhookInput,
        meta: &RequestMeta,
    ) -> CoreResult<Webhook> {
        self.require_webhook_admin(principal)?;
        let url = parse_webhook_url(&input.url)?;
        let events = parse_events(&input.events)?;
        let mut row = webhooks::get(&self.db.pool, id)
            .await?
            .ok_or_else(|| CoreError::not_found("webhook"))?;
        row.url = url.to_string();
        row.events = events;
        if let Some(secret) = &input.secret {
            check_secret(secret)?;
            row.secret_sealed = self.seal(secret)?;
            row.secret_hint = hint_of(secret);
        }
        row.updated_at = now_millis();
        let mut tx = self.db.pool.begin().await?;
        if !webhooks::update(&mut *tx, &row).await? {
            return Err(CoreError::not_found("webhook"));
        }
        let entry = AuditEntry {
            target_type: Some("webhook"),
            target_id: Some(id),
            details: Some(serde_json::json!({
                "url": row.url,
                "events": row.events,
                "secret_changed": input.secret.is_some(),
            })),
            ..audit_by(principal, meta, "webhook.updated")
        };
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(to_model(row))
    }

    pub async fn delete_webhook(
        &self,
        principal: &Principal,
        id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        self.require_webhook_admin(principal)?;
        let mut tx = self.db.pool.begin().await?;
        let Some(row) = webhooks::get(&mut *tx, id).await? else {
            return Err(CoreError::not_found("webhook"));
        };
        webhooks::delete(&mut tx, id).await?;
        let entry = AuditEntry {
            target_type: Some("webhook"),
            target_id: Some(id),
            details: Some(serde_json::json!({ "url": row.url })),
            ..audit_by(principal, meta, "webhook.deleted")
        };
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues a `webhook.test` event for this webhook only; returns the delivery's id.
    pub async fn send_test_event(
        &self,
        principal: &Principal,
        id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<Uuid> {
        let webhook = self.get_webhook(principal, id).await?;
        let now = now_millis();
        let event_id = new_id();
        let event = Event {
            event_type: "webhook.test",
            body: webhooks::event_body(
                event_id,
                "webhook.test",
                now,
                serde_json::json!({ "webhook_id": webhook.id, "requested_by": principal.user.email }),
            ),
        };
        let mut tx = self.db.pool.begin().await?;
        let ids = webhooks::fan_out(&mut tx, &event, Some(id), now, now + RETRY_FOR).await?;
        let entry = AuditEntry {
            target_type: Some("webhook"),
            target_id: Some(id),
            details: Some(serde_json::json!({ "event_id": event_id })),
            ..audit_by(principal, meta, "webhook.test_sent")
        };
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        self.wake_outbox();
        ids.first()
            .copied()
            .ok_or_else(|| CoreError::Internal(anyhow::anyhow!("no test delivery was written")))
    }

    /// One page of the webhook's deliveries whose event type contains `search`, newest first,
    /// and how many match.
    pub async fn webhook_deliveries(
        &self,
        principal: &Principal,
        id: Uuid,
        search: Option<&str>,
        page: PageRequest,
    ) -> CoreResult<(Vec<WebhookDelivery>, u64)> {
        self.get_webhook(principal, id).await?;
        let (rows, total) = webhooks::deliveries(&self.db.pool, id, search, page).await?;
        let deliveries = rows
            .into_iter()
            .map(|d| WebhookDelivery {
                id: d.id,
                event_type: d.event_type,
                status: d.status,
                attempts: d.attempts,
                created_at: d.created_at,
                next_attempt_at: d.next_attempt_at,
                done_at: d.done_at,
                last_error: d.last_error,
                last_status: d.last_status,
                body: d.body,
            })
            .collect();
        Ok((deliveries, total))
    }

    /// For the delivery worker: the webhook's URL and secret, `None` when it was deleted.
    pub async fn webhook_target(&self, id: Uuid) -> CoreResult<Option<DeliveryTarget>> {
        let Some(row) = webhooks::get(&self.db.pool, id).await? else {
            return Ok(None);
        };
        Ok(Some(DeliveryTarget {
            url: row.url,
            secret: self.unseal(&row.secret_sealed)?,
        }))
    }

    /// Writes `token.expiring` deliveries in the notice's transaction.
    pub(crate) async fn emit_event(
        &self,
        conn: &mut sqlx::AnyConnection,
        event_type: &'static str,
        data: serde_json::Value,
        at: Millis,
    ) -> CoreResult<()> {
        let event = Event {
            event_type,
            body: webhooks::event_body(new_id(), event_type, at, data),
        };
        let now = now_millis();
        webhooks::fan_out(conn, &event, None, now, now + RETRY_FOR).await?;
        Ok(())
    }
}
