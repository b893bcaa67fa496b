//! `/applications` (OAuth / OpenID Connect clients), their secrets and grants; `/app-mappings` and
//! their assignment to users and groups.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use justiam_core::model::MappingHolder;
use justiam_core::time::to_datetime;
use justiam_types::Page;
use justiam_types::application::{
    AppMapping, Application, ApplicationGrant, ApplicationSecret, AssignAppMapping,
    CreateAppMapping, CreateApplication, CreateApplicationGrant, CreatedApplication,
    RotateApplicationSecret, UpdateAppMapping, UpdateApplication,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::admin::uuid_param;
use super::extract::{ApiPath, ApiQuery, Auth, JsonOrEmpty, ListQuery, Meta, StrictJson};
use super::openapi::*;
use super::{ApiError, AppState, page_in_memory, page_of};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
        .routes(routes!(rotate_secret))
        .routes(routes!(grants, add_grant))
        .routes(routes!(remove_grant))
        .routes(routes!(list_mappings, create_mapping))
        .routes(routes!(read_mapping, update_mapping, remove_mapping))
        .routes(routes!(user_mappings, assign_user_mapping))
        .routes(routes!(unassign_user_mapping))
        .routes(routes!(group_mappings, assign_group_mapping))
        .routes(routes!(unassign_group_mapping))
}

/// A secret is shown once: no cache may keep the answer that carries it.
fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(ListParamsDoc), responses((status = 200, body = Page<Application>)))]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    query: ListQuery,
) -> Result<Json<Page<Application>>, ApiError> {
    let (apps, total) = state
        .iam
        .list_applications(&principal, query.search.as_deref(), query.page)
        .await?;
    Ok(Json(page_of(
        apps.iter().map(|a| a.to_wire()).collect(),
        total,
        query.page,
    )))
}

#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", request_body = CreateApplication, responses((status = 201, description = "Created; an `oidc` application's `client_secret` is in this answer and never again", body = CreatedApplication)))]
async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<CreateApplication>,
) -> Result<impl IntoResponse, ApiError> {
    let (app, secret) = state
        .iam
        .create_application(&principal, body, &meta)
        .await?;
    let body = CreatedApplication {
        application: app.to_wire(),
        client_secret: secret.map(|s| s.into_exposed()),
    };
    Ok((StatusCode::CREATED, no_store(), Json(body)))
}

#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = Uuid, Path, description = "Application id")), responses((status = 200, body = Application)))]
async fn read(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Application>, ApiError> {
    Ok(Json(
        state.iam.get_application(&principal, id).await?.to_wire(),
    ))
}

#[utoipa::path(put, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = Uuid, Path, description = "Application id")), request_body = UpdateApplication, responses((status = 200, body = Application)))]
async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<UpdateApplication>,
) -> Result<Json<Application>, ApiError> {
    Ok(Json(
        state
            .iam
            .update_application(&principal, id, body, &meta)
            .await?
            .to_wire(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = Uuid, Path, description = "Application id")), responses((status = 204, description = "Deleted with its grants, mappings, codes and refresh tokens")))]
async fn remove(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.delete_application(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/secret", tag = "applications", params(("id" = Uuid, Path, description = "Application id")), request_body(content = Option<RotateApplicationSecret>, description = "Optional; `{}` or no body means no grace period"), responses((status = 200, description = "The new secret, shown once", body = ApplicationSecret)))]
async fn rotate_secret(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    JsonOrEmpty(body): JsonOrEmpty<RotateApplicationSecret>,
) -> Result<impl IntoResponse, ApiError> {
    let rotated = state
        .iam
        .rotate_application_secret(&principal, id, body.grace_period_seconds, &meta)
        .await?;
    let body = ApplicationSecret {
        client_id: rotated.application.client_id,
        client_secret: rotated.secret.into_exposed(),
        previous_secret_expires_at: rotated.previous_valid_until.map(to_datetime),
    };
    Ok((no_store(), Json(body)))
}

#[utoipa::path(get, path = "/api/v1/applications/{id}/grants", tag = "applications", params(("id" = Uuid, Path, description = "Application id"), ListParamsDoc), responses((status = 200, description = "Users and groups who may sign in when the application is access_restricted", body = Page<ApplicationGrant>)))]
async fn grants(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
    query: ListQuery,
) -> Result<Json<Page<ApplicationGrant>>, ApiError> {
    let grants = state
        .iam
        .list_application_grants(&principal, id)
        .await?
        .iter()
        .map(|g| g.to_wire())
        .collect();
    Ok(Json(page_in_memory(grants, query.page)))
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/grants", tag = "applications", params(("id" = Uuid, Path, description = "Application id")), request_body = CreateApplicationGrant, responses((status = 201, body = ApplicationGrant)))]
async fn add_grant(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<CreateApplicationGrant>,
) -> Result<(StatusCode, Json<ApplicationGrant>), ApiError> {
    let grant = state
        .iam
        .add_application_grant(&principal, id, body, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(grant.to_wire())))
}

#[utoipa::path(delete, path = "/api/v1/applications/{id}/grants/{grant_id}", tag = "applications", params(("id" = Uuid, Path, description = "Application id"), ("grant_id" = Uuid, Path, description = "Grant id")), responses((status = 204, description = "Removed; refresh tokens of users who lose access stop working at their next use")))]
async fn remove_grant(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath((id, grant_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .remove_application_grant(&principal, id, grant_id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct MappingQuery {
    application_id: Option<String>,
}

/// Filters of `GET /app-mappings`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Only its documentation is used.
struct MappingParamsDoc {
    /// Only the mappings of this application.
    application_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/app-mappings", tag = "app mappings", params(ListParamsDoc, MappingParamsDoc), responses((status = 200, body = Page<AppMapping>)))]
async fn list_mappings(
    State(state): State<AppState>,
    Auth(principal): Auth,
    list: ListQuery,
    ApiQuery(query): ApiQuery<MappingQuery>,
) -> Result<Json<Page<AppMapping>>, ApiError> {
    let application_id = uuid_param("application_id", query.application_id)?;
    let (mappings, total) = state
        .iam
        .list_app_mappings(
            &principal,
            application_id,
            list.search.as_deref(),
            list.page,
        )
        .await?;
    Ok(Json(page_of(
        mappings.iter().map(|m| m.to_wire()).collect(),
        total,
        list.page,
    )))
}

#[utoipa::path(post, path = "/api/v1/app-mappings", tag = "app mappings", request_body = CreateAppMapping, responses((status = 201, body = AppMapping)))]
async fn create_mapping(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<CreateAppMapping>,
) -> Result<(StatusCode, Json<AppMapping>), ApiError> {
    let mapping = state
        .iam
        .create_app_mapping(&principal, body, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(mapping.to_wire())))
}

#[utoipa::path(get, path = "/api/v1/app-mappings/{id}", tag = "app mappings", params(("id" = Uuid, Path, description = "App mapping id")), responses((status = 200, body = AppMapping)))]
async fn read_mapping(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<AppMapping>, ApiError> {
    Ok(Json(
        state.iam.get_app_mapping(&principal, id).await?.to_wire(),
    ))
}

#[utoipa::path(put, path = "/api/v1/app-mappings/{id}", tag = "app mappings", params(("id" = Uuid, Path, description = "App mapping id")), request_body = UpdateAppMapping, responses((status = 200, body = AppMapping)))]
async fn update_mapping(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<UpdateAppMapping>,
) -> Result<Json<AppMapping>, ApiError> {
    Ok(Json(
        state
            .iam
            .update_app_mapping(&principal, id, body, &meta)
            .await?
            .to_wire(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/app-mappings/{id}", tag = "app mappings", params(("id" = Uuid, Path, description = "App mapping id")), responses((status = 204, description = "Deleted with its assignments")))]
async fn remove_mapping(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.delete_app_mapping(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn mappings_of(
    state: &AppState,
    principal: &justiam_core::authz::Principal,
    holder: MappingHolder,
    query: ListQuery,
) -> Result<Json<Page<AppMapping>>, ApiError> {
    let mappings = state
        .iam
        .app_mappings_of(principal, holder)
        .await?
        .iter()
        .map(|m| m.to_wire())
        .collect();
    Ok(Json(page_in_memory(mappings, query.page)))
}

async fn set_assignment(
    state: &AppState,
    principal: &justiam_core::authz::Principal,
    holder: MappingHolder,
    mapping_id: Uuid,
    assign: bool,
    meta: &justiam_core::authz::RequestMeta,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .set_app_mapping_assignment(principal, holder, mapping_id, assign, meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/users/{id}/app-mappings", tag = "app mappings", params(("id" = Uuid, Path, description = "User id"), ListParamsDoc), responses((status = 200, description = "Mappings assigned to the user directly", body = Page<AppMapping>)))]
async fn user_mappings(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
    query: ListQuery,
) -> Result<Json<Page<AppMapping>>, ApiError> {
    mappings_of(&state, &principal, MappingHolder::User(id), query).await
}

#[utoipa::path(post, path = "/api/v1/users/{id}/app-mappings", tag = "app mappings", params(("id" = Uuid, Path, description = "User id")), request_body = AssignAppMapping, responses((status = 204, description = "Assigned")))]
async fn assign_user_mapping(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<AssignAppMapping>,
) -> Result<StatusCode, ApiError> {
    let holder = MappingHolder::User(id);
    set_assignment(&state, &principal, holder, body.mapping_id, true, &meta).await
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/app-mappings/{mapping_id}", tag = "app mappings", params(("id" = Uuid, Path, description = "User id"), ("mapping_id" = Uuid, Path, description = "App mapping id")), responses((status = 204, description = "Unassigned")))]
async fn unassign_user_mapping(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath((id, mapping_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let holder = MappingHolder::User(id);
    set_assignment(&state, &principal, holder, mapping_id, false, &meta).await
}

#[utoipa::path(get, path = "/api/v1/groups/{id}/app-mappings", tag = "app mappings", params(("id" = Uuid, Path, description = "Group id"), ListParamsDoc), responses((status = 200, description = "Mappings assigned to the group", body = Page<AppMapping>)))]
async fn group_mappings(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
    query: ListQuery,
) -> Result<Json<Page<AppMapping>>, ApiError> {
    mappings_of(&state, &principal, MappingHolder::Group(id), query).await
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/app-mappings", tag = "app mappings", params(("id" = Uuid, Path, description = "Group id")), request_body = AssignAppMapping, responses((status = 204, description = "Assigned")))]
async fn assign_group_mapping(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
    StrictJson(body): StrictJson<AssignAppMapping>,
) -> Result<StatusCode, ApiError> {
    let holder = MappingHolder::Group(id);
    set_assignment(&state, &principal, holder, body.mapping_id, true, &meta).await
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}/app-mappings/{mapping_id}", tag = "app mappings", params(("id" = Uuid, Path, description = "Group id"), ("mapping_id" = Uuid, Path, description = "App mapping id")), responses((status = 204, description = "Unassigned")))]
async fn unassign_group_mapping(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath((id, mapping_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let holder = MappingHolder::Group(id);
    set_assignment(&state, &principal, holder, mapping_id, false, &meta).await
}
