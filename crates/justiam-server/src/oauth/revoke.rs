//! `POST /oauth2/revoke` (RFC 7009), for an authenticated application or service-account client;
//! a service account's access token may also be presented alone, as its own proof.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use justiam_core::service::machine::Revoker;
use justiam_core::service::oauth::OAuthError;
use justiam_core::token::Bearer;

use super::{Caller, cors, endpoint_caller, no_store, read_form, refusal};
use crate::app::AppState;
use crate::http::extract::Meta;

pub const PATH: &str = "/oauth2/revoke";

pub async fn revoke(
    State(state): State<AppState>,
    Meta(meta): Meta,
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
    // `token_type_hint` is only a hint (§2.1): the token's shape says what it is.
    let revoked = match caller {
        Caller::Application(app) => state.iam.revoke(&app, token).await,
        Caller::ServiceClient { client, method } => state
            .iam
            .revoke_access_token(
                Revoker::Client {
                    client: &client,
                    method,
                },
                token,
                &meta,
            )
            .await
            .map_err(OAuthError::from),
        // Only a service account's access token may be presented without a client: whoever
        // holds it may end it (the job that got it by federation has no client to authenticate).
        Caller::Anonymous => match Bearer::of(token) {
            Bearer::Access(_) => state
                .iam
                .revoke_access_token(Revoker::Token, token, &meta)
                .await
                .map_err(OAuthError::from),
            _ => Err(OAuthError::invalid_client()),
        },
    };
    match revoked {
        Ok(()) => cors(no_store(StatusCode::OK.into_response())),
        Err(error) => refusal(error),
    }
}
