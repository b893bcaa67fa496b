//! `/me/applications`: the applications the caller signed in to, and revoking one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use justiam_types::Page;
use justiam_types::application::SignedInApplication;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiPath, Auth, ListQuery, Meta};
use super::openapi::ListParamsDoc;
use super::{ApiError, AppState, page_in_memory};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(revoke))
}

#[utoipa::path(get, path = "/api/v1/me/applications", tag = "auth", params(ListParamsDoc), responses((status = 200, description = "The applications the caller signed in to, most recent first", body = Page<SignedInApplication>)))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    query: ListQuery,
) -> Result<Json<Page<SignedInApplication>>, ApiError> {
    let all = state.iam.my_applications(&principal).await?;
    Ok(Json(page_in_memory(all, query.page)))
}

#[utoipa::path(delete, path = "/api/v1/me/applications/{id}", tag = "auth", params(("id" = Uuid, Path, description = "Application id")), responses((status = 204, description = "The caller's refresh tokens at this application are revoked")))]
async fn revoke(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .revoke_my_application(&principal, id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
