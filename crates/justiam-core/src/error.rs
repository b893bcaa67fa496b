//! The one error type of the core. The server maps each variant to a status, a `code` and headers.

use crate::model::Permission;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Bad input: names the field and the rule.
    #[error("{message}")]
    Validation { field: String, message: String },
    /// Bad input that is not about one field's shape (`not_a_token`, …).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    /// A well-formed request the current state refuses, with a stable machine `code` (`conflict`,
    /// `token_limit_reached`, `unknown_reference` for an id in the body that names nothing, …).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("this action requires the permission `{0}`")]
    MissingPermission(Permission),
    /// Privilege escalation refused: granting a permission the caller does not hold.
    #[error("you cannot grant the permission `{0}` because you do not hold it yourself")]
    CannotGrant(Permission),
    /// Acting on a user who holds a permission the caller does not: a lesser administrator may not
    /// disarm a stronger one.
    #[error(
        "you may act on this user only if you hold every permission they hold; you do not hold `{0}`"
    )]
    Outranked(Permission),
    /// A token asked for a permission its owner does not hold: a token never exceeds its owner.
    #[error(
        "permissions: the token owner does not hold `{0}`, and a token cannot exceed its owner"
    )]
    OwnerLacks(Permission),
    /// Forbidden for a reason other than a missing permission (`account_disabled`, …).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Missing, malformed, unknown, expired or revoked credential.
    #[error("the access token is missing, malformed, expired or revoked")]
    InvalidToken,
    /// A refused credential other than a bearer token (`invalid_mfa_code`, `invalid_mfa_token`).
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("too many attempts; retry in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: u64 },
    /// A feature this server cannot offer as configured (`mail_disabled`: no SMTP_HOST).
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl CoreError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    /// `field` of the body names something that does not exist: the request is well formed, the
    /// current state refuses it (`409`; a missing resource of the *path* is `404`).
    pub fn unknown_reference(field: &str, what: &str) -> Self {
        Self::conflict(
            "unknown_reference",
            format!("{field} names no {what}: no {what} has this id"),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
