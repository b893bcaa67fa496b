//! What the token pages of both owners (one's own, a service account's) and the inventory share:
//! a token's row, the New Token and Rotate forms, the revoke confirmation, and the page that shows
//! a new value once.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use justiam_core::model::Token;
use justiam_core::service::TokenOwner;
use justiam_core::time::{DAY_MS, Millis, now_millis, to_datetime};
use justiam_types::{CreateToken, RotateToken};
use uuid::Uuid;

use super::picker::{self, ResourceChoice};
use crate::app::AppState;
use crate::ui::kit::session::{self, NEW_TOKEN_COOKIE};
use crate::ui::kit::view::{Stamp, plural, relative, stamp};
use crate::ui::kit::{
    ConfirmPage, FieldErrors, Fields, Nav, Params, UiError, UiForm, UiUser, bad_request, encode,
    render, value, when,
};
use crate::ui::mfa::{StepUp, stepped_up};

/// One row of a token list.
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub hint: String,
    pub created: Stamp,
    /// When it stops working: its expiry, or for a rotated token the end of its grace period.
    pub expires: Stamp,
    /// `expired`, `expires in 3 days`, `grace ends in 42 minutes`, …
    pub expiry_note: String,
    /// `expired`, `urgent` (within a day), `soon` (within 7 days) or `ok`: the CSS class of the
    /// note.
    pub expiry_class: &'static str,
    /// The urgency in words beside the colour: `less than a day left`, `less than 7 days left`.
    pub urgency: &'static str,
    /// When and how long ago; `None` if never.
    pub last_used: Option<(Stamp, String)>,
    pub scope: String,
    pub status: &'static str,
    pub active: bool,
    /// Past its expiry (and not revoked): offered Regenerate.
    pub expired: bool,
    /// Rotated and still working until its grace period ends: the replacement's id.
    pub replacement: Option<Uuid>,
    /// Not revoked yet: expired tokens and those in a rotation grace period can still be revoked.
    pub revocable: bool,
}

impl TokenView {
    pub fn of(t: &Token) -> TokenView {
        let now = now_millis();
        let revoked = t.is_revoked(now);
        let expired = !revoked && t.expires_at <= now;
        // A rotated token stops at the end of its grace period (its `revoked_at`), usually long
        // before its original expiry: that is the date that matters.
        let in_grace = !revoked && t.replaced_by.is_some();
        let stops_at = match (in_grace, t.revoked_at) {
            (true, Some(at)) => at.min(t.expires_at),
            _ => t.expires_at,
        };
        let expiry_note = if expired {
            format!("expired {}", relative(t.expires_at))
        } else if in_grace {
            format!("grace ends {}", relative(stops_at))
        } else {
            format!("expires {}", relative(stops_at))
        };
        let status = if revoked {
            "revoked"
        } else if expired {
            "expired"
        } else if in_grace {
            "rotated (grace period)"
        } else {
            "active"
        };
        TokenView {
            id: t.id,
            name: t.name.clone(),
            hint: t.token_hint.clone(),
            created: stamp(t.created_at),
            expires: stamp(stops_at),
            expiry_note,
            expiry_class: urgency(stops_at, now),
            urgency: match urgency(stops_at, now) {
                "urgent" => "less than a day left",
                "soon" => "less than 7 days left",
                _ => "",
            },
            last_used: t.last_used_at.map(|at| (stamp(at), relative(at))),
            scope: match t.permissions {
                Some(set) => set.names().join(", "),
                None => "full (all of the owner's permissions)".to_owned(),
            },
            status,
            active: !revoked && !expired && !in_grace,
            expired,
            replacement: if in_grace { t.replaced_by } else { None },
            revocable: !revoked,
        }
    }
}

/// How soon a token stops working, as the CSS class of its note: `expired`, `urgent` (within a
/// day: red), `soon` (within 7 days: amber) or `ok`.
pub fn urgency(stops_at: Millis, now: Millis) -> &'static str {
    match stops_at - now {
        left if left <= 0 => "expired",
        left if left <= DAY_MS => "urgent",
        left if left <= 7 * DAY_MS => "soon",
        _ => "ok",
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
    /// The owner is an administrator (`is_admin`): a token of "everything" carries powers no
    /// permission grants, so that choice is never preselected and comes with a warning.
    pub admin_owner: bool,
    pub name: String,
    pub preset: String,
    /// The presets with the date each would expire on.
    pub presets: Vec<(&'static str, String)>,
    pub custom_days: String,
    /// The date the chosen expiry gives (`2027-03-06`), or `""` while it is not valid.
    pub expiry_date: String,
    /// `full`, `readonly`, `custom`, or `""` when nothing is chosen yet.
    pub scope: String,
    /// "Read-only" is offered: the owner holds a permission `*.view` matches.
    pub read_only: bool,
    /// The picker: the resources the owner holds permissions on.
    pub resources: Vec<ResourceChoice>,
    /// The code of the authenticator app, when the step-up before minting a token is due.
    pub step_up: StepUp,
    pub errors: FieldErrors,
}

impl TokenForm {
    pub fn is_preset(&self, days: &str) -> bool {
        self.preset == days
    }
}

pub const PRESETS: [&str; 5] = ["7", "30", "60", "90", "365"];

/// The day a token created now for `days` days expires on: `2027-03-06` (UTC).
pub fn expiry_date(days: i64) -> String {
    to_datetime(now_millis() + days * DAY_MS)
        .format("%Y-%m-%d")
        .to_string()
}

/// The New Token form for a token of `owner` (its label in `owner_label`), offering what the
/// service says a token of theirs may be limited to.
pub async fn token_form(
    state: &AppState,
    user: &UiUser,
    owner: TokenOwner,
    action: String,
    owner_label: String,
    admin_owner: bool,
) -> Result<TokenForm, UiError> {
    let held = state
        .iam
        .token_permission_choices(&user.principal, owner)
        .await?;
    Ok(TokenForm {
        csrf: user.csrf.clone(),
        back: action.clone(),
        action,
        owner: owner_label,
        admin_owner,
        name: String::new(),
        preset: "30".to_owned(),
        presets: PRESETS.iter().map(|d| (*d, expiry_days_date(d))).collect(),
        custom_days: String::new(),
        expiry_date: expiry_date(30),
        scope: if admin_owner { "" } else { "full" }.to_owned(),
        read_only: picker::read_only_offered(held),
        resources: picker::resources(held),
        step_up: StepUp::default(),
        errors: FieldErrors::default(),
    })
}

fn expiry_days_date(days: &str) -> String {
    days.parse::<i64>().map(expiry_date).unwrap_or_default()
}

/// Reads the New Token form into the service input, or field errors.
pub fn read_token_form(f: &Fields, page: &mut TokenForm) -> Option<CreateToken> {
    page.name = value(f, "name");
    page.preset = f.get("expiry").unwrap_or("30").to_owned();
    page.custom_days = value(f, "custom_days");
    page.scope = f.get("scope").unwrap_or_default().to_owned();
    let chosen = picker::read_choices(f, &mut page.resources);
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
    page.expiry_date = days
        .filter(|d| (1..=365).contains(d))
        .map(expiry_date)
        .unwrap_or_default();
    let permissions = match page.scope.as_str() {
        "full" => None,
        "readonly" => Some(vec!["*.view".to_owned()]),
        "custom" if chosen.is_empty() => {
            page.errors.add(
                "permissions",
                "Choose read or write access to at least one resource for this token.",
            );
            None
        }
        "custom" => Some(chosen.names()),
        _ => {
            page.errors.add(
                "permissions",
                "Choose what the token may do: everything, or only some resources.",
            );
            None
        }
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

/// The confirmation of revoking the token `t` (posting to `action`). For a token in a rotation
/// grace period this is "End grace now": the same revocation, said as what it does.
pub fn revoke_confirmation(nav: Nav, t: &Token, action: String, back: String) -> ConfirmPage {
    let now = now_millis();
    let (title, message, button) = if t.replaced_by.is_some() && !t.is_revoked(now) {
        (
            format!("End the grace period of “{}” now?", t.name),
            format!(
                "The old token ending in {} was rotated and keeps working until {}. Ending the grace period revokes it at once: anything still using it stops working. Its replacement keeps working. This cannot be undone.",
                t.token_hint,
                when(t.revoked_at.unwrap_or(t.expires_at))
            ),
            "End grace now",
        )
    } else if t.expires_at <= now {
        (
            format!("Revoke the token “{}”?", t.name),
            format!(
                "The token ending in {} expired on {} and no longer works; revoking it removes it from the list. This cannot be undone.",
                t.token_hint,
                when(t.expires_at)
            ),
            "Revoke token",
        )
    } else {
        (
            format!("Revoke the token “{}”?", t.name),
            format!(
                "Anything using the token ending in {} stops working at once. This cannot be undone.",
                t.token_hint
            ),
            "Revoke token",
        )
    };
    ConfirmPage {
        nav: Some(nav),
        title,
        message,
        action,
        button: button.to_owned(),
        back,
    }
}

/// The confirmation of regenerating an expired token ([`regenerate`]), which asks for the code
/// in place when the step-up is due.
#[derive(Template)]
#[template(path = "tokens/regenerate.html")]
pub struct RegeneratePage {
    pub confirm: ConfirmPage,
    pub step_up: StepUp,
}

/// The template of `confirm.html` reads the confirmation's fields.
impl std::ops::Deref for RegeneratePage {
    type Target = ConfirmPage;

    fn deref(&self) -> &ConfirmPage {
        &self.confirm
    }
}

/// The confirmation of regenerating the expired token `t` (posting to `action`): a rotation
/// without a grace period ([`regenerate`]).
pub fn regenerate_confirmation(
    nav: Nav,
    t: &Token,
    action: String,
    back: String,
) -> RegeneratePage {
    let days = t.lifetime_days();
    RegeneratePage {
        confirm: ConfirmPage {
            nav: Some(nav),
            title: format!("Regenerate the token “{}”?", t.name),
            message: format!(
                "A new token named “{}” with the same permissions and the same lifetime ({}, until {}) replaces the one ending in {}, which is revoked. The new value is shown once.",
                t.name,
                plural(days, "day"),
                when(now_millis() + days * DAY_MS),
                t.token_hint,
            ),
            action,
            button: "Regenerate token".to_owned(),
            back,
        },
        step_up: StepUp::default(),
    }
}

/// Regenerates token `id` of `owner`: the API's rotation (`POST …/tokens/{id}/rotate`) with no
/// grace period, so the replacement keeps the name, the permissions and the lifetime and the old
/// token is revoked at once. The new value is shown once; when the step-up is due, the
/// confirmation (`nav`, posting to `action`, Cancel to `back`) asks for the code.
pub async fn regenerate(
    state: &AppState,
    form: &UiForm,
    owner: TokenOwner,
    id: Uuid,
    show_owner: &str,
    (nav, action, back): (Nav, String, String),
) -> Result<Response, UiError> {
    let user = &form.user;
    let input = RotateToken {
        expires_in_days: None,
        grace_period_seconds: Some(0),
    };
    let rotation = state
        .iam
        .rotate_token(&user.principal, owner, id, input, &user.meta);
    match stepped_up(state, form, rotation).await {
        Ok(issued) => Ok(show_once(
            state,
            issued.value.expose(),
            &issued.record.name,
            show_owner,
        )),
        Err(e) => {
            let mut step_up = StepUp::default();
            if !step_up.ask(&e) {
                return Err(e.into());
            }
            let t = state.iam.get_token(&user.principal, owner, id).await?;
            let mut page = regenerate_confirmation(nav, &t, action, back);
            page.step_up = step_up;
            bad_request(page)
        }
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
    pub step_up: StepUp,
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
            step_up: StepUp::default(),
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
        let rotation = state
            .iam
            .rotate_token(&user.principal, owner, id, input, &user.meta);
        match stepped_up(state, form, rotation).await {
            Ok(issued) => {
                return Ok(show_once(
                    state,
                    issued.value.expose(),
                    &issued.record.name,
                    show_owner,
                ));
            }
            Err(e) if page.step_up.ask(&e) => {}
            Err(e) => {
                page.errors =
                    FieldErrors::from_core(e, "grace", &[("grace_period_seconds", "grace")])?
            }
        }
    }
    bad_request(page)
}
