//! `/users/{id}/clients` and `/users/{id}/federated-credentials`: how a service account gets
//! short-lived access tokens without a long-lived secret (the grants are at `/oauth2/token`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use justiam_types::Page;
use justiam_types::machine::{
    CreateFederatedCredential, CreateServiceAccountClient, CreatedServiceAccountClient,
    FederatedCredential, ServiceAccountClient,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiPath, Auth, ListQuery, Meta, StrictJson};
use super::openapi::*;
use super::{ApiError, AppState, page_in_memory};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, create_client))
        .routes(routes!(read_client, delete_client))
        .routes(routes!(list_federated, create_federated))
        .routes(routes!(read_federated, delete_federated))
}

#[utoipa::path(get, path = "/api/v1/users/{id}/clients", operation_id = "list_service_account_clients", tag = "machine identity", params(("id" = Uuid, Path, description = "Service account id"), ListParamsDoc), responses((status = 200, body = Page<ServiceAccountClient>)))]
async fn list_clients(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(user_id): ApiPath<Uuid>,
    query: ListQuery,
) -> Result<Json<Page<ServiceAccountClient>>, ApiError> {
    let clients = state
        .iam
        .list_service_account_clients(&principal, user_id)
        .await?;
    Ok(Json(page_in_memory(
        clients.iter().map(|c| c.to_wire()).collect(),
        query.page,
    )))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/clients", operation_id = "create_service_account_client", tag = "machine identity", params(("id" = Uuid, Path, description = "Service account id")), request_body = CreateServiceAccountClient, responses((status = 201, description = "Created; a `client_secret` client's secret is in this answer and never again", body = CreatedServiceAccountClient)))]
async fn create_client(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(user_id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<CreateServiceAccountClient>,
) -> Result<impl IntoResponse, ApiError> {
    let (client, secret) = state
        .iam
        .create_service_account_client(&principal, user_id, body, &meta)
        .await?;
    let body = CreatedServiceAccountClient {
        client: client.to_wire(),
        client_secret: secret.map(|s| s.into_exposed()),
    };
    // The secret is shown once: no cache may keep the answer.
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(body),
    ))
}

#[utoipa::path(get, path = "/api/v1/users/{id}/clients/{client_id}", operation_id = "get_service_account_client", tag = "machine identity", params(("id" = Uuid, Path, description = "Service account id"), ("client_id" = Uuid, Path, description = "The client's id (not its OAuth client_id)")), responses((status = 200, body = ServiceAccountClient)))]
async fn read_client(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((user_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<ServiceAccountClient>, ApiError> {
    let client = state
        .iam
        .get_service_account_client(&principal, user_id, id)
        .await?;
    Ok(Json(client.to_wire()))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/clients/{client_id}", operation_id = "delete_service_account_client", tag = "machine identity", params(("id" = Uuid, Path, description = "Service account id"), ("client_id" = Uuid, Path, description = "The client's id (not its OAuth client_id)")), responses((status = 204, description = "Deleted; its access tokens are refused at once on every node")))]
async fn delete_client(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath((user_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .delete_service_account_client(&principal, user_id, id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/users/{id}/federated-credentials", operation_id = "list_federated_credentials", tag = "machine identity", params(("id" = Uuid, Path, description = "Service account id"), ListParamsDoc), responses((status = 200, body = Page<FederatedCredential>)))]
async fn list_federated(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(user_id): ApiPath<Uuid>,
    query: ListQuery,
) -> Result<Json<Page<FederatedCredential>>, ApiError> {
    let list = state
        .iam
        .list_federated_credentials(&principal, user_id)
        .await?;
    Ok(Json(page_in_memory(
        list.iter().map(|fc| fc.to_wire()).collect(),
        query.page,
    )))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/federated-credentials", operation_id = "create_federated_credential", tag = "machine identity", params(("id" = Uuid, Path, description = "Service account id")), request_body = CreateFederatedCredential, responses((status = 201, body = FederatedCredential)))]
async fn create_federated(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(user_id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<CreateFederatedCredential>,
) -> Result<(StatusCode, Json<FederatedCredential>), ApiError> {
    let fc = state
        .iam
        .create_federated_credential(&principal, user_id, body, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(fc.to_wire())))
}

#[utoipa::path(get, path = "/api/v1/users/{id}/federated-credentials/{fc_id}", operation_id = "get_federated_credential", tag = "machine identity", params(("id" = Uuid, Path, description = "Service account id"), ("fc_id" = Uuid, Path, description = "Federated credential id")), responses((status = 200, body = FederatedCredential)))]
async fn read_federated(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((user_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<FederatedCredential>, ApiError> {
    let fc = state
        .iam
        .get_federated_credential(&principal, user_id, id)
        .await?;
    Ok(Json(fc.to_wire()))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/federated-credentials/{fc_id}", operation_id = "delete_federated_credential", tag = "machine identity", params(("id" = Uuid, Path, description = "Service account id"), ("fc_id" = Uuid, Path, description = "Federated credential id")), responses((status = 204, description = "Deleted; the access tokens it gave are refused at once on every node")))]
async fn delete_federated(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath((user_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .delete_federated_credential(&principal, user_id, id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
