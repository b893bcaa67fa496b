//! SSO sessions: the login page's sign-in also opens one, carried by the `idp_sid` cookie whose
//! random value is stored only as a digest. Rows of `sessions` with `kind = 'sso'`, so every path
//! that ends sessions (logout, password change, deactivation, revocation) ends them too.

use uuid::Uuid;

use super::super::Iam;
use crate::authz::RequestMeta;
use crate::error::CoreResult;
use crate::model::{Session, User};
use crate::secret::Secret;
use crate::store::{new_id, oauth, sessions, users};
use crate::time::{Millis, now_millis};
use crate::token;

/// The prefix of the `idp_sid` cookie value.
const SSO_PREFIX: &str = "justiam_sso_";

/// A live SSO session and its (active, non-service) user.
#[derive(Debug, Clone)]
pub struct SsoSession {
    pub id: Uuid,
    pub user: User,
    /// When the user last typed their password, unix milliseconds.
    pub auth_time: Millis,
    /// When the second factor was checked at that sign-in (`None`: password only).
    pub mfa_at: Option<Millis>,
}

impl Iam {
    /// Opens an SSO session for `user`, who has just signed in (with a second factor checked at
    /// `mfa_at`); returns the cookie value and its lifetime in seconds.
    pub async fn start_sso_session(
        &self,
        user: &User,
        mfa_at: Option<Millis>,
        meta: &RequestMeta,
    ) -> CoreResult<(Secret, i64)> {
        let value = token::generate_with_prefix(SSO_PREFIX)
            .map_err(|e| crate::error::CoreError::Internal(anyhow::anyhow!(e)))?;
        let now = now_millis();
        let lifetime = self.settings.oauth.sso_session.as_millis() as i64;
        let session = Session {
            id: new_id(),
            user_id: user.id,
            created_at: now,
            expires_at: now + lifetime,
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            kind: "sso",
        };
        let mut tx = self.db.pool.begin().await?;
        oauth::insert_sso_session(&mut *tx, &session, &token::digest(value.expose()), now).await?;
        if let Some(at) = mfa_at {
            crate::store::mfa::set_session_mfa_at(&mut *tx, session.id, at).await?;
        }
        tx.commit().await?;
        Ok((value, lifetime / 1000))
    }

    /// The SSO session behind an `idp_sid` cookie value, if it is live and its user may still
    /// sign in.
    pub async fn sso_session(&self, cookie: &str) -> CoreResult<Option<SsoSession>> {
        if token::check_format_with_prefix(SSO_PREFIX, cookie).is_err() {
            return Ok(None);
        }
        let now = now_millis();
        let Some(row) = oauth::find_sso_session(&self.db.pool, &token::digest(cookie), now).await?
        else {
            return Ok(None);
        };
        let Some(user) = users::get(&self.db.pool, row.user_id).await? else {
            return Ok(None);
        };
        if !user.is_active || user.is_service_account {
            return Ok(None);
        }
        Ok(Some(SsoSession {
            id: row.id,
            user,
            auth_time: row.auth_time,
            mfa_at: row.mfa_at,
        }))
    }

    /// Ends the SSO session behind a cookie value (portal sign-out); quiet when there is none.
    pub async fn end_sso_session(&self, cookie: &str) -> CoreResult<()> {
        if let Some(session) = self.sso_session(cookie).await? {
            sessions::delete(&self.db.pool, session.id).await?;
        }
        Ok(())
    }
}
