//! "Forgot password?" (`/ui/forgot-password`, as `POST /auth/password-reset`) and "Choose a new
//! password" (`/ui/password-reset?token=…`, the page the mailed link opens, as
//! `POST /auth/password-reset/confirm`). Both are for people who are not signed in: their forms
//! carry the double-submit token of the login form, in a cookie scoped to each page's path.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use justiam_core::CoreError;
use justiam_core::secret::Secret;

use super::kit::session::{self, LOGIN_CSRF_COOKIE, LoginForm};
use super::kit::{Nav, Params, UiError, render, value};
use crate::app::AppState;

const FORGOT_PATH: &str = "/ui/forgot-password";
const RESET_PATH: &str = "/ui/password-reset";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(FORGOT_PATH, get(forgot_page).post(forgot))
        .route(RESET_PATH, get(reset_page).post(reset))
}

#[derive(Template)]
#[template(path = "auth/forgot_password.html")]
struct ForgotPage {
    nav: Option<Nav>,
    csrf: String,
    email: String,
    error: Option<String>,
    notice: Option<String>,
    mail_enabled: bool,
}

#[derive(Template)]
#[template(path = "auth/password_reset.html")]
struct ResetPage {
    nav: Option<Nav>,
    csrf: String,
    token: String,
    error: Option<String>,
    min_length: usize,
}

/// A page with a fresh (or the posted) double-submit token in a cookie scoped to `path`.
fn with_csrf(
    state: &AppState,
    status: StatusCode,
    path: &str,
    csrf: &str,
    body: Response,
) -> Response {
    let cookie = session::set_cookie(state, LOGIN_CSRF_COOKIE, csrf, path, None, "Strict");
    let mut response = (status, body).into_response();
    if let Ok(value) = cookie.parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn forgot_response(
    state: &AppState,
    status: StatusCode,
    csrf: Option<String>,
    email: String,
    error: Option<String>,
    notice: Option<String>,
) -> Result<Response, UiError> {
    let csrf = match csrf {
        Some(csrf) => csrf,
        None => session::random_token()?,
    };
    let page = ForgotPage {
        nav: None,
        csrf: csrf.clone(),
        email,
        error,
        notice,
        mail_enabled: state.iam.mail_enabled(),
    };
    Ok(with_csrf(state, status, FORGOT_PATH, &csrf, render(page)))
}

async fn forgot_page(State(state): State<AppState>) -> Result<Response, UiError> {
    forgot_response(&state, StatusCode::OK, None, String::new(), None, None)
}

async fn forgot(State(state): State<AppState>, form: LoginForm) -> Result<Response, UiError> {
    let email = value(&form.fields, "email");
    let csrf = form.cookie_token.clone();
    let answer = |status, error: Option<String>, notice: Option<String>| {
        forgot_response(&state, status, csrf.clone(), email.clone(), error, notice)
    };
    if email.is_empty() {
        return answer(
            StatusCode::BAD_REQUEST,
            Some("Enter the email address of your account.".to_owned()),
            None,
        );
    }
    match state.iam.request_password_reset(&email, &form.meta).await {
        // The same words whether or not the address is an account's.
        Ok(()) => answer(
            StatusCode::OK,
            None,
            Some(format!(
                "If {email} is the address of an account, a link to choose a new password is on its way. It works once, for {} minutes.",
                state.iam.settings.password_reset_ttl.as_secs() / 60
            )),
        ),
        Err(CoreError::Validation { message, .. }) => {
            answer(StatusCode::BAD_REQUEST, Some(message), None)
        }
        Err(CoreError::Throttled { .. }) => answer(
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many links were asked for this address or from your network. Try again in an hour.".to_owned()),
            None,
        ),
        Err(CoreError::Unavailable { .. }) => answer(StatusCode::SERVICE_UNAVAILABLE, None, None),
        Err(other) => Err(other.into()),
    }
}

fn reset_response(
    state: &AppState,
    status: StatusCode,
    csrf: Option<String>,
    token: String,
    error: Option<String>,
) -> Result<Response, UiError> {
    let csrf = match csrf {
        Some(csrf) => csrf,
        None => session::random_token()?,
    };
    let page = ResetPage {
        nav: None,
        csrf: csrf.clone(),
        token,
        error,
        min_length: state.iam.settings.password_min_length,
    };
    Ok(with_csrf(state, status, RESET_PATH, &csrf, render(page)))
}

async fn reset_page(State(state): State<AppState>, Query(q): Params) -> Result<Response, UiError> {
    // The token stays in the form; it is checked when the form is sent (a page view spends nothing).
    let token: String = q
        .get("token")
        .map(|t| t.chars().take(64).collect())
        .unwrap_or_default();
    reset_response(&state, StatusCode::OK, None, token, None)
}

async fn reset(State(state): State<AppState>, form: LoginForm) -> Result<Response, UiError> {
    let f = &form.fields;
    let token = value(f, "token");
    let new = f.raw("new_password");
    let refuse = |status, message: String| {
        reset_response(
            &state,
            status,
            form.cookie_token.clone(),
            token.clone(),
            Some(message),
        )
    };
    if new != f.raw("confirm_password") {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The two passwords differ. Type the same new password twice.".to_owned(),
        );
    }
    match state
        .iam
        .confirm_password_reset(&token, &Secret::new(new), &form.meta)
        .await
    {
        Ok(()) => {
            let clear = session::clear_cookie(&state, LOGIN_CSRF_COOKIE, RESET_PATH);
            Ok((
                [(header::SET_COOKIE, clear)],
                Redirect::to("/ui/login?done=reset"),
            )
                .into_response())
        }
        Err(CoreError::Validation { message, .. }) => refuse(StatusCode::BAD_REQUEST, message),
        Err(CoreError::BadRequest { .. }) => refuse(
            StatusCode::BAD_REQUEST,
            "This link is unknown, already used or expired. Ask for a new one.".to_owned(),
        ),
        Err(other) => Err(other.into()),
    }
}
