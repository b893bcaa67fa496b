//! Webhooks (`/api/v1/webhooks`, `is_admin` only).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::timestamp;

/// Where events are POSTed, signed with the webhook's secret (never shown again after creation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    /// Event types and families (`token.created`, `application.*`).
    pub events: Vec<String>,
    /// The secret's last characters (`…abcd`).
    pub secret_hint: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/webhooks` and `PUT /api/v1/webhooks/{id}` (which replaces URL and events, and
/// the secret only when one is given).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// An http(s) URL of a public target (`rules::WebhookUrl`).
    #[schema(value_type = crate::rules::WebhookUrl)]
    pub url: String,
    #[schema(value_type = Vec<crate::rules::WebhookEvent>, min_items = 1, example = json!(["token.created", "user.*"]))]
    pub events: Vec<String>,
    /// The signing secret. Absent on create: generated and shown once; absent on replace: kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::rules::WebhookSecret>)]
    pub secret: Option<String>,
}

impl std::fmt::Debug for WebhookInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookInput")
            .field("url", &self.url)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// A created webhook; `secret` is there only when the server generated it, this once.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl std::fmt::Debug for CreatedWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedWebhook")
            .field("webhook", &self.webhook)
            .finish_non_exhaustive()
    }
}

/// One delivery of an event to a webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookDelivery {
    pub id: Uuid,
    /// The event's `type` (`webhook.test` for a test event).
    pub event_type: String,
    /// `pending` (waiting for an attempt), `sending`, `sent` or `failed` (given up).
    pub status: String,
    pub attempts: i64,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    /// When a `pending` delivery is tried next.
    #[serde(serialize_with = "timestamp::serialize")]
    pub next_attempt_at: DateTime<Utc>,
    #[serde(default, serialize_with = "timestamp::serialize_option")]
    pub done_at: Option<DateTime<Utc>>,
    /// The HTTP status the target answered last.
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The JSON body POSTed: `{id, type, occurred_at, data}`.
    pub body: serde_json::Value,
}

/// `POST /api/v1/webhooks/{id}/test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookTestSent {
    /// The delivery of the test event, to follow in the delivery log.
    pub delivery_id: Uuid,
}
