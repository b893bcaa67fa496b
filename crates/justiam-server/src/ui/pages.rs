//! Login, logout, Profile (details, permissions, password) and Personal Access Tokens.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use justiam_core::CoreError;
use justiam_core::model::{PageRequest, Permission, PermissionSet, Token};
use justiam_core::secret::Secret;
use justiam_core::service::TokenOwner;
use justiam_core::time::{DAY_MS, now_millis};
use justiam_types::{CreateToken, RotateToken};
use uuid::Uuid;

use super::session::{
    self, Fields, LOGIN_CSRF_COOKIE, LoginForm, NEW_TOKEN_COOKIE, SESSION_COOKIE, UiForm, UiUser,
};
use super::view::{self, FieldErrors, Nav, Pager, UiError, relative, render, when};
use crate::app::AppState;

type Params = Query<HashMap<String, String>>;

// ---------------------------------------------------------------- helpers of every page

/// A page again with what was refused in its form: 400.
pub fn bad_request(page: impl Template) -> Result<Response, UiError> {
    Ok((StatusCode::BAD_REQUEST, render(page)).into_response())
}

/// The redirect after a post that succeeded (a `?done=…` in `to` carries the notice).
pub fn redirect(to: &str) -> Result<Response, UiError> {
    Ok(Redirect::to(to).into_response())
}

/// A form field's value, `""` when it is missing.
pub fn value(f: &Fields, name: &str) -> String {
    f.get(name).unwrap_or_default().to_owned()
}

/// The pager of a list whose page links are `base` followed by `page=…`.
pub fn pager(base: &str, page: PageRequest, total: u64) -> Pager {
    Pager::new(base, page.page, page.limit, total)
}

/// The page of a list that the query (`?page=`) asks for.
pub fn page_of(q: &HashMap<String, String>) -> PageRequest {
    PageRequest {
        page: view::page_number(q.get("page").map(String::as_str)),
        limit: PageRequest::DEFAULT_LIMIT,
    }
}

// ---------------------------------------------------------------- login / logout

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<Nav>,
    csrf: String,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
}

/// Where to go after signing in: the page asked for when it is acceptable, else the profile.
fn safe_next(next: Option<&str>) -> String {
    next.and_then(view::return_path)
        .unwrap_or("/ui/profile")
        .to_owned()
}

fn login_response(
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
    let page = LoginPage {
        nav: None,
        csrf,
        email,
        next,
        error,
        notice,
    };
    Ok((status, [(header::SET_COOKIE, cookie)], render(page)).into_response())
}

pub async fn login_page(
    State(state): State<AppState>,
    Query(q): Params,
) -> Result<Response, UiError> {
    let notice = match q.get("done").map(String::as_str) {
        Some("logout") => Some("You are signed out.".to_owned()),
        Some("password") => Some("Your password was changed. Sign in with the new one.".to_owned()),
        _ => None,
    };
    login_response(
        &state,
        StatusCode::OK,
        String::new(),
        safe_next(q.get("next").map(String::as_str)),
        None,
        notice,
        None,
    )
}

pub async fn login(State(state): State<AppState>, form: LoginForm) -> Result<Response, UiError> {
    let f = &form.fields;
    let email = value(f, "email");
    let next = safe_next(f.get("next"));
    let password = Secret::new(f.raw("password"));
    let refuse = |status: StatusCode, message: String| {
        login_response(
            &state,
            status,
            email.clone(),
            next.clone(),
            Some(message),
            None,
            form.cookie_token.clone(),
        )
    };
    if email.is_empty() || password.expose().is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Enter your email address and your password.".to_owned(),
        );
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
            let mut headers = HeaderMap::new();
            for c in [cookie, clear] {
                if let Ok(v) = c.parse() {
                    headers.append(header::SET_COOKIE, v);
                }
            }
            Ok((headers, Redirect::to(&next)).into_response())
        }
        Err(CoreError::InvalidCredentials) => refuse(
            StatusCode::UNAUTHORIZED,
            "The email address or the password is not right.".to_owned(),
        ),
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
        ),
        Err(CoreError::Forbidden {
            code: "account_disabled",
            ..
        }) => refuse(
            StatusCode::FORBIDDEN,
            "This account is deactivated. Ask an administrator to reactivate it.".to_owned(),
        ),
        Err(other) => Err(other.into()),
    }
}

pub async fn logout(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    state
        .iam
        .logout(&form.user.principal, &form.user.meta)
        .await?;
    let clear = session::clear_cookie(&state, SESSION_COOKIE, "/");
    Ok((
        [(header::SET_COOKIE, clear)],
        Redirect::to("/ui/login?done=logout"),
    )
        .into_response())
}

// ---------------------------------------------------------------- profile

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    nav: Option<Nav>,
    name: String,
    email: String,
    username: String,
    kind: &'static str,
    created: String,
    permissions: Vec<&'static str>,
    is_admin: bool,
    errors: FieldErrors,
    notice: Option<String>,
}

fn profile_page(user: &UiUser, errors: FieldErrors, notice: Option<String>) -> ProfilePage {
    let u = &user.principal.user;
    ProfilePage {
        nav: Some(Nav::new(user, "profile")),
        name: format!("{} {}", u.first_name, u.last_name)
            .trim()
            .to_owned(),
        email: u.email.clone(),
        username: u.username.clone(),
        kind: if u.is_admin { "Administrator" } else { "User" },
        created: when(u.created_at),
        permissions: user
            .principal
            .permissions
            .iter()
            .map(|p| p.as_str())
            .collect(),
        is_admin: u.is_admin,
        errors,
        notice,
    }
}

pub async fn profile(user: UiUser) -> Response {
    render(profile_page(&user, FieldErrors::default(), None))
}

pub async fn change_password(
    State(state): State<AppState>,
    form: UiForm,
) -> Result<Response, UiError> {
    let f = &form.fields;
    let current = Secret::new(f.raw("current_password"));
    let new = Secret::new(f.raw("new_password"));
    let mut errors = FieldErrors::default();
    if f.raw("new_password") != f.raw("confirm_password") {
        errors.add(
            "confirm_password",
            "The two new passwords are not the same.",
        );
    } else {
        match state
            .iam
            .change_password(&form.user.principal, &current, &new, &form.user.meta)
            .await
        {
            Ok(()) => {
                let notice = Some(
                    "Your password was changed. Your other sessions were signed out.".to_owned(),
                );
                return Ok(render(profile_page(&form.user, errors, notice)));
            }
            Err(e) => errors = FieldErrors::from_core(e, "new_password", &[])?,
        }
    }
    bad_request(profile_page(&form.user, errors, None))
}

// ---------------------------------------------------------------- tokens

/// One row of a token list.
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub hint: String,
    pub created: String,
    pub expires: String,
    /// `expired`, `expires in 3 days`, …
    pub expiry_note: String,
    /// `expired`, `soon` (within 7 days) or `ok`: the CSS class of the note.
    pub expiry_class: &'static str,
    pub last_used: String,
    pub scope: String,
    pub status: &'static str,
    pub active: bool,
    /// Not revoked yet: expired tokens and those in a rotation grace period can still be revoked.
    pub revocable: bool,
}

impl TokenView {
    pub fn of(t: &Token) -> TokenView {
        let now = now_millis();
        let revoked = t.is_revoked(now);
        let expired = t.expires_at <= now;
        let (expiry_note, expiry_class) = if expired {
            (format!("expired {}", relative(t.expires_at)), "expired")
        } else if t.expires_at - now < 7 * DAY_MS {
            (format!("expires {}", relative(t.expires_at)), "soon")
        } else {
            (format!("expires {}", relative(t.expires_at)), "ok")
        };
        let status = if revoked {
            "revoked"
        } else if expired {
            "expired"
        } else if t.replaced_by.is_some() {
            "rotated (grace period)"
        } else {
            "active"
        };
        TokenView {
            id: t.id,
            name: t.name.clone(),
            hint: t.token_hint.clone(),
            created: when(t.created_at),
            expires: when(t.expires_at),
            expiry_note,
            expiry_class,
            last_used: t
                .last_used_at
                .map(|at| format!("{} ({})", when(at), relative(at)))
                .unwrap_or_else(|| "never".to_owned()),
            scope: match t.permissions {
                Some(set) => set.names().join(", "),
                None => "full (all of the owner's permissions)".to_owned(),
            },
            status,
            active: !revoked && !expired && t.replaced_by.is_none(),
            revocable: !revoked,
        }
    }
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    nav: Option<Nav>,
    tokens: Vec<TokenView>,
    token_base: String,
    pager: Pager,
    notice: Option<String>,
}

pub async fn tokens(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    let page = page_of(&q);
    let (rows, total) = state
        .iam
        .list_tokens(&user.principal, TokenOwner::Caller, None, page)
        .await?;
    let notice = match q.get("done").map(String::as_str) {
        Some("revoked") => Some("The token was revoked. It no longer works.".to_owned()),
        _ => None,
    };
    Ok(render(TokensPage {
        nav: Some(Nav::new(&user, "tokens")),
        tokens: rows.iter().map(TokenView::of).collect(),
        token_base: "/ui/tokens".to_owned(),
        pager: pager("/ui/tokens?", page, total),
        notice,
    }))
}

/// The New Token form (also used for a service account's tokens).
pub struct TokenForm {
    pub csrf: String,
    /// Where the form posts.
    pub action: String,
    pub back: String,
    /// `your account` or the service account's email.
    pub owner: String,
    pub name: String,
    pub preset: String,
    pub presets: Vec<&'static str>,
    pub custom_days: String,
    pub scope: String,
    pub chosen: Vec<String>,
    /// The permissions the owner holds: the checkboxes.
    pub catalogue: Vec<&'static str>,
    pub errors: FieldErrors,
}

impl TokenForm {
    pub fn is_chosen(&self, permission: &str) -> bool {
        self.chosen.iter().any(|c| c == permission)
    }

    pub fn is_preset(&self, days: &str) -> bool {
        self.preset == days
    }
}

#[derive(Template)]
#[template(path = "token_new.html")]
struct NewTokenPage {
    nav: Option<Nav>,
    form: TokenForm,
}

pub const PRESETS: [&str; 5] = ["7", "30", "60", "90", "365"];

pub fn token_form(
    csrf: &str,
    action: String,
    back: String,
    owner: String,
    held: PermissionSet,
) -> TokenForm {
    TokenForm {
        csrf: csrf.to_owned(),
        action,
        back,
        owner,
        name: String::new(),
        preset: "30".to_owned(),
        presets: PRESETS.to_vec(),
        custom_days: String::new(),
        scope: "full".to_owned(),
        chosen: Vec::new(),
        catalogue: held.iter().map(Permission::as_str).collect(),
        errors: FieldErrors::default(),
    }
}

/// The New Token page of the caller's own tokens.
fn new_token_page(user: &UiUser) -> NewTokenPage {
    NewTokenPage {
        nav: Some(Nav::new(user, "tokens")),
        form: token_form(
            &user.csrf,
            "/ui/tokens".to_owned(),
            "/ui/tokens".to_owned(),
            "your account".to_owned(),
            user.principal.permissions,
        ),
    }
}

pub async fn new_token(user: UiUser) -> Response {
    render(new_token_page(&user))
}

/// Reads the New Token form into the service input, or field errors.
pub fn read_token_form(f: &Fields, page: &mut TokenForm) -> Option<CreateToken> {
    page.name = value(f, "name");
    page.preset = f.get("expiry").unwrap_or("30").to_owned();
    page.custom_days = value(f, "custom_days");
    page.scope = f.get("scope").unwrap_or("full").to_owned();
    page.chosen = f.all("permission");
    let days = if page.preset == "custom" {
        match page.custom_days.parse::<i64>() {
            Ok(days) => Some(days),
            Err(_) => {
                page.errors.add(
                    "expires_in_days",
                    "Enter the number of days as a whole number between 1 and 365.",
                );
                None
            }
        }
    } else if PRESETS.contains(&page.preset.as_str()) {
        page.preset.parse::<i64>().ok()
    } else {
        page.errors.add("expires_in_days", "Choose an expiry.");
        None
    };
    let permissions = match page.scope.as_str() {
        "full" => None,
        "readonly" => Some(vec!["*.view".to_owned()]),
        "custom" if page.chosen.is_empty() => {
            page.errors.add(
                "permissions",
                "Choose at least one permission for this token.",
            );
            None
        }
        _ => Some(page.chosen.clone()),
    };
    if page.name.is_empty() {
        page.errors
            .add("name", "Give the token a name, such as “CI pipeline”.");
    }
    if !page.errors.is_empty() {
        return None;
    }
    Some(CreateToken {
        name: page.name.clone(),
        expires_in_days: days?,
        permissions,
    })
}

pub async fn create_token(
    State(state): State<AppState>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    let mut page = new_token_page(user);
    let Some(input) = read_token_form(&form.fields, &mut page.form) else {
        return bad_request(page);
    };
    match state
        .iam
        .create_token(&user.principal, TokenOwner::Caller, input, &user.meta)
        .await
    {
        Ok(issued) => Ok(show_once(
            &state,
            issued.value.expose(),
            &issued.record.name,
            "me",
        )),
        Err(e) => {
            page.form.errors = FieldErrors::from_core(e, "name", &[])?;
            bad_request(page)
        }
    }
}

/// After a creation or rotation: hands the value to the one page that shows it, through a
/// short-lived cookie scoped to that page, and redirects there (so a reload never re-posts).
pub fn show_once(state: &AppState, value: &str, name: &str, owner: &str) -> Response {
    let cookie = session::set_cookie(
        state,
        NEW_TOKEN_COOKIE,
        value,
        "/ui/token-created",
        Some(120),
        "Strict",
    );
    let target = format!(
        "/ui/token-created?owner={}&name={}",
        view::encode(owner),
        view::encode(name)
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&target)).into_response()
}

#[derive(Template)]
#[template(path = "token_created.html")]
struct CreatedPage {
    nav: Option<Nav>,
    name: String,
    value: Option<String>,
    back: String,
}

pub async fn token_created(
    State(state): State<AppState>,
    user: UiUser,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let value = session::cookie(&headers, NEW_TOKEN_COOKIE)
        .filter(|v| justiam_core::token::looks_like_pat(v))
        .map(str::to_owned);
    let back = match q.get("owner").and_then(|o| Uuid::parse_str(o).ok()) {
        Some(id) => format!("/ui/admin/users/{id}/tokens"),
        None => "/ui/tokens".to_owned(),
    };
    let page = CreatedPage {
        nav: Some(Nav::new(&user, "tokens")),
        name: q.get("name").cloned().unwrap_or_default(),
        value,
        back,
    };
    let clear = session::clear_cookie(&state, NEW_TOKEN_COOKIE, "/ui/token-created");
    (
        [
            (header::SET_COOKIE, clear),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        render(page),
    )
        .into_response()
}

/// A confirmation page with one button.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub nav: Option<Nav>,
    pub title: String,
    pub message: String,
    pub action: String,
    pub button: String,
    pub back: String,
}

impl ConfirmPage {
    /// The confirmation of revoking the token `t` (posting to `action`).
    pub fn revoke_token(nav: Nav, t: &Token, action: String, back: String) -> ConfirmPage {
        let message = if t.expires_at <= now_millis() {
            format!(
                "The token ending in {} expired on {} and no longer works; revoking it removes it from the list. This cannot be undone.",
                t.token_hint,
                when(t.expires_at)
            )
        } else {
            format!(
                "Anything using the token ending in {} stops working at once. This cannot be undone.",
                t.token_hint
            )
        };
        ConfirmPage {
            nav: Some(nav),
            title: format!("Revoke the token “{}”?", t.name),
            message,
            action,
            button: "Revoke token".to_owned(),
            back,
        }
    }
}

/// One token of `owner`, found through the (permission-checked) token list.
pub async fn find_token(
    state: &AppState,
    user: &UiUser,
    owner: TokenOwner,
    id: Uuid,
) -> Result<Token, UiError> {
    // Tokens are listed whole (at most 100 active ones per user); find it among them.
    let mut page = PageRequest {
        page: 1,
        limit: PageRequest::MAX_LIMIT,
    };
    loop {
        let (rows, total) = state
            .iam
            .list_tokens(&user.principal, owner, None, page)
            .await?;
        if let Some(t) = rows.into_iter().find(|t| t.id == id) {
            return Ok(t);
        }
        if u64::from(page.page) * u64::from(page.limit) >= total {
            return Err(UiError::not_found());
        }
        page.page += 1;
    }
}

async fn own_token(state: &AppState, user: &UiUser, id: Uuid) -> Result<Token, UiError> {
    find_token(state, user, TokenOwner::Caller, id).await
}

pub async fn revoke_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let t = own_token(&state, &user, id).await?;
    Ok(render(ConfirmPage::revoke_token(
        Nav::new(&user, "tokens"),
        &t,
        format!("/ui/tokens/{id}/revoke"),
        "/ui/tokens".to_owned(),
    )))
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .revoke_token(&user.principal, TokenOwner::Caller, id, &user.meta)
        .await?;
    redirect("/ui/tokens?done=revoked")
}

#[derive(Template)]
#[template(path = "token_rotate.html")]
pub struct RotatePage {
    pub nav: Option<Nav>,
    pub token: TokenView,
    /// Where the form posts, and where Cancel goes.
    pub action: String,
    pub back: String,
    /// `Personal Access Tokens` or the service account's email: the breadcrumb.
    pub owner: String,
    pub grace: String,
    pub unit: String,
    pub errors: FieldErrors,
}

impl RotatePage {
    pub fn new(nav: Nav, token: &Token, action: String, back: String, owner: String) -> Self {
        RotatePage {
            nav: Some(nav),
            token: TokenView::of(token),
            action,
            back,
            owner,
            grace: "0".to_owned(),
            unit: "minutes".to_owned(),
            errors: FieldErrors::default(),
        }
    }
}

/// The units of the grace period field, with their length in seconds.
const GRACE_UNITS: [(&str, i64); 3] = [("seconds", 1), ("minutes", 60), ("hours", 3600)];

/// Reads the grace period (a number and a unit) into seconds, keeping what was typed on the
/// page; an invalid value is a field error.
pub fn read_grace(f: &Fields, page: &mut RotatePage) -> Option<i64> {
    page.grace = f.get("grace").unwrap_or("0").to_owned();
    page.unit = f.get("grace_unit").unwrap_or("minutes").to_owned();
    let factor = GRACE_UNITS
        .iter()
        .find(|(name, _)| *name == page.unit)
        .map(|(_, factor)| *factor);
    match (page.grace.parse::<i64>(), factor) {
        (Ok(amount), Some(factor)) if (0..=86_400 / factor).contains(&amount) => {
            Some(amount * factor)
        }
        _ => {
            page.errors.add(
                "grace",
                "Enter the grace period as a whole number from 0 to 86400 seconds, 1440 minutes or 24 hours.",
            );
            None
        }
    }
}

/// Rotates a token of `owner` with the grace period of the form; the new value is shown once.
pub async fn rotate_with_form(
    state: &AppState,
    form: &UiForm,
    owner: TokenOwner,
    id: Uuid,
    mut page: RotatePage,
    show_owner: &str,
) -> Result<Response, UiError> {
    let user = &form.user;
    if let Some(seconds) = read_grace(&form.fields, &mut page) {
        let input = RotateToken {
            expires_in_days: None,
            grace_period_seconds: Some(seconds),
        };
        match state
            .iam
            .rotate_token(&user.principal, owner, id, input, &user.meta)
            .await
        {
            Ok(issued) => {
                return Ok(show_once(
                    state,
                    issued.value.expose(),
                    &issued.record.name,
                    show_owner,
                ));
            }
            Err(e) => {
                page.errors =
                    FieldErrors::from_core(e, "grace", &[("grace_period_seconds", "grace")])?
            }
        }
    }
    bad_request(page)
}

/// The Rotate page of one of the caller's own tokens.
async fn own_rotate_page(state: &AppState, user: &UiUser, id: Uuid) -> Result<RotatePage, UiError> {
    let t = own_token(state, user, id).await?;
    Ok(RotatePage::new(
        Nav::new(user, "tokens"),
        &t,
        format!("/ui/tokens/{id}/rotate"),
        "/ui/tokens".to_owned(),
        "Personal Access Tokens".to_owned(),
    ))
}

pub async fn rotate_form(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    Ok(render(own_rotate_page(&state, &user, id).await?))
}

pub async fn rotate(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let page = own_rotate_page(&state, &form.user, id).await?;
    rotate_with_form(&state, &form, TokenOwner::Caller, id, page, "me").await
}
