//! `/auth/login`, `/auth/logout`, `/me`, `/me/password`.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use justiam_core::secret::Secret;
use justiam_core::time::to_datetime;
use justiam_types::{ChangePassword, LoginRequest, LoginResponse, Me};

use super::extract::{Auth, Meta, StrictJson};
use super::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
        .route("/me/password", put(change_password))
}

async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let outcome = state
        .iam
        .login(&body.email, &Secret::new(body.password), &meta)
        .await?;
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

async fn logout(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
) -> Result<StatusCode, ApiError> {
    state.iam.logout(&principal, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(Auth(principal): Auth) -> Json<Me> {
    Json(Me {
        user: principal.user.to_wire(),
        permissions: principal.permissions.names(),
    })
}

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
