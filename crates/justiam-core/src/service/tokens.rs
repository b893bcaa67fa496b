//! Personal access tokens: self-service (`/me/tokens`) and service accounts
//! (`/users/{id}/tokens`, permission `service_accounts.tokens`).

use justiam_types::CreateToken;
use uuid::Uuid;

use super::auth::interactive_auth_required;
use super::{Iam, audit_by};
use crate::authz::{Credential, Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::model::{PageRequest, Permission, TokenName};
use crate::secret::Secret;
use crate::store::audit::{self, AuditEntry};
use crate::store::tokens::{self, TokenRow};
use crate::store::{is_unique_violation, new_id, users};
use crate::time::{DAY_MS, now_millis};
use crate::token;

/// A user may hold at most this many active (unrevoked, unexpired) tokens.
pub const MAX_ACTIVE_TOKENS: i64 = 100;
pub const MAX_EXPIRES_IN_DAYS: i64 = 365;

/// Whose tokens a call manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOwner {
    /// The caller (`/me/tokens`).
    Caller,
    /// A service account (`/users/{id}/tokens`).
    ServiceAccount(Uuid),
}

/// The one time a token value leaves the server.
#[derive(Debug)]
pub struct IssuedToken {
    pub record: TokenRow,
    pub value: Secret,
}

impl Iam {
    /// Resolves the owner and checks the caller may manage their tokens.
    async fn token_owner(&self, principal: &Principal, owner: TokenOwner) -> CoreResult<Uuid> {
        match owner {
            TokenOwner::Caller => Ok(principal.id()),
            TokenOwner::ServiceAccount(id) => {
                principal.require(Permission::ServiceAccountsTokens)?;
                let user = users::get(&self.db.pool, id)
                    .await?
                    .ok_or_else(|| CoreError::not_found("user"))?;
                if !user.is_service_account {
                    return Err(CoreError::bad_request(
                        "not_a_service_account",
                        "this user is not a service account; users manage their own tokens",
                    ));
                }
                Ok(id)
            }
        }
    }

    pub async fn create_token(
        &self,
        principal: &Principal,
        owner: TokenOwner,
        input: CreateToken,
        meta: &RequestMeta,
    ) -> CoreResult<IssuedToken> {
        let owner_id = self.token_owner(principal, owner).await?;
        // A token must not mint tokens for its own user, or a leaked one could renew itself forever.
        if matches!(principal.credential, Credential::Pat { .. }) && owner_id == principal.id() {
            return Err(interactive_auth_required(
                "a personal access token cannot create tokens for its own user; log in to create one",
            ));
        }
        let name = TokenName::parse(&input.name)?;
        if !(1..=MAX_EXPIRES_IN_DAYS).contains(&input.expires_in_days) {
            return Err(CoreError::validation(
                "expires_in_days",
                "expires_in_days must be an integer between 1 and 365",
            ));
        }
        let now = now_millis();
        let value = token::generate()
            .map_err(|e| CoreError::Internal(anyhow::anyhow!("OS randomness: {e}")))?;
        let record = TokenRow {
            id: new_id(),
            user_id: owner_id,
            name: name.as_str().to_owned(),
            token_hint: token::hint(value.expose()),
            created_at: now,
            expires_at: now + input.expires_in_days * DAY_MS,
            last_used_at: None,
            revoked_at: None,
            created_by: Some(principal.id()),
        };

        let mut tx = self.db.pool.begin().await?;
        // Serialise creations per owner so the limit holds under concurrency.
        if !users::lock(&mut *tx, owner_id).await? {
            return Err(CoreError::not_found("user"));
        }
        tokens::release_expired_names(&mut *tx, owner_id, now).await?;
        if tokens::count_active(&mut *tx, owner_id, now).await? >= MAX_ACTIVE_TOKENS {
            return Err(CoreError::conflict(
                "token_limit_reached",
                format!(
                    "a user may hold at most {MAX_ACTIVE_TOKENS} active tokens; revoke one first"
                ),
            ));
        }
        match tokens::insert(&mut *tx, &record, &token::digest(value.expose())).await {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(CoreError::conflict(
                    "conflict",
                    format!(
                        "an active token named \"{}\" already exists; choose another name",
                        record.name
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let entry = token_audit(
            principal,
            meta,
            "token.created",
            record.id,
            owner_id,
            &record.name,
        );
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok(IssuedToken { record, value })
    }

    pub async fn list_tokens(
        &self,
        principal: &Principal,
        owner: TokenOwner,
        page: PageRequest,
    ) -> CoreResult<(Vec<TokenRow>, u64)> {
        let owner_id = self.token_owner(principal, owner).await?;
        Ok(tokens::list(&self.db.pool, owner_id, page).await?)
    }

    /// Revokes a token of the owner; an unknown id, someone else's token or an already revoked one
    /// is `404`, so ids of other users' tokens cannot be probed.
    pub async fn revoke_token(
        &self,
        principal: &Principal,
        owner: TokenOwner,
        token_id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let owner_id = self.token_owner(principal, owner).await?;
        let now = now_millis();
        let mut tx = self.db.pool.begin().await?;
        let name = tokens::revoke(&mut *tx, owner_id, token_id, now)
            .await?
            .ok_or_else(|| CoreError::not_found("token"))?;
        let entry = token_audit(principal, meta, "token.revoked", token_id, owner_id, &name);
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Token events name the token and its owner, never the value.
fn token_audit(
    principal: &Principal,
    meta: &RequestMeta,
    action: &'static str,
    token_id: Uuid,
    owner_id: Uuid,
    name: &str,
) -> AuditEntry {
    AuditEntry {
        target_type: Some("token"),
        target_id: Some(token_id),
        details: Some(serde_json::json!({ "token_name": name, "target_user_id": owner_id })),
        ..audit_by(principal, meta, action)
    }
}
