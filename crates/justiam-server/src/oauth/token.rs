//! `POST /oauth2/token` (RFC 6749 §3.2, §4.1.3, §6; RFC 7636 §4.5).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use justiam_core::service::oauth::TokenRequest;

use super::{authenticated_client, json_answer, read_form, refusal};
use crate::app::AppState;

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let params = match read_form(&headers, body).await {
        Ok(params) => params,
        Err(error) => return refusal(error),
    };
    let app = match authenticated_client(&state, &headers, &params).await {
        Ok(app) => app,
        Err(error) => return refusal(error),
    };
    let request = TokenRequest {
        grant_type: params.owned("grant_type"),
        code: params.owned("code"),
        redirect_uri: params.owned("redirect_uri"),
        code_verifier: params.owned("code_verifier"),
        refresh_token: params.owned("refresh_token"),
        scope: params.owned("scope"),
    };
    match state.iam.token(&app, &request).await {
        Ok(answer) => json_answer(&answer),
        Err(error) => refusal(error),
    }
}
