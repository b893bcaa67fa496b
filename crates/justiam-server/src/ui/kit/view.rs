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
    pub applications: bool,
    pub audit: bool,
    pub sessions: bool,
    /// The token inventory: every token for an administrator, service accounts' for a holder of
    /// `service_accounts.tokens`.
    pub inventory: bool,
    /// Webhooks: administrators (`is_admin`) only.
    pub webhooks: bool,
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
            applications: p.has(Permission::AppsView),
            audit: p.has(Permission::AuditView),
            sessions: p.has(Permission::SessionsView),
            inventory: p.has(Permission::ServiceAccountsTokens),
            webhooks: p.is_admin(),
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
        let renamed = |field: &str| {
            rename
                .iter()
                .find(|(from, _)| *from == field)
                .map_or(field.to_owned(), |(_, to)| (*to).to_owned())
        };
        match error {
            CoreError::Validation { field, message } => {
                errors.add(&renamed(&field), sentence(&message));
            }
            CoreError::Conflict { message, .. } | CoreError::BadRequest { message, .. } => {
                errors.add(fallback, sentence(&message))
            }
            CoreError::CannotGrant(_) | CoreError::Outranked(_) => {
                errors.add(fallback, sentence(&error.to_string()))
            }
            CoreError::OwnerLacks(_) => {
                errors.add(&renamed("permissions"), sentence(&error.to_string()))
            }
            other => return Err(other.into()),
        }
        Ok(errors)
    }
}

/// The words the forms show for the API's names. The service words a refusal for the API
/// (`expires_in_days must be an integer between 1 and 365`, part of the API's contract); a person
/// reads the label of the field they filled in, so every message a page shows goes through
/// [`sentence`], which puts these labels in place of the API's names.
const LABELS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("description", "Description"),
    ("email", "Email"),
    ("password", "Password"),
    ("current_password", "Current password"),
    ("new_password", "New password"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("expires_in_days", "Expiry"),
    ("grace_period_seconds", "Grace period"),
    ("permissions", "Permissions"),
    ("role_id", "Role"),
    ("user_id", "User"),
    ("group_id", "Group"),
    ("mapping_id", "Mapping"),
    ("friendly_name", "Friendly name"),
    ("redirect_uris", "Redirect URIs"),
    ("post_logout_redirect_uris", "Post-logout redirect URIs"),
    ("allowed_scopes", "Allowed scopes"),
    ("grant_types", "Grant types"),
    ("authorization_code", "Authorization code"),
    ("refresh_token", "Refresh token"),
    ("require_pkce", "Require PKCE"),
    ("token_expiry", "Token lifetime"),
    ("launch_url", "Dashboard link"),
    ("claim_mappings", "Claim mappings"),
    ("required_scope", "Required scope"),
    ("variable_name", "Variable"),
];

/// The unit of a field whose API rule is a bare range (`… between 1 and 365`).
const UNITS: &[(&str, &str)] = &[
    ("expires_in_days", "days"),
    ("grace_period_seconds", "seconds"),
    ("token_expiry", "seconds"),
];

fn label(name: &str) -> Option<&'static str> {
    LABELS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

/// A message of the service as a sentence for people, the one place the UI words refusals:
/// `expires_in_days must be an integer between 1 and 365` → `Expiry must be between 1 and 365
/// days.` The API's names become the forms' labels (the first word of a message names its field;
/// elsewhere only snake_case names are taken for fields, so plain words stay), `` `x` `` becomes
/// “x”, and the sentence starts with a capital and ends with a full stop. What the person typed
/// (in `"…"`) is left as it is.
pub fn sentence(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 16);
    let mut rest = message;
    let mut first = true;
    let mut unit = None;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_alphanumeric() || c == '_' {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let word = &rest[..end];
            rest = &rest[end..];
            let named = label(word).filter(|_| first || word.contains('_'));
            match named {
                Some(l) if first => {
                    out.push_str(l);
                    unit = UNITS.iter().find(|(n, _)| *n == word).map(|(_, u)| *u);
                }
                Some(l) => out.push_str(&mid_sentence(l)),
                None => out.push_str(word),
            }
            // `redirect_uris[2]`: the third line of the box.
            if named.is_some() {
                rest = index_as_line(rest, &mut out);
            }
        } else if c == '"' || c == '`' {
            // Quoted: the person's input (kept) or a name such as a permission (in “…”).
            let close = rest[1..].find(c).map(|i| i + 1);
            let (quoted, after) = match close {
                Some(i) => (&rest[..=i], &rest[i + 1..]),
                None => (rest, ""),
            };
            if c == '`' && quoted.len() >= 2 {
                out.push('“');
                out.push_str(&quoted[1..quoted.len() - 1]);
                out.push('”');
            } else {
                out.push_str(quoted);
            }
            rest = after;
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        first = false;
    }
    let mut out = match unit {
        Some(unit) => with_unit(&out, unit),
        None => out,
    };
    let mut chars = out.chars();
    if let Some(c) = chars.next().filter(char::is_ascii_lowercase) {
        out = c.to_uppercase().chain(chars).collect();
    }
    if !out.is_empty() && !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// A label inside a sentence: `Dashboard link` → `dashboard link`, `Require PKCE` stays in capitals
/// where it is an abbreviation.
fn mid_sentence(label: &str) -> String {
    let mut chars = label.chars();
    match (chars.next(), label.chars().nth(1)) {
        (Some(c), Some(next)) if next.is_ascii_lowercase() => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => label.to_owned(),
    }
}

/// After a field's name, `[2]` (the API's index into a list) is said as ` (line 3)`, and a
/// following `.` (a member of that entry) as a space.
fn index_as_line<'a>(rest: &'a str, out: &mut String) -> &'a str {
    let Some(inner) = rest.strip_prefix('[') else {
        return rest;
    };
    let Some(close) = inner.find(']') else {
        return rest;
    };
    let Ok(index) = inner[..close].parse::<u64>() else {
        return rest;
    };
    out.push_str(&format!(" (line {})", index.saturating_add(1)));
    let after = &inner[close + 1..];
    match after.strip_prefix('.') {
        Some(member) => {
            out.push(' ');
            member
        }
        None => after,
    }
}

/// `Expiry must be an integer between 1 and 365` → `Expiry must be between 1 and 365 days`.
fn with_unit(message: &str, unit: &str) -> String {
    let message = message.replacen(" an integer between ", " between ", 1);
    let bare_range = message
        .rsplit_once(" between ")
        .is_some_and(|(_, range)| range.split(" and ").all(|n| n.parse::<i64>().is_ok()));
    if bare_range {
        format!("{message} {unit}")
    } else {
        message
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
            (StatusCode::FORBIDDEN, None) if answer.code() == "mfa_reauth_required" => (
                "Confirm it is you",
                "This creates a long-lived credential, which needs a recent code of your authenticator app. \
                 Enter one under Profile → Two-factor authentication → Confirm it is you, then do this again. \
                 (A personal access token cannot confirm a second factor: sign in to do this.)"
                    .to_owned(),
            ),
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
                crate::http::error::close_if_body_unread(status, response.headers_mut());
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
    let bare = nav.is_none();
    let page = ErrorPage {
        nav,
        status: status.as_u16(),
        title,
        message,
    };
    let mut response = (status, render(page)).into_response();
    if bare {
        response.extensions_mut().insert(BareErrorPage {
            status,
            title: title.to_owned(),
            message: message.to_owned(),
        });
    }
    response
}

/// An error page drawn without the navigation (its handler had no session at hand):
/// [`with_nav`] draws it again with the navigation and Sign out when the request was signed in.
#[derive(Debug, Clone)]
pub struct BareErrorPage {
    status: StatusCode,
    title: String,
    message: String,
}

/// Middleware of the UI routes: a 403, 404 or other error page answered to someone signed in keeps
/// the navigation and Sign out. Only error pages pay for the second look at the session.
pub async fn with_nav(
    axum::extract::State(state): axum::extract::State<crate::app::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut probe = axum::http::Request::new(());
    *probe.method_mut() = request.method().clone();
    *probe.uri_mut() = request.uri().clone();
    *probe.headers_mut() = request.headers().clone();
    let response = next.run(request).await;
    let Some(bare) = response.extensions().get::<BareErrorPage>().cloned() else {
        return response;
    };
    let (mut parts, ()) = probe.into_parts();
    match <UiUser as axum::extract::FromRequestParts<_>>::from_request_parts(&mut parts, &state)
        .await
    {
        Ok(user) => {
            let mut again = error_page(
                Some(Nav::new(&user, "")),
                bare.status,
                &bare.title,
                &bare.message,
            );
            // The headers the first answer chose (Retry-After, …) stay.
            for (name, value) in response.headers() {
                if name != header::CONTENT_LENGTH {
                    again.headers_mut().insert(name.clone(), value.clone());
                }
            }
            again
        }
        Err(_) => response,
    }
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

/// A time shown as `<time datetime="{iso}" title="{utc}">{utc}</time>` (`templates/time.html`):
/// the script turns the text into the reader's local time and keeps UTC on hover.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// `2026-03-01T14:05:00Z`.
    pub iso: String,
    /// `2026-03-01 14:05 UTC`.
    pub utc: String,
}

pub fn stamp(at: Millis) -> Stamp {
    Stamp {
        iso: to_datetime(at).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        utc: when(at),
    }
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
        return if delta > 0 {
            "in less than a minute"
        } else {
            "just now"
        }
        .to_owned();
    };
    if delta > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

pub fn plural(n: i64, unit: &str) -> String {
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
    fn refusals_are_worded_with_the_forms_labels() {
        for (api, shown) in [
            (
                "expires_in_days must be an integer between 1 and 365",
                "Expiry must be between 1 and 365 days.",
            ),
            (
                "grace_period_seconds must be between 0 and 604800",
                "Grace period must be between 0 and 604800 seconds.",
            ),
            (
                "token_expiry must be between 60 and 86400 seconds",
                "Token lifetime must be between 60 and 86400 seconds.",
            ),
            (
                "name must be at most 100 characters",
                "Name must be at most 100 characters.",
            ),
            (
                "new_password must be at least 12 characters",
                "New password must be at least 12 characters.",
            ),
            (
                "give exactly one of user_id and group_id",
                "Give exactly one of user and group.",
            ),
            (
                "grant_types must include authorization_code (refresh_token alone issues nothing)",
                "Grant types must include authorization code (refresh token alone issues nothing).",
            ),
            (
                "redirect_uris[1] repeats \"https://a.example/cb\"",
                "Redirect URIs (line 2) repeats \"https://a.example/cb\".",
            ),
            (
                "claim_mappings[0].required_scope \"x_y\" is not in allowed_scopes",
                "Claim mappings (line 1) required scope \"x_y\" is not in allowed scopes.",
            ),
            (
                "you cannot grant the permission `users.delete` because you do not hold it yourself",
                "You cannot grant the permission “users.delete” because you do not hold it yourself.",
            ),
            ("token not found", "Token not found."),
            ("Already a sentence.", "Already a sentence."),
            ("", ""),
        ] {
            assert_eq!(sentence(api), shown, "{api}");
        }
    }

    #[test]
    fn a_validation_error_is_said_next_to_its_field_in_words() {
        let errors = FieldErrors::from_core(
            CoreError::validation(
                "grace_period_seconds",
                "grace_period_seconds must be an integer between 0 and 86400",
            ),
            "name",
            &[("grace_period_seconds", "grace")],
        )
        .expect("a field error");
        assert_eq!(
            errors.get("grace"),
            Some("Grace period must be between 0 and 86400 seconds.")
        );
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
