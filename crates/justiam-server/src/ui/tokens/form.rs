//! What the token pages of both owners (one's own, a service account's) and the inventory share:
//! a token's row, the New Token and Rotate forms, the revoke confirmation, and the page that shows
//! a new value once.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use justiam_core::model::{Permission, PermissionSet, Token};
use justiam_core::service::TokenOwner;
use justiam_core::time::{DAY_MS, now_millis};
use justiam_types::{CreateToken, RotateToken};
use uuid::Uuid;

use crate::app::AppState;
use crate::ui::kit::session::{self, NEW_TOKEN_COOKIE};
use crate::ui::kit::view::relative;
use crate::ui::kit::{
    ConfirmPage, FieldErrors, Fields, Nav, Params, UiError, UiForm, UiUser, bad_request, encode,
    render, value, when,
};

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
        encode(owner),
        encode(name)
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&target)).into_response()
}

#[derive(Template)]
#[template(path = "tokens/created.html")]
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

/// The confirmation of revoking the token `t` (posting to `action`).
pub fn revoke_confirmation(nav: Nav, t: &Token, action: String, back: String) -> ConfirmPage {
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

#[derive(Template)]
#[template(path = "tokens/rotate.html")]
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
