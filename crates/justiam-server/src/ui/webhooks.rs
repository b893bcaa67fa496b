//! Administration → Webhooks (`/ui/admin/webhooks`, `is_admin` only), as `/webhooks` of the API:
//! the list with a creation form (the generated secret shown once), a webhook's page with its
//! delivery log and the "Send test event" button, its edit form (the creation form's fields, the
//! secret kept unless a new one is typed), and deletion after a confirmation.

use std::future::Future;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use justiam_core::error::{CoreError, CoreResult};
use justiam_core::model::{EVENT_TYPES, PageRequest};
use justiam_core::secret::Secret;
use justiam_core::service::webhooks::WebhookInput;
use uuid::Uuid;

use super::kit::{
    ConfirmPage, FieldErrors, Nav, Pager, Params, UiError, UiForm, UiUser, notice_of, page_of,
    pager, redirect, render, value, when,
};
use crate::app::AppState;
use crate::webhook::check_target;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/admin/webhooks", get(list).post(create))
        .route("/ui/admin/webhooks/{id}", get(detail))
        .route("/ui/admin/webhooks/{id}/edit", get(edit_form).post(edit))
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
    pager: Pager,
    notice: Option<String>,
    secret: Option<String>,
    form: WebhookForm,
}

/// The URL, events and secret fields of the creation and the edit forms
/// (`webhooks/_fields.html`): what was typed, and the refusals beside the fields.
struct WebhookForm {
    url: String,
    events: String,
    errors: FieldErrors,
    catalogue: String,
    secret_label: &'static str,
}

const NEW_SECRET: &str = "Secret (leave empty to generate one)";
const KEPT_SECRET: &str = "New secret (leave empty to keep the current secret)";

impl WebhookForm {
    fn new(url: String, events: String, secret_label: &'static str) -> Self {
        WebhookForm {
            url,
            events,
            errors: FieldErrors::default(),
            catalogue: EVENT_TYPES.join(", "),
            secret_label,
        }
    }
}

/// Reads the submitted fields, checks the target as the API does, and hands the input to `save`
/// (`Iam::create_webhook` or `Iam::update_webhook`, which audit). A refusal comes back as the form,
/// with the error beside its field and what was typed kept.
async fn submit<T, F, Fut>(
    state: &AppState,
    form: &UiForm,
    secret_label: &'static str,
    save: F,
) -> Result<Result<T, WebhookForm>, UiError>
where
    F: FnOnce(WebhookInput) -> Fut,
    Fut: Future<Output = CoreResult<T>>,
{
    let url = value(&form.fields, "url");
    let events = value(&form.fields, "events");
    let secret = value(&form.fields, "secret");
    let allow_private = state.iam.settings.webhook_allow_private_targets;
    let saved = match check_target(&url, allow_private).await {
        Ok(_) => {
            save(WebhookInput {
                url: url.clone(),
                events: events.split_whitespace().map(str::to_owned).collect(),
                secret: (!secret.is_empty()).then(|| Secret::new(secret)),
            })
            .await
        }
        // A refused target is shown beside the URL, as the form's other refusals.
        Err(CoreError::Conflict { message, .. }) => Err(CoreError::validation("url", message)),
        Err(error) => Err(error),
    };
    match saved {
        Ok(saved) => Ok(Ok(saved)),
        Err(error) => {
            let mut typed = WebhookForm::new(url, events, secret_label);
            typed.errors = FieldErrors::from_core(error, "form", &[])?;
            Ok(Err(typed))
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks/edit.html")]
struct EditPage {
    nav: Option<Nav>,
    id: Uuid,
    form: WebhookForm,
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
    pager: Pager,
    notice: Option<String>,
}

/// The list (the page `page`), with the creation form as typed and the notice or secret of what
/// was just done.
async fn list_page(
    state: &AppState,
    user: &UiUser,
    page: PageRequest,
    notice: Option<String>,
    secret: Option<String>,
    form: WebhookForm,
) -> Result<Response, UiError> {
    let (webhooks, total) = state.iam.list_webhooks(&user.principal, None, page).await?;
    Ok(render(ListPage {
        nav: Some(Nav::new(user, "webhooks")),
        pager: pager("/ui/admin/webhooks?", page, total),
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
        form,
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
        page_of(&q),
        notice_of(&q),
        None,
        WebhookForm::new(String::new(), String::new(), NEW_SECRET),
    )
    .await
}

async fn create(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    let user = &form.user;
    state.iam.require_webhook_admin(&user.principal)?;
    let saved = submit(&state, &form, NEW_SECRET, |input| {
        state.iam.create_webhook(&user.principal, input, &user.meta)
    })
    .await?;
    match saved {
        Ok(created) => {
            list_page(
                &state,
                user,
                PageRequest::default(),
                Some("Created.".to_owned()),
                created.secret.map(Secret::into_exposed),
                WebhookForm::new(String::new(), String::new(), NEW_SECRET),
            )
            .await
        }
        Err(typed) => list_page(&state, user, PageRequest::default(), None, None, typed).await,
    }
}

async fn edit_form(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let webhook = state.iam.get_webhook(&user.principal, id).await?;
    Ok(render(EditPage {
        nav: Some(Nav::new(&user, "webhooks")),
        id,
        form: WebhookForm::new(webhook.url, webhook.events.join(" "), KEPT_SECRET),
    }))
}

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    // 404 for a webhook that is not there, before anything typed is judged.
    state.iam.get_webhook(&user.principal, id).await?;
    let saved = submit(&state, &form, KEPT_SECRET, |input| {
        state
            .iam
            .update_webhook(&user.principal, id, input, &user.meta)
    })
    .await?;
    match saved {
        Ok(_) => redirect(&format!("/ui/admin/webhooks/{id}?done=saved")),
        Err(typed) => Ok(render(EditPage {
            nav: Some(Nav::new(user, "webhooks")),
            id,
            form: typed,
        })),
    }
}

async fn detail(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    let webhook = state.iam.get_webhook(&user.principal, id).await?;
    let page = page_of(&q);
    let (deliveries, total) = state
        .iam
        .webhook_deliveries(&user.principal, id, None, page)
        .await?;
    Ok(render(DetailPage {
        nav: Some(Nav::new(&user, "webhooks")),
        pager: pager(&format!("/ui/admin/webhooks/{id}?"), page, total),
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
