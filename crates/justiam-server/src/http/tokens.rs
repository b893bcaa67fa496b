//! Personal access tokens: `/me/tokens` and `/users/{id}/tokens`.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use justiam_core::service::TokenOwner;
use justiam_core::time::{now_millis, to_datetime};
use justiam_types::{CreateToken, CreatedToken, Page, PatRecord};
use uuid::Uuid;

use super::extract::{ApiPath, Auth, ListQuery, Meta, StrictJson};
use super::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me/tokens", get(list_own).post(create_own))
        .route("/me/tokens/{id}", delete(revoke_own))
        .route(
            "/users/{id}/tokens",
            get(list_for_user).post(create_for_user),
        )
        .route("/users/{id}/tokens/{token_id}", delete(revoke_for_user))
}

async fn create(
    state: &AppState,
    principal: &justiam_core::authz::Principal,
    owner: TokenOwner,
    body: CreateToken,
    meta: &justiam_core::authz::RequestMeta,
) -> Result<impl IntoResponse + use<>, ApiError> {
    let issued = state.iam.create_token(principal, owner, body, meta).await?;
    let body = CreatedToken {
        id: issued.record.id,
        name: issued.record.name,
        token: issued.value.into_exposed(),
        expires_at: to_datetime(issued.record.expires_at),
    };
    // The value is shown once: no cache may keep it.
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(body),
    ))
}

async fn list(
    state: &AppState,
    principal: &justiam_core::authz::Principal,
    owner: TokenOwner,
    query: ListQuery,
) -> Result<Json<Page<PatRecord>>, ApiError> {
    let (tokens, total) = state.iam.list_tokens(principal, owner, query.page).await?;
    let now = now_millis();
    Ok(Json(Page {
        data: tokens.iter().map(|t| t.to_wire(now)).collect(),
        total,
        page: query.page.page,
        limit: query.page.limit,
    }))
}

async fn create_own(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<CreateToken>,
) -> Result<impl IntoResponse, ApiError> {
    create(&state, &principal, TokenOwner::Caller, body, &meta).await
}

async fn list_own(
    State(state): State<AppState>,
    Auth(principal): Auth,
    query: ListQuery,
) -> Result<Json<Page<PatRecord>>, ApiError> {
    list(&state, &principal, TokenOwner::Caller, query).await
}

async fn revoke_own(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .revoke_token(&principal, TokenOwner::Caller, id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_for_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(user_id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<CreateToken>,
) -> Result<impl IntoResponse, ApiError> {
    create(
        &state,
        &principal,
        TokenOwner::ServiceAccount(user_id),
        body,
        &meta,
    )
    .await
}

async fn list_for_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(user_id): ApiPath<Uuid>,
    query: ListQuery,
) -> Result<Json<Page<PatRecord>>, ApiError> {
    list(
        &state,
        &principal,
        TokenOwner::ServiceAccount(user_id),
        query,
    )
    .await
}

async fn revoke_for_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath((user_id, token_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .revoke_token(
            &principal,
            TokenOwner::ServiceAccount(user_id),
            token_id,
            &meta,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
