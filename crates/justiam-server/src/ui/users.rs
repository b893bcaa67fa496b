//! Users and service accounts (`/ui/admin/users`, `/ui/admin/users/{id}`), as `/users` of the API.
//! Their tokens are in [`super::tokens`], their sessions in [`super::sessions`] and their roles in
//! [`super::roles`], where the API has them.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use justiam_core::model::{PageRequest, Permission, User};
use justiam_core::service::NewUser;
use justiam_types::{CreateUser, UpdateUser};
use uuid::Uuid;

use super::kit::{
    ConfirmPage, FieldErrors, Listing, Nav, Pager, Params, UiError, UiForm, UiUser, bad_request,
    encode, notice_of, redirect, render, value, when,
};
use super::roles::{RoleView, role_view};
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/admin/users", get(users).post(create_user))
        .route("/ui/admin/users/{id}", get(user).post(update_user))
        .route(
            "/ui/admin/users/{id}/delete",
            get(delete_user_confirm).post(delete_user),
        )
        .route(
            "/ui/admin/users/{id}/mfa/reset",
            get(reset_mfa_confirm).post(reset_mfa),
        )
}

pub(super) fn no_user_with(email: &str) -> String {
    format!("There is no user with the email “{email}”.")
}

pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub kind: &'static str,
    pub active: bool,
    pub is_admin: bool,
    pub is_service_account: bool,
    pub created: String,
}

impl UserView {
    pub fn of(u: &User) -> UserView {
        UserView {
            id: u.id,
            email: u.email.clone(),
            name: format!("{} {}", u.first_name, u.last_name)
                .trim()
                .to_owned(),
            kind: if u.is_service_account {
                "service account"
            } else if u.is_admin {
                "administrator"
            } else {
                "user"
            },
            active: u.is_active,
            is_admin: u.is_admin,
            is_service_account: u.is_service_account,
            created: when(u.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct UsersPage {
    nav: Option<Nav>,
    users: Vec<UserView>,
    search: String,
    pager: Pager,
    can_create: bool,
    can_admin: bool,
    form: HashMap<String, String>,
    errors: FieldErrors,
    notice: Option<String>,
}

impl UsersPage {
    fn value(&self, field: &str) -> &str {
        self.form.get(field).map(String::as_str).unwrap_or_default()
    }
}

async fn users_page(
    state: &AppState,
    user: &UiUser,
    q: &HashMap<String, String>,
) -> Result<UsersPage, UiError> {
    let list = Listing::of(q);
    let (rows, total) = state
        .iam
        .list_users(&user.principal, list.search.as_deref(), list.page)
        .await?;
    Ok(UsersPage {
        nav: Some(Nav::new(user, "users")),
        users: rows.iter().map(UserView::of).collect(),
        pager: list.pager("/ui/admin/users", total),
        search: list.search.unwrap_or_default(),
        can_create: user.principal.has(Permission::UsersCreate),
        can_admin: user.principal.is_admin(),
        form: HashMap::new(),
        errors: FieldErrors::default(),
        notice: notice_of(q),
    })
}

async fn users(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(users_page(&state, &user, &q).await?))
}

async fn create_user(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    let f = &form.fields;
    let user = &form.user;
    let is_sa = f.get("kind") == Some("service_account");
    let input = CreateUser {
        email: value(f, "email"),
        first_name: f.get("first_name").map(str::to_owned),
        last_name: f.get("last_name").map(str::to_owned),
        password: (!is_sa && !f.raw("password").is_empty()).then(|| f.raw("password").to_owned()),
        is_active: Some(true),
        is_admin: Some(!is_sa && f.checked("is_admin")),
        is_service_account: Some(is_sa),
    };
    let result = match NewUser::parse(input) {
        Ok(new) => {
            state
                .iam
                .create_user(&user.principal, new, &user.meta)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(created) if created.is_service_account => redirect(&format!(
            "/ui/admin/users/{}/tokens?done=created",
            created.id
        )),
        Ok(created) => redirect(&format!("/ui/admin/users/{}?done=created", created.id)),
        Err(e) => {
            let errors = FieldErrors::from_core(e, "email", &[])?;
            let mut page = users_page(&state, user, &HashMap::new()).await?;
            page.errors = errors;
            for key in ["email", "first_name", "last_name", "kind"] {
                page.form.insert(key.to_owned(), value(f, key));
            }
            bad_request(page)
        }
    }
}

pub struct HeldRoleView {
    pub id: Uuid,
    pub name: String,
    pub via: Option<String>,
}

#[derive(Template)]
#[template(path = "users/user.html")]
struct UserPage {
    nav: Option<Nav>,
    user: UserView,
    /// Whether the user has an authenticator app (`None`: a service account, which signs in never).
    mfa: Option<bool>,
    /// `users.update`: may reset the user's second factor.
    can_reset_mfa: bool,
    first_name: String,
    last_name: String,
    roles: Option<Vec<HeldRoleView>>,
    can_update: bool,
    can_delete: bool,
    can_tokens: bool,
    can_admin: bool,
    can_roles: bool,
    /// Roles the viewer may assign to this user (with `admin_roles.manage`): not held directly yet,
    /// and granting nothing the viewer lacks.
    assignable: Vec<RoleView>,
    /// How many other roles are left out of `assignable` because the viewer lacks one of their
    /// permissions.
    ungrantable: usize,
    /// The role chosen in the assign form (kept after an error).
    chosen_role: Option<Uuid>,
    /// The number of live sessions, with `sessions.view` (a service account has none).
    sessions: Option<u64>,
    /// The groups they are a member of (id and name), with `groups.view`.
    groups: Option<Vec<(Uuid, String)>>,
    can_end_sessions: bool,
    errors: FieldErrors,
    notice: Option<String>,
}

impl UserPage {
    /// The user's email as the Sessions page's search.
    fn sessions_search(&self) -> String {
        encode(&self.user.email)
    }

    fn is_chosen_role(&self, id: &Uuid) -> bool {
        self.chosen_role.as_ref() == Some(id)
    }
}

async fn user_page(
    state: &AppState,
    user: &UiUser,
    id: Uuid,
    notice: Option<String>,
) -> Result<UserPage, UiError> {
    let p = &user.principal;
    let target = state.iam.get_user(p, id).await?;
    let roles = match state.iam.roles_of_user(p, id).await {
        Ok(held) => Some(
            held.into_iter()
                .map(|h| HeldRoleView {
                    id: h.role.id,
                    name: h.role.name,
                    via: h.via_group.map(|(_, name)| name),
                })
                .collect(),
        ),
        Err(_) => None,
    };
    let can_roles = p.has(Permission::AdminRolesManage);
    let mut assignable = Vec::new();
    let mut ungrantable = 0;
    if can_roles {
        let all = PageRequest {
            page: 1,
            limit: PageRequest::MAX_LIMIT,
        };
        let (rows, _) = state.iam.list_roles(p, None, all).await?;
        let held: &[HeldRoleView] = roles.as_deref().unwrap_or_default();
        for r in rows {
            if held.iter().any(|h| h.id == r.id && h.via.is_none()) {
                continue;
            }
            // The service refuses to assign a role granting a permission the caller lacks.
            if p.require_can_grant(r.permissions).is_ok() {
                assignable.push(role_view(r));
            } else {
                ungrantable += 1;
            }
        }
    }
    let one = PageRequest { page: 1, limit: 1 };
    // A service account cannot sign in: it has no sessions to show.
    let sessions = match state.iam.list_sessions(p, None, Some(id), one).await {
        Ok((_, total)) if !target.is_service_account => Some(total),
        _ => None,
    };
    let groups = match state.iam.groups_of_user(p, id).await {
        Ok(found) => Some(found.into_iter().map(|g| (g.id, g.name)).collect()),
        Err(_) => None,
    };
    let mfa = if target.is_service_account {
        None
    } else {
        Some(state.iam.user_mfa(p, id).await?.totp_enrolled)
    };
    Ok(UserPage {
        nav: Some(Nav::new(user, "users")),
        mfa,
        can_reset_mfa: p.has(Permission::UsersUpdate),
        user: UserView::of(&target),
        first_name: target.first_name.clone(),
        last_name: target.last_name.clone(),
        roles,
        can_update: p.has(Permission::UsersUpdate),
        can_delete: p.has(Permission::UsersDelete),
        can_tokens: p.has(Permission::ServiceAccountsTokens),
        can_admin: p.is_admin(),
        can_roles,
        assignable,
        ungrantable,
        chosen_role: None,
        sessions,
        groups,
        can_end_sessions: p.has(Permission::SessionsRevoke) && !target.is_service_account,
        errors: FieldErrors::default(),
        notice,
    })
}

async fn user(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(user_page(&state, &user, id, notice_of(&q)).await?))
}

async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let f = &form.fields;
    let user = &form.user;
    let input = match f.get("action") {
        Some("deactivate") => UpdateUser {
            is_active: Some(false),
            ..UpdateUser::default()
        },
        Some("activate") => UpdateUser {
            is_active: Some(true),
            ..UpdateUser::default()
        },
        _ => UpdateUser {
            email: f.get("email").map(str::to_owned),
            first_name: Some(value(f, "first_name")),
            last_name: Some(value(f, "last_name")),
            is_admin: user.principal.is_admin().then(|| f.checked("is_admin")),
            ..UpdateUser::default()
        },
    };
    match state
        .iam
        .update_user(&user.principal, id, input, &user.meta)
        .await
    {
        Ok(_) => redirect(&format!("/ui/admin/users/{id}?done=saved")),
        Err(e) => {
            let errors = FieldErrors::from_core(e, "email", &[])?;
            let mut page = user_page(&state, user, id, None).await?;
            page.errors = errors;
            bad_request(page)
        }
    }
}

/// Assigns an admin role to the user from their page (the same service call as the role page and
/// `POST /users/{id}/admin-roles`, with its anti-escalation check).
async fn delete_user_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let target = state.iam.get_user(&user.principal, id).await?;
    state.iam.check_can_delete_user(&user.principal, id).await?;
    Ok(render(ConfirmPage {
        nav: Some(Nav::new(&user, "users")),
        title: format!("Delete {}?", target.email),
        message: "The account, its sessions and its tokens are deleted. This cannot be undone; deactivating keeps the history.".to_owned(),
        action: format!("/ui/admin/users/{id}/delete"),
        button: "Delete".to_owned(),
        back: format!("/ui/admin/users/{id}"),
    }))
}

async fn delete_user(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .delete_user(&user.principal, id, &user.meta)
        .await?;
    redirect("/ui/admin/users?done=deleted")
}

async fn reset_mfa_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let target = state.iam.get_user(&user.principal, id).await?;
    Ok(render(ConfirmPage {
        nav: Some(Nav::new(&user, "users")),
        title: format!("Reset the second factor of {}?", target.email),
        message: "Their authenticator app and recovery codes stop working. They sign in with the password alone until they set up a new one (at once, when the server requires it). Do this only after making sure who asked.".to_owned(),
        action: format!("/ui/admin/users/{id}/mfa/reset"),
        button: "Reset MFA".to_owned(),
        back: format!("/ui/admin/users/{id}"),
    }))
}

async fn reset_mfa(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .reset_user_mfa(&user.principal, id, &user.meta)
        .await?;
    redirect(&format!("/ui/admin/users/{id}?done=mfa_reset"))
}

/// The user's page again with a refusal of one of its role forms (`chosen` kept selected): 400.
pub(super) async fn refused_on_user_page(
    state: &AppState,
    user: &UiUser,
    id: Uuid,
    errors: FieldErrors,
    chosen: Option<Uuid>,
) -> Result<Response, UiError> {
    let mut page = user_page(state, user, id, None).await?;
    page.errors = errors;
    page.chosen_role = chosen;
    bad_request(page)
}

/// Finds a user by exact email through the (permission-checked) user list.
pub(super) async fn user_by_email(
    state: &AppState,
    user: &UiUser,
    email: &str,
) -> Result<Option<Uuid>, UiError> {
    let (rows, _) = state
        .iam
        .list_users(&user.principal, Some(email), PageRequest::default())
        .await?;
    Ok(rows
        .into_iter()
        .find(|u| u.email.eq_ignore_ascii_case(email))
        .map(|u| u.id))
}
