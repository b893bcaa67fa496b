//! The Profile page: one's details, effective permissions and password (`/me`, `/me/password`).

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

async fn profile(user: UiUser) -> Response {
    render(profile_page(&user, FieldErrors::default(), None))
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
                return Ok(render(profile_page(&form.user, errors, notice)));
            }
            Err(e) => errors = FieldErrors::from_core(e, "new_password", &[])?,
        }
    }
    bad_request(profile_page(&form.user, errors, None))
}
