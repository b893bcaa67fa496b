//! A service account's tokens (`/ui/admin/users/{id}/tokens`), as `/users/{id}/tokens` of the API.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use justiam_core::service::TokenOwner;
use uuid::Uuid;

use super::form::{
    self, RotatePage, TokenForm, TokenView, read_token_form, rotate_with_form, show_once,
    token_form,
};
use super::listing::{self, ListControls};
use crate::app::AppState;
use crate::ui::kit::{
    FieldErrors, Nav, Pager, Params, UiError, UiForm, UiUser, bad_request, notice_of, redirect,
    render,
};
use crate::ui::users::UserView;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/ui/admin/users/{id}/tokens",
            get(sa_tokens).post(create_sa_token),
        )
        .route(
            "/ui/admin/users/{id}/tokens/{token}/revoke",
            get(revoke_sa_token_confirm).post(revoke_sa_token),
        )
        .route(
            "/ui/admin/users/{id}/tokens/{token}/rotate",
            get(rotate_sa_token_form).post(rotate_sa_token),
        )
        .route(
            "/ui/admin/users/{id}/tokens/{token}/regenerate",
            get(regenerate_sa_token_confirm).post(regenerate_sa_token),
        )
}

#[derive(Template)]
#[template(path = "tokens/service_account.html")]
struct SaTokensPage {
    nav: Option<Nav>,
    account: UserView,
    tokens: Vec<TokenView>,
    token_base: String,
    pager: Pager,
    controls: ListControls,
    form: TokenForm,
    notice: Option<String>,
}

async fn sa_tokens_page(
    state: &AppState,
    user: &UiUser,
    id: Uuid,
    q: &HashMap<String, String>,
) -> Result<SaTokensPage, UiError> {
    let p = &user.principal;
    let path = format!("/ui/admin/users/{id}/tokens");
    let (rows, pager, controls) =
        listing::token_page(state, user, TokenOwner::ServiceAccount(id), &path, q).await?;
    let account = state.iam.get_user(p, id).await.ok();
    let account = match account {
        Some(a) => a,
        None => return Err(UiError::not_found()),
    };
    let form = token_form(
        state,
        user,
        TokenOwner::ServiceAccount(id),
        format!("/ui/admin/users/{id}/tokens"),
        account.email.clone(),
        account.is_admin,
    )
    .await?;
    Ok(SaTokensPage {
        nav: Some(Nav::new(user, "users")),
        account: UserView::of(&account),
        tokens: rows.iter().map(TokenView::of).collect(),
        token_base: format!("/ui/admin/users/{id}/tokens"),
        pager,
        controls,
        form,
        notice: notice_of(q),
    })
}

async fn sa_tokens(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<Uuid>,
    Query(q): Params,
) -> Result<Response, UiError> {
    Ok(render(sa_tokens_page(&state, &user, id, &q).await?))
}

async fn create_sa_token(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    let mut page = sa_tokens_page(&state, user, id, &HashMap::new()).await?;
    let Some(input) = read_token_form(&form.fields, &mut page.form) else {
        return bad_request(page);
    };
    let creation = state.iam.create_token(
        &user.principal,
        TokenOwner::ServiceAccount(id),
        input,
        &user.meta,
    );
    let result = crate::ui::mfa::stepped_up(&state, &form, creation).await;
    match result {
        Ok(issued) => Ok(show_once(
            &state,
            issued.value.expose(),
            &issued.record.name,
            &id.to_string(),
        )),
        Err(e) if page.form.step_up.ask(&e) => bad_request(page),
        Err(e) => {
            page.form.errors = FieldErrors::from_core(e, "name", &[])?;
            bad_request(page)
        }
    }
}

async fn revoke_sa_token(
    State(state): State<AppState>,
    Path((id, token)): Path<(Uuid, Uuid)>,
    form: UiForm,
) -> Result<Response, UiError> {
    let user = &form.user;
    state
        .iam
        .revoke_token(
            &user.principal,
            TokenOwner::ServiceAccount(id),
            token,
            &user.meta,
        )
        .await?;
    redirect(&format!("/ui/admin/users/{id}/tokens?done=revoked"))
}

async fn revoke_sa_token_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path((id, token)): Path<(Uuid, Uuid)>,
) -> Result<Response, UiError> {
    let t = state
        .iam
        .check_can_revoke_token(&user.principal, TokenOwner::ServiceAccount(id), token)
        .await?;
    Ok(render(form::revoke_confirmation(
        Nav::new(&user, "users"),
        &t,
        format!("/ui/admin/users/{id}/tokens/{token}/revoke"),
        format!("/ui/admin/users/{id}/tokens"),
    )))
}

async fn sa_rotate_page(
    state: &AppState,
    user: &UiUser,
    id: Uuid,
    token: Uuid,
) -> Result<RotatePage, UiError> {
    let t = state
        .iam
        .get_token(&user.principal, TokenOwner::ServiceAccount(id), token)
        .await?;
    let account = state.iam.get_user(&user.principal, id).await?;
    Ok(RotatePage::new(
        Nav::new(user, "users"),
        &t,
        format!("/ui/admin/users/{id}/tokens/{token}/rotate"),
        format!("/ui/admin/users/{id}/tokens"),
        format!("Tokens of {}", account.email),
    ))
}

async fn rotate_sa_token_form(
    State(state): State<AppState>,
    user: UiUser,
    Path((id, token)): Path<(Uuid, Uuid)>,
) -> Result<Response, UiError> {
    Ok(render(sa_rotate_page(&state, &user, id, token).await?))
}

async fn rotate_sa_token(
    State(state): State<AppState>,
    Path((id, token)): Path<(Uuid, Uuid)>,
    form: UiForm,
) -> Result<Response, UiError> {
    let page = sa_rotate_page(&state, &form.user, id, token).await?;
    rotate_with_form(
        &state,
        &form,
        TokenOwner::ServiceAccount(id),
        token,
        page,
        &id.to_string(),
    )
    .await
}

async fn regenerate_sa_token_confirm(
    State(state): State<AppState>,
    user: UiUser,
    Path((id, token)): Path<(Uuid, Uuid)>,
) -> Result<Response, UiError> {
    let t = state
        .iam
        .get_token(&user.principal, TokenOwner::ServiceAccount(id), token)
        .await?;
    Ok(render(form::regenerate_confirmation(
        Nav::new(&user, "users"),
        &t,
        format!("/ui/admin/users/{id}/tokens/{token}/regenerate"),
        format!("/ui/admin/users/{id}/tokens"),
    )))
}

async fn regenerate_sa_token(
    State(state): State<AppState>,
    Path((id, token)): Path<(Uuid, Uuid)>,
    form: UiForm,
) -> Result<Response, UiError> {
    let confirmation = (
        Nav::new(&form.user, "users"),
        format!("/ui/admin/users/{id}/tokens/{token}/regenerate"),
        format!("/ui/admin/users/{id}/tokens"),
    );
    form::regenerate(
        &state,
        &form,
        TokenOwner::ServiceAccount(id),
        token,
        &id.to_string(),
        confirmation,
    )
    .await
}
