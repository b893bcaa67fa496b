//! Groups, their members and their admin roles (`/ui/admin/groups`, `/ui/admin/groups/{id}`), as
//! `/groups` of the API.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use justiam_core::model::{Group, PageRequest, Permission, RoleHolder};
use justiam_types::{CreateGroup, UpdateGroup};
use uuid::Uuid;

use super::kit::{
    ConfirmPage, FieldErrors, Listing, Nav, Pager, Params, UiError, UiForm, UiUser, bad_request,
    field_error, notice_of, page_of, pager, redirect, render, value,
};
use super::roles::{RoleView, role_view};
use super::users::{UserView, no_user_with, user_by_email};
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
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
}

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
#[template(path = "groups/list.html")]
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

async fn groups(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(groups_page(&state, &user, &q).await?))
}

async fn create_group(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
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
#[template(path = "groups/group.html")]
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
    /// The member search as typed (`?member_search=`), and the users it found who are not
    /// members yet (with `users.view`), each offered an Add button.
    member_search: String,
    candidates: Vec<UserView>,
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
    let member_search = q
        .get("member_search")
        .map(|s| s.trim().chars().take(200).collect::<String>())
        .unwrap_or_default();
    let mut candidates = Vec::new();
    if !member_search.is_empty() && p.has(Permission::GroupsMembers) && p.has(Permission::UsersView)
    {
        let first = PageRequest { page: 1, limit: 10 };
        let (found, _) = state.iam.list_users(p, Some(&member_search), first).await?;
        candidates = found
            .iter()
            .filter(|u| members.iter().all(|m| m.id != u.id))
            .map(UserView::of)
            .collect();
    }
    Ok(GroupPage {
        member_search,
        candidates,
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

async fn group(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(group_page(&state, &user, id, &q).await?))
}

async fn add_member(
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

async fn remove_member(
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

async fn update_group(
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
async fn group_role(
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

async fn delete_group_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let g = state.iam.get_group(&user.principal, id).await?;
    state
        .iam
        .check_can_delete_group(&user.principal, id)
        .await?;
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

async fn delete_group(
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
