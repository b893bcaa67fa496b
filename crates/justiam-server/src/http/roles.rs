//! `/admin-roles` and user role assignments.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use justiam_core::model::RoleHolder;
use justiam_types::{
    AdminRole, AssignAdminRole, CreateAdminRole, GroupRef, Page, RoleAssignment, UpdateAdminRole,
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
        .routes(routes!(of_user, assign))
        .routes(routes!(unassign))
}

#[utoipa::path(get, path = "/api/v1/admin-roles", operation_id = "list_admin_roles", tag = "admin roles", params(ListParamsDoc), responses((status = 200, body = Page<AdminRole>)))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    query: ListQuery,
) -> Result<Json<Page<AdminRole>>, ApiError> {
    let (roles, total) = state
        .iam
        .list_roles(&principal, query.search.as_deref(), query.page)
        .await?;
    Ok(Json(page_of(
        roles.iter().map(|r| r.to_wire()).collect(),
        total,
        query.page,
    )))
}

#[utoipa::path(post, path = "/api/v1/admin-roles", operation_id = "create_admin_role", tag = "admin roles", request_body = CreateAdminRole, responses((status = 201, body = AdminRole)))]
async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<CreateAdminRole>,
) -> Result<(StatusCode, Json<AdminRole>), ApiError> {
    let role = state.iam.create_role(&principal, body, &meta).await?;
    Ok((StatusCode::CREATED, Json(role.to_wire())))
}

#[utoipa::path(get, path = "/api/v1/admin-roles/{id}", operation_id = "get_admin_role", tag = "admin roles", params(("id" = Uuid, Path, description = "Admin role id")), responses((status = 200, body = AdminRole)))]
async fn read(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<AdminRole>, ApiError> {
    Ok(Json(state.iam.get_role(&principal, id).await?.to_wire()))
}

#[utoipa::path(put, path = "/api/v1/admin-roles/{id}", operation_id = "update_admin_role", tag = "admin roles", params(("id" = Uuid, Path, description = "Admin role id")), request_body = UpdateAdminRole, responses((status = 200, body = AdminRole)))]
async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<UpdateAdminRole>,
) -> Result<Json<AdminRole>, ApiError> {
    Ok(Json(
        state
            .iam
            .update_role(&principal, id, body, &meta)
            .await?
            .to_wire(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/admin-roles/{id}", operation_id = "delete_admin_role", tag = "admin roles", params(("id" = Uuid, Path, description = "Admin role id")), responses((status = 204, description = "Deleted with its assignments")))]
async fn remove(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.delete_role(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/users/{id}/admin-roles", operation_id = "list_user_admin_roles", tag = "admin roles", params(("id" = Uuid, Path, description = "User id"), ListParamsDoc), responses((status = 200, description = "Roles held directly and through groups", body = Page<RoleAssignment>)))]
async fn of_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
    query: ListQuery,
) -> Result<Json<Page<RoleAssignment>>, ApiError> {
    let held = state.iam.roles_of_user(&principal, id).await?;
    let assignments = held
        .into_iter()
        .map(|h| RoleAssignment {
            role: h.role.to_wire(),
            source: if h.via_group.is_some() {
                "group"
            } else {
                "direct"
            }
            .to_owned(),
            via_group: h.via_group.map(|(id, name)| GroupRef { id, name }),
        })
        .collect();
    Ok(Json(super::page_in_memory(assignments, query.page)))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/admin-roles", operation_id = "assign_user_admin_role", tag = "admin roles", params(("id" = Uuid, Path, description = "User id")), request_body = AssignAdminRole, responses((status = 204, description = "Assigned")))]
async fn assign(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<AssignAdminRole>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .set_role_assignment(&principal, RoleHolder::User(id), body.role_id, true, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/admin-roles/{role_id}", operation_id = "unassign_user_admin_role", tag = "admin roles", params(("id" = Uuid, Path, description = "User id"), ("role_id" = Uuid, Path, description = "Admin role id")), responses((status = 204, description = "Unassigned")))]
async fn unassign(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath((id, role_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .set_role_assignment(&principal, RoleHolder::User(id), role_id, false, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
