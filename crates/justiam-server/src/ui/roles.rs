//! Admin roles and their assignment (`/ui/admin/roles`, `/ui/admin/roles/{id}`, and a user's
//! roles from their page), as `/admin-roles` and `/users/{id}/admin-roles` of the API.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use justiam_core::model::{PageRequest, Permission, RoleHolder};
use justiam_types::{CreateAdminRole, UpdateAdminRole};
use uuid::Uuid;

use super::kit::{
    ConfirmPage, FieldErrors, Nav, Pager, Params, UiError, UiForm, UiUser, bad_request,
    field_error, notice_of, page_of, pager, redirect, render, value, view,
};
use super::users::{no_user_with, refused_on_user_page, user_by_email};
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/admin/roles", get(roles).post(create_role))
        .route("/ui/admin/roles/{id}", get(role).post(update_role))
        .route(
            "/ui/admin/roles/{id}/delete",
            get(delete_role_confirm).post(delete_role),
        )
        .route("/ui/admin/roles/{id}/assignments", post(assign_role))
        .route("/ui/admin/users/{id}/roles", post(user_role))
}

pub struct RoleView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub permissions: String,
    pub permission_list: Vec<String>,
    pub builtin: bool,
}

#[derive(Template)]
#[template(path = "roles/list.html")]
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

pub(super) fn role_view(r: justiam_core::model::AdminRole) -> RoleView {
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

async fn roles(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(roles_page(&state, &user, &q).await?))
}

async fn create_role(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
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
#[template(path = "roles/role.html")]
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

async fn role(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(role_page(&state, &user, id, notice_of(&q)).await?))
}

async fn update_role(
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

async fn delete_role_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let r = state.iam.check_can_delete_role(&user.principal, id).await?;
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

async fn delete_role(
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

async fn assign_role(
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
                    let errors = FieldErrors::from_core(e, "role", &[("role_id", "role")])?;
                    return refused_on_user_page(&state, user, uid, errors, None).await;
                }
                errors = FieldErrors::from_core(e, "email", &[])?;
            }
        }
    }
    let mut page = role_page(&state, user, id, None).await?;
    page.errors = errors;
    bad_request(page)
}

async fn user_role(
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
    refused_on_user_page(&state, user, id, errors, chosen).await
}
