//! The web UI: server-rendered pages (askama) over the same `Iam` service methods as the API.
//!
//! Sessions are the portal's own: the login JWT lives in an `HttpOnly` cookie and every request
//! passes it to `Iam::authenticate`, so a UI session is a portal session (listed, revocable, ended by
//! a password change). Every state-changing request carries a CSRF token bound to the session (see
//! [`kit::session`]). Every response gets a strict CSP and framing, referrer and caching headers.
//!
//! The layout follows the API's: one module per resource ([`auth`], [`profile`], [`tokens`],
//! [`users`], [`groups`], [`roles`], [`applications`], [`audit`], [`sessions`]), each with its
//! `routes()` merged here and its templates in `templates/<resource>/`, all built from one [`kit`]
//! (session and CSRF, the navigation, errors as pages, forms, lists, the confirmation page). A
//! handler calls the `Iam` method the API calls, which checks the permission; a confirmation page
//! first asks the service whether the action is allowed (`Iam::check_can_*`), so it refuses what
//! the action would.

mod applications;
mod audit;
mod auth;
mod groups;
mod kit;
mod machine;
mod mfa;
mod password_reset;
mod profile;
mod roles;
mod sessions;
mod tokens;
mod users;
mod webhooks;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use justiam_core::CoreError;
use justiam_core::model::Permission;

use crate::app::AppState;
pub use kit::session::{CSRF_FIELD, SESSION_COOKIE, cookie, request_meta, same_token};
use kit::{Nav, UiError, UiUser, redirect};

/// A page of the OpenID Connect provider's own (`/oauth2/*`), without navigation.
pub fn oauth_page(status: StatusCode, title: &str, message: &str) -> Response {
    with_page_headers(kit::view::error_page(None, status, title, message))
}

#[derive(askama::Template)]
#[template(path = "oauth/access_denied.html")]
struct AccessDeniedPage<'a> {
    nav: Option<Nav>,
    application: &'a str,
    link: &'a str,
}

/// `access_restricted` without a grant: says so in plain words, with the way back to the
/// application (which then receives `error=access_denied`).
pub fn access_denied_page(application: &str, link: &str) -> Response {
    let page = AccessDeniedPage {
        nav: None,
        application,
        link,
    };
    with_page_headers((StatusCode::FORBIDDEN, kit::render(page)).into_response())
}

#[derive(askama::Template)]
#[template(path = "oauth/logout_confirm.html")]
struct LogoutConfirmPage {
    nav: Option<Nav>,
    fields: Vec<(String, String)>,
}

/// RP-initiated logout without an `id_token_hint`: asks the user first. The form carries a
/// token bound to the SSO session (as the UI's CSRF tokens are) and the request's parameters.
pub fn logout_confirm_page(
    state: &AppState,
    session_id: uuid::Uuid,
    mut fields: Vec<(String, String)>,
    redirect: Option<&str>,
) -> Response {
    fields.push(("confirm".to_owned(), logout_token(state, session_id)));
    let page = LogoutConfirmPage { nav: None, fields };
    let mut response = with_page_headers(kit::render(page));
    if let Some(csp) = redirect
        .and_then(csp_with_form_target)
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// The confirmation token of a logout for SSO session `session_id`.
pub fn logout_token(state: &AppState, session_id: uuid::Uuid) -> String {
    kit::session::csrf_token(state, session_id)
}

/// [`CSP`] with `form-action` also allowing the origin of `uri`: browsers check `form-action`
/// along the redirects that follow a form, which may end at an application.
pub fn csp_with_form_target(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    let origin = format!("{scheme}://{host}");
    let safe = origin
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'.' | b'-' | b'[' | b']'));
    safe.then(|| {
        CSP.replace(
            "form-action 'self'",
            &format!("form-action 'self' {origin}"),
        )
    })
}

/// Clears cookie `name` (path `/`) with the UI's attributes.
pub fn clear_cookie_for(state: &AppState, name: &str) -> String {
    kit::session::clear_cookie(state, name, "/")
}

fn with_page_headers(response: Response) -> Response {
    let mut response = response;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/app.js");

/// The UI routes, all under `/ui/` (and `/` redirecting there).
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/profile") }))
        .route("/ui/static/app.css", get(css))
        .route("/ui/static/app.js", get(js))
        .route("/ui/admin", get(admin))
        .merge(auth::routes())
        .merge(profile::routes())
        .merge(mfa::routes())
        .merge(tokens::routes())
        .merge(users::routes())
        .merge(groups::routes())
        .merge(roles::routes())
        .merge(applications::routes())
        .merge(audit::routes())
        .merge(sessions::routes())
        .merge(password_reset::routes())
        .merge(webhooks::routes())
        .merge(machine::routes())
        .route("/ui/{*rest}", get(not_found).post(not_found))
        .layer(axum::middleware::from_fn_with_state(
            state,
            kit::view::with_nav,
        ))
        .layer(axum::middleware::map_response(headers))
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Administration: the first of its pages the user may open.
async fn admin(user: UiUser) -> Result<Response, UiError> {
    let nav = Nav::new(&user, "admin");
    let first = [
        (nav.users, "/ui/admin/users"),
        (nav.groups, "/ui/admin/groups"),
        (nav.roles, "/ui/admin/roles"),
        (nav.applications, "/ui/admin/applications"),
        (nav.audit, "/ui/admin/audit"),
        (nav.sessions, "/ui/admin/sessions"),
        (nav.webhooks, "/ui/admin/webhooks"),
    ]
    .into_iter()
    .find(|(may, _)| *may);
    match first {
        Some((_, to)) => redirect(to),
        None => Err(CoreError::MissingPermission(Permission::UsersView).into()),
    }
}

async fn not_found() -> Response {
    kit::view::error_page(
        None,
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
    )
}

/// The content security policy of every UI response: no inline script or style, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

async fn headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    // The login page of a sign-in for an application sets its own, wider `form-action`.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    // Pages show personal data, and some a token value once: never cache them.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
