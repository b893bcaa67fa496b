//! The audit log query and session administration.

use super::cache::Invalidation;
use uuid::Uuid;

use super::{Iam, audit_by};
use crate::authz::{Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::model::{
    AuditFilter, AuditRecord, PageRequest, Permission, Session, SessionWithUser, User,
};
use crate::store::audit::{self, AuditEntry};
use crate::store::{sessions, users};
use crate::time::now_millis;

impl Iam {
    pub async fn list_audit(
        &self,
        principal: &Principal,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> CoreResult<(Vec<AuditRecord>, u64)> {
        principal.require(Permission::AuditView)?;
        Ok(audit::list(&self.db.pool, filter, page).await?)
    }

    pub async fn list_sessions(
        &self,
        principal: &Principal,
        search: Option<&str>,
        user_id: Option<Uuid>,
        page: PageRequest,
    ) -> CoreResult<(Vec<SessionWithUser>, u64)> {
        principal.require(Permission::SessionsView)?;
        Ok(sessions::list(&self.db.pool, search, user_id, now_millis(), page).await?)
    }

    /// One session with its user's email (what a confirmation page names).
    pub async fn get_session(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> CoreResult<SessionWithUser> {
        principal.require(Permission::SessionsView)?;
        let session = sessions::get(&self.db.pool, id)
            .await?
            .ok_or_else(|| CoreError::not_found("session"))?;
        let user = users::get(&self.db.pool, session.user_id)
            .await?
            .ok_or_else(|| CoreError::not_found("session"))?;
        Ok(SessionWithUser {
            session,
            user_email: user.email,
        })
    }

    /// Whether the caller may end session `id`: the session, or the refusal
    /// [`Iam::revoke_session`] would answer (it asks the same).
    pub async fn check_can_end_session(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> CoreResult<Session> {
        principal.require(Permission::SessionsRevoke)?;
        let session = sessions::get(&self.db.pool, id)
            .await?
            .ok_or_else(|| CoreError::not_found("session"))?;
        // Its user deleted meanwhile: nothing left to protect.
        if let Some(user) = users::get(&self.db.pool, session.user_id).await? {
            self.require_can_end_sessions_of(principal, &user).await?;
        }
        Ok(session)
    }

    /// Ends one session: its JWT stops working on the next request.
    pub async fn revoke_session(
        &self,
        principal: &Principal,
        id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let session = self.check_can_end_session(principal, id).await?;
        let mut tx = self.db.pool.begin().await?;
        if !sessions::delete(&mut *tx, id).await? {
            return Err(CoreError::not_found("session"));
        }
        let entry = AuditEntry {
            target_type: Some("session"),
            target_id: Some(id),
            details: Some(serde_json::json!({ "user_id": session.user_id })),
            ..audit_by(principal, meta, "session.revoked")
        };
        audit::insert(&mut *tx, &entry).await?;
        self.commit_and_invalidate(tx, Invalidation::User(session.user_id))
            .await?;
        Ok(())
    }

    /// Whether the caller may end every session of user `user_id`: the user, or the refusal
    /// [`Iam::revoke_user_sessions`] would answer (it asks the same).
    pub async fn check_can_end_sessions_of(
        &self,
        principal: &Principal,
        user_id: Uuid,
    ) -> CoreResult<User> {
        principal.require(Permission::SessionsRevoke)?;
        let user = users::get(&self.db.pool, user_id)
            .await?
            .ok_or_else(|| CoreError::not_found("user"))?;
        self.require_can_end_sessions_of(principal, &user).await?;
        Ok(user)
    }

    /// Ends every session of a user; returns how many ended.
    pub async fn revoke_user_sessions(
        &self,
        principal: &Principal,
        user_id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<u64> {
        self.check_can_end_sessions_of(principal, user_id).await?;
        let mut tx = self.db.pool.begin().await?;
        let ended = sessions::delete_for_user(&mut *tx, user_id, None).await?;
        let entry = AuditEntry {
            target_type: Some("user"),
            target_id: Some(user_id),
            details: Some(serde_json::json!({ "sessions_ended": ended })),
            ..audit_by(principal, meta, "session.revoked")
        };
        audit::insert(&mut *tx, &entry).await?;
        self.commit_and_invalidate(tx, Invalidation::User(user_id))
            .await?;
        Ok(ended)
    }

    /// Ending someone's sessions over and over locks them out of the portal: a lesser
    /// administrator may not do it to a stronger one (their own sessions are always theirs).
    async fn require_can_end_sessions_of(
        &self,
        principal: &Principal,
        user: &User,
    ) -> CoreResult<()> {
        if user.id == principal.id() {
            return Ok(());
        }
        self.require_can_act_on(principal, user).await
    }
}
