//! The audit log (`/ui/admin/audit`), as `GET /audit` of the API.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use justiam_core::model::{AuditFilter, Permission};
use uuid::Uuid;

use super::kit::{
    FieldErrors, Nav, Pager, Params, UiError, UiUser, encode, page_of, pager, render, when,
};
use super::users::user_by_email;
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/ui/admin/audit", get(audit))
}

pub struct AuditView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub ip: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "audit/list.html")]
struct AuditPage {
    nav: Option<Nav>,
    entries: Vec<AuditView>,
    action: String,
    actor: String,
    target: String,
    pager: Pager,
    errors: FieldErrors,
}

async fn audit(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    let mut errors = FieldErrors::default();
    let action = q
        .get("action")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let actor = q
        .get("actor")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let target = q
        .get("target")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let mut filter = AuditFilter {
        action: (!action.is_empty()).then(|| action.clone()),
        ..AuditFilter::default()
    };
    if !actor.is_empty() {
        match Uuid::parse_str(&actor) {
            Ok(id) => filter.actor_id = Some(id),
            Err(_) => match user_by_email(&state, &user, &actor).await {
                Ok(Some(id)) => filter.actor_id = Some(id),
                _ => errors.add(
                    "actor",
                    "Enter a user id, or the email of an existing user.",
                ),
            },
        }
    }
    if !target.is_empty() {
        match Uuid::parse_str(&target) {
            Ok(id) => filter.target_id = Some(id),
            Err(_) => errors.add("target", "Enter the id of the target (a UUID)."),
        }
    }
    let page = page_of(&q);
    let (rows, total) = if errors.is_empty() {
        state.iam.list_audit(&user.principal, &filter, page).await?
    } else {
        user.principal.require(Permission::AuditView)?;
        (Vec::new(), 0)
    };
    let base = format!(
        "/ui/admin/audit?action={}&actor={}&target={}&",
        encode(&action),
        encode(&actor),
        encode(&target)
    );
    let entries = rows
        .into_iter()
        .map(|r| AuditView {
            at: when(r.at),
            actor: r
                .actor_email
                .or(r.actor_id)
                .unwrap_or_else(|| "system".to_owned()),
            action: r.action,
            target: match (r.target_type, r.target_id) {
                (Some(t), Some(id)) => format!("{t} {id}"),
                (Some(t), None) => t,
                _ => String::new(),
            },
            ip: r.ip.unwrap_or_default(),
            details: r.details.unwrap_or_default(),
        })
        .collect();
    Ok(render(AuditPage {
        nav: Some(Nav::new(&user, "audit")),
        entries,
        action,
        actor,
        target,
        pager: pager(&base, page, total),
        errors,
    }))
}
