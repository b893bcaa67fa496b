//! `GET /.well-known/jwks.json`: the public signing keys (RFC 7517), the active one and those
//! rotated out but still verifying unexpired tokens.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::ApiError;

pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.iam.jwks().await {
        Ok(keys) => {
            let mut response = axum::Json(serde_json::json!({ "keys": keys })).into_response();
            // Short: a relying party should see a rotation soon (it also refetches on an unknown kid).
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            );
            super::cors(response)
        }
        Err(error) => ApiError::from(error).into_response(),
    }
}
