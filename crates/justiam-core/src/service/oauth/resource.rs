//! Userinfo (OIDC Core §5.3), introspection (RFC 7662), revocation (RFC 7009) and RP-initiated
//! logout (OpenID Connect RP-Initiated Logout 1.0).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::super::Iam;
use super::super::cache::UserinfoClaims;
use super::{OAuthError, OAuthResult, REFRESH_PREFIX, scope_words, secs};
use crate::error::CoreResult;
use crate::model::{Application, User};
use crate::oidc::jws::{TYP_ACCESS, TYP_JWT};
use crate::store::{oauth, sessions, users};
use crate::time::now_millis;
use crate::token::{self, Bearer};

/// The claims of an access token this provider issued.
#[derive(Debug, Deserialize)]
struct AccessClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    scope: String,
}

/// The claims of an ID token read as a logout hint.
#[derive(Debug, Deserialize)]
struct HintClaims {
    iss: String,
    sub: String,
    aud: Value,
}

/// The answer of `POST /oauth2/introspect` (RFC 7662 §2.2); only `active` when inactive.
#[derive(Debug, Default, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// What RP-initiated logout did, for the server to answer.
#[derive(Debug)]
pub struct EndedSession {
    /// Where to send the browser (registered for the hinted application), with `state`.
    pub post_logout_redirect_uri: Option<String>,
    /// Nothing was ended yet: without an `id_token_hint` the user is asked first (§2); this is
    /// the SSO session the confirmation is for.
    pub confirm: Option<Uuid>,
}

impl Iam {
    /// A live access token's claims, application and user: signature, issuer, expiry, and that
    /// the application exists and the user may still sign in to it.
    async fn live_access_token(
        &self,
        token: &str,
    ) -> CoreResult<Option<(AccessClaims, Application, User)>> {
        let Some(claims) = self.verify_jws::<AccessClaims>(token, TYP_ACCESS).await? else {
            return Ok(None);
        };
        if claims.iss != self.issuer() || claims.exp <= secs(now_millis()) {
            return Ok(None);
        }
        let Some(app) = self.application_by_client_id(&claims.aud).await? else {
            return Ok(None);
        };
        let Ok(user_id) = Uuid::parse_str(&claims.sub) else {
            return Ok(None);
        };
        let Some(user) = users::get(&self.db.pool, user_id).await? else {
            return Ok(None);
        };
        if !self.may_sign_in_as(&app, &user).await? {
            return Ok(None);
        }
        Ok(Some((claims, app, user)))
    }

    /// `GET/POST /oauth2/userinfo`: the claims of the token's scopes; `None` answers
    /// `401 invalid_token`.
    ///
    /// The answer is kept in the credential cache until the token expires: a relying party that
    /// asks at every request costs no signature check and no database read. Whatever could change
    /// it (the user, their groups, the application, its grants and mappings) invalidates it on
    /// every node, like a PAT.
    pub async fn userinfo(&self, access_token: &str) -> CoreResult<Option<UserinfoClaims>> {
        let now = now_millis();
        let digest = token::digest(access_token);
        if let Some(claims) = self.cache.get_userinfo(digest, now) {
            return Ok(Some(claims));
        }
        let ticket = self.cache.ticket();
        let Some((claims, app, user)) = self.live_access_token(access_token).await? else {
            return Ok(None);
        };
        let scopes = scope_words(&claims.scope);
        let answer = Arc::new(self.user_claims(&app, &user, &scopes).await?);
        let expires_at = claims.exp.saturating_mul(1_000);
        self.cache
            .put_userinfo(digest, user.id, answer.clone(), expires_at, ticket, now);
        Ok(Some(answer))
    }

    /// `POST /oauth2/introspect` by the authenticated client `caller`.
    ///
    /// A client learns about its own access and refresh tokens, and about personal access tokens
    /// (so a resource server can accept PATs); another client's token is `active: false`, as
    /// RFC 7662 §2.2 allows, so clients cannot probe each other's tokens.
    pub async fn introspect(&self, caller: &Application, value: &str) -> CoreResult<Introspection> {
        let inactive = Introspection::default();
        let now = now_millis();
        if value.starts_with(REFRESH_PREFIX) {
            if token::check_format_with_prefix(REFRESH_PREFIX, value).is_err() {
                return Ok(inactive);
            }
            let Some(stored) = oauth::get_refresh(&self.db.pool, &token::digest(value)).await?
            else {
                return Ok(inactive);
            };
            if stored.application_id != caller.id
                || stored.used_at.is_some()
                || stored.revoked_at.is_some()
                || stored.expires_at <= now
            {
                return Ok(inactive);
            }
            let Some(user) = users::get(&self.db.pool, stored.user_id).await? else {
                return Ok(inactive);
            };
            if !user.is_active || !self.may_sign_in(caller, user.id).await? {
                return Ok(inactive);
            }
            return Ok(Introspection {
                active: true,
                scope: Some(stored.scope),
                client_id: Some(caller.client_id.clone()),
                username: Some(user.username),
                token_type: Some("refresh_token"),
                exp: Some(secs(stored.expires_at)),
                iat: Some(secs(stored.created_at)),
                sub: Some(user.id.to_string()),
                aud: Some(caller.client_id.clone()),
                iss: Some(self.issuer().to_owned()),
            });
        }
        if let Bearer::Access(access) = Bearer::of(value) {
            // A service account's access token: for the management API, so any application may
            // ask (as for PATs).
            return self.introspect_access_token(access, None).await;
        }
        if let Bearer::Pat(pat) = Bearer::of(value) {
            let Ok(principal) = self.authenticate(Bearer::Pat(pat), None).await else {
                return Ok(inactive);
            };
            let crate::authz::Credential::Pat { expires_at, .. } = principal.credential else {
                return Ok(inactive);
            };
            return Ok(Introspection {
                active: true,
                username: Some(principal.user.username.clone()),
                token_type: Some("justiam_pat"),
                exp: Some(secs(expires_at)),
                sub: Some(principal.user.id.to_string()),
                iss: Some(self.issuer().to_owned()),
                ..Introspection::default()
            });
        }
        match self.live_access_token(value).await? {
            Some((claims, app, user)) if app.id == caller.id => Ok(Introspection {
                active: true,
                scope: Some(claims.scope),
                client_id: Some(app.client_id.clone()),
                username: Some(user.username),
                token_type: Some("Bearer"),
                exp: Some(claims.exp),
                iat: Some(claims.iat),
                sub: Some(claims.sub),
                aud: Some(claims.aud),
                iss: Some(claims.iss),
            }),
            _ => Ok(inactive),
        }
    }

    /// `POST /oauth2/revoke` by the authenticated application `caller` (RFC 7009). A refresh
    /// token revokes its whole family. Unknown tokens and other clients' tokens change nothing and
    /// get the same `200` — so does a service account's access token, which was not issued to an
    /// application (its account's clients, or the token itself, revoke it:
    /// [`Iam::revoke_access_token`]). The application's own access token is self-contained and
    /// cannot be revoked alone (`unsupported_token_type`): revoke its refresh token, which ends
    /// the sign-in.
    pub async fn revoke(&self, caller: &Application, value: &str) -> OAuthResult<()> {
        if let Bearer::Access(_) = Bearer::of(value) {
            return Ok(());
        }
        if value.starts_with(REFRESH_PREFIX) {
            if token::check_format_with_prefix(REFRESH_PREFIX, value).is_ok()
                && let Some(stored) =
                    oauth::get_refresh(&self.db.pool, &token::digest(value)).await?
                && stored.application_id == caller.id
            {
                oauth::revoke_family(&self.db.pool, stored.family_id, now_millis()).await?;
            }
            return Ok(());
        }
        if let Some(header) = crate::oidc::jws::header(value)
            && header.typ.as_deref() == Some(TYP_ACCESS)
            && let Some((_, app, _)) = self.live_access_token(value).await?
            && app.id == caller.id
        {
            return Err(OAuthError::refused(
                "unsupported_token_type",
                "access tokens are self-contained and expire on their own; revoke the refresh token instead",
            ));
        }
        Ok(())
    }

    /// `GET/POST /oauth2/logout`: ends the browser's SSO session (and the sign-in's refresh
    /// tokens), after checking the hint and where to go next. Without a valid `id_token_hint`
    /// nothing ends until the user `confirmed`. Errors are for a page, never a redirect.
    pub async fn end_session(
        &self,
        sso_cookie: Option<&str>,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        confirmed: bool,
    ) -> OAuthResult<EndedSession> {
        let hint = match id_token_hint.filter(|h| !h.is_empty()) {
            None => None,
            Some(hint) => {
                // Expired hints are fine (§2): the session may well outlive the ID token.
                let claims = self
                    .verify_jws::<HintClaims>(hint, TYP_JWT)
                    .await?
                    .filter(|c| c.iss == self.issuer())
                    .ok_or_else(|| {
                        OAuthError::invalid_request(
                            "id_token_hint is not an ID token of this provider",
                        )
                    })?;
                Some(claims)
            }
        };
        let hinted_client = hint.as_ref().and_then(|h| match &h.aud {
            Value::String(aud) => Some(aud.clone()),
            Value::Array(auds) => auds.first().and_then(Value::as_str).map(str::to_owned),
            _ => None,
        });
        if let (Some(asked), Some(hinted)) = (client_id.filter(|c| !c.is_empty()), &hinted_client)
            && asked != hinted
        {
            return Err(OAuthError::invalid_request(
                "client_id does not match the audience of id_token_hint",
            ));
        }
        let client = client_id
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .or(hinted_client);
        let redirect = match post_logout_redirect_uri.filter(|u| !u.is_empty()) {
            None => None,
            Some(uri) => {
                let app = match &client {
                    Some(client) => self.application_by_client_id(client).await?,
                    None => None,
                };
                let Some(app) = app else {
                    return Err(OAuthError::invalid_request(
                        "post_logout_redirect_uri needs id_token_hint or client_id to say which application it belongs to",
                    ));
                };
                if !self.post_logout_redirect_uri_allowed(&app, uri) {
                    return Err(OAuthError::invalid_request(
                        "post_logout_redirect_uri is not registered for the application",
                    ));
                }
                Some(uri.to_owned())
            }
        };
        let session = match sso_cookie {
            Some(cookie) => self.sso_session(cookie).await?,
            None => None,
        };
        if let Some(session) = session {
            if hint.is_none() && !confirmed {
                return Ok(EndedSession {
                    post_logout_redirect_uri: redirect,
                    confirm: Some(session.id),
                });
            }
            // Only the browser's own session (a leaked ID token alone signs no one out), and
            // not when the hint is about someone else.
            if hint
                .as_ref()
                .is_none_or(|h| h.sub == session.user.id.to_string())
            {
                sessions::delete(&self.db.pool, session.id).await?;
                oauth::revoke_for_session(&self.db.pool, session.id, now_millis()).await?;
            }
        }
        Ok(EndedSession {
            post_logout_redirect_uri: redirect,
            confirm: None,
        })
    }
}
