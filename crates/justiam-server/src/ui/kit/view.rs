//! What every page shares: the navigation, errors as pages, field errors and time formatting.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use justiam_core::CoreError;

use crate::telemetry::request_id::current_request_id;
use justiam_core::model::Permission;
use justiam_core::time::{DAY_MS, HOUR_MS, MINUTE_MS, Millis, now_millis, to_datetime};

use super::session::UiUser;

/// The header of every page for a logged-in user: who, the CSRF token, and the links they may use.
#[derive(Debug, Clone)]
pub struct Nav {
    pub email: String,
    pub csrf: String,
    pub current: &'static str,
    pub users: bool,
    pub groups: bool,
    pub roles: bool,
    pub audit: bool,
    pub sessions: bool,
    /// The token inventory: every token for an administrator, service accounts' for a holder of
    /// `service_accounts.tokens`.
    pub inventory: bool,
}

impl Nav {
    pub fn new(user: &UiUser, current: &'static str) -> Nav {
        let p = &user.principal;
        Nav {
            email: user.email().to_owned(),
            csrf: user.csrf.clone(),
            current,
            users: p.has(Permission::UsersView),
            groups: p.has(Permission::GroupsView),
            roles: p.has(Permission::AdminRolesManage),
            audit: p.has(Permission::AuditView),
            sessions: p.has(Permission::SessionsView),
            inventory: p.has(Permission::ServiceAccountsTokens),
        }
    }
}

/// Validation messages by field, shown next to the field.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_owned(), message.into()));
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Takes a service error that belongs on a form: a validation error goes next to its field
    /// (mapped to the form's field name), a conflict or bad request to `fallback`. Anything else
    /// (permission, not found, database) is returned as a page error.
    pub fn from_core(
        error: CoreError,
        fallback: &str,
        rename: &[(&str, &str)],
    ) -> Result<FieldErrors, UiError> {
        let mut errors = FieldErrors::default();
        match error {
            CoreError::Validation { field, message } => {
                let field = rename
                    .iter()
                    .find(|(from, _)| *from == field)
                    .map(|(_, to)| (*to).to_owned())
                    .unwrap_or(field);
                errors.add(&field, sentence(&message));
            }
            CoreError::Conflict { message, .. } | CoreError::BadRequest { message, .. } => {
                errors.add(fallback, sentence(&message))
            }
            CoreError::CannotGrant(_) | CoreError::Outranked(_) => {
                errors.add(fallback, sentence(&error.to_string()))
            }
            other => return Err(other.into()),
        }
        Ok(errors)
    }
}

/// `name must be …` → `Name must be …`, with underscores as spaces in the first word.
pub fn sentence(message: &str) -> String {
    let message = message
        .replacen("expires_in_days", "The expiry", 1)
        .replacen("grace_period_seconds", "The grace period", 1)
        .replacen("current_password", "The current password", 1)
        .replacen("new_password", "The new password", 1)
        .replacen("first_name", "The first name", 1)
        .replacen("last_name", "The last name", 1)
        .replacen("role_id", "The role", 1);
    let mut chars = message.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => message,
    }
}

/// Where a sign-in may send the browser on: a portal page (`/ui/…`, so never another host, and
/// not the login page itself) or the authorization endpoint (`/oauth2/authorize?…`), without a `\` (which browsers read as `/`), and written in
/// printable ASCII only — a CR, LF, space or non-ASCII byte cannot stand in a `Location` header
/// and the redirect would fail with a 500. Every redirect to a user-given `next` goes through this.
pub fn return_path(next: &str) -> Option<&str> {
    // `/oauth2/authorize?…`: the login page as the sign-in step of an application.
    let acceptable = (next.starts_with("/ui/") || next.starts_with("/oauth2/authorize?"))
        && !next.starts_with("/ui/login")
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    acceptable.then_some(next)
}

/// A page-level failure.
#[derive(Debug)]
pub enum UiError {
    /// Not logged in (or the session ended): to the login page, then back to `next`.
    Login { next: String },
    /// A form without a valid CSRF token.
    Csrf,
    Page {
        status: StatusCode,
        title: String,
        message: String,
        /// `Retry-After` seconds of a `429`.
        retry_after: Option<u64>,
    },
}

impl UiError {
    pub fn page(status: StatusCode, title: &str, message: impl Into<String>) -> UiError {
        UiError::Page {
            status,
            title: title.to_owned(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn internal(message: &str) -> UiError {
        tracing::error!(
            request_id = current_request_id().as_str(),
            message,
            "UI request failed"
        );
        UiError::page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The server could not complete this request. Try again in a moment.",
        )
    }

    pub fn not_found() -> UiError {
        UiError::page(
            StatusCode::NOT_FOUND,
            "Not found",
            "What you are looking for does not exist (any more).",
        )
    }
}

impl From<CoreError> for UiError {
    /// The API's table (`ApiError`) decides status and headers — a page answers exactly what the
    /// same call would answer on the API (`429` with `Retry-After`, `503` while the database is
    /// down, …) and server-side failures are logged once, there; the page only words it for people.
    fn from(error: CoreError) -> Self {
        let missing = match &error {
            // Not signed in (any more): to the sign-in page rather than a 401 page.
            CoreError::InvalidToken => {
                return UiError::Login {
                    next: String::new(),
                };
            }
            CoreError::MissingPermission(p) => Some(*p),
            _ => None,
        };
        let answer = crate::http::ApiError::from(error);
        let status = answer.status();
        let (title, message) = match (status, missing) {
            (StatusCode::FORBIDDEN, Some(p)) => (
                "You do not have access to this page",
                format!(
                    "This needs the permission “{p}”, which your account does not hold. Ask an administrator if you need it."
                ),
            ),
            (StatusCode::FORBIDDEN, None) => ("Not allowed", sentence(answer.message())),
            (StatusCode::NOT_FOUND, _) => ("Not found", sentence(answer.message())),
            (StatusCode::TOO_MANY_REQUESTS, _) => ("Too many attempts", sentence(answer.message())),
            (StatusCode::SERVICE_UNAVAILABLE, _) => (
                "Try again in a moment",
                "The server cannot reach its database just now. Try again in a moment.".to_owned(),
            ),
            (s, _) if s.is_server_error() => (
                "Something went wrong",
                "The server could not complete this request. Try again in a moment.".to_owned(),
            ),
            _ => ("This could not be done", sentence(answer.message())),
        };
        UiError::Page {
            status,
            title: title.to_owned(),
            message,
            retry_after: answer.retry_after(),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::Login { next } => {
                let target = match return_path(&next) {
                    Some(next) => format!("/ui/login?next={}", encode(next)),
                    None => "/ui/login".to_owned(),
                };
                Redirect::to(&target).into_response()
            }
            UiError::Csrf => error_page(
                None,
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form was refused because its security token is missing or out of date. Go back, reload the page and try again.",
            ),
            UiError::Page {
                status,
                title,
                message,
                retry_after,
            } => {
                let mut response = error_page(None, status, &title, &message);
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, seconds.into());
                }
                response
            }
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub nav: Option<Nav>,
    pub status: u16,
    pub title: &'a str,
    pub message: &'a str,
}

pub fn error_page(nav: Option<Nav>, status: StatusCode, title: &str, message: &str) -> Response {
    let page = ErrorPage {
        nav,
        status: status.as_u16(),
        title,
        message,
    };
    (status, render(page)).into_response()
}

/// Renders a page, or a 500 when the template fails.
pub fn render<T: Template>(page: T) -> Response {
    match page.render() {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(request_id = current_request_id().as_str(), error = %e, "template failed");
            UiError::internal("template").into_response()
        }
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `2026-03-01 14:05 UTC`.
pub fn when(at: Millis) -> String {
    to_datetime(at).format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `in 3 days`, `2 hours ago`, … relative to now.
pub fn relative(at: Millis) -> String {
    let now = now_millis();
    let delta = at - now;
    let span = delta.abs();
    let amount = if span >= DAY_MS {
        plural(span / DAY_MS, "day")
    } else if span >= HOUR_MS {
        plural(span / HOUR_MS, "hour")
    } else if span >= MINUTE_MS {
        plural(span / MINUTE_MS, "minute")
    } else {
        return "just now".to_owned();
    };
    if delta > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Pagination links of a list.
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: u32,
    pub pages: u64,
    pub total: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// `base` is the list URL with its other query parameters, ending in `?` or `&`.
    pub fn new(base: &str, page: u32, limit: u32, total: u64) -> Pager {
        let pages = total.div_ceil(u64::from(limit.max(1))).max(1);
        Pager {
            page,
            pages,
            total,
            prev: (page > 1).then(|| format!("{base}page={}", page - 1)),
            next: (u64::from(page) < pages).then(|| format!("{base}page={}", page + 1)),
        }
    }
}

/// The `page` query value: a positive number, else 1.
pub fn page_number(raw: Option<&str>) -> u32 {
    raw.and_then(|p| p.parse::<u32>().ok())
        .filter(|p| *p > 0)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ApiError;
    use justiam_core::model::Permission;

    /// One error of each kind (built twice: `CoreError` is not `Clone`).
    fn errors() -> Vec<CoreError> {
        vec![
            CoreError::validation("name", "name is required"),
            CoreError::bad_request("not_a_service_account", "not a service account"),
            CoreError::not_found("token"),
            CoreError::conflict("conflict", "exists"),
            CoreError::MissingPermission(Permission::UsersView),
            CoreError::CannotGrant(Permission::UsersDelete),
            CoreError::forbidden("account_disabled", "deactivated"),
            CoreError::InvalidCredentials,
            CoreError::Throttled {
                retry_after_secs: 42,
            },
            CoreError::Database(sqlx::Error::PoolTimedOut),
            CoreError::Database(sqlx::Error::RowNotFound),
            CoreError::Internal(anyhow::anyhow!("boom")),
        ]
    }

    #[test]
    fn pages_answer_the_status_and_retry_after_of_the_api() {
        for (ui, api) in errors().into_iter().zip(errors()) {
            let shown = format!("{api:?}");
            let page = UiError::from(ui).into_response();
            let json = ApiError::from(api).into_response();
            assert_eq!(page.status(), json.status(), "{shown}");
            assert_eq!(
                page.headers().get(header::RETRY_AFTER),
                json.headers().get(header::RETRY_AFTER),
                "{shown}"
            );
        }
        let throttled = UiError::from(CoreError::Throttled {
            retry_after_secs: 42,
        })
        .into_response();
        assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(throttled.headers()[header::RETRY_AFTER], "42");
        let down = UiError::from(CoreError::Database(sqlx::Error::PoolClosed)).into_response();
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
