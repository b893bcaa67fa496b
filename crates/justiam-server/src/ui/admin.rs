//! Administration: users and service accounts (and their tokens), groups, admin roles, the audit
//! log and sessions. Every handler calls the same `Iam` method as the API, which checks the
//! permission; the navigation only hides what the user may not use.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use justiam_core::model::{
    AuditFilter, Group, PageRequest, Permission, RoleHolder, TokenInventoryFilter, User,
};
use justiam_core::service::{NewUser, TokenOwner};
use justiam_types::{
    CreateAdminRole, CreateGroup, CreateUser, UpdateAdminRole, UpdateGroup, UpdateUser,
};
use uuid::Uuid;

use super::pages::{
    ConfirmPage, RotatePage, TokenForm, TokenView, bad_request, find_token, page_of, pager,
    read_token_form, redirect, rotate_with_form, show_once, token_form, value,
};
use super::session::{UiForm, UiUser};
use super::view::{self, FieldErrors, Nav, Pager, UiError, render, when};
use crate::app::AppState;

type Params = Query<HashMap<String, String>>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/admin", get(overview))
        .route("/ui/admin/users", get(users).post(create_user))
        .route("/ui/admin/users/{id}", get(user).post(update_user))
        .route(
            "/ui/admin/users/{id}/delete",
            get(delete_user_confirm).post(delete_user),
        )
        .route(
            "/ui/admin/users/{id}/tokens",
            get(sa_tokens).post(create_sa_token),
        )
        .route(
            "/ui/admin/users/{id}/tokens/{token}/revoke",
            get(revoke_sa_token_confirm).post(revoke_sa_token),
        )
        .route(
            "/ui/admin/users/{id}/tokens/{token}/rotate",
            get(rotate_sa_token_form).post(rotate_sa_token),
        )
        .route(
            "/ui/admin/users/{id}/sessions/end",
            get(end_sessions_confirm).post(end_sessions),
        )
        .route("/ui/admin/users/{id}/roles", post(user_role))
        .route("/ui/admin/groups", get(groups).post(create_group))
        .route("/ui/admin/groups/{id}", get(group).post(update_group))
        .route("/ui/admin/groups/{id}/members", post(add_member))
        .route(
            "/ui/admin/groups/{id}/members/{user}/remove",
            post(remove_member),
        )
        .route("/ui/admin/groups/{id}/roles", post(group_role))
        .route(
            "/ui/admin/groups/{id}/delete",
            get(delete_group_confirm).post(delete_group),
        )
        .route("/ui/admin/roles", get(roles).post(create_role))
        .route("/ui/admin/roles/{id}", get(role).post(update_role))
        .route(
            "/ui/admin/roles/{id}/delete",
            get(delete_role_confirm).post(delete_role),
        )
        .route("/ui/admin/roles/{id}/assignments", post(assign_role))
        .route("/ui/admin/audit", get(audit))
        .route("/ui/admin/sessions", get(sessions))
        .route(
            "/ui/admin/sessions/{id}/revoke",
            get(revoke_session_confirm).post(revoke_session),
        )
        .route("/ui/admin/tokens", get(inventory))
        .route(
            "/ui/admin/tokens/{id}/revoke",
            get(revoke_any_token_confirm).post(revoke_any_token),
        )
}

/// What the query of a searchable list asks for: the page and the search.
struct Listing {
    page: PageRequest,
    search: Option<String>,
}

impl Listing {
    fn of(q: &HashMap<String, String>) -> Listing {
        Listing {
            page: page_of(q),
            search: q
                .get("search")
                .map(|s| s.trim().chars().take(200).collect::<String>())
                .filter(|s| !s.is_empty()),
        }
    }

    /// The pager of the list at `path`, keeping the search.
    fn pager(&self, path: &str, total: u64) -> Pager {
        let base = match &self.search {
            Some(s) => format!("{path}?search={}&", view::encode(s)),
            None => format!("{path}?"),
        };
        pager(&base, self.page, total)
    }
}

/// Field errors of one message.
fn field_error(field: &str, message: impl Into<String>) -> FieldErrors {
    let mut errors = FieldErrors::default();
    errors.add(field, message);
    errors
}

fn no_user_with(email: &str) -> String {
    format!("There is no user with the email “{email}”.")
}

fn notice_of(q: &HashMap<String, String>) -> Option<String> {
    q.get("done").map(|d| {
        if d == "ended" {
            let count = q
                .get("count")
                .and_then(|c| c.parse::<u64>().ok())
                .unwrap_or(0);
            return match count {
                0 => "There was no session to end.".to_owned(),
                1 => "1 session ended. Its sign-in stops working at once.".to_owned(),
                n => format!("{n} sessions ended. Their sign-ins stop working at once."),
            };
        }
        match d.as_str() {
            "created" => "Created.",
            "saved" => "Saved.",
            "deleted" => "Deleted.",
            "revoked" => "Revoked.",
            "added" => "Added.",
            "removed" => "Removed.",
            "assigned" => "The role was assigned.",
            "unassigned" => "The role assignment was removed.",
            _ => "Done.",
        }
        .to_owned()
    })
}

// ---------------------------------------------------------------- overview

pub async fn overview(user: UiUser) -> Result<Response, UiError> {
    let nav = Nav::new(&user, "admin");
    let first = [
        (nav.users, "/ui/admin/users"),
        (nav.groups, "/ui/admin/groups"),
        (nav.roles, "/ui/admin/roles"),
        (nav.audit, "/ui/admin/audit"),
        (nav.sessions, "/ui/admin/sessions"),
    ]
    .into_iter()
    .find(|(may, _)| *may);
    match first {
        Some((_, to)) => redirect(to),
        None => Err(justiam_core::CoreError::MissingPermission(Permission::UsersView).into()),
    }
}

// ---------------------------------------------------------------- users

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
    fn of(u: &User) -> UserView {
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
#[template(path = "admin_users.html")]
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

pub async fn users(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(users_page(&state, &user, &q).await?))
}

pub async fn create_user(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
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
#[template(path = "admin_user.html")]
struct UserPage {
    nav: Option<Nav>,
    user: UserView,
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
    /// The number of live sessions, with `sessions.view`.
    sessions: Option<u64>,
    can_end_sessions: bool,
    errors: FieldErrors,
    notice: Option<String>,
}

impl UserPage {
    /// The user's email as the Sessions page's search.
    fn sessions_search(&self) -> String {
        view::encode(&self.user.email)
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
    let sessions = match state.iam.list_sessions(p, None, Some(id), one).await {
        Ok((_, total)) => Some(total),
        Err(_) => None,
    };
    Ok(UserPage {
        nav: Some(Nav::new(user, "users")),
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
        can_end_sessions: p.has(Permission::SessionsRevoke) && !target.is_service_account,
        errors: FieldErrors::default(),
        notice,
    })
}

pub async fn user(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(user_page(&state, &user, id, notice_of(&q)).await?))
}

pub async fn update_user(
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
pub async fn user_role(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    let chosen = form
        .fields
        .get("role_id")
        .and_then(|r| Uuid::parse_str(r).ok());
    let errors = match chosen {
        Some(role) => match state
            .iam
            .set_role_assignment(
                &user.principal,
                RoleHolder::User(id),
                role,
                true,
                &user.meta,
            )
            .await
        {
            Ok(()) => return redirect(&format!("/ui/admin/users/{id}?done=assigned")),
            Err(e) => FieldErrors::from_core(e, "role", &[("role_id", "role")])?,
        },
        None => field_error("role", "Choose a role."),
    };
    let mut page = user_page(&state, user, id, None).await?;
    page.errors = errors;
    page.chosen_role = chosen;
    bad_request(page)
}

pub async fn delete_user_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let target = state.iam.get_user(&user.principal, id).await?;
    user.principal.require(Permission::UsersDelete)?;
    Ok(render(ConfirmPage {
        nav: Some(Nav::new(&user, "users")),
        title: format!("Delete {}?", target.email),
        message: "The account, its sessions and its tokens are deleted. This cannot be undone; deactivating keeps the history.".to_owned(),
        action: format!("/ui/admin/users/{id}/delete"),
        button: "Delete".to_owned(),
        back: format!("/ui/admin/users/{id}"),
    }))
}

pub async fn delete_user(
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

/// `?back=sessions` returns to the Sessions page instead of the user's page.
fn back_to_sessions(q: &HashMap<String, String>) -> bool {
    q.get("back").map(String::as_str) == Some("sessions")
}

pub async fn end_sessions_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    let target = state.iam.get_user(&user.principal, id).await?;
    user.principal.require(Permission::SessionsRevoke)?;
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

pub async fn end_sessions(
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

// ---------------------------------------------------------------- service account tokens

#[derive(Template)]
#[template(path = "admin_sa_tokens.html")]
struct SaTokensPage {
    nav: Option<Nav>,
    account: UserView,
    tokens: Vec<TokenView>,
    token_base: String,
    pager: Pager,
    form: TokenForm,
    notice: Option<String>,
}

async fn sa_tokens_page(
    state: &AppState,
    user: &UiUser,
    id: Uuid,
    q: &HashMap<String, String>,
) -> Result<SaTokensPage, UiError> {
    let p = &user.principal;
    let page = page_of(q);
    let (rows, total) = state
        .iam
        .list_tokens(p, TokenOwner::ServiceAccount(id), None, page)
        .await?;
    let account = state.iam.get_user(p, id).await.ok();
    let account = match account {
        Some(a) => a,
        None => return Err(UiError::not_found()),
    };
    let form = token_form(
        &user.csrf,
        format!("/ui/admin/users/{id}/tokens"),
        format!("/ui/admin/users/{id}/tokens"),
        account.email.clone(),
        p.permissions,
    );
    Ok(SaTokensPage {
        nav: Some(Nav::new(user, "users")),
        account: UserView::of(&account),
        tokens: rows.iter().map(TokenView::of).collect(),
        token_base: format!("/ui/admin/users/{id}/tokens"),
        pager: pager(&format!("/ui/admin/users/{id}/tokens?"), page, total),
        form,
        notice: notice_of(q),
    })
}

pub async fn sa_tokens(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(sa_tokens_page(&state, &user, id, &q).await?))
}

pub async fn create_sa_token(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    let mut page = sa_tokens_page(&state, user, id, &HashMap::new()).await?;
    let Some(input) = read_token_form(&form.fields, &mut page.form) else {
        return bad_request(page);
    };
    match state
        .iam
        .create_token(
            &user.principal,
            TokenOwner::ServiceAccount(id),
            input,
            &user.meta,
        )
        .await
    {
        Ok(issued) => Ok(show_once(
            &state,
            issued.value.expose(),
            &issued.record.name,
            &id.to_string(),
        )),
        Err(e) => {
            page.form.errors = FieldErrors::from_core(e, "name", &[])?;
            bad_request(page)
        }
    }
}

pub async fn revoke_sa_token(
    State(state): State<AppState>,
    Path((id, token)): Path<(Uuid, Uuid)>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .revoke_token(
            &user.principal,
            TokenOwner::ServiceAccount(id),
            token,
            &user.meta,
        )
        .await?;
    redirect(&format!("/ui/admin/users/{id}/tokens?done=revoked"))
}

pub async fn revoke_sa_token_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path((id, token)): Path<(Uuid, Uuid)>,
) -> Result<Response, UiError> {
    let t = find_token(&state, &user, TokenOwner::ServiceAccount(id), token).await?;
    Ok(render(ConfirmPage::revoke_token(
        Nav::new(&user, "users"),
        &t,
        format!("/ui/admin/users/{id}/tokens/{token}/revoke"),
        format!("/ui/admin/users/{id}/tokens"),
    )))
}

async fn sa_rotate_page(
    state: &AppState,
    user: &UiUser,
    id: Uuid,
    token: Uuid,
) -> Result<RotatePage, UiError> {
    let t = find_token(state, user, TokenOwner::ServiceAccount(id), token).await?;
    let account = state.iam.get_user(&user.principal, id).await?;
    Ok(RotatePage::new(
        Nav::new(user, "users"),
        &t,
        format!("/ui/admin/users/{id}/tokens/{token}/rotate"),
        format!("/ui/admin/users/{id}/tokens"),
        format!("Tokens of {}", account.email),
    ))
}

pub async fn rotate_sa_token_form(
    State(state): State<AppState>,
    user: UiUser,
    Path((id, token)): Path<(Uuid, Uuid)>,
) -> Result<Response, UiError> {
    Ok(render(sa_rotate_page(&state, &user, id, token).await?))
}

pub async fn rotate_sa_token(
    State(state): State<AppState>,
    Path((id, token)): Path<(Uuid, Uuid)>,
    form: UiForm,
) -> Result<Response, UiError> {
    let page = sa_rotate_page(&state, &form.user, id, token).await?;
    rotate_with_form(
        &state,
        &form,
        TokenOwner::ServiceAccount(id),
        token,
        page,
        &id.to_string(),
    )
    .await
}

// ---------------------------------------------------------------- the token inventory

/// One token of the inventory with its owner.
pub struct InventoryRow {
    pub token: TokenView,
    pub owner_id: Uuid,
    pub owner: String,
    pub owner_is_service_account: bool,
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct InventoryPage {
    nav: Option<Nav>,
    items: Vec<InventoryRow>,
    /// An administrator sees every owner's tokens; others the service accounts'.
    every_owner: bool,
    search: String,
    /// `""` (every state), or one of `states`.
    state: String,
    states: [&'static str; 3],
    pager: Pager,
    notice: Option<String>,
}

impl InventoryPage {
    fn is_state(&self, state: &str) -> bool {
        self.state == state
    }
}

const TOKEN_STATES: [&str; 3] = ["active", "expired", "revoked"];

/// The inventory, as `GET /api/v1/tokens`: tokens in every state, or in one.
pub async fn inventory(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    let list = Listing::of(&q);
    let token_state = q
        .get("state")
        .filter(|s| TOKEN_STATES.contains(&s.as_str()))
        .cloned();
    let filter = TokenInventoryFilter {
        state: token_state.clone(),
        search: list.search.clone(),
        ..TokenInventoryFilter::default()
    };
    let (rows, total) = state
        .iam
        .token_inventory(&user.principal, filter, list.page)
        .await?;
    let search = list.search.unwrap_or_default();
    let token_state = token_state.unwrap_or_default();
    let base = format!(
        "/ui/admin/tokens?search={}&state={}&",
        view::encode(&search),
        view::encode(&token_state)
    );
    Ok(render(InventoryPage {
        nav: Some(Nav::new(&user, "inventory")),
        items: rows
            .iter()
            .map(|item| InventoryRow {
                token: TokenView::of(&item.token),
                owner_id: item.owner.id,
                owner: item.owner.email.clone(),
                owner_is_service_account: item.owner.is_service_account,
            })
            .collect(),
        every_owner: user.principal.is_admin(),
        search,
        state: token_state,
        states: TOKEN_STATES,
        pager: pager(&base, list.page, total),
        notice: notice_of(&q),
    }))
}

pub async fn revoke_any_token_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let found = state.iam.overseen_token(&user.principal, id).await?;
    let mut page = ConfirmPage::revoke_token(
        Nav::new(&user, "inventory"),
        &found.token,
        format!("/ui/admin/tokens/{id}/revoke"),
        "/ui/admin/tokens".to_owned(),
    );
    page.title = format!(
        "Revoke the token “{}” of {}?",
        found.token.name, found.owner.email
    );
    Ok(render(page))
}

pub async fn revoke_any_token(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .revoke_any_token(&user.principal, id, &user.meta)
        .await?;
    redirect("/ui/admin/tokens?done=revoked")
}

// ---------------------------------------------------------------- groups

pub struct GroupView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub members: i64,
}

impl GroupView {
    fn of(g: Group) -> GroupView {
        GroupView {
            id: g.id,
            name: g.name,
            description: g.description,
            members: g.member_count,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_groups.html")]
struct GroupsPage {
    nav: Option<Nav>,
    groups: Vec<GroupView>,
    search: String,
    pager: Pager,
    can_create: bool,
    name: String,
    errors: FieldErrors,
    notice: Option<String>,
}

async fn groups_page(
    state: &AppState,
    user: &UiUser,
    q: &HashMap<String, String>,
) -> Result<GroupsPage, UiError> {
    let list = Listing::of(q);
    let (rows, total) = state
        .iam
        .list_groups(&user.principal, list.search.as_deref(), list.page)
        .await?;
    Ok(GroupsPage {
        nav: Some(Nav::new(user, "groups")),
        groups: rows.into_iter().map(GroupView::of).collect(),
        pager: list.pager("/ui/admin/groups", total),
        search: list.search.unwrap_or_default(),
        can_create: user.principal.has(Permission::GroupsCreate),
        name: String::new(),
        errors: FieldErrors::default(),
        notice: notice_of(q),
    })
}

pub async fn groups(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(groups_page(&state, &user, &q).await?))
}

pub async fn create_group(
    State(state): State<AppState>,
    form: UiForm,
) -> Result<Response, UiError> {
    let f = &form.fields;
    let user = &form.user;
    let input = CreateGroup {
        name: value(f, "name"),
        description: f.get("description").map(str::to_owned),
    };
    match state
        .iam
        .create_group(&user.principal, input, &user.meta)
        .await
    {
        Ok(g) => redirect(&format!("/ui/admin/groups/{}?done=created", g.id)),
        Err(e) => {
            let errors = FieldErrors::from_core(e, "name", &[])?;
            let mut page = groups_page(&state, user, &HashMap::new()).await?;
            page.errors = errors;
            page.name = value(f, "name");
            bad_request(page)
        }
    }
}

#[derive(Template)]
#[template(path = "admin_group.html")]
struct GroupPage {
    nav: Option<Nav>,
    group: GroupView,
    members: Vec<UserView>,
    pager: Pager,
    can_members: bool,
    can_update: bool,
    can_delete: bool,
    /// The edit form's values (what was typed, after an error).
    edit_name: String,
    edit_description: String,
    /// The group's admin roles, with `groups.viewaccess` or `admin_roles.manage`.
    roles: Option<Vec<RoleView>>,
    /// Roles that may be assigned to the group (with `admin_roles.manage`).
    can_roles: bool,
    assignable: Vec<RoleView>,
    errors: FieldErrors,
    notice: Option<String>,
}

async fn group_page(
    state: &AppState,
    user: &UiUser,
    id: Uuid,
    q: &HashMap<String, String>,
) -> Result<GroupPage, UiError> {
    let p = &user.principal;
    let g = state.iam.get_group(p, id).await?;
    let page = page_of(q);
    let (members, total) = state.iam.list_group_members(p, id, None, page).await?;
    let roles: Option<Vec<RoleView>> = match state.iam.roles_of_group(p, id).await {
        Ok(rows) => Some(rows.into_iter().map(role_view).collect()),
        Err(_) => None,
    };
    let can_roles = p.has(Permission::AdminRolesManage);
    let assignable = if can_roles {
        let all = PageRequest {
            page: 1,
            limit: PageRequest::MAX_LIMIT,
        };
        let (rows, _) = state.iam.list_roles(p, None, all).await?;
        rows.into_iter()
            .filter(|r| {
                roles
                    .as_ref()
                    .is_none_or(|held| held.iter().all(|h| h.id != r.id))
            })
            .map(role_view)
            .collect()
    } else {
        Vec::new()
    };
    Ok(GroupPage {
        edit_name: g.name.clone(),
        edit_description: g.description.clone(),
        nav: Some(Nav::new(user, "groups")),
        group: GroupView::of(g),
        members: members.iter().map(UserView::of).collect(),
        pager: pager(&format!("/ui/admin/groups/{id}?"), page, total),
        can_members: p.has(Permission::GroupsMembers),
        can_update: p.has(Permission::GroupsUpdate),
        can_delete: p.has(Permission::GroupsDelete),
        roles,
        can_roles,
        assignable,
        errors: FieldErrors::default(),
        notice: notice_of(q),
    })
}

pub async fn group(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(group_page(&state, &user, id, &q).await?))
}

/// Finds a user by exact email through the (permission-checked) user list.
async fn user_by_email(
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

pub async fn add_member(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    let email = value(&form.fields, "email");
    let result = match user_by_email(&state, user, &email).await? {
        Some(member) => state
            .iam
            .add_group_member(&user.principal, id, member, &user.meta)
            .await
            .map_err(|e| FieldErrors::from_core(e, "email", &[("user_id", "email")])),
        None => Err(Ok(field_error("email", no_user_with(&email)))),
    };
    match result {
        Ok(()) => redirect(&format!("/ui/admin/groups/{id}?done=added")),
        Err(errors) => {
            let mut page = group_page(&state, user, id, &HashMap::new()).await?;
            page.errors = errors?;
            bad_request(page)
        }
    }
}

pub async fn remove_member(
    State(state): State<AppState>,
    Path((id, member)): Path<(Uuid, Uuid)>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .remove_group_member(&user.principal, id, member, &user.meta)
        .await?;
    redirect(&format!("/ui/admin/groups/{id}?done=removed"))
}

pub async fn update_group(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let f = &form.fields;
    let user = &form.user;
    let input = UpdateGroup {
        name: Some(value(f, "name")),
        description: Some(value(f, "description")),
    };
    match state
        .iam
        .update_group(&user.principal, id, input, &user.meta)
        .await
    {
        Ok(_) => redirect(&format!("/ui/admin/groups/{id}?done=saved")),
        Err(e) => {
            let errors = FieldErrors::from_core(e, "name", &[])?;
            let mut page = group_page(&state, user, id, &HashMap::new()).await?;
            page.errors = errors;
            page.edit_name = value(f, "name");
            page.edit_description = value(f, "description");
            bad_request(page)
        }
    }
}

/// Assigns a role to the group, or removes it (`action=unassign`).
pub async fn group_role(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let f = &form.fields;
    let user = &form.user;
    let assign = f.get("action") != Some("unassign");
    let mut errors = FieldErrors::default();
    match f.get("role_id").and_then(|r| Uuid::parse_str(r).ok()) {
        Some(role) => match state
            .iam
            .set_role_assignment(
                &user.principal,
                RoleHolder::Group(id),
                role,
                assign,
                &user.meta,
            )
            .await
        {
            Ok(()) => {
                let done = if assign { "assigned" } else { "unassigned" };
                return redirect(&format!("/ui/admin/groups/{id}?done={done}"));
            }
            Err(e) => errors = FieldErrors::from_core(e, "role", &[("role_id", "role")])?,
        },
        None => errors.add("role", "Choose a role."),
    }
    let mut page = group_page(&state, user, id, &HashMap::new()).await?;
    page.errors = errors;
    bad_request(page)
}

pub async fn delete_group_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let g = state.iam.get_group(&user.principal, id).await?;
    user.principal.require(Permission::GroupsDelete)?;
    Ok(render(ConfirmPage {
        nav: Some(Nav::new(&user, "groups")),
        title: format!("Delete the group “{}”?", g.name),
        message: format!(
            "Its {} member(s) leave it and lose the admin roles it gives them. The users themselves are kept. This cannot be undone.",
            g.member_count
        ),
        action: format!("/ui/admin/groups/{id}/delete"),
        button: "Delete group".to_owned(),
        back: format!("/ui/admin/groups/{id}"),
    }))
}

pub async fn delete_group(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .delete_group(&user.principal, id, &user.meta)
        .await?;
    redirect("/ui/admin/groups?done=deleted")
}

// ---------------------------------------------------------------- admin roles

pub struct RoleView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub permissions: String,
    pub permission_list: Vec<String>,
    pub builtin: bool,
}

#[derive(Template)]
#[template(path = "admin_roles.html")]
struct RolesPage {
    nav: Option<Nav>,
    roles: Vec<RoleView>,
    pager: Pager,
    catalogue: Vec<&'static str>,
    /// The create form's values (what was sent, after an error).
    name: String,
    description: String,
    chosen: Vec<String>,
    errors: FieldErrors,
    notice: Option<String>,
}

impl RolesPage {
    fn is_chosen(&self, permission: &str) -> bool {
        self.chosen.iter().any(|c| c == permission)
    }
}

fn role_view(r: justiam_core::model::AdminRole) -> RoleView {
    RoleView {
        id: r.id,
        name: r.name,
        description: r.description,
        permissions: r.permissions.names().join(", "),
        permission_list: r.permissions.names(),
        builtin: r.is_builtin,
    }
}

async fn roles_page(
    state: &AppState,
    user: &UiUser,
    q: &HashMap<String, String>,
) -> Result<RolesPage, UiError> {
    let page = page_of(q);
    let (rows, total) = state.iam.list_roles(&user.principal, None, page).await?;
    Ok(RolesPage {
        nav: Some(Nav::new(user, "roles")),
        roles: rows.into_iter().map(role_view).collect(),
        pager: pager("/ui/admin/roles?", page, total),
        catalogue: Permission::ALL.iter().map(|p| p.as_str()).collect(),
        name: String::new(),
        description: String::new(),
        chosen: Vec::new(),
        errors: FieldErrors::default(),
        notice: notice_of(q),
    })
}

/// A refusal of the role form next to its field: a permission one may not grant goes with the
/// permissions, a taken name with the name.
fn role_errors(error: justiam_core::CoreError) -> Result<FieldErrors, UiError> {
    match error {
        justiam_core::CoreError::CannotGrant(_) => Ok(field_error(
            "permissions",
            view::sentence(&error.to_string()),
        )),
        other => FieldErrors::from_core(other, "name", &[]),
    }
}

pub async fn roles(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(roles_page(&state, &user, &q).await?))
}

pub async fn create_role(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    let f = &form.fields;
    let user = &form.user;
    let input = CreateAdminRole {
        name: value(f, "name"),
        description: f.get("description").map(str::to_owned),
        permissions: f.all("permission"),
    };
    match state
        .iam
        .create_role(&user.principal, input, &user.meta)
        .await
    {
        Ok(r) => redirect(&format!("/ui/admin/roles/{}?done=created", r.id)),
        Err(e) => {
            let errors = role_errors(e)?;
            let mut page = roles_page(&state, user, &HashMap::new()).await?;
            page.errors = errors;
            page.name = value(f, "name");
            page.description = value(f, "description");
            page.chosen = f.all("permission");
            bad_request(page)
        }
    }
}

/// One checkbox of the role form: a permission of the catalogue, and whether the editor holds it
/// (only permissions one holds may be granted).
pub struct CatalogueEntry {
    pub name: &'static str,
    pub held: bool,
}

#[derive(Template)]
#[template(path = "admin_role.html")]
struct RolePage {
    nav: Option<Nav>,
    role: RoleView,
    /// The edit form's values (the role's, or what was sent after an error).
    name: String,
    description: String,
    chosen: Vec<String>,
    catalogue: Vec<CatalogueEntry>,
    errors: FieldErrors,
    notice: Option<String>,
}

impl RolePage {
    fn is_chosen(&self, permission: &str) -> bool {
        self.chosen.iter().any(|c| c == permission)
    }
}

async fn role_page(
    state: &AppState,
    user: &UiUser,
    id: Uuid,
    notice: Option<String>,
) -> Result<RolePage, UiError> {
    let r = state.iam.get_role(&user.principal, id).await?;
    let held = user.principal.permissions;
    let role = role_view(r);
    Ok(RolePage {
        nav: Some(Nav::new(user, "roles")),
        name: role.name.clone(),
        description: role.description.clone(),
        chosen: role.permission_list.clone(),
        catalogue: Permission::ALL
            .iter()
            .map(|p| CatalogueEntry {
                name: p.as_str(),
                held: held.contains(*p),
            })
            .collect(),
        role,
        errors: FieldErrors::default(),
        notice,
    })
}

pub async fn role(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(role_page(&state, &user, id, notice_of(&q)).await?))
}

pub async fn update_role(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let f = &form.fields;
    let user = &form.user;
    let input = UpdateAdminRole {
        name: Some(value(f, "name")),
        description: Some(value(f, "description")),
        permissions: Some(f.all("permission")),
    };
    let error = match state
        .iam
        .update_role(&user.principal, id, input, &user.meta)
        .await
    {
        Ok(_) => return redirect(&format!("/ui/admin/roles/{id}?done=saved")),
        Err(e) => e,
    };
    let mut page = role_page(&state, user, id, None).await?;
    page.errors = if page.role.builtin {
        // There is no form on a built-in role's page: the refusal goes on top.
        match error {
            justiam_core::CoreError::Conflict { message, .. } => {
                field_error("form", view::sentence(&message))
            }
            other => return Err(other.into()),
        }
    } else {
        role_errors(error)?
    };
    if !page.role.builtin {
        page.name = value(f, "name");
        page.description = value(f, "description");
        page.chosen = f.all("permission");
    }
    let status = if page.role.builtin {
        StatusCode::CONFLICT
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((status, render(page)).into_response())
}

pub async fn delete_role_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let r = state.iam.get_role(&user.principal, id).await?;
    if r.is_builtin {
        return Err(UiError::page(
            StatusCode::CONFLICT,
            "Built-in roles cannot be deleted",
            "The idp:* roles come with JustIAM and are always there. Remove their assignments instead.",
        ));
    }
    Ok(render(ConfirmPage {
        nav: Some(Nav::new(&user, "roles")),
        title: format!("Delete the admin role “{}”?", r.name),
        message:
            "Every user and group holding it loses its permissions at once. This cannot be undone."
                .to_owned(),
        action: format!("/ui/admin/roles/{id}/delete"),
        button: "Delete role".to_owned(),
        back: format!("/ui/admin/roles/{id}"),
    }))
}

pub async fn delete_role(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .delete_role(&user.principal, id, &user.meta)
        .await?;
    redirect("/ui/admin/roles?done=deleted")
}

pub async fn assign_role(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let f = &form.fields;
    let user = &form.user;
    let assign = f.get("action") != Some("unassign");
    let mut errors = FieldErrors::default();
    let holder = if let Some(email) = f.get("email") {
        match user_by_email(&state, user, email).await? {
            Some(uid) => Some(RoleHolder::User(uid)),
            None => {
                errors.add("email", no_user_with(email));
                None
            }
        }
    } else if let Some(name) = f.get("group") {
        let (rows, _) = state
            .iam
            .list_groups(&user.principal, Some(name), PageRequest::default())
            .await?;
        match rows.into_iter().find(|g| g.name.eq_ignore_ascii_case(name)) {
            Some(g) => Some(RoleHolder::Group(g.id)),
            None => {
                errors.add("group", format!("There is no group named “{name}”."));
                None
            }
        }
    } else if let Some(uid) = f.get("user_id").and_then(|u| Uuid::parse_str(u).ok()) {
        Some(RoleHolder::User(uid))
    } else {
        errors.add("email", "Enter a user's email or a group's name.");
        None
    };
    if let Some(holder) = holder {
        match state
            .iam
            .set_role_assignment(&user.principal, holder, id, assign, &user.meta)
            .await
        {
            Ok(()) => {
                if let (Some(back), RoleHolder::User(uid)) = (f.get("back"), holder)
                    && back == "user"
                {
                    return redirect(&format!("/ui/admin/users/{uid}?done=saved"));
                }
                let done = if assign { "added" } else { "removed" };
                return redirect(&format!("/ui/admin/roles/{id}?done={done}"));
            }
            Err(e) => {
                // Sent from the user's page (its Remove button): the refusal is said there.
                if let (Some("user"), RoleHolder::User(uid)) = (f.get("back"), holder) {
                    let mut page = user_page(&state, user, uid, None).await?;
                    page.errors = FieldErrors::from_core(e, "role", &[("role_id", "role")])?;
                    return bad_request(page);
                }
                errors = FieldErrors::from_core(e, "email", &[])?;
            }
        }
    }
    let mut page = role_page(&state, user, id, None).await?;
    page.errors = errors;
    bad_request(page)
}

// ---------------------------------------------------------------- audit

pub struct AuditView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub ip: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    entries: Vec<AuditView>,
    action: String,
    actor: String,
    target: String,
    pager: Pager,
    errors: FieldErrors,
}

pub async fn audit(
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
        view::encode(&action),
        view::encode(&actor),
        view::encode(&target)
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

// ---------------------------------------------------------------- sessions

pub struct SessionView {
    pub id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub created: String,
    pub expires: String,
    pub ip: String,
    pub user_agent: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "admin_sessions.html")]
struct SessionsPage {
    nav: Option<Nav>,
    sessions: Vec<SessionView>,
    search: String,
    pager: Pager,
    can_revoke: bool,
    notice: Option<String>,
}

pub async fn sessions(
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
        justiam_core::authz::Credential::Jwt { session_id } => Some(session_id),
        _ => None,
    }
}

pub async fn revoke_session_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let found = state.iam.get_session(&user.principal, id).await?;
    user.principal.require(Permission::SessionsRevoke)?;
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

pub async fn revoke_session(
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
