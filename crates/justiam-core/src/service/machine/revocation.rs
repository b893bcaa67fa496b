//! Introspection (RFC 7662) and revocation (RFC 7009) of service accounts' access tokens.
//!
//! Registered applications introspect them as they do PATs (`oauth::resource`). Beside them, a
//! service account's own OAuth clients may introspect and revoke the account's tokens — whichever
//! of its clients or federated credentials gave them: they all act as the same account, and a
//! client that may mint the account's tokens gains nothing from ending one. A token may also
//! revoke itself, presented without client authentication: a job that got it by federation holds
//! no client secret, and whoever holds the token could do more with it than end it. Another
//! account's client, or an application, learns nothing and changes nothing (`active: false`, and
//! the `200` RFC 7009 §2.2 answers for a token that is not the caller's).
//!
//! A revocation records the token's `jti` until its `exp` (`revoked_access_tokens`) and drops the
//! account's cached credentials on every node; the record is read on the cache-miss path only
//! ([`Iam::authenticate_access_token`]), so the hot path reads nothing more.

use serde_json::json;
use uuid::Uuid;

use super::super::Iam;
use super::super::auth::Refusal;
use super::super::cache::Invalidation;
use super::super::oauth::Introspection;
use crate::authz::RequestMeta;
use crate::error::CoreResult;
use crate::model::machine::ServiceAccountClient;
use crate::store::audit::{self, AuditEntry};
use crate::store::machine;
use crate::time::{now_millis, to_datetime};
use crate::token::Bearer;

/// The audit action of a revoked access token (not `token.revoked`, the PATs' webhook event: a
/// pipeline that revokes its token at every run would flood its subscribers).
const REVOKED_ACTION: &str = "access_token.revoked";

/// Who asks to revoke a service account's access token.
#[derive(Debug, Clone, Copy)]
pub enum Revoker<'a> {
    /// An OAuth client of a service account, authenticated with `method` (`client_secret` or
    /// `private_key_jwt`): it may revoke that account's tokens.
    Client {
        client: &'a ServiceAccountClient,
        method: &'static str,
    },
    /// No client authentication: the token presented is its own proof.
    Token,
}

impl Iam {
    /// The introspection answer for a service-account access token (a value [`Bearer::of`] took
    /// for one): `active: false` unless it stands and, with `account`, acts as that account.
    pub(crate) async fn introspect_access_token(
        &self,
        access: &str,
        account: Option<Uuid>,
    ) -> CoreResult<Introspection> {
        let (principal, expires_at, claims) =
            match self.authenticate_access_token(access, now_millis()).await {
                Ok(checked) => checked,
                Err(Refusal::Failed(error)) => return Err(error),
                Err(_) => return Ok(Introspection::default()),
            };
        if account.is_some_and(|id| id != principal.id()) {
            return Ok(Introspection::default());
        }
        Ok(Introspection {
            active: true,
            scope: claims.scope,
            client_id: Some(claims.client_id),
            username: Some(principal.user.username.clone()),
            token_type: Some(super::ACCESS_TOKEN_KIND),
            exp: Some(expires_at / 1000),
            iat: Some(claims.iat),
            sub: Some(claims.sub),
            aud: Some(claims.aud),
            iss: Some(claims.iss),
        })
    }

    /// `POST /oauth2/introspect` by a service account's client: the account's own access tokens;
    /// anything else — another account's token, a PAT, an application's token — is
    /// `active: false`, so a client cannot probe what is not its account's.
    pub async fn introspect_as_service_client(
        &self,
        client: &ServiceAccountClient,
        value: &str,
    ) -> CoreResult<Introspection> {
        match Bearer::of(value) {
            Bearer::Access(access) => {
                self.introspect_access_token(access, Some(client.user_id))
                    .await
            }
            _ => Ok(Introspection::default()),
        }
    }

    /// `POST /oauth2/revoke` of a service account's access token by `revoker`. A token that is not
    /// one, no longer stands (expired, already revoked, its credential gone) or acts as another
    /// account than the revoking client's changes nothing and is no error (RFC 7009 §2.2).
    pub async fn revoke_access_token(
        &self,
        revoker: Revoker<'_>,
        value: &str,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let Bearer::Access(access) = Bearer::of(value) else {
            return Ok(());
        };
        let now = now_millis();
        let (principal, expires_at, claims) =
            match self.authenticate_access_token(access, now).await {
                Ok(checked) => checked,
                Err(Refusal::Failed(error)) => return Err(error),
                Err(_) => return Ok(()),
            };
        let account = &principal.user;
        let (credential, credential_id, revoked_by) = match revoker {
            Revoker::Client { client, .. } if client.user_id != account.id => {
                tracing::debug!("a client asked to revoke another service account's token");
                return Ok(());
            }
            Revoker::Client { client, method } => {
                (method, client.id, json!({ "client_id": client.client_id }))
            }
            Revoker::Token => (
                "access_token",
                principal.credential.token_id().unwrap_or(account.id),
                json!("the token itself"),
            ),
        };
        let mut tx = self.db.pool.begin().await?;
        if machine::revoke_access_token(&mut *tx, &claims.jti, account.id, now, expires_at).await? {
            let entry = AuditEntry {
                at: now,
                actor_id: Some(account.id),
                actor_email: Some(account.email.clone()),
                credential: Some(credential),
                credential_id: Some(credential_id),
                action: REVOKED_ACTION,
                target_type: Some("user"),
                target_id: Some(account.id),
                ip: meta.ip.clone(),
                user_agent: meta.user_agent.clone(),
                details: Some(json!({
                    "jti": claims.jti,
                    "client_id": claims.client_id,
                    "credential": claims.cred,
                    "credential_id": claims.cid,
                    "expires_at": to_datetime(expires_at),
                    "revoked_by": revoked_by,
                })),
            };
            audit::insert(&mut *tx, &entry).await?;
        }
        self.commit_and_invalidate(tx, Invalidation::User(account.id))
            .await?;
        Ok(())
    }
}
