//! `/auth/login`, `/auth/logout`, `/auth/password-reset[/confirm]`, `/me`, `/me/password`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use justiam_core::CoreError;
use justiam_core::model::{PermissionSet, User};
use justiam_core::secret::Secret;
use justiam_core::service::LoginStep;
use justiam_core::time::to_datetime;
use justiam_types::mfa::{LoginResult, MfaChallenge};
use justiam_types::{
    ChangePassword, ErrorBody, LoginRequest, LoginResponse, Me, PasswordResetConfirm,
    PasswordResetRequest,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Auth, Meta, StrictJson};
use super::{ApiError, AppState};
use crate::telemetry::json;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
}

#[utoipa::path(post, path = "/api/v1/auth/login", operation_id = "login", tag = "auth", security(()), request_body = LoginRequest, responses(
    (status = 200, description = "A portal JWT bound to a new session or, when the account has a second factor, `mfa_required` with the `mfa_token` for `POST /api/v1/auth/mfa/verify`", body = LoginResult),
    (status = 403, description = "`mfa_enrollment_required`: a second factor must be set up first; `details.enrollment_token` may only call `POST /api/v1/mfa/totp/enroll` and `/confirm`", body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<LoginRequest>,
) -> Result<axum::response::Response, ApiError> {
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
    let no_store = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    match result? {
        LoginStep::Done(outcome) => {
            let response = LoginResponse {
                token: outcome.jwt.into_exposed(),
                expires_at: to_datetime(outcome.expires_at),
                user: outcome.user.to_wire(),
            };
            Ok((no_store, Json(response)).into_response())
        }
        LoginStep::MfaRequired {
            mfa_token,
            expires_at,
        } => {
            let challenge = MfaChallenge {
                mfa_required: true,
                mfa_token: mfa_token.into_exposed(),
                expires_at: to_datetime(expires_at),
                methods: vec!["totp".to_owned(), "recovery_code".to_owned()],
            };
            Ok((no_store, Json(challenge)).into_response())
        }
        LoginStep::EnrollmentRequired {
            enrollment_token,
            expires_at,
        } => {
            let refusal = ApiError::new(
                StatusCode::FORBIDDEN,
                "mfa_enrollment_required",
                "this server requires a second factor: set up an authenticator app with \
                 details.enrollment_token (POST /api/v1/mfa/totp/enroll, then /confirm), then sign in again",
            )
            .with_details(serde_json::json!({
                "enrollment_token": enrollment_token.expose(),
                "expires_at": to_datetime(expires_at),
            }));
            Ok((no_store, refusal).into_response())
        }
    }
}

#[utoipa::path(post, path = "/api/v1/auth/logout", operation_id = "logout", tag = "auth", responses((status = 204, description = "The session behind the JWT has ended")))]
async fn logout(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
) -> Result<StatusCode, ApiError> {
    state.iam.logout(&principal, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", operation_id = "get_me", tag = "auth", responses((status = 200, description = "The caller and their effective permissions", body = Me)))]
async fn me(Auth(principal): Auth) -> axum::response::Response {
    let body = me_json(&principal.user, principal.permissions);
    let json = HeaderValue::from_static("application/json");
    ([(header::CONTENT_TYPE, json)], body).into_response()
}

/// The `/me` answer ([`Me`]), written field by field from the cached principal: every script's
/// `GET /me` pays for it, and through serde it cost more than checking the token (the permission
/// names are copied from their ready JSON strings, `Permission::as_json`).
/// `me_json_matches_the_documented_me` keeps it identical to [`Me`].
fn me_json(user: &User, permissions: PermissionSet) -> Vec<u8> {
    // Sized for the whole answer up front (an admin's is ~850 bytes), not grown from 128.
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(b"{\"id\":");
    json::write_uuid(&mut out, user.id);
    for (key, value) in [
        (&b",\"email\":"[..], &user.email),
        (b",\"username\":", &user.username),
        (b",\"first_name\":", &user.first_name),
        (b",\"last_name\":", &user.last_name),
    ] {
        out.extend_from_slice(key);
        json::write_str(&mut out, value);
    }
    for (key, value) in [
        (&b",\"is_active\":"[..], user.is_active),
        (b",\"is_admin\":", user.is_admin),
        (b",\"is_service_account\":", user.is_service_account),
    ] {
        out.extend_from_slice(key);
        json::write_bool(&mut out, value);
    }
    out.extend_from_slice(b",\"auth_source\":");
    json::write_str(&mut out, &user.auth_source);
    out.extend_from_slice(b",\"created_at\":");
    json::write_timestamp(&mut out, &to_datetime(user.created_at));
    out.extend_from_slice(b",\"updated_at\":");
    json::write_timestamp(&mut out, &to_datetime(user.updated_at));
    out.extend_from_slice(b",\"permissions\":[");
    for (index, permission) in permissions.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(permission.as_json().as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

#[utoipa::path(put, path = "/api/v1/me/password", operation_id = "change_password", tag = "auth", request_body = ChangePassword, responses((status = 204, description = "Password changed; the caller's other sessions ended")))]
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

#[utoipa::path(post, path = "/api/v1/auth/password-reset", operation_id = "request_password_reset", tag = "auth", security(()), request_body = PasswordResetRequest, responses(
    (status = 202, description = "Accepted whatever the address: if it is an active account's, a single-use reset link is mailed to it"),
    (status = 503, description = "`mail_disabled`: this server sends no mail (no SMTP_HOST)"),
))]
async fn request_password_reset(
    State(state): State<AppState>,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<PasswordResetRequest>,
) -> Result<StatusCode, ApiError> {
    state.iam.request_password_reset(&body.email, &meta).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", operation_id = "confirm_password_reset", tag = "auth", security(()), request_body = PasswordResetConfirm, responses(
    (status = 204, description = "Password set; every session and refresh token of the account ended"),
    (status = 400, description = "`invalid_reset_token`: unknown, used or expired link; or a password breaking the rules"),
))]
async fn confirm_password_reset(
    State(state): State<AppState>,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<PasswordResetConfirm>,
) -> Result<StatusCode, ApiError> {
    let new = Secret::new(body.new_password);
    state
        .iam
        .confirm_password_reset(&body.token, &new, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use justiam_core::model::Permission;

    #[test]
    fn every_permission_has_its_ready_json_name() {
        for permission in Permission::ALL {
            assert_eq!(
                permission.as_json(),
                serde_json::to_string(permission.as_str()).expect("name")
            );
        }
    }

    #[test]
    fn me_json_matches_the_documented_me() {
        let user = User {
            id: uuid::Uuid::now_v7(),
            email: "a\"b@example.com".to_owned(),
            username: "ab".to_owned(),
            first_name: "Ä".to_owned(),
            last_name: "B".to_owned(),
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
        assert_eq!(
            String::from_utf8(me_json(&user, permissions)).expect("utf-8"),
            serde_json::to_string(&documented).expect("documented")
        );
        let none = Me {
            user: user.to_wire(),
            permissions: Vec::new(),
        };
        assert_eq!(
            String::from_utf8(me_json(&user, PermissionSet::EMPTY)).expect("utf-8"),
            serde_json::to_string(&none).expect("documented")
        );
    }
}
