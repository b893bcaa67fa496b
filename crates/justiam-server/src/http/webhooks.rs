//! `/webhooks` (`is_admin` only): create, list, read, replace, delete, the delivery log and a
//! test event. The target's address is checked here (it needs the network) after the caller's
//! right to manage webhooks, so that nobody else can probe names and addresses through it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use justiam_core::authz::Principal;
use justiam_core::model::parse_events;
use justiam_core::model::{Webhook as Model, WebhookDelivery as DeliveryModel};
use justiam_core::secret::Secret;
use justiam_core::service::webhooks::{WebhookInput as Input, check_secret};
use justiam_core::time::to_datetime;
use justiam_types::webhook::{
    CreatedWebhook, Webhook, WebhookDelivery, WebhookInput, WebhookTestSent,
};
use justiam_types::{ErrorBody, Page};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiPath, Auth, ListQuery, Meta, StrictJson};
use super::openapi::ListParamsDoc;
use super::{ApiError, AppState, page_of};
use crate::webhook::check_target;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, replace, remove))
        .routes(routes!(deliveries))
        .routes(routes!(send_test))
}

pub fn to_wire(w: Model) -> Webhook {
    Webhook {
        id: w.id,
        url: w.url,
        events: w.events,
        secret_hint: w.secret_hint,
        created_at: to_datetime(w.created_at),
        updated_at: to_datetime(w.updated_at),
    }
}

pub fn delivery_to_wire(d: DeliveryModel) -> WebhookDelivery {
    WebhookDelivery {
        id: d.id,
        event_type: d.event_type,
        status: d.status,
        attempts: d.attempts,
        created_at: to_datetime(d.created_at),
        next_attempt_at: to_datetime(d.next_attempt_at),
        done_at: d.done_at.map(to_datetime),
        last_status: d.last_status,
        last_error: d.last_error,
        body: serde_json::from_str(&d.body).unwrap_or(serde_json::Value::Null),
    }
}

/// Checks the caller, then the target, and turns the wire input into the service's.
pub async fn checked_input(
    state: &AppState,
    principal: &Principal,
    body: WebhookInput,
) -> Result<Input, ApiError> {
    state.iam.require_webhook_admin(principal)?;
    // Every field's form first (400), then where the URL leads (409): a request refused for its
    // form is never refused for its target.
    parse_events(&body.events)?;
    let secret = body.secret.map(Secret::new);
    if let Some(secret) = &secret {
        check_secret(secret)?;
    }
    check_target(&body.url, state.iam.settings.webhook_allow_private_targets).await?;
    Ok(Input {
        url: body.url,
        events: body.events,
        secret,
    })
}

#[utoipa::path(get, path = "/api/v1/webhooks", operation_id = "list_webhooks", tag = "webhooks", description = "The webhooks, oldest first; `search` matches the URL.", params(ListParamsDoc), responses((status = 200, body = Page<Webhook>)))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    query: ListQuery,
) -> Result<Json<Page<Webhook>>, ApiError> {
    let (webhooks, total) = state
        .iam
        .list_webhooks(&principal, query.search.as_deref(), query.page)
        .await?;
    Ok(Json(page_of(
        webhooks.into_iter().map(to_wire).collect(),
        total,
        query.page,
    )))
}

#[utoipa::path(post, path = "/api/v1/webhooks", operation_id = "create_webhook", tag = "webhooks", request_body = WebhookInput, responses(
    (status = 201, description = "Created; `secret` only when it was generated, shown this once", body = CreatedWebhook),
    (status = 409, description = "`webhook_target_refused`: the URL's host does not resolve, or resolves only to a loopback, link-local or private address", body = ErrorBody),
))]
async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<WebhookInput>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let input = checked_input(&state, &principal, body).await?;
    let created = state.iam.create_webhook(&principal, input, &meta).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            webhook: to_wire(created.webhook),
            secret: created.secret.map(Secret::into_exposed),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", operation_id = "get_webhook", tag = "webhooks", params(("id" = Uuid, Path, description = "Webhook id")), responses((status = 200, body = Webhook)))]
async fn read(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Webhook>, ApiError> {
    Ok(Json(to_wire(state.iam.get_webhook(&principal, id).await?)))
}

#[utoipa::path(put, path = "/api/v1/webhooks/{id}", operation_id = "update_webhook", tag = "webhooks", params(("id" = Uuid, Path, description = "Webhook id")), request_body = WebhookInput, responses(
    (status = 200, body = Webhook),
    (status = 409, description = "`webhook_target_refused`: the URL's host does not resolve, or resolves only to a loopback, link-local or private address", body = ErrorBody),
))]
async fn replace(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<WebhookInput>,
) -> Result<Json<Webhook>, ApiError> {
    let input = checked_input(&state, &principal, body).await?;
    let webhook = state
        .iam
        .update_webhook(&principal, id, input, &meta)
        .await?;
    Ok(Json(to_wire(webhook)))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", operation_id = "delete_webhook", tag = "webhooks", params(("id" = Uuid, Path, description = "Webhook id")), responses((status = 204, description = "Deleted with its waiting deliveries")))]
async fn remove(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.delete_webhook(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", operation_id = "list_webhook_deliveries", tag = "webhooks", description = "The delivery log, newest first (finished deliveries are kept for the outbox's retention period); `search` matches the event type.", params(("id" = Uuid, Path, description = "Webhook id"), ListParamsDoc), responses((status = 200, body = Page<WebhookDelivery>)))]
async fn deliveries(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
    query: ListQuery,
) -> Result<Json<Page<WebhookDelivery>>, ApiError> {
    let (deliveries, total) = state
        .iam
        .webhook_deliveries(&principal, id, query.search.as_deref(), query.page)
        .await?;
    Ok(Json(page_of(
        deliveries.into_iter().map(delivery_to_wire).collect(),
        total,
        query.page,
    )))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", operation_id = "send_webhook_test", tag = "webhooks", params(("id" = Uuid, Path, description = "Webhook id")), responses((status = 202, description = "A `webhook.test` event is queued for this webhook", body = WebhookTestSent)))]
async fn send_test(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<WebhookTestSent>), ApiError> {
    let delivery_id = state.iam.send_test_event(&principal, id, &meta).await?;
    Ok((StatusCode::ACCEPTED, Json(WebhookTestSent { delivery_id })))
}
