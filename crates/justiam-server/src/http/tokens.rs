//! Personal access tokens: `/me/tokens` and `/users/{id}/tokens`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use justiam_core::model::{
    TokenInventoryFilter, TokenListFilter, TokenListSort, TokenListState, User,
};
use justiam_core::service::{IssuedToken, TokenOwner};
use justiam_core::time::{now_millis, to_datetime};
use justiam_types::{
    CreateToken, CreatedToken, Page, PatRecord, RevokeLeakedTokens, RotateToken,
    TokenInventoryItem, TokenOwnerRef, TokenSelf,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery, Auth, JsonOrEmpty, ListQuery, Meta, StrictJson};
use super::openapi::*;
use super::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_own, create_own))
        .routes(routes!(revoke_own))
        .routes(routes!(list_for_user, create_for_user))
        .routes(routes!(revoke_for_user))
        .routes(routes!(inspect_self))
        .routes(routes!(rotate_own))
        .routes(routes!(rotate_for_user))
        .routes(routes!(report_leaked))
        .routes(routes!(inventory))
        .routes(routes!(revoke_any))
}

fn created_response(issued: IssuedToken) -> impl IntoResponse {
    let body = CreatedToken {
        id: issued.record.id,
        name: issued.record.name,
        token: issued.value.into_exposed(),
        expires_at: to_datetime(issued.record.expires_at),
        rotated_from: issued.record.rotated_from,
    };
    // The value is shown once: no cache may keep it.
    (
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(body),
    )
}

fn owner_ref(user: &User) -> TokenOwnerRef {
    TokenOwnerRef {
        id: user.id,
        email: user.email.clone(),
        is_service_account: user.is_service_account,
    }
}

#[utoipa::path(get, path = "/api/v1/me/tokens/self", operation_id = "inspect_calling_token", tag = "tokens", responses((status = 200, description = "The calling token's own record", body = TokenSelf)))]
async fn inspect_self(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<TokenSelf>, ApiError> {
    let token = state.iam.token_self(&principal).await?;
    Ok(Json(TokenSelf {
        record: token.to_wire(now_millis()),
        effective_permissions: principal.permissions.names(),
        owner: owner_ref(&principal.user),
    }))
}

#[utoipa::path(post, path = "/api/v1/me/tokens/{id}/rotate", operation_id = "rotate_own_token", tag = "tokens", params(("id" = Uuid, Path, description = "Token id")), request_body(content = Option<RotateToken>, description = "Optional; an empty body or `null` keeps the defaults"), responses((status = 201, description = "The replacement, shown only this once", body = CreatedToken)))]
async fn rotate_own(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    JsonOrEmpty(body): JsonOrEmpty<RotateToken>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(created_response(
        state
            .iam
            .rotate_token(&principal, TokenOwner::Caller, id, body, &meta)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/tokens/{token_id}/rotate", operation_id = "rotate_service_account_token", tag = "tokens", params(("id" = Uuid, Path, description = "Service account id"), ("token_id" = Uuid, Path, description = "Token id")), request_body(content = Option<RotateToken>, description = "Optional; an empty body or `null` keeps the defaults"), responses((status = 201, description = "The replacement, shown only this once", body = CreatedToken)))]
async fn rotate_for_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath((user_id, token_id)): ApiPath<(Uuid, Uuid)>,
    JsonOrEmpty(body): JsonOrEmpty<RotateToken>,
) -> Result<impl IntoResponse, ApiError> {
    let owner = TokenOwner::ServiceAccount(user_id);
    Ok(created_response(
        state
            .iam
            .rotate_token(&principal, owner, token_id, body, &meta)
            .await?,
    ))
}

/// No authentication: whoever finds a token in the wild may report it. Always the same answer.
#[utoipa::path(post, path = "/api/v1/tokens/revoke", operation_id = "report_leaked_tokens", tag = "tokens", security(()), request_body = RevokeLeakedTokens, responses((status = 202, description = "Accepted; the same answer whether or not any value was a valid token", body = Object)))]
async fn report_leaked(
    State(state): State<AppState>,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<RevokeLeakedTokens>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    state.iam.report_leaked_tokens(body.tokens, &meta).await?;
    let answer = serde_json::json!({
        "status": "accepted",
        "message": "every valid token among those submitted will be revoked and its owner told why",
    });
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

#[derive(Debug, Deserialize)]
struct InventoryQuery {
    owner_id: Option<String>,
    state: Option<String>,
    expires_before: Option<String>,
    unused_since: Option<String>,
    scope: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tokens", operation_id = "list_token_inventory", tag = "tokens", params(ListParamsDoc, InventoryParamsDoc), responses((status = 200, body = Page<TokenInventoryItem>)))]
async fn inventory(
    State(state): State<AppState>,
    Auth(principal): Auth,
    list: ListQuery,
    ApiQuery(query): ApiQuery<InventoryQuery>,
) -> Result<Json<Page<TokenInventoryItem>>, ApiError> {
    if let Some(state) = query.state.as_deref()
        && !TOKEN_STATES.contains(&state)
    {
        return Err(ApiError::validation(
            "state",
            "state must be one of active, expired, revoked",
        ));
    }
    if let Some(scope) = query.scope.as_deref()
        && !TOKEN_SCOPES.contains(&scope)
    {
        return Err(ApiError::validation(
            "scope",
            "scope must be one of full, fine_grained",
        ));
    }
    let filter = TokenInventoryFilter {
        owner_id: super::admin::uuid_param("owner_id", query.owner_id)?,
        state: query.state,
        expires_before: super::admin::time_param("expires_before", query.expires_before)?,
        unused_since: super::admin::time_param("unused_since", query.unused_since)?,
        service_accounts_only: false,
        hide_admin_owners: false,
        search: list.search.clone(),
        scope: query.scope,
    };
    let (items, total) = state
        .iam
        .token_inventory(&principal, filter, list.page)
        .await?;
    let now = now_millis();
    let data = items
        .iter()
        .map(|item| TokenInventoryItem {
            record: item.token.to_wire(now),
            owner: owner_ref(&item.owner),
            state: item.token.state(now).to_owned(),
            last_used_ip: item.token.last_used_ip.clone(),
        })
        .collect();
    Ok(Json(super::page_of(data, total, list.page)))
}

/// The operator's revocation of a token found in the inventory, whoever owns it.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", operation_id = "revoke_token", tag = "tokens", params(("id" = Uuid, Path, description = "Token id (from the inventory)")), responses((status = 204, description = "Revoked. An `is_admin` caller may revoke any token; a holder of `service_accounts.tokens` the tokens of service accounts that are not `is_admin` and whose permissions they hold all (`403` otherwise). Any other token, and an unknown or revoked one, is `404`.")))]
async fn revoke_any(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.revoke_any_token(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create(
    state: &AppState,
    principal: &justiam_core::authz::Principal,
    owner: TokenOwner,
    body: CreateToken,
    meta: &justiam_core::authz::RequestMeta,
) -> Result<impl IntoResponse + use<>, ApiError> {
    Ok(created_response(
        state.iam.create_token(principal, owner, body, meta).await?,
    ))
}

/// `?state&sort` of a token list, besides `?page&limit&search`.
#[derive(Debug, Deserialize)]
struct TokenListQuery {
    state: Option<String>,
    sort: Option<String>,
}

impl TokenListQuery {
    fn filter(self, search: Option<String>) -> Result<TokenListFilter, ApiError> {
        let state = match self.state.as_deref() {
            None => TokenListState::Any,
            Some(value) => TokenListState::parse(value).ok_or_else(|| {
                ApiError::validation("state", "state must be one of active, expiring, expired")
            })?,
        };
        let sort = match self.sort.as_deref() {
            None => TokenListSort::Newest,
            Some(value) => TokenListSort::parse(value).ok_or_else(|| {
                ApiError::validation(
                    "sort",
                    "sort must be one of newest, oldest, expires, expires_desc, name, last_used",
                )
            })?,
        };
        Ok(TokenListFilter {
            search,
            state,
            sort,
        })
    }
}

async fn list(
    state: &AppState,
    principal: &justiam_core::authz::Principal,
    owner: TokenOwner,
    query: ListQuery,
    options: TokenListQuery,
) -> Result<Json<Page<PatRecord>>, ApiError> {
    let filter = options.filter(query.search.clone())?;
    let (tokens, total) = state
        .iam
        .list_tokens_filtered(principal, owner, &filter, query.page)
        .await?;
    let now = now_millis();
    Ok(Json(Page {
        data: tokens.iter().map(|t| t.to_wire(now)).collect(),
        total,
        page: query.page.page,
        limit: query.page.limit,
    }))
}

#[utoipa::path(post, path = "/api/v1/me/tokens", operation_id = "create_own_token", tag = "tokens", request_body = CreateToken, responses((status = 201, description = "The token value, shown only this once", body = CreatedToken)))]
async fn create_own(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<CreateToken>,
) -> Result<impl IntoResponse, ApiError> {
    create(&state, &principal, TokenOwner::Caller, body, &meta).await
}

#[utoipa::path(get, path = "/api/v1/me/tokens", operation_id = "list_own_tokens", tag = "tokens", params(ListParamsDoc, TokenListParamsDoc), responses((status = 200, description = "The caller's tokens that are not revoked", body = Page<PatRecord>)))]
async fn list_own(
    State(state): State<AppState>,
    Auth(principal): Auth,
    query: ListQuery,
    ApiQuery(options): ApiQuery<TokenListQuery>,
) -> Result<Json<Page<PatRecord>>, ApiError> {
    list(&state, &principal, TokenOwner::Caller, query, options).await
}

#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", operation_id = "revoke_own_token", tag = "tokens", params(("id" = Uuid, Path, description = "Token id")), responses((status = 204, description = "Revoked")))]
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

#[utoipa::path(post, path = "/api/v1/users/{id}/tokens", operation_id = "create_service_account_token", tag = "tokens", params(("id" = Uuid, Path, description = "Service account id")), request_body = CreateToken, responses((status = 201, description = "The token value, shown only this once", body = CreatedToken)))]
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

#[utoipa::path(get, path = "/api/v1/users/{id}/tokens", operation_id = "list_service_account_tokens", tag = "tokens", params(("id" = Uuid, Path, description = "Service account id"), ListParamsDoc, TokenListParamsDoc), responses((status = 200, body = Page<PatRecord>)))]
async fn list_for_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(user_id): ApiPath<Uuid>,
    query: ListQuery,
    ApiQuery(options): ApiQuery<TokenListQuery>,
) -> Result<Json<Page<PatRecord>>, ApiError> {
    list(
        &state,
        &principal,
        TokenOwner::ServiceAccount(user_id),
        query,
        options,
    )
    .await
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/tokens/{token_id}", operation_id = "revoke_service_account_token", tag = "tokens", params(("id" = Uuid, Path, description = "Service account id"), ("token_id" = Uuid, Path, description = "Token id")), responses((status = 204, description = "Revoked")))]
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
