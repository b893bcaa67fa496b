//! `GET/POST /oauth2/userinfo` (OIDC Core §5.3) with a Bearer access token (RFC 6750 §2.1, or
//! §2.2 in a form body). Refusals carry `WWW-Authenticate: Bearer` (RFC 6750 §3).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Params, cors, no_store};
use crate::app::AppState;
use crate::http::ApiError;

pub async fn userinfo_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, bearer(&headers), false).await
}

pub async fn userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header_token = bearer(&headers);
    let form_token = Params::parse(&body)
        .ok()
        .and_then(|p| p.owned("access_token"));
    // RFC 6750 §2: one method per request.
    if header_token.is_some() && form_token.is_some() {
        return challenge(
            StatusCode::BAD_REQUEST,
            Some(("invalid_request", "send the access token one way only")),
        );
    }
    answer(&state, header_token.or(form_token), false).await
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

async fn answer(state: &AppState, token: Option<String>, _: bool) -> Response {
    let Some(token) = token else {
        // §3.1: no credentials, no error code.
        return challenge(StatusCode::UNAUTHORIZED, None);
    };
    match state.iam.userinfo(&token).await {
        Ok(Some(claims)) => cors(no_store(axum::Json(claims).into_response())),
        Ok(None) => challenge(
            StatusCode::UNAUTHORIZED,
            Some((
                "invalid_token",
                "the access token is malformed, expired, revoked or not for userinfo",
            )),
        ),
        Err(error) => cors(ApiError::from(error).into_response()),
    }
}

fn challenge(status: StatusCode, error: Option<(&str, &str)>) -> Response {
    let value = match error {
        Some((code, description)) => {
            format!(
                "Bearer realm=\"justiam\", error=\"{code}\", error_description=\"{description}\""
            )
        }
        None => "Bearer realm=\"justiam\"".to_owned(),
    };
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    // Browsers must be able to read the challenge of a cross-origin `fetch`.
    response.headers_mut().insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("WWW-Authenticate"),
    );
    cors(no_store(response))
}
