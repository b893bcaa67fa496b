//! `POST /oauth2/token`: `authorization_code` (with PKCE) and `refresh_token` (rotated at every
//! use; a used one presented again revokes its whole family).

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::super::Iam;
use super::authorize::s256;
use super::{OAuthError, OAuthResult, REFRESH_PREFIX, scope_words, secs};
use crate::error::CoreError;
use crate::model::{Application, User};
use crate::oidc::jws::{TYP_ACCESS, TYP_JWT};
use crate::store::{new_id, oauth, users};
use crate::time::{Millis, now_millis};
use crate::token;

/// How the client authenticated (RFC 6749 §2.3), as read from the request.
#[derive(Debug, Clone)]
pub enum ClientCredentials {
    /// `client_secret_basic` or `client_secret_post`.
    Secret { client_id: String, secret: String },
    /// A public client (`none`): only its `client_id`.
    Public { client_id: String },
}

impl ClientCredentials {
    pub fn client_id(&self) -> &str {
        match self {
            ClientCredentials::Secret { client_id, .. }
            | ClientCredentials::Public { client_id } => client_id,
        }
    }
}

/// The token request's parameters, as sent.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

/// The successful answer (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

/// What a set of tokens is issued for.
struct Grant<'a> {
    app: &'a Application,
    user: &'a User,
    scopes: Vec<String>,
    session_id: Option<Uuid>,
    auth_time: Millis,
    nonce: Option<String>,
    family_id: Uuid,
}

impl Iam {
    /// Authenticates the client of a token, introspection or revocation request.
    pub async fn authenticate_oauth_client(
        &self,
        credentials: &ClientCredentials,
    ) -> OAuthResult<Application> {
        match credentials {
            ClientCredentials::Secret { client_id, secret } => self
                .authenticate_client(client_id, secret)
                .await?
                .filter(Application::signs_in)
                .ok_or_else(OAuthError::invalid_client),
            ClientCredentials::Public { client_id } => {
                match self.application_by_client_id(client_id).await? {
                    // A confidential client must prove itself; a public one cannot.
                    Some(app) if app.signs_in() && !app.is_confidential() => Ok(app),
                    _ => Err(OAuthError::invalid_client()),
                }
            }
        }
    }

    /// The token endpoint, after client authentication.
    pub async fn token(
        &self,
        app: &Application,
        request: &TokenRequest,
    ) -> OAuthResult<TokenResponse> {
        match request.grant_type.as_deref() {
            Some("authorization_code") if app.has_grant_type("authorization_code") => {
                self.exchange_code(app, request).await
            }
            Some("refresh_token") if app.has_grant_type("refresh_token") => {
                self.refresh(app, request).await
            }
            Some("authorization_code" | "refresh_token") => Err(OAuthError::refused(
                "unauthorized_client",
                "this grant type is not enabled for the application",
            )),
            None | Some("") => Err(OAuthError::invalid_request("grant_type is required")),
            Some(_) => Err(OAuthError::refused(
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            )),
        }
    }

    async fn exchange_code(
        &self,
        app: &Application,
        request: &TokenRequest,
    ) -> OAuthResult<TokenResponse> {
        let code = request
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        if token::check_format_with_prefix(super::CODE_PREFIX, code).is_err() {
            return Err(OAuthError::invalid_grant("the code is not valid"));
        }
        let digest = token::digest(code);
        let now = now_millis();
        let stored = oauth::get_code(&self.db.pool, &digest)
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("the code is not valid"))?;
        if stored.application_id != app.id {
            // Another client's code: refused, and left for its owner.
            return Err(OAuthError::invalid_grant(
                "the code was issued to another client",
            ));
        }
        // Single use: only one redemption marks it; a replay revokes what the first one got.
        if stored.used_at.is_some() || !oauth::use_code(&self.db.pool, &digest, now).await? {
            let revoked = oauth::revoke_family(&self.db.pool, stored.family_id, now).await?;
            tracing::warn!(client_id = %app.client_id, revoked, "authorization code replayed; its tokens are revoked");
            return Err(OAuthError::invalid_grant("the code was already used"));
        }
        if stored.expires_at <= now {
            return Err(OAuthError::invalid_grant("the code has expired"));
        }
        if request.redirect_uri.as_deref() != Some(stored.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant(
                "redirect_uri must be the one of the authorization request",
            ));
        }
        match (&stored.code_challenge, request.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) => {
                let valid_verifier = (43..=128).contains(&verifier.len())
                    && verifier.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
                    });
                if !valid_verifier
                    || !bool::from(s256(verifier).as_bytes().ct_eq(challenge.as_bytes()))
                {
                    return Err(OAuthError::invalid_grant(
                        "code_verifier does not match the code_challenge",
                    ));
                }
            }
            (Some(_), None) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier is required (PKCE)",
                ));
            }
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier was sent but the authorization request had no code_challenge",
                ));
            }
            (None, None) => {}
        }
        let user = self.user_who_may_sign_in(app, stored.user_id).await?;
        let grant = Grant {
            app,
            user: &user,
            scopes: scope_words(&stored.scope),
            session_id: stored.session_id,
            auth_time: stored.auth_time,
            nonce: stored.nonce,
            family_id: stored.family_id,
        };
        self.issue_tokens(&grant, now).await
    }

    async fn refresh(
        &self,
        app: &Application,
        request: &TokenRequest,
    ) -> OAuthResult<TokenResponse> {
        let value = request
            .refresh_token
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
        let invalid = || OAuthError::invalid_grant("the refresh token is not valid");
        if token::check_format_with_prefix(REFRESH_PREFIX, value).is_err() {
            return Err(invalid());
        }
        let now = now_millis();
        let stored = oauth::get_refresh(&self.db.pool, &token::digest(value))
            .await?
            .ok_or_else(invalid)?;
        if stored.application_id != app.id {
            return Err(invalid());
        }
        if stored.revoked_at.is_some() {
            return Err(OAuthError::invalid_grant("the refresh token was revoked"));
        }
        if stored.used_at.is_some() || !oauth::use_refresh(&self.db.pool, stored.id, now).await? {
            let revoked = oauth::revoke_family(&self.db.pool, stored.family_id, now).await?;
            tracing::warn!(client_id = %app.client_id, revoked, "refresh token reused; its family is revoked");
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; every token of this sign-in is now revoked",
            ));
        }
        if stored.expires_at <= now {
            return Err(OAuthError::invalid_grant("the refresh token has expired"));
        }
        let granted = scope_words(&stored.scope);
        let scopes = match request.scope.as_deref() {
            None | Some("") => granted,
            Some(asked) => {
                let asked = scope_words(asked);
                if let Some(extra) = asked.iter().find(|s| !granted.contains(s)) {
                    return Err(OAuthError::refused(
                        "invalid_scope",
                        format!("the scope `{extra}` was not granted"),
                    ));
                }
                asked
            }
        };
        let user = self.user_who_may_sign_in(app, stored.user_id).await?;
        let grant = Grant {
            app,
            user: &user,
            scopes,
            session_id: stored.session_id,
            auth_time: stored.auth_time,
            nonce: None,
            family_id: stored.family_id,
        };
        self.issue_tokens(&grant, now).await
    }

    /// The user of a grant, if they may still sign in to `app` (active, not a service account,
    /// granted when the application is restricted).
    async fn user_who_may_sign_in(&self, app: &Application, user_id: Uuid) -> OAuthResult<User> {
        let user = users::get(&self.db.pool, user_id)
            .await?
            .filter(|u| u.is_active && !u.is_service_account)
            .ok_or_else(|| OAuthError::invalid_grant("the user can no longer sign in"))?;
        if !self.may_sign_in(app, user.id).await? {
            return Err(OAuthError::invalid_grant(
                "the user is no longer allowed to sign in to this application",
            ));
        }
        Ok(user)
    }

    /// `amr` (RFC 8176) of the sign-in behind an SSO session: `pwd`, with `otp` and `mfa` when its
    /// second factor was checked. Left out when the session is gone (a refresh after sign-out):
    /// the factors are then not known any more, and no claim is better than a wrong one.
    async fn amr(&self, session_id: Option<Uuid>) -> OAuthResult<Option<Value>> {
        let Some(id) = session_id else {
            return Ok(None);
        };
        Ok(crate::store::mfa::session_mfa(&self.db.pool, id)
            .await
            .map_err(CoreError::from)?
            .map(|mfa_at| match mfa_at {
                Some(_) => json!(["pwd", "otp", "mfa"]),
                None => json!(["pwd"]),
            }))
    }

    async fn issue_tokens(&self, grant: &Grant<'_>, now: Millis) -> OAuthResult<TokenResponse> {
        let app = grant.app;
        let iat = secs(now);
        let exp = iat + app.token_expiry;
        let scope = grant.scopes.join(" ");
        let sid = grant.session_id.map(|id| id.to_string());
        let mut access = json!({
            "iss": self.issuer(),
            "sub": grant.user.id.to_string(),
            "aud": app.client_id,
            "client_id": app.client_id,
            "azp": app.client_id,
            "exp": exp,
            "iat": iat,
            "auth_time": secs(grant.auth_time),
            "jti": new_id().to_string(),
            "scope": scope,
        });
        if let (Some(sid), Some(map)) = (&sid, access.as_object_mut()) {
            map.insert("sid".into(), json!(sid));
        }
        let access_token = self.sign_jws(TYP_ACCESS, &access).await?;
        let id_token = if grant.scopes.iter().any(|s| s == "openid") {
            let mut claims = self.user_claims(app, grant.user, &grant.scopes).await?;
            let standard = [
                ("iss", json!(self.issuer())),
                ("aud", json!(app.client_id)),
                ("azp", json!(app.client_id)),
                ("exp", json!(exp)),
                ("iat", json!(iat)),
                ("auth_time", json!(secs(grant.auth_time))),
                ("at_hash", json!(at_hash(&access_token))),
            ];
            for (name, value) in standard {
                claims.insert(name.into(), value);
            }
            if let Some(sid) = &sid {
                claims.insert("sid".into(), json!(sid));
            }
            if let Some(amr) = self.amr(grant.session_id).await? {
                claims.insert("amr".into(), amr);
            }
            if let Some(nonce) = &grant.nonce {
                claims.insert("nonce".into(), json!(nonce));
            }
            Some(self.sign_jws(TYP_JWT, &Value::Object(claims)).await?)
        } else {
            None
        };
        let refresh_token = if app.has_grant_type("refresh_token") {
            let value = token::generate_with_prefix(REFRESH_PREFIX)
                .map_err(|e| CoreError::Internal(anyhow::anyhow!(e)))?;
            let stored = oauth::RefreshToken {
                id: new_id(),
                family_id: grant.family_id,
                application_id: app.id,
                user_id: grant.user.id,
                session_id: grant.session_id,
                scope: scope.clone(),
                auth_time: grant.auth_time,
                created_at: now,
                expires_at: now + self.settings.oauth.refresh_ttl.as_millis() as i64,
                used_at: None,
                revoked_at: None,
            };
            oauth::insert_refresh(&self.db.pool, &token::digest(value.expose()), &stored).await?;
            Some(value.into_exposed())
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: app.token_expiry,
            id_token,
            refresh_token,
            scope,
        })
    }
}

/// OIDC Core §3.1.3.6: the left half of SHA-256 of the access token, base64url.
fn at_hash(access_token: &str) -> String {
    use base64::Engine;
    let digest = Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}
