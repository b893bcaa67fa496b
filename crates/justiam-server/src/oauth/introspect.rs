//! `POST /oauth2/introspect` (RFC 7662), for an authenticated application or service-account
//! client.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use justiam_core::service::oauth::OAuthError;

use super::{Caller, endpoint_caller, json_answer, read_form, refusal};
use crate::app::AppState;
use crate::http::ApiError;

pub const PATH: &str = "/oauth2/introspect";

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match read_form(&headers, body).await {
        Ok(params) => params,
        Err(error) => return refusal(error),
    };
    let caller = match endpoint_caller(&state, &headers, &params, PATH).await {
        Ok(caller) => caller,
        Err(error) => return refusal(error),
    };
    let Some(token) = params.get("token") else {
        return refusal(OAuthError::invalid_request("token is required"));
    };
    // RFC 7662 §2.1: the caller must be authorized, or anyone could scan for live tokens.
    let answer = match caller {
        Caller::Application(app) => state.iam.introspect(&app, token).await,
        Caller::ServiceClient { client, .. } => {
            state.iam.introspect_as_service_client(&client, token).await
        }
        Caller::Anonymous => return refusal(OAuthError::invalid_client()),
    };
    match answer {
        Ok(answer) => json_answer(&answer),
        Err(error) => ApiError::from(error).into_response(),
    }
}
