//! `GET/POST /oauth2/logout`: OpenID Connect RP-Initiated Logout 1.0. Ends the browser's SSO
//! session, then goes to a registered `post_logout_redirect_uri` (with `state`) or to the login
//! page. A bad hint or an unregistered URI gets a page, never a redirect.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use justiam_core::service::oauth::OAuthError;

use super::{Params, SSO_COOKIE, found, with_query};
use crate::app::AppState;
use crate::http::ApiError;
use crate::ui;

pub async fn logout_get(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let query = parts.uri.query().unwrap_or_default().as_bytes().to_vec();
    logout(&state, &parts.headers, &query).await
}

pub async fn logout_post(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, crate::app::MAX_BODY_BYTES).await else {
        return page("The request is too large.");
    };
    logout(&state, &parts.headers, &body).await
}

fn page(message: &str) -> Response {
    ui::oauth_page(StatusCode::BAD_REQUEST, "Sign-out request refused", message)
}

async fn logout(state: &AppState, headers: &HeaderMap, raw: &[u8]) -> Response {
    let params = match Params::parse(raw) {
        Ok(params) => params,
        Err(OAuthError::Refused { description, .. }) => return page(&description),
        Err(OAuthError::Failed(error)) => return ApiError::from(error).into_response(),
    };
    let ended = state
        .iam
        .end_session(
            ui::cookie(headers, SSO_COOKIE),
            params.get("id_token_hint"),
            params.get("client_id"),
            params.get("post_logout_redirect_uri"),
        )
        .await;
    let ended = match ended {
        Ok(ended) => ended,
        Err(OAuthError::Refused { description, .. }) => return page(&description),
        Err(OAuthError::Failed(error)) => return ApiError::from(error).into_response(),
    };
    let mut response = match ended.post_logout_redirect_uri {
        Some(uri) => {
            let back: Vec<(&str, &str)> = params
                .get("state")
                .map(|s| vec![("state", s)])
                .unwrap_or_default();
            found(&if back.is_empty() {
                uri
            } else {
                with_query(&uri, &back)
            })
        }
        None => found("/ui/login?done=logout"),
    };
    // The browser forgets the SSO session.
    for name in [SSO_COOKIE] {
        if let Ok(value) = HeaderValue::from_str(&ui::clear_cookie_for(state, name)) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
