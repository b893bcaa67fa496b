//! `/auth/login`, `/auth/logout`, `/me`, `/me/password`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use justiam_core::CoreError;
use justiam_core::secret::Secret;
use justiam_core::time::to_datetime;
use justiam_types::{ChangePassword, LoginRequest, LoginResponse, Me};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Auth, Meta, StrictJson};
use super::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

#[utoipa::path(post, path = "/auth/login", tag = "auth", security(()), request_body = LoginRequest, responses((status = 200, description = "A portal JWT bound to a new session", body = LoginResponse)))]
async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let result = state
        .iam
        .login(&body.email, &Secret::new(body.password), &meta)
        .await;
    let label = match &result {
        Ok(_) => "ok",
        Err(CoreError::Throttled { .. }) => "throttled",
        Err(CoreError::InvalidCredentials | CoreError::Forbidden { .. }) => "invalid",
        Err(_) => "error",
    };
    state.metrics.observe_authentication("password", label);
    let outcome = result?;
    let response = LoginResponse {
        token: outcome.jwt.into_exposed(),
        expires_at: to_datetime(outcome.expires_at),
        user: outcome.user.to_wire(),
    };
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(response),
    ))
}

#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204, description = "The session behind the JWT has ended")))]
async fn logout(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
) -> Result<StatusCode, ApiError> {
    state.iam.logout(&principal, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me", tag = "auth", responses((status = 200, description = "The caller and their effective permissions", body = Me)))]
async fn me(Auth(principal): Auth) -> Json<MeView> {
    Json(MeView {
        user: principal.user.to_wire(),
        permissions: principal.permissions.iter().map(|p| p.as_str()).collect(),
    })
}

/// [`Me`] as the handler writes it: the permission names borrowed from the catalogue instead of
/// allocated per request (every script's `GET /me` pays for this answer).
#[derive(serde::Serialize)]
struct MeView {
    #[serde(flatten)]
    user: justiam_types::User,
    permissions: Vec<&'static str>,
}

#[utoipa::path(put, path = "/me/password", tag = "auth", request_body = ChangePassword, responses((status = 204, description = "Password changed; the caller's other sessions ended")))]
async fn change_password(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let current = Secret::new(body.current_password);
    let new = Secret::new(body.new_password);
    state
        .iam
        .change_password(&principal, &current, &new, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
