//! `GET/POST /oauth2/authorize`: the authorization code flow's first leg.

use sha2::{Digest, Sha256};

use super::super::Iam;
use super::{CODE_PREFIX, SsoSession, scope_words};
use crate::authz::RequestMeta;
use crate::error::{CoreError, CoreResult};
use crate::model::Application;
use crate::store::audit::{self, AuditEntry};
use crate::store::{new_id, oauth};
use crate::time::now_millis;
use crate::token;

/// The authorization request's parameters, as sent (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636).
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub response_mode: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// JustIAM's own: set on the way back from the login page asked for by `prompt=login` or
    /// `max_age`; the sign-in must be at least this recent (unix ms). Only ever tightens.
    pub auth_after: Option<i64>,
}

/// What the server does with an authorization request.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// Never redirect: an unknown client or a redirect URI that is not registered.
    ErrorPage { message: String },
    /// Send the browser to the login page, which comes back with `auth_after` (unix ms) set when
    /// a fresh sign-in is required.
    Login {
        auth_after: Option<i64>,
        login_hint: Option<String>,
    },
    /// `access_restricted` and no grant: a page in plain words, then `access_denied`.
    AccessDenied {
        application: String,
        redirect_uri: String,
        state: Option<String>,
    },
    /// Redirect with `error`, `error_description`, `state`.
    ErrorRedirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
    /// Redirect with `code` and `state`.
    Code {
        redirect_uri: String,
        code: String,
        state: Option<String>,
    },
}

/// The standard scopes JustIAM knows; others are the application's custom ones.
const OFFLINE_ACCESS: &str = "offline_access";

/// A PKCE `code_challenge` (RFC 7636 §4.2): 43 to 128 unreserved characters.
fn valid_challenge(challenge: &str) -> bool {
    (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 transformation of a verifier (RFC 7636 §4.2).
pub(super) fn s256(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Iam {
    /// Decides an authorization request for the browser holding `session` (its `idp_sid`).
    pub async fn authorize(
        &self,
        request: &AuthorizeRequest,
        session: Option<SsoSession>,
        meta: &RequestMeta,
    ) -> CoreResult<AuthorizeOutcome> {
        // 1. Who is asking, and where the answer goes: until both are known good, never redirect.
        let Some(client_id) = request.client_id.as_deref().filter(|c| !c.is_empty()) else {
            return Ok(page(
                "The request names no application (client_id is missing).",
            ));
        };
        let app = match self.application_by_client_id(client_id).await? {
            Some(app) if app.signs_in() => app,
            _ => {
                return Ok(page(
                    "No application with this client_id is registered here.",
                ));
            }
        };
        let Some(redirect_uri) = request.redirect_uri.as_deref().filter(|r| !r.is_empty()) else {
            return Ok(page("The request has no redirect_uri."));
        };
        if !self.redirect_uri_allowed(&app, redirect_uri) {
            return Ok(page(
                "The redirect_uri of this request is not registered for the application, so JustIAM will not send you there.",
            ));
        }
        let redirect_uri = redirect_uri.to_owned();
        let state = request.state.clone();
        let refuse = |error: &'static str, description: &str| AuthorizeOutcome::ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: state.clone(),
        };

        // 2. The request itself.
        match request.response_type.as_deref() {
            Some("code") => {}
            None | Some("") => return Ok(refuse("invalid_request", "response_type is required")),
            Some(_) => {
                return Ok(refuse(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ));
            }
        }
        if request.request.is_some() {
            return Ok(refuse(
                "request_not_supported",
                "request objects are not supported",
            ));
        }
        if request.request_uri.is_some() {
            return Ok(refuse(
                "request_uri_not_supported",
                "request_uri is not supported",
            ));
        }
        if request
            .response_mode
            .as_deref()
            .is_some_and(|mode| mode != "query")
        {
            return Ok(refuse(
                "invalid_request",
                "only response_mode=query is supported",
            ));
        }
        let scopes = scope_words(request.scope.as_deref().unwrap_or_default());
        if scopes.is_empty() {
            return Ok(refuse(
                "invalid_scope",
                "scope is required (for example `openid`)",
            ));
        }
        if let Some(bad) = scopes
            .iter()
            .find(|s| s.as_str() != OFFLINE_ACCESS && !app.allows_scope(s))
        {
            return Ok(refuse(
                "invalid_scope",
                &format!("the scope `{bad}` is not allowed for this application"),
            ));
        }
        let challenge = match (
            request.code_challenge.as_deref(),
            request.code_challenge_method.as_deref(),
        ) {
            (None, None) if app.pkce_required() => {
                return Ok(refuse(
                    "invalid_request",
                    "this application requires PKCE: send code_challenge with code_challenge_method=S256",
                ));
            }
            (None, None) => None,
            (None, Some(_)) => {
                return Ok(refuse(
                    "invalid_request",
                    "code_challenge_method was sent without code_challenge",
                ));
            }
            (Some(_), None | Some("plain")) => {
                return Ok(refuse(
                    "invalid_request",
                    "code_challenge_method must be S256 (plain is not accepted)",
                ));
            }
            (Some(_), Some(method)) if method != "S256" => {
                return Ok(refuse(
                    "invalid_request",
                    "code_challenge_method must be S256",
                ));
            }
            (Some(challenge), Some(_)) if !valid_challenge(challenge) => {
                return Ok(refuse(
                    "invalid_request",
                    "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
                ));
            }
            (Some(challenge), Some(_)) => Some(challenge.to_owned()),
        };
        let prompt = scope_words(request.prompt.as_deref().unwrap_or_default());
        let prompt_none = prompt.iter().any(|p| p == "none");
        if prompt_none && prompt.len() > 1 {
            return Ok(refuse(
                "invalid_request",
                "prompt=none cannot be combined with other prompt values",
            ));
        }
        let max_age = match request.max_age.as_deref() {
            None | Some("") => None,
            Some(raw) => match raw.parse::<i64>() {
                Ok(secs) if secs >= 0 => Some(secs),
                _ => {
                    return Ok(refuse(
                        "invalid_request",
                        "max_age must be a whole number of seconds",
                    ));
                }
            },
        };

        // 3. Who is signed in, and recently enough.
        let now = now_millis();
        // A session opened with the password alone does not sign in a user who has a second
        // factor now (they enrolled after): the login page asks for both.
        let second_factor_missing = match &session {
            Some(s) if s.mfa_at.is_none() => self.mfa_enrolled(&s.user).await?,
            _ => false,
        };
        let fresh_sign_in_needed = |session: &SsoSession| -> Option<i64> {
            if second_factor_missing {
                return Some(now);
            }
            if let Some(after) = request.auth_after {
                // Back from the login page: this sign-in is the one asked for.
                return (session.auth_time < after).then_some(after);
            }
            if prompt.iter().any(|p| p == "login") {
                return Some(now);
            }
            match max_age {
                Some(age) if now - session.auth_time > age.saturating_mul(1000) => Some(now),
                _ => None,
            }
        };
        let session = match session {
            Some(session) => match fresh_sign_in_needed(&session) {
                None => session,
                Some(_) if prompt_none => {
                    return Ok(refuse(
                        "login_required",
                        "the sign-in is older than max_age and prompt=none forbids asking again",
                    ));
                }
                Some(after) => {
                    return Ok(AuthorizeOutcome::Login {
                        auth_after: Some(after),
                        login_hint: request.login_hint.clone(),
                    });
                }
            },
            None if prompt_none => {
                return Ok(refuse(
                    "login_required",
                    "no one is signed in and prompt=none forbids asking",
                ));
            }
            None => {
                let asks_fresh = request.auth_after.is_some()
                    || prompt.iter().any(|p| p == "login")
                    || max_age.is_some();
                return Ok(AuthorizeOutcome::Login {
                    auth_after: request.auth_after.or(asks_fresh.then_some(now)),
                    login_hint: request.login_hint.clone(),
                });
            }
        };

        // 4. May this user use this application?
        if !self.may_sign_in(&app, session.user.id).await? {
            if prompt_none {
                return Ok(refuse(
                    "access_denied",
                    "you are not allowed to sign in to this application",
                ));
            }
            return Ok(AuthorizeOutcome::AccessDenied {
                application: display_name(&app),
                redirect_uri,
                state,
            });
        }

        // 5. The code.
        let code = token::generate_with_prefix(CODE_PREFIX)
            .map_err(|e| CoreError::Internal(anyhow::anyhow!(e)))?;
        let scope = scopes.join(" ");
        let stored = oauth::Code {
            application_id: app.id,
            user_id: session.user.id,
            session_id: Some(session.id),
            redirect_uri: redirect_uri.clone(),
            scope: scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: challenge,
            auth_time: session.auth_time,
            expires_at: now + self.settings.oauth.code_ttl.as_millis() as i64,
            used_at: None,
            family_id: new_id(),
        };
        let mut tx = self.db.pool.begin().await?;
        oauth::insert_code(&mut *tx, &token::digest(code.expose()), &stored, now).await?;
        oauth::upsert_authorization(&mut *tx, session.user.id, app.id, &scope, now).await?;
        let entry = AuditEntry {
            at: now,
            actor_id: Some(session.user.id),
            actor_email: Some(session.user.email.clone()),
            credential: Some("sso_session"),
            action: "oauth.login",
            target_type: Some("application"),
            target_id: Some(app.id),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            details: Some(serde_json::json!({
                "application": app.name,
                "client_id": app.client_id,
                "scopes": scopes,
            })),
            ..AuditEntry::default()
        };
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok(AuthorizeOutcome::Code {
            redirect_uri,
            code: code.into_exposed(),
            state,
        })
    }
}

fn page(message: &str) -> AuthorizeOutcome {
    AuthorizeOutcome::ErrorPage {
        message: message.to_owned(),
    }
}

pub(super) fn display_name(app: &Application) -> String {
    if app.friendly_name.is_empty() {
        app.name.clone()
    } else {
        app.friendly_name.clone()
    }
}
