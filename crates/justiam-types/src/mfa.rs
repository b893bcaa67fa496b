//! Multi-factor authentication on the wire: the second step of a login, TOTP enrollment,
//! recovery codes, step-up. Every type that carries a secret redacts it in `Debug`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{LoginResponse, timestamp};

/// `POST /api/v1/auth/login` when the account has a second factor: no JWT yet; send a code with
/// this `mfa_token` to `POST /api/v1/auth/mfa/verify`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MfaChallenge {
    /// Always `true`: tells this answer from a finished login.
    pub mfa_required: bool,
    /// Single use, valid for a few minutes.
    pub mfa_token: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub expires_at: DateTime<Utc>,
    /// The second factors the account may use: `totp`, `recovery_code`.
    pub methods: Vec<String>,
}

impl std::fmt::Debug for MfaChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaChallenge")
            .field("mfa_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("methods", &self.methods)
            .finish()
    }
}

/// What `POST /api/v1/auth/login` answers `200` with: a session, or the second step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResult {
    MfaRequired(MfaChallenge),
    Session(LoginResponse),
}

/// `POST /api/v1/auth/mfa/verify`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyMfa {
    pub mfa_token: String,
    /// Six digits of the authenticator app, or a recovery code (`xxxx-xxxx-xxxx-xxxx`).
    pub code: String,
}

impl std::fmt::Debug for VerifyMfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifyMfa { <redacted> }")
    }
}

/// A code: `POST /api/v1/mfa/totp/confirm`, `DELETE /api/v1/me/mfa/totp`,
/// `POST /api/v1/auth/mfa/reauth`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaCode {
    /// Six digits of the authenticator app (a recovery code too, except to confirm an enrollment).
    pub code: String,
}

impl std::fmt::Debug for MfaCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaCode { <redacted> }")
    }
}

/// `POST /api/v1/mfa/totp/enroll`: shown this once.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TotpEnrollment {
    /// The shared secret, base32 (to type into an app).
    pub secret: String,
    /// `otpauth://totp/…` with issuer and account (to show as a QR code).
    pub qr_code_uri: String,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrollment { <redacted> }")
    }
}

/// Ten single-use recovery codes, shown this once (stored only as digests).
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCodes { <redacted> }")
    }
}

/// `GET /api/v1/me/mfa`, `GET /api/v1/users/{id}/mfa`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MfaStatus {
    /// The server's `MFA_POLICY`: `disabled`, `optional` or `required`.
    pub policy: String,
    /// An authenticator app is set up and confirmed.
    pub totp: bool,
    #[serde(default, serialize_with = "timestamp::serialize_option")]
    pub totp_confirmed_at: Option<DateTime<Utc>>,
    /// Unused recovery codes.
    pub recovery_codes_left: u64,
}
