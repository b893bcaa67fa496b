//! `/users` and `/users/{id}`.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use justiam_core::service::NewUser;
use justiam_types::{CreateUser, Page, UpdateUser, User};
use uuid::Uuid;

use super::extract::{ApiPath, Auth, ListQuery, Meta, StrictJson};
use super::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", get(read).put(update).delete(remove))
}

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

async fn read(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(state.iam.get_user(&principal, id).await?.to_wire()))
}

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

async fn remove(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.delete_user(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
