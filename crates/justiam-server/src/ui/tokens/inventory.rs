//! The token inventory, "All tokens" (`/ui/admin/tokens`), as `GET /tokens` and
//! `DELETE /tokens/{id}` of the API.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use justiam_core::model::TokenInventoryFilter;
use uuid::Uuid;

use super::form::{self, TokenView};
use crate::app::AppState;
use crate::ui::kit::{
    Listing, Nav, Pager, Params, UiError, UiForm, UiUser, encode, notice_of, pager, redirect,
    render,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/admin/tokens", get(inventory))
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
    /// `""` (every state), or one of `states`.
    state: String,
    states: [&'static str; 3],
    pager: Pager,
    notice: Option<String>,
}

impl InventoryPage {
    fn is_state(&self, state: &str) -> bool {
        self.state == state
    }
}

const TOKEN_STATES: [&str; 3] = ["active", "expired", "revoked"];

/// The inventory, as `GET /api/v1/tokens`: tokens in every state, or in one.
async fn inventory(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    let list = Listing::of(&q);
    let token_state = q
        .get("state")
        .filter(|s| TOKEN_STATES.contains(&s.as_str()))
        .cloned();
    let filter = TokenInventoryFilter {
        state: token_state.clone(),
        search: list.search.clone(),
        ..TokenInventoryFilter::default()
    };
    let (rows, total) = state
        .iam
        .token_inventory(&user.principal, filter, list.page)
        .await?;
    let search = list.search.unwrap_or_default();
    let token_state = token_state.unwrap_or_default();
    let base = format!(
        "/ui/admin/tokens?search={}&state={}&",
        encode(&search),
        encode(&token_state)
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
        search,
        state: token_state,
        states: TOKEN_STATES,
        pager: pager(&base, list.page, total),
        notice: notice_of(&q),
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
