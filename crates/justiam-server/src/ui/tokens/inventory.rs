//! The token inventory, "All tokens" (`/ui/admin/tokens`), as `GET /tokens` and
//! `DELETE /tokens/{id}` of the API.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use std::collections::HashMap;

use justiam_core::model::{AuditFilter, PageRequest, Permission, TokenInventoryFilter};
use justiam_core::time::{DAY_MS, now_millis};
use uuid::Uuid;

use super::form::{self, TokenView};
use crate::app::AppState;
use crate::ui::kit::view::{Stamp, stamp};
use crate::ui::kit::{
    Listing, Nav, Pager, Params, UiError, UiForm, UiUser, encode, notice_of, pager, redirect,
    render,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/admin/tokens", get(inventory))
        .route("/ui/admin/tokens/{id}", get(token_detail))
        .route(
            "/ui/admin/tokens/{id}/revoke",
            get(revoke_any_token_confirm).post(revoke_any_token),
        )
}

/// One token of the inventory with its owner.
pub struct InventoryRow {
    pub token: TokenView,
    pub owner_id: Uuid,
    pub owner: String,
    pub owner_is_service_account: bool,
}

#[derive(Template)]
#[template(path = "tokens/inventory.html")]
struct InventoryPage {
    nav: Option<Nav>,
    items: Vec<InventoryRow>,
    /// An administrator sees every owner's tokens; others the service accounts'.
    every_owner: bool,
    search: String,
    /// Each filter's query value (`""`: any) and its choices.
    state: String,
    states: [(&'static str, &'static str); 4],
    scope: String,
    scopes: [(&'static str, &'static str); 3],
    unused: String,
    unused_choices: [(&'static str, &'static str); 5],
    expiring: String,
    expiring_choices: [(&'static str, &'static str); 3],
    /// Some filter is set: the empty list says "no token matches".
    filtered: bool,
    pager: Pager,
    notice: Option<String>,
}

impl InventoryPage {
    fn is(&self, current: &str, value: &str) -> bool {
        current == value
    }
}

const STATES: [(&str, &str); 4] = [
    ("", "Every state"),
    ("active", "Active"),
    ("expired", "Expired"),
    ("revoked", "Revoked"),
];
const SCOPES: [(&str, &str); 3] = [
    ("", "Any permissions"),
    ("full", "Full power (everything the owner may do)"),
    ("fine_grained", "Fine-grained"),
];
const UNUSED: [(&str, &str); 5] = [
    ("", "Used or not"),
    ("30", "Not used for 30 days"),
    ("90", "Not used for 90 days"),
    ("180", "Not used for 180 days"),
    ("365", "Not used for a year"),
];
const EXPIRING: [(&str, &str); 3] = [
    ("", "Any expiry"),
    ("7", "Expiring within 7 days"),
    ("30", "Expiring within 30 days"),
];

/// The query value of filter `name` if it is one of `choices`, else `""` (any).
fn choice(
    q: &HashMap<String, String>,
    name: &str,
    choices: &[(&'static str, &str)],
) -> &'static str {
    let asked = q.get(name).map(String::as_str).unwrap_or_default();
    choices
        .iter()
        .map(|(value, _)| *value)
        .find(|value| *value == asked)
        .unwrap_or("")
}

/// The inventory, as `GET /api/v1/tokens`: filtered by state, permissions (full power or
/// fine-grained), disuse and expiry, and searched by name or owner.
async fn inventory(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    let list = Listing::of(&q);
    let token_state = choice(&q, "state", &STATES);
    let scope = choice(&q, "scope", &SCOPES);
    let unused = choice(&q, "unused", &UNUSED);
    let expiring = choice(&q, "expiring", &EXPIRING);
    let days = |value: &str| value.parse::<i64>().ok().map(|d| d * DAY_MS);
    let now = now_millis();
    let some = |value: &'static str| (!value.is_empty()).then(|| value.to_owned());
    let filter = TokenInventoryFilter {
        state: some(token_state),
        scope: some(scope),
        unused_since: days(unused).map(|d| now - d),
        expires_before: days(expiring).map(|d| now + d),
        search: list.search.clone(),
        ..TokenInventoryFilter::default()
    };
    let (rows, total) = state
        .iam
        .token_inventory(&user.principal, filter, list.page)
        .await?;
    let search = list.search.unwrap_or_default();
    let base = format!(
        "/ui/admin/tokens?search={}&state={token_state}&scope={scope}&unused={unused}&expiring={expiring}&",
        encode(&search),
    );
    Ok(render(InventoryPage {
        nav: Some(Nav::new(&user, "inventory")),
        items: rows
            .iter()
            .map(|item| InventoryRow {
                token: TokenView::of(&item.token),
                owner_id: item.owner.id,
                owner: item.owner.email.clone(),
                owner_is_service_account: item.owner.is_service_account,
            })
            .collect(),
        every_owner: user.principal.is_admin(),
        filtered: [search.as_str(), token_state, scope, unused, expiring]
            .iter()
            .any(|f| !f.is_empty()),
        search,
        state: token_state.to_owned(),
        states: STATES,
        scope: scope.to_owned(),
        scopes: SCOPES,
        unused: unused.to_owned(),
        unused_choices: UNUSED,
        expiring: expiring.to_owned(),
        expiring_choices: EXPIRING,
        pager: pager(&base, list.page, total),
        notice: notice_of(&q),
    }))
}

/// One token of the rotation chain on the detail page.
pub struct ChainLink {
    pub id: Uuid,
    pub hint: String,
    pub created: Stamp,
    pub status: String,
    /// The token the page is about.
    pub current: bool,
}

/// One audit entry of the token.
pub struct TokenEvent {
    pub at: Stamp,
    pub action: String,
    pub actor: String,
}

#[derive(Template)]
#[template(path = "tokens/detail.html")]
struct DetailPage {
    nav: Option<Nav>,
    token: TokenView,
    owner_id: Uuid,
    owner: String,
    owner_is_service_account: bool,
    /// `active`, `expired`, `revoked` (as the API's `state`).
    state: &'static str,
    created_by: String,
    last_used_ip: String,
    revoked: Option<(Stamp, String)>,
    chain: Vec<ChainLink>,
    /// `None` without `audit.view`.
    events: Option<Vec<TokenEvent>>,
}

/// Everything known about one token: its record, its owner, its rotation chain and its audit
/// entries (with `audit.view`).
async fn token_detail(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let p = &user.principal;
    let detail = state.iam.inspect_token(p, id).await?;
    let t = &detail.item.token;
    let now = now_millis();
    let created_by = match t.created_by {
        None => "unknown".to_owned(),
        Some(by) if by == detail.item.owner.id => detail.item.owner.email.clone(),
        Some(by) => match state.iam.get_user(p, by).await {
            Ok(u) => u.email,
            Err(_) => by.to_string(),
        },
    };
    let events = if p.has(Permission::AuditView) {
        let filter = AuditFilter {
            target_id: Some(id),
            ..AuditFilter::default()
        };
        let (rows, _) = state
            .iam
            .list_audit(
                p,
                &filter,
                PageRequest {
                    page: 1,
                    limit: 100,
                },
            )
            .await?;
        Some(
            rows.into_iter()
                .map(|r| TokenEvent {
                    at: stamp(r.at),
                    action: r.action,
                    actor: r
                        .actor_email
                        .or(r.actor_id)
                        .unwrap_or_else(|| "system".to_owned()),
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(render(DetailPage {
        nav: Some(Nav::new(&user, "inventory")),
        token: TokenView::of(t),
        owner_id: detail.item.owner.id,
        owner: detail.item.owner.email.clone(),
        owner_is_service_account: detail.item.owner.is_service_account,
        state: t.state(now),
        created_by,
        last_used_ip: t.last_used_ip.clone().unwrap_or_default(),
        revoked: t
            .revoked_at
            .filter(|at| *at <= now)
            .map(|at| (stamp(at), t.revoke_reason.clone().unwrap_or_default())),
        chain: detail
            .chain
            .iter()
            .map(|link| ChainLink {
                id: link.id,
                hint: link.token_hint.clone(),
                created: stamp(link.created_at),
                status: TokenView::of(link).status.to_owned(),
                current: link.id == id,
            })
            .collect(),
        events,
    }))
}

async fn revoke_any_token_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let found = state.iam.overseen_token(&user.principal, id).await?;
    let mut page = form::revoke_confirmation(
        Nav::new(&user, "inventory"),
        &found.token,
        format!("/ui/admin/tokens/{id}/revoke"),
        "/ui/admin/tokens".to_owned(),
    );
    page.title = format!(
        "Revoke the token “{}” of {}?",
        found.token.name, found.owner.email
    );
    Ok(render(page))
}

async fn revoke_any_token(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .revoke_any_token(&user.principal, id, &user.meta)
        .await?;
    redirect("/ui/admin/tokens?done=revoked")
}
