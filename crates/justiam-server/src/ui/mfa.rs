//! Profile → Two-factor authentication: set up an authenticator app (QR code as inline SVG, the
//! secret as text), confirm it, the recovery codes (shown once, downloadable as a text file),
//! new recovery codes, removal; and the in-place step-up other forms use ([`step_up`]).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use justiam_core::CoreError;
use justiam_core::secret::Secret;
use justiam_core::service::mfa::{MfaPolicy, MfaStatus, TotpEnrollment};
use qrcode::QrCode;
use qrcode::render::svg;

use super::kit::{Nav, UiError, UiForm, UiUser, render, when};
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/profile/mfa", get(page))
        .route("/ui/profile/mfa/totp", post(start_setup))
        .route("/ui/profile/mfa/totp/confirm", post(confirm))
        .route("/ui/profile/mfa/totp/remove", post(remove))
        .route("/ui/profile/mfa/recovery-codes", post(regenerate))
        .route("/ui/profile/mfa/reauth", post(reauth))
}

/// The secret of a new enrollment, as the page shows it.
pub struct TotpSetupView {
    /// An inline `<svg>`: no script, no style attribute, so the page's CSP allows it.
    pub qr_svg: String,
    /// The base32 secret in groups of four, for typing.
    pub secret: String,
}

impl TotpSetupView {
    pub fn new(enrollment: &TotpEnrollment) -> Result<Self, UiError> {
        let code = QrCode::new(enrollment.qr_code_uri.expose().as_bytes())
            .map_err(|e| CoreError::Internal(anyhow::anyhow!("QR code: {e}")))?;
        let svg = code
            .render::<svg::Color<'_>>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build();
        // Drop the XML declaration: the `<svg>` goes inside HTML.
        let qr_svg = match svg.find("<svg") {
            Some(at) => svg[at..].to_owned(),
            None => svg,
        };
        let secret = enrollment
            .secret
            .expose()
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Self { qr_svg, secret })
    }
}

/// Recovery codes shown once, with their download (a `data:` link with `download`).
pub struct RecoveryCodesView {
    pub codes: Vec<String>,
    pub download: String,
}

impl RecoveryCodesView {
    pub fn new(codes: Vec<Secret>) -> Self {
        let codes: Vec<String> = codes.into_iter().map(Secret::into_exposed).collect();
        let text = format!(
            "JustIAM recovery codes: each works once, in place of a code of your authenticator app.\n\n{}\n",
            codes.join("\n")
        );
        let download = format!(
            "data:text/plain;charset=utf-8,{}",
            url::form_urlencoded::byte_serialize(text.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        );
        Self { codes, download }
    }
}

#[derive(Template)]
#[template(path = "mfa/page.html")]
struct MfaPage {
    nav: Option<Nav>,
    enrolled: bool,
    confirmed: String,
    recovery_left: i64,
    can_remove: bool,
    disabled: bool,
    setup: Option<TotpSetupView>,
    recovery: Option<RecoveryCodesView>,
    error: Option<String>,
    notice: Option<String>,
}

impl MfaPage {
    fn new(user: &UiUser, status: &MfaStatus) -> Self {
        Self {
            nav: Some(Nav::new(user, "profile")),
            enrolled: status.totp_enrolled,
            confirmed: status.totp_confirmed_at.map(when).unwrap_or_default(),
            recovery_left: status.recovery_codes_left,
            can_remove: status.policy != MfaPolicy::Required,
            disabled: status.policy == MfaPolicy::Disabled,
            setup: None,
            recovery: None,
            error: None,
            notice: None,
        }
    }
}

async fn current(state: &AppState, user: &UiUser) -> Result<MfaPage, UiError> {
    let status = state.iam.my_mfa(&user.principal).await?;
    Ok(MfaPage::new(user, &status))
}

async fn page(State(state): State<AppState>, user: UiUser) -> Result<Response, UiError> {
    Ok(render(current(&state, &user).await?))
}

async fn start_setup(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    let who = state.iam.mfa_self(&form.user.principal)?;
    let enrollment = state.iam.enroll_totp(&who).await?;
    let mut page = current(&state, &form.user).await?;
    page.setup = Some(TotpSetupView::new(&enrollment)?);
    Ok(render(page))
}

async fn confirm(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    let who = state.iam.mfa_self(&form.user.principal)?;
    let result = state
        .iam
        .confirm_totp(&who, form.fields.raw("code"), &form.user.meta)
        .await;
    crate::http::mfa::observe(&state, &result);
    match result {
        Ok(codes) => {
            let mut page = current(&state, &form.user).await?;
            page.recovery = Some(RecoveryCodesView::new(codes));
            page.notice = Some(
                "Your authenticator app is set up. From now on, signing in asks for its code."
                    .to_owned(),
            );
            Ok(render(page))
        }
        Err(error) => refused(&state, &form, error).await,
    }
}

async fn remove(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    let result = state
        .iam
        .remove_my_totp(
            &form.user.principal,
            form.fields.raw("code"),
            &form.user.meta,
        )
        .await;
    crate::http::mfa::observe(&state, &result);
    match result {
        Ok(()) => {
            let mut page = current(&state, &form.user).await?;
            page.notice =
                Some("The authenticator app and your recovery codes are removed.".to_owned());
            Ok(render(page))
        }
        Err(error) => refused(&state, &form, error).await,
    }
}

async fn regenerate(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    if let Err(error) = step_up(&state, &form).await {
        return refused(&state, &form, error).await;
    }
    let codes = state
        .iam
        .regenerate_recovery_codes(&form.user.principal, &form.user.meta)
        .await;
    match codes {
        Ok(codes) => {
            let mut page = current(&state, &form.user).await?;
            page.recovery = Some(RecoveryCodesView::new(codes));
            page.notice = Some("New recovery codes: the old ones no longer work.".to_owned());
            Ok(render(page))
        }
        Err(error) => refused(&state, &form, error).await,
    }
}

/// "Confirm it is you": a code checked in this session, so that minting tokens and secrets is
/// allowed for `MFA_REAUTH_MINUTES` ahead of time (the forms that mint one also ask in place).
async fn reauth(State(state): State<AppState>, form: UiForm) -> Result<Response, UiError> {
    let result = state
        .iam
        .reauthenticate_mfa(
            &form.user.principal,
            form.fields.raw("code"),
            &form.user.meta,
        )
        .await;
    crate::http::mfa::observe(&state, &result);
    match result {
        Ok(()) => {
            let mut page = current(&state, &form.user).await?;
            page.notice = Some(format!(
                "Confirmed. For the next {} minutes you can create tokens and application secrets.",
                state.iam.settings.mfa.reauth.as_secs().div_ceil(60)
            ));
            Ok(render(page))
        }
        Err(error) => refused(&state, &form, error).await,
    }
}

/// A wrong code, a lockout or a missing step-up, said on the MFA page.
async fn refused(state: &AppState, form: &UiForm, error: CoreError) -> Result<Response, UiError> {
    let (status, message) = match &error {
        CoreError::Validation { .. } => (
            StatusCode::BAD_REQUEST,
            "That code is not right. Enter the current six digits of your authenticator app."
                .to_owned(),
        ),
        CoreError::Throttled { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many wrong codes. Wait {retry_after_secs} seconds and try again."),
        ),
        CoreError::Forbidden {
            code: "mfa_reauth_required",
            ..
        } => (
            StatusCode::FORBIDDEN,
            "Enter a current code of your authenticator app to confirm it is you.".to_owned(),
        ),
        _ => return Err(error.into()),
    };
    let mut page = current(state, &form.user).await?;
    page.error = Some(message);
    Ok((status, render(page)).into_response())
}

/// The step-up of a form that mints a credential: when the form carries `mfa_code`, checks it
/// (as `POST /api/v1/auth/mfa/reauth`) before the action runs, so the action then passes
/// `require_recent_mfa`. A form without it goes on unchanged, and is refused
/// `mfa_reauth_required` when a check is due: [`step_up_message`] then makes the form ask.
async fn step_up(state: &AppState, form: &UiForm) -> Result<(), CoreError> {
    let code = form.fields.raw("mfa_code").trim();
    if code.is_empty() {
        return Ok(());
    }
    let result = state
        .iam
        .reauthenticate_mfa(&form.user.principal, code, &form.user.meta)
        .await;
    crate::http::mfa::observe(state, &result);
    result.map_err(|error| match error {
        CoreError::Validation { .. } => CoreError::validation(
            "mfa_code",
            "That code is not right. Enter the current six digits of your authenticator app.",
        ),
        other => other,
    })
}

/// Runs `action` (a credential's minting, not started yet: futures are lazy) after the form's
/// [`step_up`], so that every form asks in place the same way.
pub async fn stepped_up<T>(
    state: &AppState,
    form: &UiForm,
    action: impl Future<Output = Result<T, CoreError>>,
) -> Result<T, CoreError> {
    step_up(state, form).await?;
    action.await
}

/// The code field of a form that mints a credential (`mfa/step_up.html`): shown, with its
/// message, when the action needs the step-up or the code given was not accepted.
#[derive(Default)]
pub struct StepUp {
    /// Why the code is asked, or what was wrong with the one given; `None`: no field.
    pub message: Option<String>,
}

impl StepUp {
    /// Asks for the code when `error` is the step-up's (due, a wrong code, too many); `false`
    /// for any other error, which the form says its own way.
    pub fn ask(&mut self, error: &CoreError) -> bool {
        self.message = step_up_message(error);
        self.message.is_some()
    }
}

/// What the form says under its code field when the action needs the step-up (or the code given
/// was wrong); `None` for other errors.
fn step_up_message(error: &CoreError) -> Option<String> {
    match error {
        CoreError::Forbidden {
            code: "mfa_reauth_required",
            ..
        } => Some("Confirm it is you: enter a current code of your authenticator app.".to_owned()),
        CoreError::Validation { field, message } if field == "mfa_code" => Some(message.clone()),
        CoreError::Throttled { retry_after_secs } => Some(format!(
            "Too many wrong codes. Wait {retry_after_secs} seconds and try again."
        )),
        _ => None,
    }
}
