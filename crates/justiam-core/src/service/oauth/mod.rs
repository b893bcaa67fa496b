//! The OpenID Connect provider's use cases: SSO sessions, authorize, the token endpoint, userinfo,
//! introspection, revocation, RP-initiated logout and "applications you signed in to".
//!
//! Errors of the OAuth endpoints are [`OAuthError`]s: the RFC 6749 §5.2 `error` codes, not the
//! API's. What the server shows or redirects is decided in `justiam-server`'s `oauth` module.

mod authorize;
mod claims;
mod grant;
pub mod keys;
mod resource;
mod signed_in;
mod sso;

use std::time::Duration;

pub use authorize::{AuthorizeOutcome, AuthorizeRequest};
pub use grant::{ClientCredentials, TokenRequest, TokenResponse};
pub use resource::{EndedSession, Introspection};
pub use sso::SsoSession;

use super::Iam;
use crate::error::CoreError;
use crate::time::Millis;

/// Prefix of refresh tokens (opaque; same generator and checksum as PATs).
pub const REFRESH_PREFIX: &str = "justiam_rt_";
/// Prefix of authorization codes.
pub const CODE_PREFIX: &str = "justiam_ac_";

#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// Authorization code lifetime (at most 60 s).
    pub code_ttl: Duration,
    /// Refresh token lifetime (`OAUTH_REFRESH_TTL_DAYS`).
    pub refresh_ttl: Duration,
    /// SSO session lifetime (`SESSION_DURATION_DAYS`).
    pub sso_session: Duration,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            code_ttl: Duration::from_secs(60),
            refresh_ttl: Duration::from_secs(30 * 86_400),
            sso_session: Duration::from_secs(7 * 86_400),
        }
    }
}

/// An OAuth error (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; RFC 7009 §2.2.1).
#[derive(Debug)]
pub enum OAuthError {
    /// A refusal with its standard `error` code and a description for people.
    Refused {
        error: &'static str,
        description: String,
    },
    /// The check itself failed.
    Failed(CoreError),
}

impl OAuthError {
    pub fn refused(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError::Refused {
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::refused("invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::refused("invalid_grant", description)
    }

    pub fn invalid_client() -> Self {
        Self::refused(
            "invalid_client",
            "client authentication failed (unknown client, wrong secret or wrong method)",
        )
    }
}

impl From<CoreError> for OAuthError {
    fn from(error: CoreError) -> Self {
        OAuthError::Failed(error)
    }
}

impl From<sqlx::Error> for OAuthError {
    fn from(error: sqlx::Error) -> Self {
        OAuthError::Failed(error.into())
    }
}

pub type OAuthResult<T> = Result<T, OAuthError>;

fn secs(ms: Millis) -> i64 {
    ms.div_euclid(1000)
}

/// A space-separated scope string as words, in order, without repeats.
pub fn scope_words(scope: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in scope.split(' ').filter(|w| !w.is_empty()) {
        if !words.iter().any(|w| w == word) {
            words.push(word.to_owned());
        }
    }
    words
}

impl Iam {
    /// Hourly upkeep of codes and refresh tokens that can no longer be used.
    pub(crate) async fn purge_oauth(&self, now: Millis) {
        if let Err(error) = crate::store::oauth::purge(&self.db.pool, now).await {
            tracing::warn!(%error, "could not purge expired authorization codes and refresh tokens");
        }
    }

    /// The issuer: `OIDC_ISSUER`, byte for byte.
    pub fn issuer(&self) -> &str {
        self.jwt.issuer()
    }
}
