//! `GET/POST /oauth2/authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2).
//!
//! An unknown client or an unregistered redirect URI gets a page and is never redirected to;
//! every other error goes back to the registered URI with `error`, `error_description`, `state`
//! and `iss` (RFC 9207). Without a signed-in browser, the login page is the sign-in step: it comes
//! back here through its `next`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use justiam_core::service::oauth::{AuthorizeOutcome, AuthorizeRequest, OAuthError};
use justiam_core::time::now_millis;

use super::{Params, SSO_COOKIE, found, with_query};
use crate::app::AppState;
use crate::http::ApiError;
use crate::ui;

/// The parameter that carries "the sign-in must be at least this recent" back from the login
/// page (see `AuthorizeRequest::auth_after`).
const AUTH_AFTER: &str = "justiam_auth_after";

pub async fn authorize_get(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let query = parts.uri.query().unwrap_or_default().as_bytes().to_vec();
    let meta = ui::request_meta(&parts, &state);
    authorize(&state, &parts.headers, &query, meta).await
}

pub async fn authorize_post(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let meta = ui::request_meta(&parts, &state);
    let Ok(body) = axum::body::to_bytes(body, crate::app::MAX_BODY_BYTES).await else {
        return bad_request_page("The request is too large.");
    };
    authorize(&state, &parts.headers, &body, meta).await
}

fn bad_request_page(message: &str) -> Response {
    ui::oauth_page(StatusCode::BAD_REQUEST, "Sign-in request refused", message)
}

async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    raw: &[u8],
    meta: justiam_core::authz::RequestMeta,
) -> Response {
    let params = match Params::parse(raw) {
        Ok(params) => params,
        // The client and redirect URI cannot be trusted from an ambiguous request: a page.
        Err(OAuthError::Refused { description, .. }) => return bad_request_page(&description),
        Err(OAuthError::Failed(error)) => return ApiError::from(error).into_response(),
    };
    let now = now_millis();
    let request = AuthorizeRequest {
        response_type: params.owned("response_type"),
        client_id: params.owned("client_id"),
        redirect_uri: params.owned("redirect_uri"),
        scope: params.owned("scope"),
        state: params.owned("state"),
        nonce: params.owned("nonce"),
        code_challenge: params.owned("code_challenge"),
        code_challenge_method: params.owned("code_challenge_method"),
        prompt: params.owned("prompt"),
        max_age: params.owned("max_age"),
        login_hint: params.owned("login_hint"),
        response_mode: params.owned("response_mode"),
        request: params.owned("request"),
        request_uri: params.owned("request_uri"),
        // Only a time already past can be the login page's: a later one is ignored.
        auth_after: params
            .get(AUTH_AFTER)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|at| *at <= now),
    };
    let session = match ui::cookie(headers, SSO_COOKIE) {
        Some(cookie) => match state.iam.sso_session(cookie).await {
            Ok(session) => session,
            Err(error) => return ApiError::from(error).into_response(),
        },
        None => None,
    };
    let outcome = match state.iam.authorize(&request, session, &meta).await {
        Ok(outcome) => outcome,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let issuer = state.iam.issuer().to_owned();
    match outcome {
        AuthorizeOutcome::ErrorPage { message } => bad_request_page(&message),
        AuthorizeOutcome::Login {
            auth_after,
            login_hint,
        } => {
            // Back here after the sign-in, with the same parameters (a POST becomes a GET).
            let mut back: Vec<(&str, &str)> = params
                .pairs()
                .iter()
                .filter(|(k, _)| k != AUTH_AFTER)
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let after = auth_after.map(|at| at.to_string());
            if let Some(after) = &after {
                back.push((AUTH_AFTER, after));
            }
            let next = with_query("/oauth2/authorize", &back);
            let mut login: Vec<(&str, &str)> = vec![("next", &next)];
            if let Some(hint) = &login_hint {
                login.push(("login_hint", hint));
            }
            found(&with_query("/ui/login", &login))
        }
        AuthorizeOutcome::AccessDenied {
            application,
            redirect_uri,
            state: client_state,
        } => {
            let mut back = vec![
                ("error", "access_denied"),
                (
                    "error_description",
                    "the user is not allowed to sign in to this application",
                ),
            ];
            if let Some(s) = &client_state {
                back.push(("state", s));
            }
            back.push(("iss", &issuer));
            let link = with_query(&redirect_uri, &back);
            ui::access_denied_page(&application, &link)
        }
        AuthorizeOutcome::ErrorRedirect {
            redirect_uri,
            error,
            description,
            state: client_state,
        } => {
            let mut back = vec![("error", error), ("error_description", &description)];
            if let Some(s) = &client_state {
                back.push(("state", s));
            }
            back.push(("iss", &issuer));
            found(&with_query(&redirect_uri, &back))
        }
        AuthorizeOutcome::Code {
            redirect_uri,
            code,
            state: client_state,
        } => {
            let mut back = vec![("code", code.as_str())];
            if let Some(s) = &client_state {
                back.push(("state", s));
            }
            back.push(("iss", &issuer));
            found(&with_query(&redirect_uri, &back))
        }
    }
}
