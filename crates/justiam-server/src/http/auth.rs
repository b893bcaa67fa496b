//! `/auth/login`, `/auth/logout`, `/me`, `/me/password`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use justiam_core::CoreError;
use justiam_core::model::{Permission, PermissionSet};
use justiam_core::secret::Secret;
use justiam_core::store::users::UserRow;
use justiam_core::time::to_datetime;
use justiam_types::{ChangePassword, LoginRequest, LoginResponse, Me};
use serde_json::value::RawValue;
use std::sync::LazyLock;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Auth, Meta, StrictJson};
use super::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

#[utoipa::path(post, path = "/auth/login", tag = "auth", security(()), request_body = LoginRequest, responses((status = 200, description = "A portal JWT bound to a new session", body = LoginResponse)))]
async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let result = state
        .iam
        .login(&body.email, &Secret::new(body.password), &meta)
        .await;
    let label = match &result {
        Ok(_) => "ok",
        Err(CoreError::Throttled { .. }) => "throttled",
        Err(CoreError::InvalidCredentials | CoreError::Forbidden { .. }) => "invalid",
        Err(_) => "error",
    };
    state.metrics.observe_authentication("password", label);
    let outcome = result?;
    let response = LoginResponse {
        token: outcome.jwt.into_exposed(),
        expires_at: to_datetime(outcome.expires_at),
        user: outcome.user.to_wire(),
    };
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(response),
    ))
}

#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204, description = "The session behind the JWT has ended")))]
async fn logout(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
) -> Result<StatusCode, ApiError> {
    state.iam.logout(&principal, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me", tag = "auth", responses((status = 200, description = "The caller and their effective permissions", body = Me)))]
async fn me(Auth(principal): Auth) -> axum::response::Response {
    let view = MeView::new(&principal.user, principal.permissions);
    // Sized for the whole answer up front (an admin's is ~850 bytes), not grown from 128.
    let mut body = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut body, &view) {
        Ok(()) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot write the /me answer");
            ApiError::internal().into_response()
        }
    }
}

/// [`Me`] as the handler writes it, borrowing from the cached principal instead of copying its
/// strings, with the user's fields spelled out (`#[serde(flatten)]` would serialize through a
/// map). Every script's `GET /me` pays for this answer; `me_view_matches_the_documented_me`
/// keeps it identical to [`Me`].
#[derive(serde::Serialize)]
struct MeView<'a> {
    id: uuid::Uuid,
    email: &'a str,
    username: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    is_active: bool,
    is_admin: bool,
    is_service_account: bool,
    auth_source: &'a str,
    #[serde(serialize_with = "justiam_types::timestamp::serialize")]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "justiam_types::timestamp::serialize")]
    updated_at: chrono::DateTime<chrono::Utc>,
    permissions: PermissionNames,
}

impl<'a> MeView<'a> {
    fn new(user: &'a UserRow, permissions: PermissionSet) -> Self {
        Self {
            id: user.id,
            email: &user.email,
            username: &user.username,
            first_name: &user.first_name,
            last_name: &user.last_name,
            is_active: user.is_active,
            is_admin: user.is_admin,
            is_service_account: user.is_service_account,
            auth_source: &user.auth_source,
            created_at: to_datetime(user.created_at),
            updated_at: to_datetime(user.updated_at),
            permissions: PermissionNames(permissions),
        }
    }
}

/// A permission set written as the JSON array of its names, each name copied from a table of
/// ready JSON strings instead of being escaped byte by byte (the largest single cost of a
/// `GET /me` answer before).
struct PermissionNames(PermissionSet);

/// [`Permission::as_json`] of every catalogue entry, by discriminant.
static PERMISSION_JSON: LazyLock<Vec<Option<&'static RawValue>>> = LazyLock::new(|| {
    Permission::ALL
        .iter()
        .map(|p| serde_json::from_str(p.as_json()).ok())
        .collect()
});

impl serde::Serialize for PermissionNames {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut names = serializer.serialize_seq(None)?;
        for permission in self.0.iter() {
            match PERMISSION_JSON.get(permission as usize).copied().flatten() {
                Some(json) => names.serialize_element(json)?,
                None => names.serialize_element(permission.as_str())?,
            }
        }
        names.end()
    }
}

#[utoipa::path(put, path = "/me/password", tag = "auth", request_body = ChangePassword, responses((status = 204, description = "Password changed; the caller's other sessions ended")))]
async fn change_password(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let current = Secret::new(body.current_password);
    let new = Secret::new(body.new_password);
    state
        .iam
        .change_password(&principal, &current, &new, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_has_its_ready_json_name() {
        assert_eq!(PERMISSION_JSON.len(), Permission::ALL.len());
        for (index, permission) in Permission::ALL.iter().enumerate() {
            assert_eq!(*permission as usize, index);
            let json = PERMISSION_JSON[index].expect("valid JSON");
            assert_eq!(
                json.get(),
                serde_json::to_string(permission.as_str()).expect("name")
            );
        }
    }

    #[test]
    fn me_view_matches_the_documented_me() {
        let user = UserRow {
            id: uuid::Uuid::now_v7(),
            email: "a\"b@example.com".to_owned(),
            username: "ab".to_owned(),
            first_name: "Ä".to_owned(),
            last_name: "B".to_owned(),
            password_hash: None,
            is_active: true,
            is_admin: false,
            is_service_account: true,
            auth_source: "internal".to_owned(),
            created_at: 1_700_000_000_123,
            updated_at: 1_700_000_100_000,
        };
        let documented = Me {
            user: user.to_wire(),
            permissions: vec!["users.view".to_owned(), "audit.view".to_owned()],
        };
        let permissions = [Permission::UsersView, Permission::AuditView]
            .into_iter()
            .collect();
        let view = MeView::new(&user, permissions);
        assert_eq!(
            serde_json::to_string(&view).expect("view"),
            serde_json::to_string(&documented).expect("documented")
        );
    }
}
