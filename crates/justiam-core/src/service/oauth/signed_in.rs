//! "Applications you signed in to": `GET` and `DELETE /api/v1/me/applications[/{id}]`.

use uuid::Uuid;

use super::super::{Iam, audit_by};
use crate::authz::{Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::store::audit::{self, AuditEntry};
use crate::store::oauth;
use crate::time::{now_millis, to_datetime};

impl Iam {
    /// The applications the caller signed in to, most recent first.
    pub async fn my_applications(
        &self,
        principal: &Principal,
    ) -> CoreResult<Vec<justiam_types::application::SignedInApplication>> {
        let rows = oauth::list_authorizations(&self.db.pool, principal.id(), now_millis()).await?;
        Ok(rows
            .into_iter()
            .map(|row| justiam_types::application::SignedInApplication {
                application_id: row.application_id,
                name: row.name,
                friendly_name: row.friendly_name,
                scopes: super::scope_words(&row.scope),
                first_signed_in_at: to_datetime(row.first_signed_in),
                last_signed_in_at: to_datetime(row.last_signed_in),
                active_refresh_tokens: row.active_refresh_tokens.max(0) as u64,
            })
            .collect())
    }

    /// Ends the caller's refresh tokens at one application and forgets the sign-in.
    pub async fn revoke_my_application(
        &self,
        principal: &Principal,
        application_id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<u64> {
        let user_id = principal.id();
        let now = now_millis();
        let mut tx = self.db.pool.begin().await?;
        let revoked = oauth::revoke_for_user_app(&mut *tx, user_id, application_id, now).await?;
        if !oauth::delete_authorization(&mut *tx, user_id, application_id).await? && revoked == 0 {
            return Err(CoreError::not_found("signed-in application"));
        }
        let entry = AuditEntry {
            target_type: Some("application"),
            target_id: Some(application_id),
            details: Some(serde_json::json!({ "refresh_tokens_revoked": revoked })),
            ..audit_by(principal, meta, "oauth.authorization_revoked")
        };
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok(revoked)
    }
}
