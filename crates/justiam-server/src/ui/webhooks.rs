//! Administration → Webhooks (`/ui/admin/webhooks`, `is_admin` only), as `/webhooks` of the API:
//! the list with a creation form (the generated secret shown once), a webhook's page with its
//! delivery log and the "Send test event" button, and deletion after a confirmation.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use justiam_core::model::EVENT_TYPES;
use justiam_core::secret::Secret;
use justiam_core::service::webhooks::WebhookInput;
use uuid::Uuid;

use super::kit::{
    ConfirmPage, FieldErrors, Nav, Params, UiError, UiForm, UiUser, notice_of, redirect, render,
    value, when,
};
use crate::app::AppState;
use crate::webhook::check_target;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/admin/webhooks", get(list).post(create))
        .route("/ui/admin/webhooks/{id}", get(detail))
        .route(
            "/ui/admin/webhooks/{id}/test",
            axum::routing::post(send_test),
        )
        .route(
            "/ui/admin/webhooks/{id}/delete",
            get(delete_confirm).post(delete),
        )
}

struct WebhookRow {
    id: Uuid,
    url: String,
    events: String,
    hint: String,
    created: String,
}

#[derive(Template)]
#[template(path = "webhooks/list.html")]
struct ListPage {
    nav: Option<Nav>,
    webhooks: Vec<WebhookRow>,
    notice: Option<String>,
    secret: Option<String>,
    errors: FieldErrors,
    url: String,
    events: String,
    catalogue: String,
}

struct DeliveryRow {
    id: Uuid,
    event_type: String,
    status: String,
    attempts: i64,
    http: String,
    created: String,
    when: String,
    error: String,
}

#[derive(Template)]
#[template(path = "webhooks/detail.html")]
struct DetailPage {
    nav: Option<Nav>,
    id: Uuid,
    url: String,
    events: String,
    hint: String,
    created: String,
    deliveries: Vec<DeliveryRow>,
    notice: Option<String>,
}

async fn list_page(
    state: &AppState,
    user: &UiUser,
    notice: Option<String>,
    secret: Option<String>,
    errors: FieldErrors,
    typed: (String, String),
) -> Result<Response, UiError> {
    let webhooks = state.iam.list_webhooks(&user.principal).await?;
    Ok(render(ListPage {
        nav: Some(Nav::new(user, "webhooks")),
        webhooks: webhooks
            .into_iter()
            .map(|w| WebhookRow {
                id: w.id,
                url: w.url,
                events: w.events.join(" "),
                hint: w.secret_hint,
                created: when(w.created_at),
            })
            .collect(),
        notice,
        secret,
        errors,
        url: typed.0,
        events: typed.1,
        catalogue: EVENT_TYPES.join(", "),
    }))
}

async fn list(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    state.iam.require_webhook_admin(&user.principal)?;
    list_page(
        &state,
        &user,
        notice_of(&q),
        None,
        FieldErrors::default(),
        Default::default(),
    )
    .await
}

async fn create(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    let user = &form.user;
    state.iam.require_webhook_admin(&user.principal)?;
    let url = value(&form.fields, "url");
    let events = value(&form.fields, "events");
    let secret = value(&form.fields, "secret");
    let typed = (url.clone(), events.clone());
    let allow_private = state.iam.settings.webhook_allow_private_targets;
    let created = match check_target(&url, allow_private).await {
        Ok(_) => {
            let input = WebhookInput {
                url,
                events: events.split_whitespace().map(str::to_owned).collect(),
                secret: (!secret.is_empty()).then(|| Secret::new(secret)),
            };
            state
                .iam
                .create_webhook(&user.principal, input, &user.meta)
                .await
        }
        Err(error) => Err(error),
    };
    match created {
        Ok(created) => {
            list_page(
                &state,
                user,
                Some("Created.".to_owned()),
                created.secret.map(Secret::into_exposed),
                FieldErrors::default(),
                Default::default(),
            )
            .await
        }
        Err(error) => {
            let errors = FieldErrors::from_core(error, "form", &[])?;
            list_page(&state, user, None, None, errors, typed).await
        }
    }
}

async fn detail(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    let webhook = state.iam.get_webhook(&user.principal, id).await?;
    let deliveries = state.iam.webhook_deliveries(&user.principal, id).await?;
    Ok(render(DetailPage {
        nav: Some(Nav::new(&user, "webhooks")),
        id,
        url: webhook.url,
        events: webhook.events.join(" "),
        hint: webhook.secret_hint,
        created: when(webhook.created_at),
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryRow {
                id: d.id,
                when: match (d.status.as_str(), d.done_at) {
                    (_, Some(done)) => when(done),
                    ("pending", None) => format!("next {}", when(d.next_attempt_at)),
                    _ => String::new(),
                },
                event_type: d.event_type,
                status: d.status,
                attempts: d.attempts,
                http: d.last_status.map(|s| s.to_string()).unwrap_or_default(),
                created: when(d.created_at),
                error: d.last_error.unwrap_or_default(),
            })
            .collect(),
        notice: match q.get("done").map(String::as_str) {
            Some("tested") => {
                Some("A test event is queued; reload to follow its delivery.".to_owned())
            }
            _ => notice_of(&q),
        },
    }))
}

async fn send_test(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .send_test_event(&user.principal, id, &user.meta)
        .await?;
    redirect(&format!("/ui/admin/webhooks/{id}?done=tested"))
}

async fn delete_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let webhook = state.iam.get_webhook(&user.principal, id).await?;
    Ok(render(ConfirmPage {
        nav: Some(Nav::new(&user, "webhooks")),
        title: "Delete this webhook?".to_owned(),
        message: format!(
            "Events are no longer sent to {}, and the deliveries still waiting for it are dropped.",
            webhook.url
        ),
        action: format!("/ui/admin/webhooks/{id}/delete"),
        button: "Delete webhook".to_owned(),
        back: format!("/ui/admin/webhooks/{id}"),
    }))
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .delete_webhook(&user.principal, id, &user.meta)
        .await?;
    redirect("/ui/admin/webhooks?done=deleted")
}
