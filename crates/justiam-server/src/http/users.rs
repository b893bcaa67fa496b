//! `/users`, `/users/{id}` and `/users/{id}/password-reset`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use justiam_core::service::NewUser;
use justiam_types::{CreateUser, Page, UpdateUser, User};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiPath, Auth, ListQuery, Meta, StrictJson};
use super::openapi::*;
use super::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
        .routes(routes!(send_password_reset))
}

#[utoipa::path(get, path = "/api/v1/users", operation_id = "list_users", tag = "users", params(ListParamsDoc), responses((status = 200, body = Page<User>)))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    query: ListQuery,
) -> Result<Json<Page<User>>, ApiError> {
    let (users, total) = state
        .iam
        .list_users(&principal, query.search.as_deref(), query.page)
        .await?;
    Ok(Json(Page {
        data: users.iter().map(|u| u.to_wire()).collect(),
        total,
        page: query.page.page,
        limit: query.page.limit,
    }))
}

#[utoipa::path(post, path = "/api/v1/users", operation_id = "create_user", tag = "users", request_body = CreateUser, responses((status = 201, body = User)))]
async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<CreateUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let user = state
        .iam
        .create_user(&principal, NewUser::parse(body)?, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(user.to_wire())))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", operation_id = "get_user", tag = "users", params(("id" = Uuid, Path, description = "User id")), responses((status = 200, body = User)))]
async fn read(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(state.iam.get_user(&principal, id).await?.to_wire()))
}

#[utoipa::path(put, path = "/api/v1/users/{id}", operation_id = "update_user", tag = "users", params(("id" = Uuid, Path, description = "User id")), request_body = UpdateUser, responses((status = 200, body = User)))]
async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<UpdateUser>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(
        state
            .iam
            .update_user(&principal, id, body, &meta)
            .await?
            .to_wire(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", operation_id = "delete_user", tag = "users", params(("id" = Uuid, Path, description = "User id")), responses((status = 204, description = "Deleted with its tokens, sessions, memberships and role assignments")))]
async fn remove(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.delete_user(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/users/{id}/password-reset", operation_id = "send_password_reset", tag = "users", params(("id" = Uuid, Path, description = "User id")), responses(
    (status = 202, description = "A single-use reset link is mailed to the user"),
    (status = 404, description = "No such user, or the caller may not see users"),
    (status = 409, description = "`not_a_person` (a service account) or `account_disabled`"),
    (status = 503, description = "`mail_disabled`: this server sends no mail (no SMTP_HOST)"),
))]
async fn send_password_reset(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.send_password_reset(&principal, id, &meta).await?;
    Ok(StatusCode::ACCEPTED)
}
