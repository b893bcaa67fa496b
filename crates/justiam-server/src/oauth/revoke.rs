//! `POST /oauth2/revoke` (RFC 7009), for the authenticated client.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use justiam_core::service::oauth::OAuthError;

use super::{authenticated_client, cors, no_store, read_form, refusal};
use crate::app::AppState;

pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
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
    // `token_type_hint` is only a hint (§2.1): the token's shape says what it is.
    match state.iam.revoke(&app, token).await {
        Ok(()) => cors(no_store(StatusCode::OK.into_response())),
        Err(error) => refusal(error),
    }
}
