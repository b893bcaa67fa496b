//! The Profile page: one's details, effective permissions, password, and the applications one
//! signed in to (`/me`, `/me/password`, `/me/applications`).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use justiam_core::secret::Secret;

use super::kit::{FieldErrors, Nav, UiError, UiForm, UiUser, bad_request, render, when};
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/profile", get(profile))
        .route("/ui/profile/password", post(change_password))
        .route(
            "/ui/profile/applications/{id}/revoke",
            post(revoke_application),
        )
}

/// One row of "Applications you signed in to".
struct SignedInView {
    id: uuid::Uuid,
    name: String,
    scopes: String,
    last: String,
    active: u64,
}

#[derive(Template)]
#[template(path = "profile/profile.html")]
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
    applications: Vec<SignedInView>,
}

async fn profile_page(
    state: &AppState,
    user: &UiUser,
    errors: FieldErrors,
    notice: Option<String>,
) -> Result<ProfilePage, UiError> {
    let u = &user.principal.user;
    let applications = state
        .iam
        .my_applications(&user.principal)
        .await?
        .into_iter()
        .map(|a| SignedInView {
            id: a.application_id,
            name: if a.friendly_name.is_empty() {
                a.name
            } else {
                a.friendly_name
            },
            scopes: a.scopes.join(" "),
            last: a.last_signed_in_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            active: a.active_refresh_tokens,
        })
        .collect();
    Ok(ProfilePage {
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
        applications,
    })
}

async fn profile(State(state): State<AppState>, user: UiUser) -> Result<Response, UiError> {
    Ok(render(
        profile_page(&state, &user, FieldErrors::default(), None).await?,
    ))
}

/// Revoke: ends the caller's refresh tokens at the application (`DELETE /me/applications/{id}`).
async fn revoke_application(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<uuid::Uuid>,
    form: UiForm,
) -> Result<Response, UiError> {
    state
        .iam
        .revoke_my_application(&form.user.principal, id, &form.user.meta)
        .await?;
    let notice =
        Some("The application's access was revoked. It must ask you to sign in again.".to_owned());
    Ok(render(
        profile_page(&state, &form.user, FieldErrors::default(), notice).await?,
    ))
}

async fn change_password(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
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
                return Ok(render(
                    profile_page(&state, &form.user, errors, notice).await?,
                ));
            }
            Err(e) => errors = FieldErrors::from_core(e, "new_password", &[])?,
        }
    }
    bad_request(profile_page(&state, &form.user, errors, None).await?)
}
