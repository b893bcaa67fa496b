//! `POST /oauth2/token` (RFC 6749 §3.2, §4.1.3, §4.4, §6; RFC 7636 §4.5; RFC 7523; RFC 8693).
//!
//! The grant type decides who the client is: `client_credentials` is a service account's OAuth
//! client (secret or `private_key_jwt`); the token exchange and `jwt-bearer` need no client (the
//! outside token is the credential); the other grants are applications'.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use justiam_core::service::machine::{
    ExchangeRequest, JWT_BEARER_GRANT, ServiceTokenResponse, TOKEN_EXCHANGE_GRANT,
};
use justiam_core::service::oauth::{OAuthError, TokenRequest};

use super::{authenticated_client, json_answer, read_form, refusal, service_client};
use crate::app::AppState;
use crate::http::extract::Meta;

pub async fn token(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match read_form(&headers, body).await {
        Ok(params) => params,
        Err(error) => return refusal(error),
    };
    match params.get("grant_type") {
        Some("client_credentials") => {
            let kind = match params.get("client_assertion") {
                Some(_) => "private_key_jwt",
                None => "client_secret",
            };
            let auth = match service_client(&headers, &params) {
                Ok(auth) => auth,
                Err(error) => return observed(&state, kind, Err(error)),
            };
            let answer = state
                .iam
                .client_credentials_grant(&auth, params.get("scope"), &meta)
                .await;
            return observed(&state, kind, answer);
        }
        Some(grant @ (TOKEN_EXCHANGE_GRANT | JWT_BEARER_GRANT)) => {
            let subject_token = match grant {
                JWT_BEARER_GRANT => params.owned("assertion"),
                _ => params.owned("subject_token"),
            };
            let request = ExchangeRequest {
                grant_type: grant.to_owned(),
                subject_token,
                subject_token_type: params.owned("subject_token_type"),
                scope: params.owned("scope"),
                service_account: params.owned("service_account"),
            };
            let answer = state.iam.exchange_token(&request, &meta).await;
            return observed(&state, "workload_token", answer);
        }
        _ => {}
    }
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

/// Counts a machine grant in `justiam_authentications_total` (credential `kind`), then answers.
fn observed(
    state: &AppState,
    kind: &'static str,
    answer: Result<ServiceTokenResponse, OAuthError>,
) -> Response {
    let outcome = match &answer {
        Ok(_) => "ok",
        Err(OAuthError::Refused { .. }) => "invalid",
        Err(OAuthError::Failed(_)) => "error",
    };
    state.metrics.observe_authentication(kind, outcome);
    match answer {
        Ok(answer) => json_answer(&answer),
        Err(error) => refusal(error),
    }
}
