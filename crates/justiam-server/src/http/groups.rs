//! `/groups`, members, and group role assignments.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use justiam_core::model::RoleHolder;
use justiam_types::{
    AddGroupMember, AdminRole, AssignAdminRole, CreateGroup, Group, Page, UpdateGroup, User,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiPath, Auth, ListQuery, Meta, StrictJson};
use super::openapi::*;
use super::{ApiError, AppState, page_of};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
        .routes(routes!(members, add_member))
        .routes(routes!(remove_member))
        .routes(routes!(roles, assign_role))
        .routes(routes!(unassign_role))
}

#[utoipa::path(get, path = "/api/v1/groups", operation_id = "list_groups", tag = "groups", params(ListParamsDoc), responses((status = 200, body = Page<Group>)))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    query: ListQuery,
) -> Result<Json<Page<Group>>, ApiError> {
    let (groups, total) = state
        .iam
        .list_groups(&principal, query.search.as_deref(), query.page)
        .await?;
    Ok(Json(page_of(
        groups.iter().map(|g| g.to_wire()).collect(),
        total,
        query.page,
    )))
}

#[utoipa::path(post, path = "/api/v1/groups", operation_id = "create_group", tag = "groups", request_body = CreateGroup, responses((status = 201, body = Group)))]
async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<CreateGroup>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let group = state.iam.create_group(&principal, body, &meta).await?;
    Ok((StatusCode::CREATED, Json(group.to_wire())))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}", operation_id = "get_group", tag = "groups", params(("id" = Uuid, Path, description = "Group id")), responses((status = 200, body = Group)))]
async fn read(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Group>, ApiError> {
    Ok(Json(state.iam.get_group(&principal, id).await?.to_wire()))
}

#[utoipa::path(put, path = "/api/v1/groups/{id}", operation_id = "update_group", tag = "groups", params(("id" = Uuid, Path, description = "Group id")), request_body = UpdateGroup, responses((status = 200, body = Group)))]
async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<UpdateGroup>,
) -> Result<Json<Group>, ApiError> {
    Ok(Json(
        state
            .iam
            .update_group(&principal, id, body, &meta)
            .await?
            .to_wire(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}", operation_id = "delete_group", tag = "groups", params(("id" = Uuid, Path, description = "Group id")), responses((status = 204, description = "Deleted with its memberships and role assignments")))]
async fn remove(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.delete_group(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/groups/{id}/members", operation_id = "list_group_members", tag = "groups", params(("id" = Uuid, Path, description = "Group id"), ListParamsDoc), responses((status = 200, body = Page<User>)))]
async fn members(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
    query: ListQuery,
) -> Result<Json<Page<User>>, ApiError> {
    let (users, total) = state
        .iam
        .list_group_members(&principal, id, query.search.as_deref(), query.page)
        .await?;
    Ok(Json(page_of(
        users.iter().map(|u| u.to_wire()).collect(),
        total,
        query.page,
    )))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/members", operation_id = "add_group_member", tag = "groups", params(("id" = Uuid, Path, description = "Group id")), request_body = AddGroupMember, responses((status = 204, description = "Added")))]
async fn add_member(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<AddGroupMember>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .add_group_member(&principal, id, body.user_id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{user_id}", operation_id = "remove_group_member", tag = "groups", params(("id" = Uuid, Path, description = "Group id"), ("user_id" = Uuid, Path, description = "User id")), responses((status = 204, description = "Removed")))]
async fn remove_member(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath((id, user_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .remove_group_member(&principal, id, user_id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/groups/{id}/admin-roles", operation_id = "list_group_admin_roles", tag = "admin roles", params(("id" = Uuid, Path, description = "Group id"), ListParamsDoc), responses((status = 200, body = Page<AdminRole>)))]
async fn roles(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
    query: ListQuery,
) -> Result<Json<Page<AdminRole>>, ApiError> {
    let roles: Vec<AdminRole> = state
        .iam
        .roles_of_group(&principal, id)
        .await?
        .iter()
        .map(|r| r.to_wire())
        .collect();
    Ok(Json(super::page_in_memory(roles, query.page)))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/admin-roles", operation_id = "assign_group_admin_role", tag = "admin roles", params(("id" = Uuid, Path, description = "Group id")), request_body = AssignAdminRole, responses((status = 204, description = "Assigned")))]
async fn assign_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<AssignAdminRole>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .set_role_assignment(&principal, RoleHolder::Group(id), body.role_id, true, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}/admin-roles/{role_id}", operation_id = "unassign_group_admin_role", tag = "admin roles", params(("id" = Uuid, Path, description = "Group id"), ("role_id" = Uuid, Path, description = "Admin role id")), responses((status = 204, description = "Unassigned")))]
async fn unassign_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath((id, role_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .set_role_assignment(&principal, RoleHolder::Group(id), role_id, false, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
