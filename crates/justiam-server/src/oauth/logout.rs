//! `GET/POST /oauth2/logout`: OpenID Connect RP-Initiated Logout 1.0. Ends the browser's SSO
//! session, then goes to a registered `post_logout_redirect_uri` (with `state`) or to the login
//! page. A bad hint or an unregistered URI gets a page, never a redirect. Without an
//! `id_token_hint` the user is asked first (§2): a page whose form posts back here with a token
//! bound to the SSO session.

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
    logout(&state, &parts.headers, &query, false).await
}

pub async fn logout_post(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, crate::app::MAX_BODY_BYTES).await else {
        return page("The request is too large.");
    };
    logout(&state, &parts.headers, &body, true).await
}

fn page(message: &str) -> Response {
    ui::oauth_page(StatusCode::BAD_REQUEST, "Sign-out request refused", message)
}

async fn logout(state: &AppState, headers: &HeaderMap, raw: &[u8], posted: bool) -> Response {
    let params = match Params::parse(raw) {
        Ok(params) => params,
        Err(OAuthError::Refused { description, .. }) => return page(&description),
        Err(OAuthError::Failed(error)) => return ApiError::from(error).into_response(),
    };
    let cookie = ui::cookie(headers, SSO_COOKIE);
    let confirmed = match (posted, params.get("confirm"), cookie) {
        (true, Some(sent), Some(cookie)) => match state.iam.sso_session(cookie).await {
            Ok(Some(session)) => ui::same_token(sent, &ui::logout_token(state, session.id)),
            Ok(None) => false,
            Err(error) => return ApiError::from(error).into_response(),
        },
        _ => false,
    };
    let ended = state
        .iam
        .end_session(
            cookie,
            params.get("id_token_hint"),
            params.get("client_id"),
            params.get("post_logout_redirect_uri"),
            confirmed,
        )
        .await;
    let ended = match ended {
        Ok(ended) => ended,
        Err(OAuthError::Refused { description, .. }) => return page(&description),
        Err(OAuthError::Failed(error)) => return ApiError::from(error).into_response(),
    };
    if let Some(session_id) = ended.confirm {
        let fields = [
            "client_id",
            "post_logout_redirect_uri",
            "state",
            "ui_locales",
        ]
        .into_iter()
        .filter_map(|name| params.owned(name).map(|value| (name.to_owned(), value)))
        .collect();
        return ui::logout_confirm_page(
            state,
            session_id,
            fields,
            ended.post_logout_redirect_uri.as_deref(),
        );
    }
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
