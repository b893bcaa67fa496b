//! Signing in and out (`/ui/login`, `/ui/logout`), as `POST /auth/login` and `/auth/logout`.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use justiam_core::CoreError;
use justiam_core::secret::Secret;
use justiam_core::time::now_millis;

use super::kit::session::{self, LOGIN_CSRF_COOKIE, LoginForm, SESSION_COOKIE};
use super::kit::{Nav, Params, UiError, UiForm, render, value, view};
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/login", get(login_page).post(login))
        .route("/ui/logout", post(logout))
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    nav: Option<Nav>,
    csrf: String,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
    /// Offers "Forgot password?" (only when mail can carry the link).
    mail_enabled: bool,
}

/// Where to go after signing in: the page asked for when it is acceptable, else the profile.
fn safe_next(next: Option<&str>) -> String {
    next.and_then(view::return_path)
        .unwrap_or("/ui/profile")
        .to_owned()
}

async fn login_response(
    state: &AppState,
    status: StatusCode,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
    existing_token: Option<String>,
) -> Result<Response, UiError> {
    let csrf = match existing_token {
        Some(t) => t,
        None => session::random_token()?,
    };
    let cookie = session::set_cookie(state, LOGIN_CSRF_COOKIE, &csrf, "/ui/login", None, "Strict");
    let csp = application_csp(state, &next).await;
    let page = LoginPage {
        nav: None,
        csrf,
        email,
        next,
        error,
        notice,
        mail_enabled: state.iam.mail_enabled(),
    };
    let mut response = (status, [(header::SET_COOKIE, cookie)], render(page)).into_response();
    if let Some(csp) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    Ok(response)
}

/// When the sign-in is for an application, the page's `form-action` also allows the origin of
/// its (registered) redirect URI: browsers check `form-action` along the redirects that follow
/// the form (login → `/oauth2/authorize` → the application).
async fn application_csp(state: &AppState, next: &str) -> Option<String> {
    let query = next.strip_prefix("/oauth2/authorize?")?;
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (client_id, redirect_uri) = (get("client_id")?, get("redirect_uri")?);
    let app = state.iam.application_by_client_id(client_id).await.ok()??;
    if !state.iam.redirect_uri_allowed(&app, redirect_uri) {
        return None;
    }
    super::csp_with_form_target(redirect_uri)
}

async fn login_page(State(state): State<AppState>, Query(q): Params) -> Result<Response, UiError> {
    // An application's `login_hint` fills in the email.
    let email = q
        .get("login_hint")
        .map(|hint| hint.chars().take(254).collect())
        .unwrap_or_default();
    let notice = match q.get("done").map(String::as_str) {
        Some("logout") => Some("You are signed out.".to_owned()),
        Some("password") => Some("Your password was changed. Sign in with the new one.".to_owned()),
        Some("reset") => Some(
            "Your new password is set and every session ended. Sign in with the new password."
                .to_owned(),
        ),
        _ => None,
    };
    login_response(
        &state,
        StatusCode::OK,
        email,
        safe_next(q.get("next").map(String::as_str)),
        None,
        notice,
        None,
    )
    .await
}

async fn login(State(state): State<AppState>, form: LoginForm) -> Result<Response, UiError> {
    let f = &form.fields;
    let email = value(f, "email");
    let next = safe_next(f.get("next"));
    let password = Secret::new(f.raw("password"));
    let refuse = async |status: StatusCode, message: String| {
        login_response(
            &state,
            status,
            email.clone(),
            next.clone(),
            Some(message),
            None,
            form.cookie_token.clone(),
        )
        .await
    };
    if email.is_empty() || password.expose().is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Enter your email address and your password.".to_owned(),
        )
        .await;
    }
    match state.iam.login(&email, &password, &form.meta).await {
        Ok(outcome) => {
            let max_age = (outcome.expires_at - now_millis()) / 1000;
            let cookie = session::set_cookie(
                &state,
                SESSION_COOKIE,
                outcome.jwt.expose(),
                "/",
                Some(max_age.max(1)),
                "Lax",
            );
            let clear = session::clear_cookie(&state, LOGIN_CSRF_COOKIE, "/ui/login");
            // The SSO session: applications sign the user in through it without a password.
            // It replaces the browser's previous one.
            if let Some(previous) = &form.previous_sso {
                state.iam.end_sso_session(previous).await?;
            }
            let (sso, sso_age) = state
                .iam
                .start_sso_session(&outcome.user, &form.meta)
                .await?;
            let sso = session::set_cookie(
                &state,
                crate::oauth::SSO_COOKIE,
                sso.expose(),
                "/",
                Some(sso_age.max(1)),
                "Lax",
            );
            let mut headers = HeaderMap::new();
            for c in [cookie, clear, sso] {
                if let Ok(v) = c.parse() {
                    headers.append(header::SET_COOKIE, v);
                }
            }
            Ok((headers, Redirect::to(&next)).into_response())
        }
        Err(CoreError::InvalidCredentials) => {
            refuse(
                StatusCode::UNAUTHORIZED,
                "The email address or the password is not right.".to_owned(),
            )
            .await
        }
        Err(CoreError::Throttled { retry_after_secs }) => refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-ins. Wait {} and try again.",
                if retry_after_secs >= 120 {
                    format!("{} minutes", retry_after_secs.div_ceil(60))
                } else {
                    format!("{retry_after_secs} seconds")
                }
            ),
        )
        .await
        .map(|mut page| {
            // As the API's `429`.
            page.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            page
        }),
        Err(CoreError::Forbidden {
            code: "account_disabled",
            ..
        }) => {
            refuse(
                StatusCode::FORBIDDEN,
                "This account is deactivated. Ask an administrator to reactivate it.".to_owned(),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: UiForm,
) -> Result<Response, UiError> {
    state
        .iam
        .logout(&form.user.principal, &form.user.meta)
        .await?;
    // Signing out of the portal signs out of the applications' SSO session too.
    if let Some(sso) = session::cookie(&headers, crate::oauth::SSO_COOKIE) {
        state.iam.end_sso_session(sso).await?;
    }
    let mut out = HeaderMap::new();
    for name in [SESSION_COOKIE, crate::oauth::SSO_COOKIE] {
        if let Ok(v) = session::clear_cookie(&state, name, "/").parse() {
            out.append(header::SET_COOKIE, v);
        }
    }
    Ok((out, Redirect::to("/ui/login?done=logout")).into_response())
}
