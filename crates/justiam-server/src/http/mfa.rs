//! Multi-factor authentication: the second step of a login, step-up, TOTP enrollment, recovery
//! codes and the administrator reset. The login's first step is `POST /api/v1/auth/login`
//! (`http/auth.rs`).

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use justiam_core::CoreError;
use justiam_core::service::mfa::{ENROLLMENT_TOKEN_PREFIX, MfaSelf, MfaStatus};
use justiam_core::time::to_datetime;
use justiam_types::mfa::{self as wire, MfaCode, RecoveryCodes, TotpEnrollment, VerifyMfa};
use justiam_types::{ErrorBody, LoginResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiPath, Auth, Meta, StrictJson};
use super::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify))
        .routes(routes!(reauth))
        .routes(routes!(enroll))
        .routes(routes!(confirm))
        .routes(routes!(my_mfa))
        .routes(routes!(remove_totp))
        .routes(routes!(regenerate_recovery_codes))
        .routes(routes!(user_mfa, reset_user_mfa))
}

/// Counts a second-factor check in `justiam_authentications_total{credential="mfa"}`.
pub fn observe<T>(state: &AppState, result: &Result<T, CoreError>) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(CoreError::Throttled { .. }) => "throttled",
        Err(
            CoreError::Unauthorized { .. } | CoreError::Validation { .. } | CoreError::InvalidToken,
        ) => "invalid",
        Err(_) => "error",
    };
    state.metrics.observe_authentication("mfa", outcome);
}

/// Whoever manages their own second factor: a portal JWT, or (to enroll and confirm only) the
/// enrollment-only token of `mfa_enrollment_required`.
pub struct MfaAuth(pub MfaSelf);

impl FromRequestParts<AppState> for MfaAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let enrollment = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, value)| value.trim())
            .filter(|value| value.starts_with(ENROLLMENT_TOKEN_PREFIX))
            .map(str::to_owned);
        let who = match enrollment {
            Some(token) => state.iam.mfa_self_by_enrollment_token(&token).await?,
            None => {
                let Auth(principal) = Auth::from_request_parts(parts, state).await?;
                state.iam.mfa_self(&principal)?
            }
        };
        Ok(MfaAuth(who))
    }
}

fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

fn status_to_wire(status: MfaStatus) -> wire::MfaStatus {
    wire::MfaStatus {
        policy: status.policy.as_str().to_owned(),
        totp: status.totp_enrolled,
        totp_confirmed_at: status.totp_confirmed_at.map(to_datetime),
        recovery_codes_left: status.recovery_codes_left.max(0) as u64,
    }
}

fn codes_to_wire(codes: Vec<justiam_core::secret::Secret>) -> RecoveryCodes {
    RecoveryCodes {
        recovery_codes: codes.into_iter().map(|c| c.into_exposed()).collect(),
    }
}

#[utoipa::path(post, path = "/api/v1/auth/mfa/verify", operation_id = "verify_mfa", tag = "mfa", security(()), request_body = VerifyMfa, responses(
    (status = 200, description = "The login is complete: a portal JWT bound to a new session", body = LoginResponse),
    (status = 401, description = "`invalid_mfa_code` (wrong, expired or used code) or `invalid_mfa_token` (unknown, expired or used mfa_token)", body = ErrorBody),
    (status = 429, description = "Too many wrong codes for this account: its second step is locked for a while (`Retry-After`)", body = ErrorBody)))]
async fn verify(
    State(state): State<AppState>,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<VerifyMfa>,
) -> Result<impl IntoResponse, ApiError> {
    let result = state
        .iam
        .verify_mfa_login(&body.mfa_token, &body.code, &meta)
        .await;
    observe(&state, &result);
    let outcome = result?;
    let response = LoginResponse {
        token: outcome.jwt.into_exposed(),
        expires_at: to_datetime(outcome.expires_at),
        user: outcome.user.to_wire(),
    };
    Ok((no_store(), Json(response)))
}

#[utoipa::path(post, path = "/api/v1/auth/mfa/reauth", operation_id = "reauthenticate_mfa", tag = "mfa", request_body = MfaCode, responses(
    (status = 204, description = "The code is right: this session may mint tokens and secrets for MFA_REAUTH_MINUTES"),
    (status = 400, description = "`validation_error` on `code`: wrong, expired or used", body = ErrorBody),
    (status = 429, description = "Too many wrong codes", body = ErrorBody)))]
async fn reauth(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<MfaCode>,
) -> Result<StatusCode, ApiError> {
    let result = state
        .iam
        .reauthenticate_mfa(&principal, &body.code, &meta)
        .await;
    observe(&state, &result);
    result?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/mfa/totp/enroll", operation_id = "enroll_totp", tag = "mfa", responses(
    (status = 200, description = "A new secret, shown this once; confirm it with a code", body = TotpEnrollment),
    (status = 409, description = "`mfa_already_enrolled` or `mfa_disabled`", body = ErrorBody)))]
async fn enroll(
    State(state): State<AppState>,
    MfaAuth(who): MfaAuth,
) -> Result<impl IntoResponse, ApiError> {
    let enrollment = state.iam.enroll_totp(&who).await?;
    let body = TotpEnrollment {
        secret: enrollment.secret.into_exposed(),
        qr_code_uri: enrollment.qr_code_uri.into_exposed(),
    };
    Ok((no_store(), Json(body)))
}

#[utoipa::path(post, path = "/api/v1/mfa/totp/confirm", operation_id = "confirm_totp", tag = "mfa", request_body = MfaCode, responses(
    (status = 200, description = "Enrolled: ten single-use recovery codes, shown this once", body = RecoveryCodes),
    (status = 400, description = "`validation_error` on `code`", body = ErrorBody),
    (status = 409, description = "`mfa_not_enrolling` or `mfa_already_enrolled`", body = ErrorBody)))]
async fn confirm(
    State(state): State<AppState>,
    MfaAuth(who): MfaAuth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<MfaCode>,
) -> Result<impl IntoResponse, ApiError> {
    let result = state.iam.confirm_totp(&who, &body.code, &meta).await;
    observe(&state, &result);
    Ok((no_store(), Json(codes_to_wire(result?))))
}

#[utoipa::path(get, path = "/api/v1/me/mfa", operation_id = "get_my_mfa", tag = "mfa", responses(
    (status = 200, description = "The caller's second factors", body = wire::MfaStatus)))]
async fn my_mfa(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<wire::MfaStatus>, ApiError> {
    Ok(Json(status_to_wire(state.iam.my_mfa(&principal).await?)))
}

#[utoipa::path(delete, path = "/api/v1/me/mfa/totp", operation_id = "remove_my_totp", tag = "mfa", request_body = MfaCode, responses(
    (status = 204, description = "The authenticator app and the recovery codes are removed"),
    (status = 400, description = "`validation_error` on `code`", body = ErrorBody),
    (status = 409, description = "`mfa_required_by_policy`", body = ErrorBody)))]
async fn remove_totp(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    StrictJson(body): StrictJson<MfaCode>,
) -> Result<StatusCode, ApiError> {
    let result = state
        .iam
        .remove_my_totp(&principal, &body.code, &meta)
        .await;
    observe(&state, &result);
    result?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/me/mfa/recovery-codes", operation_id = "regenerate_recovery_codes", tag = "mfa", responses(
    (status = 200, description = "Ten new recovery codes, shown this once; the old ones stop working", body = RecoveryCodes),
    (status = 403, description = "`mfa_reauth_required`", body = ErrorBody),
    (status = 409, description = "`mfa_not_enrolled`", body = ErrorBody)))]
async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
) -> Result<impl IntoResponse, ApiError> {
    let codes = state
        .iam
        .regenerate_recovery_codes(&principal, &meta)
        .await?;
    Ok((no_store(), Json(codes_to_wire(codes))))
}

#[utoipa::path(get, path = "/api/v1/users/{id}/mfa", operation_id = "get_user_mfa", tag = "mfa", params(("id" = Uuid, Path, description = "User id")), responses(
    (status = 200, description = "The user's second factors (`users.view`)", body = wire::MfaStatus)))]
async fn user_mfa(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<wire::MfaStatus>, ApiError> {
    Ok(Json(status_to_wire(
        state.iam.user_mfa(&principal, id).await?,
    )))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/mfa", operation_id = "reset_user_mfa", tag = "mfa", params(("id" = Uuid, Path, description = "User id")), responses(
    (status = 204, description = "The user has no second factor now: their authenticator app and recovery codes are removed, if they had any (`users.update`; audited `mfa.reset` only when something was removed)"),
    (status = 404, description = "No such user", body = ErrorBody)))]
async fn reset_user_mfa(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.reset_user_mfa(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
