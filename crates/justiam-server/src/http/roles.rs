//! `/admin-roles` and user role assignments.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use justiam_core::store::roles::Holder;
use justiam_types::{
    AdminRole, AssignAdminRole, CreateAdminRole, GroupRef, Page, RoleAssignment, UpdateAdminRole,
};
use uuid::Uuid;

use super::extract::{ApiPath, Auth, ListQuery, Meta, StrictJson};
use super::{ApiError, AppState, page_of};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin-roles", get(list).post(create))
        .route("/admin-roles/{id}", get(read).put(update).delete(remove))
        .route("/users/{id}/admin-roles", get(of_user).post(assign))
        .route("/users/{id}/admin-roles/{role_id}", delete(unassign))
}

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

async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<CreateAdminRole>,
) -> Result<(StatusCode, Json<AdminRole>), ApiError> {
    let role = state.iam.create_role(&principal, body, &meta).await?;
    Ok((StatusCode::CREATED, Json(role.to_wire())))
}

async fn read(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<AdminRole>, ApiError> {
    Ok(Json(state.iam.get_role(&principal, id).await?.to_wire()))
}

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

async fn remove(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.delete_role(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

async fn assign(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<AssignAdminRole>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .set_role_assignment(&principal, Holder::User(id), body.role_id, true, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unassign(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath((id, role_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .set_role_assignment(&principal, Holder::User(id), role_id, false, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
