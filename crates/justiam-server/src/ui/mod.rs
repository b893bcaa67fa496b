//! The web UI: server-rendered pages (askama) over the same `Iam` service methods as the API.
//!
//! Sessions are the portal's own: the login JWT lives in an `HttpOnly` cookie and every request
//! passes it to `Iam::authenticate`, so a UI session is a portal session (listed, revocable, ended by
//! a password change). Every state-changing request carries a CSRF token bound to the session (see
//! [`session`]). Every response gets a strict CSP and framing, referrer and caching headers.

mod admin;
mod pages;
mod session;
mod view;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::app::AppState;
pub use session::{CSRF_FIELD, SESSION_COOKIE};

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/app.js");

/// The UI routes, all under `/ui/` (and `/` redirecting there).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/profile") }))
        .route("/ui/static/app.css", get(css))
        .route("/ui/static/app.js", get(js))
        .route("/ui/login", get(pages::login_page).post(pages::login))
        .route("/ui/logout", post(pages::logout))
        .route("/ui/profile", get(pages::profile))
        .route("/ui/profile/password", post(pages::change_password))
        .route("/ui/tokens", get(pages::tokens).post(pages::create_token))
        .route("/ui/tokens/new", get(pages::new_token))
        .route("/ui/token-created", get(pages::token_created))
        .route(
            "/ui/tokens/{id}/revoke",
            get(pages::revoke_confirm).post(pages::revoke),
        )
        .route(
            "/ui/tokens/{id}/rotate",
            get(pages::rotate_form).post(pages::rotate),
        )
        .merge(admin::routes())
        .route("/ui/{*rest}", get(not_found).post(not_found))
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

async fn not_found() -> Response {
    view::error_page(
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
