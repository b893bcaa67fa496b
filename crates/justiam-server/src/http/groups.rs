//! `/groups`, members, and group role assignments.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use justiam_core::store::roles::Holder;
use justiam_types::{
    AddGroupMember, AdminRole, AssignAdminRole, CreateGroup, Group, Page, UpdateGroup, User,
};
use uuid::Uuid;

use super::extract::{ApiPath, Auth, ListQuery, Meta, StrictJson};
use super::{ApiError, AppState, page_of};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups", get(list).post(create))
        .route("/groups/{id}", get(read).put(update).delete(remove))
        .route("/groups/{id}/members", get(members).post(add_member))
        .route("/groups/{id}/members/{user_id}", delete(remove_member))
        .route("/groups/{id}/admin-roles", get(roles).post(assign_role))
        .route("/groups/{id}/admin-roles/{role_id}", delete(unassign_role))
}

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

async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<CreateGroup>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let group = state.iam.create_group(&principal, body, &meta).await?;
    Ok((StatusCode::CREATED, Json(group.to_wire())))
}

async fn read(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Group>, ApiError> {
    Ok(Json(state.iam.get_group(&principal, id).await?.to_wire()))
}

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

async fn remove(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.delete_group(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

async fn assign_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<AssignAdminRole>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .set_role_assignment(&principal, Holder::Group(id), body.role_id, true, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unassign_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath((id, role_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .set_role_assignment(&principal, Holder::Group(id), role_id, false, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
