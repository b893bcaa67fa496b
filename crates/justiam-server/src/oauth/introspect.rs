//! `POST /oauth2/introspect` (RFC 7662), for the authenticated client.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use justiam_core::service::oauth::OAuthError;

use super::{authenticated_client, json_answer, read_form, refusal};
use crate::app::AppState;
use crate::http::ApiError;

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match read_form(&headers, body).await {
        Ok(params) => params,
        Err(error) => return refusal(error),
    };
    let app = match authenticated_client(&state, &headers, &params).await {
        Ok(app) => app,
        Err(error) => return refusal(error),
    };
    let Some(token) = params.get("token") else {
        return refusal(OAuthError::invalid_request("token is required"));
    };
    match state.iam.introspect(&app, token).await {
        Ok(answer) => json_answer(&answer),
        Err(error) => ApiError::from(error).into_response(),
    }
}
