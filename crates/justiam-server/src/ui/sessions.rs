//! Portal sessions (`/ui/admin/sessions`, and all of a user's from their page), as `/sessions` and
//! `/users/{id}/sessions` of the API.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use justiam_core::authz::Credential;
use justiam_core::model::Permission;
use uuid::Uuid;

use super::kit::{
    ConfirmPage, Listing, Nav, Pager, Params, UiError, UiForm, UiUser, notice_of, redirect, render,
    when,
};
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/admin/sessions", get(sessions))
        .route(
            "/ui/admin/sessions/{id}/revoke",
            get(revoke_session_confirm).post(revoke_session),
        )
        .route(
            "/ui/admin/users/{id}/sessions/end",
            get(end_sessions_confirm).post(end_sessions),
        )
}

pub struct SessionView {
    pub id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub created: String,
    pub expires: String,
    pub ip: String,
    pub user_agent: String,
    pub current: bool,
    pub kind: &'static str,
}

#[derive(Template)]
#[template(path = "sessions/list.html")]
struct SessionsPage {
    nav: Option<Nav>,
    sessions: Vec<SessionView>,
    search: String,
    pager: Pager,
    can_revoke: bool,
    notice: Option<String>,
}

async fn sessions(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    let list = Listing::of(&q);
    let (rows, total) = state
        .iam
        .list_sessions(&user.principal, list.search.as_deref(), None, list.page)
        .await?;
    let own = own_session(&user);
    Ok(render(SessionsPage {
        nav: Some(Nav::new(&user, "sessions")),
        sessions: rows
            .into_iter()
            .map(|s| SessionView {
                id: s.session.id,
                user_id: s.session.user_id,
                current: Some(s.session.id) == own,
                email: s.user_email,
                created: when(s.session.created_at),
                expires: when(s.session.expires_at),
                ip: s.session.ip.unwrap_or_default(),
                user_agent: s.session.user_agent.unwrap_or_default(),
                kind: kind_label(s.session.kind),
            })
            .collect(),
        pager: list.pager("/ui/admin/sessions", total),
        search: list.search.unwrap_or_default(),
        can_revoke: user.principal.has(Permission::SessionsRevoke),
        notice: notice_of(&q),
    }))
}

/// The session the viewer is using now.
fn own_session(user: &UiUser) -> Option<Uuid> {
    match user.principal.credential {
        Credential::Jwt { session_id } => Some(session_id),
        _ => None,
    }
}

async fn revoke_session_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let found = state.iam.get_session(&user.principal, id).await?;
    state.iam.check_can_end_session(&user.principal, id).await?;
    let s = &found.session;
    let from = match (s.ip.as_deref(), s.user_agent.as_deref()) {
        (Some(ip), Some(agent)) if !ip.is_empty() && !agent.is_empty() => {
            format!(" from {ip} ({agent})")
        }
        (Some(ip), _) if !ip.is_empty() => format!(" from {ip}"),
        (_, Some(agent)) if !agent.is_empty() => format!(" ({agent})"),
        _ => String::new(),
    };
    let own = if own_session(&user) == Some(id) {
        " This is the session you are using now: you will have to sign in again."
    } else {
        ""
    };
    Ok(render(ConfirmPage {
        nav: Some(Nav::new(&user, "sessions")),
        title: format!("End this session of {}?", found.user_email),
        message: format!(
            "{} signed in on {}{from}. This sign-in stops working at once; their other sessions and their personal access tokens keep working.{own}",
            found.user_email,
            when(s.created_at),
        ),
        action: format!("/ui/admin/sessions/{id}/revoke"),
        button: "End session".to_owned(),
        back: "/ui/admin/sessions".to_owned(),
    }))
}

async fn revoke_session(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .revoke_session(&user.principal, id, &user.meta)
        .await?;
    redirect("/ui/admin/sessions?done=ended&count=1")
}

/// `?back=sessions` returns to the Sessions page instead of the user's page.
fn back_to_sessions(q: &HashMap<String, String>) -> bool {
    q.get("back").map(String::as_str) == Some("sessions")
}

async fn end_sessions_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    let target = state.iam.get_user(&user.principal, id).await?;
    state
        .iam
        .check_can_end_sessions_of(&user.principal, id)
        .await?;
    let own = if target.id == user.principal.id() {
        " This includes the session you are using now: you will have to sign in again."
    } else {
        ""
    };
    let (action, back) = if back_to_sessions(&q) {
        (
            format!("/ui/admin/users/{id}/sessions/end?back=sessions"),
            "/ui/admin/sessions".to_owned(),
        )
    } else {
        (
            format!("/ui/admin/users/{id}/sessions/end"),
            format!("/ui/admin/users/{id}"),
        )
    };
    Ok(render(ConfirmPage {
        nav: Some(Nav::new(&user, "users")),
        title: format!("End all sessions of {}?", target.email),
        message: format!(
            "Everywhere {} is signed in (the web UI and portal logins) is signed out at once. Their personal access tokens keep working.{own}",
            target.email
        ),
        action,
        button: "End all sessions".to_owned(),
        back,
    }))
}

async fn end_sessions(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(q): Params,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    let ended = state
        .iam
        .revoke_user_sessions(&user.principal, id, &user.meta)
        .await?;
    let to = if back_to_sessions(&q) {
        format!("/ui/admin/sessions?done=ended&count={ended}")
    } else {
        format!("/ui/admin/users/{id}?done=ended&count={ended}")
    };
    redirect(&to)
}

/// How a session kind reads in the list.
fn kind_label(kind: &str) -> &'static str {
    match kind {
        "sso" => "Applications (SSO)",
        _ => "Portal",
    }
}
