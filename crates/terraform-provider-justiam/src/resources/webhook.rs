//! `justiam_webhook`: where JustIAM POSTs signed events (administrators only).

use async_trait::async_trait;
use justiam_client::{Client, Result};
use justiam_types::webhook::{CreatedWebhook, Webhook, WebhookInput};
use serde::{Deserialize, Serialize};
use tf_provider::Diagnostics;
use tf_provider::schema::Schema;
use tf_provider::value::Value;
use uuid::Uuid;

use super::object::{Object, ObjectResource};
use crate::diag;
use crate::schema::{
    Computed, OptionalComputed, Required, StringSet, known, known_elements, schema, sensitive,
    set_of, string, string_set,
};

pub type WebhookResource = ObjectResource<WebhookObject>;

pub struct WebhookObject;

#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct WebhookState {
    pub id: Value<String>,
    pub url: Value<String>,
    pub events: StringSet,
    pub secret: Value<String>,
    pub secret_hint: Value<String>,
}

/// A webhook as the API answers it, with the secret when the server just generated it.
pub struct WebhookModel {
    webhook: Webhook,
    secret: Option<String>,
}

impl From<Webhook> for WebhookModel {
    fn from(webhook: Webhook) -> Self {
        Self {
            webhook,
            secret: None,
        }
    }
}

impl From<CreatedWebhook> for WebhookModel {
    fn from(created: CreatedWebhook) -> Self {
        Self {
            webhook: created.webhook,
            secret: created.secret,
        }
    }
}

/// Whether a stored secret is still the webhook's: its end matches the server's hint (`…abcd`).
fn is_current(secret: &str, hint: &str) -> bool {
    let tail = hint.trim_start_matches('…');
    !tail.is_empty() && secret.ends_with(tail)
}

fn input(planned: &WebhookState, send_secret: bool) -> Option<WebhookInput> {
    Some(WebhookInput {
        url: planned.url.as_ref_option()?.clone(),
        events: known_elements(&planned.events).unwrap_or_default(),
        secret: if send_secret {
            planned.secret.as_ref_option().cloned()
        } else {
            None
        },
    })
}

#[async_trait]
impl Object for WebhookObject {
    type State = WebhookState;
    type Model = WebhookModel;

    const KIND: &'static str = "webhook";

    fn schema() -> Schema {
        schema(
            "A webhook: JustIAM POSTs the events it subscribes to, signed with its secret \
             (`JustIAM-Webhook-Signature`), and retries for 24 hours. Needs an administrator's \
             credential (`is_admin`).",
            vec![
                ("id", string(Computed, "The webhook's id (UUID).")),
                (
                    "url",
                    string(
                        Required,
                        "The http(s) URL events are POSTed to. Loopback, link-local and private \
                         addresses are refused unless the server allows them.",
                    ),
                ),
                (
                    "events",
                    string_set(
                        Required,
                        "Event types or families: `token.created`, `token.revoked`, \
                         `token.revoked_as_leaked`, `token.expiring`, `user.created`, \
                         `user.updated`, `user.deleted`, `login.failed`, `application.*`, \
                         `mfa.*`, …",
                    ),
                ),
                (
                    "secret",
                    sensitive(string(
                        OptionalComputed,
                        "The signing secret (16 to 256 printable characters). Left out, the \
                         server generates one (`whsec_…`) at creation; **stored in the Terraform \
                         state** either way. Null after an import, and after the secret was \
                         changed outside Terraform (the stored value stopped matching \
                         `secret_hint`).",
                    )),
                ),
                (
                    "secret_hint",
                    string(Computed, "The secret's last characters (`…abcd`)."),
                ),
            ],
        )
    }

    fn validate(diags: &mut Diagnostics, config: &WebhookState) {
        if let Some(events) = known_elements(&config.events)
            && events.is_empty()
        {
            diag::error_at(
                diags,
                "events",
                "No events",
                "A webhook subscribes to at least one event type.",
            );
        }
        if let Value::Value(secret) = &config.secret
            && !(16..=256).contains(&secret.chars().count())
        {
            diag::error_at(
                diags,
                "secret",
                "Invalid secret",
                "The secret must be 16 to 256 printable ASCII characters.",
            );
        }
    }

    fn id(state: &WebhookState) -> &Value<String> {
        &state.id
    }

    fn refresh(state: &mut WebhookState, model: &WebhookModel) {
        let w = &model.webhook;
        state.id = known(w.id.to_string());
        state.url = known(&w.url);
        state.events = set_of(w.events.iter().cloned());
        state.secret_hint = known(&w.secret_hint);
        state.secret = match (&model.secret, &state.secret) {
            (Some(secret), _) => known(secret),
            (None, Value::Value(kept)) if is_current(kept, &w.secret_hint) => known(kept),
            // Changed outside Terraform, or never known (import).
            _ => Value::Null,
        };
    }

    /// No defaults: a secret left out is the one the server generated, which Terraform proposes
    /// from the prior state (it is computed).
    fn apply_defaults(_state: &mut WebhookState, _config: &WebhookState) {}

    fn unknown_at_create(state: &mut WebhookState) {
        state.id = Value::Unknown;
        state.secret_hint = Value::Unknown;
        if state.secret.is_null() {
            state.secret = Value::Unknown;
        }
    }

    fn unknown_at_update(prior: &WebhookState, planned: &mut WebhookState) {
        if prior.secret != planned.secret {
            planned.secret_hint = Value::Unknown;
        }
    }

    async fn get(client: &Client, id: Uuid) -> Result<WebhookModel> {
        client.get_webhook(id).await.map(WebhookModel::from)
    }

    async fn create(
        client: &Client,
        planned: &WebhookState,
    ) -> Option<(String, Result<WebhookModel>)> {
        let input = input(planned, true)?;
        Some((
            input.url.clone(),
            client.create_webhook(&input).await.map(WebhookModel::from),
        ))
    }

    async fn update(
        client: &Client,
        id: Uuid,
        prior: &WebhookState,
        planned: &WebhookState,
    ) -> Result<WebhookModel> {
        let send_secret = prior.secret != planned.secret;
        let body = input(planned, send_secret).unwrap_or_default();
        client
            .update_webhook(id, &body)
            .await
            .map(WebhookModel::from)
    }

    async fn delete(client: &Client, id: Uuid) -> Result<()> {
        client.delete_webhook(id).await
    }
}
