//! Signing in and out (`/ui/login`, `/ui/logout`), as `POST /auth/login` and `/auth/logout`.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use justiam_core::CoreError;
use justiam_core::secret::Secret;
use justiam_core::service::{LoginOutcome, LoginStep};
use justiam_core::time::now_millis;

use super::kit::session::{self, LOGIN_CSRF_COOKIE, LoginForm, SESSION_COOKIE};
use super::kit::{Nav, Params, UiError, UiForm, render, value, view};
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/login", get(login_page).post(login))
        .route("/ui/login/mfa", post(login_mfa))
        .route("/ui/login/enroll", post(login_enroll))
        .route("/ui/logout", post(logout))
}

/// The second step: a code from the authenticator app, or a recovery code.
#[derive(Template)]
#[template(path = "auth/mfa.html")]
struct MfaStepPage {
    nav: Option<Nav>,
    csrf: String,
    next: String,
    mfa_token: String,
    error: Option<String>,
}

/// A login that must set up a second factor first (`MFA_ENFORCE_ENROLLMENT`): the QR code and
/// the secret (`setup`, once), the code to confirm, then the recovery codes.
#[derive(Template)]
#[template(path = "auth/enroll.html")]
struct EnrollStepPage {
    nav: Option<Nav>,
    csrf: String,
    next: String,
    enrollment_token: String,
    /// The login page again, on to the same `next`.
    sign_in_again: String,
    setup: Option<super::mfa::TotpSetupView>,
    recovery: Option<super::mfa::RecoveryCodesView>,
    error: Option<String>,
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
    let csp_next = next.clone();
    let page = LoginPage {
        nav: None,
        csrf,
        email,
        next,
        error,
        notice,
        mail_enabled: state.iam.mail_enabled(),
    };
    let response = (status, [(header::SET_COOKIE, cookie)], render(page)).into_response();
    Ok(with_application_csp(state, &csp_next, response).await)
}

/// A sign-in page whose form leads on to an application gets that application's `form-action`
/// (see [`application_csp`]).
async fn with_application_csp(state: &AppState, next: &str, mut response: Response) -> Response {
    let csp = application_csp(state, next).await;
    if let Some(csp) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
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
        Ok(LoginStep::Done(outcome)) => signed_in(&state, &form, outcome, &next).await,
        Ok(LoginStep::MfaRequired { mfa_token, .. }) => {
            let page = MfaStepPage {
                nav: None,
                csrf: form.cookie_token.clone().unwrap_or_default(),
                next: next.clone(),
                mfa_token: mfa_token.into_exposed(),
                error: None,
            };
            Ok(with_application_csp(&state, &next, render(page)).await)
        }
        Ok(LoginStep::EnrollmentRequired {
            enrollment_token, ..
        }) => {
            let who = state
                .iam
                .mfa_self_by_enrollment_token(enrollment_token.expose())
                .await?;
            let enrollment = state.iam.enroll_totp(&who).await?;
            let page = EnrollStepPage {
                nav: None,
                csrf: form.cookie_token.clone().unwrap_or_default(),
                sign_in_again: sign_in_again(&next),
                next,
                enrollment_token: enrollment_token.into_exposed(),
                setup: Some(super::mfa::TotpSetupView::new(&enrollment)?),
                recovery: None,
                error: None,
            };
            Ok(render(page))
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
            throttled_message(retry_after_secs),
        )
        .await
        .map(|page| with_retry_after(page, retry_after_secs)),
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

fn sign_in_again(next: &str) -> String {
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/ui/login?next={next}")
}

fn throttled_message(retry_after_secs: u64) -> String {
    format!(
        "Too many failed sign-ins. Wait {} and try again.",
        if retry_after_secs >= 120 {
            format!("{} minutes", retry_after_secs.div_ceil(60))
        } else {
            format!("{retry_after_secs} seconds")
        }
    )
}

/// As the API's `429`.
fn with_retry_after(mut page: Response, retry_after_secs: u64) -> Response {
    page.headers_mut()
        .insert(header::RETRY_AFTER, retry_after_secs.into());
    page
}

/// The browser is signed in: the portal session cookie, and the SSO session that signs it in to
/// applications (replacing the browser's previous one, and recording the second factor).
async fn signed_in(
    state: &AppState,
    form: &LoginForm,
    outcome: LoginOutcome,
    next: &str,
) -> Result<Response, UiError> {
    let max_age = (outcome.expires_at - now_millis()) / 1000;
    let cookie = session::set_cookie(
        state,
        SESSION_COOKIE,
        outcome.jwt.expose(),
        "/",
        Some(max_age.max(1)),
        "Lax",
    );
    let clear = session::clear_cookie(state, LOGIN_CSRF_COOKIE, "/ui/login");
    if let Some(previous) = &form.previous_sso {
        state.iam.end_sso_session(previous).await?;
    }
    let (sso, sso_age) = state
        .iam
        .start_sso_session(&outcome.user, outcome.mfa_at, &form.meta)
        .await?;
    let sso = session::set_cookie(
        state,
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
    Ok((headers, Redirect::to(next)).into_response())
}

/// The second step of the login form.
async fn login_mfa(State(state): State<AppState>, form: LoginForm) -> Result<Response, UiError> {
    let f = &form.fields;
    let next = safe_next(f.get("next"));
    let mfa_token = f.raw("mfa_token").to_owned();
    let code = f.raw("code").to_owned();
    let again = async |status: StatusCode, message: String| {
        let page = MfaStepPage {
            nav: None,
            csrf: form.cookie_token.clone().unwrap_or_default(),
            next: next.clone(),
            mfa_token: mfa_token.clone(),
            error: Some(message),
        };
        with_application_csp(&state, &next, (status, render(page)).into_response()).await
    };
    let result = state
        .iam
        .verify_mfa_login(&mfa_token, &code, &form.meta)
        .await;
    crate::http::mfa::observe(&state, &result);
    match result {
        Ok(outcome) => signed_in(&state, &form, outcome, &next).await,
        Err(CoreError::Unauthorized {
            code: "invalid_mfa_code",
            ..
        }) => Ok(again(
            StatusCode::UNAUTHORIZED,
            "That code is not right. Enter the current six digits of your authenticator app, or an unused recovery code.".to_owned(),
        )
        .await),
        Err(CoreError::Throttled { retry_after_secs }) => Ok(with_retry_after(
            again(
                StatusCode::TOO_MANY_REQUESTS,
                throttled_message(retry_after_secs),
            )
            .await,
            retry_after_secs,
        )),
        Err(CoreError::Unauthorized { .. }) => {
            login_response(
                &state,
                StatusCode::UNAUTHORIZED,
                String::new(),
                next.clone(),
                Some("The sign-in took too long or was already used. Sign in again.".to_owned()),
                None,
                form.cookie_token.clone(),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// Confirms the authenticator app set up during an enforced enrollment; shows the recovery codes,
/// then the user signs in with password and code.
async fn login_enroll(State(state): State<AppState>, form: LoginForm) -> Result<Response, UiError> {
    let f = &form.fields;
    let next = safe_next(f.get("next"));
    let token = f.raw("enrollment_token").to_owned();
    let who = match state.iam.mfa_self_by_enrollment_token(&token).await {
        Ok(who) => who,
        Err(CoreError::InvalidToken) => {
            return login_response(
                &state,
                StatusCode::UNAUTHORIZED,
                String::new(),
                next,
                Some("Setting up took too long. Sign in again to start over.".to_owned()),
                None,
                form.cookie_token.clone(),
            )
            .await;
        }
        Err(other) => return Err(other.into()),
    };
    let result = state
        .iam
        .confirm_totp(&who, f.raw("code"), &form.meta)
        .await;
    crate::http::mfa::observe(&state, &result);
    let mut page = EnrollStepPage {
        nav: None,
        csrf: form.cookie_token.clone().unwrap_or_default(),
        sign_in_again: sign_in_again(&next),
        next,
        enrollment_token: token,
        setup: None,
        recovery: None,
        error: None,
    };
    match result {
        Ok(codes) => {
            page.recovery = Some(super::mfa::RecoveryCodesView::new(codes));
            Ok(render(page))
        }
        Err(CoreError::Validation { .. }) => {
            page.error = Some(
                "That code is not right. Enter the current six digits your authenticator app shows for JustIAM."
                    .to_owned(),
            );
            Ok((StatusCode::BAD_REQUEST, render(page)).into_response())
        }
        Err(CoreError::Throttled { retry_after_secs }) => {
            page.error = Some(throttled_message(retry_after_secs));
            Ok(with_retry_after(
                (StatusCode::TOO_MANY_REQUESTS, render(page)).into_response(),
                retry_after_secs,
            ))
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
