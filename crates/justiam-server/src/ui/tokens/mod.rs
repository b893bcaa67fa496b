//! Personal access tokens, as `/me/tokens`, `/users/{id}/tokens` and `/tokens` of the API: one's
//! own (here), a service account's ([`service_accounts`]) and the inventory, "All tokens"
//! ([`inventory`]); what their pages share is in [`form`].

mod form;
mod inventory;
mod listing;
mod picker;
mod service_accounts;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use justiam_core::service::TokenOwner;
use uuid::Uuid;

use super::kit::{
    FieldErrors, Nav, Pager, Params, UiError, UiForm, UiUser, bad_request, redirect, render,
};
use crate::app::AppState;
use form::{
    RotatePage, TokenForm, TokenView, read_token_form, rotate_with_form, show_once, token_form,
};
use listing::ListControls;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/tokens", get(tokens).post(create_token))
        .route("/ui/tokens/new", get(new_token))
        .route("/ui/token-created", get(form::token_created))
        .route("/ui/tokens/{id}/revoke", get(revoke_confirm).post(revoke))
        .route("/ui/tokens/{id}/rotate", get(rotate_form).post(rotate))
        .route(
            "/ui/tokens/{id}/regenerate",
            get(regenerate_confirm).post(regenerate),
        )
        .merge(service_accounts::routes())
        .merge(inventory::routes())
}

#[derive(Template)]
#[template(path = "tokens/list.html")]
struct TokensPage {
    nav: Option<Nav>,
    tokens: Vec<TokenView>,
    token_base: String,
    pager: Pager,
    controls: ListControls,
    notice: Option<String>,
}

async fn tokens(
    State(state): State<AppState>,
    user: UiUser,
    Query(q): Params,
) -> Result<Response, UiError> {
    let (rows, pager, controls) =
        listing::token_page(&state, &user, TokenOwner::Caller, "/ui/tokens", &q).await?;
    let notice = match q.get("done").map(String::as_str) {
        Some("revoked") => Some("The token was revoked. It no longer works.".to_owned()),
        _ => None,
    };
    Ok(render(TokensPage {
        nav: Some(Nav::new(&user, "tokens")),
        tokens: rows.iter().map(TokenView::of).collect(),
        token_base: "/ui/tokens".to_owned(),
        pager,
        controls,
        notice,
    }))
}

#[derive(Template)]
#[template(path = "tokens/new.html")]
struct NewTokenPage {
    nav: Option<Nav>,
    form: TokenForm,
}

/// The New Token page of the caller's own tokens.
async fn new_token_page(state: &AppState, user: &UiUser) -> Result<NewTokenPage, UiError> {
    Ok(NewTokenPage {
        nav: Some(Nav::new(user, "tokens")),
        form: token_form(
            state,
            user,
            TokenOwner::Caller,
            "/ui/tokens".to_owned(),
            "your account".to_owned(),
            user.principal.user.is_admin,
        )
        .await?,
    })
}

async fn new_token(State(state): State<AppState>, user: UiUser) -> Result<Response, UiError> {
    Ok(render(new_token_page(&state, &user).await?))
}

async fn create_token(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    let user = &form.user;
    let mut page = new_token_page(&state, user).await?;
    let Some(input) = read_token_form(&form.fields, &mut page.form) else {
        return bad_request(page);
    };
    let creation = state
        .iam
        .create_token(&user.principal, TokenOwner::Caller, input, &user.meta);
    let result = crate::ui::mfa::stepped_up(&state, &form, creation).await;
    match result {
        Ok(issued) => Ok(show_once(
            &state,
            issued.value.expose(),
            &issued.record.name,
            "me",
        )),
        Err(e) if page.form.step_up.ask(&e) => bad_request(page),
        Err(e) => {
            page.form.errors = FieldErrors::from_core(e, "name", &[])?;
            bad_request(page)
        }
    }
}

async fn revoke_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let t = state
        .iam
        .check_can_revoke_token(&user.principal, TokenOwner::Caller, id)
        .await?;
    Ok(render(form::revoke_confirmation(
        Nav::new(&user, "tokens"),
        &t,
        format!("/ui/tokens/{id}/revoke"),
        "/ui/tokens".to_owned(),
    )))
}

async fn revoke(
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

/// The Rotate page of one of the caller's own tokens.
async fn own_rotate_page(state: &AppState, user: &UiUser, id: Uuid) -> Result<RotatePage, UiError> {
    let t = state
        .iam
        .get_token(&user.principal, TokenOwner::Caller, id)
        .await?;
    Ok(RotatePage::new(
        Nav::new(user, "tokens"),
        &t,
        format!("/ui/tokens/{id}/rotate"),
        "/ui/tokens".to_owned(),
        "Personal Access Tokens".to_owned(),
    ))
}

async fn rotate_form(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    Ok(render(own_rotate_page(&state, &user, id).await?))
}

async fn rotate(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let page = own_rotate_page(&state, &form.user, id).await?;
    rotate_with_form(&state, &form, TokenOwner::Caller, id, page, "me").await
}

async fn regenerate_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
) -> Result<Response, UiError> {
    let t = state
        .iam
        .get_token(&user.principal, TokenOwner::Caller, id)
        .await?;
    Ok(render(form::regenerate_confirmation(
        Nav::new(&user, "tokens"),
        &t,
        format!("/ui/tokens/{id}/regenerate"),
        "/ui/tokens".to_owned(),
    )))
}

async fn regenerate(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let confirmation = (
        Nav::new(&form.user, "tokens"),
        format!("/ui/tokens/{id}/regenerate"),
        "/ui/tokens".to_owned(),
    );
    form::regenerate(&state, &form, TokenOwner::Caller, id, "me", confirmation).await
}
